//! The read-only guarantee: every verb that examines a tree leaves it bit-for-bit unchanged:
//! the set of entries, each file's content (SHA-256), type, mode, owner, group, size, mtime
//! and ctime, and each regular file's atime (ferret opens files with `O_NOATIME`, and the
//! fixture's atimes are set older than their mtimes so that any other read would move them
//! even on a `relatime` mount).
//!
//! To cover a new verb, add one line to [`VERBS`].

#![expect(clippy::disallowed_methods, reason = "the test builds its fixture tree")]

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Read as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use assert_cmd::Command;
use sha2::{Digest as _, Sha256};

/// What a verb gets to work with: the examined tree, and a separate folder for its output.
struct Fixture {
    tree: PathBuf,
    out: PathBuf,
    sigma: PathBuf,
}

impl Fixture {
    fn out(&self, name: &str) -> OsString {
        self.out.join(name).into_os_string()
    }
}

/// One examining verb: its name and its arguments against the fixture. Verbs run in this
/// order, so a verb may use what an earlier one wrote into the output folder.
type Verb = (&'static str, fn(&Fixture) -> Vec<OsString>);

/// Every verb that examines a tree.
const VERBS: &[Verb] = &[
    #[cfg(feature = "scan")]
    ("scan", |f| {
        args(
            &["scan", "--no-builtin", "--no-cache", "-q", "--rules"],
            &[f.out("m.yar"), f.tree.clone().into()],
        )
    }),
    #[cfg(feature = "scan")]
    ("scan -L", |f| {
        args(
            &["scan", "-L", "--low-priority", "-q", "-j", "3", "--rules"],
            &[f.out("m.yar"), f.tree.clone().into()],
        )
    }),
    ("baseline", |f| {
        args(&["baseline", "-q", "-o"], &[f.out("m1.manifest"), f.tree.clone().into()])
    }),
    ("baseline again", |f| {
        args(
            &["baseline", "-q", "--hash", "blake3", "-o"],
            &[f.out("m2.manifest"), f.tree.clone().into()],
        )
    }),
    ("verify", |f| {
        args(
            &["verify", "--allow-unsigned", "-q", "-m"],
            &[f.out("m1.manifest"), f.tree.clone().into()],
        )
    }),
    ("diff", |f| {
        args(&["diff", "--allow-unsigned", "-q"], &[f.out("m1.manifest"), f.out("m1.manifest")])
    }),
    ("hunt", |f| {
        args(&["hunt", "-q", "--sigma"], &[f.sigma.clone().into(), f.tree.clone().into()])
    }),
    ("check", |f| args(&["check", "-q"], &[f.tree.clone().into()])),
];

fn args(fixed: &[&str], rest: &[OsString]) -> Vec<OsString> {
    fixed.iter().map(OsString::from).chain(rest.iter().cloned()).collect()
}

/// Everything about one entry that reading must not change.
#[derive(Debug, PartialEq, Eq)]
struct State {
    kind: u32,
    mode: u32,
    uid: u32,
    gid: u32,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    /// Regular files only (listing a directory may legitimately move its atime).
    atime: Option<(i64, i64)>,
    /// Regular files: SHA-256 of the content; symlinks: the target.
    content: Vec<u8>,
}

fn snapshot(root: &Path) -> BTreeMap<PathBuf, State> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let m = std::fs::symlink_metadata(&p).unwrap();
        let ft = m.file_type();
        let content = if ft.is_file() {
            // Read like ferret does (O_NOATIME), so the snapshot itself moves no atime.
            let (mut file, _) = ferret_fs::open_read_only(&p).unwrap();
            let mut buf = Vec::new();
            file.read_to_end(&mut buf).unwrap();
            Sha256::digest(&buf).to_vec()
        } else if ft.is_symlink() {
            std::fs::read_link(&p).unwrap().into_os_string().into_encoded_bytes()
        } else {
            Vec::new()
        };
        if ft.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        }
        // Stat again after the read: a read that moved the atime shows up here.
        let m2 = std::fs::symlink_metadata(&p).unwrap();
        let state = State {
            kind: m.mode() & libc::S_IFMT,
            mode: m.mode(),
            uid: m.uid(),
            gid: m.gid(),
            size: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
            atime: ft.is_file().then(|| (m2.atime(), m2.atime_nsec())),
            content,
        };
        out.insert(p.strip_prefix(root).unwrap().to_path_buf(), state);
    }
    out
}

const ACCESS_LOG: &str = "203.0.113.7 - - [03/Mar/2021:01:02:03 +0000] \"GET /index.html HTTP/1.1\" 200 512 \"-\" \"Mozilla/5.0\"\n\
198.51.100.9 - admin [03/Mar/2021:01:02:04 +0100] \"GET /dana-na/x HTTP/1.1\" 200 1024 \"-\" \"curl/7.68.0\"\n";

