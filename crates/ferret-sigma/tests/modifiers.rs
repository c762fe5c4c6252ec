//! One test per value modifier and value form, with small rules and events written here.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::MapEvent;
use ferret_sigma::{FailureKind, LoadOptions, LogKind, RuleSet};
use serde_json::{Value, json};

/// Compiles a rule whose `detection` is `detection` (YAML, indented by 4) for a generic
/// logsource and says whether it matches `event`.
fn check_with(detection: &str, event: &[(&str, Value)], opts: &LoadOptions) -> bool {
    let text = format!(
        "title: t\nid: 00000000-0000-0000-0000-000000000001\nlogsource:\n    product: test\ndetection:\n{detection}\n"
    );
    let (set, failures) = RuleSet::load_str(Path::new("t.yml"), &text, opts);
    assert!(failures.is_empty(), "{failures:?}");
    let m = set.compile();
    let mut hits = Vec::new();
    m.eval(LogKind::Generic, &MapEvent::from_pairs(event), &mut hits);
    !hits.is_empty()
}

fn check(detection: &str, event: &[(&str, Value)]) -> bool {
    check_with(detection, event, &LoadOptions::default())
}

fn fails(detection: &str) -> (FailureKind, String) {
    let text = format!("title: t\nlogsource:\n    product: test\ndetection:\n{detection}\n");
    let (set, failures) = RuleSet::load_str(Path::new("t.yml"), &text, &LoadOptions::default());
    assert_eq!(set.len(), 0);
    let f = failures.into_iter().next().expect("a failure");
    (f.kind, f.reason)
}

#[test]
fn plain_value_is_case_insensitive_equality() {
    let d = "    sel:\n        Image: 'C:\\Windows\\cmd.exe'\n    condition: sel";
    assert!(check(d, &[("Image", json!("c:\\windows\\CMD.EXE"))]));
    assert!(!check(d, &[("Image", json!("c:\\windows\\cmd.exe2"))]));
    assert!(!check(d, &[("Other", json!("c:\\windows\\cmd.exe"))]));
}

#[test]
fn modifier_contains() {
    let d = "    sel:\n        CommandLine|contains: 'whoami'\n    condition: sel";
    assert!(check(d, &[("CommandLine", json!("cmd /c WHOAMI /all"))]));
    assert!(!check(d, &[("CommandLine", json!("cmd /c who ami"))]));
}

#[test]
fn modifier_startswith() {
    let d = "    sel:\n        Image|startswith: 'C:\\Temp\\'\n    condition: sel";
    assert!(check(d, &[("Image", json!("c:\\temp\\x.exe"))]));
    assert!(!check(d, &[("Image", json!("d:\\c:\\temp\\x.exe"))]));
}

#[test]
fn modifier_endswith() {
    let d = "    sel:\n        Image|endswith: '\\rundll32.exe'\n    condition: sel";
    assert!(check(d, &[("Image", json!("C:\\Windows\\System32\\RUNDLL32.exe"))]));
    assert!(!check(d, &[("Image", json!("C:\\rundll32.exe.bak"))]));
}

#[test]
fn modifier_all() {
    let d = "    sel:\n        CommandLine|contains|all:\n            - 'net'\n            - 'user'\n    condition: sel";
    assert!(check(d, &[("CommandLine", json!("net user bob /add"))]));
    assert!(!check(d, &[("CommandLine", json!("net group"))]));
}

#[test]
fn list_is_or_and_map_is_and() {
    let d =
        "    sel:\n        A:\n            - x\n            - y\n        B: z\n    condition: sel";
    assert!(check(d, &[("A", json!("y")), ("B", json!("z"))]));
    assert!(!check(d, &[("A", json!("y")), ("B", json!("q"))]));
    let alts = "    sel:\n        - A: x\n        - B: z\n    condition: sel";
    assert!(check(alts, &[("B", json!("z"))]));
}

#[test]
fn modifier_base64() {
    // base64("whoami") = d2hvYW1p
    let d = "    sel:\n        CommandLine|base64|contains: 'whoami'\n    condition: sel";
    assert!(check(d, &[("CommandLine", json!("powershell -enc xxd2hvYW1pyy"))]));
    assert!(!check(d, &[("CommandLine", json!("powershell -enc D2HVYW1P"))]), "base64 is cased");
}

