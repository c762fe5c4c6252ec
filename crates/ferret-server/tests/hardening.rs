//! The collector's defences, over real sockets on 127.0.0.1:0: credentials checked before a
//! body is read, silent and slow clients dropped (plain and TLS), the connection cap, the
//! sign-in rate limit with lockout, the session sweep, HSTS only over TLS, and HTTPS with a
//! certificate from a private CA made in the test (with the `openssl` command).
//!
//! Timeouts are set to about a second here; the tests assert only that a connection was
//! closed (or answered) before a generous bound, never how fast.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ferret_server::{AppState, ServeOptions};
use ferret_store::Store;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;

/// How long a test waits for something the server must do within about a second.
const BOUND: Duration = Duration::from_secs(20);

struct Server {
    addr: SocketAddr,
    store: Arc<dyn Store>,
    admin: String,
    rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

fn quick() -> ServeOptions {
    ServeOptions {
        header_timeout: Duration::from_secs(1),
        tls_handshake_timeout: Duration::from_secs(1),
        ..ServeOptions::default()
    }
}

impl Server {
    fn start(opts: ServeOptions, tls: Option<Arc<rustls::ServerConfig>>) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let url = format!("sqlite:{}", dir.path().join("c.db").display());
        let (addr, store, admin) = rt.block_on(async {
            let store = ferret_store::open(&url).await.unwrap();
            let admin = ferret_server::bootstrap_admin(store.as_ref()).await.unwrap().unwrap();
            let mut state = AppState::new(Arc::clone(&store));
            state.secure_cookies = false;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            match tls {
                Some(cfg) => {
                    tokio::spawn(async move {
                        ferret_server::tls::serve_tls_with(
                            listener,
                            state,
                            cfg,
                            &opts,
                            std::future::pending(),
                        )
                        .await
                    });
                }
                None => {
                    tokio::spawn(async move {
                        ferret_server::serve_with(listener, state, &opts, std::future::pending())
                            .await
                    });
                }
            }
            (addr, store, admin)
        });
        Server { addr, store, admin, rt, _dir: dir }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into()
}

/// Sends `head` (request line and headers, no body) and returns the status line, read
/// within [`BOUND`].
fn raw_status(addr: SocketAddr, head: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(BOUND)).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(2).any(|w| w == b"\r\n") {
        let n = s.read(&mut chunk).expect("an answer before the body was sent");
        assert!(n > 0, "closed without an answer");
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    text.lines().next().unwrap().to_owned()
}

/// Whether the peer closed `read`'s stream (rather than the read timing out).
fn closed<T>(read: std::io::Result<T>) -> bool {
    match read {
        Ok(_) => true,
        Err(e) => {
            !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
        }
    }
}

#[test]
fn bad_credentials_are_refused_before_the_body_is_read() {
    let srv = Server::start(ServeOptions::default(), None);
    let addr = srv.addr;
    // A wrong token, a huge declared body, and then nothing: the answer must come anyway.
    let upload = "POST /api/v1/reports HTTP/1.1\r\nhost: x\r\nauthorization: Bearer wrong\r\n\
                  content-encoding: gzip\r\ncontent-length: 300000000\r\n\r\n";
    assert!(raw_status(addr, upload).contains(" 401 "), "upload with a wrong token");
    let no_token = "POST /api/v1/reports HTTP/1.1\r\nhost: x\r\ncontent-length: 300000000\r\n\r\n";
    assert!(raw_status(addr, no_token).contains(" 401 "), "upload without a token");
    let outcome = "POST /api/v1/directives/1/outcome HTTP/1.1\r\nhost: x\r\n\
                   authorization: Bearer wrong\r\ncontent-length: 300000000\r\n\r\n";
    assert!(raw_status(addr, outcome).contains(" 401 "), "outcome with a wrong token");
    let admin = "POST /api/v1/admin/orgs HTTP/1.1\r\nhost: x\r\nauthorization: Bearer wrong\r\n\
                 content-type: application/json\r\ncontent-length: 300000000\r\n\r\n";
    assert!(raw_status(addr, admin).contains(" 401 "), "admin call with a wrong token");
    let form = "POST /o/1/secrets HTTP/1.1\r\nhost: x\r\n\
                content-type: application/x-www-form-urlencoded\r\ncontent-length: 300000000\r\n\r\n";
    assert!(raw_status(addr, form).contains(" 303 "), "a form without a session goes to sign-in");
    // Sign-in and enrolment carry their secret in the body: capped small instead.
    let login = "POST /login HTTP/1.1\r\nhost: x\r\n\
                 content-type: application/x-www-form-urlencoded\r\ncontent-length: 300000000\r\n\r\n";
    assert!(raw_status(addr, login).contains(" 413 "), "an oversized sign-in form");
    let enroll = "POST /api/v1/enroll HTTP/1.1\r\nhost: x\r\n\
                  content-type: application/json\r\ncontent-length: 300000000\r\n\r\n";
    assert!(raw_status(addr, enroll).contains(" 413 "), "an oversized enrolment");

    // The right token still uploads (the guard passes the host on to the handler).
    let a = agent();
    let org: serde_json::Value = a
        .post(srv.url("/api/v1/admin/orgs"))
        .header("authorization", &format!("Bearer {}", srv.admin))
        .header("content-type", "application/json")
        .send(serde_json::json!({ "name": "o" }).to_string().as_bytes())
        .unwrap()
        .body_mut()
        .read_to_string()
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    let enrolled: serde_json::Value = a
        .post(srv.url("/api/v1/enroll"))
        .header("content-type", "application/json")
        .send(
            serde_json::json!({ "secret": org["enrolment_secret"], "host": "h1" })
                .to_string()
                .as_bytes(),
        )
        .unwrap()
        .body_mut()
        .read_to_string()
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    let token = enrolled["token"].as_str().unwrap().to_owned();
    let report = minimal_report("run-1");
    let resp = a
        .post(srv.url("/api/v1/reports"))
        .header("authorization", &format!("Bearer {token}"))
        .send(report.as_bytes())
        .unwrap();
    assert_eq!(resp.status(), 200);
    // And a host token opens no admin route.
    let resp = a
        .post(srv.url("/api/v1/admin/orgs"))
        .header("authorization", &format!("Bearer {token}"))
        .header("content-type", "application/json")
        .send(serde_json::json!({ "name": "p" }).to_string().as_bytes())
        .unwrap();
    assert_eq!(resp.status(), 401);
}

fn minimal_report(run_id: &str) -> String {
    let summary = serde_json::json!({
        "type": "summary", "schema_version": ferret_report::SCHEMA_VERSION,
        "tool": {"name": "ferret", "version": "0.1.0"}, "verb": "scan", "run_id": run_id,
        "host": "h1", "targets": [], "started": "2026-04-01T08:00:00Z",
        "finished": "2026-04-01T08:00:03Z", "problems_dropped": 0, "counters": {},
        "skipped": {}, "problems": {}, "rules": {"loaded": {}, "not_loaded": {}},
        "findings": {}, "complete": true,
    });
    format!("{summary}\n")
}

#[test]
fn silent_and_slow_clients_are_dropped() {
    let srv = Server::start(quick(), None);
    // Connects and sends nothing.
    let mut silent = TcpStream::connect(srv.addr).unwrap();
    silent.set_read_timeout(Some(BOUND)).unwrap();
    let mut buf = [0u8; 64];
    assert!(closed(silent.read(&mut buf)), "a silent connection was kept open");
    // Sends half a request line and stops.
    let mut slow = TcpStream::connect(srv.addr).unwrap();
    slow.set_read_timeout(Some(BOUND)).unwrap();
    slow.write_all(b"GET /api/v1/openapi.json HTTP/1.1\r\nhost: x\r\nx-slow: 1").unwrap();
    let mut got = Vec::new();
    assert!(closed(slow.read_to_end(&mut got)), "a trickling client was kept open");
    // The server still answers.
    let resp = agent().get(srv.url("/api/v1/openapi.json")).call().unwrap();
    assert_eq!(resp.status(), 200);
}

#[test]
fn connections_over_the_cap_wait_for_a_free_slot() {
    let opts = ServeOptions {
        max_connections: 1,
        header_timeout: Duration::from_secs(60),
        ..ServeOptions::default()
    };
    let srv = Server::start(opts, None);
    // The first connection takes the only slot and sits on it.
    let holder = TcpStream::connect(srv.addr).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // The second one's request is not served while the slot is taken...
    let mut waiting = TcpStream::connect(srv.addr).unwrap();
    waiting.write_all(b"GET /api/v1/openapi.json HTTP/1.1\r\nhost: x\r\n\r\n").unwrap();
    waiting.set_read_timeout(Some(Duration::from_millis(800))).unwrap();
    let mut buf = [0u8; 64];
    match waiting.read(&mut buf) {
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) => {}
        other => panic!("served beyond the cap: {other:?}"),
    }
    // ...and is once the first connection goes.
    drop(holder);
    waiting.set_read_timeout(Some(BOUND)).unwrap();
    let n = waiting.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
}

