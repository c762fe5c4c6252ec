//! Known-bad infrastructure contacted: the network indicators of the loaded rule files
//! (domains, IP addresses and URLs from STIX, MISP and OpenIOC, given to `check --rules`)
//! looked for in the DNS, proxy, web-access, IIS, Exchange, syslog and other logs the run
//! reads.
//!
//! This is not a campaign detector: its findings carry the indicator's own rule (id, name,
//! source file and position, references) and its origin (a STIX id, a MISP event and
//! attribute), count as findings of the run (exit status 1 at high severity), and decide no
//! campaign's verdict. A value that the loaded intel lists for a campaign checked in the same
//! run (SUNBURST's `sunburst/network.tsv`, ProxyLogon's `proxylogon/client-ips.tsv`) is left
//! to that campaign's detector (SB005, PL008), so one contact gives one finding.

use std::collections::HashMap;
use std::net::IpAddr;

use ferret_core::{Engine, Finding, RuleRef, Severity};
use ferret_logs::Event;

use crate::inventory::LogSource;

/// What a network indicator names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetKind {
    /// A domain, matched with its subdomains (lowercase, no trailing dot).
    Domain,
    /// An IP address (canonical text), matched as a whole token.
    Ip,
    /// A URL, matched as a case-insensitive substring of the line.
    Url,
}

/// One network indicator and where it came from.
#[derive(Clone, Debug)]
pub struct NetIndicator {
    /// What it names.
    pub kind: NetKind,
    /// The normalised value.
    pub value: String,
    /// The rule it came from (id, name, source file and position, references).
    pub rule: RuleRef,
    /// How bad a contact is.
    pub severity: Severity,
    /// Its origin in its source (a STIX indicator id, a MISP event and attribute UUID).
    pub origin: String,
}

/// The log sources looked at: where a contacted host, address or URL is written.
pub const SOURCES: [LogSource; 9] = [
    LogSource::Dns,
    LogSource::WebAccess,
    LogSource::Iis,
    LogSource::ExchangeHttpProxy,
    LogSource::ExchangeEcpServer,
    LogSource::ExchangeOabGenerator,
    LogSource::ExchangeOther,
    LogSource::Syslog,
    LogSource::Other,
];

/// The loaded network indicators, indexed for lookup in log lines.
#[derive(Debug, Default)]
pub struct NetIndicators {
    list: Vec<NetIndicator>,
    by_value: HashMap<String, Vec<usize>>,
    urls: Vec<(String, usize)>,
}