#[test]
fn modifier_base64offset() {
    // "ping" inside base64 text at offsets 0, 1, 2.
    let d = "    sel:\n        CommandLine|base64offset|contains: 'ping'\n    condition: sel";
    for enc in ["cGluZyAx", "IHBpbmcg", "ICBwaW5nIA"] {
        assert!(check(d, &[("CommandLine", json!(format!("-e {enc}")))]), "{enc}");
    }
    assert!(!check(d, &[("CommandLine", json!("-e cG9uZw"))]));
}

#[test]
fn modifier_re_and_flags() {
    let d = "    sel:\n        CommandLine|re: '^net\\s+user'\n    condition: sel";
    assert!(check(d, &[("CommandLine", json!("net  user"))]));
    assert!(!check(d, &[("CommandLine", json!("NET user"))]), "re is case-sensitive by default");
    let i = "    sel:\n        CommandLine|re|i: '^net\\s+user'\n    condition: sel";
    assert!(check(i, &[("CommandLine", json!("NET user"))]));
    let m = "    sel:\n        Text|re|m: '^second$'\n    condition: sel";
    assert!(check(m, &[("Text", json!("first\nsecond\nthird"))]));
    let s = "    sel:\n        Text|re|s: 'first.second'\n    condition: sel";
    assert!(check(s, &[("Text", json!("first\nsecond"))]));
    let look = "    sel:\n        Text|re: 'a(?!b)'\n    condition: sel";
    assert!(check(look, &[("Text", json!("ac"))]), "look-around falls back to fancy-regex");
    assert!(!check(look, &[("Text", json!("ab"))]));
}

#[test]
fn backtracking_regex_that_gives_up_is_counted_per_rule() {
    let text = "title: t\nid: 00000000-0000-0000-0000-000000000001\nlogsource:\n    product: test\n\
                detection:\n    sel:\n        Text|re: '^(a|aa)+(?!x)b'\n    condition: sel\n";
    let (set, failures) = RuleSet::load_str(Path::new("t.yml"), text, &LoadOptions::default());
    assert!(failures.is_empty(), "{failures:?}");
    let m = set.compile();
    let mut hits = Vec::new();
    m.eval(LogKind::Generic, &MapEvent::from_pairs(&[("Text", json!("aab"))]), &mut hits);
    assert_eq!(hits.len(), 1, "an ordinary value matches");
    assert!(m.regex_gave_up().is_empty(), "nothing gave up yet");
    hits.clear();
    let evil = "a".repeat(5000);
    for _ in 0..2 {
        m.eval(LogKind::Generic, &MapEvent::from_pairs(&[("Text", json!(evil))]), &mut hits);
    }
    assert!(hits.is_empty());
    assert_eq!(m.regex_gave_up(), vec![(0, 2)], "both events are counted against the rule");
}

#[test]
fn bad_regex_is_a_load_failure() {
    let (k, _) = fails("    sel:\n        Text|re: '(unclosed'\n    condition: sel");
    assert_eq!(k, FailureKind::BadRegex);
}

#[test]
fn modifier_cidr_v4_and_v6() {
    let d = "    sel:\n        DestinationIp|cidr:\n            - '10.0.0.0/8'\n            - 'fe80::/10'\n    condition: sel";
    assert!(check(d, &[("DestinationIp", json!("10.20.30.40"))]));
    assert!(check(d, &[("DestinationIp", json!("fe80::1"))]));
    assert!(!check(d, &[("DestinationIp", json!("11.0.0.1"))]));
    assert!(!check(d, &[("DestinationIp", json!("not an ip"))]));
    let (k, _) = fails("    sel:\n        Ip|cidr: '10.0.0.0/33'\n    condition: sel");
    assert_eq!(k, FailureKind::BadValue);
}

#[test]
fn modifier_windash() {
    let d = "    sel:\n        CommandLine|windash|contains: ' -enc '\n    condition: sel";
    for v in ["ps -enc x", "ps /enc x", "ps \u{2013}enc x", "ps \u{2014}enc x", "ps \u{2015}enc x"]
    {
        assert!(check(d, &[("CommandLine", json!(v))]), "{v}");
    }
    assert!(!check(d, &[("CommandLine", json!("ps +enc x"))]));
}

