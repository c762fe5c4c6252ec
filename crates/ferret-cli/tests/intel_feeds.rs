//! CLI tests of intel feeds: MISP event exports and feed folders given to `scan --rules`, and
//! `ferret intel pull` from a TAXII 2.1 server (the OASIS reference server medallion, and a
//! hand-written server that misbehaves).

#![cfg(feature = "scan")]

mod common;

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferret_testkit::Tree;
use sha2::{Digest, Sha256};

use common::{ferret_cached as ferret, of_type, records};

fn scan_jsonl(root: &Path, rules: &Path) -> (i32, Vec<serde_json::Value>) {
    let out = ferret()
        .arg("scan")
        .arg(root)
        .args(["--format", "jsonl", "--no-builtin", "--rules"])
        .arg(rules)
        .output()
        .unwrap();
    (out.status.code().unwrap(), records(&out.stdout))
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

const EVENT: &str = "7d0e6c1a-52b4-4f0e-a7c3-2b9d8e1f4a60";
const ATTR_HASH: &str = "7d0e6c1a-0000-4000-8000-000000000001";
const ATTR_NAME: &str = "7d0e6c1a-0000-4000-8000-000000000002";

/// A MISP event (core format) with a to_ids SHA-256, a to_ids file object holding a name and
/// a size, an MD5 without to_ids and a domain on a warning list.
fn misp_event(uuid: &str, sha256: &str, info: &str) -> String {
    format!(
        r#"{{"Event": {{"id": "31", "orgc_id": "1", "org_id": "1", "date": "2026-02-14",
  "threat_level_id": "1", "info": "{info}", "published": true, "uuid": "{uuid}",
  "analysis": "2", "timestamp": "1771027200", "distribution": "1",
  "Orgc": {{"id": "1", "name": "Example CERT", "uuid": "11111111-2222-4333-8444-555555555555"}},
  "Attribute": [
    {{"id": "801", "type": "sha256", "category": "Payload delivery", "to_ids": true,
      "uuid": "{uuid_hash}", "event_id": "31", "distribution": "5", "timestamp": "1771027200",
      "comment": "", "deleted": false, "object_id": "0", "object_relation": null,
      "value": "{sha256}"}},
    {{"id": "802", "type": "md5", "category": "Payload delivery", "to_ids": false,
      "uuid": "{uuid}-no-ids", "event_id": "31", "deleted": false, "object_relation": null,
      "value": "00000000000000000000000000000001"}},
    {{"id": "803", "type": "domain", "category": "Network activity", "to_ids": true,
      "uuid": "{uuid}-warned", "event_id": "31", "deleted": false, "object_relation": null,
      "value": "www.google.com",
      "warnings": [{{"warninglist_id": "3", "warninglist_name": "List of known google domains"}}]}},
    {{"id": "804", "type": "link", "category": "External analysis", "to_ids": false,
      "uuid": "{uuid}-link", "event_id": "31", "deleted": false, "object_relation": null,
      "value": "https://advisories.example.org/feeds-fixture"}}
  ],
  "Object": [
    {{"id": "90", "name": "file", "meta-category": "file",
      "template_uuid": "688c46fb-5edb-40a3-8273-1af7923e2215", "template_version": "24",
      "event_id": "31", "uuid": "{uuid}-object", "timestamp": "1771027200", "deleted": false,
      "Attribute": [
        {{"id": "811", "type": "filename", "category": "Payload delivery", "to_ids": true,
          "uuid": "{uuid_name}", "object_relation": "filename", "deleted": false,
          "value": "sessionserver.pl"}},
        {{"id": "812", "type": "size-in-bytes", "category": "Other", "to_ids": true,
          "uuid": "{uuid}-size", "object_relation": "size-in-bytes", "deleted": false,
          "value": "11"}}
      ]}}
  ]}}}}"#,
        uuid_hash = if uuid == EVENT { ATTR_HASH.to_owned() } else { format!("{uuid}-hash") },
        uuid_name = if uuid == EVENT { ATTR_NAME.to_owned() } else { format!("{uuid}-name") },
    )
}

