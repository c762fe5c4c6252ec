//! The Sigma condition language: `and`/`or`/`not`, parentheses, `1 of x*`, `all of them`.
//!
//! Parsing is total: any input yields either an [`Expr`] over selection indices or a
//! reason. Precedence, highest first: `not`, `and`, `or`. Quantified forms (`1 of`, `any of`,
//! `all of`, `N of`) take a search-identifier pattern with `*` wildcards, or `them` (every
//! search identifier not starting with `_`). The legacy aggregation pipe (`| count() > 5`) is
//! rejected with a reason that points to correlation rules.

/// A compiled condition over the selections of one rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Expr {
    /// Selection `i` matches.
    Sel(usize),
    /// Every operand is true.
    And(Vec<Expr>),
    /// At least one operand is true.
    Or(Vec<Expr>),
    /// The operand is false.
    Not(Box<Expr>),
    /// At least `n` operands are true.
    AtLeast(usize, Vec<Expr>),
}

impl Expr {
    /// Evaluates with short-circuiting; `sel` says whether selection `i` matches.
    pub(crate) fn eval(&self, sel: &mut dyn FnMut(usize) -> bool) -> bool {
        match self {
            Expr::Sel(i) => sel(*i),
            Expr::And(v) => v.iter().all(|e| e.eval(sel)),
            Expr::Or(v) => v.iter().any(|e| e.eval(sel)),
            Expr::Not(e) => !e.eval(sel),
            Expr::AtLeast(n, v) => {
                let mut c = 0;
                for e in v {
                    if e.eval(sel) {
                        c += 1;
                        if c >= *n {
                            return true;
                        }
                    }
                }
                false
            }
        }
    }

    /// Whether the expression can be true when `sel(i)` says whether selection `i` can
    /// match (`false`: it cannot). Conservative: `not` is taken as possibly true, and the
    /// answer is `false` only when the expression is false whatever the selections that
    /// can match do.
    pub(crate) fn may_hold(&self, sel: &dyn Fn(usize) -> bool, depth: usize) -> bool {
        if depth > 64 {
            return true;
        }
        match self {
            Expr::Sel(i) => sel(*i),
            Expr::And(v) => v.iter().all(|e| e.may_hold(sel, depth + 1)),
            Expr::Or(v) => v.iter().any(|e| e.may_hold(sel, depth + 1)),
            Expr::Not(_) => true,
            Expr::AtLeast(n, v) => v.iter().filter(|e| e.may_hold(sel, depth + 1)).count() >= *n,
        }
    }

