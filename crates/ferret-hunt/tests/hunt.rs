//! The hunt pipeline over planted files: an unreadable file and a garbage file are named and
//! counted while the run finishes; coverage per source; correlation over time-sorted hits.
#![allow(clippy::disallowed_methods, reason = "tests write their own temporary fixtures")]

use std::path::PathBuf;

use ferret_core::{Collector, NullProgress, ProblemKind, Severity};
use ferret_hunt::{HuntConfig, HuntError, Rules, hunt, load_rules};
use ferret_sigma::LoadOptions;

const WEB_RULE: &str = "title: web shell path\nid: 11111111-0000-4000-8000-000000000001\nlevel: high\nlogsource:\n    category: webserver\ndetection:\n    sel:\n        cs-uri-stem|endswith: '.aspx'\n    condition: sel\n";

const CORRELATION: &str = "title: many shell hits\nid: 11111111-0000-4000-8000-000000000002\nlevel: critical\ncorrelation:\n    type: event_count\n    rules:\n        - 11111111-0000-4000-8000-000000000001\n    group-by:\n        - c-ip\n    timespan: 1h\n    condition:\n        gte: 3\n";

fn rules(dir: &std::path::Path, texts: &[&str]) -> Rules {
    let rd = dir.join("rules");
    std::fs::create_dir_all(&rd).unwrap();
    for (i, t) in texts.iter().enumerate() {
        std::fs::write(rd.join(format!("r{i}.yml")), t).unwrap();
    }
    load_rules(&[rd], &LoadOptions::default(), &Collector::new())
}

fn w3c(lines: &[&str]) -> String {
    let mut s =
        String::from("#Fields: date time cs-method cs-uri-stem cs-uri-query c-ip sc-status\n");
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    s
}

#[test]
fn garbage_and_unreadable_files_are_named_and_the_run_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let r = rules(dir.path(), &[WEB_RULE]);
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::write(
        logs.join("u_ex210303.log"),
        w3c(&[
            "2021-03-03 01:00:00 GET /a/shell.aspx - 1.2.3.4 200",
            "garbage",
            "2021-03-03 02:00:00 GET /index.html - 1.2.3.4 200",
        ]),
    )
    .unwrap();
    std::fs::write(logs.join("blob.bin"), [0u8, 1, 2, 3, 0xff]).unwrap();
    let missing = dir.path().join("missing.log");
    let sink = Collector::new();
    let config = HuntConfig { paths: vec![logs.clone(), missing.clone()], ..HuntConfig::default() };
    let summary = hunt(&config, &r, &sink, &NullProgress).unwrap();
    let (findings, problems, _, _) = sink.into_parts();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].severity, Severity::High);
    assert_eq!(summary.counter("files_seen"), 2);
    assert_eq!(summary.counter("files_read"), 1);
    assert_eq!(summary.counter("events_read"), 2);
    assert_eq!(summary.counter("parse_errors"), 1);
    assert_eq!(summary.skipped.get("not_a_log"), Some(&1));
    assert!(problems.iter().any(|p| p.kind == ProblemKind::Parse
        && p.path.as_ref().unwrap().to_path_buf() == logs.join("u_ex210303.log")
        && p.position.as_deref() == Some("line 3")));
    assert!(problems.iter().any(|p| p.path.as_ref().unwrap().to_path_buf() == missing));
    let cov = &summary.details["coverage"][0];
    assert_eq!(cov["format"], "w3c");
    assert_eq!(cov["first"], "2021-03-03T01:00:00Z");
    assert_eq!(cov["last"], "2021-03-03T02:00:00Z");
    assert_eq!(summary.rules.loaded.get("sigma"), Some(&1));
}

#[test]
fn correlation_fires_across_files_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let r = rules(dir.path(), &[WEB_RULE, CORRELATION]);
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    // Three hits from one client spread over two files, out of file order.
    std::fs::write(logs.join("a.log"), w3c(&["2021-03-03 01:30:00 GET /x.aspx - 9.9.9.9 200"]))
        .unwrap();
    std::fs::write(
        logs.join("b.log"),
        w3c(&[
            "2021-03-03 01:00:00 GET /y.aspx - 9.9.9.9 200",
            "2021-03-03 01:10:00 GET /z.aspx - 9.9.9.9 200",
        ]),
    )
    .unwrap();
    let sink = Collector::new();
    let config = HuntConfig { paths: vec![logs], ..HuntConfig::default() };
    let summary = hunt(&config, &r, &sink, &NullProgress).unwrap();
    let (findings, _, _, _) = sink.into_parts();
    let corr: Vec<_> = findings.iter().filter(|f| f.severity == Severity::Critical).collect();
    assert_eq!(corr.len(), 1, "{findings:?}");
    assert_eq!(summary.counter("correlation_hits"), 1);
    assert_eq!(corr[0].time.unwrap().to_rfc3339(), "2021-03-03T01:30:00+00:00");
    assert!(corr[0].evidence.iter().any(|e| e.label == "c-ip" && e.data == "9.9.9.9"));
}

#[test]
fn no_rules_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let r = rules(dir.path(), &["not: [valid"]);
    let config = HuntConfig { paths: vec![PathBuf::from(dir.path())], ..HuntConfig::default() };
    assert!(matches!(
        hunt(&config, &r, &Collector::new(), &NullProgress),
        Err(HuntError::NoRules { .. })
    ));
}

#[test]
fn rules_for_fields_a_log_lacks_are_reported_and_a_new_header_brings_them_back() {
    const UA_RULE: &str = "title: scanner agent\nid: 11111111-0000-4000-8000-000000000003\nlevel: medium\nlogsource:\n    category: proxy\ndetection:\n    sel:\n        c-useragent|contains: 'sqlmap'\n    condition: sel\n";
    let dir = tempfile::tempdir().unwrap();
    let r = rules(dir.path(), &[WEB_RULE, UA_RULE]);
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    // No user-agent column at all: the agent rule cannot apply to this log.
    std::fs::write(
        logs.join("a.log"),
        w3c(&["2021-03-03 01:00:00 GET /sqlmap/x.aspx - 1.2.3.4 200"]),
    )
    .unwrap();
    // Its header changes mid-file to one that has the column: the rule applies after it.
    let mut b = w3c(&["2021-03-03 02:00:00 GET /index.html - 1.2.3.4 200"]);
    b.push_str("#Fields: date time cs-method cs-uri-stem c-ip c-useragent sc-status\n");
    b.push_str("2021-03-03 03:00:00 GET /index.html 1.2.3.4 sqlmap/1.5 200\n");
    std::fs::write(logs.join("b.log"), b).unwrap();
    let sink = Collector::new();
    let config = HuntConfig { paths: vec![logs], ..HuntConfig::default() };
    let summary = hunt(&config, &r, &sink, &NullProgress).unwrap();
    let (findings, _, _, _) = sink.into_parts();
    let agent_hits: Vec<_> = findings.iter().filter(|f| f.severity == Severity::Medium).collect();
    assert_eq!(agent_hits.len(), 1, "{findings:?}");
    let cov = summary.details["coverage"].as_array().unwrap();
    assert_eq!(cov[0]["rules_inapplicable"], 1, "a.log lacks c-useragent: {cov:?}");
    assert_eq!(cov[1]["rules_inapplicable"], 0, "b.log has it under its second header");
    let note = summary.not_checked.iter().find(|n| n.contains("lack the fields")).unwrap();
    assert!(note.starts_with("1 rule(s) could not apply to 1 log file(s)"), "{note}");
    assert!(note.contains("scanner agent"), "{note}");
}
