//! Finding hives in the examined paths and matching their execution evidence against the
//! loaded indicators (engine `artefact`): Amcache's SHA-1s and paths, ShimCache's paths, and
//! the command lines of autostart places (Run/RunOnce, services' `ImagePath`); and NTFS history
//! files (`$MFT`, `$J`, found by content, see [`crate::ntfs`]) and the NTFS volumes of disk
//! images named as targets, whose paths are matched against the file-name indicators.
//!
//! Hives are recognised by content: a regular file of at least 8 KiB (a base block and one
//! hive bin) whose first bytes are `regf` with file type 0 (a primary file; transaction logs
//! share the signature with another type). The transaction logs beside a hive
//! (`NAME.LOG1`, `NAME.LOG2`, `NAME.LOG`, any case) are read with it and replayed in memory.

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use ferret_core::{Engine, Evidence, Finding, Problem, ProblemKind, Severity, Sink, Summary};
use ferret_evidence::{Entry, Source};
use ferret_fs::{EntryKind, WalkOptions, Walker};
use ferret_ioc::{FileFacts, IocSet};

use crate::hive::{Hive, HiveKind, MAX_HIVE_SIZE, sniff};
use crate::ntfs::{self, HistoryCounts, HistoryKind};
use crate::{amcache, shimcache};

/// The smallest primary hive file: a base block and one hive bin.
pub const MIN_HIVE_SIZE: u64 = 8192;

/// What [`examine`] reads.
#[derive(Clone, Debug, Default)]
pub struct ArtefactOptions {
    /// The walk (roots, excludes, threads, stop flag).
    pub walk: WalkOptions,
}

/// Whether a file of `size` bytes may be a primary hive, before anything is read: within
/// [`MIN_HIVE_SIZE`] and the hive size limit, and, for a file met in a walk (not `named` as a
/// target), a whole number of 512-byte sectors. A hive file is a 4 KiB base block and hive
/// bins in 4 KiB steps, and a copy cut short on a sector boundary still counts (reported as
/// truncated when read); only such files are opened to look at their first bytes, so a walk
/// over a host does not open every file a second time. A file named as a target is looked
/// at whatever its size, so a hive cut anywhere is reported.
pub fn may_be_hive(size: u64, named: bool) -> bool {
    (MIN_HIVE_SIZE..=MAX_HIVE_SIZE).contains(&size) && (named || size.is_multiple_of(512))
}

/// Whether the file at `path` starts like a primary hive (reads 32 bytes).
pub fn is_hive_file(path: &Path) -> bool {
    let Ok((file, meta)) = ferret_fs::open_read_only(path) else { return false };
    if !(MIN_HIVE_SIZE..=MAX_HIVE_SIZE).contains(&meta.len()) {
        return false;
    }
    let mut head = [0u8; 32];
    file.take(32).read_exact(&mut head).is_ok() && sniff(&head)
}

/// The primary hive files under the walk's roots (sorted); walk problems go to `sink`.
pub fn find_hives(
    walk: &WalkOptions,
    sink: &dyn Sink,
) -> Result<Vec<PathBuf>, ferret_fs::WalkError> {
    Ok(find(walk, sink)?.hives)
}

/// What one walk found: hives, and NTFS history files (`$MFT`, `$J`).
#[derive(Debug, Default)]
pub struct Found {
    /// Primary hive files (sorted).
    pub hives: Vec<PathBuf>,
    /// `$MFT` and change journal files (sorted), recognised by content.
    pub history: Vec<(PathBuf, HistoryKind)>,
}

/// The hives and NTFS history files under the walk's roots, for a caller that reads no file
/// itself (a scan notes them as it reads, see [`Candidates`]); walk problems go to `sink`.
pub fn find(walk: &WalkOptions, sink: &dyn Sink) -> Result<Found, ferret_fs::WalkError> {
    Ok(walk_candidates(walk, sink)?.found())
}

fn walk_candidates(
    walk: &WalkOptions,
    sink: &dyn Sink,
) -> Result<Candidates, ferret_fs::WalkError> {
    let walker = Walker::new(walk.clone())?;
    let found = Candidates::new(&walk.roots);
    walker.run(
        || {
            |e: ferret_fs::Entry<'_>| {
                if e.kind == EntryKind::File {
                    found.local(e.path, e.meta.len(), None);
                }
            }
        },
        sink,
    );
    Ok(found)
}

