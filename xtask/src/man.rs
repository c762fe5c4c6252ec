//! `cargo xtask man`: the manual pages (`docs/man/*.1`) and shell completions
//! (`docs/completions/`) from the `ferret` binary's clap definitions, and the tidy check that
//! the committed copies are what the binary generates.
//!
//! The binary is the one `cargo test --workspace --locked` builds (same features, same
//! profile), found through cargo's JSON messages, so after the tests nothing is rebuilt. It
//! renders the pages itself (`ferret man --out DIR`, a hidden verb) and prints each
//! completion script (`ferret completions SHELL`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;

/// Where the pages go, relative to the workspace root.
pub const MAN_DIR: &str = "docs/man";
/// Where the completion scripts go, relative to the workspace root.
pub const COMPLETIONS_DIR: &str = "docs/completions";

/// The completion scripts: (shell, file name).
const SHELLS: [(&str, &str); 3] =
    [("bash", "ferret.bash"), ("zsh", "_ferret"), ("fish", "ferret.fish")];

/// Builds (or finds, when fresh) the `ferret` binary of the workspace's test build.
pub fn ferret_binary(root: &Path) -> anyhow::Result<PathBuf> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .args(["test", "--workspace", "--locked", "--no-run", "--message-format=json"])
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("cannot run cargo")?;
    anyhow::ensure!(out.status.success(), "cargo test --no-run failed ({})", out.status);
    let mut found = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let is_bin = msg["reason"] == "compiler-artifact"
            && msg["target"]["name"] == "ferret"
            && msg["target"]["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "bin"))
            && msg["profile"]["test"] == false;
        if is_bin && let Some(exe) = msg["executable"].as_str() {
            found = Some(PathBuf::from(exe));
        }
    }
    found.context("cargo built no `ferret` binary")
}

/// Every generated file: path relative to the workspace root → content.
pub fn generate(ferret: &Path) -> anyhow::Result<BTreeMap<PathBuf, Vec<u8>>> {
    let mut files = BTreeMap::new();
    let tmp = tempdir()?;
    let status = Command::new(ferret).arg("man").arg("--out").arg(&tmp).status()?;
    anyhow::ensure!(status.success(), "ferret man failed ({status})");
    for entry in std::fs::read_dir(&tmp)? {
        let path = entry?.path();
        if let Some(name) = path.file_name() {
            files.insert(Path::new(MAN_DIR).join(name), std::fs::read(&path)?);
        }
    }
    remove_dir(&tmp)?;
    for (shell, name) in SHELLS {
        let out = Command::new(ferret).args(["completions", shell]).output()?;
        anyhow::ensure!(out.status.success(), "ferret completions {shell} failed ({})", out.status);
        files.insert(Path::new(COMPLETIONS_DIR).join(name), out.stdout);
    }
    Ok(files)
}

/// The generated files now in the tree (every file in the two folders).
fn on_disk(root: &Path) -> anyhow::Result<BTreeMap<PathBuf, Vec<u8>>> {
    let mut files = BTreeMap::new();
    for dir in [MAN_DIR, COMPLETIONS_DIR] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
        for entry in entries {
            let path = entry?.path();
            if let Some(name) = path.file_name() {
                files.insert(Path::new(dir).join(name), std::fs::read(&path)?);
            }
        }
    }
    Ok(files)
}

/// The differences between the tree and what the binary generates, one line each.
pub fn stale(root: &Path, ferret: &Path) -> anyhow::Result<Vec<String>> {
    let want = generate(ferret)?;
    let have = on_disk(root)?;
    let mut problems = Vec::new();
    for (path, text) in &want {
        match have.get(path) {
            None => problems.push(format!("{} is missing", path.display())),
            Some(t) if t != text => problems.push(format!("{} is stale", path.display())),
            Some(_) => {}
        }
    }
    for path in have.keys().filter(|p| !want.contains_key(*p)) {
        problems.push(format!("{} is not generated any more", path.display()));
    }
    Ok(problems)
}

/// Rewrites both folders from the binary (removing pages of verbs that are gone).
#[expect(clippy::disallowed_methods, reason = "xtask writes the generated files")]
pub fn write(root: &Path, ferret: &Path) -> anyhow::Result<()> {
    let want = generate(ferret)?;
    for path in on_disk(root)?.keys().filter(|p| !want.contains_key(*p)) {
        std::fs::remove_file(root.join(path))?;
    }
    for (path, text) in want {
        let dest = root.join(&path);
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(dest, text)?;
    }
    Ok(())
}

/// A new empty folder under the system's temporary folder.
pub fn tempdir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "ferret-xtask-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos()
    ));
    std::fs::create_dir(&dir)?;
    Ok(dir)
}

/// Removes a folder [`tempdir`] made.
#[expect(clippy::disallowed_methods, reason = "xtask removes its own temporary folder")]
pub fn remove_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::remove_dir_all(dir)?;
    Ok(())
}
