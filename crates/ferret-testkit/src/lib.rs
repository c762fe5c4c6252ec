//! ferret-testkit: helpers for ferret's tests (a dev-dependency only).
//!
//! [`Tree`] builds a temporary directory of fixture files; [`eicar_like`] builds a harmless
//! test marker at run time from split literals so that no source file carries a signature.
//!
//! A test whose dependency (PostgreSQL, Chromium, the public corpus, a tool) is absent calls
//! [`require`] or [`skip`]: the skip is printed where `cargo test` shows it (the harness does
//! not capture it), and with `FERRET_STRICT_TESTS=1` (which CI sets) it fails the test, so a
//! missing dependency can never pass for a passing test. [`corpus`] finds the public corpus.
//! [`hive`] writes registry hive files and transaction logs; [`samples`] gives web-shell-shaped
//! samples that no source file or test binary carries whole. With the `report` feature,
//! `report::report` builds a complete report. [`disk`] builds disk images at test time: NTFS
//! volumes with ntfs-3g's tools, MBR and GPT disks around them. [`ntfs_history`] writes `$MFT`
//! records and `$UsnJrnl:$J` journals, and lays them out as a triage collector does.
//! [`archive`] writes zip, tar and tar.gz archives in memory (hostile ones too).

#![expect(clippy::disallowed_methods, reason = "test fixtures are written on purpose")]

use std::fmt::Display;
use std::io::Write as _;
use std::path::{Path, PathBuf};

pub mod archive;
pub mod disk;
pub mod hive;
pub mod ntfs_history;
#[cfg(feature = "report")]
pub mod report;
pub mod samples;

/// The environment variable that turns every skip into a failure (CI sets it to `1`).
pub const STRICT_VAR: &str = "FERRET_STRICT_TESTS";

/// Whether skips fail: `FERRET_STRICT_TESTS` is set to anything but empty or `0`.
pub fn strict() -> bool {
    std::env::var_os(STRICT_VAR).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Records that the running test cannot do its work because `needs` is absent: prints
/// `SKIPPED <test>: needs <needs>` straight to the process's standard error (so `cargo test`
/// shows it even for a passing test), and panics under [`strict`]. The caller returns
/// right after.
///
/// # Panics
/// When `FERRET_STRICT_TESTS=1`: a skipped test is a failed one.
pub fn skip(needs: impl Display) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("test");
    let strict = strict();
    let verdict = if strict { "FAILED (FERRET_STRICT_TESTS=1)" } else { "SKIPPED" };
    // Written to the file descriptor, not through `eprintln!`, which the test harness captures.
    let _ = writeln!(std::io::stderr().lock(), "{verdict} {test}: needs {needs}");
    assert!(!strict, "{test} needs {needs}, which is absent, and {STRICT_VAR}=1 forbids a skip");
}

/// `available`, after recording a skip (see [`skip`]) when it is false:
/// `if !require("minisign", found) { return; }`.
///
/// # Panics
/// When the dependency is absent and `FERRET_STRICT_TESTS=1`.
pub fn require(needs: impl Display, available: bool) -> bool {
    if !available {
        skip(needs);
    }
    available
}

/// Where the public sample corpus is: `FERRET_CORPUS` when set, else `shared/corpus` beside
/// the repository. It may not exist; see [`require_corpus`].
pub fn corpus() -> PathBuf {
    std::env::var_os("FERRET_CORPUS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"),
        PathBuf::from,
    )
}

/// The corpus folder when it exists ([`corpus`]), without recording a skip: for benchmarks,
/// which say themselves what they could not measure.
pub fn find_corpus() -> Option<PathBuf> {
    let p = corpus();
    p.is_dir().then_some(p)
}

/// The corpus folder, or `None` after recording a skip (see [`skip`]) when it is absent.
///
/// # Panics
/// When the corpus is absent and `FERRET_STRICT_TESTS=1`.
pub fn require_corpus() -> Option<PathBuf> {
    let p = corpus();
    let found = p.is_dir();
    require(
        format_args!("the public corpus at {} (set FERRET_CORPUS to its location)", p.display()),
        found,
    )
    .then_some(p)
}

/// A temporary directory tree, removed when dropped.
pub struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    /// A new empty tree.
    pub fn new() -> Tree {
        Tree { dir: tempfile::tempdir().expect("create a temp dir") }
    }

    /// The tree's root.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The absolute path of `rel` in the tree.
    pub fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes a file (creating parent directories) and returns its path.
    pub fn file(&self, rel: impl AsRef<Path>, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("create parent dirs");
        }
        std::fs::write(&p, content).expect("write fixture");
        p
    }

    /// Creates a directory (and parents).
    pub fn dir(&self, rel: impl AsRef<Path>) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(&p).expect("create dir");
        p
    }

    /// Creates a symlink at `rel` pointing to `target`.
    pub fn symlink(&self, rel: impl AsRef<Path>, target: impl AsRef<Path>) -> PathBuf {
        let p = self.path(rel);
        std::os::unix::fs::symlink(target, &p).expect("create symlink");
        p
    }

    /// Creates a FIFO at `rel` (through `mkfifo`, keeping tests free of unsafe code).
    pub fn fifo(&self, rel: impl AsRef<Path>) -> PathBuf {
        let p = self.path(rel);
        let ok = std::process::Command::new("mkfifo").arg(&p).status().expect("run mkfifo");
        assert!(ok.success(), "mkfifo failed");
        p
    }
}

impl Default for Tree {
    fn default() -> Self {
        Tree::new()
    }
}

/// `n` deterministic bytes that do not compress (xorshift64 from `seed`; the same `n` and
/// `seed` give the same bytes), for fixtures that must not shrink (container segments,
/// compression units, byte-flip rounds).
pub fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// A harmless marker string for detection tests, assembled at run time.
pub fn eicar_like() -> Vec<u8> {
    let parts = ["FERRET-", "TEST-", "MARKER-", "not-malware-", "3c1f"];
    parts.concat().into_bytes()
}

/// The README's example, run as a doctest so it keeps compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
