//! CLI tests of `ferret scan`: each rule source, each output format, each exit status, and a
//! hostile filesystem.

#![cfg(feature = "scan")]

mod common;

use std::path::Path;

use ferret_testkit::Tree;
use sha2::{Digest, Sha256};

use common::{ferret_cached as ferret, of_type, records};

fn scan_jsonl(root: &Path, extra: &[&str]) -> (i32, Vec<serde_json::Value>) {
    let out = ferret()
        .arg("scan")
        .arg(root)
        .args(["--format", "jsonl", "--no-builtin"])
        .args(extra)
        .output()
        .unwrap();
    (out.status.code().unwrap(), records(&out.stdout))
}

#[test]
fn hash_ioc_finds_planted_file_and_exits_1() {
    let t = Tree::new();
    let body = ferret_testkit::eicar_like();
    let bad = t.file("srv/www/x.bin", &body);
    t.file("srv/www/ok.txt", b"harmless");
    let sha = hex::encode(Sha256::digest(&body));
    let rules = Tree::new();
    let ioc = rules.file("hash-iocs.txt", format!("# test\n{sha};Planted test sample\n"));
    let (code, recs) = scan_jsonl(t.root(), &["--rules", ioc.to_str().unwrap()]);
    assert_eq!(code, 1);
    let f = of_type(&recs, "finding");
    assert_eq!(f.len(), 1, "{recs:?}");
    assert_eq!(f[0]["engine"], "hash");
    assert_eq!(f[0]["path"], bad.to_str().unwrap());
    assert_eq!(f[0]["sha256"], sha);
    assert_eq!(f[0]["severity"], "critical");
    let s = of_type(&recs, "summary");
    assert_eq!(s.len(), 1);
    assert_eq!(s[0]["schema_version"], 1);
    assert_eq!(s[0]["counters"]["files_scanned"], 2);
    assert_eq!(recs.last().unwrap()["type"], "summary");
}

#[test]
fn filename_ioc_and_yara_rule() {
    let t = Tree::new();
    t.file("inetpub/aspnet_client/system_web/supp0rt.aspx", b"nothing special here");
    let mut content = b"prefix ".to_vec();
    content.extend(ferret_testkit::eicar_like());
    t.file("opt/app/blob.dat", &content);
    let rules = Tree::new();
    let names = rules.file(
        "filename-iocs.txt",
        "# names\n(?i)\\\\aspnet_client\\\\system_web\\\\.*\\.aspx;70\n",
    );
    let yar = rules.file(
        "test.yar",
        "rule planted_marker { meta: description = \"test marker\" score = 60 strings: $m = \"FERRET-TEST-MARKER\" condition: $m }",
    );
    let (code, recs) = scan_jsonl(
        t.root(),
        &["--rules", names.to_str().unwrap(), "--rules", yar.to_str().unwrap()],
    );
    assert_eq!(code, 1);
    let f = of_type(&recs, "finding");
    let engines: Vec<_> = f.iter().map(|r| r["engine"].as_str().unwrap()).collect();
    assert!(engines.contains(&"filename"), "{recs:?}");
    assert!(engines.contains(&"yara"), "{recs:?}");
    let y = f.iter().find(|r| r["engine"] == "yara").unwrap();
    assert_eq!(y["rule"]["name"], "planted_marker");
    assert_eq!(y["score"], 60);
    assert_eq!(y["evidence"][0]["offset"], 7);
    assert_eq!(y["message"], "test marker");
}

#[test]
fn clean_tree_exits_0() {
    let t = Tree::new();
    t.file("a.txt", b"hello");
    let rules = Tree::new();
    let yar =
        rules.file("r.yar", "rule never { strings: $a = \"zzzzzzzzzzzzzz-never\" condition: $a }");
    let (code, recs) = scan_jsonl(t.root(), &["--rules", yar.to_str().unwrap()]);
    assert_eq!(code, 0, "{recs:?}");
    assert_eq!(of_type(&recs, "summary")[0]["complete"], true);
}

