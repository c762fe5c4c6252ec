//! ferret-sigma: the Sigma language — parse, compile and evaluate detection and correlation
//! rules over any event seen through [`ferret_core::Fields`].
//!
//! Entry points: [`RuleSet::load_paths`] / [`RuleSet::load_str`] parse rule files (multi-document
//! files with `action: global|repeat|reset` included) and compile every rule once, returning
//! a [`LoadFailure`] with path and reason for each rule that cannot run. [`RuleSet::compile`]
//! builds a [`Matcher`] that routes an event by [`LogKind`], channel and event id to only the
//! rules that could match it. [`Matcher::correlator`] gives a [`Correlator`] for correlation rules.
//!
//! Logsource routing and field mappings are data (`data/logsources.yml`); see
//! `docs/sigma-engine.md` for the field names events must expose.

// Rules, reports and requests are third-party input: no panic path outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

mod condition;
mod correlation;
pub mod logsource;
mod matcher;
mod rule;
mod value;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub use correlation::{CorrelationHit, Correlator};
pub use logsource::{LogKind, LogSource};
pub use matcher::{Matcher, RouteStat, RuleHit, SchemaView, Scratch};

use rule::{Compiled, CompiledRule, PendingCorrelation};
use sha2::{Digest as _, Sha256};

/// Why a rule could not be loaded (a stable category; the detail is in [`LoadFailure::reason`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailureKind {
    /// The file could not be read.
    Io,
    /// The file is not valid YAML.
    Yaml,
    /// A required part is missing or malformed.
    BadRule,
    /// A modifier Sigma does not define.
    UnknownModifier,
    /// A value does not fit its modifiers (bad CIDR, non-numeric `gt`, bad combination).
    BadValue,
    /// A regular expression that neither regex engine accepts.
    BadRegex,
    /// An `expand` placeholder with no value in [`LoadOptions::placeholders`].
    UnresolvedPlaceholder,
    /// A logsource ferret has no routing for.
    UnsupportedLogsource,
    /// The condition does not parse or names unknown identifiers.
    BadCondition,
    /// A correlation rule that is malformed or references rules that did not load.
    Correlation,
    /// A Sigma feature ferret does not implement (legacy aggregations, filter rules).
    Unsupported,
}

impl FailureKind {
    /// A short stable name, for summaries (`not loaded by reason`).
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Io => "unreadable file",
            FailureKind::Yaml => "invalid yaml",
            FailureKind::BadRule => "malformed rule",
            FailureKind::UnknownModifier => "unknown modifier",
            FailureKind::BadValue => "bad value",
            FailureKind::BadRegex => "bad regex",
            FailureKind::UnresolvedPlaceholder => "unresolved placeholder",
            FailureKind::UnsupportedLogsource => "unsupported logsource",
            FailureKind::BadCondition => "bad condition",
            FailureKind::Correlation => "bad correlation",
            FailureKind::Unsupported => "unsupported feature",
        }
    }
}

/// A rule (or file) that could not be loaded, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadFailure {
    /// The rule file.
    pub path: PathBuf,
    /// The rule's `id`, when it could be read.
    pub rule_id: Option<String>,
    /// The rule's `title`, when it could be read.
    pub title: Option<String>,
    /// The category of the reason.
    pub kind: FailureKind,
    /// What is wrong, in words (YAML errors carry line and column).
    pub reason: String,
}

impl std::fmt::Display for LoadFailure {
    /// `path: rule-id: category: reason` (the id, or the title, when known).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(r) = self.rule_id.as_ref().or(self.title.as_ref()) {
            write!(f, ": {r}")?;
        }
        write!(f, ": {}: {}", self.kind.as_str(), self.reason)
    }
}

/// Detection rule or correlation rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleKind {
    /// A rule with a `detection` section, evaluated per event.
    Detection,
    /// A correlation rule, evaluated by the [`Correlator`].
    Correlation,
}

/// What a report needs to know about a rule.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleMeta {
    /// `id` (or `file:<stem>` when the rule has none).
    pub id: String,
    /// `title`.
    pub title: String,
    /// `level` (medium when absent or unknown).
    pub level: ferret_core::Severity,
    /// `status`.
    pub status: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `references`.
    pub references: Vec<String>,
    /// `tags`.
    pub tags: Vec<String>,
    /// `author`.
    pub author: Option<String>,
    /// `falsepositives`.
    pub falsepositives: Vec<String>,
    /// The file the rule came from.
    pub path: PathBuf,
    /// `logsource`.
    pub logsource: LogSource,
    /// Detection or correlation.
    pub kind: RuleKind,
    /// Whether hits of this rule are reported on their own. False for detection rules used
    /// only by correlations with `generate: false` (their hits still feed the correlator).
    pub generate: bool,
}

