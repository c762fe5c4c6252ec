//! The campaign knowledge `ferret check` runs on, read from the `intel/` tables of a loaded
//! [`ferret_intel::Intel`] (the built-in one, or a verified intel pack that replaces it).
//!
//! [`CheckIntel::from_intel`] parses every table a detector reads once, before the run, and
//! refuses a table whose rows it cannot use (an unknown `kind`, a bad date) with the table's
//! path and line: a pack never half-loads. The tables:
//!
//! | table | read by |
//! |---|---|
//! | `pulse-secure/families.tsv` | PS003, PS004, PS005 (hashes, names, product files) |
//! | `pulse-secure/markers.tsv` | PS004 (the families' code markers) |
//! | `sunburst/files.tsv` | SB001, SB002 (hashes, names, paths, product files) |
//! | `sunburst/network.tsv` | SB005 (stage-2 domains and addresses) |
//! | `proxylogon/webshells.tsv` | PL006 (web-shell hashes and names) |
//! | `proxylogon/client-ips.tsv` | PL008 (published client addresses) |
//! | `ivanti-connect-secure/families.tsv` | IC001 (hashes, names, paths, product files) |
//! | `ivanti-connect-secure/markers.tsv` | IC001 (the families' code markers) |
//! | `ivanti-connect-secure/requests.tsv` | IC002 (exploitation requests) |
//! | `proxyshell/requests.tsv` | PX001 (Autodiscover endpoints and back-end targets) |
//! | `proxyshell/cmdlets.tsv` | PX002 (cmdlets) |
//! | `proxyshell/webshells.tsv` | PX003 (exported web shells) |
//! | `campaigns/windows.tsv` | the verdicts (each campaign's time window) |
//!
//! [`CheckIntel::sha256`] is the loaded intel's identity; reports carry it as
//! `tool.ruleset_sha256`.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use ferret_intel::{Intel, IntelError, Row};

pub mod ivanti;
pub mod proxylogon;
pub mod proxyshell;
pub mod pulse;
pub mod sunburst;

use crate::campaign::{Campaign, Window};
use proxylogon::WebShells;
use pulse::{Families, Markers};
use sunburst::{Files, Network};

/// The tables' paths under `intel/`.
pub mod tables {
    /// Pulse Connect Secure family hashes, names and product files.
    pub const PULSE_FAMILIES: &str = "pulse-secure/families.tsv";
    /// Pulse Connect Secure families' code markers.
    pub const PULSE_MARKERS: &str = "pulse-secure/markers.tsv";
    /// SUNBURST, SUPERNOVA and TEARDROP files.
    pub const SUNBURST_FILES: &str = "sunburst/files.tsv";
    /// SUNBURST stage-2 network infrastructure.
    pub const SUNBURST_NETWORK: &str = "sunburst/network.tsv";
    /// The security products' services SUNBURST disables.
    pub const SUNBURST_SERVICES: &str = "sunburst/services.tsv";
    /// ProxyLogon web shells.
    pub const PROXYLOGON_WEBSHELLS: &str = "proxylogon/webshells.tsv";
    /// ProxyLogon published client addresses.
    pub const PROXYLOGON_CLIENT_IPS: &str = "proxylogon/client-ips.tsv";
    /// Ivanti Connect Secure family files.
    pub const IVANTI_FAMILIES: &str = "ivanti-connect-secure/families.tsv";
    /// Ivanti Connect Secure families' code markers.
    pub const IVANTI_MARKERS: &str = "ivanti-connect-secure/markers.tsv";
    /// Ivanti Connect Secure exploitation requests.
    pub const IVANTI_REQUESTS: &str = "ivanti-connect-secure/requests.tsv";
    /// ProxyShell Autodiscover requests.
    pub const PROXYSHELL_REQUESTS: &str = "proxyshell/requests.tsv";
    /// ProxyShell cmdlets.
    pub const PROXYSHELL_CMDLETS: &str = "proxyshell/cmdlets.tsv";
    /// ProxyShell exported web shells.
    pub const PROXYSHELL_WEBSHELLS: &str = "proxyshell/webshells.tsv";
    /// Each campaign's time window.
    pub const WINDOWS: &str = "campaigns/windows.tsv";
}

