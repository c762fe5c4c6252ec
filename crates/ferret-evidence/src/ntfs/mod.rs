//! NTFS read in place, read-only, from any [`ReadAt`] (a partition of an image).
//!
//! The volume is listed from the MFT, record by record, not through directory indexes: every
//! file in use is found once (hard links under their first Win32 name), a loop in directory
//! indexes cannot make the walk loop, and a path is built by following `$FILE_NAME` parent
//! references up to the root (at most [`MAX_DEPTH`] steps; a loop or a missing parent puts
//! the file under `\$OrphanFiles`). Attribute lists are followed one level (extension records
//! must name the file as their base; at most [`MAX_EXTENSIONS`] of them), never recursively.
//!
//! Read: resident and non-resident data, sparse runs, data past the initialised size (zeros),
//! LZNT1-compressed streams, alternate data streams (`C:\dir\file:stream`). Not read, but
//! listed with the reason ([`crate::Entry::unreadable`]): EFS-encrypted files, WOF/CompactOS-
//! compressed files and deduplicated files. The metadata files (`$MFT`, `$LogFile`, …,
//! `$Extend\…`) are counted, not listed.

pub mod mft;
mod record;
mod stream;
pub mod usn;

use std::collections::HashMap;
use std::io;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use ferret_core::{Cancel, FileTimes, Problem, ProblemKind, Provenance, ReportPath, Sink};

use crate::bytes::{u8_at, u16_at, u32_at, u64_at, utf16_at};
use crate::entry::{Entry, EntryKind, Handle, ListStats, ReadSeek, Source};
use crate::image::{ReadAt, read_exact_at};
pub(crate) use record::Run;
use record::{
    ATTR_ATTRIBUTE_LIST, ATTR_DATA, ATTR_FILE_NAME, ATTR_REPARSE_POINT, ATTR_STANDARD_INFORMATION,
    Attr, FLAG_COMPRESSED, FLAG_ENCRYPTED, Header, RecordError,
};
pub use stream::StreamData;
pub(crate) use stream::StreamReader;

/// The deepest path followed (parent references above this are a loop).
pub const MAX_DEPTH: usize = 512;
/// The most extension records read for one file's attribute list.
pub const MAX_EXTENSIONS: usize = 1024;
/// The largest attribute list read (bytes).
const MAX_ATTRIBUTE_LIST: u64 = 4 << 20;
/// Records below this number are NTFS's own (`$MFT` … `$Extend` and reserved ones).
const FIRST_USER_RECORD: u64 = 24;
const ROOT: u64 = 5;
const EXTEND: u64 = 11;
/// Records read from the MFT at once while listing.
const BATCH: u64 = 256;

const FILE_ATTRIBUTE_ENCRYPTED: u32 = 0x4000;
const REPARSE_TAG_WOF: u32 = 0x8000_0017;
const REPARSE_TAG_DEDUP: u32 = 0x8000_0013;

/// Why a volume cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum NtfsError {
    /// The boot sector is not one ferret can use.
    #[error("boot sector: {0}")]
    Boot(String),
    /// The MFT's own record cannot be read.
    #[error("$MFT record: {0}")]
    Mft(String),
    /// Reading the image failed.
    #[error("read failed: {0}")]
    Io(#[from] io::Error),
}

/// The geometry of a volume and where its MFT lies.
struct Volume {
    dev: Arc<dyn ReadAt>,
    cluster: u64,
    record_size: usize,
    total_clusters: u64,
    mft: StreamData,
    records: u64,
}

/// What the first pass keeps of a record: enough to build paths.
#[derive(Clone, Debug)]
struct Node {
    parent: u64,
    parent_seq: u16,
    seq: u16,
    /// [`namespace_rank`] of the name kept.
    rank: u8,
    name: Box<str>,
}

/// The change journal's data as a reader, and the stream offset it is positioned at.
pub type Journal<'a> = (Box<dyn ReadSeek + 'a>, u64);

/// An NTFS volume as an evidence source.
pub struct NtfsSource {
    vol: Volume,
    nodes: HashMap<u64, Node>,
    letter: char,
    provenance: Provenance,
    /// Problems found while opening (records that could not be read for the name table).
    open_problems: Vec<(u64, String)>,
}

impl NtfsSource {
    /// Opens the volume on `dev` and reads its name table (one pass over the MFT).
    /// `provenance` names the container and partition; the record, stream and times are
    /// filled in per entry.
    pub fn open(dev: Arc<dyn ReadAt>, provenance: Provenance) -> Result<NtfsSource, NtfsError> {
        let vol = Volume::open(dev)?;
        let mut src = NtfsSource {
            vol,
            nodes: HashMap::new(),
            letter: 'C',
            provenance,
            open_problems: Vec::new(),
        };
        src.read_names();
        Ok(src)
    }

