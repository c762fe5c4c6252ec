//! The JSONL wire format (`ferret_report::jsonl`) against its specification,
//! `docs/report-format.md`:
//!
//! * a report with every field filled (a non-UTF-8 path, evidence with offsets, log
//!   references, a disk-image provenance, every summary field including `incomplete_reasons`, `nothing_examined` and
//!   `interrupted`) survives `write` then `parse` unchanged, and writing it again gives the
//!   same bytes;
//! * every field the writer emits is in the document's tables, and every field in those
//!   tables is emitted (so the document and the code cannot drift apart);
//! * the document's example parses and re-serializes to the golden file
//!   `tests/data/report-format-example.jsonl`, byte for byte.

use std::collections::BTreeMap;

use chrono::{TimeZone as _, Utc};
use ferret_core::{
    Engine, Evidence, Finding, LogRef, Problem, ProblemKind, ReportPath, RuleRef, Severity, Summary,
};
use ferret_report::{Report, SCHEMA_VERSION, ToolInfo, jsonl};
use serde_json::{Value, json};

const DOC: &str = include_str!("../../../docs/report-format.md");
const GOLDEN: &str = include_str!("data/report-format-example.jsonl");

/// A report in which every optional field is present.
fn full_report() -> Report {
    let started = Utc.with_ymd_and_hms(2021, 3, 3, 1, 2, 3).unwrap();
    let mut finding = Finding::new(
        Engine::Yara,
        RuleRef {
            id: "webshells:china_chopper".into(),
            name: "China Chopper web shell".into(),
            source: Some("rules/webshells.yar:12".into()),
            references: vec!["https://example.invalid/advisory".into()],
        },
        Severity::Critical,
    )
    .with_score(95);
    finding.message = Some("a one-line web shell\nwith a newline".into());
    finding.path = Some(ReportPath::from(b"/srv/www/a\xffb.aspx".to_vec()));
    finding.size = Some(1234);
    finding.sha256 = Some("ab".repeat(32));
    finding.time = Some(started);
    finding.log = Some(LogRef {
        format: Some("w3c".into()),
        record_id: Some(42),
        line: Some(7),
        channel: Some("Security".into()),
    });
    finding.evidence = vec![
        Evidence { label: "$a".into(), offset: Some(16), data: "eval(Request.Item[\"x\"])".into() },
        Evidence { label: "$b".into(), offset: None, data: "\\x00\\x01…".into() },
    ];
    finding.details.insert("campaign".into(), json!("proxylogon"));
    let times = |h| ferret_core::FileTimes {
        created: Some(started - chrono::Duration::hours(h)),
        modified: Some(started),
        record_changed: Some(started),
        accessed: Some(started),
    };
    finding.provenance = Some(Box::new(ferret_core::Provenance {
        container: "/cases/web-01/disk.img".into(),
        container_format: "raw".into(),
        collection: None,
        member: None,
        partition_table: Some("gpt".into()),
        partition: Some(2),
        filesystem: "ntfs".into(),
        record: Some(64),
        stream: Some("zone".into()),
        standard_information: Some(times(24)),
        file_name: Some(times(1)),
        times: None,
    }));
    let locked: &std::ffi::OsStr = std::os::unix::ffi::OsStrExt::from_bytes(b"/srv/www/\xfelocked");
    let problem = Problem::at(ProblemKind::ReadError, std::path::Path::new(locked), "denied")
        .with_position("3:14");
    let mut summary = Summary::default();
    summary.count("files_seen", 10);
    summary.count("files_scanned", 9);
    summary.skip("size", 1);
    summary.problems.insert(ProblemKind::ReadError, 1);
    summary.rules.add_loaded("yara", 12);
    summary.rules.add_not_loaded("syntax");
    summary.findings.insert(Severity::Critical, 1);
    summary.not_checked.push("1 file larger than --max-file-size was not read".into());
    summary.notes.push("ferret's own files, not matched: 2".into());
    summary.details.insert("coverage".into(), json!([{ "path": "/var/log/x", "events": 3 }]));
    summary.mark_incomplete("the target /mnt/missing does not exist");
    summary.mark_nothing_examined("no file was examined");
    summary.mark_interrupted();
    summary.settle();
    Report {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: "ferret".into(),
            version: "0.1.0".into(),
            exe_sha256: Some("cd".repeat(32)),
            ruleset_sha256: Some("ef".repeat(32)),
            intel: None,
        },
        verb: "scan".into(),
        run_id: "5d1c0f7e-1111-4222-8333-944455556666".into(),
        host: "web-01".into(),
        targets: vec!["/srv/www".into(), "/mnt/missing".into()],
        started,
        finished: started + chrono::Duration::seconds(61),
        findings: vec![finding],
        problems: vec![problem],
        problems_dropped: 5,
        summary,
    }
}

