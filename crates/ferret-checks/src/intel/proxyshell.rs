//! The ProxyShell tables (`intel/proxyshell/`): the Autodiscover requests (`requests.tsv`),
//! the cmdlets (`cmdlets.tsv`) and the exported web shells (`webshells.tsv`).

use ferret_core::Severity;
use ferret_intel::{Intel, IntelError};

use super::ivanti::severity_field;
use super::{bad, one_of, tables};

/// `requests.tsv`: the front-end endpoints and the back-end targets reached after an `@`.
#[derive(Clone, Debug, Default)]
pub struct Requests {
    /// The front-end paths, lowercase.
    pub endpoints: Vec<String>,
    /// The back-end paths, lowercase, strongest first.
    pub targets: Vec<(String, Severity)>,
}

/// One row of `cmdlets.tsv`.
#[derive(Clone, Debug)]
pub struct CmdletRule {
    /// The cmdlet, lowercase.
    pub cmdlet: String,
    /// Text that must also be in the record, lowercase.
    pub needs: String,
    /// What a hit weighs.
    pub severity: Severity,
    /// What it is.
    pub note: String,
}

/// `webshells.tsv`: what an exported web shell looks like.
#[derive(Clone, Debug, Default)]
pub struct ExportMarkers {
    /// Bytes a PST file begins with.
    pub magic: Vec<String>,
    /// The extensions the export is aimed at, lowercase.
    pub extensions: Vec<String>,
    /// Server-side script text, lowercase.
    pub scripts: Vec<String>,
}

/// Everything the ProxyShell detectors read.
#[derive(Clone, Debug, Default)]
pub struct ProxyShell {
    /// `requests.tsv`.
    pub requests: Requests,
    /// `cmdlets.tsv`, strongest first.
    pub cmdlets: Vec<CmdletRule>,
    /// `webshells.tsv`.
    pub webshells: ExportMarkers,
}

impl ProxyShell {
    /// Reads the three tables from `intel` (none of a kind when a table is absent).
    pub fn from_intel(intel: &Intel) -> Result<ProxyShell, IntelError> {
        let mut requests = Requests::default();
        let path = tables::PROXYSHELL_REQUESTS;
        for r in intel.rows(path) {
            let kind = one_of(path, r, "kind", &["endpoint", "target"])?;
            let v = r.field("value").to_ascii_lowercase();
            if v.is_empty() {
                return Err(bad(path, r, "the value is empty".to_owned()));
            }
            if kind == "endpoint" {
                requests.endpoints.push(v);
            } else {
                requests.targets.push((v, severity_field(path, r)?));
            }
        }
        requests.targets.sort_by_key(|t| std::cmp::Reverse(t.1));

        let path = tables::PROXYSHELL_CMDLETS;
        let mut cmdlets = Vec::new();
        for r in intel.rows(path) {
            let cmdlet = r.field("cmdlet").to_ascii_lowercase();
            if cmdlet.is_empty() {
                return Err(bad(path, r, "the cmdlet is empty".to_owned()));
            }
            cmdlets.push(CmdletRule {
                cmdlet,
                needs: r.field("needs").to_ascii_lowercase(),
                severity: severity_field(path, r)?,
                note: r.field("note").to_owned(),
            });
        }
        cmdlets.sort_by_key(|r| std::cmp::Reverse(r.severity));

        let path = tables::PROXYSHELL_WEBSHELLS;
        let mut webshells = ExportMarkers::default();
        for r in intel.rows(path) {
            let kind = one_of(path, r, "kind", &["magic", "extension", "script"])?;
            let v = r.field("value");
            if v.is_empty() {
                return Err(bad(path, r, "the value is empty".to_owned()));
            }
            match kind {
                "magic" => webshells.magic.push(v.to_owned()),
                "extension" => webshells.extensions.push(v.to_ascii_lowercase()),
                _ => webshells.scripts.push(v.to_ascii_lowercase()),
            }
        }
        Ok(ProxyShell { requests, cmdlets, webshells })
    }
}
