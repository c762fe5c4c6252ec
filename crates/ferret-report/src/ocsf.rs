//! OCSF JSON lines (schema 1.3.0): one event per line.
//!
//! * A finding is a **Detection Finding** (`class_uid` 2004, `category_uid` 2 Findings,
//!   `activity_id` 1 Create, `type_uid` 200401) with `finding_info` (`uid`, `title`, `desc`,
//!   `analytic` = the rule, `types` = the engine, `attacks` from ATT&CK tags), `severity_id`
//!   from the severity, `risk_score` = the score, the file or log as `evidences` and
//!   `resources`, the host as `device`, and ferret's own fields in `unmapped`.
//! * The run summary is a **Scan Activity** (`class_uid` 6007, `category_uid` 6
//!   Application Activity) with `activity_id` 2 Completed (3 Cancelled when the run was
//!   interrupted), `status_id` 1 Success for a complete run and 2 Failure for an incomplete
//!   one, `status_detail` = the result line, `scan`, `start_time`/`end_time`, `num_detections`,
//!   `num_files`, `num_skipped_items`, `total`, and the full summary in `unmapped`.
//! * A problem is a **Scan Activity** with `activity_id` 6 Error, `status_id` 2 Failure,
//!   `status_code` = the problem kind and `status_detail` = the reason.
//!
//! `time` is in milliseconds since 1970 (OCSF `timestamp_t`): the run's end for every record
//! (the time the finding was made); a log finding's event time is `finding_info.first_seen_time`
//! and `start_time`. Keys are written sorted.

use std::io::{self, Write};

use ferret_core::{Finding, Severity};
use serde_json::{Value, json};

use crate::{Report, put};

/// The OCSF schema version the events follow (`metadata.version`).
pub const OCSF_VERSION: &str = "1.3.0";

/// OCSF `severity_id`: 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical.
pub fn severity_id(s: Severity) -> u8 {
    match s {
        Severity::Info => 1,
        Severity::Low => 2,
        Severity::Medium => 3,
        Severity::High => 4,
        Severity::Critical => 5,
    }
}

fn severity_name(id: u8) -> &'static str {
    match id {
        1 => "Informational",
        2 => "Low",
        3 => "Medium",
        4 => "High",
        5 => "Critical",
        _ => "Unknown",
    }
}

fn ms(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_millis()
}

fn base(
    report: &Report,
    class: (u32, &str),
    category: (u32, &str),
    activity: (u32, &str),
) -> Value {
    let mut v = json!({});
    put(&mut v, "class_uid", class.0);
    put(&mut v, "class_name", class.1);
    put(&mut v, "category_uid", category.0);
    put(&mut v, "category_name", category.1);
    put(&mut v, "activity_id", activity.0);
    put(&mut v, "activity_name", activity.1);
    put(&mut v, "type_uid", u64::from(class.0) * 100 + u64::from(activity.0));
    put(&mut v, "type_name", format!("{}: {}", class.1, activity.1));
    put(&mut v, "time", ms(report.finished));
    put(&mut v, "metadata.version", OCSF_VERSION);
    put(&mut v, "metadata.product.name", "ferret");
    put(&mut v, "metadata.product.vendor_name", "ferret");
    put(&mut v, "metadata.product.version", report.tool.version.clone());
    put(&mut v, "metadata.correlation_uid", report.run_id.clone());
    put(&mut v, "device.hostname", report.host.clone());
    put(&mut v, "device.name", report.host.clone());
    put(&mut v, "device.type_id", 0);
    put(&mut v, "device.type", "Unknown");
    v
}

fn set_severity(v: &mut Value, id: u8) {
    put(v, "severity_id", id);
    put(v, "severity", severity_name(id));
}

