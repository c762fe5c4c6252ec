//! baseline → verify: clean when nothing changed, and every single mutation (content with
//! the same size and mtime, chmod, chown, added, removed, symlink retarget, file replaced by
//! a directory, xattr change) reported exactly once — over random small trees.

#![expect(clippy::disallowed_methods, reason = "tests build and mutate fixture trees")]

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use common::{key, manifest_of, put, run_verify, sign_manifest};
use ferret_integrity::verify::Trust;
use ferret_integrity::{HashAlgorithm, Policy};
use proptest::prelude::*;

const DIRS: [&str; 4] = ["", "d0", "d1", "d0/e"];

#[derive(Debug, Clone)]
struct Spec {
    files: BTreeMap<String, (Vec<u8>, u32)>,
    links: BTreeMap<String, String>,
}

fn spec() -> impl Strategy<Value = Spec> {
    let file = (
        0..DIRS.len(),
        "[a-z]{1,3}",
        prop::collection::vec(any::<u8>(), 1..64),
        prop::sample::select(vec![0o644u32, 0o755, 0o600]),
    );
    let link = (0..DIRS.len(), "[a-z]{1,3}", "[a-z./]{1,8}");
    (prop::collection::vec(file, 1..8), prop::collection::vec(link, 1..4)).prop_map(|(fs, ls)| {
        let at = |d: usize, n: &str| {
            if DIRS[d].is_empty() { n.to_owned() } else { format!("{}/{n}", DIRS[d]) }
        };
        Spec {
            files: fs.into_iter().map(|(d, n, c, m)| (at(d, &format!("f_{n}")), (c, m))).collect(),
            links: ls.into_iter().map(|(d, n, t)| (at(d, &format!("l_{n}")), t)).collect(),
        }
    })
}

fn build(root: &Path, s: &Spec) {
    for d in DIRS {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    for (p, (c, m)) in &s.files {
        put(root, p, c);
        std::fs::set_permissions(root.join(p), std::fs::Permissions::from_mode(*m)).unwrap();
    }
    for (p, t) in &s.links {
        std::os::unix::fs::symlink(t, root.join(p)).unwrap();
    }
}

#[derive(Debug, Clone, Copy)]
enum Mutation {
    Content,
    Chmod,
    Chown,
    Added,
    Removed,
    Retarget,
    FileToDir,
    Xattr,
}

/// Applies a mutation; returns the rule id expected, or `None` when the platform does not
/// allow it here (not root, no xattr support).
fn mutate(root: &Path, s: &Spec, m: Mutation, pick: prop::sample::Index) -> Option<&'static str> {
    let files: Vec<&String> = s.files.keys().collect();
    let file = root.join(pick.get(&files));
    match m {
        Mutation::Content => {
            let meta = std::fs::metadata(&file).unwrap();
            let old: Vec<u8> = std::fs::read(&file).unwrap();
            let new: Vec<u8> = old.iter().map(|b| b ^ 0xff).collect();
            std::fs::write(&file, &new).unwrap();
            let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
            f.set_times(std::fs::FileTimes::new().set_modified(meta.modified().unwrap())).unwrap();
            let after = std::fs::metadata(&file).unwrap();
            assert_eq!((after.len(), after.mtime()), (meta.len(), meta.mtime()));
            Some("INT001")
        }
        Mutation::Chmod => {
            let mode = std::fs::metadata(&file).unwrap().mode() & 0o7777;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode ^ 0o010)).unwrap();
            Some("INT006")
        }
        Mutation::Chown => {
            let uid = std::fs::metadata(&file).unwrap().uid();
            std::os::unix::fs::lchown(&file, Some(uid + 4242), None).ok().map(|()| "INT007")
        }
        Mutation::Added => {
            put(root, "d1/zz_new", b"new");
            Some("INT002")
        }
        Mutation::Removed => {
            std::fs::remove_file(&file).unwrap();
            Some("INT003")
        }
        Mutation::Retarget => {
            let links: Vec<&String> = s.links.keys().collect();
            let link = root.join(pick.get(&links));
            std::fs::remove_file(&link).unwrap();
            std::os::unix::fs::symlink("elsewhere/target", &link).unwrap();
            Some("INT005")
        }
        Mutation::FileToDir => {
            std::fs::remove_file(&file).unwrap();
            std::fs::create_dir(&file).unwrap();
            Some("INT004")
        }
        Mutation::Xattr => xattr::set(&file, "security.selinux", b"system_u:object_r:etc_t:s0\0")
            .ok()
            .map(|()| "INT008"),
    }
}

