//! Value matching: Sigma modifiers compiled into patterns, and their evaluation.
//!
//! A detection item `Field|mod1|mod2: values` compiles into a [`FieldItem`]: the field name
//! (or none for keyword search) and an [`ItemTest`]. String values pass through the modifier
//! pipeline (`expand`, `windash`, `wide`/`utf16*`, `base64`, `base64offset`) into one or more
//! variants, then into a [`Pattern`] shaped by `contains`/`startswith`/`endswith` and the
//! wildcards `*` and `?` (escaped with `\`). Comparison is case-insensitive unless `cased`;
//! ASCII patterns are folded byte by byte without allocating, non-ASCII ones with full
//! Unicode lowercase.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::net::IpAddr;

use base64::Engine as _;
use ferret_core::{FieldValue, Fields};
use serde_norway::Value;

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

/// Literals (lowercase) one of which every match of `pattern` contains, from the regex's
/// required prefixes; `None` when the set is unknown, infinite or has short members.
fn regex_anchor(pattern: &str, m: &Mods) -> Option<Vec<String>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(m.re_i)
        .multi_line(m.re_m)
        .dot_matches_new_line(m.re_s)
        .build()
        .parse(pattern)
        .ok()?;
    let mut best: Option<Vec<String>> = None;
    for kind in [ExtractKind::Prefix, ExtractKind::Suffix] {
        let mut ex = Extractor::new();
        ex.kind(kind).limit_class(4).limit_total(64);
        let seq = ex.extract(&hir);
        let lits = seq.literals()?;
        let mut out: Vec<String> = Vec::new();
        for l in lits {
            let s = std::str::from_utf8(l.as_bytes()).ok()?;
            if s.len() < MIN_ANCHOR || !s.chars().all(|c| c.is_ascii() || !has_case(c)) {
                out.clear();
                break;
            }
            out.push(s.to_ascii_lowercase());
        }
        out.sort();
        out.dedup();
        if !out.is_empty() && best.as_ref().is_none_or(|b| out.len() < b.len()) {
            best = Some(out);
        }
    }
    best
}

thread_local! {
    /// Set when a backtracking regular expression gave up on a value (its backtrack limit
    /// was reached) on this thread since the last [`take_regex_gave_up`].
    static REGEX_GAVE_UP: Cell<bool> = const { Cell::new(false) };
}

