//! Elastic Common Schema (ECS 8) NDJSON: one document per line, for Elasticsearch or
//! OpenSearch (`docs/ecs-index-template.json` maps the fields; `docs/report-format.md` shows
//! how to bulk-load the file).
//!
//! * A finding is `event.kind: "alert"` with `event.category` by engine (`file` + `malware`
//!   for indicator and YARA matches, `file` for integrity changes, `intrusion_detection` for
//!   Sigma and campaign detectors), `rule.*`, `file.*` for a file, `log.file.path` for the log
//!   an event came from, `process.*` and `url.*` when the evidence names a process image,
//!   command line or URL, `host.name`, `threat.technique.id` from the rule's ATT&CK tags,
//!   the campaign as `threat.group.name` (and `rule.category`), `threat.software.*` for a
//!   malware family a campaign detector names, `threat.indicator.*` for the indicator
//!   (domain, address, URL, file hash) a finding matched and where it came from, and the
//!   rest under `ferret.*`.
//! * A problem is `event.kind: "event"`, `event.type: ["error"]`, `event.outcome: "failure"`,
//!   with `error.type` (the problem kind) and `error.message` (the reason).
//! * The run summary is `event.kind: "event"`, `event.category: ["host"]`,
//!   `event.type: ["info"]`, `event.outcome` `success` for a complete run and `failure` for an
//!   incomplete one, `event.start`/`event.end`, and `ferret.summary.*` (complete, result,
//!   counts, why incomplete).
//!
//! `@timestamp` is the event's time for a log finding and the run's end otherwise. Keys are
//! written sorted, as nested objects.

use std::io::{self, Write};

use chrono::SecondsFormat;
use ferret_core::{Engine, Finding};
use serde_json::{Value, json};

use crate::{Report, put};

/// The ECS version the documents follow (`ecs.version`).
pub const ECS_VERSION: &str = "8.11.0";

fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn common(report: &Report, time: chrono::DateTime<chrono::Utc>, dataset: &str) -> Value {
    let mut v = json!({});
    put(&mut v, "@timestamp", ts(time));
    put(&mut v, "ecs.version", ECS_VERSION);
    put(&mut v, "agent.type", "ferret");
    put(&mut v, "agent.name", "ferret");
    put(&mut v, "agent.version", report.tool.version.clone());
    put(&mut v, "host.name", report.host.clone());
    put(&mut v, "host.hostname", report.host.clone());
    put(&mut v, "event.module", "ferret");
    put(&mut v, "event.dataset", dataset);
    put(&mut v, "event.created", ts(report.finished));
    put(&mut v, "ferret.run_id", report.run_id.clone());
    put(&mut v, "ferret.verb", report.verb.clone());
    v
}

/// `event.category` and `event.type` for a finding of `engine`.
fn categories(f: &Finding) -> (Vec<&'static str>, Vec<&'static str>) {
    match f.engine {
        Engine::Hash | Engine::Filename | Engine::Yara | Engine::Artefact => {
            (vec!["file", "malware"], vec!["info"])
        }
        Engine::Integrity => (vec!["file"], vec!["change"]),
        Engine::Check if f.path.is_some() && f.log.is_none() => {
            (vec!["file", "intrusion_detection"], vec!["info"])
        }
        Engine::Sigma | Engine::Check => (vec!["intrusion_detection"], vec!["info"]),
    }
}

/// The ECS field an evidence label maps to, for the labels log sources use for a process
/// image, a command line or a URL (compared case-insensitively, `-` and `_` ignored).
fn evidence_field(label: &str) -> Option<&'static str> {
    let key: String =
        label.chars().filter(|c| !matches!(c, '-' | '_')).flat_map(char::to_lowercase).collect();
    Some(match key.as_str() {
        "image" | "processname" | "newprocessname" | "exe" => "process.executable",
        "commandline" | "processcommandline" | "cmdline" => "process.command_line",
        "parentimage" | "parentprocessname" => "process.parent.executable",
        "parentcommandline" => "process.parent.command_line",
        "csuristem" | "uristem" | "urlpath" => "url.path",
        "curi" | "url" | "uri" | "csuri" | "requesturl" => "url.original",
        _ => return None,
    })
}

