//! The run: walk once, read each log once, dispatch, decide a verdict per campaign.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read as _;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use aho_corasick::AhoCorasick;
use ferret_artefacts::HiveKind;
use ferret_artefacts::ntfs::{self, Change, HistoryCounts, HistoryKind, HistoryMatcher};
use ferret_core::{
    CampaignVerdict, Problem, ProblemKind, Progress, Severity, Sink, Summary, Verdict,
};
use ferret_fs::{EntryKind, WalkOptions, Walker};
use ferret_logs::{Event, LogFormat};
use rayon::prelude::*;
use serde_json::json;

use crate::CheckError;
use crate::detector::{Campaign, Detector, FileEntry, Info, Input, Out};
use crate::inventory::{EvidenceFiles, Inventory, LogRead, LogSource, Marker};
use crate::options::CheckOptions;
use crate::registry::DETECTORS;

/// What a run produced besides the findings and problems pushed into the sink.
#[derive(Debug)]
pub struct Outcome {
    /// Counters, skips, coverage (`details["coverage"]`) and verdicts (`details["verdicts"]`).
    pub summary: Summary,
    /// The verdicts, one per campaign reported, in campaign order.
    pub verdicts: Vec<CampaignVerdict>,
    /// Evidence-level findings of the network indicators of `--rules` ([`crate::netioc`]):
    /// they decide no campaign's verdict (`details["network_findings"]` of the summary).
    pub network_findings: u64,
    /// With [`CheckOptions::timeline`]: the artefact records of the campaigns' windows
    /// ([`crate::timeline`]), in the order met; [`crate::timeline::merge`] adds the findings.
    pub timeline: Vec<ferret_core::TimelineEntry>,
}

/// The network-indicator pass of a run ([`crate::netioc`]).
struct NetPlan<'o> {
    indicators: &'o crate::netioc::NetIndicators,
    /// Sources where SB005 runs, and SUNBURST's values (left to SB005).
    sunburst: bool,
    /// Sources where PL008 runs, and ProxyLogon's client addresses (left to PL008).
    proxylogon: bool,
    intel: &'o crate::intel::CheckIntel,
    findings: AtomicU64,
}

impl NetPlan<'_> {
    fn keeps(&self, src: LogSource, line: &str) -> bool {
        crate::netioc::SOURCES.contains(&src) && self.indicators.may_match(line)
    }

    fn on_event(&self, ev: &Event, src: LogSource, sink: &dyn Sink) {
        if !crate::netioc::SOURCES.contains(&src) {
            return;
        }
        let sb005 = self.sunburst
            && matches!(
                src,
                LogSource::Dns | LogSource::WebAccess | LogSource::Syslog | LogSource::Other
            );
        let pl008 = self.proxylogon && matches!(src, LogSource::ExchangeHttpProxy | LogSource::Iis);
        // What SB005 and PL008 report in this source is theirs.
        let keep = |ind: &crate::netioc::NetIndicator| {
            let v = ind.value.as_str();
            !(sb005 && self.intel.network.get(v).is_some()
                || pl008 && self.intel.client_ips.iter().any(|c| c == v))
        };
        for f in self.indicators.findings(ev, src.as_str(), &keep) {
            if f.severity >= Severity::High {
                self.findings.fetch_add(1, Ordering::Relaxed);
            }
            sink.finding(f);
        }
    }
}

/// A detector built for this run, with its tallies.
struct Active {
    info: &'static Info,
    det: Box<dyn Detector>,
    evidence: AtomicU64,
    leads: AtomicU64,
    events: AtomicU64,
    files: AtomicU64,
    not_checked: Mutex<Vec<String>>,
}

/// Which detectors read a log source, and the prefilter over their needles.
struct SourcePlan {
    /// Detectors that get every event of the source.
    all: Vec<usize>,
    /// Detectors that get only the events whose line contains one of their needles.
    filtered: Vec<usize>,
    needles: Option<AhoCorasick>,
}

impl SourcePlan {
    fn is_empty(&self) -> bool {
        self.all.is_empty() && self.filtered.is_empty()
    }
}

struct Plan {
    active: Vec<Active>,
    sources: BTreeMap<LogSource, SourcePlan>,
    files: Vec<usize>,
}

impl Plan {
    fn build(campaigns: &[Campaign], opts: &CheckOptions) -> Result<Plan, CheckError> {
        let mut active = Vec::new();
        for reg in DETECTORS {
            if !campaigns.contains(&reg.info.campaign) {
                continue;
            }
            active.push(Active {
                info: &reg.info,
                det: (reg.build)(opts)?,
                evidence: AtomicU64::new(0),
                leads: AtomicU64::new(0),
                events: AtomicU64::new(0),
                files: AtomicU64::new(0),
                not_checked: Mutex::new(Vec::new()),
            });
        }
        let own_needles: Vec<Option<Vec<String>>> =
            active.iter().map(|a| a.det.needles()).collect();
        let mut sources = BTreeMap::new();
        for s in LogSource::ALL {
            let mut plan = SourcePlan { all: Vec::new(), filtered: Vec::new(), needles: None };
            let mut needles: Vec<&str> = Vec::new();
            for (i, (a, own)) in active.iter().zip(&own_needles).enumerate() {
                if !a.info.inputs.contains(&Input::Log(s)) {
                    continue;
                }
                match own {
                    Some(list) if list.is_empty() => {}
                    Some(list) => {
                        plan.filtered.push(i);
                        needles.extend(list.iter().map(String::as_str));
                    }
                    None if a.info.needles.is_empty() => plan.all.push(i),
                    None => {
                        plan.filtered.push(i);
                        needles.extend(a.info.needles);
                    }
                }
            }
            plan.needles = ferret_logs::netioc::line_prefilter(&needles);
            if !plan.is_empty() {
                sources.insert(s, plan);
            }
        }
        let files = (0..active.len()).collect();
        Ok(Plan { active, sources, files })
    }

