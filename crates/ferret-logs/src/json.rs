//! JSON logs: evtx-to-JSON exports and other JSON.
//!
//! Layouts read: one object per line (JSON lines); concatenated or pretty-printed objects; a
//! top-level array of objects. A document that does not parse is a malformed record at its
//! line; reading resumes at the next line that starts an object.
//!
//! Windows events are flattened the way Sigma names fields:
//! * nested (`{"Event": {"System": …, "EventData": …}}`, as evtx_dump writes): `System`
//!   children by name (`EventID`, `Channel`, `Computer`, `EventRecordID`, `Level`, …), with
//!   attributes as `Parent_Attribute` (`Provider_Name`, `Provider_Guid`,
//!   `Execution_ProcessID`, `Security_UserID`, `TimeCreated_SystemTime`) and the aliases
//!   `TimeCreated` (the system time) and `Provider_Name`; `EventData` and the element inside
//!   `UserData` flattened by name (`Image`, `CommandLine`, …), names with spaces also without
//!   them (`Threat Name` → `ThreatName`); unnamed `Data` kept as `Data`.
//! * flat (Winlogbeat/OTRF style): top-level keys as they are; `SourceName` is also exposed as
//!   `Provider_Name`, `Hostname` as `Computer`.
//!
//! Winlogbeat (`winlog.event_data`, `winlog.channel`, `winlog.event_id`, …): `event_data` by
//! name, System fields under the Sigma names above; `@timestamp` is the time.
//!
//! Other JSON: nested objects flattened with `.` (`requestParameters.userName`).

use std::io::BufRead;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value as J};

use crate::input::Ctx;
use crate::{Event, LogFormat, Value, time};

/// Windows or generic JSON, from a file's first bytes.
pub(crate) fn sniff_kind(head: &str) -> LogFormat {
    let nested = head.contains("\"Event\"") && head.contains("\"System\"");
    let flat = head.contains("\"EventID\"") && (head.contains("\"Channel\""));
    let beat = head.contains("\"winlog\"") && head.contains("\"event_id\"");
    if nested || flat || beat { LogFormat::EvtxJson } else { LogFormat::Json }
}

pub(crate) fn read(
    r: &mut dyn BufRead,
    format: LogFormat,
    source: Arc<Path>,
    ctx: &mut Ctx<'_>,
    on_event: &mut dyn FnMut(&Event) -> ControlFlow<()>,
) {
    // Peek at the first line: a complete object on it means JSON lines.
    let mut ev = Event::new(format, source);
    let mut pending: Option<(u64, String)> = None; // a multi-line document being assembled
    let mut array_mode = false;
    crate::input::for_each_line(r, ctx, |lineno, line, ctx| {
        let t = line.trim();
        if let Some((start, buf)) = pending.as_mut() {
            buf.push_str(line);
            buf.push('\n');
            if buf.len() > ctx.opts.max_line.saturating_mul(16) {
                let start = *start;
                pending = None;
                ctx.malformed(format!("line {start}"), "json document too large; skipped");
                return;
            }
            // Try to close the document when a line ends a top-level object.
            if line.starts_with('}') || line.starts_with("},") {
                let doc = buf.trim_end().trim_end_matches(',').to_owned();
                let start = *start;
                match serde_json::from_str::<J>(&doc) {
                    Ok(v) => {
                        pending = None;
                        handle(v, start, &mut ev, ctx, on_event);
                    }
                    Err(e) if line.starts_with('}') && !e.is_eof() => {
                        pending = None;
                        ctx.malformed(format!("line {start}"), format!("invalid json: {e}"));
                    }
                    Err(_) => {}
                }
            }
            return;
        }
        if t.is_empty() {
            return;
        }
        if (lineno == 1 || !array_mode)
            && let Some(rest) = t.strip_prefix('[')
        {
            array_mode = true;
            let rest = rest.trim();
            if rest.is_empty() {
                return;
            }
            return one_line(rest, lineno, &mut pending, &mut ev, ctx, on_event);
        }
        if array_mode && (t == "]" || t == "],") {
            return;
        }
        one_line(t, lineno, &mut pending, &mut ev, ctx, on_event);
    });
    if let Some((start, _)) = pending {
        ctx.malformed(format!("line {start}"), "unterminated json document at end of file");
    }
}