/// Whether a backtracking regular expression gave up on this thread since the last call
/// (and clears the flag). A value it gave up on is taken as not matching.
pub(crate) fn take_regex_gave_up() -> bool {
    REGEX_GAVE_UP.with(|g| g.get() && g.replace(false))
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

impl FieldItem {
    /// Renames the field through a logsource field map.
    pub(crate) fn rename(&mut self, map: &BTreeMap<String, String>) {
        if let Some(f) = &self.field
            && let Some(n) = map.get(f)
        {
            self.field = Some(n.clone());
        }
        if let ItemTest::FieldRef { others, .. } = &mut self.test {
            for o in others.iter_mut() {
                if let Some(n) = map.get(o.as_str()) {
                    *o = n.clone();
                }
            }
        }
    }

    /// Whether the item holds for `event`.
    pub(crate) fn matches(&self, event: &dyn Fields) -> bool {
        match &self.field {
            Some(f) => self.matches_value(event.get(f).as_ref(), event),
            None => self.matches_keywords(event),
        }
    }

    /// Whether the item holds on an event that lacks its field (`field: null`, `exists:
    /// false`); mirrors [`FieldItem::matches`] for an absent field.
    pub(crate) fn holds_when_absent(&self) -> bool {
        match &self.test {
            ItemTest::Exists(want) => !*want,
            ItemTest::Values { null, .. } => *null,
            ItemTest::FieldRef { .. } => false,
        }
    }

    /// The value text that satisfied this item, for explanations (allocates; match path only).
    pub(crate) fn explain(&self, event: &dyn Fields) -> Option<(String, String)> {
        if let Some(f) = &self.field {
            let v = event.get(f);
            let text = v.as_ref().map(value_text).unwrap_or_default();
            Some((f.clone(), text))
        } else {
            let mut found = None;
            event.for_each(&mut |name, v| {
                if found.is_none() && self.test_value_only(&v) {
                    found = Some((name.to_owned(), value_text(&v)));
                }
            });
            found
        }
    }

    /// Literals (lowercase ASCII) one of which occurs in some field value whenever this item
    /// holds; `None` when the item has no such literal (prefilter anchor).
    pub(crate) fn anchor(&self) -> Option<Vec<String>> {
        let ItemTest::Values { patterns, all, null: false } = &self.test else { return None };
        if *all {
            // Every pattern must match: any one pattern's anchor suffices; take the longest.
            patterns
                .iter()
                .filter_map(Pattern::anchor_lits)
                .max_by_key(|a| a.iter().map(String::len).min().unwrap_or(0))
        } else {
            let mut out = Vec::new();
            for p in patterns {
                out.extend(p.anchor_lits()?);
            }
            (!out.is_empty()).then_some(out)
        }
    }

    fn matches_value(&self, v: Option<&FieldValue<'_>>, event: &dyn Fields) -> bool {
        match &self.test {
            ItemTest::Exists(want) => v.is_some_and(|v| !matches!(v, FieldValue::Null)) == *want,
            ItemTest::Values { patterns, all, null } => {
                let Some(v) = v else { return *null };
                if *null && is_empty(v) {
                    return true;
                }
                if patterns.is_empty() {
                    return false;
                }
                if *all {
                    patterns.iter().all(|p| p.matches_value(v))
                } else {
                    patterns.iter().any(|p| p.matches_value(v))
                }
            }
            ItemTest::FieldRef { others, op, ci, all } => {
                let Some(v) = v.and_then(FieldValue::as_text) else { return false };
                let test = |o: &String| {
                    event.get(o).and_then(|ov| ov.as_text().map(|ot| ref_cmp(&v, &ot, *op, *ci)))
                        == Some(true)
                };
                if *all { others.iter().all(test) } else { others.iter().any(test) }
            }
        }
    }

    /// Keyword semantics: the test holds on some field value (`all`: each pattern somewhere).
    fn matches_keywords(&self, event: &dyn Fields) -> bool {
        if let ItemTest::Values { patterns, all: true, .. } = &self.test {
            patterns.iter().all(|p| {
                let mut hit = false;
                event.for_each(&mut |_, v| hit = hit || p.matches_value(&v));
                hit
            })
        } else {
            let mut hit = false;
            event.for_each(&mut |_, v| hit = hit || self.test_value_only(&v));
            hit
        }
    }

    fn test_value_only(&self, v: &FieldValue<'_>) -> bool {
        match &self.test {
            ItemTest::Values { patterns, .. } => patterns.iter().any(|p| p.matches_value(v)),
            _ => false,
        }
    }
}

fn is_empty(v: &FieldValue<'_>) -> bool {
    match v {
        FieldValue::Null => true,
        FieldValue::Str(s) => s.is_empty(),
        FieldValue::List(l) => l.is_empty(),
        _ => false,
    }
}

/// Text of a value for display (lists joined with `, `).
pub(crate) fn value_text(v: &FieldValue<'_>) -> String {
    match v {
        FieldValue::List(l) => l.iter().map(value_text).collect::<Vec<_>>().join(", "),
        FieldValue::Null => String::new(),
        other => other.as_text().map(Cow::into_owned).unwrap_or_default(),
    }
}

fn ref_cmp(v: &str, other: &str, op: RefOp, ci: bool) -> bool {
    let lit = Lit::new(other, ci);
    match op {
        RefOp::Equals => eq_lit(v, &lit),
        RefOp::Prefix => prefix_lit(v, &lit),
        RefOp::Suffix => suffix_lit(v, &lit),
        RefOp::Contains => contains_lit(v, &lit),
    }
}

impl Pattern {
    /// Tests a field value: lists match when any element matches.
    pub(crate) fn matches_value(&self, v: &FieldValue<'_>) -> bool {
        match v {
            FieldValue::Str(s) => self.matches_str(s),
            FieldValue::Int(i) => {
                if let Pattern::Num(op, n) = self {
                    #[expect(
                        clippy::cast_precision_loss,
                        reason = "event integers compared as Sigma numbers"
                    )]
                    return num_cmp(*i as f64, *op, *n);
                }
                let mut buf = [0u8; 24];
                self.matches_str(fmt_i64(*i, &mut buf))
            }
            FieldValue::Float(f) => {
                if let Pattern::Num(op, n) = self {
                    return num_cmp(*f, *op, *n);
                }
                self.matches_str(&f.to_string())
            }
            FieldValue::Bool(b) => self.matches_str(if *b { "true" } else { "false" }),
            FieldValue::Null => false,
            FieldValue::List(l) => l.iter().any(|e| self.matches_value(e)),
        }
    }

    /// Tests one text value.
    pub(crate) fn matches_str(&self, s: &str) -> bool {
        match self {
            // Windows pads some values with a trailing space (`LogonProcessName` is
            // `NtLmSsp `): an exact match ignores trailing spaces of the value.
            Pattern::Equals(l) => {
                eq_lit(s, l) || (s.ends_with(' ') && eq_lit(s.trim_end_matches(' '), l))
            }
            Pattern::Prefix(l) => prefix_lit(s, l),
            Pattern::Suffix(l) => suffix_lit(s, l),
            Pattern::Contains(l) => contains_lit(s, l),
            Pattern::Glob { toks, ci } => glob_match(toks, s, *ci),
            Pattern::Any => true,
            Pattern::ContainsAny(ac, _) => ac.is_match(s),
            Pattern::Regex(re) => match &re.re {
                Re::Std(r) => r.is_match(s),
                Re::Fancy(r) => r.is_match(s).unwrap_or_else(|_| {
                    REGEX_GAVE_UP.with(|g| g.set(true));
                    false
                }),
            },
            Pattern::Cidr(net, bits) => {
                s.trim().parse::<IpAddr>().is_ok_and(|ip| cidr_contains(*net, *bits, ip))
            }
            Pattern::Num(op, n) => s.trim().parse::<f64>().is_ok_and(|v| num_cmp(v, *op, *n)),
        }
    }

    /// Lowercase literals one of which any matching value contains (prefilter anchor).
    pub(crate) fn anchor_lits(&self) -> Option<Vec<String>> {
        match self {
            Pattern::Equals(l) | Pattern::Prefix(l) | Pattern::Suffix(l) | Pattern::Contains(l) => {
                (l.ascii && l.s.len() >= MIN_ANCHOR).then(|| vec![l.s.to_ascii_lowercase()])
            }
            Pattern::ContainsAny(_, lits) => {
                lits.iter().all(|l| l.len() >= MIN_ANCHOR).then(|| lits.clone())
            }
            Pattern::Glob { toks, .. } => {
                // The longest run of plain characters between wildcards.
                let mut best = String::new();
                let mut run = String::new();
                for t in toks.iter().chain(std::iter::once(&GTok::Star)) {
                    if let GTok::Char(c) = t {
                        run.push(*c);
                    } else {
                        if run.len() > best.len() {
                            best = std::mem::take(&mut run);
                        }
                        run.clear();
                    }
                }
                let foldable = best.chars().all(|c| c.is_ascii() || !has_case(c));
                (foldable && best.len() >= MIN_ANCHOR).then(|| vec![best.to_ascii_lowercase()])
            }
            Pattern::Regex(re) => re.anchor.clone(),
            _ => None,
        }
    }
}

