//! Gathering rules: the built-in pack, `--rules` files and directories, compiled bundles.
//!
//! Format is sniffed per file: `.yar`/`.yara` are YARA (compiled together by yara-x, one
//! namespace per file, with the Loki/THOR external variables `filename`, `filepath`,
//! `extension`, `filetype` and `owner` declared); a file starting with [`BUNDLE_MAGIC`] is a
//! compiled bundle; anything else is offered to [`ferret_ioc::sniff`]. A file or line that
//! cannot be loaded becomes a [`Problem`] (`path:line:col`, the compiler's code and message)
//! and loading goes on.
//!
//! A directory holding a MISP feed (a `manifest.json` keyed by event UUID, beside one
//! `<uuid>.json` per event) is read as the feed: every event the manifest lists is loaded, an
//! event listed but absent is a problem, a `.json` file the manifest does not list is
//! reported and not loaded (MISP itself fetches only listed events), and the feed's
//! `hashes.csv` (digests of attribute values, not of files) is not read as a hash list.
//!
//! [`BUNDLE_MAGIC`]: crate::BUNDLE_MAGIC

use std::path::{Path, PathBuf};

use ferret_core::{Problem, ProblemKind, RuleStats};
use ferret_ioc::{IocFormat, IocSet};
use sha2::{Digest, Sha256};

use crate::yara::YaraSource;

/// Where the rules come from.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Include the built-in pack.
    pub builtin: bool,
    /// The intel whose scan tables are the built-in pack's hash and file-name lists: a
    /// verified intel pack's (`--intel`), or `None` for the intel built into ferret.
    pub intel: Option<std::sync::Arc<ferret_intel::Intel>>,
    /// `--rules` paths (files or directories), in order.
    pub paths: Vec<PathBuf>,
    /// Where compiled YARA rules are cached (`None`: no cache).
    pub cache_dir: Option<PathBuf>,
    /// Compile the YARA sources in groups by what their rules can match (file size class,
    /// the `MZ` header; a source mixing rules of several groups cut into pieces, see
    /// `tiers`), so that a scan runs each file only against the groups that can match it.
    /// Off, the sources compile into one set (what a bundle holds).
    pub size_tiers: bool,
}

/// One loaded rule source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSource {
    /// Its path, or `builtin:<name>`.
    pub name: String,
    /// `yara`, `bundle` or the IOC format.
    pub kind: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
}

/// Everything a scan matches with.
pub struct RuleSet {
    pub(crate) yara: Vec<yara_x::Rules>,
    /// For each set of `yara`, the file sizes it is used for.
    pub(crate) yara_sizes: Vec<crate::tiers::SizeRange>,
    pub(crate) iocs: IocSet,
    /// The sources loaded, in order.
    pub sources: Vec<RuleSource>,
    /// Rules loaded and not loaded.
    pub stats: RuleStats,
    sha256: String,
    /// Rule files found in directories that are neither YARA nor a known IOC format.
    pub unrecognised: u64,
    /// The IOC texts loaded (name, format, text), kept for writing a bundle.
    pub(crate) ioc_texts: Vec<(String, IocFormat, String)>,
    /// The intel scan tables loaded (path, text), kept for writing a bundle.
    pub(crate) intel_texts: Vec<(String, String)>,
    /// The intel scan tables loaded for the built-in pack: (path, indicators).
    pub intel_tables: Vec<(String, usize)>,
    /// YARA namespace → the source it came from.
    pub(crate) origins: std::collections::HashMap<String, String>,
    /// The rule files and bundles read from disk (ferret's own files during a scan).
    pub loaded_files: Vec<PathBuf>,
    /// `--rules` paths from which nothing this verb can use was loaded, with the number of
    /// files there in other formats (Sigma rules, documents, …).
    pub unusable_paths: Vec<(PathBuf, u64)>,
}

/// Built-in YARA sources of this crate, beside the campaign pack's in
/// [`ferret_ioc::builtin::yara_sources`]: (name, text).
const BUILTIN_YARA: &[(&str, &str)] = &[("extra.yar", include_str!("../builtin/yara/extra.yar"))];

