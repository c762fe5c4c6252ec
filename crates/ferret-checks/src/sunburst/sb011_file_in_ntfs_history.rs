//! SB011 sunburst-file-in-ntfs-history: a published SUNBURST, SUPERNOVA, TEARDROP or
//! RAINDROP file name or path in the NTFS history (`$UsnJrnl:$J`, `$MFT` live and deleted
//! records): the file existed here, whether or not it still does.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use ferret_artefacts::ntfs::Change;
use ferret_core::Severity;

use crate::detector::{Campaign, Detector, Doc, Info, Input, Out, Registration, evidence};
use crate::sunburst::{FileKind, REF_AA20_352A, REF_FIREEYE, REF_FIREEYE_IOCS, REF_MSFT_STAGE2};

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "SB011",
        name: "sunburst-file-in-ntfs-history",
        title: "Published SUNBURST/TEARDROP/RAINDROP/SUPERNOVA file name in the NTFS history",
        campaign: Campaign::Sunburst,
        severity: Severity::High,
        inputs: &[Input::NtfsHistory],
        needles: &[],
        doc: Doc {
            what: "A file name or path of the intel table `sunburst/files.tsv` (`name` and \
                   `path` rows: TEARDROP's `netsetupsvc.dll` and the image files it reads, the \
                   Cobalt Strike loader paths of the second stage) in the NTFS history: a \
                   change journal (`$UsnJrnl:$J`) record or a `$MFT` record, live or deleted, \
                   read from a disk image or from the raw files of a triage collection. Rows \
                   of kind `product` (Orion's own files that a family modifies) never match by \
                   name. The severity is the row's.",
            why: "The second stage ran in memory and its loaders were removed or replaced: \
                  the journal and the `$MFT` keep the names of files that no longer exist, \
                  which is often all that is left of TEARDROP and RAINDROP on a host.",
            evidence: "The recorded path (marked partial when a parent folder is unknown), the \
                       family, what the source says of the indicator, the first and last time \
                       the history records it, what happened (journal reasons; a deleted \
                       record), and the history file or image.",
            false_positives: "The loader paths imitate Windows components but are not part of \
                              Windows; a file of the same name created by something else is \
                              possible for the short image names, so read the times and the \
                              folder.",
            references: &[REF_AA20_352A, REF_FIREEYE, REF_FIREEYE_IOCS, REF_MSFT_STAGE2],
        },
    },
    build: |opts| {
        // The last part of every name and path row: a change whose file name is none of
        // them cannot match, and is passed over without building its normalized path.
        let names = opts
            .intel
            .sunburst_files
            .rows
            .iter()
            .filter(|r| matches!(r.kind, FileKind::Name | FileKind::Path))
            .map(|r| r.value.rsplit('/').next().unwrap_or(&r.value).to_owned())
            .collect::<HashSet<String>>();
        let lengths = names.iter().fold(0u64, |m, n| {
            m | u32::try_from(n.len()).ok().and_then(|l| 1u64.checked_shl(l)).unwrap_or(0)
        });
        Ok(Box::new(HistoryFile {
            intel: opts.intel.clone(),
            names,
            lengths,
            hits: Mutex::default(),
        }))
    },
};

/// What the history said of one matched path.
#[derive(Debug, Default)]
struct Hit {
    path: String,
    partial: bool,
    row: usize,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    what: Vec<String>,
    origin: String,
    records: u64,
    journal: bool,
}

struct HistoryFile {
    intel: Arc<crate::intel::CheckIntel>,
    names: HashSet<String>,
    /// Bit `n` set when a name is `n` bytes long (names of 64 bytes or more are always
    /// looked up).
    lengths: u64,
    hits: Mutex<BTreeMap<String, Hit>>,
}

impl Detector for HistoryFile {
    fn on_change(&self, c: &Change, origin: &Path, _out: &mut Out) {
        if c.is_dir {
            return;
        }
        // Most names have a length no indicator has: passed over without lower-casing.
        let name = c.name();
        let known = (name.len() >= 64 || self.lengths & (1 << name.len()) != 0)
            && self.names.contains(&name.to_ascii_lowercase());
        if !known {
            return;
        }
        let norm = c.path.replace('\\', "/").to_ascii_lowercase();
        let files = &self.intel.sunburst_files;
        let Some(i) = files.by_path(&norm) else { return };
        let row = files.rows.iter().position(|r| std::ptr::eq(r, i)).unwrap_or(0);
        let mut g = self.hits.lock().unwrap_or_else(PoisonError::into_inner);
        if g.len() >= 10_000 && !g.contains_key(&norm) {
            return;
        }
        let h = g.entry(norm).or_default();
        if h.path.is_empty() || (h.partial && !c.partial) {
            h.path.clone_from(&c.path);
            h.partial = c.partial;
            h.origin = origin.display().to_string();
        }
        h.row = row;
        h.journal |= c.kind == ferret_artefacts::ntfs::HistoryKind::Journal;
        h.records += 1;
        if let Some(t) = c.time {
            h.first = Some(h.first.map_or(t, |x| x.min(t)));
            h.last = Some(h.last.map_or(t, |x| x.max(t)));
        }
        let what = format!("{} {}", c.kind.as_str(), c.what());
        if h.what.len() < 8 && !h.what.contains(&what) {
            h.what.push(what);
        }
    }

    fn finish(&self, out: &mut Out) {
        let g = std::mem::take(&mut *self.hits.lock().unwrap_or_else(PoisonError::into_inner));
        let when =
            |t: Option<DateTime<Utc>>| t.map_or_else(|| "unknown".to_owned(), |t| t.to_rfc3339());
        for (_, h) in g {
            let Some(i) = self.intel.sunburst_files.rows.get(h.row) else { continue };
            let mut f = DETECTOR
                .info
                .finding()
                .with_path(h.path.as_str())
                .with_message(format!(
                    "{} file {} in the NTFS history (first {}, last {}){}; it need not exist any more",
                    i.family,
                    h.path,
                    when(h.first),
                    when(h.last),
                    if h.partial { " (partial path)" } else { "" }
                ))
                .with_score(i.severity.default_score().min(85));
            f.time = h.first;
            f.push_evidence(evidence("recorded_path", &h.path));
            f.push_evidence(evidence("family", &i.family));
            if !i.note.is_empty() {
                f.push_evidence(evidence("published", &i.note));
            }
            f.push_evidence(evidence("history", &h.what.join("; ")));
            f.push_evidence(evidence("records", &h.records.to_string()));
            f.push_evidence(evidence("read_from", &h.origin));
            let source = if h.journal { "$J" } else { "$MFT" };
            out.finding(f.with_detail("partial_path", h.partial).with_detail("history", source));
        }
    }
}
