//! Virtual-disk containers read in place, each presented as a [`ReadAt`] over the virtual
//! disk so the partition tables and file systems above read it as a raw disk: VHD (fixed,
//! dynamic, differencing), VHDX (fixed, dynamic), VMDK (monolithic sparse, stream-optimised,
//! split sparse, flat, split flat) and E01/EWF (multi-segment, zlib chunks).
//!
//! Every reader is read-only, bounded and panic-free: a size, count or offset read from a
//! container is checked against the file's size and fixed limits before anything is
//! allocated by it; tables larger than `MAX_TABLE` are refused; at most a few decoded
//! tables or blocks are cached (`Cache`). A damaged container is a reason (a `String`)
//! naming what was wrong, which the caller turns into a problem naming the file; a read that
//! meets damage later is an `io::Error` saying what and where.
//!
//! Files a container names (a VMDK's extents, a differencing disk's parent, an E01's further
//! segments) are looked for only beside it: the name's last component, in the container's
//! folder, opened through `ferret_fs::open_read_only` (never a FIFO or device).

pub(crate) mod ewf;
pub(crate) mod vhd;
pub(crate) mod vhdx;
pub(crate) mod vmdk;

use std::collections::VecDeque;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::image::{ImageFile, ReadAt};

/// The largest table (a BAT, a grain directory, a chunk table) read from a container.
pub(crate) const MAX_TABLE: u64 = 64 << 20;
/// The largest virtual disk accepted (64 TiB: VHDX's own limit).
pub(crate) const MAX_DISK: u64 = 64 << 40;
/// The deepest chain of differencing disks followed.
pub(crate) const MAX_CHAIN: usize = 16;
/// The most files one container may be made of (VMDK extents, E01 segments).
pub(crate) const MAX_FILES: usize = 4096;

