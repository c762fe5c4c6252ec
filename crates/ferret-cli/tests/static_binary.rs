//! The static binary in an empty root: when the `ferret` under test is statically linked
//! (CI builds everything with `crt-static`, see `.ci/run`), `ldd` says it is not dynamic, and
//! copied alone into an empty folder — no `/proc`, `/dev`, `/etc` or library — and run there
//! under `chroot`, it scans and checks a fixture tree with the right verdicts both ways. Then,
//! with only an `/etc/hosts` added, it enrols with a collector on loopback by name (resolved
//! without the C library's NSS modules), and `agent --once` runs a signed directive by
//! starting itself again (no `/proc/self/exe` to find itself by) and sends the report.
//!
//! On a dynamic build (a developer's `cargo test`) or without root, it skips visibly.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use chrono::{Duration, Utc};
use ferret_core::directive::{DirectiveOption, Document, sha256_hex, trusted_comment};
use ferret_integrity::sign;
use ferret_store::{HostStatus, NewDirective};

const V15: &str = "Program Files/Microsoft/Exchange Server/V15";

/// Whether a 64-bit little-endian ELF file has no program interpreter (`PT_INTERP`).
fn is_static_elf(b: &[u8]) -> bool {
    assert!(b.len() > 64 && b.starts_with(b"\x7fELF") && b[4] == 2 && b[5] == 1, "not ELF64 LE");
    let phoff = usize::try_from(u64::from_le_bytes(b[0x20..0x28].try_into().unwrap())).unwrap();
    let phentsize = usize::from(u16::from_le_bytes([b[0x36], b[0x37]]));
    let phnum = usize::from(u16::from_le_bytes([b[0x38], b[0x39]]));
    (0..phnum).all(|i| {
        let at = phoff + i * phentsize;
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) != 3
    })
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[expect(clippy::disallowed_methods, reason = "fixtures in the test's temporary directory")]
fn put(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

/// `chroot ROOT /ferret ARGS` with an empty environment but for `env`.
fn in_root(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    // Found in this process's PATH: the child's environment is emptied.
    let chroot = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join("chroot"))
        .find(|p| p.is_file())
        .expect("chroot (coreutils)");
    let mut c = Command::new(chroot);
    c.arg(root).arg("/ferret").args(args).env_clear();
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run chroot")
}

fn iis_log() -> String {
    let mut log = String::from(
        "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n",
    );
    for i in 0..10 {
        log.push_str(&format!(
            "2021-02-01 10:00:0{i} 10.0.0.2 GET /owa/ - 443 - 192.0.2.{i} Mozilla/5.0+(Windows+NT+10.0) - 200 0 0 5\n"
        ));
    }
    log
}

/// The checks that need a static binary and root; `None` (after a visible skip) otherwise.
fn static_binary_and_root() -> Option<Vec<u8>> {
    let exe = env!("CARGO_BIN_EXE_ferret");
    let bytes = std::fs::read(exe).unwrap();
    let is_static = is_static_elf(&bytes);
    if !ferret_testkit::require(
        "a statically linked ferret (build with the static flags of .ci/run)",
        is_static,
    ) {
        return None;
    }
    let ldd = Command::new("ldd").arg(exe).output();
    if ferret_testkit::require("ldd", ldd.is_ok()) {
        let all = text(&ldd.unwrap());
        assert!(
            all.contains("not a dynamic executable") || all.contains("statically linked"),
            "ldd sees a dynamic executable: {all}"
        );
    }
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !ferret_testkit::require("root (chroot)", uid.unwrap_or(false)) {
        return None;
    }
    Some(bytes)
}

/// An empty root holding only the binary and the fixture trees.
#[expect(clippy::disallowed_methods, reason = "fixtures in the test's temporary directory")]
fn bare_root(bytes: &[u8]) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("ferret"), bytes).unwrap();
    std::fs::set_permissions(root.join("ferret"), std::fs::Permissions::from_mode(0o755)).unwrap();
    // `check`: an Exchange server's drive, clean, and the same with a planted web shell.
    for host in ["exchange", "exchange-hit"] {
        put(
            root,
            &format!("{host}/{V15}/FrontEnd/HttpProxy/owa/auth/logon.aspx"),
            "<%@ Page Language=\"C#\" %>sign in",
        );
        put(root, &format!("{host}/inetpub/logs/LogFiles/W3SVC1/u_ex210201.log"), &iis_log());
    }
    let shell = ferret_testkit::samples::chopper_script("k");
    put(root, &format!("exchange-hit/{V15}/FrontEnd/HttpProxy/owa/auth/errorPages.aspx"), &shell);
    // `scan`: one YARA rule, a tree without its marker and one with it (the marker is split
    // so this source does not hold it whole).
    let marker = format!("{}{}", "ferret-static-", "marker-77c1");
    put(
        root,
        "rules/marker.yar",
        &format!("rule static_marker {{ strings: $a = \"{marker}\" condition: $a }}\n"),
    );
    put(root, "www/index.html", "<html>hello</html>");
    put(root, "www-hit/index.html", "<html>hello</html>");
    put(root, "www-hit/upload/x.php", &format!("<?php /* {marker} */"));
    dir
}

