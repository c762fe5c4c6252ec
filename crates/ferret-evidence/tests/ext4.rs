//! ext2, ext3 and ext4 volumes made by e2fsprogs' `mke2fs -d` at test time (no root, no
//! mount), bare and inside GPT and MBR disks: every file read back as written under the path
//! the Linux host knew, links and special files listed and never read, inline data, and
//! damaged volumes (flipped bytes, a cut image, a lying inode size, a directory loop) as
//! problems, never panics.
#![allow(clippy::disallowed_methods, reason = "tests write their own temporary fixtures")]
#![allow(
    clippy::cast_possible_truncation,
    reason = "pseudo-random bytes and offsets in small images"
)]

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;

use ferret_core::{Collector, Provenance};
use ferret_evidence::ext4::Ext4Source;
use ferret_evidence::{EntryKind, ReadAt, Source, open_image};
use ferret_testkit::disk::{e2fs_tools, ext_volume, gpt_disk, mbr_disk};
use ferret_testkit::{Tree, noise};

mod common;
use common::{entries_read, read_all_lenient};

fn tools() -> bool {
    ferret_testkit::require("e2fsprogs' mke2fs (Debian package e2fsprogs)", e2fs_tools())
}

/// A small Linux host's tree under `t/tree`: regular files (one spanning indirect blocks on
/// ext2, one with a hole), a symbolic link to a secret outside the web root, a FIFO. Returns
/// the folder and the regular files by their path on the host.
fn linux_tree(t: &Tree) -> (PathBuf, BTreeMap<String, Vec<u8>>) {
    let mut files = BTreeMap::new();
    let mut add = |p: &str, data: Vec<u8>| {
        t.file(format!("tree{p}"), &data);
        files.insert(p.to_owned(), data);
    };
    add("/etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n".to_vec());
    add("/etc/shadow", b"root:$6$not-a-real-hash:19000:0:99999:7:::\n".to_vec());
    add("/var/www/html/index.php", b"<?php echo 'hello'; ?>\n".to_vec());
    add("/var/www/html/big.bin", noise(300_000, 7));
    add("/home/admin/notes with spaces.txt", b"remember the milk\n".to_vec());
    add("/home/admin/empty", Vec::new());
    for i in 0..40 {
        add(&format!("/srv/many/file-{i:03}.txt"), format!("file {i}\n").into_bytes());
    }
    let root = t.root().join("tree");
    std::os::unix::fs::symlink("/etc/shadow", root.join("var/www/html/shadow-link")).unwrap();
    let fifo = root.join("run/ctl.fifo");
    std::fs::create_dir_all(fifo.parent().unwrap()).unwrap();
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    // A sparse file: 1 MiB of hole, then data.
    let sparse = root.join("var/lib/sparse.db");
    std::fs::create_dir_all(sparse.parent().unwrap()).unwrap();
    let mut f = std::fs::File::create(&sparse).unwrap();
    f.seek(SeekFrom::Start(1 << 20)).unwrap();
    std::io::Write::write_all(&mut f, b"tail").unwrap();
    let mut data = vec![0u8; 1 << 20];
    data.extend_from_slice(b"tail");
    files.insert("/var/lib/sparse.db".to_owned(), data);
    (root, files)
}

fn problems(sink: Collector) -> Vec<ferret_core::Problem> {
    sink.into_parts().1
}

