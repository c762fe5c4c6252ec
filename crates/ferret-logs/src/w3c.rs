//! Header-driven columnar logs: W3C extended / IIS (space-separated, `#Fields:`), Exchange CSV
//! logs (comma-separated under `#Fields:` or a plain CSV header line), and Zeek TSV
//! (`#fields`, tab-separated).
//!
//! Fields are named as in the header. Aliases are added for the Sigma webserver taxonomy:
//! `cs(User-Agent)` is also `cs-user-agent`, `cs(Referer)` also `cs-referer`, any `cs(X)` also
//! `cs-x`; Exchange `UrlStem`/`UrlQuery`/`ClientIpAddress`/`UserAgent`/`Method`/`HttpStatus` are
//! also `cs-uri-stem`/`cs-uri-query`/`c-ip`/`cs-user-agent`/`cs-method`/`sc-status`; Zeek
//! `dns.log`'s `qtype_name`/`answers`/`id.orig_h` are also `record_type`/`answer`/`src_ip`.
//! Time: W3C `date` + `time` (UTC, as IIS writes), Exchange `DateTime`/`date-time`, Zeek `ts`.
//! A header may repeat mid-file (IIS restarts); each one applies to the lines after it.
//! A data line whose column count differs from the header is a malformed record.

use std::borrow::Cow;
use std::io::BufRead;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

use crate::input::Ctx;
use crate::{Event, LogFormat, time};

/// Whether a first line looks like the header of an Exchange CSV log without `#Fields:`.
pub(crate) fn looks_like_csv_header(line: &str) -> bool {
    let cols: Vec<&str> = line.split(',').collect();
    cols.len() >= 5
        && cols.iter().any(|c| {
            let c = c.trim_matches('"');
            c == "DateTime" || c == "date-time" || c == "RequestId"
        })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sep {
    Space,
    Comma,
    Tab,
}

#[derive(Default)]
struct Header {
    cols: Vec<Vec<Arc<str>>>,
    date: Option<usize>,
    time: Option<usize>,
    datetime: Option<usize>,
    ts: Option<usize>,
}

impl Header {
    fn new(names: &[String], format: LogFormat) -> Header {
        let mut h = Header::default();
        for (i, n) in names.iter().enumerate() {
            let mut v: Vec<Arc<str>> = vec![Arc::from(n.as_str())];
            for a in aliases(n, format) {
                if !names.iter().any(|x| x == &a) {
                    v.push(Arc::from(a));
                }
            }
            match n.as_str() {
                "date" => h.date = Some(i),
                "time" => h.time = Some(i),
                "DateTime" | "date-time" | "datetime" => h.datetime = Some(i),
                "ts" => h.ts = Some(i),
                _ => {}
            }
            h.cols.push(v);
        }
        h
    }
}

fn aliases(name: &str, format: LogFormat) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(inner) = name.strip_prefix("cs(").and_then(|s| s.strip_suffix(')')) {
        out.push(format!("cs-{}", inner.to_ascii_lowercase()));
    }
    if let Some(inner) = name.strip_prefix("sc(").and_then(|s| s.strip_suffix(')')) {
        out.push(format!("sc-{}", inner.to_ascii_lowercase()));
    }
    let extra = match (format, name) {
        (LogFormat::ExchangeCsv, "UrlStem") => "cs-uri-stem",
        (LogFormat::ExchangeCsv, "UrlQuery") => "cs-uri-query",
        (LogFormat::ExchangeCsv, "ClientIpAddress") => "c-ip",
        (LogFormat::ExchangeCsv, "UserAgent") => "cs-user-agent",
        (LogFormat::ExchangeCsv, "Method") => "cs-method",
        (LogFormat::ExchangeCsv, "HttpStatus") => "sc-status",
        (LogFormat::ZeekDns | LogFormat::Zeek, "qtype_name") => "record_type",
        (LogFormat::ZeekDns | LogFormat::Zeek, "answers") => "answer",
        (LogFormat::ZeekDns | LogFormat::Zeek, "id.orig_h") => "src_ip",
        _ => "",
    };
    if !extra.is_empty() {
        out.push(extra.to_owned());
    }
    out
}

