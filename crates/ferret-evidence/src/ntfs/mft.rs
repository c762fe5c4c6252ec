//! MFT records as history: every record of a `$MFT` (in use or deleted, with its
//! `$STANDARD_INFORMATION` and `$FILE_NAME` times), read from a volume
//! ([`super::NtfsSource::mft_records`]) or from a `$MFT` file copied by a triage collector
//! ([`read_mft`]), and the paths their parent references lead to ([`NameTable`]).
//!
//! The record layer is the one the volume reader uses (`record::fixup`,
//! `record::attributes`, [`FileName`]): a record whose fixups do not match, whose attribute
//! lengths lie or whose header is cut is an error naming the record, never a panic. A path is
//! followed through at most [`super::MAX_DEPTH`] parents; a loop, a missing parent or a
//! folder record reused since (its sequence number differs) makes the path *partial*: it is
//! given from the last folder known, after `…`.

use std::collections::HashMap;
use std::io::{self, Read};

use ferret_core::FileTimes;

use super::record::{self, ATTR_FILE_NAME, ATTR_STANDARD_INFORMATION, RecordError};
use super::usn::FileRef;
use super::{FileName, MAX_DEPTH, ROOT, namespace_rank, parse_file_name, times_at};
use crate::bytes::{u16_at, u32_at};

/// The record sizes accepted in a `$MFT` file.
const RECORD_SIZES: std::ops::RangeInclusive<usize> = 512..=65536;

/// One MFT record read as history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MftRecord {
    /// Its number (its position in the MFT).
    pub number: u64,
    /// Its sequence number (raised each time the record is reused).
    pub seq: u16,
    /// Whether the record is in use (clear: the file was deleted and the record keeps what
    /// it held until it is reused).
    pub in_use: bool,
    /// Whether it is a folder.
    pub is_dir: bool,
    /// The base record of an extension record (0 for a base record).
    pub base: u64,
    /// `$STANDARD_INFORMATION` times (the ones Windows shows, and tools can set).
    pub standard_information: Option<FileTimes>,
    /// `FILE_ATTRIBUTE_*` flags from `$STANDARD_INFORMATION`.
    pub file_attributes: u32,
    /// Every `$FILE_NAME` (Win32, DOS, POSIX names; hard links), with its parent and times.
    pub names: Vec<FileName>,
}

impl MftRecord {
    /// The name shown: Win32 (or Win32+DOS) first, then POSIX, DOS last.
    pub fn best_name(&self) -> Option<&FileName> {
        self.names.iter().min_by_key(|n| namespace_rank(n.namespace))
    }

    /// This record as a reference (number and sequence).
    pub fn file_ref(&self) -> FileRef {
        FileRef { record: self.number, seq: self.seq }
    }
}

/// Parses record `number` (fixups applied in place). `Ok(None)`: never used (all zeros).
pub fn parse_record(number: u64, rec: &mut [u8]) -> Result<Option<MftRecord>, String> {
    let header = match record::fixup(rec) {
        Ok(h) => h,
        Err(RecordError::Empty) => return Ok(None),
        Err(RecordError::Bad(why)) => return Err(why),
    };
    // Data runs do not matter here: any cluster number is accepted.
    let attrs = record::attributes(rec, u64::MAX)?;
    let mut out = MftRecord {
        number,
        seq: header.seq,
        in_use: header.in_use,
        is_dir: header.is_dir,
        base: header.base,
        standard_information: None,
        file_attributes: 0,
        names: Vec::new(),
    };
    for a in &attrs {
        match (a.kind, a.resident) {
            (ATTR_STANDARD_INFORMATION, Some(v)) => {
                out.standard_information = Some(times_at(v, 0));
                out.file_attributes = u32_at(v, 0x20).unwrap_or(0);
            }
            (ATTR_FILE_NAME, Some(v)) => {
                if let Some(n) = parse_file_name(v) {
                    out.names.push(n);
                }
            }
            _ => {}
        }
    }
    Ok(Some(out))
}

/// Whether `head` starts like a `$MFT` file: a `FILE` record whose update sequence array
/// sits at offset 0x30 (`FILE0`), with a plausible record size.
pub fn looks_like_mft(head: &[u8]) -> bool {
    head.starts_with(b"FILE0") && record_size(head).is_some()
}

