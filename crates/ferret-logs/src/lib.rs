//! ferret-logs: log readers that turn the logs a defender has into events with named fields.
//!
//! Formats ([`LogFormat`]): EVTX, evtx-to-JSON exports (nested `Event.System`/`Event.EventData`
//! and flat), other JSON lines, syslog (RFC 3164, RFC 5424, ISO-timestamped), W3C extended / IIS,
//! Exchange CSV logs (HttpProxy, ECP, OABGenerator, …), Apache/nginx access logs, and DNS query
//! logs (Windows DNS debug log, BIND query log, Zeek `dns.log`).
//!
//! Entry points:
//! * [`sniff`] decides the format from a file's first bytes (content first; the extension is only
//!   a tie-breaker for `.evtx`).
//! * [`read`] opens a file read-only (gzip decompressed transparently, with a size cap), reads
//!   every record into an [`Event`] and hands it to a callback; it returns the file's
//!   [`SourceCoverage`]. Malformed records are counted and pushed to the [`Sink`] as
//!   [`ferret_core::Problem`]s of kind `parse` with the file and position; reading goes on.
//!
//! Invariants: readers never panic on any input (property-tested), never hold more than
//! [`ReadOptions::max_line`] bytes of one line, never decompress more than
//! [`ReadOptions::max_decompressed`] bytes, and never write.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]
#![allow(
    clippy::many_single_char_names,
    reason = "parsers name spans and positions by one letter, as the formats' specs do"
)]

mod access;
mod dns;
mod event;
mod evtx;
mod input;
mod json;
pub mod netioc;
mod split;
mod syslog;
mod time;
mod w3c;

use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use ferret_core::{Problem, ProblemKind, Sink};
use serde::Serialize;

pub use event::{Event, Value};
pub use split::{Block, BlockParser, Blocks, merge_coverage, split};

/// A log format ferret reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    /// Windows binary event log.
    Evtx,
    /// Windows events exported as JSON (evtx_dump's nested `Event` form, or flat
    /// Winlogbeat/OTRF style with `EventID` and `Channel` at the top).
    EvtxJson,
    /// Other JSON: one object per line, concatenated objects, or an array of objects.
    Json,
    /// syslog: RFC 3164 (with or without `<PRI>`), RFC 5424, or ISO-timestamped lines.
    Syslog,
    /// W3C extended log (IIS), space-separated under a `#Fields:` header.
    W3c,
    /// Exchange CSV logs (HttpProxy, ECP, OABGenerator, …): comma-separated under a
    /// `#Fields:` header or a plain CSV header line.
    ExchangeCsv,
    /// Apache/nginx common or combined access log.
    Access,
    /// Windows DNS server debug log.
    DnsWindows,
    /// BIND query log.
    DnsBind,
    /// Zeek `dns.log` (TSV with `#fields`).
    ZeekDns,
    /// Another Zeek TSV log.
    Zeek,
}

impl LogFormat {
    /// Every format.
    pub const ALL: [LogFormat; 11] = [
        LogFormat::Evtx,
        LogFormat::EvtxJson,
        LogFormat::Json,
        LogFormat::Syslog,
        LogFormat::W3c,
        LogFormat::ExchangeCsv,
        LogFormat::Access,
        LogFormat::DnsWindows,
        LogFormat::DnsBind,
        LogFormat::ZeekDns,
        LogFormat::Zeek,
    ];

    /// The name used in reports (`evtx`, `evtx-json`, `w3c`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Evtx => "evtx",
            LogFormat::EvtxJson => "evtx-json",
            LogFormat::Json => "json",
            LogFormat::Syslog => "syslog",
            LogFormat::W3c => "w3c",
            LogFormat::ExchangeCsv => "exchange-csv",
            LogFormat::Access => "access",
            LogFormat::DnsWindows => "dns-windows",
            LogFormat::DnsBind => "dns-bind",
            LogFormat::ZeekDns => "zeek-dns",
            LogFormat::Zeek => "zeek",
        }
    }

    /// Parses a name as given by [`LogFormat::as_str`].
    pub fn parse(s: &str) -> Option<LogFormat> {
        LogFormat::ALL.into_iter().find(|f| f.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Limits and choices for reading.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// Longest line kept, in bytes; a longer one is a malformed record and is skipped.
    pub max_line: usize,
    /// Most bytes a gzip file may decompress to; past it reading stops with a problem.
    pub max_decompressed: u64,
    /// Largest gzip-compressed EVTX file decompressed into memory, in bytes.
    pub max_in_memory: u64,
    /// The year for syslog RFC 3164 timestamps, which have none. `None`: the year of the
    /// file's modification time (a month after that month means the year before).
    pub syslog_year: Option<i32>,
    /// Read as this format instead of sniffing.
    pub format: Option<LogFormat>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            max_line: 1024 * 1024,
            max_decompressed: 16 * 1024 * 1024 * 1024,
            max_in_memory: 2 * 1024 * 1024 * 1024,
            syslog_year: None,
            format: None,
        }
    }
}

