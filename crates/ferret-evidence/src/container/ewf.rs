//! E01 / EWF (the Expert Witness Compression Format as EnCase and libewf write it): segment
//! files `.E01`, `.E02` … `.E99`, `.EAA` … found beside the first, each a chain of sections
//! (`header`, `volume`/`disk`/`data`, `sectors`, `table`/`table2`, `hash`, `digest`,
//! `next`/`done`); the media is a run of chunks, zlib-compressed or stored with an Adler-32,
//! located by the chunk tables. The tables are not held in memory: a chunk's entry is read
//! when the chunk is, and a few inflated chunks are cached. The MD5 and SHA-1 the
//! acquisition stored (in `hash` and `digest`) are kept for `--verify-container`.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Cache, Disk, MAX_DISK, MAX_FILES, damaged, read_vec};
use crate::bytes::{u32_at, u64_at};
use crate::image::ReadAt;

const SIGNATURE: &[u8; 8] = b"EVF\x09\x0d\x0a\xff\x00";
/// The most sections read from one segment.
const MAX_SECTIONS: usize = 1 << 20;
/// The largest chunk accepted.
const MAX_CHUNK: u64 = 16 << 20;

/// A chunk table: its entries in a segment, and where its chunks' data ends.
struct Table {
    segment: usize,
    first_chunk: u64,
    count: u64,
    entries_at: u64,
    base: u64,
    data_end: u64,
}

struct Ewf {
    segments: Vec<Arc<dyn ReadAt>>,
    tables: Vec<Table>,
    chunk: u64,
    size: u64,
    chunks: Cache<Vec<u8>>,
}

/// The name of segment `n` (1-based) after the first segment's path: `E01` … `E99`, then
/// `EAA` … `EZZ`, `FAA` …, in the first segment's letter case.
fn segment_path(first: &Path, n: usize) -> Option<PathBuf> {
    let ext = first.extension()?.to_str()?;
    let lead = ext.chars().next()?;
    let lower = lead.is_ascii_lowercase();
    let name = if n <= 99 {
        format!("{lead}{n:02}")
    } else {
        let k = n - 100;
        let l = |base: u8, i: usize| char::from(base + u8::try_from(i % 26).unwrap_or(0));
        let first_letter =
            u8::try_from(usize::from(lead.to_ascii_uppercase() as u8) + k / 676).ok()?;
        if first_letter > b'Z' {
            return None;
        }
        let s: String = [char::from(first_letter), l(b'A', k / 26), l(b'A', k)].iter().collect();
        if lower { s.to_ascii_lowercase() } else { s }
    };
    Some(first.with_extension(name))
}

pub(crate) fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    (b << 16) | a
}

