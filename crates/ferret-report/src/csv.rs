//! CSV: one row per finding, then one row per problem, then (for `ferret check`) one row per
//! campaign verdict (`type` column first; a verdict row has the campaign in `rule_id`, the
//! verdict in `rule_name`, the reason in `message`, what was and was not checked in
//! `evidence`, and the oldest log event in `time`), then one `run` row: the verb in
//! `rule_id`, the result line in `message`, the targets in `path`, the start time (UTC, RFC
//! 3339) in `time` and the finish time in `location`.
//!
//! Cells holding attacker-controlled text are escaped with [`ferret_core::text::escape`]
//! (no raw newlines or escape sequences) and, when they start with `=`, `+`, `-` or `@`,
//! prefixed with `'` so that a spreadsheet never evaluates them as formulas.

use std::borrow::Cow;
use std::io::{self, Write};

use ferret_core::text::escape;

use crate::Report;

/// The header row.
pub const HEADER: [&str; 14] = [
    "type",
    "engine",
    "severity",
    "score",
    "rule_id",
    "rule_name",
    "path",
    "size",
    "sha256",
    "time",
    "location",
    "message",
    "evidence",
    "source",
];

/// One cell of attacker-controlled text: escaped, and prefixed with `'` when a spreadsheet
/// would take it for a formula. Public so that ferret's other CSV files (the collector's
/// roll-up export) defuse their cells the same way.
pub fn cell(s: &str) -> Cow<'_, str> {
    let e = escape(s);
    if e.starts_with(['=', '+', '-', '@']) { Cow::Owned(format!("'{e}")) } else { e }
}

/// Appends one record to `out` with RFC 4180 quoting (a header row, or cells the caller
/// has passed through [`cell`] when they hold text from outside).
pub fn append_record(out: &mut Vec<u8>, cells: &[&str]) -> io::Result<()> {
    let mut w = ::csv::WriterBuilder::new().buffer_capacity(512).from_writer(out);
    w.write_record(cells).map_err(|e| to_io(&e))?;
    w.flush()
}

fn to_io(e: &::csv::Error) -> io::Error {
    io::Error::other(e.to_string())
}

/// Writes the report as CSV.
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut w = ::csv::Writer::from_writer(out);
    w.write_record(HEADER).map_err(|e| to_io(&e))?;
    for f in &report.findings {
        let path = f.path.as_ref().map(|p| p.lossy().into_owned()).unwrap_or_default();
        let location = f
            .log
            .as_ref()
            .map(|l| match (l.record_id, l.line) {
                (Some(r), _) => format!("record {r}"),
                (None, Some(n)) => format!("line {n}"),
                _ => String::new(),
            })
            .unwrap_or_default();
        let evidence = f
            .evidence
            .iter()
            .map(|e| match e.offset {
                Some(o) => format!("{}@{o}={}", e.label, e.data),
                None => format!("{}={}", e.label, e.data),
            })
            .collect::<Vec<_>>()
            .join(" | ");
        let row: [Cow<'_, str>; 14] = [
            "finding".into(),
            f.engine.as_str().into(),
            f.severity.as_str().into(),
            f.score.to_string().into(),
            cell(&f.rule.id),
            cell(&f.rule.name),
            cell(&path).into_owned().into(),
            f.size.map(|s| s.to_string()).unwrap_or_default().into(),
            f.sha256.clone().unwrap_or_default().into(),
            f.time.map(|t| t.to_rfc3339()).unwrap_or_default().into(),
            location.into(),
            cell(f.message.as_deref().unwrap_or("")),
            cell(&evidence).into_owned().into(),
            cell(f.rule.source.as_deref().unwrap_or("")),
        ];
        w.write_record(row.iter().map(|c| c.as_bytes())).map_err(|e| to_io(&e))?;
    }
    for p in &report.problems {
        let path = p.path.as_ref().map(|p| p.lossy().into_owned()).unwrap_or_default();
        let row: [Cow<'_, str>; 14] = [
            "problem".into(),
            "".into(),
            "".into(),
            "".into(),
            p.kind.as_str().into(),
            "".into(),
            cell(&path).into_owned().into(),
            "".into(),
            "".into(),
            "".into(),
            cell(p.position.as_deref().unwrap_or("")),
            cell(&p.reason),
            "".into(),
            "".into(),
        ];
        w.write_record(row.iter().map(|c| c.as_bytes())).map_err(|e| to_io(&e))?;
    }
    for v in report.verdicts() {
        let oldest = v.sources.iter().filter_map(|s| s.first).min();
        let evidence = v
            .checked
            .iter()
            .map(|c| format!("checked: {c}"))
            .chain(v.not_checked.iter().map(|c| format!("not checked: {c}")))
            .collect::<Vec<_>>()
            .join(" | ");
        let row: [Cow<'_, str>; 14] = [
            "verdict".into(),
            "check".into(),
            "".into(),
            "".into(),
            cell(&v.campaign).into_owned().into(),
            v.verdict.label().into(),
            "".into(),
            "".into(),
            "".into(),
            oldest.map(|t| t.to_rfc3339()).unwrap_or_default().into(),
            "".into(),
            cell(&v.reason).into_owned().into(),
            cell(&evidence).into_owned().into(),
            "builtin:ferret-checks".into(),
        ];
        w.write_record(row.iter().map(|c| c.as_bytes())).map_err(|e| to_io(&e))?;
    }
    let targets = report.targets.join(", ");
    let result = report.summary.result_line();
    let run: [Cow<'_, str>; 14] = [
        "run".into(),
        "".into(),
        "".into(),
        "".into(),
        cell(&report.verb),
        "".into(),
        cell(&targets),
        "".into(),
        "".into(),
        report.started.to_rfc3339().into(),
        report.finished.to_rfc3339().into(),
        cell(&result),
        "".into(),
        "".into(),
    ];
    w.write_record(run.iter().map(|c| c.as_bytes())).map_err(|e| to_io(&e))?;
    w.flush()
}
