//! The manifest format: a versioned, streaming, sorted list of a tree's entries.
//!
//! # Wire format (`schema_version` 1)
//!
//! A manifest is UTF-8 text, one JSON object per line (`\n`-terminated), optionally
//! compressed as a single zstd frame (recognised by its magic number). It has three parts:
//!
//! 1. **Header** (first line):
//!    `{"format":"ferret-manifest","schema_version":1,"tool":"ferret 0.1.0",
//!    "created":"2026-01-01T00:00:00Z","root":"/","host":"web1","hash":"sha256",
//!    "id":"<uuid>","excludes":["proc",…]}`.
//!    `hash` is `sha256` or `blake3`; `excludes` are the globs (relative to the root) that
//!    were not walked, so that a verifier skips them too. `root` and `host` are information.
//! 2. **Entries**, one per path, in [path order](path_cmp), no duplicates:
//!    `{"p":"usr/bin/ls","t":"f","s":142312,"m":"0755","u":0,"g":0,"h":"<hex>","mt":1700000000}`.
//!    - `p`: the path relative to the root, UTF-8; the root itself is `""`. When the raw name
//!      is not valid UTF-8, `pb` holds the raw bytes in standard base64 instead of `p`.
//!    - `t`: type: `f` regular file, `d` directory, `l` symlink, `p` FIFO, `s` socket,
//!      `c` character device, `b` block device.
//!    - `s`: size in bytes (regular files only).
//!    - `m`: permission bits including setuid/setgid/sticky, four octal digits.
//!    - `u`, `g`: numeric owner and group.
//!    - `h`: the content digest in lowercase hex (regular files that could be read).
//!    - `l` / `lb`: a symlink's target (UTF-8, or raw bytes base64 when not UTF-8).
//!    - `x`: security xattrs present (`security.capability`, `security.selinux`), name →
//!      base64 of the raw value.
//!    - `r`: device number (`c`/`b` only).
//!    - `mt`: modification time, Unix seconds — information only, never compared.
//! 3. **Trailer** (last line): `{"end":{"entries":N}}`. A manifest without it is truncated.
//!
//! Unknown keys are ignored (forward compatibility within a schema version); a higher
//! `schema_version` is refused. A detached minisign signature (`MANIFEST.minisig`) covers the
//! file's bytes as stored; see [`crate::sign`].

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

/// The manifest schema version this crate writes and the highest it reads.
pub const SCHEMA_VERSION: u32 = 1;
/// The `format` value of the header.
pub const FORMAT: &str = "ferret-manifest";
/// The longest line accepted when reading (a guard against garbage input).
pub const MAX_LINE: usize = 1 << 20;
/// The zstd frame magic number.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Errors reading or writing a manifest.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// An I/O error.
    #[error("cannot read or write the manifest")]
    Io(#[from] io::Error),
    /// The bytes do not form a valid manifest.
    #[error("invalid manifest at line {line}: {reason}")]
    Invalid {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// The manifest ends before its trailer.
    #[error("manifest is truncated after line {line} (no trailer)")]
    Truncated {
        /// The last line read.
        line: u64,
    },
    /// Entries written out of order (a bug in the caller).
    #[error("entry out of order: {path}")]
    OutOfOrder {
        /// The offending path, lossy.
        path: String,
    },
}

/// The content digest algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgorithm {
    /// SHA-256 (default).
    #[default]
    Sha256,
    /// BLAKE3.
    Blake3,
}

impl HashAlgorithm {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Blake3 => "blake3",
        }
    }
}

/// The manifest header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`FORMAT`].
    pub format: String,
    /// The schema version.
    pub schema_version: u32,
    /// The tool that wrote it (`ferret 0.1.0`).
    pub tool: String,
    /// Creation time, RFC 3339 UTC.
    pub created: String,
    /// The root that was walked (information).
    pub root: String,
    /// The host name where it was made (information).
    pub host: String,
    /// The digest algorithm.
    pub hash: HashAlgorithm,
    /// A random identifier of this manifest.
    pub id: String,
    /// Globs (relative to the root) that were not walked.
    #[serde(default)]
    pub excludes: Vec<String>,
}