    /// Whether the volume's root holds a `Windows` folder (the system volume: `C:`).
    pub fn has_windows_dir(&self) -> bool {
        self.nodes.values().any(|n| n.parent == ROOT && n.name.eq_ignore_ascii_case("windows"))
    }

    /// Sets the drive letter paths are given with (default `C`).
    pub fn set_letter(&mut self, letter: char) {
        self.letter = letter;
    }

    /// Records in the MFT.
    pub fn record_count(&self) -> u64 {
        self.vol.records
    }

    /// The NTFS volume behind an evidence source, if it is one.
    pub fn of(src: &dyn Source) -> Option<&NtfsSource> {
        src.as_any().and_then(|a| a.downcast_ref::<NtfsSource>())
    }

    /// The container file this volume was read from, as it was named.
    pub fn container(&self) -> &str {
        &self.provenance.container
    }

    /// The drive letter paths are given with.
    pub fn letter(&self) -> char {
        self.letter
    }

    /// Every record of the MFT as history ([`mft::MftRecord`]: in use and deleted, with both
    /// time sets), in record order; records that cannot be read or parsed are counted in the
    /// stats (with the first reasons). Stops when `stop` says so (checked per batch).
    pub fn mft_records(
        &self,
        stop: &dyn Fn() -> bool,
        visit: &mut dyn FnMut(mft::MftRecord),
    ) -> mft::MftStats {
        let mut st = mft::MftStats::default();
        let mut batch = Vec::new();
        let mut first = 0;
        while first < self.vol.records {
            if stop() {
                break;
            }
            let n = BATCH.min(self.vol.records - first);
            if let Err(e) = self.vol.read_records(first, n, &mut batch) {
                st.read_error.get_or_insert_with(|| format!("records {first}+{n}: {e}"));
                st.damaged += n;
                first += n;
                continue;
            }
            for (i, rec) in batch.chunks_exact_mut(self.vol.record_size).enumerate() {
                let number = first + i as u64;
                let parsed = mft::parse_record(number, rec);
                st.count(&parsed, number);
                if let Ok(Some(m)) = parsed {
                    visit(m);
                }
            }
            first += n;
        }
        st
    }

