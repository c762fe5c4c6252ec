//! Hives written by the testkit's regf writer: parsing, kinds, transaction-log replay,
//! Amcache and ShimCache matching, and hostile input.

use std::path::{Path, PathBuf};

use ferret_artefacts::examine::{ArtefactOptions, Counts, load, match_hive};
use ferret_artefacts::{Hive, HiveKind, shimcache};
use ferret_core::{Collector, Engine, ProblemKind};
use ferret_fs::WalkOptions;
use ferret_ioc::{IocFormat, IocSet};
use ferret_testkit::hive::{
    HiveKey, build, dirty_with_log, dirty_with_old_log, shimcache_win7_x64, shimcache_win10,
};

/// SHA-1 of SolarWinds.Orion.Core.BusinessLayer.dll 2019.4.5200.9083 (SUNBURST), as published.
const SUNBURST_SHA1: &str = "76640508b1e7759e548771a5359eaed353bf1eec";
const BENIGN_SHA1: &str = "0123456789abcdef0123456789abcdef01234567";

fn amcache(sha1: &str, path: &str) -> HiveKey {
    let mut root = HiveKey::new("ROOT");
    let k = root.key("Root\\InventoryApplicationFile\\solarwinds.orion|5a1e");
    k.sz("FileId", &format!("0000{sha1}"))
        .sz("LowerCaseLongPath", path)
        .sz("LinkDate", "03/24/2020 08:43:52")
        .qword("Size", 1_011_032)
        .at(132_511_392_000_000_000);
    root.key("Root\\InventoryApplicationFile\\notepad.exe|1")
        .sz("FileId", &format!("0000{BENIGN_SHA1}"))
        .sz("LowerCaseLongPath", "c:\\windows\\system32\\notepad.exe");
    root
}

fn system(shim: &[u8]) -> HiveKey {
    let mut root = HiveKey::new("ROOT");
    root.key("Select").dword("Current", 1);
    root.key("ControlSet001\\Control\\Session Manager\\AppCompatCache")
        .binary("AppCompatCache", shim);
    root.key("ControlSet001\\Services\\Tcpip").dword("Start", 1);
    root
}

fn builtin_iocs() -> IocSet {
    let mut set = IocSet::new();
    let mut problems = Vec::new();
    set.load_intel(ferret_intel::Intel::builtin().unwrap(), &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    set
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    #[expect(clippy::disallowed_methods, reason = "fixtures")]
    std::fs::write(&p, bytes).unwrap();
    p
}

fn run(
    iocs: &IocSet,
    path: &Path,
) -> (Vec<ferret_core::Finding>, Vec<ferret_core::Problem>, Counts) {
    let c = Collector::new();
    let mut counts = Counts::default();
    if let Some(h) = load(path, &c) {
        counts.hives_read += 1;
        match_hive(&h, iocs, &c, &mut counts);
    }
    let (f, p, _, _) = c.into_parts();
    (f, p, counts)
}

#[test]
fn reads_keys_values_and_big_data() {
    let mut root = HiveKey::new("ROOT");
    let big: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    root.key("Software\\Ünïcode Key").sz("Name", "välue").dword("D", 7).binary("Big", &big);
    let bytes = build(&root);
    let h = Hive::parse(Path::new("x"), bytes.as_slice(), &[]).unwrap();
    assert!(h.warnings.is_empty(), "{:?}", h.warnings);
    let k = h.key("software\\ÜNÏCODE KEY").or_else(|| h.key("Software\\Ünïcode Key")).unwrap();
    assert_eq!(k.value("name").unwrap().as_string().unwrap(), "välue");
    assert_eq!(k.value("D").unwrap().as_u64(), Some(7));
    assert_eq!(k.value("Big").unwrap().data, big);
}

#[test]
fn kinds_come_from_keys_not_names() {
    let cases = [
        (system(&shimcache_win10(&[])), HiveKind::System),
        (amcache(BENIGN_SHA1, "c:\\x.exe"), HiveKind::Amcache),
        (
            {
                let mut r = HiveKey::new("ROOT");
                r.key("Microsoft\\Windows NT\\CurrentVersion").sz("ProductName", "Windows");
                r
            },
            HiveKind::Software,
        ),
        (
            {
                let mut r = HiveKey::new("ROOT");
                r.key("Software\\Microsoft");
                r.key("Environment");
                r
            },
            HiveKind::NtUser,
        ),
        (
            {
                let mut r = HiveKey::new("ROOT");
                r.key("Local Settings\\Software");
                r
            },
            HiveKind::UsrClass,
        ),
    ];
    for (tree, kind) in cases {
        let h = Hive::parse(Path::new("renamed.bin"), build(&tree), &[]).unwrap();
        assert_eq!(h.kind(), kind);
    }
}

#[test]
fn amcache_sha1_of_sunburst_is_an_artefact_finding() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "Amcache.hve",
        &build(&amcache(
            SUNBURST_SHA1,
            "c:\\program files (x86)\\solarwinds\\orion\\solarwinds.orion.core.businesslayer.dll",
        )),
    );
    let (findings, problems, counts) = run(&builtin_iocs(), &p);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(counts.amcache_entries, 2);
    let hash: Vec<_> =
        findings.iter().filter(|f| f.details.contains_key("sha1_first_30mib")).collect();
    assert!(!hash.is_empty(), "{findings:?}");
    let f = hash.iter().find(|f| f.evidence.iter().any(|e| e.data == SUNBURST_SHA1)).unwrap();
    assert_eq!(f.engine, Engine::Artefact);
    assert_eq!(f.details["artefact"], "amcache");
    assert!(f.message.as_deref().unwrap().contains("need not exist any more"));
    assert!(f.time.is_some());
    assert!(findings.iter().all(|f| !f.evidence.iter().any(|e| e.data.contains("notepad"))));
}

