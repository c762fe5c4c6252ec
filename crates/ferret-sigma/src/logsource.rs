//! Logsource routing as data: which reader family and which event conditions a rule's
//! `logsource` (product/service/category) means.
//!
//! The table lives in `data/logsources.yml` (compiled in). Each entry gives a [`LogKind`] and
//! one or more variants: channel names, event ids and a field rename map (for example, Sysmon
//! process creation is event 1 on the Sysmon channel, and the same rules run on Security 4688
//! with `Image` read from `NewProcessName`).

use std::collections::BTreeMap;

use serde::Deserialize;

/// The reader family that produces an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogKind {
    /// Windows event logs (EVTX, or EVTX exported to JSON).
    Windows,
    /// Web server and proxy access logs (W3C/IIS, Apache/nginx combined, Exchange CSV).
    Webserver,
    /// Linux logs: syslog, auditd, auth.
    Linux,
    /// DNS query logs (Windows DNS debug, BIND, Zeek `dns.log`).
    Dns,
    /// Anything else read with its own field names (JSON lines: cloud audit logs, appliances).
    Generic,
}

impl LogKind {
    /// Every kind, in order.
    pub const ALL: [LogKind; 5] =
        [LogKind::Windows, LogKind::Webserver, LogKind::Linux, LogKind::Dns, LogKind::Generic];

    /// The lowercase name used in the routing table.
    pub fn as_str(self) -> &'static str {
        match self {
            LogKind::Windows => "windows",
            LogKind::Webserver => "webserver",
            LogKind::Linux => "linux",
            LogKind::Dns => "dns",
            LogKind::Generic => "generic",
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            LogKind::Windows => 0,
            LogKind::Webserver => 1,
            LogKind::Linux => 2,
            LogKind::Dns => 3,
            LogKind::Generic => 4,
        }
    }
}

/// A rule's `logsource` section.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogSource {
    /// `product` (windows, linux, aws, ...).
    pub product: Option<String>,
    /// `service` (security, sysmon, cloudtrail, ...).
    pub service: Option<String>,
    /// `category` (process_creation, webserver, dns, ...).
    pub category: Option<String>,
}

/// One way events of a logsource appear: channel(s), event id(s), field renames.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Any of these channels (case-insensitive); empty: any channel.
    #[serde(default)]
    pub channel: Vec<String>,
    /// Any of these event ids; empty: any id.
    #[serde(default)]
    pub event_ids: Vec<u32>,
    /// Rule field name → event field name.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    product: Option<String>,
    service: Option<String>,
    category: Option<String>,
    #[serde(default)]
    strict: bool,
    #[serde(default)]
    not_product: Vec<String>,
    kind: String,
    variants: Vec<Variant>,
}

#[derive(Deserialize)]
struct TableFile {
    entries: Vec<Entry>,
}

/// Where a logsource routes: reader family and variants.
#[derive(Clone, Debug)]
pub struct Route {
    /// Reader family.
    pub kind: LogKind,
    /// Any variant suffices.
    pub variants: Vec<Variant>,
}

/// The compiled-in routing table.
#[derive(Clone, Debug)]
pub struct RoutingTable {
    entries: Vec<(Entry, LogKind)>,
}

const TABLE: &str = include_str!("../data/logsources.yml");

impl RoutingTable {
    /// The table shipped with ferret (`data/logsources.yml`).
    pub fn builtin() -> RoutingTable {
        let file: TableFile =
            serde_norway::from_str(TABLE).unwrap_or(TableFile { entries: Vec::new() });
        let entries = file
            .entries
            .into_iter()
            .filter_map(|e| {
                let kind = LogKind::ALL.into_iter().find(|k| k.as_str() == e.kind)?;
                Some((e, kind))
            })
            .collect();
        RoutingTable { entries }
    }

    /// The shipped table, parsed once per process.
    pub(crate) fn shared() -> &'static RoutingTable {
        static TABLE: std::sync::OnceLock<RoutingTable> = std::sync::OnceLock::new();
        TABLE.get_or_init(RoutingTable::builtin)
    }

    /// The route for a logsource, or why there is none.
    pub fn route(&self, ls: &LogSource) -> Result<Route, String> {
        let eq = |a: &Option<String>, b: &Option<String>| match (a, b) {
            (None, _) => true,
            (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
            (Some(_), None) => false,
        };
        let mut best: Option<(usize, &Entry, LogKind)> = None;
        for (e, kind) in &self.entries {
            if !(eq(&e.product, &ls.product)
                && eq(&e.service, &ls.service)
                && eq(&e.category, &ls.category))
            {
                continue;
            }
            if e.strict
                && ((e.service.is_none() && ls.service.is_some())
                    || (e.category.is_none() && ls.category.is_some()))
            {
                continue;
            }
            if ls
                .product
                .as_ref()
                .is_some_and(|p| e.not_product.iter().any(|n| n.eq_ignore_ascii_case(p)))
            {
                continue;
            }
            let score = usize::from(e.product.is_some())
                + usize::from(e.service.is_some())
                + usize::from(e.category.is_some());
            if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
                best = Some((score, e, *kind));
            }
        }
        match best {
            Some((_, e, kind)) => Ok(Route { kind, variants: e.variants.clone() }),
            None => Err(format!(
                "no routing for logsource product={} service={} category={}",
                ls.product.as_deref().unwrap_or("-"),
                ls.service.as_deref().unwrap_or("-"),
                ls.category.as_deref().unwrap_or("-"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(p: Option<&str>, s: Option<&str>, c: Option<&str>) -> LogSource {
        LogSource {
            product: p.map(str::to_owned),
            service: s.map(str::to_owned),
            category: c.map(str::to_owned),
        }
    }

    #[test]
    fn builtin_table_parses() {
        let t = RoutingTable::builtin();
        assert!(t.entries.len() > 60, "table entries: {}", t.entries.len());
    }

    #[test]
    fn process_creation_has_sysmon_and_security_variants() {
        let r = RoutingTable::builtin()
            .route(&ls(Some("windows"), None, Some("process_creation")))
            .unwrap();
        assert_eq!(r.kind, LogKind::Windows);
        assert_eq!(r.variants.len(), 2);
        assert_eq!(r.variants[1].fields.get("Image").map(String::as_str), Some("NewProcessName"));
    }

    #[test]
    fn unknown_windows_service_is_unsupported() {
        let t = RoutingTable::builtin();
        assert!(t.route(&ls(Some("windows"), Some("nosuchservice"), None)).is_err());
        assert_eq!(t.route(&ls(Some("windows"), None, None)).unwrap().kind, LogKind::Windows);
        assert_eq!(
            t.route(&ls(Some("aws"), Some("cloudtrail"), None)).unwrap().kind,
            LogKind::Generic
        );
        assert_eq!(t.route(&ls(None, None, Some("webserver"))).unwrap().kind, LogKind::Webserver);
        assert_eq!(
            t.route(&ls(Some("linux"), None, Some("process_creation"))).unwrap().kind,
            LogKind::Linux
        );
    }
}
