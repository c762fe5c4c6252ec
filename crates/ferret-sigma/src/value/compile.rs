//! Compiling a detection item: the modifier pipeline (`expand`, `windash`, `wide`/`utf16*`,
//! `base64`, `base64offset`, `re`, `cidr`, numeric comparisons, `fieldref`, `exists`) turns
//! its values into [`Pattern`]s, shaped by `contains`/`startswith`/`endswith` and the
//! wildcards.

use std::collections::BTreeMap;
use std::net::IpAddr;

use base64::Engine as _;
use serde_norway::Value;

use super::{
    CmpOp, CompileError, CompiledRe, FieldItem, GTok, ItemTest, Lit, MIN_ANCHOR, Pattern, Re,
    RefOp, fold, has_case,
};
use crate::FailureKind;

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

/// Parses a Sigma string value into glob tokens (`\*`, `\?`, `\\` escape).
pub(super) fn parse_glob(s: &str, ci: bool) -> Vec<GTok> {
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
pub(super) fn simplify(toks: Vec<GTok>, ci: bool) -> Pattern {
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
pub(super) fn base64_offsets(bytes: &[u8]) -> Vec<String> {
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
