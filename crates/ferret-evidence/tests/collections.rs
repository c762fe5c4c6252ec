//! Collections read in place: members of zip, tar and tar.gz archives listed and read with
//! the path the host knew; random and mangled bytes never panic the readers.
#![allow(clippy::disallowed_methods, reason = "tests write their own temporary fixtures")]

use std::io::{Read, Seek as _};

use ferret_core::{Cancel, Collector};
use ferret_evidence::collection::Layout;
use ferret_evidence::{EntryKind, Limits, Source, open_collection};
use ferret_testkit::Tree;
use ferret_testkit::archive::{ZipWriter, gzip, tar, zip};
use proptest::prelude::*;

/// Lists a collection and reads every file entry: (path, data, member) per file.
fn read_all(path: &std::path::Path) -> (Vec<(String, Vec<u8>, String)>, Collector) {
    let sink = Collector::default();
    let Ok(c) = open_collection(path, Limits::default()) else { return (Vec::new(), sink) };
    let mut files = Vec::new();
    c.entries(&sink, &Cancel::default(), &mut |e| {
        if e.kind == EntryKind::File {
            files.push(e);
        }
    });
    let mut out = Vec::new();
    for e in files {
        let mut data = Vec::new();
        if let Ok(mut r) = c.open(&e) {
            let _ = r.by_ref().take(1 << 20).read_to_end(&mut data);
        }
        let member = e.provenance.as_ref().and_then(|p| p.member.clone()).unwrap_or_default();
        out.push((e.path.lossy().into_owned(), data, member));
    }
    (out, sink)
}

#[test]
fn zip_tar_and_tar_gz_members_are_read_in_place() {
    let t = Tree::new();
    let long = format!("{}/deep.txt", "d".repeat(120));
    let members: Vec<(&str, &[u8])> = vec![
        ("a/one.txt", &b"first member"[..]),
        ("b.bin", &[0u8, 1, 2, 3][..]),
        (long.as_str(), &b"long name"[..]),
    ];
    for (name, bytes) in [
        ("x.zip", zip(&members)),
        ("x.tar", tar(&members)),
        ("x.tar.gz", gzip(&tar(&members))),
        ("x.tgz", gzip(&tar(&[("a/one.txt", b"first member".as_slice())]))),
    ] {
        let p = t.file(name, bytes);
        let (files, sink) = read_all(&p);
        let (_, problems, _, _) = sink.into_parts();
        assert!(problems.is_empty(), "{name}: {problems:?}");
        assert_eq!(files[0].0, format!("{}/a/one.txt", p.display()), "{name}: under the archive");
        assert_eq!(files[0].2, "a/one.txt", "{name}: the member as stored");
        assert_eq!(files[0].1, b"first member", "{name}");
        if name != "x.tgz" {
            assert_eq!(files.len(), 3, "{name}");
            assert_eq!(files[2].2, long, "{name}: GNU long name");
            assert_eq!(files[2].1, b"long name");
        }
    }
    seeks_inside_stored_and_deflated_members(&t);
}

/// A stored member and a deflated one, read at an offset and again before it.
fn seeks_inside_stored_and_deflated_members(t: &Tree) {
    let mut zw = ZipWriter::new();
    let text: Vec<u8> = (0..100_000u32).flat_map(u32::to_le_bytes).collect();
    zw.add("stored", &text, false).add("deflated", &text, true);
    let path = t.file("seek.zip", zw.finish());
    let c = open_collection(&path, Limits::default()).unwrap();
    let mut entries = Vec::new();
    c.entries(&Collector::default(), &Cancel::default(), &mut |e| entries.push(e));
    assert_eq!(entries.len(), 2);
    for e in &entries {
        let mut r = c.open(e).unwrap();
        let mut word = [0u8; 4];
        r.seek(std::io::SeekFrom::Start(4 * 70_000)).unwrap();
        r.read_exact(&mut word).unwrap();
        assert_eq!(u32::from_le_bytes(word), 70_000);
        r.seek(std::io::SeekFrom::Start(4 * 3)).unwrap();
        r.read_exact(&mut word).unwrap();
        assert_eq!(u32::from_le_bytes(word), 3, "a seek backwards starts the member again");
    }
}

