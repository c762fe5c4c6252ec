//! Verdicts right in both directions: ferret never accuses itself, a run that examined
//! nothing (or less than asked) is never clean, one fact is one finding, severity follows the
//! score, and reports name files absolutely.

#![cfg(feature = "scan")]

mod common;

use std::path::Path;

use ferret_testkit::Tree;
use serde_json::Value;

use common::{ferret_plain as ferret, of_type, records, summary};

/// A China Chopper-style ASPX one-liner (assembled, so no source file carries it).
fn chopper() -> String {
    ferret_testkit::samples::chopper_aspx("z")
}

fn domain() -> String {
    ["avsvm", "cloud", ".com"].concat()
}

const BUILTIN_SUPERNOVA: &str = include_str!("../../ferret-ioc/builtin/yara/supernova.yar");
const BUILTIN_EXTRA: &str = include_str!("../../ferret-scan/builtin/yara/extra.yar");

fn scan(root: &Path, extra: &[&std::ffi::OsStr]) -> (i32, Vec<Value>) {
    let out =
        ferret().arg("scan").arg(root).args(["--format", "jsonl"]).args(extra).output().unwrap();
    (out.status.code().unwrap(), records(&out.stdout))
}

#[test]
fn ferret_never_accuses_itself_but_finds_a_shell_beside_its_files() {
    let t = Tree::new();
    // ferret's executable, copies of its built-in rule sources and a rule file loaded by
    // this run, all inside the scanned tree.
    let bin = t.path("opt/ferret/bin/ferret");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    // A hard link is the executable itself (same inode); a copy is matched by content.
    let exe = assert_cmd::cargo::cargo_bin("ferret");
    if std::fs::hard_link(&exe, &bin).is_err() {
        std::fs::copy(&exe, &bin).unwrap();
    }
    t.file("src/ferret/builtin/supernova.yar", BUILTIN_SUPERNOVA);
    t.file("src/ferret/builtin/extra.yar", BUILTIN_EXTRA);
    let site = t.file(
        "opt/ferret/rules/site.yar",
        "rule site_marker { strings: $m = \"TEST-MARKER\" condition: $m }",
    );
    // The planted web shell next to them, and a look-alike of a built-in rule file whose
    // content differs (it carries a shell after the rule text).
    t.file("opt/ferret/bin/help.aspx", chopper());
    t.file("opt/ferret/rules/supernova.yar", format!("{BUILTIN_SUPERNOVA}\n{}", chopper()));
    // A debug build of ferret is larger than the default size limit.
    let (code, recs) = scan(
        t.root(),
        &["--rules".as_ref(), site.as_os_str(), "--max-file-size".as_ref(), "4G".as_ref()],
    );
    let findings = of_type(&recs, "finding");
    let paths: Vec<&str> = findings.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(code, 1, "{recs:?}");
    assert!(paths.iter().any(|p| p.ends_with("bin/help.aspx")), "{paths:?}");
    assert!(paths.iter().any(|p| p.ends_with("rules/supernova.yar")), "look-alike: {paths:?}");
    for own in ["bin/ferret", "builtin/supernova.yar", "builtin/extra.yar", "rules/site.yar"] {
        assert!(!paths.iter().any(|p| p.ends_with(own)), "{own} accused: {paths:?}");
    }
    let s = summary(&recs);
    assert_eq!(s["skipped"]["ferret_own"], 4, "{s}");
    assert!(
        s["notes"].as_array().unwrap().iter().any(|n| n == "ferret's own files, not matched: 4"),
        "{s}"
    );
}

#[test]
fn documents_about_an_indicator_get_an_info_note_and_traces_keep_their_finding() {
    let t = Tree::new();
    let d = domain();
    t.file(
        "rules/sunburst.yml",
        format!(
            "title: SUNBURST DNS\nlogsource:\n  category: dns\ndetection:\n  sel:\n    query|endswith: '{d}'\n  condition: sel\nlevel: critical\n"
        ),
    );
    t.file(
        "rules/sunburst.rules",
        format!(
            "alert dns any any -> any any (msg:\"SUNBURST\"; dns.query; content:\"{d}\"; sid:1;)\n"
        ),
    );
    t.file("intel/domains.txt", format!("# SUNBURST\n{d}\n"));
    // A resolver log naming it, and a web shell with a rule-like header: traces, not documents.
    t.file(
        "logs/dns.log",
        format!("2020-07-01 10:00:00 client 10.0.0.5 query: 7sbvaemscs0mc925tb99.appsync-api.eu-west-1.{d} IN A\n"),
    );
    t.file("www/x.aspx", format!("// rule: condition: {d}\n{}", chopper()));
    let (code, recs) = scan(t.root(), &[]);
    assert_eq!(code, 1, "{recs:?}");
    let by_path = |suffix: &str| -> Vec<&Value> {
        of_type(&recs, "finding")
            .into_iter()
            .filter(|f| f["path"].as_str().unwrap().ends_with(suffix))
            .collect()
    };
    for doc in ["rules/sunburst.yml", "rules/sunburst.rules", "intel/domains.txt"] {
        let f = by_path(doc);
        assert_eq!(f.len(), 1, "{doc}: {f:?}");
        assert_eq!(f[0]["severity"], "info", "{doc}: {f:?}");
        assert!(f[0]["message"].as_str().unwrap().contains("names this indicator"), "{f:?}");
    }
    let log = by_path("logs/dns.log");
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["severity"], "medium", "{log:?}");
    let shell = by_path("www/x.aspx");
    assert!(
        shell.iter().any(|f| f["rule"]["name"] == "ferret_webshell_china_chopper_aspx"),
        "{shell:?}"
    );
    assert!(shell.iter().all(|f| f["severity"] != "info"), "{shell:?}");
}

