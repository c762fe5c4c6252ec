//! Opening a log: the read-only open, transparent gzip with a decompressed-size cap, bounded
//! lines, and the per-file reading context that counts events and reports malformed records.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek as _};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use ferret_core::{Problem, ProblemKind, Sink};

use crate::{Event, ReadOptions, SourceCoverage};

/// Opens an examined log through the one door to the examined filesystem: read-only, no atime
/// update, no symlink following, never blocking; anything but a regular file is refused.
pub(crate) fn open_log(path: &Path) -> Result<File, ferret_fs::OpenError> {
    ferret_fs::open_read_only(path).map(|(file, _meta)| file)
}

/// Whether `head` starts with the gzip magic.
pub(crate) fn is_gzip(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
}

/// A reader that fails with [`CapExceeded`] once more than `cap` bytes came through.
pub(crate) struct Capped<R> {
    inner: R,
    left: u64,
}

/// The error a [`Capped`] reader returns past its cap.
#[derive(Debug)]
pub(crate) struct CapExceeded(pub u64);

impl std::fmt::Display for CapExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "decompressed size exceeds the cap of {} bytes", self.0)
    }
}

impl std::error::Error for CapExceeded {}

impl<R: Read> Capped<R> {
    pub(crate) fn new(inner: R, cap: u64) -> Capped<R> {
        Capped { inner, left: cap.saturating_add(1) }
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Err(io::Error::other(CapExceeded(0)));
        }
        let want = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let len = buf.len();
        let n = self.inner.read(buf.get_mut(..want.min(len)).unwrap_or_default())?;
        self.left -= n as u64;
        if self.left == 0 {
            return Err(io::Error::other(CapExceeded(0)));
        }
        Ok(n)
    }
}