#[test]
fn misp_event_export_names_event_and_attribute() {
    let t = Tree::new();
    let sample = [ferret_testkit::eicar_like(), b"-misp".to_vec()].concat();
    t.file("srv/dropper.bin", &sample);
    t.file("srv/home/perl/sessionserver.pl", b"12345678901");
    t.file("srv/other/sessionserver.pl", b"different size");
    let rules = Tree::new();
    let event = rules.file("event.json", misp_event(EVENT, &sha256_hex(&sample), "Fixture event"));
    let (code, recs) = scan_jsonl(t.root(), &event);
    assert_eq!(code, 1, "{recs:?}");
    let findings = of_type(&recs, "finding");
    assert_eq!(findings.len(), 2, "{findings:?}");
    let by_hash = findings.iter().find(|f| f["rule"]["id"] == ATTR_HASH).expect("hash finding");
    assert!(by_hash["path"].as_str().unwrap().ends_with("dropper.bin"));
    assert!(by_hash["rule"]["name"].as_str().unwrap().contains(EVENT), "{by_hash}");
    assert!(by_hash["rule"]["source"].as_str().unwrap().contains("event.json:"), "{by_hash}");
    assert_eq!(by_hash["rule"]["references"][0], "https://advisories.example.org/feeds-fixture");
    let by_name = findings.iter().find(|f| f["rule"]["id"] == ATTR_NAME).expect("name finding");
    assert!(by_name["path"].as_str().unwrap().ends_with("perl/sessionserver.pl"), "{by_name}");
    assert!(by_name["rule"]["name"].as_str().unwrap().contains(EVENT));
    let notes: Vec<String> = of_type(&recs, "problem")
        .iter()
        .map(|p| format!("{} {}", p["kind"], p["reason"]))
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("skipped") && n.contains("1 MISP attributes without to_ids")),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(|n| n.contains("warning lists left out") && n.contains("www.google.com")),
        "{notes:?}"
    );
}

#[test]
fn misp_feed_folder_loads_listed_events_and_reports_the_rest() {
    let t = Tree::new();
    let listed = [ferret_testkit::eicar_like(), b"-listed".to_vec()].concat();
    let unlisted = [ferret_testkit::eicar_like(), b"-unlisted".to_vec()].concat();
    t.file("a/listed.bin", &listed);
    t.file("a/unlisted.bin", &unlisted);
    let feed = Tree::new();
    let present = "0a1b2c3d-0000-4000-8000-00000000000a";
    let missing = "0a1b2c3d-0000-4000-8000-00000000000b";
    let stray = "0a1b2c3d-0000-4000-8000-00000000000c";
    feed.file(
        "manifest.json",
        format!(
            r#"{{"{present}": {{"Orgc": {{"name": "Example CERT", "uuid": "11111111-2222-4333-8444-555555555555"}},
                 "Tag": [], "info": "Listed event", "date": "2026-02-14", "analysis": 2,
                 "threat_level_id": 1, "timestamp": 1771027200}},
               "{missing}": {{"info": "Listed but absent", "date": "2026-02-15", "analysis": 2,
                 "threat_level_id": 2, "timestamp": 1771113600}}}}"#
        ),
    );
    feed.file(format!("{present}.json"), misp_event(present, &sha256_hex(&listed), "Listed event"));
    feed.file(format!("{stray}.json"), misp_event(stray, &sha256_hex(&unlisted), "Stray event"));
    // The feed's value hashes: MD5s of attribute values, not of files.
    feed.file("hashes.csv", format!("{},{present}\n", hex::encode([0x5a; 16])));
    let (code, recs) = scan_jsonl(t.root(), feed.root());
    assert_eq!(code, 1, "{recs:?}");
    let findings = of_type(&recs, "finding");
    assert_eq!(findings.len(), 1, "only the listed event loads: {findings:?}");
    assert_eq!(findings[0]["rule"]["id"], format!("{present}-hash"));
    assert!(findings[0]["rule"]["name"].as_str().unwrap().contains(present));
    let problems = of_type(&recs, "problem");
    let text: Vec<String> =
        problems.iter().map(|p| format!("{} {} {}", p["kind"], p["path"], p["reason"])).collect();
    assert!(
        text.iter().any(|p| p.contains("rule_load")
            && p.contains(missing)
            && p.contains("listed in the feed's manifest.json but its file is missing")),
        "{text:?}"
    );
    assert!(
        text.iter().any(|p| p.contains("skipped")
            && p.contains(stray)
            && p.contains("not listed in the MISP feed's manifest.json")),
        "{text:?}"
    );
    assert!(!text.iter().any(|p| p.contains("hashes.csv")), "{text:?}");

    // The manifest alone says what to give instead.
    let out = ferret()
        .arg("scan")
        .arg(t.root())
        .args(["--no-builtin", "--rules"])
        .arg(feed.path("manifest.json"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("a MISP feed's manifest: give its folder to --rules"), "{stderr}");
}

// ------------------------------------------------------------------ TAXII 2.1

