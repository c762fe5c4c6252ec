//! The parallel walker.
//!
//! Built on the `ignore` crate's parallel walker with every ignore-file filter turned off:
//! ferret examines what is on disk, not what a `.gitignore` says. The walker never opens
//! files; it hands each entry and its metadata to a per-thread visitor.

use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ferret_core::{Cancel, Problem, ProblemKind, Sink};
use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::open::EntryKind;

/// Pseudo-filesystems excluded by default when a walk root is `/`.
pub const PSEUDO_FILESYSTEMS: [&str; 4] = ["/proc", "/sys", "/dev", "/run"];

/// How to walk.
#[derive(Clone, Debug)]
pub struct WalkOptions {
    /// Files or directories to walk.
    pub roots: Vec<PathBuf>,
    /// Follow symbolic links (loops are detected and reported).
    pub follow_symlinks: bool,
    /// Stay on each root's filesystem. `None`: on when a root is `/`, off otherwise.
    pub one_file_system: Option<bool>,
    /// Glob patterns; an entry whose full path (or, for patterns without `/`, whose name)
    /// matches is skipped, and a matching directory is not entered.
    pub excludes: Vec<String>,
    /// Exclude `/proc`, `/sys`, `/dev` and `/run` when walking `/`.
    pub default_excludes: bool,
    /// Worker threads (0: one per CPU); bounded by [`crate::ThreadBudget`].
    pub threads: usize,
    /// Raised to stop the walk early (SIGINT); entries not yet listed are not visited.
    pub cancel: Cancel,
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions {
            roots: Vec::new(),
            follow_symlinks: false,
            one_file_system: None,
            excludes: Vec::new(),
            default_excludes: true,
            threads: 0,
            cancel: Cancel::default(),
        }
    }
}

/// A walk that could not start.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    /// An exclude pattern is not a valid glob.
    #[error("invalid exclude pattern {pattern:?}")]
    BadGlob {
        /// The pattern.
        pattern: String,
        /// Why.
        #[source]
        source: globset::Error,
    },
    /// No roots were given.
    #[error("nothing to walk")]
    NoRoots,
}

/// One entry seen by the walk.
#[derive(Debug)]
pub struct Entry<'a> {
    /// Its path as reached (under a root).
    pub path: &'a Path,
    /// What it is (the target's kind when symlinks are followed).
    pub kind: EntryKind,
    /// Its metadata (`lstat`, or `stat` when symlinks are followed).
    pub meta: &'a Metadata,
    /// Depth below its root (the root is 0).
    pub depth: usize,
}

/// Counts kept by the walker itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WalkStats {
    /// Entries skipped by an exclude pattern or a default pseudo-filesystem exclude.
    pub excluded: u64,
    /// Entries whose listing or metadata failed (reported as problems).
    pub errors: u64,
}

/// A configured walk.
pub struct Walker {
    opts: WalkOptions,
    excludes: Arc<Excludes>,
}

struct Excludes {
    globs: GlobSet,
    name_globs: GlobSet,
    dirs: Vec<PathBuf>,
}

impl Excludes {
    fn matches(&self, path: &Path, depth: usize) -> bool {
        if depth > 0 && self.dirs.iter().any(|d| d == path) {
            return true;
        }
        if self.globs.is_match(path) {
            return true;
        }
        path.file_name().is_some_and(|n| self.name_globs.is_match(n))
    }
}

/// The exclude patterns applied to paths inside evidence (a disk image, a collection): the
/// path the host knew. A pattern with a `/` matches the whole path, any other the file name,
/// as on a walk; a Windows path (`C:\inetpub\x.aspx`) is matched with `\` read as `/` and
/// without regard to case, as Windows compares names (`C:/inetpub/**` excludes it).
#[derive(Clone, Debug)]
pub struct PathExcludes {
    globs: GlobSet,
    name_globs: GlobSet,
    globs_ci: GlobSet,
    name_globs_ci: GlobSet,
    empty: bool,
}

