//! `ferret scan`: sweep files for known-bad hashes, names and YARA rules.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use ferret_core::{Collector, Problem, Sink as _};
use ferret_fs::WalkOptions;
use ferret_scan::{LoadOptions, RuleSet, ScanConfig};

use crate::commands::common;
use crate::exit::ExitStatus;
use crate::output;
use crate::output::OutputArgs;

/// Rule-source options shared by `scan` and `rules compile`.
#[derive(Debug, Clone, Args)]
pub struct RuleArgs {
    /// A rule file or directory: YARA (.yar/.yara), signature-base/Loki hash or file-name
    /// IOCs, plain hash lists, ClamAV .hdb/.hsb, STIX 2.1 JSON, OpenIOC .ioc, or a compiled
    /// bundle. Repeatable.
    #[arg(long = "rules", short = 'r', value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Do not load the built-in rule pack.
    #[arg(long)]
    pub no_builtin: bool,
    /// Keep compiled YARA rules in DIR and reuse them while the sources are unchanged (off by
    /// default: rules are compiled in memory and nothing is written on the examined host).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Compile in memory (the default; kept for older scripts).
    #[arg(long, hide = true, conflicts_with = "cache_dir")]
    pub no_cache: bool,
}

impl RuleArgs {
    /// The loader options (`size_tiers`: compile YARA in size tiers, for scanning; a bundle
    /// holds one set).
    pub fn load_options(&self, size_tiers: bool) -> LoadOptions {
        LoadOptions {
            builtin: !self.no_builtin,
            paths: self.rules.clone(),
            cache_dir: self.cache_dir.clone(),
            intel: None,
            size_tiers,
        }
    }
}

/// Arguments of `ferret scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan (default: `/`); a disk image or a triage collection (zip,
    /// tar, tar.gz, Velociraptor, KAPE; recognised by content) is read in place.
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Do not exclude /proc, /sys, /dev and /run when scanning `/`.
    #[arg(long)]
    pub no_default_excludes: bool,
    /// Follow symbolic links (loops are detected).
    #[arg(long, short = 'L')]
    pub follow_symlinks: bool,
    /// Stay on the filesystem of each root (default: on when scanning `/`).
    #[arg(long, overrides_with = "cross_filesystems")]
    pub one_file_system: bool,
    /// Descend into other filesystems even when scanning `/`.
    #[arg(long)]
    pub cross_filesystems: bool,
    #[command(flatten)]
    pub intel: crate::commands::intel::IntelArgs,
    /// Also open disk images found inside the walked trees (`.img`, `.vhdx`, `.vmdk`, `.e01`,
    /// …, recognised by content) and scan their file systems; images named as targets are
    /// always opened.
    #[arg(long)]
    pub open_containers: bool,
    /// Do not read the members of archives found inside the walked trees (`.zip`, `.tar`,
    /// `.tar.gz`, `.tgz`; Velociraptor and KAPE collections among them); archives named as
    /// targets are always read.
    #[arg(long)]
    pub no_archives: bool,
    /// Per-file YARA time limit in seconds (default 60).
    #[arg(long, value_name = "SECS")]
    pub yara_timeout: Option<u64>,
    /// Read the whole disk of every container named (E01, VHDX, VMDK, VHD) and check it
    /// against the checksums the container stores (an E01's MD5 and SHA-1); a mismatch is a
    /// problem.
    #[arg(long)]
    pub verify_container: bool,
    #[command(flatten)]
    pub examine: common::ExamineArgs,
    #[command(flatten)]
    pub size: common::SizeArgs,
    #[command(flatten)]
    pub filter: common::FilterArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Loads rules, reporting problems into the collector; fails when nothing at all loaded.
/// `size_tiers`: see [`RuleArgs::load_options`]. `intel`: a verified pack's tables, whose scan
/// tables replace the built-in pack's lists.
pub fn load_rules(
    args: &RuleArgs,
    size_tiers: bool,
    intel: Option<std::sync::Arc<ferret_intel::Intel>>,
    sink: &Collector,
) -> anyhow::Result<RuleSet> {
    let mut problems: Vec<Problem> = Vec::new();
    let rules =
        RuleSet::load(&LoadOptions { intel, ..args.load_options(size_tiers) }, &mut problems);
    for p in problems {
        sink.problem(p);
    }
    if rules.is_empty() {
        anyhow::bail!(
            "no rules loaded{}",
            if args.no_builtin && args.rules.is_empty() {
                ": --no-builtin needs at least one --rules PATH"
            } else {
                " (see the problems above)"
            }
        );
    }
    Ok(rules)
}

