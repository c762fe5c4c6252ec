//! NTFS volumes made by ntfs-3g's tools at test time (no root, no mount), bare and inside MBR
//! and GPT disks: every file, stream and compressed file read back as written; damaged and
//! unsupported images are problems, never panics.
#![allow(clippy::disallowed_methods, reason = "tests write their own temporary fixtures")]
#![allow(
    clippy::cast_possible_truncation,
    reason = "pseudo-random bytes and offsets in small images"
)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use ferret_core::{Collector, Provenance, Sink as _};
use ferret_evidence::ntfs::NtfsSource;
use ferret_evidence::{Entry, EntryKind, Source, open_image};
use ferret_testkit::disk::{NtfsVolume, gpt_disk, mbr_disk, ntfs_tools};
use ferret_testkit::{Tree, noise};

mod common;
use common::{entries_read, read_all_lenient};

fn tools() -> bool {
    ferret_testkit::require("ntfs-3g's mkntfs and ntfscp (Debian package ntfs-3g)", ntfs_tools())
}

fn text(n: usize) -> Vec<u8> {
    b"<%@ Page Language=\"C#\" %> <script runat=\"server\">void Page_Load() {}</script>\r\n"
        .iter()
        .copied()
        .cycle()
        .take(n)
        .collect()
}

/// The files of `src` by path, their contents read through the source.
fn read_all(src: &dyn Source, sink: &dyn ferret_core::Sink) -> BTreeMap<String, (Entry, Vec<u8>)> {
    let mut all = entries_read(src, sink);
    all.retain(|_, (e, _)| e.kind == EntryKind::File);
    all
}

fn volume(
    t: &Tree,
    name: &str,
    compressed: bool,
) -> (std::path::PathBuf, BTreeMap<String, Vec<u8>>) {
    let path = t.path(name);
    let mut v = NtfsVolume::new(&path, 16, compressed);
    let mut expect = BTreeMap::new();
    let put =
        |v: &mut NtfsVolume, expect: &mut BTreeMap<String, Vec<u8>>, name: &str, data: Vec<u8>| {
            v.file(name, &data);
            expect.insert(format!("C:\\{name}"), data);
        };
    put(&mut v, &mut expect, "small.txt", b"resident data\n".to_vec());
    put(&mut v, &mut expect, "noise.bin", noise(300_000, 7));
    put(&mut v, &mut expect, "page.aspx", text(150_000));
    put(&mut v, &mut expect, "empty.txt", Vec::new());
    v.stream("page.aspx", "hidden.aspx", &text(5000));
    expect.insert("C:\\page.aspx:hidden.aspx".to_owned(), text(5000));
    // Enough named streams that the record overflows into an attribute list.
    put(&mut v, &mut expect, "many.txt", b"main".to_vec());
    for i in 0..60 {
        let data = format!("stream {i} ").repeat(20).into_bytes();
        v.stream("many.txt", &format!("s{i:02}"), &data);
        expect.insert(format!("C:\\many.txt:s{i:02}"), data);
    }
    (path, expect)
}

fn check_volume(src: &dyn Source, expect: &BTreeMap<String, Vec<u8>>) {
    let sink = Collector::default();
    let got = read_all(src, &sink);
    for (path, data) in expect {
        let Some((_, read)) = got.get(path) else {
            panic!("{path} not listed; listed: {:?}", got.keys().collect::<Vec<_>>())
        };
        assert!(read == data, "{path}: {} bytes read, {} written", read.len(), data.len());
    }
    let (_, problems, _, _) = sink.into_parts();
    assert!(problems.is_empty(), "{problems:?}");
    assert!(
        !got.keys().any(|k| k.contains("$MFT") || k.contains("$LogFile")),
        "metadata listed: {got:?}"
    );
}

#[test]
fn bare_volume_files_streams_and_attribute_lists_read_back() {
    if !tools() {
        return;
    }
    let t = Tree::new();
    let (path, expect) = volume(&t, "vol.img", false);
    let opened = open_image(&path).unwrap();
    assert!(opened.problems.is_empty(), "{:?}", opened.problems);
    assert_eq!(opened.sources.len(), 1);
    check_volume(&*opened.sources[0], &expect);
    let sink = Collector::default();
    let got = read_all(&*opened.sources[0], &sink);
    let (e, _) = &got["C:\\page.aspx:hidden.aspx"];
    let p: &Provenance = e.provenance.as_deref().unwrap();
    assert_eq!(p.stream.as_deref(), Some("hidden.aspx"));
    assert_eq!(p.filesystem, "ntfs");
    assert_eq!(p.partition, None);
    assert!(p.record.unwrap() >= 24);
    assert!(p.standard_information.as_ref().unwrap().modified.is_some());
    assert!(p.file_name.as_ref().unwrap().created.is_some());
}

