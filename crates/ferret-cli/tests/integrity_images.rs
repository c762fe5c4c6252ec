//! `ferret baseline` and `ferret verify` of evidence read in place: an NTFS volume in a GPT
//! disk image (and the same disk converted to VHDX, another acquisition of the host), and a
//! Velociraptor collection zip. The manifest records the paths the Windows host knew
//! (`C:\Windows\…`, `C:\readme.txt:notes`), matched without regard to case; a changed, an added
//! and a removed file are named exactly, with exit 1 as for a local verify; the digests equal
//! those of the same tree as a directory; a truncated image is a problem naming it and never
//! clean.

#![expect(clippy::disallowed_methods, reason = "tests build and mutate fixture trees")]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use ferret_testkit::Tree;
use ferret_testkit::archive::ZipWriter;
use ferret_testkit::disk::{NtfsVolume, gpt_disk, ntfs_tools};
use serde_json::Value;

use common::{ferret, of_type, records};

/// The host as it was when the baseline was taken: (path under `C:` with `/`, content).
fn golden() -> Vec<(String, Vec<u8>)> {
    [
        ("Windows/System32/drivers/etc/hosts", b"127.0.0.1 localhost\r\n".to_vec()),
        ("Windows/System32/kernelbase.dll", b"MZ kernelbase version 1".to_vec()),
        ("inetpub/wwwroot/index.html", b"<html>IIS</html>".to_vec()),
        ("inetpub/wwwroot/old.js", b"function old() {}".to_vec()),
        ("inetpub/wwwroot/aspnet_client/ok.txt", b"ok".to_vec()),
        ("Users/Public/notes.txt", b"nothing here\n".to_vec()),
    ]
    .into_iter()
    .map(|(p, d)| (p.to_owned(), d))
    .collect()
}

/// The same host a month later: one file changed, one added, one removed, and a folder and a
/// file whose names were rewritten in another case (the same names to Windows).
fn today() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = golden()
        .into_iter()
        .filter(|(p, _)| p != "inetpub/wwwroot/old.js")
        .map(|(p, d)| {
            if p.ends_with("kernelbase.dll") {
                (p, b"MZ kernelbase patched by someone".to_vec())
            } else if p == "Users/Public/notes.txt" {
                ("USERS/Public/NOTES.TXT".to_owned(), d)
            } else {
                (p, d)
            }
        })
        .collect();
    files.push((
        "inetpub/wwwroot/aspnet_client/help.aspx".to_owned(),
        ferret_testkit::samples::chopper_aspx("z").into_bytes(),
    ));
    files
}

fn qemu_img() -> bool {
    ferret_testkit::require(
        "qemu-img (Debian package qemu-utils)",
        Process::new("qemu-img").arg("--version").output().is_ok(),
    )
}

/// A GPT disk holding an NTFS volume with `files` in their folders (ntfs-3g's FUSE mount), a
/// root file `readme.txt` with an alternate data stream `notes`, and (with `filler`) 12 MiB
/// of incompressible data, so a copy cut in its middle loses a file's data while the MFT
/// (at the volume's start) is still read.
fn ntfs_disk(t: &Tree, name: &str, files: &[(String, Vec<u8>)], filler: bool) -> Option<PathBuf> {
    if !ferret_testkit::require(
        "ntfs-3g's mkntfs and ntfscp (Debian package ntfs-3g)",
        ntfs_tools(),
    ) {
        return None;
    }
    let vol = t.path(format!("{name}.vol"));
    let mut v = NtfsVolume::new(&vol, 24, false);
    let filled = v.tree(files);
    if !ferret_testkit::require(
        format!("ntfs-3g's FUSE mount to fill a volume ({:?})", filled.as_ref().err()),
        filled.is_ok(),
    ) {
        return None;
    }
    v.file("readme.txt", b"read me\n");
    v.stream("readme.txt", "notes", b"a note kept in a stream\n");
    if filler {
        let noise = ferret_testkit::noise(12 << 20, 0x2545_f491_4f6c_dd1d);
        v.file("filler.bin", &noise);
    }
    let disk = t.path(format!("{name}.img"));
    gpt_disk(&disk, &[&vol], true);
    Some(disk)
}

