//! Pieces every verb shares: priority options, target checks, the report header, ferret's own
//! identity. (Output options live with the output, in [`crate::output`].)

use std::path::PathBuf;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Args;
use ferret_core::{Collector, Summary};
use ferret_report::{Report, SCHEMA_VERSION, ToolInfo};
use sha2::{Digest, Sha256};

/// Options that bound what a verb examining the host costs it (shared by every such verb).
#[derive(Clone, Debug, Args)]
pub struct PriorityArgs {
    /// Run at the lowest CPU priority (niceness 19) and in the idle I/O class, so the host's
    /// own work goes first.
    #[arg(long)]
    pub low_priority: bool,
}

impl PriorityArgs {
    /// Lowers the priority when asked; call before any worker thread starts. A failure is
    /// a warning, not a reason to stop.
    pub fn apply(&self) {
        if self.low_priority
            && let Err(e) = crate::priority::lower()
        {
            crate::output::note(&format!("ferret: warning: --low-priority: {e}"));
        }
    }
}

/// SHA-256 of the running executable, when it can be read; computed once per run (the
/// report header and the own-file check both need it).
pub fn exe_sha256() -> Option<String> {
    static EXE_SHA256: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    EXE_SHA256
        .get_or_init(|| {
            let exe = std::env::current_exe().ok()?;
            let bytes = std::fs::read(exe).ok()?;
            Some(hex::encode(Sha256::digest(&bytes)))
        })
        .clone()
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
        s.push_str(&format!("\nbuilt-in intel sha256: {}", ferret_checks::intel::sha256()));
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
            intel: None,
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

/// The targets as absolute paths (a relative one resolved once against the working folder,
/// without following a final symlink), and `--exclude` patterns that match however a target
/// was typed: a relative pattern with a `/` is also tried against the absolute path.
pub fn absolute_targets(
    paths: &[PathBuf],
    excludes: &[String],
) -> anyhow::Result<(Vec<PathBuf>, Vec<String>)> {
    let mut abs = Vec::with_capacity(paths.len());
    for p in paths {
        abs.push(
            std::path::absolute(p).with_context(|| format!("cannot resolve {}", p.display()))?,
        );
    }
    let mut ex = excludes.to_vec();
    let cwd = std::env::current_dir().ok();
    for pattern in excludes {
        if pattern.contains('/')
            && !pattern.starts_with('/')
            && !pattern.starts_with('*')
            && let Some(cwd) = &cwd
        {
            let joined = cwd.join(pattern.trim_start_matches("./"));
            ex.push(joined.to_string_lossy().into_owned());
        }
    }
    Ok((abs, ex))
}

/// Splits the targets into those that exist and problems for those that do not; fails
/// (status 2) when none exists.
pub fn existing_targets(
    paths: Vec<PathBuf>,
    verb: &str,
    sink: &dyn ferret_core::Sink,
) -> anyhow::Result<(Vec<PathBuf>, Vec<String>)> {
    let mut ok = Vec::new();
    let mut missing = Vec::new();
    for p in paths {
        match std::fs::symlink_metadata(&p) {
            Ok(_) => ok.push(p),
            Err(e) => {
                let reason = ferret_fs::io_reason(&e);
                sink.problem(ferret_core::Problem::at(
                    ferret_core::ProblemKind::ReadError,
                    p.as_path(),
                    format!("target not examined: {reason}"),
                ));
                missing.push(format!("target {} not examined: {reason}", p.display()));
            }
        }
    }
    if ok.is_empty() {
        anyhow::bail!("nothing to {verb}: {}", missing.join("; "));
    }
    Ok((ok, missing))
}

/// Parses `512M`, `10k`, `1G`, `123`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_lowercase() {
                'k' => 1 << 10,
                'm' => 1 << 20,
                'g' => 1 << 30,
                't' => 1 << 40,
                _ => return Err(format!("unknown size suffix {c:?} (use K, M, G or T)")),
            };
            (&s[..i], m)
        }
        _ => (s, 1),
    };
    let n: u64 = num.trim().parse().map_err(|_| format!("not a size: {s:?}"))?;
    n.checked_mul(mult).ok_or_else(|| format!("size too large: {s:?}"))
}