impl PathExcludes {
    /// Compiles `patterns` (the walk's `excludes`).
    pub fn new(patterns: &[String]) -> Result<PathExcludes, WalkError> {
        let mut sets: [GlobSetBuilder; 4] = std::array::from_fn(|_| GlobSetBuilder::new());
        for pattern in patterns {
            let bad = |source| WalkError::BadGlob { pattern: pattern.clone(), source };
            let glob = Glob::new(pattern).map_err(bad)?;
            let ci =
                globset::GlobBuilder::new(pattern).case_insensitive(true).build().map_err(bad)?;
            let i = usize::from(!pattern.contains('/'));
            if let Some([a, b]) = sets.get_mut(i * 2..i * 2 + 2) {
                a.add(glob);
                b.add(ci);
            }
        }
        let [g, gci, n, nci] = sets.map(|b| b.build());
        let bad = |source| WalkError::BadGlob { pattern: "exclude patterns".to_owned(), source };
        Ok(PathExcludes {
            globs: g.map_err(bad)?,
            globs_ci: gci.map_err(bad)?,
            name_globs: n.map_err(bad)?,
            name_globs_ci: nci.map_err(bad)?,
            empty: patterns.is_empty(),
        })
    }

    /// Whether a path inside evidence is excluded.
    pub fn matches(&self, path: &str) -> bool {
        if self.empty {
            return false;
        }
        let b = path.as_bytes();
        let windows = path.contains('\\')
            || (b.len() >= 2
                && b.first().is_some_and(u8::is_ascii_alphabetic)
                && b.get(1) == Some(&b':'));
        if windows {
            let p = path.replace('\\', "/");
            let name = p.rsplit('/').next().unwrap_or_default();
            self.globs_ci.is_match(&p) || self.name_globs_ci.is_match(name)
        } else {
            let name = path.rsplit('/').next().unwrap_or_default();
            self.globs.is_match(path) || self.name_globs.is_match(name)
        }
    }
}

impl Walker {
    /// Validates the options.
    pub fn new(opts: WalkOptions) -> Result<Walker, WalkError> {
        if opts.roots.is_empty() {
            return Err(WalkError::NoRoots);
        }
        let mut globs = GlobSetBuilder::new();
        let mut name_globs = GlobSetBuilder::new();
        for pattern in &opts.excludes {
            let glob = Glob::new(pattern)
                .map_err(|source| WalkError::BadGlob { pattern: pattern.clone(), source })?;
            if pattern.contains('/') {
                globs.add(glob);
            } else {
                name_globs.add(glob);
            }
        }
        let build = |b: GlobSetBuilder, p: &str| {
            b.build().map_err(|source| WalkError::BadGlob { pattern: p.to_owned(), source })
        };
        let mut dirs = Vec::new();
        if opts.default_excludes {
            for root in &opts.roots {
                if is_fs_root(root) {
                    dirs.extend(PSEUDO_FILESYSTEMS.iter().map(|p| root.join(&p[1..])));
                }
            }
        }
        let excludes = Excludes {
            globs: build(globs, "exclude patterns")?,
            name_globs: build(name_globs, "exclude patterns")?,
            dirs,
        };
        Ok(Walker { opts, excludes: Arc::new(excludes) })
    }

    /// Whether the walk stays on one filesystem.
    pub fn one_file_system(&self) -> bool {
        self.opts.one_file_system.unwrap_or_else(|| self.opts.roots.iter().any(|r| is_fs_root(r)))
    }

