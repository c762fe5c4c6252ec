//! ferret's own files: never matched against the rules of the run.
//!
//! A sweep finds the running executable, the rule files and bundles it loaded, copies of the
//! built-in pack's sources and a compiled-rule cache; every one of them holds the strings
//! the rules look for. [`OwnFiles`] knows them by device and inode and by size plus SHA-256,
//! so a byte-identical copy anywhere is recognised while a look-alike with other content
//! (a web shell named like a rule file, a rule file with a shell appended) is scanned as
//! usual.

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use ferret_fs::hash::{HashKinds, hash_reader};
use sha2::{Digest as _, Sha256};

/// The files ferret itself brought to the run.
#[derive(Clone, Debug, Default)]
pub struct OwnFiles {
    inodes: HashSet<(u64, u64)>,
    by_size: HashMap<u64, Vec<[u8; 32]>>,
}

impl OwnFiles {
    /// An empty set.
    pub fn new() -> OwnFiles {
        OwnFiles::default()
    }

    /// Adds a file on disk (the executable, a rule file) by inode and content. A file that
    /// cannot be read is left out: it then gets scanned like any other.
    pub fn add_file(&mut self, path: &Path) {
        let Ok((mut f, meta)) = ferret_fs::open_read_only(path) else {
            return;
        };
        self.inodes.insert((meta.dev(), meta.ino()));
        let mut buf = Vec::new();
        if let Ok((d, n)) =
            hash_reader(HashKinds { sha256: true, ..HashKinds::default() }, &mut f, &mut buf)
            && let Some(h) = d.sha256
        {
            self.add_digest(n, h);
        }
    }

    /// Adds a file whose SHA-256 is already known (the executable, hashed once for the
    /// report header), by inode and content, without reading it again.
    pub fn add_file_hashed(&mut self, path: &Path, sha256: [u8; 32]) {
        if let Ok(meta) = std::fs::metadata(path) {
            self.inodes.insert((meta.dev(), meta.ino()));
            self.add_digest(meta.len(), sha256);
        }
    }

    /// Adds content ferret carries in memory (a built-in rule source).
    pub fn add_bytes(&mut self, bytes: &[u8]) {
        self.add_digest(bytes.len() as u64, Sha256::digest(bytes).into());
    }

    fn add_digest(&mut self, size: u64, sha256: [u8; 32]) {
        let v = self.by_size.entry(size).or_default();
        if !v.contains(&sha256) {
            v.push(sha256);
        }
    }

    /// Whether this very file (device and inode) is one of ferret's.
    pub fn is_own_inode(&self, meta: &std::fs::Metadata) -> bool {
        !self.inodes.is_empty() && self.inodes.contains(&(meta.dev(), meta.ino()))
    }

    /// Whether a file of this size could be a copy of one of ferret's (then its SHA-256
    /// decides).
    pub fn size_may_match(&self, size: u64) -> bool {
        self.by_size.contains_key(&size)
    }

    /// Whether content of this size and SHA-256 is one of ferret's files.
    pub fn is_own_content(&self, size: u64, sha256: &[u8; 32]) -> bool {
        self.by_size.get(&size).is_some_and(|v| v.contains(sha256))
    }

    /// Number of distinct contents known.
    pub fn len(&self) -> usize {
        self.by_size.values().map(Vec::len).sum()
    }

    /// Whether nothing is known.
    pub fn is_empty(&self) -> bool {
        self.inodes.is_empty() && self.by_size.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[expect(clippy::disallowed_methods, reason = "the test writes its fixture")]
    fn copies_match_by_content_and_look_alikes_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let rule = dir.path().join("r.yar");
        std::fs::write(&rule, b"rule x { condition: true }").unwrap();
        let mut own = OwnFiles::new();
        own.add_file(&rule);
        own.add_bytes(b"builtin text");
        let meta = std::fs::metadata(&rule).unwrap();
        assert!(own.is_own_inode(&meta));
        let copy: [u8; 32] = Sha256::digest(b"rule x { condition: true }").into();
        assert!(own.size_may_match(26));
        assert!(own.is_own_content(26, &copy));
        let other: [u8; 32] = Sha256::digest(b"rule y { condition: true }").into();
        assert!(!own.is_own_content(26, &other));
        assert!(own.is_own_content(12, &Sha256::digest(b"builtin text").into()));
        assert_eq!(own.len(), 2);
    }
}
