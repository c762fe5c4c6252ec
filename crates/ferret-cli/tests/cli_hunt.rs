//! `ferret hunt` end to end: a small Sigma rule per log family over the reader fixtures, exit
//! statuses, time window, level threshold, gzip, output formats and the timeline order.
#![allow(clippy::disallowed_methods, reason = "tests write their own temporary fixtures")]

use std::io::Write as _;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn logs(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ferret-logs/tests/data/logs").join(name)
}

fn rules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sigma")
}

fn broken_rules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sigma_broken")
}

struct Run {
    code: i32,
    findings: Vec<Value>,
    problems: Vec<Value>,
    summary: Value,
    stderr: String,
}

fn hunt(args: &[&std::ffi::OsStr]) -> Run {
    let out = Command::cargo_bin("ferret")
        .unwrap()
        .arg("hunt")
        .args(args)
        .args(["--format", "jsonl", "-q"])
        .output()
        .unwrap();
    let mut run = Run {
        code: out.status.code().unwrap(),
        findings: Vec::new(),
        problems: Vec::new(),
        summary: Value::Null,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        match v["type"].as_str() {
            Some("finding") => run.findings.push(v),
            Some("problem") => run.problems.push(v),
            Some("summary") => run.summary = v,
            _ => {}
        }
    }
    run
}

fn hunt_file(log: &Path) -> Run {
    hunt(&[log.as_os_str(), "--sigma".as_ref(), rules().as_os_str()])
}

/// (fixture, rule id suffix, expected hits, expected format)
const CASES: &[(&str, &str, usize, &str)] = &[
    ("w3c_iis.log", "0002", 1, "w3c"),
    ("access_combined.log", "0002", 1, "access"),
    ("exchange-csv_httpproxy.log", "0002", 1, "exchange-csv"),
    ("exchange-csv_ecp_plain_header.log", "0002", 1, "exchange-csv"),
    ("syslog_rfc5424.log", "0003", 1, "syslog"),
    ("dns-windows_debug.log", "0004", 1, "dns-windows"),
    ("dns-bind_query.log", "0004", 1, "dns-bind"),
    ("zeek-dns_basic.log", "0004", 1, "zeek-dns"),
    ("json_flat_otrf.json", "0001", 1, "evtx-json"),
    ("evtx-json_nested_pretty.json", "0001", 1, "evtx-json"),
    ("evtx-json_winlogbeat.json", "0001", 1, "evtx-json"),
    ("json_generic.jsonl", "0005", 1, "json"),
];

/// The fixture whose DNS answer is an address of CISA's AA21-008A (CHIRP) list: hunt also
/// reports it through the intel's network rows (a lead).
const NETWORK_HIT: (&str, &str) = ("zeek-dns_basic.log", "20.140.0.1");

/// The findings of the Sigma rules, after checking that the others are the one expected
/// network-indicator finding of [`NETWORK_HIT`].
fn sigma_findings<'a>(name: &str, findings: &'a [Value]) -> Vec<&'a Value> {
    let (sigma, other): (Vec<&Value>, Vec<&Value>) =
        findings.iter().partition(|f| f["engine"] == "sigma");
    if name == NETWORK_HIT.0 {
        assert_eq!(other.len(), 1, "{name}: {other:?}");
        assert_eq!(other[0]["details"]["network_indicator"], NETWORK_HIT.1, "{name}");
        assert!(other[0].to_string().contains("intel:sunburst/network.tsv:"), "{name}");
    } else {
        assert!(other.is_empty(), "{name}: {other:?}");
    }
    sigma
}