/// How many first bytes of a file [`Candidates`] wants to recognise it (a hive needs 32, a
/// `$MFT` its first records).
pub const HEAD_LEN: usize = ferret_evidence::NOTICE_HEAD;

/// The artefact files met by a reader of every file (a scan, a walk): hives and NTFS history
/// files, recognised by their first bytes as they are read, and hives inside evidence (disk
/// images, collections) with the transaction logs beside them in the same source. What was
/// noted is read afterwards by [`Candidates::examine`], so the files are listed once.
pub struct Candidates {
    /// The paths named as targets: a file named there is looked at whatever its size.
    roots: Vec<PathBuf>,
    noted: Mutex<Noted>,
}

/// A source met: held weakly, and strongly once it holds a noted hive.
type SourceSlot = (Weak<dyn Source>, Option<Arc<dyn Source>>);

#[derive(Default)]
struct Noted {
    hives: Vec<PathBuf>,
    history: Vec<(PathBuf, HistoryKind)>,
    /// Hives inside evidence, by the index of their source in `sources`.
    in_evidence: Vec<(usize, Entry)>,
    /// Sources that hold a noted hive or log: held weakly (so an archive met in a walk is
    /// closed when the scan is done with it), and kept open only when they hold a hive.
    sources: Vec<SourceSlot>,
    /// Index in `sources` by the source's address (stable while its `Weak` is held).
    source_index: HashMap<usize, usize>,
    /// Transaction logs inside evidence: (source index, lowercase path) to their entry.
    logs: HashMap<(usize, String), Entry>,
}

impl Noted {
    /// The index of `src` in `sources`; `keep` holds it open until the hives are read.
    fn source(&mut self, src: &Arc<dyn Source>, keep: bool) -> usize {
        let addr = Arc::as_ptr(src).cast::<()>().addr();
        let i = match self.source_index.get(&addr) {
            Some(&i) => i,
            None => {
                self.sources.push((Arc::downgrade(src), None));
                let i = self.sources.len() - 1;
                self.source_index.insert(addr, i);
                i
            }
        };
        if keep && let Some((_, strong)) = self.sources.get_mut(i) {
            strong.get_or_insert_with(|| Arc::clone(src));
        }
        i
    }
}

impl std::fmt::Debug for Candidates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = self.noted.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f.debug_struct("Candidates")
            .field("hives", &g.hives)
            .field("history", &g.history)
            .field("in_evidence", &g.in_evidence.len())
            .finish_non_exhaustive()
    }
}

/// A scan tells the candidates what it reads.
impl ferret_evidence::Notice for Candidates {
    fn local(&self, path: &Path, size: u64, head: Option<&[u8]>) {
        Candidates::local(self, path, size, head);
    }
    fn entry(&self, src: &Arc<dyn Source>, e: &Entry, head: Option<&[u8]>) {
        Candidates::entry(self, src, e, head);
    }
}

