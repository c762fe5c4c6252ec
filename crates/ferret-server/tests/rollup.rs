//! A directive's roll-up over HTTP, on SQLite and on PostgreSQL (`FERRET_TEST_POSTGRES_URL`;
//! each PostgreSQL test runs in its own schema, dropped at the end): the export (API and
//! dashboard, CSV and JSON) lists every host with the right status, quotes and defuses CSV
//! cells, and keeps organisations apart; the directive page paginates and filters; the
//! dashboard's administration forms refuse a forged CSRF token, a viewer and another
//! organisation.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Duration, Utc};
use ferret_core::{Engine, Finding, RuleRef, Severity};
use ferret_report::Report;
use ferret_server::AppState;
use ferret_store::{DirectiveOutcome, Host, NewDirective, Store, hash_token};
use serde_json::{Value, json};

struct Server {
    base: String,
    admin: String,
    store: Arc<dyn Store>,
    rt: tokio::runtime::Runtime,
    agent: ureq::Agent,
    _dir: tempfile::TempDir,
    pg: Option<(sqlx::AnyPool, String)>,
}

struct Resp {
    status: u16,
    body: String,
    headers: ureq::http::HeaderMap,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not json: {}", self.body))
    }
}

impl Server {
    fn sqlite() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("c.db").display());
        Server::start(dir, |rt| (rt.block_on(ferret_store::open(&url)).unwrap(), None))
    }

    /// A server on a fresh PostgreSQL schema, or `None` (a visible skip) without one.
    fn postgres() -> Option<Server> {
        let Ok(url) = std::env::var("FERRET_TEST_POSTGRES_URL") else {
            ferret_testkit::skip("PostgreSQL: set FERRET_TEST_POSTGRES_URL");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        Some(Server::start(dir, |rt| {
            rt.block_on(async {
                sqlx::any::install_default_drivers();
                let admin = sqlx::any::AnyPoolOptions::new()
                    .max_connections(1)
                    .connect(&url)
                    .await
                    .unwrap();
                let schema = format!("ferret_test_{}", uuid::Uuid::new_v4().simple());
                sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&admin).await.unwrap();
                let store = ferret_store::SqlStore::open(&url, Some(&schema)).await.unwrap();
                (Arc::new(store) as Arc<dyn Store>, Some((admin, schema)))
            })
        }))
    }

    fn start(
        dir: tempfile::TempDir,
        open: impl FnOnce(&tokio::runtime::Runtime) -> (Arc<dyn Store>, Option<(sqlx::AnyPool, String)>),
    ) -> Server {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (store, pg) = open(&rt);
        let (base, admin) = rt.block_on(async {
            let admin = ferret_server::bootstrap_admin(store.as_ref()).await.unwrap().unwrap();
            let state =
                AppState { store: Arc::clone(&store), body_limit: 1 << 20, secure_cookies: false };
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(ferret_server::serve(listener, state, std::future::pending()));
            (format!("http://{addr}"), admin)
        });
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_idle_connections(0)
            .build()
            .into();
        Server { base, admin, store, rt, agent, _dir: dir, pg }
    }

    fn finish(self) {
        if let Some((admin, schema)) = &self.pg {
            self.rt.block_on(async {
                sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(admin).await.unwrap();
            });
        }
    }

    fn call(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> Resp {
        let url = format!("{}{}", self.base, path);
        let mut req = ureq::http::Request::builder().method(method).uri(&url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(body.unwrap_or_default().as_bytes().to_vec()).unwrap();
        let mut resp = self.agent.run(req).unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.body_mut().read_to_string().unwrap_or_default();
        Resp { status, body, headers }
    }

    fn admin_get(&self, path: &str) -> Resp {
        let auth = format!("Bearer {}", self.admin);
        self.call("GET", path, &[("authorization", &auth)], None)
    }

    fn form(&self, path: &str, cookie: &str, body: &str) -> Resp {
        self.call(
            "POST",
            path,
            &[("content-type", "application/x-www-form-urlencoded"), ("cookie", cookie)],
            Some(body),
        )
    }

    fn block<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.rt.block_on(f)
    }

    /// Gives `user` (created if new) a role in `org`, logs in; returns (cookie, csrf).
    fn login(&self, user: &str, org: i64, role: &str) -> (String, String) {
        let auth = format!("Bearer {}", self.admin);
        let r = self.call(
            "POST",
            "/api/v1/admin/users",
            &[("authorization", &auth), ("content-type", "application/json")],
            Some(
                &json!({ "name": user, "password": "correct horse battery", "org_id": org, "role": role })
                    .to_string(),
            ),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        self.sign_in(user, "correct horse battery", org)
    }

    fn sign_in(&self, user: &str, password: &str, org: i64) -> (String, String) {
        let form = self.call("GET", "/login", &[], None);
        let csrf = header_cookie(&form.headers, "ferret_login_csrf");
        let body = format!("user={user}&password={}&csrf={csrf}", password.replace(' ', "+"));
        let r = self.form("/login", &format!("ferret_login_csrf={csrf}"), &body);
        assert_eq!(r.status, 303, "{}", r.body);
        let cookie = format!("ferret_session={}", header_cookie(&r.headers, "ferret_session"));
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

fn header_cookie(headers: &ureq::http::HeaderMap, name: &str) -> String {
    let prefix = format!("{name}=");
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(&prefix))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned()
}

fn report(run_id: &str, findings: usize, verdicts: &[(&str, &str)]) -> Report {
    let findings = (0..findings)
        .map(|i| {
            Finding::new(
                Engine::Check,
                RuleRef { id: format!("PS00{i}"), name: "pulse".into(), ..Default::default() },
                Severity::Critical,
            )
            .with_path(format!("/x/{i}").into_bytes())
        })
        .collect();
    let mut r = ferret_testkit::report::report(run_id, findings);
    if !verdicts.is_empty() {
        let list: Vec<Value> = verdicts
            .iter()
            .map(|(c, v)| json!({ "campaign": c, "verdict": v, "title": c, "reason": "r", "evidence": 0, "leads": 0 }))
            .collect();
        r.summary.details.insert("verdicts".into(), Value::Array(list));
    }
    r.count_findings();
    r
}

/// RFC 4180 records (quoted cells may hold commas, quotes and newlines).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (_, c) => cell.push(c),
        }
    }
    assert!(cell.is_empty() && row.is_empty(), "the CSV ends with a newline");
    rows
}

