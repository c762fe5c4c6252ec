//! `ferret scan` of a Windows disk held in each virtual-disk container (VHD fixed and
//! dynamic, VHDX fixed and dynamic, VMDK monolithic sparse, stream-optimised, split sparse and
//! flat, E01 in several segments): the same findings, with the same Windows paths, as from
//! the raw disk the containers were made from (`qemu-img convert`, `ewfacquire`); damaged
//! containers are incomplete runs with a problem naming the file, never a crash; an E01's
//! stored MD5 and SHA-1 are verified on request.
#![cfg(feature = "scan")]
#![allow(clippy::disallowed_methods, reason = "tests write their own temporary fixtures")]
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::format_collect,
    reason = "offsets and sizes of small test images; hex of a digest"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use ferret_testkit::Tree;
use ferret_testkit::disk::{NtfsVolume, gpt_disk, ntfs_tools};
use serde_json::Value;

use common::{ferret, of_type, records};

/// A China Chopper-style ASPX one-liner, kept reversed so no build file carries it whole.
fn chopper() -> String {
    ">%;)\"efasnu\",]\"z\"[metI.tseuqeR(lave%<>%\"tpircsJ\"=egaugnaL egaP @%<"
        .chars()
        .rev()
        .collect()
}

/// Bytes that do not compress (so an E01 of the disk spans several 1 MiB segments).
fn noise(n: usize) -> Vec<u8> {
    ferret_testkit::noise(n, 0x9E37_79B9_7F4A_7C15)
}

fn scan(target: &Path, extra: &[&str]) -> (i32, Vec<Value>) {
    let out =
        ferret().arg("scan").arg(target).args(extra).args(["--format", "jsonl"]).output().unwrap();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code != 101 && !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{}: {}",
        target.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    (code, records(&out.stdout))
}

fn tools() -> bool {
    ferret_testkit::require("ntfs-3g's mkntfs and ntfscp (Debian package ntfs-3g)", ntfs_tools())
        && ferret_testkit::require(
            "qemu-img (Debian package qemu-utils)",
            Process::new("qemu-img").arg("--version").output().is_ok(),
        )
}

fn ewf_tools() -> bool {
    ferret_testkit::require(
        "ewfacquire (Debian package ewf-tools)",
        Process::new("ewfacquire").arg("-V").output().is_ok(),
    )
}

/// A GPT disk holding an NTFS volume with shells, a clean file and incompressible filler.
fn windows_disk(t: &Tree) -> PathBuf {
    let vol = t.path("vol.img");
    let mut v = NtfsVolume::new(&vol, 16, false);
    v.file("help.aspx", chopper().as_bytes());
    v.file("readme.txt", b"nothing to see\n");
    v.stream("readme.txt", "payload.aspx", chopper().as_bytes());
    v.file(&["gracious_truth", ".jpg"].concat(), b"\xff\xd8\xff\xe0 not really a picture");
    v.file("filler.bin", &noise(3 << 20));
    v.file("late.aspx", chopper().as_bytes());
    let disk = t.path("disk.img");
    gpt_disk(&disk, &[&vol], true);
    disk
}

fn qemu(raw: &Path, format: &str, subformat: &str, out: &Path) {
    let status = Process::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", format, "-o"])
        .arg(format!("subformat={subformat}"))
        .arg(raw)
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success(), "qemu-img convert -O {format} -o subformat={subformat}");
}

/// `ewfacquire` of `raw` into `dir/name.E01`, `.E02`, … (1 MiB segments, MD5 and SHA-1).
fn ewf(raw: &Path, dir: &Path, name: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let out = Process::new("ewfacquire")
        .args(["-u", "-q", "-S", "1MiB", "-c", "deflate:fast", "-d", "sha1", "-t"])
        .arg(dir.join(name))
        .arg(raw)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "ewfacquire: {}", String::from_utf8_lossy(&out.stdout));
    let first = dir.join(format!("{name}.E01"));
    assert!(dir.join(format!("{name}.E03")).is_file(), "several segments");
    first
}

