//! STIX 2.1 bundles: `indicator` objects with `pattern_type: stix` patterns over `file`
//! objects.
//!
//! The pattern parser covers the STIX 2.1 patterning grammar: observation expressions
//! joined by `OR`, `AND` and `FOLLOWEDBY`, with `WITHIN`/`REPEATS`/`START…STOP` qualifiers;
//! comparison expressions joined by `AND`/`OR` with parentheses; operators `=`, `!=`, `<`,
//! `<=`, `>`, `>=`, `IN`, `LIKE`, `MATCHES`, `ISSUBSET`, `ISSUPERSET`, each optionally
//! preceded by `NOT`; string, integer, float, boolean, `t''`, `h''` and `b''` literals.
//!
//! What a file at rest can decide: `file:hashes.'SHA-256'|'SHA-1'|MD5` (key spellings with or
//! without the dash, any case), `file:name`, `file:size` and
//! `file:parent_directory_ref.path`. Every other object type or property is *unknown*
//! (see [`crate::expr`]). Observation-level `AND`/`FOLLOWEDBY` are evaluated on the same
//! file — a sound under-approximation (one file satisfying both does satisfy the pattern);
//! time qualifiers are ignored for files at rest; `REPEATS` makes its observation unknown.
//!
//! Network comparisons (`domain-name:value`, `ipv4-addr:value`, `ipv6-addr:value`,
//! `url:value` with `=` or `IN`) in a pattern of alternatives (no `AND`, `FOLLOWEDBY`, `NOT` or
//! qualifier) are loaded as network indicators ([`crate::IocSet::network`]) for the log
//! detectors, each naming the indicator's id; a pattern with nothing else is not reported.
//!
//! Each indicator whose pattern has unknown parts is reported once (at most
//! [`MAX_NOTES`] such problems a file, then one summary); one whose pattern has nothing a
//! file can satisfy is reported and left out.

use std::fmt::Write as _;

use ferret_core::{RuleRef, Severity};
use serde_json::Value;

use crate::expr::{Cmp, Expr, Field, NumOp, Term};
use crate::hashlist::parse_hex_digest;
use crate::names::compile;
use crate::network::{NetIndicator, NetKind, normalise};
use crate::{DEFAULT_COMPOUND_SCORE, DEFAULT_HASH_SCORE, Digest, HashMeta, LoadCtx};

/// Most per-indicator "unsupported" problems reported for one file.
pub(crate) const MAX_NOTES: usize = 100;
/// Deepest nesting of parentheses/brackets accepted in a pattern.
const MAX_DEPTH: usize = 64;