/// The fixture: organisation `a` with one host per status (two incomplete: a `check`
/// UNKNOWN, and one affected before), organisation `b` with one clean host; directive `both` applies to a and b, directive `only_a` to a alone.
struct Fixture {
    a: i64,
    b: i64,
    both: i64,
    only_a: i64,
}

const NASTY: &str = "=HYPERLINK(\"http://x\",\"click\"), with \"quotes\"\nand a newline";

fn fixture(s: &Server) -> Fixture {
    s.block(async {
        let st = s.store.as_ref();
        let a = st.create_org("agency-a").await.unwrap().id;
        let b = st.create_org("agency-b").await.unwrap().id;
        let now = Utc::now();
        let dir = |name: &str, orgs: Vec<i64>| NewDirective {
            name: name.into(),
            command: "check".into(),
            bundle: None,
            deadline: now + Duration::days(1),
            orgs,
            ..NewDirective::default()
        };
        let both = st.create_directive(&dir("both", vec![a, b]), now).await.unwrap().id;
        let only_a = st.create_directive(&dir("only-a", vec![a]), now).await.unwrap().id;
        let host = |org: i64, name: &'static str| async move {
            st.create_host(org, name, &hash_token(name)).await.unwrap()
        };
        let ingest = |h: Host, r: Report, secs: i64| async move {
            st.ingest(&h, &r, Some(both), now + Duration::seconds(secs)).await.unwrap();
        };
        let hit = host(a, "hit").await;
        ingest(
            hit.clone(),
            report("h1", 2, &[("pulse-secure", "affected"), ("sunburst", "not_found")]),
            1,
        )
        .await;
        let fixed = host(a, "=fixed").await;
        ingest(fixed.clone(), report("f1", 1, &[]), 1).await;
        ingest(fixed, report("f2", 0, &[]), 2).await;
        ingest(host(a, "clean").await, report("c1", 0, &[]), 1).await;
        // Exit status 3: a campaign UNKNOWN, no finding, not complete. Never clean.
        let unknown = |id: &str| {
            let mut r = report(id, 0, &[("pulse-secure", "unknown"), ("sunburst", "not_found")]);
            r.summary.mark_incomplete("pulse-secure: UNKNOWN");
            r
        };
        ingest(host(a, "unknown").await, unknown("u1"), 1).await;
        // Affected, then an incomplete run: incomplete, not fixed.
        let relapse = host(a, "hit-then-unknown").await;
        ingest(relapse.clone(), report("r1", 1, &[]), 1).await;
        ingest(relapse, unknown("r2"), 2).await;
        let broken = host(a, "broken").await;
        let out = DirectiveOutcome {
            errored: true,
            exit_code: Some(2),
            message: Some(NASTY.into()),
            run_id: None,
        };
        st.record_outcome(&broken, both, &out, now).await.unwrap();
        st.record_outcome(
            &hit,
            both,
            &DirectiveOutcome { errored: false, exit_code: Some(1), message: None, run_id: None },
            now,
        )
        .await
        .unwrap();
        host(a, "silent").await;
        ingest(host(b, "b-clean").await, report("b1", 0, &[]), 1).await;
        Fixture { a, b, both, only_a }
    })
}