/// Signs in as `user`; the status of the POST and its `retry-after`, if any.
fn sign_in(srv: &Server, a: &ureq::Agent, user: &str, password: &str) -> (u16, Option<String>) {
    let page = a.get(srv.url("/login")).call().unwrap();
    let csrf = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("ferret_login_csrf="))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned();
    let resp = a
        .post(srv.url("/login"))
        .header("cookie", &format!("ferret_login_csrf={csrf}"))
        .send_form([("user", user), ("password", password), ("csrf", csrf.as_str())])
        .unwrap();
    let retry = resp.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    (resp.status().as_u16(), retry)
}

fn add_user(srv: &Server, name: &str, password: &str) {
    let a = agent();
    let org: serde_json::Value = a
        .post(srv.url("/api/v1/admin/orgs"))
        .header("authorization", &format!("Bearer {}", srv.admin))
        .header("content-type", "application/json")
        .send(serde_json::json!({ "name": format!("org-{name}") }).to_string().as_bytes())
        .unwrap()
        .body_mut()
        .read_to_string()
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    let resp = a
        .post(srv.url("/api/v1/admin/users"))
        .header("authorization", &format!("Bearer {}", srv.admin))
        .header("content-type", "application/json")
        .send(
            serde_json::json!({
                "name": name, "password": password, "org_id": org["id"], "role": "viewer"
            })
            .to_string()
            .as_bytes(),
        )
        .unwrap();
    assert_eq!(resp.status(), 201);
}

