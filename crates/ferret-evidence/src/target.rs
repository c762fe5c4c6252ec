//! Targets that are evidence: what a verb does with a path it is given that is a disk image
//! or a collection rather than a directory, and a sink that names where a file inside was
//! found.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferret_core::{Finding, Problem, Provenance, ReportPath, Sink, Summary};

use crate::collection::{Limits, open_collection, sniff_collection};
use crate::entry::{Entry, Source};
use crate::partition::{Opened, open_image, sniff};

/// Whether a target is read in place as evidence: a disk image ([`sniff`]) or a collection
/// ([`sniff_collection`]: an archive, a Velociraptor or KAPE folder), by content.
pub fn is_evidence(path: &Path) -> bool {
    is_image(path) || sniff_collection(path).is_some()
}

fn is_image(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file()) && sniff(path).is_some()
}

/// Opens every target named that [`is_evidence`], for a verb's run: each one's problems go to
/// `sink` and make `summary` incomplete, its notes and its layout (`NAME: LAYOUT, read in
/// place`) go to `summary`, and the sources of all of them are returned in order.
pub fn open_named(
    named: &[PathBuf],
    summary: &mut Summary,
    sink: &dyn Sink,
) -> Vec<Arc<dyn Source>> {
    let mut sources: Vec<Arc<dyn Source>> = Vec::new();
    for p in named {
        if let Some(opened) = open_one(p, summary, sink) {
            sources.extend(opened.sources);
        }
    }
    sources
}

/// Opens one target that [`is_evidence`] as [`open_named`] does (problems to `sink`, notes
/// and the reasons it is incomplete to `summary`), keeping its layout
/// (`raw disk, gpt`, `velociraptor zip`) for a verb that records it. `None` when nothing in
/// it can be examined (the problem says why).
pub fn open_one(path: &Path, summary: &mut Summary, sink: &dyn Sink) -> Option<Opened> {
    match open_evidence(path, Limits::default()) {
        Ok(mut opened) => {
            if !opened.problems.is_empty() {
                summary.mark_incomplete(format!(
                    "{}: {} part(s) could not be examined (see problems)",
                    path.display(),
                    opened.problems.len()
                ));
            }
            for pr in std::mem::take(&mut opened.problems) {
                sink.problem(pr);
            }
            summary.notes.append(&mut opened.notes);
            summary.notes.push(format!("{}: {}, read in place", path.display(), opened.layout));
            Some(opened)
        }
        Err(pr) => {
            summary.mark_incomplete(format!("{}: could not be examined", path.display()));
            sink.problem(pr);
            None
        }
    }
}

/// Opens a target that [`is_evidence`]: a disk image's file systems, or a collection.
pub fn open_evidence(path: &Path, limits: Limits) -> Result<Opened, Problem> {
    if is_image(path) {
        return open_image(path);
    }
    let c = open_collection(path, limits)?;
    let layout = match c.layout().as_str() {
        Some(l) => format!("{l} {}", c.format().as_str()),
        None => c.format().as_str().to_owned(),
    };
    let source: Arc<dyn Source> = Arc::new(c);
    Ok(Opened { sources: vec![source], problems: Vec::new(), notes: Vec::new(), layout })
}

/// Forwards to `inner`, adding an entry's provenance to findings about it (its path) and
/// naming where it was found in the position of problems about it.
pub struct EntrySink<'s> {
    inner: &'s dyn Sink,
    path: ReportPath,
    provenance: Option<Box<Provenance>>,
}

impl<'s> EntrySink<'s> {
    /// A sink for findings and problems about `entry`.
    pub fn new(inner: &'s dyn Sink, entry: &Entry) -> EntrySink<'s> {
        EntrySink { inner, path: entry.path.clone(), provenance: entry.provenance.clone() }
    }
}

impl Sink for EntrySink<'_> {
    fn finding(&self, mut f: Finding) {
        if f.provenance.is_none() && f.path.as_ref() == Some(&self.path) {
            f.provenance.clone_from(&self.provenance);
        }
        self.inner.finding(f);
    }

    fn problem(&self, mut p: Problem) {
        if p.position.is_none()
            && p.path.as_ref() == Some(&self.path)
            && let Some(prov) = &self.provenance
        {
            p.position = Some(prov.describe());
        }
        self.inner.problem(p);
    }
}
