//! Compiling YARA sources, with a cache of compiled rules keyed by the sources' hash.
//!
//! The key is SHA-256 over yara-x's version, the external variable names and every source
//! (name and bytes, in order). A second start with the same rules deserializes the cached
//! rules instead of compiling (seconds saved for large sets). Only error-free compiles are
//! cached, so problems are always reported afresh. A cache file that fails to load is
//! ignored and rewritten.

use std::io::Write as _;
use std::path::Path;

use ferret_core::{Problem, ProblemKind};
use sha2::{Digest, Sha256};

use crate::rules::{EXTERNALS, YaraSource, render_compile_error};

pub(crate) struct Compiled {
    pub(crate) rules: yara_x::Rules,
    pub(crate) failed_files: usize,
}

const YARA_X_VERSION: &str = "1.22.1";

fn key(sources: &[YaraSource]) -> String {
    let mut h = Sha256::new();
    h.update(YARA_X_VERSION.as_bytes());
    for e in EXTERNALS {
        h.update(e.as_bytes());
    }
    for s in sources {
        h.update((s.name.len() as u64).to_le_bytes());
        h.update(s.name.as_bytes());
        h.update((s.text.len() as u64).to_le_bytes());
        h.update(&s.text);
    }
    hex::encode(h.finalize())
}

/// Compiles `sources` (one namespace per source), or loads them from the cache.
pub(crate) fn compile_cached(
    sources: &[YaraSource],
    cache_dir: Option<&Path>,
    problems: &mut Vec<Problem>,
) -> Compiled {
    let file = cache_dir.map(|d| d.join(format!("yara-{}.bin", key(sources))));
    if let Some(f) = &file
        && let Ok(bytes) = std::fs::read(f)
        && let Ok(rules) = yara_x::Rules::deserialize(&bytes)
    {
        return Compiled { rules, failed_files: 0 };
    }
    let compiled = compile(sources, problems);
    if compiled.failed_files == 0
        && let Some(f) = &file
        && let Ok(bytes) = compiled.rules.serialize()
    {
        store(f, &bytes);
    }
    compiled
}

#[expect(
    clippy::disallowed_methods,
    reason = "ferret's own cache directory, never the examined tree"
)]
fn store(path: &Path, bytes: &[u8]) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let ok = std::fs::File::create(&tmp).and_then(|mut f| f.write_all(bytes)).is_ok();
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

fn compile(sources: &[YaraSource], problems: &mut Vec<Problem>) -> Compiled {
    let mut c = yara_x::Compiler::new();
    for e in EXTERNALS {
        // Declaring a string global cannot fail for these fixed, valid names.
        let _ = c.define_global(e, "");
    }
    let mut failed = 0;
    for (i, s) in sources.iter().enumerate() {
        c.new_namespace(&namespace(&s.name, i));
        let src = yara_x::SourceCode::from(s.text.as_slice()).with_origin(s.name.as_str());
        if let Err(err) = c.add_source(src) {
            failed += 1;
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
    Compiled { rules: c.build(), failed_files: failed }
}
