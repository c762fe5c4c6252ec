//! Loads the real public IOC files from the shared corpus (skipped when it is absent):
//! every file loads or has its problems reported, and indicators come out of each family.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ferret_ioc::{IocSet, sniff};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn corpus_ioc_files_load_or_report() {
    let Some(root) = ferret_testkit::require_corpus() else { return };
    let mut files = Vec::new();
    for sub in [
        "signature-base/iocs",
        "red_team_tool_countermeasures",
        "sunburst_countermeasures",
        "pulsesecure_exploitation_countermeasures",
        "pulse-connect-secure-ioc-csvs",
    ] {
        walk(&root.join(sub), &mut files);
    }
    let mut set = IocSet::default();
    let mut problems = Vec::new();
    let mut per_format: BTreeMap<String, usize> = BTreeMap::new();
    let mut loaded_files = 0usize;
    for f in &files {
        let content = std::fs::read(f).unwrap();
        let name = f.to_string_lossy();
        let Some(format) = sniff(&name, &content) else { continue };
        let text = String::from_utf8_lossy(&content);
        let before = problems.len();
        let n = set.load(format, &name, &text, &mut problems);
        *per_format.entry(format.to_string()).or_default() += n;
        assert!(n > 0 || problems.len() > before, "{name}: nothing loaded and nothing reported");
        loaded_files += 1;
    }
    assert!(loaded_files > 10);
    // Known gaps are reported, not silent: SHA-384/512 digests in the CISA CSVs, and the
    // OpenIOC documents about processes, registry and network events.
    assert!(problems.iter().any(|p| p.reason.contains("SHA-384")));
    assert!(problems.iter().any(|p| p.reason.contains("no term applies to files at rest")));
    let counts = set.counts();
    assert!(counts.get("hash").copied().unwrap_or(0) > 3000, "{counts:?}");
    assert!(counts.get("filename").copied().unwrap_or(0) > 3000, "{counts:?}");
    assert!(counts.get("openioc").copied().unwrap_or(0) > 0, "{counts:?}");
    assert!(per_format.get("hash-list").copied().unwrap_or(0) > 100, "{per_format:?}");
}
