//! VMDK (VMware Virtual Disk Format 1.1): hosted sparse extents (`KDMV`: grain directory and
//! grain tables; stream-optimised ones with deflate-compressed grains behind markers and the
//! directory found through the footer), and text descriptors naming extents beside them
//! (`SPARSE`, `FLAT`, `ZERO`: monolithic flat, split flat, split sparse). A descriptor is read
//! up to 64 KiB and at most [`MAX_FILES`] extents. Delta links (a descriptor with a parent)
//! are named as a problem.

use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

use super::{Cache, Concat, Disk, MAX_DISK, MAX_FILES, MAX_TABLE, Zeros, damaged, read_vec};
use crate::bytes::{u16_at, u32_at, u64_at};
use crate::image::ReadAt;

const SECTOR: u64 = 512;
const GD_AT_END: u64 = u64::MAX;
const FLAG_COMPRESSED: u32 = 1 << 16;
/// The largest descriptor read.
const MAX_DESCRIPTOR: u64 = 64 * 1024;

/// A hosted sparse extent.
struct Sparse {
    file: Arc<dyn ReadAt>,
    name: String,
    size: u64,
    grain: u64,
    per_table: u64,
    gd: Vec<u32>,
    compressed: bool,
    tables: Cache<Vec<u32>>,
    grains: Cache<Vec<u8>>,
}

/// What a sparse extent's header says, and its embedded descriptor.
fn sparse(path: &Path, file: Arc<dyn ReadAt>) -> Result<(Sparse, Option<String>), String> {
    let size = file.size();
    let mut h = read_vec(&*file, 0, SECTOR.min(size)).map_err(|e| format!("header: {e}"))?;
    if h.get(..4) != Some(b"KDMV") {
        return Err("not a VMDK sparse extent".into());
    }
    let version = u32_at(&h, 4).unwrap_or(0);
    if !(1..=3).contains(&version) {
        return Err(format!("the sparse extent version {version} is not 1, 2 or 3"));
    }
    if u64_at(&h, 56) == Some(GD_AT_END) {
        // Stream-optimised: the footer before the end-of-stream marker holds the real values.
        let footer = size
            .checked_sub(2 * SECTOR)
            .and_then(|at| read_vec(&*file, at, SECTOR).ok())
            .filter(|f| f.get(..4) == Some(b"KDMV"))
            .ok_or("the stream-optimised extent has no footer (truncated?)")?;
        h = footer;
    }
    let flags = u32_at(&h, 8).unwrap_or(0);
    let capacity = u64_at(&h, 12).unwrap_or(0);
    let grain = u64_at(&h, 20).unwrap_or(0);
    let desc_at = u64_at(&h, 28).unwrap_or(0);
    let desc_len = u64_at(&h, 36).unwrap_or(0);
    let per_table = u64::from(u32_at(&h, 44).unwrap_or(0));
    let gd_at = u64_at(&h, 56).unwrap_or(GD_AT_END);
    let compressed = flags & FLAG_COMPRESSED != 0;
    if compressed && u16_at(&h, 77) != Some(1) {
        return Err("compressed grains of an algorithm other than deflate".into());
    }
    if !(1..=2048).contains(&grain) || !grain.is_power_of_two() {
        return Err(format!("the grain size of {grain} sectors is not plausible"));
    }
    if !(1..=65536).contains(&per_table) {
        return Err(format!("{per_table} entries per grain table is not plausible"));
    }
    let bytes = capacity.checked_mul(SECTOR).filter(|b| *b > 0 && *b <= MAX_DISK);
    let bytes =
        bytes.ok_or_else(|| format!("the capacity of {capacity} sectors is not plausible"))?;
    let tables = capacity.div_ceil(grain * per_table);
    if tables * 4 > MAX_TABLE || gd_at == GD_AT_END {
        return Err(format!(
            "the grain directory ({tables} entries at sector {gd_at}) is not plausible"
        ));
    }
    let raw = read_vec(&*file, gd_at.saturating_mul(SECTOR), tables * 4)
        .map_err(|e| format!("the grain directory: {e}"))?;
    let gd =
        raw.chunks_exact(4).map(|c| <[u8; 4]>::try_from(c).map_or(0, u32::from_le_bytes)).collect();
    let descriptor = (desc_at > 0 && desc_len > 0)
        .then(|| {
            read_vec(
                &*file,
                desc_at.saturating_mul(SECTOR),
                desc_len.saturating_mul(SECTOR).min(MAX_DESCRIPTOR),
            )
            .ok()
        })
        .flatten()
        .map(|d| String::from_utf8_lossy(&d).trim_end_matches('\0').to_owned());
    let name = path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let s = Sparse {
        file,
        name,
        size: bytes,
        grain: grain * SECTOR,
        per_table,
        gd,
        compressed,
        tables: Cache::new(8),
        grains: Cache::new(8),
    };
    Ok((s, descriptor))
}

