//! The command line: one module per verb, each with its clap `Args`, a conversion into the
//! engine's configuration, and `run()`.

pub mod admin;
pub mod agent;
pub mod baseline;
pub mod check;
pub mod common;
pub mod completions;
pub mod config;
pub mod diff;
pub mod enroll;
pub mod hunt;
pub mod intel;
pub mod intel_pull;
pub mod keygen;
pub mod man;
pub mod report;
#[cfg(feature = "scan")]
pub mod rules;
#[cfg(feature = "scan")]
pub mod scan;
#[cfg(feature = "collector")]
pub mod serve;
pub mod verify;

use clap::{Parser, Subcommand};

use crate::exit::ExitStatus;

/// ferret: were we hit, is a backdoor still here, and is it fixed?
#[derive(Debug, Parser)]
#[command(name = "ferret", version, about, long_about = None, disable_version_flag = true)]
pub struct Cli {
    /// Print version (with --verbose: the executable's SHA-256 and the built-in rule set's).
    #[arg(short = 'V', long = "version", global = false)]
    pub version: bool,
    /// With --version: print build identity and hashes.
    #[arg(long, requires = "version")]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Answer per campaign (ProxyLogon, SUNBURST, Pulse and Ivanti Connect Secure, ProxyShell):
    /// AFFECTED, NOT FOUND or UNKNOWN.
    Check(check::CheckArgs),
    /// Hunt logs (EVTX, JSON, syslog, W3C/IIS, Exchange, access, DNS) with Sigma rules.
    Hunt(hunt::HuntArgs),
    /// Run the fleet collector and its dashboard.
    #[cfg(feature = "collector")]
    Serve(serve::ServeArgs),
    /// Not in this build: the host binary has no collector.
    #[cfg(not(feature = "collector"))]
    #[command(hide = true, disable_help_flag = true)]
    Serve {
        /// Whatever was given: refused as a whole.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Enrol this host with a collector.
    Enroll(enroll::EnrollArgs),
    /// Send reports to the collector (spooled ones, or a JSONL file).
    #[command(subcommand)]
    Report(report::ReportCommand),
    /// Run the directives the collector has for this host.
    Agent(agent::AgentArgs),
    /// Administer a collector: organisations, secrets, users, hosts, signed directives.
    Admin(admin::AdminArgs),
    /// Sweep files for known-bad hashes, names and YARA rules.
    #[cfg(feature = "scan")]
    Scan(scan::ScanArgs),
    /// Manage rule sets (compile a bundle).
    #[cfg(feature = "scan")]
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// Create an Ed25519 key pair (minisign format) for signing manifests.
    Keygen(keygen::KeygenArgs),
    /// Record a tree in a (signed) manifest.
    Baseline(baseline::BaselineArgs),
    /// Check a tree against a signed manifest, or packages against dpkg's checksums.
    Verify(verify::VerifyArgs),
    /// Show what changed between two manifests.
    Diff(diff::DiffArgs),
    /// Campaign intel: show what is loaded, pack and sign intel tables, pull a TAXII 2.1 collection.
    #[command(subcommand)]
    Intel(intel::IntelCommand),
    /// Show the configuration file settings in effect and where each came from.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Print a shell completion script (bash, zsh or fish).
    Completions(completions::CompletionsArgs),
    /// Write the manual pages (ferret.1 and one per verb) into a folder.
    #[command(hide = true)]
    Man(man::ManArgs),
}

/// Runs the chosen verb.
pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    if cli.version {
        crate::output::note(&common::version_text(cli.verbose));
        return Ok(ExitStatus::Clean);
    }
    let Some(command) = cli.command else {
        use clap::CommandFactory as _;
        let mut cmd = Cli::command();
        crate::output::note(&cmd.render_help().to_string());
        return Ok(ExitStatus::Failed);
    };
    // The commands that end in a report, whose header names the executable by its SHA-256.
    let reports = match &command {
        Command::Check(_) | Command::Hunt(_) | Command::Verify(_) | Command::Diff(_) => true,
        #[cfg(feature = "scan")]
        Command::Scan(_) => true,
        _ => false,
    };
    if reports {
        common::hash_exe_in_background();
    }
    match command {
        Command::Check(args) => check::run(args),
        Command::Hunt(args) => hunt::run(args),
        #[cfg(feature = "collector")]
        Command::Serve(args) => serve::run(&args),
        #[cfg(not(feature = "collector"))]
        Command::Serve { args: _ } => anyhow::bail!(
            "`serve` is not in this ferret: it is the host build, without the collector. \
             Run `ferret serve` from the full build (the ferret package, or `cargo build` with \
             default features)"
        ),
        Command::Enroll(args) => enroll::run(&args),
        Command::Report(cmd) => report::run(cmd),
        Command::Agent(args) => agent::run(&args),
        Command::Admin(args) => admin::run(&args),
        #[cfg(feature = "scan")]
        Command::Scan(args) => scan::run(&args),
        #[cfg(feature = "scan")]
        Command::Rules(cmd) => rules::run(cmd),
        Command::Keygen(args) => keygen::run(&args),
        Command::Baseline(args) => baseline::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Intel(cmd) => intel::run(cmd),
        Command::Config(cmd) => config::run(&cmd),
        Command::Completions(args) => completions::run(&args),
        Command::Man(args) => man::run(&args),
    }
}
