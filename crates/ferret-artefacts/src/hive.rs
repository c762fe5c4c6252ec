//! A bounded, read-only reader of registry hive files (`regf`).
//!
//! Layout (the published format, e.g. the "Windows registry file format specification" of
//! the libregf and yarp authors): a 4,096-byte base block (`regf`, two sequence numbers, the
//! last-written FILETIME, the root cell offset, the size of the hive-bins data, and at byte 508
//! an XOR checksum of the 127 double words before it), then hive bins (`hbin`) holding cells.
//! A cell starts with a signed 32-bit size (negative: allocated); offsets in cells are
//! relative to the start of the hive-bins data. Keys are `nk` cells, values `vk` cells,
//! subkey lists `lf`/`lh`/`li` (and `ri`, a list of lists), value data above 16,344 bytes
//! is `db` "big data" split in segments.
//!
//! Bounds: every offset is checked against the data; a subkey list is read at most one `ri`
//! level deep; a list holds at most as many entries as its cell's bytes allow; value data is
//! at most [`MAX_VALUE_DATA`] bytes. Navigation is by path from the root, so a cycle in the
//! key lists cannot loop: a walk of a key's children is bounded by its list.
//!
//! A dirty hive (primary sequence number ≠ secondary) is recovered from the transaction logs
//! given to [`Hive::parse`] (see `log.rs`); without them it is read as it is and says so in
//! [`Hive::warnings`].

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::bytes::{filetime, i32_at, latin1, u16_at, u32_at, u64_at, utf16};

/// Size of the base block at the start of a hive file.
pub const BASE_BLOCK: usize = 4096;
/// The largest value data read (bigger values are cut to this and flagged).
pub const MAX_VALUE_DATA: usize = 16 << 20;
/// Hive files larger than this are not read (the largest real hives are a few hundred MiB).
pub const MAX_HIVE_SIZE: u64 = 1 << 30;
/// Subkeys or values of one key read at most.
const MAX_LIST: usize = 1 << 20;

/// Why a file could not be read as a hive at all.
#[derive(Debug)]
pub enum HiveError {
    /// No `regf` signature.
    NotAHive,
    /// Shorter than the base block, or than the hive bins it declares.
    Truncated(String),
    /// The root key is missing or not a key.
    BadRoot(String),
    /// A transaction log, not a primary hive file.
    IsLog,
}

impl std::fmt::Display for HiveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HiveError::NotAHive => f.write_str("not a registry hive (no regf signature)"),
            HiveError::Truncated(why) => write!(f, "truncated hive: {why}"),
            HiveError::BadRoot(why) => write!(f, "unusable root key: {why}"),
            HiveError::IsLog => f.write_str("a transaction log, not a primary hive file"),
        }
    }
}

impl std::error::Error for HiveError {}

/// What a hive holds, recognised from its keys (the file name is only a tie-breaker).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HiveKind {
    /// `SYSTEM`: `Select` and `ControlSet00N`.
    System,
    /// `SOFTWARE`: `Microsoft\Windows NT\CurrentVersion` at the root.
    Software,
    /// A user's `NTUSER.DAT`: `Software` and `Environment` or `Control Panel`.
    NtUser,
    /// A user's `UsrClass.dat`: `Local Settings` at the root.
    UsrClass,
    /// `Amcache.hve`: `Root\InventoryApplicationFile` or `Root\File`.
    Amcache,
    /// `SAM`, `SECURITY`, `BCD` or anything else.
    Other,
}

impl HiveKind {
    /// Lowercase name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            HiveKind::System => "system",
            HiveKind::Software => "software",
            HiveKind::NtUser => "ntuser",
            HiveKind::UsrClass => "usrclass",
            HiveKind::Amcache => "amcache",
            HiveKind::Other => "other",
        }
    }
}

/// The base block's file types of transaction logs (`.LOG`, `.LOG1`/`.LOG2`, new format).
const LOG_TYPES: [u32; 3] = [1, 2, 6];

/// Whether `head` (the first 32 bytes of a file) starts like a primary hive file: `regf` and a
/// file type that is not a transaction log's (a damaged type is read, and reported).
pub fn sniff(head: &[u8]) -> bool {
    head.get(..4) == Some(b"regf") && u32_at(head, 28).is_none_or(|t| !LOG_TYPES.contains(&t))
}

