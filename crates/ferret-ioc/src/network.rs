//! Network indicators: domains, IP addresses and URLs from any loaded source (STIX, OpenIOC,
//! MISP, plain lists, the built-in intel). Files are never matched against them; the log
//! detectors look for them in the DNS, proxy, web-access, IIS and Exchange logs ferret reads.

use ferret_core::{RuleRef, Severity};

/// What a network indicator names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NetKind {
    /// A domain or host name, matched with its subdomains; lowercase, no trailing dot.
    Domain,
    /// An IPv4 or IPv6 address, in canonical text form.
    Ip,
    /// A URL, as published.
    Url,
}

impl NetKind {
    /// `domain`, `ip` or `url`.
    pub fn as_str(self) -> &'static str {
        match self {
            NetKind::Domain => "domain",
            NetKind::Ip => "ip",
            NetKind::Url => "url",
        }
    }
}

/// One network indicator and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetIndicator {
    /// What it names.
    pub kind: NetKind,
    /// The normalised value (see [`NetKind`]).
    pub value: String,
    /// The rule it came from: id, name, source file (with line or object id), references.
    pub rule: RuleRef,
    /// How bad a contact with it is.
    pub severity: Severity,
    /// The indicator's origin in its source, for the finding's evidence (a STIX indicator id,
    /// a MISP event and attribute UUID, `file:line`).
    pub origin: String,
}

/// Normalises a value of `kind`: domains lowercased without a trailing dot, IP addresses in
/// canonical form, URLs trimmed. `None` when the value is not of that kind.
pub fn normalise(kind: NetKind, value: &str) -> Option<String> {
    let v = value.trim();
    match kind {
        NetKind::Domain => {
            let d = v.trim_end_matches('.').to_ascii_lowercase();
            let ok = !d.is_empty()
                && d.len() <= 253
                && d.contains('.')
                && d.parse::<std::net::IpAddr>().is_err()
                && d.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                });
            ok.then_some(d)
        }
        NetKind::Ip => v.parse::<std::net::IpAddr>().ok().map(|ip| ip.to_string()),
        NetKind::Url => (!v.is_empty() && v.contains("://")).then(|| v.to_owned()),
    }
}

/// Undoes the usual defanging of a published value: `[.]`, `(.)`, `[:]`, `hxxp`.
fn refang(value: &str) -> String {
    let v = value.replace("[.]", ".").replace("(.)", ".").replace("[:]", ":");
    match v.get(..4) {
        Some(p) if p.eq_ignore_ascii_case("hxxp") => format!("http{}", v.get(4..).unwrap_or("")),
        _ => v,
    }
}

/// Reads one value of a plain list: a URL (`scheme://…`), an IP address or a domain, after
/// undoing the usual defanging (`[.]`, `(.)`, `[:]`, `hxxp`). `None` when it is none of them.
pub fn parse_plain(value: &str) -> Option<(NetKind, String)> {
    let v = refang(value.trim());
    if v.is_empty() || v.contains(';') || v.contains(char::is_whitespace) {
        return None;
    }
    if v.contains("://") {
        return normalise(NetKind::Url, &v).map(|u| (NetKind::Url, u));
    }
    if let Some(ip) = normalise(NetKind::Ip, &v) {
        return Some((NetKind::Ip, ip));
    }
    let d = normalise(NetKind::Domain, &v)?;
    // A top-level label of letters (a host name, not a version number or a digest).
    let tld = d.rsplit('.').next().unwrap_or("");
    (tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic())).then_some((NetKind::Domain, d))
}

/// File extensions that are also syntactically top-level domains: a list whose every domain
/// ends in one may be a list of file names, not of hosts.
const FILE_LIKE: &[&str] = &[
    "exe", "dll", "sys", "aspx", "asp", "ashx", "asmx", "php", "jsp", "jspx", "js", "ps1", "bat",
    "cmd", "vbs", "sh", "py", "pl", "pm", "cgi", "so", "txt", "log", "dat", "bin", "tmp", "zip",
    "rar", "gz", "tar", "jar", "war", "msi", "msp", "jpg", "png", "gif", "doc", "docx", "xls",
    "xlsx", "pdf", "html", "htm", "xml", "json", "yml", "yaml", "conf", "ini", "cfg", "lnk", "yar",
];

