//! Per-format loading and matching, on synthetic fixtures under `tests/data/ioc/`.

use std::fmt::Write as _;

use ferret_core::{Engine, Problem, ProblemKind};
use ferret_ioc::{FileFacts, HashNeeds, IocFormat, IocMatch, IocSet, sniff};

fn fixture(case: &str) -> String {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ioc/").to_owned() + case;
    std::fs::read_to_string(p).unwrap()
}

fn load(format: IocFormat, case: &str) -> (IocSet, Vec<Problem>, usize) {
    let mut set = IocSet::default();
    let mut problems = Vec::new();
    let n = set.load(format, case, &fixture(case), &mut problems);
    for p in &problems {
        assert_eq!(p.kind, ProblemKind::RuleLoad);
        assert_eq!(p.path.as_ref().unwrap().as_bytes(), case.as_bytes());
    }
    (set, problems, n)
}

fn positions(problems: &[Problem]) -> Vec<&str> {
    problems.iter().map(|p| p.position.as_deref().unwrap_or("-")).collect()
}

fn matches(set: &IocSet, facts: &FileFacts<'_>) -> Vec<IocMatch> {
    let mut out = Vec::new();
    set.match_file(facts, &mut out);
    out
}

fn path(p: &str) -> FileFacts<'_> {
    FileFacts { path: p.as_bytes(), size: 0, ..FileFacts::default() }
}

#[test]
fn loki_hash_lines_and_problems() {
    let (set, problems, n) = load(IocFormat::LokiHash, "loki_hash_mixed.txt");
    assert_eq!(n, 4);
    assert_eq!(positions(&problems), vec!["9", "10", "11"], "{problems:#?}");
    assert!(problems[2].reason.contains("SHA-384"));
    assert_eq!(set.needs(), HashNeeds { md5: true, sha1: true, sha256: true });

    let f = FileFacts { path: b"/x", sha256: Some([0xaa; 32]), ..FileFacts::default() };
    let m = matches(&set, &f);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].engine, Engine::Hash);
    assert_eq!(m[0].score, 100);
    assert_eq!(m[0].rule.id, "a".repeat(64));
    assert_eq!(m[0].rule.name, "Test dropper sha256");
    assert_eq!(m[0].rule.source.as_deref(), Some("loki_hash_mixed.txt:4"));
    assert_eq!(m[0].rule.references, vec!["https://example.org/advisory-1".to_owned()]);
    assert_eq!(m[0].evidence[0].label, "sha256");

    let f = FileFacts { md5: Some([0xcc; 16]), sha1: Some([0xbb; 20]), ..FileFacts::default() };
    let m = matches(&set, &f);
    assert_eq!(m.len(), 2);
    let md5 = m.iter().find(|m| m.evidence[0].label == "md5").unwrap();
    assert_eq!(md5.score, 55);
    assert_eq!(md5.rule.name, "Lower-scored md5 entry; with a semicolon in the text");
    let sha1 = m.iter().find(|m| m.evidence[0].label == "sha1").unwrap();
    assert_eq!(
        sha1.rule.references,
        vec![
            "https://example.org/advisory-1".to_owned(),
            "https://example.org/report-2".to_owned()
        ]
    );

    // Digests not computed: nothing matches, nothing panics.
    assert!(matches(&set, &path("/x")).is_empty());
}

#[test]
fn loki_filename_regexes() {
    let (set, problems, n) = load(IocFormat::LokiFilename, "loki_filename_mixed.txt");
    assert_eq!(n, 3);
    // Line problems first, then regexes that did not compile (found when the sets are built).
    assert_eq!(positions(&problems), vec!["9", "11", "7"], "{problems:#?}");
    assert!(problems[2].reason.contains("regex does not compile"), "{}", problems[2].reason);
    assert_eq!(set.needs(), HashNeeds::default());
    assert_eq!(set.counts()["filename"], 3);

    let m = matches(&set, &path("C:\\inetpub\\wwwroot\\aspnet_client\\x1.aspx"));
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].engine, Engine::Filename);
    assert_eq!(m[0].score, 90);
    assert_eq!(m[0].rule.name, "Test web shell in a drop folder");
    assert_eq!(m[0].rule.source.as_deref(), Some("loki_filename_mixed.txt:3"));
    assert_eq!(m[0].evidence[0].data, "\\inetpub\\wwwroot\\aspnet_client\\x1.aspx");
    // Unix separators match the same regex.
    assert_eq!(matches(&set, &path("/mnt/c/inetpub/wwwroot/aspnet_client/x1.aspx")).len(), 1);
    // (?i) makes one case-insensitive; the false-positive regex suppresses.
    assert_eq!(matches(&set, &path("/opt/FERRETTOOL.EXE")).len(), 1);
    assert!(matches(&set, &path("/opt/Vendor/ferrettool.exe")).is_empty());
    // Without (?i) the case must match, as in Loki.
    assert_eq!(matches(&set, &path("/x/CaseTool.exe")).len(), 1);
    assert!(matches(&set, &path("/x/casetool.exe")).is_empty());
    // Non-UTF-8 paths are matched as bytes.
    let raw = b"/srv/inetpub/wwwroot/aspnet_client/\xff\xfe.aspx";
    let f = FileFacts { path: raw, ..FileFacts::default() };
    assert!(matches(&set, &f).is_empty(), "[^\\\\] does not match invalid UTF-8 bytes");
    let raw = b"/srv/\xff/CaseTool.exe";
    assert_eq!(matches(&set, &FileFacts { path: raw, ..FileFacts::default() }).len(), 1);
}

