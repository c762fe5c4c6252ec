//! ferret-hunt: every log under the given paths through the Sigma engine, with coverage.
//!
//! Entry points:
//! * [`load_rules`] loads Sigma rule files and directories, reports every rule that cannot run as
//!   a [`Problem`] (`rule_load`, rule file, reason) and returns a [`Rules`] holding the compiled
//!   [`Matcher`] and the loaded / not-loaded statistics.
//! * [`hunt`] walks the paths (recursively, never following symlinks), sniffs each file's format
//!   with [`ferret_logs`], reads the logs in parallel (one rayon task per file), routes each event
//!   to the rules for its [`LogKind`], and pushes one [`Finding`] per rule hit into the [`Sink`].
//!   Correlation rules run after all files are read, over the hits sorted by event time.
//!
//! The returned [`Summary`] carries counters (`files_seen`, `files_read`, `events_read`,
//! `parse_errors`, …), skips by reason (`symlink`, `not_a_log`, …), the rule statistics, and
//! `details["coverage"]`: one entry per log read with its format, events, parse errors and the
//! time span covered (first and last event) — how far back the logs reach decides whether
//! "nothing found" means anything. `details["time_span"]` is the span over all logs.
//!
//! Disk images and collections named as paths are read in place through their
//! `ferret_evidence` source: the logs inside (EVTX, IIS, …) are hunted like files of a
//! directory and reported under the path the host knew, with where they were found.
//!
//! Invariants: nothing is written; examined local files are opened only by
//! [`ferret_logs::read`], files inside evidence only through their source;
//! every file that should have been read and was not is a counted skip or a problem.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use ferret_core::{
    Cancel, Engine, Evidence, Finding, LogRef, Problem, ProblemKind, Progress, RuleRef, RuleStats,
    Severity, Sink, Summary,
};
use ferret_logs::netioc::NetIndicators;
use ferret_logs::{Event, LogFormat, ReadOptions, SourceCoverage};
use ferret_sigma::{
    LoadOptions, LogKind, Matcher, RuleHit, RuleKind, RuleMeta, RuleSet, SchemaView, Scratch,
};
use rayon::prelude::*;
use serde_json::json;

/// Why a hunt could not start.
#[derive(Debug, thiserror::Error)]
pub enum HuntError {
    /// No rule could be loaded, so there is nothing to hunt with.
    #[error("no sigma rule could be loaded from the given paths ({failed} failed to load)")]
    NoRules {
        /// Rules or files that failed to load.
        failed: usize,
    },
    /// No path to hunt in was given.
    #[error("no path to hunt in was given")]
    NoPaths,
    /// An exclude pattern is not a valid glob.
    #[error("bad exclude pattern {pattern:?}")]
    BadExclude {
        /// The pattern.
        pattern: String,
        /// Why it is not a glob.
        #[source]
        source: globset::Error,
    },
}

/// Loaded and compiled rules, with the loading statistics.
#[derive(Debug)]
pub struct Rules {
    /// The compiled matcher.
    pub matcher: Matcher,
    /// Loaded by kind (`sigma`, `sigma_correlation`) and not loaded by reason.
    pub stats: RuleStats,
    /// Rule ids left out on request ([`LoadOptions::exclude_ids`]) that were found.
    pub excluded: std::collections::BTreeSet<String>,
}

/// Loads Sigma rules from files and directories. Each rule that cannot run is pushed to `sink`
/// as a [`ProblemKind::RuleLoad`] problem naming the file (and rule id/title when known) and
/// the reason, and counted by reason in [`Rules::stats`].
pub fn load_rules(paths: &[PathBuf], opts: &LoadOptions, sink: &dyn Sink) -> Rules {
    let (set, failures) = RuleSet::load_paths(paths, opts);
    let excluded = set.excluded().clone();
    let matcher = set.compile();
    let mut stats = RuleStats::default();
    for m in matcher.rules() {
        let kind = match m.kind {
            RuleKind::Detection => "sigma",
            RuleKind::Correlation => "sigma_correlation",
        };
        stats.add_loaded(kind, 1);
    }
    for f in failures {
        stats.add_not_loaded(f.kind.as_str());
        let mut reason = f.reason.clone();
        if let Some(id) = f.rule_id.as_deref().or(f.title.as_deref()) {
            reason = format!("rule {id}: {reason}");
        }
        sink.problem(Problem::at(ProblemKind::RuleLoad, f.path.as_path(), reason));
    }
    Rules { matcher, stats, excluded }
}

