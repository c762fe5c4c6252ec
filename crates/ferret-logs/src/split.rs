//! Cutting one large text log into blocks of whole lines that are parsed apart, so that a
//! single big file keeps every core busy.
//!
//! [`split`] opens and sniffs a file like [`crate::read`]; for the line formats whose state
//! is only a header (W3C/IIS, Exchange CSV, Zeek) or nothing (access logs) it returns a
//! [`BlockParser`] and a [`Blocks`] iterator. The iterator reads the file in order (gzip
//! included) and cuts it after a line end; each [`Block`] carries the number of its first line
//! and the header lines in effect where it starts (its *prelude*), so any thread can parse it
//! with [`BlockParser::parse`]. The events, their line numbers, the malformed records and the
//! coverage are those [`crate::read`] gives: [`Blocks::finish`] merges the blocks' coverage.
//!
//! Lines longer than `max_line` are cut off at the limit and reported like `read` does; the
//! splitter never holds more than one block plus `max_line` bytes.

use std::io::{self, Read};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use ferret_core::{Problem, ProblemKind, Sink};

use crate::input::{self, Ctx};
use crate::{Event, LogFormat, ReadOptions, SNIFF_LEN, SourceCoverage, access, w3c};

/// A run of whole lines of a text log, parsed on its own by [`BlockParser::parse`].
#[derive(Clone, Debug)]
pub struct Block {
    bytes: Vec<u8>,
    first_line: u64,
    prelude: Arc<Vec<String>>,
}

impl Block {
    /// The block's bytes (whole lines, except that the last block may end without a newline).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The 1-based number of the block's first line in the file.
    pub fn first_line(&self) -> u64 {
        self.first_line
    }
}

/// Parses [`Block`]s of one file; shared by every thread that parses them (`Sync`).
pub struct BlockParser<'a> {
    path: &'a Path,
    sink: &'a dyn Sink,
    opts: &'a ReadOptions,
    format: LogFormat,
    source: Arc<Path>,
    /// Malformed records of the whole file so far (the first ones are reported one by one).
    errors: AtomicU64,
}

impl BlockParser<'_> {
    /// The format the file is read as.
    pub fn format(&self) -> LogFormat {
        self.format
    }

    /// Parses one block, calling `on_event` for each event in order. Returns the block's
    /// coverage (events, malformed records, first and last time).
    pub fn parse(
        &self,
        block: &Block,
        on_event: &mut dyn FnMut(&Event) -> ControlFlow<()>,
    ) -> SourceCoverage {
        let mut ctx = Ctx {
            path: self.path,
            sink: self.sink,
            opts: self.opts,
            cov: SourceCoverage { format: Some(self.format), ..SourceCoverage::default() },
            stopped: false,
            reported: Some(&self.errors),
            keep: &crate::input::keep_all,
        };
        let mut r: &[u8] = &block.bytes;
        let before = block.first_line.saturating_sub(1);
        if self.format == LogFormat::Access {
            access::read_lines(&mut r, Arc::clone(&self.source), &mut ctx, on_event, before);
        } else {
            let mut p = w3c::Parser::new(self.format, Arc::clone(&self.source));
            for line in block.prelude.iter() {
                p.line(0, line, &mut ctx, on_event);
            }
            input::for_each_line_from(&mut r, &mut ctx, before, |lineno, line, ctx| {
                p.line(lineno, line, ctx, on_event);
            });
        }
        ctx.cov
    }
}

/// The blocks of one file, in file order. `Send`, so a parallel bridge may pull from it.
pub struct Blocks<'a> {
    ctx: Ctx<'a>,
    stream: Box<dyn Read + Send>,
    format: LogFormat,
    block_len: usize,
    /// Bytes read but not yet handed out (a partial line).
    carry: Vec<u8>,
    next_line: u64,
    /// Dropping the rest of an over-long line.
    skipping: bool,
    eof: bool,
    have_header: bool,
    header: Option<String>,
    channel: Vec<(bool, String)>,
    prelude: Arc<Vec<String>>,
}

/// Opens `path` for block-wise parsing when its format allows it (W3C/IIS, Exchange CSV,
/// Zeek, access logs; plain or gzip). `None` when it does not, or when the file cannot be
/// opened or is not a log: then nothing was reported, and [`crate::read`] is the way to read it.
/// `block_len` is the approximate size of a block in bytes.
pub fn split<'a>(
    path: &'a Path,
    opts: &'a ReadOptions,
    sink: &'a dyn Sink,
    block_len: usize,
) -> Option<(BlockParser<'a>, Blocks<'a>)> {
    let (mut stream, gzip) = input::open_stream(path, opts).ok()?;
    let head = input::read_head(&mut stream, SNIFF_LEN).ok()?;
    let format = opts.format.or_else(|| crate::sniff(path, &head))?;
    if !matches!(
        format,
        LogFormat::W3c
            | LogFormat::ExchangeCsv
            | LogFormat::Zeek
            | LogFormat::ZeekDns
            | LogFormat::Access
    ) {
        return None;
    }
    let parser = BlockParser {
        path,
        sink,
        opts,
        format,
        source: Arc::from(path),
        errors: AtomicU64::new(0),
    };
    let blocks = Blocks {
        ctx: Ctx {
            path,
            sink,
            opts,
            cov: SourceCoverage { format: Some(format), gzip, ..SourceCoverage::default() },
            stopped: false,
            reported: None,
            keep: &crate::input::keep_all,
        },
        stream,
        format,
        block_len: block_len.max(1),
        carry: head,
        next_line: 1,
        skipping: false,
        eof: false,
        have_header: format == LogFormat::Access,
        header: None,
        channel: Vec::new(),
        prelude: Arc::new(Vec::new()),
    };
    Some((parser, blocks))
}