/// Options for loading rules.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Values for `expand` placeholders: `%name%` → each value (one variant per value).
    pub placeholders: BTreeMap<String, Vec<String>>,
    /// Rule ids not to load (detection or correlation rules): they are neither compiled nor
    /// counted as failures, and [`RuleSet::excluded`] names those that were found.
    pub exclude_ids: BTreeSet<String>,
}

/// Loaded and compiled rules, not yet indexed.
#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    rules: Vec<CompiledRule>,
    correlations: Vec<PendingCorrelation>,
    /// SHA-256 over every rule source read (name, then content hash), in load order.
    hasher: Sha256,
    /// Rule ids found and left out by [`LoadOptions::exclude_ids`].
    excluded: BTreeSet<String>,
}

impl RuleSet {
    /// Loads rule files and directories (recursively, `.yml`/`.yaml`, in sorted order).
    pub fn load_paths(paths: &[PathBuf], opts: &LoadOptions) -> (RuleSet, Vec<LoadFailure>) {
        let mut files = Vec::new();
        let mut failures = Vec::new();
        for p in paths {
            let start = files.len();
            collect_files(p, &mut files, &mut failures);
            // Hash names relative to the folder given, so the same rules hash the same
            // wherever they are checked out.
            for (f, name) in files.iter_mut().skip(start) {
                *name = if p.is_dir() {
                    f.strip_prefix(p).unwrap_or(f).to_string_lossy().replace('\\', "/")
                } else {
                    f.file_name().unwrap_or(f.as_os_str()).to_string_lossy().into_owned()
                };
            }
        }
        let mut set = RuleSet::default();
        let table = logsource::RoutingTable::builtin();
        for (f, name) in &files {
            match std::fs::read_to_string(f) {
                Ok(text) => {
                    set.hash_source(name, &text);
                    set.add_text(f, &text, opts, &table, &mut failures);
                }
                Err(e) => failures.push(rule::failure(
                    f,
                    None,
                    FailureKind::Io,
                    format!("cannot read: {e}"),
                )),
            }
        }
        set.resolve(&mut failures);
        (set, failures)
    }

    /// Loads the rules in one text (as if read from `source`).
    pub fn load_str(source: &Path, text: &str, opts: &LoadOptions) -> (RuleSet, Vec<LoadFailure>) {
        let mut set = RuleSet::default();
        let mut failures = Vec::new();
        set.hash_source(&source.to_string_lossy(), text);
        set.add_text(source, text, opts, logsource::RoutingTable::shared(), &mut failures);
        set.resolve(&mut failures);
        (set, failures)
    }

    /// Number of loaded rules (detection and correlation).
    pub fn len(&self) -> usize {
        self.rules.len() + self.correlations.len()
    }

    /// Whether no rule loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ids of [`LoadOptions::exclude_ids`] that were found and left out.
    pub fn excluded(&self) -> &BTreeSet<String> {
        &self.excluded
    }

    /// SHA-256 (hex) of the rule sources read, in load order: for each file its name (relative
    /// to the folder given, or its file name) and the SHA-256 of its text. Files that could not
    /// be read are not part of it; files whose rules failed to load are.
    pub fn sha256(&self) -> String {
        hex_lower(&self.hasher.clone().finalize())
    }

    /// Builds the routed matcher.
    pub fn compile(self) -> Matcher {
        let sha256 = self.sha256();
        Matcher::build(self.rules, self.correlations, sha256)
    }

    fn hash_source(&mut self, name: &str, text: &str) {
        self.hasher.update(name.as_bytes());
        self.hasher.update(hex_lower(&Sha256::digest(text.as_bytes())).as_bytes());
    }

    fn add_text(
        &mut self,
        path: &Path,
        text: &str,
        opts: &LoadOptions,
        table: &logsource::RoutingTable,
        failures: &mut Vec<LoadFailure>,
    ) {
        let (docs, err) = rule::documents(path, text);
        for d in &docs {
            if let Some(id) = d.get("id").and_then(serde_norway::Value::as_str)
                && opts.exclude_ids.contains(id)
            {
                self.excluded.insert(id.to_owned());
                continue;
            }
            match rule::compile_doc(path, d, opts, table) {
                Ok(Compiled::Rule(r)) => self.rules.push(*r),
                Ok(Compiled::Correlation(c)) => self.correlations.push(*c),
                Err(f) => failures.push(f),
            }
        }
        failures.extend(err);
    }

