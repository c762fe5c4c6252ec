//! The HTML report is one self-contained file: no script, no external reference, every
//! attacker-controlled string escaped, and the summary, charts, timeline and coverage there.

use chrono::{Duration, TimeZone as _, Utc};
use ferret_core::{
    Engine, Evidence, Finding, LogRef, Problem, ProblemKind, RuleRef, Severity, Summary,
};
use ferret_report::{Report, SCHEMA_VERSION, ToolInfo};

fn hostile_report() -> Report {
    let t0 = Utc.with_ymd_and_hms(2026, 2, 3, 4, 5, 6).unwrap();
    let mut file = Finding::new(
        Engine::Yara,
        RuleRef {
            id: "ns:webshell".into(),
            name: "<img src=\"https://evil.example/x.png\">".into(),
            references: vec!["https://advisory.example/1".into()],
            ..Default::default()
        },
        Severity::Critical,
    )
    .with_path(b"/srv/\"><script src=http://evil.example/a.js></script>\xff.php".to_vec());
    file.push_evidence(Evidence {
        label: "$a".into(),
        offset: Some(10),
        data: "<script>alert(1)</script>".into(),
    });
    let mut log = Finding::new(
        Engine::Sigma,
        RuleRef {
            id: "s-1".into(),
            name: "suspicious logon\u{202e}exe".into(),
            ..Default::default()
        },
        Severity::Medium,
    );
    log.time = Some(t0 + Duration::minutes(5));
    log.log =
        Some(LogRef { format: Some("evtx".into()), record_id: Some(7), ..Default::default() });
    let mut log2 = log.clone();
    log2.time = Some(t0 + Duration::minutes(50));
    let mut summary = Summary::default();
    summary.count("files_scanned", 3);
    summary.not_checked.push("archives were not opened <b>".into());
    summary.rules.add_not_loaded("syntax error");
    summary.problems.insert(ProblemKind::ReadError, 1);
    summary.settle();
    let mut r = Report {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo { name: "ferret".into(), version: "0.1.0".into(), ..Default::default() },
        verb: "scan".into(),
        run_id: "r-1".into(),
        host: "host<1>".into(),
        targets: vec!["/srv".into()],
        started: t0,
        finished: t0 + Duration::hours(1),
        findings: vec![file, log, log2],
        problems: vec![Problem {
            kind: ProblemKind::ReadError,
            path: Some(b"/srv/<u>locked</u>".to_vec().into()),
            position: None,
            reason: "permission denied".into(),
        }],
        problems_dropped: 0,
        summary,
    };
    r.count_findings();
    r
}

fn render(r: &Report) -> String {
    let mut out = Vec::new();
    ferret_report::html::write(r, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// Values of every `attr="…"` in the markup (maud always quotes attributes, and escapes
/// quotes inside text, so this finds exactly the real attributes).
fn attribute_values<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    let needle = format!(" {attr}=\"");
    html.match_indices(&needle)
        .filter_map(|(i, _)| html.get(i + needle.len()..))
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

#[test]
fn html_report_has_no_external_reference_and_no_script() {
    let html = render(&hostile_report());
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "no script element");
    assert!(!lower.contains("<link"), "no stylesheet link");
    assert!(!lower.contains("<img"), "no image element");
    assert!(!lower.contains("<iframe"));
    assert!(!lower.contains("url("), "no CSS url()");
    for attr in ["src", "href", "action", "xlink:href", "srcset", "poster", "data"] {
        for v in attribute_values(&html, attr) {
            let v = v.to_ascii_lowercase();
            assert!(
                !v.starts_with("http://") && !v.starts_with("https://") && !v.starts_with("//"),
                "{attr}={v}"
            );
        }
    }
    // Links point inside the page.
    assert!(attribute_values(&html, "href").iter().all(|v| v.starts_with('#')));
}

#[test]
fn html_report_escapes_attacker_strings() {
    let html = render(&hostile_report());
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&lt;img src=&quot;https://evil.example/x.png&quot;&gt;"));
    assert!(html.contains("host&lt;1&gt;"));
    assert!(html.contains("\\u{202e}"), "bidi override made visible");
    assert!(!html.contains('\u{202e}'));
    assert!(html.contains("/srv/&lt;u&gt;locked&lt;/u&gt;"));
}

#[test]
fn html_report_has_summary_charts_timeline_and_coverage() {
    let html = render(&hostile_report());
    for needle in [
        "<h2>Summary</h2>",
        "by severity",
        "by engine",
        "<h2>Timeline</h2>",
        "<h2>Coverage</h2>",
        "Coverage is incomplete",
        "archives were not opened &lt;b&gt;",
        "not loaded: syntax error",
        "<svg",
        "<style>",
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
    assert!(html.starts_with("<!DOCTYPE html>"));
}

#[test]
fn clean_report_renders() {
    let mut r = hostile_report();
    r.findings.clear();
    r.problems.clear();
    r.summary = Summary { complete: true, ..Default::default() };
    let html = render(&r);
    assert!(html.contains("No findings."));
    assert!(html.contains("Everything that should have been examined was."));
}
