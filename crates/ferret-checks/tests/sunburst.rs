//! SUNBURST detectors over a fake Orion tree and DNS logs built at test time: beacon names are
//! encoded with the decoder's own encoder (the published algorithm), file fixtures are inert
//! bytes (a PE-shaped version resource, placeholder DLLs). The benign fixtures raise nothing.

mod common;

use common::{Run, run_with};
use ferret_checks::sunburst::dga::{Status, encode_domain, encode_status, user_id};
use ferret_checks::sunburst::pe_version::pe_with_version;
use ferret_checks::{Campaign, CheckOptions};
use ferret_core::{Severity, Verdict};
use ferret_testkit::Tree;

const ORION: &str = "Program Files (x86)/SolarWinds/Orion";
const MAC: &str = "00:50:56:A1:B2:C3";
const DOMAIN: &str = "corp.example-industries.com";
const GUID: &str = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f";

fn run(root: &std::path::Path, hosts: &[&str]) -> Run {
    run_with(
        root,
        CheckOptions {
            campaigns: vec![Campaign::Sunburst],
            match_hosts: hosts.iter().map(|s| (*s).to_owned()).collect(),
            ..CheckOptions::default()
        },
    )
}

fn assert_only(r: &Run, code: &str) {
    let others: Vec<_> = r.findings.iter().filter(|f| f.rule.id != code).collect();
    assert!(others.is_empty(), "unexpected findings: {others:#?}");
    assert!(!r.of(code).is_empty(), "no {code} finding: {:#?}", r.findings);
}

const CONFIG: &str = "<?xml version=\"1.0\"?>\n<configuration>\n  <appSettings>\n    <add key=\"ReportWatcherPollInterval\" value=\"60\" />\n  </appSettings>\n</configuration>\n";

/// A clean Orion install (a fixed release) and a quiet resolver log.
fn benign_tree() -> Tree {
    let t = Tree::new();
    t.file(
        format!("{ORION}/SolarWinds.Orion.Core.BusinessLayer.dll"),
        pe_with_version([2020, 2, 15300, 12766], b"clean build"),
    );
    t.file(format!("{ORION}/SolarWinds.Orion.Core.BusinessLayer.dll.config"), CONFIG);
    t.file(format!("{ORION}/SolarWinds.Orion.Core.Common.dll"), b"MZ placeholder");
    t.file(
        "Windows/Microsoft.NET/Framework64/v4.0.30319/Temporary ASP.NET Files/orion/1/App_Web_default.aspx.cdcab7d2.dll",
        b"MZ placeholder",
    );
    t.file("Windows/SysWOW64/netapi32.dll", b"MZ placeholder");
    t.file("dns/named-queries.log", bind_log(&[]));
    t.file("inetpub/logs/LogFiles/W3SVC1/u_ex201215.log", iis_log(&[]));
    t
}

const IIS_HEADER: &str = "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Date: 2020-12-15 00:00:00\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n";

fn iis_log(extra: &[&str]) -> String {
    let mut s = IIS_HEADER.to_owned();
    for i in 0..30 {
        s.push_str(&format!(
            "2020-12-15 08:{i:02}:00 10.20.30.5 GET /Orion/LogoImageHandler.ashx id=SitelogoImage&time={i} 443 admin 10.20.30.77 Mozilla/5.0+(Windows+NT+10.0) - 200 0 0 12\n"
        ));
        s.push_str(&format!(
            "2020-12-15 08:{i:02}:30 10.20.30.5 GET /Orion/SummaryView.aspx - 443 admin 10.20.30.77 Mozilla/5.0+(Windows+NT+10.0) - 200 0 0 80\n"
        ));
    }
    for l in extra {
        s.push_str(l);
        s.push('\n');
    }
    s
}

fn bind_line(sec: u32, name: &str) -> String {
    format!(
        "27-Nov-2020 03:{:02}:{:02}.123 queries: info: client @0x7f1c 10.20.30.40#52719 ({name}): query: {name} IN A +E(0)K (10.20.30.1)\n",
        sec / 60 % 60,
        sec % 60
    )
}

