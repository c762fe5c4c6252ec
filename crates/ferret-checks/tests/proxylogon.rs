//! ProxyLogon detectors: a positive and a benign fixture each, built from the published log
//! formats; no false positives on the benign ones.

mod common;

use common::{HTTPPROXY_HEADER, V15, httpproxy_line, run};
use ferret_checks::Campaign;
use ferret_core::Verdict;
use ferret_testkit::Tree;

fn benign_httpproxy() -> String {
    let mut s = HTTPPROXY_HEADER.to_owned();
    for i in 0..20 {
        let t = format!("2021-03-02T0{}:1{}:00.000Z", i % 10, i % 10);
        s.push_str(&httpproxy_line(&t, &[]));
        s.push('\n');
        // Exchange's own autodiscover and localhost anchors, left out by the published query.
        s.push_str(&httpproxy_line(
            &t,
            &[
                ("Protocol", "Autodiscover"),
                ("UrlStem", "/autodiscover/autodiscover.xml"),
                ("AuthenticatedUser", ""),
                (
                    "AnchorMailbox",
                    "ServerInfo~a]@mail01.example.org:444/autodiscover/autodiscover.xml?#",
                ),
                ("Method", "POST"),
            ],
        ));
        s.push('\n');
        s.push_str(&httpproxy_line(
            &t,
            &[
                ("Protocol", "Ecp"),
                ("AuthenticatedUser", ""),
                ("AnchorMailbox", "ServerInfo~localhost/ecp/health"),
            ],
        ));
        s.push('\n');
    }
    s
}

#[test]
fn pl001_anchor_mailbox_positive() {
    let t = Tree::new();
    let mut log = benign_httpproxy();
    log.push_str(&httpproxy_line(
        "2021-03-03T01:02:03.100Z",
        &[
            ("Protocol", "Ecp"),
            ("UrlStem", "/ecp/y.js"),
            ("AuthenticatedUser", ""),
            ("AnchorMailbox", "ServerInfo~a]@mail01.example.org:444/mapi/emsmdb/?#"),
            ("UserAgent", "python-requests/2.25.1"),
            ("Method", "POST"),
        ],
    ));
    log.push('\n');
    t.file(format!("{V15}/Logging/HttpProxy/Ecp/HttpProxy_2021030301-1.LOG"), log);
    let r = run(t.root(), &[]);
    let hits = r.of("PL001");
    assert_eq!(hits.len(), 1, "{:#?}", r.findings);
    let f = hits[0];
    assert_eq!(f.rule.name, "proxylogon-anchor-mailbox-ssrf");
    assert_eq!(f.log.as_ref().and_then(|l| l.line), Some(66));
    assert!(
        f.evidence.iter().any(|e| e.label == "AnchorMailbox" && e.data.contains("/mapi/emsmdb"))
    );
    assert_eq!(r.verdict(Campaign::ProxyLogon), Some(Verdict::Affected));
}

#[test]
fn pl001_anchor_mailbox_benign() {
    let t = Tree::new();
    t.file(format!("{V15}/Logging/HttpProxy/Owa/HttpProxy_2021030301-1.LOG"), benign_httpproxy());
    let r = run(t.root(), &[]);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(r.verdict(Campaign::ProxyLogon), Some(Verdict::NotFound));
    let v = &r.outcome.verdicts[0];
    let span = v.sources.iter().find(|s| s.source == "exchange-httpproxy").unwrap();
    assert_eq!(span.first.unwrap().to_rfc3339(), "2021-03-02T00:10:00+00:00");
}

#[test]
fn named_campaign_without_inputs_is_unknown() {
    let t = Tree::new();
    t.file("notes.txt", "nothing here\n");
    let r = run(t.root(), &[Campaign::ProxyLogon]);
    assert_eq!(r.verdict(Campaign::ProxyLogon), Some(Verdict::Unknown));
    assert!(!r.outcome.summary.complete);
    assert!(r.outcome.verdicts[0].not_checked.iter().any(|s| s.contains("HttpProxy")));
}
