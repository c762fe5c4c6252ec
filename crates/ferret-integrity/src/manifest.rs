//! The manifest format: a versioned, streaming, sorted list of a tree's entries.
//!
//! # Wire format (`schema_version` 1 and 2)
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
//! **Version 2** is written for a file system inside evidence (a disk image, a triage
//! collection); a local tree is still written as version 1, so older readers keep reading
//! it. A version 2 header may carry `paths` (`posix`, the default, or `windows`: paths as the
//! Windows host knew them, `C:\dir\file` and `C:\dir\file:stream`, ordered and matched
//! without regard to case, see [`PathStyle`]) and `evidence` (what the manifest was taken
//! from, [`EvidenceInfo`]). A version 2 entry may leave out `m`, `u`, `g` and `mt`: a value
//! the source does not keep (an NTFS file has no POSIX mode or owner) is absent, never
//! invented. Version 1 requires `m`, `u` and `g`.
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

/// The manifest schema version this crate writes for a local tree (older readers read it).
pub const SCHEMA_VERSION: u32 = 1;
/// The schema version written for a file system inside evidence, and the highest read.
pub const SCHEMA_VERSION_EVIDENCE: u32 = 2;
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
    /// How paths are written, ordered and matched (version 2; `posix` when absent).
    #[serde(default, skip_serializing_if = "PathStyle::is_posix")]
    pub paths: PathStyle,
    /// The evidence the manifest was taken from (version 2; absent for a local tree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<EvidenceInfo>,
}

/// How a manifest's paths are written, ordered and matched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PathStyle {
    /// Relative paths with `/`, compared as raw bytes ([`path_cmp`]).
    #[default]
    Posix,
    /// Windows paths as the host knew them (`C:\dir\file`, `C:\dir\file:stream`), `\`
    /// separating components, compared without regard to case as NTFS compares names
    /// ([`windows_cmp`]).
    Windows,
}

impl PathStyle {
    /// Whether this is [`PathStyle::Posix`].
    pub fn is_posix(&self) -> bool {
        *self == PathStyle::Posix
    }

    /// The manifest order of two paths of this style.
    pub fn cmp(self, a: &[u8], b: &[u8]) -> Ordering {
        match self {
            PathStyle::Posix => path_cmp(a, b),
            PathStyle::Windows => windows_cmp(a, b),
        }
    }

    /// The path as the policy's globs see it: `/` between components (a Windows path's `\`
    /// read as `/`).
    pub fn glob_form(self, path: &[u8]) -> std::borrow::Cow<'_, [u8]> {
        match self {
            PathStyle::Windows if path.contains(&b'\\') => std::borrow::Cow::Owned(
                path.iter().map(|&c| if c == b'\\' { b'/' } else { c }).collect(),
            ),
            _ => std::borrow::Cow::Borrowed(path),
        }
    }

    /// The style of a path as a host knew it: `windows` for `X:` followed by nothing or `\`.
    pub fn of_host_path(path: &[u8]) -> PathStyle {
        match path {
            [d, b':'] | [d, b':', b'\\', ..] if d.is_ascii_alphabetic() => PathStyle::Windows,
            _ => PathStyle::Posix,
        }
    }
}

