//! Escaping attacker-controlled text for display.
//!
//! File names, matched data and log fields come from the examined system. Before they
//! reach a terminal, CSV or HTML they pass through [`escape`], which turns every control
//! character (C0, DEL, C1), the Unicode bidirectional overrides and isolates, and line and
//! paragraph separators into visible escapes, so that a name cannot move the cursor, recolour
//! the screen, forge a line of output or reorder what the reader sees.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must be escaped before display.
pub fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
}

/// Escapes control and bidi characters: `\n`, `\r`, `\t`, `\\` stay readable as such,
/// everything else dangerous becomes `\u{XXXX}`. A backslash is doubled only when the text
/// needed escaping, so ordinary Windows paths stay as they are.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_dangerous) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_dangerous(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(escape(r"C:\Windows\a.dll"), Cow::Borrowed(_)));
    }

    #[test]
    fn controls_and_bidi_are_escaped() {
        assert_eq!(escape("a\nb"), "a\\nb");
        assert_eq!(escape("\u{1b}[31mred"), "\\u{001b}[31mred");
        assert_eq!(escape("evil\u{202e}fdp.exe"), "evil\\u{202e}fdp.exe");
        assert_eq!(escape("\u{9b}x"), "\\u{009b}x");
        assert!(!escape("\u{1b}]0;title\u{7}").chars().any(is_dangerous));
    }
}