fn num_cmp(v: f64, op: CmpOp, n: f64) -> bool {
    match op {
        CmpOp::Gt => v > n,
        CmpOp::Gte => v >= n,
        CmpOp::Lt => v < n,
        CmpOp::Lte => v <= n,
    }
}

pub(crate) fn fmt_i64(i: i64, buf: &mut [u8; 24]) -> &str {
    let mut n = i.unsigned_abs();
    let mut pos = buf.len();
    loop {
        pos -= 1;
        if let Some(b) = buf.get_mut(pos) {
            *b = b'0' + u8::try_from(n % 10).unwrap_or(0);
        }
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if i < 0 {
        pos -= 1;
        if let Some(b) = buf.get_mut(pos) {
            *b = b'-';
        }
    }
    std::str::from_utf8(buf.get(pos..).unwrap_or_default()).unwrap_or_default()
}

fn cidr_contains(net: IpAddr, bits: u8, ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - u32::from(bits.min(32))) };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - u32::from(bits.min(128))) };
            u128::from(n) & mask == u128::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V4(i)) => {
            // An IPv4 address inside an IPv4-mapped IPv6 network.
            n.to_ipv4_mapped().is_some_and(|n4| {
                bits >= 96 && cidr_contains(IpAddr::V4(n4), bits - 96, IpAddr::V4(i))
            })
        }
        (IpAddr::V4(_), IpAddr::V6(i)) => {
            i.to_ipv4_mapped().is_some_and(|i4| cidr_contains(net, bits, IpAddr::V4(i4)))
        }
    }
}