    /// Walks, calling one visitor per worker thread (made by `make_visitor`) for every
    /// entry, directories included. Listing and metadata failures become problems in `sink`.
    pub fn run<F, V>(&self, make_visitor: F, sink: &dyn Sink) -> WalkStats
    where
        F: Fn() -> V + Sync,
        V: FnMut(Entry<'_>) + Send,
    {
        let mut roots = self.opts.roots.iter();
        let Some(first) = roots.next() else {
            return WalkStats::default();
        };
        let mut b = ignore::WalkBuilder::new(first);
        for r in roots {
            b.add(r);
        }
        let threads = crate::ThreadBudget::for_request(self.opts.threads).threads;
        b.standard_filters(false)
            .hidden(false)
            .parents(false)
            .ignore(false)
            .git_ignore(false)
            .git_global(false)
            .git_exclude(false)
            .require_git(false)
            .follow_links(self.opts.follow_symlinks)
            .same_file_system(self.one_file_system())
            .threads(threads);
        let excluded = Arc::new(AtomicU64::new(0));
        {
            let ex = Arc::clone(&self.excludes);
            let excluded = Arc::clone(&excluded);
            let follow = self.opts.follow_symlinks;
            b.filter_entry(move |e| {
                let skip = ex.matches(e.path(), e.depth())
                    || (follow && e.path_is_symlink() && points_into_pseudo_fs(e.path()));
                if skip {
                    excluded.fetch_add(1, Ordering::Relaxed);
                }
                !skip
            });
        }
        let errors = AtomicU64::new(0);
        let cancel = &self.opts.cancel;
        b.build_parallel().run(|| {
            let mut visit = make_visitor();
            let errors = &errors;
            Box::new(move |res| {
                if cancel.is_cancelled() {
                    return ignore::WalkState::Quit;
                }
                match res {
                    Ok(entry) => match entry.metadata() {
                        Ok(meta) => {
                            let kind = EntryKind::of(meta.file_type());
                            visit(Entry {
                                path: entry.path(),
                                kind,
                                meta: &meta,
                                depth: entry.depth(),
                            });
                        }
                        Err(e) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            sink.problem(problem_of(&e, Some(entry.path())));
                        }
                    },
                    Err(e) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        sink.problem(problem_of(&e, None));
                    }
                }
                ignore::WalkState::Continue
            })
        });
        WalkStats { excluded: excluded.load(Ordering::Relaxed), errors: errors.into_inner() }
    }
}

fn is_fs_root(p: &Path) -> bool {
    p.canonicalize().is_ok_and(|c| c == Path::new("/"))
}

fn points_into_pseudo_fs(link: &Path) -> bool {
    link.canonicalize().is_ok_and(|t| PSEUDO_FILESYSTEMS.iter().any(|p| t.starts_with(p)))
}

/// Turns a walk error into a problem naming the path and the reason.
fn problem_of(e: &ignore::Error, path: Option<&Path>) -> Problem {
    match e {
        ignore::Error::WithPath { path, err } => problem_of(err, Some(path)),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            problem_of(err, path)
        }
        ignore::Error::Loop { ancestor, child } => Problem::at(
            ProblemKind::Walk,
            child.as_path(),
            format!("symbolic link loop back to {}; not followed", ancestor.display()),
        ),
        ignore::Error::Io(io) => {
            let kind = match io.kind() {
                std::io::ErrorKind::PermissionDenied => ProblemKind::PermissionDenied,
                std::io::ErrorKind::NotFound => ProblemKind::Vanished,
                _ => ProblemKind::ReadError,
            };
            let reason = io_reason(io);
            match path {
                Some(p) => Problem::at(kind, p, reason),
                None => Problem::general(kind, reason),
            }
        }
        ignore::Error::Partial(errs) => match errs.first() {
            Some(first) => problem_of(first, path),
            None => Problem::general(ProblemKind::Walk, "walk error"),
        },
        other => {
            let reason = other.to_string();
            match path {
                Some(p) => Problem::at(ProblemKind::Walk, p, reason),
                None => Problem::general(ProblemKind::Walk, reason),
            }
        }
    }
}

/// A lowercase reason for an I/O error, without the "(os error N)" suffix.
pub fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = match s.find(" (os error") {
        Some(i) => s.get(..i).unwrap_or(&s).to_owned(),
        None => s,
    };
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => s,
    }
}

