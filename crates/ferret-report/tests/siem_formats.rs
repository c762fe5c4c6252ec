//! The timeline and SIEM formats: golden files (run with `FERRET_BLESS=1` to rewrite them after
//! a deliberate change), and each record checked against the rules of its published schema,
//! written out here: ECS 8 field types and allowed values, the OCSF attributes class 2004
//! (Detection Finding) and class 6007 (Scan Activity) require, Timesketch's required fields,
//! and the CEF header and escaping.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use chrono::DateTime;
use serde_json::Value;

fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden").join(name);
    if std::env::var_os("FERRET_BLESS").is_some() {
        #[expect(clippy::disallowed_methods, reason = "rewrites the test's own golden file")]
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (FERRET_BLESS=1 writes it)", path.display()));
    assert!(
        expected == actual,
        "{} differs (FERRET_BLESS=1 rewrites it after a deliberate change)\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

fn lines(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Every leaf of a document as (dotted path, value); arrays of scalars are leaves.
fn leaves(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                leaves(&p, x, out);
            }
        }
        other => out.push((prefix.to_owned(), other.clone())),
    }
}

// ---------------------------------------------------------------- golden files

#[test]
fn timesketch_golden() {
    golden("report.timesketch.jsonl", &common::render(ferret_report::timesketch::write));
}

#[test]
fn ecs_golden() {
    golden("report.ecs.ndjson", &common::render(ferret_report::ecs::write));
}

#[test]
fn ocsf_golden() {
    golden("report.ocsf.jsonl", &common::render(ferret_report::ocsf::write));
}

#[test]
fn cef_golden() {
    golden("report.cef", &common::render(ferret_report::cef::write));
}

#[test]
fn syslog_golden() {
    let msgs = ferret_report::syslog::messages(&common::fixture(), 4711);
    golden("report.syslog", &(msgs.join("\n") + "\n"));
}

// ---------------------------------------------------------------- Timesketch

#[test]
fn timesketch_records_have_the_required_fields() {
    let recs = lines(&common::render(ferret_report::timesketch::write));
    let r = common::fixture();
    assert_eq!(recs.len(), r.findings.len() + r.problems.len() + 1);
    for rec in &recs {
        let obj = rec.as_object().unwrap();
        // Required by the JSONL importer: message, datetime (ISO 8601), timestamp_desc.
        let msg = obj["message"].as_str().expect("message is a string");
        assert!(!msg.is_empty());
        let dt = DateTime::parse_from_rfc3339(obj["datetime"].as_str().unwrap())
            .expect("datetime is RFC 3339");
        assert!(!obj["timestamp_desc"].as_str().unwrap().is_empty());
        // timestamp, when present, is microseconds and agrees with datetime.
        assert_eq!(obj["timestamp"].as_i64().unwrap(), dt.timestamp_micros());
        // Flattened: no nested objects or arrays.
        for (k, v) in obj {
            assert!(!v.is_object() && !v.is_array(), "{k} is not flat");
            assert!(!k.contains('.'), "{k}: dots make nested fields in OpenSearch");
        }
    }
    let sigma = recs.iter().find(|x| x["engine"] == "sigma").unwrap();
    assert_eq!(sigma["timestamp_desc"], "Event Time");
    assert_eq!(sigma["datetime"], "2026-02-27T23:59:58.000000Z");
    assert_eq!(sigma["detail_event_id"], 4688);
    let file = recs.iter().find(|x| x["engine"] == "yara").unwrap();
    assert_eq!(file["timestamp_desc"], "Run Finished");
    assert_eq!(file["path_b64"], "L3Nydi93d3cvdXD/bG9hZD0xXGEuYXNweA==");
    let summary = recs.last().unwrap();
    assert_eq!(summary["data_type"], "ferret:summary");
    assert_eq!(summary["complete"], false);
    assert_eq!(summary["problems_total"], 2);
    assert_eq!(summary["verdict_proxylogon"], "AFFECTED");
    assert_eq!(recs.iter().filter(|x| x["data_type"] == "ferret:problem").count(), 2);
}

