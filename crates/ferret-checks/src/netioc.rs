//! Known-bad infrastructure contacted: the network indicators of the loaded intel (its
//! `domain`, `ipv4`, `ipv6` and `url` rows, [`from_intel`]) and of the rule files given to
//! `check --rules` (domains, IP addresses and URLs from STIX, MISP, OpenIOC and plain lists)
//! looked for in the DNS, proxy, web-access, IIS, Exchange, syslog and other logs the run
//! reads. The index, the matching and the finding are [`ferret_logs::netioc`]'s, shared with
//! `ferret hunt`.
//!
//! This is not a campaign detector: its findings carry the indicator's own rule (id, name,
//! source file and position, references) and its origin (a STIX id, a MISP event and
//! attribute, a list's line, an intel row), count as findings of the run (exit status 1 at
//! high severity), and decide no campaign's verdict. In the logs SB005 and PL008 read, a value
//! of their campaign's table (`sunburst/network.tsv`, `proxylogon/client-ips.tsv`) is left to
//! them when their campaign is checked in the same run, so one contact gives one finding.

use ferret_core::Finding;
use ferret_logs::Event;
pub use ferret_logs::netioc::{NetIndicator, NetIndicators, NetKind, TITLE};

use crate::inventory::LogSource;

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

/// The finding for one indicator named by one log event of `source`
/// ([`ferret_logs::netioc::finding`]).
pub fn finding(ev: &Event, source: LogSource, ind: &NetIndicator, seen: &str) -> Finding {
    ferret_logs::netioc::finding(ev, source.as_str(), ind, seen)
}

/// The network indicators of a loaded intel: every row, in any table, whose `kind` is
/// `domain`, `ipv4`, `ipv6` or `url` (built in: `sunburst/network.tsv`,
/// `proxylogon/client-ips.tsv`; a pack may add tables). A row's `severity` column sets how
/// much a contact weighs (without one: medium, a lead); its rule names the table row
/// (`intel:CAMPAIGN/TABLE.tsv:LINE`) and its source's URL; its origin is the source.
pub fn from_intel(intel: &ferret_intel::Intel) -> Vec<NetIndicator> {
    let mut out = Vec::new();
    for table in intel.tables() {
        let campaign = table.path.split('/').next().unwrap_or("");
        for row in &table.rows {
            let kind = match row.field("kind") {
                "domain" => NetKind::Domain,
                "ipv4" | "ipv6" => NetKind::Ip,
                "url" => NetKind::Url,
                _ => continue,
            };
            let Some(value) = ferret_logs::netioc::normalise(kind, row.field("value")) else {
                continue;
            };
            let severity = ferret_core::Severity::parse(row.field("severity"))
                .unwrap_or(ferret_core::Severity::Medium);
            let source = row.source();
            let title = source.split(" <").next().unwrap_or(source);
            let references = source
                .split_once('<')
                .and_then(|(_, r)| r.split_once('>'))
                .map(|(u, _)| vec![u.to_owned()])
                .unwrap_or_default();
            out.push(NetIndicator {
                kind,
                rule: ferret_core::RuleRef {
                    id: value.clone(),
                    name: format!("{campaign} {} {value} ({title})", kind.as_str()),
                    source: Some(format!("intel:{}:{}", table.path, row.line)),
                    references,
                },
                value,
                severity,
                origin: format!("{title}, published {}", row.published()),
            });
        }
    }
    out
}