fn attacks(f: &Finding) -> Vec<Value> {
    let Some(tags) = f.details.get("tags").and_then(Value::as_array) else { return vec![] };
    let mut ids: Vec<String> = tags
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|t| t.strip_prefix("attack.t").or_else(|| t.strip_prefix("attack.T")))
        .filter(|rest| rest.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .map(|rest| format!("T{}", rest.to_ascii_uppercase()))
        .collect();
    ids.sort();
    ids.dedup();
    ids.into_iter().map(|uid| json!({ "technique": { "uid": uid }, "version": "14" })).collect()
}

fn finding_event(report: &Report, i: usize, f: &Finding) -> Value {
    let mut v = base(report, (2004, "Detection Finding"), (2, "Findings"), (1, "Create"));
    set_severity(&mut v, severity_id(f.severity));
    put(&mut v, "status_id", 1);
    put(&mut v, "status", "New");
    put(&mut v, "is_alert", true);
    put(&mut v, "risk_score", f.score);
    let mut message = f.rule.name.clone();
    if let Some(m) = &f.message {
        message.push_str(": ");
        message.push_str(m);
    }
    put(&mut v, "message", message);
    put(&mut v, "finding_info.uid", crate::record_uid(report, 'f', i));
    put(&mut v, "finding_info.title", f.rule.name.clone());
    if let Some(m) = &f.message {
        put(&mut v, "finding_info.desc", m.clone());
    }
    put(&mut v, "finding_info.types", json!([f.engine.as_str()]));
    put(&mut v, "finding_info.created_time", ms(report.finished));
    put(&mut v, "finding_info.analytic.uid", f.rule.id.clone());
    put(&mut v, "finding_info.analytic.name", f.rule.name.clone());
    put(&mut v, "finding_info.analytic.type_id", 1);
    put(&mut v, "finding_info.analytic.type", "Rule");
    if let Some(s) = &f.rule.source {
        put(&mut v, "finding_info.analytic.desc", format!("rule source: {s}"));
    }
    if let Some(r) = f.rule.references.first() {
        put(&mut v, "finding_info.src_url", r.clone());
    }
    let attacks = attacks(f);
    if !attacks.is_empty() {
        put(&mut v, "finding_info.attacks", json!(attacks));
    }
    if let Some(t) = f.time {
        put(&mut v, "finding_info.first_seen_time", ms(t));
        put(&mut v, "finding_info.last_seen_time", ms(t));
        put(&mut v, "start_time", ms(t));
        put(&mut v, "end_time", ms(t));
    }
    if let Some(fmt) = f.log.as_ref().and_then(|l| l.format.clone()) {
        put(&mut v, "finding_info.data_sources", json!([fmt]));
    }
    if let Some(p) = &f.path {
        let lossy = p.lossy().into_owned();
        let name = lossy.rsplit(['/', '\\']).next().unwrap_or(&lossy).to_owned();
        let mut file = json!({ "name": name, "path": lossy, "type_id": 1, "type": "Regular File" });
        if let Some(s) = f.size {
            put(&mut file, "size", s);
        }
        if let Some(h) = &f.sha256 {
            put(
                &mut file,
                "hashes",
                json!([{ "algorithm_id": 3, "algorithm": "SHA-256", "value": h }]),
            );
        }
        put(&mut v, "evidences", json!([{ "file": file }]));
        put(
            &mut v,
            "resources",
            json!([{ "type": if f.log.is_some() { "log file" } else { "file" }, "name": lossy }]),
        );
    }
    put(&mut v, "unmapped.engine", f.engine.as_str());
    put(&mut v, "unmapped.severity", f.severity.as_str());
    if let Some(b) = f.path.as_ref().and_then(crate::path_b64) {
        put(&mut v, "unmapped.path_b64", b);
    }
    if let Some(l) = &f.log {
        put(&mut v, "unmapped.log", serde_json::to_value(l).unwrap_or(Value::Null));
    }
    if !f.evidence.is_empty() {
        put(&mut v, "unmapped.evidence", serde_json::to_value(&f.evidence).unwrap_or(Value::Null));
    }
    if !f.details.is_empty() {
        put(&mut v, "unmapped.details", serde_json::to_value(&f.details).unwrap_or(Value::Null));
    }
    v
}

