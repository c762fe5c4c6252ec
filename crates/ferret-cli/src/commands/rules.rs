//! `ferret rules`: compile rule sets into a bundle.

use clap::Subcommand;

use crate::exit::ExitStatus;

/// `ferret rules` sub-commands.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Compile rules into a bundle that `--rules FILE` loads.
    Compile,
}

/// Runs `ferret rules …`.
pub fn run(_cmd: RulesCommand) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("rules is being wired")
}
