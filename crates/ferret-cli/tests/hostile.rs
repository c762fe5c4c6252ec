//! The hostile-input suite: the real `ferret` binary against files, trees, names, rules and
//! logs built to crash, hang or fool it. Every case ends with the run complete (an exit
//! status of 0, 1 or 3, never a crash, never killed by the timeout) and the problem reported
//! by file and reason.
//!
//! The binary is `FERRET_BIN` when set (`bench/hardened.sh` runs this suite against a
//! `panic = "abort"` release build), else the one cargo built for this test. Peak memory of
//! each case, measured on that build (`FERRET_MEASURE`, below), is in `docs/hardening.md`.

#![cfg(feature = "scan")]
#![expect(clippy::disallowed_methods, reason = "tests write their own temporary fixtures")]

use std::ffi::OsStr;
use std::io::Write as _;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use assert_cmd::Command;
use base64::Engine as _;
use ferret_testkit::Tree;
use serde_json::Value;

/// Generous: a case that needs more than this has hung (or read what it must not read).
const TIMEOUT: Duration = Duration::from_secs(120);

fn bin() -> PathBuf {
    std::env::var_os("FERRET_BIN")
        .map_or_else(|| assert_cmd::cargo::cargo_bin("ferret"), PathBuf::from)
}

/// The command for one ferret run. With `FERRET_MEASURE=FILE`, the run goes through GNU
/// `/usr/bin/time`, which appends `test<TAB>peak RSS KiB<TAB>seconds<TAB>exit` to FILE
/// (`bench/hardened.sh` turns that into the table in `docs/hardening.md`).
fn ferret() -> Command {
    let mut c = match std::env::var_os("FERRET_MEASURE") {
        Some(log) => {
            let test = std::thread::current().name().unwrap_or("?").to_owned();
            let mut c = Command::new("/usr/bin/time");
            c.arg("-a").arg("-o").arg(log).arg("-f").arg(format!("{test}\t%M\t%e\t%x"));
            c.arg(bin());
            c
        }
        None => Command::new(bin()),
    };
    c.env("XDG_CACHE_HOME", std::env::temp_dir().join("ferret-test-cache"));
    c.timeout(TIMEOUT);
    c
}

/// A finished run, split by record type.
struct Run {
    code: i32,
    findings: Vec<Value>,
    problems: Vec<Value>,
    summary: Value,
    stdout: Vec<u8>,
}

impl Run {
    fn from(out: &std::process::Output) -> Run {
        let code = out.status.code().unwrap_or_else(|| panic!("killed: {:?}", out.status));
        let mut run = Run {
            code,
            findings: Vec::new(),
            problems: Vec::new(),
            summary: Value::Null,
            stdout: out.stdout.clone(),
        };
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Ok(v) = serde_json::from_str::<Value>(line) else { continue };
            match v["type"].as_str() {
                Some("finding") => run.findings.push(v),
                Some("problem") => run.problems.push(v),
                Some("summary") => run.summary = v,
                _ => {}
            }
        }
        run
    }

    /// The run finished (0 clean, 1 findings, 3 incomplete) and wrote its summary.
    fn assert_complete(&self) {
        assert!(
            matches!(self.code, 0 | 1 | 3),
            "exit {}: {}",
            self.code,
            String::from_utf8_lossy(&self.stdout)
        );
        assert_eq!(self.summary["type"], "summary", "no summary record");
    }

    /// The problem about a path ending in `suffix`, with its reason.
    fn problem_for(&self, suffix: &str) -> Option<&Value> {
        self.problems.iter().find(|p| p["path"].as_str().is_some_and(|s| s.ends_with(suffix)))
    }

    fn reasons(&self) -> Vec<String> {
        self.problems
            .iter()
            .map(|p| format!("{} {} {}", p["kind"], p["path"], p["reason"]))
            .collect()
    }
}

/// A YARA rule that never matches, so a scan has YARA work to do on every file.
fn never_rule(rules: &Tree) -> PathBuf {
    rules.file("never.yar", "rule never { strings: $a = \"zz-never-present-zz\" condition: $a }")
}

fn marker_rule(rules: &Tree) -> PathBuf {
    rules.file("m.yar", "rule marker { strings: $m = \"TEST-MARKER\" condition: $m }")
}

fn scan(root: &Path, rule: &Path, extra: &[&str]) -> Run {
    let out = ferret()
        .arg("scan")
        .arg(root)
        .args(["--no-builtin", "--format", "jsonl", "-q", "--rules"])
        .arg(rule)
        .args(extra)
        .output()
        .unwrap();
    Run::from(&out)
}

fn hunt_rules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sigma")
}

fn hunt(paths: &[&Path], sigma: &Path) -> Run {
    let out = ferret()
        .arg("hunt")
        .args(paths)
        .arg("--sigma")
        .arg(sigma)
        .args(["--format", "jsonl", "-q"])
        .output()
        .unwrap();
    Run::from(&out)
}