/// (Windows path, rule) of every finding, sorted.
fn findings(recs: &[Value]) -> Vec<(String, String)> {
    let mut out: Vec<_> = of_type(recs, "finding")
        .iter()
        .map(|f| {
            (f["path"].as_str().unwrap().to_owned(), f["rule"]["id"].as_str().unwrap().to_owned())
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Every container kind made from `raw`: (file, expected `container_format`).
fn containers(t: &Tree, raw: &Path) -> Vec<(PathBuf, &'static str)> {
    let mut out = Vec::new();
    for (format, sub, name, kind) in [
        ("vpc", "fixed", "fixed.vhd", "vhd-fixed"),
        ("vpc", "dynamic", "dynamic.vhd", "vhd-dynamic"),
        ("vhdx", "dynamic", "dynamic.vhdx", "vhdx-dynamic"),
        ("vhdx", "fixed", "fixed.vhdx", "vhdx-fixed"),
        ("vmdk", "monolithicSparse", "sparse.vmdk", "vmdk-monolithic-sparse"),
        ("vmdk", "streamOptimized", "stream.vmdk", "vmdk-stream-optimized"),
        ("vmdk", "twoGbMaxExtentSparse", "split.vmdk", "vmdk-split-sparse"),
        ("vmdk", "monolithicFlat", "flat.vmdk", "vmdk-monolithic-flat"),
    ] {
        let dir = t.path(kind);
        std::fs::create_dir_all(&dir).unwrap();
        let image = dir.join(name);
        qemu(raw, format, sub, &image);
        out.push((image, kind));
    }
    out
}

#[test]
fn every_container_gives_the_findings_of_the_raw_disk() {
    if !tools() {
        return;
    }
    let t = Tree::new();
    let raw = windows_disk(&t);
    let (raw_code, raw_recs) = scan(&raw, &[]);
    let want = findings(&raw_recs);
    assert_eq!(raw_code, 1, "{raw_recs:#?}");
    for path in [r"C:\help.aspx", r"C:\readme.txt:payload.aspx", r"C:\late.aspx"] {
        assert!(want.iter().any(|(p, _)| p == path), "{path}: {want:?}");
    }
    let mut all = containers(&t, &raw);
    if ewf_tools() {
        all.push((ewf(&raw, &t.path("e01"), "host"), "e01"));
    }
    for (image, kind) in all {
        let (code, recs) = scan(&image, &[]);
        assert_eq!(code, 1, "{kind}: {recs:#?}");
        assert_eq!(findings(&recs), want, "{kind}");
        for f in of_type(&recs, "finding") {
            let p = &f["provenance"];
            assert_eq!(p["container"], image.to_str().unwrap(), "{kind}: {p}");
            assert_eq!(p["container_format"], kind, "{p}");
            assert_eq!(p["partition"], 2, "{kind}: {p}");
        }
        let summary = of_type(&recs, "summary")[0];
        assert_eq!(summary["complete"], true, "{kind}: {summary}");
        assert!(of_type(&recs, "problem").is_empty(), "{kind}: {recs:#?}");
    }
}

/// `path` cut to `keep` of its length.
fn truncate(path: &Path, keep: f64) {
    let len = std::fs::metadata(path).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.set_len(((len as f64) * keep) as u64 / 512 * 512).unwrap();
}

fn assert_incomplete_naming(image: &Path, what: &str) {
    let (code, recs) = scan(image, &[]);
    // Incomplete: exit 3, unless what could be read still gave findings (exit 1 wins).
    let want = if of_type(&recs, "finding").is_empty() { 3 } else { 1 };
    assert_eq!(code, want, "{what}: {recs:#?}");
    let problems = of_type(&recs, "problem");
    assert!(
        problems.iter().any(|p| p["path"] == image.to_str().unwrap()),
        "{what}: no problem names {}: {problems:#?}",
        image.display()
    );
    assert_eq!(of_type(&recs, "summary")[0]["complete"], false, "{what}");
}

#[test]
fn truncated_and_corrupted_containers_are_incomplete_with_a_problem_naming_them() {
    if !tools() {
        return;
    }
    let t = Tree::new();
    let raw = windows_disk(&t);
    for (image, kind) in containers(&t, &raw) {
        if kind == "vhd-fixed" || kind == "vmdk-monolithic-flat" {
            // Raw bytes: a cut one reads as a shorter disk, which the partition layer
            // reports (covered by the raw-disk tests).
            continue;
        }
        let cut =
            image.with_file_name(format!("cut-{}", image.file_name().unwrap().to_string_lossy()));
        std::fs::copy(&image, &cut).unwrap();
        if kind == "vmdk-split-sparse" {
            // The descriptor names the extents: cut the first extent instead.
            let extent = image.with_file_name("split-s001.vmdk");
            truncate(&extent, 0.5);
            assert_incomplete_naming(&image, kind);
            continue;
        }
        truncate(&cut, 0.5);
        assert_incomplete_naming(&cut, &format!("{kind} cut in half"));

        // The first 64 KiB past the start overwritten.
        let bad =
            image.with_file_name(format!("bad-{}", image.file_name().unwrap().to_string_lossy()));
        let mut data = std::fs::read(&image).unwrap();
        let end = data.len().min(1 << 20);
        for (i, b) in data[512..end].iter_mut().enumerate() {
            *b ^= (i as u8).wrapping_mul(31) | 1;
        }
        std::fs::write(&bad, &data).unwrap();
        assert_incomplete_naming(&bad, &format!("{kind} overwritten"));
    }

    if ewf_tools() {
        let first = ewf(&raw, &t.path("e01"), "host");
        // A segment missing.
        let last = first.with_extension("E03");
        let kept = first.with_extension("kept");
        std::fs::rename(&last, &kept).unwrap();
        assert_incomplete_naming(&first, "e01 without its third segment");
        std::fs::rename(&kept, &last).unwrap();
        // A segment cut short.
        truncate(&first.with_extension("E02"), 0.6);
        assert_incomplete_naming(&first, "e01 with its second segment cut");
    }
}

#[test]
fn a_vmdk_delta_link_is_a_problem_naming_its_parent() {
    if !tools() {
        return;
    }
    let t = Tree::new();
    let raw = windows_disk(&t);
    let dir = t.path("chain");
    std::fs::create_dir_all(&dir).unwrap();
    qemu(&raw, "vmdk", "monolithicSparse", &dir.join("base.vmdk"));
    let child = dir.join("child.vmdk");
    let status = Process::new("qemu-img")
        .args(["create", "-q", "-f", "vmdk", "-F", "vmdk", "-b", "base.vmdk", "child.vmdk"])
        .current_dir(&dir)
        .status()
        .unwrap();
    assert!(status.success(), "qemu-img create a delta link");
    let (code, recs) = scan(&child, &[]);
    assert_eq!(code, 3, "{recs:#?}");
    let problems = of_type(&recs, "problem");
    assert!(
        problems.iter().any(|p| p["path"] == child.to_str().unwrap()
            && p["reason"].as_str().unwrap().contains("base.vmdk")),
        "{problems:#?}"
    );
}

/// Fixes the one's-complement checksum at `at` of the VHD structure `b`.
fn vhd_checksum(b: &mut [u8], at: usize) {
    b[at..at + 4].fill(0);
    let sum = b.iter().fold(0u32, |s, x| s.wrapping_add(u32::from(*x)));
    b[at..at + 4].copy_from_slice(&(!sum).to_be_bytes());
}

/// Turns the dynamic VHD `child` into a differencing disk on the parent named `parent_name`
/// (whose identifier is `parent_id`), as Hyper-V lays one out: disk type 4, the parent's
/// name in the header and a relative Windows locator. `bitmaps`: what every allocated block's
/// sector bitmap becomes (0x00: every sector from the parent; 0xFF: every one from the child).
fn make_differencing(child: &Path, parent_name: &str, parent_id: &[u8], bitmaps: u8) {
    let mut d = std::fs::read(child).unwrap();
    let len = d.len();
    let be32 = |b: &[u8], at: usize| u32::from_be_bytes(b[at..at + 4].try_into().unwrap());
    let dh = u64::from_be_bytes(d[16..24].try_into().unwrap()) as usize;
    let bat = u64::from_be_bytes(d[dh + 16..dh + 24].try_into().unwrap()) as usize;
    let entries = be32(&d, dh + 28) as usize;
    let block = be32(&d, dh + 32) as usize;
    let bitmap = (block / 512).div_ceil(8).div_ceil(512) * 512;
    for i in 0..entries {
        let e = be32(&d, bat + 4 * i);
        if e != u32::MAX {
            let at = e as usize * 512;
            d[at..at + bitmap].fill(bitmaps);
        }
    }
    // The parent's name (UTF-16 big-endian) and a W2ru locator (UTF-16 little-endian) in
    // the sector after the BAT's last, appended.
    let name: Vec<u16> = parent_name.encode_utf16().collect();
    d[dh + 40..dh + 56].copy_from_slice(parent_id);
    d[dh + 64..dh + 576].fill(0);
    for (i, u) in name.iter().enumerate() {
        d[dh + 64 + 2 * i..dh + 66 + 2 * i].copy_from_slice(&u.to_be_bytes());
    }
    let footer = d[len - 512..].to_vec();
    d.truncate(len - 512);
    let locator_at = d.len() as u64;
    let relative: Vec<u8> =
        format!(".\\{parent_name}").encode_utf16().flat_map(u16::to_le_bytes).collect();
    d.extend_from_slice(&relative);
    d.resize(d.len().div_ceil(512) * 512, 0);
    let l = dh + 576;
    d[l..l + 4].copy_from_slice(b"W2ru");
    d[l + 4..l + 8].copy_from_slice(&512u32.to_be_bytes());
    d[l + 8..l + 12].copy_from_slice(&(relative.len() as u32).to_be_bytes());
    d[l + 16..l + 24].copy_from_slice(&locator_at.to_be_bytes());
    vhd_checksum(&mut d[dh..dh + 1024], 36);
    let mut footer = footer;
    footer[60..64].copy_from_slice(&4u32.to_be_bytes());
    vhd_checksum(&mut footer, 64);
    d[..512].copy_from_slice(&footer);
    d.extend_from_slice(&footer);
    std::fs::write(child, d).unwrap();
}

#[test]
fn a_differencing_vhd_reads_each_sector_from_the_child_or_its_parent_beside_it() {
    if !tools() {
        return;
    }
    let t = Tree::new();
    // The parent: the disk with the shells. The child: a disk of the same layout whose
    // files are harmless.
    let raw = windows_disk(&t);
    let (_, raw_recs) = scan(&raw, &[]);
    let clean_vol = t.path("clean-vol.img");
    NtfsVolume::new(&clean_vol, 16, false).file("clean.txt", b"nothing here\n");
    let clean = t.path("clean.img");
    gpt_disk(&clean, &[&clean_vol], true);
    let dir = t.path("chain");
    std::fs::create_dir_all(&dir).unwrap();
    let base = dir.join("base.vhd");
    qemu(&raw, "vpc", "dynamic", &base);
    let base_bytes = std::fs::read(&base).unwrap();
    let base_id = base_bytes[base_bytes.len() - 512 + 68..base_bytes.len() - 512 + 84].to_vec();
    let child = dir.join("child.vhd");

    // Every sector from the parent: the parent's findings, as a differencing disk.
    qemu(&clean, "vpc", "dynamic", &child);
    make_differencing(&child, "base.vhd", &base_id, 0x00);
    let (code, recs) = scan(&child, &[]);
    assert_eq!(code, 1, "{recs:#?}");
    assert_eq!(findings(&recs), findings(&raw_recs));
    assert_eq!(of_type(&recs, "finding")[0]["provenance"]["container_format"], "vhd-differencing");
    assert_eq!(of_type(&recs, "summary")[0]["complete"], true);

    // Every allocated sector from the child: the clean disk's files, nothing found.
    qemu(&clean, "vpc", "dynamic", &child);
    make_differencing(&child, "base.vhd", &base_id, 0xFF);
    let (code, recs) = scan(&child, &[]);
    assert!(of_type(&recs, "finding").is_empty(), "{recs:#?}");
    assert_eq!(code, 0, "{recs:#?}");

    // The parent gone: a problem naming the child and the parent.
    let moved = dir.join("elsewhere.vhd");
    std::fs::rename(&base, &moved).unwrap();
    let (code, recs) = scan(&child, &[]);
    assert_eq!(code, 3, "{recs:#?}");
    let problems = of_type(&recs, "problem");
    assert!(
        problems.iter().any(|p| p["path"] == child.to_str().unwrap()
            && p["reason"].as_str().unwrap().contains("base.vhd")),
        "{problems:#?}"
    );

    // A chain that loops (the child names itself as its parent): bounded, a problem.
    qemu(&clean, "vpc", "dynamic", &child);
    let child_bytes = std::fs::read(&child).unwrap();
    let own_id = child_bytes[child_bytes.len() - 512 + 68..child_bytes.len() - 512 + 84].to_vec();
    make_differencing(&child, "child.vhd", &own_id, 0x00);
    let (code, recs) = scan(&child, &[]);
    assert_eq!(code, 3, "{recs:#?}");
    let problems = of_type(&recs, "problem");
    assert!(
        problems.iter().any(|p| p["path"] == child.to_str().unwrap()
            && p["reason"].as_str().unwrap().contains("loop")),
        "{problems:#?}"
    );
}

/// Turns the dynamic VHDX `child` (made by qemu-img) into a differencing disk on the parent
/// named `parent_name`, as Hyper-V lays one out: the file parameters' "has parent" flag, a
/// parent locator metadata item (`relative_path`), every present payload block marked
/// partly present, and one sector bitmap block (1 MiB of `bitmap`) appended: 0x00 takes
/// every sector from the parent, 0xFF every one from the child.
fn make_differencing_vhdx(child: &Path, parent_name: &str, bitmap: u8) {
    const BAT: [u8; 16] = [
        0x66, 0x77, 0xC2, 0x2D, 0x23, 0xF6, 0x00, 0x42, 0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD, 0x4A,
        0x08,
    ];
    const METADATA: [u8; 16] = [
        0x06, 0xA2, 0x7C, 0x8B, 0x90, 0x47, 0x9A, 0x4B, 0xB8, 0xFE, 0x57, 0x5F, 0x05, 0x0F, 0x88,
        0x6E,
    ];
    const PARAMETERS: [u8; 16] = [
        0x37, 0x67, 0xA1, 0xCA, 0x36, 0xFA, 0x43, 0x4D, 0xB3, 0xB6, 0x33, 0xF0, 0xAA, 0x44, 0xE7,
        0x6B,
    ];
    const SIZE: [u8; 16] = [
        0x24, 0x42, 0xA5, 0x2F, 0x1B, 0xCD, 0x76, 0x48, 0xB2, 0x11, 0x5D, 0xBE, 0xD8, 0x3B, 0xF4,
        0xB8,
    ];
    const LOCATOR: [u8; 16] = [
        0x2D, 0x5F, 0xD3, 0xA8, 0x0B, 0xB3, 0x4D, 0x45, 0xAB, 0xF7, 0xD3, 0xD8, 0x48, 0x34, 0xAB,
        0x0C,
    ];
    let mut d = std::fs::read(child).unwrap();
    let u32_at = |d: &[u8], at: usize| u32::from_le_bytes(d[at..at + 4].try_into().unwrap());
    let u64_at = |d: &[u8], at: usize| u64::from_le_bytes(d[at..at + 8].try_into().unwrap());
    let (mut bat, mut meta) = (0, 0);
    let rt = 192 * 1024;
    for i in 0..u32_at(&d, rt + 8) as usize {
        let e = rt + 16 + 32 * i;
        let off = u64_at(&d, e + 16) as usize;
        if d[e..e + 16] == BAT {
            bat = off;
        } else if d[e..e + 16] == METADATA {
            meta = off;
        }
    }
    assert!(bat > 0 && meta > 0, "qemu-img's VHDX has a BAT and metadata");
    let count = usize::from(u16::from_le_bytes([d[meta + 10], d[meta + 11]]));
    let item = |d: &[u8], id: [u8; 16]| {
        (0..count)
            .map(|i| meta + 32 + 32 * i)
            .find(|e| d[*e..*e + 16] == id)
            .map(|e| meta + u32_at(d, e + 16) as usize)
            .unwrap()
    };
    let params = item(&d, PARAMETERS);
    let block = u64::from(u32_at(&d, params));
    d[params + 4] |= 2;
    let size = u64_at(&d, item(&d, SIZE));
    let chunk_ratio = (1u64 << 23) * 512 / block;
    let blocks = size.div_ceil(block);
    assert!(blocks < chunk_ratio, "one chunk of blocks");
    // The parent locator: a type GUID, then one key/value pair of UTF-16LE strings.
    let utf16 = |s: &str| s.encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>();
    let (key, value) = (utf16("relative_path"), utf16(&format!(".\\{parent_name}")));
    let mut loc = vec![0u8; 32];
    loc[..16].copy_from_slice(&[0xB7; 16]);
    loc[18..20].copy_from_slice(&1u16.to_le_bytes());
    loc[20..24].copy_from_slice(&32u32.to_le_bytes());
    loc[24..28].copy_from_slice(&(32 + key.len() as u32).to_le_bytes());
    loc[28..30].copy_from_slice(&(key.len() as u16).to_le_bytes());
    loc[30..32].copy_from_slice(&(value.len() as u16).to_le_bytes());
    loc.extend_from_slice(&key);
    loc.extend_from_slice(&value);
    let at = 512 * 1024;
    d[meta + at..meta + at + loc.len()].copy_from_slice(&loc);
    let e = meta + 32 + 32 * count;
    d[e..e + 16].copy_from_slice(&LOCATOR);
    d[e + 16..e + 20].copy_from_slice(&(at as u32).to_le_bytes());
    d[e + 20..e + 24].copy_from_slice(&(loc.len() as u32).to_le_bytes());
    d[e + 24..e + 28].copy_from_slice(&6u32.to_le_bytes());
    d[meta + 10..meta + 12].copy_from_slice(&(count as u16 + 1).to_le_bytes());
    // Present blocks become partly present; the chunk's sector bitmap block is appended.
    for i in 0..blocks as usize {
        let e = bat + 8 * i;
        let v = u64_at(&d, e);
        if v & 7 == 6 {
            d[e..e + 8].copy_from_slice(&(v & !7 | 7).to_le_bytes());
        }
    }
    d.resize(d.len().div_ceil(1 << 20) * (1 << 20), 0);
    let bitmap_at = d.len() as u64;
    d.resize(d.len() + (1 << 20), bitmap);
    let e = bat + 8 * chunk_ratio as usize;
    d[e..e + 8].copy_from_slice(&(bitmap_at | 6).to_le_bytes());
    std::fs::write(child, d).unwrap();
}

#[test]
fn a_differencing_vhdx_reads_each_sector_from_the_child_or_its_parent_beside_it() {
    if !tools() {
        return;
    }
    let t = Tree::new();
    let raw = windows_disk(&t);
    let (_, raw_recs) = scan(&raw, &[]);
    let clean_vol = t.path("clean-vol.img");
    NtfsVolume::new(&clean_vol, 16, false).file("clean.txt", b"nothing here\n");
    let clean = t.path("clean.img");
    gpt_disk(&clean, &[&clean_vol], true);
    let dir = t.path("chain");
    std::fs::create_dir_all(&dir).unwrap();
    let base = dir.join("base.vhdx");
    qemu(&raw, "vhdx", "dynamic", &base);
    let child = dir.join("child.vhdx");

    qemu(&clean, "vhdx", "dynamic", &child);
    make_differencing_vhdx(&child, "base.vhdx", 0x00);
    let (code, recs) = scan(&child, &[]);
    assert_eq!(code, 1, "{recs:#?}");
    assert_eq!(findings(&recs), findings(&raw_recs));
    assert_eq!(of_type(&recs, "finding")[0]["provenance"]["container_format"], "vhdx-differencing");
    assert_eq!(of_type(&recs, "summary")[0]["complete"], true, "{:#?}", of_type(&recs, "problem"));

    qemu(&clean, "vhdx", "dynamic", &child);
    make_differencing_vhdx(&child, "base.vhdx", 0xFF);
    let (code, recs) = scan(&child, &[]);
    assert!(of_type(&recs, "finding").is_empty(), "{recs:#?}");
    assert_eq!(code, 0, "{recs:#?}");

    std::fs::rename(&base, dir.join("elsewhere.vhdx")).unwrap();
    let (code, recs) = scan(&child, &[]);
    assert_eq!(code, 3, "{recs:#?}");
    assert!(
        of_type(&recs, "problem").iter().any(|p| p["path"] == child.to_str().unwrap()
            && p["reason"].as_str().unwrap().contains("base.vhdx")),
        "{recs:#?}"
    );

    qemu(&clean, "vhdx", "dynamic", &child);
    make_differencing_vhdx(&child, "child.vhdx", 0x00);
    let (code, recs) = scan(&child, &[]);
    assert_eq!(code, 3, "{recs:#?}");
    assert!(
        of_type(&recs, "problem").iter().any(|p| p["path"] == child.to_str().unwrap()
            && p["reason"].as_str().unwrap().contains("loop")),
        "{recs:#?}"
    );
}

#[test]
fn verify_container_checks_an_e01s_stored_md5_and_sha1() {
    if !tools() || !ewf_tools() {
        return;
    }
    let t = Tree::new();
    let raw = windows_disk(&t);
    let first = ewf(&raw, &t.path("e01"), "host");
    let (code, recs) = scan(&first, &["--verify-container"]);
    assert_eq!(code, 1, "{recs:#?}");
    let summary = of_type(&recs, "summary")[0];
    let notes = summary["notes"].to_string();
    let md5 = md5_of(&raw);
    assert!(notes.contains("e01 container verified"), "{notes}");
    assert!(notes.contains(&format!("MD5 {md5} matches")), "{notes}");
    assert!(notes.contains("SHA-1"), "{notes}");

    // The stored MD5 altered (in the hash and digest sections): a problem, incomplete.
    let last = (2..99)
        .map(|n| first.with_extension(format!("E{n:02}")))
        .take_while(|p| p.is_file())
        .last()
        .unwrap();
    let mut data = std::fs::read(&last).unwrap();
    let stored = hex_bytes(&md5);
    let mut changed = 0;
    for i in 0..data.len().saturating_sub(16) {
        if data[i..i + 16] == stored[..] {
            data[i] ^= 0xFF;
            changed += 1;
        }
    }
    assert!(changed >= 1, "the stored MD5 is in the last segment, {}", last.display());
    std::fs::write(&last, &data).unwrap();
    let (code, recs) = scan(&first, &["--verify-container"]);
    assert_eq!(code, 1, "the shells are still found: {recs:#?}");
    assert_eq!(of_type(&recs, "summary")[0]["complete"], false);
    let problems = of_type(&recs, "problem");
    assert!(
        problems.iter().any(|p| p["path"] == first.to_str().unwrap()
            && p["reason"].as_str().unwrap().contains("does not match")),
        "{problems:#?}"
    );
    // Without the option nothing is verified and the run is complete.
    let (code, _) = scan(&first, &[]);
    assert_eq!(code, 1);
}

fn md5_of(path: &Path) -> String {
    use md5::Digest as _;
    md5::Md5::digest(std::fs::read(path).unwrap()).iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}
