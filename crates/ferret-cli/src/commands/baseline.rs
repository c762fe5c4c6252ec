//! `ferret baseline`: walk a root and write a (signed) manifest of it.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use ferret_core::{Cancel, Collector};
use ferret_integrity::baseline::{BaselineError, BaselineOptions, baseline, baseline_evidence};
use ferret_integrity::{HashAlgorithm, Policy};

use crate::exit::ExitStatus;
use crate::output::{AtomicFile, check_output_path, parent_dir};

/// Digest algorithm on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HashArg {
    /// SHA-256.
    Sha256,
    /// BLAKE3.
    Blake3,
}

/// Arguments of `ferret baseline`.
#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// The root to record (a directory, `/` by default), or a disk image or triage
    /// collection, whose file systems are read in place (paths as the host knew them).
    #[arg(value_name = "ROOT", default_value = "/")]
    pub root: PathBuf,
    /// Manifest file to write (written beside it under a temporary name, renamed when
    /// complete: an interrupted run leaves an existing manifest as it was).
    #[arg(short = 'o', long = "output", value_name = "MANIFEST")]
    pub output: PathBuf,
    /// Sign with this secret key (from `ferret keygen`); writes MANIFEST.minisig.
    #[arg(long, value_name = "KEY")]
    pub sign: Option<PathBuf>,
    /// Replace an existing signed manifest (one with MANIFEST.minisig beside it). Its old
    /// signature is removed, or replaced by the new one with --sign.
    #[arg(long)]
    pub force: bool,
    /// Policy file (TOML); default: the built-in Linux policy.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Content digest.
    #[arg(long, value_enum, default_value_t = HashArg::Sha256)]
    pub hash: HashArg,
    /// Compress the manifest with zstd.
    #[arg(long)]
    pub zstd: bool,
    /// Stay on the root's file system.
    #[arg(long)]
    pub one_file_system: bool,
    /// No notes on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    #[command(flatten)]
    pub examine: super::common::ExamineArgs,
}

/// Reads a file ferret was pointed at by its operator (a policy, a key, a manifest).
#[expect(clippy::disallowed_methods, reason = "operator-supplied input, not an examined file")]
pub fn open_input(path: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))
}

/// Reads a whole operator-supplied text file.
pub fn read_input(path: &Path) -> anyhow::Result<String> {
    let mut s = String::new();
    open_input(path)?
        .take(16 << 20)
        .read_to_string(&mut s)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(s)
}

/// The policy from `--policy` (or the built-in one) plus `--exclude` globs.
pub fn load_policy(file: Option<&Path>, excludes: &[String]) -> anyhow::Result<Policy> {
    load_policy_hashed(file, excludes).map(|(policy, _)| policy)
}

/// [`load_policy`], plus the SHA-256 of what was loaded (the policy text, or the built-in
/// policy's, then each `--exclude` glob on its own line): the report's `ruleset_sha256`.
pub fn load_policy_hashed(
    file: Option<&Path>,
    excludes: &[String],
) -> anyhow::Result<(Policy, String)> {
    use sha2::{Digest as _, Sha256};
    let (mut policy, text) = match file {
        Some(p) => {
            let text = read_input(p)?;
            let policy =
                Policy::from_toml(&text).with_context(|| format!("in policy {}", p.display()))?;
            (policy, text)
        }
        None => (Policy::builtin(), ferret_integrity::policy::BUILTIN_LINUX.to_owned()),
    };
    policy.add_excludes(excludes)?;
    let mut h = Sha256::new();
    h.update(text.as_bytes());
    for e in excludes {
        h.update(b"\nexclude ");
        h.update(e.as_bytes());
    }
    Ok((policy, hex::encode(h.finalize())))
}

/// The stop flag handed to the integrity engines (`baseline`, `verify`, `verify --dpkg`):
/// raised when the run is asked to stop (SIGINT, SIGTERM), after which the engine ends at
/// the next file and says so.
pub fn stop_flag() -> Cancel {
    crate::interrupt::cancel_on_signals()
}

/// When the manifest is written inside the root, excludes it, its signature and their
/// temporary files (they change while the tree is walked).
fn own_output_excludes(root: &Path, outputs: &[&Path]) -> Vec<String> {
    let mut globs = Vec::new();
    for output in outputs {
        let (Ok(root), Ok(dir)) = (root.canonicalize(), parent_dir(output).canonicalize()) else {
            continue;
        };
        let (Ok(rel), Some(name)) = (dir.strip_prefix(&root), output.file_name()) else {
            continue;
        };
        if let Some(rel) = rel.join(name).to_str() {
            globs.push(globset::escape(rel));
        }
    }
    globs
}

/// Opens a disk image or a collection named as the root, once, through ferret-evidence:
/// its problems go to `sink`, its notes (the layout read) to stderr.
pub fn open_evidence(
    root: &Path,
    sink: &dyn ferret_core::Sink,
    quiet: bool,
) -> ferret_integrity::evidence::Evidence {
    let target = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
    let mut summary = ferret_core::Summary::default();
    let ev = ferret_integrity::evidence::Evidence::open(&target, &mut summary, sink);
    if !quiet {
        for n in &summary.notes {
            crate::output::note(&format!("ferret: note: {n}"));
        }
    }
    ev
}

/// Removes a signature file left from the manifest being replaced.
#[expect(clippy::disallowed_methods, reason = "ferret's own signature file, being replaced")]
fn remove_old_signature(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => {
            Err(e).with_context(|| format!("cannot remove the old signature {}", path.display()))
        }
    }
}

