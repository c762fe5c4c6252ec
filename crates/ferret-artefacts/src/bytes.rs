//! Little-endian reads that return `None` past the end instead of panicking.

use chrono::{DateTime, Utc};

pub(crate) fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([*s.first()?, *s.get(1)?]))
}

pub(crate) fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let s: [u8; 4] = b.get(off..off.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(s))
}

pub(crate) fn i32_at(b: &[u8], off: usize) -> Option<i32> {
    let s: [u8; 4] = b.get(off..off.checked_add(4)?)?.try_into().ok()?;
    Some(i32::from_le_bytes(s))
}

pub(crate) fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    let s: [u8; 8] = b.get(off..off.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(s))
}

/// A Windows FILETIME (100 ns ticks since 1601-01-01 UTC); `None` for 0 and out-of-range values.
pub(crate) fn filetime(ft: u64) -> Option<DateTime<Utc>> {
    if ft == 0 {
        return None;
    }
    let secs = i64::try_from(ft / 10_000_000).ok()?.checked_sub(11_644_473_600)?;
    let nanos = u32::try_from((ft % 10_000_000) * 100).ok()?;
    DateTime::from_timestamp(secs, nanos)
}

/// UTF-16LE text up to the first NUL (lossy).
pub(crate) fn utf16(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| {
            u16::from_le_bytes([c.first().copied().unwrap_or(0), c.get(1).copied().unwrap_or(0)])
        })
        .take_while(|u| *u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

/// Latin-1 text (the registry's "compressed" names).
pub(crate) fn latin1(b: &[u8]) -> String {
    b.iter().map(|&c| char::from(c)).collect()
}
