//! PX003 proxyshell-exported-web-shell: a PST file written under a web-page name: the web shell a
//! ProxyShell mailbox export leaves (an `.aspx` file that begins with the PST header and holds a
//! server-side script). The markers are `intel/proxyshell/webshells.tsv`.

use std::path::Path;

use ferret_core::Severity;

use crate::detector::{
    Campaign, Detector, Doc, FileEntry, Info, Input, Out, Registration, evidence,
};
use crate::intel::CheckIntel;
use crate::intel::proxyshell::ExportMarkers;
use crate::inventory::{Marker, normalized};
use crate::proxyshell::{REF_CISA, REF_HUNTRESS, REF_ZDI, score_for};

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "PX003",
        name: "proxyshell-exported-web-shell",
        title: "Mailbox export (PST) written as a web page: the ProxyShell web shell",
        campaign: Campaign::ProxyShell,
        severity: Severity::Critical,
        inputs: &[Input::Tree(Marker::ExchangeInstall), Input::Tree(Marker::IisWebRoot)],
        needles: &[],
        doc: Doc {
            what: "Files named like web pages (`.aspx`, `.ashx`) whose content begins with the \
                   PST header (`!BDN`): critical when the PST holds a server-side script \
                   (`runat=\"server\"`, `<%@`), high otherwise. Wherever they are; the \
                   published ones were under `inetpub\\wwwroot\\aspnet_client` and \
                   `FrontEnd\\HttpProxy\\owa\\auth`. The markers are \
                   `intel/proxyshell/webshells.tsv`.",
            why: "`New-MailboxExportRequest` writes a PST file; ProxyShell points it at an \
                  `.aspx` path under a web folder, after mailing itself an attachment encoded \
                  with the PST's own permutation so that the export writes the shell's script \
                  in clear inside the PST. IIS ignores the binary around it and runs the \
                  script.",
            evidence: "The PST header, the script marker found, the file's path, size and \
                       SHA-256.",
            false_positives: "None known: no product page is a PST file. A PST exported to \
                              such a name by mistake is still reported (high), and is worth \
                              removing.",
            references: &[REF_ZDI, REF_CISA, REF_HUNTRESS],
        },
    },
    build: |o| Ok(Box::new(ExportedWebShell { intel: o.intel.clone() })),
};

/// Largest file read (an exported mailbox can be large; the header and script are near the
/// start, but the script may follow any amount of mail).
const MAX_SIZE: u64 = 256 * 1024 * 1024;

/// What a file's content shows: (magic, script marker found).
pub(crate) fn classify<'m>(
    markers: &'m ExportMarkers,
    content: &[u8],
) -> Option<(&'m str, Option<String>)> {
    let magic = markers.magic.iter().find(|m| content.starts_with(m.as_bytes()))?;
    let script = markers
        .scripts
        .iter()
        .find(|s| content.windows(s.len()).any(|w| w.eq_ignore_ascii_case(s.as_bytes())));
    Some((magic.as_str(), script.cloned()))
}

struct ExportedWebShell {
    intel: std::sync::Arc<CheckIntel>,
}

impl Detector for ExportedWebShell {
    fn wants_file(&self, path: &Path, size: u64) -> bool {
        let n = normalized(path);
        size <= MAX_SIZE
            && self.intel.proxyshell.webshells.extensions.iter().any(|e| n.ends_with(e.as_str()))
    }

    fn on_file(&self, file: &FileEntry<'_>, out: &mut Out) {
        let Ok(content) = file.content() else { return };
        let Some((magic, script)) = classify(&self.intel.proxyshell.webshells, content) else {
            return;
        };
        let sev = if script.is_some() { Severity::Critical } else { Severity::High };
        let mut f = DETECTOR.info.finding().with_path(file.path).with_score(score_for(sev));
        f.message = Some(if script.is_some() {
            "ProxyShell web shell: a mailbox export (PST) holding a server-side script, named as a web page".to_owned()
        } else {
            "Mailbox export (PST) named as a web page".to_owned()
        });
        f.push_evidence(evidence("header", magic));
        if let Some(s) = &script {
            f.push_evidence(evidence("script_marker", s));
        }
        if let Some(s) = file.sha256() {
            f.push_evidence(evidence("sha256", s));
        }
        out.finding(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(content: &[u8]) -> Option<(String, Option<String>)> {
        super::classify(&CheckIntel::builtin().proxyshell.webshells, content)
            .map(|(m, s)| (m.to_owned(), s))
    }

    #[test]
    fn content() {
        let mut pst = b"!BDN\x0e\x00\x00\x00SM".to_vec();
        pst.extend_from_slice(&[0u8; 64]);
        pst.extend_from_slice(b"<script language=\"JScript\" runat=\"server\">x</script>");
        assert!(classify(&pst).is_some_and(|(_, s)| s.is_some()));
        assert!(classify(b"!BDN\x00\x00").is_some_and(|(_, s)| s.is_none()));
        assert!(classify(b"<%@ Page Language=\"C#\" %>").is_none());
        assert!(classify(b"").is_none());
    }
}
