//! Signed intel packs end to end: `ferret intel pack` of the repository's `intel/` folder and
//! of an edited copy, `check --intel PACK --intel-key KEY` using the pack's indicators and
//! recording its identity in the report, and the refusals (tampered, unsigned, another key,
//! no key) with exit 2; an older pack is accepted with its date and a warning in the report
//! and in `ferret intel show`; the pinned key may come from the configuration folder.

#![expect(clippy::disallowed_methods, reason = "tests write their own temporary fixtures")]

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use ferret_testkit::Tree;
use serde_json::Value;

use common::{intel_dir, keygen, run_with_config as ferret, s, summary_of as summary};

/// A BIND query log naming `host` during the SUNBURST window.
fn dns_tree(host: &str) -> Tree {
    let t = Tree::new();
    t.file(
        "dns/named-queries.log",
        format!(
            "13-Jun-2020 09:00:00.000 queries: info: client @0x7f1c2c0a1b80 10.0.0.5#52719 ({host}): query: {host} IN A + (10.0.0.1)\n\
             13-Jun-2020 09:00:01.000 queries: info: client @0x7f1c2c0a1b80 10.0.0.5#52720 (www.example.org): query: www.example.org IN A + (10.0.0.1)\n"
        ),
    );
    t
}

fn sb005(jsonl: &str) -> usize {
    jsonl
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == "finding" && v["rule"]["id"] == "SB005")
        .count()
}

/// A copy of the repository's tables with `extra` appended to `sunburst/network.tsv`.
fn edited_intel(dir: &Path, extra: &str) -> PathBuf {
    let out = dir.join("intel");
    for entry in std::fs::read_dir(intel_dir()).unwrap() {
        let c = entry.unwrap().path();
        if !c.is_dir() {
            continue;
        }
        let to = out.join(c.file_name().unwrap());
        std::fs::create_dir_all(&to).unwrap();
        for t in std::fs::read_dir(&c).unwrap() {
            let t = t.unwrap().path();
            let mut text = std::fs::read_to_string(&t).unwrap();
            if t.ends_with("sunburst/network.tsv") {
                text.push_str(extra);
            }
            std::fs::write(to.join(t.file_name().unwrap()), text).unwrap();
        }
    }
    out
}

const ADDED: &str = "stage2-added.invalid";

#[test]
fn a_signed_pack_replaces_the_builtin_intel_and_is_named_in_the_report() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let (key, public) = keygen(w, "intel.key");
    let dir = edited_intel(
        w,
        &format!(
            "domain\t{ADDED}\thigh\tA test advisory <https://advisory.invalid/>\t2026-01-05\thigh\n"
        ),
    );
    let pack = w.join("new.pack");
    let (code, _, err) = ferret(&["intel", "pack", s(&dir), "-o", s(&pack), "--sign", s(&key)], w);
    assert_eq!(code, 0, "{err}");

    let t = dns_tree(&format!("cdn.{ADDED}"));
    let check = |extra: &[&str]| {
        let mut args = vec!["check", "--campaign", "sunburst", "--format", "jsonl", "-q"];
        args.extend_from_slice(extra);
        args.push(s(t.root()));
        ferret(&args, w)
    };
    // The built-in intel does not know the added domain.
    let (_, out, _) = check(&[]);
    assert_eq!(sb005(&out), 0, "{out}");
    let builtin = summary(&out)["tool"]["intel"].clone();
    assert_eq!(builtin["origin"], "builtin");
    // The pack does, and the report names the pack.
    let (code, out, err) = check(&["--intel", s(&pack), "--intel-key", s(&public)]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(sb005(&out), 1, "{out}");
    assert!(out.contains("A test advisory, 2026-01-05"), "{out}");
    let sum = summary(&out);
    let intel = &sum["tool"]["intel"];
    assert_eq!(intel["origin"], "pack");
    assert_eq!(intel["pack_id"].as_str().unwrap().len(), 32);
    assert_eq!(intel["pack_sha256"].as_str().unwrap().len(), 64);
    assert!(intel["created"].as_str().unwrap().starts_with("20"), "{intel}");
    assert_eq!(intel["key_id"].as_str().unwrap().len(), 16);
    assert!(intel.get("warning").is_none(), "{intel}");
    assert!(!sum["notes"].to_string().contains("has no table"), "{sum}");
    assert_eq!(sum["tool"]["ruleset_sha256"], intel["sha256"]);
    assert_ne!(intel["sha256"], builtin["sha256"]);

    // The pinned key may come from the configuration folder.
    let config = w.join("config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::copy(&public, config.join("intel.pub")).unwrap();
    let out = Command::cargo_bin("ferret")
        .unwrap()
        .env("FERRET_CONFIG_DIR", &config)
        .args(["intel", "show", "--intel", s(&pack)])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("origin: pack") && text.contains("pack sha256: "), "{text}");
    assert!(text.contains("sunburst: 5 tables"), "{text}");
    assert!(text.contains("2026-01-05  A test advisory (1)"), "{text}");
    // `--version --verbose` names the built-in intel.
    let (_, _, version) = ferret(&["--version", "--verbose"], w);
    let (_, show, _) = ferret(&["intel", "show"], w);
    let builtin_sha = builtin["sha256"].as_str().unwrap();
    assert!(version.contains(&format!("built-in intel sha256: {builtin_sha}")), "{version}");
    assert!(show.contains(&format!("intel sha256: {builtin_sha}")), "{show}");
}

