//! Conditions, multi-document files, logsource routing, correlation and honest loading.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::MapEvent;
use ferret_core::Severity;
use ferret_sigma::{FailureKind, LoadOptions, LogKind, Matcher, RuleSet};
use serde_json::{Value, json};

fn data(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/sigma")).join(name)
}

fn load(text: &str) -> Matcher {
    let (set, failures) = RuleSet::load_str(Path::new("t.yml"), text, &LoadOptions::default());
    assert!(failures.is_empty(), "{failures:?}");
    set.compile()
}

fn hits(m: &Matcher, kind: LogKind, event: &[(&str, Value)]) -> Vec<String> {
    let mut out = Vec::new();
    m.eval(kind, &MapEvent::from_pairs(event), &mut out);
    out.iter().map(|h| m.rules()[h.rule].id.clone()).collect()
}

fn cond(condition: &str, event: &[(&str, Value)]) -> bool {
    let text = format!(
        "title: t\nid: c\nlogsource:\n    product: test\ndetection:\n    sel_a:\n        A: 1\n    sel_b:\n        B: 1\n    filter_c:\n        C: 1\n    _hidden:\n        D: 1\n    condition: {condition}\n"
    );
    !hits(&load(&text), LogKind::Generic, event).is_empty()
}

#[test]
fn condition_and_or_not() {
    assert!(cond("sel_a and sel_b", &[("A", json!(1)), ("B", json!(1))]));
    assert!(!cond("sel_a and sel_b", &[("A", json!(1))]));
    assert!(cond("sel_a or sel_b", &[("B", json!(1))]));
    assert!(cond("sel_a and not filter_c", &[("A", json!(1))]));
    assert!(!cond("sel_a and not filter_c", &[("A", json!(1)), ("C", json!(1))]));
}

#[test]
fn condition_parentheses_and_precedence() {
    // and binds tighter than or
    assert!(cond("sel_a or sel_b and filter_c", &[("A", json!(1))]));
    assert!(!cond("(sel_a or sel_b) and filter_c", &[("A", json!(1))]));
    assert!(cond("not (sel_a and sel_b)", &[("A", json!(1))]));
}

#[test]
fn condition_one_of_and_all_of_patterns() {
    assert!(cond("1 of sel_*", &[("B", json!(1))]));
    assert!(cond("any of sel_*", &[("B", json!(1))]));
    assert!(!cond("all of sel_*", &[("B", json!(1))]));
    assert!(cond("all of sel_*", &[("A", json!(1)), ("B", json!(1))]));
}

#[test]
fn condition_them_skips_underscore_identifiers() {
    assert!(cond("1 of them", &[("C", json!(1))]));
    assert!(!cond("1 of them", &[("D", json!(1))]));
    assert!(cond("all of them", &[("A", json!(1)), ("B", json!(1)), ("C", json!(1))]));
    assert!(cond("_hidden", &[("D", json!(1))]));
}

#[test]
fn condition_list_is_or() {
    let text = "title: t\nid: c\nlogsource:\n    product: test\ndetection:\n    a:\n        A: 1\n    b:\n        B: 1\n    condition:\n        - a\n        - b\n";
    assert_eq!(hits(&load(text), LogKind::Generic, &[("B", json!(1))]).len(), 1);
}

#[test]
fn bad_conditions_are_load_failures() {
    for c in
        ["sel_a and", "(sel_a", "nosuch", "1 of nothing_*", "sel_a | count() > 5", "sel_a $ sel_b"]
    {
        let text = format!(
            "title: t\nlogsource:\n    product: test\ndetection:\n    sel_a:\n        A: 1\n    condition: {c}\n"
        );
        let (set, f) = RuleSet::load_str(Path::new("t.yml"), &text, &LoadOptions::default());
        assert_eq!(set.len(), 0, "{c}");
        assert_eq!(f.len(), 1, "{c}");
        assert_eq!(f[0].kind, FailureKind::BadCondition, "{c}: {}", f[0].reason);
    }
}

#[test]
fn multidoc_global_repeat_reset() {
    let (set, failures) =
        RuleSet::load_paths(&[data("multidoc_global_repeat_reset.yml")], &LoadOptions::default());
    assert!(failures.is_empty(), "{failures:?}");
    let m = set.compile();
    let ids: Vec<&str> = m.rules().iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "10000000-0000-0000-0000-000000000001",
            "10000000-0000-0000-0000-000000000002",
            "10000000-0000-0000-0000-000000000003"
        ]
    );
    assert_eq!(m.rules()[0].title, "Multi-document test");
    assert_eq!(m.rules()[0].level, Severity::High);
    assert_eq!(m.rules()[2].title, "After reset");
    assert_eq!(m.rules()[2].level, Severity::Medium, "reset drops the global level");
    assert_eq!(
        hits(&m, LogKind::Generic, &[("A", json!("two"))]),
        ["10000000-0000-0000-0000-000000000002"]
    );
}

