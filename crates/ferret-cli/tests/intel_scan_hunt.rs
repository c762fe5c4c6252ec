//! The intel on `scan` and `hunt`: the built-in pack's hash and file-name lists are intel
//! tables (`CAMPAIGN/scan-hashes.tsv`, `CAMPAIGN/scan-names.tsv`) that a signed pack given
//! with `--intel` replaces; `hunt` looks for the intel's network rows and the network
//! indicators of `--rules` files (a plain list of domains, addresses and URLs among them) in
//! the logs it reads; the refusals (tampered pack, another key) are the same as on `check`;
//! the built-in network rows are found in every log kind, once.

#![expect(clippy::disallowed_methods, reason = "tests write their own temporary fixtures")]

mod common;

use std::path::{Path, PathBuf};

use ferret_testkit::Tree;
use serde_json::Value;

use common::{intel_dir, keygen, records, run_with_config as ferret, s};
use sha2::Digest as _;

fn findings(recs: &[Value]) -> Vec<&Value> {
    recs.iter().filter(|v| v["type"] == "finding").collect()
}

fn summary(recs: &[Value]) -> &Value {
    recs.iter().find(|v| v["type"] == "summary").unwrap()
}

/// A copy of the repository's tables, `edit` applied to each (path under `intel/`, text);
/// `None` leaves the table out.
fn edited_intel(dir: &Path, edit: &dyn Fn(&str, String) -> Option<String>) -> PathBuf {
    let out = dir.join("intel");
    for entry in std::fs::read_dir(intel_dir()).unwrap() {
        let c = entry.unwrap().path();
        if !c.is_dir() {
            continue;
        }
        let campaign = c.file_name().unwrap().to_string_lossy().into_owned();
        let to = out.join(&campaign);
        std::fs::create_dir_all(&to).unwrap();
        for t in std::fs::read_dir(&c).unwrap() {
            let t = t.unwrap().path();
            let name = t.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&t).unwrap();
            if let Some(text) = edit(&format!("{campaign}/{name}"), text) {
                std::fs::write(to.join(&name), text).unwrap();
            }
        }
    }
    out
}

fn pack(w: &Path, dir: &Path, key: &Path, name: &str) -> PathBuf {
    let pack = w.join(name);
    let (code, _, err) = ferret(&["intel", "pack", s(dir), "-o", s(&pack), "--sign", s(key)], w);
    assert_eq!(code, 0, "{err}");
    pack
}

/// Inert content standing for a new implant a later advisory publishes.
const PAYLOAD: &str = "ferret test fixture: the content of a file a newer advisory lists\n";
const SOURCE: &str = "A test advisory <https://advisory.invalid/a>\t2026-01-05\thigh";

/// A tree holding the file the pack lists, a file the built-in name list flags, and an
/// ordinary one.
fn files_tree() -> Tree {
    let t = Tree::new();
    t.file("srv/app/update.bin", PAYLOAD);
    t.file("srv/inetpub/wwwroot/aspnet_client/system_web/supp0rt.aspx", "<%@ Page %>\n");
    t.file("srv/app/readme.txt", "nothing to see\n");
    t
}

fn scan(t: &Tree, w: &Path, extra: &[&str]) -> (i32, Vec<Value>, String) {
    let mut args = vec!["scan", "--format", "jsonl", "-q"];
    args.extend_from_slice(extra);
    let root = t.root().join("srv");
    args.push(s(&root));
    let (code, out, err) = ferret(&args, w);
    let text = format!("{out}{err}");
    (code, if code == 2 { Vec::new() } else { records(&out) }, text)
}