/// Runs `ferret baseline`.
pub fn run(args: &BaselineArgs) -> anyhow::Result<ExitStatus> {
    // Only threads and priority come from the configuration file: its excludes are paths
    // of the examined host, while a manifest's are relative to its root.
    let cfg = crate::config::Config::load()?;
    args.examine.apply_priority(&cfg);
    let _ = super::common::set_threads(args.examine.threads(&cfg));
    // Everything that can stop the run is checked before the walk: the root, the output
    // folder, an existing signed manifest, the policy and the key.
    std::fs::metadata(&args.root).with_context(|| {
        format!("cannot examine the root {}: nothing to record", args.root.display())
    })?;
    let sig_path = ferret_integrity::verify::signature_path(&args.output);
    check_output_path(&args.output)?;
    if !args.force && std::fs::symlink_metadata(&sig_path).is_ok() {
        anyhow::bail!(
            "{} exists: refusing to replace a signed manifest (or to leave a stale signature \
             beside a new one) without --force",
            sig_path.display()
        );
    }
    let secret = args.sign.as_deref().map(read_input).transpose()?;
    if let Some(secret) = &secret {
        let key = args.sign.as_deref().unwrap_or(Path::new(""));
        ferret_integrity::sign::sign(secret, &b""[..], "ferret key check")
            .with_context(|| format!("cannot sign with {}", key.display()))?;
    }
    if secret.is_some() && crate::output::is_special(&args.output) {
        anyhow::bail!(
            "cannot sign a manifest written to {}: it is a device or a pipe, and the \
             signature is made over the written file; write the manifest to a file",
            args.output.display()
        );
    }
    let manifest = AtomicFile::create(&args.output)?;
    let mut excludes = args.examine.exclude.clone();
    // A disk image or a collection is read in place (opened once, here); a directory walked.
    let evidence_sink = Collector::new();
    let evidence = if ferret_integrity::evidence::is_evidence(&args.root) {
        Some(open_evidence(&args.root, &evidence_sink, args.quiet))
    } else {
        let mut own: Vec<&Path> = vec![&args.output, &sig_path];
        own.extend(manifest.tmp_path());
        excludes.extend(own_output_excludes(&args.root, &own));
        None
    };
    let policy = load_policy(args.policy.as_deref(), &excludes)?;
    let opts = BaselineOptions {
        hash: match args.hash {
            HashArg::Sha256 => HashAlgorithm::Sha256,
            HashArg::Blake3 => HashAlgorithm::Blake3,
        },
        zstd: args.zstd,
        walk: ferret_integrity::tree::WalkOptions {
            one_file_system: args.one_file_system,
            cancel: stop_flag(),
        },
        host: super::common::host_name(),
    };
    let sink = evidence_sink;
    let out = std::io::BufWriter::with_capacity(1 << 16, manifest.file()?);
    let (out, outcome) = match match &evidence {
        Some(ev) => baseline_evidence(ev, &policy, &opts, out, &sink),
        None => baseline(&args.root, &policy, &opts, out, &sink),
    } {
        Ok(done) => done,
        Err(e @ BaselineError::NothingReadable { .. }) => {
            // The temporary file goes with `manifest` when this returns.
            if !args.quiet {
                let (_, problems, _, _) = sink.into_parts();
                for p in problems.iter().take(20) {
                    crate::output::note(&format!("ferret: problem: {p}"));
                }
                crate::output::note(&format!("ferret: {e}"));
            }
            return Ok(ExitStatus::Incomplete);
        }
        Err(BaselineError::Interrupted) => {
            // The temporary file goes with `manifest` when this returns.
            if !args.quiet {
                crate::output::note(&format!(
                    "ferret: interrupted: no manifest written; {} was left as it was",
                    args.output.display()
                ));
            }
            return Ok(ExitStatus::Incomplete);
        }
        Err(e) => return Err(e.into()),
    };
    out.into_inner().map_err(std::io::IntoInnerError::into_error)?;
    let (_, problems, _, dropped) = sink.into_parts();
    let mut note = format!(
        "manifest {} ({} entries, id {}, created {})",
        args.output.display(),
        outcome.entries,
        outcome.header.id,
        outcome.header.created
    );
    let signature = match secret {
        Some(secret) => {
            let comment = ferret_integrity::sign::trusted_comment(
                &outcome.header.id,
                &outcome.header.created,
                outcome.entries,
            );
            let (sig, key_id) = ferret_integrity::sign::sign(
                &secret,
                open_input(manifest.tmp_path().context("the manifest cannot be read back")?)?,
                &comment,
            )?;
            let file = AtomicFile::create(&sig_path)?;
            let mut w = file.file()?;
            std::io::Write::write_all(&mut w, sig.as_bytes())?;
            let _ = write!(note, "\nsigned with key {key_id}: {}", sig_path.display());
            Some(file)
        }
        None => {
            note.push_str("\nnot signed: verify will refuse it unless --allow-unsigned");
            None
        }
    };
    // Publish: the old signature goes first, so a new manifest never sits beside a stale
    // one (a crash in between leaves a manifest without signature, which verify refuses).
    if std::fs::symlink_metadata(&sig_path).is_ok() {
        remove_old_signature(&sig_path)?;
        if signature.is_none() {
            let _ = write!(note, "\nthe old signature {} was removed", sig_path.display());
        }
    }
    manifest.commit()?;
    if let Some(sig) = signature {
        sig.commit()?;
    }
    if !args.quiet {
        for p in problems.iter().take(20) {
            crate::output::note(&format!("ferret: warning: {p}"));
        }
        let total = problems.len() as u64 + dropped;
        if total > 0 {
            let _ = write!(
                note,
                "\n{total} path(s) could not be read completely; they are recorded without a digest"
            );
        }
        crate::output::note(&note);
    }
    Ok(if problems.is_empty() { ExitStatus::Clean } else { ExitStatus::Incomplete })
}