    /// Stamps, counts and forwards what detector `i` recorded.
    fn emit(&self, i: usize, out: &mut Out, sink: &dyn Sink) {
        let Some(a) = self.active.get(i) else {
            *out = Out::default();
            return;
        };
        for p in out.problems.drain(..) {
            sink.problem(p);
        }
        if !out.not_checked.is_empty()
            && let Ok(mut n) = a.not_checked.lock()
        {
            for s in out.not_checked.drain(..) {
                n.push(format!("{} {}: {s}", a.info.code, a.info.name));
            }
        }
        for mut f in out.findings.drain(..) {
            if f.rule.id.is_empty() {
                f.rule = a.info.rule();
            }
            f.details.entry("campaign".to_owned()).or_insert_with(|| json!(a.info.campaign.id()));
            if f.severity >= Severity::High {
                a.evidence.fetch_add(1, Ordering::Relaxed);
            } else {
                a.leads.fetch_add(1, Ordering::Relaxed);
            }
            sink.finding(f);
        }
    }
}

/// Whether a file may be a log worth sniffing: by extension (or none, or a rotation number).
fn log_candidate(path: &Path) -> bool {
    let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
        return true;
    };
    let ext = ext.to_ascii_lowercase();
    matches!(
        ext.as_str(),
        "log" | "txt" | "evtx" | "json" | "jsonl" | "ndjson" | "gz" | "csv" | "tsv" | "out"
    ) || ext.bytes().all(|b| b.is_ascii_digit())
}

/// What reading one file produced.
struct FileResult {
    log: Option<LogRead>,
    truncated: bool,
    parse_errors: u64,
    not_a_log: bool,
    /// Whether the file was a registry hive, and what reading it gave.
    hive: HiveOutcome,
}

/// What the hive step made of one file.
enum HiveOutcome {
    /// Not a hive (by its first bytes).
    NotAHive,
    /// A hive that could not be read (the problem is reported).
    Unreadable,
    /// A hive read: its kind and what was counted in it.
    Read(HiveKind, ferret_artefacts::examine::Counts),
}

/// Forwards artefact findings (Amcache, ShimCache, autostart entries) and counts those at
/// evidence level: they are reported and decide the exit status, but no campaign's verdict.
struct ArtefactSink<'s> {
    inner: &'s dyn Sink,
    findings: &'s AtomicU64,
}

impl Sink for ArtefactSink<'_> {
    fn finding(&self, finding: ferret_core::Finding) {
        if finding.severity >= Severity::High {
            self.findings.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.finding(finding);
    }

    fn problem(&self, problem: Problem) {
        self.inner.problem(problem);
    }
}