/// Damage in a sparse extent's grain tables: tables or grains past the end of the file. The
/// tables are read one at a time (and only when all of them together are at most
/// [`MAX_TABLE`] bytes), none kept.
fn check_tables(s: &Sparse) -> Vec<String> {
    let size = s.file.size();
    let mut problems = Vec::new();
    let (mut tables_past, mut grains_past) = (0u64, 0u64);
    if (s.gd.len() as u64).saturating_mul(s.per_table * 4) > MAX_TABLE {
        return problems;
    }
    for &at in &s.gd {
        if at == 0 {
            continue;
        }
        let Ok(raw) = read_vec(&*s.file, u64::from(at) * SECTOR, s.per_table * 4) else {
            tables_past += 1;
            continue;
        };
        let end = |g: u64| if s.compressed { g * SECTOR + 12 } else { g * SECTOR + s.grain };
        grains_past += raw
            .chunks_exact(4)
            .map(|c| u64::from(<[u8; 4]>::try_from(c).map_or(0, u32::from_le_bytes)))
            .filter(|g| *g > 1 && end(*g) > size)
            .count() as u64;
    }
    if tables_past > 0 {
        problems.push(format!(
            "{}: {tables_past} grain tables lie past the end of the file (truncated?)",
            s.name
        ));
    }
    if grains_past > 0 {
        problems.push(format!(
            "{}: {grains_past} grains lie past the end of the file (truncated?); they cannot be read",
            s.name
        ));
    }
    problems
}

/// Opens a VMDK whose first bytes are a sparse extent's (monolithic sparse or
/// stream-optimised; an extent of a split disk named directly is read as far as it goes).
pub(crate) fn open_sparse(path: &Path, file: Arc<dyn ReadAt>) -> Result<Disk, String> {
    let (s, descriptor) = sparse(path, file).map_err(|e| format!("VMDK: {e}"))?;
    let mut format = if s.compressed { "vmdk-stream-optimized" } else { "vmdk-monolithic-sparse" };
    let mut problems = check_tables(&s);
    if let Some(d) = descriptor.as_deref().map(Descriptor::parse) {
        d.refuse_delta()?;
        if d.extents.len() > 1 {
            problems.push(format!(
                "the embedded descriptor names {} extents; only this file's was read",
                d.extents.len()
            ));
        }
    } else if !s.compressed {
        format = "vmdk-sparse-extent";
    }
    Ok(Disk { reader: Arc::new(s), format, problems, stored: Vec::new() })
}

/// An extent line of a descriptor.
#[derive(Debug, PartialEq, Eq)]
struct Extent {
    sectors: u64,
    kind: String,
    file: String,
    offset: u64,
}

#[derive(Debug, Default)]
struct Descriptor {
    create_type: String,
    parent_cid: Option<String>,
    parent_hint: Option<String>,
    extents: Vec<Extent>,
}

impl Descriptor {
    fn parse(text: &str) -> Descriptor {
        let mut d = Descriptor::default();
        for line in text.lines().take(4096).map(str::trim) {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let mut rest = line;
            let access = word(&mut rest).unwrap_or_default();
            if matches!(access, "RW" | "RDONLY" | "NOACCESS") {
                let (Some(sectors), Some(kind)) = (word(&mut rest), word(&mut rest)) else {
                    continue;
                };
                if d.extents.len() >= MAX_FILES {
                    continue;
                }
                let rest = rest.trim();
                let (file, tail) = match rest.strip_prefix('"').and_then(|r| r.split_once('"')) {
                    Some((f, t)) => (f.to_owned(), t),
                    None => (String::new(), rest),
                };
                d.extents.push(Extent {
                    sectors: sectors.parse().unwrap_or(0),
                    kind: kind.to_owned(),
                    file,
                    offset: tail.trim().parse().unwrap_or(0),
                });
            } else if let Some((key, value)) = line.split_once('=') {
                let value = value.trim().trim_matches('"').to_owned();
                match key.trim() {
                    "createType" => d.create_type = value,
                    "parentCID" => d.parent_cid = Some(value),
                    "parentFileNameHint" => d.parent_hint = Some(value),
                    _ => {}
                }
            }
        }
        d
    }