/// What a manifest of evidence was taken from (information, like `root`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceInfo {
    /// The evidence as it was named (a disk image, a collection).
    pub target: String,
    /// Its layout (`raw disk, gpt`, `velociraptor zip`, …).
    #[serde(default)]
    pub layout: String,
    /// The file systems or collections read, one line each
    /// (`disk.img, partition 2 (gpt), ntfs`).
    #[serde(default)]
    pub sources: Vec<String>,
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
            paths: PathStyle::Posix,
            evidence: None,
        }
    }

    /// A header for a manifest of evidence (schema version 2): paths of `style`, taken from
    /// `evidence`.
    pub fn for_evidence(
        evidence: EvidenceInfo,
        style: PathStyle,
        host: &str,
        hash: HashAlgorithm,
        excludes: Vec<String>,
    ) -> Header {
        Header {
            schema_version: SCHEMA_VERSION_EVIDENCE,
            paths: style,
            ..Header::new(&evidence.target, host, hash, excludes)
        }
        .with_evidence(evidence)
    }

    fn with_evidence(mut self, evidence: EvidenceInfo) -> Header {
        self.evidence = Some(evidence);
        self
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
    /// Permission bits including setuid, setgid and sticky (`mode & 0o7777`); `None` when
    /// the source keeps none (NTFS).
    pub mode: Option<u32>,
    /// Owner; `None` when the source keeps none.
    pub uid: Option<u32>,
    /// Group; `None` when the source keeps none.
    pub gid: Option<u32>,
    /// Content digest, lowercase hex (regular files that could be read).
    pub digest: Option<String>,
    /// Symlink target, raw bytes.
    pub target: Option<Vec<u8>>,
    /// Security xattrs present: name → raw value.
    pub xattrs: BTreeMap<String, Vec<u8>>,
    /// Device number (devices only).
    pub rdev: Option<u64>,
    /// Modification time, Unix seconds (information only); `None` when unknown.
    pub mtime: Option<i64>,
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

/// A character as NTFS compares names: upper-cased where the upper case is one character
/// (NTFS's `$UpCase` table maps each UTF-16 unit to one), `\` ranked below every other
/// character as the component separator.
fn windows_key(c: char) -> char {
    if c == '\\' {
        return '\0';
    }
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// Orders Windows paths ([`PathStyle::Windows`]): component by component (`\` separates),
/// each compared character by character without regard to case; paths that differ only in
/// case are equal. A path that is not UTF-8 is compared by its raw bytes.
pub fn windows_cmp(a: &[u8], b: &[u8]) -> Ordering {
    match (std::str::from_utf8(a), std::str::from_utf8(b)) {
        (Ok(x), Ok(y)) => x.chars().map(windows_key).cmp(y.chars().map(windows_key)),
        _ => path_cmp(a, b),
    }
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    m: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    u: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    g: Option<u32>,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mt: Option<i64>,
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
            m: e.mode.map(|m| format!("{:04o}", m & 0o7777)),
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
        let mode = match &w.m {
            Some(m) => {
                let mode = u32::from_str_radix(m, 8).map_err(|_| format!("bad mode {m:?}"))?;
                if mode > 0o7777 {
                    return Err(format!("bad mode {m:?}"));
                }
                Some(mode)
            }
            None => None,
        };
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
    style: PathStyle,
    count: u64,
    last: Option<Vec<u8>>,
    line: Vec<u8>,
}

impl<W: Write> ManifestWriter<W> {
    /// Starts a manifest: writes the header. `zstd` compresses the whole file.
    pub fn new(out: W, header: &Header, zstd: bool) -> Result<ManifestWriter<W>, ManifestError> {
        let out = if zstd { Sink::Zstd(zstd::Encoder::new(out, 3)?) } else { Sink::Plain(out) };
        let mut w = ManifestWriter {
            out,
            style: header.paths,
            count: 0,
            last: None,
            line: Vec::with_capacity(512),
        };
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

    /// Appends one entry; entries must come in the header's [`PathStyle`] order without
    /// duplicates.
    pub fn write_entry(&mut self, e: &Entry) -> Result<(), ManifestError> {
        if let Some(last) = &self.last
            && self.style.cmp(last, &e.path) != Ordering::Less
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
        if !version.is_some_and(|v| (1..=u64::from(SCHEMA_VERSION_EVIDENCE)).contains(&v)) {
            return Err(ManifestError::Invalid {
                line: 1,
                reason: format!(
                    "unsupported schema_version {} (this ferret reads 1 to \
                     {SCHEMA_VERSION_EVIDENCE})",
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
        if self.header.schema_version == SCHEMA_VERSION
            && (entry.mode.is_none() || entry.uid.is_none() || entry.gid.is_none())
        {
            return Err(invalid("entry without its mode, owner or group (m, u, g)".into()));
        }
        if let Some(last) = &self.last
            && self.header.paths.cmp(last, &entry.path) != Ordering::Less
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
            mode: Some(0o644),
            uid: Some(0),
            gid: Some(0),
            digest: (kind == EntryKind::File).then(|| "ab".repeat(32)),
            target: (kind == EntryKind::Symlink).then(|| b"x".to_vec()),
            xattrs: BTreeMap::new(),
            rdev: None,
            mtime: Some(1),
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
    fn windows_paths_order_and_match_without_case() {
        assert_eq!(windows_cmp(br"C:\Windows", br"c:\WINDOWS"), Ordering::Equal);
        assert_eq!(windows_cmp(br"C:\a\b", br"C:\a.txt"), Ordering::Less, "by component");
        assert_eq!(windows_cmp(br"C:\a\z", br"C:\a:stream"), Ordering::Less);
        assert_eq!(windows_cmp(br"C:\b", br"C:\A"), Ordering::Greater);
        assert_eq!(
            windows_cmp("C:\\\u{e9}t\u{e9}".as_bytes(), "C:\\\u{c9}T\u{c9}".as_bytes()),
            Ordering::Equal
        );
        assert_eq!(PathStyle::of_host_path(br"C:\x"), PathStyle::Windows);
        assert_eq!(PathStyle::of_host_path(b"var/www/x"), PathStyle::Posix);
        assert_eq!(PathStyle::Windows.glob_form(br"C:\a\b").as_ref(), b"C:/a/b");
    }

    #[test]
    fn an_evidence_manifest_is_version_2_and_leaves_absent_values_out() {
        let info = EvidenceInfo {
            target: "/cases/disk.img".into(),
            layout: "raw disk, gpt".into(),
            sources: vec!["/cases/disk.img, partition 2 (gpt), ntfs".into()],
        };
        let h = Header::for_evidence(info, PathStyle::Windows, "h", HashAlgorithm::Sha256, vec![]);
        let mut dir = entry(r"C:\Windows", EntryKind::Dir);
        let mut file = entry(r"c:\windows\a.dll", EntryKind::File);
        for e in [&mut dir, &mut file] {
            (e.mode, e.uid, e.gid, e.mtime) = (None, None, None, None);
        }
        let mut w = ManifestWriter::new(Vec::new(), &h, false).unwrap();
        w.write_entry(&dir).unwrap();
        w.write_entry(&file).unwrap();
        assert!(w.write_entry(&entry(r"C:\WINDOWS\A.DLL", EntryKind::File)).is_err(), "same name");
        let bytes = w.finish().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with(r#"{"format":"ferret-manifest","schema_version":2"#), "{text}");
        assert!(
            text.contains(r#""paths":"windows""#) && text.contains(r#""layout":"raw disk, gpt""#)
        );
        let line = text.lines().nth(2).unwrap();
        assert!(
            !line.contains(r#""m":"#) && !line.contains(r#""u":"#) && !line.contains(r#""mt":"#),
            "{line}"
        );
        let r = ManifestReader::new(bytes.as_slice()).unwrap();
        assert_eq!(r.header().evidence.as_ref().unwrap().target, "/cases/disk.img");
        let back: Vec<Entry> = r.collect::<Result<_, _>>().unwrap();
        assert_eq!(back, vec![dir, file]);
    }

    #[test]
    fn version_1_still_needs_mode_and_owner_and_unknown_versions_are_refused() {
        let bytes = write(&[entry("a", EntryKind::File)], false);
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains(r#""schema_version":1"#), "a local tree is still version 1");
        let stripped = text.replace(r#""m":"0644","u":0,"g":0,"#, "");
        assert_ne!(stripped, text);
        let err = ManifestReader::new(stripped.as_bytes())
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .unwrap_err();
        assert!(err.to_string().contains("mode, owner or group"), "{err}");
        let v3 = text.replace(r#""schema_version":1"#, r#""schema_version":3"#);
        assert!(ManifestReader::new(v3.as_bytes()).is_err());
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
