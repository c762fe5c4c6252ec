//! VHD (Virtual Hard Disk Image Format Specification 1.0): the footer (at the end, and a copy
//! at the start of a dynamic disk), the dynamic header, the BAT and the sector bitmaps. A
//! block the BAT does not map reads as zeros in a dynamic disk and from the parent in a
//! differencing disk, where each sector of a mapped block comes from the child or the parent
//! by the block's bitmap. The parent is looked for beside the child by the names its parent
//! locators (`W2ru`, `W2ku`) and header record.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{
    Cache, Disk, MAX_DISK, MAX_TABLE, be32, be64, block_span, damaged, read_parent, read_vec,
};
use crate::image::{ReadAt, Slice, read_exact_at};

const FIXED: u32 = 2;
const DYNAMIC: u32 = 3;
const DIFFERENCING: u32 = 4;

/// Whether the one's complement checksum at `at` of a footer or header matches.
fn checksum_ok(b: &[u8], at: usize) -> bool {
    let stored = be32(b, at);
    let sum = b
        .iter()
        .enumerate()
        .filter(|(i, _)| !(at..at + 4).contains(i))
        .fold(0u32, |s, (_, v)| s.wrapping_add(u32::from(*v)));
    stored == Some(!sum)
}

fn utf16be(b: &[u8]) -> String {
    let it = b.chunks_exact(2).map(|c| <[u8; 2]>::try_from(c).map_or(0xFFFD, u16::from_be_bytes));
    char::decode_utf16(it)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect::<String>()
        .trim_end_matches('\0')
        .to_owned()
}

fn utf16le(b: &[u8]) -> String {
    let it = b.chunks_exact(2).map(|c| <[u8; 2]>::try_from(c).map_or(0xFFFD, u16::from_le_bytes));
    char::decode_utf16(it)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect::<String>()
        .trim_end_matches('\0')
        .to_owned()
}

/// A dynamic or differencing VHD's virtual disk.
struct Vhd {
    file: Arc<dyn ReadAt>,
    bat: Vec<u32>,
    block_size: u64,
    bitmap_size: u64,
    size: u64,
    /// The parent of a differencing disk.
    parent: Option<Arc<dyn ReadAt>>,
    bitmaps: Cache<Vec<u8>>,
}

/// Opens a VHD of any kind (a fixed one too, as a parent); `chain` holds the differencing
/// children above it (canonical paths), so a parent chain that loops is seen.
pub(crate) fn open(path: &Path, file: Arc<dyn ReadAt>, chain: &[PathBuf]) -> Result<Disk, String> {
    let mut problems = Vec::new();
    let size = file.size();
    let tail = if size >= 512 { read_vec(&*file, size - 512, 512).ok() } else { None };
    let head = read_vec(&*file, 0, 512.min(size)).ok();
    let valid = |f: &Vec<u8>| f.starts_with(b"conectix");
    let footer = match (tail.filter(valid), head.filter(valid)) {
        (Some(t), _) => t,
        (None, Some(h)) => {
            problems.push(
                "the VHD footer at the end is missing or damaged (truncated?); its copy at the \
                 start was used"
                    .to_owned(),
            );
            h
        }
        (None, None) => return Err("no VHD footer".into()),
    };
    if !checksum_ok(&footer, 64) {
        problems.push("the VHD footer's checksum does not match".to_owned());
    }
    let kind = be32(&footer, 60).unwrap_or(0);
    let current = be64(&footer, 48).unwrap_or(0);
    if kind == FIXED {
        let len = current.min(size.saturating_sub(512));
        if len < current {
            problems.push(format!("the fixed VHD holds {len} of its {current} bytes (truncated?)"));
        }
        return Ok(Disk {
            reader: Arc::new(Slice::new(file, 0, len)),
            format: "vhd-fixed",
            problems,
            stored: Vec::new(),
        });
    }
    if kind != DYNAMIC && kind != DIFFERENCING {
        return Err(format!("the VHD disk type {kind} is not fixed, dynamic or differencing"));
    }
    if current == 0 || current > MAX_DISK {
        return Err(format!("the VHD's size {current} is not plausible"));
    }
    let at = be64(&footer, 16).unwrap_or(u64::MAX);
    let dh = read_vec(&*file, at, 1024)
        .map_err(|e| format!("the VHD dynamic header at offset {at} cannot be read: {e}"))?;
    if !dh.starts_with(b"cxsparse") {
        return Err(format!("no VHD dynamic header at offset {at}"));
    }
    if !checksum_ok(&dh, 36) {
        problems.push("the VHD dynamic header's checksum does not match".to_owned());
    }
    let table = be64(&dh, 16).unwrap_or(u64::MAX);
    let max_entries = u64::from(be32(&dh, 28).unwrap_or(0));
    let block_size = u64::from(be32(&dh, 32).unwrap_or(0));
    if !(4096..=(256 << 20)).contains(&block_size) || !block_size.is_power_of_two() {
        return Err(format!("the VHD block size {block_size} is not plausible"));
    }
    let blocks = current.div_ceil(block_size);
    if max_entries < blocks {
        problems.push(format!(
            "the VHD's BAT has {max_entries} entries for {blocks} blocks; the rest read as \
             unallocated"
        ));
    }
    let entries = blocks.min(max_entries);
    if entries * 4 > MAX_TABLE {
        return Err(format!("the VHD BAT of {entries} entries is larger than ferret reads"));
    }
    let raw = read_vec(&*file, table, entries * 4)
        .map_err(|e| format!("the VHD BAT at offset {table}: {e}"))?;
    let bat: Vec<u32> = raw
        .chunks_exact(4)
        .map(|c| <[u8; 4]>::try_from(c).map_or(u32::MAX, u32::from_be_bytes))
        .collect();
    let bitmap_size = (block_size / 512).div_ceil(8).div_ceil(512) * 512;
    let past = bat
        .iter()
        .filter(|e| **e != u32::MAX && (u64::from(**e) * 512 + bitmap_size + block_size) > size)
        .count();
    if past > 0 {
        problems.push(format!(
            "{past} VHD BAT entries point past the end of the file (truncated?); their blocks \
             cannot be read"
        ));
    }
    let mut parent = None;
    let mut format = "vhd-dynamic";
    if kind == DIFFERENCING {
        format = "vhd-differencing";
        let (at, p) = open_parent(path, &file, &dh, chain)?;
        let mut pfooter = [0u8; 512];
        let pfile = super::open_file(&at)?;
        if read_exact_at(&*pfile, &mut pfooter, pfile.size().saturating_sub(512)).is_ok()
            && pfooter.get(68..84) != dh.get(40..56)
        {
            problems.push(format!(
                "the parent {} is not the disk the differencing VHD was made from (its \
                 identifier differs); read anyway",
                at.display()
            ));
        }
        problems
            .extend(p.problems.into_iter().map(|q| format!("the parent {}: {q}", at.display())));
        parent = Some(p.reader);
    }
    let reader =
        Vhd { file, bat, block_size, bitmap_size, size: current, parent, bitmaps: Cache::new(8) };
    Ok(Disk { reader: Arc::new(reader), format, problems, stored: Vec::new() })
}

