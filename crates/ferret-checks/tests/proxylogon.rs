//! ProxyLogon detectors: a positive and a benign fixture each, built from the published log
//! formats; no false positives on the benign ones.

mod common;

use common::{HTTPPROXY_HEADER, V15, httpproxy_line, run};
use ferret_checks::Campaign;
use ferret_core::Severity::{Critical, High, Medium};
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

/// An Application event in evtx_dump's JSON form (one object per line).
fn app_event(record: u64, provider: &str, level: u8, data: &str) -> String {
    serde_json::json!({
        "Event": {
            "System": {
                "Provider": { "#attributes": { "Name": provider } },
                "EventID": 1000,
                "Level": level,
                "TimeCreated": { "#attributes": { "SystemTime": "2021-03-03T05:00:00.000000Z" } },
                "EventRecordID": record,
                "Channel": "Application",
                "Computer": "exch01.example.org"
            },
            "EventData": { "Data": data }
        }
    })
    .to_string()
}

#[test]
fn pl002_um_invalid_cast() {
    let t = Tree::new();
    let cast = "An unhandled exception occurred in a UM worker process: System.InvalidCastException: Unable to cast object";
    let benign = [
        app_event(1, "MSExchange Unified Messaging", 4, cast),
        app_event(2, "MSExchange Unified Messaging", 2, "The UM call router failed to connect"),
        app_event(3, "Application Error", 2, cast),
    ];
    t.file("evtx/benign.json", benign.join("\n") + "\n");
    let r = run(t.root(), &[Campaign::ProxyLogon]);
    assert!(r.of("PL002").is_empty(), "{:#?}", r.findings);
    t.file("evtx/positive.json", app_event(9, "MSExchange Unified Messaging", 2, cast) + "\n");
    let r = run(t.root(), &[Campaign::ProxyLogon]);
    let hits = r.of("PL002");
    assert_eq!(hits.len(), 1, "{:#?}", r.findings);
    assert_eq!(hits[0].log.as_ref().and_then(|l| l.record_id), Some(9));
}

const OAB_HEADER: &str = "#Software: Microsoft Exchange Server\n#Version: 15.01.2176.002\n#Log-type: OABGenerator Log\n#Fields: DateTime,ThreadId,Level,Message\n";

#[test]
fn pl003_oab_file_write() {
    let t = Tree::new();
    let dir = format!("{V15}/Logging/OABGeneratorLog");
    let mut benign = OAB_HEADER.to_owned();
    benign.push_str("2021-03-01T02:00:00.000Z,12,Info,OAB generation started for \\Default Offline Address Book\n");
    benign.push_str("2021-03-01T02:00:01.000Z,12,Warning,\"Download failed and temporary file 'C:\\Program Files\\Microsoft\\Exchange Server\\V15\\ClientAccess\\OAB\\Temp\\abc.tmp' needs to be removed.\"\n");
    t.file(format!("{dir}/OABGenerator_benign.LOG"), &benign);
    let r = run(t.root(), &[Campaign::ProxyLogon]);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    let mut pos = benign.clone();
    pos.push_str("2021-03-03T03:04:05.000Z,14,Warning,\"Download failed and temporary file 'C:\\inetpub\\wwwroot\\aspnet_client\\discover.aspx' needs to be removed.\"\n");
    t.file(format!("{dir}/OABGenerator_positive.LOG"), &pos);
    let r = run(t.root(), &[Campaign::ProxyLogon]);
    let hits = r.of("PL003");
    assert_eq!(hits.len(), 1, "{:#?}", r.findings);
    assert_eq!(
        hits[0].details.get("written_path").and_then(|v| v.as_str()),
        Some("C:\\inetpub\\wwwroot\\aspnet_client\\discover.aspx")
    );
}

const ECP_HEADER: &str = "#Software: Microsoft Exchange Server\n#Version: 15.01.2176.002\n#Log-type: ECP Server Log\n#Fields: DateTime,ServerName,EventID,EventData\n";

