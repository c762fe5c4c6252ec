//! Triage collections read in place: a Velociraptor offline-collector zip, a KAPE target
//! folder, and plain zip, tar and tar.gz archives of one small Windows tree give the same
//! findings (rule, Windows path) as the tree as a directory; findings name the collection
//! and the member; archives found in a walked tree are read (not with `--no-archives`);
//! `--exclude` applies to the host's paths inside; hostile archives (a zip bomb, traversal
//! names, truncated zip and tar) are problems and exit 3, never a crash. `ferret check`
//! finds a dropped shell on an Exchange server packed into a Velociraptor zip.
#![cfg(feature = "scan")]
#![allow(clippy::disallowed_methods, reason = "tests write their own temporary fixtures")]

mod common;

use std::path::Path;

use ferret_testkit::Tree;
use ferret_testkit::archive::{ZipWriter, gzip, tar, zip};
use serde_json::Value;

use common::{ferret, of_type, records};

/// A China Chopper-style ASPX one-liner, assembled at run time from reversed pieces so no
/// build file holds it whole.
fn chopper() -> String {
    let pieces =
        ["%<>%\"tpircsJ\"=egaugnaL egaP @%<", "tseuqeR(lave", ";)\"efasnu\",]\"z\"[metI.", ">%"];
    pieces.iter().map(|p| p.chars().rev().collect::<String>()).collect::<Vec<_>>().concat()
}

/// The small Windows tree: (path under the drive, content).
fn tree_files() -> Vec<(String, Vec<u8>)> {
    vec![
        ("inetpub/wwwroot/aspnet_client/help.aspx".into(), chopper().into_bytes()),
        (
            ["Windows/Temp/gracious_truth", ".jpg"].concat(),
            b"\xff\xd8\xff\xe0 not a picture".to_vec(),
        ),
        ("Users/Public/clean.txt".into(), b"nothing here\n".to_vec()),
    ]
}

fn scan(args: &[&str], target: &Path) -> (i32, Vec<Value>) {
    let out =
        ferret().arg("scan").args(args).arg(target).args(["--format", "jsonl"]).output().unwrap();
    (out.status.code().unwrap(), records(&out.stdout))
}

/// (path relative to the tree's root with `/`, rule id) of every finding, sorted.
fn keys(recs: &[Value], root: &str) -> Vec<(String, String)> {
    let mut k: Vec<_> = of_type(recs, "finding")
        .iter()
        .map(|f| {
            let p = f["path"].as_str().unwrap();
            let rel = p.strip_prefix(root).unwrap_or(p).replace('\\', "/");
            (rel.trim_start_matches('/').to_owned(), f["rule"]["id"].as_str().unwrap().to_owned())
        })
        .collect();
    k.sort();
    k
}

/// A Velociraptor offline collection of `files` (auto accessor, or ntfs with the device path).
fn velociraptor_zip(files: &[(String, Vec<u8>)], ntfs: bool) -> Vec<u8> {
    let mut z = ZipWriter::new();
    let mut uploads = String::new();
    for (i, (path, data)) in files.iter().enumerate() {
        let enc: Vec<String> = path.split('/').map(|c| c.replace(' ', "%20")).collect();
        let member = if ntfs {
            format!("uploads/ntfs/%5C%5C.%5CC%3A/{}", enc.join("/"))
        } else {
            format!("uploads/auto/C%3A/{}", enc.join("/"))
        };
        z.add(&member, data, i % 2 == 0);
        uploads.push_str(&format!(
            "{{\"vfs_path\":\"C:\\\\{}\",\"file_size\":{}}}\n",
            path.replace('/', "\\\\"),
            data.len()
        ));
    }
    z.add("uploads.json", uploads.as_bytes(), true);
    z.add("log.json", b"{\"message\":\"collection done\"}\n", true);
    // Velociraptor's own results may name what the host holds; they are its metadata.
    z.add("results/Windows.Search.FileFinder.json", chopper().as_bytes(), true);
    z.finish()
}