fn eq_lit(s: &str, l: &Lit) -> bool {
    if !l.ci {
        return s == l.s;
    }
    if l.ascii {
        s.len() == l.s.len() && s.as_bytes().eq_ignore_ascii_case(l.s.as_bytes())
    } else {
        s.to_lowercase() == l.s
    }
}

fn prefix_lit(s: &str, l: &Lit) -> bool {
    if !l.ci {
        return s.starts_with(l.s.as_str());
    }
    if l.ascii {
        s.as_bytes().get(..l.s.len()).is_some_and(|p| p.eq_ignore_ascii_case(l.s.as_bytes()))
    } else {
        s.to_lowercase().starts_with(l.s.as_str())
    }
}

fn suffix_lit(s: &str, l: &Lit) -> bool {
    if !l.ci {
        return s.ends_with(l.s.as_str());
    }
    if l.ascii {
        let n = l.s.len();
        s.len() >= n
            && s.as_bytes()
                .get(s.len() - n..)
                .is_some_and(|p| p.eq_ignore_ascii_case(l.s.as_bytes()))
    } else {
        s.to_lowercase().ends_with(l.s.as_str())
    }
}

fn contains_lit(s: &str, l: &Lit) -> bool {
    if !l.ci {
        return memchr::memmem::find(s.as_bytes(), l.s.as_bytes()).is_some();
    }
    if !l.ascii {
        return s.to_lowercase().contains(l.s.as_str());
    }
    contains_ascii_ci(s.as_bytes(), l.s.as_bytes())
}

/// ASCII case-insensitive substring search; `needle` is lowercase.
pub(crate) fn contains_ascii_ci(hay: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else { return true };
    if hay.len() < needle.len() {
        return false;
    }
    let last_start = hay.len() - needle.len();
    let upper = first.to_ascii_uppercase();
    let mut from = 0;
    while from <= last_start {
        let window = hay.get(from..=last_start).unwrap_or_default();
        let found = if upper == first {
            memchr::memchr(first, window)
        } else {
            memchr::memchr2(first, upper, window)
        };
        let Some(off) = found else { return false };
        let at = from + off;
        if hay.get(at + 1..at + needle.len()).is_some_and(|h| h.eq_ignore_ascii_case(rest)) {
            return true;
        }
        from = at + 1;
    }
    false
}

fn fold(c: char, ci: bool) -> char {
    if !ci {
        c
    } else if c.is_ascii() {
        c.to_ascii_lowercase()
    } else {
        c.to_lowercase().next().unwrap_or(c)
    }
}

/// Wildcard match without allocation (`*` any run, `?` one character).
fn glob_match(toks: &[GTok], s: &str, ci: bool) -> bool {
    let mut p = 0usize;
    let mut i = 0usize; // byte index into s
    let mut star: Option<(usize, usize)> = None;
    loop {
        let c = s.get(i..).and_then(|r| r.chars().next());
        match (toks.get(p), c) {
            (Some(GTok::Star), _) => {
                star = Some((p, i));
                p += 1;
                continue;
            }
            (Some(GTok::One), Some(c)) => {
                p += 1;
                i += c.len_utf8();
                continue;
            }
            (Some(GTok::Char(pc)), Some(c)) if *pc == fold(c, ci) => {
                p += 1;
                i += c.len_utf8();
                continue;
            }
            (None, None) => return true,
            _ => {}
        }
        // Mismatch: backtrack to the last star, consuming one more character.
        match star {
            Some((sp, si)) => {
                let Some(c) = s.get(si..).and_then(|r| r.chars().next()) else { return false };
                let ni = si + c.len_utf8();
                star = Some((sp, ni));
                p = sp + 1;
                i = ni;
            }
            None => return false,
        }
    }
}

