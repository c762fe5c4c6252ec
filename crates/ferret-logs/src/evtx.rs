//! EVTX, through the `evtx` crate: each record is rendered to JSON and flattened exactly like an
//! evtx-to-JSON export (see [`crate::json`]), so a rule sees the same fields from both forms.
//! A damaged record or chunk is a malformed record (position `record N` or `chunk N`); the
//! parser goes on with the next one. A plain file is read in place; gzip-compressed EVTX is
//! decompressed into memory (the format needs seeking), up to
//! [`crate::ReadOptions::max_in_memory`]. A file shorter than its header announces (a copy cut
//! short) is a `read_error` problem and its coverage is `truncated`: the records of the missing
//! chunks were never read. The parser runs under `catch_unwind`: a panic inside the `evtx` crate
//! becomes an `internal_error` problem naming the file, and the run goes on.

use std::io::{Read, Seek};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

use chrono::DateTime;
use evtx::err::EvtxError;
use evtx::{EvtxParser, ParserSettings};
use serde_json::Value as J;

use crate::input::Ctx;
use crate::{Event, LogFormat};

pub(crate) fn read(
    mut r: impl Read,
    source: Arc<Path>,
    ctx: &mut Ctx<'_>,
    on_event: &mut dyn FnMut(&Event) -> ControlFlow<()>,
) {
    let cap = ctx.opts.max_in_memory;
    let mut buf = Vec::new();
    match (&mut r).take(cap.saturating_add(1)).read_to_end(&mut buf) {
        Ok(_) if buf.len() as u64 > cap => {
            ctx.read_failed(
                "0",
                &std::io::Error::other(format!("evtx larger than {cap} bytes; not read")),
            );
            return;
        }
        Ok(_) => {}
        Err(e) => {
            ctx.read_failed("0", &e);
            if buf.is_empty() {
                return;
            }
        }
    }
    check_length(buf.get(..HEADER_LEN).unwrap_or(&buf), buf.len() as u64, ctx);
    read_seek(std::io::Cursor::new(buf), source, ctx, on_event);
}

/// The bytes of the file header that [`announced_len`] reads.
const HEADER_LEN: usize = 48;
/// Size of the file header block and of a chunk (the EVTX format's constants).
const HEADER_BLOCK: u64 = 4096;
const CHUNK: u64 = 65536;

/// The length the file header announces: the header block and `chunk count` chunks of 64 KiB
/// (the count is the 16-bit field at offset 42). `None` when `head` is not an EVTX header.
fn announced_len(head: &[u8]) -> Option<(u64, u16)> {
    if !head.starts_with(b"ElfFile\0") {
        return None;
    }
    let count = u16::from_le_bytes([*head.get(42)?, *head.get(43)?]);
    Some((HEADER_BLOCK.checked_add(u64::from(count).checked_mul(CHUNK)?)?, count))
}

/// Reports a file shorter than its header announces.
fn check_length(head: &[u8], actual: u64, ctx: &mut Ctx<'_>) {
    let Some((want, chunks)) = announced_len(head) else { return };
    if actual < want {
        ctx.cut_short(
            format!("byte {actual}"),
            format!(
                "evtx file cut short: {actual} bytes of the {want} its header announces \
                 ({chunks} chunk(s)); the records of the missing part were not read"
            ),
        );
    }
}

/// Reads an uncompressed EVTX file in place (seeking in the file, not loading it).
pub(crate) fn read_file(
    path: &Path,
    source: Arc<Path>,
    ctx: &mut Ctx<'_>,
    on_event: &mut dyn FnMut(&Event) -> ControlFlow<()>,
) {
    match crate::input::open_log(path) {
        Ok(mut file) => {
            let mut head = Vec::with_capacity(HEADER_LEN);
            let len = file.metadata().map(|m| m.len());
            let got = (&mut file).take(HEADER_LEN as u64).read_to_end(&mut head);
            if let Err(e) = got.and_then(|_| file.rewind()) {
                ctx.read_failed("0", &e);
                return;
            }
            if let Ok(len) = len {
                check_length(&head, len, ctx);
            }
            read_seek(std::io::BufReader::with_capacity(64 * 1024, file), source, ctx, on_event);
        }
        Err(e) => ctx.read_failed("0", &std::io::Error::other(e.to_string())),
    }
}

fn read_seek<T: Read + Seek + 'static>(
    rs: T,
    source: Arc<Path>,
    ctx: &mut Ctx<'_>,
    on_event: &mut dyn FnMut(&Event) -> ControlFlow<()>,
) {
    // The evtx crate parses untrusted bytes: a panic in it must not end the run. The state it
    // could leave half-updated is this file's context only, which is closed right after.
    let run = std::panic::AssertUnwindSafe(|| parse_records(rs, source, ctx, on_event));
    if let Err(payload) = std::panic::catch_unwind(run) {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".to_owned());
        ctx.internal_error(format!(
            "the evtx parser failed on this file ({what}); the rest of the file was not read"
        ));
    }
}