pub(crate) fn load(ctx: &mut LoadCtx<'_>, text: &str) {
    let root: Value = match serde_json::from_str(text.trim_start_matches('\u{feff}')) {
        Ok(v) => v,
        Err(e) => {
            ctx.problem(
                Some(format!("{}:{}", e.line(), e.column())),
                format!("not valid JSON: {e}"),
            );
            return;
        }
    };
    let objects: Vec<&Value> = match &root {
        Value::Object(m) if m.get("type").and_then(Value::as_str) == Some("bundle") => {
            match m.get("objects") {
                Some(Value::Array(a)) => a.iter().collect(),
                None => Vec::new(),
                Some(_) => {
                    ctx.problem(None, "bundle 'objects' is not an array");
                    return;
                }
            }
        }
        Value::Object(_) => vec![&root],
        Value::Array(a) => a.iter().collect(),
        _ => {
            ctx.problem(None, "expected a STIX bundle, an object or an array of objects");
            return;
        }
    };
    let mut notes = 0usize;
    let mut notes_dropped = 0usize;
    let mut indicators = 0usize;
    for obj in objects {
        if obj.get("type").and_then(Value::as_str) != Some("indicator") {
            continue;
        }
        indicators += 1;
        if obj.get("revoked").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let id = obj.get("id").and_then(Value::as_str).unwrap_or("indicator--unknown").to_owned();
        let line = line_of(text, &id);
        let mut report = |ctx: &mut LoadCtx<'_>, reason: String| {
            if notes < MAX_NOTES {
                notes += 1;
                ctx.problem(line.map(|l| l.to_string()), reason);
            } else {
                notes_dropped += 1;
            }
        };
        let pattern_type = obj.get("pattern_type").and_then(Value::as_str).unwrap_or("stix");
        if pattern_type != "stix" {
            report(
                ctx,
                format!(
                    "indicator {id}: pattern_type '{pattern_type:.40}' is not supported (only 'stix')"
                ),
            );
            continue;
        }
        let Some(pattern) = obj.get("pattern").and_then(Value::as_str) else {
            report(ctx, format!("indicator {id}: no pattern"));
            continue;
        };
        let net = network_values(pattern);
        let net_added = !net.is_empty();
        if net_added {
            let (name, references) = name_and_refs(obj, pattern);
            let source = match line {
                Some(l) => ctx.source_at(l),
                None => ctx.source().to_owned(),
            };
            for (kind, value) in net {
                let Some(value) = normalise(kind, &value) else {
                    report(
                        ctx,
                        format!("indicator {id}: '{value:.80}' is not a valid {}", kind.as_str()),
                    );
                    continue;
                };
                let rule = RuleRef {
                    id: id.clone(),
                    name: name.clone(),
                    source: Some(source.clone()),
                    references: references.clone(),
                };
                let origin = format!("STIX {id}");
                ctx.add_network(NetIndicator {
                    kind,
                    value,
                    rule,
                    severity: Severity::High,
                    origin,
                });
            }
        }
        let mut unsupported = Vec::new();
        let expr = match parse_pattern(pattern, &mut unsupported) {
            Ok(e) => e.simplify(),
            Err(e) => {
                report(ctx, format!("indicator {id}: pattern does not parse: {e}"));
                continue;
            }
        };
        unsupported.sort();
        unsupported.dedup();
        if expr.all_unknown() && net_added {
            // A network pattern: loaded above for the log detectors, nothing for files.
            continue;
        }
        if net_added {
            unsupported.retain(|u| !NET_OBJECTS.iter().any(|o| *u == format!("object type '{o}'")));
        }
        if expr.all_unknown() {
            report(
                ctx,
                format!(
                    "indicator {id} not loaded: nothing in its pattern applies to files ({})",
                    unsupported.join(", ")
                ),
            );
            continue;
        }
        if !unsupported.is_empty() {
            report(
                ctx,
                format!("indicator {id}: parts evaluate as unknown: {}", unsupported.join(", ")),
            );
        }
        let (name, references) = name_and_refs(obj, pattern);
        if let Some(digests) = expr.as_digest_alternatives() {
            for d in digests {
                let meta = HashMeta { id: Some(&id), name: &name, line, references: &references };
                ctx.add_hash(d, None, &meta, DEFAULT_HASH_SCORE, "stix");
            }
        } else {
            let source = match line {
                Some(l) => ctx.source_at(l),
                None => ctx.source().to_owned(),
            };
            let rule = RuleRef { id: id.clone(), name, source: Some(source), references };
            let score =
                if needs_digest_only(&expr) { DEFAULT_HASH_SCORE } else { DEFAULT_COMPOUND_SCORE };
            ctx.add_compound(rule, score, expr, "stix");
        }
    }
    if notes_dropped > 0 {
        ctx.problem(
            None,
            format!("{notes_dropped} more indicators with unsupported parts (not listed)"),
        );
    }
    if indicators == 0 {
        ctx.problem(None, "no indicator objects in this STIX document");
    }
}

/// An indicator's name (its `name`, else its description, else the pattern; at most 300
/// characters) and the URLs of its external references.
fn name_and_refs(obj: &Value, pattern: &str) -> (String, Vec<String>) {
    let name = obj
        .get("name")
        .and_then(Value::as_str)
        .or_else(|| obj.get("description").and_then(Value::as_str))
        .unwrap_or(pattern);
    let mut references = Vec::new();
    if let Some(Value::Array(refs)) = obj.get("external_references") {
        for r in refs {
            if let Some(u) = r.get("url").and_then(Value::as_str)
                && !references.iter().any(|x| x == u)
            {
                references.push(u.to_owned());
            }
        }
    }
    (name.chars().take(300).collect(), references)
}

/// The STIX object types whose `value` is a network indicator.
const NET_OBJECTS: [&str; 4] = ["domain-name", "ipv4-addr", "ipv6-addr", "url"];

