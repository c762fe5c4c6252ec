//! DNS query logs, with the Sigma DNS field names `query`, `record_type`, `answer`, `src_ip`:
//! * Windows DNS server debug log: `PACKET` lines
//!   (`6/5/2013 10:20:49 AM 0E9C PACKET 00000000033397A0 UDP Rcv 10.1.1.1 5f0e R Q [8081 DR NOERROR] A (7)example(3)com(0)`).
//!   Also `protocol`, `direction` (`Rcv`/`Snd`), `transaction_id`, `response` (`true` for `R`),
//!   `opcode`, `flags`, `response_code`. The preamble before the first packet line, indented
//!   detail lines and non-packet event lines are skipped, not malformed. Times are the server's
//!   local time, read as UTC; dates as month/day/year.
//! * BIND query log: `[DD-Mon-YYYY hh:mm:ss.mmm] [category: severity:] client [@0x…] IP#PORT (NAME): query: NAME CLASS TYPE FLAGS (SERVER)`.
//!   Also `src_port`, `query_class`, `flags`, `server`. Times read as UTC.
//!
//! Zeek `dns.log` is read by the columnar reader ([`crate::w3c`]).

use std::io::BufRead;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeZone as _, Timelike as _, Utc};

use crate::input::Ctx;
use crate::{Event, LogFormat, time};

pub(crate) fn looks_like_windows(line: &str) -> bool {
    line.starts_with(|c: char| c.is_ascii_digit()) && parse_windows(line).is_some()
}

pub(crate) fn looks_like_bind(line: &str) -> bool {
    parse_bind(line).is_some()
}

#[derive(Default)]
struct Rec {
    time: Option<chrono::DateTime<Utc>>,
    fields: Vec<(&'static str, String)>,
}

/// `(7)example(3)com(0)` → `example.com`.
fn qname(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('(') {
        let label = rest.get(..open).unwrap_or("");
        if !label.is_empty() {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(label);
        }
        match rest.get(open..).and_then(|r| r.find(')')) {
            Some(close) => rest = rest.get(open + close + 1..).unwrap_or(""),
            None => return out,
        }
    }
    if !rest.is_empty() {
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(rest);
    }
    out
}

fn parse_windows(line: &str) -> Option<Rec> {
    let pk = line.find(" PACKET ")?;
    let pre: Vec<&str> = line.get(..pk)?.split_whitespace().collect();
    let (date, clock, ampm) = match pre.as_slice() {
        [d, t, ap, _thread] => (*d, *t, Some(*ap)),
        [d, t, _thread] => (*d, *t, None),
        _ => return None,
    };
    let mut dp = date.split('/').map(str::parse::<u32>);
    let (m, d, y) = (dp.next()?.ok()?, dp.next()?.ok()?, dp.next()?.ok()?);
    let date = NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)?;
    let mut t = NaiveTime::parse_from_str(clock, "%H:%M:%S").ok()?;
    match ampm {
        Some(a) if a.eq_ignore_ascii_case("PM") && t.hour() < 12 => {
            t = t.with_hour(t.hour() + 12)?;
        }
        Some(a) if a.eq_ignore_ascii_case("AM") && t.hour() == 12 => t = t.with_hour(0)?,
        Some(a) if !a.eq_ignore_ascii_case("AM") && !a.eq_ignore_ascii_case("PM") => return None,
        _ => {}
    }
    let rest = line.get(pk + 8..)?;
    let open = rest.find('[')?;
    let close = open + rest.get(open..)?.find(']')?;
    let head: Vec<&str> = rest.get(..open)?.split_whitespace().collect();
    let (proto, dir, ip, xid, resp, opcode) = match head.as_slice() {
        [_ctx, p, d, ip, x, r, o] if *r == "R" => (*p, *d, *ip, *x, true, *o),
        [_ctx, p, d, ip, x, o] => (*p, *d, *ip, *x, false, *o),
        _ => return None,
    };
    let inside: Vec<&str> = rest.get(open + 1..close)?.split_whitespace().collect();
    let (flags, rcode) = match inside.as_slice() {
        [hex, .., rc] => (*hex, *rc),
        _ => return None,
    };
    let tail: Vec<&str> = rest.get(close + 1..)?.split_whitespace().collect();
    let (qtype, name) = match tail.as_slice() {
        [t, n, ..] => (*t, *n),
        _ => return None,
    };
    Some(Rec {
        time: Some(Utc.from_utc_datetime(&date.and_time(t))),
        fields: vec![
            ("query", qname(name)),
            ("record_type", qtype.to_owned()),
            ("src_ip", ip.to_owned()),
            ("protocol", proto.to_owned()),
            ("direction", dir.to_owned()),
            ("transaction_id", xid.to_owned()),
            ("response", resp.to_string()),
            ("opcode", opcode.to_owned()),
            ("flags", flags.to_owned()),
            ("response_code", rcode.to_owned()),
        ],
    })
}

