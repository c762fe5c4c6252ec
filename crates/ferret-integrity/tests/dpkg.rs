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
    let opts = DpkgOptions { root: d.path().to_path_buf(), unowned: true, packages: vec![] };
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
        ("DPKG004", ":/usr/local/bin/dropped"),
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
    let opts = DpkgOptions { root: d.path().to_path_buf(), unowned: true, packages: vec![] };
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
    let opts = DpkgOptions { root: root.to_path_buf(), unowned: false, packages };
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
