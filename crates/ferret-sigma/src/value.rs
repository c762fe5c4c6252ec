//! Value matching: Sigma modifiers compiled into patterns (`compile.rs`), and their evaluation
//! (`eval.rs`); the types both share are here.
//!
//! A detection item `Field|mod1|mod2: values` compiles into a [`FieldItem`]: the field name
//! (or none for keyword search) and an [`ItemTest`]. String values pass through the modifier
//! pipeline (`expand`, `windash`, `wide`/`utf16*`, `base64`, `base64offset`) into one or more
//! variants, then into a [`Pattern`] shaped by `contains`/`startswith`/`endswith` and the
//! wildcards `*` and `?` (escaped with `\`). Comparison is case-insensitive unless `cased`;
//! ASCII patterns are folded byte by byte without allocating, non-ASCII ones with full
//! Unicode lowercase.

use std::net::IpAddr;

use crate::FailureKind;

/// Why an item could not be compiled.
pub(crate) type CompileError = (FailureKind, String);

/// A literal compared case-insensitively (stored lowercased) or exactly.
#[derive(Clone, Debug)]
pub(crate) struct Lit {
    s: String,
    ci: bool,
    /// Only ASCII characters carry case (ASCII folding suffices).
    ascii: bool,
}

impl Lit {
    fn new(s: &str, ci: bool) -> Lit {
        // ASCII folding is exact when every character that has case is ASCII (emoji,
        // punctuation and digits have none); otherwise full Unicode lowercase is used.
        let ascii = s.chars().all(|c| c.is_ascii() || !has_case(c));
        let s = if ci {
            if ascii { s.to_ascii_lowercase() } else { s.to_lowercase() }
        } else {
            s.to_owned()
        };
        Lit { s, ci, ascii }
    }

    /// The literal as stored (lowercased when case-insensitive).
    pub(crate) fn text(&self) -> &str {
        &self.s
    }
}

/// Shortest literal worth an Aho-Corasick anchor: shorter ones occur in nearly every event.
const MIN_ANCHOR: usize = 3;

/// Whether a character has a distinct lower- or uppercase form.
fn has_case(c: char) -> bool {
    let mut lo = c.to_lowercase();
    let mut up = c.to_uppercase();
    !(lo.next() == Some(c) && lo.next().is_none() && up.next() == Some(c) && up.next().is_none())
}

/// One glob token.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum GTok {
    Char(char),
    Star,
    One,
}

/// A compiled test on one text value.
#[derive(Clone, Debug)]
pub(crate) enum Pattern {
    Equals(Lit),
    Prefix(Lit),
    Suffix(Lit),
    Contains(Lit),
    /// General wildcard pattern (characters lowercased when `ci`).
    Glob {
        toks: Vec<GTok>,
        ci: bool,
    },
    /// `*` alone: any value.
    Any,
    Regex(Box<CompiledRe>),
    /// Any of several case-insensitive substrings (ASCII-foldable), in one Aho-Corasick scan.
    ContainsAny(Box<aho_corasick::AhoCorasick>, Vec<String>),
    Cidr(IpAddr, u8),
    Num(CmpOp, f64),
}

/// A compiled regular expression and the literals one of which every match contains.
#[derive(Clone, Debug)]
pub(crate) struct CompiledRe {
    re: Re,
    anchor: Option<Vec<String>>,
}

/// A compiled regular expression (`regex` first; `fancy-regex` for look-around/backrefs).
#[derive(Debug)]
pub(crate) enum Re {
    Std(regex::Regex),
    Fancy(fancy_regex::Regex),
}

impl Clone for Re {
    fn clone(&self) -> Self {
        match self {
            Re::Std(r) => Re::Std(r.clone()),
            Re::Fancy(r) => Re::Fancy(r.clone()),
        }
    }
}

/// Numeric comparison operators (`gt`, `gte`, `lt`, `lte`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Gt,
    Gte,
    Lt,
    Lte,
}

/// How a `fieldref` compares the two fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RefOp {
    Equals,
    Prefix,
    Suffix,
    Contains,
}

/// What an item tests on its field.
#[derive(Clone, Debug)]
pub(crate) enum ItemTest {
    /// Any (or, with `all`, every) pattern matches; `null` also matches an absent/empty field.
    Values { patterns: Vec<Pattern>, all: bool, null: bool },
    /// `exists: true|false`.
    Exists(bool),
    /// `fieldref`: compare with other fields' values.
    FieldRef { others: Vec<String>, op: RefOp, ci: bool, all: bool },
}

/// One detection item: a field (none for keywords) and its test.
#[derive(Clone, Debug)]
pub(crate) struct FieldItem {
    pub(crate) field: Option<String>,
    pub(crate) test: ItemTest,
}

/// Folds a character for comparison (lowercase when `ci`), the same way when compiling a
/// pattern and when evaluating it.
fn fold(c: char, ci: bool) -> char {
    if !ci {
        c
    } else if c.is_ascii() {
        c.to_ascii_lowercase()
    } else {
        c.to_lowercase().next().unwrap_or(c)
    }
}

mod compile;
mod eval;

pub(crate) use compile::compile_item;
pub(crate) use eval::{fmt_i64, take_regex_gave_up, value_text};

#[cfg(test)]
mod tests {
    use super::compile::{base64_offsets, parse_glob, simplify};
    use super::eval::contains_ascii_ci;
    use super::*;

    #[test]
    fn glob_and_fast_paths() {
        let p = simplify(parse_glob("*\\cmd.exe", true), true);
        assert!(matches!(p, Pattern::Suffix(_)));
        assert!(p.matches_str("C:\\Windows\\System32\\CMD.EXE"));
        let g = simplify(parse_glob("a?c*e", true), true);
        assert!(g.matches_str("ABCxxE"));
        assert!(!g.matches_str("ac"));
        let esc = simplify(parse_glob("a\\*b", true), true);
        assert!(esc.matches_str("A*B"));
        assert!(!esc.matches_str("axb"));
    }

    #[test]
    fn equals_ignores_trailing_spaces_of_the_value() {
        let p = simplify(parse_glob("NtLmSsp", true), true);
        assert!(p.matches_str("NtLmSsp "));
        assert!(p.matches_str("ntlmssp"));
        assert!(!p.matches_str(" NtLmSsp"));
        assert!(!p.matches_str("NtLmSspx"));
    }

    #[test]
    fn base64offset_known_values() {
        // "ping" at offsets 0..2 (facts from the Sigma base64offset definition).
        let v = base64_offsets(b"ping");
        assert_eq!(v, vec!["cGluZ", "Bpbm", "waW5n"]);
    }

    #[test]
    fn contains_ci() {
        assert!(contains_ascii_ci(b"Hello World", b"o wor"));
        assert!(!contains_ascii_ci(b"Hello", b"world"));
        assert!(contains_ascii_ci(b"x", b""));
    }

    #[test]
    fn int_formatting() {
        let mut b = [0u8; 24];
        assert_eq!(fmt_i64(-4688, &mut b), "-4688");
        assert_eq!(fmt_i64(0, &mut b), "0");
        assert_eq!(fmt_i64(i64::MIN, &mut b), "-9223372036854775808");
    }
}