/// What to hunt in and how.
#[derive(Clone, Debug)]
pub struct HuntConfig {
    /// Files or directories (searched recursively; symlinks are not followed).
    pub paths: Vec<PathBuf>,
    /// Only events at or after this time (events without a time are always checked).
    pub from: Option<DateTime<Utc>>,
    /// Only events at or before this time (events without a time are always checked).
    pub to: Option<DateTime<Utc>>,
    /// Findings below this level are counted but not reported.
    pub min_level: Severity,
    /// Reader limits.
    pub read: ReadOptions,
    /// Raised to stop early (SIGINT): no new file or block is started.
    pub cancel: Cancel,
    /// Files larger than this are skipped and reported, never read (default: no limit;
    /// logs are streamed, so size costs time, not memory).
    pub max_file_size: u64,
    /// Paths not walked: a glob with `/` matches the whole path, one without it a name (as
    /// `ferret scan --exclude`). `/proc`, `/sys`, `/dev` and `/run` are never walked when a
    /// path is `/`.
    pub excludes: Vec<String>,
    /// Network indicators (domains, IP addresses, URLs) looked for in every text log line
    /// read, each hit a finding naming the indicator's source ([`ferret_logs::netioc`]).
    pub network: Arc<NetIndicators>,
}

impl Default for HuntConfig {
    fn default() -> Self {
        HuntConfig {
            paths: Vec::new(),
            from: None,
            to: None,
            min_level: Severity::Info,
            read: ReadOptions::default(),
            max_file_size: u64::MAX,
            excludes: Vec::new(),
            cancel: Cancel::default(),
            network: Arc::new(NetIndicators::default()),
        }
    }
}

/// The Sigma log kind a reader's events belong to.
pub fn log_kind(format: LogFormat) -> LogKind {
    match format {
        LogFormat::Evtx | LogFormat::EvtxJson => LogKind::Windows,
        LogFormat::W3c | LogFormat::Access | LogFormat::ExchangeCsv => LogKind::Webserver,
        LogFormat::Syslog => LogKind::Linux,
        LogFormat::DnsWindows | LogFormat::DnsBind | LogFormat::ZeekDns => LogKind::Dns,
        LogFormat::Json | LogFormat::Zeek => LogKind::Generic,
    }
}

/// A hit kept for the correlation pass.
struct Kept {
    time: DateTime<Utc>,
    file: usize,
    rule: usize,
    event: Event,
}

/// What reading one file produced (the default: a file never started).
#[derive(Default)]
struct FileResult {
    cov: SourceCoverage,
    /// Rules of the log's kind that cannot match it: it lacks the fields they need.
    inapplicable: Vec<usize>,
    outside_window: u64,
    untimed: u64,
    hits: u64,
    below_level: u64,
    network_hits: u64,
}