#[test]
fn a_velociraptor_zip_a_kape_folder_and_plain_archives_give_the_same_findings_as_the_tree() {
    let t = Tree::new();
    let files = tree_files();
    for (p, d) in &files {
        t.file(format!("tree/{p}"), d);
        t.file(format!("kape/C/{p}"), d);
    }
    t.file("kape/2024-01-01T000000_CopyLog.csv", "SourceFile,DestinationFile\n");
    let zipped: Vec<(&str, &[u8])> =
        files.iter().map(|(p, d)| (p.as_str(), d.as_slice())).collect();
    let velo = t.file("Collection-HOST-2024.zip", velociraptor_zip(&files, false));
    let velo_ntfs = t.file("Collection-NTFS.zip", velociraptor_zip(&files, true));
    let plain_zip = t.file("plain.zip", zip(&zipped));
    let plain_tar = t.file("plain.tar", tar(&zipped));
    let plain_tgz = t.file("plain.tar.gz", gzip(&tar(&zipped)));

    let (code, dir) = scan(&[], &t.path("tree"));
    assert_eq!(code, 1);
    let want = keys(&dir, t.path("tree").to_str().unwrap());
    assert!(want.len() >= 2, "{want:?}");
    assert!(want.iter().any(|(p, _)| p == "inetpub/wwwroot/aspnet_client/help.aspx"), "{want:?}");

    for (target, root, collection, format) in [
        (&velo, None, Some("velociraptor"), "zip"),
        (&velo_ntfs, None, Some("velociraptor"), "zip"),
        (&t.path("kape"), None, Some("kape"), "directory"),
        (&plain_zip, Some(&plain_zip), None, "zip"),
        (&plain_tar, Some(&plain_tar), None, "tar"),
        (&plain_tgz, Some(&plain_tgz), None, "tar.gz"),
    ] {
        let (code, recs) = scan(&[], target);
        assert_eq!(code, 1, "{}: {recs:#?}", target.display());
        // A collector's member is under the drive; a plain archive's under the archive.
        let root = root.map_or_else(|| "C:".to_owned(), |r| r.to_str().unwrap().to_owned());
        assert_eq!(keys(&recs, &root), want, "{}", target.display());
        for f in of_type(&recs, "finding") {
            let p = &f["provenance"];
            assert_eq!(p["container"], target.to_str().unwrap(), "{p}");
            assert_eq!(p["container_format"], format, "{p}");
            assert_eq!(p.get("collection").and_then(Value::as_str), collection, "{p}");
            assert!(p["member"].is_string(), "{p}");
            if collection.is_some() {
                assert!(f["path"].as_str().unwrap().starts_with("C:\\"), "{f}");
            }
        }
        let summary = of_type(&recs, "summary")[0];
        assert_eq!(summary["counters"]["collections"], 1, "{summary}");
        assert_eq!(summary["complete"], true, "{summary}");
    }
    // The Velociraptor member and its path, exactly.
    let (_, recs) = scan(&[], &velo);
    let shell = of_type(&recs, "finding")
        .into_iter()
        .find(|f| f["path"] == r"C:\inetpub\wwwroot\aspnet_client\help.aspx")
        .expect("the shell under its Windows path");
    assert_eq!(
        shell["provenance"]["member"],
        "uploads/auto/C%3A/inetpub/wwwroot/aspnet_client/help.aspx"
    );
    let summary = of_type(&recs, "summary")[0];
    assert_eq!(
        summary["skipped"]["collector_metadata"], 3,
        "uploads.json, log.json, results: {summary}"
    );
    // The text view shows the Windows path and where it was found.
    let out = ferret().arg("scan").arg(&velo).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(r"C:\inetpub\wwwroot\aspnet_client\help.aspx"), "{text}");
    assert!(text.contains("(velociraptor zip), member uploads/auto/C%3A/inetpub"), "{text}");
}

#[test]
fn archives_in_a_walked_tree_are_read_and_excludes_apply_inside() {
    let t = Tree::new();
    let files = tree_files();
    t.file("host/evidence/Collection-HOST.zip", velociraptor_zip(&files, false));
    let (code, recs) = scan(&[], &t.path("host"));
    assert_eq!(code, 1, "{recs:#?}");
    let paths: Vec<&str> =
        of_type(&recs, "finding").iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert!(paths.contains(&r"C:\inetpub\wwwroot\aspnet_client\help.aspx"), "{paths:?}");
    let summary = of_type(&recs, "summary")[0];
    assert_eq!(summary["counters"]["nested_containers"], 1, "{summary}");

    let (_, recs) = scan(&["--no-archives"], &t.path("host"));
    let paths: Vec<&str> =
        of_type(&recs, "finding").iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert!(!paths.iter().any(|p| p.starts_with("C:")), "{paths:?}");

    // The host's path, matched without case as Windows does.
    let (_, recs) = scan(&["--exclude", "c:/INETPUB/**"], &t.path("host"));
    let paths: Vec<&str> =
        of_type(&recs, "finding").iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert!(!paths.iter().any(|p| p.contains("inetpub")), "{paths:?}");
    assert!(paths.iter().any(|p| p.contains("gracious_truth")), "{paths:?}");
}

