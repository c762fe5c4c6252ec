//! `ferret man --out DIR` (hidden): the manual pages, `ferret.1` and one page per verb and
//! sub-verb (`ferret-scan.1`, `ferret-report-send.1`, …), rendered with clap_mangen from the
//! clap definitions. `cargo xtask man` keeps the committed copies in `docs/man/` fresh.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, CommandFactory as _};

use crate::exit::ExitStatus;

/// Arguments of `ferret man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The folder to write the pages into (it must exist; pages in it are replaced).
    #[arg(long = "out", value_name = "DIR")]
    pub out: PathBuf,
}

/// Every manual page as (file name, roff text), `ferret.1` first, then the verbs' pages in
/// the order of the command line's definition.
pub fn pages() -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    fn walk(cmd: &clap::Command, pages: &mut Vec<(String, Vec<u8>)>) -> anyhow::Result<()> {
        let man = clap_mangen::Man::new(cmd.clone())
            .manual("ferret manual")
            .source(format!("ferret {}", env!("CARGO_PKG_VERSION")));
        let mut text = Vec::new();
        man.render(&mut text)?;
        pages.push((man.get_filename(), text));
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
            walk(sub, pages)?;
        }
        Ok(())
    }
    let mut cmd = super::Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut pages = Vec::new();
    walk(&cmd, &mut pages)?;
    Ok(pages)
}

/// Runs `ferret man`: writes every page into `--out`, each replaced only once complete.
pub fn run(args: &ManArgs) -> anyhow::Result<ExitStatus> {
    anyhow::ensure!(args.out.is_dir(), "{} is not a folder", args.out.display());
    for (name, text) in pages()? {
        let dest = args.out.join(&name);
        let file = crate::output::AtomicFile::create(&dest)?;
        file.file()?
            .write_all(&text)
            .with_context(|| format!("cannot write {}", dest.display()))?;
        file.commit()?;
    }
    Ok(ExitStatus::Clean)
}