#[test]
fn shimcache_paths_match_file_name_iocs_win10_and_win7() {
    let mut iocs = IocSet::new();
    let mut problems = Vec::new();
    iocs.load(IocFormat::LokiFilename, "names.txt", "(?i)\\\\evil_tool\\.exe;80\n", &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    let t = 132_500_000_000_000_000u64;
    for (name, value) in [
        (
            "win10",
            shimcache_win10(&[
                ("C:\\Windows\\notepad.exe", t),
                ("C:\\Users\\Public\\EVIL_TOOL.exe", t),
            ]),
        ),
        (
            "win7",
            shimcache_win7_x64(&[
                ("C:\\Windows\\notepad.exe", t),
                ("C:\\Users\\Public\\EVIL_TOOL.exe", t),
            ]),
        ),
    ] {
        let (fmt, list) = shimcache::parse(&value).unwrap();
        assert_eq!(list.len(), 2, "{name} {fmt:?}");
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "SYSTEM", &build(&system(&value)));
        let (findings, problems, counts) = run(&iocs, &p);
        assert!(problems.is_empty(), "{name}: {problems:?}");
        assert_eq!(counts.shimcache_entries, 2, "{name}");
        assert_eq!(findings.len(), 1, "{name}: {findings:?}");
        let f = &findings[0];
        assert_eq!(f.engine, Engine::Artefact);
        assert_eq!(f.details["artefact"], "shimcache");
        assert!(f.message.as_deref().unwrap().contains("EVIL_TOOL.exe"), "{name}");
    }
}

#[test]
fn clean_hives_give_no_finding() {
    let dir = tempfile::tempdir().unwrap();
    let iocs = builtin_iocs();
    for (name, tree) in [
        ("Amcache.hve", amcache(BENIGN_SHA1, "c:\\windows\\notepad.exe")),
        ("SYSTEM", system(&shimcache_win10(&[("C:\\Windows\\notepad.exe", 1)]))),
    ] {
        let p = write(dir.path(), name, &build(&tree));
        let (findings, problems, counts) = run(&iocs, &p);
        assert!(findings.is_empty(), "{name}: {findings:?}");
        assert!(problems.is_empty(), "{name}: {problems:?}");
        assert_eq!(counts.hives_read, 1);
    }
}

#[test]
fn truncated_garbage_and_bad_checksum_are_problems_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = build(&system(&shimcache_win10(&[])));
    let truncated = write(dir.path(), "SYSTEM.cut", &good[..4200]);
    let mut garbage = b"regf".to_vec();
    garbage.extend((0..20_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    let garbage = write(dir.path(), "garbage.hve", &garbage);
    let mut bad_sum = good.clone();
    bad_sum[508] ^= 0xFF;
    let bad_sum = write(dir.path(), "SOFTWARE", &bad_sum);
    let iocs = IocSet::new();
    for p in [&truncated, &garbage] {
        let (_, problems, counts) = run(&iocs, p);
        assert_eq!(counts.hives_read, 0, "{}", p.display());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].kind, ProblemKind::Parse);
        assert_eq!(problems[0].path.as_ref().unwrap().lossy(), p.to_string_lossy());
    }
    let (_, problems, counts) = run(&iocs, &bad_sum);
    assert_eq!(counts.hives_read, 1);
    assert!(problems.iter().any(|p| p.reason.contains("checksum")), "{problems:?}");
}

