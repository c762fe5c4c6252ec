//! Evaluating a compiled detection item on an event: [`FieldItem::matches`] and
//! [`Pattern::matches_value`], without allocating on the non-matching path (ASCII folding byte
//! by byte, glob matching in place).

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::net::IpAddr;

use ferret_core::{FieldValue, Fields};

use super::{
    CmpOp, FieldItem, GTok, ItemTest, Lit, MIN_ANCHOR, Pattern, Re, RefOp, fold, has_case,
};

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