#[test]
fn rules_scan_cannot_use_make_the_run_incomplete() {
    let t = Tree::new();
    t.file("a.txt", "hello");
    let sigma = Tree::new();
    sigma.file(
        "rules/windows/x.yml",
        "title: t\nlogsource:\n  product: windows\ndetection:\n  sel:\n    EventID: 1\n  condition: sel\n",
    );
    let (code, recs) = scan(t.root(), &["--rules".as_ref(), sigma.path("rules").as_os_str()]);
    assert_eq!(code, 3, "{recs:?}");
    let s = summary(&recs);
    assert_eq!(s["complete"], false);
    let why = s["incomplete_reasons"].to_string();
    assert!(why.contains("nothing scan can use") && why.contains("Sigma"), "{s}");
    // The terminal view says so in its result line.
    let out =
        ferret().arg("scan").arg(t.root()).arg("-r").arg(sigma.path("rules")).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("result:   INCOMPLETE"), "{text}");
}

#[test]
fn missing_targets_are_incomplete_and_all_missing_cannot_run() {
    let t = Tree::new();
    t.file("a.txt", "hello");
    let gone = t.path("not-there");
    let (code, recs) = scan(t.root(), &[gone.as_os_str()]);
    assert_eq!(code, 3, "{recs:?}");
    assert!(summary(&recs)["incomplete_reasons"].to_string().contains("not-there"));
    let (code, recs) = scan(&gone, &[]);
    assert_eq!(code, 2, "{recs:?}");
    assert!(of_type(&recs, "summary").is_empty());
}

#[test]
fn hunt_over_a_folder_without_logs_is_nothing_examined() {
    let t = Tree::new();
    t.file("readme.bin", [0u8, 1, 2, 3, 255, 254]);
    let sigma = Tree::new();
    let rule = sigma.file(
        "r.yml",
        "title: t\nlogsource:\n  product: linux\ndetection:\n  keywords:\n    - 'evil'\n  condition: keywords\n",
    );
    let out = ferret().arg("hunt").arg(t.root()).arg("--sigma").arg(&rule).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stdout));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("result:   NOTHING EXAMINED: no log file was found"), "{text}");
}

#[test]
fn one_finding_per_fact() {
    let t = Tree::new();
    let marker = ferret_testkit::eicar_like();
    t.file("x.bin", &marker);
    t.file("www/x.aspx", chopper());
    // One indicator listed by MD5 and by SHA-256.
    let md5 = {
        use md5::Digest as _;
        hex::encode(md5::Md5::digest(&marker))
    };
    let sha = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(&marker))
    };
    let rules = Tree::new();
    let hashes = rules.file("hashes.txt", format!("{md5};Test marker\n{sha};Test marker\n"));
    // A bundle compiled with the built-in pack in it, loaded beside the built-in pack.
    let bundle = rules.path("site.bundle");
    ferret().args(["rules", "compile", "-o"]).arg(&bundle).assert().code(0);
    let (code, recs) =
        scan(t.root(), &["-r".as_ref(), hashes.as_os_str(), "-r".as_ref(), bundle.as_os_str()]);
    assert_eq!(code, 1, "{recs:?}");
    let findings = of_type(&recs, "finding");
    let marker_hits: Vec<_> =
        findings.iter().filter(|f| f["path"].as_str().unwrap().ends_with("x.bin")).collect();
    assert_eq!(marker_hits.len(), 1, "{marker_hits:?}");
    let ev = marker_hits[0]["evidence"].to_string();
    assert!(ev.contains(&md5) && ev.contains(&sha), "{ev}");
    let shell_hits: Vec<_> = findings
        .iter()
        .filter(|f| f["path"].as_str().unwrap().ends_with("x.aspx"))
        .filter(|f| f["rule"]["name"] == "ferret_webshell_china_chopper_aspx")
        .collect();
    assert_eq!(shell_hits.len(), 1, "{shell_hits:?}");
}