impl Candidates {
    /// Nothing noted yet; `roots` are the paths named as targets.
    pub fn new(roots: &[PathBuf]) -> Candidates {
        Candidates { roots: roots.to_vec(), noted: Mutex::new(Noted::default()) }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Noted) -> T) -> T {
        f(&mut self.noted.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// A regular file met at `path`: `head` holds its first bytes as read (at least
    /// [`HEAD_LEN`] where the file has them), `None` when it was not read (over a size limit,
    /// or only its name was matched): then a file whose size and name fit is opened for them.
    pub fn local(&self, path: &Path, size: u64, head: Option<&[u8]>) {
        let named = self.roots.iter().any(|r| r == path);
        if may_be_hive(size, named) && head.map_or_else(|| is_hive_file(path), sniff) {
            self.with(|g| g.hives.push(path.to_path_buf()));
            return;
        }
        let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        if ntfs::may_be_history(&name, size)
            && let Some(kind) = match head {
                Some(h) if h.len() >= HEAD_LEN || h.len() as u64 == size => ntfs::sniff(&name, h),
                _ => ntfs::sniff_file(path),
            }
        {
            self.with(|g| g.history.push((path.to_path_buf(), kind)));
        }
    }

    /// A file inside evidence (`src`), with its first bytes as read (`None`: not read). A
    /// hive is noted with its source, a transaction log by its name for the hive beside it;
    /// inside a collection that is a local folder (KAPE, an unpacked Velociraptor
    /// collection) the raw `$MFT` and `$J` are noted where they lie, as in a walked tree.
    pub fn entry(&self, src: &Arc<dyn Source>, e: &Entry, head: Option<&[u8]>) {
        if e.unreadable.is_some() {
            return;
        }
        let lower = e.path.lossy().to_lowercase();
        if [".log", ".log1", ".log2"].iter().any(|x| lower.ends_with(x)) {
            self.with(|g| {
                let i = g.source(src, false);
                g.logs.insert((i, lower), e.clone());
            });
            return;
        }
        if may_be_hive(e.size, false) && head.is_some_and(sniff) {
            self.with(|g| {
                let i = g.source(src, true);
                g.in_evidence.push((i, e.clone()));
            });
            return;
        }
        if let Some(local) = e.local_path() {
            let name = e.file_name();
            if ntfs::may_be_history(&name, e.size)
                && let Some(kind) = match head {
                    Some(h) if h.len() >= HEAD_LEN || h.len() as u64 == e.size => {
                        ntfs::sniff(&name, h)
                    }
                    _ => ntfs::sniff_file(local),
                }
            {
                self.with(|g| g.history.push((local.to_path_buf(), kind)));
            }
        }
    }

    /// The local files noted (sorted, without duplicates).
    pub fn found(&self) -> Found {
        self.with(|g| {
            let mut v = Found {
                hives: std::mem::take(&mut g.hives),
                history: std::mem::take(&mut g.history),
            };
            v.hives.sort();
            v.hives.dedup();
            v.history.sort();
            v.history.dedup();
            v
        })
    }

    /// Reads what was noted and matches it against `iocs`, as [`examine`] does: the NTFS
    /// history (raw files grouped by volume, and the volumes of the disk images `images`), the
    /// local hives with the logs beside them, and the hives inside evidence with their logs
    /// from the same source (findings and problems name the host's path and where it was
    /// found). `stop` is checked between hives.
    pub fn examine(
        self,
        images: &[PathBuf],
        iocs: &IocSet,
        stop: &(dyn Fn() -> bool + Sync),
        sink: &dyn Sink,
    ) -> Counts {
        let found = self.found();
        let noted = self.noted.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut counts = Counts::default();
        let mut reader = ntfs::Reader { sink, stop, counts: HistoryCounts::default() };
        ntfs::examine_history(&ntfs::group(&found.history), images, iocs, &mut reader);
        counts.history = reader.counts;
        let mut use_hive = |h: Option<Hive>, sink: &dyn Sink| {
            let Some(h) = h else {
                counts.hives_unreadable += 1;
                return;
            };
            counts.hives_read += 1;
            if !h.replayed.is_empty() {
                counts.hives_replayed += 1;
            }
            match_hive(&h, iocs, sink, &mut counts);
        };
        for path in found.hives {
            if stop() {
                break;
            }
            use_hive(load(&path, sink), sink);
        }
        for (i, e) in &noted.in_evidence {
            if stop() {
                break;
            }
            let Some(src) = noted.sources.get(*i).and_then(|(_, s)| s.as_ref()) else { continue };
            let sink = ferret_evidence::EntrySink::new(sink, e);
            let log = |p: &str| noted.logs.get(&(*i, p.to_owned()));
            match load_entry(src.as_ref(), e, &log, &sink) {
                EntryHive::NotAHive => {}
                EntryHive::Unreadable => use_hive(None, &sink),
                EntryHive::Read(h) => use_hive(Some(h), &sink),
            }
        }
        counts
    }
}

/// The targets that are disk images (recognised by content), whose NTFS volumes' history is
/// read.
pub fn image_roots(roots: &[PathBuf]) -> Vec<PathBuf> {
    roots
        .iter()
        .filter(|r| {
            std::fs::metadata(r).is_ok_and(|m| m.is_file()) && ferret_evidence::sniff(r).is_some()
        })
        .cloned()
        .collect()
}

fn read_file(path: &Path, limit: u64) -> Result<Vec<u8>, (ProblemKind, String)> {
    let (mut file, meta) = ferret_fs::open_read_only(path).map_err(|e| {
        let kind = match e {
            ferret_fs::OpenError::PermissionDenied(_) => ProblemKind::PermissionDenied,
            ferret_fs::OpenError::Vanished(_) => ProblemKind::Vanished,
            _ => ProblemKind::ReadError,
        };
        (kind, format!("cannot open: {e}"))
    })?;
    if meta.len() > limit {
        return Err((
            ProblemKind::Skipped,
            format!("{} bytes, over the hive size limit of {limit}", meta.len()),
        ));
    }
    let mut buf = Vec::new();
    ferret_fs::read_limited(&mut file, &meta, &mut buf, limit)
        .map_err(|e| (ProblemKind::ReadError, format!("cannot read: {e}")))?;
    Ok(buf)
}

/// The transaction logs beside `hive` (`NAME.LOG`, `NAME.LOG1`, `NAME.LOG2`, any case).
pub fn logs_beside(hive: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (hive.parent(), hive.file_name()) else { return Vec::new() };
    let name = name.to_string_lossy().to_ascii_lowercase();
    let Ok(rd) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name().to_string_lossy().to_ascii_lowercase();
            n.strip_prefix(&name).is_some_and(|rest| matches!(rest, ".log" | ".log1" | ".log2"))
        })
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