#[test]
fn a_pack_replaces_the_builtin_hash_and_name_lists_of_scan() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let (key, public) = keygen(w, "intel.key");
    let sha = hex::encode(sha2::Sha256::digest(PAYLOAD.as_bytes()));
    // The pack lists the new file's hash and drops the ProxyLogon name list.
    let dir = edited_intel(w, &|path, mut text| match path {
        "sunburst/scan-hashes.tsv" => {
            text.push_str(&format!(
                "sha256\t{sha}\t100\tTEST: implant of the newer advisory\thttps://advisory.invalid/a\t{SOURCE}\n"
            ));
            Some(text)
        }
        "proxylogon/scan-names.tsv" => None,
        _ => Some(text),
    });
    let pack = pack(w, &dir, &key, "new.pack");
    let t = files_tree();

    // The built-in lists: the name rule fires, the new hash is unknown.
    let (code, recs, text) = scan(&t, w, &[]);
    assert_eq!(code, 1, "{text}");
    let f = findings(&recs);
    assert!(f.iter().any(|f| f["path"].as_str().unwrap().ends_with("supp0rt.aspx")), "{text}");
    assert!(!f.iter().any(|f| f["path"].as_str().unwrap().ends_with("update.bin")), "{text}");
    let name_hit = f.iter().find(|f| f["engine"] == "filename").unwrap();
    assert!(
        name_hit["rule"]["source"]
            .as_str()
            .unwrap()
            .starts_with("intel:proxylogon/scan-names.tsv:"),
        "{name_hit}"
    );
    assert_eq!(summary(&recs)["tool"]["intel"]["origin"], "builtin", "{text}");

    // The pack's lists instead.
    let (code, recs, text) = scan(&t, w, &["--intel", s(&pack), "--intel-key", s(&public)]);
    assert_eq!(code, 1, "{text}");
    let f = findings(&recs);
    let hit = f
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("update.bin"))
        .unwrap_or_else(|| panic!("no finding on the listed file: {text}"));
    assert_eq!(hit["rule"]["name"], "TEST: implant of the newer advisory", "{hit}");
    assert!(
        hit["rule"]["source"].as_str().unwrap().starts_with("intel:sunburst/scan-hashes.tsv:"),
        "{hit}"
    );
    // The name list the pack does not carry is not used: no name finding on the web shell
    // name (the built-in YARA rules still read its content, which is inert here).
    assert!(!f.iter().any(|f| f["engine"] == "filename"), "{text}");
    let sum = summary(&recs);
    assert_eq!(sum["tool"]["intel"]["origin"], "pack", "{sum}");
    assert_eq!(sum["tool"]["intel"]["pack_id"].as_str().unwrap().len(), 32);
    let notes = sum["notes"].to_string();
    assert!(notes.contains("come from the intel pack"), "{notes}");
    assert!(notes.contains("has no table proxylogon/scan-names.tsv"), "{notes}");
    // Only scan tables are named as missing for scan.
    assert!(!notes.contains("pulse-secure/families.tsv"), "{notes}");
}

#[test]
fn scan_refuses_tampered_and_wrongly_signed_packs() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let (key, public) = keygen(w, "intel.key");
    let (_, other_public) = keygen(w, "other.key");
    let pack = pack(w, &intel_dir(), &key, "p.pack");
    let bytes = std::fs::read_to_string(&pack).unwrap();
    let tampered = w.join("tampered.pack");
    std::fs::write(&tampered, bytes.replacen("TEARDROP", "TEARDRIP", 1)).unwrap();
    let t = files_tree();
    for (pack, key, why) in
        [(&tampered, &public, "signature"), (&pack, &other_public, "signed by key")]
    {
        let (code, _, text) = scan(&t, w, &["--intel", s(pack), "--intel-key", s(key)]);
        assert_eq!(code, 2, "{text}");
        assert!(text.contains("refusing the intel pack") && text.contains(why), "{text}");
    }
}

/// A BIND query log and a squid access log; `bad` adds contacts with the listed hosts.
fn logs(bad: bool) -> Tree {
    let t = Tree::new();
    let mut dns = String::new();
    let mut access = String::new();
    for i in 0..10 {
        dns.push_str(&format!(
            "05-Mar-2026 09:00:{i:02}.000 queries: info: client @0x7f1c2c0a1b80 10.0.0.5#52{i:03} (www.example.org): query: www.example.org IN A + (10.0.0.1)\n"
        ));
        access.push_str(&format!(
            "10.0.0.{i} - - [05/Mar/2026:09:00:{i:02} +0000] \"GET http://www.example.org/index.html HTTP/1.1\" 200 512 \"-\" \"Mozilla/5.0\"\n"
        ));
    }
    if bad {
        dns.push_str("05-Mar-2026 09:01:00.000 queries: info: client @0x7f1c2c0a1b80 10.0.0.5#53001 (upd.listed-c2.example): query: upd.listed-c2.example IN A + (10.0.0.1)\n");
        dns.push_str("05-Mar-2026 09:01:01.000 queries: info: client @0x7f1c2c0a1b80 10.0.0.5#53002 (cdn.pack-added.example): query: cdn.pack-added.example IN A + (10.0.0.1)\n");
        access.push_str("10.0.0.9 - - [05/Mar/2026:09:03:00 +0000] \"GET http://203.0.113.45/drop/x.bin HTTP/1.1\" 200 51200 \"-\" \"curl/8.0\"\n");
    }
    t.file("logs/named/queries.log", dns);
    t.file("logs/squid/access.log", access);
    t.file(
        "lists/c2.txt",
        "# C2 hosts of the test intrusion <https://advisory.invalid/c2>\nlisted-c2[.]example\n203.0.113.45\n",
    );
    t
}

