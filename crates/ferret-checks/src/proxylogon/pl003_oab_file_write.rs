//! PL003 proxylogon-oab-file-write: CVE-2021-26858 as the OABGenerator log records it.

use ferret_core::Severity;
use ferret_logs::Event;

use crate::detector::{
    Campaign, Detector, Doc, Info, Input, Out, Registration, evidence, stateless,
};
use crate::inventory::LogSource;
use crate::proxylogon::{REF_AA21_062A, REF_MSFT_HAFNIUM, find_ci};

const NEEDLE: &str = "Download failed and temporary file";

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "PL003",
        name: "proxylogon-oab-file-write",
        title: "OABGenerator wrote a file outside the OAB folder (CVE-2021-26858)",
        campaign: Campaign::ProxyLogon,
        severity: Severity::High,
        inputs: &[
            Input::Log(LogSource::ExchangeOabGenerator),
            Input::Log(LogSource::ExchangeOther),
        ],
        needles: &[NEEDLE],
        doc: Doc {
            what: "OABGenerator log lines `Download failed and temporary file <path> needs to be \
                   removed` whose path is not under Exchange's OAB folder \
                   (`…\\ClientAccess\\OAB\\`). The path is extracted and reported.",
            why: "CVE-2021-26858 lets an authenticated caller (or one riding CVE-2021-26855) \
                  write a file anywhere on the server through the offline address book \
                  download; the failed download leaves this line with the path written. \
                  Microsoft states that these files should only ever be in the OAB `Temp` \
                  folder.",
            evidence: "The path written and the whole line; the log file, line and time.",
            false_positives: "None known for paths outside the OAB folder. Lines whose path \
                              cannot be extracted are reported at medium severity for a look.",
            references: &[REF_MSFT_HAFNIUM, REF_AA21_062A],
        },
    },
    build: stateless::<OabFileWrite>,
};

/// The detector (stateless).
#[derive(Default)]
struct OabFileWrite;

/// The path between the marker and `needs to be removed`, without quotes.
pub(crate) fn written_path(line: &str) -> Option<&str> {
    let start = find_ci(line, NEEDLE)? + NEEDLE.len();
    let rest = line.get(start..)?;
    let end = find_ci(rest, "needs to be removed").unwrap_or(rest.len());
    let p = rest.get(..end)?.trim().trim_matches(|c| c == '\'' || c == '"' || c == ' ');
    (!p.is_empty()).then_some(p)
}

/// Whether a written path is under the OAB folder.
pub(crate) fn under_oab(path: &str) -> bool {
    let p = path.replace('\\', "/").to_ascii_lowercase();
    p.contains("/clientaccess/oab/") && !p.contains("/../")
}

impl Detector for OabFileWrite {
    fn on_event(&self, ev: &Event, _: LogSource, out: &mut Out) {
        let line = ev.text();
        if find_ci(line, NEEDLE).is_none() {
            return;
        }
        let mut f = DETECTOR.info.event_finding(ev);
        match written_path(line) {
            Some(p) if under_oab(p) => return,
            Some(p) => {
                f.push_evidence(evidence("path", p));
                f = f.with_detail("written_path", p);
            }
            None => {
                f = f.with_score(Severity::Medium.default_score());
                f = f.with_message("OABGenerator download failure whose path could not be read");
            }
        }
        f.push_evidence(evidence("line", line));
        out.finding(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let l = "2021-03-03T04:05:06.000Z,x,Download failed and temporary file 'C:\\inetpub\\wwwroot\\aspnet_client\\a.aspx' needs to be removed.";
        assert_eq!(written_path(l), Some("C:\\inetpub\\wwwroot\\aspnet_client\\a.aspx"));
        assert!(!under_oab("C:\\inetpub\\wwwroot\\aspnet_client\\a.aspx"));
        assert!(under_oab(
            "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\ClientAccess\\OAB\\Temp\\x.tmp"
        ));
        assert!(!under_oab(
            "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\ClientAccess\\OAB\\..\\..\\x.aspx"
        ));
        assert_eq!(written_path("Download failed and temporary file needs to be removed"), None);
    }
}