    fn refuse_delta(&self) -> Result<(), String> {
        match (&self.parent_cid, &self.parent_hint) {
            (Some(cid), hint) if !cid.eq_ignore_ascii_case("ffffffff") => Err(format!(
                "a VMDK delta link (a differencing disk) on the parent {}; ferret does not read \
                 VMDK delta links: nothing in it was examined",
                hint.as_deref().unwrap_or("not named")
            )),
            _ => Ok(()),
        }
    }
}

/// The next whitespace-separated word of `rest`, which moves past it.
fn word<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let t = rest.trim_start();
    let end = t.find(char::is_whitespace).unwrap_or(t.len());
    let (w, r) = t.split_at(end);
    *rest = r;
    (!w.is_empty()).then_some(w)
}

/// Exactly `len` bytes of `inner` (an extent): a read past the inner file's end is damage.
struct Exact {
    inner: Arc<dyn ReadAt>,
    len: u64,
    name: String,
}

impl ReadAt for Exact {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let room = usize::try_from(self.len - offset).unwrap_or(usize::MAX);
        let len = buf.len().min(room);
        match self.inner.read_at(buf.get_mut(..len).unwrap_or_default(), offset)? {
            0 if len > 0 => {
                Err(damaged(format!("the extent {} ends early (truncated?)", self.name)))
            }
            n => Ok(n),
        }
    }

    fn size(&self) -> u64 {
        self.len
    }
}

/// Opens a VMDK text descriptor and the extents it names beside it.
pub(crate) fn open_descriptor(path: &Path, file: &dyn ReadAt) -> Result<Disk, String> {
    if file.size() > 1 << 20 {
        return Err("VMDK: a descriptor file larger than 1 MiB".into());
    }
    let text = read_vec(file, 0, file.size().min(MAX_DESCRIPTOR))
        .map_err(|e| format!("VMDK descriptor: {e}"))?;
    let d = Descriptor::parse(&String::from_utf8_lossy(&text));
    d.refuse_delta()?;
    if d.extents.is_empty() {
        return Err("VMDK: the descriptor names no extent".into());
    }
    let mut parts: Vec<Arc<dyn ReadAt>> = Vec::new();
    let mut problems = Vec::new();
    let mut total = 0u64;
    for e in &d.extents {
        let len = e.sectors.checked_mul(SECTOR).filter(|l| total.saturating_add(*l) <= MAX_DISK);
        let len = len.ok_or_else(|| {
            format!("VMDK: the extent {:?} of {} sectors is not plausible", e.file, e.sectors)
        })?;
        total += len;
        if e.kind == "ZERO" {
            parts.push(Arc::new(Zeros(len)));
            continue;
        }
        let at = super::beside(path, &e.file).map_err(|m| format!("VMDK: an extent {m}"))?;
        let f = super::open_file(&at)
            .map_err(|m| format!("VMDK: the extent {:?} is missing: {m}", e.file))?;
        let name = e.file.clone();
        let inner: Arc<dyn ReadAt> = match e.kind.as_str() {
            "FLAT" | "VMFS" => {
                let start = e.offset.saturating_mul(SECTOR);
                if f.size() < start.saturating_add(len) {
                    problems.push(format!(
                        "the flat extent {name:?} holds {} of its {len} bytes (truncated?)",
                        f.size().saturating_sub(start)
                    ));
                }
                Arc::new(crate::image::Slice::new(f, start, len))
            }
            "SPARSE" => {
                let (s, _) =
                    sparse(&at, f).map_err(|m| format!("VMDK: the extent {name:?}: {m}"))?;
                problems.extend(check_tables(&s));
                if s.size != len {
                    problems.push(format!(
                        "the sparse extent {name:?} holds {} bytes, the descriptor says {len}",
                        s.size
                    ));
                }
                Arc::new(s)
            }
            other => return Err(format!("VMDK: extents of type {other} are not read")),
        };
        parts.push(Arc::new(Exact { inner, len, name }));
    }
    let format = match d.create_type.as_str() {
        "monolithicFlat" => "vmdk-monolithic-flat",
        "twoGbMaxExtentFlat" => "vmdk-split-flat",
        "twoGbMaxExtentSparse" => "vmdk-split-sparse",
        "monolithicSparse" => "vmdk-monolithic-sparse",
        "streamOptimized" => "vmdk-stream-optimized",
        "vmfs" => "vmdk-vmfs",
        _ => "vmdk",
    };
    Ok(Disk { reader: Arc::new(Concat::new(parts)), format, problems, stored: Vec::new() })
}

