//! Pulse Connect Secure detectors over a fake appliance tree built at test time: a manifest
//! signed with a test "vendor" key, then tampered with one way per test (a planted family file,
//! a patched integrity checker, a manifest re-signed with a key kept on the box, …). The benign
//! tree raises nothing.

mod common;

use std::path::{Path, PathBuf};

use common::{Run, run_with};
use ferret_checks::{Campaign, CheckOptions};
use ferret_core::{Severity, Verdict};
use ferret_testkit::Tree;
use rsa::pkcs8::DecodePrivateKey as _;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use sha2::Digest as _;

const VENDOR_KEY: &str = include_str!("data/pulse-test-vendor.key.pem");
const VENDOR_PUB: &str = include_str!("data/pulse-test-vendor.pub.pem");
const ONBOX_KEY: &str = include_str!("data/pulse-test-onbox.key.pem");
const ONBOX_PUB: &str = include_str!("data/pulse-test-onbox.pub.pem");

/// The appliance root inside the fixture tree.
const ROOT: &str = "pcs-image";

const SHA512_DIGEST_INFO: [u8; 19] = [
    0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
    0x00, 0x04, 0x40,
];

/// `openssl dgst -sha512 -sign KEY` over `data`.
fn sign(key_pem: &str, data: &[u8]) -> Vec<u8> {
    let key = RsaPrivateKey::from_pkcs8_pem(key_pem).expect("test key");
    let digest = sha2::Sha512::digest(data);
    key.sign(Pkcs1v15Sign { hash_len: Some(64), prefix: Box::new(SHA512_DIGEST_INFO) }, &digest)
        .expect("sign")
}

fn sha256(data: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(data))
}

const CHECKER: &str = "#!/bin/sh\n# integrity checker\nnewfilecount=0\nmismatchcount=0\nfor f in $(cat /home/etc/manifest/manifest); do\n  newfilecount=$((newfilecount+1))\ndone\nif [ $mismatchcount -gt 0 ] || [ $newfilecount -gt 0 ]; then\n  echo \"integrity check failed\"\n  exit 1\nfi\nexit 0\n";

const UPGRADE: &str = "package DSUpgrade;\nuse strict;\nsub run_upgrade {\n    my $pkg = shift;\n    system(\"/bin/tar -xzf $pkg -C /tmp/new\");\n    return 0;\n}\n1;\n";

/// The product files of the fake appliance: (appliance path, content).
fn product_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("/home/bin/dsserver", b"\x7fELF test dsserver build 9.1R10".to_vec()),
        ("/home/lib/libdsplibs.so", b"\x7fELF test libdsplibs build 9.1R10".to_vec()),
        (
            "/home/webserver/htdocs/dana-na/auth/login.cgi",
            b"#!/usr/bin/perl\nuse DSAuth;\nprint \"login page\\n\";\n".to_vec(),
        ),
        (
            "/home/webserver/htdocs/dana-na/auth/compcheckresult.cgi",
            b"#!/usr/bin/perl\nprint \"compliance result\\n\";\n".to_vec(),
        ),
        ("/home/perl/DSUpgrade.pm", UPGRADE.as_bytes().to_vec()),
        ("/home/bin/check_integrity.sh", CHECKER.as_bytes().to_vec()),
    ]
}

fn manifest_text(files: &[(&str, Vec<u8>)]) -> String {
    let mut s = String::new();
    for (p, c) in files {
        s.push_str(&format!("{p} {}\n", sha256(c)));
    }
    s
}

