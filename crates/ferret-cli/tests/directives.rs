//! Signed directives, from the host's side: every way a collector (or its database) taken
//! over could try to turn a host is refused, the refusal is posted with its reason, nothing
//! is written on the host and nothing runs; a directive signed with the pinned key runs,
//! with its signed rule bundle, and its report arrives linked to it. Then the whole path
//! over real TLS with a CA made in the test: `enroll --ca`, `admin org create`,
//! `admin directive publish --sign`, `agent --once`, `admin directive status` and `export`.
//!
//! The refusal tests put directives straight into the collector's store, as an attacker
//! holding the database would, so the collector's own checks at publication do not help:
//! only the host's do.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use assert_cmd::Command;
use chrono::{Duration, Utc};
use ferret_core::directive::{DirectiveOption, Document, sha256_hex, trusted_comment};
use ferret_integrity::sign::{self, KeyPair};
use ferret_store::{DirectiveHost, HostStatus, NewDirective, Store};
use serde_json::json;

struct Fixture {
    base: String,
    admin: String,
    store: Arc<dyn Store>,
    rt: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
    org: i64,
    key: KeyPair,
}

/// Every file under `root` (except the collector's database) with its mode and content.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (u32, Vec<u8>)> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if p == root.join("collector") {
                continue;
            }
            let md = std::fs::symlink_metadata(&p).unwrap();
            let content = if md.is_file() { std::fs::read(&p).unwrap() } else { Vec::new() };
            out.insert(p.clone(), (md.permissions().mode(), content));
            if md.is_dir() {
                stack.push(p);
            }
        }
    }
    out
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