fn hunt(t: &Tree, w: &Path, extra: &[&str]) -> (i32, Vec<Value>, String) {
    let mut args = vec!["hunt", "--format", "jsonl", "-q"];
    args.extend_from_slice(extra);
    let root = t.root().join("logs");
    args.push(s(&root));
    let (code, out, err) = ferret(&args, w);
    let text = format!("{out}{err}");
    (code, if code == 2 { Vec::new() } else { records(&out) }, text)
}

fn network_values(recs: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = findings(recs)
        .iter()
        .filter_map(|f| f["details"]["network_indicator"].as_str().map(str::to_owned))
        .collect();
    v.sort();
    v
}

#[test]
fn hunt_finds_the_hosts_of_a_plain_list_naming_its_file() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let t = logs(true);
    let list = t.root().join("lists/c2.txt");
    let (code, recs, text) = hunt(&t, w, &["--rules", s(&list)]);
    assert_eq!(code, 1, "{text}");
    assert_eq!(network_values(&recs), ["203.0.113.45", "listed-c2.example"], "{text}");
    let dom = findings(&recs)
        .into_iter()
        .find(|f| f["details"]["network_indicator"] == "listed-c2.example")
        .unwrap()
        .to_string();
    assert!(dom.contains("c2.txt:2") && dom.contains("upd.listed-c2.example"), "{dom}");
    assert!(dom.contains("https://advisory.invalid/c2"), "{dom}");
    let sum = summary(&recs);
    assert!(sum["notes"].to_string().contains("2 network indicator(s)"), "{sum}");
    assert_eq!(sum["tool"]["intel"]["origin"], "builtin", "{sum}");

    // Benign logs: nothing, exit 0.
    let clean = logs(false);
    let list = clean.root().join("lists/c2.txt");
    let (code, recs, text) = hunt(&clean, w, &["--rules", s(&list)]);
    assert_eq!(code, 0, "{text}");
    assert!(findings(&recs).is_empty(), "{text}");
}

#[test]
fn hunt_uses_a_packs_network_rows_and_refuses_a_bad_pack() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let (key, public) = keygen(w, "intel.key");
    let (_, other_public) = keygen(w, "other.key");
    let dir = edited_intel(w, &|path, mut text| {
        if path == "sunburst/network.tsv" {
            text.push_str(&format!("domain\tpack-added.example\thigh\t{SOURCE}\n"));
        }
        Some(text)
    });
    let pack = pack(w, &dir, &key, "new.pack");
    let t = logs(true);
    // The built-in intel does not list it.
    let list = t.root().join("lists/c2.txt");
    let (_, recs, text) = hunt(&t, w, &["--rules", s(&list)]);
    assert!(!network_values(&recs).contains(&"pack-added.example".to_owned()), "{text}");
    // The pack does.
    let (code, recs, text) = hunt(&t, w, &["--intel", s(&pack), "--intel-key", s(&public)]);
    assert_eq!(code, 1, "{text}");
    assert_eq!(network_values(&recs), ["pack-added.example"], "{text}");
    let f = findings(&recs)[0].to_string();
    assert!(f.contains("intel:sunburst/network.tsv:") && f.contains("A test advisory"), "{f}");
    assert_eq!(summary(&recs)["tool"]["intel"]["origin"], "pack");

    let tampered = w.join("tampered.pack");
    let bytes = std::fs::read_to_string(&pack).unwrap();
    std::fs::write(&tampered, bytes.replacen("pack-added.example", "pack-addex.example", 1))
        .unwrap();
    for (p, k, why) in [(&tampered, &public, "signature"), (&pack, &other_public, "signed by key")]
    {
        let (code, _, text) = hunt(&t, w, &["--intel", s(p), "--intel-key", s(k)]);
        assert_eq!(code, 2, "{text}");
        assert!(text.contains("refusing the intel pack") && text.contains(why), "{text}");
    }
}