#[test]
fn one_rule_fires_per_format() {
    for (name, rule, n, format) in CASES {
        let r = hunt_file(&logs(name));
        assert_eq!(r.code, 1, "{name}: {}", r.stderr);
        let sigma = sigma_findings(name, &r.findings);
        assert_eq!(sigma.len(), *n, "{name}: {:?}", r.findings);
        let f = sigma[0];
        assert_eq!(f["engine"], "sigma");
        assert!(f["rule"]["id"].as_str().unwrap().ends_with(rule), "{name}: {f}");
        assert_eq!(f["log"]["format"], *format, "{name}");
        assert!(f["path"].as_str().unwrap().ends_with(name));
        assert!(f["time"].is_string(), "{name}: event time");
        assert!(f["log"]["line"].is_u64() || f["log"]["record_id"].is_u64(), "{name}");
        assert!(!f["evidence"].as_array().unwrap().is_empty(), "{name}: matched fields");
        assert_eq!(r.summary["verb"], "hunt");
        assert_eq!(r.summary["counters"]["files_read"], 1);
        let cov = &r.summary["details"]["coverage"][0];
        assert_eq!(cov["format"], *format);
        assert!(cov["first"].is_string() && cov["last"].is_string(), "{name}: time span");
    }
}

#[test]
fn finding_carries_rule_metadata_and_matched_fields() {
    let r = hunt_file(&logs("evtx-json_nested_pretty.json"));
    let f = &r.findings[0];
    assert_eq!(f["rule"]["name"], "Test - cmd.exe running whoami");
    assert_eq!(f["severity"], "high");
    assert_eq!(f["rule"]["references"][0], "https://example.invalid/test-reference");
    assert_eq!(f["log"]["record_id"], 1001);
    assert_eq!(f["log"]["channel"], "Microsoft-Windows-Sysmon/Operational");
    assert_eq!(f["time"], "2021-03-03T01:02:03.456789Z");
    let labels: Vec<&str> =
        f["evidence"].as_array().unwrap().iter().map(|e| e["label"].as_str().unwrap()).collect();
    assert!(labels.contains(&"CommandLine"), "{labels:?}");
}