impl Header {
    /// A header for a new manifest, stamped now with a fresh id.
    pub fn new(root: &str, host: &str, hash: HashAlgorithm, excludes: Vec<String>) -> Header {
        Header {
            format: FORMAT.into(),
            schema_version: SCHEMA_VERSION,
            tool: format!("ferret {}", env!("CARGO_PKG_VERSION")),
            created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            root: root.into(),
            host: host.into(),
            hash,
            id: uuid::Uuid::new_v4().to_string(),
            excludes,
        }
    }
}

/// The type of a tree entry: [`ferret_fs::EntryKind`], the workspace's one name for it.
pub use ferret_fs::EntryKind;

/// How a manifest records an [`EntryKind`]: its one-letter wire code and the word used in
/// messages. A manifest names seven kinds; [`EntryKind::Other`] (a type the platform cannot
/// name) has always been recorded as a regular file, and [`ManifestKind::recorded`] is that
/// one explicit conversion, so manifests read and written are unchanged.
pub trait ManifestKind: Sized {
    /// The kind a manifest records for this kind (`Other` becomes `File`).
    #[must_use]
    fn recorded(self) -> EntryKind;
    /// The kind recorded for a file type from `lstat` (classified by `ferret_fs`).
    fn from_file_type(ft: std::fs::FileType) -> EntryKind;
    /// The one-letter wire code.
    fn code(self) -> &'static str;
    /// Parses a wire code.
    fn from_code(s: &str) -> Option<EntryKind>;
    /// A word for messages.
    fn name(self) -> &'static str;
}

impl ManifestKind for EntryKind {
    fn recorded(self) -> EntryKind {
        match self {
            EntryKind::Other => EntryKind::File,
            kind => kind,
        }
    }

    fn from_file_type(ft: std::fs::FileType) -> EntryKind {
        EntryKind::of(ft).recorded()
    }

    fn code(self) -> &'static str {
        match self.recorded() {
            EntryKind::Dir => "d",
            EntryKind::Symlink => "l",
            EntryKind::Fifo => "p",
            EntryKind::Socket => "s",
            EntryKind::CharDevice => "c",
            EntryKind::BlockDevice => "b",
            EntryKind::File | EntryKind::Other => "f",
        }
    }

    fn from_code(s: &str) -> Option<EntryKind> {
        Some(match s {
            "f" => EntryKind::File,
            "d" => EntryKind::Dir,
            "l" => EntryKind::Symlink,
            "p" => EntryKind::Fifo,
            "s" => EntryKind::Socket,
            "c" => EntryKind::CharDevice,
            "b" => EntryKind::BlockDevice,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self.recorded() {
            EntryKind::Dir => "directory",
            EntryKind::Symlink => "symlink",
            EntryKind::Fifo => "fifo",
            EntryKind::Socket => "socket",
            EntryKind::CharDevice => "character device",
            EntryKind::BlockDevice => "block device",
            EntryKind::File | EntryKind::Other => "file",
        }
    }
}

/// One path in a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to the root, raw bytes; empty for the root itself.
    pub path: Vec<u8>,
    /// Type.
    pub kind: EntryKind,
    /// Size in bytes (regular files; 0 otherwise).
    pub size: u64,
    /// Permission bits including setuid, setgid and sticky (`mode & 0o7777`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Content digest, lowercase hex (regular files that could be read).
    pub digest: Option<String>,
    /// Symlink target, raw bytes.
    pub target: Option<Vec<u8>>,
    /// Security xattrs present: name → raw value.
    pub xattrs: BTreeMap<String, Vec<u8>>,
    /// Device number (devices only).
    pub rdev: Option<u64>,
    /// Modification time, Unix seconds (information only).
    pub mtime: i64,
}