/// Runs the hunt. Findings and problems go to `sink`; progress (files, bytes) to `progress`.
/// `Err` only when there is nothing to run (no rules, no paths).
pub fn hunt(
    config: &HuntConfig,
    rules: &Rules,
    sink: &dyn Sink,
    progress: &dyn Progress,
) -> Result<Summary, HuntError> {
    if config.paths.is_empty() {
        return Err(HuntError::NoPaths);
    }
    let matcher = &rules.matcher;
    if matcher.rules().is_empty() && config.network.is_empty() {
        return Err(HuntError::NoRules {
            failed: usize::try_from(rules.stats.not_loaded_total()).unwrap_or(usize::MAX),
        });
    }
    let mut summary = Summary { rules: rules.stats.clone(), ..Summary::default() };

    let excludes = Excludes::new(&config.excludes, &config.paths)?;
    // Disk images and collections named are read in place; the rest are walked.
    let (named, walked): (Vec<PathBuf>, Vec<PathBuf>) =
        config.paths.iter().cloned().partition(|p| ferret_evidence::is_evidence(p));
    let mut files: Vec<(PathBuf, u64)> = Vec::new();
    for p in &walked {
        let mut walk =
            Walk { max_size: config.max_file_size, excludes: &excludes, out: &mut files };
        walk.walk(p, true, &mut summary, sink);
    }
    files.sort();
    files.dedup();
    let local = files.len();
    let (sources, evidence) = list_evidence(&named, config, &mut summary, sink);
    files
        .extend(evidence.iter().map(|(_, e)| (PathBuf::from(e.path.lossy().into_owned()), e.size)));
    summary.count("files_seen", files.len() as u64);
    progress.set_total(files.len() as u64, files.iter().map(|(_, s)| s).sum());

    let correlate = matcher.rules().iter().any(|m| m.kind == RuleKind::Correlation);
    let kept: Mutex<Vec<Kept>> = Mutex::new(Vec::new());

    let results: Vec<FileResult> = files
        .par_iter()
        .enumerate()
        .map(|(idx, (path, size))| {
            if config.cancel.is_cancelled() {
                return FileResult::default();
            }
            let inside = idx
                .checked_sub(local)
                .and_then(|k| evidence.get(k))
                .and_then(|(i, e)| sources.get(*i).map(|s| (&**s, e)));
            let r = hunt_file(config, matcher, path, idx, correlate.then_some(&kept), sink, inside);
            progress.advance(1, *size);
            r
        })
        .collect();

    // Coverage and counters, in path order.
    let mut coverage = Vec::new();
    let mut span: (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = (None, None);
    let mut by_kind: BTreeMap<&'static str, u64> = BTreeMap::new();
    let (mut untimed, mut outside, mut below, mut network_hits) = (0u64, 0u64, 0u64, 0u64);
    let mut inapplicable: BTreeSet<usize> = BTreeSet::new();
    let mut inapplicable_files = 0u64;
    for ((path, _), r) in files.iter().zip(&results) {
        let Some(format) = r.cov.format else {
            if !r.cov.truncated {
                summary.skip("not_a_log", 1);
            }
            continue;
        };
        summary.count("files_read", 1);
        summary.count("events_read", r.cov.events);
        summary.count("parse_errors", r.cov.parse_errors);
        summary.count("rule_hits", r.hits);
        network_hits += r.network_hits;
        *by_kind.entry(log_kind(format).as_str()).or_default() += 1;
        untimed += r.untimed;
        outside += r.outside_window;
        below += r.below_level;
        if let Some(f) = r.cov.first {
            span.0 = Some(span.0.map_or(f, |s| s.min(f)));
        }
        if let Some(l) = r.cov.last {
            span.1 = Some(span.1.map_or(l, |s| s.max(l)));
        }
        let mut entry = json!({
            "path": path.to_string_lossy(),
            "format": format.as_str(),
            "kind": log_kind(format).as_str(),
            "events": r.cov.events,
            "parse_errors": r.cov.parse_errors,
            "first": r.cov.first,
            "last": r.cov.last,
            "gzip": r.cov.gzip,
            "truncated": r.cov.truncated,
            "rules_inapplicable": r.inapplicable.len(),
        });
        if let (Some(tz), Some(o)) = (r.cov.assumed_timezone, entry.as_object_mut()) {
            o.insert("assumed_timezone".to_owned(), json!(tz));
        }
        coverage.push(entry);
        if !r.inapplicable.is_empty() {
            inapplicable_files += 1;
            inapplicable.extend(r.inapplicable.iter().copied());
        }
    }
    summary.count("events_outside_window", outside);
    summary.count("events_without_time", untimed);
    summary.count("hits_below_min_level", below);
    if !config.network.is_empty() {
        summary.rules.add_loaded("network", config.network.len() as u64);
        summary.count("network_hits", network_hits);
    }

    if correlate {
        let hits = correlation_pass(matcher, &files, kept, config, sink);
        summary.count("correlation_hits", hits);
    }

    // Rules whose backtracking regex gave up on some events: a hit may be missing there.
    let gave_up = matcher.regex_gave_up();
    for &(ri, n) in &gave_up {
        let Some(meta) = matcher.rules().get(ri) else { continue };
        sink.problem(Problem::at(
            ProblemKind::Timeout,
            meta.path.as_path(),
            format!(
                "rule {} ({}): a regular expression reached its backtracking limit on {n} \
                 event(s), which were taken as not matching it",
                meta.id, meta.title
            ),
        ));
    }
    summary.count("regex_gave_up_events", gave_up.iter().map(|(_, n)| n).sum());

    // Rules written for fields some logs do not have: loaded, but they never ran there.
    if !inapplicable.is_empty() {
        let names: Vec<&str> = inapplicable
            .iter()
            .filter_map(|&r| matcher.rules().get(r).map(|m| m.title.as_str()))
            .take(5)
            .collect();
        let more = inapplicable.len().saturating_sub(names.len());
        summary.not_checked.push(format!(
            "{} rule(s) could not apply to {inapplicable_files} log file(s) that lack the fields \
             they need (per file: coverage rules_inapplicable): {}{}",
            inapplicable.len(),
            names.join("; "),
            if more > 0 { format!("; and {more} more") } else { String::new() }
        ));
    }

    // Honest gaps: logs read for which no loaded rule applies.
    for (kind, n) in &by_kind {
        let has_rules = matcher.kinds().iter().any(|k| k.as_str() == *kind)
            || !config.network.is_empty() && *kind != "windows";
        if !has_rules {
            summary.not_checked.push(format!(
                "{n} {kind} log file(s) were read but no loaded rule applies to {kind} logs"
            ));
        }
    }
    if untimed > 0 && (config.from.is_some() || config.to.is_some()) {
        summary.not_checked.push(format!(
            "{untimed} event(s) carry no time; they were checked regardless of --from/--to"
        ));
    }
    if config.cancel.is_cancelled() {
        summary.mark_interrupted();
        summary.not_checked.push(
            "the hunt was interrupted; logs and blocks not yet started were not read".to_owned(),
        );
    }
    if summary.counter("files_read") == 0 && !summary.interrupted {
        summary.mark_nothing_examined("no log file was found under the given paths");
    }
    summary.details.insert("coverage".to_owned(), serde_json::Value::Array(coverage));
    summary.details.insert("time_span".to_owned(), json!({ "first": span.0, "last": span.1 }));
    summary.details.insert("files_by_kind".to_owned(), json!(by_kind));
    summary.settle();
    Ok(summary)
}

fn in_window(config: &HuntConfig, t: Option<DateTime<Utc>>) -> bool {
    let Some(t) = t else { return true };
    config.from.is_none_or(|f| t >= f) && config.to.is_none_or(|to| t <= to)
}

/// Events evaluated together: the reader fills a batch, then the batch's events are matched in
/// parallel (rule evaluation costs far more than reading), so one large log uses every core.
const BATCH: usize = 2048;

/// Size of the blocks a large line-based log is cut into, each read and matched by one
/// thread (see [`ferret_logs::split`]).
const BLOCK_LEN: usize = 1 << 20;

/// What matching part of a file produced: counters and the hits kept for correlation.
struct Tally<'a> {
    config: &'a HuntConfig,
    matcher: &'a Matcher,
    idx: usize,
    correlate: bool,
    kept: Vec<Kept>,
    hits: u64,
    below: u64,
    outside: u64,
    untimed: u64,
    network_hits: u64,
}