impl Fixture {
    /// A collector with one organisation and, when `pin`, a host enrolled with the
    /// organisation's directive key pinned (`--directive-key`); otherwise enrolled while
    /// the organisation has no key, so nothing is pinned.
    fn start(pin: bool) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        for d in ["collector", "host/config", "host/state/spool", "home", "tree/srv"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        #[expect(
            clippy::disallowed_methods,
            reason = "a fixture in the test's temporary directory"
        )]
        std::fs::write(dir.path().join("tree/srv/index.html"), "hello").unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let url = format!("sqlite:{}", dir.path().join("collector/c.db").display());
        let (base, admin, store) = rt.block_on(async {
            let store = ferret_store::open(&url).await.unwrap();
            let admin = ferret_server::bootstrap_admin(store.as_ref()).await.unwrap().unwrap();
            let state = ferret_server::AppState::new(Arc::clone(&store));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(ferret_server::serve(listener, state, std::future::pending()));
            (format!("http://{addr}"), admin, store)
        });
        let org = rt.block_on(store.create_org("agency")).unwrap().id;
        let secret = "enrolment-secret-for-the-directive-tests";
        rt.block_on(store.add_enrolment_secret(org, &ferret_store::hash_token(secret))).unwrap();
        let key = sign::keygen().unwrap();
        let f = Fixture { base, admin, store, rt, dir, org, key };
        let mut enroll = f.ferret();
        enroll.args(["enroll", &f.base, "--secret", secret, "--name", "web-01"]);
        if pin {
            let pub_file = f.dir.path().join("directive.pub");
            #[expect(
                clippy::disallowed_methods,
                reason = "a fixture in the test's temporary directory"
            )]
            std::fs::write(&pub_file, &f.key.public).unwrap();
            enroll.arg("--directive-key").arg(&pub_file);
        }
        let out = enroll.output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        if pin {
            assert!(text(&out).contains(&format!("pinned directive key {}", f.key.key_id)));
        } else {
            assert!(text(&out).contains("no directive key pinned"), "{}", text(&out));
        }
        f
    }

    fn ferret(&self) -> Command {
        let mut c = Command::cargo_bin("ferret").unwrap();
        c.env("FERRET_CONFIG_DIR", self.dir.path().join("host/config"))
            .env("FERRET_SPOOL_DIR", self.dir.path().join("host/state/spool"))
            .env("HOME", self.dir.path().join("home"))
            .env("FERRET_UPLOAD_BACKOFF_MS", "1")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_STATE_HOME")
            .env_remove("FERRET_DIRECTIVE")
            .env_remove("FERRET_ADMIN_TOKEN");
        c
    }

    fn target(&self) -> String {
        self.dir.path().join("tree/srv").display().to_string()
    }

    fn document(
        &self,
        verb: &str,
        targets: &[String],
        options: &[&str],
        bundle: Option<&[u8]>,
    ) -> Document {
        Document {
            schema_version: 1,
            id: uuid::Uuid::new_v4().to_string(),
            name: format!("{verb} test"),
            verb: verb.into(),
            targets: targets.to_vec(),
            options: options.iter().map(|o| DirectiveOption::parse(o)).collect(),
            deadline: Utc::now() + Duration::days(2),
            orgs: vec![self.org],
            bundle_sha256: bundle.map(sha256_hex),
            created: Utc::now(),
        }
    }

    /// Signs any document text with `secret` in the directive role, without the checks
    /// `ferret admin directive sign` makes: what a coordinator's key could sign at worst.
    fn raw_sign(secret: &str, doc: &Document, text: &str) -> String {
        let comment = trusted_comment(&doc.id, &sha256_hex(text.as_bytes()));
        sign::sign(secret, text.as_bytes(), &comment).unwrap().0
    }

    /// Stores a directive as an attacker holding the database would.
    fn plant(
        &self,
        document: Option<String>,
        signature: Option<String>,
        bundle: Option<Vec<u8>>,
        command: &str,
    ) -> i64 {
        self.rt
            .block_on(self.store.create_directive(
                &NewDirective {
                    name: "planted".into(),
                    verb: command.split(' ').next().unwrap().into(),
                    command: command.into(),
                    document,
                    signature,
                    bundle,
                    deadline: Utc::now() + Duration::days(2),
                    orgs: vec![self.org],
                },
                Utc::now(),
            ))
            .unwrap()
            .id
    }

    /// Signs `doc` with `secret` and plants it.
    fn plant_signed(&self, secret: &str, doc: &Document, bundle: Option<Vec<u8>>) -> i64 {
        let text = serde_json::to_string_pretty(doc).unwrap();
        let sig = Self::raw_sign(secret, doc, &text);
        self.plant(Some(text), Some(sig), bundle, &doc.verb)
    }

    fn outcome(&self, did: i64) -> DirectiveHost {
        let st = self
            .rt
            .block_on(self.store.directive_status(self.org, did, Utc::now()))
            .unwrap()
            .unwrap();
        assert_eq!(st.hosts.len(), 1);
        st.hosts[0].clone()
    }

    fn runs_for(&self, did: i64) -> usize {
        let runs = self.rt.block_on(self.store.list_runs(self.org, None, 1000)).unwrap();
        runs.iter().filter(|r| r.directive_id == Some(did)).count()
    }

    /// Runs `agent --once` with the planted directives and checks each is refused with a
    /// reason containing its expected text, that nothing on the host changed and that no
    /// run was started for any of them.
    fn expect_refused(&self, cases: &[(i64, &str)]) {
        let before = snapshot(self.dir.path());
        let out = self.ferret().args(["agent", "--once"]).output().unwrap();
        let all = text(&out);
        assert!(
            all.contains(&format!("ran {n} directive(s), {n} errored", n = cases.len())),
            "{all}"
        );
        assert_eq!(out.status.code(), Some(3), "{all}");
        assert!(!all.contains("running directive"), "{all}");
        assert_eq!(snapshot(self.dir.path()), before, "the host was written: {all}");
        assert!(!self.dir.path().join("pwned").exists());
        for (did, why) in cases {
            let h = self.outcome(*did);
            assert_eq!(h.status, HostStatus::Errored, "directive {did}");
            let message = h.message.unwrap_or_default();
            assert!(message.contains(why), "directive {did}: {message:?} does not say {why:?}");
            assert_eq!(self.runs_for(*did), 0, "directive {did} ran");
        }
    }
}

#[test]
fn unsigned_directive_is_refused() {
    let f = Fixture::start(true);
    let pwned = f.dir.path().join("pwned").display().to_string();
    let did = f.plant(None, None, None, &format!("scan {} -o {pwned}", f.target()));
    f.expect_refused(&[(did, "unsigned directive refused")]);
}

#[test]
fn directive_signed_with_another_key_is_refused() {
    let f = Fixture::start(true);
    let other = sign::keygen().unwrap();
    let doc = f.document("check", &[f.target()], &["campaign=pulse-secure"], None);
    let did = f.plant_signed(&other.secret, &doc, None);
    f.expect_refused(&[(did, "directive signature refused")]);
}

