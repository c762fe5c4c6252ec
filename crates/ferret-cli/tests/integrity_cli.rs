//! `ferret keygen`, `baseline`, `verify` and `diff` end to end, with their exit statuses.

#![expect(clippy::disallowed_methods, reason = "tests build and mutate fixture trees")]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

fn ferret() -> Command {
    Command::cargo_bin("ferret").unwrap()
}

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
