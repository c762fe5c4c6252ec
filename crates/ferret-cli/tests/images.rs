//! `ferret scan IMAGE`: a disk image named as a target is read in place (MBR/GPT, NTFS),
//! every file and alternate data stream inside is scanned like a file of a directory, and
//! findings carry the path the Windows host knew and where in the image they were found. An
//! image whose file system ferret cannot read is a problem and the run is incomplete.
#![cfg(feature = "scan")]
#![allow(clippy::disallowed_methods, reason = "tests write their own temporary fixtures")]

mod common;

use std::path::Path;

use ferret_testkit::Tree;
use ferret_testkit::disk::{NtfsVolume, gpt_disk, ntfs_tools};
use serde_json::Value;

use common::{ferret, of_type, records};

/// A China Chopper-style ASPX one-liner (assembled, so no source file carries it).
fn chopper() -> String {
    ferret_testkit::samples::chopper_aspx("z")
}

fn scan(target: &Path) -> (i32, Vec<Value>) {
    let out = ferret().arg("scan").arg(target).args(["--format", "jsonl"]).output().unwrap();
    (out.status.code().unwrap(), records(&out.stdout))
}

fn tools() -> bool {
    ferret_testkit::require("ntfs-3g's mkntfs and ntfscp (Debian package ntfs-3g)", ntfs_tools())
}

#[test]
fn shells_inside_an_ntfs_image_are_found_with_their_windows_paths() {
    if !tools() {
        return;
    }
    let t = Tree::new();
    let vol = t.path("vol.img");
    let mut v = NtfsVolume::new(&vol, 16, false);
    v.file("help.aspx", chopper().as_bytes());
    v.file("readme.txt", b"nothing to see\n");
    v.stream("readme.txt", "payload.aspx", chopper().as_bytes());
    // A file named as SUNBURST's TEARDROP dropper named its payload.
    v.file(&["gracious_truth", ".jpg"].concat(), b"\xff\xd8\xff\xe0 not really a picture");
    let disk = t.path("disk.img");
    gpt_disk(&disk, &[&vol], true);

    let (code, recs) = scan(&disk);
    assert_eq!(code, 1, "{recs:#?}");
    let findings = of_type(&recs, "finding");
    let at = |path: &str| -> Vec<&Value> {
        findings.iter().copied().filter(|f| f["path"] == path).collect()
    };
    for path in [r"C:\help.aspx", r"C:\readme.txt:payload.aspx", r"C:\gracious_truth.jpg"] {
        let found = at(path);
        assert!(!found.is_empty(), "{path}: {findings:#?}");
        let p = &found[0]["provenance"];
        assert_eq!(p["container"], disk.to_str().unwrap(), "{p}");
        assert_eq!(p["container_format"], "raw");
        assert_eq!(p["partition_table"], "gpt");
        assert_eq!(p["partition"], 2, "partition 1 is the reserved one");
        assert_eq!(p["filesystem"], "ntfs");
        assert!(p["record"].as_u64().unwrap() >= 24, "{p}");
        assert!(p["standard_information"]["modified"].is_string(), "{p}");
        assert!(p["file_name"]["created"].is_string(), "{p}");
    }
    assert_eq!(at(r"C:\readme.txt:payload.aspx")[0]["provenance"]["stream"], "payload.aspx");
    assert!(at(r"C:\readme.txt").is_empty(), "the harmless main stream is not accused");
    let summary = of_type(&recs, "summary")[0];
    assert_eq!(summary["counters"]["images"], 1, "{summary}");
    assert_eq!(summary["complete"], true, "{summary}");

    // The text view names the Windows path and where it was found.
    let out = ferret().arg("scan").arg(&disk).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(r"C:\help.aspx"), "{text}");
    assert!(text.contains("partition 2 (gpt), ntfs, record"), "{text}");
}

