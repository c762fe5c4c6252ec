//! The timeline and SIEM formats and `--syslog` from the command line: `scan`, `hunt`,
//! `check`, `verify` and `diff` write Timesketch, ECS, OCSF and CEF; `--syslog` sends every
//! record to a receiver on loopback; a bad target is refused before any work, and a receiver
//! that refuses is a clear error (status 2) after the report was written.

#![cfg(feature = "scan")]

mod common;

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ferret_testkit::Tree;
use serde_json::Value;
use sha2::{Digest, Sha256};

use common::ferret_cached as ferret;

/// A tree with one planted file and the hash IOC file that names it.
fn planted() -> (Tree, Tree, PathBuf) {
    let t = Tree::new();
    let body = ferret_testkit::eicar_like();
    t.file("srv/www/x.bin", &body);
    t.file("srv/www/ok.txt", b"harmless");
    let rules = Tree::new();
    let sha = hex::encode(Sha256::digest(&body));
    let ioc = rules.file("hash-iocs.txt", format!("{sha};Planted test sample\n"));
    (t, rules, ioc)
}

fn scan(root: &Path, ioc: &Path, extra: &[&str]) -> std::process::Output {
    ferret()
        .arg("scan")
        .arg(root)
        .args(["--no-builtin", "-q", "--rules"])
        .arg(ioc)
        .args(extra)
        .output()
        .unwrap()
}