#[test]
fn tampered_unsigned_and_wrongly_signed_packs_are_refused() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let (key, public) = keygen(w, "intel.key");
    let (_, other_public) = keygen(w, "other.key");
    let pack = w.join("p.pack");
    let (code, _, err) =
        ferret(&["intel", "pack", s(&intel_dir()), "-o", s(&pack), "--sign", s(&key)], w);
    assert_eq!(code, 0, "{err}");
    let bytes = std::fs::read_to_string(&pack).unwrap();
    let t = dns_tree("www.example.org");

    let tampered = w.join("tampered.pack");
    std::fs::write(&tampered, bytes.replacen("freescanonline.com", "freescanonline.org", 1))
        .unwrap();
    let unsigned = w.join("unsigned.pack");
    let body_at = bytes.find("ferret-intel-pack 1").unwrap();
    std::fs::write(&unsigned, &bytes[body_at..]).unwrap();

    for (pack, key, why) in [
        (&tampered, &public, "signature"),
        (&unsigned, &public, "no signature"),
        (&pack, &other_public, "signed by key"),
    ] {
        let (code, out, err) =
            ferret(&["check", "-q", "--intel", s(pack), "--intel-key", s(key), s(t.root())], w);
        assert_eq!(code, 2, "{}: {out}{err}", pack.display());
        assert!(err.contains("refusing the intel pack"), "{err}");
        assert!(err.contains(why), "{why}: {err}");
        assert!(out.is_empty(), "{out}");
    }
    // No key given and none in the configuration folder.
    let (code, _, err) = ferret(&["intel", "show", "--intel", s(&pack)], &w.join("empty"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("intel.pub"), "{err}");
}

#[test]
fn an_older_pack_is_accepted_with_its_date_and_a_warning() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let (key, public) = keygen(w, "intel.key");
    // Only the December 2020 stage-2 list: older than the newest built-in indicator.
    let dir = w.join("old");
    std::fs::create_dir_all(dir.join("sunburst")).unwrap();
    let net = std::fs::read_to_string(intel_dir().join("sunburst/network.tsv")).unwrap();
    let mut old = String::new();
    for l in net.lines().filter(|l| !l.contains("\t2021-")) {
        old.push_str(l);
        old.push('\n');
    }
    std::fs::write(dir.join("sunburst/network.tsv"), old).unwrap();
    let pack = w.join("old.pack");
    let (code, _, err) = ferret(&["intel", "pack", s(&dir), "-o", s(&pack), "--sign", s(&key)], w);
    assert_eq!(code, 0, "{err}");

    let t = dns_tree("www.example.org");
    let (code, out, err) = ferret(
        &[
            "check",
            "--campaign",
            "sunburst",
            "--format",
            "jsonl",
            "-q",
            "--intel",
            s(&pack),
            "--intel-key",
            s(&public),
            s(t.root()),
        ],
        w,
    );
    assert_ne!(code, 2, "{err}");
    assert!(err.contains("warning: the intel pack"), "{err}");
    let sum = summary(&out);
    let intel = &sum["tool"]["intel"];
    let created = intel["created"].as_str().unwrap();
    let warning = intel["warning"].as_str().unwrap();
    assert!(warning.contains("older than the intel built into this ferret"), "{warning}");
    assert!(warning.contains("2020-12-13"), "{warning}");
    let notes = sum["notes"].to_string();
    assert!(notes.contains(created) && notes.contains("older than"), "{notes}");
    assert!(notes.contains("the intel pack has no table campaigns/windows.tsv"), "{notes}");

    let (code, text, err) =
        ferret(&["intel", "show", "--intel", s(&pack), "--intel-key", s(&public)], w);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains(&format!("created: {created}")), "{text}");
    assert!(text.contains("warning: the intel pack"), "{text}");
    assert!(text.contains("not in the pack: pulse-secure/families.tsv"), "{text}");
}