#[test]
fn dirty_hive_replays_its_log1_in_memory() {
    let mut old = HiveKey::new("ROOT");
    old.key("Select").dword("Current", 1);
    old.key("ControlSet001\\Services\\WinDefend").dword("Start", 2);
    let mut new = old.clone();
    new.key("ControlSet001\\Services\\WinDefend").values.clear();
    new.key("ControlSet001\\Services\\WinDefend").dword("Start", 4);
    new.key("ControlSet001\\Services\\Added\\Deep\\Key").sz("ImagePath", &"x".repeat(9000));
    let (hive, log) = dirty_with_log(&old, &new);
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "SYSTEM", &hive);

    // Without its log: read as it is, and said so.
    let c = Collector::new();
    let h = load(&p, &c).unwrap();
    assert!(h.dirty && h.replayed.is_empty());
    assert_eq!(
        h.key("ControlSet001\\Services\\WinDefend").unwrap().value("Start").unwrap().as_u64(),
        Some(2)
    );
    let (_, problems, _, _) = c.into_parts();
    assert!(problems.iter().any(|p| p.reason.contains("no transaction log")), "{problems:?}");

    // With SYSTEM.LOG1 beside it: the new state, and the file on disk is unchanged.
    write(dir.path(), "SYSTEM.LOG1", &log);
    let c = Collector::new();
    let h = load(&p, &c).unwrap();
    let (_, problems, _, _) = c.into_parts();
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(h.replayed, vec![dir.path().join("SYSTEM.LOG1")]);
    assert_eq!(
        h.key("ControlSet001\\Services\\WinDefend").unwrap().value("Start").unwrap().as_u64(),
        Some(4)
    );
    assert!(h.key("ControlSet001\\Services\\Added\\Deep\\Key").is_some());
    let on_disk = std::fs::read(&p).unwrap();
    assert_eq!(on_disk, hive);

    // A log whose entry fails its hash check is not applied.
    let mut torn = log.clone();
    let last = torn.len() - 1;
    torn[last] ^= 1;
    write(dir.path(), "SYSTEM.LOG1", &torn);
    let c = Collector::new();
    let h = load(&p, &c).unwrap();
    assert!(h.replayed.is_empty());
    let (_, problems, _, _) = c.into_parts();
    assert!(problems.iter().any(|p| p.reason.contains("hash check")), "{problems:?}");
}

/// An old-format log (`SYSTEM.LOG`: a `DIRT` dirty vector and 512-byte pages, Windows XP to
/// 8) is replayed the same way; one written for another state of the hive, one cut short, or
/// one whose dirty hive bin is unsound is not applied, and each says why.
#[test]
fn dirty_hive_replays_an_old_format_log() {
    let mut old = HiveKey::new("ROOT");
    old.key("Select").dword("Current", 1);
    old.key("ControlSet001\\Services\\WinDefend").dword("Start", 2);
    let mut new = old.clone();
    new.key("ControlSet001\\Services\\WinDefend").values.clear();
    new.key("ControlSet001\\Services\\WinDefend").dword("Start", 4);
    new.key("ControlSet001\\Services\\Added\\Deep\\Key").sz("ImagePath", &"x".repeat(9000));
    let (hive, log) = dirty_with_old_log(&old, &new);
    assert_eq!(&log[512..516], b"DIRT");
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "SYSTEM", &hive);
    let start = |h: &Hive| {
        h.key("ControlSet001\\Services\\WinDefend").unwrap().value("Start").unwrap().as_u64()
    };

    write(dir.path(), "SYSTEM.LOG", &log);
    let c = Collector::new();
    let h = load(&p, &c).unwrap();
    let (_, problems, _, _) = c.into_parts();
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(h.replayed, vec![dir.path().join("SYSTEM.LOG")]);
    assert_eq!(start(&h), Some(4));
    assert!(h.key("ControlSet001\\Services\\Added\\Deep\\Key").is_some());
    assert_eq!(std::fs::read(&p).unwrap(), hive, "the hive on disk is unchanged");

    let refused = |log: Vec<u8>, why: &str| {
        write(dir.path(), "SYSTEM.LOG", &log);
        let c = Collector::new();
        let h = load(&p, &c).unwrap();
        assert!(h.replayed.is_empty(), "{why}");
        assert_eq!(start(&h), Some(2), "{why}: read as it is on disk");
        let (_, problems, _, _) = c.into_parts();
        assert!(
            problems.iter().any(|p| p.reason.contains("old-format") && p.reason.contains(why)),
            "{why}: {problems:?}"
        );
    };
    // Written for another state of the hive (last-written time differs).
    let mut other = log.clone();
    other[12] ^= 1;
    refused(other, "last-written time");
    // Cut short: the dirty pages run out.
    refused(log[..log.len() - 512].to_vec(), "missing");
    // The log itself unfinished (its sequence numbers differ).
    let mut unfinished = log.clone();
    unfinished[8] ^= 1;
    refused(unfinished, "sequence numbers");
    // A dirty hive bin whose header names another offset.
    let mut bad_bin = log.clone();
    let bins_size = u32::from_le_bytes(bad_bin[40..44].try_into().unwrap()) as usize;
    let first_page = (516 + (bins_size / 512).div_ceil(8)).div_ceil(512) * 512;
    assert_eq!(&bad_bin[first_page..first_page + 4], b"hbin", "the first dirty page starts a bin");
    bad_bin[first_page + 4] ^= 0x10;
    refused(bad_bin, "not sound");
}

