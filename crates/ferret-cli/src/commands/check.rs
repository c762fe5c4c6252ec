//! `ferret check`: were we hit by ProxyLogon, SUNBURST or the Pulse Secure backdoors? One
//! verdict per campaign (AFFECTED, NOT FOUND, UNKNOWN) with the evidence, what was checked and
//! how far back the logs reach.

use std::path::PathBuf;

use anyhow::Context as _;
use chrono::Utc;
use clap::Args;
use ferret_checks::netioc::{NetIndicator, NetIndicators};
use ferret_checks::{Campaign, CheckOptions};
use ferret_core::Collector;

use crate::commands::common::build_report;
use crate::exit::ExitStatus;
use crate::output;
use crate::output::OutputArgs;
use crate::progress::Bar;

/// Arguments of `ferret check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// What to examine: a host's drive or a mounted image, an install tree, log folders
    /// (searched recursively; `.gz` logs are read transparently; symlinks are not followed),
    /// or a disk image or triage collection (zip, tar, tar.gz, Velociraptor, KAPE; recognised
    /// by content), read in place. Default: `/`.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// A campaign to answer for: proxylogon, sunburst, pulse-secure, ivanti-connect-secure,
    /// proxyshell (repeatable). Without it, every campaign whose inputs are found under PATH.
    #[arg(long = "campaign", value_name = "CAMPAIGN", value_parser = parse_campaign)]
    pub campaigns: Vec<Campaign>,
    /// An integrity manifest (made by `ferret baseline`) of the product's tree: web files it
    /// does not list are reported as new.
    #[arg(long, value_name = "MANIFEST")]
    pub manifest: Option<PathBuf>,
    /// The vendor's public key (PEM) that signs the Pulse Connect Secure manifest. Never the
    /// key found on the image.
    #[arg(long = "vendor-key", value_name = "KEY.pem")]
    pub vendor_key: Option<PathBuf>,
    /// The vendor's genuine manifest for the Pulse Connect Secure release (`<path> <sha256>`
    /// lines), brought from outside the box: it vouches for the appliance's files instead of
    /// the on-box manifest, and on-box entries it does not hold were never shipped. A
    /// signature beside it (`FILE.1` or `FILE.sig`) must verify with --vendor-key.
    #[arg(long = "vendor-manifest", value_name = "MANIFEST")]
    pub vendor_manifest: Option<PathBuf>,
    /// A host whose SUNBURST user id to look for in decoded DNS queries:
    /// `mac=…,domain=…,guid=…` or `MAC,DOMAIN,MACHINEGUID` (repeatable).
    #[arg(long = "match-host", value_name = "MAC,DOMAIN,GUID")]
    pub match_host: Vec<String>,
    #[command(flatten)]
    pub examine: crate::commands::common::ExamineArgs,
    #[command(flatten)]
    pub size: crate::commands::common::SizeArgs,
    #[command(flatten)]
    pub filter: crate::commands::common::FilterArgs,
    /// IOC files or folders (STIX 2.1, MISP event exports and feeds, OpenIOC, plain lists of
    /// domains, IP addresses and URLs) whose network indicators are looked for in the logs
    /// read; each hit is a finding naming the indicator's origin (repeatable).
    #[arg(long = "rules", short = 'r', value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Add a timeline to the report: the findings and the artefact records of the campaigns'
    /// windows ($MFT and $J changes under the campaigns' folders, Amcache and ShimCache
    /// entries) in time order, each line naming its source (log, $MFT, $J, Amcache,
    /// ShimCache, registry key last-write).
    #[arg(long)]
    pub timeline: bool,
    #[command(flatten)]
    pub intel: crate::commands::intel::IntelArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

fn parse_campaign(s: &str) -> Result<Campaign, String> {
    Campaign::parse(s)
        .ok_or_else(|| format!(
            "unknown campaign {s:?} (proxylogon, sunburst, pulse-secure, ivanti-connect-secure, proxyshell)"
        ))
}

