//! The only place in ferret that prints.
//!
//! Reports go to stdout or `--output FILE` in the chosen format; notes, warnings and errors
//! go to stderr. A closed pipe (`ferret scan | head`) ends the run quietly with status 0.

use std::io::{self, IsTerminal, Write};
use std::path::Path;

use ferret_report::Report;

use crate::commands::common::{Format, OutputArgs};
use crate::exit::ExitStatus;

/// Prints an error chain and a hint to stderr; returns status 2 (or 0 for a closed pipe).
pub fn report_error(err: &anyhow::Error) -> ExitStatus {
    if err.chain().any(|c| {
        c.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    }) {
        return ExitStatus::Clean;
    }
    let mut msg = format!("ferret: error: {err}");
    for cause in err.chain().skip(1) {
        msg.push_str(&format!("\n  caused by: {cause}"));
    }
    if let Some(hint) = hint_for(err) {
        msg.push_str(&format!("\nhint: {hint}"));
    }
    note(&msg);
    ExitStatus::Failed
}

fn hint_for(err: &anyhow::Error) -> Option<&'static str> {
    let text = format!("{err:#}");
    if text.contains("permission denied") || text.contains("Permission denied") {
        Some("run ferret as root to examine every file")
    } else {
        None
    }
}

/// Writes one line to stderr (notes and warnings; never the report).
pub fn note(msg: &str) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{msg}");
}

/// Writes one line to stdout (the result of a verb that produces no report).
pub fn line(msg: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{msg}")
}

/// Whether stderr is a terminal (progress bars, colours).
pub fn stderr_is_tty() -> bool {
    io::stderr().is_terminal()
}

/// Renders the report in the chosen format to stdout or the output file.
pub fn emit(report: &Report, args: &OutputArgs) -> anyhow::Result<()> {
    match &args.output {
        Some(path) => {
            let mut file = create_output(path)?;
            render(report, args.format, false, &mut file)?;
            file.flush()?;
        }
        None => {
            let stdout = io::stdout();
            let color = args.format == Format::Text && stdout.is_terminal();
            let mut lock = io::BufWriter::new(stdout.lock());
            render(report, args.format, color, &mut lock)?;
            lock.flush()?;
        }
    }
    Ok(())
}

fn render(report: &Report, format: Format, color: bool, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Text => ferret_report::text::write(
            report,
            ferret_report::text::TextOptions { color, ..Default::default() },
            out,
        ),
        Format::Jsonl => ferret_report::jsonl::write(report, out),
        Format::Csv => ferret_report::csv::write(report, out),
        Format::Html => ferret_report::html::write(report, out),
    }
}

/// Creates a file ferret writes its own output to (a report, a bundle, a key). Refuses to
/// follow a symlink at the destination.
#[expect(clippy::disallowed_methods, reason = "ferret's own output file, chosen by the operator")]
pub fn create_output(path: &Path) -> anyhow::Result<io::BufWriter<std::fs::File>> {
    use anyhow::Context as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.custom_flags(libc::O_NOFOLLOW);
    let file = opts.open(path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(io::BufWriter::new(file))
}
