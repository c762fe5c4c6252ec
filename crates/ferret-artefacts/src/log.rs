//! Replay of registry transaction logs (`.LOG1`/`.LOG2`, the `HvLE` format of Windows 8.1 and
//! later) over a dirty hive's bins, in memory.
//!
//! A log file starts with a copy of the base block (`regf`, file type 1, 2 or 6) in its first
//! 512 bytes; log entries follow from byte 512, each `HvLE`, its size (a multiple of 512),
//! flags, a sequence number, the size of the hive-bins data, the number of dirty pages, two
//! Marvin32 hashes (seed `0x82EF4D887A4E55C5`: hash 1 over the entry from byte 40 to its end,
//! hash 2 over its first 32 bytes), the dirty-page references (offset in the hive bins, size)
//! and then the pages in the same order. Entries are applied in sequence order starting at the
//! hive's secondary sequence number; the first gap, bad hash or bad size ends the replay.
//!
//! The old format (Windows XP to Windows 8 and Server 2012) is replayed too: after the base
//! block copy, a dirty vector at byte 512 (`DIRT`, then a bitmap with one bit per 512-byte page
//! of the hive bins, least significant bit first) and, from the next 512-byte boundary, one
//! 512-byte page per set bit, in bit order. Such a log applies only when it is valid (its two
//! sequence numbers equal) and was written for this hive (its last-written time equals the
//! primary file's); a dirty hive bin it writes must carry `hbin` and its own offset, or nothing
//! of that log is applied.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::bytes::{u32_at, u64_at};

const SEED: u64 = 0x82EF_4D88_7A4E_55C5;
/// Largest hive-bins size an entry may declare (matches the largest hive read).
const MAX_BINS: usize = 1 << 30;

pub(crate) struct Replay {
    pub applied: Vec<PathBuf>,
    pub warnings: Vec<String>,
    pub bins_size: Option<u32>,
    pub last_written: Option<DateTime<Utc>>,
    pub root: Option<u32>,
}

struct Entry<'a> {
    log: usize,
    seq: u32,
    bins_size: u32,
    pages: Vec<(u32, &'a [u8])>,
}

/// Marvin32 as the registry uses it: the 64-bit Marvin state folded to 32 bits.
pub fn marvin32(seed: u64, data: &[u8]) -> u32 {
    let (lo, hi) = marvin(seed, data);
    lo ^ hi
}

fn block(lo: &mut u32, hi: &mut u32) {
    *hi ^= *lo;
    *lo = lo.rotate_left(20);
    *lo = lo.wrapping_add(*hi);
    *hi = hi.rotate_left(9);
    *hi ^= *lo;
    *lo = lo.rotate_left(27);
    *lo = lo.wrapping_add(*hi);
    *hi = hi.rotate_left(19);
}

/// The Marvin hash state (low, high) after `data`.
#[expect(clippy::cast_possible_truncation, reason = "splitting the 64-bit seed in halves")]
fn marvin(seed: u64, data: &[u8]) -> (u32, u32) {
    let mut lo = seed as u32;
    let mut hi = (seed >> 32) as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        lo = lo.wrapping_add(u32_at(c, 0).unwrap_or(0));
        block(&mut lo, &mut hi);
    }
    let rest = chunks.remainder();
    let b = |i: usize| u32::from(rest.get(i).copied().unwrap_or(0));
    let fin = match rest.len() {
        0 => 0x80,
        1 => 0x8000 | b(0),
        2 => 0x80_0000 | b(1) << 8 | b(0),
        _ => 0x8000_0000 | b(2) << 16 | b(1) << 8 | b(0),
    };
    lo = lo.wrapping_add(fin);
    block(&mut lo, &mut hi);
    block(&mut lo, &mut hi);
    (lo, hi)
}