#[test]
fn broken_rule_file_is_reported_and_run_is_incomplete() {
    let t = Tree::new();
    t.file("a.txt", b"hello");
    let rules = Tree::new();
    rules.file("good.yar", "rule fine { strings: $a = \"zzzz-never-present\" condition: $a }");
    rules.file("bad.yar", "rule broken {\n  condition:\n    undefined_identifier\n}\n");
    let (code, recs) = scan_jsonl(t.root(), &["--rules", rules.root().to_str().unwrap()]);
    assert_eq!(code, 3, "{recs:?}");
    let p = of_type(&recs, "problem");
    let bad = p.iter().find(|r| r["kind"] == "rule_load").expect("rule_load problem");
    assert!(bad["path"].as_str().unwrap().ends_with("bad.yar"));
    assert_eq!(bad["position"], "3:5");
    let s = of_type(&recs, "summary")[0];
    assert_eq!(s["rules"]["loaded"]["yara"], 1);
    assert_eq!(s["complete"], false);
}

/// The yara-x modules built in are those a host scan uses; importing one left out is a
/// rule-load problem naming the module, and the rules beside it load.
#[test]
fn yara_modules_built_in_and_left_out() {
    let t = Tree::new();
    // A minimal PE header: "MZ", e_lfanew = 0x40, "PE\0\0" and an x86-64 machine type.
    let mut pe = vec![0u8; 0x200];
    pe[0] = b'M';
    pe[1] = b'Z';
    pe[0x3c] = 0x40;
    pe[0x40..0x44].copy_from_slice(b"PE\0\0");
    pe[0x44..0x46].copy_from_slice(&0x8664u16.to_le_bytes());
    t.file("tool.exe", pe);
    let rules = Tree::new();
    for (module, cond) in [
        ("pe", "pe.machine == pe.MACHINE_AMD64"),
        ("dotnet", "not dotnet.is_dotnet"),
        ("elf", "true"),
        ("lnk", "not lnk.is_lnk"),
        ("zip", "true"),
        ("hash", "hash.md5(0, 2) == \"ac6ad5d9b99757c3a878f2d275ace198\""),
        ("math", "math.entropy(0, 2) > 0.5"),
        ("string", "string.length(\"ab\") == 2"),
        ("time", "time.now() > 0"),
        ("console", "console.log(\"x\")"),
    ] {
        rules.file(
            format!("{module}.yar"),
            format!("import \"{module}\"\nrule uses_{module} {{ condition: {cond} }}\n"),
        );
    }
    for module in ["vt", "macho", "dex", "crx", "cuckoo"] {
        rules.file(
            format!("{module}.yar"),
            format!("import \"{module}\"\nrule uses_{module} {{ condition: true }}\n"),
        );
    }
    let (code, recs) = scan_jsonl(t.root(), &["--rules", rules.root().to_str().unwrap()]);
    // Findings (1) over an incomplete run (3); the summary says it is incomplete.
    assert_eq!(code, 1, "{recs:?}");
    assert_eq!(of_type(&recs, "summary")[0]["complete"], false);
    let matched: Vec<&str> =
        of_type(&recs, "finding").iter().filter_map(|f| f["rule"]["name"].as_str()).collect();
    for module in ["pe", "dotnet", "elf", "lnk", "zip", "hash", "math", "string", "time", "console"]
    {
        assert!(matched.contains(&format!("uses_{module}").as_str()), "{module}: {matched:?}");
    }
    // The import is the error (a rule of the file that does not use the module still loads).
    let refused: Vec<(&str, &str)> = of_type(&recs, "problem")
        .iter()
        .filter(|p| p["kind"] == "rule_load")
        .filter_map(|p| Some((p["path"].as_str()?, p["reason"].as_str()?)))
        .collect();
    for module in ["vt", "macho", "dex", "crx", "cuckoo"] {
        assert!(
            refused.iter().any(|(p, r)| p.ends_with(&format!("/{module}.yar"))
                && r.contains(&format!("unknown module `{module}`"))),
            "{module}: {refused:?}"
        );
    }
    assert_eq!(refused.len(), 5, "{refused:?}");
}

