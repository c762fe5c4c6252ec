//! Timesketch JSONL: one JSON object per line, importable by Timesketch's JSONL importer.
//!
//! Every record has the three fields the importer requires: `message` (a string),
//! `datetime` (RFC 3339, UTC) and `timestamp_desc` (what the time means), plus `timestamp`
//! (microseconds since 1970, UTC) and `data_type` (`ferret:finding`, `ferret:problem`,
//! `ferret:summary`). The rest of the record is flattened into top-level fields with `_`
//! between the parts (`rule_id`, `log_record_id`, `detail_event_id`, …), because Timesketch
//! indexes top-level attributes; nested values are JSON text.
//!
//! Times: a log finding is placed at the event's time (`timestamp_desc` `Event Time`); a
//! finding without an event time (a file matched an indicator), every problem and the run
//! summary are placed at the time the run finished (`Run Finished`). The summary record
//! carries the run's `complete` flag, its problem counts and why it was incomplete. Keys
//! are written sorted, so the output is the same for the same report.

use std::io::{self, Write};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::Report;

/// `timestamp_desc` of a log finding.
pub const EVENT_TIME: &str = "Event Time";
/// `timestamp_desc` of every other record.
pub const RUN_FINISHED: &str = "Run Finished";

fn base(message: &str, time: DateTime<Utc>, desc: &str, data_type: &str) -> Value {
    json!({
        "message": message,
        "datetime": time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "timestamp": time.timestamp_micros(),
        "timestamp_desc": desc,
        "data_type": data_type,
    })
}

fn set(v: &mut Value, key: &str, value: impl Into<Value>) {
    if let Some(map) = v.as_object_mut() {
        map.insert(key.to_owned(), value.into());
    }
}

/// A detail as a Timesketch attribute: scalars as they are, arrays and objects as JSON text.
fn flat(v: &Value) -> Value {
    match v {
        Value::Array(_) | Value::Object(_) => Value::String(v.to_string()),
        other => other.clone(),
    }
}

fn run_fields(report: &Report, v: &mut Value) {
    set(v, "hostname", report.host.clone());
    set(v, "run_id", report.run_id.clone());
    set(v, "verb", report.verb.clone());
}

/// The records, in order: findings, problems, then the run summary.
pub fn records(report: &Report) -> Vec<Value> {
    let mut out = Vec::with_capacity(report.findings.len() + report.problems.len() + 1);
    for (i, f) in report.findings.iter().enumerate() {
        let (time, desc) = match f.time {
            Some(t) => (t, EVENT_TIME),
            None => (report.finished, RUN_FINISHED),
        };
        let mut message = format!("[{}] {}", f.severity, f.rule.name);
        if let Some(m) = &f.message {
            message.push_str(": ");
            message.push_str(m);
        }
        if let Some(p) = &f.path {
            message.push_str(" (");
            message.push_str(&p.lossy());
            message.push(')');
        }
        let mut v = base(&message, time, desc, "ferret:finding");
        run_fields(report, &mut v);
        set(&mut v, "record_uid", crate::record_uid(report, 'f', i));
        set(&mut v, "engine", f.engine.as_str());
        set(&mut v, "severity", f.severity.as_str());
        set(&mut v, "score", f.score);
        set(&mut v, "rule_id", f.rule.id.clone());
        set(&mut v, "rule_name", f.rule.name.clone());
        if let Some(s) = &f.rule.source {
            set(&mut v, "rule_source", s.clone());
        }
        if !f.rule.references.is_empty() {
            set(&mut v, "rule_references", f.rule.references.join(" "));
        }
        if let Some(m) = &f.message {
            set(&mut v, "finding_message", m.clone());
        }
        if let Some(p) = &f.path {
            set(&mut v, "path", p.lossy().into_owned());
            if let Some(b) = crate::path_b64(p) {
                set(&mut v, "path_b64", b);
            }
        }
        if let Some(s) = f.size {
            set(&mut v, "size", s);
        }
        if let Some(h) = &f.sha256 {
            set(&mut v, "sha256", h.clone());
        }
        if let Some(l) = &f.log {
            if let Some(x) = &l.format {
                set(&mut v, "log_format", x.clone());
            }
            if let Some(x) = l.record_id {
                set(&mut v, "log_record_id", x);
            }
            if let Some(x) = l.line {
                set(&mut v, "log_line", x);
            }
            if let Some(x) = &l.channel {
                set(&mut v, "log_channel", x.clone());
            }
        }
        if !f.evidence.is_empty() {
            let text: Vec<String> = f
                .evidence
                .iter()
                .map(|e| match e.offset {
                    Some(o) => format!("{}@{o}={}", e.label, e.data),
                    None => format!("{}={}", e.label, e.data),
                })
                .collect();
            set(&mut v, "evidence", text.join(" | "));
        }
        for (k, d) in &f.details {
            set(&mut v, &format!("detail_{k}"), flat(d));
        }
        out.push(v);
    }
    for (i, p) in report.problems.iter().enumerate() {
        let mut message = format!("[problem: {}] {}", p.kind, p.reason);
        if let Some(path) = &p.path {
            message.push_str(" (");
            message.push_str(&path.lossy());
            message.push(')');
        }
        let mut v = base(&message, report.finished, RUN_FINISHED, "ferret:problem");
        run_fields(report, &mut v);
        set(&mut v, "record_uid", crate::record_uid(report, 'p', i));
        set(&mut v, "problem_kind", p.kind.as_str());
        set(&mut v, "makes_incomplete", p.kind.makes_incomplete());
        set(&mut v, "reason", p.reason.clone());
        if let Some(path) = &p.path {
            set(&mut v, "path", path.lossy().into_owned());
            if let Some(b) = crate::path_b64(path) {
                set(&mut v, "path_b64", b);
            }
        }
        if let Some(pos) = &p.position {
            set(&mut v, "position", pos.clone());
        }
        out.push(v);
    }
    let s = &report.summary;
    let mut v =
        base(&crate::summary_message(report), report.finished, RUN_FINISHED, "ferret:summary");
    run_fields(report, &mut v);
    set(&mut v, "record_uid", crate::record_uid(report, 's', 0));
    set(&mut v, "schema_version", report.schema_version);
    set(&mut v, "ferret_version", report.tool.version.clone());
    set(&mut v, "targets", report.targets.join(" "));
    set(&mut v, "started", report.started.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
    set(&mut v, "complete", s.complete);
    set(&mut v, "result", s.result_line());
    set(&mut v, "findings_total", s.findings_total());
    set(&mut v, "problems_total", s.problems_total() + report.problems_dropped);
    set(&mut v, "problems_dropped", report.problems_dropped);
    for (k, n) in &s.problems {
        set(&mut v, &format!("problems_{k}"), *n);
    }
    for (k, n) in &s.counters {
        set(&mut v, &format!("count_{k}"), *n);
    }
    set(&mut v, "rules_not_loaded", s.rules.not_loaded_total());
    if !s.incomplete_reasons.is_empty() {
        set(&mut v, "incomplete_reasons", s.incomplete_reasons.join("; "));
    }
    if !s.not_checked.is_empty() {
        set(&mut v, "not_checked", s.not_checked.join("; "));
    }
    for verdict in report.verdicts() {
        set(&mut v, &format!("verdict_{}", verdict.campaign), verdict.verdict.label());
    }
    out.push(v);
    out
}

/// Writes the report as Timesketch JSONL.
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    crate::write_json_lines(records(report), out)
}
