//! `ferret hunt`: Sigma rules over every log under the given paths (EVTX, evtx-JSON, JSON lines,
//! syslog, W3C/IIS, Exchange CSV, access and DNS logs), and the network indicators of the intel
//! and of `--rules` files looked for in their lines, reported as a timeline.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use clap::Args;
use ferret_core::{Collector, Severity};
use ferret_hunt::{HuntConfig, load_rules};

use crate::commands::common::{self, build_report};
use crate::exit::ExitStatus;
use crate::output;
use crate::output::OutputArgs;
use crate::progress::Bar;

/// Arguments of `ferret hunt`.
#[derive(Debug, Args)]
pub struct HuntArgs {
    /// Log files or directories to hunt in (directories are searched recursively; `.gz`
    /// rotated logs are read transparently; symlinks are not followed), or disk images and
    /// triage collections (zip, tar, tar.gz, Velociraptor, KAPE; recognised by content), whose
    /// logs are read in place. Default: `/` (without /proc, /sys, /dev and /run).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Sigma rule file or directory (repeatable).
    #[arg(long = "sigma", value_name = "DIR_OR_FILE")]
    pub sigma: Vec<PathBuf>,
    /// A value for the Sigma placeholder `%NAME%` of `|expand` rules, e.g.
    /// `known_cdcs=dc1.corp.example,10.0.0.5` (repeatable; values add up).
    #[arg(long = "sigma-placeholder", value_name = "NAME=VALUE[,VALUE...]", value_parser = parse_placeholder)]
    pub sigma_placeholder: Vec<(String, Vec<String>)>,
    /// A file of placeholder values: one `NAME=VALUE[,VALUE...]` per line (`#` comments).
    #[arg(long = "sigma-placeholder-file", value_name = "FILE")]
    pub sigma_placeholder_file: Option<PathBuf>,
    /// Do not load the Sigma rule with this id (repeatable).
    #[arg(long = "exclude-rule", value_name = "ID")]
    pub exclude_rule: Vec<String>,
    /// Only events at or after this time: RFC 3339 (`2021-03-02T00:00:00Z`), `YYYY-MM-DD` or
    /// `YYYY-MM-DD hh:mm:ss` (UTC).
    #[arg(long, value_name = "TIME", value_parser = parse_from)]
    pub from: Option<DateTime<Utc>>,
    /// Only events at or before this time (same forms; a bare date means the end of that day).
    #[arg(long, value_name = "TIME", value_parser = parse_to)]
    pub to: Option<DateTime<Utc>>,
    /// Stop decompressing a `.gz` log after this many bytes, and report it (the rest of the
    /// log was not examined: the run is incomplete). Default 16G.
    #[arg(long, value_name = "SIZE", value_parser = crate::commands::common::parse_size_limit)]
    pub max_decompressed: Option<u64>,
    /// IOC files or folders (STIX 2.1, MISP event exports and feeds, OpenIOC, plain lists of
    /// domains, IP addresses and URLs) whose network indicators are looked for in the logs
    /// read, beside the intel's own; each hit is a finding naming the indicator's origin
    /// (repeatable).
    #[arg(long = "rules", short = 'r', value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    #[command(flatten)]
    pub intel: crate::commands::intel::IntelArgs,
    #[command(flatten)]
    pub examine: common::ExamineArgs,
    #[command(flatten)]
    pub size: common::SizeArgs,
    #[command(flatten)]
    pub filter: common::FilterArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Parses `NAME=VALUE[,VALUE...]` (a leading and trailing `%` around NAME are dropped).
fn parse_placeholder(s: &str) -> Result<(String, Vec<String>), String> {
    let (name, values) =
        s.split_once('=').ok_or_else(|| format!("not NAME=VALUE[,VALUE...]: {s:?}"))?;
    let name = name.trim().trim_matches('%');
    if name.is_empty() {
        return Err(format!("no placeholder name in {s:?}"));
    }
    let values: Vec<String> =
        values.split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned).collect();
    if values.is_empty() {
        return Err(format!("no value for placeholder %{name}%"));
    }
    Ok((name.to_owned(), values))
}

/// Reads a placeholder file: one `NAME=VALUE[,VALUE...]` per line, `#` comments.
fn read_placeholder_file(path: &std::path::Path) -> anyhow::Result<Vec<(String, Vec<String>)>> {
    let text = crate::commands::baseline::read_input(path)?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(
            parse_placeholder(line)
                .map_err(|e| anyhow::anyhow!("{}:{}: {e}", path.display(), n + 1))?,
        );
    }
    Ok(out)
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