const MEDIA: &str = "application/taxii+json;version=2.1";
const COLLECTION: &str = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";

fn indicator(n: u32, pattern: &str) -> serde_json::Value {
    serde_json::json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": format!("indicator--00000000-0000-4000-8000-{n:012}"),
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": format!("fixture indicator {n}"),
        "pattern_type": "stix",
        "pattern": pattern,
        "valid_from": "2026-01-01T00:00:00Z",
    })
}

/// A child process killed when the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn medallion_available() -> bool {
    std::process::Command::new("medallion")
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn wait_for(port: u16) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(60), "medallion did not start on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn pull(url: &str, dir: &Path, extra: &[&str]) -> std::process::Output {
    ferret()
        .args(["intel", "pull", url, "--collection", COLLECTION, "-o"])
        .arg(dir)
        .args(extra)
        .output()
        .unwrap()
}

fn bundles(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    v
}

fn objects_in(path: &Path) -> usize {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(v["type"], "bundle");
    v["objects"].as_array().unwrap().len()
}

#[test]
fn taxii_pull_from_medallion_pages_resumes_and_scans() {
    if !ferret_testkit::require("medallion (pip install medallion)", medallion_available()) {
        return;
    }
    let t = Tree::new();
    let first = [ferret_testkit::eicar_like(), b"-taxii-first".to_vec()].concat();
    let second = [ferret_testkit::eicar_like(), b"-taxii-second".to_vec()].concat();
    t.file("x/first.bin", &first);
    t.file("x/second.bin", &second);

    // Twelve objects (eleven indicators and an identity) added a second apart: three pages of
    // five at most.
    let mut objects = vec![serde_json::json!({
        "type": "identity", "spec_version": "2.1",
        "id": "identity--00000000-0000-4000-8000-00000000aaaa",
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "name": "Example CERT", "identity_class": "organization"})];
    objects.push(indicator(1, &format!("[file:hashes.'SHA-256' = '{}']", sha256_hex(&first))));
    for n in 2..=11 {
        objects.push(indicator(n, &format!("[file:name = 'unrelated-{n}.bin']")));
    }
    let manifest: Vec<serde_json::Value> = objects
        .iter()
        .enumerate()
        .map(|(i, o)| {
            serde_json::json!({
                "id": o["id"],
                "date_added": format!("2026-01-02T00:00:{:02}.000000Z", i + 1),
                "version": o["modified"],
                "media_type": "application/stix+json;version=2.1",
            })
        })
        .collect();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let data = serde_json::json!({
        "/discovery": {
            "title": "ferret test TAXII server",
            "default": format!("{base}/api1/"),
            "api_roots": [format!("{base}/api1/")],
        },
        "api1": {
            "information": {
                "title": "test root", "versions": [MEDIA], "max_content_length": 10_000_000,
            },
            "status": [],
            "collections": [{
                "id": COLLECTION, "title": "fixture indicators", "can_read": true,
                "can_write": true, "media_types": ["application/stix+json;version=2.1"],
                "objects": objects, "manifest": manifest,
            }],
        },
    });
    let conf = Tree::new();
    let data_path = conf.file("data.json", data.to_string());
    let config = conf.file(
        "config.json",
        serde_json::json!({
            "backend": {
                "module": "medallion.backends.memory_backend",
                "module_class": "MemoryBackend",
                "filename": data_path,
            },
            "users": {"puller": "fixture-password"},
            "taxii": {"max_page_size": 5},
        })
        .to_string(),
    );
    let password = conf.file("password", "fixture-password\n");
    let child = std::process::Command::new("medallion")
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Server(child);
    wait_for(port);

    let out_dir = Tree::new();
    let dir = out_dir.path("pulled");
    let auth = ["--user", "puller", "--password-file", password.to_str().unwrap()];
    let out = pull(&base, &dir, &auth);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("pulled 12 objects in 3 pages"), "{stdout}");
    let files = bundles(&dir);
    assert_eq!(files.iter().map(|f| objects_in(f)).collect::<Vec<_>>(), [5, 5, 2]);
    let state = std::fs::read_to_string(dir.join(".ferret-taxii-state")).unwrap();
    assert!(state.contains("added_after=2026-01-02T00:00:12.000000Z"), "{state}");

    // Wrong credentials: a clear error, nothing changed.
    let bad_pw = conf.file("bad-password", "wrong\n");
    let out = pull(&base, &dir, &["--user", "puller", "--password-file", bad_pw.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"), "{out:?}");
    assert_eq!(bundles(&dir).len(), 3);

    // Two objects added on the server; the second pull fetches only them.
    let added = serde_json::json!({"objects": [
        indicator(12, &format!("[file:hashes.'SHA-256' = '{}']", sha256_hex(&second))),
        indicator(13, "[file:name = 'unrelated-13.bin']"),
    ]});
    let resp = ureq::post(&format!("{base}/api1/collections/{COLLECTION}/objects/"))
        .header("accept", MEDIA)
        .header("content-type", MEDIA)
        .header("authorization", &format!("Basic {}", base64_encode(b"puller:fixture-password")))
        .send(added.to_string().as_bytes())
        .unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    let out = pull(&base, &dir, &auth);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("pulled 2 objects in 1 pages"), "{stdout}");
    assert!(stdout.contains("added after 2026-01-02T00:00:12.000000Z"), "{stdout}");
    let files = bundles(&dir);
    assert_eq!(files.len(), 4);
    assert_eq!(objects_in(&files[3]), 2);

    // What was pulled finds both planted files.
    let (code, recs) = scan_jsonl(t.root(), &dir);
    assert_eq!(code, 1, "{recs:?}");
    let mut ids: Vec<&str> =
        of_type(&recs, "finding").iter().map(|f| f["rule"]["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "indicator--00000000-0000-4000-8000-000000000001",
            "indicator--00000000-0000-4000-8000-000000000012"
        ]
    );
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// How the hand-written server answers the second page.
#[derive(Clone, Copy)]
enum Fault {
    Garbage,
    CutShort,
    ServerError,
}

/// A TAXII 2.1 server that sends one good page, then fails as `fault` says. Records the
/// request heads it saw.
fn faulty_server(fault: Fault, fail_first: bool) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).is_ok_and(|n| n == 1) {
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head).into_owned();
            let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
            log.lock().unwrap().push(head);
            let good_page = serde_json::json!({
                "more": true, "next": "page-2",
                "objects": [indicator(1, "[file:name = 'first-page.bin']"),
                            indicator(2, "[file:name = 'first-page-too.bin']")],
            })
            .to_string();
            let (status, body, extra): (&str, String, &str) = if path == "/taxii2/" {
                ("200 OK", r#"{"title":"t","api_roots":["/api1/"]}"#.to_owned(), "")
            } else if path == "/api1/" {
                ("200 OK", format!(r#"{{"title":"r","versions":["{MEDIA}"]}}"#), "")
            } else if path == "/api1/collections/" {
                (
                    "200 OK",
                    format!(r#"{{"collections":[{{"id":"{COLLECTION}","can_read":true}}]}}"#),
                    "",
                )
            } else if path.contains("next=page-2") || fail_first {
                match fault {
                    Fault::Garbage => ("200 OK", "<html>maintenance</html>".to_owned(), ""),
                    Fault::ServerError => (
                        "500 Internal Server Error",
                        r#"{"title":"backend down","description":"try later"}"#.to_owned(),
                        "",
                    ),
                    Fault::CutShort => {
                        let whole = good_page.clone();
                        let cut = &whole[..whole.len() / 2];
                        let msg = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: {MEDIA}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{cut}",
                            whole.len()
                        );
                        let _ = s.write_all(msg.as_bytes());
                        continue;
                    }
                }
            } else {
                ("200 OK", good_page, "X-TAXII-Date-Added-Last: 2026-02-01T00:00:00.000Z\r\n")
            };
            let msg = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {MEDIA}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(msg.as_bytes());
        }
    });
    (base, seen)
}

