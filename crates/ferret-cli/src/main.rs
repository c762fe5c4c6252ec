//! The `ferret` binary: parse arguments, run one verb, render its report, exit.
//!
//! Everything below is in [`commands`] (one module per verb), [`output`] (the only place that
//! prints) and [`exit`] (the one exit-status enum).

mod commands;
mod config;
mod exit;
mod interrupt;
mod output;
mod priority;
mod progress;
mod resolve;
pub mod upload;

use clap::Parser;

/// The soft limit on open descriptors asked for at start (up to the hard limit).
const OPEN_FILES: u64 = 65_536;

fn main() -> std::process::ExitCode {
    let cli = commands::Cli::parse();
    // A walk keeps the directories of the entries in flight open (thousands on a wide tree);
    // the default soft limit of 1,024 descriptors would make it fall back to paths early.
    ferret_fs::dir::raise_open_file_limit(OPEN_FILES);
    let status = match commands::run(cli) {
        Ok(status) => status,
        Err(err) => output::report_error(&err),
    };
    status.into()
}
