//! NTFS history: the `$MFT` (live and deleted records, both time sets) and the change
//! journal (`$Extend\$UsnJrnl:$J`), read from an NTFS volume inside a disk image or from the
//! raw files a triage collector copied (KAPE and Velociraptor name them `$MFT`, `$J`,
//! `$Extend/$UsnJrnl%3A$J`), turned into [`Change`]s with full paths where the parent
//! chain allows, and matched against the file-name indicators (engine `artefact`).
//!
//! Raw files are recognised by content: a `$MFT` starts with a `FILE0` record of a plausible
//! size; a journal carries a journal-like name (`$J`, `…$UsnJrnl…`) and its first record after
//! the leading zeros must have a record's shape. The files of one volume are grouped by
//! folder (`C/$MFT` with `C/$Extend/$J`), so journal records get their paths from the
//! `$MFT` beside them; without one, paths are built from the journal's own folder records
//! and are marked partial when the chain breaks.
//!
//! The records are parsed by `ferret_evidence::ntfs` (one record type for the volume
//! reader and this history). Damaged records and journal pages are problems naming the file
//! (the first few with their position, then a count), never a panic; memory is the name table
//! (one entry per record) and one journal chunk.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use ferret_core::{Engine, Evidence, FileTimes, Problem, ProblemKind, Severity, Sink, Summary};
use ferret_evidence::ntfs::mft::{self, MftRecord, MftStats, NameTable, ResolvedPath};
use ferret_evidence::ntfs::usn::{self, FileRef, JournalStats, UsnRecord};
use ferret_ioc::{FileFacts, IocSet};

/// Disk images are opened by ferret-evidence; re-exported for the verbs that read history
/// from them.
pub use ferret_evidence::ntfs::NtfsSource;
pub use ferret_evidence::ntfs::usn::{
    REASON_DATA_EXTEND, REASON_DATA_OVERWRITE, REASON_FILE_CREATE, REASON_FILE_DELETE,
    REASON_RENAME_NEW_NAME, REASON_RENAME_OLD_NAME, reason_names,
};
pub use ferret_evidence::{Opened, open_image};

/// Which history file a change comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HistoryKind {
    /// A `$MFT` record.
    Mft,
    /// A `$UsnJrnl:$J` record.
    Journal,
}

impl HistoryKind {
    /// `$MFT` or `$J`, as the reports name the source.
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryKind::Mft => "$MFT",
            HistoryKind::Journal => "$J",
        }
    }
}

/// One change NTFS remembers: a journal record, or a `$MFT` record (live or deleted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Where it was read.
    pub kind: HistoryKind,
    /// When: the journal record's time; for a `$MFT` record its `$STANDARD_INFORMATION`
    /// creation time (else the `$FILE_NAME` one).
    pub time: Option<DateTime<Utc>>,
    /// The path (`C:\dir\name`, or `C:\…\dir\name` when partial).
    pub path: String,
    /// The parent chain broke: the path starts at the last folder known.
    pub partial: bool,
    /// The file (record and sequence number).
    pub file: FileRef,
    /// A folder.
    pub is_dir: bool,
    /// Journal: the `USN_REASON_*` flags; `$MFT`: 0.
    pub reason: u32,
    /// `$MFT`: the record is no longer in use (the file was deleted).
    pub deleted_record: bool,
    /// `$MFT`: the `$STANDARD_INFORMATION` times.
    pub standard_information: Option<FileTimes>,
    /// `$MFT`: the `$FILE_NAME` times of the name shown.
    pub file_name_times: Option<FileTimes>,
    /// Where in the file: `record 40`, `offset 12288`.
    pub position: String,
}

impl Change {
    /// The journal says the file was created (or a `$MFT` record exists for it).
    pub fn created(&self) -> bool {
        self.reason & usn::REASON_FILE_CREATE != 0
    }

    /// The journal says the file was deleted, or its `$MFT` record is no longer in use.
    pub fn deleted(&self) -> bool {
        self.reason & usn::REASON_FILE_DELETE != 0 || self.deleted_record
    }