/// Reads one hive and the logs beside it. Problems (unreadable, not a hive, truncated, bad
/// checksum, dirty without logs) go to `sink` naming the file; `None` when nothing usable was
/// read.
pub fn load(path: &Path, sink: &dyn Sink) -> Option<Hive> {
    let data = match read_file(path, MAX_HIVE_SIZE) {
        Ok(d) => d,
        Err((kind, reason)) => {
            sink.problem(Problem::at(kind, path, reason));
            return None;
        }
    };
    let mut logs = Vec::new();
    for lp in logs_beside(path) {
        match read_file(&lp, MAX_HIVE_SIZE) {
            Ok(d) => logs.push((lp, d)),
            Err((kind, reason)) => sink.problem(Problem::at(kind, lp.as_path(), reason)),
        }
    }
    parse_loaded(path, data, &logs, sink)
}

/// Parses a hive already read (from a disk image or a collection, say) with its transaction
/// logs; warnings and the reason it cannot be read go to `sink` as problems naming `path`.
pub fn parse_loaded(
    path: &Path,
    data: Vec<u8>,
    logs: &[(PathBuf, Vec<u8>)],
    sink: &dyn Sink,
) -> Option<Hive> {
    match Hive::parse(path, data, logs) {
        Ok(h) => {
            for w in &h.warnings {
                sink.problem(Problem::at(ProblemKind::Parse, path, format!("registry hive: {w}")));
            }
            Some(h)
        }
        Err(e) => {
            sink.problem(Problem::at(ProblemKind::Parse, path, format!("registry hive: {e}")));
            None
        }
    }
}

/// What [`load_entry`] made of an entry.
#[derive(Debug)]
pub enum EntryHive {
    /// Its first bytes are not those of a primary hive.
    NotAHive,
    /// A hive that could not be read (the problem is reported).
    Unreadable,
    /// The hive, with its transaction logs replayed.
    Read(Hive),
}