/// Parses a Sigma string value into glob tokens (`\*`, `\?`, `\\` escape).
fn parse_glob(s: &str, ci: bool) -> Vec<GTok> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&n @ ('*' | '?' | '\\')) => {
                    chars.next();
                    out.push(GTok::Char(fold(n, ci)));
                }
                _ => out.push(GTok::Char(fold('\\', ci))),
            },
            '*' => {
                if out.last() != Some(&GTok::Star) {
                    out.push(GTok::Star);
                }
            }
            '?' => out.push(GTok::One),
            c => out.push(GTok::Char(fold(c, ci))),
        }
    }
    out
}

/// Removes Sigma escapes from a value used as a plain literal.
fn unescape(s: &str) -> String {
    parse_glob(s, false)
        .into_iter()
        .map(|t| match t {
            GTok::Char(c) => c,
            GTok::Star => '*',
            GTok::One => '?',
        })
        .collect()
}

/// Turns glob tokens into the cheapest equivalent pattern.
fn simplify(toks: Vec<GTok>, ci: bool) -> Pattern {
    let star_lead = toks.first() == Some(&GTok::Star);
    let star_trail = toks.len() > 1 && toks.last() == Some(&GTok::Star);
    if toks == [GTok::Star] {
        return Pattern::Any;
    }
    let inner =
        toks.get(usize::from(star_lead)..toks.len() - usize::from(star_trail)).unwrap_or_default();
    if inner.iter().all(|t| matches!(t, GTok::Char(_))) {
        let text: String =
            inner.iter().map(|t| if let GTok::Char(c) = t { *c } else { ' ' }).collect();
        // The characters are already folded; Lit::new folds again harmlessly.
        let lit = Lit::new(&text, ci);
        return match (star_lead, star_trail) {
            (false, false) => Pattern::Equals(lit),
            (true, false) => Pattern::Suffix(lit),
            (false, true) => Pattern::Prefix(lit),
            (true, true) => Pattern::Contains(lit),
        };
    }
    Pattern::Glob { toks, ci }
}

/// Parsed modifiers of one detection key.
#[derive(Default, Debug)]
struct Mods {
    contains: bool,
    startswith: bool,
    endswith: bool,
    all: bool,
    cased: bool,
    re: bool,
    re_i: bool,
    re_m: bool,
    re_s: bool,
    cidr: bool,
    exists: bool,
    fieldref: bool,
    expand: bool,
    cmp: Option<CmpOp>,
    /// Transformations in order: windash, wide/utf16*, base64, base64offset.
    transforms: Vec<String>,
}

fn parse_mods(mods: &[&str]) -> Result<Mods, CompileError> {
    let mut m = Mods::default();
    for raw in mods {
        let name = raw.trim();
        match name {
            "contains" => m.contains = true,
            "startswith" => m.startswith = true,
            "endswith" => m.endswith = true,
            "all" => m.all = true,
            "cased" => m.cased = true,
            "re" => m.re = true,
            "i" | "ignorecase" => m.re_i = true,
            "m" | "multiline" => m.re_m = true,
            "s" | "dotall" => m.re_s = true,
            "cidr" => m.cidr = true,
            "exists" => m.exists = true,
            "fieldref" => m.fieldref = true,
            "expand" => m.expand = true,
            "gt" => m.cmp = Some(CmpOp::Gt),
            "gte" => m.cmp = Some(CmpOp::Gte),
            "lt" => m.cmp = Some(CmpOp::Lt),
            "lte" => m.cmp = Some(CmpOp::Lte),
            "windash" | "wide" | "utf16le" | "utf16be" | "utf16" | "base64" | "base64offset" => {
                m.transforms.push(name.to_owned());
            }
            other => {
                return Err((FailureKind::UnknownModifier, format!("unknown modifier `{other}`")));
            }
        }
    }
    if (m.re_i || m.re_m || m.re_s) && !m.re {
        return Err((FailureKind::BadValue, "regex flag modifier without `re`".to_owned()));
    }
    let shaping = usize::from(m.contains) + usize::from(m.startswith) + usize::from(m.endswith);
    if shaping > 1 {
        return Err((
            FailureKind::BadValue,
            "more than one of contains/startswith/endswith".to_owned(),
        ));
    }
    let special = usize::from(m.re)
        + usize::from(m.cidr)
        + usize::from(m.exists)
        + usize::from(m.cmp.is_some());
    if special > 1 || (special == 1 && (shaping > 0 || !m.transforms.is_empty() || m.fieldref)) {
        return Err((FailureKind::BadValue, "incompatible modifier combination".to_owned()));
    }
    Ok(m)
}

