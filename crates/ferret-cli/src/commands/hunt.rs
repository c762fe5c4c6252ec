//! `ferret hunt`: Sigma rules over every log under the given paths (EVTX, evtx-JSON, JSON lines,
//! syslog, W3C/IIS, Exchange CSV, access and DNS logs), reported as a timeline.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use clap::Args;
use ferret_core::{Collector, Severity};
use ferret_hunt::{HuntConfig, load_rules};

use crate::commands::common::build_report;
use crate::exit::ExitStatus;
use crate::output;
use crate::output::OutputArgs;
use crate::progress::Bar;

/// Arguments of `ferret hunt`.
#[derive(Debug, Args)]
pub struct HuntArgs {
    /// Log files or directories to hunt in (directories are searched recursively; `.gz`
    /// rotated logs are read transparently; symlinks are not followed).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Sigma rule file or directory (repeatable).
    #[arg(long = "sigma", value_name = "DIR_OR_FILE")]
    pub sigma: Vec<PathBuf>,
    /// Only events at or after this time: RFC 3339 (`2021-03-02T00:00:00Z`), `YYYY-MM-DD` or
    /// `YYYY-MM-DD hh:mm:ss` (UTC).
    #[arg(long, value_name = "TIME", value_parser = parse_from)]
    pub from: Option<DateTime<Utc>>,
    /// Only events at or before this time (same forms; a bare date means the end of that day).
    #[arg(long, value_name = "TIME", value_parser = parse_to)]
    pub to: Option<DateTime<Utc>>,
    /// Report only rules at or above this level (informational, low, medium, high, critical).
    #[arg(long, value_name = "LEVEL", default_value = "informational", value_parser = parse_level)]
    pub min_level: Severity,
    /// Worker threads (0: one per CPU).
    #[arg(long, short = 'j', default_value_t = 0)]
    pub threads: usize,
    /// Skip (and report) log files larger than this, unread (K, M, G, T suffixes; default:
    /// no limit, logs are streamed).
    #[arg(long, value_name = "SIZE", value_parser = crate::commands::common::parse_size)]
    pub max_file_size: Option<u64>,
    /// Stop decompressing a `.gz` log after this many bytes, and report it (the rest of the
    /// log was not examined: the run is incomplete).
    #[arg(long, value_name = "SIZE", default_value = "16G", value_parser = crate::commands::common::parse_size)]
    pub max_decompressed: u64,
    #[command(flatten)]
    pub priority: crate::commands::common::PriorityArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

fn parse_time(s: &str, end_of_day: bool) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(Utc.from_utc_datetime(&t));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let t = if end_of_day {
            d.and_hms_nano_opt(23, 59, 59, 999_999_999)
        } else {
            d.and_hms_opt(0, 0, 0)
        };
        if let Some(t) = t {
            return Ok(Utc.from_utc_datetime(&t));
        }
    }
    Err(format!("not a time: {s:?} (use RFC 3339, YYYY-MM-DD or 'YYYY-MM-DD hh:mm:ss')"))
}

fn parse_from(s: &str) -> Result<DateTime<Utc>, String> {
    parse_time(s, false)
}

fn parse_to(s: &str) -> Result<DateTime<Utc>, String> {
    parse_time(s, true)
}

fn parse_level(s: &str) -> Result<Severity, String> {
    Severity::parse(s)
        .ok_or_else(|| format!("unknown level {s:?} (informational, low, medium, high, critical)"))
}

/// Runs `ferret hunt`.
pub fn run(args: HuntArgs) -> anyhow::Result<ExitStatus> {
    let HuntArgs {
        paths,
        sigma,
        from,
        to,
        min_level,
        threads,
        max_file_size,
        max_decompressed,
        priority,
        output: out,
    } = args;
    output::prepare(&out)?;
    priority.apply();
    let cancel = crate::interrupt::cancel_on_signals();
    let budget = ferret_fs::ThreadBudget::for_request(threads);
    let _ = crate::commands::baseline::set_threads(Some(budget.threads));
    if sigma.is_empty() {
        bail!(
            "ferret hunt needs Sigma rules and has no built-in log detectors: pass --sigma DIR_OR_FILE (a SigmaHQ checkout's rules/ folder, or your own rules)"
        );
    }
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        bail!("--from ({f}) is after --to ({t})");
    }
    let started = Utc::now();
    let collector = Collector::new();
    let (paths, _) = crate::commands::common::absolute_targets(&paths, &[])?;
    let (paths, missing) = crate::commands::common::existing_targets(paths, "hunt", &collector)?;
    let rules = load_rules(&sigma, &ferret_sigma::LoadOptions::default(), &collector);
    let targets = paths.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let mut config = HuntConfig { paths, from, to, min_level, cancel, ..HuntConfig::default() };
    config.max_file_size = max_file_size.unwrap_or(u64::MAX);
    config.read.max_decompressed = max_decompressed;
    let bar = Bar::new(!out.quiet && output::stderr_is_tty(), "files");
    let summary = ferret_hunt::hunt(&config, &rules, &collector, &bar);
    bar.finish();
    let mut summary = summary.context("cannot hunt")?;
    for m in missing {
        summary.mark_incomplete(m);
    }
    if let Some(note) = budget.note() {
        summary.notes.push(note);
    }
    let ruleset_sha256 = Some(rules.matcher.ruleset_sha256().to_owned());
    let mut report = build_report("hunt", targets, started, collector, summary, ruleset_sha256);
    report.sort_timeline();
    output::emit(&report, &out)?;
    Ok(ExitStatus::from_summary(&report.summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_from("2021-03-02").unwrap().to_rfc3339(), "2021-03-02T00:00:00+00:00");
        assert!(parse_to("2021-03-02").unwrap().to_rfc3339().starts_with("2021-03-02T23:59:59"));
        assert_eq!(
            parse_from("2021-03-02T01:00:00+01:00").unwrap().to_rfc3339(),
            "2021-03-02T00:00:00+00:00"
        );
        assert!(parse_from("yesterday").is_err());
        assert_eq!(parse_level("high").unwrap(), Severity::High);
    }
}