#[test]
fn check_reads_a_plain_list_and_not_loki_lists_as_network_indicators() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let t = logs(true);
    // A Loki hash list and a file-name list beside the plain list: not network indicators.
    t.file("lists/hash-iocs.txt", format!("{};Test marker\n", "ab".repeat(32)));
    t.file("lists/filename-iocs.txt", "\\\\evil\\.exe;80\n");
    let lists = t.root().join("lists");
    let root = t.root().join("logs");
    let (code, out, err) = ferret(
        &[
            "check",
            "--campaign",
            "proxylogon",
            "--format",
            "jsonl",
            "-q",
            "--rules",
            s(&lists),
            s(&root),
        ],
        w,
    );
    assert_eq!(code, 1, "{out}{err}");
    let recs = records(&out);
    assert_eq!(network_values(&recs), ["203.0.113.45", "listed-c2.example"], "{out}");
    let notes = summary(&recs)["notes"].to_string();
    assert!(notes.contains("--rules: 2 network indicator(s)"), "{notes}");
    assert!(notes.contains("2 file indicator(s) were not used"), "{notes}");
}

/// An IIS log whose referer names a published SUNBURST stage-2 domain, and a BIND log querying
/// it.
fn sunburst_contacts() -> Tree {
    let t = Tree::new();
    t.file(
        "inetpub/logs/LogFiles/W3SVC1/u_ex201214.log",
        "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Date: 2020-12-14 00:00:00\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n\
         2020-12-14 09:00:00 10.0.0.2 GET /Orion/Login.aspx - 443 - 10.0.0.7 Mozilla/5.0 https://www.example.org/ 200 0 0 3\n\
         2020-12-14 09:00:01 10.0.0.2 GET /Orion/Login.aspx - 443 - 10.0.0.7 Mozilla/5.0 https://freescanonline.com/x 200 0 0 3\n",
    );
    t.file(
        "var/log/named/queries.log",
        "14-Dec-2020 09:00:00.000 queries: info: client @0x7f1c2c0a1b80 10.0.0.5#52719 (freescanonline.com): query: freescanonline.com IN A + (10.0.0.1)\n",
    );
    t
}

#[test]
fn builtin_network_rows_are_found_in_every_log_kind_once() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let t = sunburst_contacts();
    let (code, out, err) =
        ferret(&["check", "--campaign", "sunburst", "--format", "jsonl", "-q", s(t.root())], w);
    assert_eq!(code, 1, "{out}{err}");
    let recs = records(&out);
    let f = findings(&recs);
    // The DNS query is SB005's; the IIS line (SB005 does not read IIS logs) is the generic
    // pass's. One finding each, none twice.
    let sb005: Vec<&&Value> = f.iter().filter(|f| f["rule"]["id"] == "SB005").collect();
    assert_eq!(sb005.len(), 1, "{out}");
    assert!(sb005[0]["path"].as_str().unwrap().ends_with("queries.log"), "{out}");
    let generic: Vec<&&Value> =
        f.iter().filter(|f| f["details"]["network_indicator"].is_string()).collect();
    assert_eq!(generic.len(), 1, "{out}");
    assert!(generic[0]["path"].as_str().unwrap().ends_with("u_ex201214.log"), "{out}");
    assert!(generic[0].to_string().contains("intel:sunburst/network.tsv:"), "{out}");

    // hunt has no SB005: both lines, once each, named by the intel row.
    let list = t.root().join("none.txt");
    std::fs::write(&list, "unrelated-host.example\n").unwrap();
    let (code, out, err) =
        ferret(&["hunt", "--format", "jsonl", "-q", "--rules", s(&list), s(t.root())], w);
    assert_eq!(code, 1, "{out}{err}");
    let recs = records(&out);
    assert_eq!(network_values(&recs), ["freescanonline.com", "freescanonline.com"], "{out}");
}
