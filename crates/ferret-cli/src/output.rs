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

/// Checks, before any work starts, that the report can be delivered: the output file's
/// folder exists and is writable, and with `--report-to` the host is enrolled and the URL is
/// a collector URL. A run that would fail only at the end fails here, at once (status 2).
pub fn prepare(args: &OutputArgs) -> anyhow::Result<()> {
    use anyhow::Context as _;
    if let Some(path) = &args.output {
        let probe = AtomicOutput::create(path)
            .with_context(|| format!("cannot write the report to {}", path.display()))?;
        drop(probe);
    }
    if let Some(url) = &args.report_to {
        let base = crate::upload::base_url(url);
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            anyhow::bail!("--report-to {url:?} is not a collector URL (https://HOST:PORT)");
        }
        crate::upload::load_config().context("cannot report to the collector")?;
    }
    Ok(())
}

/// An output file written in full beside its destination and renamed over it only when
/// complete, so a reader never sees half a report, bundle or manifest and an interrupted
/// run leaves the previous file as it was. Dropped without [`AtomicOutput::commit`], the
/// temporary file is removed.
pub struct AtomicOutput {
    tmp: io::BufWriter<tempfile::NamedTempFile>,
    path: std::path::PathBuf,
}

impl AtomicOutput {
    /// Creates the temporary file in the destination's folder.
    pub fn create(path: &Path) -> anyhow::Result<AtomicOutput> {
        use anyhow::Context as _;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let name = path
            .file_name()
            .map_or_else(|| "ferret-output".to_owned(), |n| n.to_string_lossy().into_owned());
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(&dir)
            .with_context(|| format!("cannot write in {}", dir.display()))?;
        Ok(AtomicOutput { tmp: io::BufWriter::new(tmp), path: path.to_path_buf() })
    }

    /// Where the bytes go until [`AtomicOutput::commit`].
    pub fn writer(&mut self) -> &mut dyn Write {
        &mut self.tmp
    }

    /// Flushes, syncs and renames the file over its destination.
    pub fn commit(self) -> anyhow::Result<()> {
        use anyhow::Context as _;
        let path = self.path;
        let tmp = self.tmp.into_inner().map_err(io::IntoInnerError::into_error)?;
        tmp.as_file().sync_all()?;
        tmp.persist(&path).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }
}

impl Write for AtomicOutput {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tmp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tmp.flush()
    }
}

/// Renders the report in the chosen format to stdout or the output file.
pub fn emit(report: &Report, args: &OutputArgs) -> anyhow::Result<()> {
    match &args.output {
        Some(path) => {
            let mut file = AtomicOutput::create(path)?;
            render(report, args.format, false, file.writer())?;
            file.commit()?;
        }
        None => {
            let stdout = io::stdout();
            let color = args.format == Format::Text && stdout.is_terminal();
            let mut lock = io::BufWriter::new(stdout.lock());
            render(report, args.format, color, &mut lock)?;
            lock.flush()?;
        }
    }
    if let Some(url) = &args.report_to {
        let outcome = crate::upload::send_or_spool(report, url)?;
        if !args.quiet {
            note(&format!("ferret: {}", crate::commands::report::describe(&outcome)));
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