fn scan_object(report: &Report, v: &mut Value) {
    put(v, "scan.uid", report.run_id.clone());
    put(v, "scan.name", format!("ferret {}", report.verb));
    put(v, "scan.type_id", 99);
    put(v, "scan.type", report.verb.clone());
    put(v, "scan.start_time", ms(report.started));
    put(v, "scan.end_time", ms(report.finished));
}

/// The events, in order: findings, problems, then the run summary.
pub fn events(report: &Report) -> Vec<Value> {
    let mut out = Vec::with_capacity(report.findings.len() + report.problems.len() + 1);
    for (i, f) in report.findings.iter().enumerate() {
        out.push(finding_event(report, i, f));
    }
    for (i, p) in report.problems.iter().enumerate() {
        let mut v =
            base(report, (6007, "Scan Activity"), (6, "Application Activity"), (6, "Error"));
        set_severity(&mut v, if p.kind.makes_incomplete() { 3 } else { 1 });
        scan_object(report, &mut v);
        put(&mut v, "metadata.uid", crate::record_uid(report, 'p', i));
        put(&mut v, "status_id", 2);
        put(&mut v, "status", "Failure");
        put(&mut v, "status_code", p.kind.as_str());
        put(&mut v, "status_detail", p.reason.clone());
        let mut message = format!("problem: {}: {}", p.kind, p.reason);
        if let Some(path) = &p.path {
            message = format!("{message} ({})", path.lossy());
            put(&mut v, "unmapped.path", path.lossy().into_owned());
            if let Some(b) = crate::path_b64(path) {
                put(&mut v, "unmapped.path_b64", b);
            }
        }
        put(&mut v, "message", message);
        if let Some(pos) = &p.position {
            put(&mut v, "unmapped.position", pos.clone());
        }
        put(&mut v, "unmapped.makes_incomplete", p.kind.makes_incomplete());
        out.push(v);
    }
    let s = &report.summary;
    let activity = if s.interrupted { (3, "Cancelled") } else { (2, "Completed") };
    let mut v = base(report, (6007, "Scan Activity"), (6, "Application Activity"), activity);
    set_severity(&mut v, if s.complete { 1 } else { 3 });
    scan_object(report, &mut v);
    put(&mut v, "metadata.uid", crate::record_uid(report, 's', 0));
    put(&mut v, "status_id", if s.complete { 1 } else { 2 });
    put(&mut v, "status", if s.complete { "Success" } else { "Failure" });
    put(&mut v, "status_detail", s.result_line());
    put(&mut v, "message", crate::summary_message(report));
    put(&mut v, "start_time", ms(report.started));
    put(&mut v, "end_time", ms(report.finished));
    put(&mut v, "duration", (report.finished - report.started).num_milliseconds().max(0));
    put(&mut v, "num_detections", s.findings_total());
    put(&mut v, "num_files", s.counter("files_scanned"));
    put(&mut v, "num_skipped_items", s.skipped.values().sum::<u64>());
    put(&mut v, "total", s.counter("files_scanned") + s.counter("events_read"));
    put(&mut v, "unmapped.complete", s.complete);
    put(&mut v, "unmapped.schema_version", report.schema_version);
    put(&mut v, "unmapped.targets", json!(report.targets));
    put(&mut v, "unmapped.problems_total", s.problems_total() + report.problems_dropped);
    put(&mut v, "unmapped.problems_dropped", report.problems_dropped);
    put(&mut v, "unmapped.summary", serde_json::to_value(s).unwrap_or(Value::Null));
    out.push(v);
    out
}

/// Writes the report as OCSF JSON lines.
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    crate::write_json_lines(events(report), out)
}