    /// What happened, in words: the journal's reason flags, or `$MFT record (deleted)`.
    pub fn what(&self) -> String {
        match self.kind {
            HistoryKind::Journal => usn::reason_names(self.reason),
            HistoryKind::Mft if self.deleted_record => "record not in use (deleted)".to_owned(),
            HistoryKind::Mft => "record in use".to_owned(),
        }
    }

    /// The file name (the last part of the path).
    pub fn name(&self) -> &str {
        // `\` is one byte in UTF-8: the byte after it starts a character.
        let from = self.path.bytes().rposition(|b| b == b'\\').map_or(0, |i| i + 1);
        self.path.get(from..).unwrap_or(&self.path)
    }
}

/// Whether a file name is one triage collectors give the change journal (`$J`,
/// `$UsnJrnl%3A$J`, `$UsnJrnl_$J`, `UsnJrnl$J`, any case).
pub fn is_journal_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "$j" || n.ends_with("$j") && n.contains("usnjrnl")
}

/// What a file holds, from its name and first bytes (at least 4 KiB where the file has them).
pub fn sniff(name: &str, head: &[u8]) -> Option<HistoryKind> {
    if mft::looks_like_mft(head) {
        return Some(HistoryKind::Mft);
    }
    if is_journal_name(name) && (head.iter().all(|b| *b == 0) || usn::looks_like_journal(head)) {
        return Some(HistoryKind::Journal);
    }
    None
}

/// The smallest `$MFT` file looked at by content in a walk: NTFS's 16 system records.
pub const MIN_MFT_SIZE: u64 = 16 * 1024;

/// Whether a file met in a walk may be a history file, before anything is read: a journal
/// name, the name `$MFT` (whatever its size: a copy cut short is still read, and reported),
/// or a size of whole 1 KiB records from [`MIN_MFT_SIZE`] (only those are opened).
pub fn may_be_history(name: &str, size: u64) -> bool {
    is_journal_name(name)
        || name.eq_ignore_ascii_case("$MFT")
        || (size >= MIN_MFT_SIZE && size.is_multiple_of(1024))
}

/// Reads the first 4 KiB of `path` and says what history file it is.
pub fn sniff_file(path: &Path) -> Option<HistoryKind> {
    let (file, _) = ferret_fs::open_read_only(path).ok()?;
    let mut head = Vec::with_capacity(4096);
    file.take(4096).read_to_end(&mut head).ok()?;
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    sniff(&name, &head)
}

/// The history files of one volume found in a collection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VolumeFiles {
    /// The `$MFT`.
    pub mft: Option<PathBuf>,
    /// The journal files.
    pub journals: Vec<PathBuf>,
    /// The drive letter, when the folder says it (`C`, `C%3A`, `\\.\C:`).
    pub letter: Option<char>,
}

/// The drive letter a collection's folder name gives (`C`, `C%3A`, `%5C%5C.%5CC%3A`, `C_`).
fn letter_of(dir: &Path) -> Option<char> {
    let name = dir.file_name()?.to_string_lossy().to_ascii_uppercase();
    let name = name.strip_suffix("%3A").or_else(|| name.strip_suffix(':')).unwrap_or(&name);
    let name = name.strip_suffix('_').unwrap_or(name);
    let last = name.chars().last().filter(char::is_ascii_uppercase)?;
    let before = name.get(..name.len() - 1).unwrap_or("");
    (before.is_empty() || before.ends_with("%5C") || before.ends_with(['.', '\\'])).then_some(last)
}