#[test]
fn yaml_error_names_the_line() {
    let text = "title: t\ndetection:\n  sel: [unclosed\n";
    let (_, f) = RuleSet::load_str(Path::new("bad.yml"), text, &LoadOptions::default());
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].kind, FailureKind::Yaml);
    assert!(f[0].reason.contains("line"), "{}", f[0].reason);
    assert_eq!(f[0].path, Path::new("bad.yml"));
}

#[test]
fn unsupported_logsource_is_a_load_failure() {
    let text = "title: t\nid: x\nlogsource:\n    product: windows\n    service: no-such-service\ndetection:\n    sel:\n        A: 1\n    condition: sel\n";
    let (set, f) = RuleSet::load_str(Path::new("t.yml"), text, &LoadOptions::default());
    assert_eq!(set.len(), 0);
    assert_eq!(f[0].kind, FailureKind::UnsupportedLogsource);
    assert_eq!(f[0].rule_id.as_deref(), Some("x"));
    assert_eq!(f[0].title.as_deref(), Some("t"));
    assert!(
        f[0].to_string().starts_with("t.yml: x: unsupported logsource: no routing"),
        "{}",
        f[0]
    );
}

#[test]
fn windows_process_creation_routes_to_sysmon_and_security_4688() {
    let text = "title: t\nid: pc\nlogsource:\n    product: windows\n    category: process_creation\ndetection:\n    sel:\n        Image|endswith: '\\whoami.exe'\n    condition: sel\n";
    let m = load(text);
    assert!(m.kinds().contains(&LogKind::Windows));
    let sysmon = [
        ("Channel", json!("Microsoft-Windows-Sysmon/Operational")),
        ("EventID", json!(1)),
        ("Image", json!("C:\\Windows\\System32\\whoami.exe")),
    ];
    assert_eq!(hits(&m, LogKind::Windows, &sysmon), ["pc"]);
    let security = [
        ("Channel", json!("Security")),
        ("EventID", json!(4688)),
        ("NewProcessName", json!("C:\\Windows\\System32\\whoami.exe")),
    ];
    assert_eq!(hits(&m, LogKind::Windows, &security), ["pc"]);
    // Wrong event id, wrong channel, wrong kind: not tested at all.
    let wrong_id = [
        ("Channel", json!("Microsoft-Windows-Sysmon/Operational")),
        ("EventID", json!(3)),
        ("Image", json!("x\\whoami.exe")),
    ];
    assert!(hits(&m, LogKind::Windows, &wrong_id).is_empty());
    let wrong_channel =
        [("Channel", json!("System")), ("EventID", json!(1)), ("Image", json!("x\\whoami.exe"))];
    assert!(hits(&m, LogKind::Windows, &wrong_channel).is_empty());
    assert!(hits(&m, LogKind::Generic, &sysmon).is_empty());
}

#[test]
fn wmi_event_routes_to_sysmon_and_wmi_activity_5861() {
    let text = "title: t\nid: wmi\nlogsource:\n    product: windows\n    category: wmi_event\ndetection:\n    sel:\n        Destination|contains: ' -nop '\n    condition: sel\n";
    let m = load(text);
    let sysmon = [
        ("Channel", json!("Microsoft-Windows-Sysmon/Operational")),
        ("EventID", json!(20)),
        ("Destination", json!("powershell.exe -nop -w hidden")),
    ];
    assert_eq!(hits(&m, LogKind::Windows, &sysmon), ["wmi"]);
    // A permanent consumer bound to a filter, as the WMI-Activity log records it.
    let wmi_activity = [
        ("Channel", json!("Microsoft-Windows-WMI-Activity/Operational")),
        ("EventID", json!(5861)),
        (
            "PossibleCause",
            json!("Perm. Consumer: CommandLineTemplate = \"powershell.exe -noP -ep bypass\""),
        ),
    ];
    assert_eq!(hits(&m, LogKind::Windows, &wmi_activity), ["wmi"]);
    let other_id = [
        ("Channel", json!("Microsoft-Windows-WMI-Activity/Operational")),
        ("EventID", json!(5857)),
        ("PossibleCause", json!("powershell.exe -nop ")),
    ];
    assert!(hits(&m, LogKind::Windows, &other_id).is_empty());
}