impl NetIndicators {
    /// Indexes `list` (values as normalised by their loader).
    pub fn new(list: Vec<NetIndicator>) -> NetIndicators {
        let mut n = NetIndicators::default();
        for (i, ind) in list.iter().enumerate() {
            match ind.kind {
                NetKind::Url => n.urls.push((ind.value.to_ascii_lowercase(), i)),
                NetKind::Domain | NetKind::Ip => {
                    n.by_value.entry(ind.value.to_ascii_lowercase()).or_default().push(i);
                }
            }
        }
        n.list = list;
        n
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// The values, for the log prefilter (a hit's line contains its value).
    pub fn needles(&self) -> Vec<String> {
        let mut v: Vec<String> = self.by_value.keys().cloned().collect();
        v.extend(self.urls.iter().map(|(u, _)| u.clone()));
        v
    }

    /// Every indicator a line names, each once, with the value seen: domains with their
    /// subdomains as whole labels, IP addresses as whole tokens, URLs as substrings.
    pub fn hits_in(&self, line: &str) -> Vec<(&NetIndicator, String)> {
        let lower = line.to_ascii_lowercase();
        let mut found: Vec<(usize, String)> = Vec::new();
        let push = |i: usize, what: &str, found: &mut Vec<(usize, String)>| {
            if !found.iter().any(|(j, _)| *j == i) {
                found.push((i, what.to_owned()));
            }
        };
        let out = &mut found;
        // Domains and IPv4: tokens of letters, digits, `.`, `-`, `_`.
        for token in
            lower.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
        {
            let token = token.trim_matches('.');
            if token.is_empty() {
                continue;
            }
            let mut rest = token;
            loop {
                if let Some(ids) = self.by_value.get(rest) {
                    for &i in ids {
                        push(i, token, out);
                    }
                    break;
                }
                match rest.split_once('.') {
                    Some((_, parent)) if parent.contains('.') => rest = parent,
                    _ => break,
                }
            }
        }
        // IPv6: tokens of hex digits and `:` (and `.` for a mapped IPv4 tail).
        for token in lower.split(|c: char| !(c.is_ascii_hexdigit() || matches!(c, ':' | '.'))) {
            if token.matches(':').count() < 2 {
                continue;
            }
            if let Ok(ip) = token.trim_matches('.').parse::<IpAddr>()
                && let Some(ids) = self.by_value.get(&ip.to_string())
            {
                for &i in ids {
                    push(i, token, out);
                }
            }
        }
        for (u, i) in &self.urls {
            if lower.contains(u.as_str()) {
                push(*i, u, out);
            }
        }
        found.into_iter().filter_map(|(i, seen)| self.list.get(i).map(|ind| (ind, seen))).collect()
    }
}

/// The title of the findings.
pub const TITLE: &str = "Known-bad infrastructure contacted (network indicator in a log)";

fn evidence(label: &str, data: &str) -> ferret_core::Evidence {
    ferret_core::Evidence::from_bytes(label, None, data.as_bytes())
}

/// The finding for one indicator named by one log event.
pub fn finding(ev: &Event, source: LogSource, ind: &NetIndicator, seen: &str) -> Finding {
    let mut f = Finding::new(Engine::Check, ind.rule.clone(), ind.severity)
        .with_path(&*ev.source)
        .with_message(format!(
            "Known-bad infrastructure contacted: {} {} ({})",
            match ind.kind {
                NetKind::Domain => "domain",
                NetKind::Ip => "address",
                NetKind::Url => "URL",
            },
            ind.value,
            ind.origin
        ))
        .with_score(ind.severity.default_score())
        .with_detail("network_indicator", ind.value.as_str());
    f.time = ev.time;
    f.log = Some(ferret_core::LogRef {
        format: Some(ev.format.as_str().to_owned()),
        record_id: ev.record_id,
        line: ev.line,
        channel: ev.channel.clone(),
    });
    f.push_evidence(evidence("indicator", &ind.value));
    if seen != ind.value {
        f.push_evidence(evidence("seen", seen));
    }
    f.push_evidence(evidence("origin", &ind.origin));
    if let Some(s) = &ind.rule.source {
        f.push_evidence(evidence("indicator_source", s));
    }
    f.push_evidence(evidence("log_source", source.as_str()));
    f.push_evidence(evidence("line", ev.text()));
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ind(kind: NetKind, value: &str) -> NetIndicator {
        NetIndicator {
            kind,
            value: value.to_owned(),
            rule: RuleRef { id: value.to_owned(), ..RuleRef::default() },
            severity: Severity::High,
            origin: "test".to_owned(),
        }
    }

    #[test]
    fn domains_ips_and_urls() {
        let n = NetIndicators::new(vec![
            ind(NetKind::Domain, "bad.example"),
            ind(NetKind::Ip, "203.0.113.7"),
            ind(NetKind::Ip, "2001:db8::7"),
            ind(NetKind::Url, "http://files.example/drop.php"),
        ]);
        let vals = |l: &str| -> Vec<String> {
            n.hits_in(l).into_iter().map(|(i, _)| i.value.clone()).collect()
        };
        assert_eq!(vals("query: cdn.BAD.example IN A"), ["bad.example"]);
        assert!(vals("query: notbad.example IN A; bad.example.org").is_empty());
        assert_eq!(vals("client 203.0.113.7#5353"), ["203.0.113.7"]);
        assert!(vals("client 203.0.113.70 and 1203.0.113.7").is_empty());
        assert_eq!(vals("[2001:DB8:0::7]:443 CONNECT"), ["2001:db8::7"]);
        assert_eq!(
            vals("GET HTTP://files.example/drop.php?x=1 200"),
            ["http://files.example/drop.php"]
        );
        assert!(vals("GET http://files.example/other.php 200").is_empty());
    }
}