/// What reading one file covered. Serialized into the hunt summary.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SourceCoverage {
    /// The format read, `None` when the file was not recognised or could not be opened.
    pub format: Option<LogFormat>,
    /// Events read.
    pub events: u64,
    /// Malformed records (lines, JSON documents, EVTX records or chunks) skipped.
    pub parse_errors: u64,
    /// The earliest event time seen.
    pub first: Option<DateTime<Utc>>,
    /// The latest event time seen.
    pub last: Option<DateTime<Utc>>,
    /// Whether reading stopped before the end (read error, size cap).
    pub truncated: bool,
    /// Whether the file was gzip-compressed.
    pub gzip: bool,
    /// The time zone assumed for timestamps written without one (`"UTC"`), when any was
    /// read (RFC 3164 syslog, ISO times without an offset). `None`: every time carried its zone
    /// or the format's own convention (W3C, Exchange and Zeek logs are UTC by definition).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assumed_timezone: Option<&'static str>,
}

/// How many bytes of a file's start [`sniff`] wants.
pub const SNIFF_LEN: usize = 8192;

/// Decides a file's format from its first bytes (`head`, decompressed if the file is gzip;
/// [`SNIFF_LEN`] bytes suffice) and, for `.evtx` only, its name. `None`: not a log ferret reads.
pub fn sniff(path: &Path, head: &[u8]) -> Option<LogFormat> {
    if head.starts_with(b"ElfFile\0") {
        return Some(LogFormat::Evtx);
    }
    let ext_evtx = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("evtx"));
    if ext_evtx {
        // A damaged header still gets read, so the damage is reported rather than skipped.
        return Some(LogFormat::Evtx);
    }
    if head.contains(&0) {
        return None;
    }
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}');
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return Some(json::sniff_kind(trimmed));
    }
    // The last line of a head that stops mid-line is incomplete: leave it out.
    let complete = match text.rfind('\n') {
        Some(i) if !text.ends_with('\n') => text.get(..i).unwrap_or(text),
        _ => text,
    };
    let mut lines = complete.lines().filter(|l| !l.trim().is_empty());
    // Header-driven formats.
    for line in text.lines().take(16) {
        if let Some(rest) = line.strip_prefix("#fields") {
            return Some(if rest.contains("query") && rest.contains("qtype") {
                LogFormat::ZeekDns
            } else {
                LogFormat::Zeek
            });
        }
        if line.starts_with("#separator") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("#Fields:") {
            return Some(if rest.contains(',') { LogFormat::ExchangeCsv } else { LogFormat::W3c });
        }
        if line.starts_with("#Log-type:") {
            return Some(LogFormat::ExchangeCsv);
        }
    }
    if text.starts_with("#Software:") || text.starts_with("#Version:") {
        return Some(LogFormat::W3c);
    }
    if text.contains("DNS Server log file") || text.contains("Message logging key") {
        return Some(LogFormat::DnsWindows);
    }
    let first = lines.next()?;
    if w3c::looks_like_csv_header(first) {
        return Some(LogFormat::ExchangeCsv);
    }
    // Line-driven formats: the first few records decide, by majority.
    let sample: Vec<&str> = std::iter::once(first).chain(lines).take(8).collect();
    let votes = |f: fn(&str) -> bool| sample.iter().filter(|l| f(l)).count();
    let candidates = [
        (LogFormat::DnsWindows, votes(dns::looks_like_windows)),
        (LogFormat::DnsBind, votes(dns::looks_like_bind)),
        (LogFormat::Access, votes(access::looks_like)),
        (LogFormat::Syslog, votes(syslog::looks_like)),
    ];
    let (best, n) = candidates.iter().copied().max_by_key(|(_, n)| *n)?;
    (n * 2 > sample.len() || (n > 0 && n == sample.len())).then_some(best)
}