#[test]
fn an_image_ferret_cannot_read_is_incomplete_not_clean() {
    if !tools() {
        return;
    }
    let t = Tree::new();
    // A partition with nothing but an ext4 superblock's magic beside a clean NTFS one.
    let ext = t.path("ext.img");
    let mut data = vec![0u8; 2 << 20];
    data[1024 + 56..1024 + 58].copy_from_slice(&0xEF53u16.to_le_bytes());
    std::fs::write(&ext, &data).unwrap();
    let vol = t.path("vol.img");
    NtfsVolume::new(&vol, 16, false).file("clean.txt", b"clean\n");
    let disk = t.path("disk.img");
    gpt_disk(&disk, &[&ext, &vol], false);
    let (code, recs) = scan(&disk);
    assert_eq!(code, 3, "{recs:#?}");
    let problems = of_type(&recs, "problem");
    assert!(
        problems.iter().any(|p| p["path"] == disk.to_str().unwrap()
            && p["reason"].as_str().unwrap().contains("ext2/3/4 file system cannot be read")),
        "{problems:#?}"
    );
    let summary = of_type(&recs, "summary")[0];
    assert_eq!(summary["complete"], false);
    assert!(
        summary["counters"]["files_scanned"].as_u64().unwrap() >= 1,
        "the NTFS partition was read: {summary}"
    );
}

#[test]
fn a_directory_beside_an_image_is_scanned_as_before() {
    if !tools() {
        return;
    }
    let t = Tree::new();
    t.file("www/shell.aspx", chopper());
    let vol = t.path("vol.img");
    NtfsVolume::new(&vol, 16, false).file("inside.aspx", chopper().as_bytes());
    let out = ferret()
        .arg("scan")
        .arg(t.path("www"))
        .arg(&vol)
        .args(["--format", "jsonl"])
        .output()
        .unwrap();
    let recs = records(&out.stdout);
    let paths: Vec<&str> =
        of_type(&recs, "finding").iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert!(paths.iter().any(|p| p.ends_with("www/shell.aspx")), "{paths:?}");
    assert!(paths.contains(&r"C:\inside.aspx"), "{paths:?}");
}

#[test]
fn the_same_files_as_a_directory_and_as_an_image_give_the_same_findings() {
    if !tools() {
        return;
    }
    let t = Tree::new();
    let files: Vec<(String, Vec<u8>)> = vec![
        ("help.aspx".into(), chopper().into_bytes()),
        (["gracious_truth", ".jpg"].concat(), b"\xff\xd8\xff\xe0".to_vec()),
        ("big-shell.aspx".into(), format!("{}{}", " ".repeat(200_000), chopper()).into_bytes()),
        ("clean.txt".into(), b"nothing here\n".to_vec()),
    ];
    let vol = t.path("vol.img");
    let mut v = NtfsVolume::new(&vol, 16, true);
    for (name, data) in &files {
        t.file(format!("tree/{name}"), data);
        v.file(name, data);
    }
    let key = |f: &Value, root: &str| {
        let p = f["path"].as_str().unwrap();
        let rel = p.strip_prefix(root).unwrap_or(p).trim_start_matches(['/', '\\']).to_owned();
        (rel, f["rule"]["id"].as_str().unwrap().to_owned(), f["score"].as_u64().unwrap())
    };
    let (dir_code, dir) = scan(&t.path("tree"));
    let (img_code, img) = scan(&vol);
    let root = t.path("tree");
    let mut from_dir: Vec<_> =
        of_type(&dir, "finding").iter().map(|f| key(f, root.to_str().unwrap())).collect();
    let mut from_img: Vec<_> = of_type(&img, "finding").iter().map(|f| key(f, "C:")).collect();
    from_dir.sort();
    from_img.sort();
    assert!(from_dir.len() >= 2, "{from_dir:?}");
    assert_eq!(from_dir, from_img);
    assert_eq!((dir_code, img_code), (1, 1));
}