fn export_is_complete_quoted_defused_and_scoped(s: &Server) {
    let f = fixture(s);
    // The API export: both organisations.
    let r = s.admin_get(&format!("/api/v1/admin/directives/{}/export?format=csv", f.both));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(r.headers["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let rows = parse_csv(&r.body);
    assert_eq!(
        rows[0],
        [
            "host_id",
            "host",
            "org",
            "status",
            "findings",
            "answered",
            "run_id",
            "exit_code",
            "message",
            "verdicts"
        ]
    );
    let by_host: BTreeMap<&str, &Vec<String>> =
        rows[1..].iter().map(|r| (r[1].as_str(), r)).collect();
    assert_eq!(rows.len(), 9, "a header and eight hosts: {rows:?}");
    let cols = |h: &str| by_host[h][2..].iter().map(String::as_str).collect::<Vec<_>>();
    let hit = cols("hit");
    assert_eq!(hit[..3], ["agency-a", "affected", "2"]);
    assert!(hit[3].starts_with("20"), "answered is RFC 3339: {}", hit[3]);
    assert_eq!(hit[4..], ["h1", "1", "", "pulse-secure=affected;sunburst=not_found"]);
    // A host name starting with `=` is defused like any other text cell.
    assert_eq!(cols("'=fixed")[..5], ["agency-a", "fixed", "0", cols("'=fixed")[3], "f2"]);
    assert_eq!(cols("clean")[1], "clean");
    let unknown = cols("unknown");
    assert_eq!(unknown[..3], ["agency-a", "incomplete", "0"]);
    assert_eq!(unknown[4], "u1");
    assert_eq!(unknown[7], "pulse-secure=unknown;sunburst=not_found");
    assert_eq!(cols("hit-then-unknown")[1..3], ["incomplete", "0"]);
    assert_eq!(cols("hit-then-unknown")[4], "r2");
    let broken = cols("broken");
    assert_eq!(broken[1..3], ["errored", "0"]);
    assert_eq!(broken[5], "2");
    assert!(broken[6].starts_with("'=HYPERLINK(\"http://x\""), "defused: {}", broken[6]);
    assert!(!broken[6].contains('\n'), "no raw newline in a cell: {}", broken[6]);
    assert!(broken[6].contains("with \"quotes\""), "quotes survive RFC 4180 quoting");
    assert_eq!(cols("silent")[1..4], ["pending", "0", ""]);
    assert_eq!(cols("b-clean")[..2], ["agency-b", "clean"]);
    assert!(r.body.contains("\"'=HYPERLINK(\"\"http://x\"\""), "quotes are doubled");

    // JSON: the same rows, counts first.
    let r = s.admin_get(&format!("/api/v1/admin/directives/{}/export?format=json", f.both));
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["directive"]["id"], f.both);
    assert_eq!(v["directive"]["orgs"].as_array().unwrap().len(), 2);
    assert!(v["generated"].is_string());
    assert_eq!(
        v["counts"],
        json!({ "affected": 1, "clean": 2, "fixed": 1, "incomplete": 2, "errored": 1, "pending": 1,
                "not_answered": 0 })
    );
    let hosts = v["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 8);
    let unknown = hosts.iter().find(|h| h["host"] == "unknown").unwrap();
    assert_eq!(unknown["status"], "incomplete");
    assert_eq!(unknown["verdicts"], json!({ "pulse-secure": "unknown", "sunburst": "not_found" }));
    // The directive's detail counts the same way.
    let detail = s.admin_get(&format!("/api/v1/admin/directives/{}", f.both)).json();
    assert_eq!((&detail["counts"], detail["hosts"].as_i64()), (&v["counts"], Some(8)));
    let hit = hosts.iter().find(|h| h["host"] == "hit").unwrap();
    assert_eq!(hit["verdicts"], json!({ "pulse-secure": "affected", "sunburst": "not_found" }));
    assert_eq!((hit["findings"].as_i64(), hit["exit_code"].as_i64()), (Some(2), Some(1)));
    let broken = hosts.iter().find(|h| h["host"] == "broken").unwrap();
    assert_eq!(broken["message"], NASTY, "JSON keeps the message as sent");
    let silent = hosts.iter().find(|h| h["host"] == "silent").unwrap();
    assert_eq!((silent["status"].as_str(), silent["answered"].is_null()), (Some("pending"), true));
    assert_eq!(
        s.admin_get(&format!("/api/v1/admin/directives/{}/export", f.both)).json()["hosts"]
            .as_array()
            .unwrap()
            .len(),
        8,
        "JSON is the default"
    );

    // Refusals.
    let path = format!("/api/v1/admin/directives/{}/export?format=csv", f.both);
    assert_eq!(s.call("GET", &path, &[], None).status, 401);
    assert_eq!(s.call("GET", &path, &[("authorization", "Bearer nope")], None).status, 401);
    assert_eq!(
        s.admin_get(&format!("/api/v1/admin/directives/{}/export?format=xls", f.both)).status,
        400
    );
    assert_eq!(s.admin_get("/api/v1/admin/directives/999999/export").status, 404);

    // The dashboard's export: the viewer's organisation only.
    let (cookie_a, _) = s.login("ann", f.a, "viewer");
    let (cookie_b, _) = s.login("bob", f.b, "viewer");
    let r = s.call(
        "GET",
        &format!("/o/{}/directives/{}/export?format=csv", f.b, f.both),
        &[("cookie", &cookie_b)],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let rows = parse_csv(&r.body);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1][1], "b-clean");
    let r = s.call(
        "GET",
        &format!("/o/{}/directives/{}/export?format=json", f.a, f.both),
        &[("cookie", &cookie_a)],
        None,
    );
    assert_eq!(r.json()["hosts"].as_array().unwrap().len(), 7);
    assert_eq!(r.json()["counts"]["clean"], 1);
    assert_eq!(r.json()["counts"]["incomplete"], 2);
    for path in [
        format!("/o/{}/directives/{}/export?format=csv", f.a, f.both),
        format!("/o/{}/directives/{}/export?format=csv", f.b, f.only_a),
        format!("/o/{}/directives/{}", f.b, f.only_a),
    ] {
        assert_eq!(s.call("GET", &path, &[("cookie", &cookie_b)], None).status, 404, "{path}");
    }
    assert_eq!(
        s.call("GET", &format!("/o/{}/directives/{}/export", f.a, f.both), &[], None).status,
        303,
        "no session: to the login form"
    );
    // The directive page links both exports.
    let page =
        s.call("GET", &format!("/o/{}/directives/{}", f.a, f.both), &[("cookie", &cookie_a)], None);
    assert!(page.body.contains(&format!("/o/{}/directives/{}/export?format=csv", f.a, f.both)));
    assert!(page.body.contains(&format!("/o/{}/directives/{}/export?format=json", f.a, f.both)));
    // The page counts, filters and charts incomplete hosts apart from clean ones.
    assert!(page.body.contains("incomplete (2)"), "{}", page.body);
    assert!(page.body.contains("clean (1)"), "{}", page.body);
    assert!(page.body.contains("st-incomplete"));
    let only = s.call(
        "GET",
        &format!("/o/{}/directives/{}?status=incomplete", f.a, f.both),
        &[("cookie", &cookie_a)],
        None,
    );
    assert_eq!(only.status, 200);
    assert_eq!(page_hosts(&only.body), ["hit-then-unknown", "unknown"]);
}

#[test]
fn export_on_sqlite() {
    let s = Server::sqlite();
    export_is_complete_quoted_defused_and_scoped(&s);
    s.finish();
}

#[test]
fn export_on_postgres() {
    let Some(s) = Server::postgres() else { return };
    export_is_complete_quoted_defused_and_scoped(&s);
    s.finish();
}

/// The hosts named in the page's roll-up table, in order.
fn page_hosts(body: &str) -> Vec<String> {
    let table =
        body.split("<table class=\"rollup\">").nth(1).unwrap().split("</table>").next().unwrap();
    table
        .split("/hosts/")
        .skip(1)
        .filter_map(|x| x.split_once("\">").and_then(|(_, rest)| rest.split('<').next()))
        .map(str::to_owned)
        .collect()
}

fn next_link(body: &str) -> Option<String> {
    body.split("rel=\"next\" href=\"")
        .nth(1)
        .and_then(|x| x.split('"').next())
        .map(|l| l.replace("&amp;", "&"))
}

fn page_paginates_and_filters(s: &Server) {
    let (org, other, d) = s.block(async {
        let st = s.store.as_ref();
        let org = st.create_org("big").await.unwrap().id;
        let other = st.create_org("other").await.unwrap().id;
        let now = Utc::now();
        let d = st
            .create_directive(
                &NewDirective {
                    name: "sweep".into(),
                    command: "check".into(),
                    bundle: None,
                    deadline: now + Duration::days(1),
                    orgs: vec![org],
                    ..NewDirective::default()
                },
                now,
            )
            .await
            .unwrap()
            .id;
        for i in 0..250 {
            let h = st
                .create_host(org, &format!("web-{i:03}"), &hash_token(&format!("t{i}")))
                .await
                .unwrap();
            if i % 50 == 7 {
                st.ingest(&h, &report(&format!("r{i}"), 1, &[]), Some(d), now).await.unwrap();
            } else if i % 10 == 3 {
                st.ingest(&h, &report(&format!("r{i}"), 0, &[]), Some(d), now).await.unwrap();
            }
        }
        st.create_host(org, "100%_host", &hash_token("pct")).await.unwrap();
        (org, other, d)
    });
    let (cookie, _) = s.login("pat", org, "viewer");
    let get = |path: &str| s.call("GET", path, &[("cookie", &cookie)], None);
    let base = format!("/o/{org}/directives/{d}");
    let first = get(&base);
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(first.headers.contains_key("server-timing"));
    assert!(first.body.contains("affected (5)"), "counts over every host, not the page");
    assert!(first.body.contains("clean (25)"));
    assert!(first.body.contains("pending (221)"));
    let mut seen = page_hosts(&first.body);
    assert_eq!(seen.len(), 100);
    let mut link = next_link(&first.body);
    let mut pages = 1;
    while let Some(l) = link {
        let p = get(&l);
        assert_eq!(p.status, 200, "{l}");
        seen.extend(page_hosts(&p.body));
        link = next_link(&p.body);
        pages += 1;
        assert!(pages < 10);
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 251, "every host once");
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 251);

    let affected = get(&format!("{base}?status=affected"));
    assert_eq!(page_hosts(&affected.body), ["web-007", "web-057", "web-107", "web-157", "web-207"]);
    assert!(next_link(&affected.body).is_none());
    let clean = page_hosts(&get(&format!("{base}?status=clean&host=web-1")).body);
    assert_eq!(
        clean,
        [
            "web-103", "web-113", "web-123", "web-133", "web-143", "web-153", "web-163", "web-173",
            "web-183", "web-193"
        ]
    );
    assert_eq!(
        page_hosts(&get(&format!("{base}?host=%25_")).body),
        ["100%_host"],
        "wildcards are literal"
    );
    assert_eq!(page_hosts(&get(&format!("{base}?status=pending&host=web-00")).body).len(), 8);
    assert!(page_hosts(&get(&format!("{base}?status=not_answered")).body).is_empty());
    assert_eq!(get(&format!("{base}?status=bogus")).status, 400);
    // Another organisation's viewer does not see it.
    let (cookie_o, _) = s.login("oscar", other, "viewer");
    assert_eq!(s.call("GET", &base, &[("cookie", &cookie_o)], None).status, 404);
    assert_eq!(
        s.call("GET", &format!("/o/{other}/directives/{d}"), &[("cookie", &cookie_o)], None).status,
        404
    );
}

