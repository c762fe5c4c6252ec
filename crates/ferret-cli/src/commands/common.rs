//! Pieces every verb shares: priority options, target checks, the report header, ferret's own
//! identity. (Output options live with the output, in [`crate::output`].)

use std::path::PathBuf;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Args;
use ferret_core::{Collector, Summary};
use ferret_report::{Report, SCHEMA_VERSION, ToolInfo};

pub use crate::config::{parse_min_score, parse_size_limit};

/// The help heading of the options every examining verb shares.
pub const EXAMINE_HEADING: &str = "Examining options (scan, hunt, check, baseline, verify)";

/// Options every verb that examines a host takes (`scan`, `hunt`, `check`, `baseline`,
/// `verify`), with the same names, meaning and help. Values absent here come from the
/// configuration file ([`crate::config`]), then the defaults.
#[derive(Clone, Debug, Default, Args)]
#[command(next_help_heading = EXAMINE_HEADING)]
pub struct ExamineArgs {
    /// Worker threads (0: one per CPU; a request is bounded at four per CPU, and the summary
    /// says when it was lowered).
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
    /// Run at the lowest CPU priority (niceness 19) and in the idle I/O class, so the host's
    /// own work goes first.
    #[arg(long)]
    pub low_priority: bool,
    /// Skip entries matching GLOB (repeatable): a pattern without `/` matches a name, one with
    /// `/` the path (for baseline and verify, the path relative to the root).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
}

impl ExamineArgs {
    /// The thread request: the command line, else the configuration file, else 0 (one per
    /// CPU).
    pub fn threads(&self, config: &crate::config::Config) -> usize {
        self.threads.or_else(|| config.threads()).unwrap_or(0)
    }

    /// The exclude globs: the command line's, else the configuration file's.
    pub fn excludes(&self, config: &crate::config::Config) -> Vec<String> {
        if self.exclude.is_empty() { config.excludes() } else { self.exclude.clone() }
    }

    /// Lowers the priority when asked (on the command line or in the configuration file);
    /// call before any worker thread starts. A failure is a warning, not a reason to stop.
    pub fn apply_priority(&self, config: &crate::config::Config) {
        if (self.low_priority || config.low_priority())
            && let Err(e) = crate::priority::lower()
        {
            crate::output::note(&format!("ferret: warning: --low-priority: {e}"));
        }
    }
}

/// The size bound of the verbs that read file contents (`scan`, `hunt`, `check`); its default
/// differs by verb (see README's table).
#[derive(Clone, Debug, Default, Args)]
#[command(next_help_heading = EXAMINE_HEADING)]
pub struct SizeArgs {
    /// Files larger than SIZE are skipped, counted and reported, never read (K, M, G, T
    /// suffixes; `none`: no limit). Default: scan 512M; hunt and check none (logs are
    /// streamed). A file check leaves unread makes its run incomplete.
    #[arg(long, value_name = "SIZE", value_parser = parse_size_limit)]
    pub max_file_size: Option<u64>,
}

impl SizeArgs {
    /// The limit: the command line, else `[VERB] max_file_size` in the configuration file,
    /// else the verb's default.
    pub fn max_file_size(&self, config: &crate::config::Config, verb: &str) -> u64 {
        self.max_file_size
            .or_else(|| config.max_file_size(verb))
            .unwrap_or_else(|| crate::config::default_max_file_size(verb))
    }
}

/// Which findings are reported (`scan`, `hunt`, `check`, `verify`).
#[derive(Clone, Debug, Default, Args)]
#[command(next_help_heading = EXAMINE_HEADING)]
pub struct FilterArgs {
    /// Report only findings scored at least N (0–100), or at least a severity: info, low
    /// (40), medium (60), high (75), critical (90). `--min-severity` and `--min-level` are
    /// the same option.
    #[arg(
        long,
        value_name = "N|SEVERITY",
        value_parser = parse_min_score,
        visible_alias = "min-severity",
        alias = "min-level"
    )]
    pub min_score: Option<u8>,
}

impl FilterArgs {
    /// The threshold: the command line, else the configuration file, else 0.
    pub fn min_score(&self, config: &crate::config::Config) -> u8 {
        self.min_score.or_else(|| config.min_score()).unwrap_or(0)
    }
}

/// Sets the size of rayon's global pool for a thread request (0: one per CPU), bounded by
/// the machine ([`ferret_fs::ThreadBudget`]); returns the budget (whose note a summary
/// carries when a request was lowered).
pub fn set_threads(threads: usize) -> ferret_fs::ThreadBudget {
    let budget = ferret_fs::ThreadBudget::for_request(threads);
    let _ = rayon::ThreadPoolBuilder::new().num_threads(budget.threads).build_global();
    budget
}

/// The running executable. `current_exe()` reads `/proc/self/exe`; where `/proc` is not
/// mounted (a bare chroot, an early-boot shell) it falls back to `argv[0]`: a path when it
/// holds a `/` (made absolute against the working directory), otherwise looked up in `PATH`.
pub fn self_exe() -> std::io::Result<std::path::PathBuf> {
    match std::env::current_exe() {
        Ok(p) => Ok(p),
        Err(e) => exe_from_argv0(std::env::args_os().next(), std::env::var_os("PATH")).ok_or(e),
    }
}

fn exe_from_argv0(
    argv0: Option<std::ffi::OsString>,
    path: Option<std::ffi::OsString>,
) -> Option<std::path::PathBuf> {
    let argv0 = std::path::PathBuf::from(argv0?);
    if argv0.as_os_str().as_encoded_bytes().contains(&b'/') {
        let abs =
            if argv0.is_absolute() { argv0 } else { std::env::current_dir().ok()?.join(argv0) };
        return abs.is_file().then_some(abs);
    }
    std::env::split_paths(&path?).map(|dir| dir.join(&argv0)).find(|p| p.is_file())
}

static EXE_SHA256: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

/// SHA-256 of the running executable, when it can be read; computed once per run (the
/// report header and the own-file check both need it). A caller that comes while
/// [`hash_exe_in_background`]'s thread is at it waits for that result.
pub fn exe_sha256() -> Option<String> {
    EXE_SHA256.get_or_init(hash_exe).clone()
}

/// Starts hashing the executable on a thread of its own. The executable is tens of
/// megabytes: hashed when the report header asks for it, it would be a serial step of every
/// run (about 60 ms on the benchmark machine, 7% of a 2 GB hash-only scan); started with the
/// command, it overlaps the rules' loading and the walk.
pub fn hash_exe_in_background() {
    let _ = std::thread::Builder::new().name("exe-sha256".into()).spawn(exe_sha256);
}

/// The executable's SHA-256, read through one buffer (not a copy of the whole file).
fn hash_exe() -> Option<String> {
    let exe = self_exe().ok()?;
    let (mut file, _) = ferret_fs::open_read_only(&exe).ok()?;
    let kinds = ferret_fs::hash::HashKinds { sha256: true, ..Default::default() };
    let (digests, _) = ferret_fs::hash::hash_reader(kinds, &mut file, &mut Vec::new()).ok()?;
    digests.sha256.map(hex::encode)
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
