//! `cargo xtask`: ferret's project automation (tidy checks).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some("tidy") {
        #[expect(clippy::print_stderr, reason = "xtask reports to the developer")]
        {
            eprintln!("usage: cargo xtask tidy");
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
    Ok(())
}