/// A line of the access-log fixture that the web rule flags.
const WEB_HIT: &str = "198.51.100.9 - admin [03/Mar/2021:01:02:04 +0100] \"GET /dana-na/x HTTP/1.1\" 200 1024 \"-\" \"curl/7.68.0\"";
const WEB_PLAIN: &str = "203.0.113.7 - - [03/Mar/2021:01:02:03 +0000] \"GET /index.html HTTP/1.1\" 200 512 \"-\" \"Mozilla/5.0\"";

// ----- special files --------------------------------------------------------------------

#[test]
fn device_nodes_fifo_and_socket_are_never_opened() {
    let t = Tree::new();
    t.fifo("pipe");
    let _sock = std::os::unix::net::UnixListener::bind(t.path("sock")).unwrap();
    // mknod needs CAP_MKNOD (root, outside most user namespaces): skip those two when refused.
    let mut devices = Vec::new();
    for (name, kind, major, minor) in [("blockdev", "b", "7", "250"), ("chardev", "c", "1", "3")] {
        let ok = std::process::Command::new("mknod")
            .arg(t.path(name))
            .args([kind, major, minor])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            devices.push(name);
        } else {
            ferret_testkit::skip(format_args!("mknod (CAP_MKNOD) for the {name} case"));
        }
    }
    t.file("plain.txt", b"hello");
    let rules = Tree::new();
    let rule = never_rule(&rules);
    // The directory, and each special file named directly as a root.
    let run = scan(t.root(), &rule, &[]);
    run.assert_complete();
    let r = run.reasons();
    assert!(run.problem_for("/pipe").is_some_and(|p| p["reason"] == "fifo not opened"), "{r:?}");
    assert!(run.problem_for("/sock").is_some_and(|p| p["reason"] == "socket not opened"), "{r:?}");
    for (name, what) in [("blockdev", "block device"), ("chardev", "char device")] {
        if devices.contains(&name) {
            let p = run.problem_for(&format!("/{name}"));
            assert!(p.is_some_and(|p| p["reason"] == format!("{what} not opened")), "{r:?}");
        }
    }
    assert_eq!(run.summary["counters"]["files_scanned"], 1);
    let direct = scan(&t.path("pipe"), &rule, &[]);
    direct.assert_complete();
    assert!(direct.problem_for("/pipe").is_some(), "{:?}", direct.reasons());
    // hunt refuses them too (it is pointed at logs, which an attacker can swap for a FIFO).
    let run = hunt(&[t.root()], &hunt_rules());
    run.assert_complete();
}

#[test]
fn symlink_loop_and_link_to_proc_are_contained() {
    let t = Tree::new();
    t.dir("a/b");
    t.symlink("a/b/up", t.path("a"));
    t.symlink("self", "self");
    t.symlink("proc", "/proc");
    t.symlink("kcore", "/proc/kcore");
    t.file("a/x.txt", b"x");
    let rules = Tree::new();
    let rule = never_rule(&rules);
    for follow in [false, true] {
        let extra: &[&str] = if follow { &["-L"] } else { &[] };
        let run = scan(t.root(), &rule, extra);
        run.assert_complete();
        assert_eq!(run.summary["counters"]["files_scanned"], 1, "{:?}", run.reasons());
        if follow {
            assert!(run.reasons().iter().any(|r| r.contains("loop")), "{:?}", run.reasons());
        }
    }
    let run = hunt(&[t.root()], &hunt_rules());
    run.assert_complete();
}

// ----- size ------------------------------------------------------------------------------

#[test]
fn sparse_100_gb_file_is_skipped_by_size_unread() {
    let t = Tree::new();
    let p = t.path("huge.img");
    let f = std::fs::File::create(&p).unwrap();
    if let Err(e) = f.set_len(100 << 30) {
        ferret_testkit::skip(format_args!("a filesystem that holds a 100 GB sparse file ({e})"));
        return;
    }
    drop(f);
    t.file("small.txt", b"small");
    let rules = Tree::new();
    let rule = never_rule(&rules);
    // Reading 100 GB would take minutes: the command's timeout is the proof it was not read.
    let run = scan(t.root(), &rule, &[]);
    run.assert_complete();
    assert_eq!(run.summary["skipped"]["size"], 1, "{}", run.summary);
    assert_eq!(run.summary["counters"]["files_scanned"], 1);
    let p = run.problem_for("/huge.img").expect("size skip reported");
    assert_eq!(p["kind"], "skipped");
    assert!(p["reason"].as_str().unwrap().contains("107374182400 bytes"), "{p}");
    // The same holds for `hunt` with its own size limit.
    let run = hunt_with(&[t.root()], &hunt_rules(), &["--max-file-size", "1G"]);
    run.assert_complete();
    let p = run.problem_for("/huge.img").expect("hunt reports the size skip");
    assert!(p["reason"].as_str().unwrap().contains("size limit"), "{p}");
}