/// Runs the checks. Findings and problems go to `sink`; progress (files, bytes) to
/// `progress`. `Err` only when the run cannot start.
pub fn check(
    opts: &CheckOptions,
    sink: &dyn Sink,
    progress: &dyn Progress,
) -> Result<Outcome, CheckError> {
    if opts.paths.is_empty() {
        return Err(CheckError::NoPaths);
    }
    let explicit = !opts.campaigns.is_empty();
    let campaigns: Vec<Campaign> =
        if explicit { dedup(&opts.campaigns) } else { Campaign::ALL.to_vec() };
    let plan = Plan::build(&campaigns, opts)?;
    let net = (!opts.network.is_empty()).then(|| NetPlan {
        indicators: &opts.network,
        sunburst: campaigns.contains(&Campaign::Sunburst),
        proxylogon: campaigns.contains(&Campaign::ProxyLogon),
        intel: &opts.intel,
        findings: AtomicU64::new(0),
    });
    let mut summary = Summary::default();

    // 1. Walk once; list the disk images and collections named (read in place).
    let (named, walked): (Vec<PathBuf>, Vec<PathBuf>) =
        opts.paths.iter().cloned().partition(|p| ferret_evidence::is_evidence(p));
    let sources = open_evidence(&named, &mut summary, sink);
    let mut inv = if walked.is_empty() && !named.is_empty() {
        Inventory { roots: opts.paths.clone(), ..Inventory::default() }
    } else {
        walk(opts, &walked, &mut summary, sink)?
    };
    inv.evidence = EvidenceFiles::new(walked.clone(), !named.is_empty());
    let local: Vec<(PathBuf, u64)> = inv.files.clone();
    let evidence = list_evidence(&sources, opts, &mut inv, &mut summary, sink)?;
    // Every file to examine: the local ones, then those inside evidence (with their source).
    let work: Vec<(PathBuf, u64, Option<usize>)> = local
        .into_iter()
        .map(|(p, n)| (p, n, None))
        .chain(
            evidence
                .iter()
                .enumerate()
                .map(|(k, (_, e))| (PathBuf::from(e.path.lossy().into_owned()), e.size, Some(k))),
        )
        .collect();
    summary.count("files_seen", work.len() as u64);
    progress.set_total(work.len() as u64, work.iter().map(|(_, s, _)| s).sum());

    // 2. Files, hives and logs, in parallel per file.
    // Built on the first hive met: a run without hives never compiles them.
    let iocs: std::sync::OnceLock<ferret_ioc::IocSet> = std::sync::OnceLock::new();
    let artefact_findings = AtomicU64::new(0);
    let artefacts = ArtefactSink { inner: sink, findings: &artefact_findings };
    let want_logs = !plan.sources.is_empty() || net.is_some();
    let evidence_logs: HashMap<(usize, String), usize> = evidence
        .iter()
        .enumerate()
        .filter_map(|(k, (i, e))| {
            let p = e.path.lossy().to_lowercase();
            [".log", ".log1", ".log2"].iter().any(|x| p.ends_with(x)).then_some(((*i, p), k))
        })
        .collect();
    let history_files = Mutex::new(Vec::new());
    let recorder = opts.timeline.then(|| crate::timeline::Recorder::new(&campaigns, &opts.intel));
    let results: Vec<FileResult> = work
        .par_iter()
        .map(|(path, size, ev)| {
            if opts.cancel.is_cancelled() {
                return FileResult {
                    log: None,
                    truncated: false,
                    parse_errors: 0,
                    not_a_log: true,
                    hive: HiveOutcome::NotAHive,
                };
            }
            let hives = HiveStep {
                iocs: &iocs,
                intel: &opts.intel,
                sink: &artefacts,
                roots: &opts.paths,
                history: &history_files,
                timeline: recorder.as_ref(),
                evidence: &evidence,
                evidence_logs: &evidence_logs,
            };
            let inside = ev.and_then(|k| evidence.get(k)).and_then(|(i, e)| {
                sources.get(*i).map(|s| (*i, &**s as &dyn ferret_evidence::Source, e))
            });
            let r =
                examine(&plan, net.as_ref(), opts, path, *size, want_logs, &hives, sink, inside);
            progress.advance(1, *size);
            r
        })
        .collect();
    let mut hive_counts = ferret_artefacts::examine::Counts::default();
    for r in results {
        summary.count("parse_errors", r.parse_errors);
        match r.hive {
            HiveOutcome::Read(kind, c) => {
                hive_counts.hives_read += 1;
                hive_counts.hives_replayed += c.hives_replayed;
                hive_counts.amcache_entries += c.amcache_entries;
                hive_counts.shimcache_entries += c.shimcache_entries;
                hive_counts.autostart_entries += c.autostart_entries;
                inv.hives.push(kind);
            }
            HiveOutcome::Unreadable => hive_counts.hives_unreadable += 1,
            HiveOutcome::NotAHive => {}
        }
        if r.not_a_log {
            continue;
        }
        if let Some(log) = r.log {
            summary.count("logs_read", 1);
            summary.count("events_read", log.events);
            inv.logs.push(log);
        } else if r.truncated {
            summary.count("logs_unreadable", 1);
        }
    }

    // 3. NTFS history: the $MFT and journal files met, and the volumes of disk images named
    // as targets.
    let mut history_files = history_files.into_inner().unwrap_or_else(PoisonError::into_inner);
    history_files.sort();
    hive_counts.history = history_step(
        &plan,
        opts,
        &history_files,
        &sources,
        &iocs,
        &artefacts,
        recorder.as_ref(),
        &mut inv,
        sink,
    );

    // 4. Tree detectors, then the end of every detector. The files inside evidence are
    // handed over, so tree detectors read them through their sources.
    for (i, e) in evidence {
        if let Some(src) = sources.get(i) {
            inv.evidence.add_file(src, e);
        }
    }
    let mut out = Out::default();
    for (i, a) in plan.active.iter().enumerate() {
        a.det.on_tree(&inv, &mut out);
        plan.emit(i, &mut out, sink);
    }
    for (i, a) in plan.active.iter().enumerate() {
        a.det.finish(&mut out);
        plan.emit(i, &mut out, sink);
    }

    // 5. Verdicts. An interrupted run decides nothing NOT FOUND: part of the evidence was
    // never read.
    let mut verdicts = verdicts(&plan, &inv, &campaigns, explicit, opts);
    if opts.cancel.is_cancelled() {
        summary.mark_interrupted();
        summary
            .not_checked
            .push("the check was interrupted; files not yet started were not read".to_owned());
        for v in &mut verdicts {
            if v.verdict == Verdict::NotFound {
                v.verdict = Verdict::Unknown;
                v.reason =
                    format!("the run was interrupted before every file was read ({})", v.reason);
            }
        }
    }
    let coverage: Vec<serde_json::Value> = inv
        .logs
        .iter()
        .map(|l| {
            json!({
                "path": l.path.to_string_lossy(),
                "source": l.source.as_str(),
                "events": l.events,
                "first": l.first,
                "last": l.last,
                "truncated": l.truncated,
                "assumed_timezone": l.assumed_timezone,
            })
        })
        .collect();
    let zoneless: Vec<&LogRead> =
        inv.logs.iter().filter(|l| l.assumed_timezone.is_some()).collect();
    if let Some(first) = zoneless.first() {
        summary.not_checked.push(format!(
            "{} log file(s) (e.g. {}) write times without a time zone; they were read as {}: \
             shift the coverage and the findings' times if the host logged local time",
            zoneless.len(),
            first.path.display(),
            first.assumed_timezone.unwrap_or("UTC")
        ));
    }
    let cut: Vec<&LogRead> = inv.logs.iter().filter(|l| l.truncated).collect();
    if !cut.is_empty() {
        summary.mark_incomplete(format!(
            "{} log file(s) could not be read to their end (see problems)",
            cut.len()
        ));
    }
    hive_counts.record(&mut summary);
    summary
        .details
        .insert("artefact_findings".to_owned(), json!(artefact_findings.load(Ordering::Relaxed)));
    summary.rules.add_loaded("check", plan.active.len() as u64);
    summary.details.insert("coverage".to_owned(), serde_json::Value::Array(coverage));
    summary.details.insert("log_spans".to_owned(), json!(inv.spans()));
    summary.details.insert("verdicts".to_owned(), json!(verdicts));
    if let Some(n) = &net {
        summary
            .details
            .insert("network_findings".to_owned(), json!(n.findings.load(Ordering::Relaxed)));
    }
    summary.settle();
    for v in &verdicts {
        if v.verdict == Verdict::Unknown {
            summary.not_checked.push(format!("{}: {}", v.campaign, v.reason));
            summary.mark_incomplete(format!("{} is UNKNOWN", v.campaign));
        }
    }
    let network_findings = net.as_ref().map_or(0, |n| n.findings.load(Ordering::Relaxed));
    if let Some(n) = &net {
        summary.rules.add_loaded("network", n.indicators.len() as u64);
    }
    let mut timeline = Vec::new();
    if let Some(r) = recorder {
        let (lines, dropped) = r.into_parts();
        if dropped > 0 {
            summary.notes.push(format!(
                "timeline: {} artefact record(s) of the campaign windows kept, {dropped} more left out",
                lines.len()
            ));
        }
        timeline = lines;
    }
    Ok(Outcome { summary, verdicts, network_findings, timeline })
}