#[test]
fn failed_sign_ins_lock_the_client_out() {
    let srv = Server::start(ServeOptions::default(), None);
    add_user(&srv, "alice", "correct horse battery");
    add_user(&srv, "bob", "another long password");
    let a = agent();
    for i in 0..5 {
        let (status, retry) = sign_in(&srv, &a, "alice", "wrong password");
        assert_eq!((status, retry), (401, None), "attempt {i}");
    }
    // Locked: even the right password is refused, without being checked, with retry-after.
    let (status, retry) = sign_in(&srv, &a, "alice", "correct horse battery");
    assert_eq!(status, 429);
    let secs: u64 = retry.expect("retry-after").parse().unwrap();
    assert!((1..=900).contains(&secs), "retry-after {secs}");
    // The client is locked for every name.
    assert_eq!(sign_in(&srv, &a, "bob", "another long password").0, 429);
}

#[test]
fn successful_sign_ins_are_not_limited() {
    let srv = Server::start(ServeOptions::default(), None);
    add_user(&srv, "carol", "correct horse battery");
    let a = agent();
    for i in 0..8 {
        assert_eq!(sign_in(&srv, &a, "carol", "correct horse battery").0, 303, "sign-in {i}");
    }
    // Four failures and a success leave room for more failures before a lockout.
    for _ in 0..4 {
        assert_eq!(sign_in(&srv, &a, "carol", "wrong").0, 401);
    }
    assert_eq!(sign_in(&srv, &a, "carol", "correct horse battery").0, 303);
}

#[test]
fn expired_sessions_are_swept() {
    let opts = ServeOptions { session_sweep_interval: Duration::from_millis(100), ..quick() };
    let srv = Server::start(opts, None);
    let now = chrono::Utc::now();
    let long_ago = now - chrono::Duration::days(30);
    srv.rt.block_on(async {
        let user = srv.store.create_user("dave", "$argon2id$v=19$x").await.unwrap();
        let expired = ferret_store::hash_token("expired");
        let live = ferret_store::hash_token("live");
        srv.store
            .create_session(&expired, user.id, "c", now - chrono::Duration::hours(1))
            .await
            .unwrap();
        srv.store
            .create_session(&live, user.id, "c", now + chrono::Duration::hours(1))
            .await
            .unwrap();
        // Read as of long ago, the expired session is there until the sweep deletes it.
        let deadline = std::time::Instant::now() + BOUND;
        while srv.store.session(&expired, long_ago).await.unwrap().is_some() {
            assert!(std::time::Instant::now() < deadline, "the expired session was not swept");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(srv.store.session(&live, now).await.unwrap().is_some(), "a live one was swept");
    });
}

#[test]
fn no_hsts_over_plain_http() {
    let srv = Server::start(ServeOptions::default(), None);
    let resp = agent().get(srv.url("/login")).call().unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("strict-transport-security").is_none());
}

// ---- TLS, with a private CA made by openssl ----

struct Pki {
    dir: ferret_testkit::Tree,
}

impl Pki {
    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.path(name)).unwrap()
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("openssl").current_dir(dir).args(args).output().unwrap();
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA (`ca.pem`), a server certificate for localhost and 127.0.0.1 signed by it
/// (`leaf.pem`, `leaf.key`), and an unrelated CA (`other.pem`); `None` without openssl.
fn pki() -> Option<Pki> {
    let found = std::process::Command::new("openssl").arg("version").output().is_ok();
    if !ferret_testkit::require("the openssl command", found) {
        return None;
    }
    let dir = ferret_testkit::Tree::new();
    let d = dir.root();
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    for (name, cn) in [("ca", "ferret test CA"), ("other", "unrelated CA")] {
        let (key, pem, subj) = (format!("{name}.key"), format!("{name}.pem"), format!("/CN={cn}"));
        let mut args = vec!["req", "-x509"];
        args.extend(ec);
        args.extend(["-keyout", &key, "-out", &pem, "-days", "2", "-subj", &subj]);
        openssl(d, &args);
    }
    let mut args = vec!["req"];
    args.extend(ec);
    args.extend(["-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=localhost"]);
    openssl(d, &args);
    dir.file(
        "leaf.ext",
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n\
         subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    );
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "2",
            "-extfile",
            "leaf.ext",
        ],
    );
    Some(Pki { dir })
}