#[test]
fn modifier_wide_and_utf16() {
    // wide = UTF-16LE, then base64: base64("p\0i\0n\0g\0") = cABpAG4AZwA=
    let d = "    sel:\n        Payload|wide|base64|contains: 'ping'\n    condition: sel";
    assert!(check(d, &[("Payload", json!("xxcABpAG4AZwA=yy"))]));
    let be = "    sel:\n        Payload|utf16be|base64: 'a'\n    condition: sel";
    assert!(check(be, &[("Payload", json!("AGE="))]));
    let bom = "    sel:\n        Payload|utf16|base64: 'a'\n    condition: sel";
    assert!(check(bom, &[("Payload", json!("//5hAA=="))]));
    let le = "    sel:\n        Payload|utf16le|base64: 'a'\n    condition: sel";
    assert!(check(le, &[("Payload", json!("YQA="))]));
}

#[test]
fn modifier_exists() {
    let t = "    sel:\n        Hashes|exists: true\n    condition: sel";
    assert!(check(t, &[("Hashes", json!("x"))]));
    assert!(!check(t, &[("Other", json!("x"))]));
    let f = "    sel:\n        Hashes|exists: false\n    condition: sel";
    assert!(check(f, &[("Other", json!("x"))]));
}

#[test]
fn modifier_gt_gte_lt_lte() {
    let gt = "    sel:\n        Count|gt: 10\n    condition: sel";
    assert!(check(gt, &[("Count", json!(11))]));
    assert!(!check(gt, &[("Count", json!(10))]));
    assert!(check(gt, &[("Count", json!("11"))]));
    let gte = "    sel:\n        Count|gte: 10\n    condition: sel";
    assert!(check(gte, &[("Count", json!(10))]));
    let lt = "    sel:\n        Count|lt: 10\n    condition: sel";
    assert!(check(lt, &[("Count", json!(9.5))]));
    assert!(!check(lt, &[("Count", json!("x"))]));
    let lte = "    sel:\n        Count|lte: 10\n    condition: sel";
    assert!(check(lte, &[("Count", json!(10))]));
    assert!(!check(lte, &[("Count", json!(11))]));
}

#[test]
fn modifier_fieldref() {
    let d = "    sel:\n        SourceUser|fieldref: TargetUser\n    condition: sel";
    assert!(check(d, &[("SourceUser", json!("Bob")), ("TargetUser", json!("bob"))]));
    assert!(!check(d, &[("SourceUser", json!("Bob")), ("TargetUser", json!("alice"))]));
    assert!(!check(d, &[("SourceUser", json!("Bob"))]));
    let ends = "    sel:\n        Image|fieldref|endswith: Name\n    condition: sel";
    assert!(check(ends, &[("Image", json!("C:\\x\\a.exe")), ("Name", json!("a.exe"))]));
}

#[test]
fn modifier_cased() {
    let d = "    sel:\n        Name|cased: 'Admin'\n    condition: sel";
    assert!(check(d, &[("Name", json!("Admin"))]));
    assert!(!check(d, &[("Name", json!("admin"))]));
    let c = "    sel:\n        Name|contains|cased: 'Adm'\n    condition: sel";
    assert!(!check(c, &[("Name", json!("xadmx"))]));
}

#[test]
fn modifier_expand_with_and_without_placeholders() {
    let d = "    sel:\n        Host|expand: '%servers%'\n    condition: sel";
    let opts = LoadOptions {
        placeholders: BTreeMap::from([(
            "servers".to_owned(),
            vec!["dc1".to_owned(), "dc2".to_owned()],
        )]),
        ..LoadOptions::default()
    };
    assert!(check_with(d, &[("Host", json!("DC2"))], &opts));
    assert!(!check_with(d, &[("Host", json!("dc3"))], &opts));
    let (k, r) = fails(d);
    assert_eq!(k, FailureKind::UnresolvedPlaceholder);
    assert!(r.contains("%servers%"), "{r}");
}

#[test]
fn unknown_modifier_is_a_load_failure() {
    let (k, r) = fails("    sel:\n        A|sortof: x\n    condition: sel");
    assert_eq!(k, FailureKind::UnknownModifier);
    assert!(r.contains("sortof"));
}