    /// The change journal's data (`$Extend\$UsnJrnl:$J`) as a reader positioned at its first
    /// allocated byte (the freed part before it is sparse), with that offset. `Ok(None)`: the
    /// volume has no journal. `Err`: it has one that cannot be read, and why.
    pub fn usn_journal(&self) -> Result<Option<Journal<'_>>, String> {
        let Some((&number, _)) = self
            .nodes
            .iter()
            .find(|(_, n)| n.parent == EXTEND && n.name.eq_ignore_ascii_case("$UsnJrnl"))
        else {
            return Ok(None);
        };
        let mut rec = Vec::new();
        self.vol.read_records(number, 1, &mut rec).map_err(|e| format!("record {number}: {e}"))?;
        let header = match record::fixup(&mut rec) {
            Ok(h) => h,
            Err(RecordError::Empty) => return Err(format!("record {number} is empty")),
            Err(RecordError::Bad(why)) => return Err(format!("record {number}: {why}")),
        };
        let info = self.file(number, &rec, header)?;
        let Some(parts) = info.streams.get("$J") else { return Ok(None) };
        let (data, why) = parts.finish();
        let data = data.ok_or_else(|| why.unwrap_or_else(|| "the $J stream".to_owned()))?;
        let start = data
            .runs
            .iter()
            .find(|r| r.lcn.is_some())
            .map_or(0, |r| r.vcn.saturating_mul(self.vol.cluster))
            .min(data.size);
        let mut reader =
            StreamReader::new(&*self.vol.dev, self.vol.cluster, data).map_err(|e| e.to_string())?;
        io::Seek::seek(&mut reader, io::SeekFrom::Start(start)).map_err(|e| e.to_string())?;
        Ok(Some((Box::new(reader), start)))
    }

    /// The first pass: every in-use record's best name and parent.
    fn read_names(&mut self) {
        let mut batch = Vec::new();
        let mut first = 0;
        while first < self.vol.records {
            let n = BATCH.min(self.vol.records - first);
            if self.vol.read_records(first, n, &mut batch).is_err() {
                // Read again one by one in the second pass, where each failure is reported.
                first += n;
                continue;
            }
            for (i, rec) in batch.chunks_exact_mut(self.vol.record_size).enumerate() {
                let number = first + i as u64;
                let header = match record::fixup(rec) {
                    Ok(h) if h.in_use => h,
                    Ok(_) | Err(RecordError::Empty) => continue,
                    Err(RecordError::Bad(why)) => {
                        self.open_problems.push((number, why));
                        continue;
                    }
                };
                let owner = if header.base == 0 { number } else { header.base };
                let Ok(attrs) = record::attributes(rec, self.vol.total_clusters) else { continue };
                for a in attrs.iter().filter(|a| a.kind == ATTR_FILE_NAME) {
                    let Some(fname) = a.resident.and_then(parse_file_name) else { continue };
                    let rank = namespace_rank(fname.namespace);
                    let better = self.nodes.get(&owner).is_none_or(|old| rank < old.rank);
                    if better {
                        let seq = if header.base == 0 {
                            header.seq
                        } else {
                            self.nodes.get(&owner).map_or(0, |o| o.seq)
                        };
                        self.nodes.insert(
                            owner,
                            Node {
                                parent: fname.parent,
                                parent_seq: fname.parent_seq,
                                seq,
                                rank,
                                name: fname.name.into_boxed_str(),
                            },
                        );
                    }
                }
                if header.base == 0
                    && let Some(node) = self.nodes.get_mut(&number)
                {
                    node.seq = header.seq;
                }
            }
            first += n;
        }
    }

    /// The path of record `number` (`C:\dir\name`), and whether it lies under `$Extend`.
    fn path_of(&self, number: u64) -> (String, bool) {
        let mut parts: Vec<&str> = Vec::new();
        let mut cur = number;
        let mut orphan = false;
        let mut under_extend = false;
        for _ in 0..MAX_DEPTH {
            if cur == ROOT {
                break;
            }
            if cur == EXTEND {
                under_extend = true;
            }
            let Some(node) = self.nodes.get(&cur) else {
                orphan = true;
                break;
            };
            parts.push(&node.name);
            if node.parent == EXTEND {
                under_extend = true;
            }
            let parent_ok =
                self.nodes.get(&node.parent).is_some_and(|p| {
                    node.parent_seq == 0 || p.seq == 0 || p.seq == node.parent_seq
                }) || node.parent == ROOT;
            if !parent_ok || node.parent == cur {
                orphan = true;
                break;
            }
            cur = node.parent;
        }
        if cur != ROOT && !orphan {
            // MAX_DEPTH steps without reaching the root: a loop in the parent references.
            orphan = true;
        }
        let mut path = format!("{}:", self.letter);
        if orphan {
            path.push_str("\\$OrphanFiles");
            parts.truncate(1);
        }
        for p in parts.iter().rev() {
            path.push('\\');
            path.push_str(p);
        }
        if path.len() == 2 {
            path.push('\\');
        }
        (path, under_extend)
    }

    /// Everything the file with base record `number` holds, following its attribute list.
    fn file(&self, number: u64, base: &[u8], header: Header) -> Result<FileInfo, String> {
        let mut info = FileInfo { is_dir: header.is_dir, ..FileInfo::default() };
        let attrs = record::attributes(base, self.vol.total_clusters)?;
        let list = attrs.iter().find(|a| a.kind == ATTR_ATTRIBUTE_LIST).cloned();
        info.add(&attrs);
        let Some(list) = list else { return Ok(info) };
        let bytes = match (&list.resident, &list.non_resident) {
            (Some(v), _) => v.to_vec(),
            (None, Some(nr)) => {
                if nr.data_size > MAX_ATTRIBUTE_LIST {
                    return Err(format!("attribute list of {} bytes", nr.data_size));
                }
                let data = StreamData {
                    resident: None,
                    runs: nr.runs.clone(),
                    size: nr.data_size,
                    init: nr.init_size.min(nr.data_size),
                    unit_clusters: 0,
                };
                let mut out = Vec::new();
                let mut r = StreamReader::new(&*self.vol.dev, self.vol.cluster, data)
                    .map_err(|e| e.to_string())?;
                io::Read::read_to_end(&mut r, &mut out)
                    .map_err(|e| format!("attribute list: {e}"))?;
                out
            }
            _ => Vec::new(),
        };
        let mut seen = std::collections::BTreeSet::new();
        let mut at = 0usize;
        while let Some(len) = u16_at(&bytes, at + 4) {
            let len = usize::from(len);
            if len < 0x1A {
                info.problems.push(format!("attribute list entry at {at} has a bad length"));
                break;
            }
            if let Some(r) = u64_at(&bytes, at + 0x10) {
                let r = r & 0xFFFF_FFFF_FFFF;
                if r != number {
                    seen.insert(r);
                }
            }
            at += len;
        }
        if seen.len() > MAX_EXTENSIONS {
            info.problems.push(format!(
                "attribute list names {} extension records; only the first {MAX_EXTENSIONS} read",
                seen.len()
            ));
        }
        let mut rec = vec![0u8; self.vol.record_size];
        for r in seen.into_iter().take(MAX_EXTENSIONS) {
            if r >= self.vol.records {
                info.problems.push(format!("attribute list names record {r}, past the MFT's end"));
                continue;
            }
            if let Err(e) = self.vol.read_records(r, 1, &mut rec) {
                info.problems.push(format!("extension record {r}: {e}"));
                continue;
            }
            match record::fixup(&mut rec) {
                Ok(h) if h.in_use && h.base == number => {}
                Ok(_) => {
                    info.problems.push(format!(
                        "attribute list names record {r}, which does not belong to this file"
                    ));
                    continue;
                }
                Err(RecordError::Empty) => {
                    info.problems.push(format!("extension record {r} is empty"));
                    continue;
                }
                Err(RecordError::Bad(why)) => {
                    info.problems.push(format!("extension record {r}: {why}"));
                    continue;
                }
            }
            match record::attributes(&rec, self.vol.total_clusters) {
                // An extension record's own attribute list is never followed.
                Ok(more) => {
                    let more: Vec<Attr<'_>> =
                        more.into_iter().filter(|a| a.kind != ATTR_ATTRIBUTE_LIST).collect();
                    info.add(&more);
                }
                Err(e) => info.problems.push(format!("extension record {r}: {e}")),
            }
        }
        Ok(info)
    }

    fn provenance(&self, number: u64, stream: Option<&str>, info: &FileInfo) -> Box<Provenance> {
        let chosen = self.nodes.get(&number).map(|n| n.name.as_ref());
        let fn_times = info
            .names
            .iter()
            .find(|n| Some(n.name.as_str()) == chosen)
            .or(info.names.first())
            .map(|n| n.times.clone());
        Box::new(Provenance {
            record: Some(number),
            stream: stream.map(str::to_owned),
            standard_information: info.si.as_ref().map(|s| s.0.clone()),
            file_name: fn_times,
            ..self.provenance.clone()
        })
    }

    fn problem(&self, sink: &dyn Sink, kind: ProblemKind, path: &str, number: u64, reason: String) {
        let mut p = Provenance { record: Some(number), ..self.provenance.clone() };
        p.stream = None;
        sink.problem(Problem::at(kind, path, reason).with_position(p.describe()));
    }

    /// The entries of one base record.
    fn emit(&self, number: u64, info: &FileInfo, sink: &dyn Sink, visit: &mut dyn FnMut(Entry)) {
        let (path, _) = self.path_of(number);
        for why in &info.problems {
            self.problem(sink, ProblemKind::Parse, &path, number, why.clone());
        }
        let encrypted = info.si.as_ref().is_some_and(|s| s.1 & FILE_ATTRIBUTE_ENCRYPTED != 0);
        let reparse_reason = match info.reparse_tag {
            Some(REPARSE_TAG_WOF) => Some(
                "WOF/CompactOS-compressed (its data is in the WofCompressedData stream, in a \
                 format ferret does not read): present, not readable",
            ),
            Some(REPARSE_TAG_DEDUP) => Some(
                "deduplicated (its data is in the volume's chunk store): present, not readable",
            ),
            _ => None,
        };
        if info.is_dir {
            visit(Entry {
                path: ReportPath::from(path.as_str()),
                kind: EntryKind::Dir,
                size: 0,
                provenance: Some(self.provenance(number, None, info)),
                unreadable: None,
                handle: Handle::None,
            });
        }
        let mut has_main = false;
        for (name, s) in &info.streams {
            if name.is_empty() && info.is_dir {
                continue;
            }
            if name == "WofCompressedData" && info.reparse_tag == Some(REPARSE_TAG_WOF) {
                continue;
            }
            has_main |= name.is_empty();
            let full = if name.is_empty() { path.clone() } else { format!("{path}:{name}") };
            let (data, mut unreadable) = s.finish();
            if encrypted || s.flags & FLAG_ENCRYPTED != 0 {
                unreadable = Some("EFS-encrypted: present, not readable".to_owned());
            } else if let (Some(why), true) = (reparse_reason, name.is_empty()) {
                unreadable = Some(why.to_owned());
            }
            let size = data.as_ref().map_or(s.size(), |d| d.size);
            visit(Entry {
                path: ReportPath::from(full),
                kind: EntryKind::File,
                size,
                provenance: Some(self.provenance(
                    number,
                    (!name.is_empty()).then_some(name.as_str()),
                    info,
                )),
                unreadable,
                handle: data.map_or(Handle::None, |d| Handle::Ntfs(Box::new(d))),
            });
        }
        if !info.is_dir && !has_main {
            // A file without a main data stream (WOF keeps one, so this is damage or a
            // reparse-point-only file): listed, so its name is still matched.
            visit(Entry {
                path: ReportPath::from(path.as_str()),
                kind: EntryKind::File,
                size: 0,
                provenance: Some(self.provenance(number, None, info)),
                unreadable: reparse_reason.map(str::to_owned),
                handle: Handle::Ntfs(Box::new(StreamData::resident(Vec::new()))),
            });
        }
    }
}