/// A parsed hive, held in memory.
#[derive(Clone, Debug)]
pub struct Hive {
    path: PathBuf,
    bins: Vec<u8>,
    root: u32,
    minor: u32,
    kind: HiveKind,
    last_written: Option<DateTime<Utc>>,
    /// Non-fatal problems: bad checksum, dirty without logs, log entries refused.
    pub warnings: Vec<String>,
    /// The transaction logs whose entries were applied.
    pub replayed: Vec<PathBuf>,
    /// Whether the hive was dirty (sequence numbers differ) when read.
    pub dirty: bool,
    /// The deleted values found in free cells, by their offsets (made on first use).
    deleted: std::sync::OnceLock<Vec<Freed>>,
}

/// A value left in a free cell: its `vk` cell's offset and the live key it is attributed to.
#[derive(Clone, Copy, Debug)]
struct Freed {
    vk: u32,
    key: Option<u32>,
}

/// A deleted value recovered from a free cell ([`Hive::deleted_values`]).
#[derive(Clone, Debug)]
pub struct DeletedValue<'h> {
    /// The value, marked [`Value::recovered`].
    pub value: Value,
    /// The live key whose value it was, when the hive still says so; `None`: unattributed.
    pub key: Option<Key<'h>>,
    /// The offset of its `vk` cell in the hive bins.
    pub offset: u32,
}

/// The most value data [`Hive::deleted_values`] returns in all (the values after it are left
/// out): a free cell may claim any data, and many free values may name the same big cell.
pub const DELETED_DATA_BUDGET: usize = 64 << 20;

/// The XOR checksum of a base block (its first 508 bytes).
pub fn checksum(base: &[u8]) -> u32 {
    let mut x = 0u32;
    for i in 0..127 {
        x ^= u32_at(base, i * 4).unwrap_or(0);
    }
    match x {
        0xFFFF_FFFF => 0xFFFF_FFFE,
        0 => 1,
        x => x,
    }
}

impl Hive {
    /// Parses a hive file's bytes (taken over, not copied), replaying `logs` (path, bytes)
    /// when the hive is dirty.
    pub fn parse(
        path: &Path,
        data: impl Into<Vec<u8>>,
        logs: &[(PathBuf, Vec<u8>)],
    ) -> Result<Hive, HiveError> {
        let mut data: Vec<u8> = data.into();
        if data.get(..4) != Some(b"regf") {
            return Err(HiveError::NotAHive);
        }
        let Some(base) = data.get(..BASE_BLOCK).map(<[u8]>::to_vec) else {
            return Err(HiveError::Truncated(format!(
                "{} bytes, shorter than the 4096-byte base block",
                data.len()
            )));
        };
        let base = base.as_slice();
        let mut warnings = Vec::new();
        match u32_at(base, 28).unwrap_or(0) {
            0 => {}
            t if LOG_TYPES.contains(&t) => return Err(HiveError::IsLog),
            t => warnings.push(format!("unknown file type {t} in the base block")),
        }
        let stored = u32_at(base, 508).unwrap_or(0);
        let computed = checksum(base);
        if stored != computed {
            warnings.push(format!(
                "base block checksum {stored:#010x} does not match the computed {computed:#010x}"
            ));
        }
        let primary = u32_at(base, 4).unwrap_or(0);
        let secondary = u32_at(base, 8).unwrap_or(0);
        let mut root = u32_at(base, 36).unwrap_or(0);
        let minor = u32_at(base, 24).unwrap_or(0);
        let declared = u32_at(base, 40).unwrap_or(0) as usize;
        let mut last_written = u64_at(base, 12).and_then(filetime);
        data.drain(..BASE_BLOCK);
        let mut bins = data;
        let dirty = primary != secondary;
        let mut replayed = Vec::new();
        let mut size = declared;
        if dirty {
            if logs.is_empty() {
                warnings.push(format!(
                    "dirty hive (sequence numbers {primary} and {secondary}) and no transaction \
                     log beside it: read as it is on disk, the latest changes may be missing"
                ));
            } else {
                let r =
                    crate::log::replay(&mut bins, secondary, u64_at(base, 12).unwrap_or(0), logs);
                warnings.extend(r.warnings);
                replayed = r.applied;
                if let Some(s) = r.bins_size {
                    size = s as usize;
                }
                if let Some(t) = r.last_written {
                    last_written = Some(t);
                }
                if let Some(rt) = r.root {
                    root = rt;
                }
                if replayed.is_empty() {
                    warnings.push(format!(
                        "dirty hive (sequence numbers {primary} and {secondary}): no usable entry \
                         in its transaction log(s); read as it is on disk"
                    ));
                }
            }
        }
        if size > bins.len() {
            let msg = format!(
                "the base block declares {size} bytes of hive bins, the file holds {}",
                bins.len()
            );
            if bins.len() < 4096 {
                return Err(HiveError::Truncated(msg));
            }
            warnings.push(format!("{msg}; the rest is read"));
        } else if size >= 4096 {
            bins.truncate(size);
        }
        let mut hive = Hive {
            path: path.to_path_buf(),
            bins,
            root,
            minor,
            kind: HiveKind::Other,
            last_written,
            warnings,
            replayed,
            dirty,
            deleted: std::sync::OnceLock::new(),
        };
        let root_key = hive.root().map_err(HiveError::BadRoot)?;
        let kind = classify(&root_key, path);
        hive.kind = kind;
        Ok(hive)
    }

