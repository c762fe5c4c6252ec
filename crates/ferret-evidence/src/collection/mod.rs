//! Triage collections read in place: zip, tar and tar.gz archives (plain, or laid out by
//! Velociraptor's offline collector or by KAPE) and Velociraptor and KAPE folders. Every
//! member is an [`Entry`] with the path the host knew ([`names`]: `C:\inetpub\…` for a
//! collector's layout; for a plain archive, whose members' place on the host is not recorded,
//! `ARCHIVE/member` as stored), and [`Provenance`] naming the collection and the member as
//! stored.
//!
//! Reading, without extracting anything:
//!
//! * a zip's stored members, and a plain tar's members, are windows onto the archive file
//!   (read and seek in place);
//! * a zip's deflated members, and a tar.gz's members, are decompressed as they are read;
//!   a seek backwards starts decompressing that member again (the scan reads each member once,
//!   front to back, so this happens only for readers that seek, such as EVTX). Members of a
//!   tar.gz up to [`INLINE`] bytes are kept in memory while the archive is listed, so listing
//!   and reading cost one decompression, as long as the members listed and not yet read hold
//!   less than [`INLINE_BUDGET`] bytes in all (the scan reads them as they are listed); a
//!   larger member, or one past the budget, is decompressed again from the archive's start
//!   when opened.
//!
//! Bounded and hostile-safe ([`Limits`]): the number of members, the bytes decompressed from
//! one archive, the ratio of a member's size to its compressed size, and zip members whose
//! data overlap (the trick of non-recursive zip bombs) are checked; what is over a limit is
//! not read and is a problem naming the archive and the member. Member names holding `..`,
//! an absolute path or a NUL byte, and a second member of the same name, are problems too;
//! their data is still read in place, under the name as stored. Nothing is ever written.

mod member;
pub mod names;
mod reader;
mod tar;
mod zip;

use std::collections::HashSet;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ferret_core::{Cancel, Problem, ProblemKind, Provenance, ReportPath, Sink};

use crate::entry::{Entry, EntryKind, Handle, ListStats, ReadSeek, Source};
use crate::image::{ImageFile, ReadAt, Slice};
use crate::local::LocalDir;
pub(crate) use member::MemberData;
pub use names::{Layout, Mapped, detect_layout, map_member, name_issue, velociraptor_path};
use reader::{Restart, SliceReader};

/// Members of a tar.gz up to this size are kept in memory while it is listed.
pub const INLINE: u64 = 16 << 20;

/// Most bytes of one tar.gz's members held in memory at once (listed, not yet read).
pub const INLINE_BUDGET: u64 = 256 << 20;

/// How many tar members are looked at to recognise a tar's layout.
const LAYOUT_PROBE: u64 = 4096;

/// The limits that keep a hostile archive from exhausting memory, disk or time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most members listed from one archive.
    pub max_members: u64,
    /// Most bytes decompressed from one archive (the sum of its members' sizes).
    pub max_total: u64,
    /// Largest ratio of a member's size to its compressed size (members over 1 MiB).
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_members: 1_000_000, max_total: 64 << 30, max_ratio: 1_000 }
    }
}

/// The kind of collection, by content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A zip archive.
    Zip,
    /// A tar archive.
    Tar,
    /// A gzip-compressed tar archive.
    TarGz,
    /// A folder laid out by a collector (Velociraptor or KAPE).
    Dir,
}

impl Format {
    /// `zip`, `tar`, `tar.gz`, `directory`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Zip => "zip",
            Format::Tar => "tar",
            Format::TarGz => "tar.gz",
            Format::Dir => "directory",
        }
    }
}