#[test]
fn unchanged_tree_verifies_clean_signed_and_zstd() {
    let d = tempfile::tempdir().unwrap();
    put(d.path(), "usr/bin/tool", b"binary");
    put(d.path(), "etc/conf", b"x=1");
    std::os::unix::fs::symlink("tool", d.path().join("usr/bin/alias")).unwrap();
    let policy = Policy::empty();
    let kp = key();
    for (hash, zstd) in [(HashAlgorithm::Sha256, false), (HashAlgorithm::Blake3, true)] {
        let bytes = manifest_of(d.path(), &policy, hash, zstd);
        let trust =
            Trust::Signed { public_key: kp.public.clone(), signature: sign_manifest(&kp, &bytes) };
        let (findings, problems, summary) = run_verify(d.path(), &bytes, &trust, &policy).unwrap();
        assert!(findings.is_empty(), "{findings:?}");
        assert!(problems.is_empty());
        assert_eq!(summary.details["authenticated"], true);
        assert_eq!(summary.details["key_id"], kp.key_id.as_str());
        assert_eq!(summary.counter("entries_checked"), 7);
    }
}

#[test]
fn unsigned_run_marks_every_finding() {
    let d = tempfile::tempdir().unwrap();
    put(d.path(), "a", b"1");
    let policy = Policy::empty();
    let bytes = manifest_of(d.path(), &policy, HashAlgorithm::Sha256, false);
    put(d.path(), "b", b"2");
    let (findings, _, summary) = run_verify(d.path(), &bytes, &Trust::Unsigned, &policy).unwrap();
    assert_eq!(findings.len(), 1);
    assert!(findings[0].message.as_deref().unwrap().contains("UNAUTHENTICATED"));
    assert!(!summary.not_checked.is_empty());
}

#[test]
fn builtin_policy_tolerates_logs_but_not_binaries() {
    let d = tempfile::tempdir().unwrap();
    put(d.path(), "var/log/syslog", b"line 1\n");
    put(d.path(), "usr/bin/ls", b"elf");
    let policy = Policy::builtin();
    let bytes = manifest_of(d.path(), &policy, HashAlgorithm::Sha256, false);
    put(d.path(), "var/log/syslog", b"line 1\nline 2\n");
    put(d.path(), "var/log/syslog.1", b"rotated");
    put(d.path(), "proc/1/status", b"excluded");
    let (findings, _, _) = run_verify(d.path(), &bytes, &Trust::Unsigned, &policy).unwrap();
    assert!(findings.is_empty(), "{findings:?}");
    put(d.path(), "usr/bin/ls", b"evil");
    std::fs::set_permissions(d.path().join("usr/bin/ls"), std::fs::Permissions::from_mode(0o4755))
        .unwrap();
    let (findings, _, _) = run_verify(d.path(), &bytes, &Trust::Unsigned, &policy).unwrap();
    let ids: Vec<&str> = findings.iter().map(|f| f.rule.id.as_str()).collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains(&"INT001") && ids.contains(&"INT006"));
    assert!(findings.iter().all(|f| f.score >= 80));
}

#[test]
fn new_setuid_file_scores_high() {
    let d = tempfile::tempdir().unwrap();
    put(d.path(), "usr/bin/ls", b"elf");
    let policy = Policy::empty();
    let bytes = manifest_of(d.path(), &policy, HashAlgorithm::Sha256, false);
    put(d.path(), "home/u/.x", b"sh");
    std::fs::set_permissions(d.path().join("home/u/.x"), std::fs::Permissions::from_mode(0o4755))
        .unwrap();
    let (findings, _, _) = run_verify(d.path(), &bytes, &Trust::Unsigned, &policy).unwrap();
    let suid = findings.iter().find(|f| f.path.as_ref().unwrap().lossy().ends_with(".x")).unwrap();
    assert!(suid.score >= 85, "{suid:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn each_single_mutation_is_reported_exactly_once(
        s in spec(),
        m in prop::sample::select(vec![
            Mutation::Content, Mutation::Chmod, Mutation::Chown, Mutation::Added,
            Mutation::Removed, Mutation::Retarget, Mutation::FileToDir, Mutation::Xattr,
        ]),
        pick in any::<prop::sample::Index>(),
    ) {
        let d = tempfile::tempdir().unwrap();
        build(d.path(), &s);
        let policy = Policy::empty();
        let bytes = manifest_of(d.path(), &policy, HashAlgorithm::Sha256, false);
        let (clean, _, _) = run_verify(d.path(), &bytes, &Trust::Unsigned, &policy).unwrap();
        prop_assert!(clean.is_empty(), "clean tree reported {:?}", clean);
        let Some(expected) = mutate(d.path(), &s, m, pick) else { return Ok(()) };
        let (findings, problems, _) = run_verify(d.path(), &bytes, &Trust::Unsigned, &policy).unwrap();
        prop_assert!(problems.is_empty(), "{:?}", problems);
        let ids: Vec<&str> = findings.iter().map(|f| f.rule.id.as_str()).collect();
        prop_assert_eq!(ids, vec![expected], "mutation {:?}", m);
    }
}