/// Runs `ferret hunt`.
pub fn run(args: HuntArgs) -> anyhow::Result<ExitStatus> {
    let HuntArgs {
        paths,
        sigma,
        sigma_placeholder,
        sigma_placeholder_file,
        exclude_rule,
        from,
        to,
        max_decompressed,
        rules: ioc_paths,
        intel,
        examine,
        size,
        filter,
        output: out,
    } = args;
    output::prepare(&out)?;
    let intel = crate::commands::intel::load_for_run(&intel)?;
    let cfg = crate::config::Config::load()?;
    examine.apply_priority(&cfg);
    let cancel = crate::interrupt::cancel_on_signals();
    let budget = common::set_threads(examine.threads(&cfg));
    let sigma = if sigma.is_empty() { cfg.paths("hunt.sigma") } else { sigma };
    if sigma.is_empty() && ioc_paths.is_empty() && intel.info.pack_id.is_none() {
        bail!(
            "ferret hunt needs Sigma rules or network indicators: pass --sigma DIR_OR_FILE (a SigmaHQ checkout's rules/ folder, or your own rules), or --rules FILE (STIX, MISP, OpenIOC, a plain list of domains, addresses and URLs) or --intel PACK"
        );
    }
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        bail!("--from ({f}) is after --to ({t})");
    }
    // Placeholders: the configuration's, unless the command line gives some.
    let mut load = ferret_sigma::LoadOptions::default();
    let (given, file) = if sigma_placeholder.is_empty() && sigma_placeholder_file.is_none() {
        (cfg.placeholders().into_iter().collect(), cfg.placeholder_file())
    } else {
        (sigma_placeholder, sigma_placeholder_file)
    };
    let from_file = match &file {
        Some(f) => read_placeholder_file(f)?,
        None => Vec::new(),
    };
    for (name, values) in given.into_iter().chain(from_file) {
        load.placeholders.entry(name).or_default().extend(values);
    }
    let exclude_rule =
        if exclude_rule.is_empty() { cfg.strings("hunt.exclude_rule") } else { exclude_rule };
    load.exclude_ids = exclude_rule.iter().cloned().collect();
    let min_score = filter.min_score(&cfg);
    let started = Utc::now();
    let collector = Collector::with_min_score(min_score);
    let paths = if paths.is_empty() { vec![PathBuf::from("/")] } else { paths };
    let (paths, excludes) = common::absolute_targets(&paths, &examine.excludes(&cfg))?;
    let (paths, missing) = common::existing_targets(paths, "hunt", &collector)?;
    let rules = load_rules(&sigma, &load, &collector);
    let (mut network, rule_notes) = crate::commands::check::load_network(&ioc_paths, &collector)?;
    // The intel's own network rows (built in, or the pack's), after the --rules ones.
    network.extend(ferret_checks::netioc::from_intel(intel.intel.intel()));
    let targets = paths.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let mut config = HuntConfig {
        paths,
        from,
        to,
        min_level: Severity::from_score(min_score),
        cancel,
        excludes,
        network: std::sync::Arc::new(ferret_checks::netioc::NetIndicators::new(network)),
        ..HuntConfig::default()
    };
    config.max_file_size = size.max_file_size(&cfg, "hunt");
    config.read.max_decompressed =
        max_decompressed.or_else(|| cfg.max_decompressed()).unwrap_or(16 << 30);
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
    let unmatched: Vec<&str> = exclude_rule
        .iter()
        .filter(|id| !rules.excluded.contains(id.as_str()))
        .map(String::as_str)
        .collect();
    if !rules.excluded.is_empty() {
        summary.notes.push(format!(
            "{} rule(s) left out by --exclude-rule: {}",
            rules.excluded.len(),
            rules.excluded.iter().map(String::as_str).collect::<Vec<_>>().join(", ")
        ));
    }
    if !unmatched.is_empty() {
        summary.notes.push(format!("--exclude-rule matched no rule: {}", unmatched.join(", ")));
    }
    let ruleset_sha256 = Some(rules.matcher.ruleset_sha256().to_owned());
    summary.notes.extend(rule_notes);
    let mut report = build_report("hunt", targets, started, collector, summary, ruleset_sha256);
    intel.record(&mut report);
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
    }

    #[test]
    fn placeholders() {
        assert_eq!(
            parse_placeholder("%known_cdcs%=dc1, 10.0.0.5").unwrap(),
            ("known_cdcs".to_owned(), vec!["dc1".to_owned(), "10.0.0.5".to_owned()])
        );
        assert!(parse_placeholder("known_cdcs").is_err());
        assert!(parse_placeholder("=x").is_err());
        assert!(parse_placeholder("a=").is_err());
    }
}