#[test]
fn clean_and_complete_exits_zero() {
    let r = hunt_file(&logs("syslog_rfc3164.log"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.findings.is_empty());
    assert_eq!(r.summary["complete"], true);
    assert_eq!(r.summary["counters"]["events_read"], 3);
}

#[test]
fn report_records_the_ruleset_sha256() {
    let a = hunt_file(&logs("syslog_rfc3164.log"));
    let sha = a.summary["tool"]["ruleset_sha256"].as_str().expect("ruleset_sha256 is set");
    assert_eq!(sha.len(), 64, "{sha}");
    assert!(sha.bytes().all(|b| b.is_ascii_hexdigit()), "{sha}");
    // Same rules, same hash; other rules, another hash.
    let b = hunt_file(&logs("w3c_iis.log"));
    assert_eq!(b.summary["tool"]["ruleset_sha256"], a.summary["tool"]["ruleset_sha256"]);
    let c = hunt(&[
        logs("syslog_rfc3164.log").as_os_str(),
        "--sigma".as_ref(),
        rules().as_os_str(),
        "--sigma".as_ref(),
        broken_rules().as_os_str(),
    ]);
    assert_ne!(c.summary["tool"]["ruleset_sha256"], a.summary["tool"]["ruleset_sha256"]);
}

#[test]
fn rules_not_loaded_make_the_run_incomplete() {
    let log = logs("syslog_rfc3164.log");
    let r = hunt(&[
        log.as_os_str(),
        "--sigma".as_ref(),
        rules().as_os_str(),
        "--sigma".as_ref(),
        broken_rules().as_os_str(),
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(r.summary["complete"], false);
    assert_eq!(r.summary["rules"]["loaded"]["sigma"], 5);
    let not_loaded: u64 = r.summary["rules"]["not_loaded"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(not_loaded, 1);
    let p = r.problems.iter().find(|p| p["kind"] == "rule_load").expect("rule_load problem");
    assert!(p["path"].as_str().unwrap().ends_with("hunt_broken_rule.yml"));
    // Findings win over incomplete.
    let log = logs("w3c_iis.log");
    let r = hunt(&[
        log.as_os_str(),
        "--sigma".as_ref(),
        rules().as_os_str(),
        "--sigma".as_ref(),
        broken_rules().as_os_str(),
    ]);
    assert_eq!(r.code, 1);
}

#[test]
fn without_sigma_exits_two_and_says_why() {
    let log = logs("w3c_iis.log");
    let r = hunt(&[log.as_os_str()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--sigma"), "{}", r.stderr);
}

#[test]
fn bad_time_exits_two() {
    let log = logs("w3c_iis.log");
    let r = hunt(&[
        log.as_os_str(),
        "--sigma".as_ref(),
        rules().as_os_str(),
        "--from".as_ref(),
        "soon".as_ref(),
    ]);
    assert_eq!(r.code, 2);
}

#[test]
fn time_window_filters_events() {
    let log = logs("w3c_iis.log");
    let rules = rules();
    let base = [log.as_os_str(), "--sigma".as_ref(), rules.as_os_str()];
    let mut args = base.to_vec();
    args.extend(["--to", "2021-03-03T01:02:04Z"].map(std::ffi::OsStr::new));
    let r = hunt(&args);
    assert_eq!(r.code, 0, "the hit at 01:02:05 is outside the window");
    assert_eq!(r.summary["counters"]["events_outside_window"], 1);
    let mut args = base.to_vec();
    args.extend(["--from", "2021-03-03", "--to", "2021-03-03"].map(std::ffi::OsStr::new));
    assert_eq!(hunt(&args).findings.len(), 1);
}

#[test]
fn min_level_filters_findings() {
    let log = logs("w3c_iis.log");
    let r = hunt(&[
        log.as_os_str(),
        "--sigma".as_ref(),
        rules().as_os_str(),
        "--min-level".as_ref(),
        "high".as_ref(),
    ]);
    assert_eq!(r.code, 0);
    assert_eq!(r.summary["counters"]["hits_below_min_level"], 1);
}

#[test]
fn directory_hunt_is_a_timeline_with_gzip_and_garbage() {
    let dir = tempfile::tempdir().unwrap();
    for (name, ..) in CASES {
        std::fs::copy(logs(name), dir.path().join(name)).unwrap();
    }
    // A rotated, compressed copy and a file that is no log at all.
    let sub = dir.path().join("rotated");
    std::fs::create_dir(&sub).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&std::fs::read(logs("dns-bind_query.log")).unwrap()).unwrap();
    std::fs::write(sub.join("query.log.1.gz"), enc.finish().unwrap()).unwrap();
    std::fs::write(dir.path().join("README.txt"), "not a log\n").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(logs("w3c_iis.log"), dir.path().join("link.log")).unwrap();

    let r = hunt(&[dir.path().as_os_str(), "--sigma".as_ref(), rules().as_os_str()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    // The Sigma hits, the compressed copy's, and the network indicator of NETWORK_HIT.
    let expected: usize = CASES.iter().map(|c| c.2).sum::<usize>() + 2;
    assert_eq!(r.findings.len(), expected);
    let times: Vec<chrono::DateTime<chrono::Utc>> =
        r.findings.iter().map(|f| f["time"].as_str().unwrap().parse().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort_unstable();
    assert_eq!(times, sorted, "findings are a timeline");
    assert!(r.findings.iter().any(|f| f["path"].as_str().unwrap().ends_with("query.log.1.gz")));
    assert_eq!(r.summary["skipped"]["not_a_log"], 1);
    #[cfg(unix)]
    assert_eq!(r.summary["skipped"]["symlink"], 1);
    assert_eq!(r.summary["counters"]["files_read"], CASES.len() as u64 + 1);
}

#[test]
fn malformed_records_are_problems_with_position() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("access.log");
    let good = std::fs::read_to_string(logs("access_combined.log")).unwrap();
    std::fs::write(&p, format!("garbage line\n{good}")).unwrap();
    let r = hunt_file(&p);
    assert_eq!(r.code, 1);
    assert_eq!(r.findings.len(), 1);
    let pr = r.problems.iter().find(|p| p["kind"] == "parse").unwrap();
    assert_eq!(pr["position"], "line 1");
    assert_eq!(r.summary["counters"]["parse_errors"], 1);
}

#[test]
fn text_and_csv_outputs_render() {
    for format in ["text", "csv"] {
        let out = Command::cargo_bin("ferret")
            .unwrap()
            .arg("hunt")
            .arg(logs("w3c_iis.log"))
            .arg("--sigma")
            .arg(rules())
            .args(["--format", format, "-q"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let s = String::from_utf8_lossy(&out.stdout);
        assert!(s.contains("Test - request to a path attackers favour"), "{format}: {s}");
    }
}