/// Compiles one detection item (`key: value`) with the user's placeholder map.
pub(crate) fn compile_item(
    key: &str,
    value: &Value,
    placeholders: &BTreeMap<String, Vec<String>>,
) -> Result<FieldItem, CompileError> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or_default().trim();
    let mods: Vec<&str> = parts.collect();
    let mut m = parse_mods(&mods)?;
    let field = if field.is_empty() { None } else { Some(field.to_owned()) };
    if field.is_none() && !m.re && !m.cidr && m.cmp.is_none() && !m.startswith && !m.endswith {
        // Keywords are a full-text search: a keyword matches inside any field value.
        m.contains = true;
    }

    let values: Vec<&Value> = match value {
        Value::Sequence(s) => s.iter().collect(),
        v => vec![v],
    };

    if m.exists {
        let [Value::Bool(b)] = values.as_slice() else {
            return Err((FailureKind::BadValue, "`exists` needs true or false".to_owned()));
        };
        if field.is_none() {
            return Err((FailureKind::BadValue, "`exists` needs a field name".to_owned()));
        }
        return Ok(FieldItem { field, test: ItemTest::Exists(*b) });
    }

    if m.fieldref {
        let mut others = Vec::new();
        for v in &values {
            others.push(scalar_text(v).ok_or_else(|| {
                (FailureKind::BadValue, "`fieldref` needs field names".to_owned())
            })?);
        }
        if field.is_none() {
            return Err((FailureKind::BadValue, "`fieldref` needs a field name".to_owned()));
        }
        let op = if m.contains {
            RefOp::Contains
        } else if m.startswith {
            RefOp::Prefix
        } else if m.endswith {
            RefOp::Suffix
        } else {
            RefOp::Equals
        };
        return Ok(FieldItem {
            field,
            test: ItemTest::FieldRef { others, op, ci: !m.cased, all: m.all },
        });
    }

    let ci = !m.cased;
    let mut patterns = Vec::new();
    let mut null = false;
    for v in values {
        if matches!(v, Value::Null) {
            null = true;
            continue;
        }
        let Some(text) = scalar_text(v) else {
            return Err((FailureKind::BadValue, format!("unsupported value in `{key}`")));
        };
        if let Some(op) = m.cmp {
            let n = text.trim().parse::<f64>().map_err(|_| {
                (FailureKind::BadValue, format!("`{key}` needs a number, got `{text}`"))
            })?;
            patterns.push(Pattern::Num(op, n));
            continue;
        }
        if m.cidr {
            patterns.push(parse_cidr(&text)?);
            continue;
        }
        let variants = if m.expand { expand(&text, placeholders)? } else { vec![text] };
        for variant in variants {
            if m.re {
                patterns.push(compile_re(&variant, &m)?);
                continue;
            }
            compile_string(&variant, &m, ci, &mut patterns);
        }
    }
    if m.all && patterns.len() > 1 && field.is_none() {
        // keyword `all`: handled in matches_keywords
    }
    if !m.all {
        patterns = group_contains(patterns);
    }
    Ok(FieldItem { field, test: ItemTest::Values { patterns, all: m.all, null } })
}

/// Fewest case-insensitive substrings worth one Aho-Corasick automaton instead of scans.
const GROUP_CONTAINS: usize = 4;