/// The first token of a list line (text after it is a description), or `None` for a comment
/// or blank line.
fn list_value(line: &str) -> Option<&str> {
    let line = line.trim().trim_start_matches('\u{feff}');
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    line.split_whitespace().next()
}

/// Whether `text` reads as a plain list of network indicators: each of the first data lines
/// (up to 200) starts with a domain, an IP address or a URL, and at least one is not a name
/// that could be a file's (`evil.exe`). Hash lists, Loki lists (`value;score`), Sigma and
/// YARA never pass.
pub fn looks_like_list(text: &str) -> bool {
    let mut clear = false;
    let mut n = 0;
    for line in text.lines().take(400) {
        let Some(value) = list_value(line) else { continue };
        let Some((kind, v)) = parse_plain(value) else { return false };
        clear |=
            kind != NetKind::Domain || !FILE_LIKE.contains(&v.rsplit('.').next().unwrap_or(""));
        n += 1;
        if n == 200 {
            break;
        }
    }
    n > 0 && clear
}

/// Loads a plain list: one domain, IP address or URL a line (defanged forms accepted), `#`
/// comments; the last comment line above an entry is its description.
pub(crate) fn load_list(ctx: &mut crate::LoadCtx<'_>, text: &str) {
    let file = ctx.source().rsplit(['/', '\\']).next().unwrap_or_default().to_owned();
    let mut heading = String::new();
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let line = raw.trim().trim_start_matches('\u{feff}');
        if let Some(c) = line.strip_prefix('#') {
            let c = c.trim();
            if !c.is_empty() {
                heading = c.chars().take(200).collect();
            }
            continue;
        }
        let Some(value) = list_value(line) else { continue };
        let Some((kind, v)) = parse_plain(value) else {
            ctx.line_problem(line_no, format!("not a domain, IP address or URL: {value:.80}"));
            continue;
        };
        let name = if heading.is_empty() {
            format!("{} listed in {file}: {v:.120}", kind.as_str())
        } else {
            format!("{heading} — {} {v:.120}", kind.as_str())
        };
        let rule = RuleRef {
            id: v.clone(),
            name,
            source: Some(ctx.source_at(line_no)),
            references: crate::urls_in(&heading),
        };
        ctx.add_network(NetIndicator {
            kind,
            value: v,
            rule,
            severity: Severity::High,
            origin: format!("{file}:{line_no}"),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lists() {
        let list = "# C2 of the test campaign\nbad[.]example\n203.0.113.9\nhxxps://files.example/a.php extra words\n";
        assert!(looks_like_list(list));
        assert_eq!(parse_plain("bad[.]example"), Some((NetKind::Domain, "bad.example".into())));
        assert_eq!(
            parse_plain("hxxps://files.example/a.php"),
            Some((NetKind::Url, "https://files.example/a.php".into()))
        );
        let digest = format!("{}\n", "a".repeat(64));
        for not in [
            "# only a comment\n",
            "bad.example;90\n",
            digest.as_str(),
            "title: Sigma rule\nlogsource:\n",
            "rule x { condition: true }\n",
            "evil.exe\ncmd.exe\n",
            "1.2.3\n",
            "bad.example\nnot a host\n",
        ] {
            assert!(!looks_like_list(not), "{not:?}");
        }
        assert!(looks_like_list("evil.exe\nbad.example\n"));
    }

    #[test]
    fn normalises_each_kind() {
        assert_eq!(normalise(NetKind::Domain, "Avsvmcloud.COM."), Some("avsvmcloud.com".into()));
        assert_eq!(normalise(NetKind::Domain, "10.0.0.1"), None);
        assert_eq!(normalise(NetKind::Domain, "no spaces.com"), None);
        assert_eq!(normalise(NetKind::Ip, " 2001:DB8::1 "), Some("2001:db8::1".into()));
        assert_eq!(normalise(NetKind::Ip, "999.1.1.1"), None);
        assert_eq!(
            normalise(NetKind::Url, "https://example.com/x"),
            Some("https://example.com/x".into())
        );
    }
}
