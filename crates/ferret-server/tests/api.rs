//! API and dashboard tests over real HTTP on 127.0.0.1:0: authentication (401), tenancy
//! (404), body limit (413), malformed reports (400), idempotent replay, directives, login
//! with CSRF, escaping, and SQL metacharacters in every filter.

use std::io::Write as _;
use std::sync::Arc;

use chrono::Utc;
use ferret_core::{Engine, Evidence, Finding, RuleRef, Severity};
use ferret_report::Report;
use ferret_server::AppState;
use serde_json::{Value, json};

struct Server {
    base: String,
    admin: String,
    _dir: tempfile::TempDir,
    _rt: tokio::runtime::Runtime,
    agent: ureq::Agent,
}

struct Resp {
    status: u16,
    body: String,
    set_cookies: Vec<String>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not json: {}", self.body))
    }
}

impl Server {
    fn start(body_limit: usize) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let url = format!("sqlite:{}", dir.path().join("c.db").display());
        let (base, admin) = rt.block_on(async {
            let store = ferret_store::open(&url).await.unwrap();
            let admin = ferret_server::bootstrap_admin(store.as_ref()).await.unwrap().unwrap();
            assert!(ferret_server::bootstrap_admin(store.as_ref()).await.unwrap().is_none());
            let state = AppState { store: Arc::clone(&store), body_limit, secure_cookies: false };
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(ferret_server::serve(listener, state, std::future::pending()));
            (format!("http://{addr}"), admin)
        });
        // A fresh connection per request: a server may close a kept-alive connection after
        // answering a request whose body it did not read (a 401, 404 or 405 to a body), and
        // a reused connection would then race that close.
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_idle_connections(0)
            .max_idle_connections_per_host(0)
            .build()
            .into();
        Server { base, admin, _dir: dir, _rt: rt, agent }
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Resp {
        let url = format!("{}{}", self.base, path);
        let mut req = ureq::http::Request::builder().method(method).uri(&url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(body.unwrap_or_default()).unwrap();
        let mut resp = self.agent.run(req).unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let set_cookies = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_string().unwrap_or_default();
        Resp { status, body, set_cookies }
    }

    fn admin_json(&self, path: &str, body: &Value) -> Resp {
        let auth = format!("Bearer {}", self.admin);
        self.call(
            "POST",
            path,
            &[("authorization", &auth), ("content-type", "application/json")],
            Some(body.to_string().into_bytes()),
        )
    }

    /// Creates an organisation and enrols one host in it; returns (org id, host token).
    fn org_with_host(&self, org: &str, host: &str) -> (i64, String) {
        let r = self.admin_json("/api/v1/admin/orgs", &json!({ "name": org }));
        assert_eq!(r.status, 201, "{}", r.body);
        let v = r.json();
        let secret = v["enrolment_secret"].as_str().unwrap().to_owned();
        let r = self.call(
            "POST",
            "/api/v1/enroll",
            &[("content-type", "application/json")],
            Some(json!({ "secret": secret, "host": host }).to_string().into_bytes()),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        (v["id"].as_i64().unwrap(), r.json()["token"].as_str().unwrap().to_owned())
    }

    fn upload(&self, token: &str, body: Vec<u8>, extra: &[(&str, &str)]) -> Resp {
        let auth = format!("Bearer {token}");
        let mut headers = vec![("authorization", auth.as_str())];
        headers.extend_from_slice(extra);
        self.call("POST", "/api/v1/reports", &headers, Some(body))
    }

    /// Creates a user with a role and logs in; returns the cookie header value and the
    /// session's CSRF token.
    fn login(&self, user: &str, org: i64, role: &str) -> (String, String) {
        let r = self.admin_json(
            "/api/v1/admin/users",
            &json!({ "name": user, "password": "correct horse battery", "org_id": org, "role": role }),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let form = self.call("GET", "/login", &[], None);
        let csrf = cookie_value(&form.set_cookies, "ferret_login_csrf");
        assert!(form.body.contains(&csrf), "the form carries the token");
        let body = format!("user={user}&password=correct+horse+battery&csrf={csrf}");
        let cookie = format!("ferret_login_csrf={csrf}");
        let r = self.call(
            "POST",
            "/login",
            &[("content-type", "application/x-www-form-urlencoded"), ("cookie", &cookie)],
            Some(body.into_bytes()),
        );
        assert_eq!(r.status, 303, "{}", r.body);
        let session = r.set_cookies.iter().find(|c| c.starts_with("ferret_session=")).unwrap();
        assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict"));
        let token = cookie_value(&r.set_cookies, "ferret_session");
        let cookie = format!("ferret_session={token}");
        let page = self.call("GET", &format!("/o/{org}"), &[("cookie", &cookie)], None);
        assert_eq!(page.status, 200, "{}", page.body);
        let csrf = page
            .body
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap()
            .to_owned();
        (cookie, csrf)
    }
}

fn cookie_value(set_cookies: &[String], name: &str) -> String {
    let prefix = format!("{name}=");
    set_cookies
        .iter()
        .find_map(|c| c.strip_prefix(&prefix))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned()
}

fn finding(rule: &str, severity: Severity, path: &str) -> Finding {
    let mut f = Finding::new(
        Engine::Yara,
        RuleRef { id: format!("id-{rule}"), name: rule.to_owned(), ..Default::default() },
        severity,
    )
    .with_path(path.as_bytes().to_vec());
    f.push_evidence(Evidence { label: "$s".into(), offset: Some(4), data: "<b>evil</b>".into() });
    f
}

fn report(run_id: &str, findings: Vec<Finding>) -> Report {
    ferret_testkit::report::report(run_id, findings)
}

fn jsonl(r: &Report) -> Vec<u8> {
    let mut out = Vec::new();
    ferret_report::jsonl::write(r, &mut out).unwrap();
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
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
fn unauthenticated_requests_get_401() {
    let s = Server::start(1 << 20);
    let body = jsonl(&report("r1", vec![]));
    assert_eq!(s.call("POST", "/api/v1/reports", &[], Some(body.clone())).status, 401);
    assert_eq!(s.upload("not-a-token", body, &[]).status, 401);
    assert_eq!(s.call("GET", "/api/v1/directives/pending", &[], None).status, 401);
    assert_eq!(s.call("GET", "/api/v1/runs/1", &[], None).status, 401);
    let r = s.call(
        "POST",
        "/api/v1/admin/orgs",
        &[("content-type", "application/json"), ("authorization", "Bearer wrong")],
        Some(br#"{"name":"x"}"#.to_vec()),
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "authentication required");
    let r = s.call(
        "POST",
        "/api/v1/enroll",
        &[("content-type", "application/json")],
        Some(br#"{"secret":"guess","host":"x"}"#.to_vec()),
    );
    assert_eq!(r.status, 401);
    // Dashboard pages send the browser to the login form.
    let r = s.call("GET", "/o/1", &[], None);
    assert_eq!(r.status, 303);
}

#[test]
fn upload_gzip_then_replay_is_stored_once() {
    let s = Server::start(1 << 20);
    let (_org, token) = s.org_with_host("agency", "web-1");
    let rep = report("run-42", vec![finding("webshell", Severity::High, "/srv/x.php")]);
    let r = s.upload(&token, gzip(&jsonl(&rep)), &[("content-encoding", "gzip")]);
    assert_eq!(r.status, 200, "{}", r.body);
    let first = r.json();
    assert_eq!(first["run_id"], "run-42");
    assert_eq!(first["duplicate"], false);
    let r = s.upload(&token, jsonl(&rep), &[]);
    assert_eq!(r.status, 200);
    let again = r.json();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["duplicate"], true);
    let auth = format!("Bearer {token}");
    let run =
        s.call("GET", &format!("/api/v1/runs/{}", first["id"]), &[("authorization", &auth)], None);
    assert_eq!(run.status, 200);
    assert_eq!(run.json()["findings"], 1);
}

#[test]
fn another_organisations_data_is_404() {
    let s = Server::start(1 << 20);
    let (org_a, token_a) = s.org_with_host("a", "ha");
    let (org_b, token_b) = s.org_with_host("b", "hb");
    let id = s.upload(&token_a, jsonl(&report("r", vec![])), &[]).json()["id"].as_i64().unwrap();
    let auth_b = format!("Bearer {token_b}");
    assert_eq!(
        s.call("GET", &format!("/api/v1/runs/{id}"), &[("authorization", &auth_b)], None).status,
        404
    );
    let d = s.admin_json(
        "/api/v1/admin/directives",
        &signed_envelope(None, org_a, "check", &["campaign=pulse-secure"], None),
    );
    assert_eq!(d.status, 201, "{}", d.body);
    let did = d.json()["id"].as_i64().unwrap();
    let r = s.call(
        "POST",
        &format!("/api/v1/directives/{did}/outcome"),
        &[("authorization", &auth_b), ("content-type", "application/json")],
        Some(br#"{"errored":true}"#.to_vec()),
    );
    assert_eq!(r.status, 404);
    let pending_b =
        s.call("GET", "/api/v1/directives/pending", &[("authorization", &auth_b)], None);
    assert_eq!(pending_b.json().as_array().unwrap().len(), 0);
    // A viewer of b cannot open a's pages or its run.
    let (cookie_b, _) = s.login("bob", org_b, "viewer");
    for path in
        [format!("/o/{org_a}"), format!("/o/{org_a}/runs/{id}"), format!("/o/{org_b}/runs/{id}")]
    {
        assert_eq!(s.call("GET", &path, &[("cookie", &cookie_b)], None).status, 404, "{path}");
    }
}

#[test]
fn oversized_upload_is_413() {
    let s = Server::start(2048);
    let (_org, token) = s.org_with_host("a", "h");
    let big = vec![b'x'; 4096];
    let r = s.upload(&token, big, &[]);
    assert_eq!(r.status, 413);
    // A small gzip that expands past the cap is refused too.
    let bomb = gzip(&vec![b'\n'; 2048 * 16 + 10]);
    assert!(bomb.len() < 2048);
    assert_eq!(s.upload(&token, bomb, &[("content-encoding", "gzip")]).status, 413);
}

#[test]
fn malformed_report_is_400_with_a_message() {
    let s = Server::start(1 << 20);
    let (_org, token) = s.org_with_host("a", "h");
    let r = s.upload(&token, b"this is not json\n".to_vec(), &[]);
    assert_eq!(r.status, 400);
    let msg = r.json()["error"].as_str().unwrap().to_owned();
    assert!(msg.starts_with("malformed report: line 1"), "{msg}");
    let r = s.upload(&token, b"{\"type\":\"finding\"}\n".to_vec(), &[]);
    assert_eq!(r.status, 400);
    let r = s.upload(&token, b"\x1f\x8bnot gzip".to_vec(), &[("content-encoding", "gzip")]);
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains("gzip"));
}

#[test]
fn directives_flow_and_dashboard_roll_up() {
    let s = Server::start(1 << 20);
    let (org, token) = s.org_with_host("agency", "<script>alert(1)</script>");
    let d = s.admin_json(
        "/api/v1/admin/directives",
        &signed_envelope(None, org, "scan", &["min-score=50"], Some(&[0, 1, 2])),
    );
    assert_eq!(d.status, 201, "{}", d.body);
    let did = d.json()["id"].as_i64().unwrap();
    let auth = format!("Bearer {token}");
    let pending =
        s.call("GET", "/api/v1/directives/pending", &[("authorization", &auth)], None).json();
    assert_eq!(pending[0]["id"], did);
    assert_eq!(pending[0]["bundle_b64"], "AAEC");
    let did_s = did.to_string();
    let rep =
        report("dir-run", vec![finding("pulse-webshell", Severity::Critical, "/home/<i>x</i>")]);
    let r = s.upload(&token, jsonl(&rep), &[("x-ferret-directive", &did_s)]);
    assert_eq!(r.status, 200);
    let r = s.call(
        "POST",
        &format!("/api/v1/directives/{did}/outcome"),
        &[("authorization", &auth), ("content-type", "application/json")],
        Some(
            json!({ "errored": false, "exit_code": 1, "run_id": "dir-run" })
                .to_string()
                .into_bytes(),
        ),
    );
    assert_eq!(r.status, 204);
    let pending =
        s.call("GET", "/api/v1/directives/pending", &[("authorization", &auth)], None).json();
    assert!(pending.as_array().unwrap().is_empty());

    let (cookie, _csrf) = s.login("alice", org, "viewer");
    let page = s.call("GET", &format!("/o/{org}/directives/{did}"), &[("cookie", &cookie)], None);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("affected (1)"), "{}", page.body);
    assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!page.body.contains("<script>alert(1)"));
    assert!(page.body.contains("<svg"));
    let fid = s
        .call("GET", &format!("/o/{org}/findings?rule=pulse"), &[("cookie", &cookie)], None)
        .body
        .split(&format!("/o/{org}/findings/"))
        .nth(1)
        .and_then(|x| x.split('"').next())
        .unwrap()
        .to_owned();
    let f = s.call("GET", &format!("/o/{org}/findings/{fid}"), &[("cookie", &cookie)], None);
    assert_eq!(f.status, 200);
    assert!(f.body.contains("&lt;b&gt;evil&lt;/b&gt;"), "evidence is shown escaped");
    assert!(f.body.contains("/home/&lt;i&gt;x&lt;/i&gt;"));
}

#[test]
fn sql_metacharacters_in_every_filter_are_inert() {
    let s = Server::start(1 << 20);
    let (org, token) = s.org_with_host("a", "plain");
    s.upload(&token, jsonl(&report("1", vec![finding("ordinary", Severity::Low, "/a")])), &[]);
    let (cookie, _) = s.login("carol", org, "viewer");
    for nasty in ["'", "' OR '1'='1", "%", "_", "\\", "\"; DROP TABLE findings; --", "$1", "?"] {
        let q: String = nasty.bytes().fold(String::new(), |mut q, b| {
            use std::fmt::Write as _;
            let _ = write!(q, "%{b:02X}");
            q
        });
        for path in [
            format!("/o/{org}/findings?rule={q}"),
            format!("/o/{org}/findings?host={q}"),
            format!("/o/{org}/findings?severity={q}"),
            format!("/o/{org}?host={q}"),
        ] {
            let r = s.call("GET", &path, &[("cookie", &cookie)], None);
            assert_eq!(r.status, 200, "{path}");
            if !path.contains("severity") {
                assert!(!r.body.contains("ordinary"), "{path} matched only literally");
            }
        }
    }
    let all = s.call("GET", &format!("/o/{org}/findings"), &[("cookie", &cookie)], None);
    assert!(all.body.contains("ordinary"), "the table is still there");
}

#[test]
fn forms_need_the_csrf_token() {
    let s = Server::start(1 << 20);
    let (org, _token) = s.org_with_host("a", "h");
    // Login without the double-submit cookie.
    let r = s.call(
        "POST",
        "/login",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(b"user=x&password=y&csrf=z".to_vec()),
    );
    assert_eq!(r.status, 403);
    let (cookie, csrf) = s.login("dave", org, "admin");
    let post = |body: String| {
        s.call(
            "POST",
            &format!("/o/{org}/secrets"),
            &[("content-type", "application/x-www-form-urlencoded"), ("cookie", &cookie)],
            Some(body.into_bytes()),
        )
    };
    assert_eq!(post("csrf=forged".into()).status, 403);
    let ok = post(format!("csrf={csrf}"));
    assert_eq!(ok.status, 200);
    assert!(ok.body.contains("ferret enroll URL --secret "));
    // Wrong password.
    let form = s.call("GET", "/login", &[], None);
    let lc = cookie_value(&form.set_cookies, "ferret_login_csrf");
    let r = s.call(
        "POST",
        "/login",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("cookie", &format!("ferret_login_csrf={lc}")),
        ],
        Some(format!("user=dave&password=wrong&csrf={lc}").into_bytes()),
    );
    assert_eq!(r.status, 401);
}

#[test]
fn openapi_describes_every_route_and_only_routes() {
    use std::collections::BTreeSet;
    const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"];
    let s = Server::start(1 << 20);
    let r = s.call("GET", "/api/v1/openapi.json", &[], None);
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["openapi"], "3.0.3");
    let mut documented = BTreeSet::new();
    for (path, item) in v["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().unwrap() {
            if method == "parameters" {
                continue;
            }
            let m = method.to_ascii_uppercase();
            assert!(METHODS.contains(&m.as_str()), "{path}: {method} is not an HTTP method");
            assert!(op["responses"].is_object(), "{m} {path} documents no response");
            // Every `{param}` of the path is declared, on the operation or the path.
            let declared: Vec<&str> = [&op["parameters"], &item["parameters"]]
                .iter()
                .filter_map(|p| p.as_array())
                .flatten()
                .filter(|p| p["in"] == "path")
                .filter_map(|p| p["name"].as_str())
                .collect();
            for param in path.split('{').skip(1).filter_map(|x| x.split('}').next()) {
                assert!(declared.contains(&param), "{m} {path}: `{param}` is not declared");
            }
            documented.insert((m, path.clone()));
        }
    }
    let routed: BTreeSet<(String, String)> =
        ferret_server::API_ROUTES.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
    assert_eq!(routed.len(), ferret_server::API_ROUTES.len(), "a route is declared twice");
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(undocumented.is_empty(), "routed but not in openapi.json: {undocumented:?}");
    assert!(unrouted.is_empty(), "in openapi.json but not routed: {unrouted:?}");
    // Over HTTP: each documented operation reaches a handler (no bare 404 of an unknown path,
    // no 405), and every other method on a documented path is refused with 405.
    let concrete = |p: &str| p.replace("{id}", "999999");
    for (m, p) in &documented {
        let r =
            s.call(m, &concrete(p), &[("content-type", "application/json")], Some(b"{}".to_vec()));
        assert_ne!(r.status, 405, "{m} {p}");
        assert!(r.status != 404 || !r.body.is_empty(), "{m} {p}: no route ({})", r.status);
        for other in METHODS.iter().filter(|o| !documented.contains(&((**o).to_owned(), p.clone())))
        {
            let r = s.call(other, &concrete(p), &[], None);
            assert_eq!(r.status, 405, "{other} {p} is not documented, yet it is served");
        }
    }
    // The check can tell a missing route: an unknown path is a bare 404.
    let r = s.call("GET", "/api/v1/no-such-route", &[], None);
    assert_eq!((r.status, r.body.as_str()), (404, ""));
}

