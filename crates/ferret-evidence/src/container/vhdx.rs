//! VHDX (MS-VHDX 1.0): the two headers (the valid one, by CRC-32C, with the higher sequence
//! number), the region table (BAT and metadata regions), the metadata items (block size,
//! virtual disk size, logical sector size, parent locator) and the BAT. Payload blocks not
//! present, zero or unmapped read as zeros in a base disk; in a differencing disk they read
//! from the parent, found beside the child by its recorded name, and partly present blocks
//! take each sector from the child or the parent by the block's sector bitmap.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Cache, Disk, MAX_DISK, MAX_TABLE, block_span, crc32c, damaged, read_parent, read_vec};
use crate::bytes::{u16_at, u32_at, u64_at, utf16_at};
use crate::image::ReadAt;

const BAT_GUID: [u8; 16] =
    guid(0x2DC2_7766, 0xF623, 0x4200, [0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD, 0x4A, 0x08]);
const METADATA_GUID: [u8; 16] =
    guid(0x8B7C_A206, 0x4790, 0x4B9A, [0xB8, 0xFE, 0x57, 0x5F, 0x05, 0x0F, 0x88, 0x6E]);
const FILE_PARAMETERS: [u8; 16] =
    guid(0xCAA1_6737, 0xFA36, 0x4D43, [0xB3, 0xB6, 0x33, 0xF0, 0xAA, 0x44, 0xE7, 0x6B]);
const VIRTUAL_DISK_SIZE: [u8; 16] =
    guid(0x2FA5_4224, 0xCD1B, 0x4876, [0xB2, 0x11, 0x5D, 0xBE, 0xD8, 0x3B, 0xF4, 0xB8]);
const LOGICAL_SECTOR_SIZE: [u8; 16] =
    guid(0x8141_BF1D, 0xA96F, 0x4709, [0xBA, 0x47, 0xF2, 0x33, 0xA8, 0xFA, 0xAB, 0x5F]);
const PARENT_LOCATOR: [u8; 16] =
    guid(0xA8D3_5F2D, 0xB30B, 0x454D, [0xAB, 0xF7, 0xD3, 0xD8, 0x48, 0x34, 0xAB, 0x0C]);

/// A GUID as stored on disk (first three fields little-endian).
const fn guid(a: u32, b: u16, c: u16, d: [u8; 8]) -> [u8; 16] {
    let a = a.to_le_bytes();
    let b = b.to_le_bytes();
    let c = c.to_le_bytes();
    [a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]
}

const KIB: u64 = 1024;
const MIB: u64 = 1024 * 1024;

/// BAT payload states.
const PAYLOAD_FULLY_PRESENT: u64 = 6;
const PAYLOAD_PARTIALLY_PRESENT: u64 = 7;

fn header(file: &dyn ReadAt, at: u64) -> Option<(u64, Vec<u8>)> {
    let mut h = read_vec(file, at, 4 * KIB).ok()?;
    if h.get(..4) != Some(b"head") {
        return None;
    }
    let stored = u32_at(&h, 4)?;
    h.get_mut(4..8)?.fill(0);
    if crc32c(&h) != stored || u16_at(&h, 66) != Some(1) {
        return None;
    }
    Some((u64_at(&h, 8)?, h))
}

fn region_table(file: &dyn ReadAt, at: u64) -> Option<Vec<u8>> {
    let mut t = read_vec(file, at, 64 * KIB).ok()?;
    if t.get(..4) != Some(b"regi") {
        return None;
    }
    let stored = u32_at(&t, 4)?;
    t.get_mut(4..8)?.fill(0);
    (crc32c(&t) == stored && u32_at(&t, 8)? <= 2047).then_some(t)
}

/// The parameters read from the metadata region.
struct Meta {
    block_size: u64,
    has_parent: bool,
    leave_allocated: bool,
    size: u64,
    sector: u64,
    parent: Vec<(String, String)>,
}