/// Runs `ferret scan`.
pub fn run(args: &ScanArgs) -> anyhow::Result<ExitStatus> {
    output::prepare(&args.output)?;
    let mut intel = crate::commands::intel::load_for_run(&args.intel)?;
    // Of the built-in tables, scan reads only the scan tables.
    intel.missing.retain(|t| ferret_scan::is_scan_table(t));
    let cfg = crate::config::Config::load()?;
    args.examine.apply_priority(&cfg);
    let cancel = crate::interrupt::cancel_on_signals();
    let started = chrono::Utc::now();
    let collector = Collector::with_min_score(args.filter.min_score(&cfg));
    let mut rule_args = args.rules.clone();
    if rule_args.rules.is_empty() {
        rule_args.rules = cfg.paths("scan.rules");
    }
    let pack = intel.info.pack_id.is_some().then(|| intel.intel.shared());
    if pack.is_some() && rule_args.no_builtin {
        anyhow::bail!(
            "--intel replaces the built-in pack's hash and file-name lists: it has no use with --no-builtin"
        );
    }
    let rules = match load_rules(&rule_args, true, pack, &collector) {
        Ok(r) => r,
        Err(e) => {
            let (_, problems, _, _) = collector.into_parts();
            for p in problems.iter().take(20) {
                output::note(&format!("ferret: {p}"));
            }
            return Err(e);
        }
    };
    let paths = if args.paths.is_empty() { vec![PathBuf::from("/")] } else { args.paths.clone() };
    let (paths, excludes) = common::absolute_targets(&paths, &args.examine.excludes(&cfg))?;
    let (paths, missing) = common::existing_targets(paths, "scan", &collector)?;
    let one_fs = if args.cross_filesystems {
        Some(false)
    } else if args.one_file_system {
        Some(true)
    } else {
        None
    };
    let mut own = rules.own_files();
    if let (Ok(exe), Some(sha)) = (common::self_exe(), common::exe_sha256())
        && let Some(digest) = hex::decode(sha).ok().and_then(|d| <[u8; 32]>::try_from(d).ok())
    {
        own.add_file_hashed(&exe, digest);
    }
    if let Some(out) = &args.output.output {
        // An earlier report at the same place quotes what it found.
        own.add_file(out);
    }
    let config = ScanConfig {
        walk: WalkOptions {
            roots: paths.clone(),
            follow_symlinks: args.follow_symlinks,
            one_file_system: one_fs,
            excludes,
            default_excludes: !args.no_default_excludes,
            threads: args.examine.threads(&cfg),
            cancel,
        },
        max_file_size: args.size.max_file_size(&cfg, "scan"),
        yara_timeout: Duration::from_secs(
            args.yara_timeout.or_else(|| cfg.yara_timeout()).unwrap_or(60).max(1),
        ),
        own,
        open_containers: args.open_containers,
        read_archives: !args.no_archives,
        archive_limits: ScanConfig::default().archive_limits,
        verify_containers: args.verify_container,
    };
    let bar = crate::progress::Bar::new(!args.output.quiet && output::stderr_is_tty(), "files");
    // Registry hives and NTFS history files are recognised by their first bytes as the scan
    // reads every file (in the walked trees and inside the images and collections), then
    // read: Amcache, ShimCache and autostart entries, and the paths of `$MFT`/`$J` history,
    // matched against the same indicators (engine `artefact`). The tree is walked once.
    let candidates = ferret_artefacts::examine::Candidates::new(&config.walk.roots);
    let mut summary = ferret_scan::scan_noting(&config, &rules, &collector, &bar, &candidates)?;
    bar.finish();
    if !config.walk.cancel.is_cancelled() {
        let cancel = config.walk.cancel.clone();
        let stop = move || cancel.is_cancelled();
        let images = ferret_artefacts::examine::image_roots(&config.walk.roots);
        candidates.examine(&images, rules.iocs(), &stop, &collector).record(&mut summary);
    }
    for m in missing {
        summary.mark_incomplete(m);
    }
    if let Some(n) = rules.iocs().counts().get("network").filter(|n| **n > 0) {
        summary.notes.push(format!(
            "{n} network indicator(s) (domains, IP addresses, URLs) loaded: they are not matched \
             against files but looked for in logs by `ferret check --rules`"
        ));
    }
    for (p, others) in &rules.unusable_paths {
        let hint = if *others > 0 {
            format!(
                " ({others} file(s) there are in formats scan does not read, such as Sigma rules for `ferret hunt --sigma`)"
            )
        } else {
            String::new()
        };
        summary.mark_incomplete(format!(
            "--rules {}: nothing scan can use was loaded{hint}",
            p.display()
        ));
    }
    if intel.info.pack_id.is_some() {
        let tables: Vec<String> =
            rules.intel_tables.iter().map(|(p, n)| format!("{p} ({n})")).collect();
        summary.notes.push(if tables.is_empty() {
            "the intel pack has no scan table (CAMPAIGN/scan-hashes.tsv, CAMPAIGN/scan-names.tsv): \
             the built-in pack's hash and file-name lists were not used"
                .to_owned()
        } else {
            format!(
                "the built-in pack's hash and file-name lists come from the intel pack: {}",
                tables.join(", ")
            )
        });
    }
    let targets = paths.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let mut report = common::build_report(
        "scan",
        targets,
        started,
        collector,
        summary,
        Some(rules.sha256().to_owned()),
    );
    intel.record(&mut report);
    output::emit(&report, &args.output)?;
    Ok(ExitStatus::from_summary(&report.summary))
}

#[cfg(test)]
mod tests {
    use crate::config::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("10k"), Ok(10 << 10));
        assert_eq!(parse_size("7"), Ok(7));
        assert!(parse_size("1X").is_err());
        assert!(parse_size("99999999999T").is_err());
    }
}