impl Entry {
    /// The path for display: lossy UTF-8, `.` for the root.
    pub fn display_path(&self) -> String {
        if self.path.is_empty() { ".".into() } else { String::from_utf8_lossy(&self.path).into() }
    }
}

/// Orders manifest paths: component by component, each compared as raw bytes. Equivalent
/// to comparing the raw bytes with `/` ranked below every other byte, which is also the
/// order of a depth-first walk that visits each directory's names in byte order.
pub fn path_cmp(a: &[u8], b: &[u8]) -> Ordering {
    let key = |c: u8| if c == b'/' { 0u8 } else { c };
    for (x, y) in a.iter().zip(b.iter()) {
        let (x, y) = (key(*x), key(*y));
        if x != y {
            return x.cmp(&y);
        }
    }
    a.len().cmp(&b.len())
}

#[derive(Serialize, Deserialize, Default)]
struct EntryWire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pb: Option<String>,
    t: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    s: Option<u64>,
    m: String,
    u: u32,
    g: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    h: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    l: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lb: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    x: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    r: Option<u64>,
    #[serde(default)]
    mt: i64,
}

fn split_bytes(raw: &[u8]) -> (Option<String>, Option<String>) {
    match std::str::from_utf8(raw) {
        Ok(s) => (Some(s.to_owned()), None),
        Err(_) => (None, Some(B64.encode(raw))),
    }
}

fn join_bytes(text: Option<String>, b64: Option<String>) -> Result<Option<Vec<u8>>, String> {
    match (text, b64) {
        (_, Some(b)) => B64.decode(b.as_bytes()).map(Some).map_err(|e| format!("bad base64: {e}")),
        (Some(t), None) => Ok(Some(t.into_bytes())),
        (None, None) => Ok(None),
    }
}

impl From<&Entry> for EntryWire {
    fn from(e: &Entry) -> Self {
        let (p, pb) = split_bytes(&e.path);
        let (l, lb) = e.target.as_deref().map_or((None, None), split_bytes);
        EntryWire {
            p,
            pb,
            t: e.kind.code().into(),
            s: (e.kind == EntryKind::File).then_some(e.size),
            m: format!("{:04o}", e.mode & 0o7777),
            u: e.uid,
            g: e.gid,
            h: e.digest.clone(),
            l,
            lb,
            x: e.xattrs.iter().map(|(k, v)| (k.clone(), B64.encode(v))).collect(),
            r: e.rdev,
            mt: e.mtime,
        }
    }
}

