//! ArcSight Common Event Format (CEF 0): one record per line,
//! `CEF:0|ferret|ferret|VERSION|SIGNATURE|NAME|SEVERITY|EXTENSION`.
//!
//! * A finding: signature = the rule id, name = the rule name, severity = score / 10
//!   (0–10); extension `rt` (event or run time, ms since 1970), `dvchost`, `cat` (engine),
//!   `msg`, `filePath`/`fname`/`fsize`/`fileHash` for a file, `externalId` (record id),
//!   `cn1` (score), `cs1` (rule source), `cs2` (campaign), `cs3` (log location), `cs4`
//!   (evidence), each `csN`/`cnN` with its `csNLabel`/`cnNLabel`.
//! * A problem: signature `ferret:problem:KIND`, name `problem: KIND`, severity 5 for kinds
//!   that make a run incomplete and 1 otherwise; `reason` = the kind, `msg` = the reason,
//!   `filePath` when a file is concerned.
//! * The run summary: signature `ferret:summary`, name `run complete` or `run incomplete`,
//!   severity 1 (complete) or 5 (incomplete); `start`, `end`, `outcome` (`complete` or
//!   `incomplete`), `msg` (the result line and why), `cnt` (findings), `cn1` (problems),
//!   `cn2` (rules not loaded), `cs1` (verb), `cs2` (targets), `cs3` (verdicts).
//!
//! Escaping follows the CEF rules: in the header `\` and `|` are backslash-escaped; in
//! extension values `\` and `=` are, and a newline is `\n`, a carriage return `\r`. Every other
//! control or bidi character becomes `\u{XXXX}` (via [`ferret_core::text::escape`]), so a
//! record is always one line. A path that is not UTF-8 keeps its exact bytes as `\xNN`.

use std::fmt::Write as _;
use std::io::{self, Write};

use ferret_core::text::is_dangerous;
use ferret_core::{Finding, ReportPath, Severity};

use crate::Report;

/// What a record is about, for the syslog severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    /// A finding of this severity.
    Finding(Severity),
    /// A problem; `true` when it makes the run incomplete.
    Problem(bool),
    /// The run summary; `true` when the run was complete.
    Summary(bool),
}

/// One CEF record (without a line end).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// What the record is about.
    pub kind: RecordKind,
    /// The CEF text, one line.
    pub text: String,
}

fn escape_common(s: &str, extra: char, out: &mut String) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == extra => {
                out.push('\\');
                out.push(c);
            }
            c if is_dangerous(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// A header field (vendor, product, version, signature, name) escaped: `\` and `|`.
pub fn header(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_common(s, '|', &mut out);
    out
}

/// An extension value escaped: `\`, `=`, newlines; other control characters made visible.
pub fn value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_common(s, '=', &mut out);
    out
}

/// A path as an extension value: UTF-8 text escaped as by [`value`], any byte that is not
/// UTF-8 as `\xNN` (so the exact name can be recovered: a literal backslash is `\\`).
pub fn path_value(p: &ReportPath) -> String {
    let mut out = String::new();
    for chunk in p.as_bytes().utf8_chunks() {
        escape_common(chunk.valid(), '=', &mut out);
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// An extension under construction: `key=value` pairs separated by spaces.
struct Ext(String);

impl Ext {
    fn add(&mut self, key: &str, v: &str) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        self.0.push_str(key);
        self.0.push('=');
        self.0.push_str(&value(v));
    }

    fn add_path(&mut self, key: &str, p: &ReportPath) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        self.0.push_str(key);
        self.0.push('=');
        self.0.push_str(&path_value(p));
    }

    fn labelled(&mut self, key: &str, label: &str, v: &str) {
        self.add(key, v);
        self.add(&format!("{key}Label"), label);
    }
}

fn line(version: &str, signature: &str, name: &str, severity: u8, ext: &Ext) -> String {
    format!(
        "CEF:0|ferret|ferret|{}|{}|{}|{}|{}",
        header(version),
        header(signature),
        header(name),
        severity.min(10),
        ext.0
    )
}