/// What `ferret check` knows, parsed from one loaded [`Intel`].
#[derive(Debug)]
pub struct CheckIntel {
    intel: Arc<Intel>,
    /// Pulse Connect Secure families (`pulse-secure/families.tsv`).
    pub families: Families,
    /// Pulse Connect Secure code markers (`pulse-secure/markers.tsv`).
    pub markers: Markers,
    /// SUNBURST files (`sunburst/files.tsv`).
    pub sunburst_files: Files,
    /// SUNBURST network infrastructure (`sunburst/network.tsv`).
    pub network: Network,
    /// The services SUNBURST disables (`sunburst/services.tsv`).
    pub sunburst_services: sunburst::Services,
    /// ProxyLogon web shells (`proxylogon/webshells.tsv`).
    pub webshells: WebShells,
    /// ProxyLogon published client addresses (`proxylogon/client-ips.tsv`).
    pub client_ips: Vec<String>,
    /// Ivanti Connect Secure (`ivanti-connect-secure/*.tsv`).
    pub ivanti: ivanti::Ivanti,
    /// ProxyShell (`proxyshell/*.tsv`).
    pub proxyshell: proxyshell::ProxyShell,
    windows: BTreeMap<Campaign, Window>,
}

/// A row's field that must be one of `allowed`, or the error naming table, line and column.
pub(crate) fn one_of<'r>(
    path: &str,
    row: &'r Row,
    column: &str,
    allowed: &[&str],
) -> Result<&'r str, IntelError> {
    let v = row.field(column);
    if allowed.contains(&v) {
        Ok(v)
    } else {
        Err(bad(path, row, format!("{column} {v:?} is not one of {}", allowed.join(", "))))
    }
}

/// An error about one row.
pub(crate) fn bad(path: &str, row: &Row, reason: String) -> IntelError {
    IntelError { path: path.to_owned(), line: row.line, reason }
}

static BUILTIN: LazyLock<Arc<CheckIntel>> = LazyLock::new(|| {
    // The built-in tables are checked by this crate's tests; an empty set is the fallback.
    let intel = Arc::new(Intel::builtin().cloned().unwrap_or_else(|_| Intel::empty()));
    Arc::new(CheckIntel::from_intel(intel).unwrap_or_else(|_| CheckIntel::empty()))
});

impl CheckIntel {
    /// The knowledge built into this ferret (the embedded `intel/` tables).
    pub fn builtin() -> Arc<CheckIntel> {
        BUILTIN.clone()
    }

    /// Parses the tables the detectors read from `intel`. A table that is absent gives no
    /// indicators of its kind; a row that cannot be used refuses the whole set.
    pub fn from_intel(intel: Arc<Intel>) -> Result<CheckIntel, IntelError> {
        let families = Families::from_intel(&intel)?;
        let markers = Markers::from_intel(&intel)?;
        let sunburst_files = Files::from_intel(&intel)?;
        let network = Network::from_intel(&intel)?;
        let sunburst_services = sunburst::Services::from_intel(&intel)?;
        let webshells = WebShells::from_intel(&intel)?;
        let mut client_ips = Vec::new();
        for row in intel.rows(tables::PROXYLOGON_CLIENT_IPS) {
            one_of(tables::PROXYLOGON_CLIENT_IPS, row, "kind", &["ipv4", "ipv6"])?;
            client_ips.push(row.field("value").to_owned());
        }
        let ivanti = ivanti::Ivanti::from_intel(&intel)?;
        let proxyshell = proxyshell::ProxyShell::from_intel(&intel)?;
        let mut windows = BTreeMap::new();
        for row in intel.rows(tables::WINDOWS) {
            let Some(c) = Campaign::parse(row.field("campaign")) else { continue };
            let w = Window::from_row(row)
                .ok_or_else(|| bad(tables::WINDOWS, row, "from or to is not a date".to_owned()))?;
            windows.insert(c, w);
        }
        Ok(CheckIntel {
            intel,
            families,
            markers,
            sunburst_files,
            network,
            sunburst_services,
            webshells,
            client_ips,
            ivanti,
            proxyshell,
            windows,
        })
    }

    fn empty() -> CheckIntel {
        CheckIntel {
            intel: Arc::new(Intel::empty()),
            families: Families::default(),
            markers: Markers::new(Vec::new()),
            sunburst_files: Files::default(),
            network: Network::default(),
            sunburst_services: sunburst::Services::default(),
            webshells: WebShells::default(),
            client_ips: Vec::new(),
            ivanti: ivanti::Ivanti::default(),
            proxyshell: proxyshell::ProxyShell::default(),
            windows: BTreeMap::new(),
        }
    }