impl TryFrom<EntryWire> for Entry {
    type Error = String;
    fn try_from(w: EntryWire) -> Result<Self, String> {
        let path = join_bytes(w.p, w.pb)?.ok_or("entry has no path")?;
        if path.first() == Some(&b'/') || path.ends_with(b"/") || path.contains(&0) {
            return Err("entry path is not a clean relative path".into());
        }
        let kind = EntryKind::from_code(&w.t).ok_or_else(|| format!("unknown type {:?}", w.t))?;
        let mode = u32::from_str_radix(&w.m, 8).map_err(|_| format!("bad mode {:?}", w.m))?;
        if mode > 0o7777 {
            return Err(format!("bad mode {:?}", w.m));
        }
        if let Some(h) = &w.h
            && (h.is_empty()
                || !h.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()))
        {
            return Err("digest is not lowercase hex".into());
        }
        let mut xattrs = BTreeMap::new();
        for (k, v) in w.x {
            let raw = B64.decode(v.as_bytes()).map_err(|e| format!("bad xattr base64: {e}"))?;
            xattrs.insert(k, raw);
        }
        Ok(Entry {
            path,
            kind,
            size: w.s.unwrap_or(0),
            mode,
            uid: w.u,
            gid: w.g,
            digest: w.h,
            target: join_bytes(w.l, w.lb)?,
            xattrs,
            rdev: w.r,
            mtime: w.mt,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct TrailerWire {
    end: TrailerBody,
}

#[derive(Serialize, Deserialize)]
struct TrailerBody {
    entries: u64,
}

enum Sink<W: Write> {
    Plain(W),
    Zstd(zstd::Encoder<'static, W>),
}

/// Writes a manifest, entry by entry, checking the order.
pub struct ManifestWriter<W: Write> {
    out: Sink<W>,
    count: u64,
    last: Option<Vec<u8>>,
    line: Vec<u8>,
}

impl<W: Write> ManifestWriter<W> {
    /// Starts a manifest: writes the header. `zstd` compresses the whole file.
    pub fn new(out: W, header: &Header, zstd: bool) -> Result<ManifestWriter<W>, ManifestError> {
        let out = if zstd { Sink::Zstd(zstd::Encoder::new(out, 3)?) } else { Sink::Plain(out) };
        let mut w = ManifestWriter { out, count: 0, last: None, line: Vec::with_capacity(512) };
        let mut line = serde_json::to_vec(header).map_err(io::Error::other)?;
        line.push(b'\n');
        w.write_raw(&line)?;
        Ok(w)
    }

    fn write_raw(&mut self, b: &[u8]) -> io::Result<()> {
        match &mut self.out {
            Sink::Plain(w) => w.write_all(b),
            Sink::Zstd(w) => w.write_all(b),
        }
    }

    /// Appends one entry; entries must come in [`path_cmp`] order without duplicates.
    pub fn write_entry(&mut self, e: &Entry) -> Result<(), ManifestError> {
        if let Some(last) = &self.last
            && path_cmp(last, &e.path) != Ordering::Less
        {
            return Err(ManifestError::OutOfOrder { path: e.display_path() });
        }
        self.line.clear();
        serde_json::to_writer(&mut self.line, &EntryWire::from(e)).map_err(io::Error::other)?;
        self.line.push(b'\n');
        let line = std::mem::take(&mut self.line);
        let r = self.write_raw(&line);
        self.line = line;
        r?;
        self.count += 1;
        self.last = Some(e.path.clone());
        Ok(())
    }

    /// Entries written so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Writes the trailer and flushes; returns the inner writer.
    pub fn finish(mut self) -> Result<W, ManifestError> {
        let mut line =
            serde_json::to_vec(&TrailerWire { end: TrailerBody { entries: self.count } })
                .map_err(io::Error::other)?;
        line.push(b'\n');
        self.write_raw(&line)?;
        let mut w = match self.out {
            Sink::Plain(w) => w,
            Sink::Zstd(enc) => enc.finish()?,
        };
        w.flush()?;
        Ok(w)
    }
}

/// Reads a manifest as a stream of entries, checking order, duplicates and the trailer.
/// Iterating yields `Err` once and then stops on the first problem.
pub struct ManifestReader<'r> {
    input: Box<dyn BufRead + 'r>,
    header: Header,
    line_no: u64,
    count: u64,
    last: Option<Vec<u8>>,
    done: bool,
    buf: Vec<u8>,
}

impl std::fmt::Debug for ManifestReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManifestReader").field("header", &self.header).finish_non_exhaustive()
    }
}

/// Reads one line of at most [`MAX_LINE`] bytes (without its `\n`). `Ok(false)` at end.
fn read_line(input: &mut dyn BufRead, buf: &mut Vec<u8>, line: u64) -> Result<bool, ManifestError> {
    buf.clear();
    let n = input.take(MAX_LINE as u64 + 1).read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(false);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
    } else if buf.len() > MAX_LINE {
        return Err(ManifestError::Invalid { line, reason: "line too long".into() });
    } else {
        return Err(ManifestError::Truncated { line });
    }
    Ok(true)
}