fn hunt_with(paths: &[&Path], sigma: &Path, extra: &[&str]) -> Run {
    let out = ferret()
        .arg("hunt")
        .args(paths)
        .arg("--sigma")
        .arg(sigma)
        .args(["--format", "jsonl", "-q"])
        .args(extra)
        .output()
        .unwrap();
    Run::from(&out)
}

// ----- shape of the tree -----------------------------------------------------------------

/// Builds a chain of `depth` directories named `d` under `base`, in two halves joined by a
/// rename, so no path handed to the kernel while building it exceeds PATH_MAX.
fn deep_chain(base: &Path, depth: usize) -> PathBuf {
    let half = depth / 2;
    let rel: PathBuf = std::iter::repeat_n("d", half).collect();
    let top = base.join("top");
    let lower = base.join("lower");
    std::fs::create_dir_all(top.join(&rel)).unwrap();
    std::fs::create_dir_all(lower.join(&rel)).unwrap();
    std::fs::write(lower.join(&rel).join("bottom.txt"), b"at the bottom").unwrap();
    let below = top.join(&rel).join("d");
    std::fs::rename(&lower, &below).unwrap();
    top
}

#[test]
fn directory_2000_levels_deep() {
    let t = Tree::new();
    let top = deep_chain(t.root(), 2000);
    let rules = Tree::new();
    let rule = never_rule(&rules);
    let run = scan(&top, &rule, &[]);
    run.assert_complete();
    // Either the bottom file was scanned or its path (over PATH_MAX) is a reported problem.
    let scanned = run.summary["counters"]["files_scanned"].as_u64().unwrap();
    assert!(scanned == 1 || !run.problems.is_empty(), "{}", run.summary);
    assert!(run.summary["counters"]["directories"].as_u64().unwrap() >= 1000, "{}", run.summary);
    // The integrity walk (its own, depth-first) must survive the depth too.
    let out_dir = Tree::new();
    let manifest = out_dir.path("deep.manifest");
    let out =
        ferret().arg("baseline").arg(&top).arg("-o").arg(&manifest).arg("-q").output().unwrap();
    let code = out.status.code().unwrap_or_else(|| panic!("baseline killed: {:?}", out.status));
    assert!(
        matches!(code, 0 | 3),
        "baseline exit {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = ferret()
        .arg("verify")
        .arg(&top)
        .arg("-m")
        .arg(&manifest)
        .args(["--allow-unsigned", "--format", "jsonl", "-q"])
        .output()
        .unwrap();
    Run::from(&out).assert_complete();
    let run = hunt(&[&top], &hunt_rules());
    run.assert_complete();
}

#[test]
fn directory_with_200_000_entries() {
    let t = Tree::new();
    let dir = t.dir("wide");
    let mut name = dir.join("f");
    for i in 0..200_000u32 {
        name.set_file_name(format!("f{i:06}"));
        std::fs::File::create(&name).unwrap();
    }
    let rules = Tree::new();
    let rule = never_rule(&rules);
    let run = scan(t.root(), &rule, &[]);
    run.assert_complete();
    assert_eq!(run.code, 0, "{:?}", run.reasons());
    assert_eq!(run.summary["counters"]["files_scanned"], 200_000);
    let out_dir = Tree::new();
    let manifest = out_dir.path("wide.manifest");
    ferret().arg("baseline").arg(t.root()).arg("-o").arg(&manifest).arg("-q").assert().code(0);
}

// ----- a tree that changes under the scan ------------------------------------------------

#[test]
fn files_deleted_truncated_and_grown_during_a_scan() {
    let t = Tree::new();
    let n = 300;
    for i in 0..n {
        t.file(format!("churn/f{i:03}"), vec![b'a'; 64 * 1024]);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mutator = {
        let stop = Arc::clone(&stop);
        let dir = t.path("churn");
        std::thread::spawn(move || {
            let mut round = 0usize;
            while !stop.load(Ordering::Relaxed) {
                for i in 0..n {
                    let p = dir.join(format!("f{i:03}"));
                    // Best effort: the scanner may hold the file; errors are part of the game.
                    let _ = match (i + round) % 4 {
                        0 => std::fs::remove_file(&p),
                        1 => std::fs::OpenOptions::new()
                            .write(true)
                            .open(&p)
                            .and_then(|f| f.set_len(10)),
                        2 => std::fs::OpenOptions::new()
                            .append(true)
                            .open(&p)
                            .and_then(|mut f| f.write_all(&vec![b'b'; 128 * 1024])),
                        _ => std::fs::write(&p, vec![b'c'; 32 * 1024]),
                    };
                }
                round += 1;
            }
        })
    };
    let rules = Tree::new();
    let rule = never_rule(&rules);
    let runs: Vec<Run> = (0..3).map(|_| scan(t.root(), &rule, &["-j", "2"])).collect();
    stop.store(true, Ordering::Relaxed);
    mutator.join().unwrap();
    for run in &runs {
        run.assert_complete();
        for p in &run.problems {
            assert!(
                ["vanished", "changed", "walk", "read_error"]
                    .contains(&p["kind"].as_str().unwrap()),
                "unexpected problem {p}"
            );
            assert!(p["path"].is_string() && p["reason"].is_string(), "{p}");
        }
    }
}

// ----- permissions -----------------------------------------------------------------------

/// Permission denied needs an unprivileged process: as root, ferret is run as `nobody`
/// through `setpriv` (util-linux); otherwise it already is unprivileged.
#[test]
fn permission_denied_is_reported_and_the_run_goes_on() {
    use std::os::unix::fs::PermissionsExt as _;
    let t = Tree::new();
    t.file("open/ok.txt", b"fine");
    t.file("closed/secret.txt", b"secret");
    t.file("locked.txt", b"locked");
    let rules = Tree::new();
    let rule = never_rule(&rules);
    let as_root = std::fs::read_dir("/root").is_ok()
        && std::fs::metadata("/proc/self")
            .is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0);
    let mut cmd = if as_root {
        // nobody must reach the binary, the tree and the rule: copy the binary beside them.
        let has_setpriv = std::process::Command::new("setpriv")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !has_setpriv {
            ferret_testkit::skip("setpriv (util-linux) to drop root privileges");
            return;
        }
        for p in [t.root(), rules.root()] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::set_permissions(&rule, std::fs::Permissions::from_mode(0o644)).unwrap();
        let exe = rules.path("ferret");
        std::fs::copy(bin(), &exe).unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]).arg(exe);
        c
    } else {
        Command::new(bin())
    };
    std::fs::set_permissions(t.path("closed"), std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::set_permissions(t.path("locked.txt"), std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = cmd
        .timeout(TIMEOUT)
        .env("XDG_CACHE_HOME", "/nonexistent")
        .arg("scan")
        .arg(t.root())
        .args(["--no-builtin", "--no-cache", "--format", "jsonl", "-q", "--rules"])
        .arg(&rule)
        .output()
        .unwrap();
    // Let the temporary directory be removed.
    std::fs::set_permissions(t.path("closed"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = Run::from(&out);
    assert_eq!(run.code, 3, "{:?} {}", run.reasons(), String::from_utf8_lossy(&out.stderr));
    assert_eq!(run.summary["complete"], false);
    let locked = run.problem_for("/locked.txt").expect("locked file reported");
    assert_eq!(locked["kind"], "permission_denied");
    assert!(run.problem_for("/closed").is_some(), "{:?}", run.reasons());
    assert_eq!(run.summary["counters"]["files_scanned"], 1);
}

// ----- names -----------------------------------------------------------------------------

#[test]
fn hostile_names_are_escaped_in_text_csv_html_and_lossless_in_jsonl() {
    let t = Tree::new();
    let names: Vec<&[u8]> = vec![
        b"not-utf8-\xff\xfe.bin",
        b"new\nline.bin",
        b"ansi-\x1b[2J\x1b[31mred.bin",
        b"osc-\x1b]0;owned\x07title.bin",
        "rtl-\u{202e}gpj.exe".as_bytes(),
    ];
    let mut content = b"x ".to_vec();
    content.extend(ferret_testkit::eicar_like());
    for n in &names {
        t.file(OsStr::from_bytes(n), &content);
    }
    let rules = Tree::new();
    let rule = marker_rule(&rules);
    let run = scan(t.root(), &rule, &[]);
    assert_eq!(run.code, 1);
    assert_eq!(run.findings.len(), names.len());
    // JSONL: every name comes back byte for byte (path_b64 when not UTF-8).
    for n in &names {
        let want = [t.root().as_os_str().as_bytes(), b"/", n].concat();
        let found = run.findings.iter().any(|f| match f["path_b64"].as_str() {
            Some(b) => base64::engine::general_purpose::STANDARD.decode(b).unwrap() == want,
            None => f["path"].as_str().unwrap().as_bytes() == want.as_slice(),
        });
        assert!(found, "{} not lossless", String::from_utf8_lossy(n));
    }
    for format in ["text", "csv", "html"] {
        let out = ferret()
            .arg("scan")
            .arg(t.root())
            .args(["--no-builtin", "-q", "--format", format, "--rules"])
            .arg(&rule)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{format}");
        let s = String::from_utf8_lossy(&out.stdout);
        assert!(!s.contains('\u{1b}'), "{format}: raw ESC in output");
        assert!(!s.contains('\u{7}'), "{format}: raw BEL in output");
        assert!(!s.contains('\u{202e}'), "{format}: raw RTL override in output");
        assert!(!s.contains("new\nline"), "{format}: raw newline inside a name");
        assert!(s.contains("red.bin") && s.contains("gpj.exe"), "{format}: names present");
    }
}

// ----- rules -----------------------------------------------------------------------------

#[test]
fn pathological_yara_rule_times_out_per_file_and_the_scan_goes_on() {
    let t = Tree::new();
    t.file("slow.bin", vec![b'a'; 256 * 1024]);
    t.file("small.bin", b"ab");
    let rules = Tree::new();
    // Quadratic in the file size: ~7e10 steps on the 256 KiB file, a blink on the small one.
    let rule = rules.file(
        "slow.yar",
        "rule quadratic { condition: for any i in (0..filesize) : \
         ( for any j in (0..filesize) : ( uint8(i) == 0x00 and uint8(j) == 0x01 ) ) }",
    );
    let run = scan(t.root(), &rule, &["--yara-timeout", "1"]);
    assert_eq!(run.code, 3, "{:?}", run.reasons());
    let p = run.problem_for("/slow.bin").expect("timeout reported");
    assert_eq!(p["kind"], "timeout", "{p}");
    assert!(run.problem_for("/small.bin").is_none(), "{:?}", run.reasons());
    assert_eq!(run.summary["counters"]["files_scanned"], 2);
}

#[test]
fn catastrophic_sigma_regexes_finish() {
    let t = Tree::new();
    let log = t.file(
        "access.log",
        format!("{WEB_PLAIN}\n{}\n{WEB_HIT}\n", WEB_PLAIN.replace("index.html", &"a".repeat(5000))),
    );
    let rules = Tree::new();
    // `(a+)+$` is linear in the regex crate; the look-ahead forces fancy-regex, whose
    // backtracking limit must stop it.
    for (i, re) in ["(a+)+$", "(a+)+(?=\\d)", "(a|aa)+(?!x)b"].iter().enumerate() {
        rules.file(
            format!("redos{i}.yml"),
            format!(
                "title: redos {i}\nid: 0f6c1a10-0000-4000-8000-00000000010{i}\nstatus: test\nlevel: low\n\
                 logsource:\n    category: webserver\ndetection:\n    selection:\n        \
                 cs-uri-stem|re: '{re}'\n    condition: selection\n"
            ),
        );
    }
    rules.file(
        "web.yml",
        std::fs::read_to_string(hunt_rules().join("hunt_web_suspicious_paths.yml")).unwrap(),
    );
    let run = hunt(&[&log], rules.root());
    run.assert_complete();
    assert!(
        run.findings
            .iter()
            .any(|f| f["rule"]["name"].as_str().is_some_and(|s| s.contains("attackers favour"))),
        "the ordinary rule still fires: {:?}",
        run.findings
    );
    // The backtracking patterns that gave up are reported by rule file, not silently dropped.
    let gave_up = run.problem_for("redos2.yml").expect("the rule that gave up is reported");
    assert_eq!(gave_up["kind"], "timeout");
    assert!(gave_up["reason"].as_str().unwrap().contains("backtracking limit"), "{gave_up}");
    assert!(run.summary["counters"]["regex_gave_up_events"].as_u64() >= Some(1), "{}", run.summary);
}

/// The hostile Sigma rules kept as fuzz seeds (`fuzz/seeds/sigma/hostile_*.yml`): absurd,
/// negative and zero timespans, counts beyond any integer, conditions 5,000 levels deep.
fn hostile_sigma_seeds() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/sigma");
    let mut seeds: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name().and_then(OsStr::to_str).is_some_and(|n| n.starts_with("hostile_"))
        })
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 10, "hostile seeds in {}: {seeds:?}", dir.display());
    seeds
}