#[test]
fn finds_hives_by_content_and_skips_logs() {
    let dir = tempfile::tempdir().unwrap();
    let (hive, log) =
        dirty_with_log(&system(&shimcache_win10(&[])), &system(&shimcache_win10(&[])));
    write(dir.path(), "renamed.dat", &hive);
    write(dir.path(), "renamed.dat.LOG1", &log);
    write(dir.path(), "notes.txt", &[b'r'; 9000]);
    let c = Collector::new();
    let found = ferret_artefacts::find_hives(
        &WalkOptions { roots: vec![dir.path().to_path_buf()], ..WalkOptions::default() },
        &c,
    )
    .unwrap();
    assert_eq!(found, vec![dir.path().join("renamed.dat")]);
    let counts = ferret_artefacts::examine(
        &ArtefactOptions {
            walk: WalkOptions { roots: vec![dir.path().to_path_buf()], ..WalkOptions::default() },
        },
        &IocSet::new(),
        &c,
    )
    .unwrap();
    assert_eq!((counts.hives_read, counts.hives_replayed), (1, 1));
}

/// The writer checked by an independent reader: hivex's `hivexml` dumps the hive.
#[test]
fn writer_output_reads_in_hivex() {
    let found = std::process::Command::new("hivexml").arg("--help").output().is_ok();
    if !ferret_testkit::require("hivexml (Debian package libhivex-bin)", found) {
        return;
    }
    let mut root = HiveKey::new("ROOT");
    let big: Vec<u8> = vec![0x41; 20_000];
    root.key("ControlSet001\\Services\\WinDefend")
        .dword("Start", 4)
        .sz("ImagePath", "C:\\x.exe")
        .binary("Big", &big);
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "SYSTEM", &build(&root));
    let out = std::process::Command::new("hivexml").arg(&p).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let xml = String::from_utf8_lossy(&out.stdout);
    for needle in ["ControlSet001", "WinDefend", "Start", "ImagePath"] {
        assert!(xml.contains(needle), "{needle} missing from hivexml output:\n{xml}");
    }
    // hivexml writes REG_BINARY data base64-encoded in wrapped lines: 20,000 'A' bytes are
    // 6,666 "QUFB" groups and a last partial one, all read through the big-data segments.
    let flat: String = xml.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(flat.contains(&"QUFB".repeat(6666)), "big data value missing or cut short");
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn arbitrary_bytes_after_a_valid_base_block(mut tail in proptest::collection::vec(any::<u8>(), 0..20_000), flips in proptest::collection::vec((any::<u16>(), any::<u8>()), 0..64)) {
            // With deleted values (free vk, data and value-list cells) for the flips to hit.
            let mut tree = amcache(BENIGN_SHA1, "c:\\x.exe");
            tree.key("K").sz("a", "C:\\a.exe").sz("b", &"b".repeat(40)).dword("c", 1).delete_value("a").delete_value("b");
            let mut bytes = build(&tree);
            for (at, v) in flips {
                let i = 4096 + usize::from(at) % (bytes.len() - 4096);
                bytes[i] = v;
            }
            bytes.append(&mut tail);
            if let Ok(h) = Hive::parse(Path::new("x"), bytes.as_slice(), &[]) {
                let _ = ferret_artefacts::amcache::entries(&h);
                let _ = shimcache::entries(&h);
                if let Ok(r) = h.root() {
                    for k in r.subkeys() { let _ = k.values_and_deleted(); let _ = k.subkeys(); }
                }
                let _ = h.deleted_values();
            }
        }

        #[test]
        fn arbitrary_shimcache_values(v in proptest::collection::vec(any::<u8>(), 0..4096), head in 0u32..4) {
            let mut v = v;
            let magic: [u8; 4] = match head { 0 => 0x34u32.to_le_bytes(), 1 => 0x80u32.to_le_bytes(), 2 => 0xBADC_0FEEu32.to_le_bytes(), _ => *b"regf" };
            if v.len() >= 4 { v[..4].copy_from_slice(&magic); }
            let _ = shimcache::parse(&v);
        }

        #[test]
        fn arbitrary_logs(log in proptest::collection::vec(any::<u8>(), 0..8192)) {
            let (hive, _) = dirty_with_log(&amcache(BENIGN_SHA1, "c:\\x.exe"), &amcache(BENIGN_SHA1, "c:\\y.exe"));
            let mut l = b"regf".to_vec();
            l.resize(512, 0);
            l.extend_from_slice(b"HvLE");
            l.extend(log);
            let _ = Hive::parse(Path::new("x"), hive, &[(PathBuf::from("x.LOG1"), l)]);
        }

        #[test]
        fn arbitrary_old_format_logs(tail in proptest::collection::vec(any::<u8>(), 0..8192), size in any::<u32>(), same_time in any::<bool>()) {
            let (hive, log) = dirty_with_old_log(&amcache(BENIGN_SHA1, "c:\\x.exe"), &amcache(BENIGN_SHA1, "c:\\y.exe"));
            let mut l = log[..512].to_vec();
            if !same_time {
                l[12] ^= 1;
            }
            l[40..44].copy_from_slice(&size.to_le_bytes());
            l.extend_from_slice(b"DIRT");
            l.extend(tail);
            let _ = Hive::parse(Path::new("x"), hive, &[(PathBuf::from("x.LOG"), l)]);
        }
    }
}

