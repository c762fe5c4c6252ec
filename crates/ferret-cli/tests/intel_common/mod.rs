//! Helpers shared by the intel test files: the repository's `intel/` folder, running ferret
//! with its own configuration folder, and making a signing key.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub fn intel_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../intel")
}

/// Runs ferret with `config` as its configuration folder: exit code, stdout, stderr.
pub fn ferret(args: &[&str], config: &Path) -> (i32, String, String) {
    let out = Command::cargo_bin("ferret")
        .unwrap()
        .env("FERRET_CONFIG_DIR", config)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `ferret keygen` into `dir`: the secret and the public key files.
pub fn keygen(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let key = dir.join(name);
    let (code, _, err) = ferret(&["keygen", "-o", s(&key)], dir);
    assert_eq!(code, 0, "{err}");
    (key.clone(), dir.join(format!("{name}.pub")))
}