/// Finds and opens the parent of a differencing VHD.
fn open_parent(
    path: &Path,
    file: &Arc<dyn ReadAt>,
    dh: &[u8],
    chain: &[PathBuf],
) -> Result<(PathBuf, Disk), String> {
    let mut names = Vec::new();
    for i in 0..8 {
        let e = 576 + 24 * i;
        let code = dh.get(e..e + 4).unwrap_or_default();
        let len = u64::from(be32(dh, e + 8).unwrap_or(0));
        let off = be64(dh, e + 16).unwrap_or(0);
        if (code == b"W2ru" || code == b"W2ku")
            && len <= 4096
            && let Ok(raw) = read_vec(&**file, off, len)
        {
            names.push(utf16le(&raw));
        }
    }
    names.push(utf16be(dh.get(64..576).unwrap_or_default()));
    names.retain(|n| !n.is_empty());
    let first = names.first().cloned().ok_or("a differencing VHD that names no parent")?;
    let at =
        names.iter().filter_map(|n| super::beside(path, n).ok()).find(|p| p.is_file()).ok_or_else(
            || format!("a differencing VHD whose parent {first:?} is not beside it; not examined"),
        )?;
    let chain = super::extend_chain(path, &at, chain)?;
    let pfile = super::open_file(&at)?;
    let p = open(&at, pfile, &chain).map_err(|e| format!("the parent {}: {e}", at.display()))?;
    Ok((at, p))
}

impl ReadAt for Vhd {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        if offset >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let (block, within, len) = block_span(offset, buf.len(), self.block_size, self.size);
        let buf = buf.get_mut(..len).unwrap_or_default();
        let entry = usize::try_from(block).ok().and_then(|b| self.bat.get(b)).copied();
        let Some(sector) = entry.filter(|e| *e != u32::MAX) else {
            return read_parent(self.parent.as_ref(), buf, offset);
        };
        let start = u64::from(sector) * 512;
        let buf = if self.parent.is_some() {
            let bitmap =
                self.bitmaps.get(block, || read_vec(&*self.file, start, self.bitmap_size))?;
            let s = within / 512;
            let present = usize::try_from(s / 8)
                .ok()
                .and_then(|i| bitmap.get(i))
                .is_some_and(|b| b & (0x80 >> (s % 8)) != 0);
            let n = len.min(usize::try_from(512 - within % 512).unwrap_or(512));
            let part = buf.get_mut(..n).unwrap_or_default();
            if !present {
                return read_parent(self.parent.as_ref(), part, offset);
            }
            part
        } else {
            buf
        };
        let at = start + self.bitmap_size + within;
        match self.file.read_at(buf, at)? {
            0 => Err(damaged(format!(
                "VHD: block {block} at offset {at} lies past the end of the file"
            ))),
            n => Ok(n),
        }
    }

    fn size(&self) -> u64 {
        self.size
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4096), kind in 2u8..5) {
            let mut image = b"conectix".to_vec();
            image.extend_from_slice(&data);
            if image.len() > 64 {
                image[63] = kind;
            }
            crate::container::fuzz(&image);
        }
    }
}