#[test]
fn usage_errors_exit_2() {
    ferret().args(["scan", "/nonexistent/ferret/path", "-q"]).assert().code(2);
    let t = Tree::new();
    ferret().arg("scan").arg(t.root()).arg("--no-builtin").assert().code(2);
    ferret().arg("scan").arg(t.root()).args(["--exclude", "a["]).assert().code(2);
    ferret().args(["scan", "--min-score", "101"]).assert().code(2);
}

#[test]
fn builtin_pack_detects_a_chopper_style_shell_with_no_setup() {
    let t = Tree::new();
    let shell = ferret_testkit::samples::chopper_aspx("z");
    t.file("inetpub/wwwroot/aspnet_client/x.aspx", shell);
    let out = ferret().arg("scan").arg(t.root()).args(["--format", "jsonl"]).output().unwrap();
    let recs = records(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{recs:?}");
    let f = of_type(&recs, "finding");
    assert!(
        f.iter().any(|r| r["rule"]["name"] == "ferret_webshell_china_chopper_aspx"),
        "{recs:?}"
    );
}

#[test]
fn compiled_bundle_loads_like_its_sources() {
    let t = Tree::new();
    t.file("x.bin", ferret_testkit::eicar_like());
    let rules = Tree::new();
    let yar = rules.file("m.yar", "rule marker { strings: $m = \"TEST-MARKER\" condition: $m }");
    let bundle = rules.path("rules.bundle");
    ferret()
        .args(["rules", "compile", "--no-builtin", "--rules"])
        .arg(&yar)
        .arg("-o")
        .arg(&bundle)
        .assert()
        .code(0);
    let raw = std::fs::read(&bundle).unwrap();
    assert!(
        !raw.windows(11).any(|w| w == b"TEST-MARKER"),
        "bundle must not hold rule text in clear"
    );
    let (code, recs) = scan_jsonl(t.root(), &["--rules", bundle.to_str().unwrap()]);
    assert_eq!(code, 1, "{recs:?}");
    assert_eq!(of_type(&recs, "finding")[0]["rule"]["name"], "marker");
}

#[test]
fn csv_and_min_score() {
    let t = Tree::new();
    t.file("x.bin", ferret_testkit::eicar_like());
    let rules = Tree::new();
    let yar = rules
        .file("m.yar", "rule low { meta: score = 30 strings: $m = \"TEST-MARKER\" condition: $m }");
    let out = ferret()
        .arg("scan")
        .arg(t.root())
        .args(["--no-builtin", "--format", "csv", "--rules"])
        .arg(&yar)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("type,engine,severity,score,rule_id"));
    assert!(text.contains("finding,yara,info,30,"));
    ferret()
        .arg("scan")
        .arg(t.root())
        .args(["--no-builtin", "--min-score", "50", "-q", "--rules"])
        .arg(&yar)
        .assert()
        .code(0);
}

#[test]
fn max_file_size_skips_without_reading_but_checks_names() {
    let t = Tree::new();
    t.file("big/evil-name.bin", vec![b'A'; 4096]);
    let rules = Tree::new();
    let names = rules.file("filename-iocs.txt", "evil-name\\.bin;80\n");
    let (code, recs) =
        scan_jsonl(t.root(), &["--rules", names.to_str().unwrap(), "--max-file-size", "1K"]);
    assert_eq!(code, 1, "{recs:?}");
    let s = of_type(&recs, "summary")[0];
    assert_eq!(s["skipped"]["size"], 1);
    assert_eq!(s["counters"]["files_scanned"], 0);
    assert_eq!(of_type(&recs, "finding")[0]["engine"], "filename");
}

