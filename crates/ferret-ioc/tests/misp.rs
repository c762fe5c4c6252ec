//! MISP event exports (the MISP core format): what loads, what is left out and said so, and
//! how findings name the event and the attribute. Fixture: `tests/data/ioc/misp_event.json`.

use ferret_core::{Engine, ProblemKind, Severity};
use ferret_ioc::network::NetKind;
use ferret_ioc::{FileFacts, IocFormat, IocMatch, IocSet, sniff};

const EVENT: &str = "5e3b1c7a-0d2f-4c8e-9a41-6f1b2d3c4e5f";

fn fixture() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ioc/misp_event.json"))
        .unwrap()
}

fn digest<const N: usize>(hex_text: &str) -> [u8; N] {
    hex::decode(hex_text).unwrap().try_into().unwrap()
}

fn matches(set: &IocSet, facts: &FileFacts<'_>) -> Vec<IocMatch> {
    let mut out = Vec::new();
    set.match_file(facts, &mut out);
    out
}

#[test]
fn event_export_loads_to_ids_attributes_and_says_what_it_left_out() {
    let text = fixture();
    assert_eq!(sniff("event.json", text.as_bytes()), Some(IocFormat::Misp));
    let mut set = IocSet::new();
    let mut problems = Vec::new();
    let n = set.load(IocFormat::Misp, "event.json", &text, &mut problems);
    // Files: sha256, filename|sha1, filename, file object sha256, file object name+size.
    // Network: domain, ip-dst, url, domain|ip (2), ip-dst|port, domain in a domain-ip object.
    assert_eq!(n, 12, "{problems:#?}");
    assert_eq!(set.counts()["misp"], 5);
    assert_eq!(set.counts()["network"], 7);

    let reasons: Vec<String> =
        problems.iter().map(|p| format!("{} {}", p.kind, p.reason)).collect();
    assert_eq!(problems.len(), 4, "{reasons:#?}");
    let bad = problems.iter().find(|p| p.kind == ProblemKind::RuleLoad).unwrap();
    assert!(bad.reason.contains("a1000001-0000-4000-8000-000000000013"), "{}", bad.reason);
    assert!(bad.reason.contains("is not a sha256 digest"));
    assert!(bad.position.is_some(), "located by line");
    let skipped: Vec<&str> = problems
        .iter()
        .filter(|p| p.kind == ProblemKind::Skipped)
        .map(|p| p.reason.as_str())
        .collect();
    // md5 (to_ids false), the file object's name and size (to_ids false).
    assert!(skipped[0].starts_with("3 MISP attributes without to_ids left out"), "{skipped:?}");
    assert!(
        skipped[1].contains("2 MISP attributes of types ferret does not match")
            && skipped[1].contains("regkey: 1")
            && skipped[1].contains("text in a domain-ip object: 1"),
        "{skipped:?}"
    );
    assert!(
        skipped[2].starts_with("1 MISP attributes on the exporter's warning lists left out")
            && skipped[2].contains("www.google.com")
            && skipped[2].contains("List of known google domains"),
        "{skipped:?}"
    );

    // A to_ids SHA-256: the rule is the attribute, its name the event, its references the
    // event's links.
    let sha = digest("a4c40b8c5839d3a7a60a7def2884916934384d07ae54fae907e9bbb454b63cf3");
    let m =
        matches(&set, &FileFacts { path: b"/tmp/x", sha256: Some(sha), ..FileFacts::default() });
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].engine, Engine::Hash);
    assert_eq!(m[0].rule.id, "a1000001-0000-4000-8000-000000000001");
    assert!(m[0].rule.name.contains(EVENT) && m[0].rule.name.contains("Web shell campaign"));
    assert!(m[0].rule.source.as_deref().unwrap().starts_with("event.json:"));
    assert_eq!(m[0].rule.references, ["https://advisories.example.org/2026/edge-webshells"]);
    assert_eq!(m[0].message.as_deref(), Some("file sha256 is a known-bad MISP attribute"));

    // filename|sha1: the hash identifies the file whatever its name.
    let sha1 = digest("2b5942856756eda1ef357aceaaacbdbc1017d046");
    let m =
        matches(&set, &FileFacts { path: b"/a/renamed", sha1: Some(sha1), ..FileFacts::default() });
    assert_eq!(m.len(), 1);
    assert!(m[0].rule.name.contains("compcheckresult.cgi"));

    // The deleted attribute and the to_ids-false MD5 match nothing.
    let sha_deleted = digest("1708704967ec3be7797c35ce15da565671ffa64b9b5318eba2bf6751d3a6b751");
    let md5 = digest("5a8f72e7f7dc67ff044aef6bac8d2c0a");
    let f = FileFacts {
        path: b"/b",
        sha256: Some(sha_deleted),
        md5: Some(md5),
        ..FileFacts::default()
    };
    assert!(matches(&set, &f).is_empty());

    // A Windows path value matches that path under either separator, any case, and not a
    // look-alike.
    let p = |path: &'static [u8]| FileFacts { path, ..FileFacts::default() };
    assert_eq!(matches(&set, &p(b"/mnt/c/windows/temp/UPDATER-SVC.exe")).len(), 1);
    assert_eq!(matches(&set, &p(b"C:\\Windows\\Temp\\updater-svc.exe")).len(), 1);
    assert!(matches(&set, &p(b"C:\\Windows\\Temp\\not-updater-svc.exe")).is_empty());
    assert!(matches(&set, &p(b"C:\\Users\\updater-svc.exe")).is_empty());

    // A file object with a to_ids digest: the digest (its name is not required).
    let obj = digest("2febc1a785e5951e89ee5caed675d40dd3152fca44fe792d99cc4b39dff8865a");
    let m = matches(&set, &FileFacts { path: b"/q", sha256: Some(obj), ..FileFacts::default() });
    assert_eq!(m[0].rule.id, "b2000001-0000-4000-8000-000000000102");
    assert!(m[0].rule.name.contains("lastauthserverused.js"));
    // A file object without digests: its name and its size together.
    let named = |size| FileFacts {
        path: b"/data/runtime/licenseserverproto.cgi",
        size,
        ..FileFacts::default()
    };
    let m = matches(&set, &named(4096));
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].engine, Engine::Filename);
    assert_eq!(m[0].rule.id, "b2000002-0000-4000-8000-000000000201");
    assert!(matches(&set, &named(4095)).is_empty());

    // Network indicators, normalised, each naming event and attribute.
    let net: Vec<(NetKind, &str)> =
        set.network().iter().map(|n| (n.kind, n.value.as_str())).collect();
    assert_eq!(
        net,
        [
            (NetKind::Domain, "update-check.example.net"),
            (NetKind::Ip, "203.0.113.77"),
            (NetKind::Url, "https://update-check.example.net/dana-na/cgi/x.cgi"),
            (NetKind::Domain, "stage2.example.org"),
            (NetKind::Ip, "198.51.100.23"),
            (NetKind::Ip, "2001:db8::5"),
            (NetKind::Domain, "relay.example.com"),
        ]
    );
    let first = &set.network()[0];
    assert_eq!(first.rule.id, "a1000001-0000-4000-8000-000000000005");
    assert_eq!(first.severity, Severity::High, "threat level 1");
    assert_eq!(
        first.origin,
        format!("MISP event {EVENT} attribute a1000001-0000-4000-8000-000000000005")
    );
}