/// Reads a log file, calling `on_event` for every event until it returns
/// [`ControlFlow::Break`]. The format is `opts.format` or [`sniff`]ed. Problems (unreadable
/// file, malformed records, decompression cap) go to `sink`; the returned coverage says what
/// was read. A file that is not a recognised log yields `format: None` and no problem (the
/// caller decides whether that is worth a word).
pub fn read(
    path: &Path,
    opts: &ReadOptions,
    sink: &dyn Sink,
    on_event: &mut dyn FnMut(&Event) -> ControlFlow<()>,
) -> SourceCoverage {
    read_filtered(path, opts, sink, &input::keep_all, on_event)
}

/// Decides from a text record's raw line whether the caller wants it as an event:
/// `keep(format, channel, line)`.
pub type KeepLine<'a> = &'a (dyn Fn(LogFormat, Option<&str>, &str) -> bool + Sync);

/// [`read`] with a cheap test on the raw line. For the header-driven text formats (W3C/IIS,
/// Exchange CSV, Zeek), a well-formed record whose line `keep` rejects is counted in the
/// coverage (events, first and last time) but no event is built for it and `on_event` is not
/// called: a caller that needs only lines holding some literals (an Aho-Corasick prefilter)
/// skips the cost of building every event. Other formats ignore `keep`.
pub fn read_filtered(
    path: &Path,
    opts: &ReadOptions,
    sink: &dyn Sink,
    keep: KeepLine<'_>,
    on_event: &mut dyn FnMut(&Event) -> ControlFlow<()>,
) -> SourceCoverage {
    let (stream, gzip) = match input::open_stream(path, opts) {
        Ok(s) => s,
        Err(e) => {
            sink.problem(refused_problem(path, &e));
            return SourceCoverage { truncated: true, ..SourceCoverage::default() };
        }
    };
    read_opened(path, stream, gzip, true, opts, sink, keep, on_event)
}

/// [`read_filtered`] over a reader instead of a file: a log inside evidence (a member of a
/// collection, a file of a disk image) opened by its source. `path` names the source in events
/// and problems (the path the examined host knew, `C:\inetpub\logs\…\u_ex210303.log`) and
/// helps [`sniff`]; gzip is decompressed transparently with the same cap; an EVTX file is read
/// from the stream (loaded up to the reader's cap) since nothing is opened here.
pub fn read_reader_filtered(
    path: &Path,
    reader: Box<dyn Read + '_>,
    opts: &ReadOptions,
    sink: &dyn Sink,
    keep: KeepLine<'_>,
    on_event: &mut dyn FnMut(&Event) -> ControlFlow<()>,
) -> SourceCoverage {
    let mut r = BufReader::with_capacity(64 * 1024, reader);
    let gzip = match std::io::BufRead::fill_buf(&mut r) {
        Ok(head) => input::is_gzip(head),
        Err(e) => {
            sink.problem(open_problem(path, &e));
            return SourceCoverage { truncated: true, ..SourceCoverage::default() };
        }
    };
    let stream: Box<dyn Read + '_> = if gzip {
        let dec = flate2::read::MultiGzDecoder::new(r);
        Box::new(input::Capped::new(dec, opts.max_decompressed))
    } else {
        Box::new(r)
    };
    read_opened(path, stream, gzip, false, opts, sink, keep, on_event)
}

/// Reads a log held in memory, as [`read`] reads a file: `bytes` are the file's content (gzip
/// decompressed transparently, with the same cap) and `path` only names the source in events and
/// problems (and, for `.evtx`, helps [`sniff`]). Nothing is opened.
pub fn read_bytes(
    path: &Path,
    bytes: &[u8],
    opts: &ReadOptions,
    sink: &dyn Sink,
    on_event: &mut dyn FnMut(&Event) -> ControlFlow<()>,
) -> SourceCoverage {
    let gzip = input::is_gzip(bytes);
    let stream: Box<dyn Read + '_> = if gzip {
        let dec = flate2::read::MultiGzDecoder::new(bytes);
        Box::new(input::Capped::new(dec, opts.max_decompressed))
    } else {
        Box::new(bytes)
    };
    read_opened(path, stream, gzip, false, opts, sink, &input::keep_all, on_event)
}