    /// The file this hive was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The kind recognised from the keys.
    pub fn kind(&self) -> HiveKind {
        self.kind
    }

    /// The base block's last-written time.
    pub fn last_written(&self) -> Option<DateTime<Utc>> {
        self.last_written
    }

    /// The root key.
    pub fn root(&self) -> Result<Key<'_>, String> {
        Key::at(self, self.root)
    }

    /// The key at a `\`-separated path below the root (case-insensitive), if present.
    pub fn key(&self, path: &str) -> Option<Key<'_>> {
        let mut k = self.root().ok()?;
        for part in path.split('\\').filter(|p| !p.is_empty()) {
            k = k.subkey(part)?;
        }
        Some(k)
    }

    /// The key at `path`, or, when there is none, a deleted key of that name left in a free
    /// cell whose parent is the live key above it ([`Key::recovered`] says which). The last
    /// component is matched case-insensitively, like a live key.
    pub fn key_or_recovered(&self, path: &str) -> Option<Key<'_>> {
        if let Some(k) = self.key(path) {
            return Some(k);
        }
        let path = path.trim_matches('\\');
        let (parent, name) = path.rsplit_once('\\').unwrap_or(("", path));
        let parent = if parent.is_empty() { self.root().ok()? } else { self.key(parent)? };
        parent.deleted_subkeys().into_iter().find(|k| k.name().eq_ignore_ascii_case(name))
    }

    /// Keys left in free (deleted) cells: every free cell of the hive bins that still holds a
    /// well-formed `nk` record, marked [`Key::recovered`]. The walk follows the bins' and the
    /// cells' sizes and stops at the first one that is out of bounds, so it is linear in the
    /// hive's size.
    pub fn deleted_keys(&self) -> Vec<Key<'_>> {
        let mut out = Vec::new();
        self.each_cell(&mut |cell, allocated| {
            if !allocated
                && self.bins.get(cell + 4..cell + 6) == Some(b"nk")
                && let Ok(off) = u32::try_from(cell)
                && let Ok(mut k) = Key::at(self, off)
            {
                k.recovered = true;
                out.push(k);
            }
        });
        out
    }

    /// Calls `f(offset, allocated)` for every cell of the hive bins, in order. The walk
    /// follows the bins' and the cells' sizes and stops at the first one that is out of
    /// bounds, so it is linear in the hive's size.
    fn each_cell(&self, f: &mut dyn FnMut(usize, bool)) {
        let mut bin = 0usize;
        while self.bins.get(bin..bin + 4) == Some(b"hbin") {
            let Some(size) = u32_at(&self.bins, bin + 8).map(|s| s as usize) else { break };
            if size < 4096 || !size.is_multiple_of(4096) {
                break;
            }
            let end = (bin + size).min(self.bins.len());
            let mut cell = bin + 32;
            while cell + 8 <= end {
                let Some(raw) = i32_at(&self.bins, cell) else { break };
                let len = raw.unsigned_abs() as usize;
                if len < 8 || !len.is_multiple_of(8) || cell + len > end {
                    break;
                }
                f(cell, raw < 0);
                cell += len;
            }
            bin += size;
        }
    }

    /// Whether the cell at `off` is in bounds and free (a positive size).
    fn is_free(&self, off: u32) -> bool {
        i32_at(&self.bins, off as usize).is_some_and(|s| s > 0)
    }

    /// The 32-bit entries of a cell's data, at most `max`.
    fn offsets(&self, off: u32, max: usize) -> impl Iterator<Item = u32> + '_ {
        let cell = self.cell(off).unwrap_or_default();
        (0..(cell.len() / 4).min(max)).map_while(move |i| u32_at(cell, i * 4))
    }

    /// Finds the deleted values once: free `vk` cells that no key (live or deleted) lists,
    /// whose data is inline or in a cell that is free too (not reused for something else).
    /// A value is attributed to a live key when the slack of that key's value list (the
    /// entries past its count) names it, or when a freed list (a free cell without a
    /// signature: the key's value list before the deletion, left behind when it was
    /// reallocated) names it beside live values of that key and of no other.
    fn freed(&self) -> &[Freed] {
        self.deleted.get_or_init(|| {
            use std::collections::{BTreeMap, BTreeSet};
            let mut free_vk = BTreeSet::new();
            let mut keys = Vec::new();
            let mut bare = Vec::new();
            self.each_cell(&mut |cell, allocated| {
                let Ok(off) = u32::try_from(cell) else { return };
                match (self.bins.get(cell + 4..cell + 6), allocated) {
                    (Some(b"vk"), false) => {
                        free_vk.insert(off);
                    }
                    (Some(b"nk"), _) => keys.push((off, allocated)),
                    (Some(b"vk" | b"sk" | b"lf" | b"lh" | b"li" | b"ri" | b"db"), _) => {}
                    (_, false) => bare.push(off),
                    _ => {}
                }
            });
            if free_vk.is_empty() {
                return Vec::new();
            }
            // Live values → their key; values listed by any key are not deleted values.
            let mut owner: BTreeMap<u32, u32> = BTreeMap::new();
            let mut slack: BTreeMap<u32, u32> = BTreeMap::new();
            for &(k, allocated) in &keys {
                let Some(cell) = self.cell(k) else { continue };
                let count = u32_at(cell, 36).unwrap_or(0) as usize;
                let Some(list) = u32_at(cell, 40).filter(|l| *l != u32::MAX) else { continue };
                for (i, v) in self.offsets(list, MAX_LIST).enumerate() {
                    if i < count {
                        free_vk.remove(&v);
                        if allocated {
                            owner.insert(v, k);
                        }
                    } else if allocated && free_vk.contains(&v) {
                        slack.entry(v).or_insert(k);
                    }
                }
            }
            let mut attributed: BTreeMap<u32, u32> = BTreeMap::new();
            for list in bare {
                let (mut freed, mut owners) = (Vec::new(), BTreeSet::new());
                for v in self.offsets(list, MAX_LIST) {
                    if free_vk.contains(&v) {
                        freed.push(v);
                    } else if let Some(k) = owner.get(&v) {
                        owners.insert(*k);
                    } else {
                        break;
                    }
                }
                if let (false, Some(&k)) = (owners.len() > 1, owners.first()) {
                    for v in freed {
                        attributed.entry(v).or_insert(k);
                    }
                }
            }
            free_vk
                .into_iter()
                .filter(|&vk| self.value_data_free(vk))
                .map(|vk| Freed {
                    vk,
                    key: attributed.get(&vk).or_else(|| slack.get(&vk)).copied(),
                })
                .collect()
        })
    }

    /// Whether a free value's data can still be trusted: inline, or in a free cell (with,
    /// for big data, its segment list free too).
    fn value_data_free(&self, vk: u32) -> bool {
        let Some(cell) = self.cell(vk) else { return false };
        let (Some(size), Some(data)) = (u32_at(cell, 4), u32_at(cell, 8)) else { return false };
        if size & 0x8000_0000 != 0 {
            return true;
        }
        if !self.is_free(data) {
            return false;
        }
        match self.cell(data) {
            Some(db) if db.get(..2) == Some(b"db") => {
                u32_at(db, 4).is_some_and(|l| self.is_free(l))
            }
            Some(_) => true,
            None => false,
        }
    }

    /// Values left in free (deleted) cells whose data still parses, marked
    /// [`Value::recovered`], each with the live key it is attributed to when the hive still
    /// says so (see the module's notes), else `None`. Values of deleted keys are read through
    /// those keys ([`Hive::deleted_keys`]), not here. At most [`DELETED_DATA_BUDGET`] bytes of
    /// data in all.
    pub fn deleted_values(&self) -> Vec<DeletedValue<'_>> {
        let mut out = Vec::new();
        let mut budget = DELETED_DATA_BUDGET;
        for f in self.freed() {
            let Some(mut value) = Value::at(self, f.vk) else { continue };
            let Some(left) = budget.checked_sub(value.data.len()) else { break };
            budget = left;
            value.recovered = true;
            let key = f.key.and_then(|k| Key::at(self, k).ok());
            out.push(DeletedValue { value, key, offset: f.vk });
        }
        out
    }

    /// The data of the cell at `off` (without its size field), when allocated and in bounds.
    fn cell(&self, off: u32) -> Option<&[u8]> {
        let off = off as usize;
        let size = i32_at(&self.bins, off)?;
        // Allocated cells have a negative size; a free cell is still read (it may be a
        // recovered remnant) only when asked for directly by an allocated parent.
        let len = size.unsigned_abs() as usize;
        if len < 8 {
            return None;
        }
        self.bins.get(off.checked_add(4)?..off.checked_add(len)?)
    }
}