/// Replaces many case-insensitive `contains` literals by one automaton (any-of semantics).
fn group_contains(patterns: Vec<Pattern>) -> Vec<Pattern> {
    let groupable =
        |p: &Pattern| matches!(p, Pattern::Contains(l) if l.ci && l.ascii && !l.s.is_empty());
    if patterns.iter().filter(|p| groupable(p)).count() < GROUP_CONTAINS {
        return patterns;
    }
    let (group, mut rest): (Vec<Pattern>, Vec<Pattern>) = patterns.into_iter().partition(groupable);
    let lits: Vec<String> = group
        .iter()
        .filter_map(|p| if let Pattern::Contains(l) = p { Some(l.s.clone()) } else { None })
        .collect();
    match aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(aho_corasick::MatchKind::LeftmostFirst)
        .build(&lits)
    {
        Ok(ac) => rest.insert(0, Pattern::ContainsAny(Box::new(ac), lits)),
        Err(_) => rest.extend(group),
    }
    rest
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Tagged(t) => scalar_text(&t.value),
        _ => None,
    }
}

fn parse_cidr(text: &str) -> Result<Pattern, CompileError> {
    let bad = || (FailureKind::BadValue, format!("bad CIDR `{text}`"));
    let (addr, bits) = text.trim().split_once('/').unwrap_or((text.trim(), ""));
    let ip: IpAddr = addr.parse().map_err(|_| bad())?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits: u8 = if bits.is_empty() { max } else { bits.parse().map_err(|_| bad())? };
    if bits > max {
        return Err(bad());
    }
    Ok(Pattern::Cidr(ip, bits))
}

fn compile_re(text: &str, m: &Mods) -> Result<Pattern, CompileError> {
    let std = regex::RegexBuilder::new(text)
        .case_insensitive(m.re_i)
        .multi_line(m.re_m)
        .dot_matches_new_line(m.re_s)
        .size_limit(1 << 22)
        .build();
    match std {
        Ok(r) => Ok(Pattern::Regex(Box::new(CompiledRe {
            re: Re::Std(r),
            anchor: regex_anchor(text, m),
        }))),
        Err(std_err) => {
            let mut flags = String::new();
            for (on, f) in [(m.re_i, 'i'), (m.re_m, 'm'), (m.re_s, 's')] {
                if on {
                    flags.push(f);
                }
            }
            let pat = if flags.is_empty() { text.to_owned() } else { format!("(?{flags}){text}") };
            fancy_regex::Regex::new(&pat)
                .map(|r| Pattern::Regex(Box::new(CompiledRe { re: Re::Fancy(r), anchor: None })))
                .map_err(|e| {
                    (FailureKind::BadRegex, format!("bad regex `{text}`: {e} ({std_err})"))
                })
        }
    }
}

/// Replaces `%name%` placeholders from the user map; every value gives one variant.
fn expand(text: &str, map: &BTreeMap<String, Vec<String>>) -> Result<Vec<String>, CompileError> {
    let mut out = vec![String::new()];
    let mut rest = text;
    while let Some(start) = rest.find('%') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('%') else { break };
        let name = &after[..end];
        let Some(vals) = map.get(name).filter(|v| !v.is_empty()) else {
            return Err((
                FailureKind::UnresolvedPlaceholder,
                format!("placeholder `%{name}%` has no value (give it with a placeholder map)"),
            ));
        };
        let prefix = &rest[..start];
        let mut next = Vec::new();
        for o in &out {
            for v in vals {
                next.push(format!("{o}{prefix}{v}"));
            }
        }
        out = next;
        rest = &after[end + 1..];
    }
    for o in &mut out {
        o.push_str(rest);
    }
    Ok(out)
}

/// Dash characters `windash` accepts in place of `-`.
const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

fn windash(s: &str) -> Vec<String> {
    let n = s.matches('-').count();
    if n == 0 {
        return vec![s.to_owned()];
    }
    if n > 3 {
        return DASHES.iter().map(|d| s.replace('-', &d.to_string())).collect();
    }
    let mut out = vec![String::new()];
    for c in s.chars() {
        if c == '-' {
            out = out.iter().flat_map(|o| DASHES.iter().map(move |d| format!("{o}{d}"))).collect();
        } else {
            for o in &mut out {
                o.push(c);
            }
        }
    }
    out
}

