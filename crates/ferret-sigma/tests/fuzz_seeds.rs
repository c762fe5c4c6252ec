//! The inputs kept for the `sigma` fuzz target (`fuzz/seeds/sigma/`: the seeds, the hostile
//! rules and every input a fuzz run found) go through the target's path under `cargo test`:
//! load, compile, evaluate through the routed and the exhaustive path (which must agree), and
//! correlate. Each hostile rule (`hostile_*.yml`: absurd, negative and zero timespans, counts
//! beyond any integer, conditions 5,000 levels deep) is a load failure with its reason, never a
//! panic; the correlation window is checked against chrono's limits.

mod common;

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone as _, Utc};
use common::MapEvent;
use ferret_sigma::{FailureKind, LoadOptions, RuleSet};
use serde_json::json;

fn seeds() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/sigma");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no input kept for the sigma fuzz target in {}", dir.display());
    files
}

fn is_hostile(p: &Path) -> bool {
    p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("hostile_"))
}

#[test]
fn kept_inputs_load_evaluate_and_correlate_without_panic() {
    let events = [
        MapEvent::from_pairs(&[("Action", json!("failed")), ("Source", json!("203.0.113.7"))]),
        MapEvent::from_pairs(&[("EventID", json!(4688)), ("CommandLine", json!("whoami"))]),
    ];
    let t = Utc.with_ymd_and_hms(2023, 11, 14, 22, 13, 20).unwrap();
    for file in seeds() {
        let text = std::fs::read_to_string(&file).unwrap();
        let (set, _failures) = RuleSet::load_str(&file, &text, &LoadOptions::default());
        let m = set.compile();
        let mut correlator = m.correlator();
        for &kind in m.kinds() {
            for ev in &events {
                let (mut routed, mut exhaustive) = (Vec::new(), Vec::new());
                m.eval(kind, ev, &mut routed);
                m.eval_exhaustive(kind, ev, &mut exhaustive);
                let mut a: Vec<usize> = routed.iter().map(|h| h.rule).collect();
                let mut b: Vec<usize> = exhaustive.iter().map(|h| h.rule).collect();
                a.sort_unstable();
                b.sort_unstable();
                assert_eq!(a, b, "{}: routed and exhaustive disagree", file.display());
                for h in &routed {
                    let _ = correlator.observe(h.rule, t, ev);
                }
            }
        }
    }
}

#[test]
fn hostile_correlations_are_load_failures_with_a_reason() {
    let hostile: Vec<PathBuf> = seeds().into_iter().filter(|p| is_hostile(p)).collect();
    assert!(hostile.len() >= 10, "{hostile:?}");
    for file in hostile {
        let text = std::fs::read_to_string(&file).unwrap();
        let (set, failures) = RuleSet::load_str(&file, &text, &LoadOptions::default());
        let m = set.compile();
        let correlations =
            m.rules().iter().filter(|r| r.kind == ferret_sigma::RuleKind::Correlation).count();
        assert_eq!(correlations, 0, "{}: a hostile correlation loaded", file.display());
        assert!(
            failures.iter().any(|f| !f.reason.is_empty() && f.path == file),
            "{}: no failure reported: {failures:?}",
            file.display()
        );
    }
}

fn correlation(timespan: &str) -> String {
    format!(
        "title: base\nid: base\nname: base\nlogsource:\n    product: test\ndetection:\n    \
         sel:\n        Action: failed\n    condition: sel\n---\ntitle: c\nid: c\ncorrelation:\n    \
         type: event_count\n    rules: [base]\n    timespan: {timespan}\n    condition:\n        \
         gte: 2\n"
    )
}

fn load_failure(timespan: &str) -> Option<String> {
    let (_, f) =
        RuleSet::load_str(Path::new("c.yml"), &correlation(timespan), &LoadOptions::default());
    // A number beyond any integer fails in the YAML reader already; the rest as correlations.
    f.into_iter()
        .find(|f| matches!(f.kind, FailureKind::Correlation | FailureKind::Yaml))
        .map(|f| f.reason)
}

#[test]
fn timespans_out_of_range_are_refused_with_the_reason() {
    for bad in [
        "99999999999999999s",
        "1000000000y",
        "9223372036854775807w",
        "-9223372036854775808s",
        "99999999999999999999999s",
        "101y",
        "-5m",
        "0s",
        "-300",
        "0",
        "99999999999999999999",
    ] {
        let reason = load_failure(bad).unwrap_or_else(|| panic!("timespan {bad} was accepted"));
        assert!(reason.contains("timespan"), "{bad}: {reason}");
    }
    for (bad, why) in [("5x", "unit"), ("m", "unit"), ("", "timespan"), ("1.5h", "unit")] {
        let reason = load_failure(bad).unwrap_or_else(|| panic!("timespan {bad:?} was accepted"));
        assert!(reason.contains(why), "{bad:?}: {reason}");
    }
    for good in ["30s", "5m", "1h", "2d", "1w", "1M", "100y", "300"] {
        assert_eq!(load_failure(good), None, "{good}");
    }
}

#[test]
fn the_widest_window_at_chronos_lower_limit_does_not_overflow() {
    let (set, f) =
        RuleSet::load_str(Path::new("c.yml"), &correlation("100y"), &LoadOptions::default());
    assert!(f.is_empty(), "{f:?}");
    let m = set.compile();
    let mut c = m.correlator();
    let ev = MapEvent::from_pairs(&[("Action", json!("failed"))]);
    let mut fired = Vec::new();
    for t in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
        let mut hits = Vec::new();
        m.eval(ferret_sigma::LogKind::Generic, &ev, &mut hits);
        for h in hits {
            fired.extend(c.observe(h.rule, t, &ev));
        }
    }
    assert_eq!(fired.len(), 1, "two events at the lower limit make the count: {fired:?}");
}
