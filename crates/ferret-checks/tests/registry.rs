//! The registry detectors (SB007–SB010) and the artefact pass of `check` over hives written
//! by the testkit's regf writer. Each positive fixture has a benign twin that raises nothing.

mod common;

use common::{Run, run};
use ferret_checks::Campaign;
use ferret_core::{Engine, ProblemKind, Severity, Verdict};
use ferret_testkit::Tree;
use ferret_testkit::hive::{HiveKey, build, dirty_with_log};

fn system(disabled: &[&str]) -> HiveKey {
    let mut root = HiveKey::new("ROOT");
    root.key("Select").dword("Current", 1);
    root.key("ControlSet001\\Services\\Tcpip").dword("Start", 1);
    // A listed service left running, and an unlisted one disabled: neither is a finding.
    root.key("ControlSet001\\Services\\csagent").dword("Start", 1);
    root.key("ControlSet001\\Services\\Spooler").dword("Start", 4);
    for s in disabled {
        root.key(&format!("ControlSet001\\Services\\{s}")).dword("Start", 4);
    }
    root
}

fn software() -> HiveKey {
    let mut root = HiveKey::new("ROOT");
    root.key("Microsoft\\Windows NT\\CurrentVersion").sz("ProductName", "Windows Server 2019");
    root.key("Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options\\notepad.exe")
        .dword("GlobalFlag", 0);
    root
}

fn run_hive(name: &str, tree: &HiveKey) -> Run {
    let t = Tree::new();
    t.file(name, build(tree));
    run(t.root(), &[Campaign::Sunburst])
}