/// The kind of a hive from its root's subkeys.
fn classify(root: &Key<'_>, path: &Path) -> HiveKind {
    let has = |p: &str| -> bool {
        let mut k = Some(root.clone());
        for part in p.split('\\') {
            k = k.and_then(|k| k.subkey(part));
        }
        k.is_some()
    };
    if has("Select") && (has("ControlSet001") || has("ControlSet002")) {
        return HiveKind::System;
    }
    if has("InventoryApplicationFile") || has("Root\\InventoryApplicationFile") || has("Root\\File")
    {
        return HiveKind::Amcache;
    }
    if has("Microsoft\\Windows NT\\CurrentVersion") {
        return HiveKind::Software;
    }
    if has("Local Settings") {
        return HiveKind::UsrClass;
    }
    if has("Software") && (has("Environment") || has("Control Panel") || has("Console")) {
        return HiveKind::NtUser;
    }
    // Names only break ties for hives too sparse to tell apart.
    let name =
        path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    match name.as_str() {
        "ntuser.dat" if has("Software") => HiveKind::NtUser,
        _ => HiveKind::Other,
    }
}

/// A key (`nk` cell).
#[derive(Clone, Debug)]
pub struct Key<'h> {
    hive: &'h Hive,
    off: u32,
    cell: &'h [u8],
    name: String,
    recovered: bool,
}

