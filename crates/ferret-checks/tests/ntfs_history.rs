//! NTFS history in `check`: PL009 (a web shell created in the campaign window and later
//! deleted, from the change journal and from deleted `$MFT` records), SB011 (published
//! SUNBURST-family names in the history), the file-name indicators matched against the
//! history (engine `artefact`), and hostile `$MFT`/`$J` files. Fixtures are written by the
//! testkit's journal and MFT writers in a KAPE-like layout (`C/$MFT`, `C/$Extend/$J`).

mod common;

use common::{Run, run};
use ferret_checks::Campaign;
use ferret_core::{Engine, ProblemKind, Severity, Verdict};
use ferret_testkit::Tree;
use ferret_testkit::ntfs_history::{
    ARCHIVE, CLOSE, DATA_EXTEND, FILE_CREATE, FILE_DELETE, Record, Usn, filetime, folders, journal,
    kape_layout, mft,
};

/// A page name, assembled at run time.
fn page() -> String {
    format!("qz.{}", "xpsa".chars().rev().collect::<String>())
}

/// The volume: `inetpub\wwwroot\aspnet_client` (records 30–32) and `Users\a` (33–34).
fn volume() -> Vec<Record> {
    let t = filetime(2019, 6, 1, 0, 0, 0);
    let (mut recs, _) = folders("inetpub/wwwroot/aspnet_client", 30, t);
    recs.extend(folders("Users/a", 33, t).0);
    recs
}

/// Journal records for a file created in `parent` at `created` and deleted at `deleted`.
fn created_deleted(file: u64, parent: u64, name: &str, created: u64, deleted: u64) -> Vec<Usn> {
    let r = |time, reason| Usn {
        file,
        file_seq: 3,
        parent,
        parent_seq: 1,
        time,
        reason,
        attributes: ARCHIVE,
        name: name.to_owned(),
    };
    vec![
        r(created, FILE_CREATE),
        r(created, FILE_CREATE | DATA_EXTEND),
        r(created, FILE_CREATE | DATA_EXTEND | CLOSE),
        r(deleted, FILE_DELETE | CLOSE),
    ]
}

fn run_kape(records: &[Record], usns: &[Usn], campaigns: &[Campaign]) -> (Tree, Run) {
    let t = Tree::new();
    kape_layout(&t, Some(&mft(records)), Some(&journal(3 * 4096, usns)));
    let r = run(t.root(), campaigns);
    (t, r)
}

#[test]
fn pl009_shell_created_then_deleted_under_aspnet_client_in_the_window() {
    let name = page();
    let usns = created_deleted(
        60,
        32,
        &name,
        filetime(2021, 3, 3, 8, 15, 0),
        filetime(2021, 3, 6, 22, 0, 0),
    );
    let (_t, r) = run_kape(&volume(), &usns, &[Campaign::ProxyLogon]);
    let f = r.of("PL009");
    assert_eq!(f.len(), 1, "{:#?}", r.findings);
    let f = f[0];
    let path = format!(r"C:\inetpub\wwwroot\aspnet_client\{name}");
    assert_eq!(f.path.as_ref().map(|p| p.lossy().into_owned()), Some(path.clone()));
    assert_eq!(f.severity, Severity::High);
    let msg = f.message.as_deref().unwrap();
    assert!(
        msg.contains("2021-03-03T08:15:00") && msg.contains("deleted 2021-03-06T22:00:00"),
        "{msg}"
    );
    assert!(f.evidence.iter().any(|e| e.label == "history" && e.data.contains("$J offset")));
    assert_eq!(r.verdict(Campaign::ProxyLogon), Some(Verdict::Affected));
    assert_eq!(r.outcome.summary.counter("usn_records"), 4);
    assert_eq!(r.outcome.summary.counter("mft_read"), 1);
}