    /// Resolves correlation references to rule indices; unresolved ones become failures.
    fn resolve(&mut self, failures: &mut Vec<LoadFailure>) {
        let mut by_ref: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, r) in self.rules.iter().enumerate() {
            by_ref.entry(r.meta.id.as_str()).or_insert(i);
            if let Some(n) = &r.name {
                by_ref.entry(n.as_str()).or_insert(i);
            }
        }
        let correlation_refs: Vec<String> = self
            .correlations
            .iter()
            .flat_map(|c| std::iter::once(c.meta.id.clone()).chain(c.name.clone()))
            .collect();
        let mut kept = Vec::new();
        let mut no_generate = vec![false; self.rules.len()];
        let mut yes_generate = vec![false; self.rules.len()];
        for mut c in std::mem::take(&mut self.correlations) {
            let mut missing = Vec::new();
            let mut idx = Vec::new();
            let mut names = Vec::new();
            for r in &c.refs {
                match by_ref.get(r.as_str()) {
                    Some(&i) => {
                        idx.push(i);
                        let rule = self.rules.get(i);
                        let mut n = vec![r.clone()];
                        n.extend(rule.map(|x| x.meta.id.clone()));
                        n.extend(rule.and_then(|x| x.name.clone()));
                        names.push(n);
                    }
                    None if correlation_refs.contains(r) => {
                        missing.push(format!("{r} (a correlation: chaining is not supported)"));
                    }
                    None => missing.push(r.clone()),
                }
            }
            if !missing.is_empty() {
                failures.push(LoadFailure {
                    path: c.meta.path.clone(),
                    rule_id: Some(c.meta.id.clone()),
                    title: Some(c.meta.title.clone()),
                    kind: FailureKind::Correlation,
                    reason: format!("references rules that are not loaded: {}", missing.join(", ")),
                });
                continue;
            }
            for &i in &idx {
                let slot =
                    if c.generate { yes_generate.get_mut(i) } else { no_generate.get_mut(i) };
                if let Some(s) = slot {
                    *s = true;
                }
            }
            c.def.rules = idx;
            c.def.rule_names = names;
            kept.push(c);
        }
        for (i, r) in self.rules.iter_mut().enumerate() {
            if no_generate.get(i) == Some(&true) && yes_generate.get(i) != Some(&true) {
                r.meta.generate = false;
            }
        }
        self.correlations = kept;
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn collect_files(p: &Path, files: &mut Vec<(PathBuf, String)>, failures: &mut Vec<LoadFailure>) {
    if p.is_dir() {
        let mut entries: Vec<PathBuf> = match std::fs::read_dir(p) {
            Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(e) => {
                failures.push(rule::failure(
                    p,
                    None,
                    FailureKind::Io,
                    format!("cannot list directory: {e}"),
                ));
                return;
            }
        };
        entries.sort();
        for e in entries {
            if e.is_dir() {
                collect_files(&e, files, failures);
            } else if e
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("yml") || x.eq_ignore_ascii_case("yaml"))
            {
                files.push((e, String::new()));
            }
        }
    } else {
        files.push((p.to_path_buf(), String::new()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = "title: t\nid: r1\nlogsource: {product: linux}\ndetection:\n  sel: {a: b}\n  condition: sel\n";

    #[test]
    fn ruleset_sha256_follows_names_and_content() {
        let opts = LoadOptions::default();
        let (a, _) = RuleSet::load_str(Path::new("a.yml"), RULE, &opts);
        let (a2, _) = RuleSet::load_str(Path::new("a.yml"), RULE, &opts);
        let (b, _) = RuleSet::load_str(Path::new("b.yml"), RULE, &opts);
        let (c, _) = RuleSet::load_str(Path::new("a.yml"), &RULE.replace("a: b", "a: c"), &opts);
        assert_eq!(a.sha256().len(), 64);
        assert_eq!(a.sha256(), a2.sha256());
        assert_ne!(a.sha256(), b.sha256());
        assert_ne!(a.sha256(), c.sha256());
        let sha = a.sha256();
        assert_eq!(a.compile().ruleset_sha256(), sha);
    }
}

/// The README's example, run as a doctest so it keeps compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
