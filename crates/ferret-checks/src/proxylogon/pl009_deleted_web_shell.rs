//! PL009 proxylogon-deleted-web-shell: an `.aspx`/`.ashx` file created under the Exchange or
//! IIS web folders inside the campaign's window and later deleted, as the NTFS history
//! remembers it (the change journal `$UsnJrnl:$J`, and `$MFT` records no longer in use).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use ferret_artefacts::ntfs::{Change, HistoryKind};
use ferret_core::Severity;

use crate::detector::{Campaign, Detector, Doc, Info, Input, Out, Registration, Window, evidence};
use crate::options::CheckOptions;
use crate::proxylogon::pl006_web_shell::product_page;
use crate::proxylogon::{REF_AA21_062A, REF_MSFT_HAFNIUM, REF_VOLEXITY};

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "PL009",
        name: "proxylogon-deleted-web-shell",
        title: "Web shell created in an Exchange or IIS web folder during the campaign and later deleted",
        campaign: Campaign::ProxyLogon,
        severity: Severity::High,
        inputs: &[Input::NtfsHistory],
        needles: &[],
        doc: Doc {
            what: "In the NTFS history (the change journal `$UsnJrnl:$J` and the `$MFT`, read \
                   from a disk image or from the raw files a triage collection holds), an \
                   `.aspx` or `.ashx` file created (or renamed into place) under \
                   `aspnet_client`, `owa\\auth`, `ecp`, `OAB` or `inetpub\\wwwroot` on or after \
                   the start of the campaign's window (`campaigns/windows.tsv`) and deleted \
                   since: a journal record with `FILE_DELETE`, or a `$MFT` record no longer in \
                   use. Evidence (high) under `aspnet_client` (which holds no page in a \
                   standard install), directly under `owa\\auth` (not one of Exchange's own \
                   pages) or at a published web-shell path (`proxylogon/webshells.tsv`); a \
                   lead (medium) elsewhere under these folders, where Exchange's own updates \
                   create and remove pages.",
            why: "Web shells dropped through CVE-2021-26858/27065 were often removed later by \
                  the actor, by another group, or by a clean-up script, so the file check \
                  (PL006) finds nothing; the journal and the `$MFT` still remember that the \
                  file existed, when it was created and when it was deleted.",
            evidence: "The recorded path (marked partial when a parent folder's record is \
                       gone), the creation and deletion times, which history (`$J`, `$MFT`) \
                       told it and where (offset or record), and the history file or image.",
            false_positives: "Pages an administrator or an Exchange update created and removed \
                              in these folders during the window (updates work in `ecp` and \
                              `owa` subfolders: leads there). Times in `$STANDARD_INFORMATION` \
                              can be set by a tool; the journal's times and `$FILE_NAME` times \
                              are written by the file system. A journal wraps: an old creation \
                              may no longer be recorded.",
            references: &[REF_MSFT_HAFNIUM, REF_VOLEXITY, REF_AA21_062A],
        },
    },
    build: |opts| Ok(build(opts)),
};

fn build(opts: &CheckOptions) -> Box<dyn Detector> {
    let names = opts
        .intel
        .webshells
        .rows
        .iter()
        .filter(|r| r.kind == "name")
        .map(|r| format!("/{}", r.value.trim_start_matches('/').to_ascii_lowercase()))
        .collect();
    Box::new(DeletedShell {
        window: opts.intel.window(Campaign::ProxyLogon).cloned(),
        names,
        seen: Mutex::new(BTreeMap::new()),
    })
}

/// The folders looked in (normalized: lowercase, `/`).
const FOLDERS: &[&str] = &["/aspnet_client/", "/owa/auth/", "/ecp/", "/oab/", "/inetpub/wwwroot/"];

/// What the history said of one file.
#[derive(Debug, Default)]
struct Seen {
    path: String,
    partial: bool,
    created: Option<DateTime<Utc>>,
    deleted: Option<DateTime<Utc>>,
    deleted_record: bool,
    /// `$J offset …`, `$MFT record …`, with the file read.
    told: Vec<String>,
}

struct DeletedShell {
    window: Option<Window>,
    names: Vec<String>,
    /// (record, sequence, normalized path) → what was seen.
    seen: Mutex<BTreeMap<(u64, u16, String), Seen>>,
}

/// Whether a normalized path is a page under one of the web folders.
pub(crate) fn candidate(norm: &str) -> bool {
    Path::new(norm)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("aspx") || e.eq_ignore_ascii_case("ashx"))
        && FOLDERS.iter().any(|f| norm.contains(f))
        && !product_page(norm)
}

impl DeletedShell {
    fn in_window(&self, t: DateTime<Utc>) -> bool {
        let Some(w) = &self.window else { return true };
        let d = t.date_naive();
        d >= w.from && w.to.is_none_or(|to| d <= to)
    }

