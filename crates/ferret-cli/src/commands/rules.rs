//! `ferret rules`: compile rule sets into a bundle that survives antivirus quarantine.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use ferret_core::Collector;

use crate::commands::scan::{RuleArgs, load_rules};
use crate::exit::ExitStatus;
use crate::output;

/// `ferret rules` sub-commands.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Compile the rules (built-in pack and --rules) into a bundle that `--rules FILE` loads.
    Compile(CompileArgs),
}

/// Arguments of `ferret rules compile`.
#[derive(Debug, Args)]
pub struct CompileArgs {
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Where to write the bundle.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
}

/// Runs `ferret rules …`.
pub fn run(cmd: RulesCommand) -> anyhow::Result<ExitStatus> {
    match cmd {
        RulesCommand::Compile(args) => compile(&args),
    }
}

fn compile(args: &CompileArgs) -> anyhow::Result<ExitStatus> {
    let collector = Collector::new();
    let mut rules_args = args.rules.clone();
    rules_args.cache_dir = None;
    let rules = load_rules(&rules_args, false, None, &collector)?;
    let (_, problems, _, _) = collector.into_parts();
    for p in &problems {
        output::note(&format!("ferret: {p}"));
    }
    output::check_output_path(&args.output)?;
    let out = output::AtomicFile::create(&args.output)?;
    {
        let mut w = std::io::BufWriter::new(out.file()?);
        ferret_scan::write_bundle(&rules, &mut w)?;
        std::io::Write::flush(&mut w)?;
    }
    out.commit()?;
    let loaded: Vec<String> = rules.stats.loaded.iter().map(|(k, v)| format!("{k} {v}")).collect();
    output::note(&format!(
        "ferret: wrote {} ({}; rule set sha256 {})",
        args.output.display(),
        loaded.join(", "),
        rules.sha256()
    ));
    Ok(if problems.is_empty() { ExitStatus::Clean } else { ExitStatus::Incomplete })
}
