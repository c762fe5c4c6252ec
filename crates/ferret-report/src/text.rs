//! The terminal view: findings grouped per file (or per log), problems, then the summary.
//!
//! Every string that came from the examined system goes through
//! [`ferret_core::text::escape`], so names and matched data cannot drive the terminal.

use std::fmt::Write as _;
use std::io::{self, Write};

use ferret_core::text::escape;
use ferret_core::{Finding, ReportPath, Severity};

use crate::Report;

/// Options for the text view.
#[derive(Clone, Copy, Debug)]
pub struct TextOptions {
    /// Most problems listed one by one (the rest are counted).
    pub max_problems: usize,
    /// Use ANSI colours for severities.
    pub color: bool,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions { max_problems: 50, color: false }
    }
}

fn sev_label(s: Severity, color: bool) -> String {
    let name = s.as_str().to_ascii_uppercase();
    if !color {
        return format!("{name:<8}");
    }
    let code = match s {
        Severity::Critical => "1;31",
        Severity::High => "31",
        Severity::Medium => "33",
        Severity::Low => "36",
        Severity::Info => "2",
    };
    format!("\x1b[{code}m{name:<8}\x1b[0m")
}

fn finding_lines(f: &Finding, opts: TextOptions, out: &mut String) {
    let _ = write!(
        out,
        "  {} {:>3}  {:<9} {}",
        sev_label(f.severity, opts.color),
        f.score,
        f.engine.as_str(),
        escape(&f.rule.name)
    );
    if f.rule.id != f.rule.name && !f.rule.id.is_empty() {
        let _ = write!(out, "  [{}]", escape(&f.rule.id));
    }
    out.push('\n');
    if let Some(t) = f.time {
        let _ = write!(out, "      time: {}", t.to_rfc3339());
        if let Some(l) = &f.log {
            if let Some(r) = l.record_id {
                let _ = write!(out, "  record {r}");
            }
            if let Some(n) = l.line {
                let _ = write!(out, "  line {n}");
            }
        }
        out.push('\n');
    } else if let Some(l) = &f.log
        && let Some(n) = l.line
    {
        let _ = writeln!(out, "      line {n}");
    }
    if let Some(m) = &f.message {
        let _ = writeln!(out, "      {}", escape(m));
    }
    for e in &f.evidence {
        match e.offset {
            Some(o) => {
                let _ = writeln!(out, "      {} @0x{o:x}: {}", escape(&e.label), escape(&e.data));
            }
            None => {
                let _ = writeln!(out, "      {}: {}", escape(&e.label), escape(&e.data));
            }
        }
    }
    if let Some(src) = &f.rule.source {
        let _ = writeln!(out, "      source: {}", escape(src));
    }
    for r in &f.rule.references {
        let _ = writeln!(out, "      ref: {}", escape(r));
    }
}

fn path_header(p: Option<&ReportPath>, f: &Finding) -> String {
    let mut s = match p {
        Some(p) => escape(&p.lossy()).into_owned(),
        None => "(no file)".to_owned(),
    };
    if p.is_some_and(|p| !p.is_utf8()) {
        s.push_str("  (name is not UTF-8)");
    }
    if let Some(size) = f.size {
        let _ = write!(s, "  {size} bytes");
    }
    if let Some(h) = &f.sha256 {
        let _ = write!(s, "  sha256 {h}");
    }
    if let Some(p) = &f.provenance {
        let _ = write!(s, "  (in {})", escape(&p.describe()));
    }
    s
}

