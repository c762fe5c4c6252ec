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

/// Read size.
pub const CHUNK: usize = 256 << 10;

/// Alignment of the part of a buffer reads go to.
const ALIGN: usize = 4096;

/// The part of `buf` reads go to: from its first page boundary, a whole number of pages
/// long (the whole buffer when it is too small for that). On some processors the kernel's
/// copy from the page cache is far slower into a destination that is not aligned to a cache
/// line (reading and hashing 0.70 against 1.08 GB/s on one thread: `BENCHMARKS.md`,
/// hashing), and `malloc` hands out large buffers 16 bytes past a page boundary. Whole pages
/// also keep every read after the first at a page-aligned file offset.
fn aligned(buf: &mut [u8]) -> &mut [u8] {
    let off = buf.as_ptr().align_offset(ALIGN);
    let pages = buf.len().saturating_sub(off) / ALIGN * ALIGN;
    if pages == 0 {
        return buf;
    }
    buf.get_mut(off..off + pages).unwrap_or_default()
}

/// Digests of everything `reader` yields, read [`CHUNK`] bytes at a time into a page-aligned
/// part of `buf` (grown to hold one first, and reused by the caller from file to file).
/// Returns the digests and the number of bytes read.
pub fn hash_reader(
    kinds: HashKinds,
    reader: &mut dyn Read,
    buf: &mut Vec<u8>,
) -> io::Result<(Digests, u64)> {
    hash_chunks(kinds, reader, buf, None)
}

/// [`hash_reader`], told the size a regular file had when opened: a short read that brings
/// the bytes read to exactly that size is the file's end (Linux returns a short read from a
/// regular file only there), so the read that would return 0 is not made. A file that grew
/// meanwhile is still caught by its size after hashing.
fn hash_chunks(
    kinds: HashKinds,
    reader: &mut dyn Read,
    buf: &mut Vec<u8>,
    size: Option<u64>,
) -> io::Result<(Digests, u64)> {
    if buf.len() < CHUNK + ALIGN {
        buf.resize(CHUNK + ALIGN, 0);
    }
    let chunk = aligned(buf.get_mut(..CHUNK + ALIGN).unwrap_or_default());
    let mut h = MultiHasher::new(kinds);
    let mut total = 0u64;
    loop {
        let n = match reader.read(chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(chunk.get(..n).unwrap_or_default());
        total += n as u64;
        if n < chunk.len() && Some(total) == size {
            break;
        }
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
/// `maps_pay`). If the file is cut short under a map, holds more than `before` says (a size
/// the file system reported stale), or a map cannot be made, the file is hashed again from
/// its start with `read(2)` through `buf`: the result is always that of reading it.
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
    let mapped = if try_map {
        hash_mapped(kinds, file, want, head.as_deref_mut())
            // A map covers the size `before` gave; reading hashes up to the end of the file.
            // When nothing bounded the hash below that size, one byte more must not exist.
            .filter(|_| want == limit || ends_at(file, want))
    } else {
        None
    };
    let (digests, len) = match mapped {
        Some(d) => (d, want),
        None => {
            // A file is handed over as opened, at its start; only a map that failed part
            // way leaves it elsewhere (one `lseek` a file fewer).
            if try_map {
                file.rewind()?;
            }
            let mut limited = Read::take(&mut *file, limit);
            let size = Some(before.len());
            match head {
                Some(h) => {
                    h.clear();
                    hash_chunks(kinds, &mut HeadTap { inner: &mut limited, head: h }, buf, size)?
                }
                None => hash_chunks(kinds, &mut limited, buf, size)?,
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
/// copy `read(2)` makes, maps win; for SHA-256 (and the slower MD5 and SHA-1), reading into a
/// page-aligned buffer (see [`hash_reader`]) is as fast as a map, without its faults.
fn maps_pay(kinds: HashKinds) -> bool {
    kinds == HashKinds { blake3: true, ..HashKinds::default() }
}

/// Whether `file` holds no byte at offset `len` (a read there finds its end).
fn ends_at(file: &File, len: u64) -> bool {
    let mut one = [0u8; 1];
    loop {
        match std::os::unix::fs::FileExt::read_at(file, &mut one, len) {
            Ok(n) => return n == 0,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
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
    fn reads_go_to_whole_aligned_pages() {
        let mut buf = vec![0u8; CHUNK + ALIGN];
        let base = buf.as_ptr() as usize;
        let chunk = aligned(&mut buf);
        assert_eq!(chunk.as_ptr() as usize % ALIGN, 0);
        assert_eq!(chunk.len(), CHUNK);
        assert!(chunk.as_ptr() as usize + chunk.len() <= base + CHUNK + ALIGN);
        // Too small for a whole page: the buffer as it is.
        let mut small = vec![0u8; 100];
        assert_eq!(aligned(&mut small).len(), 100);
        // A buffer too small (here empty) is grown; the digests are those of the bytes.
        let data: Vec<u8> = (0..3 * CHUNK + 7).map(|i| u8::try_from(i % 241).unwrap()).collect();
        let kinds = HashKinds { sha256: true, ..HashKinds::default() };
        let mut empty = Vec::new();
        let (d, n) = hash_reader(kinds, &mut &data[..], &mut empty).unwrap();
        assert_eq!((d, n), (hash_bytes(kinds, &data), data.len() as u64));
        assert_eq!(empty.len(), CHUNK + ALIGN);
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

    #[test]
    #[expect(clippy::disallowed_methods, reason = "the test grows its own fixture")]
    fn a_file_longer_than_its_metadata_says_is_hashed_to_its_end() {
        // `before` gives a size the file has outgrown (as a stale size would). A map covers
        // that size, and the byte past it sends the file to `read(2)`; reading does not stop
        // at that size, since no short read ends there. Either way the whole file is hashed.
        let blake3 = HashKinds { blake3: true, ..HashKinds::default() };
        let sha256 = HashKinds { sha256: true, ..HashKinds::default() };
        let min = usize::try_from(MAP_MIN).unwrap();
        for (kinds, short, long) in
            [(blake3, 2 * min, 3 * min), (sha256, 2 * min, 3 * min), (sha256, 5000, 9000)]
        {
            let data: Vec<u8> = (0..long).map(|i| u8::try_from(i % 249).unwrap()).collect();
            let (_d, p) = fixture(&data[..short]);
            let (mut f, meta) = crate::open_read_only(&p).unwrap();
            std::fs::OpenOptions::new()
                .append(true)
                .open(&p)
                .and_then(|mut w| std::io::Write::write_all(&mut w, &data[short..]))
                .unwrap();
            let mut head = Vec::new();
            let out = hash_file(kinds, &mut f, &meta, u64::MAX, &mut Vec::new(), Some(&mut head))
                .unwrap();
            assert_eq!(out.digests, hash_bytes(kinds, &data), "{short} grown to {long}");
            assert_eq!(out.len, data.len() as u64);
            assert_eq!(head, data[..HEAD]);
            assert!(out.changed);
            // Bounded below the size: nothing past the bound counts.
            let (mut f, meta) = crate::open_read_only(&p).unwrap();
            let cut = short / 2;
            let out = hash_file(kinds, &mut f, &meta, cut as u64, &mut Vec::new(), None).unwrap();
            assert_eq!(out.digests, hash_bytes(kinds, &data[..cut]));
            assert!(!out.changed);
        }
    }
}