/// The `id` of the correlation document of a seed.
fn correlation_id(rule_text: &str) -> String {
    let doc = rule_text
        .split("\n---\n")
        .find(|d| d.contains("\ncorrelation:"))
        .expect("the seed has a correlation document");
    doc.lines().find_map(|l| l.strip_prefix("id: ")).expect("the correlation has an id").to_owned()
}

#[test]
fn hostile_correlations_are_not_loaded_and_never_crash() {
    let t = Tree::new();
    // An event no rule matches, so the exit status shows the rules not loaded (3).
    let log = t.file(
        "auth.jsonl",
        "{\"@timestamp\":\"2021-03-03T01:02:03Z\",\"Action\":\"succeeded\",\"Source\":\"203.0.113.7\"}\n",
    );
    for seed in hostile_sigma_seeds() {
        let name = seed.file_name().unwrap().to_str().unwrap().to_owned();
        let id = correlation_id(&std::fs::read_to_string(&seed).unwrap());
        let run = hunt(&[&log], &seed);
        // Never exit 101 (a panic), never killed: a run that finished and wrote its summary.
        run.assert_complete();
        assert_eq!(run.code, 3, "{name}: a rule not loaded makes the run incomplete");
        let reported = run.problems.iter().any(|p| {
            p["kind"] == "rule_load"
                && p["path"].as_str().is_some_and(|s| s.ends_with(&name))
                // A document the YAML reader refuses has no id yet: its position is given.
                && p["reason"].as_str().is_some_and(|r| r.contains(&id) || r.starts_with("line "))
        });
        assert!(
            reported,
            "{name}: correlation {id} not reported as not loaded: {:?}",
            run.reasons()
        );
        assert_eq!(
            run.summary["rules"]["loaded"]["sigma_correlation"].as_u64().unwrap_or(0),
            0,
            "{name}: {}",
            run.summary
        );
    }
}