#[test]
fn compressed_files_are_decompressed() {
    if !tools() {
        return;
    }
    let t = Tree::new();
    let (path, expect) = volume(&t, "vol.img", true);
    let opened = open_image(&path).unwrap();
    check_volume(&*opened.sources[0], &expect);
    // The volume really holds compressed data: the file takes less room than its size.
    let raw = std::fs::read(&path).unwrap();
    let needle = &text(150_000)[..4096];
    assert!(
        raw.windows(needle.len()).all(|w| w != needle),
        "page.aspx is stored compressed, so its first 4 KiB never appear verbatim"
    );
}

#[test]
fn gpt_and_mbr_disks_give_partition_provenance() {
    if !tools() {
        return;
    }
    let t = Tree::new();
    let (vol, expect) = volume(&t, "vol.img", false);
    let gpt = t.path("gpt.img");
    gpt_disk(&gpt, &[&vol], true);
    let opened = open_image(&gpt).unwrap();
    assert!(opened.problems.is_empty(), "{:?}", opened.problems);
    assert_eq!(opened.sources.len(), 1);
    assert!(
        opened.notes.iter().any(|n| n.contains("partition 1") && n.contains("no file system")),
        "{:?}",
        opened.notes
    );
    assert!(
        opened.sources[0].describe().contains("partition 2 (gpt)"),
        "{}",
        opened.sources[0].describe()
    );
    check_volume(&*opened.sources[0], &expect);

    let mbr = t.path("mbr.img");
    mbr_disk(&mbr, &[&vol, &vol]);
    let opened = open_image(&mbr).unwrap();
    assert_eq!(opened.sources.len(), 2, "{:?}", opened.problems);
    let sink = Collector::default();
    let second = read_all(&*opened.sources[1], &sink);
    assert!(second.contains_key("D:\\small.txt"), "the second volume is D: {:?}", second.keys());
    let p = second["D:\\small.txt"].0.provenance.clone().unwrap();
    assert_eq!((p.partition, p.partition_table.as_deref()), (Some(2), Some("mbr")));
}

#[test]
fn unsupported_truncated_and_damaged_images_are_problems() {
    if !tools() {
        return;
    }
    let t = Tree::new();
    let (vol, _) = volume(&t, "vol.img", false);
    // A partition with nothing but an ext4 superblock's magic (a damaged ext4) and one of
    // zeros.
    let ext = t.path("ext.img");
    let mut data = vec![0u8; 2 << 20];
    data[1024 + 56..1024 + 58].copy_from_slice(&0xEF53u16.to_le_bytes());
    std::fs::write(&ext, &data).unwrap();
    let zeros = t.path("zeros.img");
    std::fs::write(&zeros, vec![0u8; 1 << 20]).unwrap();
    let disk = t.path("disk.img");
    gpt_disk(&disk, &[&ext, &zeros, &vol], false);
    let opened = open_image(&disk).unwrap();
    assert_eq!(opened.sources.len(), 1);
    let reasons: Vec<String> = opened
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.position.clone().unwrap_or_default(), p.reason))
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("partition 1")
            && r.contains("ext2/3/4 file system cannot be read: superblock")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("partition 2") && r.contains("no file system")),
        "{reasons:?}"
    );
    assert!(opened.problems.iter().all(|p| p.path.as_ref().unwrap().lossy().ends_with("disk.img")));

    // The same disk cut short in the middle of the NTFS partition.
    let whole = std::fs::read(&disk).unwrap();
    let cut = t.path("cut.img");
    std::fs::write(&cut, &whole[..whole.len() - (10 << 20)]).unwrap();
    let opened = open_image(&cut).unwrap();
    assert!(
        opened.problems.iter().any(|p| p.reason.contains("truncated")),
        "{:?}",
        opened.problems
    );
    for src in &opened.sources {
        let sink = Collector::default();
        read_all_lenient(&**src, &sink);
    }

    // Not an image at all.
    let txt = t.file("notes.txt", "just text\n");
    assert!(open_image(&txt).is_err());
    assert_eq!(ferret_evidence::sniff(&txt), None);
}

