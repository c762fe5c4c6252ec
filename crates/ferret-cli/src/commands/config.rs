//! `ferret config show`: the configuration file settings in effect and where each came from
//! (see [`crate::config`]).

use clap::Subcommand;

use crate::exit::ExitStatus;
use crate::output;

/// `ferret config …`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the files read, then every setting's effective value and its source (a file or
    /// the default). Command-line options win over every value shown.
    Show,
}

/// Runs `ferret config …`.
pub fn run(cmd: &ConfigCommand) -> anyhow::Result<ExitStatus> {
    match cmd {
        ConfigCommand::Show => {
            let config = crate::config::Config::load()?;
            for line in crate::config::show(&config) {
                output::line(&line)?;
            }
            Ok(ExitStatus::Clean)
        }
    }
}