pub(crate) fn read(
    r: &mut dyn BufRead,
    format: LogFormat,
    source: Arc<Path>,
    ctx: &mut Ctx<'_>,
    on_event: &mut dyn FnMut(&Event) -> ControlFlow<()>,
) {
    let mut p = Parser::new(format, source);
    crate::input::for_each_line(r, ctx, |lineno, line, ctx| p.line(lineno, line, ctx, on_event));
}

/// The state of reading one header-driven log: the header and channel in effect.
pub(crate) struct Parser {
    format: LogFormat,
    sep: Sep,
    header: Option<Header>,
    channel: Option<String>,
    ev: Event,
    spans: Vec<(usize, usize, Option<String>)>,
}

impl Parser {
    pub(crate) fn new(format: LogFormat, source: Arc<Path>) -> Parser {
        let sep = match format {
            LogFormat::ExchangeCsv => Sep::Comma,
            LogFormat::Zeek | LogFormat::ZeekDns => Sep::Tab,
            _ => Sep::Space,
        };
        Parser {
            format,
            sep,
            header: None,
            channel: None,
            ev: Event::new(format, source),
            spans: Vec::new(),
        }
    }

    /// Handles one line: a directive, a CSV header, or a record.
    pub(crate) fn line(
        &mut self,
        lineno: u64,
        line: &str,
        ctx: &mut Ctx<'_>,
        on_event: &mut dyn FnMut(&Event) -> ControlFlow<()>,
    ) {
        let format = self.format;
        let spans = &mut self.spans;
        let ev = &mut self.ev;
        if line.is_empty() {
            return;
        }
        if let Some(d) = line.strip_prefix('#') {
            directive(d, format, &mut self.sep, &mut self.header, &mut self.channel);
            return;
        }
        let Some(h) = self.header.as_ref() else {
            if format == LogFormat::ExchangeCsv && looks_like_csv_header(line) {
                spans.clear();
                split(line, Sep::Comma, spans);
                let names: Vec<String> = spans
                    .iter()
                    .map(|(s, e, o)| o.clone().unwrap_or_else(|| sub(line, *s, *e).to_owned()))
                    .collect();
                self.header = Some(Header::new(&names, format));
                return;
            }
            ctx.malformed(format!("line {lineno}"), "data line before any #Fields header");
            return;
        };
        spans.clear();
        split(line, self.sep, spans);
        if spans.len() != h.cols.len() {
            ctx.malformed(
                format!("line {lineno}"),
                format!("{} columns where the header names {}", spans.len(), h.cols.len()),
            );
            return;
        }
        let col = |i: Option<usize>| -> Option<Cow<'_, str>> {
            let (s, e, o) = spans.get(i?)?;
            Some(match o {
                Some(o) => Cow::Borrowed(o.as_str()),
                None => Cow::Borrowed(sub(line, *s, *e)),
            })
        };
        let when = if let (Some(d), Some(t)) = (col(h.date), col(h.time)) {
            time::parse_date_time(&d, &t)
        } else if let Some(dt) = col(h.datetime) {
            time::parse_iso(&dt)
        } else if let Some(ts) = col(h.ts) {
            time::parse_epoch(&ts)
        } else {
            None
        };
        if !(ctx.keep)(format, self.channel.as_deref(), line) {
            ctx.count(when);
            return;
        }
        ev.clear();
        ev.set_text(line);
        ev.line = Some(lineno);
        ev.channel.clone_from(&self.channel);
        for ((s, e, owned), names) in spans.iter().zip(&h.cols) {
            for n in names {
                match owned {
                    None => ev.push_span(n, *s, *e),
                    Some(o) => ev.push_str(Arc::clone(n), o.clone()),
                }
            }
        }
        ev.time = when;
        ctx.emit(ev, on_event);
    }
}

/// What a line changes in a header-driven log's state, for splitting a log into blocks that
/// are parsed apart: `Some(true)` a header (`#Fields:`, Zeek `#fields`), `Some(false)` a
/// channel directive (`#Log-type:`, Zeek `#path`), `None` nothing.
pub(crate) fn state_line(line: &str, format: LogFormat) -> Option<bool> {
    let d = line.strip_prefix('#')?;
    if d.starts_with("Fields:") || d.starts_with("fields") {
        Some(true)
    } else if d.starts_with("Log-type:")
        || (d.starts_with("path") && matches!(format, LogFormat::Zeek | LogFormat::ZeekDns))
    {
        Some(false)
    } else {
        None
    }
}