#[test]
fn plain_hash_list_with_headings() {
    let (set, problems, n) = load(IocFormat::HashList, "hash_list_vendor.txt");
    assert_eq!(n, 3);
    assert_eq!(positions(&problems), vec!["8"]);
    assert!(problems[0].reason.contains("SHA-512"));
    let m = matches(&set, &FileFacts { md5: Some([0xcc; 16]), ..FileFacts::default() });
    assert_eq!(m[0].rule.name, "FAMILYONE V1 - libthing.so");
    let m = matches(&set, &FileFacts { sha256: Some([0xaa; 32]), ..FileFacts::default() });
    assert_eq!(m[0].rule.name, "./relative/file.bin");
}

#[test]
fn clamav_hdb_and_hsb() {
    let (set, problems, n) = load(IocFormat::ClamAvHdb, "clamav.hdb");
    assert_eq!(n, 2);
    assert_eq!(positions(&problems), vec!["3", "4", "5"], "{problems:#?}");
    let hit =
        |size| matches(&set, &FileFacts { size, md5: Some([0xcc; 16]), ..FileFacts::default() });
    let m = hit(1234);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].rule.name, "Test.Md5.Sized");
    assert_eq!(hit(99)[0].rule.name, "Test.Md5.OtherSize");
    assert!(hit(5).is_empty(), "size must match");

    let (set, problems, n) = load(IocFormat::ClamAvHsb, "clamav.hsb");
    assert_eq!(n, 2);
    assert_eq!(positions(&problems), vec!["3", "4"], "{problems:#?}");
    let m =
        matches(&set, &FileFacts { size: 777, sha256: Some([0xaa; 32]), ..FileFacts::default() });
    assert_eq!(m.len(), 1, "'*' matches any size");
    assert_eq!(set.counts()["clamav"], 2);
}

#[test]
fn stix_bundle_or_and_and_unsupported() {
    let (set, problems, n) = load(IocFormat::Stix2, "stix_bundle.json");
    // Loaded: 1 (sha256), 2 (md5 OR name), 3 (name AND size), 5 (sha1 OR url), 8 (LIKE AND NOT),
    // and the network values of 4 (domain OR address) and 5 (the URL), for the logs.
    assert_eq!(n, 8, "{problems:#?}");
    let reasons: Vec<&str> = problems.iter().map(|p| p.reason.as_str()).collect();
    assert_eq!(problems.len(), 2, "{reasons:#?}");
    assert!(reasons[0].contains("000000000006: pattern does not parse"));
    assert!(reasons[1].contains("pattern_type 'sigma'"));
    let net: Vec<(&str, &str)> =
        set.network().iter().map(|n| (n.value.as_str(), n.rule.id.as_str())).collect();
    assert_eq!(
        net,
        [
            ("bad.example", "indicator--00000000-0000-4000-8000-000000000004"),
            ("192.0.2.1", "indicator--00000000-0000-4000-8000-000000000004"),
            ("http://bad.example/x", "indicator--00000000-0000-4000-8000-000000000005"),
        ]
    );
    assert_eq!(set.counts()["network"], 3);
    assert!(problems.iter().all(|p| p.position.is_some()), "each indicator is located by line");
    assert_eq!(set.needs(), HashNeeds { md5: true, sha1: true, sha256: true });

    let m = matches(&set, &FileFacts { sha256: Some([0x11; 32]), ..FileFacts::default() });
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].rule.id, "indicator--00000000-0000-4000-8000-000000000001");
    assert_eq!(m[0].rule.references, vec!["https://example.org/stix-1".to_owned()]);
    assert_eq!(m[0].score, 100);

    // OR: the name alone is enough, even without digests.
    let m = matches(&set, &path("/var/www/stixshell.aspx"));
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].engine, Engine::Filename);
    // OR: the MD5 alone is enough.
    let m =
        matches(&set, &FileFacts { path: b"/a", md5: Some([0x22; 16]), ..FileFacts::default() });
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].engine, Engine::Hash);
    // AND: name and size must both hold.
    let f = |size| FileFacts { path: b"/lib/implant.so", size, ..FileFacts::default() };
    assert_eq!(matches(&set, &f(4096)).len(), 1);
    assert!(matches(&set, &f(4095)).is_empty());
    // A hash OR an unsupported branch: the hash still fires.
    assert_eq!(
        matches(&set, &FileFacts { sha1: Some([0x33; 20]), ..FileFacts::default() }).len(),
        1
    );
    // LIKE with a negated directory comparison.
    assert_eq!(matches(&set, &path("C:\\Users\\a\\tmp123.dll")).len(), 1);
    assert!(matches(&set, &path("C:\\Windows\\System32\\tmp123.dll")).is_empty());
    assert!(matches(&set, &path("C:\\Users\\a\\xtmp123.dll")).is_empty());
}