/// The record size a `$MFT` file declares in its first record (the allocated size field).
pub fn record_size(head: &[u8]) -> Option<usize> {
    if !head.starts_with(b"FILE") {
        return None;
    }
    let size = u32_at(head, 0x1C)? as usize;
    let count = usize::from(u16_at(head, 6)?);
    (RECORD_SIZES.contains(&size)
        && size.is_power_of_two()
        && count.saturating_sub(1).saturating_mul(512) == size)
        .then_some(size)
}

/// What reading a `$MFT` counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MftStats {
    /// Records read (empty ones included).
    pub records: u64,
    /// Records in use.
    pub in_use: u64,
    /// Records not in use that still hold a name (deleted files).
    pub deleted: u64,
    /// Records that could not be parsed.
    pub damaged: u64,
    /// The first few of them: record number and reason.
    pub damage: Vec<(u64, String)>,
    /// A read error that ended the file early.
    pub read_error: Option<String>,
    /// Bytes left over after the last whole record.
    pub trailing: u64,
}

const MAX_DAMAGE_KEPT: usize = 16;

impl MftStats {
    pub(crate) fn count(&mut self, r: &Result<Option<MftRecord>, String>, number: u64) {
        self.records += 1;
        match r {
            Ok(Some(m)) if m.in_use => self.in_use += 1,
            Ok(Some(m)) if !m.names.is_empty() => self.deleted += 1,
            Ok(_) => {}
            Err(why) => {
                self.damaged += 1;
                if self.damage.len() < MAX_DAMAGE_KEPT {
                    self.damage.push((number, why.clone()));
                }
            }
        }
    }
}

/// Reads every record of a `$MFT` file from `r` (records of `record_size` bytes, see
/// [`record_size`]), calling `visit` with each parsed record that holds anything. Stops at the
/// end of the data, a read error, or when `stop` says so (checked every 1024 records).
pub fn read_mft(
    r: &mut dyn Read,
    record_size: usize,
    stop: &dyn Fn() -> bool,
    visit: &mut dyn FnMut(MftRecord),
) -> MftStats {
    let mut st = MftStats::default();
    if !RECORD_SIZES.contains(&record_size) {
        st.read_error = Some(format!("record size {record_size}"));
        return st;
    }
    let mut rec = vec![0u8; record_size];
    let mut number = 0u64;
    loop {
        if number.is_multiple_of(1024) && stop() {
            break;
        }
        let mut filled = 0;
        while filled < record_size {
            match r.read(rec.get_mut(filled..).unwrap_or_default()) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    st.read_error = Some(e.to_string());
                    return st;
                }
            }
        }
        if filled < record_size {
            st.trailing = filled as u64;
            break;
        }
        let parsed = parse_record(number, &mut rec);
        st.count(&parsed, number);
        if let Ok(Some(m)) = parsed {
            visit(m);
        }
        number += 1;
    }
    st
}

/// What the name table keeps of a record (24 bytes; the name lives in the table's arena).
#[derive(Clone, Copy, Debug)]
struct Node {
    /// The parent's record number (48 bits) and sequence number (16 bits), as NTFS packs them.
    parent: u64,
    name_off: u32,
    name_len: u16,
    seq: u16,
    rank: u8,
}

impl Node {
    fn parent(&self) -> FileRef {
        FileRef::from_u64(self.parent)
    }
}

/// The most records learnt from journal names (the `$MFT`'s own are bounded by its size).
const MAX_JOURNAL_NAMES: usize = 1 << 24;

/// Record numbers to names and parents, from a `$MFT` (live and deleted records) and from
/// journal records, to turn a parent reference into a path. Names are kept in one arena, so a
/// record costs about 40 bytes besides its name.
#[derive(Clone, Debug, Default)]
pub struct NameTable {
    nodes: HashMap<u64, Node>,
    names: String,
    letter: Option<char>,
    learnt: usize,
}

/// A path built from parent references, and whether it reaches the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedPath {
    /// `C:\dir\name`; when partial, `C:\…\dir\name` (from the last folder known).
    pub path: String,
    /// The parent chain broke (a missing or reused folder record, or a loop).
    pub partial: bool,
}