    /// Selections that must match for the expression to be true (positive conjuncts).
    pub(crate) fn required(&self, out: &mut Vec<usize>) {
        match self {
            Expr::Sel(i) => out.push(*i),
            Expr::And(v) => v.iter().for_each(|e| e.required(out)),
            Expr::Or(v) | Expr::AtLeast(_, v) if v.len() == 1 => {
                if let Some(e) = v.first() {
                    e.required(out);
                }
            }
            Expr::AtLeast(n, v) if *n == v.len() => v.iter().for_each(|e| e.required(out)),
            _ => {}
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Of,
    Num(usize),
    All,
    Any,
    Them,
    Ident(String),
    Pipe,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(_, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        match c {
            '(' => {
                chars.next();
                out.push(Tok::LParen);
            }
            ')' => {
                chars.next();
                out.push(Tok::RParen);
            }
            '|' => {
                chars.next();
                out.push(Tok::Pipe);
            }
            _ => {
                let mut word = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '|' {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                let tok = match word.to_ascii_lowercase().as_str() {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    "of" => Tok::Of,
                    "all" => Tok::All,
                    "any" => Tok::Any,
                    "them" => Tok::Them,
                    _ => {
                        if let Ok(n) = word.parse::<usize>() {
                            Tok::Num(n)
                        } else if word.chars().all(|c| c.is_alphanumeric() || "_-.*".contains(c)) {
                            Tok::Ident(word)
                        } else {
                            return Err(format!("unexpected `{word}` in condition"));
                        }
                    }
                };
                out.push(tok);
            }
        }
    }
    Ok(out)
}

/// Parses `text` against the rule's search identifiers (in definition order).
pub(crate) fn parse(text: &str, names: &[String]) -> Result<Expr, String> {
    let toks = tokenize(text)?;
    if toks.contains(&Tok::Pipe) {
        return Err(
            "aggregation expressions (`| count() ...`) are deprecated; use a correlation rule"
                .to_owned(),
        );
    }
    if toks.is_empty() {
        return Err("empty condition".to_owned());
    }
    let mut p = Parser { toks: &toks, pos: 0, names, depth: 0 };
    let e = p.or()?;
    if p.pos != toks.len() {
        return Err(format!("unexpected token {:?} in condition", toks.get(p.pos)));
    }
    Ok(e)
}

struct Parser<'a> {
    toks: &'a [Tok],
    pos: usize,
    names: &'a [String],
    depth: usize,
}

const MAX_DEPTH: usize = 64;

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut v = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            v.push(self.and()?);
        }
        Ok(if v.len() == 1 { v.pop().unwrap_or(Expr::Or(Vec::new())) } else { Expr::Or(v) })
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut v = vec![self.not()?];
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            v.push(self.not()?);
        }
        Ok(if v.len() == 1 { v.pop().unwrap_or(Expr::And(Vec::new())) } else { Expr::And(v) })
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.peek() == Some(&Tok::Not) {
            self.pos += 1;
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err("condition nested too deeply".to_owned());
            }
            let e = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Tok::LParen) => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err("condition nested too deeply".to_owned());
                }
                let e = self.or()?;
                self.depth -= 1;
                if self.next() != Some(Tok::RParen) {
                    return Err("missing `)` in condition".to_owned());
                }
                Ok(e)
            }
            Some(Tok::Ident(name)) => {
                if name.contains('*') {
                    return Err(format!("wildcard `{name}` outside `1 of`/`all of`"));
                }
                self.names
                    .iter()
                    .position(|n| *n == name)
                    .map(Expr::Sel)
                    .ok_or_else(|| format!("condition names unknown search identifier `{name}`"))
            }
            Some(q @ (Tok::Num(_) | Tok::All | Tok::Any)) => {
                if self.next() != Some(Tok::Of) {
                    return Err("expected `of` after quantifier".to_owned());
                }
                let target = self.next();
                let sels: Vec<usize> = match &target {
                    Some(Tok::Them) => (0..self.names.len())
                        .filter(|i| self.names.get(*i).is_some_and(|n| !n.starts_with('_')))
                        .collect(),
                    Some(Tok::Ident(pat)) => (0..self.names.len())
                        .filter(|i| self.names.get(*i).is_some_and(|n| glob_name(pat, n)))
                        .collect(),
                    _ => return Err("expected an identifier pattern or `them` after `of`".into()),
                };
                if sels.is_empty() {
                    return Err(format!("`of` pattern {target:?} matches no search identifier"));
                }
                let v: Vec<Expr> = sels.into_iter().map(Expr::Sel).collect();
                Ok(match q {
                    Tok::All => Expr::And(v),
                    Tok::Num(n) if n > 1 => Expr::AtLeast(n, v),
                    _ => Expr::Or(v),
                })
            }
            other => Err(format!("unexpected {other:?} in condition")),
        }
    }
}

/// Matches a search-identifier pattern where `*` is any run of characters.
fn glob_name(pat: &str, name: &str) -> bool {
    let parts: Vec<&str> = pat.split('*').collect();
    if parts.len() == 1 {
        return pat == name;
    }
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else { return false };
    if !name.starts_with(first) || name.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &name[first.len()..];
    for mid in parts.iter().skip(1).take(parts.len().saturating_sub(2)) {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        ["selection", "sel_a", "sel_b", "filter_main", "_private"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    }

    #[test]
    fn precedence_not_and_or() {
        let e = parse("selection or sel_a and not filter_main", &names()).unwrap();
        assert_eq!(
            e,
            Expr::Or(vec![
                Expr::Sel(0),
                Expr::And(vec![Expr::Sel(1), Expr::Not(Box::new(Expr::Sel(3)))])
            ])
        );
    }

    #[test]
    fn quantifiers() {
        assert_eq!(
            parse("1 of sel_*", &names()).unwrap(),
            Expr::Or(vec![Expr::Sel(1), Expr::Sel(2)])
        );
        assert_eq!(
            parse("any of sel_*", &names()).unwrap(),
            Expr::Or(vec![Expr::Sel(1), Expr::Sel(2)])
        );
        assert_eq!(
            parse("all of them", &names()).unwrap(),
            Expr::And(vec![Expr::Sel(0), Expr::Sel(1), Expr::Sel(2), Expr::Sel(3)])
        );
        assert!(parse("1 of nothing*", &names()).is_err());
        assert!(parse("selection | count() > 5", &names()).is_err());
        assert!(parse("selection and", &names()).is_err());
        assert!(parse("(selection", &names()).is_err());
        assert!(parse("unknown", &names()).is_err());
    }
}