/// Renders the report for a terminal. The report should be sorted ([`Report::sort`]).
pub fn render(report: &Report, opts: TextOptions) -> String {
    let mut out = String::new();
    rollup_lines(report, &mut out);
    let mut last: Option<Option<&ReportPath>> = None;
    for f in &report.findings {
        let p = f.path.as_ref();
        if last != Some(p) {
            if last.is_some() {
                out.push('\n');
            }
            out.push_str(&path_header(p, f));
            out.push('\n');
            last = Some(p);
        }
        finding_lines(f, opts, &mut out);
    }
    if !report.findings.is_empty() {
        out.push('\n');
    }
    let s = &report.summary;
    let nprob = report.problems.len() as u64 + report.problems_dropped;
    if nprob > 0 {
        let _ = writeln!(out, "Problems ({nprob}):");
        for p in report.problems.iter().take(opts.max_problems) {
            let _ = writeln!(out, "  {p}");
        }
        let hidden = nprob.saturating_sub(opts.max_problems as u64);
        if hidden > 0 {
            let _ = writeln!(out, "  … and {hidden} more (use --format jsonl for all)");
        }
        out.push('\n');
    }
    verdict_lines(report, &mut out);
    timeline_lines(report, &mut out);
    let _ = writeln!(out, "Summary ({} on {}):", report.verb, escape(&report.host));
    if !report.targets.is_empty() {
        let t: Vec<_> = report.targets.iter().map(|t| escape(t).into_owned()).collect();
        let _ = writeln!(out, "  targets:  {}", t.join(", "));
    }
    let secs = (report.finished - report.started).num_milliseconds() as f64 / 1000.0;
    let _ = writeln!(
        out,
        "  started:  {}, finished {} ({secs:.1} s)",
        utc(report.started),
        utc(report.finished)
    );
    if !s.counters.is_empty() {
        let c: Vec<_> = s.counters.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(out, "  counted:  {}", c.join(", "));
    }
    if !s.rules.loaded.is_empty() {
        let c: Vec<_> = s.rules.loaded.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(out, "  rules:    {}", c.join(", "));
    }
    if s.rules.not_loaded_total() > 0 {
        let c: Vec<_> = s.rules.not_loaded.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        let _ =
            writeln!(out, "  rules not loaded: {} ({})", s.rules.not_loaded_total(), c.join(", "));
    }
    if !s.skipped.is_empty() {
        let c: Vec<_> = s.skipped.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(out, "  skipped:  {}", c.join(", "));
    }
    if !s.problems.is_empty() {
        let c: Vec<_> = s.problems.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(out, "  problems: {}", c.join(", "));
    }
    for line in &s.not_checked {
        let _ = writeln!(out, "  not checked: {}", escape(line));
    }
    for line in &s.notes {
        let _ = writeln!(out, "  note:     {}", escape(line));
    }
    let total = s.findings_total();
    let by: Vec<_> = Severity::ALL
        .iter()
        .rev()
        .filter_map(|sev| s.findings.get(sev).map(|n| format!("{sev} {n}")))
        .collect();
    if total > 0 {
        let _ = writeln!(out, "  findings: {total} ({})", by.join(", "));
    } else {
        let _ = writeln!(out, "  findings: none");
    }
    let _ = writeln!(out, "  result:   {}", escape(&s.result_line()));
    out
}

/// A roll-up of the findings an engine put in `summary.details.rollup` (`title`, `lines`;
/// `verify --dpkg` sums up its findings per package), printed above the findings.
fn rollup_lines(report: &Report, out: &mut String) {
    let Some(r) = report.summary.details.get("rollup") else { return };
    let lines: Vec<&str> = r
        .get("lines")
        .and_then(|l| l.as_array())
        .map(|l| l.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    if lines.is_empty() {
        return;
    }
    let title = r.get("title").and_then(|t| t.as_str()).unwrap_or("Summary of the findings");
    let _ = writeln!(out, "{}:", escape(title));
    for l in lines {
        let _ = writeln!(out, "  {}", escape(l));
    }
    out.push('\n');
}

/// The campaign verdicts of `ferret check`, when the report has them.
fn verdict_lines(report: &Report, out: &mut String) {
    let verdicts = report.verdicts();
    if verdicts.is_empty() {
        return;
    }
    let _ = writeln!(out, "Verdicts:");
    for v in &verdicts {
        let _ =
            writeln!(out, "  {:<13} {:<10} {}", v.campaign, v.verdict.label(), escape(&v.title));
        let _ = writeln!(out, "    why: {}", escape(&v.reason));
        for s in &v.sources {
            let span = match (s.first, s.last) {
                (Some(f), Some(l)) => format!("{} … {}", f.to_rfc3339(), l.to_rfc3339()),
                _ => "no event time".to_owned(),
            };
            let _ = writeln!(
                out,
                "    logs: {} — {} file(s), {} event(s), {span}",
                s.source, s.files, s.events
            );
        }
        for c in &v.checked {
            let _ = writeln!(out, "    checked: {}", escape(c));
        }
        for c in &v.not_checked {
            let _ = writeln!(out, "    not checked: {}", escape(c));
        }
    }
    out.push('\n');
}

/// The timeline of `ferret check --timeline`, when the report has one: one line per entry,
/// time, source, and what (findings marked `!`).
fn timeline_lines(report: &Report, out: &mut String) {
    let lines = report.timeline();
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(out, "Timeline:");
    for l in &lines {
        let mark = if l.finding { "!" } else { " " };
        let _ = write!(out, "  {} {mark} {:<24} ", utc(l.time), escape(&l.source));
        if let Some(r) = &l.rule {
            let _ = write!(out, "[{}] ", escape(r));
        }
        let _ = write!(out, "{}", escape(&l.what));
        if let Some(p) = &l.path
            && !l.what.contains(p.as_str())
        {
            let _ = write!(out, " {}", escape(p));
        }
        out.push('\n');
    }
    out.push('\n');
}

/// Writes [`render`]'s output.
pub fn write(report: &Report, opts: TextOptions, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(render(report, opts).as_bytes())?;
    out.flush()
}

/// A time as the terminal view shows it: UTC, to the second, with its zone.
fn utc(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}