fn parse_bind(line: &str) -> Option<Rec> {
    let c = line.find("client ")?;
    let q = line.find("): query: ")?;
    if q < c {
        return None;
    }
    let mut when = None;
    let pre = line.get(..c)?.trim();
    if pre.len() >= 20 {
        let stamp = pre.get(..24.min(pre.len()))?;
        let stamp = stamp.split(' ').take(2).collect::<Vec<_>>().join(" ");
        when = NaiveDateTime::parse_from_str(&stamp, "%d-%b-%Y %H:%M:%S%.f")
            .ok()
            .map(|t| Utc.from_utc_datetime(&t));
    }
    let mut words = line.get(c + 7..)?.split_whitespace();
    let mut addr = words.next()?;
    if addr.starts_with('@') {
        addr = words.next()?;
    }
    let (ip, port) = addr.rsplit_once('#')?;
    let body: Vec<&str> = line.get(q + 10..)?.split_whitespace().collect();
    let (name, class, rtype) = match body.as_slice() {
        [n, c, t, ..] => (*n, *c, *t),
        _ => return None,
    };
    let flags = body.get(3).copied().unwrap_or("");
    let server = body.get(4).map_or("", |s| s.trim_start_matches('(').trim_end_matches(')'));
    let _ = time::month; // (BIND months are parsed by chrono)
    Some(Rec {
        time: when,
        fields: vec![
            ("query", name.to_owned()),
            ("record_type", rtype.to_owned()),
            ("src_ip", ip.to_owned()),
            ("src_port", port.to_owned()),
            ("query_class", class.to_owned()),
            ("flags", flags.to_owned()),
            ("server", server.to_owned()),
        ],
    })
}

pub(crate) fn read(
    r: &mut dyn BufRead,
    format: LogFormat,
    source: Arc<Path>,
    ctx: &mut Ctx<'_>,
    on_event: &mut dyn FnMut(&Event) -> ControlFlow<()>,
) {
    let mut ev = Event::new(format, source);
    let mut seen = false;
    crate::input::for_each_line(r, ctx, |lineno, line, ctx| {
        if line.trim().is_empty() || line.starts_with([' ', '\t']) {
            return;
        }
        let rec = if format == LogFormat::DnsWindows {
            if !line.contains(" PACKET ") && seen && !line.starts_with(|c: char| c.is_ascii_digit())
            {
                ctx.malformed(format!("line {lineno}"), "not a dns debug log record");
                return;
            }
            if !line.contains(" PACKET ") {
                return; // preamble or a non-packet event line
            }
            parse_windows(line)
        } else {
            parse_bind(line)
        };
        let Some(rec) = rec else {
            if format == LogFormat::DnsBind || seen {
                ctx.malformed(format!("line {lineno}"), "not a dns query log record");
            }
            return;
        };
        seen = true;
        ev.clear();
        ev.set_text(line);
        ev.line = Some(lineno);
        ev.time = rec.time;
        if rec.time.is_some() {
            // Windows DNS debug and BIND query logs write local time without a zone.
            ctx.cov.assumed_timezone = Some("UTC");
        }
        for (k, v) in rec.fields {
            ev.push_str(k, v);
        }
        ctx.emit(&ev, on_event);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_bind() {
        let r = parse_windows("6/5/2013 10:20:49 PM 0E9C PACKET  00000000033397A0 UDP Rcv 10.1.1.1    5f0e R Q [8081   DR  NOERROR] A      (7)example(3)com(0)").unwrap();
        assert_eq!(r.fields[0].1, "example.com");
        assert_eq!(r.fields[1].1, "A");
        assert_eq!(r.fields[2].1, "10.1.1.1");
        assert_eq!(r.time.unwrap().to_rfc3339(), "2013-06-05T22:20:49+00:00");
        let r = parse_bind("27-Nov-2026 03:04:05.123 queries: info: client @0x7f1c 192.168.1.10#52719 (www.example.com): query: www.example.com IN A +E(0)K (192.168.1.1)").unwrap();
        assert_eq!(r.fields[0].1, "www.example.com");
        assert_eq!(r.fields[2].1, "192.168.1.10");
        assert_eq!(r.time.unwrap().to_rfc3339(), "2026-11-27T03:04:05.123+00:00");
        assert_eq!(qname("(3)www(0)"), "www");
    }
}
