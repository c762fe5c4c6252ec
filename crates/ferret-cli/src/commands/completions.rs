//! `ferret completions SHELL`: the shell completion script for bash, zsh or fish, generated
//! from the same clap definitions that parse the command line.

use clap::{Args, CommandFactory as _, ValueEnum};

use crate::exit::ExitStatus;

/// The shells ferret writes completions for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// bash (`source <(ferret completions bash)`, or a file in bash-completion's folder).
    Bash,
    /// zsh (a file named `_ferret` on `$fpath`).
    Zsh,
    /// fish (`~/.config/fish/completions/ferret.fish`).
    Fish,
}

/// Arguments of `ferret completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the completion script for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The completion script for `shell`.
pub fn script(shell: Shell) -> Vec<u8> {
    let mut cmd = super::Cli::command();
    let mut out = Vec::new();
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(shell, &mut cmd, "ferret", &mut out);
    out
}

/// Runs `ferret completions`: the script goes to standard output.
pub fn run(args: &CompletionsArgs) -> anyhow::Result<ExitStatus> {
    crate::output::bytes(&script(args.shell))?;
    Ok(ExitStatus::Clean)
}