fn check_tree(src: &dyn Source, files: &BTreeMap<String, Vec<u8>>, fs: &str) {
    let sink = Collector::default();
    let got = entries_read(src, &sink);
    let problems = problems(sink);
    assert!(problems.is_empty(), "{problems:?}");
    for (path, data) in files {
        let (e, read) = got.get(path).unwrap_or_else(|| panic!("{path} missing: {:?}", got.keys()));
        assert_eq!(e.kind, EntryKind::File, "{path}");
        assert_eq!(e.size, data.len() as u64, "{path}");
        assert!(read == data, "{path}: content differs");
        let p = e.provenance.as_ref().unwrap();
        assert_eq!(p.filesystem, fs);
        assert!(p.record.unwrap() >= 11, "{p:?}");
        assert!(p.times.as_ref().unwrap().modified.is_some(), "{p:?}");
    }
    let (link, _) = &got["/var/www/html/shadow-link"];
    assert_eq!(link.kind, EntryKind::Symlink);
    assert_eq!(link.size, "/etc/shadow".len() as u64, "the target's length, not its data");
    assert!(src.open(link).is_err(), "a link is never read or followed");
    let (fifo, _) = &got["/run/ctl.fifo"];
    assert_eq!(fifo.kind, EntryKind::Special(ferret_fs::EntryKind::Fifo));
    assert!(src.open(fifo).is_err(), "a FIFO is never opened");
    assert_eq!(got["/var/www/html"].0.kind, EntryKind::Dir);
    assert_eq!(got.keys().filter(|k| k.starts_with("/srv/many/")).count(), 40);
    // Seeking inside a file reads the same bytes as reading through.
    let (big, data) = &got["/var/www/html/big.bin"];
    let mut r = src.open(big).unwrap();
    r.seek(SeekFrom::Start(123_457)).unwrap();
    let mut piece = vec![0u8; 5000];
    r.read_exact(&mut piece).unwrap();
    assert_eq!(piece, data[123_457..128_457]);
}

#[test]
fn ext4_ext3_and_ext2_volumes_read_back_under_linux_paths() {
    if !tools() {
        return;
    }
    let t = Tree::new();
    let (root, files) = linux_tree(&t);
    for (kind, extra) in [
        ("ext4", &[][..]),
        ("ext4", &["-b", "4096"][..]),
        ("ext3", &[][..]),
        ("ext2", &[][..]),
        ("ext2", &["-b", "4096", "-I", "128"][..]),
    ] {
        let vol = t.path(format!("{kind}-{}.img", extra.len()));
        ext_volume(&vol, kind, &root, 16, extra);
        let dev: Arc<dyn ReadAt> = Arc::new(ferret_evidence::ImageFile::open(&vol).unwrap());
        let (src, checked) = Ext4Source::open(dev, Provenance::default()).unwrap();
        assert!(checked.problems.is_empty() && checked.notes.is_empty(), "{checked:?}");
        assert_eq!(src.filesystem(), kind);
        check_tree(&src, &files, kind);
        if kind == "ext4" {
            let sink = Collector::default();
            let got = entries_read(&src, &sink);
            let times = got["/etc/passwd"].0.provenance.as_ref().unwrap().times.clone().unwrap();
            assert!(times.created.is_some(), "256-byte inodes keep crtime: {times:?}");
        }
    }
}

#[test]
fn inline_data_files_and_folders_read_back() {
    if !tools() {
        return;
    }
    let t = Tree::new();
    let mut files = BTreeMap::new();
    let mut add = |p: &str, data: Vec<u8>| {
        t.file(format!("tree{p}"), &data);
        files.insert(p.to_owned(), data);
    };
    add("/tiny.txt", b"short".to_vec());
    add("/in-xattr.txt", b"x".repeat(100));
    add("/d/e/deep.txt", b"a file in folders kept inline".to_vec());
    add("/blocks.bin", noise(9000, 3));
    let vol = t.path("inline.img");
    ext_volume(&vol, "ext4", &t.root().join("tree"), 8, &["-O", "inline_data", "-I", "256"]);
    let dev: Arc<dyn ReadAt> = Arc::new(ferret_evidence::ImageFile::open(&vol).unwrap());
    let (src, _) = Ext4Source::open(dev, Provenance::default()).unwrap();
    let sink = Collector::default();
    let got = entries_read(&src, &sink);
    let problems = problems(sink);
    assert!(problems.is_empty(), "{problems:?}");
    for (path, data) in &files {
        let (_, read) = got.get(path).unwrap_or_else(|| panic!("{path}: {:?}", got.keys()));
        assert!(read == data, "{path}: {read:?}");
    }
}