/// Groups history files by volume: a journal in a `$Extend` folder belongs to the volume
/// folder above it, anything else to its own folder.
pub fn group(files: &[(PathBuf, HistoryKind)]) -> Vec<VolumeFiles> {
    let mut by_dir: BTreeMap<PathBuf, VolumeFiles> = BTreeMap::new();
    for (path, kind) in files {
        let mut dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if *kind == HistoryKind::Journal
            && dir.file_name().is_some_and(|n| n.eq_ignore_ascii_case("$Extend"))
        {
            dir = dir.parent().map(Path::to_path_buf).unwrap_or_default();
        }
        let v = by_dir
            .entry(dir.clone())
            .or_insert_with(|| VolumeFiles { letter: letter_of(&dir), ..VolumeFiles::default() });
        match kind {
            HistoryKind::Mft if v.mft.is_none() => v.mft = Some(path.clone()),
            HistoryKind::Mft => {
                // A second $MFT in one folder is its own volume.
                by_dir.insert(
                    path.clone(),
                    VolumeFiles { mft: Some(path.clone()), ..VolumeFiles::default() },
                );
            }
            HistoryKind::Journal => v.journals.push(path.clone()),
        }
    }
    by_dir.into_values().collect()
}

/// Counters of the history read, added to the caller's summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistoryCounts {
    /// `$MFT` files or volumes read.
    pub mft_read: u64,
    /// Journals read.
    pub journals_read: u64,
    /// `$MFT` records read that hold a file (live or deleted).
    pub mft_records: u64,
    /// Of them, deleted (not in use).
    pub mft_deleted: u64,
    /// Journal records read.
    pub journal_records: u64,
    /// Damaged records and journal pages.
    pub damaged: u64,
    /// History files that could not be read.
    pub unreadable: u64,
}

impl HistoryCounts {
    /// Adds the counters (those not zero) to `summary`; damage makes the run incomplete.
    pub fn record(&self, summary: &mut Summary) {
        for (name, n) in [
            ("mft_read", self.mft_read),
            ("mft_records", self.mft_records),
            ("mft_deleted_records", self.mft_deleted),
            ("usn_journals_read", self.journals_read),
            ("usn_records", self.journal_records),
        ] {
            if n > 0 {
                summary.count(name, n);
            }
        }
        if self.damaged > 0 || self.unreadable > 0 {
            summary.mark_incomplete(format!(
                "NTFS history: {} damaged record(s) or journal page(s) and {} file(s) not read \
                 (see problems)",
                self.damaged, self.unreadable
            ));
        }
    }

    /// Adds `other`'s counters.
    pub fn add(&mut self, other: &HistoryCounts) {
        self.mft_read += other.mft_read;
        self.journals_read += other.journals_read;
        self.mft_records += other.mft_records;
        self.mft_deleted += other.mft_deleted;
        self.journal_records += other.journal_records;
        self.damaged += other.damaged;
        self.unreadable += other.unreadable;
    }
}

/// One pass over a `$MFT`: calls the visitor with every record, gives the stats (`None`: the
/// file could not be opened, and the problem is reported).
type MftPass<'a> = dyn FnMut(&mut dyn FnMut(MftRecord)) -> Option<MftStats> + 'a;

/// Records whose folders come later in the `$MFT` kept in memory until its end (about 250
/// bytes each); more are read again in a second pass.
const MAX_WAITING: usize = 1 << 18;

/// The bit set of records read again covers record numbers below 64 × this (2^32 records).
const MAX_OVERFLOW_WORDS: usize = 1 << 26;

/// The change of a `$MFT` record (its best name `n`, at path `p`).
fn mft_change(r: &MftRecord, n: &ferret_evidence::ntfs::FileName, p: ResolvedPath) -> Change {
    let si = r.standard_information.clone();
    Change {
        kind: HistoryKind::Mft,
        time: si.as_ref().and_then(|t| t.created).or(n.times.created),
        path: p.path,
        partial: p.partial,
        file: r.file_ref(),
        is_dir: r.is_dir,
        reason: 0,
        deleted_record: !r.in_use,
        standard_information: si,
        file_name_times: Some(n.times.clone()),
        position: format!("record {}", r.number),
    }
}