fn dedup(c: &[Campaign]) -> Vec<Campaign> {
    let set: BTreeSet<Campaign> = c.iter().copied().collect();
    set.into_iter().collect()
}

/// Opens the disk images and collections named; what cannot be examined is a problem and
/// makes the run incomplete.
fn open_evidence(
    named: &[PathBuf],
    summary: &mut Summary,
    sink: &dyn Sink,
) -> Vec<Arc<dyn ferret_evidence::Source>> {
    let sources = ferret_evidence::open_named(named, summary, sink);
    if !named.is_empty() {
        summary.count("evidence_sources", sources.len() as u64);
    }
    sources
}

/// Lists the files inside the evidence named: each marks the inventory under the path the
/// host knew (Windows paths compare without case, as the detectors do) and is examined like
/// a file of a walked tree.
fn list_evidence(
    sources: &[Arc<dyn ferret_evidence::Source>],
    opts: &CheckOptions,
    inv: &mut Inventory,
    summary: &mut Summary,
    sink: &dyn Sink,
) -> Result<Vec<(usize, ferret_evidence::Entry)>, CheckError> {
    let excludes = ferret_fs::PathExcludes::new(&opts.excludes)?;
    let mut out = Vec::new();
    let (mut excluded, mut size, mut metadata, mut errors) = (0u64, 0u64, 0u64, 0u64);
    let mut skipped: BTreeMap<&'static str, u64> = BTreeMap::new();
    for (i, src) in sources.iter().enumerate() {
        let stats = src.entries(sink, &opts.cancel, &mut |e| {
            let shown = e.path.lossy().into_owned();
            match e.kind {
                ferret_evidence::EntryKind::Dir => {
                    inv.mark(Path::new(&shown));
                    return;
                }
                ferret_evidence::EntryKind::Symlink | ferret_evidence::EntryKind::Special(_) => {
                    // Listed, never followed or opened (as on a walked tree).
                    inv.mark(Path::new(&shown));
                    inv.evidence.add_other(PathBuf::from(&shown));
                    let what = if e.kind == ferret_evidence::EntryKind::Symlink {
                        "symlink"
                    } else {
                        "not_a_regular_file"
                    };
                    *skipped.entry(what).or_default() += 1;
                    return;
                }
                ferret_evidence::EntryKind::File => {}
            }
            if excludes.matches(&shown) {
                excluded += 1;
                return;
            }
            inv.mark(Path::new(&shown));
            if e.size > opts.max_file_size {
                size += 1;
                inv.evidence.add_other(PathBuf::from(&shown));
                sink.problem(Problem::at(
                    ProblemKind::Skipped,
                    shown.as_str(),
                    format!(
                        "{} bytes, over the size limit of {}; not read",
                        e.size, opts.max_file_size
                    ),
                ));
                return;
            }
            inv.files.push((PathBuf::from(&shown), e.size));
            out.push((i, e));
        });
        metadata += stats.metadata_skipped;
        errors += stats.errors;
    }
    summary.skip("excluded", excluded);
    summary.skip("size", size);
    summary.skip("evidence_metadata", metadata);
    for (k, v) in skipped {
        summary.skip(k, v);
    }
    if size > 0 {
        summary.mark_incomplete(format!(
            "{size} file(s) inside evidence over --max-file-size ({}) not examined",
            opts.max_file_size
        ));
    }
    if errors > 0 {
        summary.mark_incomplete(format!(
            "{errors} entries inside evidence could not be listed or are suspect (see problems)"
        ));
    }
    inv.files.sort();
    inv.files.dedup();
    for v in inv.markers.values_mut() {
        v.sort();
    }
    Ok(out)
}

fn walk(
    opts: &CheckOptions,
    roots: &[PathBuf],
    summary: &mut Summary,
    sink: &dyn Sink,
) -> Result<Inventory, CheckError> {
    let walker = Walker::new(WalkOptions {
        roots: roots.to_vec(),
        excludes: opts.excludes.clone(),
        cancel: opts.cancel.clone(),
        threads: opts.threads,
        ..WalkOptions::default()
    })?;
    let seen: Mutex<(Inventory, BTreeMap<&'static str, u64>)> = Mutex::new((
        Inventory { roots: opts.paths.clone(), ..Inventory::default() },
        BTreeMap::new(),
    ));
    let stats = walker.run(
        || {
            |e: ferret_fs::Entry<'_>| {
                let Ok(mut g) = seen.lock() else { return };
                let (inv, skips) = &mut *g;
                inv.mark(e.path);
                match e.kind {
                    EntryKind::File if e.meta.len() > opts.max_file_size => {
                        *skips.entry("size").or_default() += 1;
                        sink.problem(Problem::at(
                            ProblemKind::Skipped,
                            e.path,
                            format!(
                                "{} bytes, over the size limit of {}; not read",
                                e.meta.len(),
                                opts.max_file_size
                            ),
                        ));
                    }
                    EntryKind::File => inv.files.push((e.path.to_path_buf(), e.meta.len())),
                    EntryKind::Dir => {}
                    EntryKind::Symlink => *skips.entry("symlink").or_default() += 1,
                    _ => *skips.entry("not_a_regular_file").or_default() += 1,
                }
            }
        },
        sink,
    );
    let (mut inv, skips) = seen.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(&n) = skips.get("size") {
        summary.mark_incomplete(format!(
            "{n} file(s) over --max-file-size ({}) not examined",
            opts.max_file_size
        ));
    }
    for (k, v) in skips {
        summary.skip(k, v);
    }
    summary.skip("excluded", stats.excluded);
    inv.files.sort();
    inv.files.dedup();
    for v in inv.markers.values_mut() {
        v.sort();
    }
    Ok(inv)
}