// ----- logs ------------------------------------------------------------------------------

#[test]
fn log_line_of_100_mb_is_skipped_and_reported() {
    let t = Tree::new();
    let p = t.path("access.log");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
        writeln!(f, "{WEB_PLAIN}").unwrap();
        let chunk = vec![b'A'; 1 << 20];
        f.write_all(b"203.0.113.7 - - [03/Mar/2021:01:02:03 +0000] \"GET /").unwrap();
        for _ in 0..100 {
            f.write_all(&chunk).unwrap();
        }
        writeln!(f, " HTTP/1.1\" 200 512 \"-\" \"x\"").unwrap();
        writeln!(f, "{WEB_HIT}").unwrap();
    }
    let run = hunt(&[&p], &hunt_rules());
    assert_eq!(run.code, 1, "{:?}", run.reasons());
    assert_eq!(run.findings.len(), 1, "the line after the giant one is still read");
    let prob = run.problem_for("/access.log").expect("long line reported");
    assert_eq!(prob["position"], "line 2", "{prob}");
    assert!(prob["reason"].as_str().unwrap().contains("longer than"), "{prob}");
}

#[test]
fn gzip_bomb_is_bounded_and_reported() {
    let t = Tree::new();
    // One gzip member inflating 8 MiB of newline-free bytes, repeated: a 1 GiB expansion from
    // a few hundred KiB on disk, plus a final member with a real line.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(format!("{WEB_PLAIN}\n").as_bytes()).unwrap();
    let head = enc.finish().unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&vec![b'A'; 8 << 20]).unwrap();
    let member = enc.finish().unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(format!("\n{WEB_HIT}\n").as_bytes()).unwrap();
    let tail = enc.finish().unwrap();
    let mut bomb = head;
    for _ in 0..128 {
        bomb.extend_from_slice(&member);
    }
    bomb.extend_from_slice(&tail);
    let p = t.file("access.log.gz", &bomb);
    let run = hunt(&[&p], &hunt_rules());
    run.assert_complete();
    let prob = run.problem_for("/access.log.gz").expect("bomb reported");
    assert!(prob["reason"].as_str().unwrap().contains("longer than"), "{prob}");
    // With a decompression cap below the expansion, the cap itself is reported.
    // The rest of the log was not examined, so the run says it is incomplete (exit 3).
    let run = hunt_with(&[&p], &hunt_rules(), &["--max-decompressed", "64M"]);
    run.assert_complete();
    assert!(
        run.problems.iter().any(|p| p["reason"].as_str().is_some_and(|r| r.contains("cap"))
            && p["kind"] == "read_error"),
        "{:?}",
        run.reasons()
    );
    assert_eq!(run.summary["complete"], false, "a log cut at the cap makes the hunt incomplete");
    assert!(matches!(run.code, 1 | 3), "exit {}", run.code);
}