/// The network values a pattern names as alternatives: `domain-name:value`,
/// `ipv4-addr:value`, `ipv6-addr:value` and `url:value` compared with `=` or `IN`, in a
/// pattern without `AND`, `FOLLOWEDBY`, `NOT` or qualifiers (each value alone satisfies it).
/// Empty otherwise.
pub(crate) fn network_values(pattern: &str) -> Vec<(NetKind, String)> {
    let Ok(toks) = tokenize(pattern) else { return Vec::new() };
    let joins = ["AND", "FOLLOWEDBY", "NOT", "WITHIN", "REPEATS", "START", "STOP"];
    if toks
        .iter()
        .any(|t| matches!(t, Tok::Ident(k) if joins.iter().any(|j| k.eq_ignore_ascii_case(j))))
    {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(t) = toks.get(i) {
        i += 1;
        let Tok::Ident(obj) = t else { continue };
        let kind = match obj.to_ascii_lowercase().as_str() {
            "domain-name" => NetKind::Domain,
            "ipv4-addr" | "ipv6-addr" => NetKind::Ip,
            "url" => NetKind::Url,
            _ => continue,
        };
        if toks.get(i) != Some(&Tok::Punct(":"))
            || !matches!(toks.get(i + 1), Some(Tok::Ident(p)) if p == "value")
        {
            continue;
        }
        match (toks.get(i + 2), toks.get(i + 3)) {
            (Some(Tok::Punct("=")), Some(Tok::Str(v))) => {
                out.push((kind, v.clone()));
                i += 4;
            }
            (Some(Tok::Ident(k)), Some(Tok::Punct("("))) if k.eq_ignore_ascii_case("IN") => {
                i += 4;
                while let Some(t) = toks.get(i) {
                    match t {
                        Tok::Str(v) => out.push((kind, v.clone())),
                        Tok::Punct(",") => {}
                        _ => break,
                    }
                    i += 1;
                }
            }
            _ => {}
        }
    }
    out
}

fn needs_digest_only(e: &Expr) -> bool {
    match e {
        Expr::Term(t) => matches!(t.cmp, Cmp::Digest(_)),
        Expr::Unknown => true,
        Expr::Not(_) => false,
        Expr::And(es) | Expr::Or(es) => es.iter().all(needs_digest_only),
    }
}

/// The 1-based line where `"id"` first appears in the text.
fn line_of(text: &str, id: &str) -> Option<usize> {
    let needle = format!("\"{id}\"");
    let at = text.find(&needle)?;
    Some(crate::line_of_offset(text.as_bytes(), at))
}

// ---------------------------------------------------------------- tokens

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    /// `t'…'`, `h'…'`, `b'…'`.
    Typed(char, String),
    Num(String),
    Punct(&'static str),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let next = chars.get(i + 1).copied();
        if c == '\'' {
            let (v, n) = string_lit(&chars, i)?;
            out.push(Tok::Str(v));
            i = n;
            continue;
        }
        if matches!(c, 't' | 'h' | 'b') && next == Some('\'') {
            let (v, n) = string_lit(&chars, i + 1)?;
            out.push(Tok::Typed(c, v));
            i = n;
            continue;
        }
        if c.is_ascii_digit() || (c == '-' && next.is_some_and(|n| n.is_ascii_digit())) {
            let start = i;
            i += 1;
            while chars.get(i).is_some_and(|c| c.is_ascii_digit() || *c == '.') {
                i += 1;
            }
            out.push(Tok::Num(chars.get(start..i).unwrap_or_default().iter().collect()));
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while chars.get(i).is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
            {
                i += 1;
            }
            out.push(Tok::Ident(chars.get(start..i).unwrap_or_default().iter().collect()));
            continue;
        }
        let two: String = chars.get(i..i + 2).map(|s| s.iter().collect()).unwrap_or_default();
        let p = match two.as_str() {
            "!=" => Some("!="),
            "<=" => Some("<="),
            ">=" => Some(">="),
            _ => None,
        };
        if let Some(p) = p {
            out.push(Tok::Punct(p));
            i += 2;
            continue;
        }
        let p = match c {
            '[' => "[",
            ']' => "]",
            '(' => "(",
            ')' => ")",
            ':' => ":",
            '.' => ".",
            ',' => ",",
            '=' => "=",
            '<' => "<",
            '>' => ">",
            '*' => "*",
            _ => return Err(format!("unexpected character '{}' at {}", c.escape_default(), i + 1)),
        };
        out.push(Tok::Punct(p));
        i += 1;
    }
    Ok(out)
}