impl<'h> Key<'h> {
    fn at(hive: &'h Hive, off: u32) -> Result<Key<'h>, String> {
        let cell = hive.cell(off).ok_or_else(|| format!("key cell at {off:#x} out of bounds"))?;
        if cell.get(..2) != Some(b"nk") {
            return Err(format!("cell at {off:#x} is not a key"));
        }
        let flags = u16_at(cell, 2).unwrap_or(0);
        let len = u16_at(cell, 72).unwrap_or(0) as usize;
        let raw =
            cell.get(76..76 + len).ok_or_else(|| format!("key name at {off:#x} cut short"))?;
        let name = if flags & 0x20 != 0 { latin1(raw) } else { utf16(raw) };
        Ok(Key { hive, off, cell, name, recovered: false })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the key was recovered from a free (deleted) cell: Windows no longer lists it,
    /// and its values may have been overwritten in part.
    pub fn recovered(&self) -> bool {
        self.recovered
    }

    /// Deleted keys whose parent was this key, recovered from free cells
    /// ([`Hive::deleted_keys`]).
    pub fn deleted_subkeys(&self) -> Vec<Key<'h>> {
        self.hive
            .deleted_keys()
            .into_iter()
            .filter(|k| u32_at(k.cell, 16) == Some(self.off))
            .collect()
    }

    /// The key's last-written time.
    pub fn last_written(&self) -> Option<DateTime<Utc>> {
        u64_at(self.cell, 4).and_then(filetime)
    }

    /// The subkeys (bounded by the list cells; unreadable entries are left out).
    pub fn subkeys(&self) -> Vec<Key<'h>> {
        let count = u32_at(self.cell, 20).unwrap_or(0) as usize;
        let list = u32_at(self.cell, 28).unwrap_or(u32::MAX);
        let mut out = Vec::new();
        if count == 0 || list == u32::MAX {
            return out;
        }
        let mut offs = Vec::new();
        self.list_offsets(list, 0, &mut offs);
        for off in offs.into_iter().take(count.min(MAX_LIST)) {
            if let Ok(k) = Key::at(self.hive, off) {
                out.push(k);
            }
        }
        out
    }

