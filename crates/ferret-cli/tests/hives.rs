//! Registry hives end to end: `ferret check` and `ferret scan` over trees holding hives written
//! by the testkit's regf writer (names that do not say what they are), a garbage hive, and a
//! hive given directly as the target.

mod common;

use std::path::Path;

use assert_cmd::Command;
use ferret_testkit::Tree;
use ferret_testkit::hive::{HiveKey, build};
use serde_json::Value;

use common::{of_type, records};

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
    (out.status.code().unwrap(), records(&out.stdout))
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

/// The SHA-1 (first 30 MiB) of a planted tool that was run and deleted since: only Amcache
/// remembers it. Loaded from a hash list given with `--rules`.
const PLANTED_SHA1: &str = "3b9d2c0e57a1f4b8c6d0e2a4f6b8c0d2e4f6a8b0";

/// An Amcache whose on-disk state holds only a benign program; its `.LOG1` adds the entry of
/// the planted tool (so the finding needs the log replayed from the same source).
fn amcache_dirty(sha1: &str) -> (Vec<u8>, Vec<u8>) {
    let entry = |root: &mut HiveKey, id: &str, sha1: &str, path: &str| {
        root.key(&format!("Root\\InventoryApplicationFile\\{id}"))
            .sz("FileId", &format!("0000{sha1}"))
            .sz("LowerCaseLongPath", path);
    };
    let mut old = HiveKey::new("ROOT");
    entry(
        &mut old,
        "notepad|1",
        "0123456789abcdef0123456789abcdef01234567",
        "c:\\windows\\notepad.exe",
    );
    let mut new = old.clone();
    entry(&mut new, "tool|2", sha1, "c:\\programdata\\svc\\tool.exe");
    ferret_testkit::hive::dirty_with_log(&old, &new)
}

fn hash_rules(t: &Tree) -> String {
    t.file("rules/hash-iocs.txt", format!("{PLANTED_SHA1};Planted tool, run and deleted\n"))
        .display()
        .to_string()
}

/// `scan` of a Velociraptor collection and of an NTFS disk image reads the hives inside them
/// with their transaction logs from the same source: the Amcache SHA-1 of the planted tool is
/// an `artefact` finding naming the Windows path and where it was found; the benign twin
/// gives nothing.
#[test]
fn scan_reads_hives_inside_a_collection_and_a_disk_image() {
    use ferret_testkit::archive::zip;
    let t = Tree::new();
    let rules = hash_rules(&t);
    let (hive, log) = amcache_dirty(PLANTED_SHA1);
    let dir = "uploads/auto/C%3A/Windows/appcompat/Programs";
    let am = format!("{dir}/Amcache.hve");
    let am_log = format!("{dir}/Amcache.hve.LOG1");
    let coll = t.file(
        "Collection-HOST.zip",
        zip(&[(am.as_str(), &hive), (am_log.as_str(), &log), ("uploads.json", b"[]")]),
    );
    let (code, records) = ferret("scan", &["--rules", &rules], &coll);
    assert_eq!(code, 1, "{records:#?}");
    let s = of_type(&records, "summary")[0];
    assert_eq!(
        (s["counters"]["hives_read"].as_u64(), s["counters"]["hives_replayed"].as_u64()),
        (Some(1), Some(1)),
        "{s}"
    );
    let hits: Vec<_> =
        of_type(&records, "finding").into_iter().filter(|f| f["engine"] == "artefact").collect();
    assert_eq!(hits.len(), 1, "{records:#?}");
    assert_eq!(hits[0]["path"], "C:\\Windows\\appcompat\\Programs\\Amcache.hve", "{hits:#?}");
    assert_eq!(hits[0]["provenance"]["collection"], "velociraptor", "{hits:#?}");
    assert_eq!(hits[0]["details"]["sha1_first_30mib"], PLANTED_SHA1);
    assert!(hits[0]["message"].as_str().unwrap().contains("tool.exe"), "{hits:#?}");

    // The benign twin: the log adds a program nobody listed.
    let (hive, log) = amcache_dirty("fedcba9876543210fedcba9876543210fedcba98");
    let benign = t.file(
        "Collection-CLEAN.zip",
        zip(&[(am.as_str(), &hive), (am_log.as_str(), &log), ("uploads.json", b"[]")]),
    );
    let (code, records) = ferret("scan", &["--rules", &rules], &benign);
    assert_eq!(code, 0, "{records:#?}");
    assert!(of_type(&records, "finding").is_empty(), "{records:#?}");
    assert_eq!(of_type(&records, "summary")[0]["counters"]["hives_read"], 1);

    if !ferret_testkit::require(
        "ntfs-3g's mkntfs and ntfscp (Debian package ntfs-3g)",
        ferret_testkit::disk::ntfs_tools(),
    ) {
        return;
    }
    let (hive, log) = amcache_dirty(PLANTED_SHA1);
    let vol = t.path("vol.img");
    let mut v = ferret_testkit::disk::NtfsVolume::new(&vol, 16, false);
    v.file("Amcache.hve", &hive);
    v.file("Amcache.hve.LOG1", &log);
    let (code, records) = ferret("scan", &["--rules", &rules], &vol);
    assert_eq!(code, 1, "{records:#?}");
    let s = of_type(&records, "summary")[0];
    assert_eq!(s["counters"]["hives_replayed"], 1, "{s}");
    let hits: Vec<_> =
        of_type(&records, "finding").into_iter().filter(|f| f["engine"] == "artefact").collect();
    assert_eq!(hits.len(), 1, "{records:#?}");
    assert_eq!(hits[0]["path"], "C:\\Amcache.hve", "{hits:#?}");
    assert!(hits[0]["provenance"].is_object(), "{hits:#?}");
}

/// The tree is walked once: the scan notes hives as it reads every file, and the artefact step
/// reads only those. A directory loop met with `--follow-symlinks` is reported by each walk
/// of the tree, so a second walk would report it twice.
#[test]
fn scan_walks_the_tree_once_for_files_and_hives() {
    let t = Tree::new();
    let rules = hash_rules(&t);
    let (hive, log) = amcache_dirty(PLANTED_SHA1);
    t.file("host/config/am.bin", hive);
    t.file("host/config/am.bin.LOG1", log);
    t.file("host/notes.txt", "nothing here");
    std::os::unix::fs::symlink("..", t.path("host/config/up")).unwrap();
    let (code, records) =
        ferret("scan", &["--rules", &rules, "--follow-symlinks"], &t.path("host"));
    assert_eq!(code, 1, "{records:#?}");
    let loops: Vec<_> = of_type(&records, "problem")
        .into_iter()
        .filter(|p| p["path"].as_str().is_some_and(|p| p.ends_with("/up")))
        .collect();
    assert_eq!(loops.len(), 1, "one walk, one report of the loop: {loops:#?}");
    let s = of_type(&records, "summary")[0];
    assert_eq!(s["counters"]["hives_read"], 1, "{s}");
    assert_eq!(s["counters"]["hives_replayed"], 1, "{s}");
    assert!(
        of_type(&records, "finding")
            .iter()
            .any(|f| f["engine"] == "artefact" && f["path"].as_str().unwrap().ends_with("am.bin")),
        "{records:#?}"
    );
}