// ---------------------------------------------------------------- ECS

#[derive(Clone, Copy, Debug)]
enum EcsType {
    Keyword,
    Text,
    Long,
    Float,
    Date,
    Ip,
}

/// The ECS 8 fields ferret emits, with their types from the ECS field reference.
const ECS_FIELDS: &[(&str, EcsType)] = {
    use EcsType::*;
    &[
        ("@timestamp", Date),
        ("message", Text),
        ("tags", Keyword),
        ("ecs.version", Keyword),
        ("agent.type", Keyword),
        ("agent.name", Keyword),
        ("agent.version", Keyword),
        ("host.name", Keyword),
        ("host.hostname", Keyword),
        ("event.kind", Keyword),
        ("event.category", Keyword),
        ("event.type", Keyword),
        ("event.outcome", Keyword),
        ("event.action", Keyword),
        ("event.module", Keyword),
        ("event.dataset", Keyword),
        ("event.provider", Keyword),
        ("event.id", Keyword),
        ("event.code", Keyword),
        ("event.reason", Keyword),
        ("event.severity", Long),
        ("event.risk_score", Float),
        ("event.created", Date),
        ("event.start", Date),
        ("event.end", Date),
        ("event.duration", Long),
        ("log.level", Keyword),
        ("log.file.path", Keyword),
        ("rule.id", Keyword),
        ("rule.name", Keyword),
        ("rule.ruleset", Keyword),
        ("rule.reference", Keyword),
        ("rule.category", Keyword),
        ("file.path", Keyword),
        ("file.name", Keyword),
        ("file.directory", Keyword),
        ("file.size", Long),
        ("file.hash.sha256", Keyword),
        ("process.executable", Keyword),
        ("process.command_line", Keyword),
        ("process.parent.executable", Keyword),
        ("process.parent.command_line", Keyword),
        ("url.original", Keyword),
        ("url.path", Keyword),
        ("threat.framework", Keyword),
        ("threat.group.name", Keyword),
        ("threat.technique.id", Keyword),
        ("threat.software.name", Keyword),
        ("threat.software.type", Keyword),
        ("threat.indicator.type", Keyword),
        ("threat.indicator.provider", Keyword),
        ("threat.indicator.ip", Ip),
        ("threat.indicator.url.domain", Keyword),
        ("threat.indicator.url.full", Keyword),
        ("threat.indicator.file.hash.md5", Keyword),
        ("threat.indicator.file.hash.sha1", Keyword),
        ("threat.indicator.file.hash.sha256", Keyword),
        ("error.type", Keyword),
        ("error.message", Text),
    ]
};

/// Allowed values of the ECS categorization fields (ECS 8 "ECS Categorization Fields").
const EVENT_KIND: &[&str] =
    &["alert", "asset", "enrichment", "event", "metric", "state", "pipeline_error", "signal"];
const EVENT_CATEGORY: &[&str] = &[
    "api",
    "authentication",
    "configuration",
    "database",
    "driver",
    "email",
    "file",
    "host",
    "iam",
    "intrusion_detection",
    "library",
    "malware",
    "network",
    "package",
    "process",
    "registry",
    "session",
    "threat",
    "vulnerability",
    "web",
];
const EVENT_TYPE: &[&str] = &[
    "access",
    "admin",
    "allowed",
    "change",
    "connection",
    "creation",
    "deletion",
    "denied",
    "device",
    "end",
    "error",
    "group",
    "indicator",
    "info",
    "installation",
    "protocol",
    "start",
    "user",
];
const EVENT_OUTCOME: &[&str] = &["failure", "success", "unknown"];
/// Allowed values of `threat.indicator.type` (ECS 8 threat fields, from STIX 2.1 cyber
/// observables) and `threat.software.type`.
const INDICATOR_TYPE: &[&str] = &[
    "autonomous-system",
    "artifact",
    "directory",
    "domain-name",
    "email-addr",
    "file",
    "ipv4-addr",
    "ipv6-addr",
    "mac-addr",
    "mutex",
    "port",
    "process",
    "software",
    "url",
    "user-account",
    "windows-registry-key",
    "x509-certificate",
];
const SOFTWARE_TYPE: &[&str] = &["Malware", "Tool"];

