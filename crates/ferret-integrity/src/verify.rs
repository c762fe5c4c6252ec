//! `verify`: check a root against a (signed) manifest.
//!
//! The manifest's signature is checked first, against a public key the operator brings;
//! then the manifest (sorted) and a walk of the root (same order) are merge-joined, so memory
//! stays bounded by one batch of entries whatever the size of the tree. The bytes parsed are
//! hashed and compared with the bytes whose signature was checked, so swapping the file in
//! between is detected.

use std::cmp::Ordering;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering as AtomicOrdering;

use ferret_core::{Sink, Summary};

use crate::compare::{Change, FindingContext, compare, finding};
use crate::manifest::{Entry, Header, ManifestError, ManifestReader, path_cmp};
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
    let mut hashing = HashingReader::new(manifest);
    let (value, header) = {
        let mut reader = ManifestReader::new(&mut hashing).map_err(VerifyError::Manifest)?;
        let header = reader.header().clone();
        if let Some(a) = &auth {
            check_comment(a, &header)?;
        }
        (f(&mut reader, auth.as_ref())?, header)
    };
    io::copy(&mut hashing, &mut io::sink()).map_err(VerifyError::Io)?;
    if let Some(a) = &auth
        && a.content_sha256 != hashing.digest()
    {
        return Err(VerifyError::Changed);
    }
    Ok((value, header, auth))
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
    /// Walk options.
    pub walk: WalkOptions,
}

/// Verifies `root` against a manifest. Findings (engine `integrity`) go to `sink`.
pub fn verify<R: Read + Seek>(
    root: &Path,
    manifest: R,
    trust: &Trust,
    policy: &Policy,
    opts: &VerifyOptions,
    sink: &dyn Sink,
) -> Result<VerifyOutcome, VerifyError> {
    let (summary, header, authenticity) = with_manifest(manifest, trust, |reader, auth| {
        let mut policy = policy.clone();
        policy.add_excludes(&reader.header().excludes).map_err(VerifyError::Policy)?;
        let ctx = FindingContext {
            root: root.to_path_buf(),
            authenticated: auth.is_some(),
            manifest_id: reader.header().id.clone(),
        };
        let mut tree = Tree::new(root, &policy, opts.walk.clone(), reader.header().hash, sink);
        let mut j = Join { policy: &policy, ctx, sink, summary: Summary::default() };
        let mut m = reader.next();
        let mut t = tree.next();
        loop {
            match (m.take(), t.take()) {
                (None, None) => break,
                (Some(Err(e)), _) => return Err(VerifyError::Manifest(e)),
                (Some(Ok(old)), None) => {
                    j.removed(old, &tree);
                    m = reader.next();
                }
                (None, Some(new)) => {
                    j.added(new);
                    t = tree.next();
                }
                (Some(Ok(old)), Some(new)) => match path_cmp(&old.path, &new.path) {
                    Ordering::Less => {
                        j.removed(old, &tree);
                        m = reader.next();
                        t = Some(new);
                    }
                    Ordering::Greater => {
                        j.added(new);
                        t = tree.next();
                        m = Some(Ok(old));
                    }
                    Ordering::Equal => {
                        j.same(&old, &new);
                        m = reader.next();
                        t = tree.next();
                    }
                },
            }
        }
        let mut summary = j.summary;
        summary.count("files_hashed", tree.stats.files_hashed.load(AtomicOrdering::Relaxed));
        summary.count("bytes_hashed", tree.stats.bytes_hashed.load(AtomicOrdering::Relaxed));
        summary.skip("excluded", tree.excluded());
        Ok(summary)
    })?;
    let mut summary = summary;
    describe(&mut summary, &header, authenticity.as_ref());
    Ok(VerifyOutcome { header, authenticity, summary })
}

/// The merge-join's bookkeeping.
struct Join<'a> {
    policy: &'a Policy,
    ctx: FindingContext,
    sink: &'a dyn Sink,
    summary: Summary,
}

impl Join<'_> {
    fn emit(&mut self, change: &Change) {
        self.summary.count(change.rule().1, 1);
        self.sink.finding(finding(change, &self.ctx));
    }

    fn removed(&mut self, old: Entry, tree: &Tree<'_>) {
        self.summary.count("entries_checked", 1);
        if self.policy.is_excluded_path(&old.path) {
            self.summary.skip("excluded", 1);
            return;
        }
        if tree.under_unreadable(&old.path) {
            self.summary.skip("under_unreadable_directory", 1);
            return;
        }
        if self.policy.attrs_for(&old.path).has(AttrSet::PRESENCE) {
            self.emit(&Change::Removed(old));
        }
    }

    fn added(&mut self, new: Entry) {
        self.summary.count("entries_walked", 1);
        if self.policy.attrs_for(&new.path).has(AttrSet::PRESENCE) {
            self.emit(&Change::Added(new));
        }
    }

    fn same(&mut self, old: &Entry, new: &Entry) {
        self.summary.count("entries_checked", 1);
        self.summary.count("entries_walked", 1);
        let attrs = self.policy.attrs_for(&new.path);
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
