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

#[cfg(test)]
mod tests {
    use super::*;

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
