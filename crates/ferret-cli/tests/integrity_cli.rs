//! `ferret keygen`, `baseline`, `verify` and `diff` end to end, with their exit statuses.

#![expect(clippy::disallowed_methods, reason = "tests build and mutate fixture trees")]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use predicates::prelude::*;

use common::bin as ferret;

fn put(root: &Path, rel: &str, data: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, data).unwrap();
}

#[test]
fn keygen_baseline_verify_diff() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let tree = w.join("tree");
    put(&tree, "usr/bin/tool", b"tool v1");
    put(&tree, "etc/app.conf", b"a=1");
    let key = w.join("key");
    ferret()
        .args(["keygen", "-o"])
        .arg(&key)
        .assert()
        .success()
        .stderr(predicate::str::contains("key id"));
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    let pubkey = w.join("key.pub");
    assert!(pubkey.exists());
    // keygen refuses to overwrite.
    ferret().args(["keygen", "-o"]).arg(&key).assert().code(2);

    let m1 = w.join("m1.jsonl");
    ferret()
        .arg("baseline")
        .arg(&tree)
        .arg("-o")
        .arg(&m1)
        .arg("--sign")
        .arg(&key)
        .assert()
        .success();
    assert!(w.join("m1.jsonl.minisig").exists());

    let verify = |m: &Path| {
        let mut c = ferret();
        c.arg("verify").arg(&tree).arg("--manifest").arg(m).arg("--pubkey").arg(&pubkey);
        c
    };
    verify(&m1).assert().code(0).stderr(predicate::str::contains("signed by key"));

    // Modify and plant: findings, exit 1; the report names the manifest and key.
    put(&tree, "usr/bin/tool", b"tool v2");
    put(&tree, "usr/bin/planted", b"\x7fELF");
    std::fs::set_permissions(tree.join("usr/bin/planted"), std::fs::Permissions::from_mode(0o4755))
        .unwrap();
    let out = verify(&m1).args(["--format", "jsonl"]).assert().code(1).get_output().stdout.clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("INT001") && text.contains("INT002"));
    assert!(text.contains("\"key_id\""));
    assert!(text.contains("\"manifest_id\""));

    // No key: refused with exit 2 unless --allow-unsigned.
    ferret()
        .arg("verify")
        .arg(&tree)
        .arg("-m")
        .arg(&m1)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("refusing"));
    ferret()
        .arg("verify")
        .arg(&tree)
        .arg("-m")
        .arg(&m1)
        .arg("--allow-unsigned")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("UNAUTHENTICATED"));

    // Tampered manifest: exit 2.
    let tampered = w.join("t.jsonl");
    let body = std::fs::read_to_string(&m1).unwrap().replace("\"m\":\"0644\"", "\"m\":\"0600\"");
    std::fs::write(&tampered, body).unwrap();
    std::fs::copy(w.join("m1.jsonl.minisig"), w.join("t.jsonl.minisig")).unwrap();
    verify(&tampered).assert().code(2).stderr(predicate::str::contains("signature"));

    // Unsigned manifest with a key given: exit 2.
    let m2 = w.join("m2.jsonl.zst");
    ferret().arg("baseline").arg(&tree).arg("-o").arg(&m2).arg("--zstd").assert().success();
    verify(&m2).assert().code(2).stderr(predicate::str::contains("not signed"));

    // diff: what changed between the two manifests.
    ferret().arg("diff").arg(&m1).arg(&m2).arg("--allow-unsigned").assert().code(1).stdout(
        predicate::str::contains("usr/bin/planted")
            .and(predicate::str::contains("content-modified")),
    );
}

#[test]
fn manifest_written_inside_the_root_is_not_recorded() {
    let work = tempfile::tempdir().unwrap();
    let tree = work.path();
    put(tree, "a", b"a");
    let m = tree.join("m.jsonl");
    ferret().arg("baseline").arg(tree).arg("-o").arg(&m).assert().success();
    let text = std::fs::read_to_string(&m).unwrap();
    assert!(!text.contains("\"p\":\"m.jsonl\""), "{text}");
    ferret().arg("verify").arg(tree).arg("-m").arg(&m).arg("--allow-unsigned").assert().code(0);
}

#[test]
fn verify_dpkg_on_a_test_root() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path();
    put(root, "var/lib/dpkg/status", b"Package: p\nStatus: install ok installed\n\n");
    put(root, "var/lib/dpkg/info/p.md5sums", b"00000000000000000000000000000000  usr/bin/p\n");
    put(root, "var/lib/dpkg/info/p.list", b"/usr/bin/p\n");
    put(root, "usr/bin/p", b"changed");
    ferret()
        .args(["verify", "--dpkg", "--root"])
        .arg(root)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("DPKG001"))
        .stderr(predicate::str::contains("only as trustworthy"));
}

