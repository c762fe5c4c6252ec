//! Evidence as a tree to record and check: the file systems of a disk image or a triage
//! collection, read in place through ferret-evidence (opened once by the caller with
//! `ferret_evidence::open_one`), listed, put in manifest order and handed to the same pipeline
//! as a local walk ([`crate::tree::Tree`]).
//!
//! A path is the one the host knew (`C:\Windows\System32\x.dll`, `C:\dir\file:stream` for an
//! alternate data stream); a member of a plain archive is named relative to the archive
//! (`var/www/index.php`). When any path is a Windows path, the manifest's paths are
//! [`PathStyle::Windows`]: ordered and matched without regard to case, as NTFS compares names,
//! so a manifest of last month's image checks today's VHDX of the same host whatever case a
//! name was rewritten in. Only what the source keeps is recorded: type, size, digest and the
//! `$STANDARD_INFORMATION` modification time; an NTFS file has no POSIX mode, owner or xattrs,
//! and those stay absent.
//!
//! Sources list in their own order (NTFS by MFT record), so the entries are gathered and sorted
//! before the pipeline: memory grows with the number of entries, as the NTFS name table itself
//! does (about 460 bytes a file in all, measured on 20,000 files); files up to 4 KiB are hashed
//! while listed so their data is not held, larger ones are read by the pipeline's threads.
//! An entry that cannot be read (EFS, WOF, a read error) is a problem and is recorded without
//! a digest, never as unchanged content.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferret_core::{Cancel, Problem, ProblemKind, Sink};
use ferret_evidence::Source;

use crate::manifest::{Entry, EntryKind, EvidenceInfo, HashAlgorithm, PathStyle};
use crate::policy::{AttrSet, Policy, PolicyError};
use crate::tree::{Tree, TreeStats};

/// Evidence opened for `baseline` or `verify`: what was named, how it was read, and its
/// sources (one per readable file system, or the collection).
pub struct Evidence {
    /// The disk image or collection as named.
    pub target: PathBuf,
    /// How it was read (`raw disk, gpt, 2 partitions`, `velociraptor zip`).
    pub layout: String,
    /// Its readable file systems or the collection.
    pub sources: Vec<Arc<dyn Source>>,
    /// Some part of it could not be opened (a partition, a file system): a drive none of
    /// the sources holds says nothing about what the host held there.
    pub damaged: bool,
}

impl std::fmt::Debug for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evidence")
            .field("target", &self.target)
            .field("layout", &self.layout)
            .field("sources", &self.sources.len())
            .field("damaged", &self.damaged)
            .finish()
    }
}

/// Whether a root is evidence read in place (a disk image or a collection, by content) rather
/// than a directory walked: `ferret_evidence::is_evidence`.
pub fn is_evidence(root: &Path) -> bool {
    ferret_evidence::is_evidence(root)
}

impl Evidence {
    /// Opens `target` once through ferret-evidence (`open_one`, as `scan`, `check` and `hunt`
    /// open what they are named): its problems go to `sink` and its notes and the reasons it
    /// is incomplete to `summary`. Evidence of which nothing can be read has no sources.
    pub fn open(target: &Path, summary: &mut ferret_core::Summary, sink: &dyn Sink) -> Evidence {
        let reasons = summary.incomplete_reasons.len();
        let opened = ferret_evidence::open_one(target, summary, sink);
        let damaged = summary.incomplete_reasons.len() > reasons;
        let (layout, sources) = opened.map(|o| (o.layout, o.sources)).unwrap_or_default();
        Evidence { target: target.to_path_buf(), layout, sources, damaged }
    }

    /// What a manifest records of it.
    pub fn info(&self) -> EvidenceInfo {
        EvidenceInfo {
            target: self.target.to_string_lossy().into_owned(),
            layout: self.layout.clone(),
            sources: self.sources.iter().map(|s| s.describe()).collect(),
        }
    }
}

/// One listed entry, waiting for the pipeline.
pub(crate) struct Item {
    /// The manifest path.
    path: Vec<u8>,
    /// Which source holds it.
    source: usize,
    /// File or directory.
    kind: EntryKind,
    /// The data's size.
    size: u64,
    /// The source's entry (path and provenance dropped: kept here and in `record`), or
    /// `None` once a small file was hashed while listed (its data no longer needed).
    entry: Option<ferret_evidence::Entry>,
    /// The digest of a small file hashed while listed.
    digest: Option<String>,
    /// `$STANDARD_INFORMATION` modification time, Unix seconds.
    mtime: Option<i64>,
    /// The file-system record (NTFS MFT record), for problems.
    record: Option<u64>,
}

/// Files up to this size are hashed while listed, so the listing does not hold their data
/// (NTFS keeps files of a few hundred bytes inside their MFT record, and the entry would
/// carry a copy until the pipeline reached it).
const HASH_WHILE_LISTED: u64 = 4096;

