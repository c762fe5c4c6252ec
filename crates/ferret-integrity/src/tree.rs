//! Walking a tree in manifest order and turning what is found into [`Entry`]s.
//!
//! Verification is a merge-join of two sorted streams, so the walk must produce paths in
//! [`path_cmp`](crate::manifest::path_cmp) order without holding the whole tree in memory.
//! [`SortedWalk`] is a depth-first walk that reads one directory at a time and visits its
//! names in byte order: memory is bounded by depth × directory width. It opens nothing but
//! directories and never follows symlinks. [`Tree`] takes the walk in batches and builds
//! entries (hashing files through `ferret_fs::open_read_only`, reading security xattrs) in
//! parallel with rayon, keeping the order.

use std::collections::BTreeMap;
use std::fs::Metadata;
use std::io::{self, Read};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_channel::{Receiver, Sender};
use ferret_core::{Cancel, Problem, ProblemKind, Sink};

use crate::manifest::{Entry, EntryKind, HashAlgorithm, ManifestKind as _};
use crate::policy::{AttrSet, Policy};

/// The xattrs kept in manifests.
pub const SECURITY_XATTRS: [&str; 2] = ["security.capability", "security.selinux"];

/// One path found by the walk, with its `lstat` metadata (taken when the walk reached it).
#[derive(Debug)]
pub struct WalkItem {
    /// Path relative to the root (empty for the root).
    pub rel: Vec<u8>,
    /// Absolute path.
    pub abs: PathBuf,
    /// `lstat` metadata.
    pub meta: Metadata,
}

/// Options of a walk.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    /// Do not descend into directories on another file system than the root.
    pub one_file_system: bool,
    /// Raised to stop: a [`Tree`] then ends at the next file (the batch under way is
    /// dropped) and says so with [`Tree::stopped`].
    pub cancel: Cancel,
}

/// A depth-first walk in manifest path order. Problems (unreadable directories, vanished
/// entries) go to the sink.
pub struct SortedWalk<'a> {
    root: PathBuf,
    policy: &'a Policy,
    sink: &'a dyn Sink,
    opts: WalkOptions,
    root_dev: Option<u64>,
    started: bool,
    stack: Vec<std::vec::IntoIter<Vec<u8>>>,
    unreadable: Vec<Vec<u8>>,
    excluded: u64,
}

impl std::fmt::Debug for SortedWalk<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SortedWalk").field("root", &self.root).finish_non_exhaustive()
    }
}

fn join(rel: &[u8], name: &[u8]) -> Vec<u8> {
    if rel.is_empty() {
        name.to_vec()
    } else {
        let mut p = Vec::with_capacity(rel.len() + 1 + name.len());
        p.extend_from_slice(rel);
        p.push(b'/');
        p.extend_from_slice(name);
        p
    }
}

/// The absolute path of a relative manifest path under `root`.
pub fn abs_path(root: &Path, rel: &[u8]) -> PathBuf {
    if rel.is_empty() { root.to_path_buf() } else { root.join(std::ffi::OsStr::from_bytes(rel)) }
}

fn problem_kind(e: &io::Error) -> ProblemKind {
    match e.kind() {
        io::ErrorKind::PermissionDenied => ProblemKind::PermissionDenied,
        io::ErrorKind::NotFound => ProblemKind::Vanished,
        _ => ProblemKind::ReadError,
    }
}

impl<'a> SortedWalk<'a> {
    /// A walk of `root` skipping the policy's excludes.
    pub fn new(root: &Path, policy: &'a Policy, opts: WalkOptions, sink: &'a dyn Sink) -> Self {
        SortedWalk {
            root: root.to_path_buf(),
            policy,
            sink,
            opts,
            root_dev: None,
            started: false,
            stack: Vec::new(),
            unreadable: Vec::new(),
            excluded: 0,
        }
    }

    /// Whether `rel` lies below a directory that could not be read (so its absence from the
    /// walk says nothing).
    pub fn under_unreadable(&self, rel: &[u8]) -> bool {
        under(&self.unreadable, rel)
    }

    /// Entries skipped by the policy's excludes.
    pub fn excluded(&self) -> u64 {
        self.excluded
    }