/// ATT&CK technique ids (`T1059`, `T1059.001`) from Sigma-style tags (`attack.t1059.001`).
fn techniques(f: &Finding) -> Vec<String> {
    let Some(tags) = f.details.get("tags").and_then(Value::as_array) else { return vec![] };
    let mut out: Vec<String> = tags
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|t| t.strip_prefix("attack.t").or_else(|| t.strip_prefix("attack.T")))
        .filter(|rest| rest.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .map(|rest| format!("T{}", rest.to_ascii_uppercase()))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn finding_doc(report: &Report, i: usize, f: &Finding) -> Value {
    let mut v = common(report, f.time.unwrap_or(report.finished), "ferret.finding");
    let (cat, typ) = categories(f);
    put(&mut v, "event.kind", "alert");
    put(&mut v, "event.category", json!(cat));
    put(&mut v, "event.type", json!(typ));
    put(&mut v, "event.id", crate::record_uid(report, 'f', i));
    put(&mut v, "event.provider", f.engine.as_str());
    put(&mut v, "event.severity", u64::from(f.score));
    put(&mut v, "event.risk_score", f64::from(f.score));
    put(&mut v, "log.level", f.severity.as_str());
    let mut message = f.rule.name.clone();
    if let Some(m) = &f.message {
        message.push_str(": ");
        message.push_str(m);
    }
    put(&mut v, "message", message);
    put(&mut v, "rule.id", f.rule.id.clone());
    put(&mut v, "rule.name", f.rule.name.clone());
    if let Some(s) = &f.rule.source {
        put(&mut v, "rule.ruleset", s.clone());
    }
    if let Some(r) = f.rule.references.first() {
        put(&mut v, "rule.reference", r.clone());
    }
    if let Some(c) = f.details.get("campaign").and_then(Value::as_str) {
        put(&mut v, "rule.category", c);
        // ECS 8 has no campaign field; `threat.group.name` is "a set of related intrusion
        // activity tracked by a common name in the security community".
        put(&mut v, "threat.group.name", c);
    }
    if let Some(p) = &f.path {
        let lossy = p.lossy().into_owned();
        if f.log.is_some() {
            put(&mut v, "log.file.path", lossy);
        } else {
            let (dir, name) = match lossy.rfind(['/', '\\']) {
                Some(n) => (lossy.get(..n).unwrap_or(""), lossy.get(n + 1..).unwrap_or("")),
                None => ("", lossy.as_str()),
            };
            put(&mut v, "file.name", name);
            if !dir.is_empty() {
                put(&mut v, "file.directory", dir);
            }
            put(&mut v, "file.path", lossy.clone());
        }
        if let Some(b) = crate::path_b64(p) {
            put(&mut v, "ferret.path_b64", b);
        }
    }
    if let Some(s) = f.size {
        put(&mut v, "file.size", s);
    }
    if let Some(h) = &f.sha256 {
        put(&mut v, "file.hash.sha256", h.clone());
    }
    if let Some(l) = &f.log {
        if let Some(x) = &l.format {
            put(&mut v, "ferret.log.format", x.clone());
        }
        if let Some(x) = l.record_id {
            put(&mut v, "ferret.log.record_id", x);
        }
        if let Some(x) = l.line {
            put(&mut v, "ferret.log.line", x);
        }
        if let Some(x) = &l.channel {
            put(&mut v, "ferret.log.channel", x.clone());
        }
    }
    if let Some(code) = f.details.get("event_id") {
        let code = match code {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        put(&mut v, "event.code", code);
    }
    for e in &f.evidence {
        if let Some(field) = evidence_field(&e.label)
            && v.pointer(&format!("/{}", field.replace('.', "/"))).is_none()
        {
            put(&mut v, field, e.data.clone());
        }
    }
    let techniques = techniques(f);
    if !techniques.is_empty() {
        put(&mut v, "threat.framework", "MITRE ATT&CK");
        put(&mut v, "threat.technique.id", json!(techniques));
    }
    threat(&mut v, f);
    if let Some(tags) = f.details.get("tags").and_then(Value::as_array) {
        let tags: Vec<&str> = tags.iter().filter_map(Value::as_str).collect();
        if !tags.is_empty() {
            put(&mut v, "tags", json!(tags));
        }
    }
    put(&mut v, "ferret.engine", f.engine.as_str());
    put(&mut v, "ferret.severity", f.severity.as_str());
    put(&mut v, "ferret.score", f.score);
    if !f.evidence.is_empty() {
        put(&mut v, "ferret.evidence", serde_json::to_value(&f.evidence).unwrap_or(Value::Null));
    }
    if !f.details.is_empty() {
        put(&mut v, "ferret.details", serde_json::to_value(&f.details).unwrap_or(Value::Null));
    }
    v
}

/// The `threat.*` fields ECS 8 defines beyond ATT&CK: the malware family a campaign detector
/// names (`threat.software.*`) and the indicator a finding matched (`threat.indicator.*`, with
/// its provider, the intel table or IOC file it came from). The campaign itself is
/// `threat.group.name`, set with `rule.category`.
fn threat(v: &mut Value, f: &Finding) {
    let evidence =
        |label: &str| f.evidence.iter().find(|e| e.label == label).map(|e| e.data.as_str());
    if let Some(family) = evidence("family") {
        put(v, "threat.software.name", family);
        put(v, "threat.software.type", "Malware");
    }
    if let Some(ind) = f.details.get("network_indicator").and_then(Value::as_str) {
        let (kind, field) = match ind.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(_)) => ("ipv4-addr", "threat.indicator.ip"),
            Ok(std::net::IpAddr::V6(_)) => ("ipv6-addr", "threat.indicator.ip"),
            Err(_) if ind.contains("://") => ("url", "threat.indicator.url.full"),
            Err(_) => ("domain-name", "threat.indicator.url.domain"),
        };
        put(v, "threat.indicator.type", kind);
        put(v, field, ind);
        if let Some(p) = evidence("indicator_source").or_else(|| evidence("origin")) {
            put(v, "threat.indicator.provider", p);
        }
    } else if f.engine == Engine::Hash {
        let digests: Vec<&ferret_core::Evidence> = f
            .evidence
            .iter()
            .filter(|e| matches!(e.label.as_str(), "md5" | "sha1" | "sha256"))
            .collect();
        if digests.is_empty() {
            return;
        }
        put(v, "threat.indicator.type", "file");
        for e in digests {
            put(v, &format!("threat.indicator.file.hash.{}", e.label), e.data.clone());
        }
        if let Some(s) = &f.rule.source {
            put(v, "threat.indicator.provider", s.clone());
        }
    }
}

