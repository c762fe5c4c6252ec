//! Compiling YARA sources, with an opt-in cache of compiled rules keyed by the sources' hash.
//!
//! The cache is off unless the operator names its folder (`--cache-dir`): by default ferret
//! compiles in memory and writes nothing on the host it examines. The key is SHA-256 over
//! [`YARA_X_VERSION`], the external variable names and every source (name and bytes, in
//! order). A cache file is `FERRET-YARA-CACHE 1\n`, the SHA-256 of the payload in hex, a
//! newline, then the payload (yara-x's serialized rules); the hash is checked before the
//! payload is given to yara-x, and a file that fails the check is reported, rebuilt and
//! rewritten. Only error-free compiles are cached, so problems are always reported afresh.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use ferret_core::{Problem, ProblemKind};
use sha2::{Digest, Sha256};

use crate::yara::{EXTERNALS, YaraSource, render_compile_error};

/// A compiled set and how many source files failed to compile.
pub(crate) struct Compiled {
    pub(crate) rules: yara_x::Rules,
    /// The sources (by load index) that did not compile.
    pub(crate) failed: Vec<usize>,
}

/// The yara-x release ferret links: it keys the compiled-rule cache and the bundle format
/// (serialized rules load only into the release that wrote them). A test checks it against
/// `Cargo.lock`.
pub const YARA_X_VERSION: &str = "1.22.1";

const CACHE_MAGIC: &[u8] = b"FERRET-YARA-CACHE 1\n";

fn key(sources: &[(usize, &YaraSource)]) -> String {
    let mut h = Sha256::new();
    h.update(YARA_X_VERSION.as_bytes());
    for e in EXTERNALS {
        h.update(e.as_bytes());
    }
    for (i, s) in sources {
        h.update((*i as u64).to_le_bytes());
        h.update((s.name.len() as u64).to_le_bytes());
        h.update(s.name.as_bytes());
        h.update((s.text.len() as u64).to_le_bytes());
        h.update(&s.text);
    }
    hex::encode(h.finalize())
}

/// The payload of a cache file whose recorded hash holds, or why not.
fn checked_payload(bytes: &[u8]) -> Result<&[u8], &'static str> {
    let rest = bytes.strip_prefix(CACHE_MAGIC).ok_or("not a ferret rule cache file")?;
    let hex_len = 64;
    let (digest, payload) = match (rest.get(..hex_len), rest.get(hex_len..)) {
        (Some(d), Some(p)) => (d, p.strip_prefix(b"\n").ok_or("malformed header")?),
        _ => return Err("truncated"),
    };
    let actual = hex::encode(Sha256::digest(payload));
    if actual.as_bytes() == digest { Ok(payload) } else { Err("content hash mismatch") }
}

/// Compiles `sources` (one namespace per source, named after the source and its index in
/// the load order), or loads them from the cache in `cache_dir`. The cache file used is
/// added to `own_files`.
pub(crate) fn compile_cached(
    sources: &[(usize, &YaraSource)],
    cache_dir: Option<&Path>,
    problems: &mut Vec<Problem>,
    own_files: &mut Vec<PathBuf>,
) -> Compiled {
    let file = cache_dir.map(|d| d.join(format!("yara-{}.bin", key(sources))));
    if let Some(f) = &file
        && let Ok(bytes) = read_cache(f)
    {
        match checked_payload(&bytes) {
            Ok(payload) => {
                if let Ok(rules) = yara_x::Rules::deserialize(payload) {
                    own_files.push(f.clone());
                    return Compiled { rules, failed: Vec::new() };
                }
                problems.push(cache_problem(f, "yara-x could not load it"));
            }
            Err(why) => problems.push(cache_problem(f, why)),
        }
    }
    let compiled = compile(sources, problems);
    if compiled.failed.is_empty()
        && let Some(f) = &file
        && let Ok(bytes) = compiled.rules.serialize()
    {
        store(f, &bytes);
        own_files.push(f.clone());
    }
    compiled
}

fn cache_problem(path: &Path, why: &str) -> Problem {
    Problem::at(
        ProblemKind::Skipped,
        path,
        format!(
            "compiled-rule cache file not used ({why}); rules compiled again and the file rewritten"
        ),
    )
}