#[test]
fn pl009_outside_the_window_or_under_a_benign_folder_is_no_finding() {
    let name = page();
    // Created and deleted in 2020, before the window opened (2021-01-03).
    let before = created_deleted(
        60,
        32,
        &name,
        filetime(2020, 6, 3, 0, 0, 0),
        filetime(2020, 6, 4, 0, 0, 0),
    );
    let (_t, r) = run_kape(&volume(), &before, &[Campaign::ProxyLogon]);
    assert!(r.of("PL009").is_empty(), "{:#?}", r.findings);
    // In the window, but under a user's folder.
    let benign = created_deleted(
        61,
        34,
        &name,
        filetime(2021, 3, 3, 0, 0, 0),
        filetime(2021, 3, 4, 0, 0, 0),
    );
    let (_t, r) = run_kape(&volume(), &benign, &[Campaign::ProxyLogon]);
    assert!(r.of("PL009").is_empty(), "{:#?}", r.findings);
    // Created in the window and never deleted: the file check's business, not this one's.
    let kept = &created_deleted(60, 32, &name, filetime(2021, 3, 3, 0, 0, 0), 0)[..3];
    let (_t, r) = run_kape(&volume(), kept, &[Campaign::ProxyLogon]);
    assert!(r.of("PL009").is_empty(), "{:#?}", r.findings);
}

#[test]
fn pl009_from_a_deleted_mft_record_without_a_journal() {
    let name = page();
    let mut recs = volume();
    let t = filetime(2021, 3, 3, 8, 15, 0);
    recs.push(Record {
        number: 60,
        seq: 3,
        in_use: false,
        dir: false,
        parent: (32, 1),
        name: name.clone(),
        si: (t, t),
        fname: (t, t),
    });
    let tree = Tree::new();
    kape_layout(&tree, Some(&mft(&recs)), None);
    let r = run(tree.root(), &[Campaign::ProxyLogon]);
    let f = r.of("PL009");
    assert_eq!(f.len(), 1, "{:#?}", r.findings);
    assert!(f[0].message.as_deref().unwrap().contains("no longer in use"));
    assert_eq!(r.outcome.summary.counter("mft_deleted_records"), 1);
    // The same record in use: the file is there, PL006 judges it.
    recs.last_mut().unwrap().in_use = true;
    let tree = Tree::new();
    kape_layout(&tree, Some(&mft(&recs)), None);
    assert!(run(tree.root(), &[Campaign::ProxyLogon]).of("PL009").is_empty());
}

#[test]
fn a_journal_without_its_mft_gives_partial_paths() {
    let name = page();
    let usns = created_deleted(
        60,
        32,
        &name,
        filetime(2021, 3, 3, 8, 15, 0),
        filetime(2021, 3, 6, 22, 0, 0),
    );
    let t = Tree::new();
    kape_layout(&t, None, Some(&journal(0, &usns)));
    let r = run(t.root(), &[Campaign::ProxyLogon]);
    // The folder is unknown: the path cannot say aspnet_client, so no finding is made up.
    assert!(r.of("PL009").is_empty(), "{:#?}", r.findings);
    assert_eq!(r.outcome.summary.counter("usn_records"), 4);
}

