//! ferret-report: the versioned report every verb produces, and its renderers.
//!
//! A [`Report`] is one run of one verb: who ran it ([`ToolInfo`], host, run id, times),
//! the findings, the problems and the [`Summary`]. Renderers:
//!
//! * [`jsonl`]: one JSON object per line, the machine format. Specified in
//!   `docs/report-format.md`; every record has `"type"` (`finding`, `problem`, `summary`) and
//!   the summary record carries [`SCHEMA_VERSION`] and the run header.
//! * [`csv`]: one row per finding, then one per problem.
//! * [`html`]: one self-contained page (inline CSS and SVG, no script, no external
//!   reference); the collector's dashboard renders a stored run with the same code.
//! * [`text`]: the terminal view: findings grouped per file, problems, then the summary,
//!   with every attacker-controlled string escaped.
//! * [`timesketch`], [`ecs`], [`ocsf`], [`cef`]: one record per line for timeline tools and
//!   SIEMs (Timesketch JSONL, Elastic Common Schema, OCSF, ArcSight CEF); [`syslog`] frames the
//!   CEF records as RFC 5424 messages and sends them over UDP or TCP. Each carries the
//!   findings, every problem and one run summary record, so an incomplete run shows as such.
//!
//! Renderers sort before writing, so output is deterministic for the same input.

// Rules, reports and requests are third-party input: no panic path outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

pub mod cef;
pub mod csv;
pub mod ecs;
pub mod html;
pub mod jsonl;
pub mod ocsf;
pub mod syslog;
pub mod text;
pub mod timesketch;
pub mod upload;

use chrono::{DateTime, Utc};
use ferret_core::{CampaignVerdict, Finding, Problem, Summary};
use serde::{Deserialize, Serialize};

/// Version of the report wire format. Bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Identity of the ferret that produced a report, so a collector can spot a host whose
/// binary or rules differ from the published ones.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInfo {
    /// Always `ferret`.
    pub name: String,
    /// ferret's version.
    pub version: String,
    /// SHA-256 of the running executable, when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exe_sha256: Option<String>,
    /// SHA-256 over the loaded rule set (sources in load order), when rules were loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ruleset_sha256: Option<String>,
    /// The campaign intel the run used (`check`, and `scan`/`hunt` given `--intel`): the
    /// built-in tables or a signed intel pack. Absent from reports of verbs that use none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intel: Option<IntelInfo>,
}

/// Which campaign intel a run used.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntelInfo {
    /// `builtin` (the tables built into this ferret) or `pack` (a signed intel pack).
    pub origin: String,
    /// SHA-256 of the loaded tables (their paths and bytes): the same for the same intel,
    /// whether built in or packed.
    pub sha256: String,
    /// A pack's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack_id: Option<String>,
    /// A pack's SHA-256 (the whole file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack_sha256: Option<String>,
    /// When the pack was made (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The id of the key that signed the pack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Said when the pack is older than the intel built into this ferret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// One run of one verb.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`] of the writer.
    pub schema_version: u32,
    /// The ferret that ran.
    pub tool: ToolInfo,
    /// The verb: `scan`, `verify`, `hunt`, `check`, …
    pub verb: String,
    /// A unique id for this run (a retry of an upload reuses it).
    pub run_id: String,
    /// The host name ferret ran on.
    pub host: String,
    /// The paths or targets examined.
    #[serde(default)]
    pub targets: Vec<String>,
    /// When the run started.
    pub started: DateTime<Utc>,
    /// When the run finished.
    pub finished: DateTime<Utc>,
    /// What was found.
    pub findings: Vec<Finding>,
    /// What could not be done.
    pub problems: Vec<Problem>,
    /// Problems counted but not kept (beyond the collector's cap).
    #[serde(default)]
    pub problems_dropped: u64,
    /// Counts and coverage.
    pub summary: Summary,
}

