//! The coverage document names every pattern of CISA's CHIRP indicator file for ProxyLogon
//! (`AA21-062A`), and the ProxyLogon detectors catch what CHIRP's strings describe. Skips when
//! the shared corpus is absent.

use std::path::PathBuf;

fn coverage_doc() -> String {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/campaign-coverage.md"));
    std::fs::read_to_string(p).expect("docs/campaign-coverage.md exists")
}

#[test]
fn every_chirp_proxylogon_indicator_is_listed() {
    let file =
        ferret_testkit::corpus().join("cisa-chirp-indicators/indicators/AA21-062A/AA21062A.yaml");
    let Ok(text) = std::fs::read_to_string(&file) else {
        ferret_testkit::skip(format_args!("the corpus file {}", file.display()));
        return;
    };
    let doc = coverage_doc();
    let mut names = Vec::new();
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("name:") {
            names.push(n.trim().trim_matches('"').to_owned());
        }
    }
    assert!(names.len() >= 10, "expected the CHIRP indicator names, got {names:?}");
    // The doc names each indicator by its leading words (CHIRP's names are long and some
    // carry typos); the first three words must appear in a row of the doc.
    for n in &names {
        let key: Vec<&str> = n.split_whitespace().take(3).collect();
        let key = key.join(" ");
        let found = doc.lines().any(|l| l.starts_with('|') && l.contains(&key));
        assert!(found, "CHIRP indicator {n:?} is not listed in docs/campaign-coverage.md");
    }
}

#[test]
fn chirp_user_agents_and_paths_are_all_in_pl005() {
    let file =
        ferret_testkit::corpus().join("cisa-chirp-indicators/indicators/AA21-062A/AA21062A.yaml");
    let Ok(text) = std::fs::read_to_string(&file) else {
        ferret_testkit::skip(format_args!("the corpus file {}", file.display()));
        return;
    };
    let src = include_str!("../src/proxylogon/pl005_iis_exploit_requests.rs");
    for line in text.lines() {
        let line = line.trim();
        let Some((key, value)) = line.split_once("= \"") else { continue };
        let value = value.trim_end_matches('"');
        if key.starts_with("$ua") {
            assert!(src.contains(value), "user agent {value:?} missing from PL005");
        }
        if key.starts_with("$post") && !value.is_empty() {
            let stem = value.trim_start_matches("POST ");
            let covered = ["/owa/auth/Current/", "/ecp/default.flt", "/ecp/main.css"]
                .iter()
                .any(|p| stem.starts_with(p));
            assert!(covered, "POST target {stem:?} not covered by PL005");
        }
    }
}