fn string_lit(chars: &[char], quote_at: usize) -> Result<(String, usize), String> {
    let mut v = String::new();
    let mut i = quote_at + 1;
    loop {
        match chars.get(i) {
            None => return Err(format!("unterminated string starting at {}", quote_at + 1)),
            Some('\\') => {
                match chars.get(i + 1) {
                    Some(&c @ ('\'' | '\\')) => v.push(c),
                    Some(&c) => {
                        v.push('\\');
                        v.push(c);
                    }
                    None => return Err("unterminated escape".into()),
                }
                i += 2;
            }
            Some('\'') => return Ok((v, i + 1)),
            Some(&c) => {
                v.push(c);
                i += 1;
            }
        }
    }
}

// ---------------------------------------------------------------- parser

struct Parser<'u> {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
    unsupported: &'u mut Vec<String>,
}

/// A literal value.
#[derive(Clone, Debug)]
enum Lit {
    Str(String),
    Num(String),
    Other,
    List(Vec<Lit>),
}

/// Parses a STIX pattern into an expression; unsupported parts become [`Expr::Unknown`]
/// and are named in `unsupported`.
pub(crate) fn parse_pattern(pattern: &str, unsupported: &mut Vec<String>) -> Result<Expr, String> {
    let toks = tokenize(pattern)?;
    let mut p = Parser { toks, pos: 0, depth: 0, unsupported };
    let e = p.obs_or()?;
    if let Some(t) = p.peek() {
        return Err(format!("unexpected {t:?} after the pattern"));
    }
    Ok(e)
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn bump(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(kw))
    }

    fn is_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Tok::Punct(x)) if *x == p)
    }

    fn expect_punct(&mut self, p: &str) -> Result<(), String> {
        if self.is_punct(p) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected '{p}', found {:?}", self.peek()))
        }
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH { Err("pattern nested too deeply".into()) } else { Ok(()) }
    }

    fn obs_or(&mut self) -> Result<Expr, String> {
        let mut v = vec![self.obs_and()?];
        while self.is_kw("OR") {
            self.pos += 1;
            v.push(self.obs_and()?);
        }
        Ok(if v.len() == 1 { v.pop().unwrap_or(Expr::Unknown) } else { Expr::Or(v) })
    }

    fn obs_and(&mut self) -> Result<Expr, String> {
        let mut v = vec![self.obs_atom()?];
        while self.is_kw("AND") || self.is_kw("FOLLOWEDBY") {
            self.pos += 1;
            v.push(self.obs_atom()?);
        }
        Ok(if v.len() == 1 { v.pop().unwrap_or(Expr::Unknown) } else { Expr::And(v) })
    }

    fn obs_atom(&mut self) -> Result<Expr, String> {
        self.enter()?;
        let mut e = if self.is_punct("[") {
            self.pos += 1;
            let e = self.cmp_or()?;
            self.expect_punct("]")?;
            e
        } else if self.is_punct("(") {
            self.pos += 1;
            let e = self.obs_or()?;
            self.expect_punct(")")?;
            e
        } else {
            return Err(format!("expected '[' or '(', found {:?}", self.peek()));
        };
        self.depth -= 1;
        // Qualifiers.
        loop {
            if self.is_kw("WITHIN") {
                self.pos += 1;
                self.number()?;
                self.keyword("SECONDS")?;
            } else if self.is_kw("REPEATS") {
                self.pos += 1;
                self.number()?;
                self.keyword("TIMES")?;
                self.unsupported.push("REPEATS qualifier".into());
                e = Expr::Unknown;
            } else if self.is_kw("START") {
                self.pos += 1;
                self.timestamp()?;
                self.keyword("STOP")?;
                self.timestamp()?;
            } else {
                break;
            }
        }
        Ok(e)
    }

    fn number(&mut self) -> Result<(), String> {
        match self.bump() {
            Some(Tok::Num(_)) => Ok(()),
            t => Err(format!("expected a number, found {t:?}")),
        }
    }

    fn timestamp(&mut self) -> Result<(), String> {
        match self.bump() {
            Some(Tok::Typed('t', _)) => Ok(()),
            t => Err(format!("expected a t'…' timestamp, found {t:?}")),
        }
    }

    fn keyword(&mut self, kw: &str) -> Result<(), String> {
        if self.is_kw(kw) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected {kw}, found {:?}", self.peek()))
        }
    }

    fn cmp_or(&mut self) -> Result<Expr, String> {
        let mut v = vec![self.cmp_and()?];
        while self.is_kw("OR") {
            self.pos += 1;
            v.push(self.cmp_and()?);
        }
        Ok(if v.len() == 1 { v.pop().unwrap_or(Expr::Unknown) } else { Expr::Or(v) })
    }

    fn cmp_and(&mut self) -> Result<Expr, String> {
        let mut v = vec![self.cmp_atom()?];
        while self.is_kw("AND") {
            self.pos += 1;
            v.push(self.cmp_atom()?);
        }
        Ok(if v.len() == 1 { v.pop().unwrap_or(Expr::Unknown) } else { Expr::And(v) })
    }

    fn cmp_atom(&mut self) -> Result<Expr, String> {
        if self.is_punct("(") {
            self.enter()?;
            self.pos += 1;
            let e = self.cmp_or()?;
            self.expect_punct(")")?;
            self.depth -= 1;
            return Ok(e);
        }
        let (object, path) = self.object_path()?;
        let negated = if self.is_kw("NOT") {
            self.pos += 1;
            true
        } else {
            false
        };
        let op = match self.bump() {
            Some(Tok::Punct(p @ ("=" | "!=" | "<" | "<=" | ">" | ">="))) => p.to_owned(),
            Some(Tok::Ident(k))
                if ["IN", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET"]
                    .iter()
                    .any(|x| k.eq_ignore_ascii_case(x)) =>
            {
                k.to_ascii_uppercase()
            }
            t => return Err(format!("expected a comparison operator, found {t:?}")),
        };
        let value = self.literal()?;
        let e = self.comparison(&object, &path, &op, &value);
        Ok(if negated { Expr::Not(Box::new(e)) } else { e })
    }

    fn object_path(&mut self) -> Result<(String, Vec<String>), String> {
        let object = match self.bump() {
            Some(Tok::Ident(s)) => s,
            t => return Err(format!("expected an object type, found {t:?}")),
        };
        self.expect_punct(":")?;
        let mut path = vec![self.path_component()?];
        loop {
            if self.is_punct(".") {
                self.pos += 1;
                path.push(self.path_component()?);
            } else if self.is_punct("[") {
                self.pos += 1;
                match self.bump() {
                    Some(Tok::Num(n)) => path.push(format!("[{n}]")),
                    Some(Tok::Punct("*")) => path.push("[*]".into()),
                    t => return Err(format!("expected a list index, found {t:?}")),
                }
                self.expect_punct("]")?;
            } else {
                break;
            }
        }
        Ok((object, path))
    }

    fn path_component(&mut self) -> Result<String, String> {
        match self.bump() {
            Some(Tok::Ident(s) | Tok::Str(s)) => Ok(s),
            t => Err(format!("expected a property name, found {t:?}")),
        }
    }

    fn literal(&mut self) -> Result<Lit, String> {
        match self.bump() {
            Some(Tok::Str(s)) => Ok(Lit::Str(s)),
            Some(Tok::Num(n)) => Ok(Lit::Num(n)),
            Some(Tok::Typed(..)) => Ok(Lit::Other),
            Some(Tok::Ident(b))
                if b.eq_ignore_ascii_case("true") || b.eq_ignore_ascii_case("false") =>
            {
                Ok(Lit::Other)
            }
            Some(Tok::Punct("(")) => {
                let mut items = vec![self.literal()?];
                while self.is_punct(",") {
                    self.pos += 1;
                    items.push(self.literal()?);
                }
                self.expect_punct(")")?;
                Ok(Lit::List(items))
            }
            t => Err(format!("expected a value, found {t:?}")),
        }
    }

    fn unknown(&mut self, what: String) -> Expr {
        self.unsupported.push(what);
        Expr::Unknown
    }

    fn comparison(&mut self, object: &str, path: &[String], op: &str, value: &Lit) -> Expr {
        if !object.eq_ignore_ascii_case("file") {
            return self.unknown(format!("object type '{object}'"));
        }
        let prop = path.iter().map(String::as_str).collect::<Vec<_>>();
        match prop.as_slice() {
            ["hashes", key] => {
                let norm: String = key
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect::<String>()
                    .to_ascii_uppercase();
                if !matches!(norm.as_str(), "MD5" | "SHA1" | "SHA256") {
                    return self.unknown(format!("file hash '{key}'"));
                }
                let values: Vec<&Lit> = match (op, value) {
                    ("=" | "!=", v @ Lit::Str(_)) => vec![v],
                    ("IN", Lit::List(vs)) => vs.iter().collect(),
                    _ => return self.unknown(format!("file:hashes with operator {op}")),
                };
                let mut alts = Vec::new();
                for v in values {
                    let Lit::Str(s) = v else {
                        return self.unknown("non-string hash value".into());
                    };
                    match parse_hex_digest(s.trim()) {
                        Some(d) if digest_matches_key(&d, &norm) => alts.push(Expr::Term(Term {
                            field: Field::Hash,
                            cmp: Cmp::Digest(d),
                            case_insensitive: false,
                        })),
                        _ => return self.unknown(format!("malformed {key} value '{s:.70}'")),
                    }
                }
                let e = if alts.len() == 1 {
                    alts.pop().unwrap_or(Expr::Unknown)
                } else {
                    Expr::Or(alts)
                };
                if op == "!=" { Expr::Not(Box::new(e)) } else { e }
            }
            ["name"] => self.string_cmp(Field::FileName, "file:name", op, value),
            ["parent_directory_ref", "path"] => {
                self.string_cmp(Field::Dir, "file:parent_directory_ref.path", op, value)
            }
            ["size"] => {
                let num = |l: &Lit| match l {
                    Lit::Num(n) => n.parse::<u64>().ok(),
                    _ => None,
                };
                let build = |op: NumOp, v: u64| {
                    Expr::Term(Term {
                        field: Field::Size,
                        cmp: Cmp::Num(op, v),
                        case_insensitive: false,
                    })
                };
                match (op, value) {
                    ("IN", Lit::List(vs)) => {
                        let mut alts = Vec::new();
                        for v in vs {
                            match num(v) {
                                Some(n) => alts.push(build(NumOp::Eq, n)),
                                None => return self.unknown("non-integer file:size".into()),
                            }
                        }
                        Expr::Or(alts)
                    }
                    (op, v) => {
                        let Some(n) = num(v) else {
                            return self.unknown("non-integer file:size".into());
                        };
                        match op {
                            "=" => build(NumOp::Eq, n),
                            "!=" => Expr::Not(Box::new(build(NumOp::Eq, n))),
                            "<" => build(NumOp::Lt, n),
                            "<=" => build(NumOp::Le, n),
                            ">" => build(NumOp::Gt, n),
                            ">=" => build(NumOp::Ge, n),
                            _ => self.unknown(format!("file:size with operator {op}")),
                        }
                    }
                }
            }
            _ => {
                let mut p = String::new();
                for (i, c) in path.iter().enumerate() {
                    if i > 0 && !c.starts_with('[') {
                        p.push('.');
                    }
                    let _ = write!(p, "{c}");
                }
                self.unknown(format!("file property '{p}'"))
            }
        }
    }

    fn string_cmp(&mut self, field: Field, what: &str, op: &str, value: &Lit) -> Expr {
        let term = |cmp: Cmp| Expr::Term(Term { field, cmp, case_insensitive: false });
        match (op, value) {
            ("=", Lit::Str(s)) => term(Cmp::Eq(s.clone().into_bytes())),
            ("!=", Lit::Str(s)) => Expr::Not(Box::new(term(Cmp::Eq(s.clone().into_bytes())))),
            ("IN", Lit::List(vs)) => {
                let mut items = Vec::new();
                for v in vs {
                    let Lit::Str(s) = v else {
                        return self.unknown(format!("{what} IN with a non-string"));
                    };
                    items.push(s.clone().into_bytes());
                }
                term(Cmp::In(items))
            }
            ("LIKE", Lit::Str(s)) => match compile(&like_to_regex(s)) {
                Ok(re) => term(Cmp::Matches(re)),
                Err(e) => self.unknown(format!("{what} LIKE: {e}")),
            },
            ("MATCHES", Lit::Str(s)) => match compile(s) {
                Ok(re) => term(Cmp::Matches(re)),
                Err(e) => self.unknown(format!("{what} MATCHES: {e}")),
            },
            _ => self.unknown(format!("{what} with operator {op}")),
        }
    }
}