impl Blocks<'_> {
    /// The file's coverage: `parsed` (the blocks' coverages merged with [`merge_coverage`]) with what
    /// the splitting saw (gzip, a read error that cut the file short). Reports the malformed
    /// records not listed one by one, as [`crate::read`] does.
    pub fn finish(self, parsed: &SourceCoverage) -> SourceCoverage {
        let mut cov = self.ctx.cov;
        merge_coverage(&mut cov, parsed);
        if cov.parse_errors > input::MAX_REPORTED_PER_FILE {
            self.ctx.sink.problem(Problem::at(
                ProblemKind::Parse,
                self.ctx.path,
                format!(
                    "{} more malformed records not listed one by one",
                    cov.parse_errors - input::MAX_REPORTED_PER_FILE
                ),
            ));
        }
        cov
    }

    /// Reads until `carry` holds at least `want` bytes or the input ends.
    fn fill(&mut self, want: usize) {
        let mut chunk = vec![0u8; 64 * 1024];
        while self.carry.len() < want && !self.eof {
            match self.stream.read(&mut chunk) {
                Ok(0) => self.eof = true,
                Ok(n) => self.carry.extend_from_slice(chunk.get(..n).unwrap_or_default()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let at = format!("line {}", self.next_line);
                    self.ctx.read_failed(at, &e);
                    self.eof = true;
                }
            }
        }
    }

    /// Updates the header state from the lines of `bytes` (whole lines).
    fn track_state(&mut self, bytes: &[u8]) {
        let max = self.ctx.opts.max_line;
        let consider = |this: &mut Self, start: usize| {
            let rest = bytes.get(start..).unwrap_or_default();
            if this.have_header && rest.first() != Some(&b'#') {
                return;
            }
            let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
            if end > max {
                return;
            }
            let raw = rest.get(..end).unwrap_or_default();
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let line = String::from_utf8_lossy(raw);
            let changed = match w3c::state_line(&line, this.format) {
                Some(true) => {
                    this.header = Some(line.into_owned());
                    this.have_header = true;
                    true
                }
                Some(false) => {
                    let key = line.starts_with("#Log-type:");
                    this.channel.retain(|(k, _)| *k != key);
                    this.channel.push((key, line.into_owned()));
                    true
                }
                None if !this.have_header
                    && this.format == LogFormat::ExchangeCsv
                    && !line.starts_with('#')
                    && !line.is_empty() =>
                {
                    // Before any header, a CSV header line of an Exchange log without
                    // `#Fields:` sets one.
                    let is_header = w3c::looks_like_csv_header(&line);
                    if is_header {
                        this.header = Some(line.into_owned());
                        this.have_header = true;
                    }
                    is_header
                }
                None => false,
            };
            if changed {
                let mut p: Vec<String> = this.channel.iter().map(|(_, l)| l.clone()).collect();
                p.extend(this.header.clone());
                this.prelude = Arc::new(p);
            }
        };
        consider(self, 0);
        for i in memchr::memchr_iter(b'\n', bytes) {
            if i + 1 < bytes.len() {
                consider(self, i + 1);
            }
        }
    }

    fn emit(&mut self, bytes: Vec<u8>, lines: u64) -> Block {
        let block = Block { bytes, first_line: self.next_line, prelude: Arc::clone(&self.prelude) };
        self.next_line += lines;
        block
    }
}

impl Iterator for Blocks<'_> {
    type Item = Block;

    fn next(&mut self) -> Option<Block> {
        loop {
            let want = self.block_len;
            self.fill(want);
            if self.skipping {
                match memchr::memchr(b'\n', &self.carry) {
                    Some(i) => {
                        self.carry.drain(..=i);
                        self.skipping = false;
                    }
                    None => {
                        self.carry.clear();
                        if self.eof {
                            return None;
                        }
                        continue;
                    }
                }
            }
            if self.carry.is_empty() && self.eof {
                return None;
            }
            let max = self.ctx.opts.max_line;
            let cut = match memchr::memrchr(b'\n', &self.carry) {
                Some(i) if !self.eof || i + 1 == self.carry.len() => Some(i + 1),
                _ if self.eof => Some(self.carry.len()),
                _ => None,
            };
            if let Some(cut) = cut {
                let rest = self.carry.split_off(cut);
                let bytes = std::mem::replace(&mut self.carry, rest);
                let newlines = memchr::memchr_iter(b'\n', &bytes).count() as u64;
                let lines = newlines + u64::from(bytes.last().is_some_and(|b| *b != b'\n'));
                let block_state = Arc::clone(&self.prelude);
                self.track_state(&bytes);
                let mut block = self.emit(bytes, lines);
                block.prelude = block_state;
                return Some(block);
            }
            if self.carry.len() > max {
                // One line longer than the limit: hand over its start (reported as too long
                // by the parser) and drop the rest of it.
                let bytes = std::mem::take(&mut self.carry);
                self.skipping = true;
                return Some(self.emit(bytes, 1));
            }
            // A partial line shorter than the limit: read on.
            self.block_len = self.carry.len() + want;
            let more = self.block_len;
            self.fill(more);
            self.block_len = want;
        }
    }
}