/// The entries of evidence in manifest order.
pub(crate) struct Listed {
    pub items: Vec<Item>,
    pub style: PathStyle,
    /// The policy as it applies to these paths (without regard to case for Windows paths).
    pub policy: Policy,
    /// Entries the policy's excludes left out.
    pub excluded: u64,
}

impl Listed {
    /// Whether a manifest path is among the entries.
    pub fn contains(&self, path: &[u8]) -> bool {
        self.items.binary_search_by(|i| self.style.cmp(&i.path, path)).is_ok()
    }

    /// The drive letters (upper case) of the Windows paths listed.
    pub fn drives(&self) -> std::collections::BTreeSet<u8> {
        self.items.iter().filter_map(|i| drive(&i.path)).collect()
    }
}

/// The drive letter (upper case) of a Windows path.
pub(crate) fn drive(path: &[u8]) -> Option<u8> {
    match (PathStyle::of_host_path(path), path.first()) {
        (PathStyle::Windows, Some(d)) => Some(d.to_ascii_uppercase()),
        _ => None,
    }
}

/// The manifest path of a source's entry: a Windows path as it is; a member of a plain
/// archive relative to the archive; a Linux host's path (an ext2/3/4 volume) relative to its
/// root, as in a manifest of `/` taken on the running host, so that either can be verified
/// against the other (and the policy's root-relative excludes apply).
fn manifest_path(target: &str, path: &[u8]) -> Vec<u8> {
    let prefix = format!("{}/", target.trim_end_matches('/'));
    match path.strip_prefix(prefix.as_bytes()) {
        Some(rel) if !rel.is_empty() => rel.to_vec(),
        _ => match path.strip_prefix(b"/") {
            Some(rel) if !rel.is_empty() => rel.to_vec(),
            _ => path.to_vec(),
        },
    }
}

/// Lists every entry of the evidence, drops what the policy excludes and sorts the rest in
/// the order of `style` (or, with `None`, of the style the paths have: Windows when any is a
/// Windows path). Two entries of the same path (names that differ only in case on a Windows
/// volume, a name repeated in a collection) keep the first, and the second is a problem.
pub(crate) fn list(
    ev: &Evidence,
    style: Option<PathStyle>,
    policy: &Policy,
    hash: HashAlgorithm,
    cancel: &Cancel,
    sink: &dyn Sink,
) -> Result<Listed, PolicyError> {
    let target = ev.target.to_string_lossy().into_owned();
    let mut items = Vec::new();
    for (i, src) in ev.sources.iter().enumerate() {
        src.entries(sink, cancel, &mut |mut e| {
            let path = manifest_path(&target, e.path.as_bytes());
            let prov = e.provenance.take();
            // NTFS's `$STANDARD_INFORMATION` times, or an ext2/3/4 inode's.
            let mtime = prov
                .as_ref()
                .and_then(|p| p.standard_information.as_ref().or(p.times.as_ref()))
                .and_then(|t| t.modified)
                .map(|t| t.timestamp());
            let record = prov.as_ref().and_then(|p| p.record);
            e.path = ferret_core::ReportPath::from(Vec::new());
            let kind = match e.kind {
                ferret_evidence::EntryKind::File => EntryKind::File,
                ferret_evidence::EntryKind::Dir => EntryKind::Dir,
                // A link inside evidence is recorded as one; its target is not read.
                ferret_evidence::EntryKind::Symlink => EntryKind::Symlink,
                ferret_evidence::EntryKind::Special(k) => match k {
                    ferret_fs::EntryKind::Fifo => EntryKind::Fifo,
                    ferret_fs::EntryKind::Socket => EntryKind::Socket,
                    ferret_fs::EntryKind::BlockDevice => EntryKind::BlockDevice,
                    ferret_fs::EntryKind::CharDevice => EntryKind::CharDevice,
                    _ => EntryKind::Other,
                },
            };
            let size = if kind == EntryKind::File { e.size } else { 0 };
            // A small readable file is hashed now; what fails is read again, and reported,
            // by the pipeline.
            let digest =
                (kind == EntryKind::File && size <= HASH_WHILE_LISTED && e.unreadable.is_none())
                    .then(|| src.open(&e).and_then(|r| crate::tree::digest_reader(r, hash)))
                    .and_then(Result::ok)
                    .and_then(|(d, n)| (n == size).then_some(d));
            let entry = if digest.is_some() { None } else { Some(e) };
            items.push(Item { path, source: i, kind, size, entry, digest, mtime, record });
        });
    }
    let style = style.unwrap_or_else(|| {
        if items.iter().any(|i| PathStyle::of_host_path(&i.path) == PathStyle::Windows) {
            PathStyle::Windows
        } else {
            PathStyle::Posix
        }
    });
    let policy =
        if style == PathStyle::Windows { policy.case_insensitive()? } else { policy.clone() };
    let before = items.len();
    items.retain(|i| !policy.is_excluded_path(&style.glob_form(&i.path)));
    let excluded = (before - items.len()) as u64;
    items.sort_by(|a, b| style.cmp(&a.path, &b.path));
    // `dedup_by` hands the later entry first and the one kept second.
    items.dedup_by(|later, kept| {
        if !style.cmp(&kept.path, &later.path).is_eq() {
            return false;
        }
        let why = format!(
            "listed twice (as {}): only the first is recorded{}",
            String::from_utf8_lossy(&kept.path),
            if style == PathStyle::Windows {
                ", as Windows compares names without case"
            } else {
                ""
            }
        );
        sink.problem(
            Problem::at(ProblemKind::Parse, String::from_utf8_lossy(&later.path).as_ref(), why)
                .with_position(position(ev, later)),
        );
        true
    });
    Ok(Listed { items, style, policy, excluded })
}