#[test]
fn page_on_sqlite() {
    let s = Server::sqlite();
    page_paginates_and_filters(&s);
    s.finish();
}

#[test]
fn page_on_postgres() {
    let Some(s) = Server::postgres() else { return };
    page_paginates_and_filters(&s);
    s.finish();
}

#[test]
fn admin_forms_refuse_forged_csrf_viewers_and_other_organisations() {
    let s = Server::sqlite();
    let (a, b) = s.block(async {
        (s.store.create_org("a").await.unwrap().id, s.store.create_org("b").await.unwrap().id)
    });
    let (admin_a, csrf_a) = s.login("alice", a, "admin");
    let (viewer_a, csrf_v) = s.login("victor", a, "viewer");
    let (admin_b, csrf_b) = s.login("bert", b, "admin");
    // An admin sees the forms; a viewer does not.
    let page = s.call("GET", &format!("/o/{a}"), &[("cookie", &admin_a)], None);
    assert!(page.body.contains(&format!("action=\"/o/{a}/users\"")));
    assert!(page.body.contains(&format!("action=\"/o/{a}/secrets\"")));
    let page = s.call("GET", &format!("/o/{a}"), &[("cookie", &viewer_a)], None);
    assert!(!page.body.contains("/users\""), "{}", page.body);
    assert!(!page.body.contains("/secrets\""));

    let user = |csrf: &str, name: &str| {
        format!("csrf={csrf}&name={name}&password=a+long+password&role=viewer")
    };
    for (path, body) in [
        (format!("/o/{a}/users"), user("forged", "mallory")),
        (format!("/o/{a}/secrets"), "csrf=forged".to_owned()),
    ] {
        assert_eq!(s.form(&path, &admin_a, &body).status, 403, "forged token: {path}");
    }
    assert_eq!(s.form(&format!("/o/{a}/users"), &viewer_a, &user(&csrf_v, "mallory")).status, 403);
    assert_eq!(
        s.form(&format!("/o/{a}/secrets"), &viewer_a, &format!("csrf={csrf_v}")).status,
        403
    );
    // b's admin, with b's valid token, cannot act on a.
    assert_eq!(s.form(&format!("/o/{a}/users"), &admin_b, &user(&csrf_b, "mallory")).status, 404);
    assert_eq!(s.form(&format!("/o/{a}/secrets"), &admin_b, &format!("csrf={csrf_b}")).status, 404);
    assert_eq!(s.form(&format!("/o/{a}/users"), "", &user(&csrf_a, "mallory")).status, 303);
    assert!(s.block(s.store.user_by_name("mallory")).unwrap().is_none(), "no refused form acted");

    // The admin adds a new user, who can then sign in and see only a.
    let resp = s.form(&format!("/o/{a}/users"), &admin_a, &user(&csrf_a, "nina"));
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert!(resp.body.contains("Created and added"));
    let (nina, _) = s.sign_in("nina", "a long password", a);
    assert_eq!(s.call("GET", &format!("/o/{b}"), &[("cookie", &nina)], None).status, 404);
    // Too short a password for a new user; an unknown role.
    let short = format!("csrf={csrf_a}&name=oleg&password=short&role=viewer");
    assert_eq!(s.form(&format!("/o/{a}/users"), &admin_a, &short).status, 400);
    let bad_role = format!("csrf={csrf_a}&name=oleg&password=a+long+password&role=root");
    assert_eq!(s.form(&format!("/o/{a}/users"), &admin_a, &bad_role).status, 400);
    // An existing user of b is added to a as admin; b's role is untouched.
    let add_bert = format!("csrf={csrf_a}&name=bert&password=&role=admin");
    let resp = s.form(&format!("/o/{a}/users"), &admin_a, &add_bert);
    assert_eq!(resp.status, 200, "{}", resp.body);
    let roles = s.block(async {
        let bert = s.store.user_by_name("bert").await.unwrap().unwrap();
        s.store.user_roles(bert.id).await.unwrap()
    });
    let roles: Vec<_> = roles.iter().map(|(o, r)| (o.id, r.as_str())).collect();
    assert_eq!(roles, [(a, "admin"), (b, "admin")]);
    // The enrolment secret form, for the admin.
    let resp = s.form(&format!("/o/{a}/secrets"), &admin_a, &format!("csrf={csrf_a}"));
    assert_eq!(resp.status, 200);
    assert!(resp.body.contains("ferret enroll URL --secret "));
    s.finish();
}