fn metadata(file: &dyn ReadAt, offset: u64, len: u64) -> Result<Meta, String> {
    if len > MIB * 16 {
        return Err(format!("the metadata region is {len} bytes; at most 16 MiB is read"));
    }
    let region = read_vec(file, offset, len)
        .map_err(|e| format!("the metadata region cannot be read: {e}"))?;
    if region.get(..8) != Some(b"metadata") {
        return Err("the metadata region has no metadata table".into());
    }
    let count = usize::from(u16_at(&region, 10).unwrap_or(0)).min(2047);
    let mut items: Vec<([u8; 16], &[u8])> = Vec::new();
    for i in 0..count {
        let e = 32 + 32 * i;
        let Some(id) = region.get(e..e + 16).and_then(|s| <[u8; 16]>::try_from(s).ok()) else {
            break;
        };
        let off = u32_at(&region, e + 16).unwrap_or(0) as usize;
        let n = u32_at(&region, e + 20).unwrap_or(0) as usize;
        let data = off
            .checked_add(n)
            .and_then(|end| region.get(off..end))
            .ok_or_else(|| format!("metadata item {i} lies outside the metadata region"))?;
        items.push((id, data));
    }
    let item = |id: [u8; 16]| items.iter().find(|(g, _)| *g == id).map(|(_, d)| *d);
    let params = item(FILE_PARAMETERS).ok_or("no file parameters in the metadata")?;
    let block_size = u64::from(u32_at(params, 0).unwrap_or(0));
    let flags = u32_at(params, 4).unwrap_or(0);
    let size = item(VIRTUAL_DISK_SIZE)
        .and_then(|d| u64_at(d, 0))
        .ok_or("no virtual disk size in the metadata")?;
    let sector = item(LOGICAL_SECTOR_SIZE)
        .and_then(|d| u32_at(d, 0))
        .map(u64::from)
        .ok_or("no logical sector size in the metadata")?;
    let mut parent = Vec::new();
    if let Some(loc) = item(PARENT_LOCATOR) {
        let pairs = usize::from(u16_at(loc, 18).unwrap_or(0)).min(64);
        for i in 0..pairs {
            let e = 20 + 12 * i;
            let (Some(ko), Some(vo), Some(kl), Some(vl)) =
                (u32_at(loc, e), u32_at(loc, e + 4), u16_at(loc, e + 8), u16_at(loc, e + 10))
            else {
                break;
            };
            let text = |o: u32, l: u16| utf16_at(loc, o as usize, usize::from(l) / 2);
            if let (Some(k), Some(v)) = (text(ko, kl), text(vo, vl)) {
                parent.push((k, v));
            }
        }
    }
    Ok(Meta {
        block_size,
        has_parent: flags & 2 != 0,
        leave_allocated: flags & 1 != 0,
        size,
        sector,
        parent,
    })
}

/// A VHDX's virtual disk.
struct Vhdx {
    file: Arc<dyn ReadAt>,
    name: String,
    bat: Vec<u64>,
    block_size: u64,
    sector: u64,
    chunk_ratio: u64,
    size: u64,
    parent: Option<Arc<dyn ReadAt>>,
    bitmaps: Cache<Vec<u8>>,
}