fn finding_record(report: &Report, i: usize, f: &Finding) -> Record {
    let mut e = Ext(String::new());
    e.add("rt", &f.time.unwrap_or(report.finished).timestamp_millis().to_string());
    e.add("dvchost", &report.host);
    e.add("externalId", &crate::record_uid(report, 'f', i));
    e.add("cat", f.engine.as_str());
    let mut msg = f.message.clone().unwrap_or_else(|| f.rule.name.clone());
    if let Some(r) = f.rule.references.first() {
        let _ = write!(msg, " (see {r})");
    }
    e.add("msg", &msg);
    if let Some(p) = &f.path {
        e.add_path("filePath", p);
        let name = ReportPath::from(
            p.as_bytes().rsplit(|b| *b == b'/' || *b == b'\\').next().unwrap_or_default().to_vec(),
        );
        e.add_path("fname", &name);
    }
    if let Some(s) = f.size {
        e.add("fsize", &s.to_string());
    }
    if let Some(h) = &f.sha256 {
        e.add("fileHash", h);
    }
    e.labelled("cn1", "score", &f.score.to_string());
    if let Some(s) = &f.rule.source {
        e.labelled("cs1", "ruleSource", s);
    }
    if let Some(c) = f.details.get("campaign").and_then(serde_json::Value::as_str) {
        e.labelled("cs2", "campaign", c);
    }
    if let Some(l) = &f.log {
        let mut at = Vec::new();
        if let Some(x) = &l.format {
            at.push(x.clone());
        }
        if let Some(x) = &l.channel {
            at.push(format!("channel {x}"));
        }
        if let Some(x) = l.record_id {
            at.push(format!("record {x}"));
        }
        if let Some(x) = l.line {
            at.push(format!("line {x}"));
        }
        e.labelled("cs3", "logLocation", &at.join(" "));
    }
    if !f.evidence.is_empty() {
        let text: Vec<String> = f
            .evidence
            .iter()
            .map(|x| match x.offset {
                Some(o) => format!("{}@{o}: {}", x.label, x.data),
                None => format!("{}: {}", x.label, x.data),
            })
            .collect();
        e.labelled("cs4", "evidence", &text.join(" | "));
    }
    Record {
        kind: RecordKind::Finding(f.severity),
        text: line(&report.tool.version, &f.rule.id, &f.rule.name, f.score / 10, &e),
    }
}

/// The records, in order: findings, problems, then the run summary.
pub fn records(report: &Report) -> Vec<Record> {
    let mut out = Vec::with_capacity(report.findings.len() + report.problems.len() + 1);
    for (i, f) in report.findings.iter().enumerate() {
        out.push(finding_record(report, i, f));
    }
    for (i, p) in report.problems.iter().enumerate() {
        let mut e = Ext(String::new());
        e.add("rt", &report.finished.timestamp_millis().to_string());
        e.add("dvchost", &report.host);
        e.add("externalId", &crate::record_uid(report, 'p', i));
        e.add("reason", p.kind.as_str());
        e.add("msg", &p.reason);
        if let Some(path) = &p.path {
            e.add_path("filePath", path);
        }
        if let Some(pos) = &p.position {
            e.labelled("cs1", "position", pos);
        }
        let incomplete = p.kind.makes_incomplete();
        out.push(Record {
            kind: RecordKind::Problem(incomplete),
            text: line(
                &report.tool.version,
                &format!("ferret:problem:{}", p.kind),
                &format!("problem: {}", p.kind),
                if incomplete { 5 } else { 1 },
                &e,
            ),
        });
    }
    let s = &report.summary;
    let mut e = Ext(String::new());
    e.add("rt", &report.finished.timestamp_millis().to_string());
    e.add("dvchost", &report.host);
    e.add("externalId", &crate::record_uid(report, 's', 0));
    e.add("start", &report.started.timestamp_millis().to_string());
    e.add("end", &report.finished.timestamp_millis().to_string());
    e.add("outcome", if s.complete { "complete" } else { "incomplete" });
    e.add("msg", &crate::summary_message(report));
    e.add("cnt", &s.findings_total().to_string());
    e.labelled("cn1", "problems", &(s.problems_total() + report.problems_dropped).to_string());
    e.labelled("cn2", "rulesNotLoaded", &s.rules.not_loaded_total().to_string());
    e.labelled("cs1", "verb", &report.verb);
    e.labelled("cs2", "targets", &report.targets.join(" "));
    let verdicts = report.verdicts();
    if !verdicts.is_empty() {
        let v: Vec<String> =
            verdicts.iter().map(|v| format!("{}: {}", v.campaign, v.verdict.label())).collect();
        e.labelled("cs3", "verdicts", &v.join("; "));
    }
    if !s.incomplete_reasons.is_empty() {
        e.labelled("cs4", "incompleteReasons", &s.incomplete_reasons.join("; "));
    }
    out.push(Record {
        kind: RecordKind::Summary(s.complete),
        text: line(
            &report.tool.version,
            "ferret:summary",
            if s.complete { "run complete" } else { "run incomplete" },
            if s.complete { 1 } else { 5 },
            &e,
        ),
    });
    out
}

/// Writes the report as CEF, one record per line.
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for r in records(report) {
        out.write_all(r.text.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_per_cef_rules() {
        assert_eq!(header(r"a|b\c"), r"a\|b\\c");
        assert_eq!(value("a=b\\c\nd\re|f"), "a\\=b\\\\c\\nd\\re|f");
        assert_eq!(value("x\u{1b}[31m\u{202e}"), "x\\u{001b}[31m\\u{202e}");
    }

    #[test]
    fn non_utf8_paths_keep_their_bytes() {
        let p = ReportPath::from(b"/srv/a\xff=b\\c".to_vec());
        let mut e = Ext(String::new());
        e.add_path("filePath", &p);
        assert_eq!(e.0, "filePath=/srv/a\\xff\\=b\\\\c");
    }
}
