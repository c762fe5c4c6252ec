//! Known-bad infrastructure contacted: network indicators (domains, IP addresses, URLs) from
//! any loaded source, looked for in log lines. `ferret check` (its network-indicator pass) and
//! `ferret hunt` both use this: the index ([`NetIndicators`]), the matching rules
//! ([`NetIndicators::hits_in`]) and the finding ([`finding`]).
//!
//! A finding carries the indicator's own rule (id, name, source file and position,
//! references) and its origin (a STIX id, a MISP event and attribute, a list's `file:line`, an
//! intel table row). Only events with a text line are looked at (text logs; not EVTX).

use std::collections::HashMap;
use std::net::IpAddr;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use ferret_core::{Engine, Finding};
pub use ferret_ioc::network::{NetIndicator, NetKind, normalise};

use crate::Event;

/// Largest total length of needles [`line_prefilter`] compiles into a DFA (about 26 KB for
/// the 2,036 SUNBURST network indicators of the built-in intel; a DFA of this size takes a
/// few megabytes).
const PREFILTER_DFA_MAX: usize = 64 << 10;

/// A case-insensitive test of whether a line contains any of `needles` (`None` when there
/// are none). A DFA while the needles' total length is at most 64 KiB: for the thousands of
/// network indicators it is several times faster per byte than the NFA the builder picks
/// for a set that large (measured: `BENCHMARKS.md`, check); a larger set keeps the compact
/// contiguous NFA.
pub fn line_prefilter<P: AsRef<[u8]>>(needles: &[P]) -> Option<AhoCorasick> {
    if needles.is_empty() {
        return None;
    }
    let total: usize = needles.iter().map(|n| n.as_ref().len()).sum();
    let kind = if total <= PREFILTER_DFA_MAX {
        AhoCorasickKind::DFA
    } else {
        AhoCorasickKind::ContiguousNFA
    };
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostFirst)
        .kind(Some(kind))
        .build(needles)
        .ok()
}

/// The loaded network indicators, indexed for lookup in log lines.
#[derive(Debug, Default)]
pub struct NetIndicators {
    list: Vec<NetIndicator>,
    by_value: HashMap<String, Vec<usize>>,
    urls: Vec<(String, usize)>,
    prefilter: Option<AhoCorasick>,
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
        n.prefilter = line_prefilter(&n.needles());
        n
    }

    /// Whether `line` may name an indicator (it contains one's value): the cheap test before
    /// [`NetIndicators::hits_in`].
    pub fn may_match(&self, line: &str) -> bool {
        !line.is_empty() && self.prefilter.as_ref().is_some_and(|ac| ac.is_match(line))
    }

    /// The indicators, in the order given.
    pub fn list(&self) -> &[NetIndicator] {
        &self.list
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

impl NetIndicators {
    /// The findings for one event: one per value named (not per indicator), for the
    /// indicators `keep` accepts. When several loaded indicators share the value (a `--rules`
    /// file and the intel), the first in load order makes the finding and the others add
    /// their origin and source to its evidence.
    pub fn findings(
        &self,
        ev: &Event,
        log_source: &str,
        keep: &dyn Fn(&NetIndicator) -> bool,
    ) -> Vec<Finding> {
        let line = ev.text();
        if !self.may_match(line) {
            return Vec::new();
        }
        let mut out: Vec<(String, Finding)> = Vec::new();
        for (ind, seen) in self.hits_in(line) {
            if !keep(ind) {
                continue;
            }
            if let Some((_, f)) = out.iter_mut().find(|(v, _)| *v == ind.value) {
                f.push_evidence(evidence("origin", &ind.origin));
                if let Some(s) = &ind.rule.source {
                    f.push_evidence(evidence("indicator_source", s));
                }
                continue;
            }
            out.push((ind.value.clone(), finding(ev, log_source, ind, &seen)));
        }
        out.into_iter().map(|(_, f)| f).collect()
    }
}

/// The title of the findings.
pub const TITLE: &str = "Known-bad infrastructure contacted (network indicator in a log)";

fn evidence(label: &str, data: &str) -> ferret_core::Evidence {
    ferret_core::Evidence::from_bytes(label, None, data.as_bytes())
}

/// The finding for one indicator named by one log event; `log_source` says what kind of log
/// it is (`dns`, `iis`, …) in the evidence.
pub fn finding(ev: &Event, log_source: &str, ind: &NetIndicator, seen: &str) -> Finding {
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
    f.push_evidence(evidence("log_source", log_source));
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
            rule: ferret_core::RuleRef { id: value.to_owned(), ..ferret_core::RuleRef::default() },
            severity: ferret_core::Severity::High,
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
        assert!(n.may_match("x BAD.example y") && !n.may_match("nothing here"));
    }
}
