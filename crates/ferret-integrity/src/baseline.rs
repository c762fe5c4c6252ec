//! `baseline`: walk a root and write its manifest.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::Ordering;

use ferret_core::{Sink, Summary};

use crate::evidence::Evidence;
use crate::manifest::{HashAlgorithm, Header, ManifestError, ManifestWriter};
use crate::policy::{Policy, PolicyError};
use crate::tree::{Tree, WalkOptions};

/// Options of a baseline.
#[derive(Debug, Clone, Default)]
pub struct BaselineOptions {
    /// Digest algorithm.
    pub hash: HashAlgorithm,
    /// Compress the manifest with zstd.
    pub zstd: bool,
    /// Walk options (with the stop flag, [`WalkOptions::cancel`]).
    pub walk: WalkOptions,
    /// Host name recorded in the header.
    pub host: String,
}

/// What a baseline produced.
#[derive(Debug, Clone)]
pub struct BaselineOutcome {
    /// The header written.
    pub header: Header,
    /// Entries written.
    pub entries: u64,
    /// Counters and problems.
    pub summary: Summary,
}

/// Errors that stop a baseline: nothing usable was written.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The root cannot be examined (missing, permission denied): there is nothing to record.
    #[error("cannot examine the root {root}")]
    Root {
        /// The root, as given.
        root: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The stop flag was raised before the walk finished; the manifest written so far has no
    /// trailer and must be discarded.
    #[error("interrupted before the tree was fully recorded")]
    Interrupted,
    /// Writing the manifest failed.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// No file system or collection in the evidence could be read: there is nothing to
    /// record (the problems say why).
    #[error("nothing in {target} could be read: no manifest written")]
    NothingReadable {
        /// The evidence, as named.
        target: String,
    },
    /// The policy's globs do not compile without regard to case.
    #[error("invalid policy")]
    Policy(#[from] PolicyError),
}

/// Walks `root` under `policy` and writes a manifest to `out`. Files whose content the
/// policy does not compare are recorded without a digest. Unreadable files are recorded
/// without a digest and reported as problems. A root that cannot be examined is an error
/// before anything is written; a raised stop flag ends the walk with
/// [`BaselineError::Interrupted`] (the bytes written to `out` are then not a manifest).
pub fn baseline<W: Write>(
    root: &Path,
    policy: &Policy,
    opts: &BaselineOptions,
    out: W,
    sink: &dyn Sink,
) -> Result<(W, BaselineOutcome), BaselineError> {
    std::fs::metadata(root)
        .map_err(|source| BaselineError::Root { root: root.display().to_string(), source })?;
    let header =
        Header::new(&root.to_string_lossy(), &opts.host, opts.hash, policy.excludes().to_vec());
    let mut writer = ManifestWriter::new(out, &header, opts.zstd)?;
    let mut summary = Summary::default();
    Tree::run(root, policy, opts.walk.clone(), opts.hash, sink, |tree| {
        record(tree, &mut writer, &mut summary)
    })?;
    finish(writer, header, summary)
}

/// Writes every entry of `tree` and counts what was hashed and excluded.
fn record<W: Write>(
    tree: &mut Tree<'_>,
    writer: &mut ManifestWriter<W>,
    summary: &mut Summary,
) -> Result<(), BaselineError> {
    for entry in tree.by_ref() {
        writer.write_entry(&entry)?;
    }
    if tree.stopped() {
        return Err(BaselineError::Interrupted);
    }
    summary.count("files_hashed", tree.stats.files_hashed.load(Ordering::Relaxed));
    summary.count("bytes_hashed", tree.stats.bytes_hashed.load(Ordering::Relaxed));
    summary.skip("excluded", tree.excluded());
    Ok(())
}

/// Records the file systems of a disk image or a triage collection ([`Evidence`], opened
/// once by the caller) as [`baseline`] records a local tree: every regular file of every
/// readable file system, and every alternate data stream, under the path the host knew
/// (`C:\Windows\…`), with its size, digest and modification time; what NTFS does not keep
/// (POSIX mode, owner) is left out. The manifest is schema version 2 and names the evidence
/// (`Header::evidence`). Evidence with no readable source is
/// [`BaselineError::NothingReadable`]; entries that cannot be read are problems and are
/// recorded without a digest.
pub fn baseline_evidence<W: Write>(
    ev: &Evidence,
    policy: &Policy,
    opts: &BaselineOptions,
    out: W,
    sink: &dyn Sink,
) -> Result<(W, BaselineOutcome), BaselineError> {
    if ev.sources.is_empty() {
        return Err(BaselineError::NothingReadable { target: ev.target.display().to_string() });
    }
    let cancel = &opts.walk.cancel;
    let listed = crate::evidence::list(ev, None, policy, opts.hash, cancel, sink)?;
    if cancel.is_cancelled() {
        return Err(BaselineError::Interrupted);
    }
    let header = Header::for_evidence(
        ev.info(),
        listed.style,
        &opts.host,
        opts.hash,
        policy.excludes().to_vec(),
    );
    let mut writer = ManifestWriter::new(out, &header, opts.zstd)?;
    let mut summary = Summary::default();
    crate::evidence::run(ev, listed, opts.hash, cancel, sink, |tree| {
        record(tree, &mut writer, &mut summary)
    })?;
    summary.count("evidence_sources", ev.sources.len() as u64);
    finish(writer, header, summary)
}

fn finish<W: Write>(
    writer: ManifestWriter<W>,
    header: Header,
    mut summary: Summary,
) -> Result<(W, BaselineOutcome), BaselineError> {
    let entries = writer.count();
    let out = writer.finish()?;
    summary.count("entries", entries);
    summary.details.insert("manifest_id".into(), header.id.clone().into());
    summary.details.insert("manifest_created".into(), header.created.clone().into());
    summary.details.insert("hash".into(), header.hash.as_str().into());
    Ok((out, BaselineOutcome { header, entries, summary }))
}
