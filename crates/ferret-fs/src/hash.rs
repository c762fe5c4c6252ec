//! One-pass hashing of only the digests a caller needs.
//!
//! MD5 costs more than SHA-256 on CPUs with SHA extensions, so nothing is computed unless a
//! loaded indicator set or the manifest asks for it.

use std::io::{self, Read};

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
}