fn build_tree(tree: &Path) {
    let put = |rel: &str, data: &[u8]| {
        let p = tree.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, data).unwrap();
    };
    put("etc/app.conf", b"a=1\n");
    put("usr/bin/tool", b"\x7fELF not really");
    put("var/log/access.log", ACCESS_LOG.as_bytes());
    let mut marked = b"prefix ".to_vec();
    marked.extend(ferret_testkit::eicar_like());
    put("srv/www/planted.bin", &marked);
    std::os::unix::fs::symlink("../etc/app.conf", tree.join("usr/conf-link")).unwrap();
    std::os::unix::fs::symlink("/proc", tree.join("proc-link")).unwrap();
    let fifo = std::process::Command::new("mkfifo").arg(tree.join("var/pipe")).status().unwrap();
    assert!(fifo.success());
    // Old atimes (older than the mtimes), so any read without O_NOATIME moves them.
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    for rel in ["etc/app.conf", "usr/bin/tool", "var/log/access.log", "srv/www/planted.bin"] {
        let f = std::fs::File::options().write(true).open(tree.join(rel)).unwrap();
        f.set_times(std::fs::FileTimes::new().set_accessed(old)).unwrap();
    }
}

#[test]
fn every_examining_verb_leaves_the_tree_unchanged() {
    let work = tempfile::tempdir().unwrap();
    let f = Fixture {
        tree: work.path().join("tree"),
        out: work.path().join("out"),
        sigma: Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sigma"),
    };
    std::fs::create_dir_all(&f.out).unwrap();
    std::fs::write(
        f.out.join("m.yar"),
        "rule marker { strings: $m = \"TEST-MARKER\" condition: $m }",
    )
    .unwrap();
    build_tree(&f.tree);
    let before = snapshot(&f.tree);
    assert!(before.len() >= 10, "{before:?}");
    // ferret's own state would go under $HOME or the XDG folders: nothing may appear there.
    let home = work.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    for (name, verb) in VERBS {
        let out = Command::cargo_bin("ferret")
            .unwrap()
            .env("HOME", &home)
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_STATE_HOME", home.join(".local/state"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env_remove("FERRET_CONFIG_DIR")
            .env_remove("FERRET_SPOOL_DIR")
            .args(verb(&f))
            .timeout(Duration::from_secs(120))
            .output()
            .unwrap();
        let code = out.status.code();
        assert!(
            matches!(code, Some(0 | 1 | 3)),
            "{name}: exit {code:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let after = snapshot(&f.tree);
        for (path, was) in &before {
            assert_eq!(after.get(path), Some(was), "{name} changed {}", path.display());
        }
        assert_eq!(after.len(), before.len(), "{name} added entries to the tree");
        let state: Vec<_> =
            snapshot(&home).into_keys().filter(|p| !p.as_os_str().is_empty()).collect();
        assert!(state.is_empty(), "{name} wrote under $HOME or the XDG folders: {state:?}");
    }
}

/// An output that is a FIFO (like `/dev/null`, `/dev/stdout` or a shell's pipe: not a regular
/// file) is written in place and stays what it was: renaming a finished report over it, as
/// for a regular file, would replace a device with a file. A manifest to be signed must be a
/// regular file (it is read back), and saying so costs nothing.
#[test]
fn an_output_that_is_a_fifo_is_written_in_place() {
    use std::os::unix::fs::FileTypeExt as _;
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("a.txt"), b"hello").unwrap();
    let fifo = dir.path().join("out.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let runs: [&[&str]; 3] = [
        &["scan", "-q", "--no-cache", "--format", "jsonl", "-o"],
        &["check", "-q", "--format", "jsonl", "-o"],
        &["baseline", "-q", "-o"],
    ];
    for fixed in runs {
        // The reader sends what it read; a ferret that never opens the FIFO leaves it
        // blocked, which the timeout below turns into a failure rather than a hang.
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let fifo = fifo.clone();
            std::thread::spawn(move || tx.send(std::fs::read(fifo).unwrap()));
        }
        let out = Command::cargo_bin("ferret")
            .unwrap()
            .args(fixed)
            .arg(&fifo)
            .arg(&tree)
            .timeout(Duration::from_secs(120))
            .output()
            .unwrap();
        let got = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("{fixed:?}: the FIFO was never written: {out:?}"));
        let code = out.status.code();
        assert!(matches!(code, Some(0 | 1 | 3)), "{fixed:?}: {code:?} {out:?}");
        let text = String::from_utf8_lossy(&got);
        assert!(!text.trim().is_empty(), "{fixed:?}: nothing came through the FIFO");
        assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "{fixed:?}");
        let strays: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n != "tree" && n != "out.fifo")
            .collect();
        assert!(strays.is_empty(), "{fixed:?}: {strays:?}");
    }
    let key = dir.path().join("k.key");
    let keygen =
        Command::cargo_bin("ferret").unwrap().args(["keygen", "-o"]).arg(&key).output().unwrap();
    assert!(keygen.status.success(), "{keygen:?}");
    let signed = Command::cargo_bin("ferret")
        .unwrap()
        .args(["baseline", "-q", "--sign"])
        .arg(&key)
        .arg("-o")
        .arg(&fifo)
        .arg(&tree)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(signed.status.code(), Some(2), "{signed:?}");
    assert!(String::from_utf8_lossy(&signed.stderr).contains("device or a pipe"), "{signed:?}");
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
}
