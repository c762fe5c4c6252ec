//! Property test: the routed, prefiltered evaluation finds exactly what testing every rule finds.

mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::sync::LazyLock;

use common::MapEvent;
use ferret_sigma::{LoadOptions, LogKind, Matcher, RuleSet};
use proptest::prelude::*;
use serde_json::json;

const SHAPES: [&str; 10] = [
    "        CommandLine|contains: 'tok{i}'",
    "        Image|endswith: '\\\\bin{i}.exe'",
    "        Image|startswith: 'C:\\\\dir{i}'",
    "        CommandLine|contains|all: ['tok{i}', 'tok{j}']",
    "        Image: 'name{i}'",
    "        CommandLine|re: 'tok{i}[0-9]x'",
    "        CommandLine|re|i: '^tok{i}'",
    "        CommandLine: '*tok{i}*bin{j}*'",
    "        CommandLine|contains: ['tok{i}', 'tok{j}', 'bin{i}', 'dir{j}', 'name{i}']",
    "        CommandLine|windash|contains: ' -tok{i}'",
];

static MATCHER: LazyLock<Matcher> = LazyLock::new(|| {
    let mut text = String::new();
    for i in 0..60 {
        let shape = SHAPES[i % SHAPES.len()]
            .replace("{i}", &(i % 7).to_string())
            .replace("{j}", &(i % 5).to_string());
        write!(
            text,
            "title: r{i}\nid: r{i}\nlogsource:\n    product: windows\n    category: process_creation\ndetection:\n    sel:\n{shape}\n    filter:\n        User: 'skip{i}'\n    condition: sel and not filter\n---\n"
        )
        .unwrap();
    }
    let (set, failures) = RuleSet::load_str(Path::new("p.yml"), &text, &LoadOptions::default());
    assert!(failures.is_empty(), "{failures:?}");
    set.compile()
});

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        (0..7u8).prop_map(|i| format!("tok{i}")),
        (0..7u8).prop_map(|i| format!("TOK{i}")),
        (0..7u8).prop_map(|i| format!("bin{i}.exe")),
        (0..7u8).prop_map(|i| format!("C:\\dir{i}")),
        (0..7u8).prop_map(|i| format!("name{i}")),
        Just(" -".to_owned()),
        Just(" /".to_owned()),
        Just("\\".to_owned()),
        "[a-z0-9 ]{0,4}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn prefiltered_equals_exhaustive(cl in proptest::collection::vec(piece(), 0..6), img in proptest::collection::vec(piece(), 0..3), skip in 0..70u8) {
        let ev = MapEvent::from_pairs(&[
            ("Channel", json!("Microsoft-Windows-Sysmon/Operational")),
            ("EventID", json!(1)),
            ("CommandLine", json!(cl.concat())),
            ("Image", json!(img.concat())),
            ("User", json!(format!("skip{skip}"))),
        ]);
        let (mut fast, mut slow) = (Vec::new(), Vec::new());
        MATCHER.eval(LogKind::Windows, &ev, &mut fast);
        MATCHER.eval_exhaustive(LogKind::Windows, &ev, &mut slow);
        let mut a: Vec<usize> = fast.iter().map(|h| h.rule).collect();
        let mut b: Vec<usize> = slow.iter().map(|h| h.rule).collect();
        a.sort_unstable();
        b.sort_unstable();
        prop_assert_eq!(a, b);
    }
}

#[test]
fn the_rule_set_does_fire() {
    let ev = MapEvent::from_pairs(&[
        ("Channel", json!("Microsoft-Windows-Sysmon/Operational")),
        ("EventID", json!(1)),
        ("CommandLine", json!("tok1 tok3 TOK2 bin1.exe -tok4 tok05x")),
        ("Image", json!("C:\\dir2\\bin1.exe")),
        ("User", json!("nobody")),
    ]);
    let mut hits = Vec::new();
    MATCHER.eval(LogKind::Windows, &ev, &mut hits);
    assert!(hits.len() >= 10, "{}", hits.len());
}