impl<'a> Tally<'a> {
    fn new(config: &'a HuntConfig, matcher: &'a Matcher, idx: usize, correlate: bool) -> Self {
        Tally {
            config,
            matcher,
            idx,
            correlate,
            kept: Vec::new(),
            hits: 0,
            below: 0,
            outside: 0,
            untimed: 0,
            network_hits: 0,
        }
    }

    /// Looks for the network indicators in the event's line.
    fn network(&mut self, ev: &Event, sink: &dyn Sink) {
        let net = &self.config.network;
        if net.is_empty() {
            return;
        }
        for f in net.findings(ev, log_kind(ev.format).as_str(), &|_| true) {
            self.network_hits += 1;
            if f.severity < self.config.min_level {
                self.below += 1;
                continue;
            }
            sink.finding(f);
        }
    }

    /// Counts the event's time; whether it is inside the time window.
    fn admit(&mut self, ev: &Event) -> bool {
        if ev.time.is_none() {
            self.untimed += 1;
        }
        if in_window(self.config, ev.time) {
            true
        } else {
            self.outside += 1;
            false
        }
    }

    /// Reports the hits of one event (in rule order).
    fn record(&mut self, ev: &Event, hits: &[RuleHit], sink: &dyn Sink) {
        let rules = self.matcher.rules();
        for h in hits {
            self.hits += 1;
            let Some(meta) = rules.get(h.rule) else { continue };
            if let (true, Some(t)) = (self.correlate, ev.time) {
                self.kept.push(Kept { time: t, file: self.idx, rule: h.rule, event: ev.clone() });
            }
            if !meta.generate {
                continue;
            }
            if meta.level < self.config.min_level {
                self.below += 1;
                continue;
            }
            sink.finding(finding(meta, ev, h));
        }
    }