/// What the hive step of a run shares between files.
struct HiveStep<'s> {
    /// The intel's scan tables (hash and file-name indicators) for Amcache and ShimCache.
    iocs: &'s std::sync::OnceLock<ferret_ioc::IocSet>,
    /// Where they come from.
    intel: &'s crate::intel::CheckIntel,
    /// Where artefact findings go (counted apart from the detectors').
    sink: &'s ArtefactSink<'s>,
    /// The paths the run was given: a file named there is looked at whatever its size.
    roots: &'s [std::path::PathBuf],
    /// NTFS history files met (`$MFT`, `$J`), read after the other files.
    history: &'s Mutex<Vec<(std::path::PathBuf, HistoryKind)>>,
    /// The timeline's records, with `--timeline`.
    timeline: Option<&'s crate::timeline::Recorder>,
    /// The entries inside the evidence named, with their source's index.
    evidence: &'s [(usize, ferret_evidence::Entry)],
    /// Transaction logs inside evidence: (source index, lowercase path) to their entry.
    evidence_logs: &'s HashMap<(usize, String), usize>,
}

/// Reads `path` as a registry hive when its content says it is one: the hive detectors get
/// it, and its Amcache and ShimCache entries are matched against the intel's indicators.
fn hive_step(
    plan: &Plan,
    hives: &HiveStep<'_>,
    path: &Path,
    size: u64,
    out: &mut Out,
    sink: &dyn Sink,
) -> HiveOutcome {
    use ferret_artefacts::examine::{is_hive_file, load, may_be_hive};
    let named = hives.roots.iter().any(|r| r == path);
    if !may_be_hive(size, named) || !is_hive_file(path) {
        return HiveOutcome::NotAHive;
    }
    let Some(h) = load(path, sink) else { return HiveOutcome::Unreadable };
    use_hive(plan, hives, &h, out, sink)
}

/// [`hive_step`] for an entry inside evidence (a disk image, a collection): the hive and its
/// transaction logs beside it (`NAME.LOG`, `.LOG1`, `.LOG2` in the same source) are read
/// through the source, in memory.
fn hive_step_in(
    plan: &Plan,
    hives: &HiveStep<'_>,
    source: usize,
    src: &dyn ferret_evidence::Source,
    e: &ferret_evidence::Entry,
    out: &mut Out,
    sink: &dyn Sink,
) -> HiveOutcome {
    use ferret_artefacts::examine::{EntryHive, load_entry, may_be_hive};
    if e.unreadable.is_some() || !may_be_hive(e.size, false) {
        return HiveOutcome::NotAHive;
    }
    let log = |p: &str| {
        hives
            .evidence_logs
            .get(&(source, p.to_owned()))
            .and_then(|&k| hives.evidence.get(k))
            .map(|(_, le)| le)
    };
    let h = match load_entry(src, e, &log, sink) {
        EntryHive::NotAHive => return HiveOutcome::NotAHive,
        EntryHive::Unreadable => return HiveOutcome::Unreadable,
        EntryHive::Read(h) => h,
    };
    use_hive(plan, hives, &h, out, sink)
}

/// Gives a read hive to the hive detectors and matches its execution evidence.
fn use_hive(
    plan: &Plan,
    hives: &HiveStep<'_>,
    h: &ferret_artefacts::Hive,
    out: &mut Out,
    sink: &dyn Sink,
) -> HiveOutcome {
    use ferret_artefacts::examine::{Counts, match_hive};
    let kind = h.kind();
    for &i in &plan.files {
        let Some(a) = plan.active.get(i) else { continue };
        if a.info.inputs.contains(&Input::Hive(kind)) {
            a.files.fetch_add(1, Ordering::Relaxed);
            a.det.on_hive(h, out);
            for f in &mut out.findings {
                f.details.entry("artefact".to_owned()).or_insert_with(|| json!("registry"));
            }
            plan.emit(i, out, sink);
        }
    }
    let mut counts = Counts::default();
    if !h.replayed.is_empty() {
        counts.hives_replayed = 1;
    }
    let iocs = hives.iocs.get_or_init(|| hives.intel.scan_iocs(sink));
    match_hive(h, iocs, hives.sink, &mut counts);
    if let Some(t) = hives.timeline {
        match kind {
            HiveKind::Amcache => {
                for e in ferret_artefacts::amcache::entries(h) {
                    let p = e.path.unwrap_or_default();
                    t.execution("Amcache", e.key_time, &p, "program recorded (entry written)");
                }
            }
            HiveKind::System => {
                for e in ferret_artefacts::shimcache::entries(h).0 {
                    t.execution(
                        "ShimCache",
                        e.modified,
                        &e.path,
                        "executable recorded (file modified)",
                    );
                }
            }
            _ => {}
        }
    }
    HiveOutcome::Read(kind, counts)
}