#[test]
fn pl004_set_virtual_directory_with_script() {
    let t = Tree::new();
    let dir = format!("{V15}/Logging/ECP/Server");
    let mut benign = ECP_HEADER.to_owned();
    benign.push_str("2021-03-01T09:00:00.000Z,EXCH01,ECP.Request,\"S:TIME=120;S:SID=ab;S:USER=EXAMPLE\\admin;S:CMD=Set-OabVirtualDirectory.ExternalUrl='https://mail.example.org/OAB'.Identity='EXCH01\\OAB (Default Web Site)'\"\n");
    benign.push_str("2021-03-01T09:01:00.000Z,EXCH01,ECP.Request,\"S:TIME=80;S:CMD=Get-Mailbox.Identity='alice'\"\n");
    t.file(format!("{dir}/ECPServer_benign.LOG"), &benign);
    let r = run(t.root(), &[Campaign::ProxyLogon]);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    let script = ferret_testkit::samples::empty_page_load_script().replace('"', "\"\"");
    let mut pos = benign.clone();
    pos.push_str(&format!("2021-03-03T03:10:00.000Z,EXCH01,ECP.Request,\"S:TIME=95;S:CMD=Set-OabVirtualDirectory.ExternalUrl='http://f/{script}'.Identity='x'\"\n"));
    t.file(format!("{dir}/ECPServer_positive.LOG"), &pos);
    let r = run(t.root(), &[Campaign::ProxyLogon]);
    assert_eq!(r.of("PL004").len(), 1, "{:#?}", r.findings);
}

#[test]
fn pl004_reset_virtual_directory_status_200() {
    let t = Tree::new();
    let reset = |status: &str| {
        httpproxy_line(
            "2021-03-03T03:11:00.000Z",
            &[
                ("Protocol", "Ecp"),
                ("UrlStem", "/ecp/DDI/DDIService.svc/SetObject"),
                ("UrlQuery", "?schema=ResetOABVirtualDirectory&msExchEcpCanary=abc"),
                ("HttpStatus", status),
                ("Method", "POST"),
            ],
        )
    };
    let mut benign = HTTPPROXY_HEADER.to_owned();
    benign.push_str(&reset("500"));
    benign.push('\n');
    benign.push_str(&httpproxy_line(
        "2021-03-03T03:12:00.000Z",
        &[
            ("Protocol", "Ecp"),
            ("UrlStem", "/ecp/DDI/DDIService.svc/GetList"),
            ("UrlQuery", "?schema=VirtualDirectory"),
        ],
    ));
    benign.push('\n');
    t.file(format!("{V15}/Logging/HttpProxy/Ecp/HttpProxy_benign.LOG"), &benign);
    let r = run(t.root(), &[Campaign::ProxyLogon]);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    t.file(
        format!("{V15}/Logging/HttpProxy/Ecp/HttpProxy_positive.LOG"),
        format!("{HTTPPROXY_HEADER}{}\n", reset("200")),
    );
    let r = run(t.root(), &[Campaign::ProxyLogon]);
    assert_eq!(r.of("PL004").len(), 1, "{:#?}", r.findings);
}

const IIS_HEADER: &str = "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Date: 2021-03-01 00:00:00\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n";

fn iis_benign() -> String {
    let mut s = IIS_HEADER.to_owned();
    for i in 0..30 {
        s.push_str(&format!(
            "2021-03-01 0{}:00:{:02} 10.0.0.2 GET /owa/auth/Current/themes/resources/logon.css - 443 - 192.0.2.{} Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64) - 200 0 0 3\n",
            i % 10, i, i + 10
        ));
        s.push_str(&format!(
            "2021-03-01 0{}:01:{:02} 10.0.0.2 POST /owa/auth.owa - 443 - 192.0.2.{} Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64) - 302 0 0 15\n",
            i % 10, i, i + 10
        ));
        s.push_str(&format!(
            "2021-03-01 0{}:02:{:02} 10.0.0.2 POST /ecp/DDI/DDIService.svc/GetList schema=Mailbox 443 EXAMPLE\\admin 192.0.2.5 Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64) - 200 0 0 40\n",
            i % 10, i
        ));
    }
    s
}