#[test]
fn security_rule_is_indexed_by_its_event_id() {
    let text = "title: t\nid: s\nlogsource:\n    product: windows\n    service: security\ndetection:\n    sel:\n        EventID: 4624\n        LogonType: 10\n    condition: sel\n";
    let m = load(text);
    let ev = [("Channel", json!("security")), ("EventID", json!(4624)), ("LogonType", json!("10"))];
    assert_eq!(hits(&m, LogKind::Windows, &ev), ["s"]);
    let hit = {
        let mut v = Vec::new();
        m.eval(LogKind::Windows, &MapEvent::from_pairs(&ev), &mut v);
        v.remove(0)
    };
    assert!(hit.matched.contains(&("LogonType".to_owned(), "10".to_owned())), "{:?}", hit.matched);
}

#[test]
fn webserver_and_dns_routes() {
    let web = "title: w\nid: w\nlogsource:\n    category: webserver\ndetection:\n    sel:\n        cs-uri-query|contains: '/owa/auth/x.js'\n    condition: sel\n";
    let m = load(web);
    assert_eq!(m.kinds().iter().copied().collect::<Vec<_>>(), [LogKind::Webserver]);
    assert_eq!(hits(&m, LogKind::Webserver, &[("cs-uri-query", json!("/OWA/auth/x.js?a"))]), ["w"]);
    let zeek = "title: z\nid: z\nlogsource:\n    product: zeek\n    service: dns\ndetection:\n    sel:\n        answers: '1.2.3.4'\n    condition: sel\n";
    let m = load(zeek);
    assert_eq!(
        hits(&m, LogKind::Dns, &[("answer", json!("1.2.3.4"))]),
        ["z"],
        "zeek answers maps to answer"
    );
}

fn t(min: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap() + Duration::minutes(min)
}

fn feed(
    m: &Matcher,
    c: &mut ferret_sigma::Correlator,
    min: i64,
    ev: &[(&str, Value)],
) -> Vec<String> {
    let e = MapEvent::from_pairs(ev);
    let mut hs = Vec::new();
    m.eval(LogKind::Generic, &e, &mut hs);
    let mut out = Vec::new();
    for h in hs {
        for ch in c.observe(h.rule, t(min), &e) {
            out.push(m.rules()[ch.rule].id.clone());
        }
    }
    out
}

#[test]
fn correlation_event_count_with_group_by_and_timespan() {
    let (set, failures) =
        RuleSet::load_paths(&[data("correlation_event_count.yml")], &LoadOptions::default());
    assert!(failures.is_empty(), "{failures:?}");
    let m = set.compile();
    assert!(!m.rules()[0].generate, "generate defaults to false for referenced rules");
    let mut corr = m.correlator();
    let one = [("Action", json!("failed")), ("Source", json!("10.0.0.1"))];
    let two = [("Action", json!("failed")), ("Source", json!("10.0.0.2"))];
    assert!(feed(&m, &mut corr, 0, &one).is_empty());
    assert!(feed(&m, &mut corr, 1, &two).is_empty());
    assert!(feed(&m, &mut corr, 2, &one).is_empty());
    assert_eq!(feed(&m, &mut corr, 3, &one), ["20000000-0000-0000-0000-000000000002"]);
    // Outside the 5 minute window the count starts again.
    assert!(feed(&m, &mut corr, 20, &two).is_empty());
    assert!(feed(&m, &mut corr, 30, &two).is_empty());
}

#[test]
fn correlation_value_count_and_temporal() {
    let (set, f) = RuleSet::load_paths(
        &[data("correlation_value_count_temporal.yml")],
        &LoadOptions::default(),
    );
    assert!(f.is_empty(), "{f:?}");
    let m = set.compile();
    let mut c = m.correlator();
    let logon = |u: &str| {
        vec![
            ("Action", json!("logon")),
            ("Source", json!("s")),
            ("User", json!(u)),
            ("Host", json!("h")),
        ]
    };
    assert!(feed(&m, &mut c, 0, &logon("a")).is_empty());
    assert!(feed(&m, &mut c, 1, &logon("a")).is_empty());
    assert!(feed(&m, &mut c, 2, &logon("b")).is_empty());
    let fired = feed(&m, &mut c, 3, &logon("c"));
    assert_eq!(fired, ["30000000-0000-0000-0000-000000000003"]);
    let recon = [("Action", json!("recon")), ("Host", json!("h"))];
    let fired = feed(&m, &mut c, 4, &recon);
    assert!(fired.contains(&"30000000-0000-0000-0000-000000000004".to_owned()), "{fired:?}");
    assert!(fired.contains(&"30000000-0000-0000-0000-000000000005".to_owned()), "{fired:?}");

    // Ordered: recon before logon does not complete temporal_ordered, but does complete temporal.
    let mut c = m.correlator();
    let recon2 = [("Action", json!("recon")), ("Host", json!("h2"))];
    let logon2 = [
        ("Action", json!("logon")),
        ("Host", json!("h2")),
        ("User", json!("x")),
        ("Source", json!("t")),
    ];
    assert!(feed(&m, &mut c, 0, &recon2).is_empty());
    assert_eq!(feed(&m, &mut c, 1, &logon2), ["30000000-0000-0000-0000-000000000005"]);
}

