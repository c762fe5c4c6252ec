//! ferret-testkit: helpers for ferret's tests (a dev-dependency only).
//!
//! [`Tree`] builds a temporary directory of fixture files; [`eicar_like`] builds a harmless
//! test marker at run time from split literals so that no source file carries a signature.

#![expect(clippy::disallowed_methods, reason = "test fixtures are written on purpose")]

use std::path::{Path, PathBuf};

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

/// A harmless marker string for detection tests, assembled at run time.
pub fn eicar_like() -> Vec<u8> {
    let parts = ["FERRET-", "TEST-", "MARKER-", "not-malware-", "3c1f"];
    parts.concat().into_bytes()
}
