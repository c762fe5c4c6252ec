//! The unused-dependency check: every dependency a workspace package declares is named in its
//! sources. A normal dependency must be named under `src/`; a dev-dependency under `src/`,
//! `tests/`, `benches/` or `examples/`; a build dependency in `build.rs`. "Named" means a path
//! that starts with the dependency's name as the code spells it (`md5` for `md-5`, the new
//! name of a renamed dependency, `-` as `_`), a `use` of it or an `extern crate`; comments and
//! strings do not count.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::lex::{Tok, tokenize};
use crate::metadata::{Kind, Package};

/// The crate names the code of one source set refers to at the start of a path.
#[derive(Debug, Default)]
pub struct Names(BTreeSet<String>);

impl Names {
    /// Adds the names referred to in `src`.
    pub fn add_source(&mut self, src: &str) {
        let tokens = tokenize(src);
        for (i, t) in tokens.iter().enumerate() {
            let Some(name) = t.ident() else { continue };
            let prev = i.checked_sub(1).and_then(|j| tokens.get(j));
            let prev_ident = prev.and_then(|p| p.ident());
            let next_is_sep = tokens.get(i + 1).is_some_and(|n| n.tok == Tok::PathSep);
            let after_sep = prev.is_some_and(|p| p.tok == Tok::PathSep)
                && i.checked_sub(2)
                    .and_then(|j| tokens.get(j))
                    .is_some_and(|p| p.ident().is_some());
            let extern_crate = prev_ident == Some("crate")
                && i.checked_sub(2).and_then(|j| tokens.get(j)).and_then(|p| p.ident())
                    == Some("extern");
            if (next_is_sep && !after_sep) || prev_ident == Some("use") || extern_crate {
                self.0.insert(name.to_owned());
            }
        }
    }

    /// Whether `name` is referred to.
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains(name)
    }
}

/// The `.rs` files under `dir`, skipping `target`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for entry in rd.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn names_in(dir: &Path, subdirs: &[&str]) -> anyhow::Result<Names> {
    let mut names = Names::default();
    for sub in subdirs {
        let mut files = Vec::new();
        let p = dir.join(sub);
        if p.is_file() {
            files.push(p);
        } else {
            rust_files(&p, &mut files);
        }
        for f in files {
            names.add_source(&std::fs::read_to_string(&f)?);
        }
    }
    Ok(names)
}

/// One declared dependency that no source names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unused {
    /// The package that declares it.
    pub package: String,
    /// The dependency.
    pub dependency: String,
    /// Where it is declared.
    pub kind: Kind,
}

impl std::fmt::Display for Unused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} in {} is not used", self.package, self.dependency, self.kind.table())
    }
}

/// The dependencies `package` declares and does not use, given the names its normal, dev and
/// build sources refer to.
pub fn unused_in(package: &Package, normal: &Names, dev: &Names, build: &Names) -> Vec<Unused> {
    let mut out = Vec::new();
    for dep in &package.deps {
        for &kind in &dep.kinds {
            let names = match kind {
                Kind::Normal => normal,
                Kind::Dev => dev,
                Kind::Build => build,
            };
            if !names.contains(&dep.extern_name) {
                out.push(Unused {
                    package: package.name.clone(),
                    dependency: dep.package.clone(),
                    kind,
                });
            }
        }
    }
    out
}

/// Every unused dependency of the workspace packages.
pub fn unused(packages: &[Package]) -> anyhow::Result<Vec<Unused>> {
    let mut out = Vec::new();
    for p in packages {
        let normal = names_in(&p.dir, &["src"])?;
        let dev = names_in(&p.dir, &["src", "tests", "benches", "examples"])?;
        let build = names_in(&p.dir, &["build.rs"])?;
        out.extend(unused_in(p, &normal, &dev, &build));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::Dep;

    fn names(src: &str) -> Names {
        let mut n = Names::default();
        n.add_source(src);
        n
    }

    fn dep(package: &str, extern_name: &str, kinds: &[Kind]) -> Dep {
        Dep {
            package: package.into(),
            extern_name: extern_name.into(),
            kinds: kinds.iter().copied().collect(),
            workspace: false,
        }
    }

    #[test]
    fn names_are_path_starts_uses_and_extern_crates_only() {
        let n = names(
            "use serde::Serialize;\nuse md5;\nextern crate libc;\nfn f() { sha2::Sha256::new(); \
             crate::csv::write(); }\n// memchr::memchr\nconst S: &str = \"rayon::x\";\n\
             #[derive(serde_json::X)] struct A;",
        );
        for used in ["serde", "md5", "libc", "sha2", "serde_json", "crate"] {
            assert!(n.contains(used), "{used}");
        }
        for unused in ["csv", "memchr", "rayon", "Sha256"] {
            assert!(!n.contains(unused), "{unused}");
        }
    }

    /// The whole check over a synthetic crate on disk: sources under `src/` and `tests/`.
    #[test]
    #[expect(clippy::disallowed_methods, reason = "a synthetic crate in a temporary directory")]
    fn a_crate_on_disk_is_checked_by_source_set() {
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in [
            ("src/lib.rs", "//! l\nuse serde::Serialize;\n"),
            ("tests/t.rs", "//! t\nfn f() { tempfile::tempdir(); regex::Regex::new(\"\"); }\n"),
        ] {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let p = Package {
            name: "demo".into(),
            dir: dir.path().to_path_buf(),
            deps: vec![
                dep("serde", "serde", &[Kind::Normal]),
                // Used only by a test: not a use of the normal dependency.
                dep("regex", "regex", &[Kind::Normal]),
                dep("tempfile", "tempfile", &[Kind::Dev]),
                dep("proptest", "proptest", &[Kind::Dev]),
            ],
        };
        let got: Vec<String> = unused(&[p]).unwrap().iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            [
                "demo: regex in [dependencies] is not used",
                "demo: proptest in [dev-dependencies] is not used",
            ]
        );
    }

    #[test]
    fn an_unused_dependency_of_each_kind_is_reported() {
        let p = Package {
            name: "demo".into(),
            dir: PathBuf::new(),
            deps: vec![
                dep("md-5", "md5", &[Kind::Normal]),
                dep("thiserror", "thiserror", &[Kind::Normal]),
                dep("proptest", "proptest", &[Kind::Dev]),
                dep("tempfile", "tempfile", &[Kind::Dev]),
                dep("cc", "cc", &[Kind::Build]),
                dep("my-renamed", "renamed", &[Kind::Normal, Kind::Dev]),
            ],
        };
        let normal = names("use md5::Digest;\nfn f() { renamed::g() }");
        let dev = names("use md5::Digest;\nfn f() { renamed::g() }\nuse tempfile::tempdir;");
        let unused = unused_in(&p, &normal, &dev, &names(""));
        let got: Vec<String> = unused.iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            [
                "demo: thiserror in [dependencies] is not used",
                "demo: proptest in [dev-dependencies] is not used",
                "demo: cc in [build-dependencies] is not used",
            ]
        );
    }
}
