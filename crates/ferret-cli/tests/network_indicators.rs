//! `ferret check --rules`: the network indicators (domains, IP addresses, URLs) of STIX and
//! MISP files looked for in DNS, IIS and web-access/proxy logs, one finding per hit naming
//! the indicator's origin; exit 1 without flipping a campaign's verdict; a SUNBURST value in a
//! run that checks SUNBURST is left to SB005; `scan` counts the indicators and says they are
//! for logs.

mod common;

use std::path::Path;

use ferret_testkit::Tree;
use serde_json::Value;

use common::{records, run_with_config as ferret};

const STIX_DOMAIN_ID: &str = "indicator--6a1c3f0e-1b2d-4c5e-8f90-0a1b2c3d4e5f";
const STIX_URL_ID: &str = "indicator--7b2d4a1f-2c3e-4d6f-9a01-1b2c3d4e5f60";
const MISP_EVENT: &str = "5e3b1c7a-0d2f-4c8e-9a41-6f1b2d3c4e5f";
const MISP_ATTR_IP: &str = "a1000006-0000-4000-8000-000000000006";

fn stix() -> String {
    format!(
        r#"{{"type": "bundle", "id": "bundle--0f1e2d3c-4b5a-4968-8776-655443322110", "objects": [
  {{"type": "indicator", "spec_version": "2.1", "id": "{STIX_DOMAIN_ID}",
    "created": "2026-02-01T00:00:00.000Z", "modified": "2026-02-01T00:00:00.000Z",
    "name": "C2 domain of the test intrusion", "pattern_type": "stix",
    "pattern": "[domain-name:value = 'c2.badinfra.example']", "valid_from": "2026-02-01T00:00:00Z"}},
  {{"type": "indicator", "spec_version": "2.1", "id": "{STIX_URL_ID}",
    "created": "2026-02-01T00:00:00.000Z", "modified": "2026-02-01T00:00:00.000Z",
    "name": "Payload URL", "pattern_type": "stix",
    "pattern": "[url:value = 'http://files.dropzone.example/stage2.bin'] OR [ipv6-addr:value = '2001:db8:bad::7']",
    "valid_from": "2026-02-01T00:00:00Z"}},
  {{"type": "indicator", "spec_version": "2.1", "id": "indicator--8c3e5b20-3d4f-4e70-8b12-2c3d4e5f6071",
    "created": "2026-02-01T00:00:00.000Z", "modified": "2026-02-01T00:00:00.000Z",
    "name": "SUNBURST stage-2 domain", "pattern_type": "stix",
    "pattern": "[domain-name:value = 'freescanonline.com']", "valid_from": "2026-02-01T00:00:00Z"}}
]}}"#
    )
}

fn misp() -> String {
    format!(
        r#"{{"Event": {{"id": "1207", "orgc_id": "2", "org_id": "1", "date": "2026-03-02",
  "threat_level_id": "1", "info": "Edge appliance intrusion (fixture)", "published": true,
  "uuid": "{MISP_EVENT}", "analysis": "2", "timestamp": "1772409600", "distribution": "1",
  "Orgc": {{"id": "2", "name": "Example CERT", "uuid": "55f6ea5e-2c60-40e5-964f-47a8950d210f"}},
  "Attribute": [
    {{"id": "90006", "type": "ip-dst", "category": "Network activity", "to_ids": true,
      "uuid": "{MISP_ATTR_IP}", "event_id": "1207", "deleted": false, "object_relation": null,
      "timestamp": "1772409600", "value": "198.51.100.77", "comment": ""}},
    {{"id": "90007", "type": "domain", "category": "Network activity", "to_ids": false,
      "uuid": "a1000007-0000-4000-8000-000000000007", "event_id": "1207", "deleted": false,
      "object_relation": null, "timestamp": "1772409600", "value": "not-for-ids.example",
      "comment": ""}}
  ]}}}}"#
    )
}

fn rules(t: &Tree) {
    t.file("intel-in/stix.json", stix());
    t.file("intel-in/event.json", misp());
}

const IIS_HEADER: &str = "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Date: 2026-03-05 00:00:00\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n";

/// DNS, IIS and access/proxy logs of a host; `bad` adds the contacts with the indicators.
fn host(bad: bool) -> Tree {
    let t = Tree::new();
    let mut dns = String::new();
    let mut iis = IIS_HEADER.to_owned();
    let mut access = String::new();
    for i in 0..20 {
        dns.push_str(&format!(
            "05-Mar-2026 09:00:{i:02}.000 queries: info: client @0x7f1c2c0a1b80 10.0.0.5#52{i:03} (www.example.org): query: www.example.org IN A + (10.0.0.1)\n"
        ));
        iis.push_str(&format!(
            "2026-03-05 09:00:{i:02} 10.0.0.2 GET /owa/auth/logon.aspx - 443 - 192.0.2.{i} Mozilla/5.0 - 200 0 0 3\n"
        ));
        access.push_str(&format!(
            "10.0.0.{i} - - [05/Mar/2026:09:00:{i:02} +0000] \"GET http://www.example.org/index.html HTTP/1.1\" 200 512 \"-\" \"Mozilla/5.0\"\n"
        ));
    }
    if bad {
        dns.push_str("05-Mar-2026 09:01:00.000 queries: info: client @0x7f1c2c0a1b80 10.0.0.5#53001 (cdn.c2.badinfra.example): query: cdn.c2.badinfra.example IN A + (10.0.0.1)\n");
        dns.push_str("05-Mar-2026 09:01:01.000 queries: info: client @0x7f1c2c0a1b80 10.0.0.5#53002 (freescanonline.com): query: freescanonline.com IN A + (10.0.0.1)\n");
        dns.push_str("05-Mar-2026 09:01:02.000 queries: info: client @0x7f1c2c0a1b80 10.0.0.5#53003 (not-for-ids.example): query: not-for-ids.example IN A + (10.0.0.1)\n");
        iis.push_str("2026-03-05 09:02:00 10.0.0.2 POST /owa/auth/x.aspx - 443 - 198.51.100.77 python-requests/2.31 - 200 0 0 40\n");
        access.push_str("10.0.0.9 - - [05/Mar/2026:09:03:00 +0000] \"GET HTTP://files.dropzone.example/stage2.bin HTTP/1.1\" 200 51200 \"-\" \"curl/8.0\"\n");
        access.push_str("2001:db8:bad::7 - - [05/Mar/2026:09:03:01 +0000] \"GET /index.html HTTP/1.1\" 200 51 \"-\" \"curl/8.0\"\n");
    }
    t.file("var/log/named/queries.log", dns);
    t.file("inetpub/logs/LogFiles/W3SVC1/u_ex260305.log", iis);
    t.file("var/log/squid/access.log", access);
    t
}