fn parse_records<T: Read + Seek + 'static>(
    rs: T,
    source: Arc<Path>,
    ctx: &mut Ctx<'_>,
    on_event: &mut dyn FnMut(&Event) -> ControlFlow<()>,
) {
    let parser = match EvtxParser::from_read_seek(rs) {
        Ok(p) => p,
        Err(e) => {
            ctx.malformed("header", format!("not a readable evtx file: {}", chain(&e)));
            return;
        }
    };
    let settings = ParserSettings::new().num_threads(1).separate_json_attributes(false);
    let mut parser = parser.with_configuration(settings);
    let mut ev = Event::new(LogFormat::Evtx, source);
    for rec in parser.records_json_value() {
        if ctx.stopped {
            return;
        }
        match rec {
            Ok(rec) => {
                ev.clear();
                ev.record_id = Some(rec.event_record_id);
                let J::Object(mut o) = rec.data else {
                    ctx.malformed(
                        format!("record {}", rec.event_record_id),
                        "evtx record is not an xml element",
                    );
                    continue;
                };
                match o.remove("Event") {
                    Some(J::Object(event)) => crate::json::fill_windows(event, &mut ev),
                    _ => crate::json::fill_object(o, &mut ev),
                }
                if ev.time.is_none() {
                    let ts = rec.timestamp;
                    ev.time = DateTime::from_timestamp(
                        ts.as_second(),
                        u32::try_from(ts.subsec_nanosecond()).unwrap_or(0),
                    );
                }
                if ev.record_id.is_none() {
                    ev.record_id = Some(rec.event_record_id);
                }
                ctx.emit(&ev, on_event);
            }
            Err(e) => {
                let pos = match &e {
                    EvtxError::FailedToParseChunk { chunk_id, .. } => format!("chunk {chunk_id}"),
                    EvtxError::FailedToParseRecord { record_id, .. } => {
                        format!("record {record_id}")
                    }
                    EvtxError::FailedToReadRecordAt { chunk: Some(c), offset, .. } => {
                        format!("chunk {c} offset {offset}")
                    }
                    _ => "record".to_owned(),
                };
                ctx.malformed(pos, format!("damaged evtx data: {}", chain(&e)));
            }
        }
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string().to_lowercase();
    let mut cur = e.source();
    let mut depth = 0;
    while let Some(c) = cur {
        if depth > 4 {
            break;
        }
        s.push_str(": ");
        s.push_str(&c.to_string().to_lowercase());
        cur = c.source();
        depth += 1;
    }
    s
}

#[cfg(test)]
mod tests {
    use std::io::{self, SeekFrom};

    use ferret_core::{Collector, ProblemKind};

    use super::*;
    use crate::ReadOptions;
    use crate::input::keep_all;

    /// A reader that panics once the parser reads past the header: a stand-in for a panic
    /// inside the `evtx` crate on hostile bytes.
    struct PanicsMidway {
        inner: io::Cursor<Vec<u8>>,
    }

    impl Read for PanicsMidway {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            assert!(self.inner.position() < 4096, "boom inside the parser");
            self.inner.read(buf)
        }
    }

    impl Seek for PanicsMidway {
        fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
            self.inner.seek(pos)
        }
    }

    #[test]
    fn a_panic_in_the_parser_is_an_internal_error_naming_the_file() {
        let mut bytes = vec![0u8; 4096 + 65536];
        bytes[..8].copy_from_slice(b"ElfFile\0");
        bytes[32..36].copy_from_slice(&128u32.to_le_bytes());
        bytes[38..40].copy_from_slice(&3u16.to_le_bytes());
        bytes[40..42].copy_from_slice(&4096u16.to_le_bytes());
        bytes[42..44].copy_from_slice(&1u16.to_le_bytes());
        bytes[4096..4104].copy_from_slice(b"ElfChnk\0");
        let path = Path::new("/logs/Security.evtx");
        let sink = Collector::new();
        let opts = ReadOptions::default();
        let mut ctx = Ctx {
            path,
            sink: &sink,
            opts: &opts,
            cov: crate::SourceCoverage::default(),
            stopped: false,
            reported: None,
            keep: &keep_all,
        };
        let reader = PanicsMidway { inner: io::Cursor::new(bytes) };
        read_seek(reader, Arc::from(path), &mut ctx, &mut |_| ControlFlow::Continue(()));
        assert!(ctx.cov.truncated);
        let (_, problems, _, _) = sink.into_parts();
        let internal: Vec<_> =
            problems.iter().filter(|p| p.kind == ProblemKind::InternalError).collect();
        assert_eq!(internal.len(), 1, "{problems:?}");
        assert!(internal[0].reason.contains("boom inside the parser"), "{problems:?}");
        assert!(ProblemKind::InternalError.makes_incomplete());
    }
}