/// Sets the CRC-32 of an EVTX file header (over its first 120 bytes, stored at 124).
fn fix_header_crc(b: &mut [u8]) {
    let mut crc = flate2::Crc::new();
    crc.update(&b[..120]);
    b[124..128].copy_from_slice(&crc.sum().to_le_bytes());
}

/// A synthetic EVTX: a valid file header announcing `chunks` chunks whose headers carry the
/// chunk magic and garbage after it.
fn synthetic_evtx(chunks: u16) -> Vec<u8> {
    let mut b = vec![0u8; 4096];
    b[..8].copy_from_slice(b"ElfFile\0");
    b[24..32].copy_from_slice(&u64::from(chunks).to_le_bytes()); // next record id
    b[32..36].copy_from_slice(&128u32.to_le_bytes()); // header size
    b[36..38].copy_from_slice(&1u16.to_le_bytes()); // minor version
    b[38..40].copy_from_slice(&3u16.to_le_bytes()); // major version
    b[40..42].copy_from_slice(&4096u16.to_le_bytes()); // header block size
    b[42..44].copy_from_slice(&chunks.to_le_bytes());
    fix_header_crc(&mut b);
    for c in 0..chunks {
        let mut chunk = vec![0xA5u8; 65536];
        chunk[..8].copy_from_slice(b"ElfChnk\0");
        chunk[8..16].copy_from_slice(&1u64.to_le_bytes());
        chunk[16..24].copy_from_slice(&u64::from(c + 1).to_le_bytes());
        b.extend(chunk);
    }
    b
}

