//! Loads the real public rule sets in the shared corpus (when it is present next to the
//! repository): every file loads or is reported with its reason, and the rest still load.

use std::path::PathBuf;

use ferret_core::{Problem, ProblemKind};
use ferret_scan::{LoadOptions, RuleSet};

fn load(paths: Vec<PathBuf>) -> (RuleSet, Vec<Problem>) {
    let mut problems = Vec::new();
    let opts =
        LoadOptions { builtin: false, paths, cache_dir: None, intel: None, size_tiers: false };
    let rules = RuleSet::load(&opts, &mut problems);
    (rules, problems)
}

#[test]
fn signature_base_yara_and_iocs_load_or_are_reported() {
    let Some(c) = ferret_testkit::require_corpus() else { return };
    let (rules, problems) =
        load(vec![c.join("signature-base/yara"), c.join("signature-base/iocs")]);
    let yara = rules.stats.loaded.get("yara").copied().unwrap_or(0);
    eprintln!("signature-base: loaded {:?}; problems {}", rules.stats.loaded, problems.len());
    for p in problems.iter().take(30) {
        eprintln!("  {p}");
    }
    assert!(yara > 3000, "most signature-base YARA rules compile: {yara}");
    assert!(rules.stats.loaded.get("hash").copied().unwrap_or(0) > 1000);
    assert!(rules.stats.loaded.get("filename").copied().unwrap_or(0) > 100);
    // Every YARA problem names its file and gives a position.
    for p in problems.iter().filter(|p| p.kind == ProblemKind::RuleLoad) {
        assert!(p.path.is_some(), "{p}");
    }
}

#[test]
fn campaign_countermeasures_load_or_are_reported() {
    let Some(c) = ferret_testkit::require_corpus() else { return };
    for dir in [
        "pulsesecure_exploitation_countermeasures",
        "sunburst_countermeasures",
        "red_team_tool_countermeasures",
        "nsa-mitigating-web-shells",
    ] {
        let (rules, problems) = load(vec![c.join(dir)]);
        eprintln!(
            "{dir}: loaded {:?}; not loaded {:?}",
            rules.stats.loaded, rules.stats.not_loaded
        );
        for p in &problems {
            eprintln!("  {p}");
        }
        assert!(!rules.is_empty(), "{dir}: something loads");
    }
}