#[test]
fn corrupted_volumes_never_panic_or_hang() {
    if !tools() {
        return;
    }
    let t = Tree::new();
    let (vol, _) = volume(&t, "vol.img", true);
    let clean = std::fs::read(&vol).unwrap();
    // Where the MFT lies: mutate its records (and the boot sector in some rounds).
    let cluster = u64::from(u16::from_le_bytes([clean[11], clean[12]])) * u64::from(clean[13]);
    let mft = (u64::from_le_bytes(clean[0x30..0x38].try_into().unwrap()) * cluster) as usize;
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..60 {
        let mut img = clean.clone();
        let span = if round % 10 == 0 { 512 } else { 100 * 1024 };
        let base = if round % 10 == 0 { 0 } else { mft };
        for _ in 0..=(round * 3) {
            let at = base + (next() as usize % span);
            let bit = next() as u8;
            if let Some(b) = img.get_mut(at) {
                *b ^= bit | 1;
            }
        }
        let dev: Arc<dyn ferret_evidence::ReadAt> = Arc::new(img);
        let Ok(src) = NtfsSource::open(
            dev,
            Provenance { container: format!("round {round}"), ..Provenance::default() },
        ) else {
            continue;
        };
        let sink = Collector::default();
        read_all_lenient(&src, &sink);
        sink.problem(ferret_core::Problem::general(ferret_core::ProblemKind::Other, "done"));
    }
}

#[test]
fn an_image_named_like_its_content_is_sniffed_not_by_name() {
    if !tools() {
        return;
    }
    let t = Tree::new();
    let (vol, _) = volume(&t, "evidence.dat", false);
    assert_eq!(ferret_evidence::sniff(&vol), Some(ferret_evidence::Sniffed::Volume("ntfs")));
    let gpt = t.path("disk.bin");
    gpt_disk(&gpt, &[Path::new(&vol)], false);
    assert_eq!(ferret_evidence::sniff(&gpt), Some(ferret_evidence::Sniffed::Gpt));
}

#[test]
fn every_container_reads_back_the_same_files_and_qcow2_is_a_named_problem() {
    if !tools() || !ferret_testkit::require("qemu-img (Debian package qemu-utils)", qemu_img()) {
        return;
    }
    let t = Tree::new();
    let (vol, expect) = volume(&t, "vol.img", false);
    let raw = t.path("disk.img");
    gpt_disk(&raw, &[&vol], false);
    let convert = |format: &str, options: &[&str], out: &str| {
        let out = t.path(out);
        let status = std::process::Command::new("qemu-img")
            .args(["convert", "-f", "raw", "-O", format])
            .args(options)
            .arg(&raw)
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success(), "qemu-img convert -O {format}");
        out
    };
    let raw_bytes = std::fs::read(&raw).unwrap();
    for (format, options, name, kind) in [
        ("vpc", &["-o", "subformat=fixed"][..], "fixed.vhd", "vhd-fixed"),
        ("vpc", &["-o", "subformat=dynamic"][..], "dynamic.vhd", "vhd-dynamic"),
        ("vhdx", &["-o", "subformat=dynamic"][..], "dynamic.vhdx", "vhdx-dynamic"),
        ("vhdx", &["-o", "subformat=fixed"][..], "fixed.vhdx", "vhdx-fixed"),
        ("vhdx", &["-o", "subformat=dynamic,block_size=1M"][..], "small.vhdx", "vhdx-dynamic"),
        (
            "vmdk",
            &["-o", "subformat=monolithicSparse"][..],
            "sparse.vmdk",
            "vmdk-monolithic-sparse",
        ),
        ("vmdk", &["-o", "subformat=streamOptimized"][..], "stream.vmdk", "vmdk-stream-optimized"),
        ("vmdk", &["-o", "subformat=twoGbMaxExtentSparse"][..], "split.vmdk", "vmdk-split-sparse"),
        ("vmdk", &["-o", "subformat=monolithicFlat"][..], "flat.vmdk", "vmdk-monolithic-flat"),
        ("vmdk", &["-o", "subformat=twoGbMaxExtentFlat"][..], "splitflat.vmdk", "vmdk-split-flat"),
    ] {
        let image = convert(format, options, name);
        assert!(
            matches!(ferret_evidence::sniff(&image), Some(ferret_evidence::Sniffed::Container(_))),
            "{name}"
        );
        let opened = open_image(&image).unwrap_or_else(|p| panic!("{name}: {p:?}"));
        assert!(opened.problems.is_empty(), "{name}: {:?}", opened.problems);
        assert_eq!(opened.sources.len(), 1, "{name}");
        check_volume(&*opened.sources[0], &expect);
        let sink = Collector::default();
        let got = read_all(&*opened.sources[0], &sink);
        let p = got["C:\\small.txt"].0.provenance.clone().unwrap();
        assert_eq!(p.container_format, kind, "{name}");
        assert_eq!(p.container, image.to_string_lossy(), "{name}");
        assert!(opened.layout.starts_with(kind), "{name}: {}", opened.layout);
        // The whole virtual disk reads back as the raw disk it was made from (and zeros
        // where the container rounded its size up).
        let (disk, format) = ferret_evidence::open_disk(&image).unwrap();
        assert_eq!(format, kind);
        assert!(disk.size() >= raw_bytes.len() as u64, "{name}: {}", disk.size());
        let mut all = vec![0u8; disk.size() as usize];
        ferret_evidence::read_exact_at(&*disk, &mut all, 0).unwrap();
        assert!(all[..raw_bytes.len()] == raw_bytes[..], "{name}: the disk reads back changed");
        assert!(all[raw_bytes.len()..].iter().all(|b| *b == 0), "{name}");
        let v = ferret_evidence::verify_container(&image).unwrap();
        assert_eq!(v.format, kind);
        assert!(v.matched.is_empty(), "{name} stores no checksum");
    }

    let image = convert("qcow2", &[], "disk.qcow2");
    let Err(problem) = open_image(&image) else { panic!("qcow2 opened") };
    assert!(problem.reason.contains("QCOW2"), "{problem:?}");
    assert!(problem.reason.contains("does not read yet"), "{problem:?}");
}

