//! `cargo xtask`: ferret's project automation (tidy checks, fuzzing; `detectors` renders
//! `docs/detectors.md` from the detector registry, `graph` the crate graph of
//! `ARCHITECTURE.md` from `cargo metadata`, `man` the manual pages and completions from the
//! `ferret` binary ([`man`]); `dist` the static release binaries, the Debian package and
//! signed `SHA256SUMS`, `package-check` CI's install test of the package ([`dist`])).
//!
//! `tidy` checks: every source file starts with a `//!` header; `docs/detectors.md` is
//! fresh; `docs/man/` and `docs/completions/` are what the binary generates ([`man`]); every declared dependency is used ([`deps`]); no two files of a crate depend on each
//! other ([`modloops`]); the crate graph in `ARCHITECTURE.md` is `cargo metadata`'s ([`graph`]);
//! no Rust source under `crates/` holds an indicator literal outside tests ([`indicators`]).

mod deps;
mod dist;
mod graph;
mod indicators;
mod lex;
mod man;
mod metadata;
mod modloops;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: cargo xtask tidy
       cargo xtask detectors
       cargo xtask graph
       cargo xtask man
       cargo xtask dist [--sign KEY]
       cargo xtask package-check [--binary PATH]
       cargo xtask fuzz --list
       cargo xtask fuzz TARGET [--secs N] [--seeds DIR]... [-- LIBFUZZER-ARGS...]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("tidy") => tidy(),
        Some("detectors") => write_detectors_doc(),
        Some("graph") => write_graph(),
        Some("man") => {
            let root = root();
            man::ferret_binary(&root).and_then(|bin| man::write(&root, &bin))
        }
        Some("dist") => dist::dist(&root(), args.get(1..).unwrap_or_default()),
        Some("package-check") => dist::package_check(&root(), args.get(1..).unwrap_or_default()),
        Some("fuzz") => fuzz(args.get(1..).unwrap_or_default()),
        _ => {
            #[expect(clippy::print_stderr, reason = "xtask reports to the developer")]
            {
                eprintln!("{USAGE}");
            }
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            #[expect(clippy::print_stderr, reason = "xtask reports to the developer")]
            {
                eprintln!("xtask: {e:#}");
            }
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs every tidy check and reports all that fail.
fn tidy() -> anyhow::Result<()> {
    let root = root();
    let mut failures = Vec::new();
    for check in [
        check_headers(&root),
        check_detectors_doc(&root),
        check_structure(&root),
        check_indicators(&root),
        check_man(&root),
    ] {
        if let Err(e) = check {
            failures.push(format!("{e:#}"));
        }
    }
    anyhow::ensure!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

/// Fails on indicator literals in the crates' Rust sources ([`indicators`]).
fn check_indicators(root: &Path) -> anyhow::Result<()> {
    let hits = indicators::find(root)?;
    let list: Vec<String> = hits.iter().map(ToString::to_string).collect();
    anyhow::ensure!(
        list.is_empty(),
        "indicator literals outside tests (they belong in intel/):\n{}",
        list.join("\n")
    );
    Ok(())
}

/// Fails when the manual pages or completions differ from what the `ferret` binary of the
/// test build generates.
fn check_man(root: &Path) -> anyhow::Result<()> {
    let bin = man::ferret_binary(root)?;
    let problems = man::stale(root, &bin)?;
    anyhow::ensure!(problems.is_empty(), "{}\nrun `cargo xtask man`", problems.join("\n"));
    Ok(())
}

/// `ARCHITECTURE.md`, relative to the workspace root.
const ARCHITECTURE: &str = "ARCHITECTURE.md";

/// The checks that need `cargo metadata`: unused dependencies, loops between the files of a
/// crate, and the crate graph of `ARCHITECTURE.md`.
fn check_structure(root: &Path) -> anyhow::Result<()> {
    let packages = metadata::load(root)?;
    let mut problems: Vec<String> =
        deps::unused(&packages)?.iter().map(ToString::to_string).collect();
    for p in &packages {
        for crate_root in modloops::crate_roots(&p.dir) {
            for l in modloops::find_loops(&p.dir, &crate_root)? {
                problems.push(format!("{}: files depend on each other: {l}", p.name));
            }
        }
    }
    let doc = std::fs::read_to_string(root.join(ARCHITECTURE))?;
    if let Err(e) = graph::check(&doc, &packages, ARCHITECTURE) {
        problems.push(e.to_string());
    }
    anyhow::ensure!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

/// Rewrites the crate graph section of `ARCHITECTURE.md` from `cargo metadata`.
#[expect(clippy::disallowed_methods, reason = "xtask writes the generated section")]
fn write_graph() -> anyhow::Result<()> {
    let root = root();
    let packages = metadata::load(&root)?;
    let path = root.join(ARCHITECTURE);
    let doc = std::fs::read_to_string(&path)?;
    std::fs::write(&path, graph::replace(&doc, &graph::render(&packages))?)?;
    Ok(())
}

/// Checks that every Rust source file under `crates/`, `xtask/` and `fuzz/` starts with a
/// `//!` doc comment.
fn check_headers(root: &Path) -> anyhow::Result<()> {
    let mut missing = Vec::new();
    let mut stack = vec![root.join("crates"), root.join("xtask"), root.join("fuzz")];
    let skipped = ["target", "data", "corpus", "artifacts", "seeds", "coverage"];
    while let Some(dir) = stack.pop() {
        if !dir.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| !skipped.iter().any(|s| n == *s)) {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path)?;
                if !text.trim_start().starts_with("//!") {
                    missing.push(path.display().to_string());
                }
            }
        }
    }
    missing.sort();
    anyhow::ensure!(missing.is_empty(), "files without a //! header:\n{}", missing.join("\n"));
    Ok(())
}

