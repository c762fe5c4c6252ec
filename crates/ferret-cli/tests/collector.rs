//! The collector verbs end to end against an in-process collector on 127.0.0.1:0:
//! `ferret enroll`, `ferret report upload` (idempotent replay), spooling when the collector
//! is unreachable and `ferret report send`, and `ferret agent --once` running directives.

use std::path::Path;
use std::sync::Arc;

use assert_cmd::Command;
use chrono::{Duration, Utc};
use ferret_core::{Engine, Finding, RuleRef, Severity};
use ferret_store::{HostStatus, Store};
use serde_json::json;

struct Collector {
    base: String,
    admin: String,
    store: Arc<dyn Store>,
    rt: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
}

impl Collector {
    fn start() -> Collector {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let url = format!("sqlite:{}", dir.path().join("c.db").display());
        let (base, admin, store) = rt.block_on(async {
            let store = ferret_store::open(&url).await.unwrap();
            let admin = ferret_server::bootstrap_admin(store.as_ref()).await.unwrap().unwrap();
            let state = ferret_server::AppState::new(Arc::clone(&store));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(ferret_server::serve(listener, state, std::future::pending()));
            (format!("http://{addr}"), admin, store)
        });
        Collector { base, admin, store, rt, dir }
    }

    fn admin_post(&self, path: &str, body: &serde_json::Value) -> serde_json::Value {
        let mut resp = ureq::post(&format!("{}{path}", self.base))
            .header("authorization", &format!("Bearer {}", self.admin))
            .header("content-type", "application/json")
            .send(body.to_string().as_bytes())
            .unwrap();
        serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap()
    }

    fn ferret(&self) -> Command {
        let mut c = Command::cargo_bin("ferret").unwrap();
        c.env("FERRET_CONFIG_DIR", self.dir.path().join("config"))
            .env("FERRET_SPOOL_DIR", self.dir.path().join("spool"))
            .env("FERRET_UPLOAD_BACKOFF_MS", "1")
            .env_remove("FERRET_DIRECTIVE");
        c
    }

    fn spooled(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("spool")).map_or(0, |rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".jsonl.gz"))
                .count()
        })
    }
}