/// Reads the NTFS history (raw files grouped by volume, then the NTFS volumes of the disk
/// images named as targets): every change goes to the detectors that read history and is
/// matched against the intel's file-name indicators (artefact findings).
#[expect(clippy::too_many_arguments, reason = "the context of one run")]
fn history_step(
    plan: &Plan,
    opts: &CheckOptions,
    files: &[(std::path::PathBuf, HistoryKind)],
    sources: &[Arc<dyn ferret_evidence::Source>],
    iocs: &std::sync::OnceLock<ferret_ioc::IocSet>,
    artefacts: &ArtefactSink<'_>,
    recorder: Option<&crate::timeline::Recorder>,
    inv: &mut Inventory,
    sink: &dyn Sink,
) -> HistoryCounts {
    // The NTFS volumes of the disk images named, opened once with the other evidence (step 1).
    let volumes: Vec<&Arc<dyn ferret_evidence::Source>> =
        sources.iter().filter(|s| ntfs::NtfsSource::of(s.as_ref()).is_some()).collect();
    if files.is_empty() && volumes.is_empty() {
        return HistoryCounts::default();
    }
    let wants: Vec<usize> = plan
        .files
        .iter()
        .copied()
        .filter(|&i| {
            plan.active.get(i).is_some_and(|a| a.info.inputs.contains(&Input::NtfsHistory))
        })
        .collect();
    let iocs = iocs.get_or_init(|| opts.intel.scan_iocs(sink));
    let mut matcher = HistoryMatcher::new(iocs);
    let cancel = opts.cancel.clone();
    let stop = move || cancel.is_cancelled();
    let mut reader = ntfs::Reader { sink, stop: &stop, counts: HistoryCounts::default() };
    let mut out = Out::default();
    let mut on = |origin: &Path, c: &Change| {
        matcher.change(origin, c);
        if let Some(r) = recorder {
            r.change(c);
        }
        for &i in &wants {
            if let Some(a) = plan.active.get(i) {
                a.det.on_change(c, origin, &mut out);
                if !out.is_empty() {
                    plan.emit(i, &mut out, sink);
                }
            }
        }
    };
    for v in ntfs::group(files) {
        reader.read_files(&v, &mut on);
        inv.ntfs_history += 1;
    }
    for src in volumes {
        if let Some(vol) = ntfs::NtfsSource::of(src.as_ref()) {
            let image = PathBuf::from(vol.container());
            reader.read_volume(vol, &src.describe(), &mut |c| on(&image, c));
            inv.ntfs_history += 1;
        }
    }
    for &i in &wants {
        if let Some(a) = plan.active.get(i) {
            a.files.fetch_add(inv.ntfs_history, Ordering::Relaxed);
        }
    }
    matcher.finish(artefacts);
    reader.counts
}