fn read_cache(path: &Path) -> std::io::Result<Vec<u8>> {
    let (mut f, _) = ferret_fs::open_read_only(path).map_err(std::io::Error::other)?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut f, &mut bytes)?;
    Ok(bytes)
}

#[expect(
    clippy::disallowed_methods,
    reason = "ferret's own cache directory, named by the operator, never the examined tree"
)]
fn store(path: &Path, payload: &[u8]) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let digest = hex::encode(Sha256::digest(payload));
    let ok = std::fs::File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(CACHE_MAGIC)?;
            f.write_all(digest.as_bytes())?;
            f.write_all(b"\n")?;
            f.write_all(payload)?;
            f.sync_all()
        })
        .is_ok();
    if ok {
        let _ = std::fs::rename(&tmp, path);
    } else {
        let _ = std::fs::remove_file(&tmp);
    }
}

pub(crate) fn namespace(name: &str, i: usize) -> String {
    let stem = name.rsplit(['/', '\\', ':']).next().unwrap_or(name);
    let stem = stem.split('.').next().unwrap_or(stem);
    let mut ns: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    if ns.is_empty() || ns.starts_with(|c: char| c.is_ascii_digit()) {
        ns.insert(0, 'r');
    }
    format!("{ns}_{i}")
}

fn compile(sources: &[(usize, &YaraSource)], problems: &mut Vec<Problem>) -> Compiled {
    let mut c = yara_x::Compiler::new();
    for e in EXTERNALS {
        // Declaring a string global cannot fail for these fixed, valid names.
        let _ = c.define_global(e, "");
    }
    let mut failed = Vec::new();
    for &(i, s) in sources {
        c.new_namespace(&namespace(&s.name, i));
        let src = yara_x::SourceCode::from(s.text.as_slice()).with_origin(s.name.as_str());
        if let Err(err) = c.add_source(src) {
            failed.push(i);
            let (position, reason) = render_compile_error(&err);
            let mut p = Problem::at(
                ProblemKind::RuleLoad,
                s.name.as_str(),
                format!("{reason}; rules with errors in this file are left out"),
            );
            p.position = position;
            problems.push(p);
        }
    }
    Compiled { rules: c.build(), failed }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_constant_matches_the_lock_file() {
        let lock = include_str!("../../../Cargo.lock");
        let locked = lock
            .split("[[package]]")
            .find(|p| p.contains("\nname = \"yara-x\"\n"))
            .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
            .map(|v| v.trim_end_matches('"'));
        assert_eq!(locked, Some(YARA_X_VERSION));
    }

    #[test]
    #[expect(clippy::disallowed_methods, reason = "the test corrupts its own cache file")]
    fn a_tampered_cache_file_is_reported_and_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let source = YaraSource {
            name: "t.yar".into(),
            text: b"rule t { strings: $a = \"needle\" condition: $a }".to_vec(),
            path: None,
        };
        let src = [(0, &source)];
        let (mut problems, mut own) = (Vec::new(), Vec::new());
        let c = compile_cached(&src, Some(dir.path()), &mut problems, &mut own);
        assert_eq!(c.rules.iter().count(), 1);
        assert!(problems.is_empty());
        assert_eq!(own.len(), 1);
        let file = own[0].clone();
        // Flip one byte of the payload: the recorded hash no longer holds.
        let mut bytes = std::fs::read(&file).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&file, &bytes).unwrap();
        let mut own = Vec::new();
        let c = compile_cached(&src, Some(dir.path()), &mut problems, &mut own);
        assert_eq!(c.rules.iter().count(), 1, "rebuilt from the sources");
        assert_eq!(problems.len(), 1);
        assert!(problems[0].reason.contains("content hash mismatch"), "{problems:?}");
        assert!(checked_payload(&std::fs::read(&file).unwrap()).is_ok(), "rewritten");
        // No cache folder: nothing written, nothing read.
        let mut own = Vec::new();
        let _ = compile_cached(&src, None, &mut problems, &mut own);
        assert!(own.is_empty());
    }
}
