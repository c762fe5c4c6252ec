//! One-pass hashing of only the digests a caller needs.
//!
//! MD5 costs more than SHA-256 on CPUs with SHA extensions, so nothing is computed unless a
//! loaded indicator set or the manifest asks for it.

use std::fs::{File, Metadata};
use std::io::{self, Read, Seek as _};

use md5::Digest as _;

/// Which digests to compute.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HashKinds {
    /// MD5.
    pub md5: bool,
    /// SHA-1.
    pub sha1: bool,
    /// SHA-256.
    pub sha256: bool,
    /// BLAKE3.
    pub blake3: bool,
}

impl HashKinds {
    /// Whether no digest is wanted.
    pub fn is_empty(self) -> bool {
        !(self.md5 || self.sha1 || self.sha256 || self.blake3)
    }
}

/// The digests computed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Digests {
    /// MD5, when asked for.
    pub md5: Option<[u8; 16]>,
    /// SHA-1, when asked for.
    pub sha1: Option<[u8; 20]>,
    /// SHA-256, when asked for.
    pub sha256: Option<[u8; 32]>,
    /// BLAKE3, when asked for.
    pub blake3: Option<[u8; 32]>,
}

/// Incremental hasher over the chosen digests.
pub struct MultiHasher {
    md5: Option<md5::Md5>,
    sha1: Option<sha1::Sha1>,
    sha256: Option<sha2::Sha256>,
    blake3: Option<Box<blake3::Hasher>>,
}

impl MultiHasher {
    /// A hasher for `kinds`.
    pub fn new(kinds: HashKinds) -> MultiHasher {
        MultiHasher {
            md5: kinds.md5.then(md5::Md5::new),
            sha1: kinds.sha1.then(sha1::Sha1::new),
            sha256: kinds.sha256.then(sha2::Sha256::new),
            blake3: kinds.blake3.then(|| Box::new(blake3::Hasher::new())),
        }
    }

    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        if let Some(h) = &mut self.md5 {
            h.update(data);
        }
        if let Some(h) = &mut self.sha1 {
            h.update(data);
        }
        if let Some(h) = &mut self.sha256 {
            h.update(data);
        }
        if let Some(h) = &mut self.blake3 {
            h.update(data);
        }
    }

    /// The digests.
    pub fn finish(self) -> Digests {
        Digests {
            md5: self.md5.map(|h| h.finalize().into()),
            sha1: self.sha1.map(|h| h.finalize().into()),
            sha256: self.sha256.map(|h| h.finalize().into()),
            blake3: self.blake3.map(|h| *h.finalize().as_bytes()),
        }
    }
}

/// Digests of a byte slice.
pub fn hash_bytes(kinds: HashKinds, data: &[u8]) -> Digests {
    let mut h = MultiHasher::new(kinds);
    h.update(data);
    h.finish()
}

/// Digests of everything `reader` yields, read in chunks through `buf` (whose length is the
/// chunk size; 256 KiB when empty). Returns the digests and the number of bytes read.
pub fn hash_reader(
    kinds: HashKinds,
    reader: &mut dyn Read,
    buf: &mut Vec<u8>,
) -> io::Result<(Digests, u64)> {
    if buf.is_empty() {
        buf.resize(256 * 1024, 0);
    }
    let mut h = MultiHasher::new(kinds);
    let mut total = 0u64;
    loop {
        let n = match reader.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(buf.get(..n).unwrap_or_default());
        total += n as u64;
    }
    Ok((h.finish(), total))
}

/// Files of this size or more are hashed through memory maps ([`crate::mapped`]) when only
/// BLAKE3 is asked for: no copy of their bytes into a buffer. Smaller ones are read (a map
/// costs more than the copy it saves).
pub const MAP_MIN: u64 = 256 << 10;

/// Bytes mapped at a time: bounds the address space and the resident pages one file holds.
const MAP_WINDOW: u64 = 32 << 20;

/// How many first bytes [`hash_file`] hands back when asked.
pub const HEAD: usize = 4096;