fn access_log(extra: &[&str]) -> String {
    let mut s = String::new();
    for h in 0..48 {
        s.push_str(&format!(
            "10.1.2.{} - - [{:02}/Apr/2021:{:02}:15:00 +0000] \"GET /dana-na/auth/url_default/welcome.cgi HTTP/1.1\" 200 5120 \"-\" \"Mozilla/5.0 (Windows NT 10.0)\"\n",
            h % 200,
            10 + h / 24,
            h % 24
        ));
        s.push_str(&format!(
            "10.1.2.{} - alice [{:02}/Apr/2021:{:02}:16:00 +0000] \"GET /dana/home/index.cgi HTTP/1.1\" 200 2048 \"-\" \"Mozilla/5.0 (Windows NT 10.0)\"\n",
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

/// A fake appliance. `files` are the product files as on the box; `manifest` is what the
/// on-box manifest lists; it is signed with `signer` and the box keeps `onbox_pub` as
/// `manifest.2`. The vendor manifest (what was shipped) is written outside the image.
struct Appliance {
    tree: Tree,
    vendor: Tree,
    vendor_manifest: PathBuf,
    vendor_pub: PathBuf,
}

impl Appliance {
    fn new(files: &[(&str, Vec<u8>)], manifest: &str, signer: &str, onbox_pub: &str) -> Appliance {
        let tree = Tree::new();
        for (p, c) in files {
            tree.file(format!("{ROOT}{p}"), c);
        }
        tree.file(format!("{ROOT}/home/etc/manifest/manifest"), manifest);
        tree.file(
            format!("{ROOT}/home/etc/manifest/manifest.1"),
            sign(signer, manifest.as_bytes()),
        );
        tree.file(format!("{ROOT}/home/etc/manifest/manifest.2"), onbox_pub);
        tree.file(format!("{ROOT}/home/runtime/logs/log.events.vc0"), b"\x00\x01event\x09\x00");
        tree.file("exports/pulse-access.log", access_log(&[]));
        let vendor = Tree::new();
        let shipped = manifest_text(&product_files());
        let vendor_manifest = vendor.file("vendor/manifest", &shipped);
        vendor.file("vendor/manifest.1", sign(VENDOR_KEY, shipped.as_bytes()));
        let vendor_pub = vendor.file("vendor/vendor.pub.pem", VENDOR_PUB);
        Appliance { tree, vendor, vendor_manifest, vendor_pub }
    }

    fn benign() -> Appliance {
        let files = product_files();
        Appliance::new(&files, &manifest_text(&files), VENDOR_KEY, VENDOR_PUB)
    }

    fn root(&self) -> &Path {
        self.tree.root()
    }

    fn run(&self) -> Run {
        self.run_opts(true, true)
    }

    fn run_opts(&self, key: bool, vendor_manifest: bool) -> Run {
        run_with(
            self.root(),
            CheckOptions {
                campaigns: vec![Campaign::PulseSecure],
                vendor_key: key.then(|| self.vendor_pub.clone()),
                vendor_manifest: vendor_manifest.then(|| self.vendor_manifest.clone()),
                ..CheckOptions::default()
            },
        )
    }
}

fn assert_only(r: &Run, code: &str) {
    let others: Vec<_> = r.findings.iter().filter(|f| f.rule.id != code).collect();
    assert!(others.is_empty(), "unexpected findings: {others:#?}");
    assert!(!r.of(code).is_empty(), "no {code} finding: {:#?}", r.findings);
}

#[test]
fn benign_appliance_raises_nothing() {
    let a = Appliance::benign();
    let r = a.run();
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert!(r.problems.is_empty(), "{:#?}", r.problems);
    assert_eq!(r.verdict(Campaign::PulseSecure), Some(Verdict::NotFound));
    let v = &r.outcome.verdicts[0];
    assert!(v.checked.iter().any(|c| c.starts_with("PS001")), "{v:#?}");
    // Every detector had what it needs (the campaign-window note about the logs aside).
    assert!(!v.not_checked.iter().any(|s| s.starts_with("PS0")), "{v:#?}");
}

#[test]
fn ps001_without_vendor_key_says_unchecked_never_trusts_the_box() {
    // Re-signed on the box, but no vendor key given: the signature part is not decided.
    let files = product_files();
    let m = manifest_text(&files);
    let a = Appliance::new(&files, &m, ONBOX_KEY, ONBOX_PUB);
    let r = a.run_opts(false, true);
    assert!(r.of("PS001").is_empty(), "{:#?}", r.findings);
    let v = &r.outcome.verdicts[0];
    assert!(
        v.not_checked.iter().any(|s| s.contains("PS001") && s.contains("--vendor-key")),
        "{v:#?}"
    );
}

#[test]
fn ps001_manifest_resigned_on_the_box() {
    let files = product_files();
    let m = manifest_text(&files);
    let a = Appliance::new(&files, &m, ONBOX_KEY, ONBOX_PUB);
    let r = a.run();
    assert_only(&r, "PS001");
    let f = r.of("PS001")[0];
    assert_eq!(f.severity, Severity::Critical);
    assert!(f.message.as_deref().unwrap_or("").contains("re-signed on the box"), "{f:#?}");
    assert!(f.evidence.iter().any(|e| e.label == "verified_by" && e.data.contains("manifest.2")));
    assert_eq!(r.verdict(Campaign::PulseSecure), Some(Verdict::Affected));
}

#[test]
fn ps001_signature_from_no_known_key() {
    let files = product_files();
    let m = manifest_text(&files);
    // Signed with the on-box key, but the box keeps the vendor's public key: nothing verifies.
    let a = Appliance::new(&files, &m, ONBOX_KEY, VENDOR_PUB);
    let r = a.run();
    assert_only(&r, "PS001");
    assert!(
        r.of("PS001")[0].evidence.iter().any(|e| e.label == "verified_by" && e.data == "no key")
    );
}

#[test]
fn ps002_modified_library_and_new_shell() {
    let mut files = product_files();
    let m = manifest_text(&files);
    // SLOWPULSE-style patch of libdsplibs.so (inert bytes), manifest left alone.
    files[1].1 = b"\x7fELF test libdsplibs build 9.1R10 patched".to_vec();
    // A new CGI under the web root that the manifest does not list.
    files.push((
        "/home/webserver/htdocs/dana-na/auth/healthcheck2.cgi",
        b"#!/usr/bin/perl\n".to_vec(),
    ));
    let a = Appliance::new(&files, &m, VENDOR_KEY, VENDOR_PUB);
    let r = a.run();
    assert_only(&r, "PS002");
    let hits = r.of("PS002");
    assert_eq!(hits.len(), 2, "{hits:#?}");
    assert!(hits.iter().all(|f| f.severity == Severity::High));
    assert!(hits.iter().any(|f| f.evidence.iter().any(|e| e.data == "/home/lib/libdsplibs.so")));
}

#[test]
fn ps003_manifest_entry_never_shipped() {
    // The web shell's line was added to login.cgi, and the manifest updated and re-signed
    // with the vendor key (as if the key had leaked): only the vendor manifest shows it.
    let mut files = product_files();
    files[2].1 = b"#!/usr/bin/perl\nuse DSAuth;\nprint \"login page\\n\";\n# added\n".to_vec();
    let m = manifest_text(&files);
    let a = Appliance::new(&files, &m, VENDOR_KEY, VENDOR_PUB);
    let r = a.run();
    assert_only(&r, "PS003");
    let f = r.of("PS003")[0];
    assert!(f.evidence.iter().any(|e| e.label == "vendor_sha256"));
    // Without the vendor manifest the comparison is said to be missing.
    let r = a.run_opts(true, false);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert!(r.outcome.verdicts[0].not_checked.iter().any(|s| s.contains("--vendor-manifest")));
}

#[test]
fn ps004_planted_family_file() {
    let files = product_files();
    let a = Appliance::new(&files, &manifest_text(&files), VENDOR_KEY, VENDOR_PUB);
    // Inert bytes under a published never-shipped path.
    a.tree.file(format!("{ROOT}/home/perl/PAUS.pm"), "package PAUS; 1;\n");
    let r = a.run();
    let hits = r.of("PS004");
    assert_eq!(hits.len(), 1, "{:#?}", r.findings);
    assert_eq!(hits[0].severity, Severity::High);
    assert!(hits[0].evidence.iter().any(|e| e.label == "family"));
    // PS002 also sees a new Perl module: a lead, not evidence.
    assert!(r.of("PS002").iter().all(|f| f.severity == Severity::Medium));
    assert_eq!(r.verdict(Campaign::PulseSecure), Some(Verdict::Affected));
}

#[test]
fn ps005_checker_turned_to_exit_0() {
    let mut files = product_files();
    let patched = CHECKER.replacen("# integrity checker\n", "# integrity checker\nexit 0\n", 1);
    files[5].1 = patched.into_bytes();
    // The actor also updated the manifest and it verifies with the vendor key (leaked key).
    let a = Appliance::new(&files, &manifest_text(&files), VENDOR_KEY, VENDOR_PUB);
    let r = a.run_opts(true, false);
    assert_only(&r, "PS005");
    assert!(r.of("PS005")[0].evidence.iter().any(|e| e.label.contains("exit 0")));
}

#[test]
fn ps006_exploitation_in_access_log() {
    let a = Appliance::benign();
    a.tree.file(
        "exports/pulse-access.log",
        access_log(&[
            "203.0.113.7 - - [11/Apr/2021:23:40:00 +0000] \"GET /dana-na/auth/compcheckresult.cgi?cmd=%2Fbin%2Fsh%20-c%20id HTTP/1.1\" 200 87 \"-\" \"curl/7.29.0\"",
        ]),
    );
    let r = a.run();
    assert_only(&r, "PS006");
    let f = r.of("PS006")[0];
    assert_eq!(f.severity, Severity::High);
    assert!(f.log.as_ref().and_then(|l| l.line).is_some());
}

#[test]
fn ps007_sed_cleaning_and_gap() {
    let a = Appliance::benign();
    a.tree.file(
        format!("{ROOT}/tmp/c.sh"),
        "#!/bin/sh\nsed -i 's/.\\x00[^\\x00]*203.0.113.7[^\\x00]*\\x09.\\x00//g' /home/runtime/logs/log.access.vc0\n",
    );
    // Two days of silence in the web log.
    let mut log = access_log(&[]);
    log.push_str("10.1.2.3 - - [15/Apr/2021:09:00:00 +0000] \"GET /dana-na/auth/url_default/welcome.cgi HTTP/1.1\" 200 5120 \"-\" \"Mozilla/5.0\"\n");
    a.tree.file("exports/pulse-access.log", log);
    let r = a.run();
    assert_only(&r, "PS007");
    let hits = r.of("PS007");
    assert!(hits.iter().any(|f| f.severity == Severity::High), "{hits:#?}");
    assert!(
        hits.iter().any(
            |f| f.severity == Severity::Medium && f.evidence.iter().any(|e| e.label == "hours")
        ),
        "{hits:#?}"
    );
}

#[test]
fn bad_vendor_key_stops_the_run() {
    let a = Appliance::benign();
    let bad = a.tree.file("not-a-key.pem", "hello");
    let opts = CheckOptions {
        paths: vec![a.root().to_path_buf()],
        campaigns: vec![Campaign::PulseSecure],
        vendor_key: Some(bad),
        ..CheckOptions::default()
    };
    let sink = ferret_core::Collector::new();
    let e = ferret_checks::check(&opts, &sink, &ferret_core::NullProgress).unwrap_err();
    assert!(e.to_string().contains("--vendor-key"), "{e}");
}

/// Genuine appliance pages that published families modify, with content of the genuine kind
/// (none of the families' code). Paths as on the appliance.
fn genuine_pages() -> Vec<(&'static str, Vec<u8>)> {
    let page = |what: &str| {
        format!(
            "#!/usr/bin/perl\nuse strict;\nuse CGI;\nuse DSSafe;\nmy $id = CGI::param('id');\nprint \"Content-type: text/html\\n\\n\";\nprint \"<html><body>{what}</body></html>\\n\";\n"
        )
        .into_bytes()
    };
    vec![
        (
            "/home/webserver/htdocs/dana-na/meeting/meeting_testjs.cgi",
            b"#!/usr/bin/perl\nuse CGI;\nprint \"Content-type: text/javascript\\n\\n\";\nprint \"var meetingTest = 1;\\n\";\n".to_vec(),
        ),
        ("/home/webserver/htdocs/dana-na/auth/url_default/welcome.cgi", page("welcome")),
        ("/home/webserver/htdocs/dana-na/auth/compcheckresult.cgi", page("compliance result")),
        ("/home/webserver/htdocs/dana-na/auth/url_default/secid_canceltoken.cgi", page("token")),
        ("/home/webserver/htdocs/dana-na/auth/compcheckjava.cgi", page("java check")),
        ("/home/webserver/htdocs/dana-na/licenseserver/licenseserverproto.cgi", page("license")),
        ("/home/webserver/htdocs/dana-na/auth/url_default/login.cgi", page("login")),
        ("/home/webserver/htdocs/dana-na/healthcheck/healthcheck.cgi", page("ok")),
    ]
}

/// SLIGHTPULSE-like code (the published markers, assembled from split literals so this file
/// is inert) added to the genuine meeting test page.
fn slightpulse_page() -> Vec<u8> {
    let mut s = String::from_utf8(genuine_pages()[0].1.clone()).expect("utf-8");
    s.push_str(
        &[
            "if (CGI::pa",
            "ram('img')) { show(); } elsif (1) {\n",
            "  sys",
            "tem(\"$cmd > /tmp/7 2>",
            "&1\");\n",
            "  open(*F, \"< $out\");\n  while (<F>) { print; }\n",
            "  print \"Content-type: ima",
            "ge/gif\\n\\n\";\n}\n",
        ]
        .concat(),
    );
    s.into_bytes()
}

/// The product files plus every genuine page that families modify.
fn full_appliance_files() -> Vec<(&'static str, Vec<u8>)> {
    let pages = genuine_pages();
    let mut files: Vec<_> =
        product_files().into_iter().filter(|(p, _)| !pages.iter().any(|(q, _)| q == p)).collect();
    files.extend(pages);
    files
}

/// A genuine-shaped appliance holding every page whose name the families reuse, its manifest
/// signed with the vendor key and no vendor manifest: nothing is reported, NOT FOUND.
#[test]
fn genuine_appliance_with_every_modified_page_is_not_found() {
    let files = full_appliance_files();
    let a = Appliance::new(&files, &manifest_text(&files), VENDOR_KEY, VENDOR_PUB);
    let r = a.run_opts(true, false);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(r.verdict(Campaign::PulseSecure), Some(Verdict::NotFound));
    // Even without any key: the genuine pages are never judged by name.
    let r = a.run_opts(false, false);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

/// The same appliance with SLIGHTPULSE's code in meeting_testjs.cgi, the manifest rewritten
/// for it and signed with the vendor key (as with a leaked key): the content decides.
#[test]
fn slightpulse_code_in_meeting_testjs_is_affected() {
    let mut files = full_appliance_files();
    let i = files.iter().position(|(p, _)| p.ends_with("meeting_testjs.cgi")).expect("page");
    files[i].1 = slightpulse_page();
    let a = Appliance::new(&files, &manifest_text(&files), VENDOR_KEY, VENDOR_PUB);
    let r = a.run_opts(true, false);
    assert_only(&r, "PS004");
    let f = r.of("PS004")[0];
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(Severity::from_score(f.score), f.severity);
    assert!(f.evidence.iter().any(|e| e.label == "family" && e.data == "SLIGHTPULSE"), "{f:#?}");
    assert!(f.evidence.iter().any(|e| e.label == "markers"), "{f:#?}");
    assert_eq!(r.verdict(Campaign::PulseSecure), Some(Verdict::Affected));
}

/// A file with a never-shipped name that the vendor-signed manifest lists with this very hash
/// is the vendor's: not a name finding. The same file with other content is.
#[test]
fn never_shipped_name_vouched_by_the_vendor_manifest_is_not_a_finding() {
    let mut files = product_files();
    files.push(("/home/bin/dshelper", b"\x7fELF vendor helper".to_vec()));
    let a = Appliance::new(&files, &manifest_text(&files), VENDOR_KEY, VENDOR_PUB);
    let r = a.run_opts(true, false);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    // Without a vendor key nothing vouches for it: the name decides.
    let r = a.run_opts(false, false);
    assert_eq!(r.of("PS004").len(), 1, "{:#?}", r.findings);
}

/// Re-signed on the box, no vendor manifest: the verdict says how many files can no longer
/// be vouched for.
#[test]
fn resigned_manifest_says_how_many_files_are_no_longer_vouched_for() {
    let files = full_appliance_files();
    let manifest = manifest_text(&files);
    let a = Appliance::new(&files, &manifest, ONBOX_KEY, ONBOX_PUB);
    let r = a.run_opts(true, false);
    assert_eq!(r.verdict(Campaign::PulseSecure), Some(Verdict::Affected));
    let v = &r.outcome.verdicts[0];
    let n = files.len();
    assert!(
        v.not_checked
            .iter()
            .any(|s| s.contains(&format!("{n} file(s)")) && s.contains("no longer be vouched")),
        "{v:#?}"
    );
    // With the vendor's manifest the files are judged against it instead.
    let r = a.run_opts(true, true);
    let v = &r.outcome.verdicts[0];
    assert!(!v.not_checked.iter().any(|s| s.contains("no longer be vouched")), "{v:#?}");
}

/// A vendor manifest whose signature does not hold with the vendor key stops the run.
#[test]
fn vendor_manifest_signature_is_checked_with_the_vendor_key() {
    let a = Appliance::benign();
    let text = std::fs::read(&a.vendor_manifest).expect("vendor manifest");
    a.vendor.file("vendor/manifest.1", sign(ONBOX_KEY, &text));
    let opts = CheckOptions {
        paths: vec![a.root().to_path_buf()],
        campaigns: vec![Campaign::PulseSecure],
        vendor_key: Some(a.vendor_pub.clone()),
        vendor_manifest: Some(a.vendor_manifest.clone()),
        ..CheckOptions::default()
    };
    let sink = ferret_core::Collector::new();
    let e = ferret_checks::check(&opts, &sink, &ferret_core::NullProgress).unwrap_err();
    assert!(e.to_string().contains("--vendor-manifest"), "{e}");
    // Signed with the vendor key, it is used.
    a.vendor.file("vendor/manifest.1", sign(VENDOR_KEY, &text));
    let r = a.run();
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}
