//! A browser walks the dashboard: headless Chromium, driven over WebDriver (chromedriver on
//! loopback), logs in, opens a directive, sees the affected host, opens its finding and
//! keeps a screenshot (`$CARGO_TARGET_TMPDIR/dashboard-finding.png`). An organisation admin
//! then signs in and uses the forms: creates an enrolment secret (a host enrols with it),
//! adds a user, publishes a signed directive by pasting its envelope and closes it, filters
//! the directive page by status and follows its CSV export link. It
//! then opens an HTML report file and checks that the page fetched no resource at all.
//!
//! Skipped, with a message, when `/usr/bin/chromium` or `/usr/bin/chromedriver` is absent
//! (Debian packages `chromium` and `chromium-driver`).

use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use chrono::{TimeZone as _, Utc};
use ferret_core::{Engine, Evidence, Finding, RuleRef, Severity};
use ferret_report::Report;
use ferret_server::AppState;
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn post(url: &str, auth: Option<&str>, body: &Value) -> (u16, Value) {
    let mut req = agent().post(url).header("content-type", "application/json");
    if let Some(a) = auth {
        req = req.header("authorization", &format!("Bearer {a}"));
    }
    let mut resp = req.send(body.to_string().as_bytes()).unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn report(run_id: &str, findings: Vec<Finding>) -> Report {
    let mut r = ferret_testkit::report::report(run_id, findings);
    r.started = Utc.with_ymd_and_hms(2026, 5, 4, 3, 2, 1).unwrap();
    r.finished = r.started + chrono::Duration::seconds(4);
    r
}

struct WebDriver {
    base: String,
    session: String,
    child: Child,
}

impl WebDriver {
    fn start(profile: &Path) -> WebDriver {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let mut ready = false;
        for _ in 0..100 {
            if let Ok(mut r) = agent().get(&format!("{base}/status")).call()
                && r.body_mut().read_to_string().unwrap_or_default().contains("\"ready\":true")
            {
                ready = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(ready, "chromedriver did not start");
        let caps = json!({ "capabilities": { "alwaysMatch": { "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--no-first-run", "--disable-sync",
                     "--window-size=1280,1000", format!("--user-data-dir={}", profile.display())]
        } } } });
        let (status, v) = post(&format!("{base}/session"), None, &caps);
        assert_eq!(status, 200, "{v}");
        let session = v["value"]["sessionId"].as_str().unwrap().to_owned();
        let wd = WebDriver { base, session, child };
        // Pages load slowly on a busy machine: let element look-ups wait for the next page.
        wd.cmd("/timeouts", &json!({ "implicit": 30_000, "pageLoad": 60_000 }));
        wd
    }

    fn cmd(&self, path: &str, body: &Value) -> Value {
        let (status, v) =
            post(&format!("{}/session/{}{path}", self.base, self.session), None, body);
        assert_eq!(status, 200, "{path}: {v}");
        v["value"].clone()
    }

    fn get(&self, path: &str) -> Value {
        let mut r =
            agent().get(&format!("{}/session/{}{path}", self.base, self.session)).call().unwrap();
        let v: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
        v["value"].clone()
    }

    fn goto(&self, url: &str) {
        self.cmd("/url", &json!({ "url": url }));
    }

    fn find(&self, using: &str, value: &str) -> String {
        let v = self.cmd("/element", &json!({ "using": using, "value": value }));
        v.as_object().and_then(|o| o.values().next()).and_then(Value::as_str).unwrap().to_owned()
    }

    fn click(&self, using: &str, value: &str) {
        let e = self.find(using, value);
        self.cmd(&format!("/element/{e}/click"), &json!({}));
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.find("css selector", css);
        self.cmd(&format!("/element/{e}/value"), &json!({ "text": text }));
    }

    fn property(&self, using: &str, value: &str, name: &str) -> String {
        let e = self.find(using, value);
        self.get(&format!("/element/{e}/property/{name}")).as_str().unwrap().to_owned()
    }

    /// The value of a cookie the browser holds (HttpOnly ones included).
    fn cookie(&self, name: &str) -> String {
        self.get(&format!("/cookie/{name}"))["value"].as_str().unwrap().to_owned()
    }

    fn source(&self) -> String {
        self.get("/source").as_str().unwrap().to_owned()
    }

    /// The page source once it contains `needle` (a click's navigation may still be under way),
    /// or the last source seen after 30 seconds.
    fn source_with(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let page = self.source();
            if page.contains(needle) || std::time::Instant::now() > deadline {
                return page;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    fn screenshot(&self, path: &Path) {
        let b64 = self.get("/screenshot");
        let png = base64::engine::general_purpose::STANDARD.decode(b64.as_str().unwrap()).unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        #[expect(clippy::disallowed_methods, reason = "the test's screenshot artefact")]
        let mut f = std::fs::File::create(path).unwrap();
        f.write_all(&png).unwrap();
    }
}

impl Drop for WebDriver {
    fn drop(&mut self) {
        let _ = agent().delete(&format!("{}/session/{}", self.base, self.session)).call();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directive envelope signed with `secret` (a fresh key when `None`), as
/// `ferret admin directive sign` writes it.
fn signed_envelope(
    secret: Option<&str>,
    org: i64,
    verb: &str,
    options: &[&str],
    bundle: Option<&[u8]>,
) -> Value {
    use base64::Engine as _;
    use ferret_core::directive::{DirectiveOption, Document, sha256_hex};
    let fresh;
    let secret = match secret {
        Some(s) => s,
        None => {
            fresh = ferret_integrity::sign::keygen().unwrap().secret;
            &fresh
        }
    };
    let doc = Document {
        schema_version: 1,
        id: uuid::Uuid::new_v4().to_string(),
        name: "pulse-2026".into(),
        verb: verb.into(),
        targets: vec!["/srv".into()],
        options: options.iter().map(|o| DirectiveOption::parse(o)).collect(),
        deadline: "2030-01-01T00:00:00Z".parse().unwrap(),
        orgs: vec![org],
        bundle_sha256: bundle.map(sha256_hex),
        created: Utc::now(),
    };
    let text = serde_json::to_string(&doc).unwrap();
    let (sig, _) = ferret_integrity::directive::sign(secret, &text).unwrap();
    json!({
        "document": text,
        "signature": sig,
        "bundle_b64": bundle.map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
    })
}

#[test]
fn browser_logs_in_and_follows_a_directive_to_the_evidence() {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        ferret_testkit::skip(format_args!(
            "{CHROMIUM} and {CHROMEDRIVER} (Debian packages chromium and chromium-driver)"
        ));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let url = format!("sqlite:{}", dir.path().join("c.db").display());
    let (base, admin) = rt.block_on(async {
        let store = ferret_store::open(&url).await.unwrap();
        let admin = ferret_server::bootstrap_admin(store.as_ref()).await.unwrap().unwrap();
        let state = AppState::new(Arc::clone(&store));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(ferret_server::serve(listener, state, std::future::pending()));
        (format!("http://{addr}"), admin)
    });
    let (_, org) =
        post(&format!("{base}/api/v1/admin/orgs"), Some(&admin), &json!({ "name": "Agency" }));
    let org_id = org["id"].as_i64().unwrap();
    let secret = org["enrolment_secret"].as_str().unwrap();
    let (_, d) = post(
        &format!("{base}/api/v1/admin/directives"),
        Some(&admin),
        &signed_envelope(None, org_id, "check", &["campaign=pulse-secure"], None),
    );
    let did = d["id"].as_i64().unwrap().to_string();
    let mut f = Finding::new(
        Engine::Check,
        RuleRef { id: "PS001".into(), name: "pulse-secure-webshell".into(), ..Default::default() },
        Severity::Critical,
    )
    .with_path("/home/webserver/htdocs/dana-na/licenseserver/compcheckresult.cgi");
    f.push_evidence(Evidence {
        label: "marker".into(),
        offset: Some(64),
        data: "<script>evil()</script>".into(),
    });
    for (host, findings) in [("web-01", vec![f]), ("web-02", vec![])] {
        let (_, e) = post(
            &format!("{base}/api/v1/enroll"),
            None,
            &json!({ "secret": secret, "host": host }),
        );
        let token = e["token"].as_str().unwrap();
        let mut body = Vec::new();
        ferret_report::jsonl::write(&report(&format!("run-{host}"), findings), &mut body).unwrap();
        let resp = agent()
            .post(&format!("{base}/api/v1/reports"))
            .header("authorization", &format!("Bearer {token}"))
            .header("x-ferret-directive", &did)
            .send(&body[..])
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
    }
    post(
        &format!("{base}/api/v1/admin/users"),
        Some(&admin),
        &json!({ "name": "analyst", "password": "a long password", "org_id": org_id, "role": "viewer" }),
    );
    post(
        &format!("{base}/api/v1/admin/users"),
        Some(&admin),
        &json!({ "name": "coordinator", "password": "another long password", "org_id": org_id, "role": "admin" }),
    );

    let wd = WebDriver::start(&dir.path().join("profile"));
    wd.goto(&format!("{base}/login"));
    wd.type_into("input[name=user]", "analyst");
    wd.type_into("input[name=password]", "a long password");
    wd.click("css selector", "button[type=submit]");
    assert!(
        wd.source_with("Directives").contains("Directives"),
        "logged in and on the organisation page"
    );
    wd.click("link text", "pulse-2026");
    let page = wd.source_with("affected (1)");
    assert!(page.contains("affected (1)"), "{page}");
    assert!(page.contains("clean (1)"));
    wd.screenshot(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-directive.png"));
    wd.click("link text", "web-01");
    assert!(wd.source_with("Affected: the latest run").contains("Affected: the latest run"));
    wd.click("link text", "pulse-secure-webshell");
    let page = wd.source_with("Evidence");
    assert!(page.contains("Evidence"));
    assert!(page.contains("&lt;script&gt;evil()&lt;/script&gt;"), "evidence shown as text");
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-finding.png");
    wd.screenshot(&shot);
    eprintln!("screenshot kept at {}", shot.display());

    // An organisation admin uses the forms.
    wd.click("xpath", "//button[text()='Sign out']");
    assert!(wd.source_with("Sign in").contains("Sign in"));
    wd.type_into("input[name=user]", "coordinator");
    wd.type_into("input[name=password]", "another long password");
    wd.click("css selector", "button[type=submit]");
    assert!(wd.source_with("Administration").contains("Add a user"), "an admin sees the forms");
    wd.click("xpath", "//button[text()='Create an enrolment secret']");
    let page = wd.source_with("Shown once");
    let secret = page
        .split("--secret ")
        .nth(1)
        .and_then(|x| x.split(|c: char| !c.is_ascii_hexdigit()).next())
        .unwrap()
        .to_owned();
    assert_eq!(secret.len(), 64, "{page}");
    let (status, _) = post(
        &format!("{base}/api/v1/enroll"),
        None,
        &json!({ "secret": secret, "host": "web-03" }),
    );
    assert_eq!(status, 201, "a host enrols with the secret the form showed");
    wd.goto(&format!("{base}/o/{org_id}"));
    wd.type_into("form.admin input[name=name]", "newcomer");
    wd.type_into("form.admin input[name=password]", "a new long password");
    wd.click("css selector", "form.admin option[value=admin]");
    wd.click("xpath", "//button[text()='Add the user']");
    assert!(wd.source_with("Created and added").contains("as admin"));
    // Publish a signed directive by pasting its envelope, open it, close it.
    wd.goto(&format!("{base}/o/{org_id}"));
    let envelope = signed_envelope(None, org_id, "check", &["campaign=sunburst"], None);
    wd.type_into("textarea[name=envelope]", &envelope.to_string());
    wd.click("xpath", "//button[text()='Publish the directive']");
    assert!(wd.source_with("Published: ").contains("Published: pulse-2026"));
    wd.click("link text", "Open the directive");
    assert!(wd.source_with("Close the directive").contains("signed by directive key"));
    wd.click("xpath", "//button[text()='Close the directive']");
    let page = wd.source_with("(agents are no longer served it)");
    assert!(!page.contains("Close the directive"), "{page}");
    wd.goto(&format!("{base}/o/{org_id}/directives/{did}"));
    wd.click("css selector", "select[name=status] option[value=affected]");
    wd.click("xpath", "//button[text()='Filter']");
    let page = wd.source_with("status affected");
    assert!(page.contains(">web-01<") && !page.contains(">web-02<"), "{page}");
    wd.screenshot(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-filtered.png"));
    // The export link, fetched with the browser's session.
    let href = wd.property("link text", "CSV", "href");
    let session = wd.cookie("ferret_session");
    let mut resp =
        agent().get(&href).header("cookie", &format!("ferret_session={session}")).call().unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{href}");
    let csv = resp.body_mut().read_to_string().unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("host_id,host,org,status,findings,answered,run_id,exit_code,message,verdicts")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 3, "{csv}");
    assert!(rows.iter().any(|r| r.contains(",web-01,Agency,affected,1,")), "{csv}");
    assert!(rows.iter().any(|r| r.contains(",web-02,Agency,clean,0,")), "{csv}");
    assert!(rows.iter().any(|r| r.contains(",web-03,Agency,pending,0,")), "{csv}");

    // The HTML report opens with no request for any resource.
    let mut rep = report("file-run", vec![]);
    rep.findings = vec![Finding::new(
        Engine::Yara,
        RuleRef {
            id: "x".into(),
            name: "<img src=http://127.0.0.1:9/x.png>".into(),
            ..Default::default()
        },
        Severity::High,
    )];
    rep.count_findings();
    let mut html = Vec::new();
    ferret_report::html::write(&rep, &mut html).unwrap();
    let file = dir.path().join("report.html");
    #[expect(clippy::disallowed_methods, reason = "the test's own report file")]
    std::fs::write(&file, html).unwrap();
    wd.goto(&format!("file://{}", file.display()));
    let resources = wd.cmd(
        "/execute/sync",
        &json!({ "script": "return performance.getEntriesByType('resource').length", "args": [] }),
    );
    assert_eq!(resources, json!(0), "the report fetched resources");
    assert!(wd.source_with("by severity").contains("by severity"));
    wd.screenshot(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("html-report.png"));
}