impl NameTable {
    /// An empty table giving paths on drive `letter` (`None`: paths start at `\`).
    pub fn new(letter: Option<char>) -> NameTable {
        NameTable { letter, ..NameTable::default() }
    }

    /// Records kept.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// A node for `name` (`None` when the arena would pass 4 GiB).
    fn node(&mut self, parent: FileRef, seq: u16, rank: u8, name: &str) -> Option<Node> {
        let name_off = u32::try_from(self.names.len()).ok()?;
        let cut = name.char_indices().map(|(i, c)| i + c.len_utf8()).take_while(|e| *e <= 1024);
        let name = name.get(..cut.last().unwrap_or(0)).unwrap_or("");
        u32::try_from(self.names.len() + name.len()).ok()?;
        self.names.push_str(name);
        Some(Node {
            parent: (parent.record & 0xFFFF_FFFF_FFFF) | (u64::from(parent.seq) << 48),
            name_off,
            name_len: u16::try_from(name.len()).unwrap_or(0),
            seq,
            rank,
        })
    }

    fn name(&self, n: &Node) -> &str {
        let from = n.name_off as usize;
        self.names.get(from..from + usize::from(n.name_len)).unwrap_or("")
    }

    /// Adds a record's best name. An in-use record replaces what a deleted one left under
    /// the same number.
    pub fn add_record(&mut self, r: &MftRecord) {
        let owner = if r.base == 0 { r.number } else { r.base };
        for n in &r.names {
            let rank = namespace_rank(n.namespace);
            let old = self.nodes.get(&owner).copied();
            let seq = if r.base == 0 { r.seq } else { old.map_or(0, |o| o.seq) };
            let better = old.is_none_or(|old| {
                (r.in_use && old.seq != seq) || (old.seq == seq && rank < old.rank)
            });
            if better {
                let parent = FileRef { record: n.parent, seq: n.parent_seq };
                if let Some(node) = self.node(parent, seq, rank, &n.name) {
                    self.nodes.insert(owner, node);
                }
            }
        }
    }

    /// Adds a name learnt from elsewhere (a journal record) when the table has nothing for
    /// that record number (what the `$MFT` says is never replaced); at most
    /// 16,777,216 such names.
    pub fn add_name(&mut self, file: FileRef, parent: FileRef, name: &str) {
        if self.learnt >= MAX_JOURNAL_NAMES || self.nodes.contains_key(&file.record) {
            return;
        }
        if let Some(node) = self.node(parent, file.seq, 0, name) {
            self.nodes.insert(file.record, node);
            self.learnt += 1;
        }
    }

    /// The path of `name` in the folder `parent`.
    pub fn child_path(&self, parent: FileRef, name: &str) -> ResolvedPath {
        let mut parts: Vec<&str> = vec![name];
        let partial = self.climb(parent, &mut parts);
        self.render(&parts, partial)
    }

    /// [`NameTable::child_path`] for a reader that adds the records of a `$MFT` in order and
    /// has added those below record number `next`: the path when nothing that may still come
    /// can change it, `None` when a folder on the way is missing and its record number is
    /// `next` or above (it may come later in the file).
    pub fn child_path_final(&self, parent: FileRef, name: &str, next: u64) -> Option<ResolvedPath> {
        let mut parts: Vec<&str> = vec![name];
        match self.climb_to(parent, &mut parts) {
            Ok(partial) => Some(self.render(&parts, partial)),
            Err(missing) if missing >= next => None,
            Err(_) => Some(self.render(&parts, true)),
        }
    }

    /// The path of record `file`.
    pub fn path_of(&self, file: FileRef) -> ResolvedPath {
        let mut parts: Vec<&str> = Vec::new();
        let partial = self.climb(file, &mut parts);
        self.render(&parts, partial)
    }