    fn absorb(&mut self, other: Tally<'_>) {
        self.kept.extend(other.kept);
        self.hits += other.hits;
        self.below += other.below;
        self.outside += other.outside;
        self.untimed += other.untimed;
        self.network_hits += other.network_hits;
    }

    /// Matches a batch in parallel, then reports its hits in event order.
    fn flush(&mut self, batch: &mut Vec<Event>, sink: &dyn Sink) {
        let matcher = self.matcher;
        let results: Vec<(usize, Vec<RuleHit>)> = batch
            .par_iter()
            .enumerate()
            .map_init(Scratch::default, |scratch, (i, ev)| {
                let mut hits = Vec::new();
                matcher.eval_with(log_kind(ev.format), ev, &mut hits, scratch);
                (i, hits)
            })
            .filter(|(_, hits)| !hits.is_empty())
            .collect();
        for (i, hits) in results {
            let Some(ev) = batch.get(i) else { continue };
            self.record(ev, &hits, sink);
        }
        batch.clear();
    }

    fn finish(self, cov: SourceCoverage, kept: Option<&Mutex<Vec<Kept>>>) -> FileResult {
        let mut own = self.kept;
        if let Some(k) = kept
            && !own.is_empty()
            && let Ok(mut k) = k.lock()
        {
            k.append(&mut own);
        }
        FileResult {
            cov,
            inapplicable: Vec::new(),
            outside_window: self.outside,
            untimed: self.untimed,
            hits: self.hits,
            below_level: self.below,
            network_hits: self.network_hits,
        }
    }
}

/// The evidence sources opened for a hunt.
type Sources = Vec<Arc<dyn ferret_evidence::Source>>;
/// The files inside them: the source's index and the entry.
type Listed = Vec<(usize, ferret_evidence::Entry)>;

/// The disk images and collections named: opened, and every file inside listed (under the
/// path the host knew; excludes and the size limit apply to it).
fn list_evidence(
    named: &[PathBuf],
    config: &HuntConfig,
    summary: &mut Summary,
    sink: &dyn Sink,
) -> (Sources, Listed) {
    // The patterns were checked when the walk's excludes were built.
    let excludes = ferret_fs::PathExcludes::new(&config.excludes).ok();
    let sources = ferret_evidence::open_named(named, summary, sink);
    let mut out = Vec::new();
    let (mut excluded, mut size, mut errors) = (0u64, 0u64, 0u64);
    for (i, src) in sources.iter().enumerate() {
        let stats = src.entries(sink, &config.cancel, &mut |e| {
            if e.kind != ferret_evidence::EntryKind::File {
                return;
            }
            let shown = e.path.lossy().into_owned();
            if excludes.as_ref().is_some_and(|x| x.matches(&shown)) {
                excluded += 1;
            } else if e.size > config.max_file_size {
                size += 1;
                sink.problem(Problem::at(
                    ProblemKind::Skipped,
                    shown.as_str(),
                    format!(
                        "{} bytes, over the size limit of {}; not read",
                        e.size, config.max_file_size
                    ),
                ));
            } else {
                out.push((i, e));
            }
        });
        summary.skip("evidence_metadata", stats.metadata_skipped);
        errors += stats.errors;
    }
    summary.skip("excluded", excluded);
    summary.skip("size", size);
    if errors > 0 {
        summary.mark_incomplete(format!(
            "{errors} entries inside evidence could not be listed or are suspect (see problems)"
        ));
    }
    if !named.is_empty() {
        summary.count("evidence_sources", sources.len() as u64);
    }
    (sources, out)
}