fn builtin_yara() -> impl Iterator<Item = (&'static str, &'static str)> {
    ferret_ioc::builtin::yara_sources().iter().chain(BUILTIN_YARA.iter()).copied()
}

/// Every built-in source text (YARA rules and the intel's scan tables), as compiled into
/// ferret.
pub(crate) fn builtin_texts() -> impl Iterator<Item = &'static str> {
    builtin_yara().map(|(_, t)| t).chain(ferret_ioc::builtin::scan_tables().map(|(_, t)| t))
}

/// SHA-256 over the built-in pack's sources (YARA rules, then the intel's scan tables, in
/// order).
pub fn builtin_sha256() -> String {
    let mut h = Sha256::new();
    for (name, text) in builtin_yara() {
        h.update(name.as_bytes());
        h.update(text.as_bytes());
    }
    for (path, text) in ferret_ioc::builtin::scan_tables() {
        h.update(path.as_bytes());
        h.update(text.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Writes `rules` as a bundle. Fails only on I/O or when more than one compiled YARA set
/// is loaded (bundles of bundles are not supported: compile from sources).
pub fn write_bundle(rules: &RuleSet, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let contents = crate::bundle::Contents {
        yara: &rules.yara,
        origins: &rules.origins,
        ioc_texts: &rules.ioc_texts,
        intel_texts: &rules.intel_texts,
    };
    crate::bundle::write(&contents, out)
}

impl RuleSet {
    /// Loads rules as `opts` says. Per-file and per-line failures go to `problems` (kind
    /// `rule_load`) and are counted in [`RuleSet::stats`]; loading goes on.
    pub fn load(opts: &LoadOptions, problems: &mut Vec<Problem>) -> RuleSet {
        let mut set = RuleSet {
            yara: Vec::new(),
            yara_sizes: Vec::new(),
            iocs: IocSet::new(),
            sources: Vec::new(),
            stats: RuleStats::default(),
            sha256: String::new(),
            unrecognised: 0,
            ioc_texts: Vec::new(),
            intel_texts: Vec::new(),
            intel_tables: Vec::new(),
            origins: std::collections::HashMap::new(),
            loaded_files: Vec::new(),
            unusable_paths: Vec::new(),
        };
        let mut yara_sources = Vec::new();
        if opts.builtin {
            for (name, text) in builtin_yara() {
                yara_sources.push(YaraSource {
                    name: format!("builtin:{name}"),
                    text: text.as_bytes().to_vec(),
                    path: None,
                });
            }
            set.load_intel(opts.intel.as_deref(), problems);
        }
        for path in &opts.paths {
            let (files, yara, unrecognised) =
                (set.loaded_files.len(), yara_sources.len(), set.unrecognised);
            set.load_path(path, &mut yara_sources, problems);
            if set.loaded_files.len() == files && yara_sources.len() == yara {
                set.unusable_paths.push((path.clone(), set.unrecognised - unrecognised));
            }
        }
        if !yara_sources.is_empty() {
            // (source, the piece or None for the whole source) and each piece's reach.
            let (pieces, groups) = if opts.size_tiers {
                let (mut pieces, mut reach) = (Vec::new(), Vec::new());
                // Each source parsed once, two at a time (a few hundred milliseconds for a
                // large collection, before any file is scanned).
                let order: Vec<usize> = (0..yara_sources.len()).collect();
                let cut =
                    on_two_threads(&yara_sources, &order, |s| crate::tiers::source_pieces(&s.text));
                for (i, source_pieces) in cut.into_iter().enumerate() {
                    for piece in source_pieces {
                        // A piece compiles under its source's name (so in its namespace).
                        let text = piece.text.zip(yara_sources.get(i)).map(|(text, s)| {
                            YaraSource { name: s.name.clone(), text, path: s.path.clone() }
                        });
                        pieces.push((i, text));
                        reach.push(piece.reach);
                    }
                }
                (pieces, crate::tiers::groups(&reach))
            } else {
                let pieces: Vec<(usize, Option<YaraSource>)> =
                    (0..yara_sources.len()).map(|i| (i, None)).collect();
                (pieces, vec![((0..yara_sources.len()).collect(), crate::tiers::SizeRange::ALL)])
            };
            let mut loaded = 0u64;
            let mut failed = std::collections::BTreeSet::new();
            // Every piece is in exactly one group: each group's problems and counts add up.
            for (compiled, range) in
                compile_groups(&yara_sources, &pieces, &groups, opts.cache_dir.as_deref())
            {
                problems.extend(compiled.problems);
                loaded += compiled.compiled.rules.iter().count() as u64;
                failed.extend(compiled.compiled.failed);
                set.loaded_files.extend(compiled.own_files);
                set.yara.push(compiled.compiled.rules);
                set.yara_sizes.push(range);
            }
            set.loaded_files.extend(yara_sources.iter().filter_map(|s| s.path.clone()));
            for (i, s) in yara_sources.iter().enumerate() {
                set.origins.insert(crate::cache::namespace(&s.name, i), s.name.clone());
                set.sources.push(RuleSource {
                    name: s.name.clone(),
                    kind: "yara".into(),
                    sha256: hex::encode(Sha256::digest(&s.text)),
                });
            }
            set.stats.add_loaded("yara", loaded);
            for _ in 0..failed.len() {
                set.stats.add_not_loaded("yara compile error");
            }
        }
        for (kind, n) in set.iocs.counts() {
            set.stats.add_loaded(&kind, n);
        }
        let mut h = Sha256::new();
        for s in &set.sources {
            h.update(s.name.as_bytes());
            h.update(s.sha256.as_bytes());
        }
        set.sha256 = hex::encode(h.finalize());
        set
    }

    /// The built-in pack's hash and file-name lists: the scan tables of `intel` (a verified
    /// pack's), or of the intel built into ferret.
    fn load_intel(&mut self, intel: Option<&ferret_intel::Intel>, problems: &mut Vec<Problem>) {
        let tables: Vec<(String, String)> = match intel {
            None => ferret_ioc::builtin::scan_tables()
                .map(|(p, t)| (p.to_owned(), t.to_owned()))
                .collect(),
            Some(intel) => {
                let before = problems.len();
                self.intel_tables = self.iocs.load_intel(intel, problems);
                self.count_rejected(before, problems, "intel row rejected");
                for (path, _) in &self.intel_tables {
                    self.sources.push(RuleSource {
                        name: ferret_ioc::intel::source_name(path),
                        kind: "intel-table".into(),
                        sha256: intel.sha256().to_owned(),
                    });
                }
                return;
            }
        };
        for (path, text) in tables {
            let source = ferret_ioc::intel::source_name(&path);
            self.add_table(&source, &path, &text, problems);
        }
    }

    /// Loads one intel scan table given as text (built in, or from a bundle).
    fn add_table(&mut self, source: &str, path: &str, text: &str, problems: &mut Vec<Problem>) {
        let before = problems.len();
        match ferret_intel::Table::parse(path, text) {
            Ok(table) => {
                let n = self.iocs.load_table(source, &table, problems);
                self.count_rejected(before, problems, "intel row rejected");
                self.intel_tables.push((path.to_owned(), n));
            }
            Err(e) => {
                problems.push(Problem::at(ProblemKind::RuleLoad, source, e.to_string()));
                self.stats.add_not_loaded("intel table rejected");
            }
        }
        self.sources.push(RuleSource {
            name: source.to_owned(),
            kind: "intel-table".into(),
            sha256: hex::encode(Sha256::digest(text.as_bytes())),
        });
        self.intel_texts.push((path.to_owned(), text.to_owned()));
    }

    /// Counts the problems since `before` that make a run incomplete as entries not loaded
    /// (`what`); returns how many there were.
    fn count_rejected(&mut self, before: usize, problems: &[Problem], what: &str) -> usize {
        let bad = problems
            .get(before..)
            .unwrap_or_default()
            .iter()
            .filter(|p| p.kind.makes_incomplete())
            .count();
        for _ in 0..bad {
            self.stats.add_not_loaded(what);
        }
        bad
    }

    fn add_ioc(
        &mut self,
        name: &str,
        format: IocFormat,
        bytes: &[u8],
        problems: &mut Vec<Problem>,
    ) {
        let text = String::from_utf8_lossy(bytes);
        let before = problems.len();
        let n = self.iocs.load(format, name, &text, problems);
        self.ioc_texts.push((name.to_owned(), format, text.into_owned()));
        let bad = self.count_rejected(before, problems, &format!("{format} entry rejected"));
        if n == 0 && bad == 0 {
            problems.push(Problem::at(
                ProblemKind::RuleLoad,
                name,
                format!("{format} file holds no indicators"),
            ));
            self.stats.add_not_loaded("empty ioc file");
        }
        self.sources.push(RuleSource {
            name: name.to_owned(),
            kind: format.as_str().to_owned(),
            sha256: hex::encode(Sha256::digest(bytes)),
        });
    }

    fn load_path(&mut self, path: &Path, yara: &mut Vec<YaraSource>, problems: &mut Vec<Problem>) {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                problems.push(Problem::at(
                    ProblemKind::RuleLoad,
                    path,
                    format!("cannot read rules: {}", reason(&e)),
                ));
                self.stats.add_not_loaded("unreadable rule path");
                return;
            }
        };
        if meta.is_dir() {
            let mut files = Vec::new();
            collect_files(path, &mut files, problems, &mut self.stats);
            files.sort();
            let feeds = feed_dirs(&files);
            for f in files {
                if let Some(feed) = f.parent().and_then(|d| feeds.get(d)) {
                    self.load_feed_file(&f, feed, yara, problems);
                } else {
                    self.load_file(&f, false, yara, problems);
                }
            }
            for (dir, feed) in &feeds {
                for e in &feed.entries {
                    if !feed.present.contains(&e.uuid) {
                        problems.push(Problem::at(
                            ProblemKind::RuleLoad,
                            dir.join(format!("{}.json", e.uuid)),
                            format!(
                                "MISP event {} ({:.80}) is listed in the feed's manifest.json but its file is missing",
                                e.uuid, e.info
                            ),
                        ));
                        self.stats.add_not_loaded("missing misp event");
                    }
                }
            }
        } else if meta.is_file() {
            self.load_file(path, true, yara, problems);
        } else {
            problems.push(Problem::at(
                ProblemKind::RuleLoad,
                path,
                "not a regular file or directory",
            ));
            self.stats.add_not_loaded("not a file");
        }
    }

    /// One file of a MISP feed folder: listed events load, the manifest and `hashes.csv` are
    /// the feed's own, anything else is reported and left out.
    fn load_feed_file(
        &mut self,
        path: &Path,
        feed: &Feed,
        yara: &mut Vec<YaraSource>,
        problems: &mut Vec<Problem>,
    ) {
        let base =
            path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        if base == "manifest.json" {
            self.loaded_files.push(path.to_path_buf());
            self.sources.push(RuleSource {
                name: path.to_string_lossy().into_owned(),
                kind: "misp-feed-manifest".into(),
                sha256: feed.manifest_sha256.clone(),
            });
            return;
        }
        if base == "hashes.csv" {
            self.loaded_files.push(path.to_path_buf());
            return;
        }
        let listed = base.strip_suffix(".json").is_some_and(|uuid| {
            feed.entries.binary_search_by(|e| e.uuid.as_str().cmp(uuid)).is_ok()
        });
        if listed {
            self.load_file(path, true, yara, problems);
        } else {
            problems.push(Problem::at(
                ProblemKind::Skipped,
                path,
                "not listed in the MISP feed's manifest.json: not loaded",
            ));
        }
    }

    fn load_file(
        &mut self,
        path: &Path,
        explicit: bool,
        yara: &mut Vec<YaraSource>,
        problems: &mut Vec<Problem>,
    ) {
        let name = path.to_string_lossy().into_owned();
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                problems.push(Problem::at(
                    ProblemKind::RuleLoad,
                    path,
                    format!("cannot read: {}", reason(&e)),
                ));
                self.stats.add_not_loaded("unreadable rule file");
                return;
            }
        };
        if bytes.starts_with(crate::BUNDLE_MAGIC) {
            match crate::bundle::read_bundle(&bytes) {
                Ok(b) => {
                    self.loaded_files.push(path.to_path_buf());
                    self.stats
                        .add_loaded("yara", b.yara.as_ref().map_or(0, |r| r.iter().count() as u64));
                    set_origins(&mut self.origins, b.origins);
                    if let Some(r) = b.yara {
                        self.yara.push(r);
                        self.yara_sizes.push(crate::tiers::SizeRange::ALL);
                    }
                    for (src, format, text) in b.iocs {
                        self.add_ioc(&format!("{name}!{src}"), format, text.as_bytes(), problems);
                    }
                    for (path, text) in b.tables {
                        let source = format!("{name}!{}", ferret_ioc::intel::source_name(&path));
                        self.add_table(&source, &path, &text, problems);
                    }
                    self.sources.push(RuleSource {
                        name,
                        kind: "bundle".into(),
                        sha256: hex::encode(Sha256::digest(&bytes)),
                    });
                }
                Err(e) => {
                    problems.push(Problem::at(
                        ProblemKind::RuleLoad,
                        path,
                        format!("bad rule bundle: {e}"),
                    ));
                    self.stats.add_not_loaded("bad bundle");
                }
            }
            return;
        }
        let is_yara = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("yar") || e.eq_ignore_ascii_case("yara"));
        if is_yara {
            yara.push(YaraSource { name, text: bytes, path: Some(path.to_path_buf()) });
            return;
        }
        match ferret_ioc::sniff(&name, &bytes) {
            Some(format) => {
                self.loaded_files.push(path.to_path_buf());
                self.add_ioc(&name, format, &bytes, problems);
            }
            None if explicit => {
                let reason = if ferret_ioc::misp::is_feed_manifest(&name, &bytes) {
                    "a MISP feed's manifest: give its folder to --rules to load the feed"
                } else {
                    "not a YARA file, a rule bundle or a known IOC format"
                };
                problems.push(Problem::at(ProblemKind::RuleLoad, path, reason));
                self.stats.add_not_loaded("unrecognised format");
            }
            None => self.unrecognised += 1,
        }
    }

    /// ferret's own files for a scan with these rules: every rule file and bundle loaded,
    /// the compiled-rule cache file, and the built-in pack's sources wherever a copy of them
    /// sits (the caller adds the executable).
    pub fn own_files(&self) -> crate::OwnFiles {
        let mut own = crate::OwnFiles::new();
        for f in &self.loaded_files {
            own.add_file(f);
        }
        for (_, text) in builtin_yara() {
            own.add_bytes(text.as_bytes());
        }
        for (_, text) in ferret_ioc::builtin::scan_tables() {
            own.add_bytes(text.as_bytes());
        }
        own
    }

    /// SHA-256 over the loaded sources (names and content hashes, in load order).
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Whether nothing at all was loaded.
    pub fn is_empty(&self) -> bool {
        self.iocs.is_empty() && self.yara.iter().all(|r| r.iter().next().is_none())
    }

    /// Whether some loaded YARA rule may match a file of `size` bytes (a set whose rules all
    /// require a smaller `filesize` cannot).
    pub fn yara_may_match(&self, size: u64) -> bool {
        self.yara
            .iter()
            .zip(self.yara_sizes.iter())
            .any(|(r, range)| r.iter().next().is_some() && range.contains(size))
    }

    /// The loaded YARA rule sets (one per compile or bundle).
    pub fn yara(&self) -> &[yara_x::Rules] {
        &self.yara
    }

    /// The loaded indicators.
    pub fn iocs(&self) -> &IocSet {
        &self.iocs
    }
}