/// Opens the VHDX at `path`; `chain` holds the differencing children above it (canonical
/// paths), so a parent chain that loops is seen.
pub(crate) fn open(path: &Path, file: Arc<dyn ReadAt>, chain: &[PathBuf]) -> Result<Disk, String> {
    let mut problems = Vec::new();
    let h1 = header(&*file, 64 * KIB);
    let h2 = header(&*file, 128 * KIB);
    if h1.is_none() != h2.is_none() {
        problems.push(
            "one of the two VHDX headers is damaged (signature or CRC-32C); the other was used"
                .to_owned(),
        );
    }
    let (_, head) = match (h1, h2) {
        (Some(a), Some(b)) => {
            if a.0 >= b.0 {
                a
            } else {
                b
            }
        }
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => {
            return Err("neither VHDX header is valid (signature, version or CRC-32C)".into());
        }
    };
    if head.get(48..64).is_some_and(|g| g.iter().any(|b| *b != 0)) {
        problems.push(
            "the VHDX log holds writes not yet applied (the disk was not closed cleanly); the \
             disk was read without them"
                .to_owned(),
        );
    }
    let regions = region_table(&*file, 192 * KIB)
        .or_else(|| {
            problems.push("the first VHDX region table is damaged; the second was used".into());
            region_table(&*file, 256 * KIB)
        })
        .ok_or("neither VHDX region table is valid (signature or CRC-32C)")?;
    let mut bat_region = None;
    let mut meta_region = None;
    for i in 0..u32_at(&regions, 8).unwrap_or(0) as usize {
        let e = 16 + 32 * i;
        let id = regions.get(e..e + 16).unwrap_or_default();
        let offset = u64_at(&regions, e + 16).unwrap_or(0);
        let len = u64::from(u32_at(&regions, e + 24).unwrap_or(0));
        let required = u32_at(&regions, e + 28).unwrap_or(0) & 1 != 0;
        if id == BAT_GUID {
            bat_region = Some((offset, len));
        } else if id == METADATA_GUID {
            meta_region = Some((offset, len));
        } else if required {
            return Err("the VHDX requires a region ferret does not know".into());
        }
    }
    let (bat_offset, bat_len) = bat_region.ok_or("the VHDX region table names no BAT")?;
    let (meta_offset, meta_len) = meta_region.ok_or("the VHDX region table names no metadata")?;
    let meta = metadata(&*file, meta_offset, meta_len)?;
    if !(MIB..=256 * MIB).contains(&meta.block_size) || !meta.block_size.is_power_of_two() {
        return Err(format!("the VHDX block size {} is not one VHDX allows", meta.block_size));
    }
    if meta.sector != 512 && meta.sector != 4096 {
        return Err(format!("the VHDX logical sector size {} is not 512 or 4096", meta.sector));
    }
    if meta.size == 0 || meta.size > MAX_DISK || !meta.size.is_multiple_of(meta.sector) {
        return Err(format!("the VHDX virtual disk size {} is not plausible", meta.size));
    }
    let chunk_ratio = ((1u64 << 23) * meta.sector / meta.block_size).max(1);
    let blocks = meta.size.div_ceil(meta.block_size);
    let entries = if meta.has_parent {
        blocks.div_ceil(chunk_ratio) * (chunk_ratio + 1)
    } else {
        blocks + (blocks - 1) / chunk_ratio
    };
    let bytes = entries * 8;
    if bytes > bat_len || bytes > MAX_TABLE {
        return Err(format!(
            "the VHDX BAT needs {entries} entries but its region holds {bat_len} bytes"
        ));
    }
    let raw = read_vec(&*file, bat_offset, bytes).map_err(|e| format!("the VHDX BAT: {e}"))?;
    let bat: Vec<u64> =
        raw.chunks_exact(8).map(|c| <[u8; 8]>::try_from(c).map_or(0, u64::from_le_bytes)).collect();
    // Every (chunk ratio + 1)th entry is a sector bitmap block's (1 MiB); the rest are
    // payload blocks'.
    let past = bat
        .iter()
        .enumerate()
        .filter(|(i, e)| {
            let state = *e & 7;
            let len =
                if (*i as u64 + 1).is_multiple_of(chunk_ratio + 1) { MIB } else { meta.block_size };
            (state == PAYLOAD_FULLY_PRESENT || state == PAYLOAD_PARTIALLY_PRESENT)
                && ((*e >> 20) << 20).saturating_add(len) > file.size()
        })
        .count();
    if past > 0 {
        problems.push(format!(
            "{past} VHDX BAT entries point past the end of the file (truncated?); their blocks \
             cannot be read"
        ));
    }
    let name = "VHDX".to_owned();
    let mut parent = None;
    let mut format = if meta.leave_allocated { "vhdx-fixed" } else { "vhdx-dynamic" };
    if meta.has_parent {
        format = "vhdx-differencing";
        let named = ["relative_path", "absolute_win32_path", "volume_path"]
            .iter()
            .find_map(|k| meta.parent.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()))
            .ok_or("a differencing VHDX whose parent locator names no parent file")?;
        let at = super::beside(path, &named).map_err(|e| format!("the parent {e}"))?;
        let chain = super::extend_chain(path, &at, chain)?;
        let pfile = super::open_file(&at)
            .map_err(|e| format!("a differencing VHDX whose parent {named:?} is missing: {e}"))?;
        let mut head = [0u8; 8];
        let _ = crate::image::read_exact_at(&*pfile, &mut head, 0);
        let p = if head == *b"vhdxfile" {
            open(&at, pfile, &chain)
        } else {
            Err("it is not a VHDX".to_owned())
        }
        .map_err(|e| format!("the parent {}: {e}", at.display()))?;
        if p.reader.size() < meta.size {
            problems
                .push(format!("the parent {} is smaller than the differencing disk", at.display()));
        }
        problems
            .extend(p.problems.into_iter().map(|q| format!("the parent {}: {q}", at.display())));
        parent = Some(p.reader);
    }
    let reader = Vhdx {
        file,
        name,
        bat,
        block_size: meta.block_size,
        sector: meta.sector,
        chunk_ratio,
        size: meta.size,
        parent,
        bitmaps: Cache::new(4),
    };
    Ok(Disk { reader: Arc::new(reader), format, problems, stored: Vec::new() })
}

