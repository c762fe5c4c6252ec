//! The options every examining verb shares, with one meaning: `--min-score` (and its
//! spellings `--min-severity` and `--min-level`), `--exclude` on hunt, `-j`,
//! `--low-priority` and `--max-file-size` on check; and hunt's Sigma placeholders
//! (`--sigma-placeholder`, `--sigma-placeholder-file`) and `--exclude-rule`, on fixtures and
//! on the SigmaHQ rules of the corpus.
#![allow(clippy::disallowed_methods, reason = "tests write their own temporary fixtures")]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

struct Run {
    code: i32,
    records: Vec<Value>,
    stderr: String,
}

impl Run {
    fn of(kind: &str) -> impl Fn(&&Value) -> bool + '_ {
        move |v: &&Value| v["type"] == kind
    }

    fn findings(&self) -> usize {
        self.records.iter().filter(Run::of("finding")).count()
    }

    fn problems(&self) -> Vec<&Value> {
        self.records.iter().filter(Run::of("problem")).collect()
    }

    fn summary(&self) -> &Value {
        self.records.iter().find(Run::of("summary")).unwrap_or(&Value::Null)
    }
}

fn ferret(args: &[&str]) -> Run {
    let out = Command::cargo_bin("ferret")
        .unwrap()
        .args(args)
        .args(["--format", "jsonl", "-q"])
        .env("FERRET_NO_CONFIG", "1")
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap(),
        records: String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn logs(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ferret-logs/tests/data/logs").join(name)
}

/// A rule that needs the `%trusted_hosts%` placeholder, and one that does not.
fn placeholder_rules(dir: &Path) -> PathBuf {
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(
        rules.join("root_login.yml"),
        "title: Root login\nid: 5e0c2b8a-0000-4000-8000-00000000aa01\nlevel: high\n\
         logsource:\n    product: linux\ndetection:\n    keywords:\n        - 'Accepted password for root'\n\
         \x20   condition: keywords\n",
    )
    .unwrap();
    std::fs::write(
        rules.join("expand.yml"),
        "title: Login from a trusted host\nid: 5e0c2b8a-0000-4000-8000-00000000aa02\nlevel: low\n\
         logsource:\n    product: linux\ndetection:\n    sel:\n        message|contains|expand: '%trusted_hosts%'\n\
         \x20   condition: sel\n",
    )
    .unwrap();
    rules
}

#[test]
fn sigma_placeholders_from_the_command_line_and_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let rules = placeholder_rules(dir.path());
    let log = logs("syslog_rfc3164.log");
    let (log, rules) = (log.to_str().unwrap(), rules.to_str().unwrap());
    // Without a value the `expand` rule cannot load: the run is incomplete and says why.
    let r = ferret(&["hunt", log, "--sigma", rules]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.problems().iter().any(|p| p["reason"].as_str().unwrap_or("").contains("%trusted_hosts%")),
        "{:?}",
        r.problems()
    );
    assert_eq!(r.summary()["complete"], false, "{}", r.summary());
    // With a value it loads and matches (the host is in the log's message).
    let r = ferret(&[
        "hunt",
        log,
        "--sigma",
        rules,
        "--sigma-placeholder",
        "trusted_hosts=10.9.9.9,203.0.113.7",
    ]);
    assert!(r.problems().is_empty(), "{:?}", r.problems());
    assert_eq!(r.findings(), 2, "{}", r.stderr);
    // The same from a file.
    let file = dir.path().join("placeholders.txt");
    std::fs::write(&file, "# hosts we trust\ntrusted_hosts=203.0.113.7\n").unwrap();
    let r = ferret(&[
        "hunt",
        log,
        "--sigma",
        rules,
        "--sigma-placeholder-file",
        file.to_str().unwrap(),
    ]);
    assert!(r.problems().is_empty(), "{:?}", r.problems());
    assert_eq!(r.findings(), 2);
    // A malformed file line is named with its position (status 2).
    std::fs::write(&file, "trusted_hosts\n").unwrap();
    let r = ferret(&[
        "hunt",
        log,
        "--sigma",
        rules,
        "--sigma-placeholder-file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("placeholders.txt:1"), "{}", r.stderr);
}

#[test]
fn exclude_rule_leaves_a_rule_out_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let rules = placeholder_rules(dir.path());
    let log = logs("syslog_rfc3164.log");
    let (log, rules) = (log.to_str().unwrap(), rules.to_str().unwrap());
    let r = ferret(&[
        "hunt",
        log,
        "--sigma",
        rules,
        "--exclude-rule",
        "5e0c2b8a-0000-4000-8000-00000000aa02",
        "--exclude-rule",
        "no-such-rule",
    ]);
    assert!(r.problems().is_empty(), "the excluded rule is not a load failure: {:?}", r.problems());
    assert_eq!(r.findings(), 1);
    let notes = r.summary()["notes"].to_string();
    assert!(notes.contains("1 rule(s) left out by --exclude-rule"), "{notes}");
    assert!(notes.contains("--exclude-rule matched no rule: no-such-rule"), "{notes}");
}

#[test]
fn min_score_has_one_meaning_and_three_spellings() {
    let dir = tempfile::tempdir().unwrap();
    let rules = placeholder_rules(dir.path());
    let log = logs("syslog_rfc3164.log");
    let (log, rules) = (log.to_str().unwrap(), rules.to_str().unwrap());
    let base = ["hunt", log, "--sigma", rules, "--sigma-placeholder", "trusted_hosts=203.0.113.7"];
    for opt in [["--min-score", "75"], ["--min-severity", "high"], ["--min-level", "high"]] {
        let args: Vec<&str> = base.iter().chain(opt.iter()).copied().collect();
        let r = ferret(&args);
        assert_eq!(r.findings(), 1, "{opt:?}: only the high rule is reported");
    }
    let r = ferret(&[&base[..], &["--min-score", "101"]].concat());
    assert_eq!(r.code, 2, "a score over 100 is a usage error");
}

#[test]
fn hunt_takes_exclude() {
    let dir = tempfile::tempdir().unwrap();
    let rules = placeholder_rules(dir.path());
    let logdir = dir.path().join("logs");
    std::fs::create_dir_all(&logdir).unwrap();
    std::fs::copy(logs("syslog_rfc3164.log"), logdir.join("auth.log")).unwrap();
    std::fs::copy(logs("syslog_rfc3164.log"), logdir.join("auth.log.old")).unwrap();
    let base = [
        "hunt",
        logdir.to_str().unwrap(),
        "--sigma",
        rules.to_str().unwrap(),
        "--sigma-placeholder",
        "trusted_hosts=203.0.113.7",
    ];
    let all = ferret(&base);
    let some = ferret(&[&base[..], &["--exclude", "*.old"]].concat());
    assert_eq!(all.findings(), 4, "{}", all.stderr);
    assert_eq!(some.findings(), 2);
    assert_eq!(some.summary()["skipped"]["excluded"], 1, "{}", some.summary());
}

#[test]
fn check_takes_threads_priority_and_a_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big.log"), vec![b'x'; 4096]).unwrap();
    std::fs::write(dir.path().join("small.txt"), b"hello\n").unwrap();
    let d = dir.path().to_str().unwrap();
    let r = ferret(&["check", d, "-j", "2", "--low-priority", "--max-file-size", "1K"]);
    assert_eq!(r.code, 3, "a file left unread makes the check incomplete: {}", r.stderr);
    assert!(
        r.problems()
            .iter()
            .any(|p| p["reason"].as_str().unwrap_or("").contains("over the size limit")),
        "{:?}",
        r.problems()
    );
    assert!(
        r.summary()["incomplete_reasons"].to_string().contains("--max-file-size"),
        "{}",
        r.summary()
    );
}

