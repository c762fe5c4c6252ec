//! Trust in ferret itself: `ferret --version --verbose` prints the executable's SHA-256, and
//! every report carries ferret's version, that SHA-256 and the SHA-256 of the rules or policy
//! the run loaded.

#![expect(clippy::disallowed_methods, reason = "the test builds its fixture tree")]

mod common;

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use common::bin as ferret;

fn exe_sha256() -> String {
    hex::encode(Sha256::digest(std::fs::read(assert_cmd::cargo::cargo_bin("ferret")).unwrap()))
}

/// The `tool` object of a JSONL report (in its summary record).
fn tool(stdout: &[u8]) -> Value {
    let last = String::from_utf8_lossy(stdout).lines().last().unwrap().to_owned();
    let summary: Value = serde_json::from_str(&last).unwrap();
    assert_eq!(summary["type"], "summary", "{summary}");
    summary["tool"].clone()
}

#[test]
fn version_verbose_prints_the_executable_hash() {
    let out = ferret().args(["--version", "--verbose"]).output().unwrap();
    assert!(out.status.success());
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains(&format!("ferret {}", env!("CARGO_PKG_VERSION"))), "{text}");
    assert!(text.contains(&format!("executable sha256: {}", exe_sha256())), "{text}");
    #[cfg(feature = "scan")]
    assert!(text.contains("built-in rules sha256: "), "{text}");
    // Without --verbose, only the version.
    let out = ferret().arg("--version").output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("sha256"));
}

#[test]
fn reports_carry_version_executable_and_ruleset_hashes() {
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("a.txt"), b"a").unwrap();
    let manifest = work.path().join("m.manifest");
    ferret().arg("baseline").arg(&tree).arg("-o").arg(&manifest).arg("-q").assert().code(0);
    let policy = work.path().join("policy.toml");
    let exe = exe_sha256();

    let verify = |extra: &[&std::ffi::OsStr]| {
        let out = ferret()
            .arg("verify")
            .arg(&tree)
            .arg("-m")
            .arg(&manifest)
            .args(["--allow-unsigned", "-q", "--format", "jsonl"])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        tool(&out.stdout)
    };
    let t = verify(&[]);
    assert_eq!(t["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(t["exe_sha256"], exe.as_str());
    let builtin = t["ruleset_sha256"].as_str().unwrap().to_owned();
    assert_eq!(builtin.len(), 64);
    // Another policy, another rule-set hash; the same policy, the same hash.
    std::fs::write(&policy, "[[rule]]\npaths = [\"etc\"]\ncheck = [\"all\"]\n").unwrap();
    let other = verify(&["--policy".as_ref(), policy.as_os_str()]);
    if other["ruleset_sha256"].is_string() {
        assert_ne!(other["ruleset_sha256"].as_str().unwrap(), builtin);
    }
    assert_eq!(verify(&[])["ruleset_sha256"].as_str().unwrap(), builtin);
    let excluded = verify(&["--exclude".as_ref(), "tmp/**".as_ref()]);
    assert_ne!(excluded["ruleset_sha256"].as_str().unwrap(), builtin);

    let out = ferret()
        .arg("diff")
        .arg(&manifest)
        .arg(&manifest)
        .args(["--allow-unsigned", "-q", "--format", "jsonl"])
        .output()
        .unwrap();
    let t = tool(&out.stdout);
    assert_eq!(t["exe_sha256"], exe.as_str());
    assert_eq!(t["ruleset_sha256"].as_str().map(str::len), Some(64));
}
