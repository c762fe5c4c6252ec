//! The indicator-literal check: campaign knowledge lives in `intel/`, never in Rust.
//!
//! Fails when a string literal in a Rust source file under `crates/` — outside `tests/`,
//! `benches/` and `examples/` folders, `tests.rs` files and items under a `#[cfg(...)]` that
//! names `test` — holds a 32, 40 or 64 hex digit run (a digest), or a `value` of any table
//! under `intel/` (a domain, address, hash, name or path), as a whole token. Loopback
//! addresses and documentation examples (`example.com`/`.org`/`.net`, RFC 5737 and RFC 3849
//! ranges) are not indicators and are never flagged.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One literal that should be data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The file, relative to the workspace root.
    pub file: String,
    /// The 1-based line.
    pub line: usize,
    /// What it holds.
    pub what: String,
}

impl std::fmt::Display for Hit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.what)
    }
}

/// Whether a value is a documentation example or loopback, never an indicator.
pub fn is_example(v: &str) -> bool {
    let v = v.to_ascii_lowercase();
    let host = v.rsplit('@').next().unwrap_or(&v);
    ["example.com", "example.org", "example.net", "localhost"]
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")))
        || ["127.", "192.0.2.", "198.51.100.", "203.0.113.", "2001:db8:"]
            .iter()
            .any(|p| host.starts_with(p))
        || host == "::1"
}

/// Row kinds whose value is not an indicator: genuine product files, request patterns
/// (`requests.tsv`) and content markers (`webshells.tsv` of ProxyShell).
const PATTERN_KINDS: [&str; 11] = [
    "product",
    "traversal",
    "injection",
    "overflow",
    "uri",
    "message",
    "endpoint",
    "target",
    "magic",
    "extension",
    "script",
];

/// The `value` fields of every table under `intel_dir` worth looking for: at least six
/// characters, not an example. Product rows (genuine files), request patterns, content
/// markers and marker literals (code fragments) are not indicators of their own.
pub fn intel_values(intel_dir: &Path) -> anyhow::Result<BTreeSet<String>> {
    let mut values = BTreeSet::new();
    let mut stack = vec![intel_dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "tsv") {
                continue;
            }
            let text = std::fs::read_to_string(&path)?;
            let mut header: Option<Vec<&str>> = None;
            for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
                let fields: Vec<&str> = line.split('\t').collect();
                let Some(h) = &header else {
                    header = Some(fields);
                    continue;
                };
                let col = |name: &str| {
                    h.iter().position(|c| *c == name).and_then(|i| fields.get(i)).copied()
                };
                // Genuine product files, and the request patterns and content markers of the
                // log and file detectors (code fragments, like the marker literals), are not
                // indicators of their own.
                if col("kind").is_some_and(|k| PATTERN_KINDS.contains(&k)) {
                    continue;
                }
                if let Some(v) = col("value") {
                    let v = v.trim().to_ascii_lowercase();
                    if v.len() >= 6 && !is_example(&v) {
                        values.insert(v);
                    }
                }
            }
        }
    }
    Ok(values)
}

/// The string literals of Rust source outside test items: (line, contents).
pub fn string_literals(src: &str) -> Vec<(usize, String)> {
    let chars: Vec<char> = src.chars().collect();
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    // Depth of braces, and the depth at which a test item's body started (skip until closed).
    let mut depth = 0usize;
    let mut skip_from: Option<usize> = None;
    let mut test_attr = false;
    while i < chars.len() {
        let c = at(i);
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && at(i) != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            i += 2;
            while i < chars.len() && !(at(i) == '*' && at(i + 1) == '/') {
                line += usize::from(at(i) == '\n');
                i += 1;
            }
            i += 2;
        } else if c == '#' && at(i + 1) == '[' {
            let start = i;
            let mut d = 0;
            while i < chars.len() {
                match at(i) {
                    '[' => d += 1,
                    ']' => {
                        d -= 1;
                        if d == 0 {
                            break;
                        }
                    }
                    '\n' => line += 1,
                    _ => {}
                }
                i += 1;
            }
            let attr: String =
                chars.get(start..=i.min(chars.len() - 1)).unwrap_or(&[]).iter().collect();
            let compact: String = attr.chars().filter(|c| !c.is_whitespace()).collect();
            if compact.starts_with("#[cfg(")
                && !compact.starts_with("#[cfg(not(")
                && (compact.contains("(test")
                    || compact.contains(",test")
                    || compact.contains("doctest"))
            {
                test_attr = true;
            }
            i += 1;
        } else if c == '{' {
            if test_attr && skip_from.is_none() {
                skip_from = Some(depth);
            }
            test_attr = false;
            depth += 1;
            i += 1;
        } else if c == '}' {
            depth = depth.saturating_sub(1);
            if skip_from == Some(depth) {
                skip_from = None;
            }
            i += 1;
        } else if c == ';' {
            // `#[cfg(test)] mod tests;` or a test-only `use`: the attribute ends here.
            test_attr = false;
            i += 1;
        } else if c == '\'' {
            // A char literal or a lifetime.
            if at(i + 1) == '\\' {
                i += 2;
                while i < chars.len() && at(i) != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
            }
        } else if c == '"'
            || (c == 'r' && (at(i + 1) == '"' || at(i + 1) == '#'))
            || (c == 'b' && at(i + 1) == '"')
        {
            let raw = c == 'r';
            if c == 'b' {
                i += 1;
            }
            let mut hashes = 0;
            if raw {
                i += 1;
                while at(i) == '#' {
                    hashes += 1;
                    i += 1;
                }
                if at(i) != '"' {
                    continue;
                }
            }
            i += 1;
            let start_line = line;
            let mut s = String::new();
            loop {
                let ch = at(i);
                if i >= chars.len() {
                    break;
                }
                if ch == '\n' {
                    line += 1;
                }
                if !raw && ch == '\\' {
                    // Keep escapes' second char; a line continuation's whitespace is noise.
                    s.push(at(i + 1));
                    line += usize::from(at(i + 1) == '\n');
                    i += 2;
                    continue;
                }
                if ch == '"' && (0..hashes).all(|k| at(i + 1 + k) == '#') {
                    i += 1 + hashes;
                    break;
                }
                s.push(ch);
                i += 1;
            }
            if skip_from.is_none() {
                out.push((start_line, s));
            }
        } else {
            if c.is_alphanumeric() || c == '_' {
                // Skip identifiers whole, so `br` or `r` inside one is not a literal start.
                while at(i).is_alphanumeric() || at(i) == '_' {
                    i += 1;
                }
                continue;
            }
            i += 1;
        }
    }
    out
}