#[test]
fn containers_with_random_bytes_flipped_never_panic() {
    if !tools() || !ferret_testkit::require("qemu-img (Debian package qemu-utils)", qemu_img()) {
        return;
    }
    let t = Tree::new();
    let vol = t.path("vol.img");
    NtfsVolume::new(&vol, 8, false).file("a.txt", b"some text\n").file("b.bin", &noise(100_000, 3));
    let raw = t.path("disk.img");
    gpt_disk(&raw, &[&vol], false);
    let mut images = Vec::new();
    for (format, sub, name) in [
        ("vpc", "dynamic", "d.vhd"),
        ("vhdx", "dynamic", "d.vhdx"),
        ("vmdk", "monolithicSparse", "s.vmdk"),
        ("vmdk", "streamOptimized", "o.vmdk"),
    ] {
        let out = t.path(name);
        let status = std::process::Command::new("qemu-img")
            .args(["convert", "-f", "raw", "-O", format, "-o"])
            .arg(format!("subformat={sub}"))
            .arg(&raw)
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success());
        images.push(out);
    }
    if std::process::Command::new("ewfacquire").arg("-V").output().is_ok() {
        let out = std::process::Command::new("ewfacquire")
            .args(["-u", "-q", "-S", "1MiB", "-c", "deflate:fast", "-t"])
            .arg(t.path("e"))
            .arg(&raw)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success());
        images.push(t.path("e.E01"));
    }
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for image in &images {
        let original = std::fs::read(image).unwrap();
        for round in 0..12 {
            let mut data = original.clone();
            // Most flips where the tables lie (the first 4 MiB), the rest anywhere.
            for i in 0..24 {
                let span = if i % 3 == 0 { data.len() } else { data.len().min(4 << 20) };
                let at = (next() as usize) % span;
                data[at] ^= (next() as u8) | 1;
            }
            if round % 4 == 3 {
                data.truncate((next() as usize) % data.len());
            }
            let bad = image.with_extension(format!("bad{round}"));
            std::fs::write(&bad, &data).unwrap();
            // E01 segments are found by name: mutate the first in place of the original.
            let target = if image.extension().is_some_and(|e| e == "E01") {
                std::fs::write(image, &data).unwrap();
                image.clone()
            } else {
                bad
            };
            if let Ok((disk, _)) = ferret_evidence::open_disk(&target) {
                let mut buf = vec![0u8; 1 << 16];
                for k in 0..16 {
                    let _ = disk.read_at(&mut buf, disk.size() / 16 * k);
                }
            }
            if let Ok(opened) = open_image(&target) {
                for src in &opened.sources {
                    let sink = Collector::default();
                    read_all_lenient(&**src, &sink);
                }
            }
            let _ = ferret_evidence::verify_container(&target);
        }
        std::fs::write(image, &original).unwrap();
    }
}

fn qemu_img() -> bool {
    std::process::Command::new("qemu-img").arg("--version").output().is_ok()
}