struct Keys {
    secret: PathBuf,
    public: PathBuf,
}

fn keys(t: &Tree) -> Keys {
    let secret = t.path("ferret.key");
    ferret().args(["keygen", "-o"]).arg(&secret).assert().success();
    Keys { public: t.path("ferret.key.pub"), secret }
}

fn baseline(target: &Path, manifest: &Path, k: &Keys) -> (i32, String) {
    let out = ferret()
        .arg("baseline")
        .arg(target)
        .arg("-o")
        .arg(manifest)
        .arg("--sign")
        .arg(&k.secret)
        .output()
        .unwrap();
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn verify(target: &Path, manifest: &Path, k: &Keys) -> (i32, Vec<Value>) {
    let out = ferret()
        .arg("verify")
        .arg(target)
        .arg("--manifest")
        .arg(manifest)
        .arg("--pubkey")
        .arg(&k.public)
        .args(["--format", "jsonl"])
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    (code, records(&out.stdout))
}

/// The manifest's header and its entries by path.
fn manifest(path: &Path) -> (Value, BTreeMap<String, Value>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines().map(|l| serde_json::from_str::<Value>(l).unwrap());
    let header = lines.next().unwrap();
    let entries = lines
        .filter(|e| e.get("p").is_some())
        .map(|e| (e["p"].as_str().unwrap().to_owned(), e))
        .collect();
    (header, entries)
}

/// (rule id, path) of every finding, sorted.
fn findings(recs: &[Value]) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = of_type(recs, "finding")
        .iter()
        .map(|f| {
            (f["rule"]["id"].as_str().unwrap().to_owned(), f["path"].as_str().unwrap().to_owned())
        })
        .collect();
    f.sort();
    f
}

