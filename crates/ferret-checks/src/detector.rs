//! The detector API: what a detector declares ([`Info`], [`Doc`], [`Input`]) and what it
//! implements ([`Detector`]).
//!
//! A detector is one file under its campaign's folder that exports one
//! `pub static DETECTOR: Registration`, listed once in [`crate::registry::DETECTORS`]. It
//! declares a stable code (`PL001`), a name for the pattern it finds
//! (`proxylogon-anchor-mailbox-ssrf`), its campaign, its severity, the inputs it needs, and a
//! doc with fixed headings that `cargo xtask detectors` renders into `docs/detectors.md`.
//!
//! Three kinds of work, all optional methods of [`Detector`]:
//!
//! * **log events** — [`Detector::on_event`] receives every event of the log sources named in
//!   [`Info::inputs`] ([`Input::Log`]). Each log is read once per run and its events are
//!   dispatched to every interested detector. When [`Info::needles`] is not empty, only events
//!   whose raw line contains one of the needles (ASCII case-insensitive) are dispatched: the
//!   needles must be a *necessary* condition of a hit. Structured events (EVTX) have no raw line
//!   and are always dispatched.
//! * **files** — [`Detector::wants_file`] is asked for every regular file the walk meets (by
//!   path and size only, so it must be cheap); for the files it wants, [`Detector::on_file`]
//!   gets a [`FileEntry`] whose content and SHA-256 are read at most once and shared between
//!   detectors.
//! * **registry hives** — [`Detector::on_hive`] receives every hive of a kind named in
//!   [`Info::inputs`] ([`Input::Hive`]); files are recognised as hives by content (`regf`),
//!   read once with their transaction logs and shared by every interested detector.
//! * **NTFS history** — [`Detector::on_change`] receives every change of the `$MFT` (live
//!   and deleted records) and the change journal (`$UsnJrnl:$J`) read in the run (raw files
//!   found by content, and the NTFS volumes of disk images named as targets), with paths
//!   built from the parent references ([`ferret_artefacts::ntfs::Change`]), when
//!   [`Info::inputs`] names [`Input::NtfsHistory`]. Changes arrive in file order from one
//!   thread after the files were read.
//! * **the tree** — [`Detector::on_tree`] runs once after the walk with the [`Inventory`]
//!   (every path seen, the markers found, the logs read), for whole-tree checks such as a
//!   manifest comparison.
//!
//! [`Detector::finish`] runs last, for detectors that accumulate state across events (behind
//! their own lock: events of different files arrive from different threads).
//!
//! Findings go into [`Out`] (with problems and "not checked" sentences); the runner stamps them with the engine
//! (`check`) and the rule (code, name, references) when [`Info::finding`] was not used, counts
//! them per campaign for the verdict, and forwards them to the sink. A finding at
//! [`Severity::High`] or above is *evidence* and makes its campaign AFFECTED; below that it is a
//! *lead* that is reported but does not decide the verdict.
//!
//! Detectors never open files themselves except through [`FileEntry`] or
//! [`ferret_fs::open_read_only`], never print, and never panic on any input.

use std::fmt;
use std::path::Path;
use std::sync::OnceLock;

use ferret_artefacts::ntfs::Change;
use ferret_artefacts::{Hive, HiveKind};
use ferret_core::{Engine, Evidence, Finding, LogRef, Problem, RuleRef, Severity};
use ferret_logs::Event;

pub use crate::campaign::{Campaign, Window};

use crate::CheckError;
use crate::inventory::{Inventory, LogSource, Marker};
use crate::options::CheckOptions;

/// Something a detector needs to decide. A detector *ran* when at least one of its inputs was
/// present; otherwise its campaign's verdict lists it under "not checked" with
/// [`Input::describe`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Input {
    /// Events of this log source were read.
    Log(LogSource),
    /// The walk met a path with this marker.
    Tree(Marker),
    /// A registry hive of this kind was read (recognised by content, see `ferret-artefacts`).
    Hive(HiveKind),
    /// NTFS history was read: a `$MFT` or a change journal (`$UsnJrnl:$J`).
    NtfsHistory,
}