/// A virtual disk opened from a container.
pub(crate) struct Disk {
    /// The disk's bytes as a raw disk.
    pub reader: Arc<dyn ReadAt>,
    /// The container format, as `Provenance::container_format` names it.
    pub format: &'static str,
    /// Damage seen while opening that still let the disk be read (each a reason).
    pub problems: Vec<String>,
    /// Checksums of the whole disk the container stores (`MD5`, `SHA-1`), for
    /// `--verify-container`.
    pub stored: Vec<(&'static str, Vec<u8>)>,
}

/// The container formats recognised by their first bytes: the name shown, and whether
/// ferret reads it.
pub(crate) const MAGICS: [(&[u8], &str, bool); 9] = [
    (b"vhdxfile", "VHDX", true),
    (b"KDMV", "VMDK (sparse extent)", true),
    (b"# Disk DescriptorFile", "VMDK (descriptor)", true),
    (b"conectix", "VHD (dynamic or differencing)", true),
    (b"EVF\x09\x0d\x0a\xff\x00", "E01 (EWF)", true),
    (b"QFI\xfb", "QCOW2", false),
    (b"EVF2\x0d\x0a\x81\x00", "Ex01 (EWF2)", false),
    (b"LVF\x09\x0d\x0a\xff\x00", "L01 (EWF logical evidence)", false),
    (b"LEF2\x0d\x0a\x81\x00", "Lx01 (EWF2 logical evidence)", false),
];

/// Opens the container whose first bytes are `head`, if it is one ferret reads. `None`: not
/// a container (a raw disk or volume, or a fixed VHD, which the caller handles).
pub(crate) fn open(
    path: &Path,
    file: Arc<dyn ReadAt>,
    head: &[u8],
) -> Option<Result<Disk, String>> {
    let (_, name, read) = MAGICS.iter().find(|(magic, _, _)| head.starts_with(magic))?;
    if !read {
        let hint = if name.starts_with("QCOW") {
            "convert it to raw, `qemu-img convert -O raw`, to examine it"
        } else {
            "export it to raw, `ewfexport -f raw`, or examine the files it holds as a folder"
        };
        return Some(Err(format!(
            "a {name} container, a format ferret does not read yet: nothing in it was \
             examined ({hint})"
        )));
    }
    Some(match *name {
        "VHDX" => vhdx::open(path, file, &[]),
        "VMDK (sparse extent)" => vmdk::open_sparse(path, file),
        "VMDK (descriptor)" => vmdk::open_descriptor(path, &*file),
        "VHD (dynamic or differencing)" => vhd::open(path, file, &[]),
        _ => ewf::open(path, file),
    })
}

/// The file a container names (`raw` as recorded: a bare name, a relative or an absolute
/// Windows or Unix path), looked for beside `container` by its last component.
pub(crate) fn beside(container: &Path, raw: &str) -> Result<PathBuf, String> {
    let name = raw.rsplit(['/', '\\']).next().unwrap_or_default().trim_matches('\0').trim();
    if name.is_empty() || name == "." || name == ".." || name.contains(':') {
        return Err(format!("names a file ferret cannot look for: {raw:?}"));
    }
    let dir = container.parent().unwrap_or_else(|| Path::new(""));
    Ok(dir.join(name))
}

/// The chain of differencing disks with `child` added, checked before its parent `parent`
/// is opened: a parent already in the chain (a loop) or a chain deeper than [`MAX_CHAIN`] is
/// refused.
pub(crate) fn extend_chain(
    child: &Path,
    parent: &Path,
    chain: &[PathBuf],
) -> Result<Vec<PathBuf>, String> {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let mut out = chain.to_vec();
    out.push(canon(child));
    let p = canon(parent);
    if out.contains(&p) {
        return Err(format!(
            "the chain of differencing disks loops: {} is its own ancestor; stopped",
            parent.display()
        ));
    }
    if out.len() >= MAX_CHAIN {
        return Err(format!(
            "the chain of differencing disks is deeper than {MAX_CHAIN}; stopped at {}",
            parent.display()
        ));
    }
    Ok(out)
}

/// Opens a file a container names, read-only.
pub(crate) fn open_file(path: &Path) -> Result<Arc<dyn ReadAt>, String> {
    match ImageFile::open(path) {
        Ok(f) => Ok(Arc::new(f)),
        Err(e) => Err(format!("{}: cannot open: {e}", path.display())),
    }
}

/// Opens `data` as whatever container its first bytes name and reads the disk's start, middle
/// and end through it: what the fuzz targets and the never-panics tests run. Files the
/// container names are looked for in a folder that does not exist.
#[doc(hidden)]
pub fn fuzz(data: &[u8]) {
    let path = Path::new("/nonexistent-ferret-fuzz/disk");
    let head = data.get(..data.len().min(8192)).unwrap_or_default();
    let file: Arc<dyn ReadAt> = Arc::new(data.to_vec());
    let Some(Ok(disk)) = open(path, file, head) else { return };
    let size = disk.reader.size();
    let mut buf = vec![0u8; 65536];
    for at in [0, size / 3, size / 2, size.saturating_sub(4096)] {
        let _ = disk.reader.read_at(&mut buf, at);
    }
}

/// A read of `want` bytes at `offset` of a disk of `size` bytes laid out in blocks of
/// `block_size`, cut at the end of the block and of the disk: (block, offset within it,
/// bytes to read). The caller has checked `offset < size`.
pub(crate) fn block_span(
    offset: u64,
    want: usize,
    block_size: u64,
    size: u64,
) -> (u64, u64, usize) {
    let block = offset / block_size;
    let within = offset % block_size;
    let room = (block_size - within).min(size - offset);
    (block, within, want.min(usize::try_from(room).unwrap_or(usize::MAX)))
}

/// Reads what a differencing disk does not hold from its parent; without a parent, or past a
/// parent smaller than the child, the bytes read as zeros.
pub(crate) fn read_parent(
    parent: Option<&Arc<dyn ReadAt>>,
    buf: &mut [u8],
    offset: u64,
) -> io::Result<usize> {
    if let Some(p) = parent {
        let n = p.read_at(buf, offset)?;
        if n > 0 {
            return Ok(n);
        }
    }
    buf.fill(0);
    Ok(buf.len())
}

/// An `io::Error` for damage met while reading.
pub(crate) fn damaged(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

/// Reads exactly `len` bytes at `offset` of `r` into a new buffer; `len` must already have
/// been checked against limits.
pub(crate) fn read_vec(r: &dyn ReadAt, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    if len > MAX_TABLE || offset.checked_add(len).is_none_or(|end| end > r.size()) {
        return Err(damaged(format!(
            "{len} bytes at offset {offset} lie past the end of the file ({} bytes)",
            r.size()
        )));
    }
    let mut buf = vec![0u8; usize::try_from(len).unwrap_or(0)];
    crate::image::read_exact_at(r, &mut buf, offset)?;
    Ok(buf)
}

/// A few decoded items (tables, decompressed grains or chunks) kept by key, the least
/// recently used dropped first.
pub(crate) struct Cache<T> {
    slots: Mutex<VecDeque<(u64, Arc<T>)>>,
    cap: usize,
}

impl<T> Cache<T> {
    pub(crate) fn new(cap: usize) -> Cache<T> {
        Cache { slots: Mutex::new(VecDeque::new()), cap }
    }

    /// The item for `key`, made by `make` when not cached.
    pub(crate) fn get(&self, key: u64, make: impl FnOnce() -> io::Result<T>) -> io::Result<Arc<T>> {
        if let Ok(mut slots) = self.slots.lock()
            && let Some(i) = slots.iter().position(|(k, _)| *k == key)
            && let Some(hit) = slots.remove(i)
        {
            let item = Arc::clone(&hit.1);
            slots.push_front(hit);
            return Ok(item);
        }
        let item = Arc::new(make()?);
        if let Ok(mut slots) = self.slots.lock() {
            slots.push_front((key, Arc::clone(&item)));
            slots.truncate(self.cap);
        }
        Ok(item)
    }
}

/// Disks laid end to end (a VMDK's extents): `(start, reader)` in order, each reader's size
/// its length.
pub(crate) struct Concat {
    parts: Vec<(u64, Arc<dyn ReadAt>)>,
    size: u64,
}

impl Concat {
    pub(crate) fn new(readers: Vec<Arc<dyn ReadAt>>) -> Concat {
        let mut parts = Vec::with_capacity(readers.len());
        let mut at = 0u64;
        for r in readers {
            let len = r.size();
            parts.push((at, r));
            at = at.saturating_add(len);
        }
        Concat { parts, size: at }
    }
}

impl ReadAt for Concat {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        if offset >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let i = self.parts.partition_point(|(start, _)| *start <= offset).saturating_sub(1);
        let Some((start, r)) = self.parts.get(i) else { return Ok(0) };
        let within = offset - start;
        let room = usize::try_from(r.size().saturating_sub(within)).unwrap_or(usize::MAX);
        let len = buf.len().min(room);
        if len == 0 {
            return Ok(0);
        }
        r.read_at(buf.get_mut(..len).unwrap_or_default(), within)
    }

    fn size(&self) -> u64 {
        self.size
    }
}

/// A disk of zeros (a VMDK `ZERO` extent; what a block not present in a base disk reads as).
pub(crate) struct Zeros(pub u64);

impl ReadAt for Zeros {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let room = usize::try_from(self.0.saturating_sub(offset)).unwrap_or(usize::MAX);
        let n = buf.len().min(room);
        buf.get_mut(..n).unwrap_or_default().fill(0);
        Ok(n)
    }