/// One group's compile: the rules, and the problems and cache file it produced.
struct GroupCompile {
    compiled: crate::cache::Compiled,
    problems: Vec<Problem>,
    own_files: Vec<PathBuf>,
}

/// Compiles each group (piece indices, reach), two at a time when there are several:
/// yara-x compiles on one thread, and the groups are independent. Results come back in group
/// order, each with its reach. yara-x compiles a source rule by rule (a rule that does not
/// compile is left out, the others of its file are kept), so a source's pieces load exactly
/// the rules the whole source would.
fn compile_groups(
    sources: &[YaraSource],
    pieces: &[(usize, Option<YaraSource>)],
    tiers: &[(Vec<usize>, crate::tiers::SizeRange)],
    cache_dir: Option<&Path>,
) -> Vec<(GroupCompile, crate::tiers::SizeRange)> {
    // A piece's source: its own text, or the whole source's.
    let source = |p: usize| -> Option<(usize, &YaraSource)> {
        let (i, piece) = pieces.get(p)?;
        Some((*i, piece.as_ref().or_else(|| sources.get(*i))?))
    };
    let one = |members: &[usize]| {
        let picked: Vec<(usize, &YaraSource)> = members.iter().filter_map(|&p| source(p)).collect();
        let (mut problems, mut own_files) = (Vec::new(), Vec::new());
        let compiled =
            crate::cache::compile_cached(&picked, cache_dir, &mut problems, &mut own_files);
        GroupCompile { compiled, problems, own_files }
    };
    // The largest groups first, so that the two threads end together.
    let weight = |members: &[usize]| -> usize {
        members
            .iter()
            .filter_map(|&p| source(p))
            .map(|(_, s)| s.text.iter().filter(|b| !b.is_ascii_whitespace()).count())
            .sum()
    };
    let mut order: Vec<usize> = (0..tiers.len()).collect();
    order.sort_by_key(|&t| std::cmp::Reverse(tiers.get(t).map_or(0, |(m, _)| weight(m))));
    on_two_threads(tiers, &order, |(members, range)| (one(members), range.clone()))
}

