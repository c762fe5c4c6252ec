//! `ferret completions SHELL` and the hidden `ferret man --out DIR`: the scripts name every
//! visible verb, and a page is written for ferret and for each verb.
#![allow(clippy::disallowed_methods, reason = "tests read the pages they had written")]

use assert_cmd::Command;

const VERBS: &[&str] = &[
    "check",
    "hunt",
    "serve",
    "enroll",
    "report",
    "agent",
    "admin",
    "keygen",
    "baseline",
    "verify",
    "diff",
    "intel",
    "config",
    "completions",
];

#[test]
fn every_shell_script_names_the_verbs() {
    for shell in ["bash", "zsh", "fish"] {
        let out =
            Command::cargo_bin("ferret").unwrap().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        for verb in VERBS {
            assert!(text.contains(verb), "{shell} completions do not mention {verb}");
        }
    }
    let bash =
        Command::cargo_bin("ferret").unwrap().args(["completions", "bash"]).output().unwrap();
    let bash = String::from_utf8(bash.stdout).unwrap();
    assert!(bash.contains("complete -F _ferret"), "not a bash completion script");
}

#[test]
fn unknown_shell_is_a_usage_error() {
    let out = Command::cargo_bin("ferret").unwrap().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn man_writes_a_page_per_verb() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("ferret")
        .unwrap()
        .args(["man", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let top = std::fs::read_to_string(dir.path().join("ferret.1")).unwrap();
    assert!(top.starts_with(".ie") || top.contains(".TH ferret"), "not a roff page");
    for verb in VERBS {
        let page = dir.path().join(format!("ferret-{verb}.1"));
        assert!(page.is_file(), "no page {}", page.display());
    }
    assert!(!dir.path().join("ferret-man.1").exists(), "the hidden verb has a page");
}