#[test]
fn autostart_entries_match_file_name_iocs() {
    let mut iocs = IocSet::new();
    let mut problems = Vec::new();
    iocs.load(IocFormat::LokiFilename, "names.txt", "(?i)\\\\evil_tool\\.exe;80\n", &mut problems);
    let mut sw = HiveKey::new("ROOT");
    sw.key("Microsoft\\Windows NT\\CurrentVersion").sz("ProductName", "Windows");
    sw.key("Microsoft\\Windows\\CurrentVersion\\Run")
        .sz("OneDrive", "C:\\Program Files\\OneDrive\\OneDrive.exe /background")
        .sz("Updater", "\"C:\\ProgramData\\evil_tool.exe\" -k");
    let mut sys = system(&shimcache_win10(&[]));
    sys.key("ControlSet001\\Services\\EvilSvc")
        .expand_sz("ImagePath", "%SystemRoot%\\evil_tool.exe");
    let dir = tempfile::tempdir().unwrap();
    for (name, tree, place) in [("SOFTWARE", sw, "Run "), ("SYSTEM", sys, "service ControlSet001")]
    {
        let p = write(dir.path(), name, &build(&tree));
        let (findings, problems, counts) = run(&iocs, &p);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(counts.autostart_entries >= 1);
        assert_eq!(findings.len(), 1, "{name}: {findings:?}");
        assert_eq!(findings[0].details["artefact"], "autostart");
        assert!(findings[0].message.as_deref().unwrap().contains(place), "{findings:?}");
    }
}

/// A key list that points back at its own key, counts far above what the cells hold, and a
/// value whose data size and cell size are huge: reading stays bounded by the file.
#[test]
fn cycles_and_huge_counts_are_bounded() {
    let mut root = amcache(BENIGN_SHA1, "c:\\x.exe");
    root.sz("V", &"y".repeat(100));
    let mut b = build(&root);
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let put = |b: &mut Vec<u8>, at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    let r = u32_at(&b, 36) as usize;
    let nk = 4096 + r + 4;
    let lf = 4096 + u32_at(&b, nk + 28) as usize + 4;
    put(&mut b, lf + 4, u32::try_from(r).unwrap()); // the first subkey is the root itself
    put(&mut b, nk + 20, u32::MAX); // subkey count
    put(&mut b, nk + 36, u32::MAX); // value count
    let vlist = 4096 + u32_at(&b, nk + 40) as usize + 4;
    let vk = 4096 + u32_at(&b, vlist) as usize + 4;
    put(&mut b, vk + 4, 0x7FFF_FFF0); // data size
    let data_cell = 4096 + u32_at(&b, vk + 8) as usize;
    put(&mut b, data_cell, 0x8000_0000); // cell size i32::MIN
    let h = Hive::parse(Path::new("x"), b, &[]).unwrap();
    let r = h.root().unwrap();
    assert_eq!(r.subkeys()[0].name(), "ROOT");
    let deep = format!("{}Root", "ROOT\\".repeat(50));
    assert!(h.key(&deep).is_some(), "a cycle is followed only as far as the path asks");
    assert!(r.values().iter().all(|v| v.data.len() <= 100 * 2 + 2));
    let _ = ferret_artefacts::amcache::entries(&h);
}