#[test]
fn tampered_document_is_refused() {
    let f = Fixture::start(true);
    let doc = f.document("check", &[f.target()], &["campaign=pulse-secure"], None);
    let text = serde_json::to_string_pretty(&doc).unwrap();
    let sig = Fixture::raw_sign(&f.key.secret, &doc, &text);
    let pwned = f.dir.path().join("pwned").display().to_string();
    let tampered = text.replace("\"campaign\"", "\"output\"").replace("pulse-secure", &pwned);
    assert_ne!(tampered, text);
    let did = f.plant(Some(tampered), Some(sig), None, "check");
    f.expect_refused(&[(did, "directive signature refused")]);
}

#[test]
fn manifest_signature_does_not_pass_for_a_directive() {
    let f = Fixture::start(true);
    let doc = f.document("check", &[f.target()], &[], None);
    let text = serde_json::to_string_pretty(&doc).unwrap();
    let (sig, _) =
        sign::sign(&f.key.secret, text.as_bytes(), &sign::trusted_comment(&doc.id, "t", 1))
            .unwrap();
    let did = f.plant(Some(text), Some(sig), None, "check");
    f.expect_refused(&[(did, "not a directive signature")]);
}

#[test]
fn tampered_bundle_is_refused() {
    let f = Fixture::start(true);
    let doc = f.document("scan", &[f.target()], &[], Some(b"the signed rules"));
    let did = f.plant_signed(&f.key.secret, &doc, Some(b"rules the collector swapped in".to_vec()));
    f.expect_refused(&[(did, "directive bundle refused")]);
    assert!(!f.dir.path().join("host/state/bundles").exists(), "the bundle was written");
}

#[test]
fn output_format_rules_and_report_options_are_refused() {
    let f = Fixture::start(true);
    let pwned = f.dir.path().join("pwned").display().to_string();
    let mut cases = Vec::new();
    for (verb, option) in [
        ("scan", format!("o={pwned}")),
        ("scan", format!("-o={pwned}")),
        ("scan", format!("output={pwned}")),
        ("check", format!("output={pwned}")),
        ("scan", "rules=/etc".to_owned()),
        ("hunt", "sigma=/etc".to_owned()),
        ("scan", "report-to=http://127.0.0.1:1".to_owned()),
        ("check", "format=json".to_owned()),
        ("scan", format!("cache-dir={pwned}")),
        ("check", "manifest=/etc/passwd".to_owned()),
    ] {
        let doc = f.document(verb, &[f.target()], &[option.as_str()], None);
        cases.push((f.plant_signed(&f.key.secret, &doc, None), "is not allowed"));
    }
    f.expect_refused(&cases);
}

#[test]
fn report_verb_is_refused() {
    let f = Fixture::start(true);
    let doc = f.document("report", &[f.target()], &[], None);
    let did = f.plant_signed(&f.key.secret, &doc, None);
    f.expect_refused(&[(did, "may not be run by a directive")]);
}

#[test]
fn relative_target_is_refused() {
    let f = Fixture::start(true);
    let doc = f.document("check", &["etc".to_owned()], &[], None);
    let did = f.plant_signed(&f.key.secret, &doc, None);
    f.expect_refused(&[(did, "not an absolute path")]);
}

#[test]
fn unknown_option_is_refused() {
    let f = Fixture::start(true);
    let doc = f.document("check", &[f.target()], &["vendor-key=/etc/ssl/k.pem"], None);
    let did = f.plant_signed(&f.key.secret, &doc, None);
    let doc2 = f.document("scan", &[f.target()], &["no-such-option"], None);
    let did2 = f.plant_signed(&f.key.secret, &doc2, None);
    f.expect_refused(&[(did, "is not allowed"), (did2, "is not allowed")]);
}

#[test]
fn directive_for_another_organisation_or_past_its_deadline_is_refused() {
    let f = Fixture::start(true);
    let mut moved = f.document("check", &[f.target()], &["campaign=pulse-secure"], None);
    moved.orgs = vec![f.org + 1];
    let did = f.plant_signed(&f.key.secret, &moved, None);
    let mut stale = f.document("check", &[f.target()], &["campaign=pulse-secure"], None);
    stale.deadline = Utc::now() - Duration::hours(1);
    let did2 = f.plant_signed(&f.key.secret, &stale, None);
    f.expect_refused(&[(did, "not this host's"), (did2, "has passed")]);
}