    /// Evidence (high) or a lead (medium), and why.
    fn weight(&self, norm: &str) -> (Severity, &'static str) {
        if self.names.iter().any(|n| norm.ends_with(n.as_str())) {
            return (Severity::High, "a published web-shell path");
        }
        if norm.contains("/aspnet_client/") {
            return (Severity::High, "aspnet_client holds no page in a standard install");
        }
        if let Some(i) = norm.find("/owa/auth/")
            && !norm.get(i + "/owa/auth/".len()..).unwrap_or("/").contains('/')
        {
            return (Severity::High, "not one of Exchange's own pages in owa\\auth");
        }
        (Severity::Medium, "a folder Exchange's own updates also change")
    }
}

impl Detector for DeletedShell {
    fn on_change(&self, change: &Change, origin: &Path, _out: &mut Out) {
        let ext = change.name().rsplit('.').next().unwrap_or("");
        if change.is_dir || !(ext.eq_ignore_ascii_case("aspx") || ext.eq_ignore_ascii_case("ashx"))
        {
            return;
        }
        let norm = change.path.replace('\\', "/").to_ascii_lowercase();
        if !candidate(&norm) {
            return;
        }
        let appeared =
            change.created() || change.reason & ferret_artefacts::ntfs::REASON_RENAME_NEW_NAME != 0;
        if change.kind == HistoryKind::Journal && !appeared && !change.deleted() {
            return;
        }
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() >= 100_000 {
            return;
        }
        let entry = seen.entry((change.file.record, change.file.seq, norm)).or_default();
        if entry.path.is_empty() || (entry.partial && !change.partial) {
            entry.path.clone_from(&change.path);
            entry.partial = change.partial;
        }
        match change.kind {
            HistoryKind::Journal => {
                if appeared && let Some(t) = change.time {
                    entry.created = Some(entry.created.map_or(t, |x| x.min(t)));
                }
                if change.reason & ferret_artefacts::ntfs::REASON_FILE_DELETE != 0 {
                    entry.deleted = change.time.or(entry.deleted);
                }
            }
            HistoryKind::Mft => {
                if change.deleted_record {
                    entry.deleted_record = true;
                    // The $FILE_NAME creation time is written by the file system; a tool
                    // that backdates $STANDARD_INFORMATION rarely touches it.
                    let fname = change.file_name_times.as_ref().and_then(|t| t.created);
                    let created = match (change.time, fname) {
                        (Some(si), Some(fname)) => Some(si.max(fname)),
                        (si, fname) => si.or(fname),
                    };
                    if let Some(t) = created {
                        entry.created = Some(entry.created.map_or(t, |x| x.min(t)));
                    }
                }
            }
        }
        if entry.told.len() < 8 {
            entry.told.push(format!(
                "{} {} in {}",
                change.kind.as_str(),
                change.position,
                origin.display()
            ));
        }
    }

    fn finish(&self, out: &mut Out) {
        let g = std::mem::take(
            &mut *self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let when = |t: Option<DateTime<Utc>>| {
            t.map_or_else(|| "at an unknown time".to_owned(), |t| t.to_rfc3339())
        };
        for ((record, _, norm), s) in g {
            let Some(created) = s.created else { continue };
            if !(s.deleted.is_some() || s.deleted_record) || !self.in_window(created) {
                continue;
            }
            let (severity, why) = self.weight(&norm);
            let deleted = match s.deleted {
                Some(t) => format!("deleted {}", t.to_rfc3339()),
                None => "deleted (its $MFT record is no longer in use)".to_owned(),
            };
            let mut f = DETECTOR
                .info
                .finding()
                .with_path(s.path.as_str())
                .with_message(format!(
                    "{} created {} and {deleted}{}",
                    s.path,
                    when(Some(created)),
                    if s.partial {
                        " (partial path: a parent folder's record is gone)"
                    } else {
                        ""
                    }
                ))
                .with_score(severity.default_score());
            f.time = Some(created);
            f.push_evidence(evidence("recorded_path", &s.path));
            f.push_evidence(evidence("created", &created.to_rfc3339()));
            f.push_evidence(evidence("deleted", &deleted));
            f.push_evidence(evidence("weight", why));
            f.push_evidence(evidence("mft_record", &record.to_string()));
            for t in &s.told {
                f.push_evidence(evidence("history", t));
            }
            if let Some(w) = &self.window {
                f.push_evidence(evidence(
                    "window",
                    &format!("{} ({})", w.describe(), w.source_title()),
                ));
            }
            let source = if s.deleted.is_some() { "$J" } else { "$MFT" };
            out.finding(f.with_detail("partial_path", s.partial).with_detail("history", source));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates() {
        assert!(candidate("c:/inetpub/wwwroot/aspnet_client/system_web/x.aspx"));
        assert!(candidate(
            "c:/program files/microsoft/exchange server/v15/frontend/httpproxy/owa/auth/x.aspx"
        ));
        assert!(!candidate(
            "c:/program files/microsoft/exchange server/v15/frontend/httpproxy/owa/auth/logon.aspx"
        ));
        assert!(!candidate("c:/users/a/x.aspx"));
        assert!(!candidate("c:/inetpub/wwwroot/aspnet_client/x.txt"));
    }
}