/// Reads a hive inside evidence (a disk image, a collection) through its source, in memory,
/// with its transaction logs (`NAME.LOG`, `.LOG1`, `.LOG2` of the same source, which `log`
/// finds by their lowercase path). Problems name the host's path of the file.
pub fn load_entry<'e>(
    src: &dyn Source,
    e: &Entry,
    log: &dyn Fn(&str) -> Option<&'e Entry>,
    sink: &dyn Sink,
) -> EntryHive {
    if e.unreadable.is_some() {
        return EntryHive::NotAHive;
    }
    let read = |e: &Entry, max: u64| -> Result<Vec<u8>, String> {
        let r = src.open(e).map_err(|err| err.to_string())?;
        let mut buf = Vec::new();
        r.take(max).read_to_end(&mut buf).map_err(|err| err.to_string())?;
        Ok(buf)
    };
    match read(e, 32) {
        Ok(head) if sniff(&head) => {}
        _ => return EntryHive::NotAHive,
    }
    let path = PathBuf::from(e.path.lossy().into_owned());
    let data = match read(e, MAX_HIVE_SIZE) {
        Ok(d) => d,
        Err(why) => {
            sink.problem(Problem::at(
                ProblemKind::ReadError,
                path.as_path(),
                format!("cannot read: {why}"),
            ));
            return EntryHive::Unreadable;
        }
    };
    let mut logs = Vec::new();
    let base = e.path.lossy().to_lowercase();
    for ext in [".log", ".log1", ".log2"] {
        let Some(le) = log(&format!("{base}{ext}")) else { continue };
        let lp = PathBuf::from(le.path.lossy().into_owned());
        match read(le, MAX_HIVE_SIZE) {
            Ok(d) => logs.push((lp, d)),
            Err(why) => sink.problem(Problem::at(
                ProblemKind::ReadError,
                lp.as_path(),
                format!("cannot read: {why}"),
            )),
        }
    }
    match parse_loaded(&path, data, &logs, sink) {
        Some(h) => EntryHive::Read(h),
        None => EntryHive::Unreadable,
    }
}

/// Counters of one examination, added to the caller's summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Hives read.
    pub hives_read: u64,
    /// Hives that could not be read.
    pub hives_unreadable: u64,
    /// Hives recovered from transaction logs.
    pub hives_replayed: u64,
    /// Amcache program entries read.
    pub amcache_entries: u64,
    /// ShimCache entries read.
    pub shimcache_entries: u64,
    /// Autostart entries read (Run/RunOnce values, services' image paths).
    pub autostart_entries: u64,
    /// Deleted values recovered from free cells.
    pub deleted_values: u64,
    /// NTFS history read (`$MFT`, `$J`).
    pub history: HistoryCounts,
}

impl Counts {
    /// Adds the counters to `summary`: `hives_read` always (zero says none was found), the
    /// others when not zero.
    pub fn record(&self, summary: &mut Summary) {
        summary.count("hives_read", self.hives_read);
        for (name, n) in [
            ("hives_unreadable", self.hives_unreadable),
            ("hives_replayed", self.hives_replayed),
            ("amcache_entries", self.amcache_entries),
            ("shimcache_entries", self.shimcache_entries),
            ("autostart_entries", self.autostart_entries),
            ("deleted_values", self.deleted_values),
        ] {
            if n > 0 {
                summary.count(name, n);
            }
        }
        self.history.record(summary);
        if self.hives_unreadable > 0 {
            summary.mark_incomplete(format!(
                "{} registry hive(s) could not be read (see problems)",
                self.hives_unreadable
            ));
        }
    }
}

/// Finds the hives under the roots and matches their Amcache and ShimCache entries against
/// `iocs` (SHA-1 indicators against Amcache's SHA-1s; file-name indicators against the
/// recorded paths); then the NTFS history (raw `$MFT` and `$J` files under the roots, and
/// the volumes of the disk images named as roots), whose paths are matched against the
/// file-name indicators. Findings and problems go to `sink`.
pub fn examine(
    opts: &ArtefactOptions,
    iocs: &IocSet,
    sink: &dyn Sink,
) -> Result<Counts, ferret_fs::WalkError> {
    let found = walk_candidates(&opts.walk, sink)?;
    let cancel = opts.walk.cancel.clone();
    let stop = move || cancel.is_cancelled();
    Ok(found.examine(&image_roots(&opts.walk.roots), iocs, &stop, sink))
}