/// `f` over `items` on two threads (one on a one-core machine), each taking the next item
/// in `order` from a shared counter so that neither waits on the other; the results in the
/// items' order. yara-x compiles and parses on one thread.
fn on_two_threads<T: Sync, R: Send>(
    items: &[T],
    order: &[usize],
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get).min(2);
    if items.len() < 2 || threads < 2 {
        return items.iter().map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let work = || {
            let mut out = Vec::new();
            loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&i) = order.get(k) else { break };
                if let Some(item) = items.get(i) {
                    out.push((i, f(item)));
                }
            }
            out
        };
        let second = scope.spawn(work);
        let mut mine = work();
        match second.join() {
            Ok(theirs) => mine.extend(theirs),
            Err(panic) => std::panic::resume_unwind(panic),
        }
        mine
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// A MISP feed folder: the events its manifest lists (sorted by UUID) and those present.
struct Feed {
    entries: Vec<ferret_ioc::misp::FeedEntry>,
    present: std::collections::BTreeSet<String>,
    manifest_sha256: String,
}

/// The folders among `files` that hold a MISP feed manifest.
fn feed_dirs(files: &[PathBuf]) -> std::collections::BTreeMap<PathBuf, Feed> {
    let mut out = std::collections::BTreeMap::new();
    for f in files {
        let is_manifest = f
            .file_name()
            .is_some_and(|n| n.to_string_lossy().eq_ignore_ascii_case("manifest.json"));
        if !is_manifest {
            continue;
        }
        let (Some(dir), Ok(bytes)) = (f.parent(), std::fs::read(f)) else { continue };
        let Ok(entries) = ferret_ioc::misp::feed_manifest(&bytes) else { continue };
        let present = files
            .iter()
            .filter(|g| g.parent() == Some(dir))
            .filter_map(|g| {
                let n = g.file_name()?.to_string_lossy().to_ascii_lowercase();
                n.strip_suffix(".json").map(str::to_owned)
            })
            .collect();
        out.insert(
            dir.to_path_buf(),
            Feed { entries, present, manifest_sha256: hex::encode(Sha256::digest(&bytes)) },
        );
    }
    out
}

