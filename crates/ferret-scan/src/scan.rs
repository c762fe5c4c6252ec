//! The file scan: walk → read once → digests the indicators need + YARA on the same bytes.

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ferret_core::{
    Cancel, Engine, Evidence, Finding, Problem, ProblemKind, Progress, Provenance, ReportPath,
    RuleRef, Severity, Sink, Summary,
};
use ferret_evidence::{NOTICE_HEAD, Notice, Source};
use ferret_fs::hash::{Digests, HashKinds, hash_bytes, hash_reader};
use ferret_fs::{EntryKind, OpenError, ThreadBudget, WalkOptions, Walker};
use ferret_ioc::{FileFacts, IocMatch};

use crate::RuleSet;
use crate::own::OwnFiles;

/// What to scan and how.
#[derive(Clone, Debug)]
pub struct ScanConfig {
    /// Roots, symlink policy, excludes, threads.
    pub walk: WalkOptions,
    /// Files larger than this are skipped (counted, never read); name indicators still apply.
    pub max_file_size: u64,
    /// Per-file YARA time limit.
    pub yara_timeout: Duration,
    /// ferret's own files (executable, loaded rules, built-in sources): never matched.
    pub own: OwnFiles,
    /// Disk images found inside a walked tree are opened and their file systems scanned
    /// (`--open-containers`); images named as targets always are.
    pub open_containers: bool,
    /// Archives and collections found inside a walked tree (`.zip`, `.tar`, `.tar.gz`,
    /// `.tgz`, recognised by content) have their members scanned; named ones always do.
    pub read_archives: bool,
    /// The limits against decompression bombs and hostile archives.
    pub archive_limits: ferret_evidence::Limits,
    /// Read the whole disk of every container named and check it against the checksums the
    /// container stores (an E01's MD5 and SHA-1): a mismatch is a problem, a match a note.
    pub verify_containers: bool,
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            walk: WalkOptions::default(),
            max_file_size: 512 << 20,
            yara_timeout: Duration::from_secs(60),
            own: OwnFiles::default(),
            open_containers: false,
            read_archives: true,
            archive_limits: ferret_evidence::Limits::default(),
            verify_containers: false,
        }
    }
}

#[derive(Default)]
struct Counters {
    files: AtomicU64,
    scanned: AtomicU64,
    bytes: AtomicU64,
    dirs: AtomicU64,
    symlinks: AtomicU64,
    skipped_size: AtomicU64,
    skipped_special: [AtomicU64; 5],
    read_errors: AtomicU64,
    own: AtomicU64,
    not_scanned: AtomicU64,
    fs_metadata: AtomicU64,
    collector_metadata: AtomicU64,
    evidence_excluded: AtomicU64,
    nested: AtomicU64,
}

/// Names of archives found in a walked tree whose members are read (then recognised by
/// content): a `.docx` or `.jar` is a zip too, but no collection.
const ARCHIVE_NAMES: [&str; 5] = [".zip", ".tar", ".tar.gz", ".tgz", ".taz"];

/// Names of disk images found in a walked tree that `--open-containers` opens (then
/// recognised by content).
const IMAGE_NAMES: [&str; 10] =
    [".img", ".raw", ".dd", ".vhd", ".vhdx", ".vmdk", ".e01", ".001", ".bin", ".ntfs"];

/// One file for a scanning thread: a local file as the walker listed it, or an entry of the
/// evidence source at this index of the run's sources (a file system inside a disk image).
enum Job {
    Local(PathBuf, std::fs::Metadata),
    Evidence(usize, ferret_evidence::Entry),
}

/// The targets that are disk images (recognised by content, see [`ferret_evidence::sniff`]),
/// those that are collections (archives, Velociraptor and KAPE folders, see
/// [`ferret_evidence::sniff_collection`]), and the rest, which are walked.
fn split_targets(roots: &[PathBuf]) -> (Vec<PathBuf>, Vec<PathBuf>, Vec<PathBuf>) {
    let (images, rest): (Vec<PathBuf>, Vec<PathBuf>) = roots.iter().cloned().partition(|r| {
        std::fs::metadata(r).is_ok_and(|m| m.is_file()) && ferret_evidence::sniff(r).is_some()
    });
    let (collections, walked) =
        rest.into_iter().partition(|r| ferret_evidence::sniff_collection(r).is_some());
    (images, collections, walked)
}

/// Opens the collections named as targets; one that cannot be read is a problem and makes
/// the run incomplete.
fn open_collections(
    paths: &[PathBuf],
    limits: ferret_evidence::Limits,
    sink: &dyn Sink,
    notes: &mut Vec<String>,
    incomplete: &mut Vec<String>,
) -> Vec<std::sync::Arc<dyn Source>> {
    let mut sources: Vec<std::sync::Arc<dyn Source>> = Vec::new();
    for path in paths {
        match ferret_evidence::open_collection(path, limits) {
            Ok(c) => {
                notes.push(format!("{}: read in place", c.describe()));
                sources.push(std::sync::Arc::new(c));
            }
            Err(p) => {
                incomplete.push(format!(
                    "{}: the collection could not be examined (see problems)",
                    path.display()
                ));
                sink.problem(p);
            }
        }
    }
    sources
}