/// Where an entry was found, for problems: the source and its record.
fn position(ev: &Evidence, item: &Item) -> String {
    let place = ev.sources.get(item.source).map(|s| s.describe()).unwrap_or_default();
    match item.record {
        Some(r) => format!("{place}, record {r}"),
        None => place,
    }
}

/// Builds the manifest entry of a listed item, hashing a file whose policy compares content.
fn build(
    ev: &Evidence,
    item: Item,
    hash: Option<HashAlgorithm>,
    sink: &dyn Sink,
    stats: &TreeStats,
) -> Entry {
    use std::sync::atomic::Ordering;
    let problem = |kind: ProblemKind, reason: String| {
        sink.problem(
            Problem::at(kind, String::from_utf8_lossy(&item.path).as_ref(), reason)
                .with_position(position(ev, &item)),
        );
    };
    let mut digest = None;
    if let (EntryKind::File, Some(alg)) = (item.kind, hash) {
        let read = match (&item.digest, &item.entry) {
            (Some(d), _) => Ok((d.clone(), item.size)),
            (None, Some(e)) => match &e.unreadable {
                Some(why) => Err(format!("{why}; recorded without a digest")),
                None => ev
                    .sources
                    .get(item.source)
                    .ok_or_else(|| std::io::Error::other("no such source"))
                    .and_then(|src| crate::tree::digest_reader(src.open(e)?, alg))
                    .map_err(|e| format!("cannot read: {e}; recorded without a digest")),
            },
            (None, None) => Err("not listed whole; recorded without a digest".to_owned()),
        };
        match read {
            Ok((d, n)) if n == item.size => {
                digest = Some(d);
                stats.files_hashed.fetch_add(1, Ordering::Relaxed);
                stats.bytes_hashed.fetch_add(n, Ordering::Relaxed);
            }
            Ok((_, n)) => problem(
                ProblemKind::ReadError,
                format!(
                    "{n} bytes read of {}: the data ends early; recorded without a digest",
                    item.size
                ),
            ),
            Err(why) => problem(ProblemKind::ReadError, why),
        }
    }
    Entry {
        path: item.path,
        kind: item.kind,
        size: item.size,
        mode: None,
        uid: None,
        gid: None,
        digest,
        target: None,
        xattrs: std::collections::BTreeMap::new(),
        rdev: None,
        mtime: item.mtime,
    }
}

/// Runs `consume` over the manifest entries of `listed` in order, built (and hashed with
/// `hash` where the policy compares content) on rayon's threads as [`Tree::run`] builds a
/// local walk's.
pub(crate) fn run<R>(
    ev: &Evidence,
    listed: Listed,
    hash: HashAlgorithm,
    cancel: &Cancel,
    sink: &dyn Sink,
    consume: impl FnOnce(&mut Tree<'_>) -> R,
) -> R {
    let Listed { items, style, policy, excluded } = listed;
    let policy = &policy;
    let build_cancel = cancel.clone();
    Tree::run_items(
        cancel,
        excluded,
        move |emit: &mut dyn FnMut(Item) -> bool| {
            for item in items {
                if !emit(item) {
                    break;
                }
            }
        },
        |item: Item, stats: &TreeStats| {
            let want = policy.attrs_for(&style.glob_form(&item.path)).has(AttrSet::CONTENT)
                && !build_cancel.is_cancelled();
            build(ev, item, want.then_some(hash), sink, stats)
        },
        consume,
    )
}

/// The root of a manifest of evidence for its findings (plain-archive members are named
/// under it, as `scan` names them).
pub(crate) fn root(ev: &Evidence) -> &Path {
    &ev.target
}

#[cfg(test)]
mod tests {
    use super::manifest_path;

    #[test]
    fn manifest_paths_are_the_hosts_relative_to_its_root() {
        assert_eq!(manifest_path("/e/c.zip", b"/e/c.zip/dir/f"), b"dir/f");
        assert_eq!(manifest_path("/e/d.img", br"C:\Windows\x.dll"), br"C:\Windows\x.dll");
        assert_eq!(manifest_path("/e/d.img", b"/var/www/html/x.php"), b"var/www/html/x.php");
        assert_eq!(manifest_path("/e/d.img", b"/"), b"/");
    }
}