#[test]
fn an_ntfs_image_is_baselined_with_windows_paths_and_verified_against_another_acquisition() {
    let t = Tree::new();
    let Some(before) = ntfs_disk(&t, "before", &golden(), false) else { return };
    let Some(after) = ntfs_disk(&t, "after", &today(), false) else { return };
    if !qemu_img() {
        return;
    }
    let state =
        |p: &Path| (std::fs::read(p).unwrap(), std::fs::metadata(p).unwrap().modified().ok());
    let pristine = state(&before);
    let k = keys(&t);
    let m = t.path("host.manifest");
    let (code, stderr) = baseline(&before, &m, &k);
    assert_eq!(code, 0, "{stderr}");

    // The manifest: version 2, Windows paths, the evidence it was taken from; sizes, digests
    // and times; no POSIX mode or owner invented for NTFS files.
    let (header, entries) = manifest(&m);
    assert_eq!(header["schema_version"], 2, "{header}");
    assert_eq!(header["paths"], "windows", "{header}");
    assert_eq!(header["evidence"]["target"], before.to_str().unwrap(), "{header}");
    assert!(header["evidence"]["sources"][0].as_str().unwrap().contains("partition 2 (gpt), ntfs"));
    let dll = &entries[r"C:\Windows\System32\kernelbase.dll"];
    assert_eq!(dll["t"], "f");
    assert_eq!(dll["s"], 23);
    assert!(dll["h"].as_str().is_some_and(|h| h.len() == 64), "{dll}");
    assert!(dll["mt"].as_i64().is_some_and(|t| t > 1_600_000_000), "{dll}");
    for absent in ["m", "u", "g", "x"] {
        assert!(dll.get(absent).is_none(), "{absent} recorded for an NTFS file: {dll}");
    }
    assert_eq!(entries[r"C:\Windows\System32"]["t"], "d");
    assert!(entries.contains_key(r"C:\readme.txt:notes"), "{:?}", entries.keys());

    // The same image: clean and complete.
    let (code, recs) = verify(&before, &m, &k);
    assert_eq!(code, 0, "{recs:#?}");
    assert!(findings(&recs).is_empty());
    let summary = of_type(&recs, "summary")[0];
    assert_eq!(summary["complete"], true, "{summary}");
    assert!(summary["counters"]["files_hashed"].as_u64().unwrap() >= 7, "{summary}");
    assert!(state(&before) == pristine, "the examined image was changed");

    // Today's acquisition, as a VHDX: exactly the changed, added and removed files, by their
    // Windows paths; names rewritten in another case are the same names.
    let vhdx = t.path("after.vhdx");
    let status = Process::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", "vhdx", "-o", "subformat=dynamic"])
        .arg(&after)
        .arg(&vhdx)
        .status()
        .unwrap();
    assert!(status.success());
    for target in [&after, &vhdx] {
        let (code, recs) = verify(target, &m, &k);
        assert_eq!(code, 1, "{}: {recs:#?}", target.display());
        assert_eq!(
            findings(&recs),
            [
                ("INT001".into(), r"C:\Windows\System32\kernelbase.dll".into()),
                ("INT002".into(), r"C:\inetpub\wwwroot\aspnet_client\help.aspx".into()),
                ("INT003".into(), r"C:\inetpub\wwwroot\old.js".into()),
            ],
            "{}",
            target.display()
        );
        let summary = of_type(&recs, "summary")[0];
        assert_eq!(summary["complete"], true, "{summary}");
    }

    // `diff` of the two acquisitions' manifests names the same three files.
    let m2 = t.path("today.manifest");
    assert_eq!(baseline(&vhdx, &m2, &k).0, 0);
    let out = ferret()
        .arg("diff")
        .arg(&m)
        .arg(&m2)
        .arg("--pubkey")
        .arg(&k.public)
        .args(["--format", "jsonl"])
        .output()
        .unwrap();
    let recs = records(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{recs:#?}");
    assert_eq!(
        findings(&recs),
        [
            ("INT001".into(), r"C:\Windows\System32\kernelbase.dll".into()),
            ("INT002".into(), r"C:\inetpub\wwwroot\aspnet_client\help.aspx".into()),
            ("INT003".into(), r"C:\inetpub\wwwroot\old.js".into()),
        ]
    );

    // A manifest of another host's image: most entries absent, incomplete, never clean.
    let Some(other) = ntfs_disk(
        &t,
        "other",
        &[
            ("srv/a.txt".to_owned(), b"a".to_vec()),
            ("srv/b.txt".to_owned(), b"b".to_vec()),
            ("srv/c.txt".to_owned(), b"c".to_vec()),
        ],
        false,
    ) else {
        return;
    };
    let (code, recs) = verify(&other, &m, &k);
    assert_eq!(code, 3, "{recs:#?}");
    assert!(findings(&recs).is_empty(), "absences are counted, not reported one by one");
}

#[test]
fn an_image_and_its_tree_as_a_directory_give_the_same_digests() {
    let t = Tree::new();
    let files = golden();
    let Some(disk) = ntfs_disk(&t, "disk", &files, false) else { return };
    for (p, d) in &files {
        t.file(Path::new("dir").join(p), d);
    }
    let k = keys(&t);
    let (mi, md) = (t.path("image.manifest"), t.path("dir.manifest"));
    assert_eq!(baseline(&disk, &mi, &k).0, 0);
    assert_eq!(baseline(&t.path("dir"), &md, &k).0, 0);
    let (_, image) = manifest(&mi);
    let (header, dir) = manifest(&md);
    assert_eq!(header["schema_version"], 1, "a directory's manifest is still version 1");
    for (p, _) in &files {
        let from_image = &image[&format!(r"C:\{}", p.replace('/', "\\"))];
        assert_eq!(from_image["h"], dir[p.as_str()]["h"], "{p}");
        assert_eq!(from_image["s"], dir[p.as_str()]["s"], "{p}");
    }
    // Windows paths compared without case cannot be matched with POSIX paths: `diff` refuses.
    let out =
        ferret().arg("diff").arg(&md).arg(&mi).arg("--pubkey").arg(&k.public).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be compared"));
}

/// A Velociraptor offline collection of `files` (the `auto` accessor).
fn velociraptor_zip(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut z = ZipWriter::new();
    for (i, (path, data)) in files.iter().enumerate() {
        z.add(format!("uploads/auto/C%3A/{path}"), data, i % 2 == 0);
    }
    z.add("uploads.json", b"[]\n", true);
    z.add("log.json", b"{\"message\":\"collection done\"}\n", true);
    z.finish()
}

#[test]
fn a_velociraptor_collection_is_baselined_and_verified_in_place() {
    let t = Tree::new();
    let k = keys(&t);
    let before = t.file("Collection-HOST-2024-01.zip", velociraptor_zip(&golden()));
    let after = t.file("Collection-HOST-2024-02.zip", velociraptor_zip(&today()));
    let m = t.path("collection.manifest");
    let (code, stderr) = baseline(&before, &m, &k);
    assert_eq!(code, 0, "{stderr}");
    let (header, entries) = manifest(&m);
    assert_eq!(header["paths"], "windows");
    assert_eq!(header["evidence"]["layout"], "velociraptor zip", "{header}");
    assert!(entries.contains_key(r"C:\inetpub\wwwroot\old.js"), "{:?}", entries.keys());
    assert!(!entries.keys().any(|p| p.contains("uploads.json")), "the collector's own files");

    let (code, recs) = verify(&before, &m, &k);
    assert_eq!(code, 0, "{recs:#?}");
    let (code, recs) = verify(&after, &m, &k);
    assert_eq!(code, 1, "{recs:#?}");
    assert_eq!(
        findings(&recs),
        [
            ("INT001".into(), r"C:\Windows\System32\kernelbase.dll".into()),
            ("INT002".into(), r"C:\inetpub\wwwroot\aspnet_client\help.aspx".into()),
            ("INT003".into(), r"C:\inetpub\wwwroot\old.js".into()),
        ]
    );

    // `--exclude` matches the host's paths without regard to case.
    let out = ferret()
        .arg("verify")
        .arg(&after)
        .arg("--manifest")
        .arg(&m)
        .arg("--pubkey")
        .arg(&k.public)
        .args(["--exclude", "c:/INETPUB/**", "--format", "jsonl"])
        .output()
        .unwrap();
    let recs = records(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{recs:#?}");
    assert_eq!(findings(&recs), [("INT001".into(), r"C:\Windows\System32\kernelbase.dll".into())]);

    // Two members that are one name to Windows: the second is a problem, never a silent
    // overwrite, and the baseline is incomplete.
    let mut twice = golden();
    twice.push(("users/public/NOTES.txt".to_owned(), b"another file".to_vec()));
    let twice = t.file("Collection-TWICE.zip", velociraptor_zip(&twice));
    let out = ferret()
        .arg("baseline")
        .arg(&twice)
        .arg("-o")
        .arg(t.path("twice.manifest"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("listed twice"), "{stderr}");
}

/// `path` cut to `percent` % of its length (whole sectors).
fn truncate(path: &Path, percent: u64) {
    let len = std::fs::metadata(path).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.set_len(len * percent / 100 / 512 * 512).unwrap();
}

#[test]
fn a_truncated_image_is_a_problem_naming_it_and_never_clean() {
    let t = Tree::new();
    let Some(disk) = ntfs_disk(&t, "disk", &golden(), true) else { return };
    let k = keys(&t);
    let m = t.path("disk.manifest");
    assert_eq!(baseline(&disk, &m, &k).0, 0);

    // Cut inside the filler: the MFT is read, the last file's data is gone.
    let cut = t.path("cut.img");
    std::fs::copy(&disk, &cut).unwrap();
    truncate(&cut, 50);
    let (code, recs) = verify(&cut, &m, &k);
    assert_eq!(code, 3, "{recs:#?}");
    let problems = of_type(&recs, "problem");
    assert!(!problems.is_empty(), "{recs:#?}");
    assert!(problems.iter().any(names(&cut)), "no problem names the image: {problems:#?}");
    let summary = of_type(&recs, "summary")[0];
    assert_eq!(summary["complete"], false, "{summary}");
    // A baseline of it is incomplete too.
    let (code, _) = baseline(&cut, &t.path("cut.manifest"), &k);
    assert_eq!(code, 3);

    // Cut before the file system: nothing can be examined, and verify says so.
    let stub = t.path("stub.img");
    std::fs::copy(&disk, &stub).unwrap();
    truncate(&stub, 6);
    let (code, recs) = verify(&stub, &m, &k);
    assert_eq!(code, 3, "{recs:#?}");
    assert!(findings(&recs).is_empty(), "{recs:#?}");
    let problems = of_type(&recs, "problem");
    assert!(problems.iter().any(names(&stub)), "{problems:#?}");
    let summary = of_type(&recs, "summary")[0];
    assert_eq!(summary["complete"], false, "{summary}");
    let (code, stderr) = baseline(&stub, &t.path("stub.manifest"), &k);
    assert_eq!(code, 3, "{stderr}");
    assert!(!t.path("stub.manifest").exists(), "no manifest of nothing");
}

/// Whether a problem names `image` (as its path, or in the place inside it).
fn names(image: &Path) -> impl Fn(&&Value) -> bool + '_ {
    move |p| {
        p["path"] == image.to_str().unwrap()
            || p["position"].as_str().is_some_and(|s| s.contains(image.to_str().unwrap()))
    }
}

#[test]
fn files_of_a_partition_that_cannot_be_opened_are_not_reported_as_removed() {
    if !ferret_testkit::require(
        "ntfs-3g's mkntfs and ntfscp (Debian package ntfs-3g)",
        ntfs_tools(),
    ) {
        return;
    }
    let t = Tree::new();
    let (system, data) = (t.path("c.vol"), t.path("d.vol"));
    NtfsVolume::new(&system, 16, false).file("boot.ini", b"[boot loader]\n");
    let mut volume = NtfsVolume::new(&data, 16, false);
    for name in ["data1.txt", "data2.txt", "data3.txt"] {
        volume.file(name, name.as_bytes());
    }
    let disk = t.path("two.img");
    gpt_disk(&disk, &[&system, &data], true);
    let k = keys(&t);
    let m = t.path("two.manifest");
    assert_eq!(baseline(&disk, &m, &k).0, 0);
    let (_, entries) = manifest(&m);
    assert!(entries.contains_key(r"C:\boot.ini") && entries.contains_key(r"D:\data1.txt"));

    // The second volume's boot sector loses its signature: D: cannot be opened.
    let d_start = (2048 + 2048 + (16 << 20) / 512) * 512;
    let mut file = std::fs::OpenOptions::new().write(true).open(&disk).unwrap();
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(d_start + 3)).unwrap();
    std::io::Write::write_all(&mut file, b"XXXXXXXX").unwrap();
    drop(file);
    let (code, recs) = verify(&disk, &m, &k);
    assert_eq!(code, 3, "{recs:#?}");
    assert!(findings(&recs).is_empty(), "D:'s files are not removed: {recs:#?}");
    assert!(of_type(&recs, "problem").iter().any(names(&disk)), "{recs:#?}");
    let summary = of_type(&recs, "summary")[0];
    assert_eq!(summary["complete"], false, "{summary}");
}