fn one_line(
    t: &str,
    lineno: u64,
    pending: &mut Option<(u64, String)>,
    ev: &mut Event,
    ctx: &mut Ctx<'_>,
    on_event: &mut dyn FnMut(&Event) -> ControlFlow<()>,
) {
    let doc = t
        .strip_suffix(',')
        .unwrap_or(t)
        .trim_end()
        .strip_suffix(']')
        .map_or(t.strip_suffix(',').unwrap_or(t), str::trim_end);
    match serde_json::from_str::<J>(doc) {
        Ok(v) => handle(v, lineno, ev, ctx, on_event),
        Err(e) if e.is_eof() && t.starts_with('{') => {
            let mut s = String::with_capacity(4096);
            s.push_str(t);
            s.push('\n');
            *pending = Some((lineno, s));
        }
        Err(e) => ctx.malformed(format!("line {lineno}"), format!("invalid json: {e}")),
    }
}

fn handle(
    v: J,
    lineno: u64,
    ev: &mut Event,
    ctx: &mut Ctx<'_>,
    on_event: &mut dyn FnMut(&Event) -> ControlFlow<()>,
) {
    let J::Object(obj) = v else {
        ctx.malformed(format!("line {lineno}"), "json record is not an object");
        return;
    };
    ev.clear();
    ev.line = Some(lineno);
    fill_object(obj, ev);
    ctx.emit(ev, on_event);
}

/// Fills `ev` from one JSON object: a Windows event (nested or flat) or generic JSON.
pub(crate) fn fill_object(mut obj: Map<String, J>, ev: &mut Event) {
    if let Some(J::Object(event)) = obj.remove("Event") {
        fill_windows(event, ev);
        return;
    }
    if let Some(J::Object(winlog)) = obj.remove("winlog") {
        fill_winlogbeat(winlog, ev);
    }
    let windows = obj.contains_key("EventID") && obj.contains_key("Channel");
    for (k, v) in obj {
        flatten_into(&k, v, ev);
    }
    if windows {
        if ev.get_text("Provider_Name").is_none()
            && let Some(s) = ev.get_text("SourceName")
        {
            ev.push_str("Provider_Name", s);
        }
        if ev.get_text("Computer").is_none()
            && let Some(s) = ev.get_text("Hostname")
        {
            ev.push_str("Computer", s);
        }
        ev.channel = ev.get_text("Channel");
        if let Some(id) = ev.get_text("EventRecordID").or_else(|| ev.get_text("RecordNumber")) {
            ev.record_id = id.parse().ok();
        }
    }
    ev.time = [
        "TimeCreated",
        "@timestamp",
        "EventTime",
        "timestamp",
        "time",
        "ts",
        "eventTime",
        "date",
        "datetime",
    ]
    .iter()
    .find_map(|k| time_of(ev, k));
}

/// Winlogbeat's `winlog` object: `event_data` fields by name, and the System fields under the
/// names Sigma uses (`EventID`, `Channel`, `Computer`, `Provider_Name`, `EventRecordID`).
fn fill_winlogbeat(mut w: Map<String, J>, ev: &mut Event) {
    for (from, to) in [
        ("event_id", "EventID"),
        ("channel", "Channel"),
        ("computer_name", "Computer"),
        ("provider_name", "Provider_Name"),
        ("record_id", "EventRecordID"),
    ] {
        if let Some(v) = w.remove(from) {
            let v = match v {
                J::String(s) if to == "EventID" || to == "EventRecordID" => {
                    s.parse::<i64>().map_or(J::String(s), J::from)
                }
                other => other,
            };
            push_json(to, v, ev);
        }
    }
    if let Some(data) = w.remove("event_data") {
        fill_data(data, ev);
    }
    if let Some(data) = w.remove("user_data") {
        fill_data(data, ev);
    }
    for (k, v) in w {
        flatten_into(&format!("winlog.{k}"), v, ev);
    }
    ev.channel = ev.get_text("Channel");
    ev.record_id = ev.get_text("EventRecordID").and_then(|s| s.parse().ok());
}