/// Runs a scan over a hostile archive: never a crash; problems naming the archive; exit 3
/// unless a finding was made in what could be read.
fn hostile(t: &Tree, name: &str, bytes: Vec<u8>, want: &str) -> Vec<Value> {
    let path = t.file(name, bytes);
    let out = ferret().arg("scan").arg(&path).args(["--format", "jsonl"]).output().unwrap();
    let code = out.status.code().unwrap();
    let recs = records(&out.stdout);
    assert_eq!(code, 3, "{name}: {recs:#?}\n{}", String::from_utf8_lossy(&out.stderr));
    let problems = of_type(&recs, "problem");
    // A problem about the archive names it as its path; one about a member names the
    // member and, in its position, the archive.
    let names_archive = |p: &Value| {
        p["path"] == path.to_str().unwrap()
            || p["position"].as_str().is_some_and(|x| x.contains(path.to_str().unwrap()))
    };
    assert!(
        problems.iter().any(|p| names_archive(p) && p["reason"].as_str().unwrap().contains(want)),
        "{name}: {problems:#?}"
    );
    recs
}

#[test]
fn hostile_archives_are_problems_and_exit_three() {
    let t = Tree::new();
    // A bomb: 1 GiB of zeros declared from a few kilobytes; and a member whose data is
    // another member's (the overlap of non-recursive bombs).
    let zeros = vec![0u8; 8 << 20];
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut e, &zeros).unwrap();
    let body = e.finish().unwrap();
    let mut z = ZipWriter::new();
    z.add_raw("zeros.bin", &body, 8, 1 << 30, 0);
    hostile(&t, "bomb.zip", z.finish(), "ratio over 1000");
    let mut z = ZipWriter::new();
    z.add("a.txt", b"some text that is harmless", true);
    z.add_alias("b.txt", 0, 20, 26);
    hostile(&t, "overlap.zip", z.finish(), "overlaps another member");

    // Traversal, absolute and NUL names, and a name twice: read in place, named.
    let mut z = ZipWriter::new();
    z.add("../../etc/cron.d/x", b"harmless", true);
    z.add("/etc/passwd", b"harmless", false);
    z.add(b"a\0b".as_slice(), b"harmless", false);
    z.add("same.txt", b"one", false);
    z.add("same.txt", b"two", false);
    let recs = hostile(&t, "names.zip", z.finish(), "path traversal");
    let reasons: String = of_type(&recs, "problem")
        .iter()
        .map(|p| p["reason"].as_str().unwrap().to_owned())
        .collect();
    for want in ["absolute path", "NUL byte", "a second member of this name"] {
        assert!(reasons.contains(want), "{want}: {reasons}");
    }
    assert!(!t.root().join("etc").exists() && !Path::new("/etc/cron.d/x").exists());
    let tar_names = tar(&[("../escape.txt", b"harmless".as_slice())]);
    hostile(&t, "names.tar", tar_names, "path traversal");

    // Truncated: a zip cut before its central directory, a tar cut inside a member, a tar.gz
    // cut inside its stream.
    let whole = zip(&[("a.txt", b"hello hello hello".as_slice()), ("b.txt", b"more".as_slice())]);
    let mut cut = whole[..whole.len() - 30].to_vec();
    cut.extend_from_slice(&[0u8; 7]);
    hostile(&t, "cut.zip", cut, "zip:");
    // Noise (not compressible), so the cut falls inside the second member.
    let mut x: u32 = 7;
    let big: Vec<u8> = (0..50_000)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            x.to_le_bytes()[2]
        })
        .collect();
    let whole = tar(&[("a.txt", big.as_slice()), ("b.txt", big.as_slice())]);
    hostile(&t, "cut.tar", whole[..30_000].to_vec(), "truncated");
    let gz = gzip(&tar(&[("a.txt", big.as_slice()), ("b.txt", big.as_slice())]));
    hostile(&t, "cut.tar.gz", gz[..gz.len() * 3 / 4].to_vec(), "tar.gz:");
}

const V15: &str = "Program Files/Microsoft/Exchange Server/V15";
const IIS_HEADER: &str = "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n";
const SHELL_PATH: &str =
    r"C:\Program Files\Microsoft\Exchange Server\V15\FrontEnd\HttpProxy\owa\auth\errorPages.aspx";