fn tls_agent(ca_pem: &[u8]) -> ureq::Agent {
    let ca = ureq::tls::Certificate::from_pem(ca_pem).unwrap();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![ca])))
        .build();
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .tls_config(tls)
        .build()
        .into()
}

fn tls_server(pki: &Pki, opts: ServeOptions) -> Server {
    let cfg =
        ferret_server::tls::server_config(&pki.read("leaf.pem"), &pki.read("leaf.key")).unwrap();
    Server::start(opts, Some(cfg))
}

#[test]
fn https_serves_the_api_with_hsts_to_a_client_trusting_the_ca() {
    let Some(pki) = pki() else { return };
    let srv = tls_server(&pki, quick());
    let base = format!("https://localhost:{}", srv.addr.port());
    let a = tls_agent(&pki.read("ca.pem"));
    let resp = a.get(format!("{base}/login")).call().unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers().get("strict-transport-security").unwrap().to_str().unwrap(),
        "max-age=31536000"
    );
    // The whole host path over TLS: an organisation, an enrolment, a gzip upload, a replay.
    let org: serde_json::Value = a
        .post(format!("{base}/api/v1/admin/orgs"))
        .header("authorization", &format!("Bearer {}", srv.admin))
        .header("content-type", "application/json")
        .send(serde_json::json!({ "name": "tls" }).to_string().as_bytes())
        .unwrap()
        .body_mut()
        .read_to_string()
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    let enrolled: serde_json::Value = a
        .post(format!("https://127.0.0.1:{}/api/v1/enroll", srv.addr.port()))
        .header("content-type", "application/json")
        .send(
            serde_json::json!({ "secret": org["enrolment_secret"], "host": "h1" })
                .to_string()
                .as_bytes(),
        )
        .unwrap()
        .body_mut()
        .read_to_string()
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    let token = enrolled["token"].as_str().unwrap().to_owned();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(minimal_report("tls-run").as_bytes()).unwrap();
    let body = gz.finish().unwrap();
    for duplicate in [false, true] {
        let got: serde_json::Value = a
            .post(format!("{base}/api/v1/reports"))
            .header("authorization", &format!("Bearer {token}"))
            .header("content-encoding", "gzip")
            .send(&body[..])
            .unwrap()
            .body_mut()
            .read_to_string()
            .map(|t| serde_json::from_str(&t).unwrap())
            .unwrap();
        assert_eq!(got["duplicate"], duplicate);
    }
    // Errors over TLS carry HSTS too.
    let resp = a.get(format!("{base}/api/v1/runs/1")).call().unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().get("strict-transport-security").is_some());
}

#[test]
fn https_is_refused_by_a_client_trusting_another_ca_and_to_plain_http() {
    let Some(pki) = pki() else { return };
    let srv = tls_server(&pki, quick());
    let other = tls_agent(&pki.read("other.pem"));
    assert!(other.get(format!("https://localhost:{}/login", srv.addr.port())).call().is_err());
    assert!(agent().get(srv.url("/login")).call().is_err(), "plain HTTP to the TLS port");
    // The server is still fine afterwards.
    let a = tls_agent(&pki.read("ca.pem"));
    assert_eq!(
        a.get(format!("https://localhost:{}/login", srv.addr.port())).call().unwrap().status(),
        200
    );
}

#[test]
fn https_drops_silent_clients_before_and_after_the_handshake() {
    let Some(pki) = pki() else { return };
    let srv = tls_server(&pki, quick());
    // No handshake at all.
    let mut silent = TcpStream::connect(srv.addr).unwrap();
    silent.set_read_timeout(Some(BOUND)).unwrap();
    let mut buf = [0u8; 64];
    assert!(closed(silent.read(&mut buf)), "a connection without a handshake was kept open");
    // A handshake, then no request.
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pki.read("ca.pem")) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut sock = TcpStream::connect(srv.addr).unwrap();
    sock.set_read_timeout(Some(BOUND)).unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).unwrap();
    }
    let mut stream = rustls::Stream::new(&mut conn, &mut sock);
    assert!(closed(stream.read(&mut buf)), "a silent TLS client was kept open");
}
