//! NTFS history end to end: `ferret check --timeline` (text and JSON) over a KAPE-like tree
//! holding a `$MFT` and a `$J` written by the testkit, `ferret scan` matching the history's
//! names against the built-in file-name indicators, and hostile `$MFT`/`$J` files (problems,
//! exit status 3, no panic).

mod common;

use std::path::Path;

use assert_cmd::Command;
use ferret_testkit::Tree;
use ferret_testkit::ntfs_history::{
    ARCHIVE, CLOSE, DATA_EXTEND, FILE_CREATE, FILE_DELETE, Record, Usn, filetime, folders, journal,
    kape_layout, mft,
};

use common::{of_type, records};

fn ferret(verb: &str, args: &[&str], path: &Path, format: &str) -> (i32, String) {
    let out = Command::cargo_bin("ferret")
        .unwrap()
        .arg(verb)
        .args(args)
        .args(["-q", "--format", format])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.code().is_some(), "killed: {}", String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned())
}

fn usn(file: u64, parent: u64, time: u64, reason: u32, name: &str) -> Usn {
    Usn {
        file,
        file_seq: 1,
        parent,
        parent_seq: 1,
        time,
        reason,
        attributes: ARCHIVE,
        name: name.into(),
    }
}

/// `C:\inetpub\wwwroot\aspnet_client` (records 30–32); a page created there on 3 March 2021
/// and deleted on 6 March, a log file changed under `inetpub` on 2 March, and a change
/// outside the window (2020) and outside the folders.
fn kape_tree() -> Tree {
    let t = Tree::new();
    let (mut recs, client) =
        folders("inetpub/wwwroot/aspnet_client", 30, filetime(2019, 1, 1, 0, 0, 0));
    let (logs, logdir) = folders("inetpub/logs", 40, filetime(2019, 1, 1, 0, 0, 0));
    recs.extend(logs);
    let made = filetime(2021, 3, 2, 0, 0, 0);
    recs.push(Record {
        number: 51,
        seq: 1,
        in_use: true,
        dir: false,
        parent: (logdir, 1),
        name: "u_ex210302.log".into(),
        si: (made, made),
        fname: (made, made),
    });
    let page = format!("zz.{}", "xpsa".chars().rev().collect::<String>());
    let j = journal(
        4096,
        &[
            usn(50, 30, filetime(2020, 5, 1, 0, 0, 0), DATA_EXTEND, "old.txt"),
            usn(51, logdir, filetime(2021, 3, 2, 12, 0, 0), DATA_EXTEND | CLOSE, "u_ex210302.log"),
            usn(52, client, filetime(2021, 3, 3, 8, 15, 0), FILE_CREATE, &page),
            usn(
                52,
                client,
                filetime(2021, 3, 3, 8, 15, 1),
                FILE_CREATE | DATA_EXTEND | CLOSE,
                &page,
            ),
            usn(53, 5, filetime(2021, 3, 4, 0, 0, 0), FILE_CREATE | CLOSE, "notes.txt"),
            usn(52, client, filetime(2021, 3, 6, 22, 0, 0), FILE_DELETE | CLOSE, &page),
        ],
    );
    kape_layout(&t, Some(&mft(&recs)), Some(&j));
    t
}

