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

/// What the name table keeps of a record (24 bytes; the name, and the path of a folder once
/// it is known, live in the table's arenas).
#[derive(Clone, Copy, Debug)]
struct Node {
    /// The parent's record number (48 bits) and sequence number (16 bits), as NTFS packs them.
    parent: u64,
    name_off: u32,
    /// Where this folder's path (`\dir\name`, from the root) starts in the path arena;
    /// valid when at least the table's `paths_valid_from` and not [`NO_PATH`].
    path_off: u32,
    name_len: u16,
    seq: u16,
    path_len: u16,
    rank: u8,
    /// The folders on the path (this one included), when the path is kept.
    depth: u8,
}

/// `rank` of a slot of the dense table that holds no record.
const EMPTY: u8 = u8::MAX;
/// `path_off` of a folder whose path is not kept.
const NO_PATH: u32 = u32::MAX;
/// The most bytes of folder paths kept (each path is kept once, when a record in the folder
/// first needs it; beyond this, paths are built by climbing the folders each time).
const MAX_PATH_BYTES: usize = 64 << 20;

impl Node {
    fn parent(&self) -> FileRef {
        FileRef::from_u64(self.parent)
    }
}

/// The most records learnt from journal names (the `$MFT`'s own are bounded by its size).
const MAX_JOURNAL_NAMES: usize = 1 << 24;

/// How far past the highest record indexed a record read may lie and still be indexed by
/// number (the slots between cost 24 bytes each).
const MAX_GAP: usize = 1 << 16;

/// The most record numbers a table indexes densely before any record is read
/// ([`NameTable::reserve`]).
const MAX_RESERVED: usize = 1 << 26;

/// Record numbers to names and parents, from a `$MFT` (live and deleted records) and from
/// journal records, to turn a parent reference into a path. Records are indexed by number
/// (the numbers of a `$MFT` are dense; the table grows only to the highest number of a record
/// read from it), names are kept in one arena, so a record costs about 24 bytes besides its
/// name. Once a folder's chain reaches the root its path is kept (the table only grows, so it
/// cannot change unless a record is replaced, which sets the kept paths aside).
#[derive(Clone, Debug, Default)]
pub struct NameTable {
    /// By record number; a slot whose `rank` is [`EMPTY`] holds nothing.
    dense: Vec<Node>,
    /// One bit per slot of `dense`: set when it holds a record (a look-up that only asks
    /// whether a record is known stays in a small array).
    known: Vec<u64>,
    /// Records whose numbers lie beyond `dense` (journal names, extension records naming a
    /// base record not read yet).
    sparse: HashMap<u64, Node>,
    count: usize,
    names: String,
    /// Folder paths, `\dir\name` each.
    paths: String,
    /// Paths before this offset in `paths` are stale (a record was replaced since).
    paths_valid_from: usize,
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

/// The folders climbed on the way to the root, with their record numbers (none when the
/// folder's path is kept: no allocation).
type Chain = Vec<(u64, Node)>;

/// Where a climb ended.
#[derive(Clone, Copy)]
enum Climbed {
    /// At the root, or at a folder whose path is kept (its node).
    Root(Option<Node>),
    /// The chain broke (a loop, a folder reused since, too deep).
    Broken,
    /// A folder is missing: its record number.
    Missing(u64),
}

impl NameTable {
    /// An empty table giving paths on drive `letter` (`None`: paths start at `\`).
    pub fn new(letter: Option<char>) -> NameTable {
        NameTable { letter, ..NameTable::default() }
    }

    /// Makes room for `records` records read from a `$MFT` (the file's size over its record
    /// size; at most 2^26).
    pub fn reserve(&mut self, records: u64) {
        let n = usize::try_from(records).unwrap_or(usize::MAX).min(MAX_RESERVED);
        self.dense.reserve_exact(n.saturating_sub(self.dense.len()));
        self.known.reserve_exact(n.div_ceil(64).saturating_sub(self.known.len()));
    }

    /// Records kept.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether the table holds record `record`.
    fn has(&self, record: u64) -> bool {
        let word = usize::try_from(record / 64).ok().and_then(|w| self.known.get(w));
        match word {
            Some(w) if w & (1 << (record % 64)) != 0 => true,
            _ => !self.sparse.is_empty() && self.sparse.contains_key(&record),
        }
    }

