//! `ferret scan`: sweep files for known-bad hashes, names and YARA rules.

use clap::Args;

use crate::exit::ExitStatus;

/// Arguments of `ferret scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan (default: `/`).
    pub paths: Vec<std::path::PathBuf>,
}

/// Runs `ferret scan`.
pub fn run(_args: ScanArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("scan is being wired")
}
