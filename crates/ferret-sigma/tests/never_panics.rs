//! Property tests: the loader, the condition parser and the matcher never panic.

mod common;

use std::path::Path;

use common::MapEvent;
use ferret_sigma::{LoadOptions, LogKind, RuleSet};
use proptest::prelude::*;
use serde_json::json;

const RULES: &str = r"
title: many modifiers
id: p1
logsource:
    product: test
detection:
    a:
        A|contains: 'x*y?z'
        B|re: '^(a|b)+$'
    b:
        C|cidr: ['10.0.0.0/8', '::1/128']
        D|gt: 5
    c:
        E|base64offset|contains: 'ping'
        F|windash|startswith: '-x'
    d:
        G|fieldref: A
        H|exists: true
    kw:
        - 'needle'
    condition: 1 of them or (a and not b)
";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn loader_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = RuleSet::load_str(Path::new("p.yml"), &text, &LoadOptions::default());
    }

    #[test]
    fn loader_never_panics_on_yamlish_text(text in "[a-z:|\\-\\[\\]{}'\" \\n*?%\\\\]{0,200}") {
        let _ = RuleSet::load_str(Path::new("p.yml"), &text, &LoadOptions::default());
    }

    #[test]
    fn condition_parser_never_panics(cond in "[a-z_*() 01|]{0,80}|((not|and|or|all of|1 of|them|sel_a|sel_\\*|\\(|\\)) ){0,20}") {
        let text = format!(
            "title: t\nlogsource:\n    product: test\ndetection:\n    sel_a:\n        A: 1\n    sel_b:\n        B: 1\n    condition: '{}'\n",
            cond.replace('\'', "")
        );
        let (set, _) = RuleSet::load_str(Path::new("p.yml"), &text, &LoadOptions::default());
        let m = set.compile();
        let mut hits = Vec::new();
        m.eval(LogKind::Generic, &MapEvent::from_pairs(&[("A", json!(1))]), &mut hits);
    }

    #[test]
    fn matcher_never_panics_on_arbitrary_values(vals in proptest::collection::vec(".{0,40}", 8)) {
        let (set, f) = RuleSet::load_str(Path::new("p.yml"), RULES, &LoadOptions::default());
        prop_assert!(f.is_empty(), "{:?}", f);
        let m = set.compile();
        let names = ["A", "B", "C", "D", "E", "F", "G", "H"];
        let pairs: Vec<(&str, serde_json::Value)> = names.iter().zip(vals.iter()).map(|(n, v)| (*n, json!(v))).collect();
        let mut hits = Vec::new();
        m.eval(LogKind::Generic, &MapEvent::from_pairs(&pairs), &mut hits);
    }
}
