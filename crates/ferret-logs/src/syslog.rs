//! syslog files, one record per line, in three shapes:
//! * RFC 3164 / BSD: `[<PRI>]Mmm dd hh:mm:ss host tag[pid]: message` (no year: see
//!   [`crate::ReadOptions::syslog_year`]; no zone: taken as UTC, and the coverage says so in
//!   [`crate::SourceCoverage::assumed_timezone`]);
//! * RFC 5424: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MESSAGE`;
//! * ISO-timestamped (rsyslog high precision): `2024-01-02T03:04:05.123+00:00 host tag[pid]: message`.
//!
//! Fields: `facility` and `severity` (numbers, when `<PRI>` is present), `hostname`,
//! `program` (the tag / APP-NAME), `pid`, `msgid` and `structured_data` (5424), `message`.
//! The event's channel is the program. Lines that fit none of these shapes are malformed.

use std::io::BufRead;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

use chrono::{Datelike as _, NaiveDate, TimeZone as _, Utc};

use crate::input::Ctx;
use crate::{Event, LogFormat, time};

/// Whether one line has a syslog shape.
pub(crate) fn looks_like(line: &str) -> bool {
    parse(line, 2000).is_some()
}

struct Rec<'a> {
    pri: Option<u32>,
    time: Option<chrono::DateTime<Utc>>,
    month: Option<u32>,
    host: &'a str,
    program: &'a str,
    pid: &'a str,
    msgid: &'a str,
    sd: &'a str,
    message: &'a str,
    /// The timestamp carried no zone (read as UTC).
    zoneless: bool,
}

/// Whether an ISO timestamp carries a zone (`Z` or a `±hh[:mm]` offset after the time).
fn has_zone(ts: &str) -> bool {
    let t = ts.trim();
    t.ends_with(['Z', 'z']) || t.get(11..).is_some_and(|clock| clock.contains(['+', '-']))
}

fn split_word(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start_matches(' ');
    if s.is_empty() {
        return None;
    }
    Some(match s.find(' ') {
        Some(i) => (s.get(..i)?, s.get(i + 1..)?),
        None => (s, ""),
    })
}

fn parse(line: &str, year: i32) -> Option<Rec<'_>> {
    let (pri, rest) = match line.strip_prefix('<') {
        Some(r) => {
            let close = r.find('>')?;
            if close == 0 || close > 3 {
                return None;
            }
            let p: u32 = r.get(..close)?.parse().ok()?;
            if p > 191 {
                return None;
            }
            (Some(p), r.get(close + 1..)?)
        }
        None => (None, line),
    };
    // RFC 5424.
    if pri.is_some()
        && let Some(r) = rest.strip_prefix("1 ")
    {
        let (ts, r) = split_word(r)?;
        let (host, r) = split_word(r)?;
        let (app, r) = split_word(r)?;
        let (procid, r) = split_word(r)?;
        let (msgid, r) = split_word(r)?;
        let (sd, msg) = if r.starts_with('[') {
            let end = sd_end(r)?;
            (r.get(..end)?, r.get(end..)?.trim_start())
        } else {
            let (sd, m) = split_word(r).unwrap_or(("-", ""));
            (sd, m)
        };
        return Some(Rec {
            pri,
            time: if ts == "-" { None } else { time::parse_iso(ts) },
            month: None,
            host: nil(host),
            program: nil(app),
            pid: nil(procid),
            msgid: nil(msgid),
            sd: nil(sd),
            message: msg.strip_prefix('\u{feff}').unwrap_or(msg),
            zoneless: ts != "-" && !has_zone(ts),
        });
    }
    // ISO timestamp.
    let first = rest.get(..4).unwrap_or("");
    let (time, month, r, zoneless) =
        if first.len() == 4 && first.bytes().all(|b| b.is_ascii_digit()) {
            let (ts, r) = split_word(rest)?;
            (Some(time::parse_iso(ts)?), None, r, !has_zone(ts))
        } else {
            // Mmm dd hh:mm:ss
            let mon = time::month(rest.get(..3)?)?;
            let day: u32 = rest.get(4..6)?.trim().parse().ok()?;
            let hms = rest.get(7..15)?;
            if rest.get(3..4)? != " " || rest.get(6..7)? != " " {
                return None;
            }
            let t = chrono::NaiveTime::parse_from_str(hms, "%H:%M:%S").ok()?;
            let d = NaiveDate::from_ymd_opt(year, mon, day)?;
            (Some(Utc.from_utc_datetime(&d.and_time(t))), Some(mon), rest.get(15..)?, true)
        };
    let (host, r) = split_word(r)?;
    let (program, pid, message) = tag(r);
    Some(Rec { pri, time, month, host, program, pid, msgid: "", sd: "", message, zoneless })
}