impl Source for NtfsSource {
    fn describe(&self) -> String {
        self.provenance.describe()
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn entries(&self, sink: &dyn Sink, cancel: &Cancel, visit: &mut dyn FnMut(Entry)) -> ListStats {
        let mut stats = ListStats::default();
        for (number, why) in &self.open_problems {
            stats.errors += 1;
            self.problem(
                sink,
                ProblemKind::Parse,
                &format!("{}:", self.letter),
                *number,
                format!("MFT record {number}: {why}"),
            );
        }
        let mut batch = Vec::new();
        let mut first = 0;
        while first < self.vol.records {
            if cancel.is_cancelled() {
                break;
            }
            let n = BATCH.min(self.vol.records - first);
            if let Err(e) = self.vol.read_records(first, n, &mut batch) {
                stats.errors += 1;
                self.problem(
                    sink,
                    ProblemKind::ReadError,
                    &format!("{}:", self.letter),
                    first,
                    format!("MFT records {first} to {} cannot be read: {e}", first + n - 1),
                );
                first += n;
                continue;
            }
            for (i, rec) in batch.chunks_exact_mut(self.vol.record_size).enumerate() {
                let number = first + i as u64;
                let Ok(header) = record::fixup(rec) else { continue };
                if !header.in_use || header.base != 0 {
                    continue;
                }
                if number < FIRST_USER_RECORD && number != ROOT {
                    stats.metadata_skipped += 1;
                    continue;
                }
                if number == ROOT {
                    continue;
                }
                let (path, under_extend) = self.path_of(number);
                if under_extend {
                    stats.metadata_skipped += 1;
                    continue;
                }
                match self.file(number, rec, header) {
                    Ok(info) => self.emit(number, &info, sink, visit),
                    Err(why) => {
                        stats.errors += 1;
                        self.problem(
                            sink,
                            ProblemKind::Parse,
                            &path,
                            number,
                            format!("record not readable: {why}"),
                        );
                    }
                }
            }
            first += n;
        }
        stats
    }

    fn open(&self, entry: &Entry) -> io::Result<Box<dyn ReadSeek + '_>> {
        match &entry.handle {
            Handle::Ntfs(data) => {
                // The reader owns a copy of where the data lies: it outlives the entry.
                Ok(Box::new(StreamReader::new(&*self.vol.dev, self.vol.cluster, (**data).clone())?))
            }
            _ => Err(io::Error::new(io::ErrorKind::Unsupported, "no data to read")),
        }
    }
}