#[test]
fn openioc_and_or_negate() {
    let (set, problems, n) = load(IocFormat::OpenIoc, "openioc_and_or_negate.ioc");
    assert_eq!(n, 1);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].reason.contains("ProcessItem/name (1)"), "{}", problems[0].reason);
    assert_eq!(set.counts()["openioc"], 1);
    assert_eq!(set.needs(), HashNeeds { md5: true, sha1: false, sha256: true });

    let shell =
        |p: &'static str, size| FileFacts { path: p.as_bytes(), size, ..FileFacts::default() };
    // AND branch: name is (case-insensitive), path does NOT contain \vendor\, size > 10.
    let m = matches(&set, &shell("C:\\inetpub\\testshell.ASPX", 100));
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].rule.id, "11111111-2222-4333-8444-555555555555");
    assert_eq!(m[0].rule.name, "TEST WEB SHELL (FAMILY)");
    assert_eq!(m[0].rule.references, vec!["https://example.org/openioc-1".to_owned()]);
    assert_eq!(m[0].engine, Engine::Filename);
    assert!(m[0].evidence.iter().any(|e| e.label == "file name"));
    assert_eq!(m[0].score, ferret_ioc::DEFAULT_COMPOUND_SCORE);
    assert!(matches(&set, &shell("C:\\Vendor\\TestShell.aspx", 100)).is_empty(), "negate");
    assert!(matches(&set, &shell("C:\\inetpub\\TestShell.aspx", 5)).is_empty(), "size");
    // OR: any one digest.
    let m = matches(&set, &FileFacts { md5: Some([0x22; 16]), ..FileFacts::default() });
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].engine, Engine::Hash);
    assert_eq!(
        matches(&set, &FileFacts { sha256: Some([0x44; 32]), ..FileFacts::default() }).len(),
        1
    );
    // matches (regex, case-insensitive by preserve-case="false").
    assert_eq!(matches(&set, &shell("/tmp/DROP42.bin", 1)).len(), 1);
    assert!(matches(&set, &shell("/tmp/drop4.bin", 1)).is_empty());
}

#[test]
fn openioc_unsupported_and_malformed_are_reported() {
    let (set, problems, n) = load(IocFormat::OpenIoc, "openioc_unsupported_only.ioc");
    assert_eq!(n, 0);
    assert!(set.is_empty());
    assert_eq!(problems.len(), 1);
    assert!(problems[0].reason.contains("not loaded"));
    assert!(problems[0].reason.contains("processEvent/processCmdLine (1)"));

    let (set, problems, n) = load(IocFormat::OpenIoc, "openioc_malformed.ioc");
    assert_eq!(n, 0);
    assert!(set.is_empty());
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].reason.contains("malformed XML"));
    assert!(problems[0].position.is_some());
}

#[test]
fn several_files_accumulate() {
    let mut set = IocSet::default();
    let mut problems = Vec::new();
    set.load(IocFormat::LokiFilename, "a", "\\\\one\\.exe;70\n", &mut problems);
    set.load(IocFormat::LokiFilename, "b", "\\\\two\\.exe;80\n", &mut problems);
    set.load(IocFormat::HashList, "c", &"a".repeat(64), &mut problems);
    assert!(problems.is_empty());
    assert_eq!(set.counts()["filename"], 2);
    assert_eq!(set.counts()["hash"], 1);
    assert_eq!(matches(&set, &path("/x/two.exe"))[0].rule.source.as_deref(), Some("b:1"));
    assert_eq!(matches(&set, &path("/x/one.exe"))[0].score, 70);
}

