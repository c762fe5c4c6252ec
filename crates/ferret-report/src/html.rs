//! One self-contained HTML file per run. It leads with the answer: the result line and,
//! for `ferret check`, one row per campaign verdict (AFFECTED / NOT FOUND / UNKNOWN, why, what
//! was and was not checked, how far back each log reaches); then the run header, summary,
//! charts by severity and engine, the timeline of log findings, every finding with its
//! evidence, problems, and coverage (what was not checked). Every time on the page is shown
//! one way, in UTC: `2021-03-03 04:05:06 UTC` ([`human_time`]).
//!
//! The file needs no network: the CSS is inline, charts are inline SVG, there is no script
//! and no external reference. Every string from the examined system is passed through
//! [`ferret_core::text::escape`] (control and bidi characters made visible) and then HTML
//! escaped by the template engine (maud), so a file name cannot inject markup.
//!
//! The collector's dashboard shows a stored run with the same [`run_body`], [`STYLE`] and
//! chart functions, so a report looks the same in a file and in the dashboard.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use chrono::{DateTime, Utc};
use ferret_core::text::escape;
use ferret_core::{CampaignVerdict, Engine, Finding, Severity, Verdict};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::Report;

/// The stylesheet shared by the HTML report and the dashboard.
pub const STYLE: &str = r"
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header.top{background:#1d2330;color:#fff;padding:.6em 1.2em;display:flex;gap:1.5em;align-items:center}
header.top a{color:#fff}
main{padding:1em 1.5em;max-width:1200px}
h1{font-size:1.4em;margin:.3em 0}h2{font-size:1.15em;margin:1.2em 0 .4em}
table{border-collapse:collapse;width:100%;background:#fff;margin:.4em 0}
th,td{border:1px solid #d9dde3;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#eef0f3}
code,.mono{font-family:ui-monospace,monospace;font-size:.92em;word-break:break-all}
.sev{display:inline-block;padding:0 .4em;border-radius:3px;color:#fff;font-weight:600}
.sev-critical{background:#8b0000}.sev-high{background:#c62828}.sev-medium{background:#e08a00}
.sev-low{background:#1e88e5}.sev-info{background:#78909c}
.cards{display:flex;flex-wrap:wrap;gap:.8em}
.card{background:#fff;border:1px solid #d9dde3;padding:.5em .9em;min-width:8em}
.card b{display:block;font-size:1.5em}
.ok{color:#2e7d32}.bad{color:#c62828}.warn{color:#b26a00}
svg text{font:11px system-ui,sans-serif;fill:#1d2330}
.st-affected{fill:#c62828;background:#c62828}.st-clean{fill:#2e7d32;background:#2e7d32}
.st-errored{fill:#e08a00;background:#e08a00}.st-pending{fill:#b0bec5;background:#b0bec5}
.st-missing{fill:#546e7a;background:#546e7a}.st-fixed{fill:#81c784;background:#81c784}
.st-incomplete{fill:#8e24aa;background:#8e24aa}
.result{font-size:1.2em;font-weight:600;padding:.4em .7em;background:#fff;border-left:6px solid #78909c}
.result.bad{border-color:#c62828}.result.ok{border-color:#2e7d32}.result.warn{border-color:#e08a00}
.verdict{display:inline-block;padding:.1em .5em;border-radius:3px;color:#fff;font-weight:700;white-space:nowrap}
.verdict-affected{background:#c62828}.verdict-not_found{background:#2e7d32}.verdict-unknown{background:#e08a00}
.bar-critical{fill:#8b0000}.bar-high{fill:#c62828}.bar-medium{fill:#e08a00}
.bar-low{fill:#1e88e5}.bar-info{fill:#78909c}.bar-engine{fill:#455a64}
.legend span{display:inline-block;width:.8em;height:.8em;margin:0 .3em 0 .8em}
form.inline{display:inline}
.filters input,.filters select{margin-right:.5em}
";

/// A horizontal bar chart as inline SVG: one bar per `(label, value, css class)`.
pub fn bar_chart(title: &str, bars: &[(String, u64, String)]) -> String {
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let row = 20u64;
    let height = row * u64::try_from(bars.len()).unwrap_or(0) + 24;
    let width = 420u64;
    let label_w = 110u64;
    let bar_w = width - label_w - 60;
    html! {
        svg width=(width) height=(height) role="img"
            aria-label=(title) {
            title { (title) }
            text x="0" y="14" font-weight="600" { (title) }
            @for (i, (label, value, class)) in bars.iter().enumerate() {
                @let y = 22 + row * u64::try_from(i).unwrap_or(0);
                @let w = if *value == 0 { 0 } else { (value * bar_w / max).max(2) };
                text x="0" y=(y + 13) { (label) }
                rect class=(class) x=(label_w) y=(y + 2) width=(w) height=(row - 6) {}
                text x=(label_w + w + 6) y=(y + 13) { (value) }
            }
        }
    }
    .into_string()
}

/// Stacked columns as inline SVG: one column per `(label, values)`, each value drawn with
/// the class at the same index of `classes`; `names` label the legend.
pub fn stacked_columns(
    title: &str,
    columns: &[(String, Vec<u64>)],
    classes: &[&str],
    names: &[&str],
) -> String {
    let total_max = columns.iter().map(|c| c.1.iter().sum::<u64>()).max().unwrap_or(0).max(1);
    let col_w = 40u64;
    let gap = 10u64;
    let plot_h = 140u64;
    let n = u64::try_from(columns.len()).unwrap_or(0);
    let width = (col_w + gap) * n + 50;
    let height = plot_h + 60;
    let mut legend = String::new();
    for (class, name) in classes.iter().zip(names) {
        let _ = write!(legend, "{}", html! { span class=(class) {} (name) }.into_string());
    }
    html! {
        div {
            svg width=(width) height=(height) role="img"
                aria-label=(title) {
                title { (title) }
                text x="0" y="12" font-weight="600" { (title) }
                text x="0" y=(plot_h + 22) { "0" }
                text x="0" y="30" { (total_max) }
                @for (i, (label, values)) in columns.iter().enumerate() {
                    @let x = 40 + (col_w + gap) * u64::try_from(i).unwrap_or(0);
                    @let segments = stack(values, total_max, plot_h);
                    @for (j, (y, h)) in segments.iter().enumerate() {
                        rect class=(classes.get(j).copied().unwrap_or("")) x=(x) y=(y + 20)
                            width=(col_w) height=(h) {
                            title { (names.get(j).copied().unwrap_or("")) ": " (values.get(j).copied().unwrap_or(0)) }
                        }
                    }
                    text x=(x) y=(plot_h + 36) { (label) }
                }
            }
            div.legend { (PreEscaped(legend)) }
        }
    }
    .into_string()
}

/// `(y, height)` of each stacked segment, bottom first, in a plot `plot_h` high.
fn stack(values: &[u64], max: u64, plot_h: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::with_capacity(values.len());
    let mut base = plot_h;
    for v in values {
        let h = v * plot_h / max;
        base = base.saturating_sub(h);
        out.push((base, h));
    }
    out
}

/// A time as shown everywhere on the page: `2021-03-03 04:05:06 UTC`.
pub fn human_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Affected => "verdict verdict-affected",
        Verdict::NotFound => "verdict verdict-not_found",
        Verdict::Unknown => "verdict verdict-unknown",
    }
}

/// The timeline of `ferret check --timeline` as one table (time, source, what, path;
/// findings marked). Empty when the report has none.
pub fn timeline_section(lines: &[ferret_core::TimelineEntry]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    html! {
        section #timeline {
            h2 { "Timeline" }
            table {
                tr { th { "time" } th { "source" } th { "what" } th { "path" } }
                @for l in lines {
                    tr class=(if l.finding { "timeline-finding" } else { "timeline-record" }) {
                        td { (human_time(l.time)) }
                        td { code { (escape(&l.source)) } }
                        td {
                            @if let Some(r) = &l.rule { b { (escape(r)) } " " }
                            (escape(&l.what))
                        }
                        td.mono { @if let Some(p) = &l.path { (escape(p)) } }
                    }
                }
            }
        }
    }
    .into_string()
}

/// The campaign verdicts of a `ferret check` run as one table: the campaign, the verdict,
/// why, the evidence and leads, what was checked and not checked, and how far back each
/// log reaches. Empty when the report has no verdicts.
pub fn verdicts_section(verdicts: &[CampaignVerdict]) -> String {
    if verdicts.is_empty() {
        return String::new();
    }
    html! {
        section #verdicts {
            h2 { "Verdicts" }
            table {
                tr { th { "campaign" } th { "verdict" } th { "why" } th { "what was checked" } th { "how far back the logs reach" } }
                @for v in verdicts {
                    tr {
                        td { b { (escape(&v.title)) } br; code { (escape(&v.campaign)) } }
                        td { span class=(verdict_class(v.verdict)) { (v.verdict.label()) } }
                        td {
                            (escape(&v.reason))
                            br;
                            (v.evidence) " finding(s) at evidence level, " (v.leads) " lead(s) below it"
                        }
                        td {
                            @if v.checked.is_empty() && v.not_checked.is_empty() { "nothing recorded" }
                            ul {
                                @for c in &v.checked { li { "checked: " (escape(c)) } }
                                @for c in &v.not_checked { li.warn { "not checked: " (escape(c)) } }
                            }
                        }
                        td {
                            @if v.sources.is_empty() { "no log was read" }
                            ul {
                                @for src in &v.sources {
                                    li {
                                        code { (escape(&src.source)) } ": "
                                        @match (src.first, src.last) {
                                            (Some(f), Some(l)) => { "from " (human_time(f)) " to " (human_time(l)) }
                                            (Some(f), None) => { "from " (human_time(f)) }
                                            (None, Some(l)) => { "until " (human_time(l)) }
                                            (None, None) => { "no event time" }
                                        }
                                        " (" (src.files) " file(s), " (src.events) " event(s))"
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    .into_string()
}

fn severity_badge(s: Severity) -> Markup {
    html! { span class={ "sev sev-" (s.as_str()) } { (s.as_str()) } }
}

fn finding_path(f: &Finding) -> Option<String> {
    f.path.as_ref().map(|p| escape(&p.lossy()).into_owned())
}

/// One finding's evidence as a table (shared with the dashboard's finding page).
pub fn evidence_table(f: &Finding) -> String {
    html! {
        table {
            tr { th { "label" } th { "offset" } th { "data" } }
            @for e in &f.evidence {
                tr {
                    td.mono { (escape(&e.label)) }
                    td.mono { @if let Some(o) = e.offset { "0x" (format!("{o:x}")) } }
                    td.mono { (escape(&e.data)) }
                }
            }
        }
        @if !f.details.is_empty() {
            table {
                tr { th { "detail" } th { "value" } }
                @for (k, v) in &f.details {
                    tr { td.mono { (escape(k)) } td.mono { (escape(&v.to_string())) } }
                }
            }
        }
        @if !f.rule.references.is_empty() {
            p { "References (not linked): " }
            ul { @for r in &f.rule.references { li.mono { (escape(r)) } } }
        }
    }
    .into_string()
}

/// One finding's header fields as a table (shared with the dashboard).
pub fn finding_table(f: &Finding) -> String {
    html! {
        table {
            tr { th { "severity" } td { (severity_badge(f.severity)) " score " (f.score) } }
            tr { th { "engine" } td { (f.engine.as_str()) } }
            tr { th { "rule" } td { (escape(&f.rule.name)) " " code { (escape(&f.rule.id)) } } }
            @if let Some(src) = &f.rule.source { tr { th { "rule source" } td.mono { (escape(src)) } } }
            @if let Some(p) = finding_path(f) { tr { th { "path" } td.mono { (p) } } }
            @if let Some(s) = &f.sha256 { tr { th { "sha256" } td.mono { (escape(s)) } } }
            @if let Some(s) = f.size { tr { th { "size" } td { (s) } } }
            @if let Some(t) = f.time { tr { th { "time" } td { (human_time(t)) } } }
            @if let Some(l) = &f.log {
                tr { th { "log" } td {
                    @if let Some(x) = &l.format { "format " (escape(x)) " " }
                    @if let Some(x) = &l.channel { "channel " (escape(x)) " " }
                    @if let Some(x) = l.record_id { "record " (x) " " }
                    @if let Some(x) = l.line { "line " (x) }
                } }
            }
            @if let Some(m) = &f.message { tr { th { "message" } td { (escape(m)) } } }
        }
    }
    .into_string()
}

fn timeline_svg(findings: &[&Finding]) -> String {
    let times: Vec<i64> =
        findings.iter().filter_map(|f| f.time.map(|t| t.timestamp_millis())).collect();
    let (Some(min), Some(max)) = (times.iter().min().copied(), times.iter().max().copied()) else {
        return String::new();
    };
    let span = (max - min).max(1);
    let width = 700i64;
    html! {
        svg width=(width + 20) height="60" role="img"
            aria-label="log findings over time" {
            title { "log findings over time" }
            line x1="10" y1="30" x2=(width + 10) y2="30" stroke="#90a4ae" {}
            @for f in findings {
                @if let Some(t) = f.time {
                    @let x = 10 + (t.timestamp_millis() - min) * width / span;
                    circle class={ "bar-" (f.severity.as_str()) } cx=(x) cy="30" r="5" {
                        title { (human_time(t)) " " (escape(&f.rule.name)) }
                    }
                }
            }
            text x="10" y="55" { (findings.iter().filter_map(|f| f.time).min().map(human_time).unwrap_or_default()) }
            text x=(width - 150) y="55" { (findings.iter().filter_map(|f| f.time).max().map(human_time).unwrap_or_default()) }
        }
    }
    .into_string()
}

/// The body of one run's view (no `<html>` wrapper): header, summary cards, charts,
/// timeline, findings, problems, coverage. `finding_link` turns a finding's index in
/// `report.findings` into a link target (the dashboard links to its finding pages; the file
/// links to in-page anchors).
pub fn run_body(report: &Report, finding_link: &dyn Fn(usize) -> String) -> String {
    let s = &report.summary;
    let mut by_sev: BTreeMap<Severity, u64> = Severity::ALL.iter().map(|s| (*s, 0)).collect();
    let mut by_engine: BTreeMap<Engine, u64> = BTreeMap::new();
    for f in &report.findings {
        *by_sev.entry(f.severity).or_default() += 1;
        *by_engine.entry(f.engine).or_default() += 1;
    }
    let sev_bars: Vec<(String, u64, String)> = by_sev
        .iter()
        .rev()
        .map(|(k, v)| (k.as_str().to_owned(), *v, format!("bar-{}", k.as_str())))
        .collect();
    let engine_bars: Vec<(String, u64, String)> = by_engine
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), *v, "bar-engine".to_owned()))
        .collect();
    let mut timed: Vec<&Finding> = report.findings.iter().filter(|f| f.time.is_some()).collect();
    timed.sort_by_key(|f| f.time);
    let duration = report.finished - report.started;
    let result_class = if s.has_findings() {
        "result bad"
    } else if s.complete {
        "result ok"
    } else {
        "result warn"
    };
    html! {
        h1 { "ferret " (escape(&report.verb)) " on " (escape(&report.host)) }
        p class=(result_class) #result { (escape(&s.result_line())) }
        (PreEscaped(verdicts_section(&report.verdicts())))
        (PreEscaped(timeline_section(&report.timeline())))
        table {
            tr { th { "run id" } td.mono { (escape(&report.run_id)) } }
            tr { th { "started" } td { (human_time(report.started)) } }
            tr { th { "finished" } td { (human_time(report.finished)) " (" (duration.num_milliseconds() / 1000) "." (format!("{:03}", duration.num_milliseconds().rem_euclid(1000))) " s)" } }
            tr { th { "ferret" } td { (escape(&report.tool.version)) } }
            @if let Some(x) = &report.tool.exe_sha256 { tr { th { "executable sha256" } td.mono { (escape(x)) } } }
            @if let Some(x) = &report.tool.ruleset_sha256 { tr { th { "rule set sha256" } td.mono { (escape(x)) } } }
            tr { th { "targets" } td.mono { @for t in &report.targets { (escape(t)) br; } } }
        }
        h2 { "Summary" }
        div.cards {
            div.card { b class=(if report.findings.is_empty() { "ok" } else { "bad" }) { (report.findings.len()) } "findings" }
            div.card { b class=(if report.problems.is_empty() { "ok" } else { "warn" }) { (s.problems_total()) } "problems" }
            div.card { b class=(if s.complete { "ok" } else { "warn" }) { (if s.complete { "complete" } else { "incomplete" }) } "coverage" }
            @for (k, v) in &s.counters { div.card { b { (v) } (escape(k)) } }
        }
        @if !report.findings.is_empty() {
            h2 { "Findings by severity and engine" }
            div.cards {
                div.card { (PreEscaped(bar_chart("by severity", &sev_bars))) }
                div.card { (PreEscaped(bar_chart("by engine", &engine_bars))) }
            }
        }
        @if !timed.is_empty() {
            h2 { "Timeline" }
            (PreEscaped(timeline_svg(&timed)))
            table {
                tr { th { "time" } th { "severity" } th { "rule" } th { "where" } }
                @for f in &timed {
                    tr {
                        td { (f.time.map(human_time).unwrap_or_default()) }
                        td { (severity_badge(f.severity)) }
                        td { (escape(&f.rule.name)) }
                        td.mono {
                            (finding_path(f).unwrap_or_default())
                            @if let Some(l) = &f.log { @if let Some(n) = l.line { ":" (n) } @if let Some(r) = l.record_id { " record " (r) } }
                        }
                    }
                }
            }
        }
        h2 { "Findings" }
        @if report.findings.is_empty() { p.ok { "No findings." } }
        @else {
            table {
                tr { th { "severity" } th { "score" } th { "engine" } th { "rule" } th { "path" } th { "evidence" } }
                @for (i, f) in report.findings.iter().enumerate() {
                    tr id={ "finding-" (i) } {
                        td { (severity_badge(f.severity)) }
                        td { (f.score) }
                        td { (f.engine.as_str()) }
                        td { a href=(finding_link(i)) { (escape(&f.rule.name)) } }
                        td.mono { (finding_path(f).unwrap_or_default()) }
                        td.mono {
                            @for e in f.evidence.iter().take(3) { (escape(&e.label)) ": " (escape(&e.data)) br; }
                        }
                    }
                }
            }
        }
        @if !report.problems.is_empty() || report.problems_dropped > 0 {
            h2 { "Problems" }
            table {
                tr { th { "kind" } th { "path" } th { "reason" } }
                @for p in &report.problems {
                    tr {
                        td { (p.kind.as_str()) }
                        td.mono { (p.path.as_ref().map(|x| escape(&x.lossy()).into_owned()).unwrap_or_default()) }
                        td { (escape(&p.reason)) }
                    }
                }
            }
            @if report.problems_dropped > 0 { p { (report.problems_dropped) " more problems were counted but not kept." } }
        }
        h2 { "Coverage" }
        @if s.complete { p.ok { "Everything that should have been examined was." } }
        @else { p.warn { "Coverage is incomplete: some things were not examined." } }
        @if !s.not_checked.is_empty() {
            h3 { "Not checked" }
            ul { @for n in &s.not_checked { li { (escape(n)) } } }
        }
        @if !s.skipped.is_empty() {
            h3 { "Skipped by policy" }
            table { @for (k, v) in &s.skipped { tr { td { (escape(k)) } td { (v) } } } }
        }
        @if !s.problems.is_empty() {
            h3 { "Problems by kind" }
            table { @for (k, v) in &s.problems { tr { td { (k.as_str()) } td { (v) } } } }
        }
        @if !s.rules.loaded.is_empty() || !s.rules.not_loaded.is_empty() {
        h3 { "Rules" }
        table {
            @for (k, v) in &s.rules.loaded { tr { td { "loaded: " (escape(k)) } td { (v) } } }
            @for (k, v) in &s.rules.not_loaded { tr { td.warn { "not loaded: " (escape(k)) } td { (v) } } }
        }
        }
    }
    .into_string()
}

/// Writes the report as one self-contained HTML file.
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let body = run_body(report, &|i| format!("#detail-{i}"));
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="referrer" content="no-referrer";
                meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:";
                title { "ferret " (escape(&report.verb)) " — " (escape(&report.host)) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                main {
                    (PreEscaped(body))
                    @if !report.findings.is_empty() {
                        h2 { "Finding details" }
                        @for (i, f) in report.findings.iter().enumerate() {
                            section id={ "detail-" (i) } {
                                h3 { (escape(&f.rule.name)) }
                                (PreEscaped(finding_table(f)))
                                (PreEscaped(evidence_table(f)))
                            }
                        }
                    }
                }
            }
        }
    };
    out.write_all(page.into_string().as_bytes())?;
    out.flush()
}