/// Matches one hive's execution evidence against `iocs`.
pub fn match_hive(h: &Hive, iocs: &IocSet, sink: &dyn Sink, counts: &mut Counts) {
    let mut hits = Vec::new();
    match h.kind() {
        HiveKind::Amcache => {
            for e in amcache::entries(h) {
                counts.amcache_entries += 1;
                let path = e.path.clone().unwrap_or_default();
                hits.clear();
                iocs.match_file(
                    &FileFacts {
                        path: path.as_bytes(),
                        size: e.size.unwrap_or(0),
                        md5: None,
                        sha1: e.sha1,
                        sha256: None,
                    },
                    &mut hits,
                );
                for m in hits.drain(..) {
                    let what = if m.engine == Engine::Hash { "SHA-1" } else { "path" };
                    let mut f = artefact_finding(m, h);
                    f.time = e.key_time;
                    f.message = Some(format!(
                        "Amcache records{} that {} ran or was present here (matched by {what}; \
                         entry written {}); the file need not exist any more",
                        if e.recovered {
                            ", in a deleted entry recovered from a free cell,"
                        } else {
                            ""
                        },
                        if path.is_empty() { "a program" } else { &path },
                        e.key_time
                            .map_or_else(|| "at an unknown time".to_owned(), |t| t.to_rfc3339()),
                    ));
                    if e.recovered {
                        f = f.with_detail("recovered", true);
                    }
                    f.push_evidence(Evidence::from_bytes("amcache_key", None, e.key.as_bytes()));
                    if !path.is_empty() {
                        f.push_evidence(Evidence::from_bytes(
                            "recorded_path",
                            None,
                            path.as_bytes(),
                        ));
                    }
                    if let Some(s) = e.sha1 {
                        f = f.with_detail("sha1_first_30mib", hex::encode(s));
                    }
                    if let Some(d) = &e.link_date {
                        f = f.with_detail("link_date", d.clone());
                    }
                    sink.finding(f.with_detail("artefact", "amcache"));
                }
            }
        }
        HiveKind::System => {
            let (entries, unknown) = shimcache::entries(h);
            for u in unknown {
                sink.problem(Problem::at(ProblemKind::Parse, h.path(), u));
            }
            for e in entries {
                counts.shimcache_entries += 1;
                hits.clear();
                iocs.match_file(
                    &FileFacts {
                        path: e.path.as_bytes(),
                        size: 0,
                        md5: None,
                        sha1: None,
                        sha256: None,
                    },
                    &mut hits,
                );
                for m in hits.drain(..).filter(|m| m.engine == Engine::Filename) {
                    let mut f = artefact_finding(m, h);
                    f.time = e.modified;
                    f.message = Some(format!(
                        "ShimCache ({}, entry {}) records {} (file modified {}); the file existed \
                         here and need not exist any more",
                        e.control_set,
                        e.position,
                        e.path,
                        e.modified
                            .map_or_else(|| "at an unknown time".to_owned(), |t| t.to_rfc3339()),
                    ));
                    f.push_evidence(Evidence::from_bytes("recorded_path", None, e.path.as_bytes()));
                    sink.finding(f.with_detail("artefact", "shimcache"));
                }
            }
        }
        _ => {}
    }
    persistence(h, iocs, sink, counts);
}

/// The autostart places read for [`persistence`]: (hive kind, key path, what it is).
const RUN_KEYS: &[(HiveKind, &str, &str)] = &[
    (HiveKind::Software, "Microsoft\\Windows\\CurrentVersion\\Run", "Run"),
    (HiveKind::Software, "Microsoft\\Windows\\CurrentVersion\\RunOnce", "RunOnce"),
    (HiveKind::Software, "Wow6432Node\\Microsoft\\Windows\\CurrentVersion\\Run", "Run (32-bit)"),
    (
        HiveKind::Software,
        "Wow6432Node\\Microsoft\\Windows\\CurrentVersion\\RunOnce",
        "RunOnce (32-bit)",
    ),
    (HiveKind::NtUser, "Software\\Microsoft\\Windows\\CurrentVersion\\Run", "user Run"),
    (HiveKind::NtUser, "Software\\Microsoft\\Windows\\CurrentVersion\\RunOnce", "user RunOnce"),
];