#[test]
fn evtx_with_corrupt_chunks() {
    let t = Tree::new();
    let synthetic = t.file("synthetic.evtx", synthetic_evtx(3));
    let mut paths = vec![synthetic];
    // A real log of several chunks (the smaller samples hold one chunk only).
    let real =
        ferret_testkit::corpus().join("evtx-attack-samples/Command and Control/bits_openvpn.evtx");
    match std::fs::read(&real) {
        Ok(mut b) if b.len() > 4096 + 2 * 65536 => {
            // Break the first chunk's header CRC, and smash records in the second chunk.
            b[4096 + 124] ^= 0xFF;
            for x in &mut b[4096 + 65536 + 512..4096 + 65536 + 4096] {
                *x = 0xFF;
            }
            paths.push(t.file("real-corrupt.evtx", b));
        }
        // Only the synthetic corrupt EVTX is checked then.
        _ => ferret_testkit::skip(format_args!("the corpus EVTX sample {}", real.display())),
    }
    let sigma = Tree::new();
    sigma.file(
        "whoami.yml",
        std::fs::read_to_string(hunt_rules().join("hunt_windows_cmd_whoami.yml")).unwrap(),
    );
    for p in &paths {
        let run = hunt(&[p], sigma.root());
        run.assert_complete();
        let name = p.file_name().unwrap().to_str().unwrap();
        assert!(run.problem_for(&format!("/{name}")).is_some(), "{name}: {:?}", run.reasons());
    }
    // Scanned as a plain file it is just bytes.
    let rules = Tree::new();
    let rule = never_rule(&rules);
    scan(t.root(), &rule, &[]).assert_complete();
}

/// An NTFS boot sector (512 bytes/sector, 8 sectors/cluster, 1 KiB records) with the given
/// total sectors and MFT cluster; the rest of the volume is whatever the caller writes.
fn ntfs_boot(total_sectors: u64, mft_lcn: u64) -> Vec<u8> {
    let mut b = vec![0u8; 512];
    b[3..11].copy_from_slice(b"NTFS    ");
    b[11..13].copy_from_slice(&512u16.to_le_bytes());
    b[13] = 8;
    b[0x28..0x30].copy_from_slice(&total_sectors.to_le_bytes());
    b[0x30..0x38].copy_from_slice(&mft_lcn.to_le_bytes());
    b[0x40] = 0xF6; // 2^10-byte records
    b[510] = 0x55;
    b[511] = 0xAA;
    b
}

fn mbr_with(entries: &[(u8, u32, u32)]) -> Vec<u8> {
    let mut s = vec![0u8; 512];
    for (i, (kind, start, len)) in entries.iter().enumerate() {
        let e = 446 + 16 * i;
        s[e + 4] = *kind;
        s[e + 8..e + 12].copy_from_slice(&start.to_le_bytes());
        s[e + 12..e + 16].copy_from_slice(&len.to_le_bytes());
    }
    s[510] = 0x55;
    s[511] = 0xAA;
    s
}

#[test]
fn lying_disk_images_are_problems_naming_the_image() {
    let t = Tree::new();
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    // A bare NTFS volume whose MFT lies past its end, and one whose MFT record is garbage.
    cases.push(("mft-past-end.img", ntfs_boot(1 << 40, 1 << 38)));
    let mut garbage = ntfs_boot(2048, 4);
    garbage.resize(1 << 20, 0xA5);
    cases.push(("mft-garbage.img", garbage));
    // An MFT record whose $DATA runs claim the whole address space.
    let mut runs = ntfs_boot(2048, 4);
    runs.resize(1 << 20, 0);
    let rec = 4 * 4096;
    runs[rec..rec + 4].copy_from_slice(b"FILE");
    runs[rec + 4..rec + 6].copy_from_slice(&0x30u16.to_le_bytes());
    runs[rec + 6..rec + 8].copy_from_slice(&3u16.to_le_bytes());
    runs[rec + 0x14..rec + 0x16].copy_from_slice(&0x38u16.to_le_bytes());
    runs[rec + 0x16] = 1;
    runs[rec + 0x18..rec + 0x1C].copy_from_slice(&0x100u32.to_le_bytes());
    let a = rec + 0x38;
    runs[a..a + 4].copy_from_slice(&0x80u32.to_le_bytes());
    runs[a + 4..a + 8].copy_from_slice(&0x60u32.to_le_bytes());
    runs[a + 8] = 1;
    runs[a + 0x20..a + 0x22].copy_from_slice(&0x40u16.to_le_bytes());
    runs[a + 0x30..a + 0x38].copy_from_slice(&u64::MAX.to_le_bytes());
    runs[a + 0x38..a + 0x40].copy_from_slice(&u64::MAX.to_le_bytes());
    runs[a + 0x40..a + 0x4A]
        .copy_from_slice(&[0x88, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x01]);
    runs[a + 0x60..a + 0x64].copy_from_slice(&u32::MAX.to_le_bytes());
    cases.push(("runs-everywhere.img", runs));
    // An MBR whose partition lies far past the image's end, and a logical-partition chain
    // that points back at itself.
    let mut far = mbr_with(&[(0x07, 0x7FFF_0000, 0x7FFF_FFFF)]);
    far.resize(64 << 10, 0);
    cases.push(("partition-past-end.img", far));
    let mut chain = mbr_with(&[(0x05, 8, 100)]);
    chain.resize(64 << 10, 0);
    chain[8 * 512..9 * 512].copy_from_slice(&mbr_with(&[(0x07, 1, 1), (0x05, 0, 100)]));
    cases.push(("ebr-loop.img", chain));
    // A protective MBR with a GPT header asking for more entries than ferret reads.
    let mut gpt = mbr_with(&[(0xEE, 1, 0xFFFF_FFFF)]);
    gpt.resize(64 << 10, 0);
    gpt[512..520].copy_from_slice(b"EFI PART");
    gpt[512 + 72..512 + 80].copy_from_slice(&2u64.to_le_bytes());
    gpt[512 + 80..512 + 84].copy_from_slice(&u32::MAX.to_le_bytes());
    gpt[512 + 84..512 + 88].copy_from_slice(&128u32.to_le_bytes());
    cases.push(("gpt-huge-table.img", gpt));
    // A container format recognised but not read yet.
    let mut vhdx = b"vhdxfile".to_vec();
    vhdx.resize(64 << 10, 0);
    cases.push(("disk.vhdx", vhdx));

    let rules = Tree::new();
    let rule = never_rule(&rules);
    for (name, bytes) in cases {
        let image = t.file(name, bytes);
        let run = scan(&image, &rule, &[]);
        run.assert_complete();
        assert_eq!(run.code, 3, "{name}: a lying image is never clean: {:?}", run.reasons());
        assert!(run.problem_for(name).is_some(), "{name}: {:?}", run.reasons());
    }
}