/// What reading a volume's history needs: where problems go, when to stop.
pub struct Reader<'a> {
    /// Problems (damage, unreadable files).
    pub sink: &'a dyn Sink,
    /// Checked between chunks.
    pub stop: &'a (dyn Fn() -> bool + Sync),
    /// Counters.
    pub counts: HistoryCounts,
}

fn open(path: &Path) -> Result<Box<dyn Read>, (ProblemKind, String)> {
    let (file, _) = ferret_fs::open_read_only(path).map_err(|e| {
        let kind = match e {
            ferret_fs::OpenError::PermissionDenied(_) => ProblemKind::PermissionDenied,
            ferret_fs::OpenError::Vanished(_) => ProblemKind::Vanished,
            _ => ProblemKind::ReadError,
        };
        (kind, format!("cannot open: {e}"))
    })?;
    Ok(Box::new(BufReader::with_capacity(1 << 20, file)))
}

impl Reader<'_> {
    fn mft_damage(&mut self, at: &str, st: &MftStats) {
        self.counts.damaged += st.damaged;
        if st.trailing > 0 {
            self.counts.damaged += 1;
            self.sink.problem(Problem::at(
                ProblemKind::Parse,
                at,
                format!("$MFT is cut short: {} byte(s) of a last record", st.trailing),
            ));
        }
        for (n, why) in &st.damage {
            self.sink.problem(
                Problem::at(ProblemKind::Parse, at, format!("$MFT record {n}: {why}"))
                    .with_position(format!("record {n}")),
            );
        }
        if st.damaged > st.damage.len() as u64 {
            self.sink.problem(Problem::at(
                ProblemKind::Parse,
                at,
                format!("$MFT: {} damaged record(s) in all", st.damaged),
            ));
        }
        if let Some(e) = &st.read_error {
            self.counts.unreadable += 1;
            self.sink.problem(Problem::at(
                ProblemKind::ReadError,
                at,
                format!("$MFT read ended early: {e}"),
            ));
        }
    }

    fn journal_damage(&mut self, at: &str, st: &JournalStats) {
        self.counts.damaged += st.damaged;
        for (o, why) in &st.damage {
            self.sink.problem(
                Problem::at(ProblemKind::Parse, at, format!("$J at offset {o}: {why}"))
                    .with_position(format!("offset {o}")),
            );
        }
        if st.damaged > st.damage.len() as u64 {
            self.sink.problem(Problem::at(
                ProblemKind::Parse,
                at,
                format!("$J: {} damaged page(s) in all", st.damaged),
            ));
        }
        if let Some(e) = &st.read_error {
            self.counts.unreadable += 1;
            self.sink.problem(Problem::at(
                ProblemKind::ReadError,
                at,
                format!("$J read ended early: {e}"),
            ));
        }
        if st.records == 0 && st.bytes > st.zeros {
            self.sink.problem(Problem::at(
                ProblemKind::Parse,
                at,
                "$J: no change journal record found in the data",
            ));
        }
    }

    /// The changes of `$MFT` records, read in one pass: each record's name goes into `table`
    /// and its change is given at once when the folders above it are known (they come first
    /// in the file as a rule); a record whose folder chain reaches a record number not read
    /// yet is kept (at most [`MAX_WAITING`] of them) and given at the end. Records beyond that
    /// many are only noted, and `pass` is called a second time for them alone.
    fn mft_changes(
        &mut self,
        at: &str,
        table: &mut NameTable,
        pass: &mut MftPass<'_>,
        visit: &mut dyn FnMut(&Change),
    ) {
        self.mft_changes_keeping(at, table, pass, visit, MAX_WAITING);
    }

    /// [`Reader::mft_changes`] keeping at most `max_waiting` records until the end.
    fn mft_changes_keeping(
        &mut self,
        at: &str,
        table: &mut NameTable,
        pass: &mut MftPass<'_>,
        visit: &mut dyn FnMut(&Change),
        max_waiting: usize,
    ) {
        let mut records = 0u64;
        let mut deleted = 0u64;
        let mut waiting: Vec<MftRecord> = Vec::new();
        // Record numbers of the records waiting beyond `MAX_WAITING`, as a bit set.
        let mut overflow: Vec<u64> = Vec::new();
        let mut overflowed = false;
        let first = pass(&mut |r| {
            table.add_record(&r);
            if r.base != 0 {
                return;
            }
            let Some(n) = r.best_name() else { return };
            records += 1;
            deleted += u64::from(!r.in_use);
            let parent = FileRef { record: n.parent, seq: n.parent_seq };
            match table.child_path_final(parent, &n.name, r.number.saturating_add(1)) {
                Some(p) => visit(&mft_change(&r, n, p)),
                None if waiting.len() < max_waiting => waiting.push(r),
                None => {
                    let (word, bit) =
                        (usize::try_from(r.number / 64).unwrap_or(usize::MAX), r.number % 64);
                    if word < MAX_OVERFLOW_WORDS {
                        if overflow.len() <= word {
                            overflow.resize(word + 1, 0);
                        }
                        if let Some(w) = overflow.get_mut(word) {
                            *w |= 1 << bit;
                        }
                        overflowed = true;
                    }
                }
            }
        });
        let Some(st) = first else { return };
        self.mft_damage(at, &st);
        self.counts.mft_read += 1;
        for r in &waiting {
            if let Some(n) = r.best_name() {
                let p = table.child_path(FileRef { record: n.parent, seq: n.parent_seq }, &n.name);
                visit(&mft_change(r, n, p));
            }
        }
        drop(waiting);
        if overflowed {
            let is_set = |number: u64| {
                usize::try_from(number / 64)
                    .ok()
                    .and_then(|w| overflow.get(w))
                    .is_some_and(|w| w & (1 << (number % 64)) != 0)
            };
            pass(&mut |r| {
                if r.base != 0 || !is_set(r.number) {
                    return;
                }
                if let Some(n) = r.best_name() {
                    let p =
                        table.child_path(FileRef { record: n.parent, seq: n.parent_seq }, &n.name);
                    visit(&mft_change(&r, n, p));
                }
            });
        }
        self.counts.mft_records += records;
        self.counts.mft_deleted += deleted;
    }

    /// The changes of one journal, with paths from `table` (which learns the journal's
    /// own names where it has none).
    fn journal_changes(
        &mut self,
        at: &str,
        table: &mut NameTable,
        r: &mut dyn Read,
        start: u64,
        visit: &mut dyn FnMut(&Change),
    ) {
        let stop = self.stop;
        let mut n = 0u64;
        let st = usn::read_journal(r, start, &|| stop(), &mut |rec: UsnRecord| {
            n += 1;
            table.add_name(rec.file, rec.parent, &rec.name);
            let p = table.child_path(rec.parent, &rec.name);
            let c = Change {
                kind: HistoryKind::Journal,
                time: rec.time,
                path: p.path,
                partial: p.partial,
                file: rec.file,
                is_dir: rec.is_dir(),
                reason: rec.reason,
                deleted_record: false,
                standard_information: None,
                file_name_times: None,
                position: format!("offset {} (USN {})", rec.offset, rec.usn),
            };
            visit(&c);
        });
        self.counts.journals_read += 1;
        self.counts.journal_records += n;
        self.journal_damage(at, &st);
    }

    /// Reads the raw history files of one volume; `visit` gets every change. Returns the
    /// file each change's findings should name (the journal, else the `$MFT`).
    pub fn read_files(&mut self, v: &VolumeFiles, visit: &mut dyn FnMut(&Path, &Change)) {
        let mut table = NameTable::new(v.letter);
        if let Some(m) = &v.mft {
            let at = m.to_string_lossy().into_owned();
            let size = match open(m).and_then(|mut r| {
                let mut head = [0u8; 1024];
                r.read_exact(&mut head).map_err(|e| (ProblemKind::Parse, e.to_string()))?;
                mft::record_size(&head)
                    .ok_or((ProblemKind::Parse, "no record size in the first record".to_owned()))
            }) {
                Ok(s) => Some(s),
                Err((kind, why)) => {
                    self.counts.unreadable += 1;
                    self.sink.problem(Problem::at(kind, m.as_path(), format!("$MFT: {why}")));
                    None
                }
            };
            if let Some(size) = size {
                if let Ok(meta) = std::fs::symlink_metadata(m) {
                    table.reserve(meta.len() / size as u64);
                }
                let stop = self.stop;
                let sink = self.sink;
                let mut pass = |f: &mut dyn FnMut(MftRecord)| -> Option<MftStats> {
                    match open(m) {
                        Ok(mut r) => Some(mft::read_mft(&mut r, size, &|| stop(), f)),
                        Err((kind, why)) => {
                            sink.problem(Problem::at(kind, m.as_path(), format!("$MFT: {why}")));
                            None
                        }
                    }
                };
                self.mft_changes(&at, &mut table, &mut pass, &mut |c| visit(m, c));
            }
        }
        for j in &v.journals {
            let at = j.to_string_lossy().into_owned();
            match open(j) {
                Ok(mut r) => self.journal_changes(&at, &mut table, &mut r, 0, &mut |c| visit(j, c)),
                Err((kind, why)) => {
                    self.counts.unreadable += 1;
                    self.sink.problem(Problem::at(kind, j.as_path(), format!("$J: {why}")));
                }
            }
        }
    }

    /// Reads the `$MFT` and the change journal of a volume inside an image; `at` names the
    /// volume in problems (`disk.img, partition 2`).
    pub fn read_volume(&mut self, src: &NtfsSource, at: &str, visit: &mut dyn FnMut(&Change)) {
        let mut table = NameTable::new(Some(src.letter()));
        let stop = self.stop;
        let mut pass = |f: &mut dyn FnMut(MftRecord)| Some(src.mft_records(&|| stop(), f));
        self.mft_changes(at, &mut table, &mut pass, visit);
        match src.usn_journal() {
            Ok(Some((mut r, start))) => self.journal_changes(at, &mut table, &mut r, start, visit),
            Ok(None) => {}
            Err(why) => {
                self.counts.unreadable += 1;
                self.sink.problem(Problem::at(
                    ProblemKind::Parse,
                    at,
                    format!("$Extend\\$UsnJrnl:$J cannot be read: {why}"),
                ));
            }
        }
    }
}