fn nil(s: &str) -> &str {
    if s == "-" { "" } else { s }
}

/// `tag[pid]: message` or `tag: message`; otherwise the whole rest is the message.
fn tag(r: &str) -> (&str, &str, &str) {
    let r = r.trim_start_matches(' ');
    if let Some(colon) = r.find(": ") {
        let head = r.get(..colon).unwrap_or("");
        if !head.contains(' ') && !head.is_empty() {
            let msg = r.get(colon + 2..).unwrap_or("");
            if let Some(open) = head.find('[')
                && head.ends_with(']')
            {
                return (
                    head.get(..open).unwrap_or(""),
                    head.get(open + 1..head.len() - 1).unwrap_or(""),
                    msg,
                );
            }
            return (head, "", msg);
        }
    }
    ("", "", r)
}

/// End of the structured-data elements `[..][..]` (escapes `\]` honoured).
fn sd_end(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while b.get(i) == Some(&b'[') {
        i += 1;
        loop {
            match b.get(i)? {
                b'\\' => i += 2,
                b']' => {
                    i += 1;
                    break;
                }
                _ => i += 1,
            }
        }
    }
    Some(i)
}

fn default_year(path: &Path) -> (i32, u32) {
    let mtime = std::fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .map_or_else(Utc::now, chrono::DateTime::<Utc>::from);
    (mtime.year(), mtime.month())
}

pub(crate) fn read(
    r: &mut dyn BufRead,
    source: Arc<Path>,
    ctx: &mut Ctx<'_>,
    on_event: &mut dyn FnMut(&Event) -> ControlFlow<()>,
) {
    let (year, mtime_month) = match ctx.opts.syslog_year {
        Some(y) => (y, 12),
        None => default_year(&source),
    };
    let names: [Arc<str>; 9] = [
        "facility",
        "severity",
        "hostname",
        "program",
        "pid",
        "msgid",
        "structured_data",
        "message",
        "priority",
    ]
    .map(Arc::from);
    let mut ev = Event::new(LogFormat::Syslog, source);
    crate::input::for_each_line(r, ctx, |lineno, line, ctx| {
        if line.trim().is_empty() {
            return;
        }
        let Some(mut rec) = parse(line, year) else {
            ctx.malformed(format!("line {lineno}"), "not a syslog record");
            return;
        };
        // A month after the file's last modification belongs to the year before.
        if let (Some(m), Some(t)) = (rec.month, rec.time)
            && m > mtime_month
        {
            rec.time = year.checked_sub(1).and_then(|y| t.with_year(y));
        }
        if rec.zoneless && rec.time.is_some() {
            ctx.cov.assumed_timezone = Some("UTC");
        }
        ev.clear();
        ev.set_text(line);
        ev.line = Some(lineno);
        ev.time = rec.time;
        ev.channel = (!rec.program.is_empty()).then(|| rec.program.to_owned());
        let base = line.as_ptr() as usize;
        let span = |s: &str| {
            let start = (s.as_ptr() as usize).saturating_sub(base);
            (start, start + s.len())
        };
        if let Some(p) = rec.pri {
            ev.push("facility", crate::Value::Int(i64::from(p / 8)));
            ev.push("severity", crate::Value::Int(i64::from(p % 8)));
        }
        let [_, _, host, program, pid, msgid, sd, message, _] = &names;
        for (name, s) in [
            (host, rec.host),
            (program, rec.program),
            (pid, rec.pid),
            (msgid, rec.msgid),
            (sd, rec.sd),
            (message, rec.message),
        ] {
            if s.is_empty() && !std::ptr::eq(name, message) {
                continue;
            }
            let (a, b) = span(s);
            ev.push_span(name, a, b);
        }
        ctx.emit(&ev, on_event);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let r = parse("<34>Oct 11 22:14:15 mymachine su[12]: 'su root' failed", 2024).unwrap();
        assert_eq!((r.pri, r.host, r.program, r.pid), (Some(34), "mymachine", "su", "12"));
        assert_eq!(r.message, "'su root' failed");
        let r = parse(
            "<165>1 2003-10-11T22:14:15.003Z host.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\"] An application event",
            2024,
        )
        .unwrap();
        assert_eq!((r.host, r.program, r.msgid), ("host.example.com", "evntslog", "ID47"));
        assert_eq!(r.sd, "[exampleSDID@32473 iut=\"3\"]");
        assert_eq!(r.message, "An application event");
        let r =
            parse("2024-01-02T03:04:05.123+00:00 web sshd[99]: Accepted password", 2024).unwrap();
        assert_eq!((r.host, r.program, r.pid), ("web", "sshd", "99"));
        assert!(parse("hello world", 2024).is_none());
    }
}