#[test]
fn pl005_iis_exploit_requests() {
    let t = Tree::new();
    let dir = "inetpub/logs/LogFiles/W3SVC1";
    t.file(format!("{dir}/u_ex210301.log"), iis_benign());
    let r = run(t.root(), &[]);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(r.verdict(Campaign::ProxyLogon), Some(Verdict::NotFound));
    let mut pos = iis_benign();
    pos.push_str("2021-03-03 01:02:03 10.0.0.2 POST /owa/auth/Current/themes/resources/owafont_ja.css - 443 - 203.0.113.7 ExchangeServicesClient/0.0.0.0 - 200 0 0 31\n");
    pos.push_str("2021-03-03 01:02:04 10.0.0.2 POST /ecp/y.js - 443 - 203.0.113.7 python-requests/2.25.1 - 200 0 0 12\n");
    pos.push_str("2021-03-03 01:02:05 10.0.0.2 GET /robots.txt - 443 - 198.51.100.9 Mozilla/5.0+(compatible;+Bingbot/2.0;++http://www.bing.com/bingbot.htm) - 404 0 0 1\n");
    t.file(format!("{dir}/u_ex210303.log"), pos);
    let r = run(t.root(), &[]);
    let hits = r.of("PL005");
    assert_eq!(hits.len(), 3, "{:#?}", r.findings);
    let high = hits.iter().filter(|f| f.severity >= ferret_core::Severity::High).count();
    assert_eq!(high, 2, "the crawler agent alone is a lead");
    assert_eq!(r.verdict(Campaign::ProxyLogon), Some(Verdict::Affected));
}

/// A fake Exchange and IIS tree with the product's own files.
fn exchange_tree(t: &Tree) {
    t.file(
        format!("{V15}/FrontEnd/HttpProxy/owa/auth/logon.aspx"),
        "<%@ Page Language=\"C#\" %><html>sign in</html>",
    );
    t.file(
        format!("{V15}/FrontEnd/HttpProxy/owa/auth/errorFE.aspx"),
        "<%@ Page Language=\"C#\" %><html>error</html>",
    );
    t.file(
        format!("{V15}/FrontEnd/HttpProxy/ecp/auth/TimeoutLogout.aspx"),
        "<%@ Page Language=\"C#\" %>bye",
    );
    t.file(format!("{V15}/ClientAccess/ecp/default.aspx"), "<%@ Page Language=\"C#\" %>ecp");
    t.file("inetpub/wwwroot/iisstart.htm", "<html>IIS</html>");
    t.file("inetpub/wwwroot/aspnet_client/system_web/4_0_30319/readme.txt", "client files");
    t.file("ProgramData/Microsoft/Windows/Start Menu/desktop.ini", "[.ShellClassInfo]");
    t.file("ProgramData/Package Cache/setup.zip", "PK");
}

#[test]
fn pl006_web_shells() {
    let t = Tree::new();
    exchange_tree(&t);
    let r = run(t.root(), &[]);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(r.verdict(Campaign::ProxyLogon), Some(Verdict::NotFound));
    let chopper = format!("http://f/{}", ferret_testkit::samples::chopper_script("orange"));
    t.file(format!("{V15}/FrontEnd/HttpProxy/owa/auth/RedirSuiteServerProxy.aspx"), &chopper);
    t.file("inetpub/wwwroot/aspnet_client/system_web/supp0rt.aspx", "<%@ Page Language=\"C#\" %>x");
    t.file("inetpub/wwwroot/aspnet_client/notes.aspx", "<%@ Page Language=\"C#\" %>y");
    let r = run(t.root(), &[]);
    let mut hits: Vec<_> = r
        .of("PL006")
        .into_iter()
        .map(|f| (f.path.as_ref().map(|p| p.lossy().into_owned()).unwrap_or_default(), f.severity))
        .collect();
    hits.sort();
    assert_eq!(hits.len(), 3, "{:#?}", r.findings);
    assert!(hits.iter().any(|(p, s)| p.ends_with("RedirSuiteServerProxy.aspx") && *s == Critical));
    assert!(hits.iter().any(|(p, s)| p.ends_with("supp0rt.aspx") && *s == High));
    assert!(hits.iter().any(|(p, s)| p.ends_with("notes.aspx") && *s == Medium));
}

