//! Which root is checked: a missing root cannot start, a wrong root (most manifest entries
//! absent) is incomplete rather than a flood of findings or a clean result, a copy of the
//! tree elsewhere verifies clean (paths are relative), and a raised stop flag interrupts
//! both baseline and verify.

#![expect(clippy::disallowed_methods, reason = "tests build fixture trees")]

mod common;

use std::io::Cursor;

use common::{manifest_of, put, run_verify};
use ferret_core::{Cancel, Collector};
use ferret_integrity::baseline::{BaselineError, BaselineOptions, baseline};
use ferret_integrity::tree::WalkOptions;
use ferret_integrity::verify::{Trust, VerifyError, VerifyOptions, verify};
use ferret_integrity::{HashAlgorithm, Policy};

fn golden(root: &std::path::Path) {
    for i in 0..20 {
        put(root, &format!("usr/bin/tool{i}"), format!("tool {i}").as_bytes());
    }
    put(root, "etc/app.conf", b"a=1");
}

#[test]
fn missing_root_cannot_start() {
    let d = tempfile::tempdir().unwrap();
    golden(d.path());
    let bytes = manifest_of(d.path(), &Policy::empty(), HashAlgorithm::Sha256, false);
    let err = run_verify(&d.path().join("nonexistent"), &bytes, &Trust::Unsigned, &Policy::empty())
        .unwrap_err();
    assert!(matches!(err, VerifyError::Root { .. }), "{err:?}");
}

#[test]
fn copy_of_the_tree_elsewhere_verifies_clean() {
    let d = tempfile::tempdir().unwrap();
    let (g, s) = (d.path().join("golden"), d.path().join("suspect"));
    golden(&g);
    golden(&s);
    let bytes = manifest_of(&g, &Policy::empty(), HashAlgorithm::Sha256, false);
    let (findings, problems, summary) =
        run_verify(&s, &bytes, &Trust::Unsigned, &Policy::empty()).unwrap();
    assert!(findings.is_empty() && problems.is_empty(), "{findings:?} {problems:?}");
    assert!(summary.incomplete_reasons.is_empty(), "{:?}", summary.incomplete_reasons);
    assert_eq!(summary.counter("entries_absent"), 0);
}

#[test]
fn empty_mount_point_is_a_wrong_root_not_findings() {
    let d = tempfile::tempdir().unwrap();
    let (g, s) = (d.path().join("golden"), d.path().join("unmounted"));
    golden(&g);
    std::fs::create_dir(&s).unwrap();
    let bytes = manifest_of(&g, &Policy::empty(), HashAlgorithm::Sha256, false);
    let (findings, _, mut summary) =
        run_verify(&s, &bytes, &Trust::Unsigned, &Policy::empty()).unwrap();
    assert!(findings.is_empty(), "absences under a wrong root are not findings: {findings:?}");
    summary.settle();
    assert!(!summary.complete);
    let line = summary.result_line();
    // 20 tools, usr/bin, usr, etc, etc/app.conf
    assert!(line.starts_with("INCOMPLETE"), "{line}");
    assert!(line.contains("24 of 24 manifest entries are absent"), "{line}");
    assert!(line.contains(&g.display().to_string()), "names the recorded root: {line}");
}

#[test]
fn another_tree_is_a_wrong_root_and_keeps_real_differences() {
    let d = tempfile::tempdir().unwrap();
    let (g, s) = (d.path().join("golden"), d.path().join("boot"));
    golden(&g);
    put(&s, "vmlinuz", b"kernel");
    put(&s, "grub/grub.cfg", b"menu");
    put(&s, "etc/app.conf", b"a=2");
    let bytes = manifest_of(&g, &Policy::empty(), HashAlgorithm::Sha256, false);
    let (findings, _, summary) =
        run_verify(&s, &bytes, &Trust::Unsigned, &Policy::empty()).unwrap();
    let ids: Vec<&str> = findings.iter().map(|f| f.rule.id.as_str()).collect();
    assert_eq!(ids, ["INT001"], "only the path present in both is compared: {findings:?}");
    assert!(summary.incomplete_reasons.iter().any(|r| r.contains("22 of 24")), "{summary:?}");
}

#[test]
fn a_few_deleted_files_are_findings_not_a_wrong_root() {
    let d = tempfile::tempdir().unwrap();
    golden(d.path());
    let bytes = manifest_of(d.path(), &Policy::empty(), HashAlgorithm::Sha256, false);
    for i in 0..5 {
        std::fs::remove_file(d.path().join(format!("usr/bin/tool{i}"))).unwrap();
    }
    let (findings, _, summary) =
        run_verify(d.path(), &bytes, &Trust::Unsigned, &Policy::empty()).unwrap();
    assert_eq!(findings.len(), 5);
    assert!(summary.incomplete_reasons.is_empty(), "{:?}", summary.incomplete_reasons);
    assert_eq!(summary.counter("entries_absent"), 5);
}

#[test]
fn baseline_of_a_missing_root_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    let err = baseline(
        &d.path().join("nonexistent"),
        &Policy::empty(),
        &BaselineOptions::default(),
        &mut out,
        &Collector::new(),
    )
    .unwrap_err();
    assert!(matches!(err, BaselineError::Root { .. }), "{err:?}");
    assert!(out.is_empty());
}

#[test]
fn raised_stop_flag_interrupts_baseline_and_verify() {
    let d = tempfile::tempdir().unwrap();
    golden(d.path());
    let bytes = manifest_of(d.path(), &Policy::empty(), HashAlgorithm::Sha256, false);
    let cancel = Cancel::new();
    cancel.cancel();
    let walk = WalkOptions { cancel, ..WalkOptions::default() };
    let opts = BaselineOptions { walk: walk.clone(), ..BaselineOptions::default() };
    let err =
        baseline(d.path(), &Policy::empty(), &opts, Vec::new(), &Collector::new()).unwrap_err();
    assert!(matches!(err, BaselineError::Interrupted), "{err:?}");
    let sink = Collector::new();
    let out = verify(
        d.path(),
        Cursor::new(&bytes),
        &Trust::Unsigned,
        &Policy::empty(),
        &VerifyOptions { walk },
        &sink,
    )
    .unwrap();
    let (findings, _, _, _) = sink.into_parts();
    assert!(findings.is_empty(), "a stopped walk is not a tree of removed files: {findings:?}");
    assert!(out.summary.interrupted);
    assert!(out.summary.result_line().contains("interrupted"));
}