impl Input {
    /// What it is, for "what was missing" sentences.
    pub fn describe(self) -> &'static str {
        match self {
            Input::Log(s) => s.describe(),
            Input::Tree(m) => m.describe(),
            Input::Hive(k) => match k {
                HiveKind::System => "a SYSTEM registry hive",
                HiveKind::Software => "a SOFTWARE registry hive",
                HiveKind::NtUser => "a user's NTUSER.DAT hive",
                HiveKind::UsrClass => "a user's UsrClass.dat hive",
                HiveKind::Amcache => "an Amcache.hve hive",
                HiveKind::Other => "a registry hive",
            },
            Input::NtfsHistory => {
                "NTFS history ($MFT or $UsnJrnl:$J, collected or in a disk image)"
            }
        }
    }
}

/// A detector's documentation, rendered into `docs/detectors.md` under fixed headings. Each
/// field is Markdown; keep to facts from the references.
#[derive(Clone, Copy, Debug)]
pub struct Doc {
    /// What it finds.
    pub what: &'static str,
    /// Why it matters.
    pub why: &'static str,
    /// What the finding carries as evidence.
    pub evidence: &'static str,
    /// Known false positives and how to tell them apart.
    pub false_positives: &'static str,
    /// Advisories and vendor write-ups (titles with URLs).
    pub references: &'static [&'static str],
}

/// What a detector is: identity, campaign, inputs and doc.
#[derive(Clone, Copy, Debug)]
pub struct Info {
    /// Stable code: two letters for the campaign and three digits (`PL001`, `SB003`, `PS010`).
    pub code: &'static str,
    /// The pattern's name, kebab-case, prefixed by the campaign (`proxylogon-anchor-mailbox-ssrf`).
    pub name: &'static str,
    /// One line: what a hit means.
    pub title: &'static str,
    /// The campaign it belongs to.
    pub campaign: Campaign,
    /// Default severity of its findings (high or critical: evidence; below: a lead).
    pub severity: Severity,
    /// The inputs it reads; it ran when any was present.
    pub inputs: &'static [Input],
    /// Literal prefilter for log events (see the module doc). Empty: every event, unless
    /// [`Detector::needles`] gives the needles of the run (read from the loaded intel).
    pub needles: &'static [&'static str],
    /// Documentation.
    pub doc: Doc,
}

impl Info {
    /// The rule reference findings carry.
    pub fn rule(&self) -> RuleRef {
        RuleRef {
            id: self.code.to_owned(),
            name: self.name.to_owned(),
            source: Some("builtin:ferret-checks".to_owned()),
            references: self.doc.references.iter().map(|r| reference_url(r).to_owned()).collect(),
        }
    }

    /// A finding of this detector at its default severity, with its title as message.
    pub fn finding(&self) -> Finding {
        Finding::new(Engine::Check, self.rule(), self.severity)
            .with_message(self.title)
            .with_detail("campaign", self.campaign.id())
    }

    /// A finding about a log event: path, time and position filled in from `ev`.
    pub fn event_finding(&self, ev: &Event) -> Finding {
        let mut f = self.finding().with_path(&*ev.source);
        f.time = ev.time;
        f.log = Some(LogRef {
            format: Some(ev.format.as_str().to_owned()),
            record_id: ev.record_id,
            line: ev.line,
            channel: ev.channel.clone(),
        });
        f
    }
}

/// The URL in a reference written as `Title <URL>`, or the whole text.
fn reference_url(r: &str) -> &str {
    match (r.rfind('<'), r.ends_with('>')) {
        (Some(i), true) => r.get(i + 1..r.len() - 1).unwrap_or(r),
        _ => r,
    }
}

/// A field's text, or `""` when absent or not text.
pub fn field<'e>(ev: &'e Event, name: &str) -> std::borrow::Cow<'e, str> {
    use ferret_core::{FieldValue, Fields as _};
    use std::borrow::Cow;
    match ev.get(name) {
        Some(FieldValue::Str(s)) => s,
        Some(v) => v.as_text().map_or(Cow::Borrowed(""), |t| Cow::Owned(t.into_owned())),
        None => Cow::Borrowed(""),
    }
}