fn write(r: &Report) -> String {
    let mut out = Vec::new();
    jsonl::write(r, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn every_field_survives_a_write_and_parse_round_trip() {
    let report = full_report();
    assert!(report.summary.interrupted && report.summary.nothing_examined);
    assert!(!report.summary.complete);
    let text = write(&report);
    let back = jsonl::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back, report);
    assert_eq!(write(&back), text, "writing what was read gives the same bytes");
    // The non-UTF-8 name travels as `path_b64` and comes back exact.
    assert_eq!(back.findings[0].path.as_ref().unwrap().as_bytes(), b"/srv/www/a\xffb.aspx");
}

/// The fields of the table right under the heading `## {section}` of the document: the
/// backticked names of each row's first cell (`rule.id`; `path`, `path_b64`).
fn documented(section: &str) -> Vec<String> {
    let heading = format!("## {section}");
    let mut lines = DOC.lines().skip_while(|l| l.trim() != heading).skip(1);
    let mut fields = Vec::new();
    for line in lines.by_ref().take_while(|l| !l.starts_with('#')) {
        let Some(first) = line.strip_prefix('|').and_then(|r| r.split('|').next()) else {
            continue;
        };
        if first.trim() == "field" || first.trim().starts_with("---") {
            continue;
        }
        fields.extend(first.split('`').skip(1).step_by(2).map(str::to_owned));
    }
    assert!(fields.len() >= 4, "no field table under {heading:?} in docs/report-format.md");
    fields
}

/// Checks one record against its documented fields, in both directions.
fn check_record(kind: &str, record: &Value, documented: &[String]) {
    let obj = record.as_object().unwrap();
    for (k, v) in obj {
        if k == "type" || documented.contains(k) {
            continue;
        }
        // An object documented by its members (`rule.id`, `rules.loaded`).
        let prefix = format!("{k}.");
        let members: Vec<&String> = documented.iter().filter(|d| d.starts_with(&prefix)).collect();
        assert!(!members.is_empty(), "{kind} field `{k}` is not in docs/report-format.md");
        for sub in v.as_object().unwrap().keys() {
            let dotted = format!("{k}.{sub}");
            assert!(documented.contains(&dotted), "{kind} field `{dotted}` is not documented");
        }
    }
    for d in documented {
        let found = d.split('.').try_fold(record, |v, part| v.get(part));
        assert!(found.is_some(), "documented {kind} field `{d}` is not written: {record}");
    }
}

#[test]
fn the_document_lists_exactly_the_fields_written() {
    let text = write(&full_report());
    let records: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let mut seen = BTreeMap::new();
    for r in &records {
        let kind = r["type"].as_str().unwrap().to_owned();
        check_record(&kind, r, &documented(&kind));
        *seen.entry(kind).or_insert(0) += 1;
    }
    assert_eq!(seen.len(), 3, "finding, problem and summary records: {seen:?}");
}

/// The JSON lines of the document's example (the code block under `## Example`).
fn doc_example() -> String {
    let mut lines = DOC.lines().skip_while(|l| l.trim() != "## Example");
    lines.by_ref().find(|l| l.starts_with("```")).expect("a code block under ## Example");
    let mut out = String::new();
    for l in lines.take_while(|l| !l.starts_with("```")) {
        out.push_str(l);
        out.push('\n');
    }
    assert!(!out.trim().is_empty(), "the example of docs/report-format.md is empty");
    out
}

#[test]
fn the_documented_example_parses_and_reserializes_to_the_golden_file() {
    let example = doc_example();
    let report = jsonl::parse(&example).unwrap_or_else(|e| panic!("the doc's example: {e}"));
    assert_eq!(write(&report), GOLDEN, "the doc's example, parsed and written again");
    assert_eq!(example, GOLDEN, "docs/report-format.md shows the golden file verbatim");
    // The golden file exercises the newer summary fields.
    assert!(report.summary.interrupted);
    assert!(!report.summary.incomplete_reasons.is_empty());
    assert!(!report.summary.complete);
}