/// A program key Windows deleted (its cell freed, its entry taken out of the subkey list) is
/// still read from the free cell and marked recovered.
#[test]
fn deleted_amcache_entry_is_recovered_and_marked() {
    let mut root = amcache(BENIGN_SHA1, "c:\\windows\\notepad.exe");
    root.key("Root\\InventoryApplicationFile\\zz_deleted|2")
        .sz("FileId", &format!("0000{SUNBURST_SHA1}"))
        .sz("LowerCaseLongPath", "c:\\windows\\temp\\gone.dll");
    let mut b = build(&root);
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let h = Hive::parse(Path::new("x"), b.as_slice(), &[]).unwrap();
    let iaf = h.key("Root\\InventoryApplicationFile").unwrap();
    assert_eq!(iaf.subkeys().len(), 3);
    assert!(iaf.deleted_subkeys().is_empty());
    // Delete the last subkey as Windows does: free its cell (positive size) and shorten the
    // list. The writer sorts the list by name, so `zz_deleted|2` is its last entry.
    let find = |b: &[u8], pat: &[u8]| b.windows(pat.len()).position(|w| w == pat).unwrap();
    let iaf_nk = find(&b, b"InventoryApplicationFile") - 76;
    let lf = 4096 + u32_at(&b, iaf_nk + 28) as usize + 4;
    let last = 4096 + u32_at(&b, lf + 4 + 2 * 8) as usize;
    let size = i32::from_le_bytes(b[last..last + 4].try_into().unwrap());
    b[last..last + 4].copy_from_slice(&(-size).to_le_bytes());
    b[lf + 2..lf + 4].copy_from_slice(&2u16.to_le_bytes());
    b[iaf_nk + 20..iaf_nk + 24].copy_from_slice(&2u32.to_le_bytes());

    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "Amcache.hve", &b);
    let (findings, problems, counts) = run(&builtin_iocs(), &p);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(counts.amcache_entries, 3);
    let f = findings.iter().find(|f| f.details.contains_key("sha1_first_30mib")).unwrap();
    assert_eq!(f.details["recovered"], true);
    assert!(f.message.as_deref().unwrap().contains("deleted entry recovered"), "{f:?}");
}

/// ShimCache values of Windows 8.x (0x80 header, `10ts`/`00ts` entries with a package name)
/// and Windows 7 x86 (32-byte entries), built here from the published layouts.
#[test]
fn shimcache_win8_and_win7_x86_layouts() {
    let t = 132_500_000_000_000_000u64;
    let utf16 = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_le_bytes).collect() };
    for sig in [b"10ts", b"00ts"] {
        let mut v = vec![0u8; 0x80];
        v[..4].copy_from_slice(&0x80u32.to_le_bytes());
        for path in ["C:\\Windows\\a.exe", "C:\\Temp\\b.exe"] {
            let p = utf16(path);
            let pkg = utf16("pkg");
            let mut e = Vec::new();
            e.extend_from_slice(&u16::try_from(p.len()).unwrap().to_le_bytes());
            e.extend_from_slice(&p);
            e.extend_from_slice(&u16::try_from(pkg.len()).unwrap().to_le_bytes());
            e.extend_from_slice(&pkg);
            e.extend_from_slice(&[0u8; 8]); // insertion and shim flags
            e.extend_from_slice(&t.to_le_bytes());
            e.extend_from_slice(&0u32.to_le_bytes());
            v.extend_from_slice(sig);
            v.extend_from_slice(&[0u8; 4]);
            v.extend_from_slice(&u32::try_from(e.len()).unwrap().to_le_bytes());
            v.extend_from_slice(&e);
        }
        let (fmt, list) = shimcache::parse(&v).unwrap();
        assert_eq!(fmt, shimcache::Format::Win8);
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].0, "C:\\Temp\\b.exe");
        assert_eq!(
            list[1].1.unwrap().timestamp(),
            i64::try_from(t / 10_000_000).unwrap() - 11_644_473_600
        );
    }
    // Windows 7 x86: header, count, 32-byte entries from byte 128, paths after the table.
    let paths = ["C:\\Windows\\a.exe", "C:\\Temp\\b.exe"];
    let mut v = vec![0u8; 128 + 32 * paths.len()];
    v[..4].copy_from_slice(&0xBADC_0FEEu32.to_le_bytes());
    v[4..8].copy_from_slice(&2u32.to_le_bytes());
    for (i, path) in paths.iter().enumerate() {
        let p = utf16(path);
        let off = u32::try_from(v.len()).unwrap();
        v.extend_from_slice(&p);
        v.extend_from_slice(&[0, 0]);
        let e = 128 + i * 32;
        v[e..e + 2].copy_from_slice(&u16::try_from(p.len()).unwrap().to_le_bytes());
        v[e + 4..e + 8].copy_from_slice(&off.to_le_bytes());
        v[e + 8..e + 16].copy_from_slice(&t.to_le_bytes());
    }
    let (fmt, list) = shimcache::parse(&v).unwrap();
    assert_eq!(fmt, shimcache::Format::Win7x86);
    assert_eq!(list.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(), paths);
}