/// Autostart entries (Run/RunOnce values, services' `ImagePath`) whose command line matches a
/// file-name indicator: the program was set to start here, whether or not it still exists.
fn persistence(h: &Hive, iocs: &IocSet, sink: &dyn Sink, counts: &mut Counts) {
    // (place, command line, time, recovered from a free cell)
    let mut entries: Vec<(String, String, Option<chrono::DateTime<chrono::Utc>>, bool)> =
        Vec::new();
    for (kind, path, what) in RUN_KEYS {
        if *kind != h.kind() {
            continue;
        }
        let Some(k) = h.key(path) else { continue };
        for v in k.values_and_deleted() {
            if let Some(cmd) = v.as_string() {
                let place = format!("{what} {path}\\{}", v.name);
                entries.push((place, cmd, k.last_written(), v.recovered));
            }
        }
    }
    if h.kind() == HiveKind::System
        && let Ok(root) = h.root()
    {
        for set in root.subkeys() {
            if !set.name().to_ascii_lowercase().starts_with("controlset") {
                continue;
            }
            let Some(services) = set.subkey("Services") else { continue };
            for svc in services.subkeys() {
                if let Some(cmd) = svc.value("ImagePath").and_then(|v| v.as_string()) {
                    entries.push((
                        format!("service {}\\Services\\{}", set.name(), svc.name()),
                        cmd,
                        svc.last_written(),
                        false,
                    ));
                }
            }
        }
    }
    // Deleted values no live key claims any more: their text is matched all the same (from
    // this index on, an entry's place is the value's name).
    let unattributed = entries.len();
    for d in h.deleted_values() {
        counts.deleted_values += 1;
        if d.key.is_some() {
            continue;
        }
        if let Some(text) = d.value.as_string() {
            entries.push((d.value.name.clone(), text, None, true));
        }
    }
    let mut hits = Vec::new();
    for (i, (place, cmd, time, recovered)) in entries.into_iter().enumerate() {
        let orphan = i >= unattributed;
        if !orphan {
            counts.autostart_entries += 1;
        }
        hits.clear();
        iocs.match_file(
            &FileFacts { path: cmd.as_bytes(), size: 0, md5: None, sha1: None, sha256: None },
            &mut hits,
        );
        for m in hits.drain(..).filter(|m| m.engine == Engine::Filename) {
            let mut f = artefact_finding(m, h);
            f.time = time;
            f.message = Some(if orphan {
                format!(
                    "a deleted value {place:?} recovered from a free cell of the hive (its key is \
                     no longer known) names {cmd}; the program need not exist any more"
                )
            } else if recovered {
                format!(
                    "autostart entry {place}, a deleted value recovered from a free cell of the \
                     hive, started {cmd}; the program need not exist any more"
                )
            } else {
                format!("autostart entry {place} starts {cmd}; the program need not exist any more")
            });
            if recovered {
                f = f.with_detail("recovered", true);
            }
            if orphan {
                f = f.with_detail("unattributed", true);
            }
            let label = if orphan { "deleted_value" } else { "autostart" };
            f.push_evidence(Evidence::from_bytes(label, None, place.as_bytes()));
            f.push_evidence(Evidence::from_bytes("command", None, cmd.as_bytes()));
            sink.finding(
                f.with_detail("artefact", if orphan { "deleted-value" } else { "autostart" }),
            );
        }
    }
}

fn artefact_finding(m: ferret_ioc::IocMatch, h: &Hive) -> Finding {
    let mut f = m.into_finding();
    f.engine = Engine::Artefact;
    f.severity = Severity::from_score(f.score);
    f.with_path(h.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sector_multiples_in_the_size_range_are_opened() {
        assert!(may_be_hive(8192, false));
        assert!(may_be_hive(8192 + 512, false), "a copy cut on a sector boundary");
        assert!(may_be_hive(MAX_HIVE_SIZE - MAX_HIVE_SIZE % 512, false));
        assert!(!may_be_hive(4096, false), "a base block alone");
        assert!(!may_be_hive(8193, false));
        assert!(!may_be_hive(20_004, false));
        assert!(!may_be_hive(MAX_HIVE_SIZE + 512, false));
        // Named as a target: any size in the range.
        assert!(may_be_hive(8193, true));
        assert!(!may_be_hive(4096, true));
    }
}
