//! ProxyShell detectors over a clean Exchange server tree and its logs, built at test time from
//! the published log formats; each test plants one published trace. The clean server gives
//! NOT FOUND; logs that end before the campaign's window give UNKNOWN.

mod common;

use common::{HTTPPROXY_HEADER, V15, httpproxy_line, run, run_with};
use ferret_checks::intel::CheckIntel;
use ferret_checks::{Campaign, CheckOptions};
use ferret_core::{Severity, Verdict};
use ferret_intel::Intel;
use ferret_testkit::Tree;

const IIS_HEADER: &str = "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Date: 2021-08-10 00:00:00\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n";
const IIS_DIR: &str = "inetpub/logs/LogFiles/W3SVC1";

/// A day of ordinary IIS traffic on an Exchange server, Autodiscover JSON included.
fn iis(day: &str, extra: &[&str]) -> String {
    let mut s = IIS_HEADER.to_owned();
    for i in 0..30 {
        s.push_str(&format!(
            "{day} 0{}:00:{:02} 10.0.0.2 GET /owa/auth/Current/themes/resources/logon.css - 443 - 192.0.2.{} Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64) - 200 0 0 3\n",
            i % 10, i, i + 10
        ));
        s.push_str(&format!(
            "{day} 0{}:01:{:02} 10.0.0.2 GET /autodiscover/autodiscover.json Email=user{i}@example.org&Protocol=ActiveSync&RedirectCount=1 443 - 192.0.2.{} Outlook-iOS/709.2226530.prod.iphone+(4.2.0) - 200 0 0 9\n",
            i % 10, i, i + 10
        ));
        s.push_str(&format!(
            "{day} 0{}:02:{:02} 10.0.0.2 POST /autodiscover/autodiscover.xml - 443 EXAMPLE\\user{i} 192.0.2.{} Microsoft+Office/16.0 - 200 0 0 12\n",
            i % 10, i, i + 10
        ));
        s.push_str(&format!(
            "{day} 0{}:03:{:02} 10.0.0.2 POST /mapi/emsmdb/ mailboxId=abc@example.org 443 EXAMPLE\\user{i} 192.0.2.{} Microsoft+Office/16.0 - 200 0 0 20\n",
            i % 10, i, i + 10
        ));
    }
    for l in extra {
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// A clean Exchange server: the product's own pages, IIS and HttpProxy logs of August 2021.
fn clean_server() -> Tree {
    let t = Tree::new();
    t.file(
        format!("{V15}/FrontEnd/HttpProxy/owa/auth/logon.aspx"),
        "<%@ Page Language=\"C#\" %><html>sign in</html>",
    );
    t.file(
        format!("{V15}/FrontEnd/HttpProxy/owa/auth/errorFE.aspx"),
        "<%@ Page Language=\"C#\" %><html>error</html>",
    );
    t.file(format!("{V15}/ClientAccess/ecp/default.aspx"), "<%@ Page Language=\"C#\" %>ecp");
    t.file("inetpub/wwwroot/iisstart.htm", "<html>IIS</html>");
    t.file("inetpub/wwwroot/aspnet_client/system_web/4_0_30319/readme.txt", "client files");
    t.file(format!("{IIS_DIR}/u_ex210810.log"), iis("2021-08-10", &[]));
    let mut hp = HTTPPROXY_HEADER.to_owned();
    for i in 0..10 {
        hp.push_str(&httpproxy_line(
            &format!("2021-08-10T0{i}:00:00.000Z"),
            &[
                ("Protocol", "Autodiscover"),
                ("UrlStem", "/autodiscover/autodiscover.json"),
                ("UrlQuery", "?Email=user@example.org&Protocol=ActiveSync"),
            ],
        ));
        hp.push('\n');
    }
    t.file(format!("{V15}/Logging/HttpProxy/Autodiscover/HttpProxy_2021081000-1.LOG"), hp);
    t
}

fn proxyshell(t: &Tree) -> common::Run {
    run(t.root(), &[Campaign::ProxyShell])
}

#[test]
fn clean_exchange_server_is_not_found() {
    let t = clean_server();
    let r = proxyshell(&t);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(r.verdict(Campaign::ProxyShell), Some(Verdict::NotFound));
    let r = run(t.root(), &[]);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(r.verdict(Campaign::ProxyShell), Some(Verdict::NotFound));
    assert_eq!(r.verdict(Campaign::ProxyLogon), Some(Verdict::NotFound));
}

#[test]
fn px001_autodiscover_ssrf_in_iis_and_httpproxy() {
    let t = clean_server();
    t.file(
        format!("{IIS_DIR}/u_ex210812.log"),
        iis(
            "2021-08-12",
            &[
                "2021-08-12 03:04:05 10.0.0.2 POST /autodiscover/autodiscover.json @evil.example/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.example 443 - 203.0.113.9 python-requests/2.26.0 - 200 0 0 40",
                "2021-08-12 03:04:09 10.0.0.2 POST /autodiscover/autodiscover.json @evil.example/powershell/?X-Rps-CAT=VgEAVAdXaW5kb3dzQwBBCEtlcmJlcm9z&Email=autodiscover/autodiscover.json%3F@evil.example 443 - 203.0.113.9 python-requests/2.26.0 - 200 0 0 50",
            ],
        ),
    );
    let mut hp = HTTPPROXY_HEADER.to_owned();
    hp.push_str(&httpproxy_line(
        "2021-08-12T03:04:05.000Z",
        &[
            ("Protocol", "Autodiscover"),
            ("UrlStem", "/autodiscover/autodiscover.json"),
            (
                "UrlQuery",
                "?@evil.example/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.example",
            ),
            ("AuthenticatedUser", ""),
        ],
    ));
    hp.push('\n');
    t.file(format!("{V15}/Logging/HttpProxy/Autodiscover/HttpProxy_2021081200-1.LOG"), hp);
    let r = proxyshell(&t);
    let hits = r.of("PX001");
    assert_eq!(hits.len(), 3, "{:#?}", r.findings);
    assert!(hits.iter().all(|f| f.severity == Severity::Critical));
    assert_eq!(r.verdict(Campaign::ProxyShell), Some(Verdict::Affected));
}

/// An MSExchange Management event (cmdlet log) in evtx_dump's JSON form.
fn cmdlet_event(record: u64, cmdlet: &str, params: &str) -> String {
    serde_json::json!({
        "Event": {
            "System": {
                "Provider": { "#attributes": { "Name": "MSExchange CmdletLogs" } },
                "EventID": 1,
                "Level": 4,
                "TimeCreated": { "#attributes": { "SystemTime": "2021-08-13T05:00:00.000000Z" } },
                "EventRecordID": record,
                "Channel": "MSExchange Management",
                "Computer": "exch01.example.org"
            },
            "EventData": { "Data": [cmdlet, params, "EXAMPLE\\administrator", "S-1-5-21-1-2-3-500"] }
        }
    })
    .to_string()
}

#[test]
fn px002_mailbox_export_to_aspx() {
    let t = clean_server();
    let benign = [
        cmdlet_event(
            1,
            "New-MailboxExportRequest",
            "-Mailbox \"alice\" -FilePath \"\\\\fs01\\pst\\alice.pst\"",
        ),
        cmdlet_event(2, "Get-Mailbox", "-Identity \"alice\""),
    ];
    t.file("evtx/management.json", benign.join("\n") + "\n");
    let r = proxyshell(&t);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(r.verdict(Campaign::ProxyShell), Some(Verdict::NotFound));
    let planted = [
        cmdlet_event(
            7,
            "New-ManagementRoleAssignment",
            "-Role \"Mailbox Import Export\" -User \"administrator@example.org\"",
        ),
        cmdlet_event(
            8,
            "New-MailboxExportRequest",
            "-Mailbox \"administrator@example.org\" -IncludeFolders \"#Drafts#\" -ContentFilter \"(Subject -eq 'x')\" -FilePath \"\\\\127.0.0.1\\c$\\inetpub\\wwwroot\\aspnet_client\\shell.aspx\"",
        ),
    ];
    t.file("evtx/management2.json", planted.join("\n") + "\n");
    let r = proxyshell(&t);
    let hits = r.of("PX002");
    assert_eq!(hits.len(), 2, "{:#?}", r.findings);
    let critical: Vec<_> = hits.iter().filter(|f| f.severity == Severity::Critical).collect();
    assert_eq!(critical.len(), 1);
    assert_eq!(critical[0].log.as_ref().and_then(|l| l.record_id), Some(8));
    assert_eq!(r.verdict(Campaign::ProxyShell), Some(Verdict::Affected));
}

#[test]
fn px003_pst_written_as_a_web_page() {
    let t = clean_server();
    let mut pst = b"!BDN\x0e\x00\x00\x00SM\x17\x00\x01\x01".to_vec();
    pst.extend_from_slice(&[0u8; 512]);
    pst.extend_from_slice(
        concat!(
            "<script language=\"JScript\" ",
            "runat=\"server\">function Page_Load(){x}</script>"
        )
        .as_bytes(),
    );
    pst.extend_from_slice(&[0u8; 256]);
    t.file("inetpub/wwwroot/aspnet_client/shell.aspx", &pst);
    let r = proxyshell(&t);
    let hits = r.of("PX003");
    assert_eq!(hits.len(), 1, "{:#?}", r.findings);
    assert_eq!(hits[0].severity, Severity::Critical);
    assert_eq!(r.verdict(Campaign::ProxyShell), Some(Verdict::Affected));

    // A PST without a script under a web-page name is still reported, at high.
    let t = clean_server();
    t.file(format!("{V15}/FrontEnd/HttpProxy/owa/auth/export.aspx"), b"!BDN\x0e\x00\x00\x00SM");
    let r = proxyshell(&t);
    let hits = r.of("PX003");
    assert_eq!(hits.len(), 1, "{:#?}", r.findings);
    assert_eq!(hits[0].severity, Severity::High);
}

#[test]
fn logs_before_the_window_are_unknown() {
    let t = Tree::new();
    t.file(
        format!("{IIS_DIR}/u_ex210301.log"),
        iis("2021-03-01", &[]).replace("2021-08-10", "2021-03-01"),
    );
    let r = proxyshell(&t);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(r.verdict(Campaign::ProxyShell), Some(Verdict::Unknown));
}

#[test]
fn a_loaded_intel_replaces_the_proxyshell_tables() {
    let t = clean_server();
    t.file(
        format!("{IIS_DIR}/u_ex210812.log"),
        iis(
            "2021-08-12",
            &["2021-08-12 03:04:05 10.0.0.2 POST /autodiscover/autodiscover.json @evil.example/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.example 443 - 203.0.113.9 python-requests/2.26.0 - 200 0 0 40"],
        ),
    );
    let opts = |intel| CheckOptions {
        campaigns: vec![Campaign::ProxyShell],
        intel,
        ..CheckOptions::default()
    };
    assert_eq!(run_with(t.root(), opts(CheckIntel::builtin())).of("PX001").len(), 1);
    // A pack whose requests table lacks the `/mapi/` target no longer finds the request; one
    // with an added target finds a request the built-in table does not know.
    let edit = |add: &str| {
        let files: Vec<(String, Vec<u8>)> = Intel::builtin_files()
            .iter()
            .map(|(p, text)| {
                let text = if *p == "proxyshell/requests.tsv" {
                    let kept: String = text
                        .lines()
                        .filter(|l| !l.starts_with("target\t/mapi/"))
                        .flat_map(|l| [l, "\n"])
                        .collect();
                    format!("{kept}{add}")
                } else {
                    (*text).to_owned()
                };
                ((*p).to_owned(), text.into_bytes())
            })
            .collect();
        let intel =
            Intel::from_texts(files.iter().map(|(p, t)| (p.as_str(), t.as_slice()))).unwrap();
        std::sync::Arc::new(CheckIntel::from_intel(std::sync::Arc::new(intel)).unwrap())
    };
    let r = run_with(t.root(), opts(edit("")));
    assert!(r.of("PX001").is_empty(), "{:#?}", r.findings);
    t.file(
        format!("{IIS_DIR}/u_ex210813.log"),
        iis(
            "2021-08-13",
            &["2021-08-13 03:04:05 10.0.0.2 POST /autodiscover/autodiscover.json @x.example/added-by-pack/?&Email=autodiscover/autodiscover.json%3F@x.example 443 - 203.0.113.9 python-requests/2.26.0 - 200 0 0 40"],
        ),
    );
    let msgs = |r: &common::Run| -> Vec<String> {
        r.of("PX001").iter().map(|f| f.message.clone().unwrap_or_default()).collect()
    };
    let builtin = msgs(&run_with(t.root(), opts(CheckIntel::builtin())));
    assert!(builtin.len() == 1 && builtin[0].contains("/mapi/"), "{builtin:?}");
    let added =
        "target\t/added-by-pack/\tcritical\ta test row\tA test advisory\t2026-01-05\thigh\n";
    let r = run_with(t.root(), opts(edit(added)));
    let edited = msgs(&r);
    assert!(edited.len() == 1 && edited[0].contains("/added-by-pack/"), "{edited:?}");
    assert_eq!(r.verdict(Campaign::ProxyShell), Some(Verdict::Affected));
}