/// A log entry that declares a hive-bins size far beyond what the hive and its logs hold is
/// refused before anything is allocated for it.
#[test]
fn a_log_claiming_a_huge_hive_is_refused() {
    let old = amcache(BENIGN_SHA1, "c:\\x.exe");
    let (hive, mut log) = dirty_with_log(&old, &old);
    // The entry starts at 512: its bins size is at +16; hash 1 covers bytes 40.. of the entry,
    // hash 2 its first 32 bytes, so both are recomputed.
    log[512 + 16..512 + 20].copy_from_slice(&0x3000_0000u32.to_le_bytes());
    let entry_len = u32::from_le_bytes(log[516..520].try_into().unwrap()) as usize;
    let h1 =
        ferret_testkit::hive::marvin32(ferret_testkit::hive::LOG_SEED, &log[552..512 + entry_len]);
    log[536..544].copy_from_slice(&u64::from(h1).to_le_bytes());
    let h2 = ferret_testkit::hive::marvin32(ferret_testkit::hive::LOG_SEED, &log[512..544]);
    log[544..552].copy_from_slice(&u64::from(h2).to_le_bytes());
    let h = Hive::parse(Path::new("x"), hive, &[(PathBuf::from("x.LOG1"), log)]).unwrap();
    assert!(h.replayed.is_empty());
    assert!(h.warnings.iter().any(|w| w.contains("bad hive-bins size")), "{:?}", h.warnings);
}

fn evil_names() -> IocSet {
    let mut iocs = IocSet::new();
    let mut problems = Vec::new();
    iocs.load(IocFormat::LokiFilename, "names.txt", "(?i)\\\\evil_tool\\.exe;80\n", &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    iocs
}

fn software_with_run(values: &[(&str, &str)], delete: &[&str]) -> HiveKey {
    let mut sw = HiveKey::new("ROOT");
    sw.key("Microsoft\\Windows NT\\CurrentVersion").sz("ProductName", "Windows");
    let run = sw.key("Microsoft\\Windows\\CurrentVersion\\Run");
    for (n, v) in values {
        run.sz(n, v);
    }
    for n in delete {
        run.delete_value(n);
    }
    sw
}

/// A Run value deleted from a live key (its `vk` and data cells freed, the old value list left
/// in a free cell) is recovered, attributed to the Run key and matched, marked recovered; the
/// live values are unchanged and a deleted benign value gives no finding.
#[test]
fn deleted_run_value_is_recovered_attributed_and_matched() {
    let sw = software_with_run(
        &[
            ("OneDrive", "C:\\Program Files\\OneDrive\\OneDrive.exe /background"),
            ("Updater", "\"C:\\ProgramData\\evil_tool.exe\" -k"),
        ],
        &["Updater"],
    );
    let h = Hive::parse(Path::new("SOFTWARE"), build(&sw), &[]).unwrap();
    let run_key = h.key("Microsoft\\Windows\\CurrentVersion\\Run").unwrap();
    let live: Vec<String> = run_key.values().into_iter().map(|v| v.name).collect();
    assert_eq!(live, ["OneDrive"], "the deleted value is gone from the live key");
    let deleted = run_key.deleted_values();
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert_eq!(deleted[0].name, "Updater");
    assert!(deleted[0].recovered);
    assert!(deleted[0].as_string().unwrap().contains("evil_tool.exe"));
    assert!(run_key.value("Updater").is_none());
    assert!(run_key.value_or_recovered("Updater").is_some_and(|v| v.recovered));
    assert!(!run_key.value_or_recovered("OneDrive").unwrap().recovered);
    let all = h.deleted_values();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].key.as_ref().map(ferret_artefacts::Key::name), Some("Run"));

    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "SOFTWARE", &build(&sw));
    let (findings, problems, counts) = run(&evil_names(), &p);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(counts.deleted_values, 1);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].details["artefact"], "autostart");
    assert_eq!(findings[0].details["recovered"], true);
    assert!(findings[0].message.as_deref().unwrap().contains("deleted value"), "{findings:?}");

    // Benign: the deleted value named a genuine program.
    let sw = software_with_run(
        &[
            ("OneDrive", "C:\\Program Files\\OneDrive\\OneDrive.exe /background"),
            ("Teams", "C:\\Program Files\\Teams\\Update.exe --processStart Teams.exe"),
        ],
        &["Teams"],
    );
    let p = write(dir.path(), "SOFTWARE2", &build(&sw));
    let (findings, problems, counts) = run(&evil_names(), &p);
    assert!(problems.is_empty() && findings.is_empty(), "{problems:?} {findings:?}");
    assert_eq!(counts.deleted_values, 1);
}