/// The SigmaHQ rules of the corpus with `%known_cdcs%` given: no rule fails for a missing
/// placeholder.
#[test]
fn sigmahq_placeholders_can_be_given() {
    let Some(corpus) = ferret_testkit::require_corpus() else { return };
    let rules = corpus.join("sigma/rules-emerging-threats");
    let log = logs("syslog_rfc3164.log");
    let (log, rules) = (log.to_str().unwrap(), rules.to_str().unwrap());
    let unresolved = |r: &Run| {
        r.problems()
            .iter()
            .filter(|p| p["reason"].as_str().unwrap_or("").contains("placeholder"))
            .count()
    };
    let without = ferret(&["hunt", log, "--sigma", rules]);
    assert!(unresolved(&without) >= 2, "{}", without.stderr);
    let with = ferret(&[
        "hunt",
        log,
        "--sigma",
        rules,
        "--sigma-placeholder",
        "known_cdcs=dc1.corp.example,10.0.0.5",
    ]);
    assert_eq!(unresolved(&with), 0, "{:?}", with.problems());
}

/// The start and finish times, in UTC, in the text view and the CSV `run` row (JSONL and HTML
/// carry `started`/`finished` already).
#[test]
fn start_and_finish_times_in_every_view() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), b"hello\n").unwrap();
    let view = |format: &str| {
        let out = Command::cargo_bin("ferret")
            .unwrap()
            .args(["check", dir.path().to_str().unwrap(), "-q", "--format", format])
            .env("FERRET_NO_CONFIG", "1")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = view("text");
    let line = text.lines().find(|l| l.trim_start().starts_with("started:")).unwrap_or_default();
    assert!(line.contains(" UTC, finished ") && line.ends_with(" s)"), "{text}");
    let csv = view("csv");
    let run = csv.lines().last().unwrap_or_default();
    assert!(run.starts_with("run,,,,check,"), "{csv}");
    assert!(run.matches("+00:00").count() == 2, "start and finish in UTC: {run}");
    assert!(run.contains("INCOMPLETE") || run.contains("CLEAN"), "{run}");
}
