//! JSON lines: one record per line, `"type"` first.
//!
//! The order is: every finding (`"type":"finding"`), every problem (`"type":"problem"`),
//! then exactly one `"type":"summary"` record carrying the run header (`schema_version`,
//! `tool`, `verb`, `run_id`, `host`, `targets`, `started`, `finished`) and the [`Summary`]
//! fields. Paths are lossless (`path` + `path_b64`); strings are JSON-escaped, never
//! altered. See `docs/report-format.md`.
//!
//! [`Summary`]: ferret_core::Summary

use std::io::{self, Write};

use serde::Serialize;

use crate::Report;

/// A record: `"type"` first, then the fields of `inner` in declaration order. Serialized
/// directly (not through `serde_json::Value`), so the order of the fields does not depend on
/// which features of `serde_json` a build happens to enable.
#[derive(Serialize)]
struct Tagged<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    inner: &'a T,
}

#[derive(Serialize)]
struct SummaryRecord<'a> {
    schema_version: u32,
    tool: &'a crate::ToolInfo,
    verb: &'a str,
    run_id: &'a str,
    host: &'a str,
    targets: &'a [String],
    started: &'a chrono::DateTime<chrono::Utc>,
    finished: &'a chrono::DateTime<chrono::Utc>,
    problems_dropped: u64,
    #[serde(flatten)]
    summary: &'a ferret_core::Summary,
}

/// Writes the report as JSON lines.
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for f in &report.findings {
        serde_json::to_writer(&mut *out, &Tagged { kind: "finding", inner: f })?;
        out.write_all(b"\n")?;
    }
    for p in &report.problems {
        serde_json::to_writer(&mut *out, &Tagged { kind: "problem", inner: p })?;
        out.write_all(b"\n")?;
    }
    let rec = SummaryRecord {
        schema_version: report.schema_version,
        tool: &report.tool,
        verb: &report.verb,
        run_id: &report.run_id,
        host: &report.host,
        targets: &report.targets,
        started: &report.started,
        finished: &report.finished,
        problems_dropped: report.problems_dropped,
        summary: &report.summary,
    };
    serde_json::to_writer(&mut *out, &Tagged { kind: "summary", inner: &rec })?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Error reading a JSONL report back.
#[derive(Debug)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What was wrong, lowercase.
    pub reason: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for ParseError {}

#[derive(serde::Deserialize)]
struct Header {
    schema_version: u32,
    tool: crate::ToolInfo,
    verb: String,
    run_id: String,
    host: String,
    #[serde(default)]
    targets: Vec<String>,
    started: chrono::DateTime<chrono::Utc>,
    finished: chrono::DateTime<chrono::Utc>,
    #[serde(default)]
    problems_dropped: u64,
}

/// Reads a JSONL report back into a [`Report`] (the collector's input). Unknown fields are
/// ignored; a missing or repeated summary record, an unknown `type` or a newer
/// `schema_version` is an error.
pub fn parse(text: &str) -> Result<Report, ParseError> {
    let mut findings = Vec::new();
    let mut problems = Vec::new();
    let mut summary: Option<(usize, serde_json::Value)> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let mut v: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| ParseError { line: n, reason: format!("not json: {e}") })?;
        let kind = v
            .get("type")
            .and_then(|t| t.as_str())
            .ok_or_else(|| ParseError { line: n, reason: "record has no \"type\"".into() })?
            .to_owned();
        if let Some(obj) = v.as_object_mut() {
            obj.remove("type");
        }
        match kind.as_str() {
            "finding" => findings.push(
                serde_json::from_value(v)
                    .map_err(|e| ParseError { line: n, reason: format!("bad finding: {e}") })?,
            ),
            "problem" => problems.push(
                serde_json::from_value(v)
                    .map_err(|e| ParseError { line: n, reason: format!("bad problem: {e}") })?,
            ),
            "summary" => {
                if summary.is_some() {
                    return Err(ParseError { line: n, reason: "second summary record".into() });
                }
                summary = Some((n, v));
            }
            other => {
                return Err(ParseError {
                    line: n,
                    reason: format!("unknown record type {other:?}"),
                });
            }
        }
    }
    let (n, v) = summary.ok_or_else(|| ParseError {
        line: text.lines().count(),
        reason: "no summary record".into(),
    })?;
    let header: Header = serde_json::from_value(v.clone())
        .map_err(|e| ParseError { line: n, reason: format!("bad summary header: {e}") })?;
    if header.schema_version > crate::SCHEMA_VERSION {
        return Err(ParseError {
            line: n,
            reason: format!(
                "schema_version {} is newer than this reader's {}",
                header.schema_version,
                crate::SCHEMA_VERSION
            ),
        });
    }
    let summary: ferret_core::Summary = serde_json::from_value(v)
        .map_err(|e| ParseError { line: n, reason: format!("bad summary: {e}") })?;
    Ok(Report {
        schema_version: header.schema_version,
        tool: header.tool,
        verb: header.verb,
        run_id: header.run_id,
        host: header.host,
        targets: header.targets,
        started: header.started,
        finished: header.finished,
        findings,
        problems,
        problems_dropped: header.problems_dropped,
        summary,
    })
}
