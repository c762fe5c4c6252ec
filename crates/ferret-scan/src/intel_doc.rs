//! Documents *about* indicators: rule files and indicator lists.
//!
//! The built-in rules that match an indicator's *name* (a C2 domain) would fire on every
//! YARA, Sigma or Snort rule file, STIX bundle, OpenIOC file or IOC list that mentions it.
//! Such a match is lowered to an `info` note only when the **whole** file parses as one of
//! those formats: a web shell with a rule-like header, or a DNS log with one rule line in
//! it, does not parse and keeps its finding. Content rules (web shells, implants,
//! executables) are never lowered.

use std::path::Path;

use crate::yara::EXTERNALS;

/// The format of a file that parses, whole, as a document about indicators.
pub(crate) fn intel_document(path: &Path, bytes: &[u8]) -> Option<&'static str> {
    let text = std::str::from_utf8(bytes).ok()?;
    let text = text.trim_start_matches('\u{feff}');
    if text.trim().is_empty() {
        return None;
    }
    if is_yara(text) {
        return Some("YARA rule file");
    }
    if is_snort(text) {
        return Some("Snort/Suricata rule file");
    }
    if is_sigma(text) {
        return Some("Sigma rule file");
    }
    let name = path.to_string_lossy();
    if let Some(format) = ferret_ioc::sniff(&name, bytes) {
        let mut set = ferret_ioc::IocSet::new();
        let mut problems = Vec::new();
        let n = set.load(format, &name, text, &mut problems);
        if n > 0 && problems.is_empty() {
            return Some(match format {
                ferret_ioc::IocFormat::Stix2 => "STIX bundle",
                ferret_ioc::IocFormat::OpenIoc => "OpenIOC file",
                _ => "indicator list",
            });
        }
    }
    if is_indicator_list(text) {
        return Some("indicator list");
    }
    None
}

fn is_yara(text: &str) -> bool {
    if !text.contains("rule") || !text.contains("condition") {
        return false;
    }
    let mut c = yara_x::Compiler::new();
    for e in EXTERNALS {
        let _ = c.define_global(e, "");
    }
    if c.add_source(text).is_err() {
        return false;
    }
    c.build().iter().next().is_some()
}

/// Every rule line starts with an action and holds its options in parentheses; comments
/// and blank lines aside, nothing else.
fn is_snort(text: &str) -> bool {
    const ACTIONS: [&str; 7] = ["alert", "drop", "reject", "pass", "log", "sdrop", "rejectsrc"];
    let mut rules = 0;
    let mut joined = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if joined.is_empty() && (line.is_empty() || line.starts_with('#')) {
            continue;
        }
        if let Some(head) = line.strip_suffix('\\') {
            joined.push_str(head);
            continue;
        }
        joined.push_str(line);
        let rule = std::mem::take(&mut joined);
        let action = rule.split_whitespace().next().unwrap_or("");
        let ok = ACTIONS.contains(&action)
            && rule.ends_with(')')
            && rule.find('(').is_some_and(|i| rule.get(i..).is_some_and(|o| o.contains(';')));
        if !ok {
            return false;
        }
        rules += 1;
    }
    rules > 0 && joined.is_empty()
}

/// Every YAML document is a mapping; at least one is a rule (a `detection` with a
/// `logsource` or a `title`), and none is anything else.
fn is_sigma(text: &str) -> bool {
    use serde::Deserialize as _;
    if !text.contains("detection") {
        return false;
    }
    let mut rules = 0;
    for doc in serde_norway::Deserializer::from_str(text) {
        let Ok(value) = serde_norway::Value::deserialize(doc) else {
            return false;
        };
        let Some(map) = value.as_mapping() else {
            return false;
        };
        let has = |k: &str| map.contains_key(serde_norway::Value::from(k));
        if has("detection") && (has("logsource") || has("title")) {
            rules += 1;
        } else if !(has("logsource") || has("action") || has("title")) {
            return false;
        }
    }
    rules > 0
}

/// A plain list of indicators: every non-comment line is one domain, IP address, URL or
/// hexadecimal digest (optionally followed by a separator and a description).
fn is_indicator_list(text: &str) -> bool {
    let mut n = 0;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
            continue;
        }
        let first = line.split([',', ';', '\t', ' ']).next().unwrap_or("");
        if !is_indicator(first.trim_matches(['"', '\''])) {
            return false;
        }
        n += 1;
    }
    n > 0
}

fn is_indicator(s: &str) -> bool {
    if s.is_empty() || s.len() > 2048 {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("hxxp") {
        return !s.contains(char::is_whitespace);
    }
    if s.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    if matches!(s.len(), 32 | 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return true;
    }
    // A domain: labels of letters, digits and hyphens (defanged dots accepted), with a
    // top-level label of letters.
    let d = lower.replace("[.]", ".");
    let labels: Vec<&str> = d.trim_end_matches('.').split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        && labels.last().is_some_and(|t| t.len() >= 2 && t.bytes().all(|b| b.is_ascii_alphabetic()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(name: &str, text: &str) -> Option<&'static str> {
        intel_document(Path::new(name), text.as_bytes())
    }

    #[test]
    fn whole_rule_files_are_documents() {
        let d = "avsvm".to_owned() + "cloud.com";
        let yara = format!("rule r {{ strings: $a = \"{d}\" condition: $a }}\n");
        assert_eq!(doc("x.yar", &yara), Some("YARA rule file"));
        let snort = format!(
            "# c2\nalert udp any any -> any 53 (msg:\"SUNBURST\"; content:\"{d}\"; sid:1;)\n"
        );
        assert_eq!(doc("x.rules", &snort), Some("Snort/Suricata rule file"));
        let sigma = format!(
            "title: t\nlogsource:\n  category: dns\ndetection:\n  sel:\n    query|endswith: '{d}'\n  condition: sel\n"
        );
        assert_eq!(doc("x.yml", &sigma), Some("Sigma rule file"));
        assert_eq!(
            doc("iocs.txt", &format!("# domains\n{d}\n13.59.205.66\n")),
            Some("indicator list")
        );
    }

    #[test]
    fn logs_configs_and_shells_are_not() {
        let d = "avsvm".to_owned() + "cloud.com";
        let dns = format!(
            "12/14/2020 10:00:00 AM 0E40 PACKET  0000 UDP Rcv 10.0.0.5 0001 Q [0001 D NOERROR] A (7)abc{d}(0)\n"
        );
        assert_eq!(doc("dns.log", &dns), None);
        let shell = format!(
            "rule x condition\n<%@ Page Language=\"Jscript\"%><% eval(Request.Item[\"{d}\"]); %>"
        );
        assert_eq!(doc("shell.aspx", &shell), None);
        let mixed = format!("alert tcp any any -> any any (msg:\"x\"; sid:1;)\nbeacon {d}\n");
        assert_eq!(doc("x.rules", &mixed), None);
        assert_eq!(doc("conf.json", &format!("{{\"host\": \"{d}\"}}")), None);
    }
}