#[test]
fn collector_layouts_map_members_to_windows_paths() {
    let t = Tree::new();
    let mut z = ZipWriter::new();
    z.add("uploads/auto/C%3A/inetpub/wwwroot/a.aspx", b"x", true);
    z.add("uploads.json", b"{}", true);
    let p = t.file("velo.zip", z.finish());
    let c = open_collection(&p, Limits::default()).unwrap();
    assert_eq!(c.layout(), Layout::Velociraptor);
    let (files, _) = read_all(&p);
    assert_eq!(files.len(), 1, "uploads.json is the collector's");
    assert_eq!(files[0].0, r"C:\inetpub\wwwroot\a.aspx");
    assert_eq!(files[0].2, "uploads/auto/C%3A/inetpub/wwwroot/a.aspx");

    let p = t.file(
        "kape.tar",
        tar(&[("C/Windows/x.dll", b"MZ".as_slice()), ("D/data/y.txt", b"y".as_slice())]),
    );
    let (files, _) = read_all(&p);
    let paths: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(paths, [r"C:\Windows\x.dll", r"D:\data\y.txt"]);

    // An unpacked Velociraptor collection: the uploads under the host's paths, the
    // collector's files left out.
    t.file("vfolder/uploads/ntfs/%5C%5C.%5CC%3A/Windows/Temp/a%20b.txt", "a");
    t.file("vfolder/uploads.json", "{}");
    t.file("vfolder/results/Generic.Client.Info.json", "{}");
    let (files, _) = read_all(&t.path("vfolder"));
    let paths: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(paths, [r"C:\Windows\Temp\a b.txt"]);

    t.file("kfolder/C/Users/u/n.txt", "n");
    t.file("kfolder/CopyLog.csv", "log");
    let (files, _) = read_all(&t.path("kfolder"));
    let mut paths: Vec<String> = files.iter().map(|f| f.0.clone()).collect();
    paths.sort();
    assert!(paths.iter().any(|p| p == r"C:\Users\u\n.txt"), "{paths:?}");
    assert!(
        paths.iter().any(|p| p.ends_with("kfolder/CopyLog.csv")),
        "the log keeps its path: {paths:?}"
    );
    assert_eq!(paths.len(), 2, "{paths:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random bytes behind each archive's magic never panic listing or reading.
    #[test]
    fn random_bytes_never_panic(
        kind in 0usize..3,
        body in proptest::collection::vec(any::<u8>(), 0..4096),
    ) {
        let t = Tree::new();
        let mut bytes = match kind {
            0 => b"PK\x03\x04".to_vec(),
            1 => tar(&[("a", b"b".as_slice())])[..512].to_vec(),
            _ => vec![0x1f, 0x8b, 0x08],
        };
        bytes.extend_from_slice(&body);
        let p = t.file("r.bin", bytes);
        let _ = read_all(&p);
    }

    /// Archives with bytes flipped and cut never panic listing or reading.
    #[test]
    fn mangled_archives_never_panic(
        kind in 0usize..3,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..16),
        cut in any::<usize>(),
    ) {
        let members: Vec<(&str, &[u8])> =
            vec![("uploads/auto/C%3A/a.txt", &b"alpha alpha alpha"[..]), ("uploads.json", &b"{}"[..]), ("b", &[7u8; 3000][..])];
        let mut bytes = match kind {
            0 => zip(&members),
            1 => tar(&members),
            _ => gzip(&tar(&members)),
        };
        let n = bytes.len();
        for (at, v) in flips {
            bytes[at % n] ^= v;
        }
        bytes.truncate(cut % (n + 1));
        let t = Tree::new();
        let p = t.file("m.bin", bytes);
        let _ = read_all(&p);
    }

    /// Member-name decoding never panics.
    #[test]
    fn names_never_panic(name in ".{0,200}") {
        let _ = ferret_evidence::collection::velociraptor_path(&name);
        let _ = ferret_evidence::collection::name_issue(name.as_bytes());
        let _ = ferret_evidence::collection::map_member(Layout::Kape, &name);
    }
}

/// The fuzz target's seeds (`fuzz/seeds/evidence_collection/`) list and read without a panic,
/// and the well-formed ones give members.
#[test]
fn fuzz_seeds_are_read() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/seeds/evidence_collection");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let (files, _) = read_all(&p);
        assert!(!files.is_empty(), "{}", p.display());
        n += 1;
    }
    assert!(n >= 4, "seeds missing from {}", dir.display());
}