fn check_ecs_value(field: &str, ty: EcsType, v: &Value) {
    let scalars: Vec<&Value> = match v {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    for s in scalars {
        let ok = match ty {
            EcsType::Keyword | EcsType::Text => s.is_string(),
            EcsType::Long => s.is_i64() || s.is_u64(),
            EcsType::Float => s.is_number(),
            EcsType::Date => s.as_str().is_some_and(|t| DateTime::parse_from_rfc3339(t).is_ok()),
            EcsType::Ip => s.as_str().is_some_and(|t| t.parse::<std::net::IpAddr>().is_ok()),
        };
        assert!(ok, "{field}: {s} is not an ECS {ty:?}");
    }
}

fn allowed(field: &str, v: &Value, values: &[&str]) {
    let items: Vec<&Value> = match v {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    for x in items {
        let s = x.as_str().unwrap_or_else(|| panic!("{field}: {x} is not a string"));
        assert!(values.contains(&s), "{field}: {s:?} is not an allowed value");
    }
}

/// Checks every document against the field reference: types, required fields, allowed values.
fn validate_ecs(docs: &[Value]) {
    for d in docs {
        let mut all = Vec::new();
        leaves("", d, &mut all);
        for (field, v) in &all {
            if field.starts_with("ferret.") {
                continue;
            }
            let ty = ECS_FIELDS
                .iter()
                .find(|(f, _)| f == field)
                .unwrap_or_else(|| {
                    panic!("{field} is neither an ECS field ferret knows nor under ferret.*")
                })
                .1;
            check_ecs_value(field, ty, v);
        }
        for required in ["@timestamp", "ecs.version", "event.kind", "event.category", "message"] {
            assert!(all.iter().any(|(f, _)| f == required), "{required} missing in {d}");
        }
        allowed("event.kind", &d["event"]["kind"], EVENT_KIND);
        allowed("event.category", &d["event"]["category"], EVENT_CATEGORY);
        allowed("event.type", &d["event"]["type"], EVENT_TYPE);
        if !d["event"]["outcome"].is_null() {
            allowed("event.outcome", &d["event"]["outcome"], EVENT_OUTCOME);
        }
        assert!(d["event"]["category"].is_array() && d["event"]["type"].is_array());
        if !d["threat"]["indicator"]["type"].is_null() {
            allowed("threat.indicator.type", &d["threat"]["indicator"]["type"], INDICATOR_TYPE);
        }
        if !d["threat"]["software"]["type"].is_null() {
            allowed("threat.software.type", &d["threat"]["software"]["type"], SOFTWARE_TYPE);
        }
    }
}

#[test]
fn ecs_documents_follow_the_field_reference() {
    let docs = lines(&common::render(ferret_report::ecs::write));
    let r = common::fixture();
    assert_eq!(docs.len(), r.findings.len() + r.problems.len() + 1);
    validate_ecs(&docs);
    let alerts: Vec<&Value> = docs.iter().filter(|d| d["event"]["kind"] == "alert").collect();
    assert_eq!(alerts.len(), 3);
    let sigma = alerts.iter().find(|d| d["ferret"]["engine"] == "sigma").unwrap();
    assert_eq!(sigma["@timestamp"], "2026-02-27T23:59:58.000Z");
    assert_eq!(sigma["event"]["code"], "4688");
    assert_eq!(sigma["threat"]["technique"]["id"], serde_json::json!(["T1059.001"]));
    assert!(sigma["process"]["command_line"].as_str().unwrap().starts_with("powershell -enc"));
    assert_eq!(sigma["log"]["file"]["path"], "C:/Windows/System32/winevt/Logs/Security.evtx");
    let check = alerts.iter().find(|d| d["ferret"]["engine"] == "check").unwrap();
    assert_eq!(check["rule"]["category"], "proxylogon");
    assert_eq!(check["file"]["name"], "x.aspx");
    let problems: Vec<&Value> =
        docs.iter().filter(|d| d["event"]["dataset"] == "ferret.problem").collect();
    assert_eq!(problems.len(), 2);
    assert!(problems.iter().all(|p| p["event"]["outcome"] == "failure"));
    let summary = docs.last().unwrap();
    assert_eq!(summary["event"]["dataset"], "ferret.summary");
    assert_eq!(summary["event"]["outcome"], "failure", "an incomplete run is a failure");
    assert_eq!(summary["ferret"]["summary"]["complete"], false);
    assert_eq!(summary["event"]["duration"], 83_000_000_000_i64);
}

/// ECS documents of findings that carry threat context: a campaign detector naming a family,
/// the network pass naming a domain, an address and a URL, and a hash indicator.
fn threat_docs() -> Vec<Value> {
    use ferret_core::{Engine, Evidence, Finding, RuleRef, Severity};
    let ev =
        |label: &str, data: &str| Evidence { label: label.into(), offset: None, data: data.into() };
    let rule = |id: &str, source: &str| RuleRef {
        id: id.into(),
        name: id.into(),
        source: Some(source.into()),
        references: vec![],
    };
    let mut family =
        Finding::new(Engine::Check, rule("PS004", "builtin:ferret-checks"), Severity::Critical)
            .with_path("/home/perl/DSUpgrade.pm")
            .with_detail("campaign", "pulse-secure");
    family.push_evidence(ev("family", "ATRIUM"));
    let mut findings = vec![family];
    for value in ["c2.example.org", "192.0.2.7", "2001:db8::7", "https://c2.example.org/a"] {
        let mut f = Finding::new(Engine::Check, rule("NET001", "feeds/bad.txt"), Severity::High)
            .with_path("/var/log/dns/query.log")
            .with_detail("network_indicator", value);
        f.push_evidence(ev("indicator", value));
        f.push_evidence(ev("indicator_source", "feeds/bad.txt:3"));
        findings.push(f);
    }
    let mut hash = Finding::new(Engine::Hash, rule("bad-hash", "iocs/hash.txt:1"), Severity::High)
        .with_path("/srv/www/a.aspx");
    hash.push_evidence(ev("sha1", &"ab".repeat(20)));
    findings.push(hash);
    let mut r = ferret_testkit::report::report("run-threat", findings);
    r.count_findings();
    let mut out = Vec::new();
    ferret_report::ecs::write(&r, &mut out).unwrap();
    lines(&String::from_utf8(out).unwrap())
}

#[test]
fn ecs_threat_fields_name_the_family_and_the_indicator() {
    let docs = threat_docs();
    validate_ecs(&docs);
    let alerts: Vec<&Value> = docs.iter().filter(|d| d["event"]["kind"] == "alert").collect();
    assert_eq!(alerts.len(), 6);
    let family = &alerts[0]["threat"]["software"];
    assert_eq!(family["name"], "ATRIUM");
    assert_eq!(family["type"], "Malware");
    assert_eq!(alerts[0]["rule"]["category"], "pulse-secure");
    let ind = |i: usize| &alerts[i]["threat"]["indicator"];
    assert_eq!(ind(1)["type"], "domain-name");
    assert_eq!(ind(1)["url"]["domain"], "c2.example.org");
    assert_eq!(ind(1)["provider"], "feeds/bad.txt:3");
    assert_eq!(ind(2)["type"], "ipv4-addr");
    assert_eq!(ind(2)["ip"], "192.0.2.7");
    assert_eq!(ind(3)["type"], "ipv6-addr");
    assert_eq!(ind(4)["type"], "url");
    assert_eq!(ind(4)["url"]["full"], "https://c2.example.org/a");
    assert_eq!(ind(5)["type"], "file");
    assert_eq!(ind(5)["file"]["hash"]["sha1"], "ab".repeat(20));
    assert_eq!(ind(5)["provider"], "iocs/hash.txt:1");
    assert!(ind(0).is_null(), "a family finding names no indicator");
}

#[test]
fn ecs_index_template_maps_every_field_emitted() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/ecs-index-template.json");
    let template: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let props = &template["template"]["mappings"]["properties"];
    assert!(props.is_object(), "template.mappings.properties");
    let mut docs = lines(&common::render(ferret_report::ecs::write));
    docs.extend(threat_docs());
    let mut mapped = BTreeSet::new();
    for d in &docs {
        let mut all = Vec::new();
        leaves("", d, &mut all);
        for (field, _) in all {
            if field.starts_with("ferret.") {
                continue;
            }
            let mut node = props;
            for part in field.split('.') {
                node = if node[part].is_object() { &node[part] } else { &node["properties"][part] };
            }
            assert!(node["type"].is_string(), "{field} is not mapped in the index template");
            let ty = ECS_FIELDS.iter().find(|(f, _)| *f == field).unwrap().1;
            let want: &[&str] = match ty {
                EcsType::Keyword => &["keyword", "wildcard", "constant_keyword"],
                EcsType::Text => &["match_only_text", "text"],
                EcsType::Long => &["long"],
                EcsType::Float => &["float"],
                EcsType::Date => &["date"],
                EcsType::Ip => &["ip"],
            };
            assert!(want.contains(&node["type"].as_str().unwrap()), "{field}: {}", node["type"]);
            mapped.insert(field);
        }
    }
    assert!(mapped.len() > 30);
}

// ---------------------------------------------------------------- OCSF

fn int(v: &Value, field: &str) -> i64 {
    v.pointer(&format!("/{}", field.replace('.', "/")))
        .and_then(Value::as_i64)
        .unwrap_or_else(|| panic!("{field} is required and an integer in {v}"))
}

fn string(v: &Value, field: &str) -> String {
    v.pointer(&format!("/{}", field.replace('.', "/")))
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{field} is required and a string in {v}"))
        .to_owned()
}

/// The base event's required attributes (OCSF 1.3: classification and occurrence traits,
/// `metadata` with `product` and `version`), and `type_uid = class_uid * 100 + activity_id`.
fn check_ocsf_base(e: &Value) {
    let class = int(e, "class_uid");
    let activity = int(e, "activity_id");
    assert_eq!(int(e, "category_uid"), class / 1000, "category_uid is class_uid's thousands");
    assert_eq!(int(e, "type_uid"), class * 100 + activity);
    let sev = int(e, "severity_id");
    assert!((0..=6).contains(&sev) || sev == 99, "severity_id {sev}");
    let sev_name = ["Unknown", "Informational", "Low", "Medium", "High", "Critical", "Fatal"];
    assert_eq!(string(e, "severity"), sev_name[usize::try_from(sev).unwrap()]);
    assert!(int(e, "time") > 1_600_000_000_000, "time is epoch milliseconds");
    assert!(e["metadata"]["product"].is_object(), "metadata.product is required");
    string(e, "metadata.product.name");
    let version = string(e, "metadata.version");
    assert!(version.split('.').all(|p| p.parse::<u32>().is_ok()), "metadata.version {version}");
    if !e["status_id"].is_null() {
        assert!(e["status_id"].is_i64());
    }
    let device_type = int(e, "device.type_id");
    assert!((0..=15).contains(&device_type) || device_type == 99);
}

/// Attributes defined for class 2004 (its own, the finding class's and the base event's).
const DETECTION_FINDING_ATTRS: &[&str] = &[
    "activity_id",
    "activity_name",
    "category_name",
    "category_uid",
    "class_name",
    "class_uid",
    "confidence",
    "confidence_id",
    "confidence_score",
    "count",
    "device",
    "duration",
    "end_time",
    "enrichments",
    "evidences",
    "finding_info",
    "impact",
    "impact_id",
    "impact_score",
    "is_alert",
    "malware",
    "message",
    "metadata",
    "observables",
    "raw_data",
    "remediation",
    "resources",
    "risk_level",
    "risk_level_id",
    "risk_score",
    "severity",
    "severity_id",
    "start_time",
    "status",
    "status_code",
    "status_detail",
    "status_id",
    "time",
    "timezone_offset",
    "type_name",
    "type_uid",
    "unmapped",
    "vulnerabilities",
];

/// Attributes defined for class 6007 (its own, the application category's and the base's).
const SCAN_ACTIVITY_ATTRS: &[&str] = &[
    "activity_id",
    "activity_name",
    "category_name",
    "category_uid",
    "class_name",
    "class_uid",
    "command_uid",
    "count",
    "device",
    "duration",
    "end_time",
    "enrichments",
    "message",
    "metadata",
    "num_detections",
    "num_files",
    "num_folders",
    "num_network_items",
    "num_processes",
    "num_registry_items",
    "num_resolutions",
    "num_skipped_items",
    "num_trusted_items",
    "observables",
    "policy",
    "raw_data",
    "scan",
    "schedule_uid",
    "severity",
    "severity_id",
    "start_time",
    "status",
    "status_code",
    "status_detail",
    "status_id",
    "time",
    "timezone_offset",
    "total",
    "type_name",
    "type_uid",
    "unmapped",
];

#[test]
fn ocsf_events_carry_the_required_attributes() {
    let events = lines(&common::render(ferret_report::ocsf::write));
    let r = common::fixture();
    assert_eq!(events.len(), r.findings.len() + r.problems.len() + 1);
    let mut uids = BTreeSet::new();
    for e in &events {
        check_ocsf_base(e);
        let attrs = match int(e, "class_uid") {
            2004 => {
                assert_eq!(int(e, "category_uid"), 2);
                assert!([1, 2, 3, 99].contains(&int(e, "activity_id")));
                // finding_info is required, and in it uid; title is recommended.
                assert!(uids.insert(string(e, "finding_info.uid")), "finding_info.uid unique");
                assert!(!string(e, "finding_info.title").is_empty());
                assert!([0, 1, 2, 3, 4, 5, 6, 99].contains(&int(e, "status_id")));
                let analytic = int(e, "finding_info.analytic.type_id");
                assert!([0, 1, 2, 3, 4, 99].contains(&analytic));
                if let Some(ev) = e["evidences"].as_array() {
                    for x in ev {
                        let f = &x["file"];
                        string(f, "name");
                        assert!([0, 1, 2, 3, 4, 5, 6, 7, 99].contains(&int(f, "type_id")));
                        for h in f["hashes"].as_array().into_iter().flatten() {
                            assert_eq!(int(h, "algorithm_id"), 3, "SHA-256");
                            string(h, "value");
                        }
                    }
                }
                DETECTION_FINDING_ATTRS
            }
            6007 => {
                assert_eq!(int(e, "category_uid"), 6);
                assert!((1..=10).contains(&int(e, "activity_id")));
                // scan is required, and in it type_id.
                assert!([0, 1, 2, 3, 4, 5, 6, 7, 99].contains(&int(e, "scan.type_id")));
                assert!([0, 1, 2, 99].contains(&int(e, "status_id")));
                SCAN_ACTIVITY_ATTRS
            }
            other => panic!("unexpected class_uid {other}"),
        };
        for k in e.as_object().unwrap().keys() {
            assert!(attrs.contains(&k.as_str()), "{k} is not an attribute of its class");
        }
    }
    assert_eq!(events.iter().filter(|e| e["class_uid"] == 2004).count(), 3);
    let sigma = events.iter().find(|e| e["unmapped"]["engine"] == "sigma").unwrap();
    assert_eq!(sigma["finding_info"]["attacks"][0]["technique"]["uid"], "T1059.001");
    assert_eq!(sigma["severity_id"], 4);
    let problems: Vec<&Value> = events.iter().filter(|e| e["activity_id"] == 6).collect();
    assert_eq!(problems.len(), 2);
    assert!(problems.iter().all(|p| p["status_id"] == 2));
    let summary = events.last().unwrap();
    assert_eq!(
        (summary["class_uid"].as_i64(), summary["activity_id"].as_i64()),
        (Some(6007), Some(2))
    );
    assert_eq!(summary["status_id"], 2, "an incomplete run is a failure");
    assert_eq!(summary["num_detections"], 3);
}

// ---------------------------------------------------------------- CEF

#[test]
fn cef_records_are_one_line_with_escaped_fields() {
    let text = common::render(ferret_report::cef::write);
    let recs: Vec<&str> = text.lines().collect();
    let r = common::fixture();
    assert_eq!(recs.len(), r.findings.len() + r.problems.len() + 1);
    for rec in &recs {
        assert!(!rec.chars().any(char::is_control), "{rec:?}");
        // Seven unescaped pipes close the header.
        let mut pipes = 0;
        let mut escaped = false;
        let mut ext = None;
        for (i, c) in rec.char_indices() {
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '|') => {
                    pipes += 1;
                    if pipes == 7 {
                        ext = Some(&rec[i + 1..]);
                        break;
                    }
                }
                _ => escaped = false,
            }
        }
        let ext = ext.unwrap_or_else(|| panic!("no CEF header in {rec}"));
        assert!(rec.starts_with("CEF:0|ferret|ferret|0.1.0|"));
        // Every `=` in the extension either separates a key or is escaped.
        let mut escaped = false;
        let mut key_start = 0;
        for (i, c) in ext.char_indices() {
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '=') => {
                    let key = &ext[key_start..i];
                    assert!(
                        !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric()),
                        "bad key {key:?} in {rec}"
                    );
                }
                (false, ' ') => key_start = i + 1,
                _ => escaped = false,
            }
        }
    }
    assert!(recs[0].contains("|China Chopper \\| web shell|9|"), "{}", recs[0]);
    assert!(recs[0].contains("filePath=/srv/www/up\\xffload\\=1\\\\a.aspx"), "{}", recs[0]);
    assert!(recs[0].contains("msg=eval of a request parameter\\nsecond line"), "{}", recs[0]);
    assert!(recs[0].contains("\\u{001b}[2J"), "escape sequences made visible");
    let last = recs.last().unwrap();
    assert!(last.contains("|ferret:summary|run incomplete|5|"), "{last}");
    assert!(last.contains("outcome=incomplete"));
    assert!(last.contains("cs3=proxylogon: AFFECTED; sunburst: UNKNOWN"), "{last}");
}

#[test]
fn the_documented_examples_are_lines_of_the_golden_files() {
    let doc = include_str!("../../../docs/report-format.md");
    let section = doc
        .split("## Timeline and SIEM formats")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("docs/report-format.md has the formats section");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden");
    let golden: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flat_map(|e| {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
            text.lines().map(str::to_owned).collect::<Vec<_>>()
        })
        .collect();
    let examples: Vec<&str> = section
        .lines()
        .filter(|l| l.starts_with("{\"") || l.starts_with("CEF:0|") || l.starts_with("<1"))
        .collect();
    assert_eq!(examples.len(), 8, "one example per format, and a problem or summary");
    for e in examples {
        assert!(golden.contains(e), "documented example is not in a golden file: {e}");
    }
}