#[test]
fn host_without_a_pinned_key_runs_nothing_until_one_is_pinned() {
    let f = Fixture::start(false);
    let doc = f.document("check", &[f.target()], &["campaign=pulse-secure"], None);
    let did = f.plant_signed(&f.key.secret, &doc, None);
    f.expect_refused(&[(did, "no directive key is pinned")]);
    // Pinning on the enrolled host, without enrolling again, lets the next one run.
    let out = f.ferret().args(["enroll", "--directive-key", &f.key.public]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(&f.key.key_id));
    let doc = f.document("check", &[f.target()], &["campaign=pulse-secure"], None);
    let did = f.plant_signed(&f.key.secret, &doc, None);
    let out = f.ferret().args(["agent", "--once"]).output().unwrap();
    assert!(text(&out).contains("ran 1 directive(s), 0 errored"), "{}", text(&out));
    assert_eq!(f.runs_for(did), 1);
}

/// `ferret rules compile` of one YARA rule matching `marker`.
fn compile_bundle(f: &Fixture, marker: &str) -> PathBuf {
    let rule = f.dir.path().join("collector/marker.yar");
    #[expect(clippy::disallowed_methods, reason = "a fixture in the test's temporary directory")]
    std::fs::write(
        &rule,
        format!("rule directive_marker {{ strings: $a = \"{marker}\" condition: $a }}\n"),
    )
    .unwrap();
    let bundle = f.dir.path().join("collector/marker.bundle");
    let out = f
        .ferret()
        .args(["rules", "compile", "--no-builtin", "--rules"])
        .arg(&rule)
        .arg("-o")
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    bundle
}

#[test]
fn signed_directive_with_a_bundle_runs_and_its_report_is_linked() {
    let f = Fixture::start(true);
    // Split so this source file does not hold the marker whole.
    let marker = format!("{}{}", "ferret-directive-", "marker-4b1d");
    #[expect(clippy::disallowed_methods, reason = "a fixture in the test's temporary directory")]
    std::fs::write(f.dir.path().join("tree/srv/shell.php"), format!("<?php /* {marker} */"))
        .unwrap();
    let bundle = compile_bundle(&f, &marker);
    let seckey = f.dir.path().join("collector/directive.key");
    #[expect(clippy::disallowed_methods, reason = "a fixture in the test's temporary directory")]
    std::fs::write(&seckey, &f.key.secret).unwrap();
    let tree_before = snapshot(&f.dir.path().join("tree"));
    let out = f
        .ferret()
        .env("FERRET_ADMIN_TOKEN", &f.admin)
        .args(["admin", "directive", "publish", "--sign"])
        .arg(&seckey)
        .arg("--bundle")
        .arg(&bundle)
        .args(["--name", "marker sweep", "--verb", "scan", "--target", &f.target()])
        .args(["--option", "no-builtin", "--option", "max-file-size=10M", "--deadline", "2d"])
        .args(["--org", &f.org.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let did = f.rt.block_on(f.store.list_all_directives()).unwrap()[0].id;
    // The host's configuration file would hide the finding; a directive's run reads none
    // (FERRET_NO_CONFIG=1), so only the signed options apply.
    let config = f.dir.path().join("host/config/ferret.toml");
    #[expect(clippy::disallowed_methods, reason = "a fixture in the test's temporary directory")]
    std::fs::write(&config, "exclude = [\"shell.php\"]\nmin_score = 100\n").unwrap();
    let shown = f.ferret().args(["config", "show"]).output().unwrap();
    assert!(text(&shown).contains("exclude = [\"shell.php\"]"), "{}", text(&shown));
    let out = f.ferret().args(["agent", "--once"]).output().unwrap();
    assert!(text(&out).contains("ran 1 directive(s), 0 errored"), "{}", text(&out));
    assert!(text(&out).contains(&format!("signed by key {}", f.key.key_id)), "{}", text(&out));
    assert_eq!(f.runs_for(did), 1, "the report is linked to the directive");
    let h = f.outcome(did);
    assert_eq!(h.status, HostStatus::Affected, "{h:?}");
    assert_eq!(h.findings, 1);
    let run = f.rt.block_on(f.store.get_run(f.org, h.run_pk.unwrap())).unwrap().unwrap();
    assert_eq!(run.verb, "scan");
    assert!(run.ruleset_sha256.is_some());
    // The examined tree is untouched; the bundle is gone once the run is over; nothing is
    // left in the spool.
    assert_eq!(snapshot(&f.dir.path().join("tree")), tree_before);
    let left: Vec<_> = std::fs::read_dir(f.dir.path().join("host/state/bundles"))
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    let out = f.ferret().args(["agent", "--once"]).output().unwrap();
    assert!(text(&out).contains("ran 0 directive(s)"), "{}", text(&out));
}

#[test]
fn collector_refuses_the_old_command_form() {
    let f = Fixture::start(true);
    let agent: ureq::Agent =
        ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let body = json!({ "name": "x", "command": "scan / -o /tmp/x",
                       "deadline": "2030-01-01T00:00:00Z", "orgs": [f.org] });
    let mut resp = agent
        .post(&format!("{}/api/v1/admin/directives", f.base))
        .header("authorization", &format!("Bearer {}", f.admin))
        .header("content-type", "application/json")
        .send(body.to_string().as_bytes())
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp.body_mut().read_to_string().unwrap().contains("unsigned"));
}

/// Runs `openssl` with `args` in `dir`; false (after a visible skip) when it is absent.
fn openssl(dir: &Path, args: &[&str]) -> bool {
    match std::process::Command::new("openssl").current_dir(dir).args(args).output() {
        Ok(o) => {
            assert!(o.status.success(), "openssl {args:?}: {}", text(&o));
            true
        }
        Err(_) => ferret_testkit::require("openssl (Debian package openssl)", false),
    }
}

/// A CA and a server certificate for 127.0.0.1 signed by it, made with `openssl`.
fn make_ca(dir: &Path) -> bool {
    #[expect(clippy::disallowed_methods, reason = "a fixture in the test's temporary directory")]
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=ferret test CA",
        ],
    ) && openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    ) && openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
    )
}