/// Reads up to `n` bytes from the start of `r`.
pub(crate) fn read_head(r: &mut dyn Read, n: usize) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(n);
    r.take(n as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// Opens `path` as a byte stream: the file itself, or its decompressed content when it is
/// gzip (capped at `opts.max_decompressed`).
pub(crate) fn open_stream(
    path: &Path,
    opts: &ReadOptions,
) -> Result<(Box<dyn Read + Send>, bool), ferret_fs::OpenError> {
    let mut file = open_log(path)?;
    let mut magic = [0u8; 2];
    let n = read_full(&mut file, &mut magic).map_err(ferret_fs::OpenError::Io)?;
    file.seek(io::SeekFrom::Start(0)).map_err(ferret_fs::OpenError::Io)?;
    if n == 2 && is_gzip(&magic) {
        let dec = flate2::read::MultiGzDecoder::new(BufReader::with_capacity(64 * 1024, file));
        Ok((Box::new(Capped::new(dec, opts.max_decompressed)), true))
    } else {
        Ok((Box::new(file), false))
    }
}

fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(buf.get_mut(got..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// How many malformed records of one file are reported one by one; the rest are counted and
/// summed up in one last problem.
pub(crate) const MAX_REPORTED_PER_FILE: u64 = 100;

/// The state of reading one file.
pub(crate) struct Ctx<'a> {
    pub path: &'a Path,
    pub sink: &'a dyn Sink,
    pub opts: &'a ReadOptions,
    pub cov: SourceCoverage,
    pub stopped: bool,
    /// The file's malformed-record count when the file is parsed in blocks by several
    /// threads (the first [`MAX_REPORTED_PER_FILE`] of the file are reported).
    pub reported: Option<&'a AtomicU64>,
    /// The caller's test on raw lines (header-driven text formats only).
    pub keep: crate::KeepLine<'a>,
}

/// The [`crate::KeepLine`] that keeps every line.
pub(crate) fn keep_all(_: crate::LogFormat, _: Option<&str>, _: &str) -> bool {
    true
}

impl Ctx<'_> {
    /// Counts a malformed record and reports it (the first [`MAX_REPORTED_PER_FILE`]).
    pub fn malformed(&mut self, position: impl Into<String>, reason: impl Into<String>) {
        self.cov.parse_errors += 1;
        let n = match self.reported {
            Some(all) => all.fetch_add(1, Ordering::Relaxed) + 1,
            None => self.cov.parse_errors,
        };
        if n <= MAX_REPORTED_PER_FILE {
            self.sink.problem(
                Problem::at(ProblemKind::Parse, self.path, reason).with_position(position),
            );
        }
    }

    /// Reports an I/O failure that ended the reading of the file.
    pub fn read_failed(&mut self, position: impl Into<String>, err: &io::Error) {
        // A cut at the decompression cap leaves the rest of the log unexamined: that is an
        // incomplete result (exit status 3), like any other read that stopped early.
        let kind = ProblemKind::ReadError;
        let reason = if is_cap(err) {
            format!("{}; the rest of the file was not read", cap_text(err))
        } else {
            format!("read error: {err}; the rest of the file was not read")
        };
        self.cov.truncated = true;
        self.sink.problem(Problem::at(kind, self.path, reason).with_position(position));
    }

    /// Reports a file shorter than it says it is (an EVTX header announcing more chunks than
    /// the file holds): the rest was never read, so the result is incomplete.
    pub fn cut_short(&mut self, position: impl Into<String>, reason: impl Into<String>) {
        self.cov.truncated = true;
        self.sink.problem(
            Problem::at(ProblemKind::ReadError, self.path, reason).with_position(position),
        );
    }

    /// Reports that a parser of this file failed inside ferret (a caught panic): what it had
    /// read stands, the rest of the file was not read.
    pub fn internal_error(&mut self, reason: impl Into<String>) {
        self.cov.truncated = true;
        self.stopped = true;
        self.sink.problem(Problem::at(ProblemKind::InternalError, self.path, reason));
    }

    /// Hands an event to the caller, updating coverage.
    pub fn emit(&mut self, ev: &Event, on_event: &mut dyn FnMut(&Event) -> ControlFlow<()>) {
        self.count(ev.time);
        if on_event(ev).is_break() {
            self.stopped = true;
        }
    }

    /// Counts a record in the coverage without handing it to the caller.
    pub fn count(&mut self, time: Option<chrono::DateTime<chrono::Utc>>) {
        self.cov.events += 1;
        if let Some(t) = time {
            if self.cov.first.is_none_or(|f| t < f) {
                self.cov.first = Some(t);
            }
            if self.cov.last.is_none_or(|l| t > l) {
                self.cov.last = Some(t);
            }
        }
    }

    /// Closes the file's reading: the summary problem for unreported malformed records.
    pub fn finish(self) -> SourceCoverage {
        if self.cov.parse_errors > MAX_REPORTED_PER_FILE {
            self.sink.problem(Problem::at(
                ProblemKind::Parse,
                self.path,
                format!(
                    "{} more malformed records not listed one by one",
                    self.cov.parse_errors - MAX_REPORTED_PER_FILE
                ),
            ));
        }
        self.cov
    }
}

fn is_cap(err: &io::Error) -> bool {
    err.get_ref().is_some_and(<dyn std::error::Error + Send + Sync>::is::<CapExceeded>)
}

fn cap_text(err: &io::Error) -> String {
    let _ = err;
    "decompressed size exceeds the cap".to_owned()
}

/// Calls `f(line_number, line)` for every line of `r` (1-based, without the line end; invalid
/// UTF-8 replaced). Lines longer than `opts.max_line` are reported as malformed and skipped.
/// Stops when `f` breaks or `ctx.stopped` is set.
pub(crate) fn for_each_line(
    r: &mut dyn BufRead,
    ctx: &mut Ctx<'_>,
    f: impl FnMut(u64, &str, &mut Ctx<'_>),
) {
    for_each_line_from(r, ctx, 0, f);
}

/// [`for_each_line`] for a part of a file: `before` lines precede the first one.
pub(crate) fn for_each_line_from(
    r: &mut dyn BufRead,
    ctx: &mut Ctx<'_>,
    before: u64,
    mut f: impl FnMut(u64, &str, &mut Ctx<'_>),
) {
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut lineno: u64 = before;
    let max = ctx.opts.max_line;
    loop {
        if ctx.stopped {
            return;
        }
        buf.clear();
        let mut too_long = false;
        let mut eof = false;
        // Read up to the newline, never holding more than `max` bytes.
        loop {
            let available = match r.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    ctx.read_failed(format!("line {}", lineno + 1), &e);
                    return;
                }
            };
            if available.is_empty() {
                eof = true;
                break;
            }
            let (chunk, found) = match memchr::memchr(b'\n', available) {
                Some(i) => (available.get(..i).unwrap_or_default(), Some(i)),
                None => (available, None),
            };
            if !too_long {
                if buf.len() + chunk.len() > max {
                    too_long = true;
                    buf.clear();
                } else {
                    buf.extend_from_slice(chunk);
                }
            }
            let used = found.map_or(available.len(), |i| i + 1);
            r.consume(used);
            if found.is_some() {
                break;
            }
        }
        if eof && buf.is_empty() && !too_long {
            return;
        }
        lineno += 1;
        if too_long {
            ctx.malformed(
                format!("line {lineno}"),
                format!("line longer than {max} bytes; skipped"),
            );
            if eof {
                return;
            }
            continue;
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        if let Ok(s) = std::str::from_utf8(&buf) {
            f(lineno, s, ctx);
        } else {
            let s = String::from_utf8_lossy(&buf).into_owned();
            f(lineno, &s, ctx);
        }
        if eof {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_stops_past_cap() {
        let data = [0u8; 100];
        let mut r = Capped::new(&data[..], 50);
        let mut out = Vec::new();
        let err = r.read_to_end(&mut out).unwrap_err();
        assert!(is_cap(&err));
        let mut r = Capped::new(&data[..], 100);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out.len(), 100);
    }
}
