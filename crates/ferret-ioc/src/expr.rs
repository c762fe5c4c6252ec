//! Compound indicator expressions (STIX patterns, OpenIOC trees) and their three-valued
//! evaluation against one file.
//!
//! A term that cannot be decided — an object type ferret does not see (a process, a DNS
//! lookup), or a digest the caller did not compute — is *unknown* (`None`). `AND` is false
//! if any operand is false, true if all are true, unknown otherwise; `OR` is true if any
//! operand is true, false if all are false, unknown otherwise; `NOT` keeps unknown unknown.
//! Only a definite `Some(true)` is a match, so an unsupported branch can never cause one.

use ferret_core::Evidence;

use crate::{Digest, FileFacts, HashNeeds};

/// A file attribute an indicator term compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    /// The last path component.
    FileName,
    /// The full path.
    FullPath,
    /// The directory part of the path.
    Dir,
    /// The extension without the dot.
    Extension,
    /// The size in bytes.
    Size,
    /// A digest; the comparison carries the kind.
    Hash,
}

impl Field {
    fn label(self) -> &'static str {
        match self {
            Field::FileName => "file name",
            Field::FullPath => "path",
            Field::Dir => "directory",
            Field::Extension => "extension",
            Field::Size => "size",
            Field::Hash => "hash",
        }
    }
}

/// Numeric comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NumOp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

/// The comparison of a term.
#[derive(Clone, Debug)]
pub(crate) enum Cmp {
    /// Equal (byte-wise, or ASCII case-insensitive).
    Eq(Vec<u8>),
    /// Equal to one of the values.
    In(Vec<Vec<u8>>),
    /// Contains.
    Contains(Vec<u8>),
    /// Starts with.
    StartsWith(Vec<u8>),
    /// Ends with.
    EndsWith(Vec<u8>),
    /// Regex search (case handled by the regex itself).
    Matches(regex::bytes::Regex),
    /// Numeric comparison (size).
    Num(NumOp, u64),
    /// Digest equality.
    Digest(Digest),
}

/// One comparison of a file attribute with a value.
#[derive(Clone, Debug)]
pub(crate) struct Term {
    pub field: Field,
    pub cmp: Cmp,
    pub case_insensitive: bool,
}

/// A boolean expression over terms.
#[derive(Clone, Debug)]
pub(crate) enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Term(Term),
    /// A term ferret cannot decide for a file at rest (the reason is reported at load).
    Unknown,
}

pub(crate) fn is_hash_label(label: &str) -> bool {
    matches!(label, "md5" | "sha1" | "sha256")
}

fn eq_bytes(a: &[u8], b: &[u8], ci: bool) -> bool {
    if ci { a.eq_ignore_ascii_case(b) } else { a == b }
}

fn contains(hay: &[u8], needle: &[u8], ci: bool) -> bool {
    if needle.is_empty() {
        return true;
    }
    hay.windows(needle.len()).any(|w| eq_bytes(w, needle, ci))
}

impl Term {
    fn eval(&self, facts: &FileFacts<'_>, evidence: &mut Vec<Evidence>) -> Option<bool> {
        let ci = self.case_insensitive;
        if let Cmp::Digest(d) = &self.cmp {
            let hit = match d {
                Digest::Md5(v) => facts.md5.map(|f| &f == v)?,
                Digest::Sha1(v) => facts.sha1.map(|f| &f == v)?,
                Digest::Sha256(v) => facts.sha256.map(|f| &f == v)?,
            };
            if hit {
                evidence.push(Evidence {
                    label: d.kind().label().into(),
                    offset: None,
                    data: d.hex(),
                });
            }
            return Some(hit);
        }
        if let Cmp::Num(op, v) = &self.cmp {
            if self.field != Field::Size {
                return None;
            }
            let s = facts.size;
            let hit = match op {
                NumOp::Eq => s == *v,
                NumOp::Lt => s < *v,
                NumOp::Le => s <= *v,
                NumOp::Gt => s > *v,
                NumOp::Ge => s >= *v,
            };
            if hit {
                evidence.push(Evidence { label: "size".into(), offset: None, data: s.to_string() });
            }
            return Some(hit);
        }
        let size_text;
        let subject: &[u8] = match self.field {
            Field::FileName => facts.file_name(),
            Field::FullPath => facts.path,
            Field::Dir => facts.dir(),
            Field::Extension => facts.extension(),
            Field::Size => {
                size_text = facts.size.to_string();
                size_text.as_bytes()
            }
            Field::Hash => return None,
        };
        let hit = match &self.cmp {
            Cmp::Eq(v) => eq_bytes(subject, v, ci),
            Cmp::In(vs) => vs.iter().any(|v| eq_bytes(subject, v, ci)),
            Cmp::Contains(v) => contains(subject, v, ci),
            Cmp::StartsWith(v) => subject.get(..v.len()).is_some_and(|p| eq_bytes(p, v, ci)),
            Cmp::EndsWith(v) => subject
                .len()
                .checked_sub(v.len())
                .and_then(|i| subject.get(i..))
                .is_some_and(|p| eq_bytes(p, v, ci)),
            Cmp::Matches(re) => re.is_match(subject),
            Cmp::Num(..) | Cmp::Digest(_) => return None,
        };
        if hit {
            evidence.push(Evidence::from_bytes(self.field.label(), None, subject));
        }
        Some(hit)
    }
}