/// A reader that keeps the first [`HEAD`] bytes read through it.
struct HeadTap<'r> {
    inner: &'r mut dyn Read,
    head: &'r mut Vec<u8>,
}

impl Read for HeadTap<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let want = HEAD.saturating_sub(self.head.len()).min(n);
        self.head.extend_from_slice(buf.get(..want).unwrap_or_default());
        Ok(n)
    }
}

/// What [`hash_file`] found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HashedFile {
    /// The digests asked for.
    pub digests: Digests,
    /// Bytes hashed.
    pub len: u64,
    /// Whether the file's size or change times differ from `before` after hashing.
    pub changed: bool,
}

/// Digests of the first `limit` bytes of an examined file, opened by
/// [`open_read_only`](crate::open_read_only) and not read yet (at its start); `before` is
/// the metadata taken when it was opened. Files of [`MAP_MIN`] bytes or more are read
/// through read-only maps a window at a time when only BLAKE3 is asked for (see
/// `maps_pay`); if the file is cut short under a map (or a map cannot be made), the file is
/// hashed again from its start with `read(2)` through `buf`, so the result is always that of
/// reading it.
///
/// `head`, when given, is cleared and receives the file's first [`HEAD`] bytes (fewer for a
/// shorter file), for a caller that recognises files by their first bytes.
pub fn hash_file(
    kinds: HashKinds,
    file: &mut File,
    before: &Metadata,
    limit: u64,
    buf: &mut Vec<u8>,
    mut head: Option<&mut Vec<u8>>,
) -> io::Result<HashedFile> {
    let want = before.len().min(limit);
    if let Some(h) = head.as_deref_mut() {
        h.clear();
    }
    let try_map = want >= MAP_MIN && maps_pay(kinds);
    let mapped = if try_map { hash_mapped(kinds, file, want, head.as_deref_mut()) } else { None };
    let (digests, len) = match mapped {
        Some(d) => (d, want),
        None => {
            // A file is handed over as opened, at its start; only a map that failed part
            // way leaves it elsewhere (one `lseek` a file fewer).
            if try_map {
                file.rewind()?;
            }
            let mut limited = Read::take(&mut *file, limit);
            match head {
                Some(h) => {
                    h.clear();
                    hash_reader(kinds, &mut HeadTap { inner: &mut limited, head: h }, buf)?
                }
                None => hash_reader(kinds, &mut limited, buf)?,
            }
        }
    };
    let after = file.metadata()?;
    Ok(HashedFile {
        digests,
        len,
        changed: crate::open::stamp(before) != crate::open::stamp(&after),
    })
}

/// Whether reading through maps is faster than `read(2)` for these digests. Measured
/// (`BENCHMARKS.md`, hashing): for BLAKE3 alone, which hashes several times faster than the
/// copy `read(2)` makes, maps win; for SHA-256 (and the slower MD5 and SHA-1) the faults and
/// page-table walks of a map cost more than the copy they save, so those are read.
fn maps_pay(kinds: HashKinds) -> bool {
    kinds == HashKinds { blake3: true, ..HashKinds::default() }
}

