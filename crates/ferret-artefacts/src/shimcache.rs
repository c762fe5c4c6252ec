//! ShimCache (AppCompatCache) entries of a SYSTEM hive.
//!
//! The value `ControlSet00N\Control\Session Manager\AppCompatCache\AppCompatCache` (N from
//! `Select\Current`, else every control set) lists executables the shell or loader looked at,
//! with the file's last-modified time; presence does not prove execution on Windows 8 and
//! later. Formats read:
//! * Windows 10/11: a header of 0x30 or 0x34 bytes, then `10ts` entries (signature, 4 unknown
//!   bytes, entry size, path length, UTF-16 path, last-modified FILETIME, data size, data);
//! * Windows 8.1 (`10ts`) and 8.0 (`00ts`): a 0x80-byte header, entries as above with a
//!   package name and flags between path and time;
//! * Windows 7 and Server 2008 R2 x64 (`0xBADC0FEE`, 48-byte entries) and x86 (32-byte entries):
//!   path offsets into the value.

use chrono::{DateTime, Utc};

use crate::bytes::{filetime, u16_at, u32_at, u64_at, utf16};
use crate::hive::Hive;

/// Entries read at most from one value.
const MAX_ENTRIES: usize = 1 << 16;

/// One cache entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShimEntry {
    /// The control set it came from (`ControlSet001`).
    pub control_set: String,
    /// Position in the cache (0 = most recent).
    pub position: usize,
    /// The executable's path as recorded.
    pub path: String,
    /// The file's last-modified time as recorded.
    pub modified: Option<DateTime<Utc>>,
}

/// A recorded path and last-modified time.
pub type Recorded = (String, Option<DateTime<Utc>>);

/// Which format a value is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Windows 10/11.
    Win10,
    /// Windows 8.0/8.1.
    Win8,
    /// Windows 7/2008 R2, 64-bit.
    Win7x64,
    /// Windows 7/2008, 32-bit.
    Win7x86,
}

/// The entries of every AppCompatCache value of a SYSTEM hive; unknown formats are listed in
/// the second part (control set, first four bytes) so the caller can report them.
pub fn entries(hive: &Hive) -> (Vec<ShimEntry>, Vec<String>) {
    let mut sets: Vec<String> = Vec::new();
    if let Some(cur) = hive.key("Select").and_then(|k| k.value("Current")).and_then(|v| v.as_u64())
    {
        sets.push(format!("ControlSet{cur:03}"));
    }
    if sets.is_empty() || hive.key(sets.first().map_or("", String::as_str)).is_none() {
        sets = hive
            .root()
            .map(|r| {
                r.subkeys()
                    .into_iter()
                    .map(|k| k.name().to_owned())
                    .filter(|n| n.to_ascii_lowercase().starts_with("controlset"))
                    .collect()
            })
            .unwrap_or_default();
    }
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for set in sets {
        let Some(v) = hive
            .key(&format!("{set}\\Control\\Session Manager\\AppCompatCache"))
            .and_then(|k| k.value("AppCompatCache"))
        else {
            continue;
        };
        match parse(&v.data) {
            Some((_, list)) => {
                out.extend(list.into_iter().enumerate().map(|(i, (path, modified))| ShimEntry {
                    control_set: set.clone(),
                    position: i,
                    path,
                    modified,
                }));
            }
            None => unknown.push(format!(
                "{set}: AppCompatCache in an unknown format (starts {})",
                hex::encode(v.data.get(..4).unwrap_or_default())
            )),
        }
    }
    (out, unknown)
}

/// Parses one AppCompatCache value: its format and (path, modified) per entry.
pub fn parse(data: &[u8]) -> Option<(Format, Vec<Recorded>)> {
    let head = u32_at(data, 0)?;
    // A header alone is an empty cache.
    let ts_at =
        |at: usize| data.len() == at || matches!(data.get(at..at + 4), Some(b"10ts" | b"00ts"));
    match head {
        0x30 | 0x34 if ts_at(head as usize) => {
            Some((Format::Win10, ts_entries(data, head as usize, false)))
        }
        0x80 if ts_at(0x80) => Some((Format::Win8, ts_entries(data, 0x80, true))),
        0xBADC_0FEE => win7(data),
        _ => None,
    }
}

fn ts_entries(data: &[u8], mut pos: usize, win8: bool) -> Vec<Recorded> {
    let mut out = Vec::new();
    while out.len() < MAX_ENTRIES {
        let Some(sig) = data.get(pos..pos + 4) else { break };
        if sig != b"10ts" && sig != b"00ts" {
            break;
        }
        let Some(size) = u32_at(data, pos + 8) else { break };
        let Some(entry) = data.get(pos + 12..(pos + 12).saturating_add(size as usize)) else {
            break;
        };
        let Some(plen) = u16_at(entry, 0).map(usize::from) else { break };
        let path = utf16(entry.get(2..2 + plen).unwrap_or_default());
        let mut p = 2 + plen;
        if win8 {
            let pkg = u16_at(entry, p).map_or(0, usize::from);
            p += 2 + pkg + 8;
        }
        let modified = u64_at(entry, p).and_then(filetime);
        out.push((path, modified));
        pos = pos + 12 + size as usize;
    }
    out
}

fn win7(data: &[u8]) -> Option<(Format, Vec<Recorded>)> {
    let count = (u32_at(data, 4)? as usize).min(MAX_ENTRIES);
    // x64 entries hold a 64-bit path offset at +8; x86 a 32-bit one at +4. The first entry's
    // offset must land inside the value after the entry table.
    let fits = |stride: usize, off: Option<u64>| {
        off.and_then(|o| usize::try_from(o).ok())
            .is_some_and(|o| o >= 128 + count * stride && o < data.len())
    };
    let x64 = count == 0 || fits(48, u64_at(data, 128 + 8));
    let (format, stride) = if x64 {
        (Format::Win7x64, 48)
    } else if fits(32, u32_at(data, 128 + 4).map(u64::from)) {
        (Format::Win7x86, 32)
    } else {
        return None;
    };
    let mut out = Vec::new();
    for i in 0..count {
        let e = 128 + i * stride;
        let Some(len) = u16_at(data, e).map(usize::from) else { break };
        let (off, time) = if x64 {
            (u64_at(data, e + 8).and_then(|o| usize::try_from(o).ok()), u64_at(data, e + 16))
        } else {
            (u32_at(data, e + 4).map(|o| o as usize), u64_at(data, e + 8))
        };
        let Some(off) = off else { break };
        let path = utf16(data.get(off..off.saturating_add(len)).unwrap_or_default());
        out.push((path, time.and_then(filetime)));
    }
    Some((format, out))
}