fn time_of(ev: &Event, key: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    use ferret_core::{FieldValue, Fields as _};
    match ev.get(key)? {
        FieldValue::Str(s) => time::parse_iso(&s).or_else(|| time::parse_epoch(&s)),
        FieldValue::Int(i) => {
            #[expect(clippy::cast_precision_loss, reason = "epoch seconds or ms fit")]
            let f = i as f64;
            time::epoch_f64(f)
        }
        FieldValue::Float(f) => time::epoch_f64(f),
        _ => None,
    }
}

/// The nested `Event` object of an evtx-to-JSON export (also what the EVTX reader produces).
pub(crate) fn fill_windows(mut event: Map<String, J>, ev: &mut Event) {
    if let Some(J::Object(system)) = event.remove("System") {
        for (k, v) in system {
            match v {
                J::Object(mut o) => {
                    let attrs = match o.remove("#attributes") {
                        Some(J::Object(a)) => a,
                        _ => Map::new(),
                    };
                    let text = o.remove("#text");
                    for (ak, av) in attrs {
                        if k == "TimeCreated"
                            && ak == "SystemTime"
                            && let J::String(s) = &av
                        {
                            ev.time = time::parse_iso(s);
                            ev.push_str("TimeCreated", s.clone());
                        }
                        push_json(&format!("{k}_{ak}"), av, ev);
                    }
                    if let Some(t) = text {
                        push_json(&k, t, ev);
                    }
                    for (ck, cv) in o {
                        flatten_into(&format!("{k}_{ck}"), cv, ev);
                    }
                }
                other => push_json(&k, other, ev),
            }
        }
        ev.channel = ev.get_text("Channel");
        ev.record_id = ev.get_text("EventRecordID").and_then(|s| s.parse().ok());
    }
    if let Some(data) = event.remove("EventData") {
        fill_data(data, ev);
    }
    if let Some(J::Object(user)) = event.remove("UserData") {
        for (_, inner) in user {
            fill_data(inner, ev);
        }
    }
    for (k, v) in event {
        if k != "#attributes" {
            flatten_into(&k, v, ev);
        }
    }
}

fn fill_data(data: J, ev: &mut Event) {
    match data {
        J::Object(o) => {
            for (k, v) in o {
                match (k.as_str(), v) {
                    ("#attributes", _) => {}
                    ("#text" | "Data", J::Object(mut inner)) if inner.contains_key("#text") => {
                        if let Some(t) = inner.remove("#text") {
                            push_json("Data", t, ev);
                        }
                    }
                    ("#text", v) => push_json("Data", v, ev),
                    (_, J::Object(mut inner)) if inner.contains_key("#text") => {
                        if let Some(t) = inner.remove("#text") {
                            push_json(&k, t, ev);
                        }
                    }
                    (_, v) => {
                        // Names with spaces (Defender: `Threat Name`) are also exposed without
                        // them (`ThreatName`), as Sigma rules name them.
                        if k.contains(' ') && !matches!(v, J::Object(_)) {
                            push_json(&k.replace(' ', ""), v.clone(), ev);
                        }
                        flatten_into(&k, v, ev);
                    }
                }
            }
        }
        J::Null => {}
        other => push_json("Data", other, ev),
    }
}

/// Objects become `prefix.key` fields; everything else one field.
fn flatten_into(prefix: &str, v: J, ev: &mut Event) {
    match v {
        J::Object(o) => {
            for (k, v) in o {
                flatten_into(&format!("{prefix}.{k}"), v, ev);
            }
        }
        other => push_json(prefix, other, ev),
    }
}

fn push_json(name: &str, v: J, ev: &mut Event) {
    ev.push(name, convert(v));
}

pub(crate) fn convert(v: J) -> Value {
    match v {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(b),
        J::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else if let Some(u) = n.as_u64() {
                Value::Str(u.to_string())
            } else {
                Value::Float(n.as_f64().unwrap_or(0.0))
            }
        }
        J::String(s) => Value::Str(s),
        J::Array(a) => Value::List(a.into_iter().map(convert).collect()),
        J::Object(o) => Value::Str(J::Object(o).to_string()),
    }
}