impl Expr {
    /// Three-valued evaluation; true terms append evidence.
    pub(crate) fn eval(&self, facts: &FileFacts<'_>, evidence: &mut Vec<Evidence>) -> Option<bool> {
        match self {
            Expr::Term(t) => t.eval(facts, evidence),
            Expr::Unknown => None,
            Expr::Not(e) => {
                let mut scratch = Vec::new();
                e.eval(facts, &mut scratch).map(|b| !b)
            }
            Expr::And(es) => {
                let mark = evidence.len();
                let mut unknown = false;
                for e in es {
                    match e.eval(facts, evidence) {
                        Some(false) => {
                            evidence.truncate(mark);
                            return Some(false);
                        }
                        None => unknown = true,
                        Some(true) => {}
                    }
                }
                if unknown {
                    evidence.truncate(mark);
                    None
                } else {
                    Some(true)
                }
            }
            Expr::Or(es) => {
                let mut unknown = false;
                let mut any = false;
                for e in es {
                    let mark = evidence.len();
                    match e.eval(facts, evidence) {
                        Some(true) => any = true,
                        None => {
                            evidence.truncate(mark);
                            unknown = true;
                        }
                        Some(false) => evidence.truncate(mark),
                    }
                }
                if any {
                    Some(true)
                } else if unknown {
                    None
                } else {
                    Some(false)
                }
            }
        }
    }

    /// The digests this expression compares.
    pub(crate) fn needs(&self) -> HashNeeds {
        let mut n = HashNeeds::default();
        self.collect_needs(&mut n);
        n
    }

    fn collect_needs(&self, n: &mut HashNeeds) {
        match self {
            Expr::Term(Term { cmp: Cmp::Digest(d), .. }) => match d {
                Digest::Md5(_) => n.md5 = true,
                Digest::Sha1(_) => n.sha1 = true,
                Digest::Sha256(_) => n.sha256 = true,
            },
            Expr::Term(_) | Expr::Unknown => {}
            Expr::Not(e) => e.collect_needs(n),
            Expr::And(es) | Expr::Or(es) => es.iter().for_each(|e| e.collect_needs(n)),
        }
    }

    /// Whether every leaf is unknown (the indicator can never match a file).
    pub(crate) fn all_unknown(&self) -> bool {
        match self {
            Expr::Unknown => true,
            Expr::Term(_) => false,
            Expr::Not(e) => e.all_unknown(),
            Expr::And(es) | Expr::Or(es) => es.iter().all(Expr::all_unknown),
        }
    }

    /// Flattens nested same-kind operators and collapses one-element lists.
    pub(crate) fn simplify(self) -> Expr {
        match self {
            Expr::And(es) => {
                let mut out = Vec::new();
                for e in es.into_iter().map(Expr::simplify) {
                    match e {
                        Expr::And(inner) => out.extend(inner),
                        e => out.push(e),
                    }
                }
                if out.len() == 1 { out.pop().unwrap_or(Expr::Unknown) } else { Expr::And(out) }
            }
            Expr::Or(es) => {
                let mut out = Vec::new();
                for e in es.into_iter().map(Expr::simplify) {
                    match e {
                        Expr::Or(inner) => out.extend(inner),
                        e => out.push(e),
                    }
                }
                if out.len() == 1 { out.pop().unwrap_or(Expr::Unknown) } else { Expr::Or(out) }
            }
            Expr::Not(e) => Expr::Not(Box::new(e.simplify())),
            e => e,
        }
    }

    /// When the expression is a single digest equality or an `OR` of them, the digests
    /// (so the indicator can live in the O(1) hash maps instead of being evaluated).
    pub(crate) fn as_digest_alternatives(&self) -> Option<Vec<Digest>> {
        match self {
            Expr::Term(Term { cmp: Cmp::Digest(d), .. }) => Some(vec![*d]),
            Expr::Or(es) => {
                let mut out = Vec::new();
                for e in es {
                    out.extend(e.as_digest_alternatives()?);
                }
                Some(out)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name_is(v: &str) -> Expr {
        Expr::Term(Term { field: Field::FileName, cmp: Cmp::Eq(v.into()), case_insensitive: true })
    }

    #[test]
    fn kleene_logic() {
        let f = FileFacts { path: b"/a/Evil.aspx", ..FileFacts::default() };
        let mut ev = Vec::new();
        assert_eq!(name_is("evil.aspx").eval(&f, &mut ev), Some(true));
        assert_eq!(Expr::And(vec![name_is("evil.aspx"), Expr::Unknown]).eval(&f, &mut ev), None);
        assert_eq!(Expr::And(vec![name_is("x"), Expr::Unknown]).eval(&f, &mut ev), Some(false));
        assert_eq!(Expr::Or(vec![name_is("x"), Expr::Unknown]).eval(&f, &mut ev), None);
        assert_eq!(
            Expr::Or(vec![name_is("evil.aspx"), Expr::Unknown]).eval(&f, &mut ev),
            Some(true)
        );
        assert_eq!(Expr::Not(Box::new(Expr::Unknown)).eval(&f, &mut ev), None);
        let md5 = Expr::Term(Term {
            field: Field::Hash,
            cmp: Cmp::Digest(Digest::Md5([1; 16])),
            case_insensitive: false,
        });
        assert_eq!(md5.eval(&f, &mut ev), None, "digest not computed is unknown");
        let f2 = FileFacts { md5: Some([1; 16]), ..f };
        assert_eq!(md5.eval(&f2, &mut ev), Some(true));
    }
}