    /// Pushes the names from `start` up to the root; true when the chain broke.
    fn climb<'a>(&'a self, start: FileRef, parts: &mut Vec<&'a str>) -> bool {
        self.climb_to(start, parts).unwrap_or(true)
    }

    /// [`NameTable::climb`], telling a missing folder (`Err`, its record number) from the
    /// other breaks (`Ok(true)`).
    fn climb_to<'a>(&'a self, start: FileRef, parts: &mut Vec<&'a str>) -> Result<bool, u64> {
        let mut cur = start;
        for _ in 0..MAX_DEPTH {
            if cur.record == ROOT {
                return Ok(false);
            }
            let Some(node) = self.nodes.get(&cur.record) else { return Err(cur.record) };
            if cur.seq != 0 && node.seq != 0 && node.seq != cur.seq {
                // The folder's record was reused since: its name now is another's.
                return Ok(true);
            }
            parts.push(self.name(node));
            let parent = node.parent();
            if parent.record == cur.record {
                return Ok(true);
            }
            cur = parent;
        }
        // MAX_DEPTH steps without reaching the root: a loop.
        Ok(true)
    }

    fn render(&self, parts: &[&str], partial: bool) -> ResolvedPath {
        let mut path = match self.letter {
            Some(l) => format!("{l}:"),
            None => String::new(),
        };
        if partial {
            path.push_str("\\…");
        }
        for p in parts.iter().rev() {
            path.push('\\');
            path.push_str(p);
        }
        if path.is_empty() || path.ends_with(':') {
            path.push('\\');
        }
        ResolvedPath { path, partial }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fname(parent: u64, name: &str) -> FileName {
        FileName {
            parent,
            parent_seq: 0,
            namespace: 1,
            name: name.to_owned(),
            times: FileTimes::default(),
        }
    }

    fn rec(number: u64, seq: u16, in_use: bool, parent: u64, name: &str) -> MftRecord {
        MftRecord {
            number,
            seq,
            in_use,
            is_dir: false,
            base: 0,
            standard_information: None,
            file_attributes: 0,
            names: vec![fname(parent, name)],
        }
    }

    #[test]
    fn paths_partial_on_loops_missing_and_reused_folders() {
        let mut t = NameTable::new(Some('C'));
        t.add_record(&rec(30, 1, true, ROOT, "inetpub"));
        t.add_record(&rec(31, 1, true, 30, "wwwroot"));
        t.add_record(&rec(32, 1, true, 31, "aspnet_client"));
        t.add_record(&rec(33, 4, false, 32, "x.aspx"));
        t.add_record(&rec(40, 1, true, 41, "a"));
        t.add_record(&rec(41, 1, true, 40, "b"));
        let p = t.path_of(FileRef { record: 33, seq: 4 });
        assert_eq!(
            p,
            ResolvedPath {
                path: r"C:\inetpub\wwwroot\aspnet_client\x.aspx".into(),
                partial: false
            }
        );
        assert!(t.path_of(FileRef { record: 40, seq: 0 }).partial, "a loop ends");
        let lost = t.child_path(FileRef { record: 99, seq: 1 }, "y.aspx");
        assert_eq!(lost.path, r"C:\…\y.aspx");
        assert!(lost.partial);
        let reused = t.child_path(FileRef { record: 32, seq: 7 }, "z.aspx");
        assert!(reused.partial, "folder record reused since");
        assert_eq!(
            t.child_path(FileRef { record: 32, seq: 1 }, "z.aspx").path,
            r"C:\inetpub\wwwroot\aspnet_client\z.aspx"
        );
        assert_eq!(NameTable::new(None).path_of(FileRef { record: ROOT, seq: 0 }).path, "\\");
    }

    proptest! {
        #[test]
        fn mft_files_never_panic(b in proptest::collection::vec(any::<u8>(), 0..5000), sig in any::<bool>()) {
            let mut b = b;
            if sig && b.len() >= 8 {
                b[..5].copy_from_slice(b"FILE0");
                b[6] = 3;
                b[7] = 0;
            }
            let _ = looks_like_mft(&b);
            let mut table = NameTable::new(Some('C'));
            let st = read_mft(&mut b.as_slice(), 1024, &|| false, &mut |r| table.add_record(&r));
            prop_assert_eq!(st.records, b.len() as u64 / 1024);
            for n in 0..8 {
                let _ = table.path_of(FileRef { record: n, seq: 0 });
            }
        }
    }
}
