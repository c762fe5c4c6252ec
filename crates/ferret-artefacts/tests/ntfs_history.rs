//! NTFS history: raw `$MFT`/`$J` files in a KAPE-like layout (written by the testkit's
//! writers), an NTFS image made by mkntfs/ntfscp whose file record is then marked deleted,
//! file-name indicators matched against both, and hostile files.

use std::path::Path;

use ferret_artefacts::ArtefactOptions;
use ferret_artefacts::ntfs::{self, Change, HistoryCounts, HistoryKind, Reader, VolumeFiles};
use ferret_core::{Collector, Engine, ProblemKind};
use ferret_fs::WalkOptions;
use ferret_ioc::{IocFormat, IocSet};
use ferret_testkit::Tree;
use ferret_testkit::ntfs_history::{
    ARCHIVE, CLOSE, FILE_CREATE, FILE_DELETE, Record, Usn, filetime, folders, journal, kape_layout,
    mft,
};

/// A tool name for the indicator, assembled at run time.
fn tool() -> String {
    ["ev", "il_", "tool", ".exe"].concat()
}

fn iocs() -> IocSet {
    let mut iocs = IocSet::new();
    let mut problems = Vec::new();
    iocs.load(IocFormat::LokiFilename, "names.txt", "(?i)\\\\evil_tool\\.exe;80\n", &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    iocs
}

fn usn(file: u64, parent: u64, time: u64, reason: u32, name: &str) -> Usn {
    Usn {
        file,
        file_seq: 2,
        parent,
        parent_seq: 1,
        time,
        reason,
        attributes: ARCHIVE,
        name: name.into(),
    }
}

fn examine(
    root: &Path,
) -> (Vec<ferret_core::Finding>, Vec<ferret_core::Problem>, ferret_artefacts::examine::Counts) {
    let c = Collector::new();
    let counts = ferret_artefacts::examine(
        &ArtefactOptions {
            walk: WalkOptions { roots: vec![root.to_path_buf()], ..WalkOptions::default() },
        },
        &iocs(),
        &c,
    )
    .unwrap();
    let (f, p, _, _) = c.into_parts();
    (f, p, counts)
}

#[test]
fn raw_kape_files_are_found_by_content_and_matched() {
    let t = Tree::new();
    let (mut recs, tools) = folders("ProgramData/tools", 40, filetime(2021, 1, 1, 0, 0, 0));
    recs.push(Record {
        number: 50,
        seq: 2,
        in_use: false,
        dir: false,
        parent: (tools, 1),
        name: "old.txt".into(),
        si: (filetime(2021, 1, 2, 0, 0, 0), filetime(2021, 1, 2, 0, 0, 0)),
        fname: (filetime(2021, 1, 2, 0, 0, 0), filetime(2021, 1, 2, 0, 0, 0)),
    });
    let name = tool();
    let j = journal(
        2 * 4096,
        &[
            usn(51, tools, filetime(2021, 3, 3, 1, 0, 0), FILE_CREATE, &name),
            usn(51, tools, filetime(2021, 3, 3, 1, 0, 1), FILE_CREATE | CLOSE, &name),
            usn(51, tools, filetime(2021, 3, 5, 0, 0, 0), FILE_DELETE | CLOSE, &name),
        ],
    );
    let (m, jp) = kape_layout(&t, Some(&mft(&recs)), Some(&j));
    // Recognised by content, whatever the name: a copy of the $MFT under another name.
    t.file("elsewhere/mft.bin", mft(&recs));
    let (findings, problems, counts) = examine(t.root());
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(counts.history.mft_read, 2);
    assert_eq!(counts.history.journals_read, 1);
    assert_eq!(counts.history.journal_records, 3);
    assert_eq!(counts.history.mft_deleted, 2);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let f = &findings[0];
    assert_eq!(f.engine, Engine::Artefact);
    assert_eq!(f.path.as_ref().unwrap().lossy(), jp.unwrap().to_string_lossy());
    let msg = f.message.as_deref().unwrap();
    assert!(msg.contains(&format!(r"C:\ProgramData\tools\{name}")), "{msg}");
    assert!(
        msg.contains("created 2021-03-03T01:00:00") && msg.contains("deleted 2021-03-05"),
        "{msg}"
    );
    assert!(msg.contains("need not exist"), "{msg}");
    assert!(m.is_some());
}

#[test]
fn changes_carry_both_time_sets_and_partial_paths() {
    let t = Tree::new();
    let (mut recs, dir) = folders("inetpub/wwwroot", 30, filetime(2020, 1, 1, 0, 0, 0));
    recs.push(Record {
        number: 45,
        seq: 4,
        in_use: false,
        dir: false,
        parent: (dir, 1),
        name: "gone.aspx".into(),
        si: (filetime(2019, 1, 1, 0, 0, 0), filetime(2019, 1, 1, 0, 0, 0)),
        fname: (filetime(2021, 3, 3, 0, 0, 0), filetime(2021, 3, 3, 0, 0, 0)),
    });
    // A record whose parent is gone, and two folders that are each other's parent.
    recs.push(Record { number: 46, parent: (99, 1), name: "lost.aspx".into(), ..recs[2].clone() });
    recs.push(Record { number: 47, parent: (48, 1), seq: 1, name: "a".into(), ..recs[0].clone() });
    recs.push(Record { number: 48, parent: (47, 1), seq: 1, name: "b".into(), ..recs[0].clone() });
    let (m, _) = kape_layout(&t, Some(&mft(&recs)), None);
    let c = Collector::new();
    let never = || false;
    let mut reader = Reader { sink: &c, stop: &never, counts: HistoryCounts::default() };
    let mut got: Vec<Change> = Vec::new();
    let v = VolumeFiles { mft: m, journals: vec![], letter: Some('C') };
    reader.read_files(&v, &mut |_, ch| got.push(ch.clone()));
    let gone = got.iter().find(|c| c.path.ends_with("gone.aspx")).unwrap();
    assert_eq!(gone.path, r"C:\inetpub\wwwroot\gone.aspx");
    assert!(gone.deleted_record && gone.deleted() && !gone.partial);
    assert_eq!(gone.kind, HistoryKind::Mft);
    let si = gone.standard_information.as_ref().unwrap().created.unwrap();
    let fname = gone.file_name_times.as_ref().unwrap().created.unwrap();
    assert_eq!(
        (si.to_rfc3339().as_str(), fname.to_rfc3339().as_str()),
        ("2019-01-01T00:00:00+00:00", "2021-03-03T00:00:00+00:00")
    );
    let lost = got.iter().find(|c| c.path.ends_with("lost.aspx")).unwrap();
    assert!(lost.partial);
    assert_eq!(lost.path, r"C:\…\lost.aspx");
    assert!(got.iter().filter(|c| c.file.record == 47 || c.file.record == 48).all(|c| c.partial));
    assert_eq!(
        ntfs::group(&[(Path::new("/x/C/$Extend/$J").into(), HistoryKind::Journal)])[0].letter,
        Some('C')
    );
}

#[test]
fn hostile_history_files_are_problems_not_panics() {
    let t = Tree::new();
    let (recs, _) = folders("a/b/c", 30, filetime(2021, 1, 1, 0, 0, 0));
    let mut m = mft(&recs);
    // Torn fixup in record 30, a lying attribute length in 31, a cut record at the end.
    m[30 * 1024 + 1022] ^= 0x55;
    m[31 * 1024 + 0x3C..31 * 1024 + 0x40].copy_from_slice(&0x7FFF_FFF0u32.to_le_bytes());
    m.extend_from_slice(b"FILE0 cut short");
    t.file("C/$MFT", &m);
    let mut j = vec![0u8; 4096];
    j.extend_from_slice(&[0xF8, 0xFF, 0xFF, 0xFF, 2, 0, 0, 0]);
    j.resize(8192, 0xAB);
    t.file("C/$Extend/$J", &j);
    let (findings, problems, counts) = examine(t.root());
    assert!(findings.is_empty());
    assert!(
        problems.iter().any(|p| p.kind == ProblemKind::Parse
            && p.reason.contains("$MFT record 30")
            && p.reason.contains("torn")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.reason.contains("$MFT record 31") && p.reason.contains("bad length")),
        "{problems:#?}"
    );
    assert!(problems.iter().any(|p| p.reason.contains("$J at offset 4096")), "{problems:#?}");
    assert!(counts.history.damaged >= 3);
    let mut s = ferret_core::Summary::default();
    counts.record(&mut s);
    s.settle();
    assert!(!s.complete);
}

/// Finds the 1 KiB MFT record of the non-folder file named `name` in a volume image.
fn file_record(img: &[u8], name: &str) -> usize {
    let needle: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
    (0..img.len() / 1024)
        .map(|i| i * 1024)
        .find(|&at| {
            let r = &img[at..at + 1024];
            r.starts_with(b"FILE")
                && r[0x16] & 2 == 0
                && r.windows(needle.len()).any(|w| w == needle)
        })
        .expect("the file's record")
}

#[test]
fn deleted_records_are_read_from_an_ntfs_image() {
    if !ferret_testkit::require("ntfs-3g's mkntfs and ntfscp", ferret_testkit::disk::ntfs_tools()) {
        return;
    }
    let t = Tree::new();
    let img = t.path("vol.img");
    let name = tool();
    ferret_testkit::disk::NtfsVolume::new(&img, 8, false)
        .file(&name, b"MZ not a program")
        .file("kept.txt", b"hello");
    // Mark the tool's record not in use, as Windows leaves a deleted file's record.
    #[expect(clippy::disallowed_methods, reason = "the fixture image is edited on purpose")]
    {
        let mut bytes = std::fs::read(&img).unwrap();
        let at = file_record(&bytes, &name);
        bytes[at + 0x16] &= !1;
        std::fs::write(&img, bytes).unwrap();
    }
    let opened = ferret_evidence_open(&img);
    let src = ntfs::NtfsSource::of(opened.sources[0].as_ref()).expect("an NTFS volume");
    let c = Collector::new();
    let never = || false;
    let mut reader = Reader { sink: &c, stop: &never, counts: HistoryCounts::default() };
    let mut got: Vec<Change> = Vec::new();
    reader.read_volume(src, "vol.img", &mut |ch| got.push(ch.clone()));
    let deleted = reader.counts.mft_deleted;
    let (_, problems, _, _) = c.into_parts();
    assert!(problems.is_empty(), "{problems:?}");
    let tool_rec =
        got.iter().find(|c| c.path == format!(r"C:\{name}")).expect("the deleted record");
    assert!(tool_rec.deleted_record);
    assert!(tool_rec.standard_information.as_ref().unwrap().created.is_some());
    assert!(tool_rec.file_name_times.as_ref().unwrap().created.is_some());
    let kept = got.iter().find(|c| c.path == r"C:\kept.txt").unwrap();
    assert!(!kept.deleted_record);
    assert_eq!(deleted, 1);
    // The scan-side examination of the image matches the deleted file's name.
    let (findings, problems, counts) = examine(&img);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(counts.history.mft_read, 1);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert!(findings[0].message.as_deref().unwrap().contains("no longer in use"));
}

fn ferret_evidence_open(img: &Path) -> ntfs::Opened {
    match ntfs::open_image(img) {
        Ok(o) => o,
        Err(p) => panic!("open {}: {p:?}", img.display()),
    }
}

#[test]
fn a_raw_mft_copied_out_by_ntfs_3g_is_read() {
    let tools = ferret_testkit::disk::ntfs_tools()
        && std::process::Command::new("ntfscat").arg("--version").output().is_ok();
    if !ferret_testkit::require("ntfs-3g's mkntfs, ntfscp and ntfscat", tools) {
        return;
    }
    // The records are written by ntfs-3g, not by the testkit: an independent writer.
    let t = Tree::new();
    let work = Tree::new();
    let img = work.path("vol.img");
    let name = tool();
    ferret_testkit::disk::NtfsVolume::new(&img, 8, false).file(&name, b"MZ").file("kept.txt", b"k");
    let out = std::process::Command::new("ntfscat").arg(&img).arg("$MFT").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    t.file("C/$MFT", &out.stdout);
    let (findings, problems, counts) = examine(t.root());
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(counts.history.mft_read, 1);
    assert!(counts.history.mft_records >= 16, "{:?}", counts.history);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert!(findings[0].message.as_deref().unwrap().contains(&format!(r"C:\{name}")));
}
