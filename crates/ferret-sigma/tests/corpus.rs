//! Corpus tests over the SigmaHQ rules and regression data (skipped when the corpus is absent).

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use ferret_sigma::{LoadOptions, LogKind, RuleSet};

#[test]
fn sigmahq_rules_load() {
    let Some(corpus) = ferret_testkit::require_corpus() else { return };
    let dirs: Vec<PathBuf> = ["rules", "rules-emerging-threats", "rules-threat-hunting"]
        .iter()
        .map(|d| corpus.join("sigma").join(d))
        .collect();
    let (set, failures) = RuleSet::load_paths(&dirs, &LoadOptions::default());
    let loaded = set.len();
    let total = loaded + failures.len();
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &failures {
        *by_kind.entry(f.kind.as_str()).or_default() += 1;
        eprintln!("not loaded: {}: {:?}: {}", f.path.display(), f.kind, f.reason);
    }
    eprintln!("loaded {loaded} of {total}; not loaded by reason: {by_kind:?}");
    assert!(loaded * 100 >= total * 99, "loaded {loaded} of {total}");
    let m = set.compile();
    for k in LogKind::ALL {
        eprintln!("routed {}: {}", k.as_str(), m.routed(k));
    }
    for r in m.routing_stats() {
        eprintln!(
            "bucket {} {:?} {:?}: {} detections, {} always tested",
            r.kind.as_str(),
            r.channel,
            r.event_id,
            r.detections,
            r.always_tested
        );
    }
}

#[test]
fn sigmahq_regression_data_fires() {
    let Some(corpus) = ferret_testkit::require_corpus() else { return };
    let sigma = corpus.join("sigma");
    let dirs: Vec<PathBuf> = ["rules", "rules-emerging-threats", "rules-threat-hunting"]
        .iter()
        .map(|d| sigma.join(d))
        .collect();
    let (set, _) = RuleSet::load_paths(&dirs, &LoadOptions::default());
    let m = set.compile();
    let by_id: BTreeMap<&str, usize> =
        m.rules().iter().enumerate().map(|(i, r)| (r.id.as_str(), i)).collect();
    let mut infos = Vec::new();
    find_infos(&sigma.join("regression_data"), &mut infos);
    infos.sort();
    let (mut cases, mut fired) = (0usize, 0usize);
    let mut misses = Vec::new();
    let mut per_rule: BTreeMap<usize, usize> = BTreeMap::new();
    let mut n_events = 0usize;
    for info in &infos {
        let text = std::fs::read_to_string(info).unwrap();
        let doc: serde_norway::Value = serde_norway::from_str(&text).unwrap();
        let Some(id) = doc["rule_metadata"][0]["id"].as_str() else { continue };
        let dir = info.parent().unwrap();
        let jsons: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        for j in jsons {
            cases += 1;
            let Some(&ri) = by_id.get(id) else {
                misses.push(format!("{}: rule {id} not loaded", j.display()));
                continue;
            };
            let events = common::json_stream(&std::fs::read_to_string(&j).unwrap());
            let mut hit = false;
            let mut hits = Vec::new();
            for e in &events {
                let ev = common::flatten_evtx_json(e);
                hits.clear();
                m.eval(LogKind::Windows, &ev, &mut hits);
                hit |= hits.iter().any(|h| h.rule == ri);
                let mut slow = Vec::new();
                m.eval_exhaustive(LogKind::Windows, &ev, &mut slow);
                let mut a: Vec<usize> = hits.iter().map(|h| h.rule).collect();
                let mut b: Vec<usize> = slow.iter().map(|h| h.rule).collect();
                a.sort_unstable();
                b.sort_unstable();
                assert_eq!(a, b, "prefiltered and exhaustive evaluation differ on {}", j.display());
                n_events += 1;
                for h in &hits {
                    *per_rule.entry(h.rule).or_default() += 1;
                }
            }
            if hit {
                fired += 1;
            } else {
                misses.push(format!("{}: rule {id} did not fire", j.display()));
            }
        }
    }
    for miss in &misses {
        eprintln!("miss: {miss}");
    }
    eprintln!("regression cases: {cases}, fired: {fired}");
    let mut top: Vec<(usize, usize)> = per_rule.into_iter().collect();
    top.sort_by_key(|b| std::cmp::Reverse(b.1));
    for (r, n) in top.iter().take(8) {
        eprintln!("busiest rule: {n} of {n_events} events: {}", m.rules()[*r].title);
    }
    assert!(cases > 0);
    assert!(fired * 100 >= cases * 99, "fired {fired} of {cases}");
}

fn find_infos(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            find_infos(&p, out);
        } else if p.file_name().is_some_and(|n| n == "info.yml") {
            out.push(p);
        }
    }
}