impl<'r> ManifestReader<'r> {
    /// Opens a manifest from raw bytes (plain or zstd) and reads its header.
    pub fn new<R: Read + 'r>(input: R) -> Result<ManifestReader<'r>, ManifestError> {
        let mut input = BufReader::with_capacity(1 << 16, input);
        let is_zstd = input.fill_buf()?.starts_with(&ZSTD_MAGIC);
        let mut input: Box<dyn BufRead + 'r> = if is_zstd {
            let mut dec = zstd::Decoder::with_buffer(input)?;
            // One frame only: bytes after it are refused rather than silently decoded.
            dec = dec.single_frame();
            Box::new(BufReader::with_capacity(1 << 16, dec))
        } else {
            Box::new(input)
        };
        let mut buf = Vec::new();
        if !read_line(&mut *input, &mut buf, 1)? {
            return Err(ManifestError::Invalid { line: 1, reason: "empty manifest".into() });
        }
        let value: serde_json::Value = serde_json::from_slice(&buf)
            .map_err(|e| ManifestError::Invalid { line: 1, reason: format!("bad header: {e}") })?;
        if value.get("format").and_then(|v| v.as_str()) != Some(FORMAT) {
            return Err(ManifestError::Invalid {
                line: 1,
                reason: "not a ferret manifest (no format header)".into(),
            });
        }
        let version = value.get("schema_version").and_then(serde_json::Value::as_u64);
        if version != Some(u64::from(SCHEMA_VERSION)) {
            return Err(ManifestError::Invalid {
                line: 1,
                reason: format!(
                    "unsupported schema_version {} (this ferret reads {SCHEMA_VERSION})",
                    version.map_or_else(|| "missing".to_owned(), |v| v.to_string())
                ),
            });
        }
        let header: Header = serde_json::from_value(value)
            .map_err(|e| ManifestError::Invalid { line: 1, reason: format!("bad header: {e}") })?;
        Ok(ManifestReader { input, header, line_no: 1, count: 0, last: None, done: false, buf })
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    fn next_entry(&mut self) -> Result<Option<Entry>, ManifestError> {
        self.line_no += 1;
        let line = self.line_no;
        if !read_line(&mut *self.input, &mut self.buf, line)? {
            return Err(ManifestError::Truncated { line: line - 1 });
        }
        let invalid = |reason: String| ManifestError::Invalid { line, reason };
        if self.buf.starts_with(b"{\"end\"") {
            let t: TrailerWire = serde_json::from_slice(&self.buf)
                .map_err(|e| invalid(format!("bad trailer: {e}")))?;
            if t.end.entries != self.count {
                return Err(invalid(format!(
                    "trailer says {} entries, manifest has {}",
                    t.end.entries, self.count
                )));
            }
            let mut rest = [0u8; 1];
            if self.input.read(&mut rest)? != 0 {
                return Err(invalid("data after the trailer".into()));
            }
            return Ok(None);
        }
        let wire: EntryWire =
            serde_json::from_slice(&self.buf).map_err(|e| invalid(format!("bad entry: {e}")))?;
        let entry = Entry::try_from(wire).map_err(invalid)?;
        if let Some(last) = &self.last
            && path_cmp(last, &entry.path) != Ordering::Less
        {
            return Err(invalid(format!(
                "entries out of order or duplicated at {:?}",
                entry.display_path()
            )));
        }
        self.last = Some(entry.path.clone());
        self.count += 1;
        Ok(Some(entry))
    }
}

