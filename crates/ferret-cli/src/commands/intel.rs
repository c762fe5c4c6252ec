//! `ferret intel`: threat intelligence for the other verbs (`pull` fetches STIX 2.1 objects
//! from a TAXII 2.1 server into a folder that `--rules` reads).

use clap::Subcommand;

use crate::exit::ExitStatus;

use super::intel_pull;

/// The `intel` subcommands.
#[derive(Debug, Subcommand)]
pub enum IntelCommand {
    /// Fetch a TAXII 2.1 collection's objects into a folder of STIX 2.1 bundles (resumable).
    Pull(intel_pull::PullArgs),
}

/// Runs `ferret intel …`.
pub fn run(cmd: IntelCommand) -> anyhow::Result<ExitStatus> {
    match cmd {
        IntelCommand::Pull(args) => intel_pull::run(&args),
    }
}