/// Recognises an archive by its first bytes (at least 512 for a tar); a gzip stream is only
/// a tar.gz when the tar header inside checks out, which [`sniff_collection`] decides.
pub fn sniff_bytes(head: &[u8]) -> Option<Format> {
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Some(Format::Zip);
    }
    if tar::is_header(head) {
        return Some(Format::Tar);
    }
    if head.starts_with(&[0x1f, 0x8b, 0x08]) {
        let mut inner = [0u8; 512];
        let mut gz = flate2::read::GzDecoder::new(head);
        let mut n = 0;
        while n < inner.len() {
            match gz.read(inner.get_mut(n..).unwrap_or_default()) {
                Ok(0) | Err(_) => break,
                Ok(k) => n += k,
            }
        }
        if n == 512 && tar::is_header(&inner) {
            return Some(Format::TarGz);
        }
    }
    None
}

/// Recognises a collection: an archive file by content, or a folder by its layout
/// (Velociraptor's `uploads/` beside its metadata files, KAPE's drive-letter folders). A
/// plain folder is `None` (it is walked as usual).
pub fn sniff_collection(path: &Path) -> Option<Format> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if meta.is_dir() {
        return (dir_layout(path) != Layout::Plain).then_some(Format::Dir);
    }
    if !meta.is_file() {
        return None;
    }
    let (file, _) = ferret_fs::open_read_only(path).ok()?;
    let mut head = Vec::with_capacity(4096);
    file.take(4096).read_to_end(&mut head).ok()?;
    sniff_bytes(&head)
}