#[expect(clippy::too_many_arguments, reason = "the per-file context of one run")]
fn examine(
    plan: &Plan,
    net: Option<&NetPlan<'_>>,
    opts: &CheckOptions,
    path: &Path,
    size: u64,
    want_logs: bool,
    hives: &HiveStep<'_>,
    sink: &dyn Sink,
    inside: Option<(usize, &dyn ferret_evidence::Source, &ferret_evidence::Entry)>,
) -> FileResult {
    let mut out = Out::default();
    // A file inside evidence: read through its source; what is found about it names where.
    let in_evidence;
    let sink: &dyn Sink = match inside {
        Some((_, _, e)) => {
            in_evidence = ferret_evidence::EntrySink::new(sink, e);
            &in_evidence
        }
        None => sink,
    };
    let load = |max: u64| -> Result<Vec<u8>, String> {
        let Some((_, src, e)) = inside else { return Err("not inside evidence".to_owned()) };
        if let Some(why) = &e.unreadable {
            return Err(why.clone());
        }
        let r = src.open(e).map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        r.take(max).read_to_end(&mut buf).map_err(|e| e.to_string())?;
        Ok(buf)
    };
    // File detectors.
    let entry = if inside.is_some() {
        FileEntry::in_evidence(path, size, opts.max_file_read, &load)
    } else {
        FileEntry::new(path, size, opts.max_file_read)
    };
    for &i in &plan.files {
        let Some(a) = plan.active.get(i) else { continue };
        if a.det.wants_file(path, size) {
            a.files.fetch_add(1, Ordering::Relaxed);
            a.det.on_file(&entry, &mut out);
            plan.emit(i, &mut out, sink);
        }
    }
    if let Some(e) = entry.read_error() {
        sink.problem(Problem::at(ProblemKind::ReadError, path, format!("cannot read: {e}")));
    }
    let none = FileResult {
        log: None,
        truncated: false,
        parse_errors: 0,
        not_a_log: true,
        hive: HiveOutcome::NotAHive,
    };
    // A registry hive is no log.
    let hive = match inside {
        Some((i, src, e)) => hive_step_in(plan, hives, i, src, e, &mut out, sink),
        None => hive_step(plan, hives, path, size, &mut out, sink),
    };
    if !matches!(hive, HiveOutcome::NotAHive) {
        return FileResult { hive, ..none };
    }
    // Nor is NTFS history: kept for after the files (a journal needs its volume's $MFT).
    // Inside a collection that is a local folder (KAPE, an unpacked Velociraptor collection)
    // the raw `$MFT` and `$J` are read from where they lie, grouped by their folders as in a
    // walked tree; inside an image or an archive they are not read as history.
    let local = match inside {
        Some((_, _, e)) => e.local_path(),
        None => Some(path),
    };
    let name = match inside {
        Some((_, _, e)) => e.file_name(),
        None => path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
    };
    if let Some(local) = local
        && ntfs::may_be_history(&name, size)
        && let Some(kind) = ntfs::sniff_file(local)
    {
        hives
            .history
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((local.to_path_buf(), kind));
        return none;
    }
    if !want_logs || !log_candidate(path) {
        return none;
    }
    // Logs: read once, dispatch each event to the detectors of its source. The source is
    // decided from the path, the format and the channel (`#Log-type:`), cached while they stay
    // the same; lines that no detector of their source can want are only counted.
    let cache: Mutex<Option<(LogFormat, Option<String>, LogSource)>> = Mutex::new(None);
    let source_of = |format: LogFormat, channel: Option<&str>| -> LogSource {
        let mut c = cache.lock().unwrap_or_else(PoisonError::into_inner);
        match &*c {
            Some((f, ch, s)) if *f == format && ch.as_deref() == channel => *s,
            _ => {
                let s = LogSource::classify(path, format, channel);
                *c = Some((format, channel.map(str::to_owned), s));
                s
            }
        }
    };
    let keep = |format: LogFormat, channel: Option<&str>, line: &str| -> bool {
        let src = source_of(format, channel);
        if net.is_some_and(|n| n.keeps(src, line)) {
            return true;
        }
        let Some(sp) = plan.sources.get(&src) else {
            return false;
        };
        !sp.all.is_empty() || sp.needles.as_ref().is_none_or(|ac| ac.is_match(line))
    };
    let mut on_event = |ev: &Event| {
        let src = source_of(ev.format, ev.channel.as_deref());
        if let Some(sp) = plan.sources.get(&src) {
            dispatch(plan, sp, src, ev, &mut out, sink);
        }
        if let Some(n) = net {
            n.on_event(ev, src, sink);
        }
        ControlFlow::Continue(())
    };
    let cov = match inside {
        None => ferret_logs::read_filtered(path, &opts.read, sink, &keep, &mut on_event),
        Some((_, src, e)) => match src.open(e) {
            Ok(r) => ferret_logs::read_reader_filtered(
                path,
                Box::new(r),
                &opts.read,
                sink,
                &keep,
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
    let Some(format) = cov.format else {
        return FileResult { not_a_log: !cov.truncated, truncated: cov.truncated, ..none };
    };
    let cached = cache.lock().unwrap_or_else(PoisonError::into_inner).as_ref().map(|c| c.2);
    let source = cached.unwrap_or_else(|| LogSource::classify(path, format, None));
    if let Some(sp) = plan.sources.get(&source) {
        for &i in sp.all.iter().chain(&sp.filtered) {
            if let Some(a) = plan.active.get(i) {
                a.events.fetch_add(cov.events, Ordering::Relaxed);
                a.files.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    FileResult {
        log: Some(LogRead {
            path: path.to_path_buf(),
            source,
            events: cov.events,
            first: cov.first,
            last: cov.last,
            truncated: cov.truncated,
            assumed_timezone: cov.assumed_timezone,
        }),
        truncated: cov.truncated,
        parse_errors: cov.parse_errors,
        not_a_log: false,
        hive: HiveOutcome::NotAHive,
    }
}

fn dispatch(
    plan: &Plan,
    sp: &SourcePlan,
    src: LogSource,
    ev: &Event,
    out: &mut Out,
    sink: &dyn Sink,
) {
    for &i in &sp.all {
        if let Some(a) = plan.active.get(i) {
            a.det.on_event(ev, src, out);
            if !out.is_empty() {
                plan.emit(i, out, sink);
            }
        }
    }
    if sp.filtered.is_empty() {
        return;
    }
    let text = ev.text();
    // Structured events have no line: every detector sees them.
    let pass = text.is_empty()
        || matches!(ev.format, LogFormat::Evtx | LogFormat::EvtxJson | LogFormat::Json)
        || sp.needles.as_ref().is_none_or(|ac| ac.is_match(text));
    if !pass {
        return;
    }
    for &i in &sp.filtered {
        if let Some(a) = plan.active.get(i) {
            a.det.on_event(ev, src, out);
            if !out.is_empty() {
                plan.emit(i, out, sink);
            }
        }
    }
}

/// Whether a detector's inputs were present, and a sentence saying what it looked at.
fn ran(a: &Active, inv: &Inventory) -> Option<String> {
    let mut what = Vec::new();
    for input in a.info.inputs {
        match *input {
            Input::Log(s) => {
                let n = inv.logs.iter().filter(|l| l.source == s).count();
                if n > 0 {
                    what.push(format!("{n} {s} log file(s)"));
                }
            }
            Input::Tree(m) => {
                if inv.has(m) {
                    what.push(m.describe().to_owned());
                }
            }
            Input::Hive(k) => {
                let n = inv.hives.iter().filter(|h| **h == k).count();
                if n > 0 {
                    what.push(format!("{n} × {}", input.describe()));
                }
            }
            Input::NtfsHistory => {
                if inv.ntfs_history > 0 {
                    what.push(format!("{} NTFS volume(s) of history ($MFT, $J)", inv.ntfs_history));
                }
            }
        }
    }
    if what.is_empty() {
        return None;
    }
    let mut s = format!("{} {}: {}", a.info.code, a.info.name, what.join(", "));
    let files = a.files.load(Ordering::Relaxed);
    let events = a.events.load(Ordering::Relaxed);
    if events > 0 {
        s.push_str(&format!("; {events} event(s)"));
    } else if files > 0 {
        s.push_str(&format!("; {files} file(s) examined"));
    }
    Some(s)
}

fn verdicts(
    plan: &Plan,
    inv: &Inventory,
    campaigns: &[Campaign],
    explicit: bool,
    opts: &CheckOptions,
) -> Vec<CampaignVerdict> {
    let mut all = Vec::new();
    for &c in campaigns {
        let mut v = CampaignVerdict {
            campaign: c.id().to_owned(),
            title: c.title().to_owned(),
            verdict: Verdict::Unknown,
            reason: String::new(),
            evidence: 0,
            leads: 0,
            checked: Vec::new(),
            not_checked: Vec::new(),
            sources: Vec::new(),
        };
        let mut sources: BTreeSet<LogSource> = BTreeSet::new();
        let mut detectors = 0;
        for a in plan.active.iter().filter(|a| a.info.campaign == c) {
            detectors += 1;
            v.evidence += a.evidence.load(Ordering::Relaxed);
            v.leads += a.leads.load(Ordering::Relaxed);
            for input in a.info.inputs {
                if let Input::Log(s) = input {
                    sources.insert(*s);
                }
            }
            if let Ok(n) = a.not_checked.lock() {
                v.not_checked.extend(n.iter().cloned());
            }
            match ran(a, inv) {
                Some(s) => v.checked.push(s),
                None => {
                    let needs: Vec<&str> = a.info.inputs.iter().map(|i| i.describe()).collect();
                    v.not_checked.push(format!(
                        "{} {}: nothing to read; it needs {}",
                        a.info.code,
                        a.info.name,
                        needs.join(" or ")
                    ));
                }
            }
        }
        v.sources = inv
            .spans()
            .into_iter()
            .filter(|s| sources.iter().any(|x| x.as_str() == s.source))
            .collect();
        // The logs must cover the campaign's window: logs that end before it or begin after it
        // cannot show the campaign.
        let mut uncovered = Vec::new();
        if let Some(w) = opts.intel.window(c) {
            let who = w.source_title();
            for s in &v.sources {
                let first = s.first.map(|t| t.date_naive());
                let last = s.last.map(|t| t.date_naive());
                if let Some(last) = last
                    && last < w.from
                {
                    uncovered.push(format!(
                        "{} logs end on {last}, before the campaign's window ({}; {who}): they \
                         cannot show it",
                        s.source,
                        w.describe()
                    ));
                } else if let (Some(first), Some(to)) = (first, w.to)
                    && first > to
                {
                    uncovered.push(format!(
                        "{} logs begin on {first}, after the campaign's window ({}; {who}): they \
                         cannot show it",
                        s.source,
                        w.describe()
                    ));
                } else if let Some(first) = first
                    && first > w.from
                {
                    v.not_checked.push(format!(
                        "{} logs begin on {first}, after the campaign's window opened ({}; {who}): \
                         earlier activity is not covered",
                        s.source,
                        w.describe()
                    ));
                }
            }
        }
        v.not_checked.extend(uncovered.iter().cloned());
        if v.evidence > 0 {
            v.verdict = Verdict::Affected;
            v.reason = format!("{} finding(s) at evidence level", v.evidence);
        } else if v.checked.is_empty() {
            v.verdict = Verdict::Unknown;
            v.reason = if detectors == 0 {
                "no detector is available for this campaign yet".to_owned()
            } else {
                "none of the inputs its detectors need was found under the given paths".to_owned()
            };
        } else if !uncovered.is_empty() {
            v.verdict = Verdict::Unknown;
            v.reason = format!(
                "the logs read do not cover the campaign's window: {}",
                uncovered.join("; ")
            );
        } else if !applies(c, inv) {
            v.verdict = Verdict::Unknown;
            v.reason = format!(
                "{} was not found under the given paths, so a clean result from the other \
                 detectors does not decide",
                c.core_inputs()
            );
        } else {
            v.verdict = Verdict::NotFound;
            let oldest = v.sources.iter().filter_map(|s| s.first).min();
            v.reason = format!(
                "no trace found by {} of {} detector(s){}",
                v.checked.len(),
                detectors,
                oldest.map_or_else(String::new, |t| format!(
                    "; logs reach back to {}",
                    t.to_rfc3339()
                ))
            );
            if v.leads > 0 {
                v.reason.push_str(&format!("; {} lead(s) below evidence level to review", v.leads));
            }
        }
        all.push(v);
    }
    if !explicit && all.iter().any(|v| v.verdict != Verdict::Unknown) {
        all.retain(|v| v.verdict != Verdict::Unknown);
    }
    all
}

/// Whether what the walk found lets a clean result decide `c` (and makes `c` worth an
/// automatic verdict): an Exchange install or
/// its logs (IIS included) for ProxyLogon and ProxyShell; an Orion install or DNS query logs
/// (where SUNBURST's beacons show) for SUNBURST; an appliance tree for Pulse Connect Secure and
/// Ivanti Connect Secure (the same appliance).
fn applies(c: Campaign, inv: &Inventory) -> bool {
    let has_log = |s: LogSource| inv.logs.iter().any(|l| l.source == s);
    match c {
        Campaign::ProxyLogon | Campaign::ProxyShell => {
            inv.has(Marker::ExchangeInstall)
                || [
                    LogSource::ExchangeHttpProxy,
                    LogSource::ExchangeEcpServer,
                    LogSource::ExchangeOabGenerator,
                    LogSource::ExchangeOther,
                    LogSource::Iis,
                ]
                .into_iter()
                .any(has_log)
        }
        Campaign::Sunburst => inv.has(Marker::OrionInstall) || has_log(LogSource::Dns),
        Campaign::PulseSecure | Campaign::IvantiConnectSecure => inv.has(Marker::PulseTree),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_candidates() {
        assert!(log_candidate(Path::new("a/HttpProxy_2021030301-1.LOG")));
        assert!(log_candidate(Path::new("messages")));
        assert!(log_candidate(Path::new("messages.1")));
        assert!(log_candidate(Path::new("u_ex210303.log.gz")));
        assert!(!log_candidate(Path::new("x.aspx")));
        assert!(!log_candidate(Path::new("x.dll")));
    }
}
