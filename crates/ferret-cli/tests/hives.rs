//! Registry hives end to end: `ferret check` and `ferret scan` over trees holding hives written
//! by the testkit's regf writer (names that do not say what they are), a garbage hive, and a
//! hive given directly as the target.

use std::path::Path;

use assert_cmd::Command;
use ferret_testkit::Tree;
use ferret_testkit::hive::{HiveKey, build};
use serde_json::Value;

/// SHA-1 of SolarWinds.Orion.Core.BusinessLayer.dll 2019.4.5200.9083 (SUNBURST), as published.
const SUNBURST_SHA1: &str = "76640508b1e7759e548771a5359eaed353bf1eec";

fn amcache(sha1: &str) -> Vec<u8> {
    let mut root = HiveKey::new("ROOT");
    root.key("Root\\InventoryApplicationFile\\orion|1")
        .sz("FileId", &format!("0000{sha1}"))
        .sz("LowerCaseLongPath", "c:\\program files (x86)\\solarwinds\\orion\\x.dll");
    build(&root)
}

fn system(disabled: &[&str]) -> Vec<u8> {
    let mut root = HiveKey::new("ROOT");
    root.key("Select").dword("Current", 1);
    root.key("ControlSet001\\Services\\Tcpip").dword("Start", 1);
    for s in disabled {
        root.key(&format!("ControlSet001\\Services\\{s}")).dword("Start", 4);
    }
    build(&root)
}

fn ferret(verb: &str, args: &[&str], path: &Path) -> (i32, Vec<Value>) {
    let out = Command::cargo_bin("ferret")
        .unwrap()
        .arg(verb)
        .args(args)
        .args(["-q", "--format", "jsonl"])
        .arg(path)
        .output()
        .unwrap();
    let records = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .collect();
    (out.status.code().unwrap(), records)
}

fn of_type<'v>(records: &'v [Value], t: &str) -> Vec<&'v Value> {
    records.iter().filter(|r| r["type"] == t).collect()
}

#[test]
fn check_reads_hives_found_by_content() {
    let t = Tree::new();
    t.file("collection/C/Windows/System32/config/sys.bin", system(&["csagent", "xagt"]));
    t.file("collection/C/Windows/appcompat/Programs/am.bin", amcache(SUNBURST_SHA1));
    let (code, records) = ferret("check", &["--campaign", "sunburst"], t.root());
    assert_eq!(code, 1, "{records:#?}");
    let s = of_type(&records, "summary")[0];
    assert_eq!(s["counters"]["hives_read"], 2, "{s}");
    let findings = of_type(&records, "finding");
    assert!(findings.iter().any(|f| f["rule"]["id"] == "SB007"), "{findings:#?}");
    assert!(findings.iter().any(|f| f["engine"] == "artefact"), "{findings:#?}");
    assert_eq!(s["details"]["verdicts"][0]["verdict"], "affected");
}

#[test]
fn clean_hives_leave_check_unaffected() {
    let t = Tree::new();
    t.file("SYSTEM", system(&[]));
    t.file("Amcache.hve", amcache("0123456789abcdef0123456789abcdef01234567"));
    let (code, records) = ferret("check", &["--campaign", "sunburst"], t.root());
    assert!(of_type(&records, "finding").is_empty(), "{records:#?}");
    // Hives alone do not show whether SUNBURST ran (no Orion install, no DNS logs): UNKNOWN.
    assert_eq!(code, 3);
    assert_eq!(of_type(&records, "summary")[0]["counters"]["hives_read"], 2);
}

#[test]
fn scan_matches_amcache_against_the_loaded_indicators() {
    let t = Tree::new();
    t.file("evidence/Amcache.hve", amcache(SUNBURST_SHA1));
    let (code, records) = ferret("scan", &[], t.root());
    assert_eq!(code, 1, "{records:#?}");
    let hits: Vec<_> =
        of_type(&records, "finding").into_iter().filter(|f| f["engine"] == "artefact").collect();
    assert!(!hits.is_empty(), "{records:#?}");
    assert_eq!(hits[0]["details"]["artefact"], "amcache");
    assert!(hits[0]["message"].as_str().unwrap().contains("need not exist any more"));
    assert_eq!(of_type(&records, "summary")[0]["counters"]["hives_read"], 1);
}