#[test]
fn response_lists_and_bad_shapes() {
    let mut problems = Vec::new();
    let mut set = IocSet::new();
    let two = r#"{"response": [
        {"Event": {"uuid": "e1", "Attribute": [{"type": "ip-src", "to_ids": "1", "uuid": "a1", "value": "192.0.2.1"}]}},
        {"Event": {"uuid": "e2", "threat_level_id": 3, "Attribute": [{"type": "hostname|port", "to_ids": 1, "uuid": "a2", "value": "C2.Example.com|443"}]}}
    ]}"#;
    assert_eq!(sniff("x.json", two.as_bytes()), Some(IocFormat::Misp));
    assert_eq!(set.load(IocFormat::Misp, "r.json", two, &mut problems), 2, "{problems:?}");
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(set.network()[1].value, "c2.example.com");
    assert_eq!(set.network()[1].severity, Severity::Low);

    for (text, why) in [
        ("{\"Event\": ", "not valid JSON"),
        ("{\"response\": 3}", "not an array"),
        ("[]", "no MISP event"),
        ("\"x\"", "expected a MISP event export"),
    ] {
        let mut problems = Vec::new();
        assert_eq!(IocSet::new().load(IocFormat::Misp, "bad.json", text, &mut problems), 0);
        assert!(problems.iter().any(|p| p.reason.contains(why)), "{text}: {problems:?}");
    }
    // A manifest is not an event export.
    let manifest = r#"{"5e3b1c7a-0d2f-4c8e-9a41-6f1b2d3c4e5f": {"info": "x"}}"#;
    assert_eq!(sniff("manifest.json", manifest.as_bytes()), None);
    assert!(ferret_ioc::misp::is_feed_manifest("feed/manifest.json", manifest.as_bytes()));
}
