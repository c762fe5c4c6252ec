//! The central directory of a zip archive (with ZIP64), read without trusting any size or
//! offset in it: every field is checked against the archive's size and fixed limits.

use crate::bytes::{u16_at, u32_at, u64_at};
use crate::image::{ReadAt, read_exact_at};

/// One member as the central directory lists it.
#[derive(Clone, Debug)]
pub(crate) struct ZipMember {
    pub name: Vec<u8>,
    pub flags: u16,
    pub method: u16,
    pub csize: u64,
    pub usize: u64,
    /// Offset of the local header (archive prefix already added).
    pub local: u64,
}

impl ZipMember {
    pub fn is_dir(&self) -> bool {
        self.name.last() == Some(&b'/')
    }
}

/// What the end of a zip says about its central directory.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Directory {
    /// Absolute offset of the central directory.
    pub offset: u64,
    pub size: u64,
    pub entries: u64,
    /// Bytes before the archive proper (a self-extractor's stub), added to local offsets.
    pub base: u64,
}

const EOCD: u32 = 0x0605_4b50;
const EOCD64: u32 = 0x0606_4b50;
const LOCATOR64: u32 = 0x0706_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const LOCAL: u32 = 0x0403_4b50;

/// The largest central directory read (its names are kept in memory while listing).
const MAX_DIRECTORY: u64 = 1 << 30;

/// Finds the end-of-central-directory record (ZIP64 when present).
pub(crate) fn directory(data: &dyn ReadAt) -> Result<Directory, String> {
    let size = data.size();
    let tail_len = size.min(22 + 65_535);
    let tail_start = size - tail_len;
    let mut tail = vec![0u8; usize::try_from(tail_len).map_err(|_| "too large")?];
    read_exact_at(data, &mut tail, tail_start).map_err(|e| format!("cannot read its end: {e}"))?;
    let at = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| u32_at(&tail, i) == Some(EOCD))
        .ok_or("no end-of-central-directory record (truncated, or not a zip)")?;
    let eocd_pos = tail_start + at as u64;
    let field16 = |o: usize| u16_at(&tail, at + o).map(u64::from).unwrap_or_default();
    let field32 = |o: usize| u32_at(&tail, at + o).map(u64::from).unwrap_or_default();
    if field16(4) != 0 || field16(6) != 0 {
        return Err("a multi-part (split) zip: only single-part archives are read".to_owned());
    }
    let (mut entries, mut cd_size, mut cd_off) = (field16(10), field32(12), field32(16));
    let mut end = eocd_pos;
    if entries == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_off == 0xFFFF_FFFF {
        let loc_pos = eocd_pos.checked_sub(20).ok_or("ZIP64 locator missing")?;
        let mut loc = [0u8; 20];
        read_exact_at(data, &mut loc, loc_pos).map_err(|e| format!("ZIP64 locator: {e}"))?;
        if u32_at(&loc, 0) != Some(LOCATOR64) {
            return Err("ZIP64 locator missing".to_owned());
        }
        let rec_pos = u64_at(&loc, 8).unwrap_or(u64::MAX);
        let mut rec = [0u8; 56];
        read_exact_at(data, &mut rec, rec_pos).map_err(|e| format!("ZIP64 record: {e}"))?;
        if u32_at(&rec, 0) != Some(EOCD64) {
            return Err("ZIP64 end-of-central-directory record missing".to_owned());
        }
        entries = u64_at(&rec, 32).unwrap_or_default();
        cd_size = u64_at(&rec, 40).unwrap_or_default();
        cd_off = u64_at(&rec, 48).unwrap_or_default();
        end = rec_pos;
    }
    if cd_size > MAX_DIRECTORY {
        return Err(format!("a central directory of {cd_size} bytes (over {MAX_DIRECTORY})"));
    }
    let used = cd_off.checked_add(cd_size).ok_or("central directory offset overflows")?;
    if used > end {
        return Err("the central directory lies past the archive's end (truncated?)".to_owned());
    }
    // A stub in front (a self-extractor): offsets are relative to the archive proper.
    let mut base = end - used;
    let mut sig = [0u8; 4];
    if cd_size > 0 {
        if read_exact_at(data, &mut sig, cd_off).is_ok() && u32_at(&sig, 0) == Some(CENTRAL) {
            base = 0;
        } else if read_exact_at(data, &mut sig, cd_off + base).is_err()
            || u32_at(&sig, 0) != Some(CENTRAL)
        {
            return Err("no central directory where the archive's end says".to_owned());
        }
    }
    Ok(Directory { offset: cd_off + base, size: cd_size, entries, base })
}