#[expect(clippy::disallowed_methods, reason = "a fixture in the test's temporary directory")]
fn report_file(dir: &Path, run_id: &str, findings: usize) -> String {
    let findings = (0..findings)
        .map(|i| {
            Finding::new(
                Engine::Check,
                RuleRef {
                    id: format!("PS00{i}"),
                    name: "pulse-secure-webshell".into(),
                    ..Default::default()
                },
                Severity::Critical,
            )
            .with_path(format!("/home/webserver/htdocs/dana-na/x{i}.cgi"))
        })
        .collect();
    let mut r = ferret_testkit::report::report(run_id, findings);
    r.host = "web-1".into();
    let path = dir.join(format!("{run_id}.jsonl"));
    std::fs::write(&path, ferret_testkit::report::jsonl(&r)).unwrap();
    path.display().to_string()
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[expect(clippy::disallowed_methods, reason = "edits the test's own enrolment file")]
fn enroll_upload_spool_send_and_agent() {
    let c = Collector::start();
    let org = c.admin_post("/api/v1/admin/orgs", &json!({ "name": "agency" }));
    let secret = org["enrolment_secret"].as_str().unwrap().to_owned();
    let org_id = org["id"].as_i64().unwrap();

    // Before enrolment, uploads say what to do.
    let f1 = report_file(c.dir.path(), "run-1", 2);
    let out = c.ferret().args(["report", "upload", &f1]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ferret enroll"));

    let out = c
        .ferret()
        .args(["enroll", &c.base, "--secret", &secret, "--name", "web-1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode =
            std::fs::metadata(c.dir.path().join("config/agent.json")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let out = c.ferret().args(["enroll", &c.base, "--secret", "wrong"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));

    // Upload, then the same run again: stored once.
    let out = c.ferret().args(["report", "upload", &f1]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains("report run-1 sent"), "{}", stdout(&out));
    let out = c.ferret().args(["report", "upload", &f1]).output().unwrap();
    assert!(stdout(&out).contains("already at the collector"), "{}", stdout(&out));

    // The host token goes only to the collector the host enrolled with: another URL is
    // refused before anything is sent (status 2), by `report upload` and by an examining verb.
    let f2 = report_file(c.dir.path(), "run-2", 0);
    let elsewhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    elsewhere.set_nonblocking(true).unwrap();
    let other = format!("http://{}", elsewhere.local_addr().unwrap());
    let out = c.ferret().args(["report", "upload", &f2, "--report-to", &other]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("is not the collector this host enrolled with"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = c
        .ferret()
        .args(["scan", "--report-to", &other])
        .arg(c.dir.path().join("config"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(elsewhere.accept().is_err(), "something connected to the other URL");
    assert_eq!(c.spooled(), 0);

    // Collector unreachable (the enrolled URL points at a closed port for two uploads):
    // spooled, exit 3; nothing lost.
    let cfg_path = c.dir.path().join("config").join("agent.json");
    let saved = std::fs::read_to_string(&cfg_path).unwrap();
    let mut cfg: serde_json::Value = serde_json::from_str(&saved).unwrap();
    cfg["url"] = json!(format!("http://127.0.0.1:{}", free_port()));
    std::fs::write(&cfg_path, cfg.to_string()).unwrap();
    let out = c.ferret().args(["report", "upload", &f2]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert!(stdout(&out).contains("spooled"));
    let f3 = report_file(c.dir.path(), "run-3", 0);
    c.ferret().args(["report", "upload", &f3]).output().unwrap();
    assert_eq!(c.spooled(), 2);
    std::fs::write(&cfg_path, &saved).unwrap();

    // The next upload to a live collector sends the spool first.
    let f4 = report_file(c.dir.path(), "run-4", 0);
    let out = c.ferret().args(["report", "upload", &f4]).output().unwrap();
    assert!(stdout(&out).contains("and 2 spooled report(s)"), "{}", stdout(&out));
    assert_eq!(c.spooled(), 0);
    let out = c.ferret().args(["report", "send"]).output().unwrap();
    assert!(stdout(&out).contains("sent 0, waiting 0"), "{}", stdout(&out));
    let runs = c.rt.block_on(c.store.list_runs(org_id, None, 100)).unwrap();
    let mut ids: Vec<_> = runs.iter().map(|r| r.run_id.clone()).collect();
    ids.sort();
    assert_eq!(ids, ["run-1", "run-2", "run-3", "run-4"], "each run once");

    // An unsigned directive from before signed directives (or planted in the database):
    // refused, reported as errored with the reason, and never run. Signed directives are
    // tested in `directives.rs`.
    let f5 = report_file(c.dir.path(), "run-5", 1);
    let d =
        c.rt.block_on(c.store.create_directive(
            &ferret_store::NewDirective {
                name: "old".into(),
                verb: "report".into(),
                command: format!("report upload '{f5}'"),
                deadline: Utc::now() + Duration::days(1),
                orgs: vec![org_id],
                ..Default::default()
            },
            Utc::now(),
        ))
        .unwrap();
    let out = c.ferret().args(["agent", "--once"]).output().unwrap();
    assert!(
        stdout(&out).contains("ran 1 directive(s), 1 errored"),
        "{} {}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(3));
    let st = c.rt.block_on(c.store.directive_status(org_id, d.id, Utc::now())).unwrap().unwrap();
    assert_eq!(st.hosts.len(), 1);
    assert_eq!(st.hosts[0].status, HostStatus::Errored);
    assert!(st.hosts[0].message.as_deref().unwrap_or_default().contains("directive key"));
    let runs = c.rt.block_on(c.store.list_runs(org_id, None, 100)).unwrap();
    assert!(runs.iter().all(|r| r.run_id != "run-5"), "the unsigned directive ran");
    // Nothing left to do.
    let out = c.ferret().args(["agent", "--once"]).output().unwrap();
    assert!(stdout(&out).contains("ran 0 directive(s)"), "{}", stdout(&out));
}

#[test]
fn serve_prints_the_admin_token_once_and_answers() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let db = format!("sqlite:{}", dir.path().join("s.db").display());
    let start = || {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("ferret"))
            .args(["serve", "--db", &db, "--listen", &format!("127.0.0.1:{port}")])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut child = start();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains(&format!("http://127.0.0.1:{port}/")), "{line}");
    // The database holds password and token hashes: readable by its owner only.
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("s.db")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "collector database mode {mode:o}");
    }
    let mut resp =
        ureq::get(&format!("http://127.0.0.1:{port}/api/v1/openapi.json")).call().unwrap();
    assert!(resp.body_mut().read_to_string().unwrap().contains("openapi"));
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let first = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(first.starts_with("admin token (shown once; keep it): "), "{first}");
    // A second start on the same database prints no token.
    let mut child = start();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
    // Refused: a database URL of no supported kind.
    let out = Command::cargo_bin("ferret")
        .unwrap()
        .args(["serve", "--db", "mysql://x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[cfg(feature = "scan")]
#[test]
#[expect(clippy::disallowed_methods, reason = "fixtures in the test's temporary directory")]
fn scan_report_to_sends_the_run_to_the_collector() {
    let c = Collector::start();
    let org = c.admin_post("/api/v1/admin/orgs", &json!({ "name": "agency" }));
    let secret = org["enrolment_secret"].as_str().unwrap().to_owned();
    let org_id = org["id"].as_i64().unwrap();
    let out = c.ferret().args(["enroll", &c.base, "--secret", &secret]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let tree = c.dir.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("x.bin"), ferret_testkit::eicar_like()).unwrap();
    let rule = c.dir.path().join("m.yar");
    std::fs::write(&rule, "rule marker { strings: $m = \"TEST-MARKER\" condition: $m }").unwrap();
    let out = c
        .ferret()
        .arg("scan")
        .arg(&tree)
        .args(["--no-builtin", "--no-cache", "--format", "jsonl", "--report-to", &c.base, "-r"])
        .arg(&rule)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let runs = c.rt.block_on(c.store.list_runs(org_id, None, 10)).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].verb, "scan");
    assert_eq!(runs[0].findings, 1);
    assert!(runs[0].ruleset_sha256.is_some());
}