fn network_findings(recs: &[Value]) -> Vec<&Value> {
    recs.iter()
        .filter(|v| v["type"] == "finding" && v["details"]["network_indicator"].is_string())
        .collect()
}

fn check(t: &Tree, rules_dir: &Path, extra: &[&str]) -> (i32, Vec<Value>, String) {
    let logs = t.root().join("var");
    let iis = t.root().join("inetpub");
    let mut args = vec!["check", "--format", "jsonl", "-q", "--rules", rules_dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.push(logs.to_str().unwrap());
    args.push(iis.to_str().unwrap());
    let (code, out, err) = ferret(&args, t.root());
    (code, records(&out), format!("{out}{err}"))
}

#[test]
fn network_indicators_of_stix_and_misp_are_found_in_dns_iis_and_access_logs() {
    let t = host(true);
    rules(&t);
    let rules_dir = t.root().join("intel-in");
    let (code, recs, text) = check(&t, &rules_dir, &["--campaign", "proxylogon"]);
    assert_eq!(code, 1, "{text}");
    let hits = network_findings(&recs);
    let values: Vec<&str> =
        hits.iter().map(|f| f["details"]["network_indicator"].as_str().unwrap()).collect();
    // The SUNBURST domain is a finding here: SUNBURST is not checked in this run. The MISP
    // domain without to_ids is not an indicator.
    let mut sorted = values.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "198.51.100.77",
            "2001:db8:bad::7",
            "c2.badinfra.example",
            "freescanonline.com",
            "http://files.dropzone.example/stage2.bin"
        ],
        "{text}"
    );
    let by = |v: &str| hits.iter().find(|f| f["details"]["network_indicator"] == v).unwrap();
    let dom = by("c2.badinfra.example").to_string();
    assert!(dom.contains(STIX_DOMAIN_ID) && dom.contains("queries.log"), "{dom}");
    assert!(dom.contains("cdn.c2.badinfra.example"), "the name seen: {dom}");
    let ip = by("198.51.100.77").to_string();
    assert!(
        ip.contains(MISP_EVENT) && ip.contains(MISP_ATTR_IP) && ip.contains("u_ex260305"),
        "{ip}"
    );
    assert!(by("http://files.dropzone.example/stage2.bin").to_string().contains(STIX_URL_ID));
    // No campaign verdict is flipped by them.
    let summary = recs.iter().find(|v| v["type"] == "summary").unwrap();
    let verdicts = summary["details"]["verdicts"].to_string();
    assert!(!verdicts.contains("\"affected\"") && !verdicts.contains("AFFECTED"), "{verdicts}");
    assert!(summary.to_string().contains("network indicator(s)"), "{summary}");
}

#[test]
fn a_sunburst_value_is_left_to_sb005_when_sunburst_is_checked() {
    let t = host(true);
    rules(&t);
    let rules_dir = t.root().join("intel-in");
    let (code, recs, text) = check(&t, &rules_dir, &["--campaign", "sunburst"]);
    assert_eq!(code, 1, "{text}");
    let hits = network_findings(&recs);
    assert!(
        hits.iter().all(|f| f["details"]["network_indicator"] != "freescanonline.com"),
        "{text}"
    );
    assert_eq!(hits.len(), 4, "{text}");
    let sb005 =
        recs.iter().filter(|v| v["type"] == "finding" && v["rule"]["id"] == "SB005").count();
    assert_eq!(sb005, 1, "{text}");
}

#[test]
fn benign_logs_give_no_network_finding() {
    let t = host(false);
    rules(&t);
    let rules_dir = t.root().join("intel-in");
    let (code, recs, text) = check(&t, &rules_dir, &["--campaign", "proxylogon"]);
    assert!(network_findings(&recs).is_empty(), "{text}");
    assert_ne!(code, 1, "{text}");
}

#[test]
fn scan_counts_network_indicators_and_says_they_are_for_logs() {
    let t = Tree::new();
    rules(&t);
    t.file("data/readme.txt", "nothing here");
    let rules_dir = t.root().join("intel-in");
    let data = t.root().join("data");
    let (code, out, err) = ferret(
        &[
            "scan",
            "--format",
            "jsonl",
            "-q",
            "--rules",
            rules_dir.to_str().unwrap(),
            data.to_str().unwrap(),
        ],
        t.root(),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("not loaded"), "{out}");
    assert!(out.contains("ferret check --rules"), "{out}");
}
