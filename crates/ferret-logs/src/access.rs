//! Apache/nginx access logs, common and combined:
//! `host ident user [time] "request" status bytes ["referer" "user-agent"]`.
//!
//! Fields use the Sigma webserver names: `c-ip`, `cs-username`, `date` (the bracketed time as
//! written), `cs-method`, `cs-uri` (the request target), `cs-uri-stem`, `cs-uri-query` (after
//! `?`, empty when none), `cs-version`, `sc-status`, `sc-bytes`, `cs-referer`, `cs-user-agent`.
//! Anything after the user agent (nginx extras) is `extra`. A request line that is not
//! `METHOD TARGET VERSION` (garbage sent by scanners) is kept whole in `cs-uri` with empty
//! method, stem and query.

use std::io::BufRead;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

use crate::input::Ctx;
use crate::{Event, LogFormat, time};

/// Whether one line has the shape of an access log record.
pub(crate) fn looks_like(line: &str) -> bool {
    parse(line).is_some()
}

struct Names {
    ip: Arc<str>,
    user: Arc<str>,
    date: Arc<str>,
    method: Arc<str>,
    uri: Arc<str>,
    stem: Arc<str>,
    query: Arc<str>,
    version: Arc<str>,
    status: Arc<str>,
    bytes: Arc<str>,
    referer: Arc<str>,
    agent: Arc<str>,
    extra: Arc<str>,
}

impl Names {
    fn new() -> Names {
        Names {
            ip: Arc::from("c-ip"),
            user: Arc::from("cs-username"),
            date: Arc::from("date"),
            method: Arc::from("cs-method"),
            uri: Arc::from("cs-uri"),
            stem: Arc::from("cs-uri-stem"),
            query: Arc::from("cs-uri-query"),
            version: Arc::from("cs-version"),
            status: Arc::from("sc-status"),
            bytes: Arc::from("sc-bytes"),
            referer: Arc::from("cs-referer"),
            agent: Arc::from("cs-user-agent"),
            extra: Arc::from("extra"),
        }
    }
}

type Span = (usize, usize);

/// Spans of one parsed record.
struct Rec {
    ip: Span,
    user: Span,
    date: Span,
    method: Span,
    uri: Span,
    stem: Span,
    query: Span,
    version: Span,
    status: Span,
    bytes: Span,
    referer: Option<Span>,
    agent: Option<Span>,
    extra: Option<Span>,
}

fn token(b: &[u8], i: usize) -> Option<(Span, usize)> {
    let rest = b.get(i..)?;
    let end = memchr::memchr(b' ', rest).map_or(b.len(), |k| i + k);
    if end == i {
        return None;
    }
    Some(((i, end), end + 1))
}

/// A `"..."` field starting at `i` (backslash escapes skipped over).
fn quoted(b: &[u8], i: usize) -> Option<(Span, usize)> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let mut j = i + 1;
    loop {
        match b.get(j)? {
            b'\\' => j += 2,
            b'"' => break,
            _ => j += 1,
        }
    }
    Some(((i + 1, j), j + 2))
}