#[test]
fn publishing_refuses_unsigned_tampered_and_wrongly_keyed_directives() {
    let s = Server::start(1 << 20);
    let key = ferret_integrity::sign::keygen().unwrap();
    let other = ferret_integrity::sign::keygen().unwrap();
    let r = s
        .admin_json("/api/v1/admin/orgs", &json!({ "name": "keyed", "directive_key": key.public }));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["directive_key_id"], key.key_id.as_str());
    let org = r.json()["id"].as_i64().unwrap();
    // The old command form.
    let r = s.admin_json(
        "/api/v1/admin/directives",
        &json!({ "name": "d", "command": "scan / -o /tmp/x", "deadline": "2030-01-01T00:00:00Z", "orgs": [org] }),
    );
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains("unsigned"), "{}", r.body);
    // Another key than the organisation's.
    let r = s.admin_json(
        "/api/v1/admin/directives",
        &signed_envelope(Some(&other.secret), org, "check", &[], None),
    );
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains(&key.key_id), "{}", r.body);
    // A document changed after signing.
    let mut env = signed_envelope(Some(&key.secret), org, "check", &[], None);
    env["document"] = env["document"].as_str().unwrap().replace("/srv", "/etc").into();
    let r = s.admin_json("/api/v1/admin/directives", &env);
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains("sha256"), "{}", r.body);
    // A bundle that is not the signed one.
    let mut env = signed_envelope(Some(&key.secret), org, "scan", &[], Some(b"rules"));
    env["bundle_b64"] = "b3RoZXI=".into();
    assert_eq!(s.admin_json("/api/v1/admin/directives", &env).status, 400);
    // An output option.
    let doc = ferret_core::directive::Document::parse(
        signed_envelope(Some(&key.secret), org, "scan", &[], None)["document"].as_str().unwrap(),
    )
    .unwrap();
    let mut bad = doc.clone();
    bad.options.push(ferret_core::directive::DirectiveOption::parse("output=/tmp/x"));
    let text = serde_json::to_string(&bad).unwrap();
    assert!(ferret_integrity::directive::sign(&key.secret, &text).is_err());
    // A good one, then the admin views of it.
    let good = signed_envelope(Some(&key.secret), org, "check", &["campaign=pulse-secure"], None);
    let r = s.admin_json("/api/v1/admin/directives", &good);
    assert_eq!(r.status, 201, "{}", r.body);
    let did = r.json()["id"].as_i64().unwrap();
    // The same signed document again: refused, so hosts never run it twice.
    let again = s.admin_json("/api/v1/admin/directives", &good);
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(
        again.json()["error"].as_str().unwrap().contains("already published"),
        "{}",
        again.body
    );
    // A signed deadline already past: refused (hosts would refuse it anyway).
    let mut late = doc.clone();
    late.id = "late-1".into();
    late.deadline = "2020-01-01T00:00:00Z".parse().unwrap();
    let text = serde_json::to_string(&late).unwrap();
    let (sig, _) = ferret_integrity::directive::sign(&key.secret, &text).unwrap();
    let refused =
        s.admin_json("/api/v1/admin/directives", &json!({ "document": text, "signature": sig }));
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.json()["error"].as_str().unwrap().contains("deadline"), "{}", refused.body);
    assert_eq!(r.json()["signed"], true);
    let auth = format!("Bearer {}", s.admin);
    let list = s.call("GET", "/api/v1/admin/directives", &[("authorization", &auth)], None);
    assert_eq!(list.json().as_array().unwrap().len(), 1);
    let one = s.call(
        "GET",
        &format!("/api/v1/admin/directives/{did}"),
        &[("authorization", &auth)],
        None,
    );
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(one.json()["counts"]["pending"], 0);
    assert_eq!(one.json()["hosts"], 0);
    let (org2, token) = s.org_with_host("plain", "web-01");
    let hosts = s.call(
        "GET",
        &format!("/api/v1/admin/hosts?org={org2}&name=WEB"),
        &[("authorization", &auth)],
        None,
    );
    assert_eq!(hosts.json().as_array().unwrap().len(), 1, "{}", hosts.body);
    // A key registered later is what enrolment advertises.
    let r = s.call(
        "PUT",
        &format!("/api/v1/admin/orgs/{org2}/directive-key"),
        &[("authorization", &auth), ("content-type", "application/json")],
        Some(json!({ "directive_key": other.public }).to_string().into_bytes()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["key_id"], other.key_id.as_str());
    let env2 = signed_envelope(Some(&other.secret), org2, "check", &[], None);
    let d2 = s.admin_json("/api/v1/admin/directives", &env2);
    assert_eq!(d2.status, 201, "{}", d2.body);
    let host_auth = format!("Bearer {token}");
    let pending =
        s.call("GET", "/api/v1/directives/pending", &[("authorization", &host_auth)], None);
    let p = pending.json();
    // Served verbatim.
    assert_eq!(p[0]["document"], env2["document"]);
    assert_eq!(p[0]["signature"], env2["signature"]);
    let d2id = d2.json()["id"].as_i64().unwrap();
    let r = s.call(
        "POST",
        &format!("/api/v1/admin/directives/{d2id}/close"),
        &[("authorization", &auth)],
        None,
    );
    assert_eq!(r.status, 204);
    let pending =
        s.call("GET", "/api/v1/directives/pending", &[("authorization", &host_auth)], None);
    assert!(pending.json().as_array().unwrap().is_empty());
}
