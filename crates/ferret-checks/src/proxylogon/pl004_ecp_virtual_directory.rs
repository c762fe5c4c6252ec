//! PL004 proxylogon-ecp-virtual-directory: CVE-2021-27065 as the ECP server, HttpProxy and IIS
//! logs record it.

use ferret_core::Severity;
use ferret_logs::Event;

use crate::detector::{
    Campaign, Detector, Doc, Info, Input, Out, Registration, evidence, stateless,
};
use crate::inventory::LogSource;
use crate::proxylogon::{REF_AA21_062A, REF_MSFT_HAFNIUM, REF_VOLEXITY, field, find_ci};

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "PL004",
        name: "proxylogon-ecp-virtual-directory",
        title: "ECP virtual-directory cmdlet abused to write a web shell (CVE-2021-27065)",
        campaign: Campaign::ProxyLogon,
        severity: Severity::High,
        inputs: &[
            Input::Log(LogSource::ExchangeEcpServer),
            Input::Log(LogSource::ExchangeHttpProxy),
            Input::Log(LogSource::Iis),
            Input::Log(LogSource::ExchangeOther),
        ],
        needles: &["VirtualDirectory"],
        doc: Doc {
            what: "Two steps of the same attack. In the ECP server logs: a \
                   `Set-<Name>VirtualDirectory` command (`Set-OabVirtualDirectory` in the \
                   published cases) whose URL parameter (`ExternalUrl=`, `InternalUrl=`) \
                   carries a `<script` tag. In the HttpProxy (ECP) and IIS logs: a \
                   `Reset<Name>VirtualDirectory` request (the DDI service's \
                   `schema=ResetOABVirtualDirectory`) answered with status 200.",
            why: "CVE-2021-27065 is a post-authentication arbitrary file write: the attacker \
                  stores a script (a China Chopper one-liner in the published cases) in the \
                  virtual directory's URL, then resets the virtual directory, which writes its \
                  configuration, script included, to a path of the attacker's choosing under \
                  the web root. A successful reset is the moment the web shell is written.",
            evidence: "The command line or request (stem and query), the status, the client \
                       address; the log file, line and time.",
            false_positives: "Administrators do reset virtual directories, so a reset alone \
                              (status 200) could be legitimate maintenance: compare with the \
                              change record and with the Set command that preceded it. A \
                              `<script` tag in a virtual directory URL has no legitimate use.",
            references: &[REF_MSFT_HAFNIUM, REF_VOLEXITY, REF_AA21_062A],
        },
    },
    build: stateless::<EcpVirtualDirectory>,
};

/// The detector (stateless).
#[derive(Default)]
struct EcpVirtualDirectory;

/// The end of the first `<verb><Letters>VirtualDirectory` in `s` (e.g. `Set-` + `Oab` +
/// `VirtualDirectory`), case-insensitive; `None` when absent.
pub(crate) fn cmdlet_end(s: &str, verb: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s.get(from..).and_then(|r| find_ci(r, verb)) {
        let start = from + i + verb.len();
        let rest = s.get(start..)?;
        let letters = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let name = rest.get(..letters)?;
        let vd = "virtualdirectory";
        if name.len() >= vd.len() && name.to_ascii_lowercase().ends_with(vd) {
            return Some(start + letters);
        }
        from = start;
    }
    None
}

/// Whether an ECP server log line sets a virtual directory URL to something with a script tag.
pub(crate) fn set_with_script(line: &str) -> bool {
    let Some(end) = cmdlet_end(line, "Set-") else { return false };
    let rest = line.get(end..).unwrap_or("");
    let Some(u) = find_ci(rest, "Url=") else { return false };
    find_ci(rest.get(u..).unwrap_or(""), "<script").is_some()
}

impl Detector for EcpVirtualDirectory {
    fn on_event(&self, ev: &Event, source: LogSource, out: &mut Out) {
        match source {
            LogSource::ExchangeEcpServer | LogSource::ExchangeOther => {
                let line = ev.text();
                if set_with_script(line) {
                    let mut f = DETECTOR.info.event_finding(ev).with_message(
                        "Set-*VirtualDirectory with a script tag in a URL parameter (CVE-2021-27065)",
                    );
                    f.push_evidence(evidence("line", line));
                    out.finding(f);
                }
            }
            LogSource::ExchangeHttpProxy | LogSource::Iis => {
                let stem = field(ev, "cs-uri-stem");
                let query = field(ev, "cs-uri-query");
                let hit =
                    cmdlet_end(&query, "Reset").is_some() || cmdlet_end(&stem, "Reset").is_some();
                if !hit || field(ev, "sc-status").trim() != "200" {
                    return;
                }
                let mut f = DETECTOR.info.event_finding(ev).with_message(
                    "Reset*VirtualDirectory answered with status 200 (CVE-2021-27065 file write)",
                );
                f.push_evidence(evidence("cs-uri-stem", &stem));
                f.push_evidence(evidence("cs-uri-query", &query));
                f.push_evidence(evidence("sc-status", "200"));
                let ip = field(ev, "c-ip");
                if !ip.is_empty() {
                    f.push_evidence(evidence("c-ip", &ip));
                }
                out.finding(f);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdlets() {
        assert!(cmdlet_end("S:CMD=Set-OabVirtualDirectory.ExternalUrl=", "Set-").is_some());
        assert!(cmdlet_end("schema=ResetOABVirtualDirectory&x", "Reset").is_some());
        assert!(cmdlet_end("Set-Mailbox", "Set-").is_none());
        assert!(cmdlet_end("Set-X Set-OwaVirtualDirectory", "Set-").is_some());
        assert!(set_with_script(
            "S:CMD=Set-OabVirtualDirectory.ExternalUrl='http://f/<script language=\"JScript\" runat=\"server\">x</script>'"
        ));
        assert!(!set_with_script(
            "S:CMD=Set-OabVirtualDirectory.ExternalUrl='https://mail.example.org/OAB'"
        ));
        assert!(!set_with_script("<script> Set-OabVirtualDirectory"));
    }
}