/// `docs/detectors.md`, relative to the workspace root.
const DETECTORS_DOC: &str = "docs/detectors.md";

/// Writes `docs/detectors.md` from the detector registry.
#[expect(clippy::disallowed_methods, reason = "xtask writes the generated doc")]
fn write_detectors_doc() -> anyhow::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::write(root.join(DETECTORS_DOC), ferret_checks::docs::render())?;
    Ok(())
}

/// Fails when `docs/detectors.md` differs from what the registry renders.
fn check_detectors_doc(root: &std::path::Path) -> anyhow::Result<()> {
    let on_disk = std::fs::read_to_string(root.join(DETECTORS_DOC)).unwrap_or_default();
    anyhow::ensure!(
        on_disk == ferret_checks::docs::render(),
        "{DETECTORS_DOC} is stale: run `cargo xtask detectors`"
    );
    Ok(())
}

/// The fuzz targets declared in `fuzz/Cargo.toml` (`[[bin]]` names), in file order.
fn fuzz_targets(fuzz_dir: &Path) -> anyhow::Result<Vec<String>> {
    let manifest = std::fs::read_to_string(fuzz_dir.join("Cargo.toml"))?;
    let mut targets = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin
            && let Some(value) = line.strip_prefix("name").map(str::trim_start)
            && let Some(value) = value.strip_prefix('=')
        {
            targets.push(value.trim().trim_matches('"').to_owned());
        }
    }
    Ok(targets)
}

/// `cargo xtask fuzz`: lists the targets, or runs one with cargo-fuzz on the nightly
/// toolchain for `--secs` seconds (default 60) over its corpus (`fuzz/corpus/TARGET`, kept
/// out of git) and its committed seeds (`fuzz/seeds/TARGET`, plus any `--seeds DIR`).
fn fuzz(args: &[String]) -> anyhow::Result<()> {
    let fuzz_dir = root().join("fuzz");
    let targets = fuzz_targets(&fuzz_dir)?;
    let mut target = None;
    let mut secs: u64 = 60;
    let mut seeds = Vec::new();
    let mut extra: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--list" => {
                #[expect(clippy::print_stdout, reason = "xtask reports to the developer")]
                for t in &targets {
                    println!("{t}");
                }
                return Ok(());
            }
            "--secs" => {
                let v = it.next().ok_or_else(|| anyhow::anyhow!("--secs needs a value"))?;
                secs = v.parse().map_err(|_| anyhow::anyhow!("--secs {v:?} is not a number"))?;
            }
            "--seeds" => {
                let v = it.next().ok_or_else(|| anyhow::anyhow!("--seeds needs a directory"))?;
                seeds.push(PathBuf::from(v));
            }
            "--" => extra.extend(it.by_ref().cloned()),
            t if !t.starts_with('-') && target.is_none() => target = Some(t.to_owned()),
            other => anyhow::bail!("unexpected argument {other:?}\n{USAGE}"),
        }
    }
    let target = target.ok_or_else(|| anyhow::anyhow!("which target?\n{USAGE}"))?;
    anyhow::ensure!(
        targets.contains(&target),
        "no fuzz target {target:?}; targets: {}",
        targets.join(", ")
    );
    let corpus = fuzz_dir.join("corpus").join(&target);
    std::fs::create_dir_all(&corpus)?;
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root())
        .args(["+nightly", "fuzz", "run", &target])
        .arg(&corpus)
        .arg(fuzz_dir.join("seeds").join(&target))
        .args(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={secs}"))
        .args(["-rss_limit_mb=2048", "-timeout=10", "-print_final_stats=1"])
        .args(&extra);
    let status = cmd.status()?;
    anyhow::ensure!(status.success(), "cargo fuzz run {target} failed ({status})");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real tree passes every structure check (each check's own tests plant the defects).
    #[test]
    fn the_workspace_has_no_unused_dependency_no_file_loop_and_a_fresh_crate_graph() {
        check_structure(&root()).unwrap();
    }
}
