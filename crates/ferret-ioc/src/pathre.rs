//! Translation of Loki/signature-base file-name regexes (Python `re` syntax, written for
//! Windows paths) into Rust `regex` syntax that matches paths of either separator style.
//!
//! - Outside a character class, an escaped backslash `\\` and a slash `/` both become
//!   `[\\/]`, so `\\inetpub\\wwwroot\\x\.aspx` matches `/mnt/c/inetpub/wwwroot/x.aspx` too
//!   (Loki itself rewrites `\\` to `/` on Unix; this keeps both).
//! - Inside a class, `\\` and `/` each add the other separator.
//! - Python treats `[` inside a class as a literal and has no class set operations; Rust
//!   has nested classes and `&&`/`--`/`~~`, so those characters are escaped there.
//! - `\Z` (Python's end of string) becomes `\z`.
//!
//! Everything else is passed through; what Rust's `regex` does not support (look-around,
//! back-references) fails to compile and is reported for that line.

const SEP: &str = r"[\\/]";

/// Translates one pattern.
pub(crate) fn translate(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut i = 0;
    let mut in_class = false;
    let mut class_start = false;
    while let Some(&c) = chars.get(i) {
        let next = chars.get(i + 1).copied();
        if in_class {
            let first = class_start;
            class_start = false;
            let mut step = 1;
            match c {
                '\\' => match next {
                    Some('\\') => {
                        out.push_str(r"\\/");
                        step = 2;
                    }
                    Some(n) => {
                        out.push('\\');
                        out.push(n);
                        step = 2;
                    }
                    None => out.push('\\'),
                },
                '/' => out.push_str(r"/\\"),
                ']' if first => out.push_str(r"\]"),
                ']' => {
                    out.push(']');
                    in_class = false;
                }
                '[' if next == Some(':') => {
                    // POSIX class `[:name:]`: copy through the closing `:]`.
                    let rest: String = chars.get(i..).unwrap_or_default().iter().collect();
                    if let Some(end) = rest.find(":]") {
                        let posix = rest.get(..end + 2).unwrap_or_default();
                        out.push_str(posix);
                        step = posix.chars().count();
                    } else {
                        out.push_str(r"\[");
                    }
                }
                '[' => out.push_str(r"\["),
                '&' => out.push_str(r"\&"),
                '~' => out.push_str(r"\~"),
                '-' if next == Some('-') => out.push_str(r"\-"),
                c => out.push(c),
            }
            i += step;
            continue;
        }
        match c {
            '\\' => match next {
                Some('\\') => {
                    out.push_str(SEP);
                    i += 2;
                }
                Some('Z') => {
                    out.push_str(r"\z");
                    i += 2;
                }
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                    i += 2;
                }
                None => {
                    out.push('\\');
                    i += 1;
                }
            },
            '/' => {
                out.push_str(SEP);
                i += 1;
            }
            '[' => {
                out.push('[');
                in_class = true;
                class_start = true;
                i += 1;
                if next == Some('^') {
                    out.push('^');
                    i += 1;
                }
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::translate;

    fn m(pattern: &str, path: &str) -> bool {
        regex::bytes::Regex::new(&translate(pattern)).unwrap().is_match(path.as_bytes())
    }

    #[test]
    fn separators_match_both_styles() {
        assert!(m(r"\\inetpub\\wwwroot\\x\.aspx", r"C:\inetpub\wwwroot\x.aspx"));
        assert!(m(r"\\inetpub\\wwwroot\\x\.aspx", "/mnt/c/inetpub/wwwroot/x.aspx"));
        assert!(m(r"/tmp/\.x$", r"\tmp\.x"));
        assert!(m(r"\\Temp\\[^\\]+\.exe$", "/Temp/a.exe"));
        assert!(!m(r"\\Temp\\[^\\]+\.exe$", "/Temp/a/b.exe"), "class gains the other separator");
        assert!(!m(r"\\Temp\\[^\\]+\.exe$", r"\Temp\a\b.exe"));
    }

    #[test]
    fn python_class_literals() {
        assert_eq!(translate(r"[[]"), r"[\[]");
        assert!(m(r"a[[]b", "a[b"));
        assert!(m(r"x[&~]y", "x&y"));
        assert!(m(r"[]a]", "]"));
        assert!(m(r"[[:alpha:]]1", "q1"));
        assert!(m(r"end\Z", "the end"));
    }

    #[test]
    fn case_sensitive_unless_flag() {
        assert!(!m(r"\\mimikatz\.exe", "/x/MIMIKATZ.EXE"));
        assert!(m(r"(?i)\\mimikatz\.exe", "/x/MIMIKATZ.EXE"));
    }
}