struct Served(std::process::Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn end_to_end_over_tls_with_a_pinned_ca() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for sub in ["collector", "host/config", "host/state/spool", "home", "tree/srv", "coord"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    if !make_ca(&d.join("collector")) {
        return;
    }
    #[expect(clippy::disallowed_methods, reason = "a fixture in the test's temporary directory")]
    std::fs::write(d.join("tree/srv/index.html"), "hello").unwrap();
    let token = "admin-token-for-the-tls-test-0123456789";
    #[expect(clippy::disallowed_methods, reason = "a fixture in the test's temporary directory")]
    std::fs::write(d.join("coord/admin.token"), token).unwrap();
    let c = d.join("collector");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("ferret"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--db")
        .arg(format!("sqlite:{}", c.join("c.db").display()))
        .arg("--tls-cert")
        .arg(c.join("server.pem"))
        .arg("--tls-key")
        .arg(c.join("server.key"))
        .arg("--admin-token-file")
        .arg(d.join("coord/admin.token"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let _served = Served(child);
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("https://"))
        .unwrap_or_else(|| panic!("no https URL in {line:?}"))
        .trim_end_matches('/')
        .to_owned();
    let ferret = || {
        let mut cmd = Command::cargo_bin("ferret").unwrap();
        cmd.env("FERRET_CONFIG_DIR", d.join("host/config"))
            .env("FERRET_SPOOL_DIR", d.join("host/state/spool"))
            .env("HOME", d.join("home"))
            .env("FERRET_UPLOAD_BACKOFF_MS", "1")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_STATE_HOME")
            .env_remove("FERRET_DIRECTIVE")
            .env_remove("FERRET_ADMIN_TOKEN");
        cmd
    };
    let ca = c.join("ca.pem");
    let token_file = d.join("coord/admin.token");
    let admin = |args: &[&str]| {
        let out = ferret()
            .args(["admin", "--url", &url, "--ca"])
            .arg(&ca)
            .arg("--token-file")
            .arg(&token_file)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "admin {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // The coordinator's directive key, made off the collector.
    let seckey = d.join("coord/directive.key");
    let pubkey = d.join("coord/directive.key.pub");
    let out = ferret().args(["keygen", "-o"]).arg(&seckey).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let key_id = sign::public_key_id(&std::fs::read_to_string(&pubkey).unwrap()).unwrap();
    let created = admin(&["org", "create", "agency", "--directive-key", pubkey.to_str().unwrap()]);
    assert!(created.contains(&format!("directive key {key_id}")), "{created}");
    let secret = created
        .lines()
        .find_map(|l| l.strip_prefix("enrolment secret (shown once): "))
        .unwrap()
        .to_owned();
    let org_id = created.split_whitespace().nth(1).unwrap().to_owned();
    // Without the CA the collector's certificate is not trusted.
    let out = ferret().args(["enroll", &url, "--secret", &secret]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(!d.join("host/config/agent.json").exists());
    // With it: enrolled, and the advertised key pinned on first use, its fingerprint shown.
    let out = ferret()
        .args(["enroll", &url, "--secret", &secret, "--name", "web-01", "--ca"])
        .arg(&ca)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out)
            .contains(&format!("pinned directive key {key_id} as the collector advertised it")),
        "{}",
        text(&out)
    );
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("host/config/agent.json")).unwrap())
            .unwrap();
    assert!(cfg["ca_pem"].as_str().unwrap().contains("BEGIN CERTIFICATE"));
    // Publish, signed on the coordinator's side.
    let target = d.join("tree/srv").display().to_string();
    let published = admin(&[
        "directive",
        "publish",
        "--sign",
        seckey.to_str().unwrap(),
        "--name",
        "pulse-2026",
        "--verb",
        "check",
        "--target",
        &target,
        "--option",
        "campaign=pulse-secure",
        "--deadline",
        "2d",
        "--org",
        &org_id,
    ]);
    let did = published.split_whitespace().nth(2).unwrap().to_owned();
    assert!(admin(&["directive", "list"]).contains("pulse-2026"));
    // The agent runs it over TLS with the pinned CA (no --ca: from the enrolment).
    let out = ferret().args(["agent", "--once"]).output().unwrap();
    assert!(text(&out).contains("ran 1 directive(s), 0 errored"), "{}", text(&out));
    let status = admin(&["directive", "status", &did]);
    assert!(status.contains("hosts: 1"), "{status}");
    let hosts = admin(&["host", "list", "--org", &org_id]);
    assert!(hosts.contains("web-01"), "{hosts}");
    // The roll-up export, CSV and JSON.
    let csv = d.join("coord/rollup.csv");
    let json_file = d.join("coord/rollup.json");
    admin(&["directive", "export", &did, "--format", "csv", "-o", csv.to_str().unwrap()]);
    admin(&["directive", "export", &did, "--format", "json", "-o", json_file.to_str().unwrap()]);
    let csv = std::fs::read_to_string(&csv).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("host_id,host,org,status"), "{header}");
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 1, "{csv}");
    assert!(rows[0].contains("web-01"), "{csv}");
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_file).unwrap()).unwrap();
    let hosts = j["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 1, "{j}");
    assert_eq!(hosts[0]["host"], "web-01");
    assert_ne!(hosts[0]["status"], "pending", "{j}");
    assert!(hosts[0]["verdicts"].is_object(), "{j}");
    // Closed: no longer served.
    admin(&["directive", "close", &did]);
    let out = ferret().args(["agent", "--once"]).output().unwrap();
    assert!(text(&out).contains("ran 0 directive(s)"), "{}", text(&out));
}