/// The layout of a folder, from its top two levels (and `uploads/*/` for Velociraptor).
fn dir_layout(root: &Path) -> Layout {
    let mut names = Vec::new();
    let list = |dir: &Path| -> Vec<(String, bool)> {
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.take(10_000)
                    .flatten()
                    .map(|e| {
                        let dir = e.file_type().is_ok_and(|t| t.is_dir());
                        (e.file_name().to_string_lossy().into_owned(), dir)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    for (name, is_dir) in list(root) {
        if is_dir && (name.len() == 1 || name == "uploads") {
            for (child, _) in list(&root.join(&name)) {
                names.push(format!("{name}/{child}"));
            }
        }
        names.push(name);
    }
    detect_layout(names.iter().map(String::as_str))
}

/// A collection opened for reading: an archive file or a collector's folder.
pub struct Collection {
    /// The collection as named (for problems and provenance).
    name: String,
    format: Format,
    layout: Layout,
    data: Option<Arc<dyn ReadAt>>,
    dir: Option<LocalDir>,
    root: PathBuf,
    limits: Limits,
    /// Bytes of members held in memory (see [`INLINE_BUDGET`]).
    inline: Arc<AtomicU64>,
}

impl std::fmt::Debug for Collection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collection")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("layout", &self.layout)
            .finish_non_exhaustive()
    }
}

/// Opens a collection (see [`sniff_collection`]): an archive is checked enough to list
/// (a zip's central directory is found); a folder's layout is recognised. Failing that, a
/// problem naming the collection and why.
pub fn open_collection(path: &Path, limits: Limits) -> Result<Collection, Problem> {
    let fail = |why: String| Problem::at(ProblemKind::ReadError, path, why);
    let format = sniff_collection(path).ok_or_else(|| {
        fail("not a zip, tar or tar.gz archive, nor a Velociraptor or KAPE folder".into())
    })?;
    let name = path.to_string_lossy().into_owned();
    if format == Format::Dir {
        return Ok(Collection {
            name,
            format,
            layout: dir_layout(path),
            data: None,
            dir: Some(LocalDir::new(path)),
            root: path.to_path_buf(),
            limits,
            inline: Arc::default(),
        });
    }
    let file = ImageFile::open(path).map_err(|e| fail(format!("cannot open: {e}")))?;
    open_data(path, Arc::new(file), limits)
}

/// Opens an archive held by `data` (a file, or bytes in memory); `path` names it in problems
/// and provenance.
pub fn open_data(
    path: &Path,
    data: Arc<dyn ReadAt>,
    limits: Limits,
) -> Result<Collection, Problem> {
    let fail = |why: String| Problem::at(ProblemKind::ReadError, path, why);
    let mut head = vec![0u8; usize::try_from(data.size().min(4096)).unwrap_or(0)];
    crate::image::read_exact_at(&*data, &mut head, 0)
        .map_err(|e| fail(format!("cannot read: {e}")))?;
    let format =
        sniff_bytes(&head).ok_or_else(|| fail("not a zip, tar or tar.gz archive".into()))?;
    let layout = match format {
        Format::Zip => {
            let dir = zip::directory(&*data).map_err(|w| fail(format!("zip: {w}")))?;
            let (members, _) = zip::members(&*data, &dir, limits.max_members)
                .map_err(|w| fail(format!("zip: {w}")))?;
            detect_layout(members.iter().map(|m| std::str::from_utf8(&m.name).unwrap_or_default()))
        }
        Format::Tar | Format::TarGz => {
            let mut names = Vec::new();
            let _ = tar_stream(&data, format, &limits, LAYOUT_PROBE, &mut |m, _| {
                names.push(String::from_utf8_lossy(&m.name).into_owned());
                std::ops::ControlFlow::Continue(())
            });
            detect_layout(names.iter().map(String::as_str))
        }
        Format::Dir => Layout::Plain,
    };
    Ok(Collection {
        name: path.to_string_lossy().into_owned(),
        format,
        layout,
        data: Some(data),
        dir: None,
        root: path.to_path_buf(),
        limits,
        inline: Arc::default(),
    })
}

/// Reads a tar or tar.gz stream from the start (see [`tar::walk`]).
fn tar_stream(
    data: &Arc<dyn ReadAt>,
    format: Format,
    limits: &Limits,
    max_members: u64,
    on: &mut dyn FnMut(tar::TarMember, &mut dyn Read) -> std::ops::ControlFlow<()>,
) -> io::Result<Option<String>> {
    let raw = SliceReader::new(Slice::new(data.clone(), 0, data.size()));
    if format == Format::TarGz {
        let gz = flate2::read::MultiGzDecoder::new(BufReader::with_capacity(64 << 10, raw));
        let mut r = tar::Counted::new(gz, gz_limit(limits, data.size()));
        tar::walk(&mut r, max_members, on)
    } else {
        let mut r = tar::Counted::new(raw, u64::MAX);
        tar::walk(&mut r, max_members, on)
    }
}

/// The most a gzip stream of `compressed` bytes may decompress to.
fn gz_limit(limits: &Limits, compressed: u64) -> u64 {
    limits.max_total.min(compressed.saturating_mul(limits.max_ratio).max(1 << 30))
}

impl Collection {
    /// The format (`zip`, `tar`, `tar.gz`, `directory`).
    pub fn format(&self) -> Format {
        self.format
    }

    /// The layout recognised (plain, Velociraptor, KAPE).
    pub fn layout(&self) -> Layout {
        self.layout
    }

    fn provenance(&self, member: String) -> Box<Provenance> {
        Box::new(Provenance {
            container: self.name.clone(),
            container_format: self.format.as_str().to_owned(),
            collection: self.layout.as_str().map(str::to_owned),
            member: Some(member),
            ..Provenance::default()
        })
    }

    fn problem(&self, member: &str, why: impl std::fmt::Display) -> Problem {
        Problem::at(ProblemKind::Parse, self.root.as_path(), format!("member {member:?}: {why}"))
    }

    /// Maps a member to an entry (or counts it as the collector's metadata), reporting a
    /// hostile or repeated name.
    #[expect(clippy::too_many_arguments, reason = "one member's facts")]
    fn member(
        &self,
        raw: &[u8],
        kind: EntryKind,
        size: u64,
        handle: Handle,
        unreadable: Option<String>,
        seen: &mut HashSet<Vec<u8>>,
        sink: &dyn Sink,
        stats: &mut ListStats,
    ) -> Option<Entry> {
        let stored = String::from_utf8_lossy(raw).into_owned();
        if let Some(why) = name_issue(raw) {
            stats.errors += 1;
            sink.problem(
                self.problem(&stored, format!("{why}; read in place under the name as stored")),
            );
        }
        if kind == EntryKind::File && !seen.insert(raw.to_vec()) {
            stats.errors += 1;
            sink.problem(self.problem(&stored, "a second member of this name; both are read"));
        }
        let trimmed = stored.trim_end_matches('/');
        let path = match map_member(self.layout, trimmed) {
            Mapped::Metadata => {
                if kind == EntryKind::File {
                    stats.metadata_skipped += 1;
                }
                return None;
            }
            // A plain archive's member: under the archive, as stored (its place on the host
            // is not recorded); a collector's: the host's path.
            Mapped::Host(p) if self.layout == Layout::Plain => format!("{}/{p}", self.name),
            Mapped::Host(p) => p,
        };
        if self.layout != Layout::Plain && names::mapped_climbs(&path) {
            stats.errors += 1;
            sink.problem(
                self.problem(&stored, "the decoded name holds a '..' component (path traversal)"),
            );
        }
        Some(Entry {
            path: ReportPath::from(path.as_bytes().to_vec()),
            kind,
            size,
            provenance: Some(self.provenance(stored)),
            unreadable,
            handle,
        })
    }

    fn zip_entries(
        &self,
        data: &Arc<dyn ReadAt>,
        sink: &dyn Sink,
        cancel: &Cancel,
        visit: &mut dyn FnMut(Entry),
    ) -> ListStats {
        let mut stats = ListStats::default();
        let listed = zip::directory(&**data)
            .and_then(|d| zip::members(&**data, &d, self.limits.max_members));
        let (members, stopped) = match listed {
            Ok(x) => x,
            Err(why) => {
                stats.errors += 1;
                sink.problem(Problem::at(
                    ProblemKind::ReadError,
                    self.root.as_path(),
                    format!("zip: {why}"),
                ));
                return stats;
            }
        };
        if let Some(why) = stopped {
            stats.errors += 1;
            sink.problem(Problem::at(
                ProblemKind::ReadError,
                self.root.as_path(),
                format!("zip: {why}"),
            ));
        }
        // Members whose compressed data overlap another's: a non-recursive zip bomb.
        let mut spans: Vec<(u64, u64, usize)> = members
            .iter()
            .enumerate()
            .filter(|(_, m)| !m.is_dir() && m.csize > 0)
            .map(|(i, m)| (m.local, m.local.saturating_add(m.csize), i))
            .collect();
        spans.sort_unstable();
        let mut overlapping = HashSet::new();
        for w in spans.windows(2) {
            if let [a, b] = w
                && b.0 < a.1
            {
                overlapping.insert(a.2);
                overlapping.insert(b.2);
            }
        }
        let mut seen = HashSet::new();
        let mut total = 0u64;
        for (i, m) in members.into_iter().enumerate() {
            if cancel.is_cancelled() {
                break;
            }
            let kind = if m.is_dir() { EntryKind::Dir } else { EntryKind::File };
            let mut unreadable = None;
            if kind == EntryKind::File {
                total = total.saturating_add(m.usize);
                unreadable = if m.flags & 1 != 0 {
                    Some(
                        "an encrypted member (a password-protected archive): not readable"
                            .to_owned(),
                    )
                } else if !matches!(m.method, 0 | 8) {
                    Some(format!(
                        "compression method {} is not supported (stored and deflate are)",
                        m.method
                    ))
                } else if overlapping.contains(&i) {
                    Some(
                        "its data overlaps another member's (a zip bomb's trick): not read"
                            .to_owned(),
                    )
                } else if m.usize > (1 << 20) && m.usize / m.csize.max(1) > self.limits.max_ratio {
                    Some(format!(
                        "{} bytes from {} compressed, a ratio over {} (a zip bomb?): not read",
                        m.usize, m.csize, self.limits.max_ratio
                    ))
                } else if total > self.limits.max_total {
                    Some(format!(
                        "the archive's members pass {} bytes in all (a zip bomb?): not read",
                        self.limits.max_total
                    ))
                } else {
                    None
                };
            }
            let (name, size) = (m.name.clone(), m.usize);
            let handle = Handle::Member(Box::new(MemberData::Zip(Box::new(m))));
            if let Some(e) =
                self.member(&name, kind, size, handle, unreadable, &mut seen, sink, &mut stats)
            {
                visit(e);
            }
        }
        stats
    }

    fn tar_entries(
        &self,
        data: &Arc<dyn ReadAt>,
        sink: &dyn Sink,
        cancel: &Cancel,
        visit: &mut dyn FnMut(Entry),
    ) -> ListStats {
        let mut stats = ListStats::default();
        let mut seen = HashSet::new();
        let gz = self.format == Format::TarGz;
        let budget = &self.inline;
        let ended =
            tar_stream(data, self.format, &self.limits, self.limits.max_members, &mut |m, body| {
                if cancel.is_cancelled() {
                    return std::ops::ControlFlow::Break(());
                }
                let kind = match m.kind {
                    tar::TarKind::Dir => EntryKind::Dir,
                    tar::TarKind::File | tar::TarKind::Sparse => EntryKind::File,
                    tar::TarKind::Other => return std::ops::ControlFlow::Continue(()),
                };
                let mut unreadable = (m.kind == tar::TarKind::Sparse)
                    .then(|| "a GNU sparse member: its map is not read".to_owned());
                let data = if !gz {
                    MemberData::Window { offset: m.offset, len: m.size }
                } else if m.size <= INLINE
                    && kind == EntryKind::File
                    && budget.load(Ordering::Relaxed).saturating_add(m.size) <= INLINE_BUDGET
                {
                    let mut buf = Vec::new();
                    if let Err(e) = body.read_to_end(&mut buf) {
                        unreadable = Some(format!("read failed: {e}"));
                        buf.clear();
                    }
                    budget.fetch_add(buf.len() as u64, Ordering::Relaxed);
                    MemberData::Memory(Arc::new(member::Inline::new(buf, budget.clone())))
                } else {
                    MemberData::Stream { offset: m.offset, len: m.size }
                };
                let handle = Handle::Member(Box::new(data));
                if let Some(e) = self
                    .member(&m.name, kind, m.size, handle, unreadable, &mut seen, sink, &mut stats)
                {
                    visit(e);
                }
                std::ops::ControlFlow::Continue(())
            });
        let why = match ended {
            Ok(None) => None,
            Ok(Some(why)) => Some(why),
            Err(e) => Some(e.to_string()),
        };
        if let Some(why) = why {
            stats.errors += 1;
            sink.problem(Problem::at(
                ProblemKind::ReadError,
                self.root.as_path(),
                format!("{}: {why}", self.format.as_str()),
            ));
        }
        stats
    }

    fn dir_entries(
        &self,
        dir: &LocalDir,
        sink: &dyn Sink,
        cancel: &Cancel,
        visit: &mut dyn FnMut(Entry),
    ) -> ListStats {
        let mut extra = ListStats::default();
        let mut seen = HashSet::new();
        let mut stats = dir.entries(sink, cancel, &mut |e| {
            let local = e.path.to_path_buf();
            let Ok(rel) = local.strip_prefix(&self.root) else { return };
            let rel = rel.as_os_str().as_encoded_bytes().to_vec();
            if rel.is_empty() {
                return;
            }
            if let Some(mut m) = self.member(&rel, e.kind, e.size, e.handle.clone(), None, &mut seen, sink, &mut extra) {
                // A plain file beside the collection's drives keeps its local path.
                if matches!(map_member(self.layout, &String::from_utf8_lossy(&rel)), Mapped::Host(ref p) if p.as_bytes() == rel.as_slice()) {
                    m.path = e.path.clone();
                }
                visit(m);
            }
        });
        stats.errors += extra.errors;
        stats.metadata_skipped += extra.metadata_skipped;
        stats
    }

    fn open_member(&self, m: &MemberData) -> io::Result<Box<dyn ReadSeek + '_>> {
        let data = self.data.as_ref().ok_or_else(|| io::Error::other("no archive"))?;
        match m {
            MemberData::Window { offset, len } => {
                if offset.saturating_add(*len) > data.size() {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the member's data runs past the archive's end (truncated)",
                    ));
                }
                Ok(Box::new(SliceReader::new(Slice::new(data.clone(), *offset, *len))))
            }
            MemberData::Memory(bytes) => {
                Ok(Box::new(io::Cursor::new(member::Shared(bytes.clone()))))
            }
            MemberData::Zip(z) => {
                let start = zip::data_start(&**data, z)?;
                let slice = Slice::new(data.clone(), start, z.csize);
                if z.method == 0 {
                    return Ok(Box::new(SliceReader::new(Slice::new(
                        data.clone(),
                        start,
                        z.csize.min(z.usize),
                    ))));
                }
                let open: reader::Opener<'_> = Box::new(move || {
                    Ok(Box::new(flate2::read::DeflateDecoder::new(BufReader::with_capacity(
                        64 << 10,
                        SliceReader::new(slice.clone()),
                    ))) as Box<dyn Read + Send>)
                });
                Ok(Box::new(Restart::new(open, z.usize)?))
            }
            MemberData::Stream { offset, len } => {
                let (data, offset, limit) =
                    (data.clone(), *offset, gz_limit(&self.limits, data.size()));
                let open: reader::Opener<'_> = Box::new(move || {
                    let raw = SliceReader::new(Slice::new(data.clone(), 0, data.size()));
                    let gz =
                        flate2::read::MultiGzDecoder::new(BufReader::with_capacity(64 << 10, raw));
                    let mut r = tar::Counted::new(gz, limit);
                    let skipped = io::copy(&mut (&mut r).take(offset), &mut io::sink())?;
                    if skipped < offset {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the archive ends before the member (truncated)",
                        ));
                    }
                    Ok(Box::new(r) as Box<dyn Read + Send>)
                });
                Ok(Box::new(Restart::new(open, *len)?))
            }
        }
    }
}