/// The standard `minisign` tool checks ferret's signatures (skipped when it is not installed).
#[test]
fn minisign_tool_accepts_ferret_signatures() {
    if std::process::Command::new("minisign").arg("-v").output().is_err() {
        ferret_testkit::skip("the minisign tool (Debian package minisign)");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    put(&w.join("tree"), "a", b"a");
    ferret().args(["keygen", "-o"]).arg(w.join("key")).assert().success();
    for (name, zstd) in [("m.jsonl", false), ("m.jsonl.zst", true)] {
        let mut c = ferret();
        c.arg("baseline")
            .arg(w.join("tree"))
            .arg("-o")
            .arg(w.join(name))
            .arg("--sign")
            .arg(w.join("key"));
        if zstd {
            c.arg("--zstd");
        }
        c.assert().success();
        let out = std::process::Command::new("minisign")
            .arg("-Vm")
            .arg(w.join(name))
            .arg("-p")
            .arg(w.join("key.pub"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("ferret-manifest id="));
    }
}

fn keygen(w: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let key = w.join("key");
    ferret().args(["keygen", "-o"]).arg(&key).assert().success();
    (key.clone(), w.join("key.pub"))
}

fn golden_tree(root: &Path) {
    for i in 0..12 {
        put(root, &format!("usr/bin/tool{i}"), format!("tool {i}").as_bytes());
    }
    put(root, "etc/app.conf", b"a=1");
}

/// A mistyped or unmounted root is never CLEAN: a missing root cannot run (exit 2).
#[test]
fn verify_of_a_missing_root_cannot_run() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    golden_tree(&w.join("golden"));
    let (key, pubkey) = keygen(w);
    let m = w.join("golden.manifest");
    ferret()
        .arg("baseline")
        .arg(w.join("golden"))
        .arg("-o")
        .arg(&m)
        .arg("--sign")
        .arg(&key)
        .assert()
        .success();
    ferret()
        .arg("verify")
        .arg(w.join("nonexistent"))
        .arg("-m")
        .arg(&m)
        .arg("--pubkey")
        .arg(&pubkey)
        .assert()
        .code(2)
        .stdout(predicate::str::contains("CLEAN").not())
        .stderr(predicate::str::contains("cannot examine the root"));
}

/// A root where most manifest entries are absent (an empty mount point) is incomplete,
/// exit 3, with the count; a copy of the tree elsewhere (the manifest's paths are relative)
/// still verifies clean.
#[test]
fn verify_against_a_wrong_root_is_incomplete() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    golden_tree(&w.join("golden"));
    golden_tree(&w.join("suspect"));
    std::fs::create_dir(w.join("unmounted")).unwrap();
    let (key, pubkey) = keygen(w);
    let m = w.join("golden.manifest");
    ferret()
        .arg("baseline")
        .arg(w.join("golden"))
        .arg("-o")
        .arg(&m)
        .arg("--sign")
        .arg(&key)
        .assert()
        .success();
    let verify = |root: &str| {
        let mut c = ferret();
        c.arg("verify").arg(w.join(root)).arg("-m").arg(&m).arg("--pubkey").arg(&pubkey);
        c
    };
    verify("suspect").assert().code(0).stdout(predicate::str::contains("CLEAN (complete)"));
    verify("unmounted").assert().code(3).stdout(
        predicate::str::contains("INCOMPLETE")
            .and(predicate::str::contains("16 of 16 manifest entries are absent"))
            .and(predicate::str::contains("INT003").not()),
    );
}