#[test]
fn gpt_and_mbr_disks_and_a_bare_volume_give_partition_provenance() {
    if !tools() {
        return;
    }
    let t = Tree::new();
    let (root, files) = linux_tree(&t);
    let vol = t.path("vol.img");
    ext_volume(&vol, "ext4", &root, 16, &[]);
    let gpt = t.path("gpt.img");
    gpt_disk(&gpt, &[&vol], true);
    let mbr = t.path("mbr.img");
    mbr_disk(&mbr, &[&vol]);
    for (image, table, part) in
        [(&gpt, Some("gpt"), Some(2)), (&mbr, Some("mbr"), Some(1)), (&vol, None, None)]
    {
        assert!(ferret_evidence::is_evidence(image), "{}", image.display());
        let opened = open_image(image).unwrap();
        assert!(opened.problems.is_empty(), "{:?}", opened.problems);
        assert_eq!(opened.sources.len(), 1, "{}", opened.layout);
        let src = &opened.sources[0];
        check_tree(&**src, &files, "ext4");
        let sink = Collector::default();
        let got = entries_read(&**src, &sink);
        let p = got["/etc/passwd"].0.provenance.clone().unwrap();
        assert_eq!(p.container, image.to_string_lossy());
        assert_eq!(p.partition_table.as_deref(), table);
        assert_eq!(p.partition, part);
        let place = p.describe();
        assert!(place.contains(", ext4, inode "), "{place}");
    }
}

/// Where the first bytes of `needle` lie in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).position(|w| w == needle).expect("needle in the image")
}

fn open_bytes(img: Vec<u8>) -> Result<Ext4Source, ferret_evidence::ext4::Ext4Error> {
    let dev: Arc<dyn ReadAt> = Arc::new(img);
    Ext4Source::open(dev, Provenance { container: "test".into(), ..Provenance::default() })
        .map(|(s, _)| s)
}

#[test]
fn a_lying_superblock_a_cut_image_and_a_folder_loop_are_problems() {
    if !tools() {
        return;
    }
    let t = Tree::new();
    t.file("tree/loopdir/inside.txt", "inside\n");
    t.file("tree/www/index.html", "<html></html>\n");
    let vol = t.path("vol.img");
    ext_volume(&vol, "ext2", &t.root().join("tree"), 8, &[]);
    let clean = std::fs::read(&vol).unwrap();

    // An inode size that is not a power of two, and one larger than the block.
    for lie in [100u16, 8192] {
        let mut img = clean.clone();
        img[1024 + 0x58..1024 + 0x5A].copy_from_slice(&lie.to_le_bytes());
        let err = open_bytes(img).err().expect("a lying inode size is refused");
        assert!(err.to_string().contains("inode size"), "{err}");
    }
    // A block count that puts the group descriptors past the end.
    let mut img = clean.clone();
    img[1024 + 0x04..1024 + 0x08].copy_from_slice(&u32::MAX.to_le_bytes());
    img[1024 + 0x20..1024 + 0x24].copy_from_slice(&8u32.to_le_bytes());
    let err = open_bytes(img).err().expect("too many groups");
    assert!(err.to_string().contains("group"), "{err}");
    // A feature this reader does not follow is named.
    let mut img = clean.clone();
    img[1024 + 0x60] |= 0x10;
    let err = open_bytes(img).err().expect("meta_bg refused");
    assert!(err.to_string().contains("meta_bg"), "{err}");

    // A folder entry pointing back at the root: listed once, not entered again.
    let mut img = clean.clone();
    let at = find(&img, b"\x07\x02loopdir") - 6;
    img[at..at + 4].copy_from_slice(&2u32.to_le_bytes());
    let src = open_bytes(img).unwrap();
    let sink = Collector::default();
    read_all_lenient(&src, &sink);
    let problems = problems(sink);
    assert!(problems.iter().any(|p| p.reason.contains("a loop")), "{problems:?}");

    // The image cut short: the volume says so, reading what is there goes on.
    let cut = t.path("cut.img");
    std::fs::write(&cut, &clean[..clean.len() / 2]).unwrap();
    let opened = open_image(&cut).unwrap();
    assert!(
        opened.problems.iter().any(|p| p.reason.contains("the file system has")),
        "{:?}",
        opened.problems
    );
    let sink = Collector::default();
    for src in &opened.sources {
        read_all_lenient(&**src, &sink);
    }
    // Cut inside the group descriptors: nothing to read, a problem naming why.
    let tiny = t.path("tiny.img");
    std::fs::write(&tiny, &clean[..2048]).unwrap();
    let err = open_image(&tiny).map_or_else(|p| vec![p], |o| o.problems);
    assert!(!err.is_empty());
    assert!(err.iter().all(|p| p.path.as_ref().unwrap().lossy().ends_with("tiny.img")), "{err:?}");
}

