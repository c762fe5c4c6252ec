//! The configuration file (`ferret.toml`): its settings apply, command-line options win,
//! `FERRET_NO_CONFIG=1` (the agent's directive runs) reads none, unknown keys stop the run
//! naming the file and the key, and `ferret config show` says where each value came from.
#![allow(clippy::disallowed_methods, reason = "tests write their own temporary fixtures")]

use std::path::Path;

use assert_cmd::Command;
use ferret_testkit::Tree;

struct Fixture {
    tree: Tree,
    config: tempfile::TempDir,
}

/// A tree with one file a YARA rule matches, and a configuration folder whose `ferret.toml`
/// names that rule and excludes the file.
fn fixture() -> Fixture {
    let tree = Tree::new();
    tree.file("data/evil.txt", b"config-test-marker\n");
    tree.file("data/fine.txt", b"nothing here\n");
    let rule = tree.file(
        "rules/marker.yar",
        "rule config_test_marker { strings: $a = \"config-test-marker\" condition: $a }\n",
    );
    let config = tempfile::tempdir().unwrap();
    std::fs::write(
        config.path().join("ferret.toml"),
        format!(
            "exclude = [\"evil.txt\"]\nthreads = 2\n[scan]\nrules = [{:?}]\nmax_file_size = \"1M\"\n",
            rule.display()
        ),
    )
    .unwrap();
    Fixture { tree, config }
}

fn ferret(config_dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("ferret").unwrap();
    cmd.env("FERRET_CONFIG_DIR", config_dir).env_remove("FERRET_NO_CONFIG");
    cmd
}

fn scan(f: &Fixture, extra: &[&str], no_config: bool) -> (i32, String, String) {
    let mut cmd = ferret(f.config.path());
    cmd.args(["scan", "--no-builtin", "--format", "jsonl", "-q"])
        .args(extra)
        .arg(f.tree.path("data"));
    if no_config {
        cmd.env("FERRET_NO_CONFIG", "1");
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_file_applies_and_flags_win() {
    let f = fixture();
    // The rules come from the file, and its exclude hides the file they match.
    let (code, out, err) = scan(&f, &[], false);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("config_test_marker"), "{out}");
    // An --exclude on the command line replaces the file's list.
    let (code, out, err) = scan(&f, &["--exclude", "*.none"], false);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("config_test_marker"), "{out}");
    // --max-file-size on the command line wins over the file's 1M.
    let (code, out, _) = scan(&f, &["--exclude", "*.none", "--max-file-size", "5"], false);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("over the size limit of 5"), "{out}");
}

#[test]
fn no_config_reads_no_file() {
    let f = fixture();
    // Without the file, --no-builtin has no rules: could not start.
    let (code, _, err) = scan(&f, &[], true);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--no-builtin needs at least one --rules PATH"), "{err}");
    // Even a broken file is not read.
    std::fs::write(f.config.path().join("ferret.toml"), "not valid = = toml").unwrap();
    let rule = f.tree.path("rules/marker.yar");
    let (code, out, err) = scan(&f, &["-r", rule.to_str().unwrap()], true);
    assert_eq!(code, 1, "{out}{err}");
    let show = ferret(f.config.path())
        .args(["config", "show"])
        .env("FERRET_NO_CONFIG", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(show.status.success(), "{text}");
    assert!(text.contains("FERRET_NO_CONFIG=1 is set"), "{text}");
    assert!(text.contains("threads = 0 (one per CPU)    # default"), "{text}");
}

#[test]
fn unknown_keys_stop_the_run_naming_file_and_key() {
    let f = fixture();
    let file = f.config.path().join("ferret.toml");
    std::fs::write(&file, "[scan]\nrule = [\"/x\"]\n").unwrap();
    let (code, _, err) = scan(&f, &[], false);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&file.display().to_string()) && err.contains("rule"), "{err}");
    std::fs::write(&file, "min_score = \"severe\"\n").unwrap();
    let (code, _, err) = scan(&f, &[], false);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("min_score"), "{err}");
}

#[test]
fn config_show_names_each_source() {
    let f = fixture();
    let file = f.config.path().join("ferret.toml");
    let out = ferret(f.config.path()).args(["config", "show"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(&format!("# {} (read)", file.display())), "{text}");
    assert!(text.contains(&format!("threads = 2    # from {}", file.display())), "{text}");
    assert!(
        text.contains(&format!("scan.max_file_size = 1M    # from {}", file.display())),
        "{text}"
    );
    assert!(text.contains("hunt.max_file_size = none    # default"), "{text}");
    assert!(text.contains("min_score = 0    # default"), "{text}");
}