/// Opens the E01 whose first segment is `path` and the further segments beside it.
pub(crate) fn open(path: &Path, first: Arc<dyn ReadAt>) -> Result<Disk, String> {
    let mut problems = Vec::new();
    let mut segments: Vec<Arc<dyn ReadAt>> = Vec::new();
    let mut tables: Vec<Table> = Vec::new();
    let mut volume: Option<(u64, u64, u64)> = None;
    let mut md5 = None;
    let mut sha1 = None;
    let mut next_chunk = 0u64;
    let mut file = first;
    let mut done = false;
    for n in 1..=MAX_FILES {
        let name = if n == 1 {
            path.to_path_buf()
        } else {
            match segment_path(path, n) {
                Some(p) if p.is_file() => match super::open_file(&p) {
                    Ok(f) => {
                        file = f;
                        p
                    }
                    Err(e) => {
                        problems.push(e);
                        break;
                    }
                },
                p => {
                    problems.push(format!(
                        "segment {n} ({}) is missing; the media it held cannot be read",
                        p.map_or_else(|| "no name".to_owned(), |p| p.display().to_string())
                    ));
                    break;
                }
            }
        };
        let seg = segments.len();
        let head = read_vec(&*file, 0, 13.min(file.size())).unwrap_or_default();
        if head.get(..8) != Some(SIGNATURE) {
            problems.push(format!("{} is not an EWF segment", name.display()));
            break;
        }
        let number = crate::bytes::u16_at(&head, 9).unwrap_or(0);
        if usize::from(number) != n {
            if n == 1 {
                return Err(format!(
                    "this is segment {number} of an E01, not the first: name the .E01 file"
                ));
            }
            problems.push(format!("{} says it is segment {number}, not {n}", name.display()));
            break;
        }
        segments.push(Arc::clone(&file));
        let at_name = |what: &str| format!("{}: {what}", name.display());
        let mut at = 13u64;
        let mut sectors_end = 0u64;
        let mut last = String::new();
        for _ in 0..MAX_SECTIONS {
            let Ok(d) = read_vec(&*file, at, 76) else {
                problems.push(at_name(&format!(
                    "the section at offset {at} cannot be read (truncated?)"
                )));
                break;
            };
            if u32_at(&d, 72) != Some(adler32(d.get(..72).unwrap_or_default())) {
                problems.push(at_name(&format!(
                    "the section descriptor at offset {at} is damaged (checksum)"
                )));
                break;
            }
            let kind: String = d
                .get(..16)
                .unwrap_or_default()
                .iter()
                .take_while(|b| **b != 0)
                .map(|b| char::from(*b))
                .collect();
            let next = u64_at(&d, 16).unwrap_or(0);
            let size = u64_at(&d, 24).unwrap_or(0);
            let data = at + 76;
            match kind.as_str() {
                "volume" | "disk" | "data" if volume.is_none() => {
                    let v = read_vec(&*file, data, 24)
                        .map_err(|e| at_name(&format!("the volume section: {e}")))?;
                    let per_chunk = u64::from(u32_at(&v, 8).unwrap_or(0));
                    let bps = u64::from(u32_at(&v, 12).unwrap_or(0));
                    let count = u64_at(&v, 16).unwrap_or(0);
                    volume = Some((per_chunk, bps, count));
                }
                "sectors" => sectors_end = at.saturating_add(size),
                "table" => {
                    let t = read_vec(&*file, data, 24)
                        .map_err(|e| at_name(&format!("a table section: {e}")))?;
                    let count = u64::from(u32_at(&t, 0).unwrap_or(0));
                    let base = u64_at(&t, 8).unwrap_or(0);
                    let entries_at = data + 24;
                    if entries_at.saturating_add(count * 4) > file.size() || count > 1 << 24 {
                        problems.push(at_name(&format!("the table at offset {at} holds {count} entries past the end of the file")));
                    } else {
                        // Chunks of tables older than EnCase 6 end where the table starts.
                        let data_end = if sectors_end > 0 { sectors_end } else { at };
                        tables.push(Table {
                            segment: seg,
                            first_chunk: next_chunk,
                            count,
                            entries_at,
                            base,
                            data_end,
                        });
                        next_chunk += count;
                    }
                }
                "hash" => md5 = read_vec(&*file, data, 16).ok(),
                "digest" => {
                    md5 = read_vec(&*file, data, 16).ok().or(md5);
                    sha1 = read_vec(&*file, data + 16, 20).ok();
                }
                _ => {}
            }
            last = kind;
            if last == "done" || last == "next" {
                break;
            }
            if next <= at {
                problems.push(at_name(&format!(
                    "the section at offset {at} points back to offset {next} (a loop?)"
                )));
                break;
            }
            at = next;
        }
        if last == "done" {
            done = true;
            break;
        }
        if last != "next" {
            break;
        }
    }
    if !done && problems.is_empty() {
        problems.push("the last segment has no `done` section (truncated?)".to_owned());
    }
    let (per_chunk, bps, sectors) = volume.ok_or("E01: no volume section")?;
    let chunk = per_chunk.saturating_mul(bps);
    if !(1..=MAX_CHUNK).contains(&chunk) || bps == 0 {
        return Err(format!("E01: chunks of {per_chunk} sectors of {bps} bytes are not plausible"));
    }
    let size = sectors.checked_mul(bps).filter(|s| *s <= MAX_DISK);
    let size = size.ok_or_else(|| format!("E01: a media of {sectors} sectors is not plausible"))?;
    let needed = size.div_ceil(chunk);
    if next_chunk < needed {
        problems.push(format!(
            "the chunk tables locate {next_chunk} of the media's {needed} chunks; the rest cannot be read"
        ));
    }
    let mut stored = Vec::new();
    if let Some(h) = md5.filter(|h| h.iter().any(|b| *b != 0)) {
        stored.push(("MD5", h));
    }
    if let Some(h) = sha1.filter(|h| h.iter().any(|b| *b != 0)) {
        stored.push(("SHA-1", h));
    }
    // At most 16 MiB of inflated chunks kept (eight of the usual 32 KiB).
    let cached = usize::try_from((16 << 20) / chunk).unwrap_or(1).clamp(1, 8);
    let reader = Ewf { segments, tables, chunk, size, chunks: Cache::new(cached) };
    Ok(Disk { reader: Arc::new(reader), format: "e01", problems, stored })
}

