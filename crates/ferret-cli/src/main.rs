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

fn main() -> std::process::ExitCode {
    let cli = commands::Cli::parse();
    let status = match commands::run(cli) {
        Ok(status) => status,
        Err(err) => output::report_error(&err),
    };
    status.into()
}