impl Vhdx {
    fn entry(&self, i: u64) -> u64 {
        usize::try_from(i).ok().and_then(|i| self.bat.get(i)).copied().unwrap_or(0)
    }

    fn read_file(&self, buf: &mut [u8], at: u64) -> io::Result<usize> {
        let n = self.file.read_at(buf, at)?;
        if n == 0 {
            return Err(damaged(format!(
                "{}: a block at offset {at} lies past the end of the file",
                self.name
            )));
        }
        Ok(n)
    }
}

impl ReadAt for Vhdx {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        if offset >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let (block, within, len) = block_span(offset, buf.len(), self.block_size, self.size);
        let buf = buf.get_mut(..len).unwrap_or_default();
        let entry = self.entry(block + block / self.chunk_ratio);
        let at = (entry >> 20) << 20;
        match entry & 7 {
            PAYLOAD_PARTIALLY_PRESENT if self.parent.is_some() => {
                // The sector bitmap block after this chunk's payload entries: one bit per
                // logical sector, 1 MiB per chunk.
                let chunk = block / self.chunk_ratio;
                let bentry = self.entry(chunk * (self.chunk_ratio + 1) + self.chunk_ratio);
                if bentry & 7 != 6 {
                    return Err(damaged(format!(
                        "{}: block {block} is partly present but its sector bitmap is not",
                        self.name
                    )));
                }
                let bitmap =
                    self.bitmaps.get(chunk, || read_vec(&*self.file, (bentry >> 20) << 20, MIB))?;
                let sector = (offset % (self.block_size * self.chunk_ratio)) / self.sector;
                let present = usize::try_from(sector / 8)
                    .ok()
                    .and_then(|i| bitmap.get(i))
                    .is_some_and(|b| b & (1 << (sector % 8)) != 0);
                let to_end = self.sector - offset % self.sector;
                let n = len.min(usize::try_from(to_end).unwrap_or(usize::MAX));
                let part = buf.get_mut(..n).unwrap_or_default();
                if present {
                    self.read_file(part, at + within)
                } else {
                    read_parent(self.parent.as_ref(), part, offset)
                }
            }
            PAYLOAD_FULLY_PRESENT | PAYLOAD_PARTIALLY_PRESENT => self.read_file(buf, at + within),
            0..=3 => read_parent(self.parent.as_ref(), buf, offset),
            state => Err(damaged(format!(
                "{}: block {block} has the unknown BAT state {state}",
                self.name
            ))),
        }
    }

    fn size(&self) -> u64 {
        self.size
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn guids_as_stored() {
        assert_eq!(
            BAT_GUID,
            [
                0x66, 0x77, 0xC2, 0x2D, 0x23, 0xF6, 0x00, 0x42, 0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD,
                0x4A, 0x08
            ]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn random_bytes_never_panic(mut data in proptest::collection::vec(any::<u8>(), 0..4096), at in 0usize..300_000) {
            // Random bytes behind a plausible start, spread over where the headers lie.
            data.splice(0..0, b"vhdxfile".iter().copied());
            let mut image = vec![0u8; at.min(300_000)];
            image.extend_from_slice(&data);
            crate::container::fuzz(&image);
        }
    }
}