/// A directive envelope for `orgs`, signed with a fresh key as `ferret admin directive sign`
/// writes it.
fn signed_envelope(orgs: Vec<i64>) -> String {
    use ferret_core::directive::{DirectiveOption, Document};
    let secret = ferret_integrity::sign::keygen().unwrap().secret;
    let doc = Document {
        schema_version: 1,
        id: uuid::Uuid::new_v4().to_string(),
        name: "pulse-2026".into(),
        verb: "check".into(),
        targets: vec!["/srv".into()],
        options: vec![DirectiveOption::parse("campaign=pulse-secure")],
        deadline: "2030-01-01T00:00:00Z".parse().unwrap(),
        orgs,
        bundle_sha256: None,
        created: Utc::now(),
    };
    let text = serde_json::to_string(&doc).unwrap();
    let (sig, _) = ferret_integrity::directive::sign(&secret, &text).unwrap();
    json!({ "document": text, "signature": sig }).to_string()
}

/// `application/x-www-form-urlencoded` value.
fn form_value(s: &str) -> String {
    s.bytes().fold(String::new(), |mut out, b| {
        if b.is_ascii_alphanumeric() {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
        out
    })
}

#[test]
fn publish_and_close_forms_need_csrf_an_admin_of_every_organisation_and_membership() {
    let s = Server::sqlite();
    let (a, b) = s.block(async {
        (s.store.create_org("a").await.unwrap().id, s.store.create_org("b").await.unwrap().id)
    });
    let (alice, csrf_alice) = s.login("alice", a, "admin");
    let (victor, csrf_victor) = s.login("victor", a, "viewer");
    let (bert, csrf_bert) = s.login("bert", b, "admin");
    let (carol, csrf_carol) = s.login("carol", a, "admin");
    s.login("carol", b, "admin");
    let page = s.call("GET", &format!("/o/{a}"), &[("cookie", &alice)], None);
    assert!(page.body.contains(&format!("action=\"/o/{a}/directives\"")));
    let page = s.call("GET", &format!("/o/{a}"), &[("cookie", &victor)], None);
    assert!(!page.body.contains("textarea"), "a viewer has no publish form");
    let publish = |cookie: &str, csrf: &str, envelope: &str| {
        s.form(
            &format!("/o/{a}/directives"),
            cookie,
            &format!("csrf={csrf}&envelope={}", form_value(envelope)),
        )
    };
    let count = || s.block(s.store.list_all_directives()).unwrap().len();
    let only_a = signed_envelope(vec![a]);
    assert_eq!(publish(&alice, "forged", &only_a).status, 403);
    assert_eq!(publish(&victor, &csrf_victor, &only_a).status, 403);
    assert_eq!(publish(&bert, &csrf_bert, &only_a).status, 404, "b's admin on a's form");
    assert_eq!(
        publish(&alice, &csrf_alice, &signed_envelope(vec![a, b])).status,
        403,
        "not an admin of b"
    );
    assert_eq!(publish(&alice, &csrf_alice, "not json").status, 400);
    let mut tampered: Value = serde_json::from_str(&only_a).unwrap();
    tampered["document"] = json!(tampered["document"].as_str().unwrap().replace("/srv", "/etc"));
    assert_eq!(
        publish(&alice, &csrf_alice, &tampered.to_string()).status,
        400,
        "tampered document"
    );
    assert_eq!(count(), 0, "no refused form published");
    let r = publish(&alice, &csrf_alice, &only_a);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Published: pulse-2026"));
    let r = publish(&carol, &csrf_carol, &signed_envelope(vec![a, b]));
    assert_eq!(r.status, 200, "an admin of both organisations: {}", r.body);
    let all = s.block(s.store.list_all_directives()).unwrap();
    let d_a = all.iter().find(|d| d.orgs == [a]).unwrap().id;
    let d_ab = all.iter().find(|d| d.orgs.len() == 2).unwrap().id;

    // Closing.
    let page = s.call("GET", &format!("/o/{a}/directives/{d_a}"), &[("cookie", &alice)], None);
    assert!(page.body.contains("Close the directive"));
    let page = s.call("GET", &format!("/o/{a}/directives/{d_ab}"), &[("cookie", &alice)], None);
    assert!(!page.body.contains("Close the directive"), "alice is not an admin of b");
    let page = s.call("GET", &format!("/o/{a}/directives/{d_a}"), &[("cookie", &victor)], None);
    assert!(!page.body.contains("Close the directive"));
    let close = |cookie: &str, csrf: &str, org: i64, d: i64| {
        s.form(&format!("/o/{org}/directives/{d}/close"), cookie, &format!("csrf={csrf}"))
    };
    let closed = |d: i64| s.block(s.store.get_directive_any(d)).unwrap().unwrap().closed.is_some();
    assert_eq!(close(&alice, "forged", a, d_a).status, 403);
    assert_eq!(close(&victor, &csrf_victor, a, d_a).status, 403);
    assert_eq!(close(&bert, &csrf_bert, a, d_a).status, 404);
    assert_eq!(close(&bert, &csrf_bert, b, d_a).status, 404, "d_a does not apply to b");
    assert_eq!(close(&alice, &csrf_alice, a, d_ab).status, 403, "not an admin of b");
    assert_eq!(close(&bert, &csrf_bert, b, d_ab).status, 403, "not an admin of a");
    assert!(!closed(d_a) && !closed(d_ab), "no refused form closed anything");
    assert_eq!(close(&alice, &csrf_alice, a, d_a).status, 303);
    assert!(closed(d_a));
    assert_eq!(close(&carol, &csrf_carol, b, d_ab).status, 303);
    assert!(closed(d_ab));
    let page = s.call("GET", &format!("/o/{a}/directives/{d_a}"), &[("cookie", &alice)], None);
    assert!(
        page.body.contains("agents are no longer served it")
            && !page.body.contains("Close the directive")
    );
    s.finish();
}