fn hunt_file(
    config: &HuntConfig,
    matcher: &Matcher,
    path: &Path,
    idx: usize,
    kept: Option<&Mutex<Vec<Kept>>>,
    sink: &dyn Sink,
    inside: Option<(&dyn ferret_evidence::Source, &ferret_evidence::Entry)>,
) -> FileResult {
    let in_evidence;
    let sink: &dyn Sink = match inside {
        Some((_, e)) => {
            in_evidence = ferret_evidence::EntrySink::new(sink, e);
            &in_evidence
        }
        None => {
            if let Some((parser, blocks)) = ferret_logs::split(path, &config.read, sink, BLOCK_LEN)
            {
                return hunt_blocks(config, matcher, idx, kept, sink, &parser, blocks);
            }
            sink
        }
    };
    let mut state = Tally::new(config, matcher, idx, kept.is_some());
    let mut batch: Vec<Event> = Vec::with_capacity(BATCH);
    let mut on_event = |ev: &Event| {
        if config.cancel.is_cancelled() {
            return ControlFlow::Break(());
        }
        if !state.admit(ev) {
            return ControlFlow::Continue(());
        }
        state.network(ev, sink);
        // No rule reads this family: nothing to match (the event still counts as covered).
        if !matcher.kinds().contains(&log_kind(ev.format)) {
            return ControlFlow::Continue(());
        }
        batch.push(ev.clone());
        if batch.len() >= BATCH {
            state.flush(&mut batch, sink);
        }
        ControlFlow::Continue(())
    };
    let cov = match inside {
        None => ferret_logs::read(path, &config.read, sink, &mut on_event),
        Some((src, e)) => match src.open(e) {
            Ok(r) => ferret_logs::read_reader_filtered(
                path,
                Box::new(r),
                &config.read,
                sink,
                &|_, _, _| true,
                &mut on_event,
            ),
            Err(err) => {
                sink.problem(Problem::at(
                    ProblemKind::ReadError,
                    path,
                    format!("cannot read: {err}"),
                ));
                ferret_logs::SourceCoverage { truncated: true, ..Default::default() }
            }
        },
    };
    state.flush(&mut batch, sink);
    state.finish(cov, kept)
}

/// A line-based log cut into blocks: the threads pull blocks in file order and each parses
/// and matches its own, so a single large file uses every core without copying events.
fn hunt_blocks(
    config: &HuntConfig,
    matcher: &Matcher,
    idx: usize,
    kept: Option<&Mutex<Vec<Kept>>>,
    sink: &dyn Sink,
    parser: &ferret_logs::BlockParser<'_>,
    mut blocks: ferret_logs::Blocks<'_>,
) -> FileResult {
    let kind = log_kind(parser.format());
    let check = matcher.kinds().contains(&kind);
    let correlate = kept.is_some();
    let views = Views::default();
    let parts: Vec<(Tally<'_>, SourceCoverage)> = blocks
        .by_ref()
        .par_bridge()
        .map(|block| {
            let mut tally = Tally::new(config, matcher, idx, correlate);
            if config.cancel.is_cancelled() {
                return (tally, SourceCoverage::default());
            }
            let mut scratch = Scratch::default();
            let mut hits: Vec<RuleHit> = Vec::new();
            // This thread's views by field list (an access log's lines differ in whether
            // they carry a query or extra fields; a W3C block has one list).
            let mut local: Vec<(Vec<Arc<str>>, Arc<SchemaView>)> = Vec::new();
            let cov = parser.parse(&block, &mut |ev| {
                let admitted = tally.admit(ev);
                if admitted {
                    tally.network(ev, sink);
                }
                if admitted && check {
                    hits.clear();
                    // Borrowed, not cloned: a reference count shared by the threads would
                    // be written on every event.
                    let pos = match local.iter().position(|(names, _)| same_names(names, ev)) {
                        Some(p) => p,
                        None => {
                            let view = views.get(matcher, kind, ev);
                            if local.len() >= LOCAL_VIEWS {
                                local.remove(0);
                            }
                            local.push((ev.names().cloned().collect(), view));
                            local.len() - 1
                        }
                    };
                    let Some((_, view)) = local.get(pos) else {
                        return ControlFlow::Continue(());
                    };
                    matcher.eval_view(view, ev, &mut hits, &mut scratch);
                    if !hits.is_empty() {
                        tally.record(ev, &hits, sink);
                    }
                }
                ControlFlow::Continue(())
            });
            (tally, cov)
        })
        .collect();
    let mut total = Tally::new(config, matcher, idx, correlate);
    let mut cov = SourceCoverage::default();
    for (t, c) in parts {
        total.absorb(t);
        ferret_logs::merge_coverage(&mut cov, &c);
    }
    let cov = blocks.finish(&cov);
    let mut result = total.finish(cov, kept);
    result.inapplicable = views.inapplicable();
    result
}

/// Field lists whose views a thread keeps at hand.
const LOCAL_VIEWS: usize = 8;

/// Whether `ev`'s field names are `names` (the same allocations, or equal text).
fn same_names(names: &[Arc<str>], ev: &Event) -> bool {
    ev.names().len() == names.len()
        && ev.names().zip(names).all(|(a, b)| Arc::ptr_eq(a, b) || a == b)
}

/// The matcher's [`SchemaView`]s of one log, one per distinct list of field names (a log's
/// header may change mid-file), built on first use and shared by the threads.
#[derive(Default)]
struct Views {
    cache: Mutex<Vec<(Vec<String>, Arc<SchemaView>)>>,
}

impl Views {
    fn get(&self, matcher: &Matcher, kind: LogKind, ev: &Event) -> Arc<SchemaView> {
        let names: Vec<String> = ev.names().map(|n| String::from(&**n)).collect();
        let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, v)) = cache.iter().find(|(n, _)| *n == names) {
            return Arc::clone(v);
        }
        let view = Arc::new(
            matcher.for_schema(kind, &|f| names.iter().any(|n| n.eq_ignore_ascii_case(f))),
        );
        cache.push((names, Arc::clone(&view)));
        view
    }

    /// Rules that could apply under none of the log's field lists.
    fn inapplicable(&self) -> Vec<usize> {
        let cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out: Option<BTreeSet<usize>> = None;
        for (_, v) in cache.iter() {
            let set: BTreeSet<usize> = v.inapplicable().iter().copied().collect();
            out = Some(match out {
                None => set,
                Some(o) => o.intersection(&set).copied().collect(),
            });
        }
        out.map(|s| s.into_iter().collect()).unwrap_or_default()
    }
}