fn sub(line: &str, s: usize, e: usize) -> &str {
    line.get(s..e).unwrap_or("")
}

fn directive(
    d: &str,
    format: LogFormat,
    sep: &mut Sep,
    header: &mut Option<Header>,
    channel: &mut Option<String>,
) {
    if let Some(rest) = d.strip_prefix("Fields:") {
        let rest = rest.trim();
        let names: Vec<String> = if rest.contains(',') {
            *sep = Sep::Comma;
            rest.split(',').map(|s| s.trim().trim_matches('"').to_owned()).collect()
        } else {
            *sep = Sep::Space;
            rest.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect()
        };
        *header = Some(Header::new(&names, format));
    } else if let Some(rest) = d.strip_prefix("fields") {
        *sep = Sep::Tab;
        let names: Vec<String> =
            rest.split('\t').filter(|s| !s.is_empty()).map(str::to_owned).collect();
        *header = Some(Header::new(&names, format));
    } else if let Some(rest) = d.strip_prefix("Log-type:") {
        *channel = Some(rest.trim().to_owned());
    } else if let Some(rest) = d.strip_prefix("path")
        && (format == LogFormat::ZeekDns || format == LogFormat::Zeek)
    {
        *channel = Some(rest.trim().to_owned());
    }
}

/// Splits a line into `(start, end, unescaped)` spans: `unescaped` is set when a CSV field had
/// `""` escapes and cannot be a plain span.
fn split(line: &str, sep: Sep, out: &mut Vec<(usize, usize, Option<String>)>) {
    match sep {
        Sep::Space | Sep::Tab => {
            let c = if sep == Sep::Space { b' ' } else { b'\t' };
            let mut start = 0;
            for i in memchr::memchr_iter(c, line.as_bytes()) {
                out.push((start, i, None));
                start = i + 1;
            }
            out.push((start, line.len(), None));
        }
        Sep::Comma => split_csv(line, out),
    }
}

fn split_csv(line: &str, out: &mut Vec<(usize, usize, Option<String>)>) {
    let b = line.as_bytes();
    let mut i = 0;
    loop {
        if b.get(i) == Some(&b'"') {
            // Quoted field.
            let start = i + 1;
            let mut j = start;
            let mut owned: Option<String> = None;
            loop {
                match b.get(j) {
                    Some(b'"') if b.get(j + 1) == Some(&b'"') => {
                        let o = owned.get_or_insert_with(String::new);
                        if o.is_empty() {
                            o.push_str(line.get(start..j).unwrap_or(""));
                        }
                        o.push('"');
                        j += 2;
                        // Continue copying after the escape.
                        let next_q = memchr::memchr(b'"', b.get(j..).unwrap_or_default())
                            .map_or(b.len(), |k| j + k);
                        o.push_str(line.get(j..next_q).unwrap_or(""));
                        j = next_q;
                    }
                    Some(c) if *c != b'"' => j += 1,
                    _ => break,
                }
            }
            let end = j.min(b.len());
            out.push((start, end, owned));
            // Skip the closing quote and anything up to the next comma.
            let after = memchr::memchr(b',', b.get(end..).unwrap_or_default()).map(|k| end + k);
            match after {
                Some(k) => i = k + 1,
                None => return,
            }
        } else {
            let Some(k) = memchr::memchr(b',', b.get(i..).unwrap_or_default()) else {
                out.push((i, b.len(), None));
                return;
            };
            out.push((i, i + k, None));
            i += k + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(line: &str) -> Vec<String> {
        let mut v = Vec::new();
        split_csv(line, &mut v);
        v.into_iter().map(|(s, e, o)| o.unwrap_or_else(|| line[s..e].to_owned())).collect()
    }

    #[test]
    fn csv_split() {
        assert_eq!(csv("a,b,,c"), ["a", "b", "", "c"]);
        assert_eq!(csv("\"a,b\",c"), ["a,b", "c"]);
        assert_eq!(csv("\"a\"\"b\"\"c\",d"), ["a\"b\"c", "d"]);
        assert_eq!(csv(""), [""]);
        assert_eq!(csv("\"unterminated"), ["unterminated"]);
    }
}