fn bind_log(extra: &[String]) -> String {
    let mut s = String::new();
    for (i, n) in [
        "www.example.org",
        "update.microsoft.com",
        "api.solarwinds.com",
        "intranet.corp.example-industries.com",
    ]
    .iter()
    .cycle()
    .take(40)
    .enumerate()
    {
        s.push_str(&bind_line(u32::try_from(i).unwrap_or(0) * 7, n));
    }
    for (i, n) in extra.iter().enumerate() {
        s.push_str(&bind_line(400 + u32::try_from(i).unwrap_or(0) * 11, n));
    }
    s
}

#[test]
fn benign_raises_nothing() {
    let t = benign_tree();
    let r = run(t.root(), &[]);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(r.verdict(Campaign::Sunburst), Some(Verdict::NotFound));
}

#[test]
fn sb001_trojanized_version() {
    let t = benign_tree();
    t.file(
        format!("{ORION}/SolarWinds.Orion.Core.BusinessLayer.dll"),
        pe_with_version([2020, 2, 5200, 12394], b"unknown build"),
    );
    let r = run(t.root(), &[]);
    assert_only(&r, "SB001");
    let f = r.of("SB001")[0];
    assert_eq!(f.severity, Severity::High);
    assert!(f.evidence.iter().any(|e| e.label == "file_version" && e.data == "2020.2.5200.12394"));
    assert_eq!(r.verdict(Campaign::Sunburst), Some(Verdict::Affected));
}

#[test]
fn sb002_supernova_by_content_and_teardrop_by_path() {
    let t = benign_tree();
    let asp = "Windows/Microsoft.NET/Framework64/v4.0.30319/Temporary ASP.NET Files/orion/2";
    // SUPERNOVA-like content (assembled from split literals) in Orion's compiled logo handler.
    let shell = [
        "MZ inert ",
        "Solar",
        "Winds.Orion.Web ",
        "Dynamic",
        "Run ",
        "cla",
        "zz ",
        "co",
        "des ",
        "met",
        "hod ",
        "ar",
        "gs",
    ]
    .concat();
    t.file(format!("{asp}/App_Web_logoimagehandler.ashx.b6031896.dll"), shell.as_bytes());
    t.file("Windows/SysWOW64/NetSetupSvc.dll", b"MZ inert placeholder");
    let r = run(t.root(), &[]);
    assert_only(&r, "SB002");
    let hits = r.of("SB002");
    assert_eq!(hits.len(), 2, "{hits:#?}");
    assert!(hits.iter().any(|f| f.evidence.iter().any(|e| e.data == "SUPERNOVA")));
    assert!(hits.iter().any(|f| f.evidence.iter().any(|e| e.data == "TEARDROP")));
    assert!(hits.iter().all(|f| Severity::from_score(f.score) == f.severity), "{hits:#?}");
}