fn rule_ref(meta: &RuleMeta) -> RuleRef {
    RuleRef {
        id: meta.id.clone(),
        name: meta.title.clone(),
        source: Some(meta.path.to_string_lossy().into_owned()),
        references: meta.references.clone(),
    }
}

fn log_ref(ev: &Event) -> LogRef {
    LogRef {
        format: Some(ev.format.as_str().to_owned()),
        record_id: ev.record_id,
        line: ev.line,
        channel: ev.channel.clone(),
    }
}

/// One finding for one rule hit.
fn finding(meta: &RuleMeta, ev: &Event, hit: &RuleHit) -> Finding {
    let mut f = Finding::new(Engine::Sigma, rule_ref(meta), meta.level).with_path(&*ev.source);
    f.time = ev.time;
    f.log = Some(log_ref(ev));
    for (field, value) in &hit.matched {
        f.push_evidence(Evidence::from_bytes(field.clone(), None, value.as_bytes()));
    }
    if let Some(c) = ev.get_text("Computer") {
        f.details.insert("computer".to_owned(), json!(c));
    }
    if let Some(id) = ev.get_text("EventID") {
        f.details.insert("event_id".to_owned(), json!(id));
    }
    if !meta.tags.is_empty() {
        f.details.insert("tags".to_owned(), json!(meta.tags));
    }
    f
}

/// Feeds the kept hits, in time order, to one correlator; reports each correlation that fires.
fn correlation_pass(
    matcher: &Matcher,
    files: &[(PathBuf, u64)],
    kept: Mutex<Vec<Kept>>,
    config: &HuntConfig,
    sink: &dyn Sink,
) -> u64 {
    let mut kept = kept.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    kept.sort_by(|a, b| {
        a.time
            .cmp(&b.time)
            .then(a.file.cmp(&b.file))
            .then(a.event.record_id.cmp(&b.event.record_id))
            .then(a.event.line.cmp(&b.event.line))
            .then(a.rule.cmp(&b.rule))
    });
    let mut correlator = matcher.correlator();
    let rules = matcher.rules();
    let mut n = 0;
    for k in &kept {
        for c in correlator.observe(k.rule, k.time, &k.event) {
            let Some(meta) = rules.get(c.rule) else { continue };
            n += 1;
            if !meta.generate || meta.level < config.min_level {
                continue;
            }
            let mut f = Finding::new(Engine::Sigma, rule_ref(meta), meta.level);
            if let Some((p, _)) = files.get(k.file) {
                f = f.with_path(p.as_path());
            }
            f.time = Some(c.last);
            f.log = Some(log_ref(&k.event));
            f.message = Some(format!(
                "correlation fired: {} event(s) from {} to {}",
                c.count,
                c.first.to_rfc3339(),
                c.last.to_rfc3339()
            ));
            for (field, value) in &c.group {
                f.push_evidence(Evidence::from_bytes(field.clone(), None, value.as_bytes()));
            }
            f.details.insert("count".to_owned(), json!(c.count));
            f.details.insert("first".to_owned(), json!(c.first));
            sink.finding(f);
        }
    }
    n
}