// ----- registry hives -------------------------------------------------------------------

/// Hives built to loop or exhaust memory: a subkey list that points back at its own key with a
/// count of 2^32-1, a value claiming 2 GiB of data in a cell whose size field is `i32::MIN`, a
/// hive cut after its first page of bins, and a base block whose bins size is 4 GiB. `scan` and
/// `check` over the folder finish, name each unreadable hive, and still read the sound one.
#[test]
fn hostile_registry_hives_are_bounded_and_reported() {
    use ferret_testkit::hive::{HiveKey, build, checksum};
    let t = Tree::new();
    let put = |b: &mut [u8], at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let mut root = HiveKey::new("ROOT");
    root.key("Select").dword("Current", 1);
    root.key("ControlSet001\\Services\\Spooler").dword("Start", 2);
    root.sz("V", &"y".repeat(100));
    root.key("ControlSet001\\Control").binary("Blob", &vec![0x5A; 30_000]);
    let sound = build(&root);
    assert!(sound.len() > 3 * 4096, "the sound hive spans several pages");

    // Cycle and huge counts.
    let mut cyc = sound.clone();
    let r = u32_at(&cyc, 36) as usize;
    let nk = 4096 + r + 4;
    let lf = 4096 + u32_at(&cyc, nk + 28) as usize + 4;
    put(&mut cyc, lf + 4, u32::try_from(r).unwrap());
    put(&mut cyc, nk + 20, u32::MAX);
    put(&mut cyc, nk + 36, u32::MAX);
    let vlist = 4096 + u32_at(&cyc, nk + 40) as usize + 4;
    let vk = 4096 + u32_at(&cyc, vlist) as usize + 4;
    put(&mut cyc, vk + 4, 0x7FFF_FFF0);
    let data_cell = 4096 + u32_at(&cyc, vk + 8) as usize;
    put(&mut cyc, data_cell, 0x8000_0000);
    t.file("cycle/SYSTEM", &cyc);
    // Cut after its first page of hive bins: the base block declares more than the file holds.
    t.file("cut/SYSTEM", &sound[..8192]);
    // A base block claiming 4 GiB of bins (checksum made right, so only the size lies).
    let mut huge = sound.clone();
    put(&mut huge, 40, 0xFFFF_F000);
    let sum = checksum(&huge);
    put(&mut huge, 508, sum);
    t.file("huge/SYSTEM", &huge);
    t.file("sound/SYSTEM", &sound);

    for verb in ["scan", "check"] {
        let out = ferret()
            .arg(verb)
            .arg(t.root())
            .args(["--format", "jsonl", "-q"])
            .env("FERRET_NO_CONFIG", "1")
            .output()
            .unwrap();
        let run = Run::from(&out);
        run.assert_complete();
        for bad in ["cut/SYSTEM", "huge/SYSTEM"] {
            let p = run
                .problem_for(bad)
                .unwrap_or_else(|| panic!("{verb}: {bad}: {:?}", run.reasons()));
            assert!(p["reason"].as_str().unwrap().contains("hive"), "{verb}: {p}");
        }
        assert!(
            run.summary["counters"]["hives_read"].as_u64().unwrap() >= 2,
            "{verb}: {}",
            run.summary
        );
        assert_eq!(
            run.code,
            3,
            "{verb}: hives read only in part make the run incomplete: {:?}",
            run.reasons()
        );
    }
}