/// The digests of the first `len` bytes of `file` read through maps; `None` when a window
/// could not be mapped or the file was cut short under one.
fn hash_mapped(
    kinds: HashKinds,
    file: &File,
    len: u64,
    mut head: Option<&mut Vec<u8>>,
) -> Option<Digests> {
    let mut h = MultiHasher::new(kinds);
    let mut off = 0u64;
    while off < len {
        let n = usize::try_from((len - off).min(MAP_WINDOW)).ok()?;
        let window = crate::mapped::Window::map(file, off, n)?;
        let first = off == 0;
        let ((), cut_short) = window.read(|bytes| {
            if let (true, Some(head)) = (first, head.as_deref_mut()) {
                head.extend_from_slice(bytes.get(..HEAD.min(bytes.len())).unwrap_or_default());
            }
            h.update(bytes);
        });
        if cut_short {
            return None;
        }
        off += n as u64;
    }
    Some(h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        let all = HashKinds { md5: true, sha1: true, sha256: true, blake3: true };
        let d = hash_bytes(all, b"abc");
        assert_eq!(hex::encode(d.md5.unwrap()), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(hex::encode(d.sha1.unwrap()), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            hex::encode(d.sha256.unwrap()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(d.blake3.is_some());
        let mut buf = vec![0; 2];
        let (d2, n) = hash_reader(all, &mut &b"abc"[..], &mut buf).unwrap();
        assert_eq!((d2, n), (d, 3));
    }

    #[test]
    fn only_requested_digests() {
        let d = hash_bytes(HashKinds { sha256: true, ..HashKinds::default() }, b"x");
        assert!(d.md5.is_none() && d.sha1.is_none() && d.blake3.is_none() && d.sha256.is_some());
    }

    /// A file written by the test (tests may write their fixtures).
    #[expect(clippy::disallowed_methods, reason = "tests write their fixtures")]
    fn fixture(data: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, data).unwrap();
        (d, p)
    }

    #[test]
    fn mapped_and_read_files_hash_alike_at_every_size_around_the_windows() {
        let all = HashKinds { md5: true, sha1: true, sha256: true, blake3: true };
        let mapped = HashKinds { blake3: true, ..HashKinds::default() };
        assert!(maps_pay(mapped) && !maps_pay(all));
        let window = usize::try_from(MAP_WINDOW).unwrap();
        let min = usize::try_from(MAP_MIN).unwrap();
        for size in [0, 1, min - 1, min, min + 4097, window, window + 1, 2 * window + 12345] {
            let data: Vec<u8> = (0..size).map(|i| u8::try_from(i * 31 % 253).unwrap()).collect();
            let (_d, p) = fixture(&data);
            for kinds in [all, mapped] {
                let (mut f, meta) = crate::open_read_only(&p).unwrap();
                let mut buf = Vec::new();
                let mut head = Vec::new();
                let out =
                    hash_file(kinds, &mut f, &meta, u64::MAX, &mut buf, Some(&mut head)).unwrap();
                assert_eq!(head, data[..HEAD.min(size)], "size {size}");
                assert_eq!(out.digests, hash_bytes(kinds, &data), "size {size}");
                assert_eq!(out.len, size as u64);
                assert!(!out.changed);
                // A limit below the size hashes that many bytes, mapped or read.
                let cut = size / 2;
                let (mut f, meta) = crate::open_read_only(&p).unwrap();
                let out = hash_file(kinds, &mut f, &meta, cut as u64, &mut buf, None).unwrap();
                assert_eq!(out.digests, hash_bytes(kinds, &data[..cut]), "size {size}, cut {cut}");
                assert_eq!(out.len, cut as u64);
            }
        }
    }

    #[test]
    #[expect(clippy::disallowed_methods, reason = "the test cuts its own fixture")]
    fn a_file_cut_short_while_hashed_gives_what_reading_it_gives_and_is_changed() {
        // BLAKE3 alone: read through maps, so the cut happens under one.
        let all = HashKinds { blake3: true, ..HashKinds::default() };
        let data = vec![9u8; usize::try_from(MAP_MIN).unwrap() * 4];
        let (_d, p) = fixture(&data);
        let (mut f, meta) = crate::open_read_only(&p).unwrap();
        // Cut after the open: the map sees a shorter file than `meta` says.
        std::fs::OpenOptions::new().write(true).open(&p).and_then(|w| w.set_len(1000)).unwrap();
        let mut head = Vec::new();
        let out =
            hash_file(all, &mut f, &meta, u64::MAX, &mut Vec::new(), Some(&mut head)).unwrap();
        assert_eq!(head, data[..1000]);
        assert_eq!(out.digests, hash_bytes(all, &data[..1000]));
        assert_eq!(out.len, 1000);
        assert!(out.changed);
    }
}
