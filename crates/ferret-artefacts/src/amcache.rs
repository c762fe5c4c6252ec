//! Amcache.hve program entries.
//!
//! Windows 10 and later keep one key per program file under `Root\InventoryApplicationFile`
//! with `FileId` (`0000` followed by the SHA-1 of the file's first 30 MiB), `LowerCaseLongPath`,
//! `Size` and `LinkDate` (the PE link time as `MM/DD/YYYY HH:MM:SS`); the key's last-written
//! time is about when the entry was made or refreshed. Windows 8 and early Windows 10 kept
//! `Root\File\{volume}\{file reference}` keys with value `101` (the SHA-1, `0000`-prefixed)
//! and `15` (the path). Both are read, and so are the deleted program keys still in free cells
//! under `InventoryApplicationFile` (marked `recovered`).

use chrono::{DateTime, Utc};

use crate::hive::{Hive, Key};

/// Amcache hashes only this many bytes of a file.
pub const HASHED_PREFIX: u64 = 30 << 20;

/// One program entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AmcacheEntry {
    /// The key path inside the hive.
    pub key: String,
    /// The SHA-1 of the file's first 30 MiB, when the entry has a well-formed one.
    pub sha1: Option<[u8; 20]>,
    /// The file's path as Windows recorded it.
    pub path: Option<String>,
    /// The file's size, when recorded.
    pub size: Option<u64>,
    /// The PE link date as recorded (text).
    pub link_date: Option<String>,
    /// The key's last-written time.
    pub key_time: Option<DateTime<Utc>>,
    /// Recovered from a deleted key (a free cell): Windows had removed the entry.
    pub recovered: bool,
}

/// `0000` + 40 hex digits → the SHA-1.
pub fn parse_file_id(id: &str) -> Option<[u8; 20]> {
    let t = id.trim();
    let hex = if t.len() == 44 { t.strip_prefix("0000")? } else { t };
    let mut out = [0u8; 20];
    hex::decode_to_slice(hex, &mut out).ok()?;
    Some(out)
}

fn text(k: &Key<'_>, name: &str) -> Option<String> {
    k.value(name).and_then(|v| v.as_string()).filter(|s| !s.is_empty())
}

/// The program entries of an Amcache hive (bounded by the hive's key lists).
pub fn entries(hive: &Hive) -> Vec<AmcacheEntry> {
    let mut out = Vec::new();
    let base = if hive.key("Root").is_some() { "Root" } else { "" };
    if let Some(iaf) = hive.key(&format!("{base}\\InventoryApplicationFile")) {
        let mut keys = iaf.subkeys();
        keys.extend(iaf.deleted_subkeys());
        for k in keys {
            out.push(AmcacheEntry {
                key: format!("{base}\\InventoryApplicationFile\\{}", k.name()),
                sha1: text(&k, "FileId").as_deref().and_then(parse_file_id),
                path: text(&k, "LowerCaseLongPath"),
                size: k.value("Size").and_then(|v| {
                    v.as_u64().or_else(|| {
                        let s = v.as_string()?;
                        let s = s.trim();
                        s.strip_prefix("0x")
                            .map_or_else(|| s.parse().ok(), |h| u64::from_str_radix(h, 16).ok())
                    })
                }),
                link_date: text(&k, "LinkDate"),
                key_time: k.last_written(),
                recovered: k.recovered(),
            });
        }
    }
    if let Some(files) = hive.key(&format!("{base}\\File")) {
        for vol in files.subkeys() {
            for k in vol.subkeys() {
                out.push(AmcacheEntry {
                    key: format!("{base}\\File\\{}\\{}", vol.name(), k.name()),
                    sha1: text(&k, "101").as_deref().and_then(parse_file_id),
                    path: text(&k, "15"),
                    size: k.value("6").and_then(|v| v.as_u64()),
                    link_date: None,
                    key_time: k.last_written(),
                    recovered: k.recovered(),
                });
            }
        }
    }
    out
}