/// Sniffs and reads an opened stream. `in_place`: an uncompressed EVTX file is re-opened at
/// `path` and read by seeking instead of being loaded into memory.
#[expect(clippy::too_many_arguments, reason = "private glue under the three public entry points")]
fn read_opened(
    path: &Path,
    mut stream: Box<dyn Read + '_>,
    gzip: bool,
    in_place: bool,
    opts: &ReadOptions,
    sink: &dyn Sink,
    keep: KeepLine<'_>,
    on_event: &mut dyn FnMut(&Event) -> ControlFlow<()>,
) -> SourceCoverage {
    let head = match input::read_head(&mut stream, SNIFF_LEN) {
        Ok(h) => h,
        Err(e) => {
            sink.problem(open_problem(path, &e));
            return SourceCoverage { gzip, truncated: true, ..SourceCoverage::default() };
        }
    };
    let Some(format) = opts.format.or_else(|| sniff(path, &head)) else {
        return SourceCoverage { gzip, ..SourceCoverage::default() };
    };
    let mut ctx = input::Ctx {
        path,
        sink,
        opts,
        cov: SourceCoverage { format: Some(format), gzip, ..SourceCoverage::default() },
        stopped: false,
        keep,
        reported: None,
    };
    let source: Arc<Path> = Arc::from(path);
    let whole = std::io::Cursor::new(head).chain(stream);
    match format {
        LogFormat::Evtx if !gzip && in_place => {
            drop(whole);
            evtx::read_file(path, source, &mut ctx, on_event);
        }
        LogFormat::Evtx => evtx::read(whole, source, &mut ctx, on_event),
        LogFormat::EvtxJson | LogFormat::Json => {
            let mut r = BufReader::with_capacity(256 * 1024, whole);
            json::read(&mut r, format, source, &mut ctx, on_event);
        }
        _ => {
            let mut r = BufReader::with_capacity(256 * 1024, whole);
            read_text(format, &mut r, source, &mut ctx, on_event);
        }
    }
    ctx.finish()
}

fn read_text(
    format: LogFormat,
    r: &mut dyn BufRead,
    source: Arc<Path>,
    ctx: &mut input::Ctx<'_>,
    on_event: &mut dyn FnMut(&Event) -> ControlFlow<()>,
) {
    match format {
        LogFormat::Syslog => syslog::read(r, source, ctx, on_event),
        LogFormat::W3c | LogFormat::ExchangeCsv | LogFormat::Zeek | LogFormat::ZeekDns => {
            w3c::read(r, format, source, ctx, on_event);
        }
        LogFormat::Access => access::read(r, source, ctx, on_event),
        LogFormat::DnsWindows | LogFormat::DnsBind => dns::read(r, format, source, ctx, on_event),
        LogFormat::Evtx | LogFormat::EvtxJson | LogFormat::Json => {}
    }
}

fn refused_problem(path: &Path, e: &ferret_fs::OpenError) -> Problem {
    use ferret_fs::OpenError;
    let kind = match e {
        OpenError::NotRegular { .. } | OpenError::Symlink(_) => ProblemKind::Skipped,
        OpenError::PermissionDenied(_) => ProblemKind::PermissionDenied,
        OpenError::Vanished(_) => ProblemKind::Vanished,
        OpenError::Io(_) => ProblemKind::ReadError,
    };
    Problem::at(kind, path, format!("cannot read log: {e}"))
}

fn open_problem(path: &Path, e: &std::io::Error) -> Problem {
    let kind = match e.kind() {
        std::io::ErrorKind::PermissionDenied => ProblemKind::PermissionDenied,
        std::io::ErrorKind::NotFound => ProblemKind::Vanished,
        std::io::ErrorKind::InvalidInput => ProblemKind::Skipped,
        _ => ProblemKind::ReadError,
    };
    Problem::at(kind, path, format!("cannot read log: {e}"))
}

/// The README's example, run as a doctest so it keeps compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