impl Volume {
    fn open(dev: Arc<dyn ReadAt>) -> Result<Volume, NtfsError> {
        let mut boot = [0u8; 512];
        read_exact_at(&*dev, &mut boot, 0)?;
        let bad = |s: String| NtfsError::Boot(s);
        if boot.get(3..11) != Some(b"NTFS    ") {
            return Err(bad("no NTFS signature".to_owned()));
        }
        let sector = u64::from(u16_at(&boot, 0x0B).unwrap_or(0));
        if !(256..=4096).contains(&sector) || !sector.is_power_of_two() {
            return Err(bad(format!("{sector} bytes per sector")));
        }
        let raw = u8_at(&boot, 0x0D).unwrap_or(0);
        let per_cluster: u64 = if raw <= 0x80 {
            u64::from(raw)
        } else {
            let shift = 256 - u32::from(raw);
            if shift > 16 {
                return Err(bad(format!("cluster size code 0x{raw:02x}")));
            }
            1 << shift
        };
        if per_cluster == 0 || !per_cluster.is_power_of_two() {
            return Err(bad(format!("{per_cluster} sectors per cluster")));
        }
        let cluster = sector * per_cluster;
        if cluster > 2 << 20 {
            return Err(bad(format!("{cluster}-byte clusters")));
        }
        let total_sectors = u64_at(&boot, 0x28).unwrap_or(0);
        let total_clusters = (total_sectors / per_cluster).max(1);
        let mft_lcn = u64_at(&boot, 0x30).unwrap_or(0);
        if mft_lcn >= total_clusters {
            return Err(bad(format!("the MFT at cluster {mft_lcn} lies past the volume's end")));
        }
        let code = i8::from_le_bytes([u8_at(&boot, 0x40).unwrap_or(0)]);
        let record_size: u64 = if code > 0 {
            u64::from(code.unsigned_abs()) * cluster
        } else {
            let shift = u32::from(code.unsigned_abs());
            if shift > 16 { 0 } else { 1 << shift }
        };
        if !(512..=65536).contains(&record_size) || !record_size.is_power_of_two() {
            return Err(bad(format!("{record_size}-byte MFT records")));
        }
        let record_size = usize::try_from(record_size).unwrap_or(1024);
        // The MFT's own record, read straight from its first cluster.
        let mut rec = vec![0u8; record_size];
        read_exact_at(&*dev, &mut rec, mft_lcn.saturating_mul(cluster))?;
        let header = record::fixup(&mut rec).map_err(|e| match e {
            RecordError::Empty => NtfsError::Mft("empty".to_owned()),
            RecordError::Bad(why) => NtfsError::Mft(why),
        })?;
        let attrs = record::attributes(&rec, total_clusters).map_err(NtfsError::Mft)?;
        let mut info = FileInfo::default();
        info.add(&attrs);
        let first = info.streams.get("").ok_or_else(|| NtfsError::Mft("no $DATA".to_owned()))?;
        let (Some(mft), _) = first.finish() else {
            return Err(NtfsError::Mft("the $DATA attribute cannot be read".to_owned()));
        };
        let mut vol = Volume { dev, cluster, record_size, total_clusters, mft, records: 0 };
        vol.records = vol.count_records();
        // A fragmented MFT keeps the rest of its runs in extension records named by its
        // attribute list: read them through the runs known so far.
        if attrs.iter().any(|a| a.kind == ATTR_ATTRIBUTE_LIST) {
            let src = NtfsSource {
                vol,
                nodes: HashMap::new(),
                letter: 'C',
                provenance: Provenance::default(),
                open_problems: Vec::new(),
            };
            let info = src.file(0, &rec, header).map_err(NtfsError::Mft)?;
            let mut vol = src.vol;
            if let Some((Some(mft), None)) = info.streams.get("").map(StreamParts::finish) {
                vol.mft = mft;
                vol.records = vol.count_records();
            }
            return Ok(vol);
        }
        Ok(vol)
    }

