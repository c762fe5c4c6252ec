//! Pieces every verb shares: output options, the report header, ferret's own identity.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use ferret_core::{Collector, Summary};
use ferret_report::{Report, SCHEMA_VERSION, ToolInfo};
use sha2::{Digest, Sha256};

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable, grouped per file, control characters escaped.
    Text,
    /// One JSON record per line (see docs/report-format.md).
    Jsonl,
    /// One row per finding, then per problem.
    Csv,
    /// One self-contained HTML page (inline CSS and SVG; no script, no network).
    Html,
}

/// Output options shared by every verb that produces a report.
#[derive(Clone, Debug, Args)]
pub struct OutputArgs {
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// No progress bar and no notes on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// SHA-256 of the running executable, when it can be read.
pub fn exe_sha256() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let bytes = std::fs::read(exe).ok()?;
    Some(hex::encode(Sha256::digest(&bytes)))
}

/// The host name (from the kernel), or `unknown`.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// `ferret --version [--verbose]`.
pub fn version_text(verbose: bool) -> String {
    let mut s = format!("ferret {}", env!("CARGO_PKG_VERSION"));
    if verbose {
        s.push_str(&format!(
            "\nexecutable sha256: {}",
            exe_sha256().unwrap_or_else(|| "unavailable".into())
        ));
        #[cfg(feature = "scan")]
        s.push_str(&format!("\nbuilt-in rules sha256: {}", ferret_scan::builtin_sha256()));
    }
    s
}

/// Assembles a finished run into a sorted [`Report`].
pub fn build_report(
    verb: &str,
    targets: Vec<String>,
    started: DateTime<Utc>,
    collector: Collector,
    mut summary: Summary,
    ruleset_sha256: Option<String>,
) -> Report {
    let (findings, problems, counts, dropped) = collector.into_parts();
    for (k, v) in counts {
        *summary.problems.entry(k).or_default() += v;
    }
    summary.settle();
    let mut report = Report {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: "ferret".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            exe_sha256: exe_sha256(),
            ruleset_sha256,
        },
        verb: verb.into(),
        run_id: uuid::Uuid::new_v4().to_string(),
        host: host_name(),
        targets,
        started,
        finished: Utc::now(),
        findings,
        problems,
        problems_dropped: dropped,
        summary,
    };
    report.count_findings();
    report.sort();
    report
}