/// What one matched path gathered across its changes.
#[derive(Debug)]
struct Hit {
    origin: PathBuf,
    kind: HistoryKind,
    path: String,
    partial: bool,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    created: Option<DateTime<Utc>>,
    deleted: Option<DateTime<Utc>>,
    deleted_record: bool,
    seen: u64,
    matches: Vec<ferret_ioc::IocMatch>,
}

/// Matches the paths of changes against the file-name indicators; one finding per path
/// and history file, gathering its times (created, deleted, first and last seen).
pub struct HistoryMatcher<'a> {
    iocs: &'a IocSet,
    /// Per kind (`$MFT`, `$J`): path → index in `hits`, or `usize::MAX` when nothing matched.
    seen: [HashMap<String, usize>; 2],
    hits: Vec<Hit>,
    scratch: Vec<ferret_ioc::IocMatch>,
    live_listed: bool,
    seen_bytes: usize,
}

/// The most bytes of journal paths that matched nothing remembered; when full, the memory is
/// cleared (a path met again is matched again), so memory stays bounded whatever the journal.
const MAX_SEEN_BYTES: usize = 16 << 20;
/// The most distinct matched paths reported (an indicator matching everything cannot make
/// memory grow with the history).
const MAX_HITS: usize = 100_000;

impl<'a> HistoryMatcher<'a> {
    /// A matcher over `iocs`' file-name indicators.
    pub fn new(iocs: &'a IocSet) -> HistoryMatcher<'a> {
        HistoryMatcher {
            iocs,
            seen: [HashMap::new(), HashMap::new()],
            hits: Vec::new(),
            scratch: Vec::new(),
            live_listed: false,
            seen_bytes: 0,
        }
    }

    /// Says whether the live files of the volume being read are matched elsewhere (a disk
    /// image that `scan` lists file by file): then in-use `$MFT` records are left out, so one
    /// file is one finding; deleted records and the journal are still matched.
    pub fn set_live_files_listed(&mut self, listed: bool) {
        self.live_listed = listed;
    }

    /// One change read from `origin`.
    pub fn change(&mut self, origin: &Path, c: &Change) {
        if self.live_listed && c.kind == HistoryKind::Mft && !c.deleted_record {
            return;
        }
        let seen = match c.kind {
            HistoryKind::Mft => &mut self.seen[0],
            HistoryKind::Journal => &mut self.seen[1],
        };
        let idx = match seen.get(c.path.as_str()) {
            Some(&i) => i,
            None => {
                self.scratch.clear();
                self.iocs.match_file(
                    &FileFacts {
                        path: c.path.as_bytes(),
                        size: 0,
                        md5: None,
                        sha1: None,
                        sha256: None,
                    },
                    &mut self.scratch,
                );
                self.scratch.retain(|m| m.engine == Engine::Filename);
                let i = if self.scratch.is_empty() || self.hits.len() >= MAX_HITS {
                    usize::MAX
                } else {
                    self.hits.push(Hit {
                        origin: origin.to_path_buf(),
                        kind: c.kind,
                        path: c.path.clone(),
                        partial: c.partial,
                        first: None,
                        last: None,
                        created: None,
                        deleted: None,
                        deleted_record: false,
                        seen: 0,
                        matches: std::mem::take(&mut self.scratch),
                    });
                    self.hits.len() - 1
                };
                // A $MFT names each path once: only its hits are remembered (to gather their
                // times); the journal repeats paths, so its misses are remembered too.
                if i != usize::MAX || c.kind == HistoryKind::Journal {
                    if i == usize::MAX && self.seen_bytes >= MAX_SEEN_BYTES {
                        seen.retain(|_, v| *v != usize::MAX);
                        self.seen_bytes = 0;
                    }
                    self.seen_bytes += c.path.len();
                    seen.insert(c.path.clone(), i);
                }
                i
            }
        };
        let Some(h) = self.hits.get_mut(idx) else { return };
        h.seen += 1;
        if let Some(t) = c.time {
            h.first = Some(h.first.map_or(t, |f| f.min(t)));
            h.last = Some(h.last.map_or(t, |l| l.max(t)));
            if c.created() && h.created.is_none() {
                h.created = Some(t);
            }
            if c.reason & usn::REASON_FILE_DELETE != 0 {
                h.deleted = Some(t);
            }
        }
        if c.kind == HistoryKind::Mft {
            h.created = h.created.or(c.time);
        }
        h.deleted_record |= c.deleted_record;
    }

    /// The findings (engine `artefact`), in the order the paths were first met.
    pub fn finish(self, sink: &dyn Sink) {
        let when =
            |t: Option<DateTime<Utc>>| t.map_or_else(|| "unknown".to_owned(), |t| t.to_rfc3339());
        for h in self.hits {
            for m in h.matches {
                let mut f = m.into_finding();
                f.engine = Engine::Artefact;
                f.severity = Severity::from_score(f.score);
                let mut f = f.with_path(h.origin.as_path());
                f.time = h.created.or(h.first);
                let mut story = Vec::new();
                if h.created.is_some() {
                    story.push(format!("created {}", when(h.created)));
                }
                if h.deleted.is_some() {
                    story.push(format!("deleted {}", when(h.deleted)));
                } else if h.deleted_record {
                    story.push("its record is no longer in use (deleted)".to_owned());
                }
                if story.is_empty() {
                    story.push(format!("first seen {}, last {}", when(h.first), when(h.last)));
                }
                f.message = Some(format!(
                    "NTFS history ({}) records {}{}: {}; seen in {} record(s); the file need not \
                     exist any more",
                    h.kind.as_str(),
                    h.path,
                    if h.partial { " (partial path: a parent folder is unknown)" } else { "" },
                    story.join(", "),
                    h.seen
                ));
                f.push_evidence(Evidence::from_bytes("recorded_path", None, h.path.as_bytes()));
                if let Some(t) = h.created {
                    f = f.with_detail("created", t.to_rfc3339());
                }
                if let Some(t) = h.deleted {
                    f = f.with_detail("deleted", t.to_rfc3339());
                }
                if h.partial {
                    f = f.with_detail("partial_path", true);
                }
                sink.finding(f.with_detail("artefact", h.kind.as_str()));
            }
        }
    }
}

/// Reads every volume's raw files and every NTFS volume of the images (an image that cannot
/// be opened is left to the caller, which reports it), and matches the changes against
/// `iocs`. The in-use `$MFT` records of an image are left out: `scan` lists and matches those
/// files itself.
pub fn examine_history(
    volumes: &[VolumeFiles],
    images: &[PathBuf],
    iocs: &IocSet,
    reader: &mut Reader<'_>,
) {
    let mut m = HistoryMatcher::new(iocs);
    for v in volumes {
        reader.read_files(v, &mut |origin, c| m.change(origin, c));
    }
    m.set_live_files_listed(true);
    for image in images {
        let Ok(opened) = ferret_evidence::open_image(image) else { continue };
        for src in &opened.sources {
            if let Some(ntfs) = NtfsSource::of(src.as_ref()) {
                let at = src.describe();
                reader.read_volume(ntfs, &at, &mut |c| m.change(image, c));
            }
        }
    }
    m.finish(reader.sink);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferret_testkit::ntfs_history::{Record, folders, mft as mft_file};

    /// Files whose folder record comes later in the `$MFT` get their full path whether they
    /// wait in memory for the end of the file or, beyond the cap, are read again.
    #[test]
    fn records_before_their_folder_get_full_paths_in_one_pass_or_two() {
        let (mut recs, tools) = folders("ProgramData/tools", 60, 0);
        let file = |number: u64, parent: u64| Record {
            number,
            seq: 1,
            in_use: true,
            dir: false,
            parent: (parent, 1),
            name: format!("f{number}.txt"),
            si: (0, 0),
            fname: (0, 0),
        };
        recs.extend((30..40).map(|n| file(n, tools)));
        recs.push(file(40, 60)); // its folder is known only at record 60, before `tools`
        let bytes = mft_file(&recs);
        for (cap, passes_wanted) in [(1000, 1), (3, 2)] {
            let sink = ferret_core::Collector::new();
            let never = || false;
            let mut reader = Reader { sink: &sink, stop: &never, counts: HistoryCounts::default() };
            let mut table = NameTable::new(Some('C'));
            let mut passes = 0;
            let mut pass = |f: &mut dyn FnMut(MftRecord)| {
                passes += 1;
                Some(mft::read_mft(&mut bytes.as_slice(), 1024, &|| false, f))
            };
            let mut got = Vec::new();
            reader.mft_changes_keeping(
                "x",
                &mut table,
                &mut pass,
                &mut |c| got.push(c.path.clone()),
                cap,
            );
            assert_eq!(passes, passes_wanted, "cap {cap}");
            got.sort();
            let mut want: Vec<String> =
                (30..40).map(|n| format!("C:\\ProgramData\\tools\\f{n}.txt")).collect();
            want.push("C:\\ProgramData\\f40.txt".to_owned());
            want.extend(
                ["C:\\$MFT", "C:\\ProgramData", "C:\\ProgramData\\tools"].map(String::from),
            );
            want.sort();
            assert_eq!(got, want, "cap {cap}");
            assert_eq!(reader.counts.mft_records, 14);
        }
    }
}