fn entries<'a>(
    idx: usize,
    data: &'a [u8],
    warnings: &mut Vec<String>,
    name: &str,
) -> Vec<Entry<'a>> {
    let mut out = Vec::new();
    let mut pos = 512usize;
    while let Some(head) = data.get(pos..pos.saturating_add(40)) {
        if head.get(..4) != Some(b"HvLE") {
            break;
        }
        let size = u32_at(head, 4).unwrap_or(0) as usize;
        let Some(entry) = data.get(pos..pos.saturating_add(size)) else {
            warnings.push(format!("{name}: log entry at {pos} runs past the end of the file"));
            break;
        };
        if size < 40 || !size.is_multiple_of(512) {
            warnings.push(format!("{name}: log entry at {pos} has a bad size {size}"));
            break;
        }
        let h1 = u64_at(head, 24).unwrap_or(0);
        let h2 = u64_at(head, 32).unwrap_or(0);
        let ok1 = u64::from(marvin32(SEED, entry.get(40..).unwrap_or_default())) == h1;
        let ok2 = u64::from(marvin32(SEED, entry.get(..32).unwrap_or_default())) == h2;
        if !(ok1 && ok2) {
            // A torn write at the end of a log is normal; it ends this log's entries.
            warnings.push(format!(
                "{name}: log entry at {pos} fails its hash check; replay stops there"
            ));
            break;
        }
        let seq = u32_at(head, 12).unwrap_or(0);
        let bins_size = u32_at(head, 16).unwrap_or(0);
        let count = u32_at(head, 20).unwrap_or(0) as usize;
        let mut refs = Vec::new();
        let mut page_pos = 40usize.saturating_add(count.saturating_mul(8));
        let mut good = count <= size / 8;
        for i in 0..count.min(size / 8) {
            let (Some(off), Some(len)) = (u32_at(entry, 40 + i * 8), u32_at(entry, 44 + i * 8))
            else {
                good = false;
                break;
            };
            let Some(page) = entry.get(page_pos..page_pos.saturating_add(len as usize)) else {
                good = false;
                break;
            };
            refs.push((off, page));
            page_pos = page_pos.saturating_add(len as usize);
        }
        if !good {
            warnings.push(format!("{name}: log entry at {pos} has dirty pages outside it"));
            break;
        }
        out.push(Entry { log: idx, seq, bins_size, pages: refs });
        pos = pos.saturating_add(size);
    }
    out
}

/// The dirty pages of an old-format (`DIRT`) log, applied to a copy of `bins`: the new bins,
/// or why the log cannot be applied.
fn old_format(
    data: &[u8],
    bins: &[u8],
    primary_time: u64,
    log_bytes: usize,
) -> Result<Vec<u8>, String> {
    let (primary, secondary) = (u32_at(data, 4), u32_at(data, 8));
    if primary != secondary {
        return Err("its sequence numbers differ (the log itself was not finished)".to_owned());
    }
    if u64_at(data, 12) != Some(primary_time) {
        return Err("it was written for another state of the hive (its last-written time differs)"
            .to_owned());
    }
    let size = u32_at(data, 40).unwrap_or(0) as usize;
    if size == 0
        || size > MAX_BINS
        || !size.is_multiple_of(4096)
        || size > bins.len().saturating_add(log_bytes)
    {
        return Err(format!("it declares a bad hive-bins size {size}"));
    }
    let pages = size / 512;
    let bitmap = data
        .get(516..516 + pages.div_ceil(8))
        .ok_or_else(|| "its dirty vector runs past the end of the file".to_owned())?;
    let first_page = (516 + bitmap.len()).div_ceil(512) * 512;
    let mut out = bins.to_vec();
    if out.len() < size {
        out.resize(size, 0);
    }
    let mut stored = 0usize;
    let mut run_start: Option<usize> = None;
    for bit in 0..pages {
        let dirty = bitmap.get(bit / 8).is_some_and(|b| b >> (bit % 8) & 1 == 1);
        if dirty {
            let at = first_page + stored * 512;
            let page = data.get(at..at + 512).ok_or_else(|| {
                format!("dirty page {} is missing (the log ends at {})", stored + 1, data.len())
            })?;
            if let Some(dst) = out.get_mut(bit * 512..bit * 512 + 512) {
                dst.copy_from_slice(page);
            }
            stored += 1;
            run_start.get_or_insert(bit * 512);
        } else if let Some(start) = run_start.take() {
            check_bin(&out, start)?;
        }
    }
    if let Some(start) = run_start {
        check_bin(&out, start)?;
    }
    Ok(out)
}

/// A run of dirty pages that starts a hive bin must hold a sound bin header (`hbin`, its own
/// offset, a size in 4 KiB steps).
fn check_bin(bins: &[u8], start: usize) -> Result<(), String> {
    if !start.is_multiple_of(4096) || bins.get(start..start + 4) != Some(b"hbin") {
        return Ok(());
    }
    let off = u32_at(bins, start + 4).unwrap_or(u32::MAX) as usize;
    let size = u32_at(bins, start + 8).unwrap_or(0) as usize;
    if off != start || size == 0 || !size.is_multiple_of(4096) {
        return Err(format!(
            "the dirty hive bin at {start} is not sound (offset {off}, size {size})"
        ));
    }
    Ok(())
}