#[test]
fn flipped_bytes_in_superblock_descriptors_and_inode_tables_never_panic_or_hang() {
    if !tools() {
        return;
    }
    let t = Tree::new();
    let (root, _) = linux_tree(&t);
    for (kind, extra) in
        [("ext4", &[][..]), ("ext2", &[][..]), ("ext4", &["-O", "inline_data"][..])]
    {
        let vol = t.path(format!("{kind}-{}.img", extra.len()));
        ext_volume(&vol, kind, &root, 8, extra);
        let clean = std::fs::read(&vol).unwrap();
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..60usize {
            let mut img = clean.clone();
            // The superblock alone in some rounds; else the first 512 KiB (descriptors,
            // bitmaps, inode tables and the first folders).
            let (base, span) = if round % 6 == 0 { (1024, 1024) } else { (1024, 512 * 1024) };
            for _ in 0..=(round * 4) {
                let at = base + (next() as usize % span);
                let bit = next() as u8;
                if let Some(b) = img.get_mut(at) {
                    *b ^= bit | 1;
                }
            }
            let Ok(src) = open_bytes(img) else { continue };
            let sink = Collector::default();
            read_all_lenient(&src, &sink);
        }
    }
}

#[test]
fn an_encrypted_inode_is_listed_unreadable() {
    if !tools() {
        return;
    }
    let t = Tree::new();
    t.file("tree/secret/key.txt", "ciphertext stands in here\n");
    t.file("tree/plain.txt", "plain\n");
    let vol = t.path("vol.img");
    ext_volume(&vol, "ext4", &t.root().join("tree"), 8, &[]);
    let mut img = std::fs::read(&vol).unwrap();
    // Mark the file's and the folder's inodes encrypted (EXT4_ENCRYPT_FL), as fscrypt does;
    // the volume has no metadata checksums checked by this reader.
    let dev: Arc<dyn ReadAt> = Arc::new(img.clone());
    let (src, _) = Ext4Source::open(dev, Provenance::default()).unwrap();
    let sink = Collector::default();
    let got = entries_read(&src, &sink);
    let key = got["/secret/key.txt"].0.provenance.as_ref().unwrap().record.unwrap();
    let plain = got["/plain.txt"].0.provenance.as_ref().unwrap().record.unwrap();
    let folder = got["/secret"].0.provenance.as_ref().unwrap().record.unwrap();
    // Group 0's inode table (the first group descriptor follows the superblock's block).
    let block = 1024usize << img[1024 + 0x18];
    let desc = if block == 1024 { 2048 } else { block };
    let table = u32::from_le_bytes(img[desc + 8..desc + 12].try_into().unwrap()) as usize;
    let size = u16::from_le_bytes([img[1024 + 0x58], img[1024 + 0x59]]) as usize;
    let inode_at = |n: u64| table * block + (n as usize - 1) * size;
    for n in [key, plain, folder] {
        let at = inode_at(n) + 0x20;
        let flags = u32::from_le_bytes(img[at..at + 4].try_into().unwrap()) | 0x800;
        img[at..at + 4].copy_from_slice(&flags.to_le_bytes());
    }
    let src = open_bytes(img).unwrap();
    let sink = Collector::default();
    let got = entries_read(&src, &sink);
    let (e, _) = &got["/plain.txt"];
    assert!(e.unreadable.as_deref().unwrap().contains("encrypted"), "{e:?}");
    assert!(src.open(e).is_err());
    assert!(!got.contains_key("/secret/key.txt"), "an encrypted folder's names are not listed");
    let problems = problems(sink);
    assert!(
        problems.iter().any(|p| p.path.as_ref().unwrap().lossy() == "/secret"
            && p.reason.contains("encrypted folder")),
        "{problems:?}"
    );
}
