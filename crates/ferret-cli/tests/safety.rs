//! Safe on a production host: problems with the output are found before the work, thread
//! counts are bounded by the machine, and an interrupted run keeps what it found.

mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use ferret_testkit::Tree;

use common::{ferret_plain as ferret, records, summary};

fn sigma_rule(dir: &Tree) -> std::path::PathBuf {
    dir.file(
        "r.yml",
        "title: t\nlogsource:\n  product: linux\ndetection:\n  keywords:\n    - 'never-present-token'\n  condition: keywords\n",
    )
}

#[test]
fn an_output_that_cannot_be_written_fails_before_the_work() {
    let t = Tree::new();
    t.file("a.log", "Mar  3 01:02:03 host sshd[1]: hello\n");
    let rule = sigma_rule(&t);
    let bad = t.path("no/such/dir/report.txt");
    for args in [
        vec!["hunt".into(), t.root().as_os_str().to_owned(), "--sigma".into(), rule.clone().into()],
        #[cfg(feature = "scan")]
        vec!["scan".into(), t.root().as_os_str().to_owned()],
    ] {
        let out = ferret().args(&args).arg("-o").arg(&bad).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("cannot write the report"), "{err}");
        // Failed before the work: no rule was loaded, no log read, nothing rendered.
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn reporting_to_a_collector_without_enrolment_fails_before_the_work() {
    let t = Tree::new();
    t.file("a.log", "Mar  3 01:02:03 host sshd[1]: hello\n");
    let rule = sigma_rule(&t);
    let cfg = Tree::new();
    let out = ferret()
        .env("FERRET_CONFIG_DIR", cfg.root())
        .env("FERRET_SPOOL_DIR", cfg.path("spool"))
        .arg("hunt")
        .arg(t.root())
        .arg("--sigma")
        .arg(&rule)
        .args(["--report-to", "https://collector.invalid:8443"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("not enrolled"), "{err}");
    assert!(out.stdout.is_empty(), "the hunt ran: {}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn thread_counts_are_bounded_by_the_machine() {
    let t = Tree::new();
    for i in 0..20 {
        t.file(format!("d/f{i}.txt"), format!("file {i}"));
    }
    t.file("a.log", "Mar  3 01:02:03 host sshd[1]: hello\n");
    let rule = sigma_rule(&t);
    let mut runs = vec![vec![
        "hunt".into(),
        t.root().as_os_str().to_owned(),
        "--sigma".into(),
        rule.clone().into_os_string(),
    ]];
    if cfg!(feature = "scan") {
        runs.push(vec!["scan".into(), t.root().as_os_str().to_owned()]);
    }
    for args in runs {
        let out =
            ferret().args(&args).args(["-j", "100000", "--format", "jsonl"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(matches!(out.status.code(), Some(0 | 1)), "{args:?}: {text}");
        let s = summary(&records(text.as_bytes())).clone();
        let notes = s["notes"].to_string();
        assert!(notes.contains("100000 threads were asked for"), "{args:?}: {s}");
    }
}

/// Starts `ferret` writing JSONL to `out`, lets it work for `after`, then sends SIGINT.
fn interrupt(args: &[&std::ffi::OsStr], out: &Path, after: Duration) -> (Option<i32>, String) {
    let mut child: Child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ferret"))
        .args(args)
        .args(["--format", "jsonl", "-q", "-o"])
        .arg(out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    let _ = std::process::Command::new("kill").arg("-INT").arg(child.id().to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "ferret did not stop after SIGINT");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    (status.code(), err)
}

/// Whatever the moment of the signal: the report is whole and parses; an interrupted run
/// says so and exits 3 (1 with findings); a run that had already finished is complete.
fn check_interrupted_report(code: Option<i32>, err: &str, out: &Path) -> bool {
    let text = std::fs::read_to_string(out).unwrap_or_else(|e| panic!("no report ({e}): {err}"));
    let recs = records(&text);
    let s = summary(&recs);
    if s["interrupted"] == true {
        assert_eq!(s["complete"], false, "{s}");
        assert!(matches!(code, Some(1 | 3)), "exit {code:?}: {err}");
        true
    } else {
        assert!(matches!(code, Some(0 | 1)), "exit {code:?}: {err}");
        false
    }
}

#[test]
fn sigint_during_a_hunt_keeps_a_partial_report() {
    let t = Tree::new();
    let line = "Mar  3 01:02:03 host sshd[1234]: Accepted publickey for admin from 203.0.113.7\n";
    for f in 0..8 {
        t.file(format!("logs/auth{f}.log"), line.repeat(150_000));
    }
    let rules = Tree::new();
    let rule = sigma_rule(&rules);
    let mut interrupted = 0;
    for (i, ms) in [150u64, 400, 900].into_iter().enumerate() {
        let out = rules.path(format!("report{i}.jsonl"));
        let (code, err) = interrupt(
            &["hunt".as_ref(), t.root().as_os_str(), "--sigma".as_ref(), rule.as_os_str()],
            &out,
            Duration::from_millis(ms),
        );
        interrupted += u32::from(check_interrupted_report(code, &err, &out));
    }
    assert!(interrupted > 0, "no run was caught mid-way; the fixture is too small");
}

#[cfg(feature = "scan")]
#[test]
fn sigint_during_a_scan_keeps_a_partial_report() {
    let t = Tree::new();
    let body = "x".repeat(64 << 10);
    for d in 0..40 {
        for f in 0..100 {
            t.file(format!("d{d}/f{f}.txt"), &body);
        }
    }
    let work = Tree::new();
    let mut interrupted = 0;
    for (i, ms) in [200u64, 600, 1500].into_iter().enumerate() {
        let out = work.path(format!("report{i}.jsonl"));
        let (code, err) = interrupt(
            &["scan".as_ref(), t.root().as_os_str(), "-j".as_ref(), "1".as_ref()],
            &out,
            Duration::from_millis(ms),
        );
        interrupted += u32::from(check_interrupted_report(code, &err, &out));
        // Only the report asked for: no temporary file is left beside it.
        let stray: Vec<_> = std::fs::read_dir(work.root())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .filter(|n| std::path::Path::new(n).extension().is_some_and(|e| e == "tmp"))
            .collect();
        assert!(stray.is_empty(), "{stray:?}");
    }
    assert!(interrupted > 0, "no run was caught mid-way; the fixture is too small");
}

#[test]
fn sigint_during_a_check_keeps_a_partial_report_and_decides_nothing_not_found() {
    let t = Tree::new();
    let header = "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Date: 2021-03-01 00:00:00\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n";
    let line = "2021-03-01 00:00:01 10.0.0.1 GET /owa/auth/logon.aspx - 443 - 198.51.100.9 Mozilla/5.0 - 200 0 0 15\n";
    for f in 0..6 {
        t.file(
            format!("inetpub/logs/LogFiles/W3SVC1/u_ex2103{f:02}.log"),
            format!("{header}{}", line.repeat(150_000)),
        );
    }
    let work = Tree::new();
    let mut interrupted = 0;
    for (i, ms) in [150u64, 400, 900].into_iter().enumerate() {
        let out = work.path(format!("report{i}.jsonl"));
        let (code, err) =
            interrupt(&["check".as_ref(), t.root().as_os_str()], &out, Duration::from_millis(ms));
        if check_interrupted_report(code, &err, &out) {
            interrupted += 1;
            let text = std::fs::read_to_string(&out).unwrap();
            let recs = records(&text);
            let verdicts = summary(&recs)["details"]["verdicts"].to_string();
            assert!(!verdicts.contains("\"not_found\""), "{verdicts}");
        }
    }
    assert!(interrupted > 0, "no run was caught mid-way; the fixture is too small");
}