fn parse(line: &str) -> Option<Rec> {
    let b = line.as_bytes();
    let (ip, i) = token(b, 0)?;
    let (_ident, i) = token(b, i)?;
    let (user, i) = token(b, i)?;
    if b.get(i) != Some(&b'[') {
        return None;
    }
    let close = i + memchr::memchr(b']', b.get(i..)?)?;
    let date = (i + 1, close);
    let i = close + 2;
    let (req, i) = quoted(b, i)?;
    let (status, i) = token(b, i)?;
    if !b.get(status.0..status.1)?.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let (bytes, i) = token(b, i).unwrap_or(((b.len(), b.len()), b.len()));
    let (referer, agent, extra) = match quoted(b, i) {
        Some((r, i)) => match quoted(b, i) {
            Some((a, i)) => (Some(r), Some(a), (i < b.len()).then_some((i, b.len()))),
            None => (Some(r), None, None),
        },
        None => (None, None, None),
    };
    // The request line: METHOD TARGET VERSION.
    let r = b.get(req.0..req.1)?;
    let parts: Vec<usize> = memchr::memchr_iter(b' ', r).collect();
    let (method, uri, version) = match parts.as_slice() {
        [a, .., z] if a != z => {
            ((req.0, req.0 + a), (req.0 + a + 1, req.0 + z), (req.0 + z + 1, req.1))
        }
        _ => ((req.0, req.0), req, (req.1, req.1)),
    };
    let (stem, query) = match memchr::memchr(b'?', b.get(uri.0..uri.1)?) {
        Some(q) if method.1 > method.0 => ((uri.0, uri.0 + q), (uri.0 + q + 1, uri.1)),
        _ if method.1 > method.0 => (uri, (uri.1, uri.1)),
        _ => ((uri.0, uri.0), (uri.0, uri.0)),
    };
    Some(Rec {
        ip,
        user,
        date,
        method,
        uri,
        stem,
        query,
        version,
        status,
        bytes,
        referer,
        agent,
        extra,
    })
}

pub(crate) fn read(
    r: &mut dyn BufRead,
    source: Arc<Path>,
    ctx: &mut Ctx<'_>,
    on_event: &mut dyn FnMut(&Event) -> ControlFlow<()>,
) {
    read_lines(r, source, ctx, on_event, 0);
}

/// Reads records from a part of a file that `before` lines precede.
pub(crate) fn read_lines(
    r: &mut dyn BufRead,
    source: Arc<Path>,
    ctx: &mut Ctx<'_>,
    on_event: &mut dyn FnMut(&Event) -> ControlFlow<()>,
    before: u64,
) {
    let n = Names::new();
    let mut ev = Event::new(LogFormat::Access, source);
    crate::input::for_each_line_from(r, ctx, before, |lineno, line, ctx| {
        if line.trim().is_empty() {
            return;
        }
        let Some(rec) = parse(line) else {
            ctx.malformed(format!("line {lineno}"), "not an access log record");
            return;
        };
        ev.clear();
        ev.set_text(line);
        ev.line = Some(lineno);
        ev.time = line.get(rec.date.0..rec.date.1).and_then(time::parse_clf);
        let pairs: [(&Arc<str>, Span); 10] = [
            (&n.ip, rec.ip),
            (&n.user, rec.user),
            (&n.date, rec.date),
            (&n.method, rec.method),
            (&n.uri, rec.uri),
            (&n.stem, rec.stem),
            (&n.query, rec.query),
            (&n.version, rec.version),
            (&n.status, rec.status),
            (&n.bytes, rec.bytes),
        ];
        for (name, (s, e)) in pairs {
            ev.push_span(name, s, e);
        }
        for (name, span) in
            [(&n.referer, rec.referer), (&n.agent, rec.agent), (&n.extra, rec.extra)]
        {
            if let Some((s, e)) = span {
                ev.push_span(name, s, e);
            }
        }
        ctx.emit(&ev, on_event);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined() {
        let l = r#"10.0.0.1 - bob [10/Oct/2000:13:55:36 -0700] "GET /a.php?x=1 HTTP/1.1" 200 2326 "http://r/" "Mozilla/5.0 (X)""#;
        let r = parse(l).unwrap();
        let s = |x: Span| &l[x.0..x.1];
        assert_eq!(s(r.ip), "10.0.0.1");
        assert_eq!(s(r.method), "GET");
        assert_eq!(s(r.stem), "/a.php");
        assert_eq!(s(r.query), "x=1");
        assert_eq!(s(r.version), "HTTP/1.1");
        assert_eq!(s(r.status), "200");
        assert_eq!(s(r.agent.unwrap()), "Mozilla/5.0 (X)");
        let common = r#"h - - [10/Oct/2000:13:55:36 -0700] "\x16\x03" 400 -"#;
        let r = parse(common).unwrap();
        assert_eq!(&common[r.uri.0..r.uri.1], "\\x16\\x03");
        assert!(parse("garbage line").is_none());
    }
}
