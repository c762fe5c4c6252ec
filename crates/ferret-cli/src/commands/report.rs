//! `ferret report send` (send spooled reports) and `ferret report upload FILE` (send a
//! JSONL report written earlier, e.g. carried from an offline host).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};

use crate::exit::ExitStatus;
use crate::output;
use crate::upload::{self, UploadOutcome};

/// `ferret report …`
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Send the reports waiting in the spool to the collector.
    Send(SendArgs),
    /// Upload a JSONL report file to the collector.
    Upload(UploadArgs),
}

/// Arguments of `ferret report send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The collector (default: the one this host enrolled with). `--report-to` is the same
    /// option, as on the examining verbs.
    #[arg(long = "report-to", value_name = "URL", visible_alias = "url")]
    pub url: Option<String>,
}

/// Arguments of `ferret report upload`.
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// A report written with `--format jsonl`.
    pub file: PathBuf,
    /// The collector (default: the one this host enrolled with). `--url` is the same option.
    #[arg(long = "report-to", value_name = "URL", visible_alias = "url")]
    pub report_to: Option<String>,
}

/// Runs `ferret report …`.
pub fn run(cmd: ReportCommand) -> anyhow::Result<ExitStatus> {
    let cfg = upload::load_config()?;
    match cmd {
        ReportCommand::Send(args) => {
            let base = upload::enrolled_base(&cfg, args.url.as_deref())?;
            let r = upload::send_spool(&base, &cfg.token)?;
            output::line(&format!("sent {}, waiting {}, refused {}", r.sent, r.left, r.rejected))?;
            if let Some(why) = &r.stopped {
                output::note(&format!("ferret: {why}"));
            }
            Ok(if r.left == 0 && r.rejected == 0 {
                ExitStatus::Clean
            } else {
                ExitStatus::Incomplete
            })
        }
        ReportCommand::Upload(args) => {
            let text = std::fs::read_to_string(&args.file)
                .with_context(|| format!("cannot read {}", args.file.display()))?;
            let report = ferret_report::jsonl::parse(&text)
                .with_context(|| format!("{} is not a ferret JSONL report", args.file.display()))?;
            let url = args.report_to.unwrap_or(cfg.url);
            let outcome = upload::send_or_spool(&report, &url)?;
            output::line(&output::describe_upload(&outcome))?;
            Ok(match outcome {
                UploadOutcome::Sent { .. } => ExitStatus::Clean,
                UploadOutcome::Spooled { .. } => ExitStatus::Incomplete,
            })
        }
    }
}