#[test]
fn wildcards_and_escapes() {
    // `\\*` in a rule is a literal backslash then a wildcard; `\*` is a literal star.
    let d = "    sel:\n        Image: 'C:\\\\*\\\\a?c.exe'\n    condition: sel";
    assert!(check(d, &[("Image", json!("C:\\Users\\x\\ABC.exe"))]));
    assert!(!check(d, &[("Image", json!("C:\\Users\\x\\abbc.exe"))]));
    let esc = "    sel:\n        Text: 'lit\\*star'\n    condition: sel";
    assert!(check(esc, &[("Text", json!("lit*star"))]));
    assert!(!check(esc, &[("Text", json!("litXstar"))]));
    let q = "    sel:\n        Text|contains: 'what\\?'\n    condition: sel";
    assert!(check(q, &[("Text", json!("so what?"))]));
    assert!(!check(q, &[("Text", json!("so whatX"))]));
}

#[test]
fn null_value_matches_absent_or_empty() {
    let d = "    sel:\n        A: x\n    filter:\n        OriginalFileName: null\n    condition: sel and filter";
    assert!(check(d, &[("A", json!("x"))]));
    assert!(check(d, &[("A", json!("x")), ("OriginalFileName", json!(""))]));
    assert!(check(d, &[("A", json!("x")), ("OriginalFileName", Value::Null)]));
    assert!(!check(d, &[("A", json!("x")), ("OriginalFileName", json!("a.exe"))]));
}

#[test]
fn empty_string_matches_only_empty() {
    let d = "    sel:\n        A: ''\n    condition: sel";
    assert!(check(d, &[("A", json!(""))]));
    assert!(!check(d, &[("A", json!("x"))]));
}

#[test]
fn keyword_lists_search_every_field() {
    let d = "    keywords:\n        - 'mimikatz'\n        - 'sekurlsa'\n    condition: keywords";
    assert!(check(d, &[("A", json!("x")), ("Msg", json!("run SEKURLSA::logonpasswords"))]));
    assert!(!check(d, &[("A", json!("x"))]));
    let all = "    keywords:\n        '|all':\n            - 'alpha'\n            - 'beta'\n    condition: keywords";
    assert!(check(all, &[("A", json!("alpha")), ("B", json!("beta"))]));
    assert!(!check(all, &[("A", json!("alpha"))]));
}

#[test]
fn numbers_match_text_and_integers() {
    let d = "    sel:\n        EventID: 4688\n    condition: sel";
    assert!(check(d, &[("EventID", json!(4688))]));
    assert!(check(d, &[("EventID", json!("4688"))]));
    assert!(!check(d, &[("EventID", json!(46880))]));
}

#[test]
fn list_field_values_match_any_element() {
    let d = "    sel:\n        Tags|contains: 'evil'\n    condition: sel";
    assert!(check(d, &[("Tags", json!(["good", "very evil"]))]));
    assert!(!check(d, &[("Tags", json!(["good"]))]));
}

#[test]
fn unicode_values_fold_case() {
    let d = "    sel:\n        Name|contains: 'ÄRGER'\n    condition: sel";
    assert!(check(d, &[("Name", json!("viel ärger hier"))]));
}

#[test]
fn many_contains_values_match_like_few() {
    // Four or more case-insensitive substrings are matched by one automaton.
    let d = "    sel:\n        CommandLine|contains:\n            - 'alpha'\n            - 'bravo'\n            - 'charlie'\n            - 'delta'\n            - '☠'\n    condition: sel";
    assert!(check(d, &[("CommandLine", json!("x CHARLIE y"))]));
    assert!(check(d, &[("CommandLine", json!("skull ☠ here"))]));
    assert!(!check(d, &[("CommandLine", json!("echo"))]));
}

#[test]
fn non_ascii_cased_literals_fold_both_ways() {
    // Cyrillic 'а' and 'е' have case: either case in the event matches.
    let d = "    sel:\n        CommandLine|contains: 'powеrshеll'\n    condition: sel";
    assert!(check(d, &[("CommandLine", json!("POWЕRSHЕLL -x"))]));
    assert!(check(d, &[("CommandLine", json!("powеrshеll -x"))]));
    assert!(!check(d, &[("CommandLine", json!("powershell -x"))]), "Latin e is not Cyrillic е");
}