/// Adds `b`'s counts and time span to `a`.
pub fn merge_coverage(a: &mut SourceCoverage, b: &SourceCoverage) {
    a.events += b.events;
    a.parse_errors += b.parse_errors;
    a.truncated |= b.truncated;
    a.assumed_timezone = a.assumed_timezone.or(b.assumed_timezone);
    if let Some(f) = b.first {
        a.first = Some(a.first.map_or(f, |x| x.min(f)));
    }
    if let Some(l) = b.last {
        a.last = Some(a.last.map_or(l, |x| x.max(l)));
    }
}

/// Reads `path` block by block on the calling thread (for tests: the result must equal
/// [`crate::read`]'s).
#[cfg(test)]
pub(crate) fn read_sequential(
    path: &Path,
    opts: &ReadOptions,
    sink: &dyn Sink,
    block_len: usize,
    on_event: &mut dyn FnMut(&Event) -> ControlFlow<()>,
) -> Option<SourceCoverage> {
    let (parser, mut blocks) = split(path, opts, sink, block_len)?;
    let mut cov = SourceCoverage::default();
    for b in blocks.by_ref() {
        merge_coverage(&mut cov, &parser.parse(&b, on_event));
    }
    Some(blocks.finish(&cov))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferret_core::{Collector, Fields as _};

    type Seen = Vec<(Option<u64>, Option<String>, Option<String>, Vec<(String, String)>)>;

    fn collect(
        f: impl FnOnce(&Collector, &mut dyn FnMut(&Event) -> ControlFlow<()>) -> SourceCoverage,
    ) -> (Seen, SourceCoverage, Vec<String>) {
        let sink = Collector::new();
        let mut seen = Vec::new();
        let cov = f(&sink, &mut |ev| {
            let mut fields = Vec::new();
            ev.for_each(&mut |n, v| {
                fields.push((
                    n.to_owned(),
                    v.as_text().map(std::borrow::Cow::into_owned).unwrap_or_default(),
                ));
            });
            seen.push((ev.line, ev.time.map(|t| t.to_rfc3339()), ev.channel.clone(), fields));
            ControlFlow::Continue(())
        });
        let (_, problems, _, _) = sink.into_parts();
        let problems = problems.iter().map(|p| format!("{p:?}")).collect();
        (seen, cov, problems)
    }

    fn check_same(path: &Path) {
        let opts = ReadOptions { max_line: 300, ..ReadOptions::default() };
        let whole = collect(|sink, on| crate::read(path, &opts, sink, on));
        for block_len in [1, 7, 64, 1000, 1 << 20] {
            let split = collect(|sink, on| {
                read_sequential(path, &opts, sink, block_len, on).expect("splittable")
            });
            assert_eq!(whole, split, "{} with blocks of {block_len}", path.display());
        }
    }

    #[test]
    fn blocks_read_like_the_whole_file() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/logs");
        for name in [
            "w3c_iis.log",
            "access_combined.log",
            "exchange-csv_ecp_plain_header.log",
            "exchange-csv_httpproxy.log",
            "zeek-dns_basic.log",
        ] {
            check_same(&dir.join(name));
        }
    }

    #[test]
    #[expect(clippy::disallowed_methods, reason = "test writes its fixture")]
    fn blocks_keep_headers_long_lines_and_line_numbers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("u_ex.log");
        let mut text = String::from("#Software: IIS\n#Fields: date time cs-method cs-uri-stem\n");
        for i in 0..40 {
            text.push_str(&format!("2021-03-03 00:00:{:02} GET /a{i}\n", i % 60));
            if i == 10 {
                text.push_str(&format!("2021-03-03 00:00:00 GET /{}\n", "x".repeat(700)));
                text.push_str("bad line\n\n");
            }
            if i == 20 {
                text.push_str("#Fields: date time cs-method cs-uri-stem cs-uri-query\n");
                text.push_str("#Log-type: Restarted\r\n");
            }
            if i > 20 {
                text.pop();
                text.push_str(" q=1\r\n");
            }
        }
        text.push_str("2021-03-03 00:01:00 GET /last q=2");
        std::fs::write(&p, text).expect("write");
        check_same(&p);
        assert!(
            split(&dir.path().join("missing.log"), &ReadOptions::default(), &Collector::new(), 10)
                .is_none()
        );
    }
}