/// Orion's own compiled logo handler and hotfix are product files: never a finding by name.
#[test]
fn sb002_genuine_orion_files_are_not_name_findings() {
    let t = benign_tree();
    let asp = "Windows/Microsoft.NET/Framework64/v4.0.30319/Temporary ASP.NET Files/orion/2";
    t.file(
        format!("{asp}/App_Web_logoimagehandler.ashx.b6031896.dll"),
        b"MZ genuine compiled LogoImageHandler: ProcessRequest IHttpHandler NoLogo.gif",
    );
    t.file(format!("{ORION}/SolarWinds-Core-v2019.4.5220-Hotfix5.msp"), b"MSI genuine hotfix");
    let r = run(t.root(), &[]);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

#[test]
fn sb003_report_watcher_retry() {
    let t = benign_tree();
    t.file(
        format!("{ORION}/SolarWinds.Orion.Core.BusinessLayer.dll.config"),
        CONFIG.replace(
            "  </appSettings>",
            "    <add key=\"ReportWatcherRetry\" value=\"5\" />\n  </appSettings>",
        ),
    );
    let r = run(t.root(), &[]);
    assert_only(&r, "SB003");
    assert_eq!(r.of("SB003")[0].severity, Severity::Medium);
    // A lead only: the verdict stays NOT FOUND, with a lead to review.
    assert_eq!(r.verdict(Campaign::Sunburst), Some(Verdict::NotFound));
}

fn beacon_names() -> Vec<String> {
    let id = user_id(MAC, DOMAIN, GUID);
    let mut names = encode_domain(&id, DOMAIN, 7);
    names.push(encode_status(
        &id,
        &Status { time: 1_592_000_000 / 1800 * 1800, stage2: true, products: None },
        9,
    ));
    names
}

#[test]
fn sb004_beacons_decoded_and_matched_to_this_host() {
    let t = benign_tree();
    t.file("dns/named-queries.log", bind_log(&beacon_names()));
    let host = format!("mac={MAC},domain={DOMAIN},guid={GUID}");
    let r = run(t.root(), &[&host]);
    assert_only(&r, "SB004");
    let hits = r.of("SB004");
    assert_eq!(hits.len(), 1, "{hits:#?}");
    let f = hits[0];
    assert_eq!(f.severity, Severity::Critical);
    let ev = |l: &str| f.evidence.iter().find(|e| e.label == l).map(|e| e.data.clone());
    assert_eq!(ev("domain").as_deref(), Some(DOMAIN));
    assert_eq!(ev("stage2").as_deref(), Some("true"));
    assert!(ev("host_match").unwrap_or_default().starts_with("this host"));
    assert!(ev("first_seen").is_some() && ev("last_seen").is_some());

    // Another host's identity: still evidence for the site, not this host.
    let other =
        "00:11:22:33:44:55,corp.example-industries.com,11111111-2222-3333-4444-555555555555";
    let r = run(t.root(), &[other]);
    let f = r.of("SB004")[0];
    assert_eq!(f.severity, Severity::High);
    assert!(f.evidence.iter().any(|e| e.label == "host_match" && e.data.starts_with("none")));
}

#[test]
fn sb004_bad_match_host_stops_the_run() {
    let t = benign_tree();
    let opts = CheckOptions {
        paths: vec![t.root().to_path_buf()],
        campaigns: vec![Campaign::Sunburst],
        match_hosts: vec!["mac=1,colour=blue".to_owned()],
        ..CheckOptions::default()
    };
    let e = ferret_checks::check(&opts, &ferret_core::Collector::new(), &ferret_core::NullProgress)
        .unwrap_err();
    assert!(e.to_string().contains("--match-host"), "{e}");
}

#[test]
fn sb005_stage2_domain_in_dns() {
    let t = benign_tree();
    t.file("dns/named-queries.log", bind_log(&["cdn.deftsecurity.com".to_owned()]));
    let r = run(t.root(), &[]);
    assert_only(&r, "SB005");
    let f = r.of("SB005")[0];
    assert_eq!(f.severity, Severity::High);
    assert!(f.log.as_ref().and_then(|l| l.line).is_some());
}

#[test]
fn published_cname_beacons_decode() {
    // The six beacon names of FireEye's network indicator list.
    for n in [
        "6a57jk2ba1d9keg15cbg.appsync-api.eu-west-1.avsvmcloud.com",
        "7sbvaemscs0mc925tb99.appsync-api.us-west-2.avsvmcloud.com",
        "gq1h856599gqh538acqn.appsync-api.us-west-2.avsvmcloud.com",
        "ihvpgv9psvq02ffo77et.appsync-api.us-east-2.avsvmcloud.com",
        "k5kcubuassl3alrf7gm3.appsync-api.eu-west-1.avsvmcloud.com",
        "mhdosoksaccf9sni9icp.appsync-api.eu-west-1.avsvmcloud.com",
    ] {
        assert!(ferret_checks::sunburst::dga::parse_query(n).is_some(), "{n}");
    }
}

#[test]
fn sb006_supernova_request_in_iis_log() {
    let t = benign_tree();
    t.file(
        "inetpub/logs/LogFiles/W3SVC1/u_ex201215.log",
        iis_log(&["2020-12-15 09:10:00 10.20.30.5 GET /Orion/LogoImageHandler.ashx codes=dXNpbmcgU3lzdGVt&clazz=Foo&method=Run&args=whoami 443 - 198.51.100.23 python-requests/2.25 - 200 0 0 310"]),
    );
    let r = run(t.root(), &[]);
    assert_only(&r, "SB006");
    let f = r.of("SB006")[0];
    assert_eq!(f.severity, Severity::High);
    assert_eq!(f.log.as_ref().and_then(|l| l.line), Some(65));
}