#[test]
fn sb007_start_4_on_listed_services() {
    let r = run_hive("Windows/System32/config/SYSTEM", &system(&["CSFalconService"]));
    assert_eq!(r.codes(), vec!["SB007"], "{:#?}", r.findings);
    let f = r.of("SB007")[0];
    assert_eq!(f.severity, Severity::Medium);
    assert!(f.message.as_deref().unwrap().contains("CSFalconService (CrowdStrike)"));
    assert_eq!(r.outcome.summary.counter("hives_read"), 1);

    // Two products' services disabled together: evidence, and the campaign is AFFECTED.
    let r = run_hive("SYSTEM", &system(&["csfalconservice", "xagt", "WinDefend"]));
    let f = r.of("SB007")[0];
    assert_eq!(f.severity, Severity::High);
    assert_eq!(r.verdict(Campaign::Sunburst), Some(Verdict::Affected));

    // Benign twin: listed services running, an unlisted one disabled.
    let r = run_hive("SYSTEM", &system(&[]));
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

#[test]
fn sb008_ifeo_debugger_for_dllhost() {
    let mut sw = software();
    sw.key("Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options\\dllhost.exe")
        .sz("Debugger", "C:\\Windows\\Temp\\x.exe");
    let r = run_hive("renamed-software.bin", &sw);
    assert_eq!(r.codes(), vec!["SB008"], "{:#?}", r.findings);
    assert!(r.of("SB008")[0].evidence.iter().any(|e| e.data.contains("x.exe")));
    let r = run_hive("SOFTWARE", &software());
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

#[test]
fn sb009_ctf_key_is_low_context() {
    let mut sw = software();
    sw.key("Microsoft\\CTF\\TIP");
    let r = run_hive("SOFTWARE", &sw);
    assert_eq!(r.codes(), vec!["SB009"]);
    assert_eq!(r.of("SB009")[0].severity, Severity::Low);
    // A lead decides nothing.
    assert_ne!(r.verdict(Campaign::Sunburst), Some(Verdict::Affected));
}

#[test]
fn sb010_sibot_key() {
    let mut sw = software();
    sw.key("Microsoft\\Windows\\CurrentVersion\\sibot")
        .sz("", "Set x = CreateObject(\"WScript.Shell\")");
    let r = run_hive("SOFTWARE", &sw);
    assert_eq!(r.codes(), vec!["SB010"]);
    assert_eq!(r.of("SB010")[0].severity, Severity::High);
    assert!(r.of("SB010")[0].evidence.iter().any(|e| e.data.contains("WScript")));
}

/// A key deleted after use (its cell freed, out of its parent's list) is still found in the
/// free cell: the finding says it was recovered. A deleted key of another name is nothing.
#[test]
fn sb008_and_sb010_find_deleted_keys_recovered_from_free_cells() {
    let mut sw = software();
    sw.key("Microsoft\\Windows\\CurrentVersion\\sibot")
        .sz("", "Set x = CreateObject(\"WScript.Shell\")")
        .delete();
    sw.key("Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options\\dllhost.exe")
        .sz("Debugger", "C:\\Windows\\Temp\\x.exe")
        .delete();
    let bytes = build(&sw);
    let h = ferret_artefacts::Hive::parse(std::path::Path::new("SOFTWARE"), bytes.as_slice(), &[])
        .unwrap();
    assert!(
        h.key("Microsoft\\Windows\\CurrentVersion\\sibot").is_none(),
        "gone from the live tree"
    );
    let r = run_hive("SOFTWARE", &sw);
    assert_eq!(r.codes(), vec!["SB008", "SB010"], "{:#?}", r.findings);
    for f in &r.findings {
        assert_eq!(f.details["recovered"], true, "{f:?}");
        assert!(f.message.as_deref().unwrap().contains("deleted key recovered"), "{f:?}");
    }
    assert!(r.of("SB010")[0].evidence.iter().any(|e| e.data.contains("WScript")));

    let mut benign = software();
    benign
        .key("Microsoft\\Windows\\CurrentVersion\\Uninstall\\OldApp")
        .sz("DisplayName", "x")
        .delete();
    let r = run_hive("SOFTWARE", &benign);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

/// A value deleted from a live key (its cells freed, the old value list left in a free cell) is
/// recovered and attributed to the key: SB008 finds a deleted `Debugger` of the live
/// `dllhost.exe` IFEO key and says it was recovered; SB010 shows a deleted default value of the
/// live `sibot` key as recovered. A deleted value of another name under the IFEO key is nothing.
#[test]
fn sb008_and_sb010_see_deleted_values_of_live_keys() {
    let mut sw = software();
    sw.key("Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options\\dllhost.exe")
        .dword("GlobalFlag", 0)
        .sz("Debugger", "C:\\Windows\\Temp\\x.exe")
        .delete_value("Debugger");
    sw.key("Microsoft\\Windows\\CurrentVersion\\sibot")
        .sz("Stage", "1")
        .sz("", "Set x = CreateObject(\"WScript.Shell\")")
        .delete_value("");
    let r = run_hive("SOFTWARE", &sw);
    assert_eq!(r.codes(), vec!["SB008", "SB010"], "{:#?}", r.findings);
    let sb008 = r.of("SB008")[0];
    assert_eq!(sb008.details["recovered"], true, "{sb008:?}");
    assert!(sb008.message.as_deref().unwrap().contains("deleted value recovered"), "{sb008:?}");
    assert!(sb008.evidence.iter().any(|e| e.data.contains("x.exe")));
    let sb010 = r.of("SB010")[0];
    assert_eq!(sb010.details["value_recovered"], true, "{sb010:?}");
    assert!(!sb010.details.contains_key("recovered"), "the key itself is live: {sb010:?}");
    assert!(sb010.evidence.iter().any(|e| e.data.contains("WScript")));

    let mut benign = software();
    benign
        .key("Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options\\dllhost.exe")
        .dword("GlobalFlag", 0)
        .dword("MitigationOptions", 1)
        .delete_value("MitigationOptions");
    let r = run_hive("SOFTWARE", &benign);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

#[test]
fn sb007_reads_the_replayed_state_of_a_dirty_hive() {
    let t = Tree::new();
    let (hive, log) = dirty_with_log(&system(&[]), &system(&["cbcomms", "ekrn"]));
    t.file("config/SYSTEM", hive);
    t.file("config/SYSTEM.LOG1", log);
    let r = run(t.root(), &[Campaign::Sunburst]);
    assert_eq!(r.codes(), vec!["SB007"], "{:#?}", r.findings);
    assert_eq!(r.outcome.summary.counter("hives_replayed"), 1);
}

#[test]
fn amcache_hit_is_an_artefact_finding_that_decides_no_verdict() {
    let mut am = HiveKey::new("ROOT");
    // SHA-1 of SolarWinds.Orion.Core.BusinessLayer.dll 2019.4.5200.9083 (SUNBURST), published.
    am.key("Root\\InventoryApplicationFile\\solarwinds.orion|1")
        .sz("FileId", &format!("0000{}", "76640508b1e7759e548771a5359eaed353bf1eec"))
        .sz("LowerCaseLongPath", "c:\\program files (x86)\\solarwinds\\orion\\x.dll");
    let r = run_hive("Amcache.hve", &am);
    let art: Vec<_> = r.findings.iter().filter(|f| f.engine == Engine::Artefact).collect();
    assert!(!art.is_empty(), "{:#?}", r.findings);
    assert!(r.findings.iter().all(|f| f.engine == Engine::Artefact));
    assert_eq!(r.outcome.summary.details["artefact_findings"], art.len());
    assert_ne!(r.verdict(Campaign::Sunburst), Some(Verdict::Affected));
}

#[test]
fn a_garbage_hive_is_a_problem_and_the_run_goes_on() {
    let t = Tree::new();
    // A hive cut short on a sector boundary (files met in a walk are opened to be sniffed
    // only when their size is a whole number of sectors).
    let mut junk = b"regf".to_vec();
    junk.resize(9216, 0x5A);
    t.file("broken/SYSTEM", junk);
    t.file("SYSTEM", build(&system(&["xagt"])));
    let r = run(t.root(), &[Campaign::Sunburst]);
    assert_eq!(r.codes(), vec!["SB007"]);
    let p: Vec<_> = r.problems.iter().filter(|p| p.kind == ProblemKind::Parse).collect();
    assert_eq!(p.len(), 1, "{:#?}", r.problems);
    assert!(p[0].path.as_ref().unwrap().lossy().ends_with("broken/SYSTEM"));
    assert_eq!(r.outcome.summary.counter("hives_unreadable"), 1);
    assert!(!r.outcome.summary.complete);
}

/// Every service of `intel/sunburst/services.tsv` is a name the countermeasures' hashcat
/// potfile decodes from one of the hashes SUNBURST carries (`fnv1a_xor_hashes.txt`).
#[test]
fn every_listed_service_is_a_published_sunburst_hash() {
    let Some(root) = ferret_testkit::require_corpus() else { return };
    let dir = root.join("sunburst_countermeasures");
    let (Ok(hashes), Ok(pot)) = (
        std::fs::read_to_string(dir.join("fnv1a_xor_hashes.txt")),
        std::fs::read_to_string(dir.join("hashcat.potfile")),
    ) else {
        ferret_testkit::skip(format_args!("the corpus files under {}", dir.display()));
        return;
    };
    let published: std::collections::BTreeSet<&str> = hashes
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    let cracked: std::collections::BTreeMap<&str, &str> =
        pot.lines().filter_map(|l| l.split_once(':')).map(|(h, n)| (n.trim(), h)).collect();
    let intel = ferret_checks::intel::CheckIntel::builtin();
    assert!(intel.sunburst_services.rows.len() >= 30);
    for s in &intel.sunburst_services.rows {
        let hash =
            cracked.get(s.name.as_str()).unwrap_or_else(|| panic!("{} not in the potfile", s.name));
        assert!(published.contains(hash), "{} ({hash}) not in fnv1a_xor_hashes.txt", s.name);
        assert_eq!(ferret_checks::intel::sunburst::sunburst_hash(&s.name).to_string(), *hash);
    }
}