/// Adds each named field of `ev` that holds text as evidence (label = field name).
pub fn push_fields(f: &mut Finding, ev: &Event, names: &[&str]) {
    for name in names {
        let v = field(ev, name);
        if !v.is_empty() {
            f.push_evidence(evidence(name, &v));
        }
    }
}

/// Evidence from a text value (capped and escaped like any evidence).
pub fn evidence(label: &str, data: &str) -> Evidence {
    Evidence::from_bytes(label, None, data.as_bytes())
}

/// `f` as it stands for `key`: when the key was recovered from a free cell (deleted, see
/// [`ferret_artefacts::Hive::key_or_recovered`]), the finding says so in its message and in
/// `details.recovered`; a live key leaves it as it is.
pub fn recovered(f: Finding, key: &ferret_artefacts::Key<'_>) -> Finding {
    if !key.recovered() {
        return f;
    }
    let said = f.message.clone().unwrap_or_else(|| f.rule.name.clone());
    f.with_message(format!(
        "in a deleted key recovered from a free cell of the hive (the key existed; it is gone \
         from the live registry): {said}"
    ))
    .with_detail("recovered", true)
}

/// [`recovered`], and when the key is live but the value the finding rests on was recovered
/// from a free cell (a deleted value still attributed to the key, see
/// [`ferret_artefacts::Key::value_or_recovered`]), the finding says that instead.
pub fn recovered_value(
    f: Finding,
    key: &ferret_artefacts::Key<'_>,
    value: Option<&ferret_artefacts::Value>,
) -> Finding {
    if key.recovered() || !value.is_some_and(|v| v.recovered) {
        return recovered(f, key);
    }
    let said = f.message.clone().unwrap_or_else(|| f.rule.name.clone());
    f.with_message(format!(
        "in a deleted value recovered from a free cell of the hive (the value existed; it is \
         gone from the live registry): {said}"
    ))
    .with_detail("recovered", true)
}

/// One file the walk met, offered to the detectors that want it. Content and SHA-256 are read
/// on first use through [`ferret_fs::open_read_only`] and shared by every detector.
pub struct FileEntry<'a> {
    /// The path as reached under a root.
    pub path: &'a Path,
    /// Size from the walk's metadata.
    pub size: u64,
    pub(crate) max_read: u64,
    pub(crate) content: OnceLock<Result<Vec<u8>, String>>,
    pub(crate) sha256: OnceLock<Option<String>>,
    /// Reads the content of a file inside evidence (a collection, a disk image) through its
    /// source, up to `max_read`; `None` for a local file.
    pub(crate) load: Option<&'a (dyn Fn(u64) -> Result<Vec<u8>, String> + Sync)>,
}

impl<'a> FileEntry<'a> {
    /// A file entry; `max_read` caps what [`FileEntry::content`] reads.
    pub fn new(path: &'a Path, size: u64, max_read: u64) -> FileEntry<'a> {
        FileEntry {
            path,
            size,
            max_read,
            content: OnceLock::new(),
            sha256: OnceLock::new(),
            load: None,
        }
    }

    /// A file inside evidence: `path` is the path the host knew (`C:\inetpub\…`) and `load`
    /// reads up to the given number of bytes of it through its source.
    pub fn in_evidence(
        path: &'a Path,
        size: u64,
        max_read: u64,
        load: &'a (dyn Fn(u64) -> Result<Vec<u8>, String> + Sync),
    ) -> FileEntry<'a> {
        FileEntry { load: Some(load), ..FileEntry::new(path, size, max_read) }
    }

    /// The file's content (up to the run's read cap), or why it could not be read.
    pub fn content(&self) -> Result<&[u8], &str> {
        self.content
            .get_or_init(|| {
                if let Some(load) = self.load {
                    return load(self.max_read);
                }
                let (mut file, meta) =
                    ferret_fs::open_read_only(self.path).map_err(|e| e.to_string())?;
                let mut buf = Vec::new();
                ferret_fs::read_limited(&mut file, &meta, &mut buf, self.max_read)
                    .map_err(|e| e.to_string())?;
                Ok(buf)
            })
            .as_ref()
            .map(Vec::as_slice)
            .map_err(String::as_str)
    }

