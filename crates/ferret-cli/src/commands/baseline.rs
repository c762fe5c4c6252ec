//! `ferret baseline`: walk a root and write a (signed) manifest of it.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use ferret_core::Collector;
use ferret_integrity::baseline::{BaselineOptions, baseline};
use ferret_integrity::{HashAlgorithm, Policy};

use crate::exit::ExitStatus;

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
    /// The root to record (`/`, or a mounted image).
    pub root: PathBuf,
    /// Manifest file to write.
    #[arg(short = 'o', long = "output", value_name = "MANIFEST")]
    pub output: PathBuf,
    /// Sign with this secret key (from `ferret keygen`); writes MANIFEST.minisig.
    #[arg(long, value_name = "KEY")]
    pub sign: Option<PathBuf>,
    /// Do not walk paths matching GLOB (relative to the root; repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
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
    /// Hashing threads (default: all cores).
    #[arg(long, short = 'j')]
    pub threads: Option<usize>,
    /// No notes on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    #[command(flatten)]
    pub priority: super::common::PriorityArgs,
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

/// Sets the size of rayon's global pool.
pub fn set_threads(threads: Option<usize>) {
    if let Some(n) = threads {
        let _ = rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build_global();
    }
}

/// When the manifest is written inside the root, excludes it and its signature (they change
/// while the tree is walked).
fn own_output_excludes(root: &Path, output: &Path) -> Vec<String> {
    let parent = output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let (Ok(root), Ok(dir)) = (root.canonicalize(), parent.canonicalize()) else {
        return Vec::new();
    };
    let (Ok(rel), Some(name)) = (dir.strip_prefix(&root), output.file_name()) else {
        return Vec::new();
    };
    let rel = rel.join(name);
    let Some(rel) = rel.to_str() else { return Vec::new() };
    let glob = globset::escape(rel);
    vec![format!("{glob}.minisig"), glob]
}

/// Runs `ferret baseline`.
pub fn run(args: &BaselineArgs) -> anyhow::Result<ExitStatus> {
    args.priority.apply();
    set_threads(args.threads);
    let mut excludes = args.exclude.clone();
    excludes.extend(own_output_excludes(&args.root, &args.output));
    let policy = load_policy(args.policy.as_deref(), &excludes)?;
    let secret = args.sign.as_deref().map(read_input).transpose()?;
    let opts = BaselineOptions {
        hash: match args.hash {
            HashArg::Sha256 => HashAlgorithm::Sha256,
            HashArg::Blake3 => HashAlgorithm::Blake3,
        },
        zstd: args.zstd,
        walk: ferret_integrity::tree::WalkOptions { one_file_system: args.one_file_system },
        host: super::common::host_name(),
    };
    let out = crate::output::create_output(&args.output)?;
    let sink = Collector::new();
    let (out, outcome) = baseline(&args.root, &policy, &opts, out, &sink)?;
    out.into_inner().map_err(std::io::IntoInnerError::into_error)?.sync_all()?;
    let (_, problems, _, dropped) = sink.into_parts();
    let mut note = format!(
        "manifest {} ({} entries, id {}, created {})",
        args.output.display(),
        outcome.entries,
        outcome.header.id,
        outcome.header.created
    );
    if let Some(secret) = secret {
        let comment = ferret_integrity::sign::trusted_comment(
            &outcome.header.id,
            &outcome.header.created,
            outcome.entries,
        );
        let (sig, key_id) =
            ferret_integrity::sign::sign(&secret, open_input(&args.output)?, &comment)?;
        let sig_path = ferret_integrity::verify::signature_path(&args.output);
        let mut w = crate::output::create_output(&sig_path)?;
        std::io::Write::write_all(&mut w, sig.as_bytes())?;
        std::io::Write::flush(&mut w)?;
        let _ = write!(note, "\nsigned with key {key_id}: {}", sig_path.display());
    } else {
        note.push_str("\nnot signed: verify will refuse it unless --allow-unsigned");
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