    fn list_offsets(&self, list: u32, depth: u8, out: &mut Vec<u32>) {
        let Some(cell) = self.hive.cell(list) else { return };
        let n = u16_at(cell, 2).unwrap_or(0) as usize;
        match cell.get(..2) {
            Some(b"lf" | b"lh") => {
                for i in 0..n {
                    match u32_at(cell, 4 + i * 8) {
                        Some(o) => out.push(o),
                        None => break,
                    }
                }
            }
            Some(b"li") => {
                for i in 0..n {
                    match u32_at(cell, 4 + i * 4) {
                        Some(o) => out.push(o),
                        None => break,
                    }
                }
            }
            Some(b"ri") if depth == 0 => {
                for i in 0..n {
                    match u32_at(cell, 4 + i * 4) {
                        Some(o) => self.list_offsets(o, 1, out),
                        None => break,
                    }
                    if out.len() > MAX_LIST {
                        break;
                    }
                }
            }
            _ => {}
        }
    }

    /// The subkey named `name` (case-insensitive).
    pub fn subkey(&self, name: &str) -> Option<Key<'h>> {
        self.subkeys().into_iter().find(|k| k.name.eq_ignore_ascii_case(name))
    }

    /// The values (unreadable entries are left out).
    pub fn values(&self) -> Vec<Value> {
        let count = u32_at(self.cell, 36).unwrap_or(0) as usize;
        let list = u32_at(self.cell, 40).unwrap_or(u32::MAX);
        let mut out = Vec::new();
        if count == 0 || list == u32::MAX {
            return out;
        }
        let Some(cell) = self.hive.cell(list) else { return out };
        for i in 0..count.min(MAX_LIST) {
            let Some(off) = u32_at(cell, i * 4) else { break };
            if let Some(v) = Value::at(self.hive, off) {
                out.push(v);
            }
        }
        out
    }

    /// The value named `name` (case-insensitive; `""` is the default value).
    pub fn value(&self, name: &str) -> Option<Value> {
        self.values().into_iter().find(|v| v.name.eq_ignore_ascii_case(name))
    }

    /// The deleted values attributed to this (live) key, recovered from free cells and
    /// marked [`Value::recovered`] (see [`Hive::deleted_values`]).
    pub fn deleted_values(&self) -> Vec<Value> {
        if self.recovered {
            return Vec::new();
        }
        let mut out = Vec::new();
        for f in self.hive.freed().iter().filter(|f| f.key == Some(self.off)) {
            if let Some(mut v) = Value::at(self.hive, f.vk) {
                v.recovered = true;
                out.push(v);
            }
            if out.len() >= MAX_LIST {
                break;
            }
        }
        out
    }

    /// The values, then the deleted values attributed to this key (marked
    /// [`Value::recovered`]).
    pub fn values_and_deleted(&self) -> Vec<Value> {
        let mut v = self.values();
        v.extend(self.deleted_values());
        v
    }

    /// The value named `name`, or when the key has none, a deleted value of that name
    /// attributed to it (marked [`Value::recovered`]).
    pub fn value_or_recovered(&self, name: &str) -> Option<Value> {
        self.value(name).or_else(|| {
            self.deleted_values().into_iter().find(|v| v.name.eq_ignore_ascii_case(name))
        })
    }
}