/// Applies the logs' entries to `bins`, from sequence number `from` on. `primary_time` is the
/// primary file's last-written time (raw FILETIME), which an old-format log must carry.
pub(crate) fn replay(
    bins: &mut Vec<u8>,
    from: u32,
    primary_time: u64,
    logs: &[(PathBuf, Vec<u8>)],
) -> Replay {
    let mut r = Replay {
        applied: Vec::new(),
        warnings: Vec::new(),
        bins_size: None,
        last_written: None,
        root: None,
    };
    let log_bytes: usize = logs.iter().map(|(_, d)| d.len()).sum();
    let mut all = Vec::new();
    for (i, (path, data)) in logs.iter().enumerate() {
        let name = path
            .file_name()
            .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        if data.get(..4) == Some(b"regf") && data.get(512..516) == Some(b"DIRT") {
            // Old format: the first applicable log is applied whole (no sequence of entries).
            if !r.applied.is_empty() {
                continue;
            }
            match old_format(data, bins, primary_time, log_bytes) {
                Ok(new) => {
                    *bins = new;
                    r.applied.push(path.clone());
                    r.bins_size = u32_at(data, 40);
                    r.root = u32_at(data, 36);
                    r.last_written = u64_at(data, 12).and_then(crate::bytes::filetime);
                }
                Err(why) => r
                    .warnings
                    .push(format!("{name}: old-format (DIRT) transaction log not applied: {why}")),
            }
            continue;
        }
        if data.get(..4) != Some(b"regf") {
            r.warnings.push(format!("{name}: not a transaction log (no regf base block)"));
            continue;
        }
        all.extend(entries(i, data, &mut r.warnings, &name));
    }
    if !r.applied.is_empty() {
        // A hive has logs of one format; an old-format log applied is the whole replay.
        return r;
    }
    all.sort_by_key(|e| e.seq);
    let mut next = from;
    let mut used = std::collections::BTreeSet::new();
    for e in all {
        if e.seq < next {
            continue;
        }
        if e.seq != next {
            break;
        }
        let size = e.bins_size as usize;
        // A hive grows only by pages its log entries carry: a larger size is a lie that
        // would make a small log allocate up to the hive limit.
        let bound = bins.len().saturating_add(log_bytes);
        if size > MAX_BINS || size > bound || !size.is_multiple_of(4096) {
            r.warnings.push(format!(
                "log entry {} declares a bad hive-bins size {size}; replay stops",
                e.seq
            ));
            break;
        }
        if bins.len() < size {
            bins.resize(size, 0);
        }
        for (off, page) in &e.pages {
            let start = *off as usize;
            let Some(dst) = start.checked_add(page.len()).and_then(|end| bins.get_mut(start..end))
            else {
                r.warnings.push(format!(
                    "log entry {} writes a page outside the hive bins; skipped",
                    e.seq
                ));
                continue;
            };
            dst.copy_from_slice(page);
        }
        r.bins_size = Some(e.bins_size);
        used.insert(e.log);
        next = next.wrapping_add(1);
    }
    r.applied = used.into_iter().filter_map(|i| logs.get(i).map(|(p, _)| p.clone())).collect();
    // The log's base block holds the root and time as of the last entry written.
    for (p, data) in logs {
        if r.applied.contains(p) {
            r.root = r.root.or_else(|| u32_at(data, 36));
            r.last_written =
                r.last_written.or_else(|| u64_at(data, 12).and_then(crate::bytes::filetime));
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marvin_reference_vectors() {
        // The published Marvin32 test vectors (seed 0x004FB61A001BDBCC), as the 64-bit
        // state (high << 32 | low).
        let full = |d: &[u8]| {
            let (lo, hi) = marvin(0x004F_B61A_001B_DBCC, d);
            u64::from(hi) << 32 | u64::from(lo)
        };
        assert_eq!(full(b""), 0x30ED_35C1_00CD_3C7D);
        assert_eq!(full(&[0xAF]), 0x48E7_3FC7_7D75_DDC1);
    }
}