#[test]
fn admin_cli_signs_offline_publishes_the_envelope_and_manages_orgs_secrets_and_users() {
    let f = Fixture::start(true);
    let coord = f.dir.path().join("collector");
    let seckey = coord.join("directive.key");
    let pubkey = coord.join("directive.key.pub");
    #[expect(clippy::disallowed_methods, reason = "a fixture in the test's temporary directory")]
    {
        std::fs::write(&seckey, &f.key.secret).unwrap();
        std::fs::write(&pubkey, &f.key.public).unwrap();
        std::fs::write(coord.join("admin.token"), format!("{}\n", f.admin)).unwrap();
        std::fs::write(coord.join("password"), "a long enough password\n").unwrap();
        std::fs::write(
            coord.join("spec.json"),
            json!({ "name": "offline", "verb": "check", "targets": [f.target()],
                    "options": ["campaign=pulse-secure"], "deadline": "2d", "orgs": [f.org] })
            .to_string(),
        )
        .unwrap();
    }
    let admin = |args: &[&str]| {
        let out = f
            .ferret()
            .args(["admin", "--url", &f.base, "--token-file"])
            .arg(coord.join("admin.token"))
            .args(args)
            .output()
            .unwrap();
        (out.status.code(), text(&out))
    };
    // Signing needs no collector and no token.
    let envelope = coord.join("offline.envelope.json");
    let out = f
        .ferret()
        .args(["admin", "directive", "sign"])
        .arg(coord.join("spec.json"))
        .arg("--key")
        .arg(&seckey)
        .arg("-o")
        .arg(&envelope)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let env: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&envelope).unwrap()).unwrap();
    let opened = ferret_integrity::directive::open(
        &f.key.public,
        &serde_json::from_value(env.clone()).unwrap(),
    )
    .unwrap();
    assert_eq!(opened.document.name, "offline");
    // A spec asking for an output is refused before anything is signed.
    #[expect(clippy::disallowed_methods, reason = "a fixture in the test's temporary directory")]
    std::fs::write(
        coord.join("bad.json"),
        json!({ "verb": "scan", "targets": ["/"], "options": ["output=/tmp/x"],
                "deadline": "2d", "orgs": [f.org] })
        .to_string(),
    )
    .unwrap();
    let out = f
        .ferret()
        .args(["admin", "directive", "sign"])
        .arg(coord.join("bad.json"))
        .arg("--key")
        .arg(&seckey)
        .arg("-o")
        .arg(coord.join("bad.envelope.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("is not allowed"), "{}", text(&out));
    assert!(!coord.join("bad.envelope.json").exists());
    // Published as signed; served verbatim.
    let (code, out) = admin(&["directive", "publish", "--envelope", envelope.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    let stored = f.rt.block_on(f.store.list_all_directives()).unwrap();
    assert_eq!(stored[0].document.as_deref(), env["document"].as_str());
    // No token: refused before any request.
    let out = f.ferret().args(["admin", "--url", &f.base, "org", "list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("FERRET_ADMIN_TOKEN"), "{}", text(&out));
    // Organisations, keys, secrets, users.
    let (code, out) = admin(&["org", "create", "second"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("enrolment secret (shown once): "), "{out}");
    let second = out.split_whitespace().nth(1).unwrap().to_owned();
    let (_, out) = admin(&["org", "list"]);
    assert!(out.contains("agency") && out.contains("second"), "{out}");
    let (code, out) =
        admin(&["org", "set-key", &second, "--directive-key", pubkey.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(&f.key.key_id), "{out}");
    let second_id: i64 = second.parse().unwrap();
    assert_eq!(
        f.rt.block_on(f.store.org_directive_key(second_id)).unwrap().as_deref().map(str::trim),
        Some(f.key.public.trim())
    );
    let (code, out) = admin(&["secret", "new", "--org", &second]);
    assert_eq!(code, Some(0), "{out}");
    let secret2 = out
        .lines()
        .find_map(|l| l.strip_prefix("enrolment secret (shown once): "))
        .unwrap()
        .to_owned();
    let password = coord.join("password");
    let (code, out) = admin(&[
        "user",
        "add",
        "alice",
        "--org",
        &second,
        "--role",
        "admin",
        "--password-file",
        password.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{out}");
    let user = f.rt.block_on(f.store.user_by_name("alice")).unwrap().unwrap();
    let roles = f.rt.block_on(f.store.user_roles(user.id)).unwrap();
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0].0.id, second_id);
    // A directive signed with a key other than the organisation's is refused at publication.
    let other = sign::keygen().unwrap();
    let other_key = coord.join("other.key");
    #[expect(clippy::disallowed_methods, reason = "a fixture in the test's temporary directory")]
    std::fs::write(&other_key, &other.secret).unwrap();
    let (code, out) = admin(&[
        "directive",
        "publish",
        "--sign",
        other_key.to_str().unwrap(),
        "--verb",
        "check",
        "--target",
        "/srv",
        "--deadline",
        "2d",
        "--org",
        &second,
    ]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains(&f.key.key_id), "{out}");
    // Enrolling with a key other than the one the collector advertises: the given key is
    // pinned and the mismatch reported.
    let out = f
        .ferret()
        .args(["enroll", &f.base, "--secret", &secret2, "--directive-key", &other.public])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("pinned directive key {}", other.key_id)),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains(&format!("the collector advertises directive key {}", f.key.key_id)),
        "{}",
        text(&out)
    );
}