    fn descend(&mut self, rel: &[u8], abs: &Path, meta: &Metadata) {
        if let (true, Some(dev)) = (self.opts.one_file_system, self.root_dev)
            && meta.dev() != dev
        {
            return;
        }
        match std::fs::read_dir(abs) {
            Ok(rd) => {
                let mut names: Vec<Vec<u8>> = Vec::new();
                for de in rd {
                    match de {
                        Ok(de) => names.push(de.file_name().into_vec()),
                        Err(e) => {
                            self.sink.problem(Problem::at(
                                problem_kind(&e),
                                abs,
                                format!("cannot list directory: {e}"),
                            ));
                            self.unreadable.push(rel.to_vec());
                        }
                    }
                }
                names.sort_unstable();
                let full: Vec<Vec<u8>> = names.iter().map(|n| join(rel, n)).collect();
                self.stack.push(full.into_iter());
            }
            Err(e) => {
                self.sink.problem(Problem::at(
                    problem_kind(&e),
                    abs,
                    format!("cannot list directory: {e}"),
                ));
                self.unreadable.push(rel.to_vec());
            }
        }
    }
}

impl Iterator for SortedWalk<'_> {
    type Item = WalkItem;

    fn next(&mut self) -> Option<WalkItem> {
        if !self.started {
            self.started = true;
            let root = self.root.clone();
            // The root itself may be a symlink to the tree (a mount point alias); below it,
            // nothing is followed.
            match std::fs::metadata(&root) {
                Ok(meta) => {
                    self.root_dev = Some(meta.dev());
                    if meta.is_dir() {
                        self.descend(b"", &root, &meta);
                    }
                    return Some(WalkItem { rel: Vec::new(), abs: root, meta });
                }
                Err(e) => {
                    self.sink.problem(Problem::at(
                        problem_kind(&e),
                        root.as_path(),
                        format!("cannot examine the root: {e}"),
                    ));
                    self.unreadable.push(Vec::new());
                    return None;
                }
            }
        }
        loop {
            let top = self.stack.last_mut()?;
            let Some(rel) = top.next() else {
                self.stack.pop();
                continue;
            };
            if self.policy.is_excluded(&rel) {
                self.excluded += 1;
                continue;
            }
            let abs = abs_path(&self.root, &rel);
            match std::fs::symlink_metadata(&abs) {
                Ok(meta) => {
                    if meta.is_dir() {
                        self.descend(&rel, &abs, &meta);
                    }
                    return Some(WalkItem { rel, abs, meta });
                }
                Err(e) => {
                    self.sink.problem(Problem::at(
                        problem_kind(&e),
                        abs.as_path(),
                        format!("cannot examine: {e}"),
                    ));
                }
            }
        }
    }
}

/// Counters of a [`Tree`].
#[derive(Debug, Default)]
pub struct TreeStats {
    /// Entries produced.
    pub entries: AtomicU64,
    /// Regular files hashed.
    pub files_hashed: AtomicU64,
    /// Bytes hashed.
    pub bytes_hashed: AtomicU64,
}

/// What the walking thread shares with the consumer.
#[derive(Debug, Default)]
struct WalkShared {
    /// Directories that could not be read (see [`SortedWalk::under_unreadable`]).
    unreadable: Mutex<Vec<Vec<u8>>>,
    /// Entries skipped by excludes.
    excluded: AtomicU64,
}

/// Most entries walked ahead of the consumer (bounds memory whatever the tree's size; a
/// straggling large file lets the other threads run this far ahead).
const WINDOW: usize = 8192;

/// Entries of a tree in manifest order, built by a pipeline (see [`Tree::run`]).
pub struct Tree<'s> {
    done: Receiver<(u64, Entry)>,
    tokens: Sender<()>,
    pending: BTreeMap<u64, Entry>,
    next_seq: u64,
    shared: &'s WalkShared,
    cancel: Cancel,
    stopped: bool,
    /// Counters.
    pub stats: &'s TreeStats,
}

impl std::fmt::Debug for Tree<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tree").field("next", &self.next_seq).finish_non_exhaustive()
    }
}