#[test]
fn pl007_lsass_dump_and_staging() {
    let t = Tree::new();
    exchange_tree(&t);
    t.file("ProgramData/lsass.dmp", b"MDMP\x93\xa7\x00\x00");
    t.file("ProgramData/it.zip", "PK");
    t.file("ProgramData/b.7z", "7z");
    let r = run(t.root(), &[]);
    let hits = r.of("PL007");
    assert_eq!(hits.len(), 3, "{:#?}", r.findings);
    assert!(hits.iter().any(|f| f.evidence.iter().any(|e| e.data.contains("MDMP"))));
}

#[test]
fn pl008_published_client_ip() {
    let t = Tree::new();
    let dir = "inetpub/logs/LogFiles/W3SVC1";
    t.file(format!("{dir}/u_ex210301.log"), iis_benign());
    let r = run(t.root(), &[Campaign::ProxyLogon]);
    assert!(r.of("PL008").is_empty(), "{:#?}", r.findings);
    let mut pos = iis_benign();
    pos.push_str("2021-02-27 01:02:03 10.0.0.2 GET /owa/ - 443 - 5.254.43.18 Mozilla/5.0+(Windows+NT+10.0) - 200 0 0 3\n");
    t.file(format!("{dir}/u_ex210227.log"), pos);
    let r = run(t.root(), &[Campaign::ProxyLogon]);
    let hits = r.of("PL008");
    assert_eq!(hits.len(), 1, "{:#?}", r.findings);
    // A lead: reported, but it does not make the campaign AFFECTED.
    assert_eq!(r.verdict(Campaign::ProxyLogon), Some(Verdict::NotFound));
    assert_eq!(r.outcome.verdicts[0].leads, 1);
}

#[test]
#[expect(clippy::disallowed_methods, reason = "test writes its manifest fixture")]
fn pl006_new_versus_manifest() {
    let t = Tree::new();
    exchange_tree(&t);
    // The install's manifest, taken before the shell was planted.
    let root = t.path(V15);
    let mut manifest = Vec::new();
    ferret_integrity::baseline::baseline(
        &root,
        &ferret_integrity::Policy::empty(),
        &ferret_integrity::baseline::BaselineOptions::default(),
        &mut manifest,
        &ferret_core::Collector::new(),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let mpath = out.path().join("exchange.manifest");
    std::fs::write(&mpath, &manifest).unwrap();
    let opts = ferret_checks::CheckOptions {
        manifest: Some(mpath.clone()),
        ..ferret_checks::CheckOptions::default()
    };
    let r = common::run_with(t.root(), opts.clone());
    assert!(r.of("PL006").is_empty(), "{:#?}", r.findings);
    // An inert page nobody shipped: new versus the manifest.
    t.file(format!("{V15}/FrontEnd/HttpProxy/owa/auth/Current/themes/x.aspx"), "<%@ Page %>hi");
    let r = common::run_with(t.root(), opts);
    let hits = r.of("PL006");
    assert_eq!(hits.len(), 1, "{:#?}", r.findings);
    assert!(hits[0].evidence.iter().any(|e| e.label == "manifest"));
    assert!(r.outcome.verdicts[0].not_checked.iter().any(|s| s.contains("signature")));
}

#[test]
fn garbage_and_special_files_do_not_stop_the_run() {
    let t = Tree::new();
    exchange_tree(&t);
    t.file(
        format!("{V15}/Logging/HttpProxy/Owa/HttpProxy_garbage.LOG"),
        [0u8, 159, 146, 150, 0, 1, 2, 3],
    );
    t.file(
        format!("{V15}/Logging/HttpProxy/Owa/HttpProxy_half.LOG"),
        format!("{HTTPPROXY_HEADER}a,b,c\n"),
    );
    t.fifo(format!("{V15}/Logging/HttpProxy/Owa/HttpProxy_fifo.LOG"));
    let r = run(t.root(), &[]);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(r.outcome.summary.skipped.get("not_a_regular_file"), Some(&1));
    assert_eq!(r.outcome.summary.counter("parse_errors"), 1);
    assert!(
        r.problems
            .iter()
            .any(|p| p.path.as_ref().is_some_and(|x| x.lossy().contains("HttpProxy_half")))
    );
}