impl Source for Collection {
    fn describe(&self) -> String {
        match self.layout.as_str() {
            Some(l) => format!("{} ({l} {})", self.name, self.format.as_str()),
            None => format!("{} ({})", self.name, self.format.as_str()),
        }
    }

    fn entries(&self, sink: &dyn Sink, cancel: &Cancel, visit: &mut dyn FnMut(Entry)) -> ListStats {
        match (&self.data, &self.dir) {
            (_, Some(dir)) => self.dir_entries(dir, sink, cancel, visit),
            (Some(data), None) if self.format == Format::Zip => {
                self.zip_entries(data, sink, cancel, visit)
            }
            (Some(data), None) => self.tar_entries(data, sink, cancel, visit),
            (None, None) => ListStats::default(),
        }
    }

    fn open(&self, entry: &Entry) -> io::Result<Box<dyn ReadSeek + '_>> {
        // A member over a bomb limit (or encrypted, or of an unknown method) is never read.
        if let Some(why) = &entry.unreadable {
            return Err(io::Error::other(why.clone()));
        }
        match &entry.handle {
            Handle::Member(m) => self.open_member(m),
            Handle::Local(_) => match &self.dir {
                Some(dir) => dir.open(entry),
                None => Err(io::Error::new(io::ErrorKind::Unsupported, "not a member")),
            },
            _ => Err(io::Error::new(io::ErrorKind::Unsupported, "not a member")),
        }
    }
}