fn utf16(s: &str, le: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice(if le { &[0xFF, 0xFE] } else { &[0xFE, 0xFF] });
    }
    for u in s.encode_utf16() {
        out.extend_from_slice(&if le { u.to_le_bytes() } else { u.to_be_bytes() });
    }
    out
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The three base64 renderings of `bytes` at offsets 0, 1, 2 inside a longer stream,
/// trimmed to the characters that do not depend on the neighbours.
fn base64_offsets(bytes: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END: [usize; 3] = [0, 3, 2];
    (0..3)
        .filter_map(|i| {
            let mut buf = vec![0u8; i];
            buf.extend_from_slice(bytes);
            let enc = b64(&buf);
            let end_trim = END.get((bytes.len() + i) % 3).copied().unwrap_or(0);
            let start = START.get(i).copied().unwrap_or(0);
            let end = enc.len().saturating_sub(end_trim);
            enc.get(start..end).map(str::to_owned).filter(|s| !s.is_empty())
        })
        .collect()
}

fn compile_string(text: &str, m: &Mods, ci: bool, out: &mut Vec<Pattern>) {
    let encodes = m.transforms.iter().any(|t| t != "windash");
    // Variants as bytes; `literal` once an encoding has made wildcards meaningless.
    let mut variants: Vec<Vec<u8>> =
        vec![if encodes { unescape(text).into_bytes() } else { text.as_bytes().to_vec() }];
    for t in &m.transforms {
        let as_str = |v: &Vec<u8>| String::from_utf8_lossy(v).into_owned();
        variants = match t.as_str() {
            "windash" => {
                variants.iter().flat_map(|v| windash(&as_str(v))).map(String::into_bytes).collect()
            }
            "wide" | "utf16le" => variants.iter().map(|v| utf16(&as_str(v), true, false)).collect(),
            "utf16be" => variants.iter().map(|v| utf16(&as_str(v), false, false)).collect(),
            "utf16" => variants.iter().map(|v| utf16(&as_str(v), true, true)).collect(),
            "base64" => variants.iter().map(|v| b64(v).into_bytes()).collect(),
            "base64offset" => {
                variants.iter().flat_map(|v| base64_offsets(v)).map(String::into_bytes).collect()
            }
            _ => variants,
        };
    }
    // Base64 text is case-sensitive by nature.
    let ci = ci && !m.transforms.iter().any(|t| t.starts_with("base64"));
    for v in variants {
        let s = String::from_utf8_lossy(&v).into_owned();
        let mut toks = if encodes {
            s.chars().map(|c| GTok::Char(fold(c, ci))).collect()
        } else {
            parse_glob(&s, ci)
        };
        if (m.contains || m.endswith) && toks.first() != Some(&GTok::Star) {
            toks.insert(0, GTok::Star);
        }
        if (m.contains || m.startswith) && toks.last() != Some(&GTok::Star) {
            toks.push(GTok::Star);
        }
        out.extend(unicode_case_variants(simplify(toks, ci)));
    }
}

/// Most case variants a literal with non-ASCII cased characters is expanded into.
const MAX_CASE_VARIANTS: usize = 16;

/// A case-insensitive literal whose cased characters are not all ASCII becomes its few
/// lower/upper variants (each compared with ASCII folding), so it needs no allocation when
/// matched and can anchor the prefilter. Patterns with too many variants stay as they are.
fn unicode_case_variants(p: Pattern) -> Vec<Pattern> {
    let (lit, make): (&Lit, fn(Lit) -> Pattern) = match &p {
        Pattern::Equals(l) => (l, Pattern::Equals),
        Pattern::Prefix(l) => (l, Pattern::Prefix),
        Pattern::Suffix(l) => (l, Pattern::Suffix),
        Pattern::Contains(l) => (l, Pattern::Contains),
        _ => return vec![p],
    };
    if !lit.ci || lit.ascii {
        return vec![p];
    }
    let mut variants = vec![String::new()];
    for c in lit.s.chars() {
        if c.is_ascii() || !has_case(c) {
            for v in &mut variants {
                v.push(c);
            }
            continue;
        }
        let mut forms: Vec<String> = vec![c.to_lowercase().collect(), c.to_uppercase().collect()];
        forms.dedup();
        if variants.len() * forms.len() > MAX_CASE_VARIANTS {
            return vec![p];
        }
        variants =
            variants.iter().flat_map(|v| forms.iter().map(move |f| format!("{v}{f}"))).collect();
    }
    variants
        .into_iter()
        .map(|v| make(Lit { s: v.to_ascii_lowercase(), ci: true, ascii: true }))
        .collect()
}

#[cfg(test)]
mod tests {
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