/// An Exchange server's drive (the check tests' fake host): the product's pages, IIS logs of
/// ordinary traffic, and with `shell` a web shell dropped where ProxyLogon's were.
fn exchange(shell: bool) -> Vec<(String, Vec<u8>)> {
    let mut files = vec![
        (
            format!("{V15}/FrontEnd/HttpProxy/owa/auth/logon.aspx"),
            b"<%@ Page Language=\"C#\" %>sign in".to_vec(),
        ),
        (
            "inetpub/wwwroot/aspnet_client/system_web/4_0_30319/readme.txt".to_owned(),
            b"client files".to_vec(),
        ),
    ];
    let mut log = IIS_HEADER.to_owned();
    for i in 0..10 {
        log.push_str(&format!(
            "2021-02-01 10:00:0{i} 10.0.0.2 GET /owa/ - 443 - 192.0.2.{i} Mozilla/5.0+(Windows+NT+10.0) - 200 0 0 5\n"
        ));
    }
    files.push(("inetpub/logs/LogFiles/W3SVC1/u_ex210201.log".to_owned(), log.into_bytes()));
    if shell {
        let pieces = [
            ">tpircs/<};)\"efasnu\",]\"k\"[tseuqeR(lave{",
            ")(daoL_egaP noitcnuf>\"revres\"=tanu",
            "r \"tpircSJ\"=egaugnal tpircs<",
        ];
        let text: String =
            pieces.iter().rev().map(|p| p.chars().rev().collect::<String>()).collect();
        files.push((
            format!("{V15}/FrontEnd/HttpProxy/owa/auth/errorPages.aspx"),
            text.into_bytes(),
        ));
    }
    files
}

fn check(target: &Path) -> (i32, Vec<Value>) {
    let out = ferret().args(["check", "-q", "--format", "jsonl"]).arg(target).output().unwrap();
    (out.status.code().unwrap(), records(&out.stdout))
}