    fn get(&self, record: u64) -> Option<&Node> {
        let dense = usize::try_from(record).ok().and_then(|i| self.dense.get(i));
        match dense {
            Some(n) if n.rank != EMPTY => Some(n),
            _ if self.sparse.is_empty() => None,
            _ => self.sparse.get(&record),
        }
    }

    fn get_mut(&mut self, record: u64) -> Option<&mut Node> {
        let in_dense = usize::try_from(record)
            .ok()
            .and_then(|i| self.dense.get(i))
            .is_some_and(|n| n.rank != EMPTY);
        if in_dense {
            usize::try_from(record).ok().and_then(|i| self.dense.get_mut(i))
        } else {
            self.sparse.get_mut(&record)
        }
    }

    /// Puts `node` under `record`; the dense index grows up to `record` only when
    /// `record <= grow_to` (a record number read, never one a record names).
    fn put(&mut self, record: u64, node: Node, grow_to: u64) {
        if self.get(record).is_some() {
            // It may be a folder above a kept path: those kept so far are set aside.
            self.paths_valid_from = self.paths.len();
        } else {
            self.count += 1;
        }
        let slot = usize::try_from(record).ok().and_then(|i| {
            // Within what was reserved, or close to the records read so far (a record far
            // beyond them, as a sparse volume may hold, goes to the map).
            let near = i < self.dense.capacity() || i - self.dense.len() < MAX_GAP;
            if i >= self.dense.len() && record <= grow_to && near {
                self.dense.resize(i + 1, Node { rank: EMPTY, ..node });
            }
            self.dense.get_mut(i)
        });
        match slot {
            Some(s) => {
                *s = node;
                let (word, bit) = ((record / 64) as usize, record % 64);
                if self.known.len() <= word {
                    self.known.resize(word + 1, 0);
                }
                if let Some(w) = self.known.get_mut(word) {
                    *w |= 1 << bit;
                }
                if !self.sparse.is_empty() {
                    self.sparse.remove(&record);
                }
            }
            None => {
                self.sparse.insert(record, node);
            }
        }
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
            path_off: NO_PATH,
            name_len: u16::try_from(name.len()).unwrap_or(0),
            seq,
            path_len: 0,
            rank,
            depth: 0,
        })
    }

    fn name(&self, n: &Node) -> &str {
        let from = n.name_off as usize;
        self.names.get(from..from + usize::from(n.name_len)).unwrap_or("")
    }

    /// The kept path of folder `n` (`\dir\name`) and its depth, when kept and still valid.
    fn kept_path(&self, n: &Node) -> Option<(&str, usize)> {
        let from = n.path_off as usize;
        if n.path_off == NO_PATH || from < self.paths_valid_from {
            return None;
        }
        Some((self.paths.get(from..from + usize::from(n.path_len))?, usize::from(n.depth)))
    }

    /// Adds a record's best name. An in-use record replaces what a deleted one left under
    /// the same number.
    pub fn add_record(&mut self, r: &MftRecord) {
        let owner = if r.base == 0 { r.number } else { r.base };
        for n in &r.names {
            let rank = namespace_rank(n.namespace);
            let old = self.get(owner).copied();
            let seq = if r.base == 0 { r.seq } else { old.map_or(0, |o| o.seq) };
            let better = old.is_none_or(|old| {
                (r.in_use && old.seq != seq) || (old.seq == seq && rank < old.rank)
            });
            if better {
                let parent = FileRef { record: n.parent, seq: n.parent_seq };
                if let Some(node) = self.node(parent, seq, rank, &n.name) {
                    self.put(owner, node, r.number);
                }
            }
        }
    }

    /// Adds a name learnt from elsewhere (a journal record) when the table has nothing for
    /// that record number (what the `$MFT` says is never replaced); at most
    /// 16,777,216 such names.
    pub fn add_name(&mut self, file: FileRef, parent: FileRef, name: &str) {
        if self.learnt >= MAX_JOURNAL_NAMES || self.has(file.record) {
            return;
        }
        if let Some(node) = self.node(parent, file.seq, 0, name) {
            self.put(file.record, node, 0);
            self.learnt += 1;
        }
    }

    /// The path of `name` in the folder `parent` (the paths of the folders on the way are
    /// kept, so the next record in them does not climb again).
    pub fn child_path(&mut self, parent: FileRef, name: &str) -> ResolvedPath {
        let mut chain = Chain::new();
        let climbed = self.climb(parent, &mut chain);
        self.finish(climbed, &chain, name)
    }

    /// [`NameTable::child_path`] for a reader that adds the records of a `$MFT` in order and
    /// has added those below record number `next`: the path when nothing that may still come
    /// can change it, `None` when a folder on the way is missing and its record number is
    /// `next` or above (it may come later in the file).
    pub fn child_path_final(
        &mut self,
        parent: FileRef,
        name: &str,
        next: u64,
    ) -> Option<ResolvedPath> {
        let mut chain = Chain::new();
        match self.climb(parent, &mut chain) {
            Climbed::Missing(m) if m >= next => None,
            climbed => Some(self.finish(climbed, &chain, name)),
        }
    }

    /// The path of `name` below `chain`, keeping the folders' paths when it reached the root.
    fn finish(&mut self, climbed: Climbed, chain: &[(u64, Node)], name: &str) -> ResolvedPath {
        let (top, partial) = match climbed {
            Climbed::Root(top) => (top, false),
            Climbed::Broken | Climbed::Missing(_) => (None, true),
        };
        let path = self.render(top.as_ref(), chain, Some(name), partial);
        if !partial && !chain.is_empty() {
            self.keep(top.as_ref(), chain, &path);
        }
        ResolvedPath { path, partial }
    }

    /// The path of record `file`.
    pub fn path_of(&self, file: FileRef) -> ResolvedPath {
        let mut chain = Chain::new();
        let (top, partial) = match self.climb(file, &mut chain) {
            Climbed::Root(top) => (top, false),
            Climbed::Broken | Climbed::Missing(_) => (None, true),
        };
        // The record's own name is the chain's first.
        let (own, chain) = match chain.split_first() {
            Some(((_, n), rest)) => (Some(self.name(n)), rest),
            None => (None, &chain[..]),
        };
        ResolvedPath { path: self.render(top.as_ref(), chain, own, partial), partial }
    }

    /// Gathers the records from `start` up to the root, or up to a folder whose path is kept
    /// (given with [`Climbed::Root`]), at most [`MAX_DEPTH`] of them.
    fn climb(&self, start: FileRef, chain: &mut Chain) -> Climbed {
        let mut cur = start;
        for _ in 0..MAX_DEPTH {
            if cur.record == ROOT {
                return Climbed::Root(None);
            }
            let Some(node) = self.get(cur.record) else { return Climbed::Missing(cur.record) };
            if cur.seq != 0 && node.seq != 0 && node.seq != cur.seq {
                // The folder's record was reused since: its name now is another's.
                return Climbed::Broken;
            }
            if let Some((_, depth)) = self.kept_path(node) {
                // The same limit as climbing the folders one by one.
                if chain.len() + depth < MAX_DEPTH {
                    return Climbed::Root(Some(*node));
                }
            }
            chain.push((cur.record, *node));
            let parent = node.parent();
            if parent.record == cur.record {
                return Climbed::Broken;
            }
            cur = parent;
        }
        // MAX_DEPTH steps without reaching the root: a loop.
        Climbed::Broken
    }

    /// `C:` (the drive), `\…` when partial, the kept path of `top`, the names of `chain` from
    /// the root down, then `\name`.
    fn render(
        &self,
        top: Option<&Node>,
        chain: &[(u64, Node)],
        name: Option<&str>,
        partial: bool,
    ) -> String {
        let kept = top.and_then(|t| self.kept_path(t)).map_or("", |(p, _)| p);
        let names: usize = chain.iter().map(|(_, n)| usize::from(n.name_len) + 1).sum();
        let mut path = String::with_capacity(8 + kept.len() + names + name.map_or(0, str::len));
        if let Some(l) = self.letter {
            path.push(l);
            path.push(':');
        }
        if partial {
            path.push_str("\\…");
        }
        path.push_str(kept);
        for (_, n) in chain.iter().rev() {
            path.push('\\');
            path.push_str(self.name(n));
        }
        if let Some(name) = name {
            path.push('\\');
            path.push_str(name);
        }
        if path.is_empty() || path.ends_with(':') {
            path.push('\\');
        }
        path
    }

    /// Keeps the paths of the folders of `chain` (which reached the root, or `top`), read from
    /// `path` as [`NameTable::render`] made it.
    fn keep(&mut self, top: Option<&Node>, chain: &[(u64, Node)], path: &str) {
        let lead = self.letter.map_or(0, |l| l.len_utf8() + 1);
        let Some(from_root) = path.get(lead..) else { return };
        let (mut end, mut depth) =
            top.and_then(|t| self.kept_path(t)).map_or((0, 0), |(p, d)| (p.len(), d));
        for (record, n) in chain.iter().rev() {
            end += 1 + usize::from(n.name_len);
            depth += 1;
            let Some(own) = from_root.get(..end) else { return };
            let (Ok(len), Ok(depth8)) = (u16::try_from(own.len()), u8::try_from(depth)) else {
                return;
            };
            let Ok(off) = u32::try_from(self.paths.len()) else { return };
            if off == NO_PATH || self.paths.len() + own.len() > MAX_PATH_BYTES {
                return;
            }
            self.paths.push_str(own);
            if let Some(slot) = self.get_mut(*record) {
                slot.path_off = off;
                slot.path_len = len;
                slot.depth = depth8;
            }
        }
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

    /// A record read far beyond the others (a sparse volume) is kept without making room for
    /// every number before it.
    #[test]
    fn a_far_record_number_is_kept_without_room_for_the_numbers_before() {
        let mut t = NameTable::new(Some('C'));
        t.add_record(&rec(30, 1, true, ROOT, "inetpub"));
        let far = 1u64 << 40;
        let mut dir = rec(far, 1, true, 30, "far");
        dir.is_dir = true;
        t.add_record(&dir);
        t.add_record(&rec(far + 1, 1, true, far, "x.aspx"));
        assert!(t.dense.len() < 1 << 20, "{} slots", t.dense.len());
        assert_eq!(t.len(), 3);
        assert_eq!(t.path_of(FileRef { record: far + 1, seq: 1 }).path, r"C:\inetpub\far\x.aspx");
        assert_eq!(t.child_path(FileRef { record: far, seq: 1 }, "y").path, r"C:\inetpub\far\y");
        t.add_name(FileRef { record: far + 1, seq: 1 }, FileRef { record: 30, seq: 0 }, "other");
        assert_eq!(t.len(), 3, "a journal name never replaces a record's");
    }

    proptest! {
        /// Paths given once folders' paths are kept are those climbing every folder gives:
        /// records added in any order (extension records, reused numbers, loops, missing
        /// folders, journal names), paths asked between the additions.
        #[test]
        fn kept_folder_paths_change_nothing(
            ops in proptest::collection::vec(
                (0u64..24, 0u16..3, any::<bool>(), 0u64..24, 0u64..3, 0u16..3, 0u8..4),
                0..80,
            ),
            letter in any::<bool>(),
        ) {
            let letter = letter.then_some('C');
            let mut t = NameTable::new(letter);
            let mut added: Vec<(bool, MftRecord)> = Vec::new();
            for (i, (number, seq, in_use, parent, base, pseq, kind)) in ops.into_iter().enumerate() {
                // Record 5 is the root; numbers above it are folders and files.
                let number = number + 5;
                let parent = if parent < 4 { ROOT } else { parent + 2 };
                let mut r = rec(number, seq, in_use, parent, &format!("n{i}"));
                r.names[0].parent_seq = pseq;
                r.names[0].namespace = kind % 3 + 1;
                if base > 0 && kind == 3 {
                    r.base = base + 5;
                }
                let journal = kind == 0 && !in_use;
                if journal {
                    t.add_name(r.file_ref(), FileRef { record: parent, seq: pseq }, &r.names[0].name);
                } else {
                    t.add_record(&r);
                }
                added.push((journal, r));
                // The same records in a table that keeps nothing yet.
                let mut fresh = NameTable::new(letter);
                for (journal, r) in &added {
                    if *journal {
                        let n = &r.names[0];
                        fresh.add_name(r.file_ref(), FileRef { record: n.parent, seq: n.parent_seq }, &n.name);
                    } else {
                        fresh.add_record(r);
                    }
                }
                for q in 0..8u64 {
                    let at = FileRef { record: q * 3 + 5, seq: (q % 3) as u16 };
                    let want = fresh.clone().child_path(at, "x");
                    prop_assert_eq!(t.child_path(at, "x"), want);
                    prop_assert_eq!(t.path_of(at), fresh.path_of(at));
                    let next = number + 1;
                    prop_assert_eq!(
                        t.child_path_final(at, "y", next),
                        fresh.clone().child_path_final(at, "y", next)
                    );
                }
            }
        }

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