fn digest_matches_key(d: &Digest, norm_key: &str) -> bool {
    matches!(
        (d, norm_key),
        (Digest::Md5(_), "MD5") | (Digest::Sha1(_), "SHA1") | (Digest::Sha256(_), "SHA256")
    )
}

/// SQL `LIKE` (`%` any run, `_` one character) to an anchored regex.
fn like_to_regex(s: &str) -> String {
    let mut out = String::from("(?s)^");
    for c in s.chars() {
        match c {
            '%' => out.push_str(".*"),
            '_' => out.push('.'),
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push('$');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(p: &str) -> (Expr, Vec<String>) {
        let mut u = Vec::new();
        let e = parse_pattern(p, &mut u).unwrap();
        (e, u)
    }

    #[test]
    fn hash_keys_and_alternatives() {
        let h = "a".repeat(64);
        let (e, u) = parse(&format!(
            "[file:hashes.'SHA-256' = '{h}'] OR [file:hashes.MD5 = '{}']",
            "b".repeat(32)
        ));
        assert!(u.is_empty());
        assert_eq!(e.simplify().as_digest_alternatives().unwrap().len(), 2);
        let (_, u) = parse("[file:hashes.SSDEEP = 'x'] OR [ipv4-addr:value = '10.0.0.1']");
        assert_eq!(
            network_values("[file:hashes.SSDEEP = 'x'] OR [ipv4-addr:value = '10.0.0.1']"),
            vec![(NetKind::Ip, "10.0.0.1".to_owned())]
        );
        assert_eq!(
            network_values("[domain-name:value IN ('a.example', 'b.example') OR url:value = 'http://c.example/x']").len(),
            3
        );
        assert!(
            network_values("[domain-name:value = 'a.example' AND network-traffic:dst_port = 443]")
                .is_empty()
        );
        assert!(
            network_values("[domain-name:value = 'a.example'] FOLLOWEDBY [file:name = 'x']")
                .is_empty()
        );
        assert_eq!(u, vec!["file hash 'SSDEEP'".to_owned(), "object type 'ipv4-addr'".to_owned()]);
    }

    #[test]
    fn grammar_pieces_parse() {
        for p in [
            "[file:name = 'a.exe' AND (file:size > 10 OR file:size <= 3)]",
            "[file:name IN ('a', 'b')] WITHIN 600 SECONDS",
            "[file:name LIKE 'a%.dll'] START t'2021-01-01T00:00:00Z' STOP t'2021-02-01T00:00:00Z'",
            "([file:name NOT = 'a'] FOLLOWEDBY [file:name MATCHES '^b'])",
            "[file:extensions.'windows-pebinary-ext'.sections[*].name = '.text']",
            "[x-custom:prop = h'ff00'] OR [process:pid = 4 AND process:name = 'a\\'b']",
        ] {
            let mut u = Vec::new();
            parse_pattern(p, &mut u).unwrap_or_else(|e| panic!("{p}: {e}"));
        }
        for bad in [
            "",
            "[",
            "[file:name =]",
            "[file:name = 'a'] OR",
            "[file:name ~ 'a']",
            "[file:name = 'a",
        ] {
            let mut u = Vec::new();
            assert!(parse_pattern(bad, &mut u).is_err(), "{bad}");
        }
    }

    #[test]
    fn like_is_anchored() {
        let re = regex::Regex::new(&like_to_regex("a%.d_l")).unwrap();
        assert!(re.is_match("abc.dll"));
        assert!(!re.is_match("xabc.dll"));
    }
}
