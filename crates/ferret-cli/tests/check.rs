//! `ferret check` end to end: verdicts and exit statuses over a fake Exchange tree, in text,
//! JSONL and CSV; a named campaign with no inputs; a bad campaign name.

use std::path::Path;

use assert_cmd::Command;
use ferret_testkit::Tree;
use serde_json::Value;

const V15: &str = "Program Files/Microsoft/Exchange Server/V15";
const IIS_HEADER: &str = "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n";

/// An Exchange server's drive: the product's pages, IIS logs of ordinary traffic.
fn clean_host() -> Tree {
    let t = Tree::new();
    t.file(
        format!("{V15}/FrontEnd/HttpProxy/owa/auth/logon.aspx"),
        "<%@ Page Language=\"C#\" %>sign in",
    );
    t.file("inetpub/wwwroot/aspnet_client/system_web/4_0_30319/readme.txt", "client files");
    let mut log = IIS_HEADER.to_owned();
    for i in 0..10 {
        log.push_str(&format!(
            "2021-02-01 10:00:0{i} 10.0.0.2 GET /owa/ - 443 - 192.0.2.{i} Mozilla/5.0+(Windows+NT+10.0) - 200 0 0 5\n"
        ));
    }
    t.file("inetpub/logs/LogFiles/W3SVC1/u_ex210201.log", log);
    t
}

fn ferret(args: &[&str], path: &Path) -> (i32, String) {
    let out = Command::cargo_bin("ferret")
        .unwrap()
        .arg("check")
        .args(args)
        .arg("-q")
        .arg(path)
        .output()
        .unwrap();
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned())
}

fn summary(jsonl: &str) -> Value {
    jsonl
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["type"] == "summary")
        .unwrap()
}

#[test]
fn clean_host_is_not_found_and_exits_zero() {
    let t = clean_host();
    let (code, out) = ferret(&["--format", "jsonl"], t.root());
    assert_eq!(code, 0, "{out}");
    let s = summary(&out);
    let v = &s["details"]["verdicts"];
    assert_eq!(v.as_array().unwrap().len(), 1, "only the campaign with inputs: {v}");
    assert_eq!(v[0]["campaign"], "proxylogon");
    assert_eq!(v[0]["verdict"], "not_found");
    assert_eq!(v[0]["sources"][0]["source"], "iis");
    assert_eq!(v[0]["sources"][0]["first"], "2021-02-01T10:00:00Z");
    assert!(v[0]["not_checked"].to_string().contains("PL002"), "{v}");
}

#[test]
fn planted_shell_is_affected_and_exits_one() {
    let t = clean_host();
    let shell = concat!(
        "<script language=\"JScript\" ",
        "runat=\"server\">function Page_Load(){",
        "ev",
        "al(Request[\"k\"],\"unsafe\");}</script>"
    );
    t.file(format!("{V15}/FrontEnd/HttpProxy/owa/auth/errorPages.aspx"), shell);
    let (code, out) = ferret(&[], t.root());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Verdicts:"), "{out}");
    assert!(out.contains("proxylogon") && out.contains("AFFECTED"), "{out}");
    assert!(out.contains("PL006"), "{out}");
    let (code, csv) = ferret(&["--format", "csv"], t.root());
    assert_eq!(code, 1);
    assert!(csv.lines().any(|l| l.starts_with("verdict,check,,,proxylogon,AFFECTED")), "{csv}");
    assert!(
        csv.lines().any(|l| l.starts_with("finding,check,critical,") && l.contains("PL006")),
        "{csv}"
    );
}

#[test]
fn named_campaign_without_inputs_is_unknown_and_exits_three() {
    let t = clean_host();
    let (code, out) = ferret(&["--campaign", "sunburst", "--format", "jsonl"], t.root());
    assert_eq!(code, 3, "{out}");
    let s = summary(&out);
    assert_eq!(s["details"]["verdicts"][0]["verdict"], "unknown");
    assert_eq!(s["complete"], false);
}

#[test]
fn unknown_campaign_is_a_usage_error() {
    let t = clean_host();
    let (code, _) = ferret(&["--campaign", "nimda"], t.root());
    assert_eq!(code, 2);
}
