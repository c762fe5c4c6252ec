//! `ferret verify`: check a root against a signed manifest, or installed Debian packages
//! against their recorded checksums (`--dpkg`).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use ferret_core::Collector;
use ferret_integrity::evidence::{Evidence, is_evidence};
use ferret_integrity::verify::{Trust, VerifyOptions, signature_path, verify, verify_evidence};

use super::baseline::{load_policy_hashed, open_input, read_input, stop_flag};
use crate::exit::ExitStatus;
use crate::output::OutputArgs;

/// Arguments of `ferret verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The root to check; manifest paths are relative to it (a mounted image is checked
    /// offline), or a disk image or triage collection read in place, whose paths are the
    /// host's (`C:\...`, compared without case). Default `/`.
    #[arg(value_name = "ROOT")]
    pub root_arg: Option<PathBuf>,
    /// The root (same as ROOT; for `--dpkg`).
    #[arg(long, value_name = "DIR", conflicts_with = "root_arg")]
    pub root: Option<PathBuf>,
    /// The manifest (from `ferret baseline`).
    #[arg(long, short = 'm', value_name = "MANIFEST", required_unless_present = "dpkg")]
    pub manifest: Option<PathBuf>,
    /// The trusted public key (brought from elsewhere, not from the examined host).
    #[arg(long, value_name = "KEY.pub")]
    pub pubkey: Option<PathBuf>,
    /// The detached signature (default: MANIFEST.minisig).
    #[arg(long, value_name = "FILE")]
    pub signature: Option<PathBuf>,
    /// Check an unsigned manifest anyway; every finding is marked unauthenticated.
    #[arg(long)]
    pub allow_unsigned: bool,
    /// Policy file (TOML); default: the built-in Linux policy.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Stay on the root's file system.
    #[arg(long)]
    pub one_file_system: bool,
    /// Verify installed Debian packages against var/lib/dpkg under the root instead.
    #[arg(long, conflicts_with_all = ["manifest", "pubkey", "allow_unsigned"])]
    pub dpkg: bool,
    /// With --dpkg: check only this package, `NAME` or `NAME:ARCH` (repeatable). Every check
    /// is limited to the named packages; a name the database does not know makes the run
    /// incomplete.
    #[arg(long, value_name = "NAME", requires = "dpkg")]
    pub package: Vec<String>,
    /// With --dpkg: do not look for files no package owns.
    #[arg(long, requires = "dpkg")]
    pub no_unowned: bool,
    /// With --dpkg: also look for executables and ELF objects no package owns in DIR
    /// (relative to the root; repeatable), e.g. usr/local, opt or home, where packages do
    /// not install and which are not searched otherwise.
    #[arg(long, value_name = "DIR", requires = "dpkg", conflicts_with = "package")]
    pub unowned_in: Vec<PathBuf>,
    #[command(flatten)]
    pub examine: super::common::ExamineArgs,
    #[command(flatten)]
    pub filter: super::common::FilterArgs,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs `ferret verify`.
pub fn run(args: &VerifyArgs) -> anyhow::Result<ExitStatus> {
    crate::output::prepare(&args.output)?;
    // Only threads, priority and the minimum score come from the configuration file: its
    // excludes are paths of the examined host, while a manifest's are relative to its root.
    let cfg = crate::config::Config::load()?;
    args.examine.apply_priority(&cfg);
    let threads_note = super::common::set_threads(args.examine.threads(&cfg)).note();
    let started = chrono::Utc::now();
    let root =
        args.root.clone().or_else(|| args.root_arg.clone()).unwrap_or_else(|| PathBuf::from("/"));
    let root = std::path::absolute(&root).unwrap_or(root);
    let collector = Collector::with_min_score(args.filter.min_score(&cfg));
    let mut target = root.display().to_string();
    let ruleset_sha256;
    let summary = if args.dpkg {
        let opts = ferret_integrity::dpkg::DpkgOptions {
            root: root.clone(),
            unowned: !args.no_unowned,
            unowned_in: args.unowned_in.clone(),
            packages: args.package.clone(),
            cancel: stop_flag(),
        };
        ruleset_sha256 = Some(ferret_integrity::dpkg::policy_sha256(&opts));
        let summary = ferret_integrity::dpkg::verify_dpkg(&opts, &collector)?;
        if !args.output.quiet {
            crate::output::note(&format!("ferret: note: {}", ferret_integrity::dpkg::TRUST_NOTE));
        }
        summary
    } else {
        let manifest = args.manifest.as_deref().context("--manifest is required")?;
        // Nothing to check when the root is not there: could not run, at once.
        std::fs::metadata(&root).with_context(|| {
            format!("cannot examine the root {}: nothing to verify", root.display())
        })?;
        let trust = match (&args.pubkey, args.allow_unsigned) {
            (Some(pk), _) => {
                let sig_path = args.signature.clone().unwrap_or_else(|| signature_path(manifest));
                if !sig_path.exists() {
                    anyhow::bail!(
                        "the manifest is not signed: {} does not exist; refusing to trust it \
                         (use --allow-unsigned to check anyway, unauthenticated)",
                        sig_path.display()
                    );
                }
                Trust::Signed { public_key: read_input(pk)?, signature: read_input(&sig_path)? }
            }
            (None, true) => Trust::Unsigned,
            (None, false) => anyhow::bail!(
                "no trusted public key given (--pubkey KEY.pub); refusing to trust the manifest \
                 (use --allow-unsigned to check anyway, unauthenticated)"
            ),
        };
        let (policy, policy_sha256) =
            load_policy_hashed(args.policy.as_deref(), &args.examine.exclude)?;
        ruleset_sha256 = Some(policy_sha256);
        let opts = VerifyOptions {
            walk: ferret_integrity::tree::WalkOptions {
                one_file_system: args.one_file_system,
                cancel: stop_flag(),
            },
        };
        let file = std::io::BufReader::new(open_input(manifest)?);
        let outcome = if is_evidence(&root) {
            // A disk image or a collection: opened once, read in place.
            let mut opened = ferret_core::Summary::default();
            let ev = Evidence::open(&root, &mut opened, &collector);
            let mut outcome = verify_evidence(&ev, file, &trust, &policy, &opts, &collector)?;
            let s = &mut outcome.summary;
            s.notes.append(&mut opened.notes);
            for reason in opened.incomplete_reasons {
                s.mark_incomplete(reason);
            }
            outcome
        } else {
            verify(&root, file, &trust, &policy, &opts, &collector)?
        };
        let h = &outcome.header;
        let who = outcome.authenticity.as_ref().map_or_else(
            || "UNAUTHENTICATED (signature not checked)".to_owned(),
            |a| format!("signed by key {}", a.key_id),
        );
        let identity =
            format!("manifest {} created {} on {} ({}), {who}", h.id, h.created, h.host, h.root);
        if !args.output.quiet {
            crate::output::note(&identity);
        }
        target = format!("{target} against {identity}");
        outcome.summary
    };
    let mut summary = summary;
    if let Some(note) = threads_note {
        summary.notes.push(note);
    }
    let report = super::common::build_report(
        "verify",
        vec![target],
        started,
        collector,
        summary,
        ruleset_sha256,
    );
    crate::output::emit(&report, &args.output)?;
    Ok(ExitStatus::from_summary(&report.summary))
}