impl Tree<'_> {
    /// Runs `consume` over the entries of the tree under `root` in manifest order; files
    /// whose policy compares `content` are hashed with `hash`.
    ///
    /// One thread walks (in manifest order) and numbers the entries; as many threads as
    /// rayon's global pool has build them (hash, xattrs, symlink targets), each taking the
    /// next walked entry as soon as it is free, so the walk, the hashing and the consumer
    /// overlap and no thread waits for a batch to end; the consumer gets them back in order.
    /// At most 8,192 entries are in flight. Problems go to `sink`.
    pub fn run<R>(
        root: &Path,
        policy: &Policy,
        opts: WalkOptions,
        hash: HashAlgorithm,
        sink: &dyn Sink,
        consume: impl FnOnce(&mut Tree<'_>) -> R,
    ) -> R {
        let cancel = opts.cancel.clone();
        let shared = WalkShared::default();
        let stats = TreeStats::default();
        let build_cancel = cancel.clone();
        pipeline(
            &cancel,
            &shared,
            &stats,
            |emit: &mut dyn FnMut(WalkItem) -> bool| {
                let mut walk = SortedWalk::new(root, policy, opts, sink);
                while let Some(item) = walk.next() {
                    if !emit(item) {
                        break;
                    }
                    shared.excluded.store(walk.excluded(), Ordering::Relaxed);
                    if !walk.unreadable.is_empty() {
                        lock(&shared.unreadable).append(&mut walk.unreadable);
                    }
                }
                shared.excluded.store(walk.excluded(), Ordering::Relaxed);
                lock(&shared.unreadable).append(&mut walk.unreadable);
            },
            |item: WalkItem| {
                // Once stopped, nothing more is hashed (the consumer yields no more).
                let want = policy.attrs_for(&item.rel).has(AttrSet::CONTENT)
                    && !build_cancel.is_cancelled();
                build_entry(item, want.then_some(hash), sink, &stats)
            },
            consume,
        )
    }

    /// Runs `consume` over entries produced by `produce` (already in manifest order, each
    /// handed to `emit`, which says `false` when the consumer is gone or the run stopped) and
    /// built by `build` on rayon's threads, as [`Tree::run`] does for a local walk: what
    /// evidence (a disk image's file systems, a collection) gives goes through the same
    /// pipeline. `excluded` is the count of entries the producer's listing left out.
    pub(crate) fn run_items<I: Send, R>(
        cancel: &Cancel,
        excluded: u64,
        produce: impl FnOnce(&mut dyn FnMut(I) -> bool) + Send,
        build: impl Fn(I, &TreeStats) -> Entry + Sync,
        consume: impl FnOnce(&mut Tree<'_>) -> R,
    ) -> R {
        let shared = WalkShared::default();
        shared.excluded.store(excluded, Ordering::Relaxed);
        let stats = TreeStats::default();
        pipeline(cancel, &shared, &stats, produce, |item| build(item, &stats), consume)
    }

    /// Whether the tree ended early because its [`WalkOptions::cancel`] flag was raised
    /// (the entries produced are then a prefix of the tree, not all of it).
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// See [`SortedWalk::under_unreadable`] (the walk is never behind the entries produced).
    pub fn under_unreadable(&self, rel: &[u8]) -> bool {
        under(&lock(&self.shared.unreadable), rel)
    }

    /// Entries skipped by excludes (final once the tree has ended).
    pub fn excluded(&self) -> u64 {
        self.shared.excluded.load(Ordering::Relaxed)
    }
}

/// The pipeline under [`Tree::run`]: one thread produces items in manifest order and numbers
/// them; as many threads as rayon's global pool has build entries from them, each taking the
/// next item as soon as it is free; the consumer gets them back in order. At most
/// [`WINDOW`] items are in flight.
fn pipeline<I: Send, R>(
    cancel: &Cancel,
    shared: &WalkShared,
    stats: &TreeStats,
    produce: impl FnOnce(&mut dyn FnMut(I) -> bool) + Send,
    build: impl Fn(I) -> Entry + Sync,
    consume: impl FnOnce(&mut Tree<'_>) -> R,
) -> R {
    let workers = rayon::current_num_threads().max(1);
    let (job_tx, job_rx) = crossbeam_channel::bounded::<(u64, I)>(1024);
    let (done_tx, done_rx) = crossbeam_channel::bounded::<(u64, Entry)>(1024);
    let (token_tx, token_rx) = crossbeam_channel::bounded::<()>(WINDOW);
    for _ in 0..WINDOW {
        let _ = token_tx.send(());
    }
    let build = &build;
    std::thread::scope(|scope| {
        {
            let cancel = cancel.clone();
            scope.spawn(move || {
                let mut seq = 0u64;
                let mut emit = |item: I| -> bool {
                    // A token per entry: the producer waits while WINDOW entries are in
                    // flight; the consumer gone (tokens disconnected) or a stop ends it.
                    if cancel.is_cancelled()
                        || token_rx.recv().is_err()
                        || job_tx.send((seq, item)).is_err()
                    {
                        return false;
                    }
                    seq += 1;
                    true
                };
                produce(&mut emit);
            });
        }
        for _ in 0..workers {
            let (job_rx, done_tx) = (job_rx.clone(), done_tx.clone());
            scope.spawn(move || {
                for (seq, item) in job_rx {
                    if done_tx.send((seq, build(item))).is_err() {
                        break;
                    }
                }
            });
        }
        drop((job_rx, done_tx));
        let mut tree = Tree {
            done: done_rx,
            tokens: token_tx,
            pending: BTreeMap::new(),
            next_seq: 0,
            shared,
            cancel: cancel.clone(),
            stopped: false,
            stats,
        };
        let out = consume(&mut tree);
        // Dropping the tree disconnects the channels: the producer and the workers end.
        drop(tree);
        out
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn under(unreadable: &[Vec<u8>], rel: &[u8]) -> bool {
    unreadable
        .iter()
        .any(|d| d.is_empty() || (rel.starts_with(d) && rel.get(d.len()) == Some(&b'/')))
}

impl Iterator for Tree<'_> {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        if self.stopped {
            return None;
        }
        loop {
            if self.cancel.is_cancelled() {
                self.stopped = true;
                return None;
            }
            if let Some(e) = self.pending.remove(&self.next_seq) {
                self.next_seq += 1;
                // The token returns to the walk: one more entry may be in flight.
                let _ = self.tokens.send(());
                self.stats.entries.fetch_add(1, Ordering::Relaxed);
                return Some(e);
            }
            match self.done.recv() {
                Ok((seq, e)) => {
                    self.pending.insert(seq, e);
                }
                // Every worker has ended: the walk is over (or was stopped).
                Err(_) => {
                    if self.cancel.is_cancelled() {
                        self.stopped = true;
                    }
                    return None;
                }
            }
        }
    }
}

/// Builds an entry from a walked item: reads the symlink target and security xattrs, and
/// hashes a regular file when `hash` is given. Failures become problems (the entry is kept,
/// without a digest).
pub fn build_entry(
    item: WalkItem,
    hash: Option<HashAlgorithm>,
    sink: &dyn Sink,
    stats: &TreeStats,
) -> Entry {
    let meta = &item.meta;
    let kind = EntryKind::from_file_type(meta.file_type());
    let mut entry = Entry {
        path: item.rel,
        kind,
        size: if kind == EntryKind::File { meta.len() } else { 0 },
        mode: Some(meta.mode() & 0o7777),
        uid: Some(meta.uid()),
        gid: Some(meta.gid()),
        digest: None,
        target: None,
        xattrs: std::collections::BTreeMap::new(),
        rdev: matches!(kind, EntryKind::CharDevice | EntryKind::BlockDevice).then(|| meta.rdev()),
        mtime: Some(meta.mtime()),
    };
    if kind == EntryKind::Symlink {
        match std::fs::read_link(&item.abs) {
            Ok(t) => entry.target = Some(t.into_os_string().into_vec()),
            Err(e) => sink.problem(Problem::at(
                problem_kind(&e),
                item.abs.as_path(),
                format!("cannot read symlink: {e}"),
            )),
        }
    }
    // A file to hash is opened first, and its attributes are read from that descriptor: one
    // path look-up fewer per file, and the attributes are those of the content hashed.
    let opened = match (kind, hash) {
        (EntryKind::File, Some(_)) => Some(open_checked(&item.abs, meta)),
        _ => None,
    };
    // The attributes recorded with a digest are those of the file opened for it (the walk's
    // `lstat` can be older by up to the entries in flight).
    if let Some(Ok((_, m))) = &opened {
        entry.size = m.len();
        entry.mode = Some(m.mode() & 0o7777);
        entry.uid = Some(m.uid());
        entry.gid = Some(m.gid());
        entry.mtime = Some(m.mtime());
    }
    // One listxattr call; values are read only for the security names present. Errors
    // (ENOTSUP and the like) mean "none here".
    let file = opened.as_ref().and_then(|o| o.as_ref().ok()).map(|(f, _)| f);
    let names = match file {
        Some(f) => xattr::FileExt::list_xattr(f),
        None => xattr::list(&item.abs),
    };
    if let Ok(names) = names {
        for name in names {
            let Some(known) =
                SECURITY_XATTRS.iter().find(|k| name.as_encoded_bytes() == k.as_bytes())
            else {
                continue;
            };
            let value = match file {
                Some(f) => xattr::FileExt::get_xattr(f, known),
                None => xattr::get(&item.abs, known),
            };
            if let Ok(Some(v)) = value {
                entry.xattrs.insert((*known).to_owned(), v);
            }
        }
    }
    if let (Some(opened), Some(alg)) = (opened, hash) {
        match opened.and_then(|(mut file, meta)| digest_open(&mut file, &meta, alg)) {
            Ok((d, n)) => {
                entry.digest = Some(d);
                stats.files_hashed.fetch_add(1, Ordering::Relaxed);
                stats.bytes_hashed.fetch_add(n, Ordering::Relaxed);
            }
            Err((kind, reason)) => sink.problem(Problem::at(kind, item.abs.as_path(), reason)),
        }
    }
    entry
}

thread_local! {
    /// The read buffer of this thread's hashing (sized by `ferret_fs::hash`).
    static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's hashing buffer: allocated and grown once per thread, not once
/// per file.
pub(crate) fn with_read_buf<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    BUF.with(|buf| f(&mut buf.borrow_mut()))
}

/// Hashes one examined file (opened read-only through ferret-fs), checking that it is the
/// file `lstat` saw. Returns the hex digest and the bytes read.
pub fn digest_file(
    path: &Path,
    seen: &Metadata,
    alg: HashAlgorithm,
) -> Result<(String, u64), (ProblemKind, String)> {
    let (mut file, meta) = open_checked(path, seen)?;
    digest_open(&mut file, &meta, alg)
}

/// Opens an examined file read-only and checks that it is the file `lstat` saw.
fn open_checked(
    path: &Path,
    seen: &Metadata,
) -> Result<(std::fs::File, Metadata), (ProblemKind, String)> {
    let (file, meta) = open_examined(path)?;
    if meta.ino() != seen.ino() || meta.dev() != seen.dev() {
        return Err((ProblemKind::Changed, "file was replaced while being examined".into()));
    }
    Ok((file, meta))
}

/// Hashes a file opened by [`open_checked`] (`meta`: its metadata at opening).
fn digest_open(
    file: &mut std::fs::File,
    meta: &Metadata,
    alg: HashAlgorithm,
) -> Result<(String, u64), (ProblemKind, String)> {
    with_read_buf(|buf| {
        let out = ferret_fs::hash::hash_file(kinds(alg), file, meta, u64::MAX, buf, None)
            .map_err(|e| (problem_kind(&e), format!("cannot read: {e}")))?;
        Ok((hex_digest(out.digests, alg), out.len))
    })
}

fn kinds(alg: HashAlgorithm) -> ferret_fs::hash::HashKinds {
    ferret_fs::hash::HashKinds {
        sha256: alg == HashAlgorithm::Sha256,
        blake3: alg == HashAlgorithm::Blake3,
        ..Default::default()
    }
}

fn hex_digest(d: ferret_fs::hash::Digests, alg: HashAlgorithm) -> String {
    let raw = match alg {
        HashAlgorithm::Sha256 => d.sha256,
        HashAlgorithm::Blake3 => d.blake3,
    };
    raw.map(hex::encode).unwrap_or_default()
}

/// Hashes a reader in large chunks with [`ferret_fs::hash::hash_reader`].
pub fn digest_reader(mut r: impl Read, alg: HashAlgorithm) -> io::Result<(String, u64)> {
    with_read_buf(|buf| {
        let (d, n) = ferret_fs::hash::hash_reader(kinds(alg), &mut r, buf)?;
        Ok((hex_digest(d, alg), n))
    })
}

/// Opens an examined regular file read-only through ferret-fs.
pub fn open_examined(path: &Path) -> Result<(std::fs::File, Metadata), (ProblemKind, String)> {
    use ferret_fs::OpenError;
    ferret_fs::open_read_only(path).map_err(|e| {
        let kind = match &e {
            OpenError::PermissionDenied(_) => ProblemKind::PermissionDenied,
            OpenError::Vanished(_) => ProblemKind::Vanished,
            OpenError::Symlink(_) | OpenError::NotRegular { .. } => ProblemKind::Changed,
            OpenError::Io(_) => ProblemKind::ReadError,
        };
        (kind, format!("cannot open: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferret_core::Collector;

    #[test]
    fn walk_is_in_manifest_order_and_skips_excludes() {
        let d = tempfile::tempdir().unwrap();
        for p in ["a/b", "a.txt", "b", "a/c/d", "proc/x"] {
            let path = d.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            #[expect(clippy::disallowed_methods, reason = "test fixture")]
            std::fs::write(&path, b"x").unwrap();
        }
        let policy = Policy::builtin();
        let sink = Collector::new();
        let rels: Vec<String> = SortedWalk::new(d.path(), &policy, WalkOptions::default(), &sink)
            .map(|i| String::from_utf8(i.rel).unwrap())
            .collect();
        assert_eq!(rels, ["", "a", "a/b", "a/c", "a/c/d", "a.txt", "b"]);
    }

    #[test]
    #[expect(clippy::disallowed_methods, reason = "test fixture")]
    fn a_directory_replaced_by_a_symlink_after_listing_is_not_descended() {
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"s").unwrap();
        std::fs::create_dir(d.path().join("a")).unwrap();
        std::fs::write(d.path().join("a/f"), b"x").unwrap();
        std::fs::create_dir(d.path().join("b")).unwrap();
        std::fs::write(d.path().join("b/g"), b"y").unwrap();
        let policy = Policy::builtin();
        let sink = Collector::new();
        let mut walk = SortedWalk::new(d.path(), &policy, WalkOptions::default(), &sink);
        // The root: its names are listed now.
        assert_eq!(walk.next().unwrap().rel, b"");
        // `b` becomes a symlink to a directory outside the tree before it is visited.
        std::fs::rename(d.path().join("b"), d.path().join("old-b")).unwrap();
        std::os::unix::fs::symlink(outside.path(), d.path().join("b")).unwrap();
        let items: Vec<(String, bool)> = walk
            .map(|i| (String::from_utf8(i.rel).unwrap(), i.meta.file_type().is_symlink()))
            .collect();
        assert_eq!(
            items,
            [("a".into(), false), ("a/f".into(), false), ("b".into(), true)],
            "the symlink is recorded as one and nothing behind it is walked"
        );
    }

    #[test]
    #[expect(clippy::disallowed_methods, reason = "test fixture")]
    fn a_digest_is_recorded_with_the_attributes_of_the_file_hashed() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, b"before").unwrap();
        // The walk's lstat, then the file grows before it is hashed.
        let meta = std::fs::symlink_metadata(&p).unwrap();
        std::fs::write(&p, b"after, longer").unwrap();
        let item = WalkItem { rel: b"f".to_vec(), abs: p.clone(), meta };
        let sink = Collector::new();
        let stats = TreeStats::default();
        let e = build_entry(item, Some(HashAlgorithm::Sha256), &sink, &stats);
        assert_eq!(e.size, 13);
        let want = ferret_fs::hash::hash_bytes(
            ferret_fs::hash::HashKinds { sha256: true, ..Default::default() },
            b"after, longer",
        );
        assert_eq!(e.digest, want.sha256.map(hex::encode));
    }
}