/// Opens the disk images named as targets. Whatever in them cannot be examined (an
/// unsupported file system, a damaged table) is a problem naming the image and makes the run
/// incomplete; what was left alone on purpose is a note.
fn open_images(
    images: &[PathBuf],
    verify: bool,
    sink: &dyn Sink,
    notes: &mut Vec<String>,
    incomplete: &mut Vec<String>,
) -> Vec<std::sync::Arc<dyn Source>> {
    let mut sources = Vec::new();
    for image in images {
        if verify {
            match ferret_evidence::verify_container(image) {
                Ok(v) if v.matched.is_empty() => notes.push(format!(
                    "{}: a {} container stores no checksum of its disk; nothing to verify",
                    image.display(),
                    v.format
                )),
                Ok(v) => notes.push(format!(
                    "{}: {} container verified: {}",
                    image.display(),
                    v.format,
                    v.matched
                        .iter()
                        .map(|(a, h)| format!("{a} {h} matches the media"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                Err(p) => {
                    incomplete.push(format!(
                        "{}: the container could not be verified (see problems)",
                        image.display()
                    ));
                    sink.problem(p);
                }
            }
        }
        match ferret_evidence::open_image(image) {
            Ok(opened) => {
                if !opened.problems.is_empty() {
                    incomplete.push(format!(
                        "{}: {} part(s) of the image could not be examined (see problems)",
                        image.display(),
                        opened.problems.len()
                    ));
                }
                for p in opened.problems {
                    sink.problem(p);
                }
                notes.extend(opened.notes);
                notes.push(format!(
                    "{}: {}; {} file system(s) read: {}",
                    image.display(),
                    opened.layout,
                    opened.sources.len(),
                    opened.sources.iter().map(|s| s.describe()).collect::<Vec<_>>().join("; ")
                ));
                sources.extend(opened.sources);
            }
            Err(p) => {
                incomplete.push(format!(
                    "{}: the image could not be examined (see problems)",
                    image.display()
                ));
                sink.problem(p);
            }
        }
    }
    sources
}

fn special_index(k: EntryKind) -> usize {
    match k {
        EntryKind::Fifo => 0,
        EntryKind::Socket => 1,
        EntryKind::BlockDevice => 2,
        EntryKind::CharDevice => 3,
        _ => 4,
    }
}

const SPECIAL_NAMES: [&str; 5] = ["fifo", "socket", "block_device", "char_device", "other"];

/// Scans the targets in `config` with `rules`. Findings and problems go to `sink`;
/// the returned summary counts what was and was not examined. Returns an error only when
/// the walk cannot start (no roots, a bad exclude pattern).
pub fn scan(
    config: &ScanConfig,
    rules: &RuleSet,
    sink: &dyn Sink,
    progress: &dyn Progress,
) -> Result<Summary, ferret_fs::WalkError> {
    scan_noting(config, rules, sink, progress, &())
}

/// [`scan`], telling `notice` about every file as it is read (see [`Notice`]).
pub fn scan_noting(
    config: &ScanConfig,
    rules: &RuleSet,
    sink: &dyn Sink,
    progress: &dyn Progress,
    notice: &dyn Notice,
) -> Result<Summary, ferret_fs::WalkError> {
    let budget = ThreadBudget::for_request(config.walk.threads);
    let mut walk = config.walk.clone();
    walk.threads = budget.threads;
    let (images, collections, roots) = split_targets(&walk.roots);
    walk.roots = roots;
    let excludes = ferret_fs::PathExcludes::new(&config.walk.excludes)?;
    let excludes = &excludes;
    // Only disk images named: nothing to walk. Otherwise the walk is checked as always (no
    // roots at all is an error).
    let named_evidence = !images.is_empty() || !collections.is_empty();
    let walker =
        if walk.roots.is_empty() && named_evidence { None } else { Some(Walker::new(walk)?) };
    let cancel: &Cancel = &config.walk.cancel;
    let mut image_notes = Vec::new();
    let mut image_incomplete = Vec::new();
    let mut sources = open_images(
        &images,
        config.verify_containers,
        sink,
        &mut image_notes,
        &mut image_incomplete,
    );
    let file_systems = sources.len();
    sources.extend(open_collections(
        &collections,
        config.archive_limits,
        sink,
        &mut image_notes,
        &mut image_incomplete,
    ));
    let sources = &sources;
    let needs = rules.iocs.needs();
    let kinds = HashKinds { md5: needs.md5, sha1: needs.sha1, sha256: needs.sha256, blake3: false };
    let counters = Counters::default();
    let owners = Owners::load();
    let threads = budget.threads;
    // yara-x scanners cannot move between threads, so each scanning thread makes its own
    // (on its first file); the walker's threads only list entries and queue regular files.
    let (tx, rx) = crossbeam_channel::bounded::<Job>(4096);
    let stats = std::thread::scope(|scope| {
        for _ in 0..threads {
            let rx = rx.clone();
            let counters = &counters;
            let owners = &owners;
            scope.spawn(move || {
                let mut worker =
                    Worker::new(rules, config, kinds, sink, counters, owners, excludes);
                worker.notice = notice;
                for job in rx {
                    if cancel.is_cancelled() {
                        counters.not_scanned.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    match job {
                        Job::Local(path, meta) => {
                            worker.file(&path, &meta);
                            progress.advance(1, meta.len());
                            worker.nested(&path);
                        }
                        Job::Evidence(i, entry) => {
                            if let Some(src) = sources.get(i) {
                                worker.entry(src, &entry);
                            }
                            progress.advance(1, entry.size);
                        }
                    }
                }
            });
        }
        drop(rx);
        let stats = walker.as_ref().map(|walker| {
            walker.run(
                || {
                    let tx = tx.clone();
                    let counters = &counters;
                    move |entry: ferret_fs::Entry<'_>| {
                        if entry.kind == EntryKind::File {
                            let _ =
                                tx.send(Job::Local(entry.path.to_path_buf(), entry.meta.clone()));
                        } else {
                            visit_other(&entry, counters, sink);
                        }
                    }
                },
                sink,
            )
        });
        // The file systems inside the images and the collections named: listed here, read
        // by the same scanning threads.
        let mut errors = 0;
        for (i, src) in sources.iter().enumerate() {
            let listed = src.entries(sink, cancel, &mut |entry| match entry.kind {
                ferret_evidence::EntryKind::File if excludes.matches(&entry.path.lossy()) => {
                    counters.evidence_excluded.fetch_add(1, Ordering::Relaxed);
                }
                ferret_evidence::EntryKind::File => {
                    let _ = tx.send(Job::Evidence(i, entry));
                }
                _ => evidence_other(&entry, &counters, sink),
            });
            let metadata =
                if i < file_systems { &counters.fs_metadata } else { &counters.collector_metadata };
            metadata.fetch_add(listed.metadata_skipped, Ordering::Relaxed);
            errors += listed.errors;
        }
        drop(tx);
        let mut stats = stats.unwrap_or_default();
        stats.errors += errors;
        stats
    });
    let mut s = Summary::default();
    let c = &counters;
    s.count("files_seen", c.files.load(Ordering::Relaxed));
    s.count("files_scanned", c.scanned.load(Ordering::Relaxed));
    s.count("bytes_scanned", c.bytes.load(Ordering::Relaxed));
    s.count("directories", c.dirs.load(Ordering::Relaxed));
    s.count("symlinks_not_followed", c.symlinks.load(Ordering::Relaxed));
    if !images.is_empty() {
        s.count("images", images.len() as u64);
        s.count("file_systems", file_systems as u64);
        s.skip("file_system_metadata", c.fs_metadata.load(Ordering::Relaxed));
    }
    let nested = c.nested.load(Ordering::Relaxed);
    if !collections.is_empty() || nested > 0 {
        s.count("collections", (sources.len() - file_systems) as u64);
        s.count("nested_containers", nested);
        s.skip("collector_metadata", c.collector_metadata.load(Ordering::Relaxed));
    }
    s.notes.extend(image_notes);
    for reason in image_incomplete {
        s.mark_incomplete(reason);
    }
    s.skip("excluded", stats.excluded + c.evidence_excluded.load(Ordering::Relaxed));
    s.skip("size", c.skipped_size.load(Ordering::Relaxed));
    for (i, name) in SPECIAL_NAMES.iter().enumerate() {
        s.skip(name, c.skipped_special.get(i).map_or(0, |a| a.load(Ordering::Relaxed)));
    }
    s.rules = rules.stats.clone();
    let own = c.own.load(Ordering::Relaxed);
    s.skip("ferret_own", own);
    if own > 0 {
        s.notes.push(format!("ferret's own files, not matched: {own}"));
    }
    if let Some(note) = budget.note() {
        s.notes.push(note);
    }
    if cancel.is_cancelled() {
        s.mark_interrupted();
        let left = c.not_scanned.load(Ordering::Relaxed);
        s.not_checked.push(format!(
            "the scan was interrupted; {left} listed file(s) and everything not yet listed were not scanned"
        ));
    }
    let size = c.skipped_size.load(Ordering::Relaxed);
    if size > 0 {
        s.not_checked.push(format!(
            "{size} file(s) larger than {} bytes were not read (names checked only)",
            config.max_file_size
        ));
    }
    let errs = c.read_errors.load(Ordering::Relaxed) + stats.errors;
    if errs > 0 {
        s.not_checked
            .push(format!("{errs} file(s) or directories could not be read (see problems)"));
    }
    if rules.stats.not_loaded_total() > 0 {
        s.not_checked.push(format!(
            "{} rule file(s) or entries could not be loaded (see problems)",
            rules.stats.not_loaded_total()
        ));
    }
    s.settle();
    Ok(s)
}

fn visit_other(e: &ferret_fs::Entry<'_>, c: &Counters, sink: &dyn Sink) {
    match e.kind {
        EntryKind::Dir => {
            c.dirs.fetch_add(1, Ordering::Relaxed);
        }
        EntryKind::Symlink => {
            c.symlinks.fetch_add(1, Ordering::Relaxed);
        }
        EntryKind::File => {}
        other => special(e.path, other, c, sink),
    }
}

/// A FIFO, socket or device node (on the host, or inside an image): counted, never opened.
fn special(path: impl Into<ReportPath>, kind: EntryKind, c: &Counters, sink: &dyn Sink) {
    if let Some(a) = c.skipped_special.get(special_index(kind)) {
        a.fetch_add(1, Ordering::Relaxed);
    }
    sink.problem(Problem::at(
        ProblemKind::Skipped,
        path,
        format!("{} not opened", kind.as_str().replace('_', " ")),
    ));
}

/// What listing evidence does with an entry that is not a file: folders and symbolic links
/// are counted, special files counted and named in a problem (never opened).
fn evidence_other(e: &ferret_evidence::Entry, c: &Counters, sink: &dyn Sink) {
    match e.kind {
        ferret_evidence::EntryKind::Dir => {
            c.dirs.fetch_add(1, Ordering::Relaxed);
        }
        ferret_evidence::EntryKind::Symlink => {
            c.symlinks.fetch_add(1, Ordering::Relaxed);
        }
        ferret_evidence::EntryKind::Special(kind) => {
            special(e.path.clone(), kind, c, &ferret_evidence::EntrySink::new(sink, e));
        }
        ferret_evidence::EntryKind::File => {}
    }
}

/// The names the YARA externals (`filename`, `extension`, `filepath`, `owner`) are set to.
struct YaraNames {
    name: String,
    ext: String,
    full: String,
    owner: String,
}

struct Worker<'a> {
    rules: &'a RuleSet,
    /// Made on the first file that needs them (and again after a scanner panicked), each
    /// with the file sizes its set is used for (see [`crate::tiers`]).
    scanners: Option<Vec<(yara_x::Scanner<'a>, crate::tiers::SizeRange)>>,
    has_yara: bool,
    config: &'a ScanConfig,
    kinds: HashKinds,
    sink: &'a dyn Sink,
    c: &'a Counters,
    owners: &'a Owners,
    excludes: &'a ferret_fs::PathExcludes,
    buf: Vec<u8>,
    matches: Vec<IocMatch>,
    /// Told about every file read.
    notice: &'a dyn Notice,
    /// The first bytes of the file being hashed (streamed), for `notice`.
    head: Vec<u8>,
    /// The read buffer of streamed hashing: apart from `buf`, whose length follows the last
    /// file read whole, so it is sized once.
    hash_buf: Vec<u8>,
}

impl<'a> Worker<'a> {
    fn new(
        rules: &'a RuleSet,
        config: &'a ScanConfig,
        kinds: HashKinds,
        sink: &'a dyn Sink,
        c: &'a Counters,
        owners: &'a Owners,
        excludes: &'a ferret_fs::PathExcludes,
    ) -> Worker<'a> {
        let has_yara = rules.yara.iter().any(|r| r.iter().next().is_some());
        Worker {
            rules,
            scanners: None,
            has_yara,
            config,
            kinds,
            sink,
            c,
            owners,
            excludes,
            buf: Vec::new(),
            matches: Vec::new(),
            notice: &(),
            head: Vec::new(),
            hash_buf: Vec::new(),
        }
    }

    fn scanners(&mut self) -> &mut Vec<(yara_x::Scanner<'a>, crate::tiers::SizeRange)> {
        let rules = self.rules;
        let timeout = self.config.yara_timeout;
        self.scanners.get_or_insert_with(|| {
            rules
                .yara
                .iter()
                .zip(rules.yara_sizes.iter().cloned())
                .filter(|(r, _)| r.iter().next().is_some())
                .map(|(r, range)| {
                    let mut s = yara_x::Scanner::new(r);
                    s.set_timeout(timeout);
                    (s, range)
                })
                .collect()
        })
    }

    fn own_file(&self, path: &Path) {
        self.c.own.fetch_add(1, Ordering::Relaxed);
        self.sink.problem(Problem::at(
            ProblemKind::Skipped,
            path,
            "one of ferret's own files (its executable or a rule source of this run); not matched",
        ));
    }

    fn file(&mut self, path: &Path, listed: &std::fs::Metadata) {
        self.c.files.fetch_add(1, Ordering::Relaxed);
        if self.config.own.is_own_inode(listed) {
            return self.own_file(path);
        }
        let path_bytes = path.as_os_str().as_encoded_bytes();
        if listed.len() > self.config.max_file_size {
            self.c.skipped_size.fetch_add(1, Ordering::Relaxed);
            self.sink.problem(Problem::at(
                ProblemKind::Skipped,
                path,
                format!(
                    "{} bytes, over the size limit of {}; not read",
                    listed.len(),
                    self.config.max_file_size
                ),
            ));
            self.notice.local(path, listed.len(), None);
            self.names_only(path, path_bytes, listed.len());
            return;
        }
        let (mut file, meta) = match ferret_fs::open_read_only(path) {
            Ok(x) => x,
            Err(err) => {
                let kind = match &err {
                    OpenError::PermissionDenied(_) => ProblemKind::PermissionDenied,
                    OpenError::Vanished(_) => ProblemKind::Vanished,
                    OpenError::NotRegular { .. } | OpenError::Symlink(_) => ProblemKind::Changed,
                    OpenError::Io(_) => ProblemKind::ReadError,
                };
                if kind.makes_incomplete() {
                    self.c.read_errors.fetch_add(1, Ordering::Relaxed);
                }
                self.sink.problem(Problem::at(kind, path, format!("cannot open: {err}")));
                self.names_only(path, path_bytes, listed.len());
                return;
            }
        };
        let size = meta.len();
        let digests;
        let mut in_memory = false;
        let mut changed = false;
        let mut read_bytes = 0u64;
        // Files no loaded YARA rule can match at their size are only hashed (streamed).
        if self.has_yara && self.rules.yara_may_match(size) {
            match ferret_fs::read_limited(
                &mut file,
                &meta,
                &mut self.buf,
                self.config.max_file_size,
            ) {
                Ok(out) => {
                    in_memory = true;
                    changed = out.changed;
                    read_bytes = out.len as u64;
                    digests = hash_bytes(self.kinds, &self.buf);
                    self.notice.local(path, size, self.buf.get(..self.buf.len().min(NOTICE_HEAD)));
                }
                Err(err) => return self.read_failed(path, path_bytes, size, &err),
            }
        } else if self.kinds.is_empty() {
            // Name indicators only: nothing to read.
            digests = Digests::default();
            self.notice.local(path, size, None);
        } else {
            match ferret_fs::hash::hash_file(
                self.kinds,
                &mut file,
                &meta,
                self.config.max_file_size,
                &mut self.hash_buf,
                Some(&mut self.head),
            ) {
                Ok(out) => {
                    digests = out.digests;
                    read_bytes = out.len;
                    changed = out.changed || out.len != size;
                    self.notice.local(path, size, Some(&self.head));
                }
                Err(err) => return self.read_failed(path, path_bytes, size, &err),
            }
        }
        drop(file);
        let mut own_sha256 = None;
        if self.config.own.size_may_match(size) {
            let d = match digests.sha256 {
                Some(d) => Some(d),
                None if in_memory => {
                    hash_bytes(HashKinds { sha256: true, ..HashKinds::default() }, &self.buf).sha256
                }
                None => rehash(path).and_then(|h| hex::decode(h).ok()?.try_into().ok()),
            };
            if let Some(d) = d {
                if self.config.own.is_own_content(size, &d) {
                    return self.own_file(path);
                }
                own_sha256 = Some(d);
            }
        }
        if changed {
            self.sink.problem(Problem::at(
                ProblemKind::Changed,
                path,
                "file changed while it was read; checked as read",
            ));
        }
        self.c.scanned.fetch_add(1, Ordering::Relaxed);
        self.c.bytes.fetch_add(read_bytes, Ordering::Relaxed);

        let mut findings = self.ioc_findings(&FileFacts {
            path: path_bytes,
            size,
            md5: digests.md5,
            sha1: digests.sha1,
            sha256: digests.sha256,
        });
        let mut name_rules = Vec::new();
        if in_memory && self.has_yara {
            let names = YaraNames {
                name: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                ext: path
                    .extension()
                    .map(|e| format!(".{}", e.to_string_lossy()))
                    .unwrap_or_default(),
                full: path.to_string_lossy().into_owned(),
                owner: self.owners.name(&meta),
            };
            self.yara(path, &names, &mut findings, &mut name_rules);
        }
        if findings.is_empty() {
            return;
        }
        if !name_rules.is_empty() {
            lower_documents(path, &self.buf, &mut findings, &name_rules);
        }
        let mut findings = one_per_fact(findings);
        let sha256 = match digests.sha256.or(own_sha256) {
            Some(d) => Some(hex::encode(d)),
            None if in_memory => {
                hash_bytes(HashKinds { sha256: true, ..HashKinds::default() }, &self.buf)
                    .sha256
                    .map(hex::encode)
            }
            None => rehash(path),
        };
        for f in &mut findings {
            f.path = Some(path.into());
            f.size = Some(size);
            f.sha256.clone_from(&sha256);
        }
        for f in findings {
            self.sink.finding(f);
        }
    }

    /// An archive or collection found in the walked tree (and, with `--open-containers`, a
    /// disk image): its members are scanned here, by this thread, after the file itself.
    /// Members that are archives themselves are scanned as files, not opened in turn.
    fn nested(&mut self, path: &Path) {
        let name =
            path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        let archive = self.config.read_archives && ARCHIVE_NAMES.iter().any(|e| name.ends_with(e));
        let image = self.config.open_containers && IMAGE_NAMES.iter().any(|e| name.ends_with(e));
        if !(archive || image) || self.config.walk.cancel.is_cancelled() {
            return;
        }
        let sink = self.sink;
        let mut sources: Vec<std::sync::Arc<dyn Source>> = Vec::new();
        if archive && ferret_evidence::sniff_collection(path).is_some() {
            match ferret_evidence::open_collection(path, self.config.archive_limits) {
                Ok(c) => sources.push(std::sync::Arc::new(c)),
                Err(p) => {
                    self.c.read_errors.fetch_add(1, Ordering::Relaxed);
                    sink.problem(p);
                }
            }
        } else if image && ferret_evidence::sniff(path).is_some() {
            match ferret_evidence::open_image(path) {
                Ok(opened) => {
                    for p in opened.problems {
                        self.c.read_errors.fetch_add(1, Ordering::Relaxed);
                        sink.problem(p);
                    }
                    sources.extend(opened.sources);
                }
                Err(p) => {
                    self.c.read_errors.fetch_add(1, Ordering::Relaxed);
                    sink.problem(p);
                }
            }
        }
        for src in sources {
            self.c.nested.fetch_add(1, Ordering::Relaxed);
            let c = self.c;
            let excludes = self.excludes;
            let config = self.config;
            let cancel = &config.walk.cancel;
            let listed = src.entries(sink, cancel, &mut |e| match e.kind {
                ferret_evidence::EntryKind::File if excludes.matches(&e.path.lossy()) => {
                    c.evidence_excluded.fetch_add(1, Ordering::Relaxed);
                }
                ferret_evidence::EntryKind::File => self.entry(&src, &e),
                _ => evidence_other(&e, c, sink),
            });
            c.collector_metadata.fetch_add(listed.metadata_skipped, Ordering::Relaxed);
            c.read_errors.fetch_add(listed.errors, Ordering::Relaxed);
        }
    }

    /// A file inside evidence (a disk image): read through its source, matched like a local
    /// file, reported with the path the host knew and where it was found.
    fn entry(&mut self, src: &Arc<dyn Source>, e: &ferret_evidence::Entry) {
        self.c.files.fetch_add(1, Ordering::Relaxed);
        let shown = e.path.lossy().into_owned();
        let path = Path::new(&shown);
        let path_bytes = e.path.as_bytes();
        let prov = e.provenance.as_deref();
        let place = prov.map_or_else(|| src.describe(), Provenance::describe);
        if let Some(why) = &e.unreadable {
            self.c.read_errors.fetch_add(1, Ordering::Relaxed);
            self.sink.problem(
                Problem::at(ProblemKind::ReadError, path, why.clone()).with_position(place),
            );
            return self.names_only_from(path, path_bytes, e.size, prov);
        }
        if e.size > self.config.max_file_size {
            self.c.skipped_size.fetch_add(1, Ordering::Relaxed);
            self.sink.problem(
                Problem::at(
                    ProblemKind::Skipped,
                    path,
                    format!(
                        "{} bytes, over the size limit of {}; not read",
                        e.size, self.config.max_file_size
                    ),
                )
                .with_position(place),
            );
            self.notice.entry(src, e, None);
            return self.names_only_from(path, path_bytes, e.size, prov);
        }
        self.buf.clear();
        // The size is known (and below the limit): one allocation, reads as large as the
        // file's runs allow.
        self.buf.reserve(usize::try_from(e.size).unwrap_or(0));
        let read = src
            .open(e)
            .and_then(|r| r.take(self.config.max_file_size).read_to_end(&mut self.buf).map(|_| ()));
        if let Err(err) = read {
            self.c.read_errors.fetch_add(1, Ordering::Relaxed);
            self.sink.problem(
                Problem::at(
                    ProblemKind::ReadError,
                    path,
                    format!("read failed: {}", err.to_string().to_lowercase()),
                )
                .with_position(place),
            );
            self.notice.entry(src, e, None);
            return self.names_only_from(path, path_bytes, e.size, prov);
        }
        self.notice.entry(src, e, self.buf.get(..self.buf.len().min(NOTICE_HEAD)));
        let size = self.buf.len() as u64;
        let digests = hash_bytes(self.kinds, &self.buf);
        let sha256 = digests.sha256.or_else(|| {
            hash_bytes(HashKinds { sha256: true, ..HashKinds::default() }, &self.buf).sha256
        });
        if self.config.own.size_may_match(size)
            && let Some(d) = sha256
            && self.config.own.is_own_content(size, &d)
        {
            return self.own_file(path);
        }
        self.c.scanned.fetch_add(1, Ordering::Relaxed);
        self.c.bytes.fetch_add(size, Ordering::Relaxed);
        let mut findings = self.ioc_findings(&FileFacts {
            path: path_bytes,
            size,
            md5: digests.md5,
            sha1: digests.sha1,
            sha256: digests.sha256,
        });
        let mut name_rules = Vec::new();
        if self.has_yara && self.rules.yara_may_match(size) {
            let name = e.file_name();
            let ext =
                name.rfind('.').and_then(|i| name.get(i..)).map(str::to_owned).unwrap_or_default();
            let names = YaraNames { name, ext, full: shown.clone(), owner: String::new() };
            self.yara(path, &names, &mut findings, &mut name_rules);
        }
        if findings.is_empty() {
            return;
        }
        if !name_rules.is_empty() {
            lower_documents(path, &self.buf, &mut findings, &name_rules);
        }
        let sha256 = sha256.map(hex::encode);
        for mut f in one_per_fact(findings) {
            f.path = Some(e.path.clone());
            f.size = Some(size);
            f.sha256.clone_from(&sha256);
            f.provenance.clone_from(&e.provenance);
            self.sink.finding(f);
        }
    }

    fn yara(
        &mut self,
        path: &Path,
        names: &YaraNames,
        findings: &mut Vec<Finding>,
        name_rules: &mut Vec<String>,
    ) {
        let YaraNames { name, ext, full, owner } = names;
        let ftype = crate::filetype::detect(&self.buf);
        let origins = &self.rules.origins;
        let timeout = self.config.yara_timeout.as_secs();
        let sink = self.sink;
        let data = std::mem::take(&mut self.buf);
        let mut panicked = false;
        // Where ferret's own built-in texts sit in this file, found only when a built-in
        // rule matched it.
        let mut own_text: Option<Vec<std::ops::Range<usize>>> = None;
        for (scanner, range) in self.scanners().iter_mut() {
            // Each group serves the files it can match (sizes, the `MZ` header); yara-x's
            // `filesize` is the length of the data scanned.
            if !range.holds(&data) {
                continue;
            }
            let _ = scanner.set_global("filename", name.as_str());
            let _ = scanner.set_global("filepath", full.as_str());
            let _ = scanner.set_global("extension", ext.as_str());
            let _ = scanner.set_global("filetype", ftype);
            let _ = scanner.set_global("owner", owner.as_str());
            // A panic inside the rule engine is this file's problem, not the run's end.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                scanner.scan(&data).map(|results| {
                    results
                        .matching_rules()
                        .map(|rule| {
                            let mut f = yara_finding(&rule, origins);
                            let is_name = meta_bool(&rule, "indicator_name");
                            let builtin =
                                f.rule.source.as_deref().is_some_and(|s| s.starts_with("builtin:"));
                            if builtin {
                                let spans =
                                    own_text.get_or_insert_with(|| builtin_text_spans(&data));
                                if matches_only_inside(&rule, spans) {
                                    lower_own_text(&mut f);
                                }
                            }
                            (f, is_name)
                        })
                        .collect::<Vec<_>>()
                })
            }));
            match outcome {
                Ok(Ok(hits)) => {
                    for (f, is_name) in hits {
                        if is_name {
                            name_rules.push(f.rule.id.clone());
                        }
                        findings.push(f);
                    }
                }
                Ok(Err(yara_x::ScanError::Timeout)) => sink.problem(Problem::at(
                    ProblemKind::Timeout,
                    path,
                    format!("yara scan exceeded {timeout} s; file not fully checked"),
                )),
                Ok(Err(err)) => sink.problem(Problem::at(
                    ProblemKind::ReadError,
                    path,
                    format!("yara scan failed: {err}"),
                )),
                Err(panic) => {
                    panicked = true;
                    sink.problem(Problem::at(
                        ProblemKind::InternalError,
                        path,
                        format!(
                            "the YARA engine failed on this file ({}); not fully checked",
                            panic_text(&*panic)
                        ),
                    ));
                    break;
                }
            }
        }
        self.buf = data;
        if panicked {
            // The scanner's state is unknown after a panic: make fresh ones for the next file.
            self.scanners = None;
            self.c.read_errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn read_failed(&mut self, path: &Path, path_bytes: &[u8], size: u64, err: &std::io::Error) {
        self.c.read_errors.fetch_add(1, Ordering::Relaxed);
        let kind = if err.kind() == std::io::ErrorKind::PermissionDenied {
            ProblemKind::PermissionDenied
        } else {
            ProblemKind::ReadError
        };
        self.sink.problem(Problem::at(
            kind,
            path,
            format!("read failed: {}", err.to_string().to_lowercase()),
        ));
        self.names_only(path, path_bytes, size);
    }

    /// Name indicators for a file that was not read.
    fn names_only(&mut self, path: &Path, path_bytes: &[u8], size: u64) {
        self.names_only_from(path, path_bytes, size, None);
    }

    /// The hash and name indicators matching one file's facts, as findings.
    fn ioc_findings(&mut self, facts: &FileFacts<'_>) -> Vec<Finding> {
        self.matches.clear();
        self.rules.iocs.match_file(facts, &mut self.matches);
        self.matches.drain(..).map(ioc_finding).collect()
    }

    /// Name indicators for a file that was not read, with where it was found.
    fn names_only_from(
        &mut self,
        path: &Path,
        path_bytes: &[u8],
        size: u64,
        provenance: Option<&Provenance>,
    ) {
        let facts = FileFacts { path: path_bytes, size, md5: None, sha1: None, sha256: None };
        for mut f in self.ioc_findings(&facts) {
            f.path = Some(path.into());
            f.size = Some(size);
            f.provenance = provenance.map(|p| Box::new(p.clone()));
            self.sink.finding(f);
        }
    }
}

