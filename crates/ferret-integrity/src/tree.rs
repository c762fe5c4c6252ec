//! Walking a tree in manifest order and turning what is found into [`Entry`]s.
//!
//! Verification is a merge-join of two sorted streams, so the walk must produce paths in
//! [`path_cmp`](crate::manifest::path_cmp) order without holding the whole tree in memory.
//! [`SortedWalk`] is a depth-first walk that reads one directory at a time and visits its
//! names in byte order: memory is bounded by depth × directory width. It opens nothing but
//! directories and never follows symlinks. Each directory stays open while its entries are
//! in flight: they are examined relative to it (`fstatat`, `openat`; see [`ferret_fs::dir`]),
//! not by their whole path, within a budget of descriptors sized on the process's limit
//! (past it, by path). [`Tree`] builds entries (hashing files through ferret-fs's read-only
//! opening, reading security xattrs) on several threads, keeping the order.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs::Metadata;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ferret_fs::dir::FileStat;

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
    /// `lstat` metadata. `None` for a regular file (by its directory entry) whose content is
    /// to be hashed and whose directory is held: it is opened without an `lstat` first, and
    /// its attributes are taken from the open descriptor (see [`build_entry`]).
    pub meta: Option<FileStat>,
    /// The directory holding it, open since the walk listed it: the entry is examined
    /// relative to it. `None` for the root, for a walk's budget of descriptors spent, and for
    /// items made by hand (examined by path).
    pub dir: Option<Arc<OpenDir>>,
}

impl WalkItem {
    /// The directory to examine it relative to, with its name there.
    fn at(&self) -> Option<(BorrowedFd<'_>, &OsStr)> {
        at(self.dir.as_deref(), &self.rel)
    }
}

/// The last component of a relative path.
fn name_of(rel: &[u8]) -> &OsStr {
    OsStr::from_bytes(rel.rsplit(|&b| b == b'/').next().unwrap_or_default())
}

/// `rel`'s directory descriptor and name there, when its directory is held open.
fn at<'a>(dir: Option<&'a OpenDir>, rel: &'a [u8]) -> Option<(BorrowedFd<'a>, &'a OsStr)> {
    let dir = dir?;
    (!rel.is_empty()).then(|| (dir.fd.as_fd(), name_of(rel)))
}

/// A directory a walk holds open (see [`WalkItem::dir`]); closed when the walk and every
/// item from it are done with it.
#[derive(Debug)]
pub struct OpenDir {
    fd: OwnedFd,
    live: Arc<AtomicUsize>,
}