fn json_lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8(out.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

#[test]
fn scan_writes_every_new_format() {
    let (t, _rules, ioc) = planted();
    let out = scan(t.root(), &ioc, &["--format", "timesketch"]);
    assert_eq!(out.status.code(), Some(1));
    let recs = json_lines(&out.stdout);
    assert_eq!(recs.len(), 2, "one finding, one summary");
    assert!(recs.iter().all(|r| r["message"].is_string()
        && r["datetime"].is_string()
        && r["timestamp_desc"].is_string()));
    assert_eq!(recs[0]["engine"], "hash");

    let out = scan(t.root(), &ioc, &["--format", "ecs"]);
    let docs = json_lines(&out.stdout);
    assert_eq!(docs[0]["event"]["kind"], "alert");
    assert!(docs[0]["file"]["path"].as_str().unwrap().ends_with("srv/www/x.bin"));
    assert_eq!(docs[1]["event"]["dataset"], "ferret.summary");
    assert_eq!(docs[1]["event"]["outcome"], "success");

    let out = scan(t.root(), &ioc, &["--format", "ocsf"]);
    let events = json_lines(&out.stdout);
    assert_eq!(events[0]["class_uid"], 2004);
    assert_eq!(events[0]["type_uid"], 200_401);
    assert_eq!(events[1]["class_uid"], 6007);
    assert_eq!(events[1]["status_id"], 1);

    let d = Tree::new();
    let file = d.path("report.cef");
    let out = scan(t.root(), &ioc, &["--format", "cef", "-o", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let cef = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = cef.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with("CEF:0|ferret|ferret|"), "{}", lines[0]);
    assert!(lines[1].contains("|ferret:summary|run complete|1|"), "{}", lines[1]);
}

#[test]
fn scan_sends_every_record_to_a_udp_syslog_receiver() {
    let (t, _rules, ioc) = planted();
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let target = format!("udp://{}", rx.local_addr().unwrap());
    let out = scan(t.root(), &ioc, &["--format", "jsonl", "--syslog", &target]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json_lines(&out.stdout).len(), 2, "the report itself still goes to stdout");
    let mut buf = vec![0u8; 4096];
    let mut msgs = Vec::new();
    for _ in 0..2 {
        let n = rx.recv(&mut buf).unwrap();
        msgs.push(String::from_utf8(buf[..n].to_vec()).unwrap());
    }
    // <PRI>1 TIMESTAMP HOST ferret PROCID MSGID - CEF:0|…
    let f: Vec<&str> = msgs[0].splitn(8, ' ').collect();
    assert_eq!(f[0], "<10>1", "user facility, critical: {}", msgs[0]);
    assert_eq!((f[3], f[5], f[6]), ("ferret", "finding", "-"));
    assert!(f[4].parse::<u32>().is_ok(), "PROCID is the process id");
    assert!(f[7].starts_with("CEF:0|ferret|ferret|"));
    assert!(f[7].contains("Planted test sample"));
    assert!(msgs[1].starts_with("<14>1 "), "{}", msgs[1]);
    assert!(msgs[1].contains(" summary - CEF:0|ferret|ferret|"));
    assert!(msgs[1].contains("outcome=complete"));
}

#[test]
fn a_bad_syslog_target_is_refused_before_any_work() {
    let (t, _rules, ioc) = planted();
    let out = scan(t.root(), &ioc, &["--syslog", "http://127.0.0.1:514"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "no report: nothing was examined");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a syslog target (udp://HOST:PORT or tcp://HOST:PORT)"), "{err}");
}

#[test]
fn a_refusing_tcp_receiver_is_an_error_after_the_report() {
    let (t, _rules, ioc) = planted();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = scan(
        t.root(),
        &ioc,
        &["--format", "jsonl", "--syslog", &format!("tcp://127.0.0.1:{port}")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json_lines(&out.stdout).len(), 2, "the report was written first");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot send to the syslog receiver tcp://127.0.0.1:"), "{err}");
}

#[test]
fn hunt_writes_timesketch_at_event_times() {
    let log =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../ferret-logs/tests/data/logs/w3c_iis.log");
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sigma");
    let out = ferret()
        .arg("hunt")
        .arg(&log)
        .arg("--sigma")
        .arg(&rules)
        .args(["--format", "timesketch", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let recs = json_lines(&out.stdout);
    let hits: Vec<&Value> = recs.iter().filter(|r| r["data_type"] == "ferret:finding").collect();
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|h| h["timestamp_desc"] == "Event Time" && h["engine"] == "sigma"));
    assert_eq!(recs.last().unwrap()["data_type"], "ferret:summary");
}

#[test]
fn check_writes_ocsf_with_its_verdicts_in_the_summary() {
    let t = Tree::new();
    t.file(
        "Program Files/Microsoft/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth/logon.aspx",
        "<%@ Page Language=\"C#\" %>sign in",
    );
    let out = ferret()
        .arg("check")
        .args(["--campaign", "proxylogon", "--format", "ocsf", "-q"])
        .arg(t.root())
        .output()
        .unwrap();
    let events = json_lines(&out.stdout);
    let summary = events.last().unwrap();
    assert_eq!(summary["class_uid"], 6007);
    assert_eq!(summary["scan"]["type"], "check");
    let verdicts = &summary["unmapped"]["summary"]["details"]["verdicts"];
    assert_eq!(verdicts[0]["campaign"], "proxylogon", "{summary}");
}

#[test]
fn verify_and_diff_write_the_new_formats() {
    let t = Tree::new();
    t.file("tree/usr/bin/tool", b"tool v1");
    let m1 = t.path("m1.jsonl");
    ferret().arg("baseline").arg(t.path("tree")).arg("-o").arg(&m1).assert().success();
    t.file("tree/usr/bin/tool", b"tool v2");
    let out = ferret()
        .arg("verify")
        .arg(t.path("tree"))
        .arg("-m")
        .arg(&m1)
        .args(["--allow-unsigned", "--format", "ecs", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let docs = json_lines(&out.stdout);
    let alert = docs.iter().find(|d| d["event"]["kind"] == "alert").unwrap();
    assert_eq!(alert["event"]["category"], serde_json::json!(["file"]));
    assert_eq!(alert["event"]["type"], serde_json::json!(["change"]));
    assert_eq!(docs.last().unwrap()["ferret"]["verb"], "verify");

    let m2 = t.path("m2.jsonl");
    ferret().arg("baseline").arg(t.path("tree")).arg("-o").arg(&m2).assert().success();
    let out = ferret()
        .arg("diff")
        .arg(&m1)
        .arg(&m2)
        .args(["--allow-unsigned", "--format", "cef", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().all(|l| l.starts_with("CEF:0|ferret|ferret|")), "{text}");
    assert!(text.contains("usr/bin/tool"), "{text}");
    assert!(text.lines().last().unwrap().contains("|ferret:summary|"));
}