impl Ewf {
    fn entry(&self, t: &Table, k: u64) -> io::Result<u64> {
        let seg =
            self.segments.get(t.segment).ok_or_else(|| damaged("E01: no such segment".into()))?;
        let raw = read_vec(&**seg, t.entries_at + 4 * k, 4)?;
        Ok(u64::from(u32_at(&raw, 0).unwrap_or(0)))
    }

    fn load(&self, i: u64) -> io::Result<Vec<u8>> {
        let ti = self.tables.partition_point(|t| t.first_chunk <= i).saturating_sub(1);
        let t = self
            .tables
            .get(ti)
            .filter(|t| i >= t.first_chunk && i - t.first_chunk < t.count)
            .ok_or_else(|| {
            damaged(format!("E01: no chunk table locates chunk {i} (a segment missing?)"))
        })?;
        let k = i - t.first_chunk;
        let e = self.entry(t, k)?;
        let compressed = e & 0x8000_0000 != 0;
        let start = t.base.saturating_add(e & 0x7FFF_FFFF);
        let end = if k + 1 < t.count {
            t.base.saturating_add(self.entry(t, k + 1)? & 0x7FFF_FFFF)
        } else {
            t.data_end
        };
        let seg =
            self.segments.get(t.segment).ok_or_else(|| damaged("E01: no such segment".into()))?;
        let max = 2 * self.chunk + 1024;
        let len = if end > start {
            (end - start).min(max)
        } else {
            max.min(seg.size().saturating_sub(start))
        };
        let raw = read_vec(&**seg, start, len).map_err(|e| {
            damaged(format!("E01: chunk {i} at offset {start} of segment {}: {e}", t.segment + 1))
        })?;
        let want = usize::try_from(self.chunk).unwrap_or(0);
        if compressed {
            let mut out = Vec::with_capacity(want);
            flate2::read::ZlibDecoder::new(raw.as_slice())
                .take(self.chunk)
                .read_to_end(&mut out)
                .map_err(|e| damaged(format!("E01: chunk {i} does not inflate: {e}")))?;
            return Ok(out);
        }
        let data = raw.get(..want.min(raw.len())).unwrap_or_default();
        if let Some(sum) = u32_at(&raw, data.len())
            && sum != adler32(data)
        {
            return Err(damaged(format!("E01: chunk {i}'s Adler-32 does not match")));
        }
        Ok(data.to_vec())
    }
}

impl ReadAt for Ewf {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        if offset >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let i = offset / self.chunk;
        let within = offset % self.chunk;
        let room = (self.chunk - within).min(self.size - offset);
        let len = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let data = self.chunks.get(i, || self.load(i))?;
        let src =
            usize::try_from(within).ok().and_then(|w| data.get(w..w + len)).unwrap_or_default();
        if src.len() != len {
            return Err(damaged(format!(
                "E01: chunk {i} holds {} bytes, fewer than the media needs",
                data.len()
            )));
        }
        buf.get_mut(..len).unwrap_or_default().copy_from_slice(src);
        Ok(len)
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
    fn segment_names() {
        let p = Path::new("/ev/host.E01");
        assert_eq!(segment_path(p, 2).unwrap(), Path::new("/ev/host.E02"));
        assert_eq!(segment_path(p, 99).unwrap(), Path::new("/ev/host.E99"));
        assert_eq!(segment_path(p, 100).unwrap(), Path::new("/ev/host.EAA"));
        assert_eq!(segment_path(p, 101).unwrap(), Path::new("/ev/host.EAB"));
        assert_eq!(segment_path(p, 100 + 676).unwrap(), Path::new("/ev/host.FAA"));
        assert_eq!(segment_path(Path::new("x.e01"), 100).unwrap(), Path::new("x.eaa"));
        assert_eq!(segment_path(Path::new("x"), 2), None);
    }

    #[test]
    fn adler32_check_value() {
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let mut image = SIGNATURE.to_vec();
            image.extend_from_slice(&[1, 1, 0, 0, 0]);
            image.extend_from_slice(&data);
            crate::container::fuzz(&image);
        }
    }
}