#[test]
fn static_binary_scans_and_checks_in_an_empty_root() {
    let Some(bytes) = static_binary_and_root() else { return };
    let dir = bare_root(&bytes);
    let root = dir.path();
    let names: Vec<_> = std::fs::read_dir(root).unwrap().map(|e| e.unwrap().file_name()).collect();
    for absent in ["proc", "dev", "etc", "lib", "lib64", "usr", "tmp"] {
        assert!(!names.iter().any(|n| n == absent), "the root is not bare: {names:?}");
    }

    let out = in_root(root, &["--version"], &[]);
    assert!(out.status.success(), "{}", text(&out));

    let scan = |tree: &str| {
        in_root(
            root,
            &["scan", "-q", "--format", "jsonl", "--rules", "/rules/marker.yar", tree],
            &[],
        )
    };
    let out = scan("/www");
    assert_eq!(out.status.code(), Some(0), "clean tree: {}", text(&out));
    let out = scan("/www-hit");
    assert_eq!(out.status.code(), Some(1), "tree with the marker: {}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("static_marker") && stdout.contains("/www-hit/upload/x.php"),
        "{stdout}"
    );

    let check = |tree: &str| in_root(root, &["check", "-q", "--format", "jsonl", tree], &[]);
    let out = check("/exchange");
    assert_eq!(out.status.code(), Some(0), "clean host: {}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"not_found\""), "{}", text(&out));
    let out = check("/exchange-hit");
    assert_eq!(out.status.code(), Some(1), "planted shell: {}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"affected\""), "{}", text(&out));

    // Nothing was written into the root by the runs (no report, no state).
    let after: Vec<_> = std::fs::read_dir(root).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(after.len(), names.len(), "{after:?}");
}

#[test]
fn static_binary_enrols_by_name_and_runs_a_signed_directive_from_the_chroot() {
    let Some(bytes) = static_binary_and_root() else { return };
    let dir = bare_root(&bytes);
    let root = dir.path();
    let collector_dir = tempfile::tempdir().unwrap();

    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let url = format!("sqlite:{}", collector_dir.path().join("c.db").display());
    let (port, store) = rt.block_on(async {
        let store = ferret_store::open(&url).await.unwrap();
        ferret_server::bootstrap_admin(store.as_ref()).await.unwrap();
        let state = ferret_server::AppState::new(Arc::clone(&store));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(ferret_server::serve(listener, state, std::future::pending()));
        (port, store)
    });
    let org = rt.block_on(store.create_org("agency")).unwrap().id;
    let secret = "enrolment-secret-for-the-static-binary-test";
    rt.block_on(store.add_enrolment_secret(org, &ferret_store::hash_token(secret))).unwrap();
    let key = sign::keygen().unwrap();

    // The collector by name: only /etc/hosts says where it is; no NSS module, no resolver
    // library, no /etc/nsswitch.conf in the root.
    put(root, "etc/hosts", "127.0.0.1 localhost\n127.0.0.1 collector.test\n");
    put(root, "keys/directive.pub", &key.public);
    for d in ["state/config", "state/spool"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let env = [
        ("FERRET_CONFIG_DIR", "/state/config"),
        ("FERRET_SPOOL_DIR", "/state/spool"),
        ("FERRET_UPLOAD_BACKOFF_MS", "1"),
    ];
    let base = format!("http://collector.test:{port}");
    let out = in_root(
        root,
        &[
            "enroll",
            &base,
            "--secret",
            secret,
            "--name",
            "static-host",
            "--directive-key",
            "/keys/directive.pub",
        ],
        &env,
    );
    assert!(out.status.success(), "enroll from the chroot: {}", text(&out));
    assert!(text(&out).contains(&key.key_id), "{}", text(&out));

    // A signed `check` directive for the planted tree: the agent verifies it and starts
    // itself to run it.
    let doc = Document {
        schema_version: 1,
        id: uuid::Uuid::new_v4().to_string(),
        name: "static check".into(),
        verb: "check".into(),
        targets: vec!["/exchange-hit".into()],
        options: vec![DirectiveOption::parse("campaign=proxylogon")],
        deadline: Utc::now() + Duration::days(2),
        orgs: vec![org],
        bundle_sha256: None,
        created: Utc::now(),
    };
    let doc_text = serde_json::to_string_pretty(&doc).unwrap();
    let comment = trusted_comment(&doc.id, &sha256_hex(doc_text.as_bytes()));
    let signature = sign::sign(&key.secret, doc_text.as_bytes(), &comment).unwrap().0;
    let did = rt
        .block_on(store.create_directive(
            &NewDirective {
                name: doc.name.clone(),
                verb: "check".into(),
                command: "check".into(),
                document: Some(doc_text),
                signature: Some(signature),
                bundle: None,
                deadline: doc.deadline,
                orgs: vec![org],
            },
            Utc::now(),
        ))
        .unwrap()
        .id;
    let out = in_root(root, &["agent", "--once"], &env);
    let st = rt.block_on(store.directive_status(org, did, Utc::now())).unwrap().unwrap();
    assert_eq!(st.hosts.len(), 1);
    assert!(
        text(&out).contains("ran 1 directive(s), 0 errored"),
        "agent from the chroot: {}\noutcome: {:?}",
        text(&out),
        st.hosts[0]
    );
    assert_eq!(st.hosts[0].status, HostStatus::Affected, "{:?}", st.hosts[0]);
    let runs = rt.block_on(store.list_runs(org, None, 100)).unwrap();
    assert_eq!(
        runs.iter().filter(|r| r.directive_id == Some(did)).count(),
        1,
        "the report arrived"
    );
}