    /// Records in the MFT: its initialised size over the record size, bounded by the
    /// allocated clusters (a sparse MFT is not listed past its data) and by the device.
    fn count_records(&self) -> u64 {
        let allocated: u64 = self
            .mft
            .runs
            .iter()
            .filter(|r| r.lcn.is_some())
            .map(|r| r.len.saturating_mul(self.cluster))
            .sum();
        let bytes = self.mft.init.min(self.mft.size).min(allocated).min(self.dev.size());
        bytes / self.record_size as u64
    }

    /// Reads `n` consecutive records from `first` into `buf` (not fixed up).
    fn read_records(&self, first: u64, n: u64, buf: &mut Vec<u8>) -> io::Result<()> {
        let len = usize::try_from(n).unwrap_or(0).saturating_mul(self.record_size);
        buf.clear();
        buf.resize(len, 0);
        let mut at = 0usize;
        let mut offset = first.saturating_mul(self.record_size as u64);
        while at < len {
            let k = self.mft.read_plain(
                &*self.dev,
                self.cluster,
                buf.get_mut(at..).unwrap_or_default(),
                offset,
            )?;
            if k == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the MFT ends early"));
            }
            at += k;
            offset += k as u64;
        }
        Ok(())
    }
}

/// A `$FILE_NAME` value: the record the volume reader and the history reader
/// ([`mft::MftRecord`]) share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileName {
    /// The parent folder's record number.
    pub parent: u64,
    /// The parent folder's sequence number when the name was written (0: not checked).
    pub parent_seq: u16,
    /// 0 POSIX, 1 Win32, 2 DOS, 3 Win32 and DOS.
    pub namespace: u8,
    /// The name.
    pub name: String,
    /// The `$FILE_NAME` times (set by the kernel when the name is written; tools that change
    /// `$STANDARD_INFORMATION` times rarely touch these).
    pub times: FileTimes,
}