#[test]
fn severity_follows_the_score_bands() {
    let t = Tree::new();
    t.file("x.bin", ferret_testkit::eicar_like());
    let rules = Tree::new();
    let yar = rules.file(
        "bands.yar",
        "rule s95 { meta: score = 95 severity = \"high\" strings: $m = \"TEST-MARKER\" condition: $m }\n\
         rule s80 { meta: score = 80 severity = \"medium\" strings: $m = \"TEST-MARKER\" condition: $m }\n\
         rule s50 { meta: score = 50 strings: $m = \"TEST-MARKER\" condition: $m }\n",
    );
    let (code, recs) = scan(t.root(), &["--no-builtin".as_ref(), "-r".as_ref(), yar.as_os_str()]);
    assert_eq!(code, 1);
    for f in of_type(&recs, "finding") {
        let want = match f["score"].as_u64().unwrap() {
            90.. => "critical",
            75..=89 => "high",
            60..=74 => "medium",
            40..=59 => "low",
            _ => "info",
        };
        assert_eq!(f["severity"], want, "{f}");
    }
}

#[test]
fn relative_targets_are_reported_absolutely_and_excludes_match_as_typed() {
    let t = Tree::new();
    t.file("www/help.aspx", chopper());
    t.file("www/cache/old.aspx", chopper());
    let out = ferret()
        .current_dir(t.root())
        .args(["scan", "www", "--exclude", "www/cache/*", "--format", "jsonl"])
        .output()
        .unwrap();
    let recs = records(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{recs:?}");
    let root = t.root().canonicalize().unwrap();
    let paths: Vec<&str> =
        of_type(&recs, "finding").iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert!(!paths.is_empty());
    for p in &paths {
        assert!(Path::new(p).is_absolute(), "{p}");
        assert!(Path::new(p).canonicalize().unwrap().starts_with(&root), "{p}");
        assert!(!p.contains("/cache/"), "excluded: {p}");
    }
    let targets = summary(&recs)["targets"].to_string();
    assert!(targets.contains(&format!("{}/www", t.root().display())), "{targets}");
}

/// A build file or another build's executable holds ferret's built-in rule text verbatim
/// among other bytes: a built-in rule matching only inside that text is an info note, while
/// a real shell appended after it is still found at full severity.
#[test]
fn ferrets_rule_text_inside_a_build_file_is_a_note_not_a_finding() {
    let t = Tree::new();
    let artefact = |tail: &str| {
        let mut b = b"\x7fELF\x02\x01\x01\0\0\0object code\0\0".to_vec();
        b.extend_from_slice(BUILTIN_SUPERNOVA.as_bytes());
        b.extend_from_slice(b"\0\0more object code\0");
        b.extend_from_slice(tail.as_bytes());
        b
    };
    t.file("target/release/deps/libferret_ioc-0123.rlib", artefact(""));
    t.file("target/release/deps/libmixed-4567.rlib", artefact(&chopper()));
    // The same rule as an older build wrote it (other wording, one string fewer): a build
    // directory keeps the rule text of every version built.
    // (Made by editing lines, so this test's own build files hold no fragment of rule text.)
    let older: String = BUILTIN_SUPERNOVA
        .lines()
        .filter(|l| !l.trim_start().starts_with("$p2"))
        .map(|l| {
            if l.contains("description") {
                format!("{l} // older wording\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert_ne!(older, BUILTIN_SUPERNOVA);
    let mut old_build = b"\x7fELF\x02\x01\x01\0\0\0older object code\0".to_vec();
    old_build.extend_from_slice(older.as_bytes());
    t.file("target/debug/deps/libferret_ioc-89ab.rmeta", old_build);
    // A shell that only names a ferret rule ahead of its code is no rule block.
    t.file(
        "www/named.aspx",
        format!("<%-- rule ferret_webshell_china_chopper_aspx --%>\n{}", chopper()),
    );
    let (_, recs) = scan(t.root(), &[]);
    let findings = of_type(&recs, "finding");
    let on = |name: &str| -> Vec<&&Value> {
        findings.iter().filter(|f| f["path"].as_str().unwrap().ends_with(name)).collect()
    };
    for file in ["libferret_ioc-0123.rlib", "libferret_ioc-89ab.rmeta"] {
        let own = on(file);
        assert!(!own.is_empty(), "the built-in rules matched their own text in {file}: {recs:?}");
        for f in &own {
            assert_eq!(f["severity"], "info", "{file}: {f}");
            assert!(
                f["message"].as_str().unwrap().contains("ferret's own built-in rules"),
                "{file}: {f}"
            );
        }
    }
    let named = on("www/named.aspx");
    assert!(
        named.iter().any(|f| f["severity"] == "critical" || f["severity"] == "high"),
        "{named:?}"
    );
    let mixed = on("libmixed-4567.rlib");
    assert!(
        mixed.iter().any(|f| f["severity"] == "critical" || f["severity"] == "high"),
        "the shell after ferret's text was lowered: {mixed:?}"
    );
}