/// A value (`vk` cell) with its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    /// The name (`""` for the default value).
    pub name: String,
    /// The type (`REG_SZ` = 1, `REG_EXPAND_SZ` = 2, `REG_BINARY` = 3, `REG_DWORD` = 4,
    /// `REG_MULTI_SZ` = 7, `REG_QWORD` = 11, …).
    pub kind: u32,
    /// The data bytes (cut at [`MAX_VALUE_DATA`]).
    pub data: Vec<u8>,
    /// Recovered from a free (deleted) cell: Windows no longer lists it.
    pub recovered: bool,
}

impl Value {
    fn at(hive: &Hive, off: u32) -> Option<Value> {
        let cell = hive.cell(off)?;
        if cell.get(..2) != Some(b"vk") {
            return None;
        }
        let name_len = u16_at(cell, 2)? as usize;
        let size_raw = u32_at(cell, 4)?;
        let data_off = u32_at(cell, 8)?;
        let kind = u32_at(cell, 12)?;
        let flags = u16_at(cell, 16)?;
        let raw = cell.get(20..20 + name_len)?;
        let name = if flags & 1 != 0 { latin1(raw) } else { utf16(raw) };
        let data = if size_raw & 0x8000_0000 != 0 {
            let n = ((size_raw & 0x7FFF_FFFF) as usize).min(4);
            data_off.to_le_bytes().get(..n)?.to_vec()
        } else {
            let size = (size_raw as usize).min(MAX_VALUE_DATA);
            let cell = hive.cell(data_off)?;
            if size > 16344 && hive.minor > 3 && cell.get(..2) == Some(b"db") {
                big_data(hive, cell, size)?
            } else {
                cell.get(..size.min(cell.len()))?.to_vec()
            }
        };
        Some(Value { name, kind, data, recovered: false })
    }

    /// The data as text (`REG_SZ`, `REG_EXPAND_SZ`, `REG_LINK`; the first string of
    /// `REG_MULTI_SZ`), read as UTF-16LE up to the first NUL.
    pub fn as_string(&self) -> Option<String> {
        matches!(self.kind, 1 | 2 | 6 | 7).then(|| utf16(&self.data))
    }

    /// Every string of a `REG_MULTI_SZ`.
    pub fn as_strings(&self) -> Vec<String> {
        let units: Vec<u16> = self
            .data
            .chunks_exact(2)
            .map(|c| {
                u16::from_le_bytes([
                    c.first().copied().unwrap_or(0),
                    c.get(1).copied().unwrap_or(0),
                ])
            })
            .collect();
        units.split(|u| *u == 0).filter(|s| !s.is_empty()).map(String::from_utf16_lossy).collect()
    }

    /// The data as a number (`REG_DWORD`, `REG_QWORD`).
    pub fn as_u64(&self) -> Option<u64> {
        match (self.kind, self.data.len()) {
            (4, 4..) => u32_at(&self.data, 0).map(u64::from),
            (5, 4..) => u32_at(&self.data, 0).map(|v| u64::from(u32::from_be(v))),
            (11, 8..) => u64_at(&self.data, 0),
            _ => None,
        }
    }
}

/// Concatenates the segments of a `db` big-data cell.
fn big_data(hive: &Hive, db: &[u8], size: usize) -> Option<Vec<u8>> {
    let n = u16_at(db, 2)? as usize;
    let list = hive.cell(u32_at(db, 4)?)?;
    let mut out = Vec::with_capacity(
        size.min(MAX_VALUE_DATA).min(n.saturating_mul(16344)).min(hive.bins.len()),
    );
    for i in 0..n {
        let seg = hive.cell(u32_at(list, i * 4)?)?;
        let take = (size - out.len()).min(16344).min(seg.len());
        out.extend_from_slice(seg.get(..take)?);
        if out.len() >= size {
            break;
        }
    }
    Some(out)
}