#[test]
fn a_garbage_hive_given_directly_is_a_problem_naming_it() {
    let t = Tree::new();
    let mut junk = b"regf".to_vec();
    junk.resize(9000, 0xA5);
    let p = t.file("SYSTEM", junk);
    let (code, records) = ferret("scan", &[], &p);
    assert_eq!(code, 3, "{records:#?}");
    let problems = of_type(&records, "problem");
    assert!(
        problems.iter().any(|p| p["kind"] == "parse"
            && p["path"].as_str().unwrap().ends_with("SYSTEM")
            && p["reason"].as_str().unwrap().contains("registry hive")),
        "{problems:#?}"
    );
    assert_eq!(of_type(&records, "summary")[0]["counters"]["hives_unreadable"], 1);
}

/// Hives inside evidence are read where they lie: a Velociraptor collection holding a dirty
/// SYSTEM hive with its `.LOG1` (replayed in memory) and an Amcache, and an NTFS disk image
/// holding the same hives; `check` finds SB007 and the Amcache SHA-1 with the host's paths, and
/// the benign twin in a collection gives nothing.
#[test]
fn hives_inside_a_collection_and_a_disk_image_are_read_in_place() {
    use ferret_testkit::archive::zip;
    use ferret_testkit::hive::dirty_with_log;
    let sys = |disabled: &[&str]| {
        let mut root = HiveKey::new("ROOT");
        root.key("Select").dword("Current", 1);
        root.key("ControlSet001\\Services\\Tcpip").dword("Start", 1);
        for s in disabled {
            root.key(&format!("ControlSet001\\Services\\{s}")).dword("Start", 4);
        }
        root
    };
    // On disk the hive still has the services running; its log disables them.
    let (hive, log) = dirty_with_log(&sys(&[]), &sys(&["csagent", "xagt"]));
    let am = amcache(SUNBURST_SHA1);
    let t = Tree::new();
    let prefix = "uploads/auto/C%3A/Windows";
    let members: Vec<(String, &[u8])> = vec![
        (format!("{prefix}/System32/config/SYSTEM"), &hive),
        (format!("{prefix}/System32/config/SYSTEM.LOG1"), &log),
        (format!("{prefix}/appcompat/Programs/Amcache.hve"), &am),
        ("uploads.json".to_owned(), b"[]"),
    ];
    let refs: Vec<(&str, &[u8])> = members.iter().map(|(n, d)| (n.as_str(), *d)).collect();
    let coll = t.file("Collection-HOST.zip", zip(&refs));
    let (code, records) = ferret("check", &["--campaign", "sunburst"], &coll);
    assert_eq!(code, 1, "{records:#?}");
    let s = of_type(&records, "summary")[0];
    assert_eq!(s["counters"]["hives_read"], 2, "{s}");
    assert_eq!(s["counters"]["hives_replayed"], 1, "the log inside the collection: {s}");
    let findings = of_type(&records, "finding");
    let sb007 = findings.iter().find(|f| f["rule"]["id"] == "SB007").expect("SB007");
    assert_eq!(sb007["path"], "C:\\Windows\\System32\\config\\SYSTEM", "{sb007}");
    assert_eq!(sb007["provenance"]["collection"], "velociraptor", "{sb007}");
    assert!(
        findings.iter().any(|f| f["engine"] == "artefact"
            && f["path"] == "C:\\Windows\\appcompat\\Programs\\Amcache.hve"),
        "{findings:#?}"
    );

    // The benign twin: the same collection with the services left running.
    let clean = build(&sys(&[]));
    let refs: Vec<(&str, &[u8])> =
        vec![(members[0].0.as_str(), clean.as_slice()), ("uploads.json", b"[]")];
    let benign = t.file("Collection-CLEAN.zip", zip(&refs));
    let (_, records) = ferret("check", &["--campaign", "sunburst"], &benign);
    assert!(of_type(&records, "finding").is_empty(), "{records:#?}");
    assert_eq!(of_type(&records, "summary")[0]["counters"]["hives_read"], 1);

    // The same hives in an NTFS disk image.
    if !ferret_testkit::require(
        "ntfs-3g's mkntfs and ntfscp (Debian package ntfs-3g)",
        ferret_testkit::disk::ntfs_tools(),
    ) {
        return;
    }
    let vol = t.path("vol.img");
    let mut v = ferret_testkit::disk::NtfsVolume::new(&vol, 16, false);
    v.file("SYSTEM", &build(&sys(&["csagent", "xagt"])));
    v.file("Amcache.hve", &am);
    let (code, records) = ferret("check", &["--campaign", "sunburst"], &vol);
    assert_eq!(code, 1, "{records:#?}");
    assert_eq!(of_type(&records, "summary")[0]["counters"]["hives_read"], 2);
    let findings = of_type(&records, "finding");
    assert!(
        findings.iter().any(|f| f["rule"]["id"] == "SB007" && f["path"] == "C:\\SYSTEM"),
        "{findings:#?}"
    );
}