/// The message of a caught panic.
pub(crate) fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_owned())
}

/// Where ferret's built-in rule and indicator texts sit in `data`: a ferret executable of
/// another build, or a build artefact of ferret, embeds them whole. The texts of this build
/// are found verbatim; a ferret rule of another version (its wording changed since) is found
/// by its shape, see [`ferret_rule_blocks`].
fn builtin_text_spans(data: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut spans = Vec::new();
    for text in crate::rules::builtin_texts() {
        // Short texts could occur by chance; every built-in source is far longer.
        if text.len() < 256 {
            continue;
        }
        for at in memchr::memmem::find_iter(data, text.as_bytes()) {
            spans.push(at..at.saturating_add(text.len()));
        }
    }
    spans.extend(ferret_rule_blocks(data));
    spans
}

/// The longest a ferret rule block may be to count as one (the built-in ones are under 1 KiB).
const RULE_BLOCK_MAX: usize = 2048;

/// Blocks of YARA source of a ferret rule in `data`, of any version: from `rule ferret_NAME`
/// through its `strings:` and `condition:` sections to the first `}` that starts a line,
/// all within [`RULE_BLOCK_MAX`] bytes. Build directories keep the rule text of every
/// version built; a file that merely names a rule (no sections, or a longer body) is not
/// one, and code outside the block is matched as usual.
fn ferret_rule_blocks(data: &[u8]) -> Vec<std::ops::Range<usize>> {
    use memchr::memmem::find;
    let mut blocks = Vec::new();
    for at in memchr::memmem::find_iter(data, b"rule ferret_") {
        let end = data.len().min(at.saturating_add(RULE_BLOCK_MAX));
        let Some(window) = data.get(at..end) else { continue };
        let name_len = window
            .get(b"rule ".len()..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
        let after_name = b"rule ".len() + name_len;
        if !window.get(after_name).is_some_and(|b| b.is_ascii_whitespace() || *b == b'{') {
            continue;
        }
        let (Some(strings), Some(condition)) =
            (find(window, b"strings:"), find(window, b"condition:"))
        else {
            continue;
        };
        if strings > condition {
            continue;
        }
        let Some(close) = window.get(condition..).and_then(|w| find(w, b"\n}")) else {
            continue;
        };
        blocks.push(at..at + condition + close + 2);
    }
    blocks
}

/// Whether a rule matched at least once and every one of its matches (all of them, not
/// only those kept as evidence) lies inside one of `spans`.
fn matches_only_inside(rule: &yara_x::Rule<'_, '_>, spans: &[std::ops::Range<usize>]) -> bool {
    if spans.is_empty() {
        return false;
    }
    let mut any = false;
    for pattern in rule.patterns() {
        for m in pattern.matches() {
            any = true;
            let r = m.range();
            if !spans.iter().any(|s| s.start <= r.start && r.end <= s.end) {
                return false;
            }
        }
    }
    any
}

/// A built-in rule that matched only ferret's own copy of its rule text is an info note,
/// not a finding on the host.
fn lower_own_text(f: &mut Finding) {
    let what = f.message.take().unwrap_or_else(|| f.rule.name.clone());
    f.score = Severity::Info.default_score();
    f.severity = Severity::Info;
    f.message = Some(format!(
        "every match lies inside a copy of ferret's own built-in rules (a ferret \
         executable or build file), not a trace of the campaign ({what})"
    ));
    f.details.insert("ferret_own_text".to_owned(), true.into());
}

/// Lowers the matches of indicator-name rules on a file that parses, whole, as a document
/// about indicators (a rule file, a STIX bundle, an IOC list) to one `info` note.
fn lower_documents(path: &Path, data: &[u8], findings: &mut [Finding], name_rules: &[String]) {
    let Some(format) = crate::intel_doc::intel_document(path, data) else {
        return;
    };
    for f in findings.iter_mut().filter(|f| name_rules.contains(&f.rule.id)) {
        let what = f.message.take().unwrap_or_else(|| f.rule.name.clone());
        f.score = Severity::Info.default_score();
        f.severity = Severity::Info;
        f.message = Some(format!(
            "the file is a {format} that names this indicator, not a trace of it ({what})"
        ));
        f.details.insert("document".to_owned(), format.into());
    }
}

/// One finding per fact: the same rule matching one file through two loaded copies (a
/// bundle and the built-in pack), or one indicator listed by MD5 and by SHA-256, becomes one
/// finding with the highest score and every matching indicator in its evidence.
fn one_per_fact(findings: Vec<Finding>) -> Vec<Finding> {
    if findings.len() < 2 {
        return findings;
    }
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    for f in findings {
        let same = out.iter_mut().find(|o| o.engine == f.engine && o.rule.name == f.rule.name);
        match same {
            None => out.push(f),
            Some(o) => {
                if o.rule.id != f.rule.id {
                    let also = o
                        .details
                        .entry("also_matched".to_owned())
                        .or_insert_with(|| serde_json::Value::Array(Vec::new()));
                    if let serde_json::Value::Array(v) = also {
                        let id = serde_json::Value::from(f.rule.id.clone());
                        if !v.contains(&id) {
                            v.push(id);
                        }
                    }
                }
                for e in f.evidence {
                    if !o.evidence.contains(&e) {
                        o.push_evidence(e);
                    }
                }
                if f.score > o.score {
                    o.score = f.score;
                    o.severity = Severity::from_score(f.score);
                }
            }
        }
    }
    out
}

fn rehash(path: &Path) -> Option<String> {
    let (mut f, _) = ferret_fs::open_read_only(path).ok()?;
    let mut buf = Vec::new();
    let (d, _) =
        hash_reader(HashKinds { sha256: true, ..HashKinds::default() }, &mut f, &mut buf).ok()?;
    d.sha256.map(hex::encode)
}

fn ioc_finding(m: IocMatch) -> Finding {
    let mut f = Finding::new(m.engine, m.rule, Severity::from_score(m.score)).with_score(m.score);
    f.message = m.message;
    for e in m.evidence {
        f.push_evidence(e);
    }
    f
}

fn meta_bool(rule: &yara_x::Rule<'_, '_>, key: &str) -> bool {
    rule.metadata().any(|(k, v)| {
        k.eq_ignore_ascii_case(key)
            && match v {
                yara_x::MetaValue::Bool(b) => b,
                yara_x::MetaValue::String(s) => s.eq_ignore_ascii_case("true"),
                _ => false,
            }
    })
}

fn meta_str(rule: &yara_x::Rule<'_, '_>, key: &str) -> Option<String> {
    rule.metadata().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| match v {
        yara_x::MetaValue::String(s) => s.to_owned(),
        yara_x::MetaValue::Bytes(b) => String::from_utf8_lossy(b.as_ref()).into_owned(),
        yara_x::MetaValue::Integer(i) => i.to_string(),
        yara_x::MetaValue::Float(f) => f.to_string(),
        yara_x::MetaValue::Bool(b) => b.to_string(),
    })
}