#[test]
fn correlation_with_missing_rule_is_a_load_failure() {
    let text = "title: c\nid: c\ncorrelation:\n    type: event_count\n    rules: [nosuch]\n    timespan: 1m\n    condition:\n        gte: 2\n";
    let (set, f) = RuleSet::load_str(Path::new("c.yml"), text, &LoadOptions::default());
    assert_eq!(set.len(), 0);
    assert_eq!(f[0].kind, FailureKind::Correlation);
    assert!(f[0].reason.contains("nosuch"));
}

#[test]
fn load_paths_walks_directories_and_reports_unreadable() {
    let (set, f) = RuleSet::load_paths(
        &[data(""), PathBuf::from("/nonexistent/ferret-sigma-test.yml")],
        &LoadOptions::default(),
    );
    assert!(set.len() >= 8, "{}", set.len());
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].kind, FailureKind::Io);
}

#[test]
fn matcher_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Matcher>();
    assert_send_sync::<ferret_sigma::Correlator>();
}

#[test]
fn prefiltered_eval_equals_exhaustive_eval() {
    // Enough rules in one bucket for the Aho-Corasick prefilter to be built.
    let mut text = String::new();
    let shapes = [
        "        CommandLine|contains: 'lit{i}x'",
        "        Image|endswith: '\\\\tool{i}.exe'",
        "        Image|startswith: 'C:\\\\dir{i}'",
        "        CommandLine|contains|all: ['aa{i}', 'bb{i}']",
        "        Image: 'exact{i}'",
        "        CommandLine|re: 'r{i}e'",
    ];
    for i in 0..30 {
        let shape = shapes[i % shapes.len()].replace("{i}", &i.to_string());
        write!(
            text,
            "title: r{i}\nid: r{i}\nlogsource:\n    product: windows\n    category: process_creation\ndetection:\n    sel:\n{shape}\n    filter:\n        User: 'nobody{i}'\n    condition: sel and not filter\n---\n"
        )
        .unwrap();
    }
    let m = load(&text);
    let values = [
        "lit3x",
        "LIT9X and aa3 bb3 AA9BB9",
        "C:\\x\\TOOL7.exe",
        "c:\\dir2\\a",
        "exact4",
        "EXACT10",
        "xr5ex",
        "nothing",
    ];
    for cl in values {
        for img in values {
            let ev = MapEvent::from_pairs(&[
                ("Channel", json!("Microsoft-Windows-Sysmon/Operational")),
                ("EventID", json!(1)),
                ("CommandLine", json!(cl)),
                ("Image", json!(img)),
                ("User", json!("nobody3")),
            ]);
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            m.eval(LogKind::Windows, &ev, &mut fast);
            m.eval_exhaustive(LogKind::Windows, &ev, &mut slow);
            let mut a: Vec<usize> = fast.iter().map(|h| h.rule).collect();
            let mut b: Vec<usize> = slow.iter().map(|h| h.rule).collect();
            a.sort_unstable();
            b.sort_unstable();
            assert_eq!(a, b, "{cl} / {img}");
        }
    }
    let ev = MapEvent::from_pairs(&[
        ("Channel", json!("Microsoft-Windows-Sysmon/Operational")),
        ("EventID", json!(1)),
        ("CommandLine", json!("LIT9X")),
    ]);
    assert_eq!(
        hits(
            &m,
            LogKind::Windows,
            &[
                ("Channel", json!("Microsoft-Windows-Sysmon/Operational")),
                ("EventID", json!(1)),
                ("CommandLine", json!("LIT0X"))
            ]
        ),
        ["r0"]
    );
    let mut v = Vec::new();
    m.eval(LogKind::Windows, &ev, &mut v);
    assert!(v.is_empty(), "rule 9 needs both aa9 and bb9");
}
