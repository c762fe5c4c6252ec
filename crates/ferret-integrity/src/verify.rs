//! `verify`: check a root against a (signed) manifest.
//!
//! The manifest's signature is checked first, against a public key the operator brings;
//! then the manifest (sorted) and a walk of the root (same order) are merge-joined, so memory
//! stays bounded by one batch of entries whatever the size of the tree. The bytes parsed are
//! hashed and compared with the bytes whose signature was checked, so swapping the file in
//! between is detected.

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering as AtomicOrdering;

use ferret_core::{Sink, Summary};

use crate::compare::{Change, FindingContext, compare, finding};
use crate::evidence::Evidence;
use crate::manifest::{Entry, Header, ManifestError, ManifestReader, PathStyle};
use crate::policy::{AttrSet, Policy, PolicyError};
use crate::sign::{Authenticity, HashingReader, SignError, authenticate};
use crate::tree::{Tree, WalkOptions};

/// Errors that stop a verification before or while it runs (not findings).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// No signature was given and unsigned manifests were not allowed.
    #[error(
        "the manifest is not signed (no signature file); refusing to trust it \
         (use --allow-unsigned to check anyway, unauthenticated)"
    )]
    Unsigned,
    /// The signature does not hold.
    #[error("the manifest's signature does not hold; refusing to trust it")]
    Signature(#[source] SignError),
    /// The signature is good but its signed comment does not name this manifest.
    #[error("the signature belongs to another manifest: {reason}")]
    Mismatch {
        /// Why.
        reason: String,
    },
    /// Two manifests that cannot be compared (a diff of Windows paths with POSIX paths).
    #[error("the manifests cannot be compared: {reason}")]
    Incompatible {
        /// Why.
        reason: String,
    },
    /// The manifest is malformed or truncated.
    #[error("the manifest cannot be used")]
    Manifest(#[source] ManifestError),
    /// The manifest changed between the signature check and parsing.
    #[error("the manifest file changed while it was being read")]
    Changed,
    /// The policy with the manifest's excludes does not compile.
    #[error("invalid excludes in the manifest")]
    Policy(#[source] PolicyError),
    /// Reading failed.
    #[error("cannot read the manifest")]
    Io(#[source] io::Error),
    /// The root to check cannot be examined (missing, permission denied): nothing would be
    /// checked, so the verification does not start.
    #[error("cannot examine the root {root}")]
    Root {
        /// The root, as given.
        root: String,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// How the manifest is to be trusted.
#[derive(Debug, Clone)]
pub enum Trust {
    /// Check the detached signature (`.minisig` text) against the public key text.
    Signed {
        /// The trusted public key file's text.
        public_key: String,
        /// The signature file's text.
        signature: String,
    },
    /// Do not check; every finding says it is unauthenticated.
    Unsigned,
}

/// What a verification established.
#[derive(Debug, Clone)]
pub struct VerifyOutcome {
    /// The manifest header.
    pub header: Header,
    /// The signature check, when made.
    pub authenticity: Option<Authenticity>,
    /// Counters, skips and details (manifest id, created, key id).
    pub summary: Summary,
}

/// Checks the signature (unless [`Trust::Unsigned`]) and opens the manifest for reading.
/// Returns the reader over a hashing wrapper so the caller can compare digests at the end.
fn authenticate_manifest<R: Read + Seek>(
    manifest: &mut R,
    trust: &Trust,
) -> Result<Option<Authenticity>, VerifyError> {
    match trust {
        Trust::Unsigned => Ok(None),
        Trust::Signed { public_key, signature } => {
            let a = authenticate(public_key, signature, &mut *manifest)
                .map_err(VerifyError::Signature)?;
            manifest.rewind().map_err(VerifyError::Io)?;
            Ok(Some(a))
        }
    }
}

fn check_comment(a: &Authenticity, h: &Header) -> Result<(), VerifyError> {
    if a.role() != crate::sign::MANIFEST_ROLE {
        return Err(VerifyError::Mismatch {
            reason: format!("the signature is a {:?} signature, not a manifest's", a.role()),
        });
    }
    if a.comment_field("id") != Some(h.id.as_str()) {
        return Err(VerifyError::Mismatch {
            reason: format!(
                "signed comment names manifest {:?}, the file is manifest {:?}",
                a.comment_field("id").unwrap_or("(none)"),
                h.id
            ),
        });
    }
    if a.comment_field("created") != Some(h.created.as_str()) {
        return Err(VerifyError::Mismatch {
            reason: "signed creation time differs from the manifest header".into(),
        });
    }
    Ok(())
}

/// Opens a manifest for streaming after checking its signature. The callback gets the
/// reader, header and authenticity; after it returns, the bytes parsed are compared with the
/// bytes whose signature was checked.
pub fn with_manifest<R: Read + Seek, T>(
    mut manifest: R,
    trust: &Trust,
    f: impl FnOnce(&mut ManifestReader<'_>, Option<&Authenticity>) -> Result<T, VerifyError>,
) -> Result<(T, Header, Option<Authenticity>), VerifyError> {
    let auth = authenticate_manifest(&mut manifest, trust)?;
    let (value, header) = with_authenticated(manifest, auth.as_ref(), f)?;
    Ok((value, header, auth))
}

/// The second half of [`with_manifest`]: parses a manifest whose signature was checked
/// (`auth`), hashing the bytes parsed and comparing them with the bytes that were checked.
fn with_authenticated<R: Read, T>(
    manifest: R,
    auth: Option<&Authenticity>,
    f: impl FnOnce(&mut ManifestReader<'_>, Option<&Authenticity>) -> Result<T, VerifyError>,
) -> Result<(T, Header), VerifyError> {
    let mut hashing = HashingReader::new(manifest);
    let (value, header) = {
        let mut reader = ManifestReader::new(&mut hashing).map_err(VerifyError::Manifest)?;
        let header = reader.header().clone();
        if let Some(a) = auth {
            check_comment(a, &header)?;
        }
        (f(&mut reader, auth)?, header)
    };
    io::copy(&mut hashing, &mut io::sink()).map_err(VerifyError::Io)?;
    if let Some(a) = auth
        && a.content_sha256 != hashing.digest()
    {
        return Err(VerifyError::Changed);
    }
    Ok((value, header))
}

/// Records the manifest's identity in a summary.
pub fn describe(summary: &mut Summary, header: &Header, auth: Option<&Authenticity>) {
    let d = &mut summary.details;
    d.insert("manifest_id".into(), header.id.clone().into());
    d.insert("manifest_created".into(), header.created.clone().into());
    d.insert("manifest_root".into(), header.root.clone().into());
    d.insert("manifest_host".into(), header.host.clone().into());
    d.insert("manifest_tool".into(), header.tool.clone().into());
    d.insert("hash".into(), header.hash.as_str().into());
    d.insert("authenticated".into(), auth.is_some().into());
    if let Some(a) = auth {
        d.insert("key_id".into(), a.key_id.clone().into());
        d.insert("trusted_comment".into(), a.trusted_comment.clone().into());
    } else {
        summary.not_checked.push(
            "the manifest's signature was not checked (--allow-unsigned): whoever could change \
             the manifest could hide any change, so these results are unauthenticated"
                .into(),
        );
    }
}

/// Options of a verification.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Walk options, with the stop flag ([`crate::tree::WalkOptions::cancel`]): when it is
    /// raised the verification stops at the next file and its summary says `interrupted`.
    pub walk: WalkOptions,
}

/// Most manifest entries whose presence under the root is probed before the merge-join.
const PROBE_SAMPLE: usize = 1024;
/// Fewest absent entries that can make a root look wrong (a few deleted files in a tiny
/// manifest are findings, not a wrong root).
const WRONG_ROOT_MIN_ABSENT: u64 = 4;

/// Whether `absent` of `total` entries is "most of them" (a wrong root).
fn mostly_absent(absent: u64, total: u64) -> bool {
    absent >= WRONG_ROOT_MIN_ABSENT && absent.saturating_mul(2) > total
}

/// What the probe of the root found: of `sampled` manifest entries, `absent` are not there.
#[derive(Debug, Clone, Copy, Default)]
struct Probe {
    sampled: u64,
    absent: u64,
}

/// A small deterministic generator for the reservoir sample (splitmix64).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Reads the manifest once, keeps a uniform sample of its entries (the root entry and
/// excluded paths left out) and asks `present` whether each one is there (`None`: cannot
/// tell). A root where most of them are absent is not the tree the manifest was made of (a
/// mistyped or unmounted mount point, another host's image): its absences and additions are
/// then counted, not reported one by one. `policy` already holds the manifest's excludes.
/// Best effort: a manifest that does not parse gives what was read (the merge-join reports
/// the error).
fn probe(manifest: impl Read, policy: &Policy, present: impl Fn(&[u8]) -> Option<bool>) -> Probe {
    let Ok(reader) = ManifestReader::new(manifest) else { return Probe::default() };
    let style = reader.header().paths;
    let mut sample: Vec<Vec<u8>> = Vec::with_capacity(PROBE_SAMPLE);
    let mut rng = SplitMix(0x6665_7272_6574);
    let mut seen = 0u64;
    for entry in reader {
        let Ok(entry) = entry else { break };
        let clean = style == PathStyle::Windows
            || entry.path.split(|&c| c == b'/').all(|c| !matches!(c, b"" | b"." | b".."));
        if !clean || policy.is_excluded_path(&style.glob_form(&entry.path)) {
            continue;
        }
        seen += 1;
        if sample.len() < PROBE_SAMPLE {
            sample.push(entry.path);
        } else if let Ok(i) = usize::try_from(rng.next() % seen)
            && let Some(slot) = sample.get_mut(i)
        {
            *slot = entry.path;
        }
    }
    let mut probe = Probe::default();
    for rel in &sample {
        match present(rel) {
            Some(true) => {}
            Some(false) => probe.absent += 1,
            // Unreadable: says nothing about the root.
            None => continue,
        }
        probe.sampled += 1;
    }
    probe
}

/// [`probe`] of a local root, looking each path up with `lstat`.
fn probe_root(root: &Path, manifest: impl Read, header: &Header, policy: &Policy) -> Probe {
    let mut policy = policy.clone();
    if policy.add_excludes(&header.excludes).is_err() {
        return Probe::default();
    }
    probe(manifest, &policy, |rel| {
        match std::fs::symlink_metadata(crate::tree::abs_path(root, rel)) {
            Ok(_) => Some(true),
            Err(e)
                if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) =>
            {
                Some(false)
            }
            Err(_) => None,
        }
    })
}

/// Reads the header of a manifest whose signature was checked (the entries are read later,
/// by the merge-join, which checks the bytes again).
fn peek_header<R: Read + Seek>(manifest: &mut R) -> Result<Header, VerifyError> {
    let header =
        ManifestReader::new(&mut *manifest).map_err(VerifyError::Manifest)?.header().clone();
    manifest.rewind().map_err(VerifyError::Io)?;
    Ok(header)
}

/// Verifies `root` against a manifest. Findings (engine `integrity`) go to `sink`.
///
/// The root must exist ([`VerifyError::Root`] otherwise). Manifest paths are relative, so
/// any root holding the recorded tree can be checked (`/mnt/suspect` against a manifest made
/// of `/mnt/golden`). When most manifest entries are absent from the root, the root is
/// probably not that tree: the run is marked incomplete with the count, and absent or
/// unexpected paths are counted rather than reported one by one. When the stop flag is
/// raised the run ends at the next file and is marked interrupted.
pub fn verify<R: Read + Seek>(
    root: &Path,
    mut manifest: R,
    trust: &Trust,
    policy: &Policy,
    opts: &VerifyOptions,
    sink: &dyn Sink,
) -> Result<VerifyOutcome, VerifyError> {
    std::fs::metadata(root)
        .map_err(|source| VerifyError::Root { root: root.display().to_string(), source })?;
    let authenticity = authenticate_manifest(&mut manifest, trust)?;
    let header = peek_header(&mut manifest)?;
    let probe = probe_root(root, &mut manifest, &header, policy);
    manifest.rewind().map_err(VerifyError::Io)?;
    let wrong_root = mostly_absent(probe.absent, probe.sampled);
    let cancel = opts.walk.cancel.clone();
    let (summary, header) = with_authenticated(manifest, authenticity.as_ref(), |reader, auth| {
        let mut policy = policy.clone();
        policy.add_excludes(&reader.header().excludes).map_err(VerifyError::Policy)?;
        let ctx = FindingContext {
            root: root.to_path_buf(),
            authenticated: auth.is_some(),
            manifest_id: reader.header().id.clone(),
            style: reader.header().paths,
        };
        let hash = reader.header().hash;
        Tree::run(root, &policy, opts.walk.clone(), hash, sink, |tree| {
            let join = Join::new(&policy, ctx, sink, wrong_root);
            join.run(reader, tree, &cancel, &root.display().to_string())
        })
    })?;
    let mut summary = summary;
    describe(&mut summary, &header, authenticity.as_ref());
    Ok(VerifyOutcome { header, authenticity, summary })
}

/// Verifies the file systems of a disk image or a triage collection ([`Evidence`], opened
/// once by the caller) against a manifest, as [`verify`] verifies a local root. Paths are
/// matched as the manifest writes them: a manifest of Windows paths (`C:\…`) without regard
/// to case, so a manifest of another acquisition of the same host (last month's image,
/// today's VHDX) checks this one. An entry that cannot be read (EFS, WOF, a read error) is a
/// problem and its content is not compared, never taken as unchanged; evidence of which
/// nothing could be read, or where most manifest entries are absent (another host's image),
/// is incomplete, never clean.
pub fn verify_evidence<R: Read + Seek>(
    ev: &Evidence,
    mut manifest: R,
    trust: &Trust,
    policy: &Policy,
    opts: &VerifyOptions,
    sink: &dyn Sink,
) -> Result<VerifyOutcome, VerifyError> {
    let authenticity = authenticate_manifest(&mut manifest, trust)?;
    // The header says how the paths are ordered and matched.
    let header = peek_header(&mut manifest)?;
    let mut policy = policy.clone();
    policy.add_excludes(&header.excludes).map_err(VerifyError::Policy)?;
    let cancel = opts.walk.cancel.clone();
    let listed = crate::evidence::list(ev, Some(header.paths), &policy, header.hash, &cancel, sink)
        .map_err(VerifyError::Policy)?;
    let policy = listed.policy.clone();
    let probe = probe(&mut manifest, &policy, |rel| Some(listed.contains(rel)));
    manifest.rewind().map_err(VerifyError::Io)?;
    let wrong_root = ev.sources.is_empty() || mostly_absent(probe.absent, probe.sampled);
    // A part of the evidence that could not be opened (a damaged partition) holds drives no
    // source lists: their recorded paths are not reported as removed.
    let drives_read = ev.damaged.then(|| listed.drives());
    let (summary, header) = with_authenticated(manifest, authenticity.as_ref(), |reader, auth| {
        let ctx = FindingContext {
            root: crate::evidence::root(ev).to_path_buf(),
            authenticated: auth.is_some(),
            manifest_id: reader.header().id.clone(),
            style: reader.header().paths,
        };
        let hash = reader.header().hash;
        crate::evidence::run(ev, listed, hash, &cancel, sink, |tree| {
            let mut join = Join::new(&policy, ctx, sink, wrong_root);
            join.drives_read = drives_read;
            join.run(reader, tree, &cancel, &ev.target.display().to_string())
        })
    })?;
    let mut summary = summary;
    if ev.sources.is_empty() {
        summary.mark_nothing_examined(format!(
            "nothing in {} could be read: no file was compared with the manifest",
            ev.target.display()
        ));
    }
    summary.count("evidence_sources", ev.sources.len() as u64);
    describe(&mut summary, &header, authenticity.as_ref());
    Ok(VerifyOutcome { header, authenticity, summary })
}

/// The merge-join's bookkeeping.
struct Join<'a> {
    policy: &'a Policy,
    style: PathStyle,
    ctx: FindingContext,
    sink: &'a dyn Sink,
    summary: Summary,
    /// The probe found most entries absent: presence changes are counted, not reported.
    wrong_root: bool,
    /// Manifest entries (not excluded, the root entry left out) the tree was checked for.
    recorded: u64,
    /// Of those, absent from the tree (and not below an unreadable directory).
    absent: u64,
    /// Presence changes not reported because of a wrong root.
    not_reported: u64,
    /// Evidence with a part that could not be opened: the drives that were read (a recorded
    /// path on another drive is not reported as removed).
    drives_read: Option<std::collections::BTreeSet<u8>>,
}

impl<'a> Join<'a> {
    fn new(policy: &'a Policy, ctx: FindingContext, sink: &'a dyn Sink, wrong_root: bool) -> Self {
        Join {
            policy,
            style: ctx.style,
            ctx,
            sink,
            summary: Summary::default(),
            wrong_root,
            recorded: 0,
            absent: 0,
            not_reported: 0,
            drives_read: None,
        }
    }

    /// Merge-joins the manifest (`reader`) with `tree`, both in the manifest's path order,
    /// and returns the summary; `root` names what was checked in the reason of a wrong root.
    fn run(
        mut self,
        reader: &mut ManifestReader<'_>,
        tree: &mut Tree<'_>,
        cancel: &ferret_core::Cancel,
        root: &str,
    ) -> Result<Summary, VerifyError> {
        let wrong_root = self.wrong_root;
        let mut m = reader.next();
        let mut t = tree.next();
        loop {
            if cancel.is_cancelled() {
                self.summary.mark_interrupted();
                break;
            }
            match (m.take(), t.take()) {
                (None, None) => break,
                (Some(Err(e)), _) => return Err(VerifyError::Manifest(e)),
                (Some(Ok(old)), None) => {
                    self.removed(old, tree);
                    m = reader.next();
                }
                (None, Some(new)) => {
                    self.added(new);
                    t = tree.next();
                }
                (Some(Ok(old)), Some(new)) => match self.style.cmp(&old.path, &new.path) {
                    Ordering::Less => {
                        self.removed(old, tree);
                        m = reader.next();
                        t = Some(new);
                    }
                    Ordering::Greater => {
                        self.added(new);
                        t = tree.next();
                        m = Some(Ok(old));
                    }
                    Ordering::Equal => {
                        self.same(&old, &new);
                        m = reader.next();
                        t = tree.next();
                    }
                },
            }
        }
        let (recorded, absent, not_reported) = (self.recorded, self.absent, self.not_reported);
        let mut summary = self.summary;
        summary.count("entries_absent", absent);
        summary.count("files_hashed", tree.stats.files_hashed.load(AtomicOrdering::Relaxed));
        summary.count("bytes_hashed", tree.stats.bytes_hashed.load(AtomicOrdering::Relaxed));
        summary.skip("excluded", tree.excluded());
        let header = reader.header();
        if !summary.interrupted && (wrong_root || mostly_absent(absent, recorded)) {
            let mut reason = format!(
                "{absent} of {recorded} manifest entries are absent from {root} (the manifest \
                 records {} on host {}): it is probably not the tree the manifest was made of",
                header.root, header.host
            );
            if wrong_root {
                summary.skip("wrong_root", not_reported);
                let _ = write!(
                    reason,
                    "; {not_reported} absent or unexpected path(s) were counted, not reported"
                );
            }
            summary.mark_incomplete(reason);
        }
        Ok(summary)
    }

    /// The path as the policy's globs see it.
    fn glob_form<'p>(&self, path: &'p [u8]) -> std::borrow::Cow<'p, [u8]> {
        self.style.glob_form(path)
    }

    fn emit(&mut self, change: &Change) {
        self.summary.count(change.rule().1, 1);
        self.sink.finding(finding(change, &self.ctx));
    }

    fn removed(&mut self, old: Entry, tree: &Tree<'_>) {
        self.summary.count("entries_checked", 1);
        if self.policy.is_excluded_path(&self.glob_form(&old.path)) {
            self.summary.skip("excluded", 1);
            return;
        }
        if tree.under_unreadable(&old.path) {
            self.summary.skip("under_unreadable_directory", 1);
            return;
        }
        if let Some(read) = &self.drives_read
            && crate::evidence::drive(&old.path).is_some_and(|d| !read.contains(&d))
        {
            self.summary.skip("on_a_part_not_opened", 1);
            return;
        }
        self.recorded += 1;
        self.absent += 1;
        if self.policy.attrs_for(&self.glob_form(&old.path)).has(AttrSet::PRESENCE) {
            if self.wrong_root {
                self.not_reported += 1;
            } else {
                self.emit(&Change::Removed(old));
            }
        }
    }

    fn added(&mut self, new: Entry) {
        self.summary.count("entries_walked", 1);
        if self.policy.attrs_for(&self.glob_form(&new.path)).has(AttrSet::PRESENCE) {
            if self.wrong_root {
                self.not_reported += 1;
            } else {
                self.emit(&Change::Added(new));
            }
        }
    }

    fn same(&mut self, old: &Entry, new: &Entry) {
        self.summary.count("entries_checked", 1);
        self.summary.count("entries_walked", 1);
        if !old.path.is_empty() {
            self.recorded += 1;
        }
        let attrs = self.policy.attrs_for(&self.glob_form(&new.path));
        for c in compare(old, new, attrs) {
            self.emit(&c);
        }
    }
}

/// The signature file conventionally next to a manifest: `MANIFEST.minisig`.
pub fn signature_path(manifest: &Path) -> PathBuf {
    let mut s = manifest.as_os_str().to_owned();
    s.push(".minisig");
    PathBuf::from(s)
}