/// Every value of a key deleted: no live value ties the old list to its key, so the value is
/// reported unattributed (and still matched).
#[test]
fn a_deleted_value_no_key_claims_is_unattributed() {
    let sw = software_with_run(&[("Updater", "C:\\ProgramData\\evil_tool.exe")], &["Updater"]);
    let h = Hive::parse(Path::new("SOFTWARE"), build(&sw), &[]).unwrap();
    let run_key = h.key("Microsoft\\Windows\\CurrentVersion\\Run").unwrap();
    assert!(run_key.values().is_empty() && run_key.deleted_values().is_empty());
    let all = h.deleted_values();
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(all[0].key.is_none());
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "SOFTWARE", &build(&sw));
    let (findings, _, _) = run(&evil_names(), &p);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].details["unattributed"], true);
    assert_eq!(findings[0].details["artefact"], "deleted-value");
}

/// Hostile free cells: a free `vk` whose data cell is out of bounds, one whose data size is
/// huge, one whose data cell was reused (allocated), a free cell claiming more than its bin,
/// and thousands of free values naming one big data cell: reading stays bounded.
#[test]
fn hostile_deleted_values_are_bounded() {
    let sw = software_with_run(
        &[("A", "C:\\a.exe"), ("B", &"b".repeat(300)), ("C", "C:\\c.exe")],
        &["A", "B", "C"],
    );
    let bytes = build(&sw);
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let put = |b: &mut Vec<u8>, at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    // The vk cells (offsets in the file: the cell's size field is 4 bytes before "vk").
    let vk = |b: &[u8], name: &[u8]| {
        let mut pat = b"vk".to_vec();
        pat.extend_from_slice(&u16::try_from(name.len()).unwrap().to_le_bytes());
        b.windows(pat.len() + 16 + name.len())
            .position(|w| w.starts_with(&pat) && w.ends_with(name))
            .unwrap()
            - 4
    };
    let (vk_a, vk_b, vk_c) = (vk(&bytes, b"A"), vk(&bytes, b"B"), vk(&bytes, b"C"));
    let mut hostile = bytes.clone();
    put(&mut hostile, vk_a + 12, 0x7FFF_0000); // A's data cell far out of bounds
    put(&mut hostile, vk_b + 8, 0x7FFF_FFF0); // B's data size huge
    let c_data = 4096 + u32_at(&hostile, vk_c + 12) as usize;
    let size = i32::from_le_bytes(hostile[c_data..c_data + 4].try_into().unwrap());
    hostile[c_data..c_data + 4].copy_from_slice(&(-size.abs()).to_le_bytes()); // C's data reused
    let hive = Hive::parse(Path::new("x"), hostile.clone(), &[]).unwrap();
    let got = hive.deleted_values();
    assert_eq!(got.len(), 1, "only B's data still parses: {got:?}");
    assert_eq!(got[0].value.name, "B");
    assert!(got[0].value.data.len() <= 700, "cut to its cell");

    // A free cell claiming far more than its bin ends the cell walk there.
    let mut cut = bytes.clone();
    put(&mut cut, vk_a, 0x7FFF_FFF8);
    let hive = Hive::parse(Path::new("x"), cut, &[]).unwrap();
    assert!(hive.deleted_values().is_empty());

    // Many free values naming one big free data cell: at most the budget of data comes back.
    let mut root = HiveKey::new("ROOT");
    let key = root.key("K");
    let big = vec![0x41u8; 2 << 20];
    key.binary("Big", &big);
    for i in 0..60 {
        key.dword(&format!("v{i}"), i);
    }
    for i in 0..60 {
        key.delete_value(&format!("v{i}"));
    }
    key.delete_value("Big");
    let mut many = build(&root);
    let big_vk = vk(&many, b"Big");
    let (big_size, big_data) = (u32_at(&many, big_vk + 8), u32_at(&many, big_vk + 12));
    for i in 0..60 {
        let v = vk(&many, format!("v{i}").as_bytes());
        put(&mut many, v + 8, big_size);
        put(&mut many, v + 12, big_data);
    }
    let hive = Hive::parse(Path::new("x"), many, &[]).unwrap();
    let got = hive.deleted_values();
    let total: usize = got.iter().map(|d| d.value.data.len()).sum();
    assert!(total <= ferret_artefacts::hive::DELETED_DATA_BUDGET, "{total}");
    assert!(got.len() < 61, "the budget cut the list: {}", got.len());
}