#[test]
fn sb011_published_name_in_the_journal() {
    // A TEARDROP image file name from the intel table, reversed at run time.
    let name: String = "gpj.hturt_suoicarg".chars().rev().collect();
    let usns = created_deleted(
        70,
        34,
        &name,
        filetime(2020, 9, 1, 0, 0, 0),
        filetime(2020, 9, 2, 0, 0, 0),
    );
    let (_t, r) = run_kape(&volume(), &usns, &[Campaign::Sunburst]);
    let f = r.of("SB011");
    assert_eq!(f.len(), 1, "{:#?}", r.findings);
    assert!(f[0].message.as_deref().unwrap().contains(&format!(r"C:\Users\a\{name}")));
    assert!(f[0].evidence.iter().any(|e| e.label == "family" && e.data.contains("TEARDROP")));
    assert_eq!(r.verdict(Campaign::Sunburst), Some(Verdict::Affected));
    // The intel's file-name indicators also match it (engine artefact).
    let art: Vec<_> = r.findings.iter().filter(|f| f.engine == Engine::Artefact).collect();
    assert!(!art.is_empty(), "{:#?}", r.findings);
    assert!(art[0].message.as_deref().unwrap().contains("need not exist"));
    // A benign name: nothing.
    let benign = created_deleted(
        70,
        34,
        "holiday.jpg",
        filetime(2020, 9, 1, 0, 0, 0),
        filetime(2020, 9, 2, 0, 0, 0),
    );
    let (_t, r) = run_kape(&volume(), &benign, &[Campaign::Sunburst]);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

#[test]
fn hostile_history_files_are_problems() {
    let t = Tree::new();
    // A $MFT where one record's fixups are wrong and another lies about an attribute's length.
    let mut m = mft(&volume());
    m[30 * 1024 + 510] ^= 0xFF;
    m[31 * 1024 + 0x3C] = 0xF0;
    m[31 * 1024 + 0x3D] = 0xFF;
    t.file("C/$MFT", &m);
    // A journal with a record whose length lies, and one cut short.
    let mut j = journal(4096, &created_deleted(60, 32, "a.txt", filetime(2021, 3, 3, 0, 0, 0), 0));
    j[4096] = 0x7F;
    j.extend_from_slice(&[0x40, 0, 0, 0, 2, 0, 0, 0]);
    t.file("C/$Extend/$UsnJrnl%3A$J", &j);
    let r = run(t.root(), &[Campaign::ProxyLogon]);
    let parse: Vec<_> = r.problems.iter().filter(|p| p.kind == ProblemKind::Parse).collect();
    assert!(parse.iter().any(|p| p.reason.contains("$MFT record 30")), "{:#?}", r.problems);
    assert!(parse.iter().any(|p| p.reason.contains("$MFT record 31")), "{:#?}", r.problems);
    assert!(parse.iter().any(|p| p.reason.contains("$J at offset 4096")), "{:#?}", r.problems);
    assert!(!r.outcome.summary.complete);
}

#[test]
fn sb011_from_a_deleted_record_in_a_disk_image() {
    if !ferret_testkit::require("ntfs-3g's mkntfs and ntfscp", ferret_testkit::disk::ntfs_tools()) {
        return;
    }
    let t = Tree::new();
    let img = t.path("disk.img");
    let name: String = "gpj.hturt_suoicarg".chars().rev().collect();
    ferret_testkit::disk::NtfsVolume::new(&img, 8, false)
        .file(&name, b"\xff\xd8")
        .file("a.txt", b"a");
    // Clear the in-use flag of the file's record, as deleting the file leaves it.
    let needle: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
    #[expect(clippy::disallowed_methods, reason = "the fixture image is edited on purpose")]
    {
        let mut bytes = std::fs::read(&img).unwrap();
        let at = (0..bytes.len() / 1024)
            .map(|i| i * 1024)
            .find(|&at| {
                let r = &bytes[at..at + 1024];
                r.starts_with(b"FILE")
                    && r[0x16] & 2 == 0
                    && r.windows(needle.len()).any(|w| w == needle)
            })
            .expect("the file's record");
        bytes[at + 0x16] &= !1;
        std::fs::write(&img, bytes).unwrap();
    }
    let r = run(&img, &[Campaign::Sunburst]);
    let f = r.of("SB011");
    assert_eq!(f.len(), 1, "{:#?} {:#?}", r.findings, r.problems);
    assert!(f[0].evidence.iter().any(|e| e.label == "history" && e.data.contains("deleted")));
    assert_eq!(r.outcome.summary.counter("mft_deleted_records"), 1);
    assert_eq!(r.verdict(Campaign::Sunburst), Some(Verdict::Affected));
}