/// Runs `ferret check`.
pub fn run(args: CheckArgs) -> anyhow::Result<ExitStatus> {
    let CheckArgs {
        paths,
        campaigns,
        manifest,
        vendor_key,
        vendor_manifest,
        match_host,
        examine,
        size,
        filter,
        rules,
        timeline,
        intel,
        output: out,
    } = args;
    output::prepare(&out)?;
    let intel = crate::commands::intel::load_for_run(&intel)?;
    let cfg = crate::config::Config::load()?;
    examine.apply_priority(&cfg);
    let budget = crate::commands::common::set_threads(examine.threads(&cfg));
    let started = Utc::now();
    let collector = Collector::with_min_score(filter.min_score(&cfg));
    let paths = if paths.is_empty() { vec![PathBuf::from("/")] } else { paths };
    let (paths, exclude) =
        crate::commands::common::absolute_targets(&paths, &examine.excludes(&cfg))?;
    let (paths, missing) = crate::commands::common::existing_targets(paths, "check", &collector)?;
    let targets = paths.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let (mut network, rule_notes) = load_network(&rules, &collector)?;
    // The intel's own network rows (built in, or the pack's) are looked for in every log
    // read, after the --rules ones (which name a shared value first).
    network.extend(ferret_checks::netioc::from_intel(intel.intel.intel()));
    let opts = CheckOptions {
        paths,
        campaigns,
        manifest,
        vendor_key,
        vendor_manifest,
        match_hosts: match_host,
        excludes: exclude,
        threads: budget.threads,
        max_file_size: size.max_file_size(&cfg, "check"),
        cancel: crate::interrupt::cancel_on_signals(),
        intel: intel.intel.clone(),
        network: std::sync::Arc::new(NetIndicators::new(network)),
        timeline,
        ..CheckOptions::default()
    };
    let bar = Bar::new(!out.quiet && output::stderr_is_tty(), "files");
    let outcome = ferret_checks::check(&opts, &collector, &bar);
    bar.finish();
    let mut outcome = outcome.context("cannot check")?;
    for m in missing {
        outcome.summary.mark_incomplete(m);
    }
    if let Some(note) = budget.note() {
        outcome.summary.notes.push(note);
    }
    // An UNKNOWN verdict is already an incomplete reason of the summary (it survives `settle`).
    let mut report = build_report(
        "check",
        targets,
        started,
        collector,
        outcome.summary,
        Some(intel.info.sha256.clone()),
    );
    report.summary.notes.extend(rule_notes);
    if timeline {
        let lines = ferret_checks::timeline::merge(&report.findings, &outcome.timeline);
        report.summary.details.insert("timeline".to_owned(), serde_json::json!(lines));
    }
    intel.record(&mut report);
    output::emit(&report, &out)?;
    Ok(ExitStatus::from_summary(&report.summary))
}

/// The network indicators of the `--rules` files, and notes on what else they held.
#[cfg(feature = "scan")]
#[expect(clippy::unnecessary_wraps, reason = "the build without the scanner refuses --rules")]
pub(crate) fn load_network(
    paths: &[PathBuf],
    sink: &Collector,
) -> anyhow::Result<(Vec<NetIndicator>, Vec<String>)> {
    if paths.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut problems = Vec::new();
    let opts = ferret_scan::LoadOptions {
        builtin: false,
        paths: paths.to_vec(),
        cache_dir: None,
        intel: None,
        size_tiers: false,
    };
    let rules = ferret_scan::RuleSet::load(&opts, &mut problems);
    for p in problems {
        ferret_core::Sink::problem(sink, p);
    }
    let list: Vec<NetIndicator> = rules.iocs().network().to_vec();
    let mut notes = vec![format!(
        "--rules: {} network indicator(s) (domains, IP addresses, URLs) looked for in the logs",
        list.len()
    )];
    let files: u64 =
        rules.iocs().counts().iter().filter(|(k, _)| *k != "network").map(|(_, v)| *v).sum();
    if files > 0 {
        notes.push(format!(
            "--rules: {files} file indicator(s) were not used: they are for `ferret scan`"
        ));
    }
    Ok((list, notes))
}

/// Without the scanner, `--rules` cannot be read.
#[cfg(not(feature = "scan"))]
pub(crate) fn load_network(
    paths: &[PathBuf],
    _: &Collector,
) -> anyhow::Result<(Vec<NetIndicator>, Vec<String>)> {
    if paths.is_empty() {
        Ok((Vec::new(), Vec::new()))
    } else {
        anyhow::bail!("--rules needs a ferret built with the `scan` feature")
    }
}