/// The documents, in order: findings, problems, then the run summary.
pub fn documents(report: &Report) -> Vec<Value> {
    let mut out = Vec::with_capacity(report.findings.len() + report.problems.len() + 1);
    for (i, f) in report.findings.iter().enumerate() {
        out.push(finding_doc(report, i, f));
    }
    for (i, p) in report.problems.iter().enumerate() {
        let mut v = common(report, report.finished, "ferret.problem");
        put(&mut v, "event.kind", "event");
        put(&mut v, "event.category", json!([if p.path.is_some() { "file" } else { "host" }]));
        put(&mut v, "event.type", json!(["error"]));
        put(&mut v, "event.outcome", "failure");
        put(&mut v, "event.action", "ferret-problem");
        put(&mut v, "event.id", crate::record_uid(report, 'p', i));
        put(&mut v, "log.level", if p.kind.makes_incomplete() { "warning" } else { "info" });
        put(&mut v, "error.type", p.kind.as_str());
        put(&mut v, "error.message", p.reason.clone());
        let mut message = format!("problem: {}: {}", p.kind, p.reason);
        if let Some(path) = &p.path {
            put(&mut v, "file.path", path.lossy().into_owned());
            if let Some(b) = crate::path_b64(path) {
                put(&mut v, "ferret.path_b64", b);
            }
            message = format!("{message} ({})", path.lossy());
        }
        put(&mut v, "message", message);
        if let Some(pos) = &p.position {
            put(&mut v, "ferret.problem.position", pos.clone());
        }
        put(&mut v, "ferret.problem.makes_incomplete", p.kind.makes_incomplete());
        out.push(v);
    }
    let s = &report.summary;
    let mut v = common(report, report.finished, "ferret.summary");
    put(&mut v, "event.kind", "event");
    put(&mut v, "event.category", json!(["host"]));
    put(&mut v, "event.type", json!(["info"]));
    put(&mut v, "event.action", "ferret-run");
    put(&mut v, "event.outcome", if s.complete { "success" } else { "failure" });
    put(&mut v, "event.id", crate::record_uid(report, 's', 0));
    put(&mut v, "event.start", ts(report.started));
    put(&mut v, "event.end", ts(report.finished));
    let nanos = (report.finished - report.started).num_nanoseconds().unwrap_or(i64::MAX).max(0);
    put(&mut v, "event.duration", nanos);
    put(&mut v, "log.level", if s.complete { "info" } else { "warning" });
    put(&mut v, "message", crate::summary_message(report));
    if !s.complete {
        let why = if s.incomplete_reasons.is_empty() {
            "problems made the run incomplete".to_owned()
        } else {
            s.incomplete_reasons.join("; ")
        };
        put(&mut v, "event.reason", why);
    }
    put(&mut v, "ferret.summary.schema_version", report.schema_version);
    put(&mut v, "ferret.summary.complete", s.complete);
    put(&mut v, "ferret.summary.result", s.result_line());
    put(&mut v, "ferret.summary.targets", json!(report.targets));
    put(&mut v, "ferret.summary.findings_total", s.findings_total());
    put(&mut v, "ferret.summary.problems_total", s.problems_total() + report.problems_dropped);
    put(&mut v, "ferret.summary.problems_dropped", report.problems_dropped);
    put(
        &mut v,
        "ferret.summary.findings",
        serde_json::to_value(&s.findings).unwrap_or(Value::Null),
    );
    put(
        &mut v,
        "ferret.summary.problems",
        serde_json::to_value(&s.problems).unwrap_or(Value::Null),
    );
    put(&mut v, "ferret.summary.counters", json!(s.counters));
    put(&mut v, "ferret.summary.skipped", json!(s.skipped));
    put(&mut v, "ferret.summary.rules", serde_json::to_value(&s.rules).unwrap_or(Value::Null));
    put(&mut v, "ferret.summary.incomplete_reasons", json!(s.incomplete_reasons));
    put(&mut v, "ferret.summary.not_checked", json!(s.not_checked));
    put(&mut v, "ferret.summary.interrupted", s.interrupted);
    put(&mut v, "ferret.summary.nothing_examined", s.nothing_examined);
    let verdicts = report.verdicts();
    if !verdicts.is_empty() {
        put(
            &mut v,
            "ferret.summary.verdicts",
            serde_json::to_value(&verdicts).unwrap_or(Value::Null),
        );
    }
    out.push(v);
    out
}

/// Writes the report as ECS NDJSON.
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    crate::write_json_lines(documents(report), out)
}