    /// The loaded tables.
    pub fn intel(&self) -> &Intel {
        &self.intel
    }

    /// The loaded tables, shared (for the readers besides the detectors: `scan`'s built-in
    /// pack, the network-indicator pass).
    pub fn shared(&self) -> Arc<Intel> {
        Arc::clone(&self.intel)
    }

    /// The hash and file-name indicators of the intel's scan tables (the ones `scan`'s
    /// built-in pack uses), for matching Amcache and ShimCache entries. Problems with single
    /// rows go to `sink`.
    pub fn scan_iocs(&self, sink: &dyn ferret_core::Sink) -> ferret_ioc::IocSet {
        let mut set = ferret_ioc::IocSet::new();
        let mut problems = Vec::new();
        set.load_intel(&self.intel, &mut problems);
        for p in problems {
            sink.problem(p);
        }
        set
    }

    /// The SHA-256 (lowercase hex) of the loaded intel: its identity in reports.
    pub fn sha256(&self) -> &str {
        self.intel.sha256()
    }

    /// The time window that matters for `campaign` (`campaigns/windows.tsv`).
    pub fn window(&self, campaign: Campaign) -> Option<&Window> {
        self.windows.get(&campaign)
    }
}

/// The SHA-256 (lowercase hex) of the built-in intelligence.
pub fn sha256() -> String {
    CheckIntel::builtin().sha256().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_tables_parse_whole() {
        let intel = Arc::new(Intel::builtin().unwrap().clone());
        let k = CheckIntel::from_intel(intel).unwrap();
        assert!(k.families.rows.len() > 100);
        assert!(k.markers.sets.len() >= 8);
        assert!(k.sunburst_files.rows.len() > 60);
        assert!(k.network.len() > 2000);
        assert!(k.webshells.rows.len() > 40);
        assert_eq!(k.client_ips.len(), 15);
        assert!(k.ivanti.families.rows.len() > 30);
        assert!(k.ivanti.markers.sets.len() >= 8);
        assert!(k.ivanti.requests.len() >= 6);
        assert!(!k.proxyshell.requests.endpoints.is_empty());
        assert!(k.proxyshell.cmdlets.len() >= 4);
        assert!(!k.proxyshell.webshells.magic.is_empty());
        assert_eq!(k.windows.len(), Campaign::ALL.len());
        assert_eq!(sha256(), Intel::builtin().unwrap().sha256());
    }

    #[test]
    fn an_unknown_kind_refuses_the_set_with_its_line() {
        let t = "kind\tvalue\tseverity\tsource\tpublished\tconfidence\nmutex\tx\thigh\ts\t2021-01-01\thigh\n";
        let intel = Intel::from_texts([(tables::SUNBURST_NETWORK, t.as_bytes())]).unwrap();
        let e = CheckIntel::from_intel(Arc::new(intel)).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.reason.contains("kind"), "{e}");
    }

    #[test]
    fn campaign_tables_refuse_bad_rows_with_table_and_line() {
        let t = "kind\tvalue\tseverity\tsource\tpublished\tconfidence\nendpoint\t/a\t\ts\t2021-01-01\thigh\ntarget\t/b\tsevere\ts\t2021-01-01\thigh\n";
        let intel = Intel::from_texts([(tables::PROXYSHELL_REQUESTS, t.as_bytes())]).unwrap();
        let e = CheckIntel::from_intel(Arc::new(intel)).unwrap_err();
        assert_eq!((e.path.as_str(), e.line), (tables::PROXYSHELL_REQUESTS, 3));
        let t = "set\tfamily\tliteral\tneed\tsource\tpublished\tconfidence\ns\tF\tabc\tmany\ts\t2024-01-01\thigh\n";
        let intel = Intel::from_texts([(tables::IVANTI_MARKERS, t.as_bytes())]).unwrap();
        let e = CheckIntel::from_intel(Arc::new(intel)).unwrap_err();
        assert_eq!((e.path.as_str(), e.line), (tables::IVANTI_MARKERS, 2));
        assert!(e.reason.contains("need"), "{e}");
    }
}