fn dpkg_root(root: &Path) {
    put(
        root,
        "var/lib/dpkg/status",
        b"Package: tool\nStatus: install ok installed\nArchitecture: amd64\n\n\
          Package: other\nStatus: install ok installed\nArchitecture: amd64\n\n",
    );
    put(
        root,
        "var/lib/dpkg/info/tool.md5sums",
        b"755f85c2723bb39381c7379a604160d8  usr/bin/tool\n\
          025f253325b46929cd34f2a7c3c55e7c  usr/bin/modified\n",
    );
    put(root, "var/lib/dpkg/info/tool.list", b"/usr/bin/tool\n/usr/bin/modified\n");
    put(
        root,
        "var/lib/dpkg/info/other.md5sums",
        b"3a8e4c06e471595f6eb262bb9b5582d9  usr/bin/other\n",
    );
    put(root, "var/lib/dpkg/info/other.list", b"/usr/bin/other\n");
    put(root, "usr/bin/tool", b"good");
    put(root, "usr/bin/modified", b"evil");
    put(root, "usr/bin/other", b"changed");
    for (p, data) in
        [("usr/bin/planted", &b"\x7fELF planted"[..]), ("usr/local/bin/dropped", b"#!/bin/sh\n")]
    {
        put(root, p, data);
        std::fs::set_permissions(root.join(p), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// A mistyped `--package` is incomplete (exit 3), saying which name is unknown.
#[test]
fn verify_dpkg_unknown_package_is_incomplete() {
    let work = tempfile::tempdir().unwrap();
    dpkg_root(work.path());
    ferret()
        .args(["verify", "--dpkg", "--package", "tol", "--root"])
        .arg(work.path())
        .assert()
        .code(3)
        .stdout(
            predicate::str::contains("INCOMPLETE")
                .and(predicate::str::contains("unknown package \"tol\"")),
        );
}

/// `--package` limits every check to the named packages: nothing about other packages or
/// files no package owns.
#[test]
fn verify_dpkg_package_limits_every_check() {
    let work = tempfile::tempdir().unwrap();
    dpkg_root(work.path());
    let out = ferret()
        .args(["verify", "--dpkg", "--package", "tool", "--format", "jsonl", "--root"])
        .arg(work.path())
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("/usr/bin/modified"), "{text}");
    assert!(!text.contains("DPKG004") && !text.contains("/usr/bin/other"), "{text}");
}

/// Files nobody owns are looked for where packages install; /usr/local only when asked.
/// Findings roll up per package in the text report, and the report carries the SHA-256 of
/// the dpkg policy applied.
#[test]
fn verify_dpkg_searches_usr_local_only_when_asked_and_rolls_up() {
    let work = tempfile::tempdir().unwrap();
    dpkg_root(work.path());
    let run = |extra: &[&str], format: &str| {
        let out = ferret()
            .args(["verify", "--dpkg", "--format", format])
            .args(extra)
            .arg("--root")
            .arg(work.path())
            .assert()
            .code(1)
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    };
    let text = run(&[], "text");
    assert!(text.contains("/usr/bin/planted") && !text.contains("dropped"), "{text}");
    let rollup = text.find("Findings per package").expect("a per-package roll-up");
    let tool_line = text.find("  tool: 1 file(s) modified; worst: HIGH 80").expect(&text);
    assert!(rollup < tool_line && tool_line < text.find("Summary (verify").unwrap(), "{text}");
    assert!(text.contains("  (no package): 1 file(s) no package owns"), "{text}");
    assert!(text.contains("  other: 1 file(s) modified"), "{text}");
    let jsonl = run(&["--unowned-in", "/usr/local"], "jsonl");
    assert!(jsonl.contains("/usr/local/bin/dropped"), "{jsonl}");
    let tool = |jsonl: &str| -> serde_json::Value {
        let line = jsonl.lines().find(|l| l.contains("\"type\":\"summary\"")).expect("a summary");
        serde_json::from_str(line).unwrap()
    };
    let header = tool(&jsonl);
    let sha = header["tool"]["ruleset_sha256"].as_str().expect("ruleset_sha256 in the report");
    assert_eq!(sha.len(), 64);
    let plain = tool(&run(&[], "jsonl"));
    assert_ne!(
        plain["tool"]["ruleset_sha256"].as_str(),
        Some(sha),
        "the policy hash covers --unowned-in"
    );
}

/// `baseline` of a missing root writes nothing and cannot run.
#[test]
fn baseline_of_a_missing_root_writes_nothing() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    ferret()
        .arg("baseline")
        .arg(w.join("nonexistent"))
        .arg("-o")
        .arg(w.join("m.manifest"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot examine the root"));
    assert_eq!(std::fs::read_dir(w).unwrap().count(), 0, "nothing written");
}

/// An output folder that does not exist stops baseline before the walk.
#[test]
fn baseline_to_a_missing_folder_cannot_run() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    put(w, "tree/a", b"a");
    ferret()
        .arg("baseline")
        .arg(w.join("tree"))
        .arg("-o")
        .arg(w.join("no/such/dir/m.manifest"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no/such/dir"));
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A signed manifest is not replaced without --force; replaced, it never keeps a stale
/// signature.
#[test]
fn signed_manifest_is_replaced_only_with_force_and_never_keeps_a_stale_signature() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    golden_tree(&w.join("golden"));
    let (key, pubkey) = keygen(w);
    let m = w.join("golden.manifest");
    let sig = w.join("golden.manifest.minisig");
    let baseline = |extra: &[&str]| {
        let mut c = ferret();
        c.arg("baseline").arg(w.join("golden")).arg("-o").arg(&m).args(extra);
        c
    };
    baseline(&["--sign", key.to_str().unwrap()]).assert().success();
    let (m0, s0) = (std::fs::read(&m).unwrap(), std::fs::read(&sig).unwrap());
    // Without --sign, and even with it, no --force: refused, both files untouched.
    baseline(&[]).assert().code(2).stderr(predicate::str::contains("--force"));
    baseline(&["--sign", key.to_str().unwrap()]).assert().code(2);
    assert_eq!((std::fs::read(&m).unwrap(), std::fs::read(&sig).unwrap()), (m0.clone(), s0));
    // --force without --sign: replaced, the old signature removed (not left stale).
    baseline(&["--force"]).assert().success();
    assert_ne!(std::fs::read(&m).unwrap(), m0);
    assert!(!sig.exists(), "stale signature left beside the new manifest");
    // An unsigned manifest is replaced as before; --force --sign signs the new one.
    baseline(&[]).assert().success();
    baseline(&["--force", "--sign", key.to_str().unwrap()]).assert().success();
    ferret()
        .arg("verify")
        .arg(w.join("golden"))
        .arg("-m")
        .arg(&m)
        .arg("--pubkey")
        .arg(&pubkey)
        .assert()
        .code(0);
    assert_eq!(
        names(w),
        ["golden", "golden.manifest", "golden.manifest.minisig", "key", "key.pub"]
    );
}

/// SIGINT (and SIGTERM) at several moments of a re-baseline: the existing manifest is byte-identical
/// afterwards, and a run that ended by itself (not killed by the signal) leaves no
/// temporary file.
#[test]
fn interrupted_rebaseline_leaves_the_manifest_byte_identical() {
    use std::os::unix::process::ExitStatusExt as _;
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let tree = w.join("tree");
    for d in 0..40 {
        for f in 0..400 {
            put(
                &tree,
                &format!("d{d:02}/f{f:03}"),
                format!("{d} {f} {}", "x".repeat(2000)).as_bytes(),
            );
        }
    }
    let out = w.join("out");
    std::fs::create_dir(&out).unwrap();
    let m = out.join("tree.manifest");
    let bin = assert_cmd::cargo::cargo_bin("ferret");
    let started = std::time::Instant::now();
    ferret().arg("baseline").arg(&tree).arg("-o").arg(&m).args(["-j", "1"]).assert().success();
    let full = started.elapsed();
    let mut before = std::fs::read(&m).unwrap();
    let mut interrupted = 0;
    // SIGTERM too: a shell running the tests in the background may have SIGINT ignored.
    let moments = [("INT", 0.1), ("INT", 0.3), ("INT", 0.5), ("INT", 0.7), ("TERM", 0.3)];
    for (signal, frac) in moments {
        let mut child = std::process::Command::new(&bin)
            .arg("baseline")
            .arg(&tree)
            .arg("-o")
            .arg(&m)
            .args(["-j", "1", "-q"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(full.mul_f64(frac));
        let sent = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        let status = child.wait().unwrap();
        eprintln!("SIG{signal} after {frac} of {full:?}: {status:?}");
        if status.success() {
            // Finished before the signal: a complete new manifest; keep it as the reference.
            assert!(!sent.success() || status.signal().is_none());
            assert_eq!(names(&out), ["tree.manifest"]);
            before = std::fs::read(&m).unwrap();
            continue;
        }
        interrupted += 1;
        assert_eq!(std::fs::read(&m).unwrap(), before, "manifest changed by an interrupted run");
        if status.signal().is_some() {
            // Killed by the default action: the temporary file may remain; never the manifest.
            for n in names(&out) {
                if n != "tree.manifest" {
                    assert!(n.starts_with(".tree.manifest.tmp-"), "{n}");
                    std::fs::remove_file(out.join(n)).unwrap();
                }
            }
        } else {
            assert_eq!(status.code(), Some(3), "an interrupted run is incomplete");
            assert_eq!(names(&out), ["tree.manifest"], "no temporary file left");
        }
    }
    assert!(interrupted > 0, "no run was interrupted (full run took {full:?})");
}

/// `diff` with an input it cannot read cannot run (exit 2).
#[test]
fn diff_with_unreadable_inputs_cannot_run() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    put(w, "tree/a", b"a");
    let m = w.join("m.manifest");
    ferret().arg("baseline").arg(w.join("tree")).arg("-o").arg(&m).assert().success();
    let cut = w.join("cut.manifest");
    let bytes = std::fs::read(&m).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    for bad in [w.join("nonexistent"), w.join("tree"), cut] {
        ferret()
            .arg("diff")
            .arg(&m)
            .arg(&bad)
            .arg("--allow-unsigned")
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty());
    }
}
