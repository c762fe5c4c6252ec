//! `ferret diff`: what changed between two manifests.

use std::path::PathBuf;

use clap::Args;
use ferret_core::Collector;
use ferret_integrity::Policy;
use ferret_integrity::verify::{Trust, signature_path};

use super::baseline::{open_input, read_input};
use crate::exit::ExitStatus;
use crate::output::OutputArgs;

/// Arguments of `ferret diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier manifest.
    pub old: PathBuf,
    /// The later manifest.
    pub new: PathBuf,
    /// Trusted public key both manifests must be signed with.
    #[arg(long, value_name = "KEY.pub")]
    pub pubkey: Option<PathBuf>,
    /// Compare without checking signatures (findings are marked unauthenticated).
    #[arg(long)]
    pub allow_unsigned: bool,
    /// Policy file (TOML) selecting the attributes compared; default: every attribute.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs `ferret diff`.
pub fn run(args: &DiffArgs) -> anyhow::Result<ExitStatus> {
    let started = chrono::Utc::now();
    crate::output::prepare(&args.output)?;
    let trust = |manifest: &std::path::Path| -> anyhow::Result<Trust> {
        match (&args.pubkey, args.allow_unsigned) {
            (Some(pk), _) => Ok(Trust::Signed {
                public_key: read_input(pk)?,
                signature: read_input(&signature_path(manifest))?,
            }),
            (None, true) => Ok(Trust::Unsigned),
            (None, false) => anyhow::bail!(
                "no trusted public key given (--pubkey KEY.pub); refusing to trust the manifests \
                 (use --allow-unsigned to compare anyway, unauthenticated)"
            ),
        }
    };
    let trust_old = trust(&args.old)?;
    let trust_new = trust(&args.new)?;
    let (policy, policy_text) = match &args.policy {
        Some(p) => {
            let text = read_input(p)?;
            (Policy::from_toml(&text)?, text)
        }
        None => (Policy::empty(), String::new()),
    };
    let policy_sha256 = {
        use sha2::{Digest as _, Sha256};
        hex::encode(Sha256::digest(policy_text.as_bytes()))
    };
    let collector = Collector::new();
    let outcome = ferret_integrity::diff::diff(
        std::io::BufReader::new(open_input(&args.old)?),
        std::io::BufReader::new(open_input(&args.new)?),
        &trust_old,
        &trust_new,
        &policy,
        &collector,
    )?;
    let report = super::common::build_report(
        "diff",
        vec![args.old.display().to_string(), args.new.display().to_string()],
        started,
        collector,
        outcome.summary,
        Some(policy_sha256),
    );
    crate::output::emit(&report, &args.output)?;
    Ok(ExitStatus::from_summary(&report.summary))
}