#[test]
fn taxii_pull_keeps_complete_pages_when_the_server_fails_mid_pull() {
    for (fault, expect) in [
        (Fault::Garbage, "not TAXII JSON"),
        (Fault::CutShort, "cut short"),
        (Fault::ServerError, "the server answered 500: backend down: try later"),
    ] {
        let (base, seen) = faulty_server(fault, false);
        let out_dir = Tree::new();
        let dir = out_dir.path("pulled");
        let token = out_dir.file("token", "fixture-token\n");
        let out = pull(&base, &dir, &["--token-file", token.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(3), "{stdout} {stderr}");
        assert!(stderr.contains(expect) && stderr.contains("next=page-2"), "{stderr}");
        assert!(stdout.contains("INCOMPLETE: pulled 2 objects in 1 pages"), "{stdout}");
        let files = bundles(&dir);
        assert_eq!(files.len(), 1, "the complete page is kept");
        assert_eq!(objects_in(&files[0]), 2);
        let state = std::fs::read_to_string(dir.join(".ferret-taxii-state")).unwrap();
        assert!(state.contains("added_after=2026-02-01T00:00:00.000Z"), "{state}");
        let heads = seen.lock().unwrap().join("\n").to_ascii_lowercase();
        assert!(heads.contains("accept: application/taxii+json;version=2.1"), "{heads}");
        assert!(heads.contains("authorization: bearer fixture-token"), "{heads}");
    }
}

#[test]
fn taxii_pull_that_fails_on_the_first_page_writes_nothing() {
    let (base, _) = faulty_server(Fault::Garbage, true);
    let out_dir = Tree::new();
    let dir = out_dir.path("pulled");
    let out = pull(&base, &dir, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not TAXII JSON") && stderr.contains("nothing pulled"), "{stderr}");
    assert!(bundles(&dir).is_empty());
    assert!(!dir.join(".ferret-taxii-state").exists());
}

fn openssl(dir: &Path, args: &[&str]) -> bool {
    std::process::Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts medallion with TLS (its Flask app run with an `ssl_context`) on `port`, serving
/// `objects` in one collection; the certificate is for 127.0.0.1, issued by a CA made here.
fn medallion_tls(
    conf: &Tree,
    port: u16,
    objects: &[serde_json::Value],
) -> Option<(Server, PathBuf)> {
    let dir = conf.root();
    conf.file(
        "ext.cnf",
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    );
    let made = openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=ferret test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
    ) && openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "srv.key",
            "-out",
            "srv.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    ) && openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "srv.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "srv.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
    if !ferret_testkit::require("openssl (Debian package openssl)", made) {
        return None;
    }
    let base = format!("https://127.0.0.1:{port}");
    let manifest: Vec<serde_json::Value> = objects
        .iter()
        .map(|o| {
            serde_json::json!({"id": o["id"], "date_added": "2026-03-01T00:00:00.000000Z",
                "version": o["modified"], "media_type": "application/stix+json;version=2.1"})
        })
        .collect();
    let data = serde_json::json!({
        "/discovery": {"title": "tls", "default": format!("{base}/api1/"), "api_roots": [format!("{base}/api1/")]},
        "api1": {
            "information": {"title": "root", "versions": [MEDIA], "max_content_length": 10_000_000},
            "status": [],
            "collections": [{"id": COLLECTION, "title": "tls", "can_read": true, "can_write": false,
                "media_types": ["application/stix+json;version=2.1"],
                "objects": objects, "manifest": manifest}],
        },
    });
    let data_path = conf.file("data.json", data.to_string());
    let config = conf.file(
        "config.json",
        serde_json::json!({
            "backend": {"module": "medallion.backends.memory_backend",
                        "module_class": "MemoryBackend", "filename": data_path},
            "users": {"puller": "fixture-password"},
        })
        .to_string(),
    );
    let script = "import json, sys\n\
        from medallion import application_instance, register_blueprints, set_config\n\
        conf = json.load(open(sys.argv[1]))\n\
        for part in ('users', 'taxii', 'backend'):\n    set_config(application_instance, part, conf)\n\
        register_blueprints(application_instance)\n\
        application_instance.run(host='127.0.0.1', port=int(sys.argv[2]), ssl_context=(sys.argv[3], sys.argv[4]))\n";
    let child = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&config)
        .arg(port.to_string())
        .arg(dir.join("srv.pem"))
        .arg(dir.join("srv.key"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    wait_for(port);
    Some((server, dir.join("ca.pem")))
}

#[test]
fn taxii_pull_over_tls_trusts_only_the_given_ca() {
    if !ferret_testkit::require("medallion (pip install medallion)", medallion_available()) {
        return;
    }
    let conf = Tree::new();
    let port = free_port();
    let objects: Vec<serde_json::Value> =
        (1..=3).map(|n| indicator(n, &format!("[file:name = 'tls-{n}.bin']"))).collect();
    let Some((_server, ca)) = medallion_tls(&conf, port, &objects) else { return };
    let base = format!("https://127.0.0.1:{port}");
    let password = conf.file("password", "fixture-password\n");
    let auth = ["--user", "puller", "--password-file", password.to_str().unwrap()];
    let out_dir = Tree::new();

    // Not trusted by the WebPKI roots: refused before anything is sent.
    let dir = out_dir.path("untrusted");
    let out = pull(&base, &dir, &auth);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.to_ascii_lowercase().contains("certificate"), "{stderr}");
    assert!(bundles(&dir).is_empty());

    let dir = out_dir.path("trusted");
    let out = pull(&base, &dir, &[&auth[..], &["--ca", ca.to_str().unwrap()]].concat());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("pulled 3 objects in 1 pages"), "{stdout}");
}