/// Collects regular files under `p`. Symlinks are skipped (counted), as are other non-regular
/// files; unreadable directories are problems.
/// A short name for a file type that is neither a file, a directory nor a symlink.
fn special_kind(ft: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if ft.is_fifo() {
        "fifo"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_block_device() {
        "block device"
    } else if ft.is_char_device() {
        "char device"
    } else {
        "special file"
    }
}

/// The pseudo-filesystems never walked under `/`.
const PSEUDO_FILESYSTEMS: [&str; 4] = ["/proc", "/sys", "/dev", "/run"];

/// Exclude globs, split as `ferret scan` does: patterns with `/` match the path, the others
/// the name.
struct Excludes {
    paths: globset::GlobSet,
    names: globset::GlobSet,
    dirs: Vec<PathBuf>,
}

impl Excludes {
    fn new(patterns: &[String], roots: &[PathBuf]) -> Result<Excludes, HuntError> {
        let mut paths = globset::GlobSetBuilder::new();
        let mut names = globset::GlobSetBuilder::new();
        for pattern in patterns {
            let bad = |source| HuntError::BadExclude { pattern: pattern.clone(), source };
            let glob = globset::Glob::new(pattern).map_err(bad)?;
            if pattern.contains('/') {
                paths.add(glob);
            } else {
                names.add(glob);
            }
        }
        let bad = |source| HuntError::BadExclude { pattern: patterns.join(" "), source };
        let dirs = if roots.iter().any(|r| r.as_os_str() == "/") {
            PSEUDO_FILESYSTEMS.iter().map(PathBuf::from).collect()
        } else {
            Vec::new()
        };
        Ok(Excludes {
            paths: paths.build().map_err(bad)?,
            names: names.build().map_err(bad)?,
            dirs,
        })
    }

    fn matches(&self, path: &Path) -> bool {
        self.dirs.iter().any(|d| d == path)
            || self.paths.is_match(path)
            || path.file_name().is_some_and(|n| self.names.is_match(n))
    }
}

/// The files a hunt reads, gathered in sorted order.
struct Walk<'a> {
    max_size: u64,
    excludes: &'a Excludes,
    out: &'a mut Vec<(PathBuf, u64)>,
}

impl Walk<'_> {
    fn walk(&mut self, p: &Path, top: bool, summary: &mut Summary, sink: &dyn Sink) {
        if !top && self.excludes.matches(p) {
            summary.skip("excluded", 1);
            return;
        }
        let max_size = self.max_size;
        let meta = match std::fs::symlink_metadata(p) {
            Ok(m) => m,
            Err(e) => {
                let kind = if e.kind() == std::io::ErrorKind::PermissionDenied {
                    ProblemKind::PermissionDenied
                } else if top {
                    ProblemKind::ReadError
                } else {
                    ProblemKind::Vanished
                };
                sink.problem(Problem::at(kind, p, format!("cannot examine: {e}")));
                return;
            }
        };
        let ft = meta.file_type();
        if ft.is_symlink() {
            summary.skip("symlink", 1);
        } else if ft.is_file() && meta.len() > max_size {
            summary.skip("size", 1);
            sink.problem(Problem::at(
                ProblemKind::Skipped,
                p,
                format!("{} bytes, over the size limit of {max_size}; not read", meta.len()),
            ));
        } else if ft.is_file() {
            self.out.push((p.to_path_buf(), meta.len()));
        } else if ft.is_dir() {
            let rd = match std::fs::read_dir(p) {
                Ok(rd) => rd,
                Err(e) => {
                    let kind = if e.kind() == std::io::ErrorKind::PermissionDenied {
                        ProblemKind::PermissionDenied
                    } else {
                        ProblemKind::Walk
                    };
                    sink.problem(Problem::at(kind, p, format!("cannot list directory: {e}")));
                    return;
                }
            };
            let mut children: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
            children.sort();
            for c in children {
                self.walk(&c, false, summary, sink);
            }
        } else {
            // FIFOs, sockets and devices are never opened (an open could block, a read never end).
            summary.skip("not_a_regular_file", 1);
            let kind = special_kind(ft);
            sink.problem(Problem::at(ProblemKind::Skipped, p, format!("{kind} not opened")));
        }
    }
}

/// The README's example, run as a doctest so it keeps compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