#[test]
fn check_timeline_merges_findings_and_records_in_time_order() {
    let t = kape_tree();
    let (code, out) =
        ferret("check", &["--campaign", "proxylogon", "--timeline"], t.root(), "jsonl");
    assert_eq!(code, 1, "{out}");
    let recs = records(&out);
    let s = of_type(&recs, "summary")[0];
    let lines = s["details"]["timeline"].as_array().expect("a timeline");
    let times: Vec<&str> = lines.iter().map(|l| l["time"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort_unstable();
    assert_eq!(times, sorted, "time order");
    // The page's creation (a $J record and the PL009 finding at the same time), the log
    // change under inetpub, the deletion; nothing from 2020 nor outside the web folders.
    let sources: Vec<&str> = lines.iter().map(|l| l["source"].as_str().unwrap()).collect();
    assert!(sources.contains(&"$J") && sources.contains(&"$MFT"), "{lines:#?}");
    assert!(lines.iter().all(|l| !l["time"].as_str().unwrap().starts_with("2020")), "{lines:#?}");
    assert!(lines.iter().all(|l| !l["path"].as_str().unwrap_or("").ends_with("notes.txt")));
    assert_eq!(lines[0]["source"], "$MFT", "{lines:#?}");
    assert!(lines[0]["path"].as_str().unwrap().ends_with(r"inetpub\logs\u_ex210302.log"));
    let first_j = lines.iter().position(|l| l["source"] == "$J").unwrap();
    assert!(lines[first_j]["path"].as_str().unwrap().ends_with("u_ex210302.log"), "{lines:#?}");
    let finding = lines.iter().find(|l| l["rule"] == "PL009").expect("the PL009 finding");
    assert_eq!(finding["finding"], true);
    // The built-in file-name indicators know the folder too: an artefact finding of the $J.
    assert!(
        lines.iter().any(|l| l["finding"] == true && l["rule"] != "PL009" && l["source"] == "$J"),
        "{lines:#?}"
    );
    assert_eq!(finding["source"], "$J");
    assert!(finding["time"].as_str().unwrap().starts_with("2021-03-03T08:15:00"));
    let deleted =
        lines.iter().find(|l| l["what"].as_str().unwrap().contains("FILE_DELETE")).unwrap();
    assert!(deleted["time"].as_str().unwrap() > finding["time"].as_str().unwrap());

    // The text view prints the same lines under "Timeline:", in the same order.
    let (code, text) =
        ferret("check", &["--campaign", "proxylogon", "--timeline"], t.root(), "text");
    assert_eq!(code, 1);
    let tl = text.split("Timeline:").nth(1).expect("a Timeline section");
    let log = tl.find("u_ex210302.log").unwrap();
    let shell = tl.find("PL009").unwrap();
    let gone = tl.find("FILE_DELETE").unwrap();
    assert!(log < shell && shell < gone, "{tl}");
    // Without --timeline: none.
    let (_, out) = ferret("check", &["--campaign", "proxylogon"], t.root(), "jsonl");
    assert!(of_type(&records(&out), "summary")[0]["details"]["timeline"].is_null());
}

#[test]
fn scan_matches_history_names_against_the_builtin_indicators() {
    let t = Tree::new();
    let (recs, dir) = folders("Windows/Temp", 30, filetime(2020, 1, 1, 0, 0, 0));
    let name: String = "gpj.hturt_suoicarg".chars().rev().collect();
    let j = journal(0, &[usn(60, dir, filetime(2020, 9, 1, 0, 0, 0), FILE_CREATE | CLOSE, &name)]);
    kape_layout(&t, Some(&mft(&recs)), Some(&j));
    let (code, out) = ferret("scan", &[], t.root(), "jsonl");
    assert_eq!(code, 1, "{out}");
    let recs = records(&out);
    let f = of_type(&recs, "finding");
    let art: Vec<_> = f.iter().filter(|f| f["engine"] == "artefact").collect();
    assert_eq!(art.len(), 1, "{f:#?}");
    assert!(art[0]["message"].as_str().unwrap().contains(&format!(r"C:\Windows\Temp\{name}")));
    assert_eq!(of_type(&recs, "summary")[0]["counters"]["usn_records"], 1);
}

#[test]
fn hostile_history_files_exit_3_without_a_panic() {
    let t = Tree::new();
    let mut m = mft(&folders("a/b", 30, 0).0);
    m[30 * 1024 + 510] ^= 0xFF;
    m.truncate(m.len() - 100);
    t.file("C/$MFT", &m);
    let mut j = vec![0u8; 4096];
    j.extend_from_slice(&[0x38, 0, 0, 0, 9, 0, 0, 0]);
    j.extend_from_slice(&[0xAB; 200]);
    t.file("C/$Extend/$UsnJrnl%3A$J", &j);
    for verb in ["check", "scan"] {
        let (code, out) = ferret(verb, &[], t.root(), "jsonl");
        assert_eq!(code, 3, "{verb}: {out}");
        let recs = records(&out);
        let problems = of_type(&recs, "problem");
        assert!(
            problems.iter().any(|p| p["path"].as_str().unwrap().ends_with("$MFT")),
            "{verb}: {problems:#?}"
        );
        assert!(
            problems.iter().any(|p| p["path"].as_str().unwrap().ends_with("$J")),
            "{verb}: {problems:#?}"
        );
        assert!(of_type(&recs, "finding").is_empty());
    }
}
