//! PX002 proxyshell-mailbox-export: the cmdlets the ProxyShell exploitation runs through the
//! PowerShell back end, as the MSExchange Management event log and Exchange's other logs record
//! them: `New-MailboxExportRequest` to an `.aspx` file (CVE-2021-31207) and the
//! `Mailbox Import Export` role granted before it. The cmdlets are
//! `intel/proxyshell/cmdlets.tsv`.

use ferret_core::{FieldValue, Fields as _, Severity};
use ferret_logs::Event;

use crate::detector::{Campaign, Detector, Doc, Info, Input, Out, Registration, evidence};
use crate::intel::CheckIntel;
use crate::intel::proxyshell::CmdletRule;
use crate::inventory::LogSource;
use crate::proxyshell::{REF_CISA, REF_HUNTRESS, REF_ZDI, score_for};

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "PX002",
        name: "proxyshell-mailbox-export",
        title: "Mailbox exported to a web page, or the export role granted (CVE-2021-31207)",
        campaign: Campaign::ProxyShell,
        severity: Severity::Critical,
        inputs: &[Input::Log(LogSource::WindowsEvent), Input::Log(LogSource::ExchangeOther)],
        needles: &["new-m"],
        doc: Doc {
            what: "Windows events (the MSExchange Management log, EVTX or its JSON export) and \
                   other Exchange logs recording a cmdlet: `New-MailboxExportRequest` whose \
                   record holds `.aspx` or `.ashx` (a mailbox exported to a web page, \
                   critical); `New-ManagementRoleAssignment` with an `.aspx` path (high) or \
                   granting `Mailbox Import Export` (a lead). The cmdlets are \
                   `intel/proxyshell/cmdlets.tsv`.",
            why: "CVE-2021-31207 is the write: the attacker mails an attachment encoded so that \
                  the export's PST encoding decodes it, grants itself the export role, and \
                  exports the mailbox to `…\\aspnet_client\\…aspx` or \
                  `…\\FrontEnd\\HttpProxy\\owa\\auth\\…aspx`, which IIS then runs as a web \
                  shell.",
            evidence: "The cmdlet, the field that holds it and the record's text; the log \
                       file, record and time.",
            false_positives: "Administrators export mailboxes to `.pst` files on a share and \
                              grant the export role for migrations: neither is a finding \
                              alone (the role is a lead). No legitimate export writes an \
                              `.aspx` file.",
            references: &[REF_ZDI, REF_CISA, REF_HUNTRESS],
        },
    },
    build: |o| Ok(Box::new(MailboxExport { intel: o.intel.clone() })),
};

/// The event's text: its line, or every text field joined (structured events).
fn event_text(ev: &Event) -> String {
    let line = ev.text();
    if !line.is_empty() {
        return line.to_owned();
    }
    let mut s = String::new();
    ev.for_each(&mut |_, v| {
        let mut push = |t: &str| {
            s.push_str(t);
            s.push('\n');
        };
        match &v {
            FieldValue::List(l) => l.iter().filter_map(FieldValue::as_text).for_each(|t| push(&t)),
            other => {
                if let Some(t) = other.as_text() {
                    push(&t);
                }
            }
        }
    });
    s
}

/// The rule a record's text matches: (cmdlet, severity, note).
pub(crate) fn classify<'r>(
    rules: &'r [CmdletRule],
    text: &str,
) -> Option<(&'r str, Severity, &'r str)> {
    let lower = text.to_ascii_lowercase();
    rules
        .iter()
        .find(|r| lower.contains(r.cmdlet.as_str()) && lower.contains(r.needs.as_str()))
        .map(|r| (r.cmdlet.as_str(), r.severity, r.note.as_str()))
}

struct MailboxExport {
    intel: std::sync::Arc<CheckIntel>,
}

impl Detector for MailboxExport {
    fn on_event(&self, ev: &Event, _: LogSource, out: &mut Out) {
        let text = event_text(ev);
        let Some((cmdlet, sev, note)) = classify(&self.intel.proxyshell.cmdlets, &text) else {
            return;
        };
        let mut f = DETECTOR.info.event_finding(ev).with_score(score_for(sev));
        f.message = Some(format!("ProxyShell cmdlet: {note}"));
        f.push_evidence(evidence("cmdlet", cmdlet));
        f.push_evidence(evidence("record", &text));
        out.finding(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records() {
        let k = CheckIntel::builtin();
        let s = |t: &str| classify(&k.proxyshell.cmdlets, t).map(|x| x.1);
        assert_eq!(
            s(
                r##"New-MailboxExportRequest -Mailbox "admin@example.org" -IncludeFolders "#Drafts#" -FilePath "\\127.0.0.1\c$\inetpub\wwwroot\aspnet_client\x.aspx""##
            ),
            Some(Severity::Critical)
        );
        assert_eq!(
            s(r#"New-MailboxExportRequest -Mailbox "user" -FilePath "\\fs01\pst\user.pst""#),
            None
        );
        assert_eq!(
            s(r#"New-ManagementRoleAssignment -Role "Mailbox Import Export" -User "admin""#),
            Some(Severity::Medium)
        );
        for r in &k.proxyshell.cmdlets {
            assert!(r.cmdlet.contains(DETECTOR.info.needles[0]), "the needle must stay necessary");
        }
    }
}