#[test]
fn stix_bundle_hash_indicator() {
    let t = Tree::new();
    let body = ferret_testkit::eicar_like();
    t.file("x.bin", &body);
    let sha = hex::encode(Sha256::digest(&body));
    let rules = Tree::new();
    let stix = rules.file(
        "bundle.json",
        format!(
            r#"{{"type":"bundle","id":"bundle--1","objects":[{{"type":"indicator","spec_version":"2.1",
            "id":"indicator--11111111-1111-4111-8111-111111111111","created":"2021-03-01T00:00:00Z",
            "modified":"2021-03-01T00:00:00Z","name":"planted sample","pattern_type":"stix",
            "pattern":"[file:hashes.'SHA-256' = '{sha}']","valid_from":"2021-03-01T00:00:00Z"}}]}}"#
        ),
    );
    let (code, recs) = scan_jsonl(t.root(), &["--rules", stix.to_str().unwrap()]);
    assert_eq!(code, 1, "{recs:?}");
}

#[test]
fn hostile_filesystem_finishes_and_reports_each_case() {
    let t = Tree::new();
    t.fifo("pipe");
    let _sock = std::os::unix::net::UnixListener::bind(t.path("sock")).unwrap();
    t.dir("loop");
    t.symlink("loop/back", t.root());
    t.symlink("proc-link", "/proc");
    let odd = <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b"bad-\xff-name");
    t.file(odd, b"x");
    t.file("evil\nname\u{1b}[31m.txt", ferret_testkit::eicar_like());
    let rules = Tree::new();
    let yar = rules.file("m.yar", "rule marker { strings: $m = \"TEST-MARKER\" condition: $m }");
    // Follow symlinks too: the loop must be detected, /proc must not be entered.
    let out = ferret()
        .arg("scan")
        .arg(t.root())
        .args(["--no-builtin", "-L", "--format", "jsonl", "--rules"])
        .arg(&yar)
        .output()
        .unwrap();
    let recs = records(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{recs:?}");
    let problems = of_type(&recs, "problem");
    let reasons: Vec<String> =
        problems.iter().map(|p| format!("{} {}", p["kind"], p["reason"])).collect();
    assert!(reasons.iter().any(|r| r.contains("fifo not opened")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("socket not opened")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("loop")), "{reasons:?}");
    let s = of_type(&recs, "summary")[0];
    assert!(s["skipped"]["excluded"].as_u64().unwrap() >= 1, "the /proc link is excluded: {s}");
    let f = of_type(&recs, "finding");
    assert_eq!(f.len(), 1);
    assert!(
        f[0]["path"].as_str().unwrap().contains("evil\nname\u{1b}[31m.txt"),
        "jsonl is lossless"
    );

    // The text view escapes the name; the non-UTF-8 name is walked without error.
    let out = ferret()
        .arg("scan")
        .arg(t.root())
        .args(["--no-builtin", "--rules"])
        .arg(&yar)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains('\u{1b}'), "no raw escape reaches the terminal: {text}");
    assert!(text.contains("evil\\nname\\u{001b}[31m.txt"), "{text}");
}

#[test]
fn unreadable_file_is_reported_when_not_root() {
    use std::os::unix::fs::PermissionsExt;
    let t = Tree::new();
    let p = t.file("secret.bin", b"x");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
    let rules = Tree::new();
    let yar =
        rules.file("m.yar", "rule never { strings: $m = \"never-ever-present\" condition: $m }");
    let (code, recs) = scan_jsonl(t.root(), &["--rules", yar.to_str().unwrap()]);
    if std::fs::read(&p).is_ok() {
        // Running as root: every file is readable; the scan must be clean.
        assert_eq!(code, 0, "{recs:?}");
    } else {
        assert_eq!(code, 3, "{recs:?}");
        let problems = of_type(&recs, "problem");
        assert!(problems.iter().any(|p| p["kind"] == "permission_denied"), "{recs:?}");
    }
}
