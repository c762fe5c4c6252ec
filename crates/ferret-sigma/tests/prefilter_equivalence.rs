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
