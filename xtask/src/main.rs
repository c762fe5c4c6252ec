//! `cargo xtask`: ferret's project automation (tidy checks; `detectors` renders
//! `docs/detectors.md` from the detector registry).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("detectors") {
        return match write_detectors_doc() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                #[expect(clippy::print_stderr, reason = "xtask reports to the developer")]
                {
                    eprintln!("xtask detectors: {e:#}");
                }
                ExitCode::FAILURE
            }
        };
    }
    if args.first().map(String::as_str) != Some("tidy") {
        #[expect(clippy::print_stderr, reason = "xtask reports to the developer")]
        {
            eprintln!("usage: cargo xtask tidy | cargo xtask detectors");
        }
        return ExitCode::from(2);
    }
    match tidy() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            #[expect(clippy::print_stderr, reason = "xtask reports to the developer")]
            {
                eprintln!("xtask tidy: {e:#}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Checks that every Rust source file under `crates/` and `xtask/` starts with a `//!` doc
/// comment.
fn tidy() -> anyhow::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut missing = Vec::new();
    let mut stack = vec![root.join("crates"), root.join("xtask")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "target" && n != "data") {
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
    check_detectors_doc(&root)?;
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
