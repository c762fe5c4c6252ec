//! Helpers shared by the integration tests of the `ferret` binary: the command to run, with
//! the environment each suite wants, and reading its JSON-lines output; for the intel suites,
//! the repository's `intel/` folder and a signing key.
#![allow(dead_code, reason = "each test file uses a different subset")]

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

/// The `ferret` binary cargo built for these tests, nothing set.
pub fn bin() -> Command {
    Command::cargo_bin("ferret").unwrap()
}

fn timed(secs: u64) -> Command {
    let mut c = bin();
    c.timeout(Duration::from_secs(secs));
    c
}

/// `ferret` stopped after 300 s; it reads its configuration as usual.
pub fn ferret_plain() -> Command {
    timed(300)
}

/// `ferret` that reads no configuration file (`FERRET_NO_CONFIG`), stopped after 300 s.
pub fn ferret() -> Command {
    let mut c = timed(300);
    c.env("FERRET_NO_CONFIG", "1");
    c
}

/// The cache folder the tests give `ferret` (`XDG_CACHE_HOME`), shared between runs.
pub fn test_cache() -> PathBuf {
    std::env::temp_dir().join("ferret-test-cache")
}

/// `ferret` with the tests' cache folder, stopped after 120 s.
pub fn ferret_cached() -> Command {
    let mut c = timed(120);
    c.env("XDG_CACHE_HOME", test_cache());
    c
}

/// Runs ferret with `config` as its configuration folder: exit code, stdout, stderr.
pub fn run_with_config(args: &[&str], config: &Path) -> (i32, String, String) {
    let out = bin().env("FERRET_CONFIG_DIR", config).args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The records of a JSON-lines report, one per line.
pub fn records(jsonl: impl AsRef<[u8]>) -> Vec<Value> {
    String::from_utf8_lossy(jsonl.as_ref())
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The records of type `t`, in order.
pub fn of_type<'a>(recs: &'a [Value], t: &str) -> Vec<&'a Value> {
    recs.iter().filter(|r| r["type"] == t).collect()
}

/// The last summary record; a report without one fails the test.
pub fn summary(recs: &[Value]) -> &Value {
    recs.iter().rev().find(|r| r["type"] == "summary").expect("a summary record")
}

/// The first summary record of a JSON-lines report.
pub fn summary_of(jsonl: &str) -> Value {
    jsonl
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["type"] == "summary")
        .unwrap()
}

/// The repository's `intel/` folder.
pub fn intel_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../intel")
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `ferret keygen` into `dir`: the secret and the public key files.
pub fn keygen(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let key = dir.join(name);
    let (code, _, err) = run_with_config(&["keygen", "-o", s(&key)], dir);
    assert_eq!(code, 0, "{err}");
    (key.clone(), dir.join(format!("{name}.pub")))
}