impl Sparse {
    fn table(&self, i: u64) -> io::Result<Option<Arc<Vec<u32>>>> {
        let at = usize::try_from(i).ok().and_then(|i| self.gd.get(i)).copied().unwrap_or(0);
        if at == 0 {
            return Ok(None);
        }
        self.tables
            .get(i, || {
                let raw = read_vec(&*self.file, u64::from(at) * SECTOR, self.per_table * 4)
                    .map_err(|e| damaged(format!("VMDK {}: grain table {i}: {e}", self.name)))?;
                Ok(raw
                    .chunks_exact(4)
                    .map(|c| <[u8; 4]>::try_from(c).map_or(0, u32::from_le_bytes))
                    .collect())
            })
            .map(Some)
    }

    fn grain(&self, g: u64, at: u64) -> io::Result<Arc<Vec<u8>>> {
        self.grains.get(g, || {
            let marker = read_vec(&*self.file, at, 12)
                .map_err(|e| damaged(format!("VMDK {}: grain {g}: {e}", self.name)))?;
            let lba = u64_at(&marker, 0).unwrap_or(u64::MAX);
            let len = u64::from(u32_at(&marker, 8).unwrap_or(0));
            if lba != g * (self.grain / SECTOR) || len > 2 * self.grain + 4096 {
                return Err(damaged(format!(
                    "VMDK {}: the marker of grain {g} at offset {at} is not one (lba {lba}, {len} bytes)",
                    self.name
                )));
            }
            let data = read_vec(&*self.file, at + 12, len)
                .map_err(|e| damaged(format!("VMDK {}: grain {g}: {e}", self.name)))?;
            let mut out = Vec::with_capacity(usize::try_from(self.grain).unwrap_or(0));
            flate2::read::ZlibDecoder::new(data.as_slice())
                .take(self.grain)
                .read_to_end(&mut out)
                .map_err(|e| damaged(format!("VMDK {}: grain {g} does not inflate: {e}", self.name)))?;
            out.resize(usize::try_from(self.grain).unwrap_or(0), 0);
            Ok(out)
        })
    }
}

impl ReadAt for Sparse {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        if offset >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let g = offset / self.grain;
        let within = offset % self.grain;
        let room = (self.grain - within).min(self.size - offset);
        let len = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let buf = buf.get_mut(..len).unwrap_or_default();
        let entry = match self.table(g / self.per_table)? {
            Some(t) => usize::try_from(g % self.per_table)
                .ok()
                .and_then(|i| t.get(i))
                .copied()
                .unwrap_or(0),
            None => 0,
        };
        if entry <= 1 {
            buf.fill(0);
            return Ok(len);
        }
        let at = u64::from(entry) * SECTOR;
        if self.compressed {
            let grain = self.grain(g, at)?;
            let src = usize::try_from(within)
                .ok()
                .and_then(|w| grain.get(w..w + len))
                .unwrap_or_default();
            if src.len() != len {
                return Err(damaged(format!("VMDK {}: grain {g} is short", self.name)));
            }
            buf.copy_from_slice(src);
            return Ok(len);
        }
        match self.file.read_at(buf, at + within)? {
            0 => Err(damaged(format!(
                "VMDK {}: grain {g} at offset {at} lies past the end of the file",
                self.name
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
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn descriptor_lines() {
        let d = Descriptor::parse(
            "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType=\"twoGbMaxExtentSparse\"\n\
             RW 4192256 SPARSE \"disk-s001.vmdk\"\nRW  100   FLAT \"my=disk flat.vmdk\" 2048\nRDONLY 8 ZERO\nnonsense line here\n",
        );
        assert_eq!(d.create_type, "twoGbMaxExtentSparse");
        assert!(d.refuse_delta().is_ok());
        assert_eq!(d.extents.len(), 3);
        assert_eq!(
            d.extents[1],
            Extent {
                sectors: 100,
                kind: "FLAT".into(),
                file: "my=disk flat.vmdk".into(),
                offset: 2048
            }
        );
        assert_eq!(d.extents[2].kind, "ZERO");
        let delta = Descriptor::parse("parentCID=abcdef01\nparentFileNameHint=\"base.vmdk\"\n");
        assert!(delta.refuse_delta().unwrap_err().contains("base.vmdk"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4096), gd in 0u64..16) {
            let mut image = b"KDMV\x01\0\0\0".to_vec();
            image.extend_from_slice(&data);
            if image.len() > 64 {
                image[56..64].copy_from_slice(&gd.to_le_bytes());
            }
            crate::container::fuzz(&image);
            let mut text = b"# Disk DescriptorFile\n".to_vec();
            text.extend_from_slice(&data);
            crate::container::fuzz(&text);
        }
    }
}