#[test]
fn sniffing() {
    let h = "a".repeat(64);
    let cases: &[(&str, String, Option<IocFormat>)] = &[
        ("sig/iocs/hash-iocs.txt", format!("# c\n{h};desc\n"), Some(IocFormat::LokiHash)),
        ("custom-hashes.txt", format!("{h}\n"), Some(IocFormat::HashList)),
        ("list.txt", format!("# x\n{h}  file\n"), Some(IocFormat::HashList)),
        ("iocs/filename-iocs.txt", "# c\n\\\\x\\.exe;60\n".into(), Some(IocFormat::LokiFilename)),
        ("sigs.hdb", "x".into(), Some(IocFormat::ClamAvHdb)),
        ("SIGS.HSB", "x".into(), Some(IocFormat::ClamAvHsb)),
        ("bundle.json", "{\"type\": \"bundle\", \"objects\": []}".into(), Some(IocFormat::Stix2)),
        ("package.json", "{\"name\": \"x\"}".into(), None),
        ("x.ioc", "<?xml version=\"1.0\"?><OpenIOC>".into(), Some(IocFormat::OpenIoc)),
        ("x.xml", "<?xml version=\"1.0\"?><ioc id=\"1\">".into(), Some(IocFormat::OpenIoc)),
        ("rules.yar", "rule x { condition: true }".into(), None),
        ("iocs/c2-iocs.txt", "bad.example;90\n".into(), None),
        // File-name IOCs by content, whatever the name.
        (
            "my-list.txt",
            "# c\n\\\\x\\.exe;60\n/tmp/\\.x;70;/tmp/ok\n".into(),
            Some(IocFormat::LokiFilename),
        ),
        ("custom.iocs", "^C:\\\\Temp\\\\a\\.dll$;-20\n".into(), Some(IocFormat::LokiFilename)),
        ("domains.txt", "bad.example;90\nworse.example;80\n".into(), None),
        ("mixed.txt", "\\\\x\\.exe;60\nnot an ioc line\n".into(), None),
        ("scores.txt", "\\\\x\\.exe;high\n".into(), None),
        ("AA21-110A-JA3.csv", format!("{}\n", "a".repeat(32)), None),
        ("notes.txt", "hello\n".into(), None),
        ("fnv-hashes.txt", "# x\n1234567890\n".into(), None),
        // Plain network lists by content, whatever the name; file names are not hosts.
        (
            "iocs/c2-domains.txt",
            "# C2\nevil[.]example\n203.0.113.5\nhxxp://evil.example/a\n".into(),
            Some(IocFormat::NetworkList),
        ),
        ("blocklist", "bad.example\n".into(), Some(IocFormat::NetworkList)),
        ("names.txt", "evil.exe\nshell.aspx\n".into(), None),
        ("rules/x.yml", "title: a\nlogsource:\n  product: linux\n".into(), None),
    ];
    for (name, content, want) in cases {
        assert_eq!(sniff(name, content.as_bytes()), *want, "{name}");
    }
}

#[test]
fn plain_network_list_loads_with_file_and_line() {
    let mut set = IocSet::default();
    let mut problems = Vec::new();
    let text = "# C2 hosts <https://advisory.invalid/c2>\nevil[.]example\n203.0.113.5 comment\nnot a host\nhxxps://evil.example/drop.bin\n";
    let n = set.load(IocFormat::NetworkList, "lists/c2.txt", text, &mut problems);
    assert_eq!(n, 3);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].position.as_deref(), Some("4"));
    let net = set.network();
    let values: Vec<&str> = net.iter().map(|n| n.value.as_str()).collect();
    assert_eq!(values, ["evil.example", "203.0.113.5", "https://evil.example/drop.bin"]);
    assert_eq!(net[0].origin, "c2.txt:2");
    assert_eq!(net[0].rule.source.as_deref(), Some("lists/c2.txt:2"));
    assert!(net[0].rule.references.iter().any(|r| r.contains("advisory.invalid/c2")));
    assert_eq!(set.counts()["network"], 3);
}

#[test]
fn broken_regex_among_many_leaves_the_rest_loaded() {
    let mut text = String::new();
    for i in 0..600 {
        if i == 300 {
            text.push_str("\\\\bad(?=x)\\.exe;70\n");
        } else {
            writeln!(text, "\\\\tool{i}\\.exe$;70").unwrap();
        }
    }
    let mut set = IocSet::default();
    let mut problems = Vec::new();
    assert_eq!(set.load(IocFormat::LokiFilename, "many.txt", &text, &mut problems), 599);
    assert_eq!(positions(&problems), vec!["301"]);
    assert_eq!(set.counts()["filename"], 599);
    for i in [0, 299, 301, 599] {
        let p = format!("/x/tool{i}.exe");
        assert_eq!(matches(&set, &path(&p)).len(), 1, "{p}");
    }
}