fn collect_files(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    problems: &mut Vec<Problem>,
    stats: &mut RuleStats,
) {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => {
            problems.push(Problem::at(
                ProblemKind::RuleLoad,
                dir,
                format!("cannot list rule directory: {}", reason(&e)),
            ));
            stats.add_not_loaded("unreadable rule directory");
            return;
        }
    };
    for entry in rd.flatten() {
        let p = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => collect_files(&p, out, problems, stats),
            Ok(t) if t.is_file() => out.push(p),
            _ => {}
        }
    }
}

fn reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = s.split(" (os error").next().unwrap_or(&s).to_owned();
    s.to_lowercase()
}

fn set_origins(
    into: &mut std::collections::HashMap<String, String>,
    from: std::collections::BTreeMap<String, String>,
) {
    into.extend(from);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[expect(clippy::disallowed_methods, reason = "the test writes its own rule files")]
    fn load_dir(files: &[(&str, &str)], size_tiers: bool) -> (RuleSet, Vec<Problem>) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let mut problems = Vec::new();
        let opts = LoadOptions {
            builtin: false,
            intel: None,
            paths: vec![dir.path().to_path_buf()],
            cache_dir: None,
            size_tiers,
        };
        (RuleSet::load(&opts, &mut problems), problems)
    }

    fn ids(set: &RuleSet) -> Vec<String> {
        let mut ids: Vec<String> = set
            .yara()
            .iter()
            .flat_map(|r| r.iter().map(|r| format!("{}:{}", r.namespace(), r.identifier())))
            .collect();
        ids.sort();
        ids
    }

    const MIXED: &str = "import \"pe\"\n\
        rule exe { strings: $a = \"x\" condition: uint16(0) == 0x5a4d and $a }\n\
        rule small { strings: $a = \"y\" condition: filesize < 50 and $a }\n\
        rule other { condition: pe.is_pe }\n";

    #[test]
    fn a_cut_source_loads_the_rules_of_the_whole_one_under_its_name() {
        let (cut, p1) = load_dir(&[("mixed.yar", MIXED)], true);
        let (whole, p2) = load_dir(&[("mixed.yar", MIXED)], false);
        assert!(p1.is_empty() && p2.is_empty(), "{p1:?} {p2:?}");
        assert_eq!(ids(&cut), ["mixed_0:exe", "mixed_0:other", "mixed_0:small"]);
        assert_eq!(ids(&cut), ids(&whole));
        // One compiled group per piece; the source counted once.
        assert_eq!(cut.yara().len(), 3);
        assert_eq!(cut.sources.len(), 1);
        assert_eq!(cut.stats.loaded.get("yara"), Some(&3));
    }

    #[test]
    fn a_rule_that_does_not_compile_is_left_out_alone_as_in_the_whole_file() {
        // The executable rule (line 2) does not compile; yara-x keeps the file's others,
        // whether the file is compiled whole or cut.
        let broken = "rule small { strings: $a = \"y\" condition: filesize < 50 and $a }\n\
            rule exe { strings: $a = \"x\" condition: uint16(0) == 0x5a4d and $a and $b }\n\
            rule other { strings: $a = \"z\" condition: $a }\n";
        let mut seen = Vec::new();
        for size_tiers in [true, false] {
            let (set, problems) =
                load_dir(&[("broken.yar", broken), ("mixed.yar", MIXED)], size_tiers);
            let ids = ids(&set);
            assert_eq!(
                ids,
                [
                    "broken_0:other",
                    "broken_0:small",
                    "mixed_1:exe",
                    "mixed_1:other",
                    "mixed_1:small"
                ]
            );
            assert_eq!(problems.len(), 1, "{problems:?}");
            let p = &problems[0];
            assert!(
                p.path.as_ref().is_some_and(|f| f.as_bytes().ends_with(b"broken.yar")),
                "{p:?}"
            );
            // The line of the file (a piece keeps every rule where the file has it).
            assert!(p.position.as_deref().is_some_and(|at| at.starts_with("2:")), "{p:?}");
            assert_eq!(set.stats.not_loaded.get("yara compile error"), Some(&1));
            seen.push((ids, p.position.clone(), p.reason.clone()));
        }
        assert_eq!(seen[0], seen[1]);
    }
}