/// Reads the central directory's members, at most `max` of them. The second value says why
/// the listing stopped early, if it did.
pub(crate) fn members(
    data: &dyn ReadAt,
    dir: &Directory,
    max: u64,
) -> Result<(Vec<ZipMember>, Option<String>), String> {
    let mut cd = vec![0u8; usize::try_from(dir.size).map_err(|_| "too large")?];
    read_exact_at(data, &mut cd, dir.offset)
        .map_err(|e| format!("cannot read the central directory: {e}"))?;
    let mut out = Vec::new();
    let mut at = 0usize;
    let mut stopped = None;
    while at < cd.len() {
        if out.len() as u64 >= max {
            stopped = Some(format!(
                "more than {max} members (the archive says {}); the rest were not listed",
                dir.entries
            ));
            break;
        }
        if u32_at(&cd, at) != Some(CENTRAL) {
            stopped = Some(format!(
                "the central directory is damaged after {} member(s); the rest were not listed",
                out.len()
            ));
            break;
        }
        let f16 = |o: usize| u16_at(&cd, at + o);
        let f32 = |o: usize| u32_at(&cd, at + o);
        let (
            Some(flags),
            Some(method),
            Some(csize32),
            Some(size32),
            Some(name_len),
            Some(extra_len),
            Some(comment_len),
            Some(offset32),
        ) = (f16(8), f16(10), f32(20), f32(24), f16(28), f16(30), f16(32), f32(42))
        else {
            stopped = Some("the central directory ends inside a member's record".to_owned());
            break;
        };
        let name_at = at + 46;
        let extra_at = name_at + usize::from(name_len);
        let next = extra_at + usize::from(extra_len) + usize::from(comment_len);
        let (Some(name), Some(extra)) =
            (cd.get(name_at..extra_at), cd.get(extra_at..extra_at + usize::from(extra_len)))
        else {
            stopped = Some("the central directory ends inside a member's name".to_owned());
            break;
        };
        let (mut csize, mut usize_, mut local) =
            (u64::from(csize32), u64::from(size32), u64::from(offset32));
        // ZIP64 extra field: the values that did not fit, in this order.
        let mut field = 0usize;
        while let (Some(id), Some(len)) = (u16_at(extra, field), u16_at(extra, field + 2)) {
            let body = extra.get(field + 4..field + 4 + usize::from(len)).unwrap_or_default();
            if id == 1 {
                let mut k = 0usize;
                for v in [&mut usize_, &mut csize, &mut local] {
                    if *v == 0xFFFF_FFFF
                        && let Some(x) = u64_at(body, k)
                    {
                        *v = x;
                        k += 8;
                    }
                }
            }
            field += 4 + usize::from(len);
        }
        out.push(ZipMember {
            name: name.to_vec(),
            flags,
            method,
            csize,
            usize: usize_,
            local: local.saturating_add(dir.base),
        });
        at = next;
    }
    Ok((out, stopped))
}

/// Where a member's data starts, from its local header; checked to lie inside the archive.
pub(crate) fn data_start(data: &dyn ReadAt, m: &ZipMember) -> std::io::Result<u64> {
    let bad = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_owned());
    let mut h = [0u8; 30];
    read_exact_at(data, &mut h, m.local)?;
    if u32_at(&h, 0) != Some(LOCAL) {
        return Err(bad("no local header where the central directory says"));
    }
    let n = u64::from(u16_at(&h, 26).unwrap_or_default());
    let e = u64::from(u16_at(&h, 28).unwrap_or_default());
    let start = m.local.saturating_add(30 + n + e);
    if start.saturating_add(m.csize) > data.size() {
        return Err(bad("the member's data runs past the archive's end (truncated)"));
    }
    Ok(start)
}