/// Default score for a YARA match whose rule states neither `score` nor `severity`
/// (Loki's default for YARA matches).
const DEFAULT_YARA_SCORE: u8 = 75;

fn yara_finding(rule: &yara_x::Rule<'_, '_>, origins: &HashMap<String, String>) -> Finding {
    let score = meta_str(rule, "score")
        .and_then(|s| s.trim().parse::<i64>().ok())
        .map(|s| u8::try_from(s.clamp(0, 100)).unwrap_or(100))
        .or_else(|| {
            meta_str(rule, "severity")
                .and_then(|s| Severity::parse(&s))
                .map(Severity::default_score)
        })
        .unwrap_or(DEFAULT_YARA_SCORE);
    let references = meta_str(rule, "reference").into_iter().collect();
    let origin = origins.get(rule.namespace()).cloned();
    let rule_ref = RuleRef {
        id: format!("{}:{}", rule.namespace(), rule.identifier()),
        name: rule.identifier().to_owned(),
        source: origin,
        references,
    };
    let mut f = Finding::new(Engine::Yara, rule_ref, Severity::from_score(score)).with_score(score);
    f.message = meta_str(rule, "description");
    'outer: for pattern in rule.patterns() {
        for m in pattern.matches() {
            if f.evidence.len() >= Finding::MAX_EVIDENCE {
                break 'outer;
            }
            f.push_evidence(Evidence::from_bytes(
                pattern.identifier(),
                Some(m.range().start as u64),
                m.data(),
            ));
        }
    }
    f
}

/// User names by uid, from `/etc/passwd`, for the YARA `owner` external.
struct Owners(HashMap<u32, String>);

impl Owners {
    fn load() -> Owners {
        let mut m = HashMap::new();
        if let Ok(text) = std::fs::read_to_string("/etc/passwd") {
            for line in text.lines() {
                let mut it = line.split(':');
                if let (Some(name), _, Some(uid)) = (it.next(), it.next(), it.next())
                    && let Ok(uid) = uid.parse()
                {
                    m.insert(uid, name.to_owned());
                }
            }
        }
        Owners(m)
    }

    fn name(&self, meta: &std::fs::Metadata) -> String {
        use std::os::unix::fs::MetadataExt;
        self.0.get(&meta.uid()).cloned().unwrap_or_else(|| meta.uid().to_string())
    }
}