    /// The content's SHA-256 in lowercase hex, `None` when unreadable.
    pub fn sha256(&self) -> Option<&str> {
        self.sha256
            .get_or_init(|| {
                use sha2::Digest as _;
                self.content().ok().map(|c| hex::encode(sha2::Sha256::digest(c)))
            })
            .as_deref()
    }

    /// Whether the content could not be read (the runner reports it as a problem).
    pub fn read_error(&self) -> Option<&str> {
        match self.content.get() {
            Some(Err(e)) => Some(e),
            _ => None,
        }
    }
}

/// Where a detector puts what it found: findings, problems (a file it could not read, a
/// signature it could not check) and plain sentences saying what it could not check, which
/// go into its campaign's verdict.
#[derive(Debug, Default)]
pub struct Out {
    pub(crate) findings: Vec<Finding>,
    pub(crate) problems: Vec<Problem>,
    pub(crate) not_checked: Vec<String>,
}

impl Out {
    /// Records a finding.
    pub fn finding(&mut self, f: Finding) {
        self.findings.push(f);
    }

    /// Records a problem (it also makes the run incomplete when its kind says so).
    pub fn problem(&mut self, p: Problem) {
        self.problems.push(p);
    }

    /// Says what could not be checked and why (shown with the campaign's verdict).
    pub fn not_checked(&mut self, sentence: impl Into<String>) {
        self.not_checked.push(sentence.into());
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.findings.is_empty() && self.problems.is_empty() && self.not_checked.is_empty()
    }

    /// The findings recorded so far (for tests of a single detector).
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }
}

/// A detector. Every method has a default that does nothing, so a detector implements only
/// the kind of work it does. See the module doc for the contract.
pub trait Detector: Send + Sync {
    /// The needles of this run when they come from data (the loaded intel), replacing
    /// [`Info::needles`]; `Some` of an empty list: no event is dispatched.
    fn needles(&self) -> Option<Vec<String>> {
        None
    }

    /// One log event of a source named in [`Info::inputs`] (and passing the needles).
    fn on_event(&self, _ev: &Event, _source: LogSource, _out: &mut Out) {}

    /// Whether [`Detector::on_file`] wants this file (cheap: path and size only).
    fn wants_file(&self, _path: &Path, _size: u64) -> bool {
        false
    }

    /// A file [`Detector::wants_file`] asked for.
    fn on_file(&self, _file: &FileEntry<'_>, _out: &mut Out) {}

    /// A registry hive of a kind named in [`Info::inputs`] ([`Input::Hive`]), read once
    /// (with its transaction logs replayed) and shared by every detector that wants it.
    fn on_hive(&self, _hive: &Hive, _out: &mut Out) {}

    /// One change of the NTFS history read from `origin` (the `$MFT` or `$J` file, or the
    /// disk image), when [`Info::inputs`] names [`Input::NtfsHistory`].
    fn on_change(&self, _change: &Change, _origin: &Path, _out: &mut Out) {}

    /// Once after the walk, with everything the walk saw.
    fn on_tree(&self, _inventory: &Inventory, _out: &mut Out) {}

    /// Last, after every log was read.
    fn finish(&self, _out: &mut Out) {}
}

/// A registered detector: its [`Info`] and how to build it for a run.
pub struct Registration {
    /// What it is.
    pub info: Info,
    /// Builds it for a run; `Err` when an option it needs is unusable (a key that does not
    /// parse), which stops the run before it starts.
    pub build: fn(&CheckOptions) -> Result<Box<dyn Detector>, CheckError>,
}

/// The `build` of a detector that needs no option and no state: `build: stateless::<MyDetector>`.
pub fn stateless<D: Detector + Default + 'static>(
    _: &CheckOptions,
) -> Result<Box<dyn Detector>, CheckError> {
    Ok(Box::new(D::default()))
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration").field("info", &self.info).finish_non_exhaustive()
    }
}