#[cfg(test)]
#[expect(clippy::disallowed_methods, reason = "tests build their fixture trees")]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use ferret_core::Collector;

    use super::*;

    fn walk(opts: WalkOptions) -> (BTreeMap<PathBuf, EntryKind>, Collector, WalkStats) {
        let seen = Mutex::new(BTreeMap::new());
        let sink = Collector::new();
        let stats = Walker::new(opts).unwrap().run(
            || {
                |e: Entry<'_>| {
                    seen.lock().unwrap().insert(e.path.to_path_buf(), e.kind);
                }
            },
            &sink,
        );
        (seen.into_inner().unwrap(), sink, stats)
    }

    #[test]
    fn path_excludes_read_windows_paths_without_case() {
        let ex = PathExcludes::new(&["C:/inetpub/**".to_owned(), "*.LOG".to_owned()]).unwrap();
        assert!(ex.matches(r"C:\INETPUB\wwwroot\x.aspx"));
        assert!(ex.matches(r"D:\x\u_ex210101.log"), "a name pattern, without case on Windows");
        assert!(!ex.matches(r"C:\Windows\x.dll"));
        assert!(!ex.matches("/var/log/a.log"), "case counts on a Unix path");
        assert!(!PathExcludes::new(&[]).unwrap().matches(r"C:\x"));
    }
    #[test]
    fn yields_every_kind_and_detects_loops() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("d")).unwrap();
        std::fs::write(root.join("d/f"), b"x").unwrap();
        std::os::unix::fs::symlink(root, root.join("d/loop")).unwrap();
        std::process::Command::new("mkfifo").arg(root.join("p")).status().unwrap();
        let opts = WalkOptions { roots: vec![root.to_path_buf()], ..WalkOptions::default() };
        let (seen, _, _) = walk(opts.clone());
        assert_eq!(seen[&root.join("d/f")], EntryKind::File);
        assert_eq!(seen[&root.join("d/loop")], EntryKind::Symlink);
        assert_eq!(seen[&root.join("p")], EntryKind::Fifo);

        let (_, sink, _) = walk(WalkOptions { follow_symlinks: true, ..opts });
        let (_, problems, _, _) = sink.into_parts();
        assert!(
            problems.iter().any(|p| p.kind == ProblemKind::Walk && p.reason.contains("loop")),
            "{problems:?}"
        );
    }

    #[test]
    fn excludes_by_glob_and_name() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("cache")).unwrap();
        std::fs::write(root.join("cache/a"), b"x").unwrap();
        std::fs::write(root.join("b.log"), b"x").unwrap();
        std::fs::write(root.join("c.txt"), b"x").unwrap();
        let opts = WalkOptions {
            roots: vec![root.to_path_buf()],
            excludes: vec!["*.log".into(), "**/cache".into()],
            ..WalkOptions::default()
        };
        let (seen, _, stats) = walk(opts);
        assert!(seen.contains_key(&root.join("c.txt")));
        assert!(!seen.contains_key(&root.join("b.log")));
        assert!(!seen.contains_key(&root.join("cache/a")));
        assert_eq!(stats.excluded, 2);
    }

    #[test]
    fn bad_glob_is_an_error() {
        let opts = WalkOptions {
            roots: vec![".".into()],
            excludes: vec!["a[".into()],
            ..Default::default()
        };
        assert!(matches!(Walker::new(opts), Err(WalkError::BadGlob { .. })));
    }

    #[test]
    fn root_gets_pseudo_fs_excludes() {
        let w = Walker::new(WalkOptions { roots: vec!["/".into()], ..Default::default() }).unwrap();
        assert!(w.one_file_system());
        assert!(w.excludes.matches(Path::new("/proc"), 1));
        assert!(!w.excludes.matches(Path::new("/usr"), 1));
    }
}