/// Whether `text[start..start + len]` is a whole token: no letter, digit, `-` or `_` touches
/// it, and a `.` only before it (a subdomain) or after it at the end of a sentence.
fn bounded(text: &str, start: usize, len: usize) -> bool {
    let inner = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let before = text.get(..start).and_then(|t| t.chars().next_back());
    let mut after = text.get(start + len..).unwrap_or("").chars();
    let next = after.next();
    let then = after.next();
    before.is_none_or(|c| !inner(c))
        && next.is_none_or(|c| !(inner(c) || (c == '.' && then.is_some_and(inner))))
}

/// What is wrong with one literal, if anything.
pub fn check_literal(lit: &str, values: &BTreeSet<String>) -> Option<String> {
    // A 32/40/64 hex digit run, bounded by non-hex characters.
    let bytes = lit.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes.get(i).is_some_and(u8::is_ascii_hexdigit) {
            let start = i;
            while bytes.get(i).is_some_and(u8::is_ascii_hexdigit) {
                i += 1;
            }
            let run = lit.get(start..i).unwrap_or("");
            let distinct: BTreeSet<u8> = run.bytes().map(|b| b.to_ascii_lowercase()).collect();
            if matches!(run.len(), 32 | 40 | 64) && distinct.len() > 2 {
                return Some(format!("a {}-hex-digit digest {run}", run.len()));
            }
        } else {
            i += 1;
        }
    }
    let lower = lit.to_ascii_lowercase();
    for v in values {
        let mut from = 0;
        while let Some(p) = lower.get(from..).and_then(|t| t.find(v.as_str())) {
            let start = from + p;
            if bounded(&lower, start, v.len()) {
                return Some(format!("the intel value {v:?}"));
            }
            from = start + 1;
        }
    }
    None
}

/// The Rust files under `dir` that are not test code by location.
fn source_files(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if path.is_dir() {
            if !["tests", "benches", "examples", "target", "data"].contains(&name.as_str()) {
                source_files(&path, out)?;
            }
        } else if path.extension().is_some_and(|e| e == "rs") && name != "tests.rs" {
            out.push(path);
        }
    }
    Ok(())
}

/// Every indicator literal in the workspace's crates.
pub fn find(root: &Path) -> anyhow::Result<Vec<Hit>> {
    let values = intel_values(&root.join("intel"))?;
    let mut files = Vec::new();
    source_files(&root.join("crates"), &mut files)?;
    files.sort();
    let mut hits = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f)?;
        let rel = f.strip_prefix(root).unwrap_or(&f).display().to_string();
        for (line, lit) in string_literals(&text) {
            if let Some(what) = check_literal(&lit, &values) {
                hits.push(Hit { file: rel.clone(), line, what });
            }
        }
    }
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> BTreeSet<String> {
        ["freescanonline.com".to_owned(), "13.59.205.66".to_owned()].into_iter().collect()
    }

    #[test]
    fn literals_outside_tests_only() {
        let src = concat!(
            "//! doc \"not a literal\"\nconst A: &str = \"one\";\n",
            "#[cfg(test)]\nmod tests {\n    const B: &str = \"two\";\n    fn f() { let _ = '{'; }\n}\n",
            "fn g() -> &'static str { r#\"three \"x\"\"# }\n",
            "#[cfg(test)]\nmod other;\nconst C: &[u8] = b\"four\";\n"
        );
        let lits: Vec<String> = string_literals(src).into_iter().map(|(_, s)| s).collect();
        assert_eq!(lits, ["one", "three \"x\"", "four"]);
    }

    #[test]
    fn flags_digests_and_intel_values_not_examples() {
        let v = values();
        let digest = "0123456789abcdef".repeat(4);
        assert!(check_literal(&format!("sha {digest}"), &v).is_some());
        assert!(check_literal(&"a".repeat(64), &v).is_none());
        assert!(check_literal("query cdn.freescanonline.com", &v).is_some());
        assert!(check_literal("notfreescanonline.com", &v).is_none());
        assert!(check_literal("freescanonline.com.example", &v).is_none());
        assert!(check_literal("it was freescanonline.com.", &v).is_some());
        assert!(check_literal("113.59.205.66", &v).is_none());
        assert!(check_literal("host 13.59.205.66:443", &v).is_some());
        assert!(is_example("www.example.com") && is_example("192.0.2.7") && is_example("::1"));
        assert!(!is_example("freescanonline.com"));
    }

    /// The repository itself: no Rust source under `crates/` holds an indicator outside tests.
    #[test]
    fn the_crates_hold_no_indicator_literals() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let hits = find(&root).unwrap();
        let list: Vec<String> = hits.iter().map(ToString::to_string).collect();
        assert!(list.is_empty(), "indicator literals belong in intel/:\n{}", list.join("\n"));
    }
}