/// Web-log rules over fields a given log may lack, in the forms whose truth on an absent
/// field differs: plain values, `null`, `exists`, `fieldref`, keywords, `not`, `1 of`.
const WEB_SHAPES: [&str; 8] = [
    "    sel:\n        cs-method: 'POST'\n        cs-uri-query|contains: 'tok{i}'\n    condition: sel",
    "    sel:\n        c-useragent|contains: 'tok{i}'\n    condition: sel",
    "    sel:\n        cs-uri-query|contains: 'tok{i}'\n        cs-host: null\n    condition: sel",
    "    sel:\n        cs-uri-query|contains: 'tok{j}'\n        c-useragent|exists: false\n    condition: sel",
    "    sel:\n        c-useragent|fieldref: cs-uri-query\n    condition: sel",
    "    keywords:\n        - 'tok{i}'\n    filter:\n        cs-host: 'tok{j}'\n    condition: keywords and not filter",
    "    sel_a:\n        cs-host|contains: 'tok{i}'\n    sel_b:\n        sc-status: 404\n    condition: 1 of sel_*",
    "    sel:\n        c-useragent: 'tok{i}'\n    condition: not sel",
];

const WEB_FIELDS: [&str; 5] = ["cs-method", "cs-uri-query", "c-useragent", "cs-host", "sc-status"];

static WEB: LazyLock<Matcher> = LazyLock::new(|| {
    let mut text = String::new();
    for i in 0..48 {
        let shape = WEB_SHAPES[i % WEB_SHAPES.len()]
            .replace("{i}", &(i % 5).to_string())
            .replace("{j}", &(i % 3).to_string());
        write!(
            text,
            "title: w{i}\nid: w{i}\nlogsource:\n    category: webserver\ndetection:\n{shape}\n---\n"
        )
        .unwrap();
    }
    let (set, failures) = RuleSet::load_str(Path::new("w.yml"), &text, &LoadOptions::default());
    assert!(failures.is_empty(), "{failures:?}");
    set.compile()
});

fn web_value() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        (0..5u8).prop_map(|i| json!(format!("tok{i}"))),
        (0..5u8).prop_map(|i| json!(format!("x tok{i} y"))),
        Just(json!("POST")),
        Just(json!("")),
        Just(json!(404)),
        "[a-z ]{0,6}".prop_map(|s| json!(s)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// A schema view (rules that cannot apply to a log's field list left out) finds exactly
    /// what the full matcher finds on every event of that schema.
    #[test]
    fn schema_view_equals_full_matcher(
        present in proptest::collection::vec(any::<bool>(), WEB_FIELDS.len()),
        values in proptest::collection::vec(web_value(), WEB_FIELDS.len()),
    ) {
        let schema: Vec<&str> =
            WEB_FIELDS.iter().zip(&present).filter(|(_, p)| **p).map(|(f, _)| *f).collect();
        let pairs: Vec<(&str, serde_json::Value)> = WEB_FIELDS
            .iter()
            .zip(&present)
            .zip(&values)
            .filter(|((_, p), _)| **p)
            .map(|((f, _), v)| (*f, v.clone()))
            .collect();
        let ev = MapEvent::from_pairs(&pairs);
        let view = WEB.for_schema(LogKind::Webserver, &|f| {
            schema.iter().any(|s| s.eq_ignore_ascii_case(f))
        });
        let (mut full, mut viewed) = (Vec::new(), Vec::new());
        let mut scratch = ferret_sigma::Scratch::default();
        WEB.eval(LogKind::Webserver, &ev, &mut full);
        WEB.eval_view(&view, &ev, &mut viewed, &mut scratch);
        let mut a: Vec<usize> = full.iter().map(|h| h.rule).collect();
        let mut b: Vec<usize> = viewed.iter().map(|h| h.rule).collect();
        a.sort_unstable();
        b.sort_unstable();
        prop_assert_eq!(a, b);
        // Nothing inapplicable ever fired.
        for r in view.inapplicable() {
            prop_assert!(!full.iter().any(|h| h.rule == *r));
        }
    }
}

#[test]
fn schema_view_leaves_out_rules_for_missing_fields() {
    // An IIS log: no proxy fields (c-useragent, cs-host).
    let view = WEB.for_schema(LogKind::Webserver, &|f| {
        ["cs-method", "cs-uri-query", "sc-status"].iter().any(|s| s.eq_ignore_ascii_case(f))
    });
    let titles: Vec<&str> =
        view.inapplicable().iter().map(|&r| WEB.rules()[r].title.as_str()).collect();
    // Shapes 1 (c-useragent contains) and 4 (fieldref from c-useragent) cannot apply;
    // `null`, `exists: false`, keywords, `not` and `1 of` with a present field still can.
    for i in 0..48 {
        let out = matches!(i % WEB_SHAPES.len(), 1 | 4);
        assert_eq!(titles.contains(&format!("w{i}").as_str()), out, "w{i}: {titles:?}");
    }
}