    fn size(&self) -> u64 {
        self.0
    }
}

/// Big-endian fields (VHD is big-endian; the rest little-endian, see `crate::bytes`).
pub(crate) fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(s.try_into().ok()?))
}

pub(crate) fn be64(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(8)?)?;
    Some(u64::from_be_bytes(s.try_into().ok()?))
}

/// CRC-32C (Castagnoli), as VHDX checksums its headers and tables.
pub(crate) fn crc32c(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, slot) in t.iter_mut().enumerate() {
            let mut c = u32::try_from(i).unwrap_or(0);
            for _ in 0..8 {
                c = if c & 1 != 0 { (c >> 1) ^ 0x82F6_3B78 } else { c >> 1 };
            }
            *slot = c;
        }
        t
    });
    let mut crc = !0u32;
    for &b in data {
        let i = usize::from(crc.to_le_bytes()[0] ^ b);
        crc = table.get(i).copied().unwrap_or(0) ^ (crc >> 8);
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn beside_keeps_to_the_folder() {
        let c = Path::new("/ev/disk.vmdk");
        assert_eq!(beside(c, "disk-s001.vmdk").unwrap(), Path::new("/ev/disk-s001.vmdk"));
        assert_eq!(beside(c, r"C:\VMs\base.vhdx").unwrap(), Path::new("/ev/base.vhdx"));
        assert_eq!(beside(c, "../../etc/passwd").unwrap(), Path::new("/ev/passwd"));
        assert!(beside(c, "..").is_err());
        assert!(beside(c, "dir/").is_err());
    }

    #[test]
    fn concat_reads_across_parts() {
        let a: Arc<dyn ReadAt> = Arc::new(vec![1u8, 2, 3]);
        let b: Arc<dyn ReadAt> = Arc::new(vec![4u8, 5]);
        let c = Concat::new(vec![a, Arc::new(Zeros(2)), b]);
        assert_eq!(c.size(), 7);
        let mut buf = [9u8; 7];
        crate::image::read_exact_at(&c, &mut buf, 0).unwrap();
        assert_eq!(buf, [1, 2, 3, 0, 0, 4, 5]);
    }

    #[test]
    fn cache_keeps_the_most_recent() {
        let c = Cache::new(2);
        let mut made = 0;
        for k in [1u64, 2, 1, 3, 1, 2] {
            c.get(k, || {
                made += 1;
                Ok(k)
            })
            .unwrap();
        }
        assert_eq!(made, 4, "1, 2, 3, then 2 again after it was dropped");
    }
}