impl Report {
    /// The campaign verdicts `ferret check` put in `summary.details["verdicts"]` (empty for
    /// other verbs, or when they do not parse).
    pub fn verdicts(&self) -> Vec<CampaignVerdict> {
        self.summary
            .details
            .get("verdicts")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default()
    }

    /// The timeline `ferret check --timeline` put in `summary.details["timeline"]` (empty
    /// otherwise, or when it does not parse).
    pub fn timeline(&self) -> Vec<ferret_core::TimelineEntry> {
        self.summary
            .details
            .get("timeline")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default()
    }

    /// Sorts findings (by path, then time, then engine and rule) and problems (by path,
    /// then kind), so every renderer is deterministic.
    pub fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            a.path
                .cmp(&b.path)
                .then_with(|| a.time.cmp(&b.time))
                .then_with(|| b.score.cmp(&a.score))
                .then_with(|| a.engine.cmp(&b.engine))
                .then_with(|| a.rule.id.cmp(&b.rule.id))
        });
        self.problems.sort_by(|a, b| {
            a.path
                .cmp(&b.path)
                .then_with(|| a.kind.cmp(&b.kind))
                .then_with(|| a.reason.cmp(&b.reason))
        });
    }

    /// Sorts findings by event time first (the timeline view for log verbs).
    pub fn sort_timeline(&mut self) {
        self.sort();
        self.findings.sort_by_key(|f| f.time);
    }

    /// Recounts `summary.findings` by severity from the findings held.
    pub fn count_findings(&mut self) {
        self.summary.findings.clear();
        for f in &self.findings {
            *self.summary.findings.entry(f.severity).or_default() += 1;
        }
    }
}

/// Writes `v` as compact JSON with every object's keys sorted, so a record's text does not
/// depend on which features of `serde_json` a build enables.
pub(crate) fn write_sorted_json(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String((*k).clone()).to_string());
                out.push(':');
                if let Some(x) = map.get(*k) {
                    write_sorted_json(x, out);
                }
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_sorted_json(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Writes `records` as JSON lines (keys sorted, one record a line) and flushes.
pub(crate) fn write_json_lines(
    records: impl IntoIterator<Item = serde_json::Value>,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let mut line = String::new();
    for r in records {
        line.clear();
        write_sorted_json(&r, &mut line);
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    out.flush()
}

/// Inserts `value` at the dotted `path` of `root` (an object), creating the objects between.
pub(crate) fn put(root: &mut serde_json::Value, path: &str, value: impl Into<serde_json::Value>) {
    let mut cur = root;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        if !cur.is_object() {
            *cur = serde_json::Value::Object(serde_json::Map::new());
        }
        let Some(map) = cur.as_object_mut() else { return };
        if parts.peek().is_none() {
            map.insert(part.to_owned(), value.into());
            return;
        }
        cur = map.entry(part.to_owned()).or_insert_with(|| serde_json::json!({}));
    }
}

/// A stable id for a record of a run: `RUN-f3` for the fourth finding, `RUN-p0` for the first
/// problem, `RUN-summary` for the summary.
pub(crate) fn record_uid(report: &Report, kind: char, index: usize) -> String {
    match kind {
        'f' | 'p' => format!("{}-{kind}{index}", report.run_id),
        _ => format!("{}-summary", report.run_id),
    }
}

/// The one line saying how the run ended, as every summary record carries it: the verb,
/// the host and [`Summary::result_line`].
pub(crate) fn summary_message(report: &Report) -> String {
    format!("ferret {} on {}: {}", report.verb, report.host, report.summary.result_line())
}

/// The exact bytes of a path that is not UTF-8, in standard base64 (as in the JSONL
/// report's `path_b64`); `None` for a UTF-8 path.
pub(crate) fn path_b64(p: &ferret_core::ReportPath) -> Option<String> {
    if p.is_utf8() {
        return None;
    }
    serde_json::to_value(p).ok()?.get("path_b64")?.as_str().map(str::to_owned)
}

/// The README's example, run as a doctest so it keeps compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