/// The campaign verdicts of a check run, and the paths of its findings.
fn verdict(recs: &[Value]) -> (String, Vec<String>) {
    let summary = of_type(recs, "summary")[0];
    let v = summary["details"]["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["campaign"] == "proxylogon")
        .unwrap_or_else(|| panic!("no proxylogon verdict: {summary}"));
    let paths = of_type(recs, "finding")
        .iter()
        .filter_map(|f| f["path"].as_str().map(str::to_owned))
        .collect();
    (v["verdict"].as_str().unwrap().to_owned(), paths)
}

fn assert_affected_and_not_found(target: impl Fn(bool) -> std::path::PathBuf) {
    let (code, recs) = check(&target(true));
    assert_eq!(code, 1, "{recs:#?}");
    let (v, paths) = verdict(&recs);
    assert_eq!(v, "affected", "{recs:#?}");
    assert!(paths.iter().any(|p| p == SHELL_PATH), "{paths:?}");
    let shell = of_type(&recs, "finding").into_iter().find(|f| f["path"] == SHELL_PATH).unwrap();
    assert!(shell["rule"]["id"].as_str().unwrap().contains("PL006"), "{shell}");
    assert!(shell["provenance"]["container"].is_string(), "{shell}");

    let (code, recs) = check(&target(false));
    let (v, _) = verdict(&recs);
    assert_eq!((code, v.as_str()), (0, "not_found"), "{recs:#?}");
}

#[test]
fn check_finds_the_shell_of_an_exchange_server_in_a_velociraptor_zip() {
    let t = Tree::new();
    assert_affected_and_not_found(|shell| {
        let name = if shell { "Collection-EXCH.zip" } else { "Collection-EXCH-clean.zip" };
        t.file(name, velociraptor_zip(&exchange(shell), true))
    });
    // And in a KAPE folder of the same drive.
    assert_affected_and_not_found(|shell| {
        let root = if shell { "kape-shell" } else { "kape-clean" };
        for (p, d) in exchange(shell) {
            t.file(format!("{root}/C/{p}"), d);
        }
        t.path(root)
    });
}

/// An NTFS volume holding `files` in their folders (ntfs-3g's FUSE mount), in a GPT disk.
fn ntfs_disk(t: &Tree, name: &str, files: &[(String, Vec<u8>)]) -> Option<std::path::PathBuf> {
    if !ferret_testkit::require(
        "ntfs-3g's mkntfs (Debian package ntfs-3g)",
        ferret_testkit::disk::ntfs_tools(),
    ) {
        return None;
    }
    let vol = t.path(format!("{name}.vol"));
    let mut v = ferret_testkit::disk::NtfsVolume::new(&vol, 24, false);
    let filled = v.tree(files);
    if !ferret_testkit::require(
        format!("ntfs-3g's FUSE mount to fill a volume ({:?})", filled.as_ref().err()),
        filled.is_ok(),
    ) {
        return None;
    }
    let disk = t.path(format!("{name}.img"));
    ferret_testkit::disk::gpt_disk(&disk, &[&vol], true);
    Some(disk)
}

#[test]
fn check_finds_the_shell_of_an_exchange_server_in_an_ntfs_image() {
    let t = Tree::new();
    let (Some(bad), Some(good)) =
        (ntfs_disk(&t, "exch", &exchange(true)), ntfs_disk(&t, "exch-clean", &exchange(false)))
    else {
        return;
    };
    assert_affected_and_not_found(|shell| if shell { bad.clone() } else { good.clone() });
}

fn hunt(target: &Path) -> (i32, Vec<Value>) {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sigma");
    let out = ferret()
        .args(["hunt", "--format", "jsonl", "--sigma"])
        .arg(rules)
        .arg(target)
        .output()
        .unwrap();
    (out.status.code().unwrap(), records(&out.stdout))
}

#[test]
fn hunt_reads_evtx_and_logs_inside_a_collection_and_an_image_as_in_the_folder() {
    let Some(corpus) = ferret_testkit::require_corpus() else { return };
    let evtx = std::fs::read(
        corpus.join("evtx-attack-samples/Defense Evasion/DE_104_system_log_cleared.evtx"),
    )
    .unwrap();
    let iis = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../ferret-logs/tests/data/logs/w3c_iis.log"),
    )
    .unwrap();
    let files = vec![
        ("Windows/System32/winevt/Logs/System.evtx".to_owned(), evtx),
        ("inetpub/logs/LogFiles/W3SVC1/u_ex210302.log".to_owned(), iis),
    ];
    let t = Tree::new();
    for (p, d) in &files {
        t.file(format!("tree/{p}"), d);
    }
    let (code, dir) = hunt(&t.path("tree"));
    assert_eq!(code, 1, "{dir:#?}");
    let events = |recs: &[Value]| of_type(recs, "summary")[0]["counters"]["events_read"].clone();
    let want = keys(&dir, t.path("tree").to_str().unwrap());
    assert!(!want.is_empty());
    // The cleared-log record of the EVTX and the IIS lines.
    assert!(events(&dir).as_u64().unwrap() >= 2, "{dir:#?}");
    let kinds = &of_type(&dir, "summary")[0]["details"]["files_by_kind"];
    assert_eq!(kinds["windows"], 1, "the EVTX was read: {kinds}");

    let mut targets = vec![t.file("c.zip", velociraptor_zip(&files, false))];
    targets.extend(ntfs_disk(&t, "logs", &files));
    for target in targets {
        let (code, recs) = hunt(&target);
        assert_eq!(code, 1, "{}: {recs:#?}", target.display());
        assert_eq!(keys(&recs, "C:"), want, "{}", target.display());
        assert_eq!(events(&recs), events(&dir), "{}", target.display());
        assert_eq!(&of_type(&recs, "summary")[0]["details"]["files_by_kind"], kinds);
        for f in of_type(&recs, "finding") {
            assert_eq!(f["provenance"]["container"], target.to_str().unwrap(), "{f}");
        }
    }
}

#[test]
fn disk_images_in_a_walked_tree_are_opened_only_with_open_containers() {
    if !ferret_testkit::require(
        "ntfs-3g's mkntfs and ntfscp (Debian package ntfs-3g)",
        ferret_testkit::disk::ntfs_tools(),
    ) {
        return;
    }
    let t = Tree::new();
    let vol = t.path("vol.img");
    let mut v = ferret_testkit::disk::NtfsVolume::new(&vol, 16, false);
    v.file("help.aspx", chopper().as_bytes());
    t.dir("host/vms");
    ferret_testkit::disk::gpt_disk(&t.path("host/vms/disk.img"), &[&vol], true);
    let windows = |recs: &[Value]| {
        of_type(recs, "finding").iter().filter(|f| f["path"] == r"C:\help.aspx").count()
    };
    let (_, recs) = scan(&[], &t.path("host"));
    assert_eq!(windows(&recs), 0, "not opened without the option: {recs:#?}");
    let (code, recs) = scan(&["--open-containers"], &t.path("host"));
    assert_eq!(code, 1);
    assert_eq!(windows(&recs), 1, "{recs:#?}");
    let summary = of_type(&recs, "summary")[0];
    assert_eq!(summary["counters"]["nested_containers"], 1, "{summary}");
}
