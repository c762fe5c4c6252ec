//! `verify --dpkg` on a synthetic root: a modified package file, a changed conffile, a
//! missing file, files dpkg's path-exclude never installed, merged-/usr aliases, and planted
//! files nobody owns. Plus, where this machine has a dpkg database, a check of a few core
//! packages on it.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::put;
use ferret_core::{Collector, Finding};
use ferret_integrity::dpkg::{DpkgOptions, verify_dpkg};
use md5::{Digest, Md5};

fn md5(b: &[u8]) -> String {
    hex::encode(Md5::digest(b))
}

fn synthetic_root(root: &Path) {
    let status = format!(
        "Package: tool\nStatus: install ok installed\nArchitecture: amd64\nConffiles:\n /etc/tool.conf {}\n /etc/tool.old {} obsolete\nDescription: a tool\n\nPackage: other\nStatus: install ok installed\n",
        md5(b"orig conf"),
        md5(b"old")
    );
    put(root, "var/lib/dpkg/status", status.as_bytes());
    let sums = format!(
        "{}  usr/bin/tool\n{}  usr/bin/modified\n{}  usr/bin/gone\n{}  usr/share/doc/tool/README\n{}  bin/merged\n",
        md5(b"good"),
        md5(b"orig"),
        md5(b"gone"),
        md5(b"doc"),
        md5(b"merged")
    );
    put(root, "var/lib/dpkg/info/tool:amd64.md5sums", sums.as_bytes());
    put(
        root,
        "var/lib/dpkg/info/tool:amd64.list",
        b"/.\n/usr\n/usr/bin\n/usr/bin/tool\n/usr/bin/modified\n/usr/bin/gone\n/etc/tool.conf\n/bin/merged\n/usr/lib/x/owned.so\n",
    );
    put(root, "etc/dpkg/dpkg.cfg.d/excludes", b"path-exclude=/usr/share/doc/*\n");
    put(root, "usr/bin/tool", b"good");
    put(root, "usr/bin/modified", b"evil");
    put(root, "usr/bin/merged", b"merged");
    std::os::unix::fs::symlink("usr/bin", root.join("bin")).unwrap();
    put(root, "etc/tool.conf", b"changed conf");
    put(root, "usr/bin/planted", b"\x7fELF planted");
    std::fs::set_permissions(root.join("usr/bin/planted"), std::fs::Permissions::from_mode(0o755))
        .unwrap();
    put(root, "usr/local/bin/dropped", b"#!/bin/sh\n");
    std::fs::set_permissions(
        root.join("usr/local/bin/dropped"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    put(root, "usr/lib/x/evil.so", b"\x7fELF evil");
    put(root, "usr/lib/x/owned.so", b"\x7fELF owned");
    put(root, "usr/lib/x/data.txt", b"not a binary");
}

fn ids(findings: &[Finding]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = findings
        .iter()
        .map(|f| {
            (
                f.rule.id.clone(),
                f.details.get("package").and_then(|p| p.as_str()).unwrap_or("").to_owned()
                    + ":"
                    + f.message.as_deref().unwrap_or("").split(':').next().unwrap_or(""),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn synthetic_root_findings() {
    let d = tempfile::tempdir().unwrap();
    synthetic_root(d.path());
    let sink = Collector::new();
    let opts = DpkgOptions { root: d.path().to_path_buf(), unowned: true, ..Default::default() };
    let summary = verify_dpkg(&opts, &sink).unwrap();
    let (findings, problems, _, _) = sink.into_parts();
    assert!(problems.is_empty(), "{problems:?}");
    let got = ids(&findings);
    let want: Vec<(String, String)> = [
        ("DPKG001", "tool:/usr/bin/modified"),
        ("DPKG002", "tool:/etc/tool.conf"),
        ("DPKG003", "tool:/usr/bin/gone"),
        ("DPKG004", ":/usr/bin/planted"),
        ("DPKG004", ":/usr/lib/x/evil.so"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(got, want);
    assert_eq!(summary.skipped["path_exclude"], 1);
    assert!(summary.not_checked.iter().any(|s| s.contains("only as trustworthy")));
    let planted =
        findings.iter().find(|f| f.message.as_deref().unwrap().contains("planted")).unwrap();
    assert!(planted.score >= 75);
    let conf = findings.iter().find(|f| f.rule.id == "DPKG002").unwrap();
    assert!(conf.score < 60, "configuration changes rank low");
}

#[test]
fn missing_database_cannot_start() {
    let d = tempfile::tempdir().unwrap();
    let sink = Collector::new();
    let opts = DpkgOptions { root: d.path().to_path_buf(), unowned: true, ..Default::default() };
    assert!(verify_dpkg(&opts, &sink).is_err());
}

/// On a Debian-based machine, a few core packages verify without modified files. Other
/// packages on a development host may legitimately differ (self-updating tools), so this
/// checks only the core ones; unowned files are not looked for.
#[test]
fn this_machine_core_packages_are_unmodified() {
    let root = Path::new("/");
    if !root.join("var/lib/dpkg/status").exists() {
        ferret_testkit::skip("a dpkg database on this machine (/var/lib/dpkg/status)");
        return;
    }
    let packages = ["coreutils", "bash", "dpkg", "login", "passwd"].map(str::to_owned).to_vec();
    let sink = Collector::new();
    let opts =
        DpkgOptions { root: root.to_path_buf(), unowned: false, packages, ..Default::default() };
    let summary = verify_dpkg(&opts, &sink).unwrap();
    let (findings, _, _, _) = sink.into_parts();
    for f in &findings {
        eprintln!("found: {} {}", f.rule.id, f.message.as_deref().unwrap_or(""));
    }
    assert!(summary.counter("files_checked") > 0);
    assert!(
        findings.iter().all(|f| f.rule.id != "DPKG001"),
        "modified package files on this machine"
    );
}

fn run(opts: &DpkgOptions) -> (Vec<Finding>, ferret_core::Summary) {
    let sink = Collector::new();
    let summary = verify_dpkg(opts, &sink).unwrap();
    let (findings, problems, _, _) = sink.into_parts();
    assert!(problems.is_empty(), "{problems:?}");
    (findings, summary)
}

/// Packages never install under /usr/local (the local administrator's place): files there
/// are looked for only when asked.
#[test]
fn usr_local_is_searched_only_when_asked() {
    let d = tempfile::tempdir().unwrap();
    synthetic_root(d.path());
    let opts = DpkgOptions { root: d.path().to_path_buf(), unowned: true, ..Default::default() };
    let (findings, summary) = run(&opts);
    assert!(
        findings.iter().all(|f| !f.message.as_deref().unwrap_or("").contains("/usr/local")),
        "{:?}",
        ids(&findings)
    );
    assert!(
        summary.not_checked.iter().any(|s| s.contains("usr/local") && s.contains("--unowned-in"))
    );
    let opts = DpkgOptions { unowned_in: vec!["/usr/local".into()], ..opts };
    let (findings, _) = run(&opts);
    assert!(ids(&findings).contains(&("DPKG004".to_owned(), ":/usr/local/bin/dropped".to_owned())));
}

/// `--package` limits every check to the named packages: no search for files nobody owns.
#[test]
fn package_limits_every_check() {
    let d = tempfile::tempdir().unwrap();
    synthetic_root(d.path());
    let opts = DpkgOptions {
        root: d.path().to_path_buf(),
        unowned: true,
        packages: vec!["tool".into()],
        ..Default::default()
    };
    let (findings, summary) = run(&opts);
    let got = ids(&findings);
    assert!(got.iter().all(|(id, who)| id != "DPKG004" && who.starts_with("tool:")), "{got:?}");
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(summary.incomplete_reasons.is_empty(), "{:?}", summary.incomplete_reasons);
    // The arch-qualified name selects the same package.
    let opts = DpkgOptions { packages: vec!["tool:amd64".into()], ..opts };
    let (findings, summary) = run(&opts);
    assert_eq!(ids(&findings), got);
    assert!(summary.incomplete_reasons.is_empty());
}

/// A mistyped `--package` is never a clean result: the run is incomplete and says why.
#[test]
fn unknown_package_makes_the_run_incomplete() {
    let d = tempfile::tempdir().unwrap();
    synthetic_root(d.path());
    let opts = DpkgOptions {
        root: d.path().to_path_buf(),
        unowned: true,
        packages: vec!["tol".into()],
        ..Default::default()
    };
    let (findings, mut summary) = run(&opts);
    assert!(findings.is_empty());
    assert_eq!(summary.counter("files_checked"), 0);
    summary.settle();
    assert!(!summary.complete);
    assert!(summary.result_line().contains("unknown package \"tol\""), "{}", summary.result_line());
}

/// Findings roll up per package: one line each, the worst first, with the counts.
#[test]
fn findings_roll_up_per_package() {
    let d = tempfile::tempdir().unwrap();
    synthetic_root(d.path());
    let opts = DpkgOptions { root: d.path().to_path_buf(), unowned: true, ..Default::default() };
    let (_, summary) = run(&opts);
    let packages = summary.details["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 2, "{packages:?}");
    let tool = &packages[0];
    assert_eq!(tool["package"], "tool");
    assert_eq!(tool["files_modified"], 1);
    assert_eq!(tool["files_missing"], 1);
    assert_eq!(tool["conffiles_changed"], 1);
    assert_eq!(tool["worst_rule"], "package-file-modified");
    assert_eq!(tool["worst_path"], "/usr/bin/modified");
    assert_eq!(packages[1]["package"], "(no package)");
    assert_eq!(packages[1]["unowned_files"], 2);
    let lines = summary.details["rollup"]["lines"].as_array().unwrap();
    assert_eq!(
        lines[0],
        "tool: 1 file(s) modified, 1 missing, 1 conffile(s) changed; worst: HIGH 80 \
         package-file-modified /usr/bin/modified"
    );
}

/// The stop flag ends the check early; the summary says it was interrupted.
#[test]
fn raised_stop_flag_interrupts() {
    let d = tempfile::tempdir().unwrap();
    synthetic_root(d.path());
    let opts = DpkgOptions { root: d.path().to_path_buf(), unowned: true, ..Default::default() };
    opts.cancel.cancel();
    let (findings, summary) = run(&opts);
    assert!(findings.is_empty());
    assert!(summary.interrupted);
}

/// The policy hash in the report changes with what the check applied.
#[test]
fn policy_hash_covers_selection_and_directories() {
    use ferret_integrity::dpkg::policy_sha256;
    let a = DpkgOptions { unowned: true, ..Default::default() };
    let b = DpkgOptions { unowned_in: vec!["opt".into()], ..a.clone() };
    let c = DpkgOptions { packages: vec!["bash".into()], ..a.clone() };
    let d = DpkgOptions { unowned: false, ..a.clone() };
    let all = [policy_sha256(&a), policy_sha256(&b), policy_sha256(&c), policy_sha256(&d)];
    for (i, x) in all.iter().enumerate() {
        assert_eq!(x.len(), 64);
        assert!(all.iter().skip(i + 1).all(|y| y != x), "{all:?}");
    }
    assert_eq!(policy_sha256(&a), policy_sha256(&a.clone()));
}