fn parse_file_name(v: &[u8]) -> Option<FileName> {
    let parent_ref = u64_at(v, 0)?;
    let len = usize::from(u8_at(v, 0x40)?);
    Some(FileName {
        parent: parent_ref & 0xFFFF_FFFF_FFFF,
        parent_seq: u16::try_from(parent_ref >> 48).unwrap_or(0),
        namespace: u8_at(v, 0x41)?,
        name: utf16_at(v, 0x42, len)?,
        times: times_at(v, 8),
    })
}

/// Which name to show: Win32 (1) or Win32+DOS (3) first, then POSIX (0), DOS (2) last.
fn namespace_rank(ns: u8) -> u8 {
    match ns {
        1 | 3 => 0,
        0 => 1,
        _ => 2,
    }
}

/// Four FILETIMEs (created, modified, record changed, accessed) from `at`.
fn times_at(v: &[u8], at: usize) -> FileTimes {
    let t = |o: usize| u64_at(v, at + o).and_then(filetime);
    FileTimes { created: t(0), modified: t(8), record_changed: t(16), accessed: t(24) }
}

/// A Windows FILETIME (100 ns since 1601) as UTC; 0 and out-of-range values are `None`.
fn filetime(ft: u64) -> Option<DateTime<Utc>> {
    if ft == 0 {
        return None;
    }
    let secs = i64::try_from(ft / 10_000_000).ok()? - 11_644_473_600;
    let nanos = u32::try_from(ft % 10_000_000).ok()? * 100;
    DateTime::from_timestamp(secs, nanos)
}

/// The pieces of one `$DATA` stream gathered from a file's records.
#[derive(Clone, Debug, Default)]
struct StreamParts {
    flags: u16,
    resident: Option<Vec<u8>>,
    pieces: Vec<record::NonResident>,
}

impl StreamParts {
    fn size(&self) -> u64 {
        match &self.resident {
            Some(r) => r.len() as u64,
            None => self.pieces.iter().find(|p| p.start_vcn == 0).map_or(0, |p| p.data_size),
        }
    }

    /// Where the data lies, or why it cannot be read.
    fn finish(&self) -> (Option<StreamData>, Option<String>) {
        if let Some(r) = &self.resident {
            return (Some(StreamData::resident(r.clone())), None);
        }
        let mut pieces: Vec<&record::NonResident> = self.pieces.iter().collect();
        pieces.sort_by_key(|p| p.start_vcn);
        let Some(first) = pieces.first().filter(|p| p.start_vcn == 0) else {
            return (None, Some("the first piece of the stream is missing".to_owned()));
        };
        let mut runs = Vec::new();
        let mut next = 0u64;
        for p in &pieces {
            if p.start_vcn != next {
                return (None, Some(format!("the stream's runs break off at cluster {next}")));
            }
            if let Some(last) = p.runs.last() {
                next = last.vcn.saturating_add(last.len);
            }
            runs.extend_from_slice(&p.runs);
        }
        let compressed = self.flags & FLAG_COMPRESSED != 0 && first.compression_unit != 0;
        let unit_clusters = if compressed {
            if first.compression_unit > 8 {
                return (None, Some(format!("compression unit 2^{}", first.compression_unit)));
            }
            1u64 << first.compression_unit
        } else {
            0
        };
        (
            Some(StreamData {
                resident: None,
                runs,
                size: first.data_size,
                init: first.init_size.min(first.data_size),
                unit_clusters,
            }),
            None,
        )
    }
}

/// Everything read of one file.
#[derive(Debug, Default)]
struct FileInfo {
    is_dir: bool,
    /// `$STANDARD_INFORMATION` times and file attributes.
    si: Option<(FileTimes, u32)>,
    names: Vec<FileName>,
    streams: std::collections::BTreeMap<String, StreamParts>,
    reparse_tag: Option<u32>,
    problems: Vec<String>,
}

