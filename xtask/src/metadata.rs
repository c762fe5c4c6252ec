//! The workspace as `cargo metadata` describes it (all features on, so every optional
//! dependency is listed): its packages and, per package, the dependencies cargo resolved with
//! the name the code uses for each and the kinds (normal, dev, build) it is declared as.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;
use serde_json::Value;

/// How a dependency is declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `[dependencies]`.
    Normal,
    /// `[dev-dependencies]`.
    Dev,
    /// `[build-dependencies]`.
    Build,
}

impl Kind {
    /// The manifest table it is declared in.
    pub fn table(self) -> &'static str {
        match self {
            Kind::Normal => "[dependencies]",
            Kind::Dev => "[dev-dependencies]",
            Kind::Build => "[build-dependencies]",
        }
    }
}

/// One resolved dependency of a workspace package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dep {
    /// The package's name (`md-5`).
    pub package: String,
    /// The name the code uses (`md5`; a renamed dependency's new name, `-` as `_`).
    pub extern_name: String,
    /// The kinds it is declared as.
    pub kinds: BTreeSet<Kind>,
    /// Whether the dependency is a workspace member.
    pub workspace: bool,
}

/// A workspace package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    /// Its name.
    pub name: String,
    /// The folder of its `Cargo.toml`.
    pub dir: PathBuf,
    /// Its dependencies, by package name.
    pub deps: Vec<Dep>,
}

/// The host's target triple (`rustc -vV`), so `cargo metadata` resolves only what builds here.
fn host_triple() -> anyhow::Result<String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc).arg("-vV").output().context("cannot run rustc -vV")?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .context("rustc -vV names no host")
}

/// Runs `cargo metadata` on the workspace at `root`.
pub fn load(root: &Path) -> anyhow::Result<Vec<Package>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--all-features", "--locked"])
        .args(["--filter-platform", &host_triple()?])
        .output()
        .context("cannot run cargo metadata")?;
    anyhow::ensure!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse(&serde_json::from_slice(&out.stdout).context("cargo metadata printed no JSON")?)
}

/// The workspace packages of `cargo metadata --format-version 1` output.
pub fn parse(meta: &Value) -> anyhow::Result<Vec<Package>> {
    let members: BTreeSet<&str> = meta["workspace_members"]
        .as_array()
        .context("no workspace_members")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut names = BTreeMap::new();
    let mut dirs = BTreeMap::new();
    for p in meta["packages"].as_array().context("no packages")? {
        let (Some(id), Some(name)) = (p["id"].as_str(), p["name"].as_str()) else { continue };
        names.insert(id, name);
        if let Some(manifest) = p["manifest_path"].as_str() {
            dirs.insert(
                id,
                Path::new(manifest).parent().map(Path::to_path_buf).unwrap_or_default(),
            );
        }
    }
    let mut packages = Vec::new();
    for node in meta["resolve"]["nodes"].as_array().context("no resolve")? {
        let Some(id) = node["id"].as_str().filter(|id| members.contains(id)) else { continue };
        let mut deps = Vec::new();
        for d in node["deps"].as_array().into_iter().flatten() {
            let (Some(pkg), Some(extern_name)) = (d["pkg"].as_str(), d["name"].as_str()) else {
                continue;
            };
            let kinds = d["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|k| match k["kind"].as_str() {
                    Some("dev") => Kind::Dev,
                    Some("build") => Kind::Build,
                    _ => Kind::Normal,
                })
                .collect();
            deps.push(Dep {
                package: names.get(pkg).copied().unwrap_or(pkg).to_owned(),
                extern_name: extern_name.to_owned(),
                kinds,
                workspace: members.contains(pkg),
            });
        }
        deps.sort_by(|a, b| a.package.cmp(&b.package));
        packages.push(Package {
            name: names.get(id).copied().unwrap_or(id).to_owned(),
            dir: dirs.get(id).cloned().unwrap_or_default(),
            deps,
        });
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(packages)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cargo metadata`'s shape: the code name of a dependency comes from the resolve graph
    /// (a renamed package, a library named unlike its package), kinds from `dep_kinds`.
    #[test]
    fn resolved_dependencies_carry_their_code_names_and_kinds() {
        let meta = serde_json::json!({
            "workspace_members": ["app 0.1.0", "core 0.1.0"],
            "packages": [
                {"id": "app 0.1.0", "name": "app", "manifest_path": "/w/app/Cargo.toml"},
                {"id": "core 0.1.0", "name": "core", "manifest_path": "/w/core/Cargo.toml"},
                {"id": "md-5 0.10.6", "name": "md-5", "manifest_path": "/r/md-5/Cargo.toml"},
            ],
            "resolve": {"nodes": [
                {"id": "app 0.1.0", "deps": [
                    {"name": "core", "pkg": "core 0.1.0",
                     "dep_kinds": [{"kind": null}, {"kind": "dev"}]},
                    {"name": "md5", "pkg": "md-5 0.10.6", "dep_kinds": [{"kind": "build"}]},
                ]},
                {"id": "core 0.1.0", "deps": []},
                {"id": "md-5 0.10.6", "deps": []},
            ]},
        });
        let packages = parse(&meta).unwrap();
        assert_eq!(packages.len(), 2, "only workspace members");
        let app = &packages[0];
        assert_eq!(app.dir, PathBuf::from("/w/app"));
        assert_eq!(app.deps[0].package, "core");
        assert_eq!(app.deps[0].kinds, [Kind::Normal, Kind::Dev].into());
        assert!(app.deps[0].workspace);
        assert_eq!(
            (app.deps[1].package.as_str(), app.deps[1].extern_name.as_str()),
            ("md-5", "md5")
        );
        assert_eq!(app.deps[1].kinds, [Kind::Build].into());
        assert!(!app.deps[1].workspace);
    }
}