impl Drop for OpenDir {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The most directories a walk holds open at once: half the process's limit on descriptors
/// (the rest is for the files being hashed and everything else), and never more than the
/// entries a [`Tree`] has in flight need.
fn dir_budget() -> usize {
    let limit = ferret_fs::dir::open_file_limit();
    usize::try_from(limit / 2).unwrap_or(usize::MAX).saturating_sub(64).min(2 * WINDOW)
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
    stack: Vec<Frame>,
    unreadable: Vec<Vec<u8>>,
    excluded: u64,
    /// Directories held open now (by the walk and by items in flight).
    live: Arc<AtomicUsize>,
    /// The most held at once ([`dir_budget`]).
    budget: usize,
}

/// A directory being visited: its sorted entries (paths relative to the root, with the kind
/// the listing gave) and, within the budget, the directory itself, open.
struct Frame {
    dir: Option<Arc<OpenDir>>,
    names: std::vec::IntoIter<ferret_fs::dir::Listed>,
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
            live: Arc::default(),
            budget: dir_budget(),
        }
    }

    /// The same walk holding at most `budget` directories open (0: everything by path).
    #[cfg(test)]
    fn with_budget(mut self, budget: usize) -> Self {
        self.budget = budget;
        self
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

    /// Lists the directory `rel` (whose `lstat` is `meta`) and pushes its entries, sorted.
    /// It is opened relative to `parent` when the walk holds that open, else by path; never
    /// through a symbolic link below the root; and it must be the directory `lstat` saw.
    fn descend(&mut self, rel: &[u8], abs: &Path, meta: &FileStat, parent: Option<&OpenDir>) {
        if let (true, Some(dev)) = (self.opts.one_file_system, self.root_dev)
            && meta.dev != dev
        {
            return;
        }
        let opened = match at(parent, rel) {
            Some((fd, name)) => ferret_fs::dir::open_dir(Some(fd), Path::new(name), false),
            // The root may be a symlink to the tree (a mount point alias); below it, nothing is
            // followed.
            None => ferret_fs::dir::open_dir(None, abs, rel.is_empty()),
        };
        let fd = match opened {
            Ok(fd) => fd,
            Err(e) => {
                return self.unlisted(
                    rel,
                    abs,
                    &format!("cannot list directory: {e}"),
                    problem_kind(&e),
                );
            }
        };
        match rustix::fs::fstat(&fd) {
            Ok(st) if st.st_ino == meta.ino && st.st_dev == meta.dev => {}
            Ok(_) => {
                return self.unlisted(
                    rel,
                    abs,
                    "directory was replaced while being examined",
                    ProblemKind::Changed,
                );
            }
            Err(e) => {
                let e = io::Error::from(e);
                return self.unlisted(
                    rel,
                    abs,
                    &format!("cannot list directory: {e}"),
                    problem_kind(&e),
                );
            }
        }
        let (mut names, err) = ferret_fs::dir::list_dir(fd.as_fd());
        if let Some(e) = err {
            self.sink.problem(Problem::at(
                problem_kind(&e),
                abs,
                format!("cannot list directory: {e}"),
            ));
            self.unreadable.push(rel.to_vec());
        }
        names.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let full: Vec<ferret_fs::dir::Listed> =
            names.into_iter().map(|(n, kind)| (join(rel, &n), kind)).collect();
        let dir = (self.live.load(Ordering::Relaxed) < self.budget).then(|| {
            self.live.fetch_add(1, Ordering::Relaxed);
            Arc::new(OpenDir { fd, live: Arc::clone(&self.live) })
        });
        self.stack.push(Frame { dir, names: full.into_iter() });
    }

    /// A directory that could not be listed: a problem, and nothing is said of its content.
    fn unlisted(&mut self, rel: &[u8], abs: &Path, reason: &str, kind: ProblemKind) {
        self.sink.problem(Problem::at(kind, abs, reason.to_owned()));
        self.unreadable.push(rel.to_vec());
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
                    let meta = FileStat::from(&meta);
                    self.root_dev = Some(meta.dev);
                    if meta.kind == EntryKind::Dir {
                        self.descend(b"", &root, &meta, None);
                    }
                    return Some(WalkItem {
                        rel: Vec::new(),
                        abs: root,
                        meta: Some(meta),
                        dir: None,
                    });
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
            let Some((rel, listed)) = top.names.next() else {
                self.stack.pop();
                continue;
            };
            if self.policy.is_excluded(&rel) {
                self.excluded += 1;
                continue;
            }
            let dir = top.dir.clone();
            let abs = abs_path(&self.root, &rel);
            // A regular file to hash, in a directory held open: its `lstat` would be one more
            // look-up of its name, and the `fstat` of the file opened says the same.
            if listed == Some(EntryKind::File)
                && dir.is_some()
                && self.policy.attrs_for(&rel).has(AttrSet::CONTENT)
            {
                return Some(WalkItem { rel, abs, meta: None, dir });
            }
            let stat = match at(dir.as_deref(), &rel) {
                Some((fd, name)) => ferret_fs::dir::lstat_at(fd, name),
                None => std::fs::symlink_metadata(&abs).map(|m| FileStat::from(&m)),
            };
            match stat {
                Ok(meta) => {
                    if meta.kind == EntryKind::Dir {
                        self.descend(&rel, &abs, &meta, dir.as_deref());
                    }
                    return Some(WalkItem { rel, abs, meta: Some(meta), dir });
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
    done: Receiver<(u64, Option<Entry>)>,
    tokens: Sender<()>,
    pending: BTreeMap<u64, Option<Entry>>,
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
                // Once stopped, nothing more is hashed (the consumer yields no more). An item
                // the walk did not `lstat` is a file whose content the policy compares (the
                // walk asked the policy already).
                let want = (item.meta.is_none()
                    || policy.attrs_for(&item.rel).has(AttrSet::CONTENT))
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
        pipeline(cancel, &shared, &stats, produce, |item| Some(build(item, &stats)), consume)
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
    build: impl Fn(I) -> Option<Entry> + Sync,
    consume: impl FnOnce(&mut Tree<'_>) -> R,
) -> R {
    let workers = rayon::current_num_threads().max(1);
    let (job_tx, job_rx) = crossbeam_channel::bounded::<(u64, I)>(1024);
    let (done_tx, done_rx) = crossbeam_channel::bounded::<(u64, Option<Entry>)>(1024);
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
                // (None: an item gone before it could be examined, a problem already.)
                if let Some(e) = e {
                    self.stats.entries.fetch_add(1, Ordering::Relaxed);
                    return Some(e);
                }
                continue;
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
/// without a digest). `None` only for an item the walk did not `lstat` (see
/// [`WalkItem::meta`]) that is gone when it is built: a problem, as for an entry that
/// vanished before the walk's `lstat`.
pub fn build_entry(
    item: WalkItem,
    hash: Option<HashAlgorithm>,
    sink: &dyn Sink,
    stats: &TreeStats,
) -> Option<Entry> {
    let (meta, opened) = match (item.meta, hash) {
        (Some(meta), _) => (meta, open_if_file(&item, &meta, hash)),
        (None, Some(_)) => match open_listed(&item) {
            Ok(opened) => (FileStat::from(&opened.1), Some(Ok(opened))),
            // Gone, replaced or refused since it was listed: looked at as the walk would have.
            Err(_) => lstat_then_open(&item, hash, sink)?,
        },
        (None, None) => lstat_then_open(&item, hash, sink)?,
    };
    // The attributes recorded with a digest are those of the file opened for it (the walk's
    // `lstat` can be older by up to the entries in flight).
    let meta = &match &opened {
        Some(Ok((_, m))) => FileStat::from(m),
        _ => meta,
    };
    let kind = meta.kind.recorded();
    let mut entry = Entry {
        path: Vec::new(),
        kind,
        size: if kind == EntryKind::File { meta.size } else { 0 },
        mode: Some(meta.mode & 0o7777),
        uid: Some(meta.uid),
        gid: Some(meta.gid),
        digest: None,
        target: None,
        xattrs: std::collections::BTreeMap::new(),
        rdev: matches!(kind, EntryKind::CharDevice | EntryKind::BlockDevice).then_some(meta.rdev),
        mtime: Some(meta.mtime),
    };
    if kind == EntryKind::Symlink {
        let target = match item.at() {
            Some((fd, name)) => rustix::fs::readlinkat(fd, name, Vec::new())
                .map(std::ffi::CString::into_bytes)
                .map_err(io::Error::from),
            None => std::fs::read_link(&item.abs).map(|t| t.into_os_string().into_vec()),
        };
        match target {
            Ok(t) => entry.target = Some(t),
            Err(e) => sink.problem(Problem::at(
                problem_kind(&e),
                item.abs.as_path(),
                format!("cannot read symlink: {e}"),
            )),
        }
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
    entry.path = item.rel;
    Some(entry)
}

type Opened = Result<(std::fs::File, Metadata), (ProblemKind, String)>;

/// The `lstat` of an item the walk did not `lstat`, and the file opened when it is one to
/// hash; `None` (and a problem) when it is gone.
fn lstat_then_open(
    item: &WalkItem,
    hash: Option<HashAlgorithm>,
    sink: &dyn Sink,
) -> Option<(FileStat, Option<Opened>)> {
    let stat = match item.at() {
        Some((fd, name)) => ferret_fs::dir::lstat_at(fd, name),
        None => std::fs::symlink_metadata(&item.abs).map(|m| FileStat::from(&m)),
    };
    match stat {
        Ok(meta) => {
            let opened = open_if_file(item, &meta, hash);
            Some((meta, opened))
        }
        Err(e) => {
            sink.problem(Problem::at(
                problem_kind(&e),
                item.abs.as_path(),
                format!("cannot examine: {e}"),
            ));
            None
        }
    }
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

/// The item opened (checked against `meta`) when it is a regular file to hash.
fn open_if_file(item: &WalkItem, meta: &FileStat, hash: Option<HashAlgorithm>) -> Option<Opened> {
    (meta.kind == EntryKind::File && hash.is_some()).then(|| open_checked(item, meta))
}

/// Opens a walked file read-only, relative to its directory when the walk holds it open.
fn open_listed(item: &WalkItem) -> Opened {
    match item.at() {
        Some((fd, name)) => {
            ferret_fs::dir::open_read_only_at(fd, name).map_err(|e| open_problem(&e))
        }
        None => open_examined(&item.abs),
    }
}

/// [`open_listed`], checking that the file is the one `lstat` saw.
fn open_checked(item: &WalkItem, seen: &FileStat) -> Opened {
    let (file, meta) = open_listed(item)?;
    if meta.ino() != seen.ino || meta.dev() != seen.dev {
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
    ferret_fs::open_read_only(path).map_err(|e| open_problem(&e))
}

fn open_problem(e: &ferret_fs::OpenError) -> (ProblemKind, String) {
    use ferret_fs::OpenError;
    let kind = match e {
        OpenError::PermissionDenied(_) => ProblemKind::PermissionDenied,
        OpenError::Vanished(_) => ProblemKind::Vanished,
        OpenError::Symlink(_) | OpenError::NotRegular { .. } => ProblemKind::Changed,
        OpenError::Io(_) => ProblemKind::ReadError,
    };
    (kind, format!("cannot open: {e}"))
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
            .map(|i| {
                (
                    String::from_utf8(i.rel).unwrap(),
                    i.meta.is_some_and(|m| m.kind == EntryKind::Symlink),
                )
            })
            .collect();
        assert_eq!(
            items,
            [("a".into(), false), ("a/f".into(), false), ("b".into(), true)],
            "the symlink is recorded as one and nothing behind it is walked"
        );
    }

    /// A tree of nested directories, a file and a symlink in each.
    #[expect(clippy::disallowed_methods, reason = "test fixture")]
    fn nested_tree(depth: usize) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let mut dir = d.path().to_path_buf();
        for i in 0..depth {
            std::fs::write(dir.join("f"), format!("file {i}")).unwrap();
            std::os::unix::fs::symlink("f", dir.join("l")).unwrap();
            dir = dir.join(format!("d{i}"));
            std::fs::create_dir(&dir).unwrap();
        }
        d
    }

    fn built(walk: SortedWalk<'_>, sink: &Collector) -> Vec<Entry> {
        let stats = TreeStats::default();
        walk.filter_map(|i| build_entry(i, Some(HashAlgorithm::Sha256), sink, &stats)).collect()
    }

    #[test]
    fn a_walk_holds_no_more_directories_open_than_its_budget_and_finds_the_same() {
        let d = nested_tree(12);
        let policy = Policy::builtin();
        let sink = Collector::new();
        let by_path = built(
            SortedWalk::new(d.path(), &policy, WalkOptions::default(), &sink).with_budget(0),
            &sink,
        );
        assert_eq!(by_path.len(), 1 + 12 * 3);
        assert!(by_path.iter().any(|e| e.target.as_deref() == Some(b"f".as_slice())));
        for budget in [1, 3, usize::MAX] {
            let mut walk = SortedWalk::new(d.path(), &policy, WalkOptions::default(), &sink)
                .with_budget(budget);
            let live = Arc::clone(&walk.live);
            let mut items = Vec::new();
            // Every item kept alive: their directories stay open.
            for item in walk.by_ref() {
                assert!(live.load(Ordering::Relaxed) <= budget.min(13), "root and 12 directories");
                items.push(item);
            }
            assert!(items.iter().any(|i| i.dir.is_some()), "budget {budget}: nothing held");
            drop(walk);
            let stats = TreeStats::default();
            let entries: Vec<Entry> = items
                .into_iter()
                .filter_map(|i| build_entry(i, Some(HashAlgorithm::Sha256), &sink, &stats))
                .collect();
            assert_eq!(entries, by_path, "budget {budget}");
            assert_eq!(live.load(Ordering::Relaxed), 0, "every directory closed");
        }
        let problems = sink.into_parts().1;
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    #[expect(clippy::disallowed_methods, reason = "test fixture")]
    fn files_are_read_from_the_directory_listed_even_if_its_path_is_redirected() {
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("f"), b"outside the tree").unwrap();
        std::fs::create_dir(d.path().join("a")).unwrap();
        std::fs::write(d.path().join("a/f"), b"inside").unwrap();
        let policy = Policy::builtin();
        let sink = Collector::new();
        let mut walk = SortedWalk::new(d.path(), &policy, WalkOptions::default(), &sink);
        assert_eq!(walk.next().unwrap().rel, b"");
        // `a` is listed when it is reached...
        assert_eq!(walk.next().unwrap().rel, b"a");
        // ...then its path is made to lead outside the tree.
        std::fs::rename(d.path().join("a"), d.path().join("old-a")).unwrap();
        std::os::unix::fs::symlink(outside.path(), d.path().join("a")).unwrap();
        let item = walk.next().unwrap();
        assert_eq!(item.rel, b"a/f");
        let stats = TreeStats::default();
        let e = build_entry(item, Some(HashAlgorithm::Sha256), &sink, &stats).unwrap();
        assert_eq!(e.size, 6, "the attributes are of the file listed");
        let want = ferret_fs::hash::hash_bytes(
            ferret_fs::hash::HashKinds { sha256: true, ..Default::default() },
            b"inside",
        );
        assert_eq!(e.digest, want.sha256.map(hex::encode), "the file listed, not the one outside");
    }

    #[test]
    #[expect(clippy::disallowed_methods, reason = "test fixture")]
    fn a_directory_replaced_between_its_lstat_and_its_listing_is_not_listed() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("a")).unwrap();
        std::fs::write(d.path().join("a/f"), b"x").unwrap();
        let seen = FileStat::from(&std::fs::symlink_metadata(d.path().join("a")).unwrap());
        std::fs::rename(d.path().join("a"), d.path().join("old-a")).unwrap();
        std::fs::create_dir(d.path().join("a")).unwrap();
        std::fs::write(d.path().join("a/planted"), b"y").unwrap();
        let policy = Policy::builtin();
        let sink = Collector::new();
        let mut walk = SortedWalk::new(d.path(), &policy, WalkOptions::default(), &sink);
        walk.descend(b"a", &d.path().join("a"), &seen, None);
        assert!(walk.stack.is_empty(), "nothing listed");
        assert!(walk.under_unreadable(b"a/f"));
        drop(walk);
        let problems = sink.into_parts().1;
        assert_eq!(problems.len(), 1);
        assert!(problems[0].reason.contains("replaced"), "{problems:?}");
    }

    #[test]
    #[expect(clippy::disallowed_methods, reason = "test fixture")]
    fn files_changed_after_listing_are_recorded_as_what_they_have_become() {
        let d = tempfile::tempdir().unwrap();
        for name in ["a", "b", "c", "d"] {
            std::fs::write(d.path().join(name), name).unwrap();
        }
        let policy = Policy::builtin();
        let sink = Collector::new();
        let items: Vec<WalkItem> =
            SortedWalk::new(d.path(), &policy, WalkOptions::default(), &sink).collect();
        assert!(items.iter().skip(1).all(|i| i.meta.is_none()), "files left to their opening");
        // After listing: `a` becomes a symlink, `b` a FIFO, `c` is deleted, `d` is rewritten.
        std::fs::remove_file(d.path().join("a")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", d.path().join("a")).unwrap();
        std::fs::remove_file(d.path().join("b")).unwrap();
        let fifo = std::process::Command::new("mkfifo").arg(d.path().join("b")).status();
        assert!(fifo.unwrap().success());
        std::fs::remove_file(d.path().join("c")).unwrap();
        std::fs::write(d.path().join("d"), b"rewritten").unwrap();
        let stats = TreeStats::default();
        let entries: Vec<Entry> = items
            .into_iter()
            .filter_map(|i| build_entry(i, Some(HashAlgorithm::Sha256), &sink, &stats))
            .collect();
        let got: Vec<String> = entries
            .iter()
            .map(|e| {
                let target = e.target.as_deref().map(String::from_utf8_lossy);
                format!(
                    "{} {} {target:?} {}",
                    String::from_utf8_lossy(&e.path),
                    e.kind.code(),
                    e.size
                )
            })
            .collect();
        assert_eq!(got, [" d None 0", "a l Some(\"/etc/passwd\") 0", "b p None 0", "d f None 9"]);
        assert!(entries.iter().all(|e| e.path != b"d" || e.digest.is_some()));
        assert!(entries.iter().all(|e| e.path == b"d" || e.digest.is_none()), "nothing else read");
        let problems = sink.into_parts().1;
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].kind, ProblemKind::Vanished, "{problems:?}");
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
        let item = WalkItem {
            rel: b"f".to_vec(),
            abs: p.clone(),
            meta: Some(FileStat::from(&meta)),
            dir: None,
        };
        let sink = Collector::new();
        let stats = TreeStats::default();
        let e = build_entry(item, Some(HashAlgorithm::Sha256), &sink, &stats).unwrap();
        assert_eq!(e.size, 13);
        let want = ferret_fs::hash::hash_bytes(
            ferret_fs::hash::HashKinds { sha256: true, ..Default::default() },
            b"after, longer",
        );
        assert_eq!(e.digest, want.sha256.map(hex::encode));
    }
}