impl FileInfo {
    fn add(&mut self, attrs: &[Attr<'_>]) {
        for a in attrs {
            match a.kind {
                ATTR_STANDARD_INFORMATION => {
                    if let Some(v) = a.resident {
                        self.si = Some((times_at(v, 0), u32_at(v, 0x20).unwrap_or(0)));
                    }
                }
                ATTR_FILE_NAME => {
                    if let Some(n) = a.resident.and_then(parse_file_name) {
                        self.names.push(n);
                    }
                }
                ATTR_REPARSE_POINT => {
                    self.reparse_tag = a.resident.and_then(|v| u32_at(v, 0)).or(self.reparse_tag);
                }
                ATTR_DATA => {
                    let s = self.streams.entry(a.name.clone()).or_default();
                    s.flags |= a.flags;
                    if let Some(v) = a.resident {
                        s.resident = Some(v.to_vec());
                    } else if let Some(nr) = &a.non_resident {
                        s.pieces.push(nr.clone());
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(names: &[(u64, u64, &str)]) -> NtfsSource {
        let vol = Volume {
            dev: Arc::new(Vec::new()),
            cluster: 4096,
            record_size: 1024,
            total_clusters: 1,
            mft: StreamData::resident(Vec::new()),
            records: 0,
        };
        let nodes = names
            .iter()
            .map(|(n, parent, name)| {
                (*n, Node { parent: *parent, parent_seq: 0, seq: 0, rank: 0, name: (*name).into() })
            })
            .collect();
        NtfsSource {
            vol,
            nodes,
            letter: 'C',
            provenance: Provenance::default(),
            open_problems: Vec::new(),
        }
    }

    #[test]
    fn paths_follow_parents_to_the_root() {
        let s = source(&[
            (30, ROOT, "inetpub"),
            (31, 30, "wwwroot"),
            (32, 31, "aspnet_client"),
            (33, 32, "x.aspx"),
            (40, 41, "loop-a"),
            (41, 40, "loop-b"),
            (50, 99, "lost.txt"),
            (60, EXTEND, "$UsnJrnl"),
        ]);
        assert_eq!(s.path_of(33), (r"C:\inetpub\wwwroot\aspnet_client\x.aspx".to_owned(), false));
        assert_eq!(s.path_of(40).0, r"C:\$OrphanFiles\loop-a", "a parent loop ends");
        assert_eq!(s.path_of(50).0, r"C:\$OrphanFiles\lost.txt", "a missing parent");
        assert!(s.path_of(60).1, "under $Extend");
    }

    fn emitted(info: &FileInfo) -> Vec<Entry> {
        let s = source(&[(40, ROOT, "secret.docx")]);
        let sink = ferret_core::Collector::default();
        let mut out = Vec::new();
        s.emit(40, info, &sink, &mut |e| out.push(e));
        out
    }

    fn stream(bytes: &[u8]) -> StreamParts {
        StreamParts { flags: 0, resident: Some(bytes.to_vec()), pieces: Vec::new() }
    }

    #[test]
    fn efs_wof_and_dedup_files_are_listed_as_not_readable() {
        let mut efs = FileInfo { si: Some((FileTimes::default(), 0x4000)), ..FileInfo::default() };
        efs.streams.insert(String::new(), stream(b"ciphertext"));
        let e = emitted(&efs);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].path.lossy(), r"C:\secret.docx");
        assert!(e[0].unreadable.as_deref().unwrap().contains("EFS-encrypted"), "{e:?}");

        let mut wof = FileInfo { reparse_tag: Some(REPARSE_TAG_WOF), ..FileInfo::default() };
        wof.streams.insert(String::new(), stream(b""));
        wof.streams.insert("WofCompressedData".to_owned(), stream(b"xpress"));
        wof.streams.insert("Zone.Identifier".to_owned(), stream(b"[ZoneTransfer]"));
        let e = emitted(&wof);
        let paths: Vec<String> = e.iter().map(|e| e.path.lossy().into_owned()).collect();
        assert_eq!(paths, [r"C:\secret.docx", r"C:\secret.docx:Zone.Identifier"]);
        assert!(e[0].unreadable.as_deref().unwrap().contains("WOF/CompactOS"), "{e:?}");
        assert!(e[1].unreadable.is_none(), "the other streams of a WOF file are read");

        let mut dedup = FileInfo { reparse_tag: Some(REPARSE_TAG_DEDUP), ..FileInfo::default() };
        dedup.streams.insert(String::new(), stream(b""));
        assert!(emitted(&dedup)[0].unreadable.as_deref().unwrap().contains("deduplicated"));

        let mut plain = FileInfo::default();
        plain.streams.insert(String::new(), stream(b"data"));
        assert!(emitted(&plain)[0].unreadable.is_none());
    }

    #[test]
    fn a_stream_missing_its_first_piece_is_not_readable() {
        let piece = record::NonResident {
            start_vcn: 8,
            compression_unit: 0,
            data_size: 0,
            init_size: 0,
            runs: vec![record::Run { vcn: 8, len: 1, lcn: Some(3) }],
        };
        let parts = StreamParts { flags: 0, resident: None, pieces: vec![piece] };
        let (data, why) = parts.finish();
        assert!(data.is_none());
        assert!(why.unwrap().contains("first piece"));
    }

    #[test]
    fn filetimes() {
        assert_eq!(filetime(0), None);
        // 2021-03-02 00:00:00 UTC
        let t = filetime(132_591_168_000_000_000).unwrap();
        assert_eq!(t.to_rfc3339(), "2021-03-02T00:00:00+00:00");
        let _ = filetime(u64::MAX);
    }
}