impl Iterator for ManifestReader<'_> {
    type Item = Result<Entry, ManifestError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_entry() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wire codes are the manifest format's (`docs/manifest-format.md`): seven kinds, and
    /// a type the platform cannot name (`EntryKind::Other`) recorded as a regular file.
    #[test]
    fn entry_kinds_keep_their_wire_codes() {
        let kinds = [
            (EntryKind::File, "f", "file"),
            (EntryKind::Dir, "d", "directory"),
            (EntryKind::Symlink, "l", "symlink"),
            (EntryKind::Fifo, "p", "fifo"),
            (EntryKind::Socket, "s", "socket"),
            (EntryKind::CharDevice, "c", "character device"),
            (EntryKind::BlockDevice, "b", "block device"),
        ];
        for (kind, code, name) in kinds {
            assert_eq!((kind.code(), kind.name()), (code, name));
            assert_eq!(EntryKind::from_code(code), Some(kind));
            assert_eq!(kind.recorded(), kind);
        }
        assert_eq!(EntryKind::Other.recorded(), EntryKind::File);
        assert_eq!((EntryKind::Other.code(), EntryKind::Other.name()), ("f", "file"));
        assert_eq!(EntryKind::from_code("x"), None);
    }

    pub(crate) fn entry(path: &str, kind: EntryKind) -> Entry {
        Entry {
            path: path.as_bytes().to_vec(),
            kind,
            size: if kind == EntryKind::File { 3 } else { 0 },
            mode: 0o644,
            uid: 0,
            gid: 0,
            digest: (kind == EntryKind::File).then(|| "ab".repeat(32)),
            target: (kind == EntryKind::Symlink).then(|| b"x".to_vec()),
            xattrs: BTreeMap::new(),
            rdev: None,
            mtime: 1,
        }
    }

    fn write(entries: &[Entry], zstd: bool) -> Vec<u8> {
        let h = Header::new("/r", "h", HashAlgorithm::Sha256, vec!["proc".into()]);
        let mut w = ManifestWriter::new(Vec::new(), &h, zstd).unwrap();
        for e in entries {
            w.write_entry(e).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn path_order_is_by_component() {
        assert_eq!(path_cmp(b"a/b", b"a.txt"), Ordering::Less);
        assert_eq!(path_cmp(b"", b"a"), Ordering::Less);
        assert_eq!(path_cmp(b"a", b"a/b"), Ordering::Less);
        assert_eq!(path_cmp(b"a/b", b"a/b"), Ordering::Equal);
    }

    #[test]
    fn round_trip_plain_and_zstd() {
        let mut odd = entry("b/x", EntryKind::File);
        odd.path = b"b/\xffname".to_vec();
        odd.xattrs.insert("security.capability".into(), vec![1, 2, 0, 0]);
        let entries = vec![
            entry("", EntryKind::Dir),
            entry("a", EntryKind::Symlink),
            entry("b", EntryKind::Dir),
            odd,
        ];
        for z in [false, true] {
            let bytes = write(&entries, z);
            let r = ManifestReader::new(bytes.as_slice()).unwrap();
            assert_eq!(r.header().excludes, vec!["proc".to_owned()]);
            let back: Vec<Entry> = r.collect::<Result<_, _>>().unwrap();
            assert_eq!(back, entries);
        }
    }

    #[test]
    fn writer_refuses_disorder() {
        let h = Header::new("/r", "h", HashAlgorithm::Sha256, vec![]);
        let mut w = ManifestWriter::new(Vec::new(), &h, false).unwrap();
        w.write_entry(&entry("b", EntryKind::Dir)).unwrap();
        assert!(w.write_entry(&entry("a", EntryKind::Dir)).is_err());
    }

    #[test]
    fn reader_refuses_truncation_reorder_and_bad_trailer() {
        let entries = vec![entry("a", EntryKind::Dir), entry("b", EntryKind::File)];
        let bytes = write(&entries, false);
        let text = String::from_utf8(bytes).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let check = |t: String| {
            ManifestReader::new(t.as_bytes()).and_then(Iterator::collect::<Result<Vec<_>, _>>)
        };
        // truncated: no trailer
        assert!(matches!(
            check(format!("{}\n{}\n{}\n", lines[0], lines[1], lines[2])),
            Err(ManifestError::Truncated { .. })
        ));
        // reordered
        assert!(
            check(format!("{}\n{}\n{}\n{}\n", lines[0], lines[2], lines[1], lines[3])).is_err()
        );
        // dropped entry: trailer count mismatch
        assert!(check(format!("{}\n{}\n{}\n", lines[0], lines[2], lines[3])).is_err());
        // partial last line
        assert!(check(text[..text.len() - 3].to_owned()).is_err());
        // trailing garbage
        assert!(check(format!("{text}x")).is_err());
        assert!(check(text.clone()).is_ok());
    }
}
