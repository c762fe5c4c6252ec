//! The only place in ferret that prints.
//!
//! Reports go to stdout or `--output FILE` in the chosen format; notes, warnings and errors
//! go to stderr. A closed pipe (`ferret scan | head`) ends the run quietly with status 0.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use anyhow::Context as _;

use ferret_report::Report;

use crate::exit::ExitStatus;
use crate::upload::UploadOutcome;

/// Report format (`--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Human-readable, grouped per file, control characters escaped.
    Text,
    /// One JSON record per line (see docs/report-format.md).
    Jsonl,
    /// One row per finding, then per problem.
    Csv,
    /// One self-contained HTML page (inline CSS and SVG; no script, no network).
    Html,
    /// Timesketch JSONL (message, datetime, timestamp_desc and the fields flattened).
    Timesketch,
    /// Elastic Common Schema 8 NDJSON, one document per line.
    Ecs,
    /// OCSF JSON lines: Detection Finding (2004) per finding, Scan Activity for the run.
    Ocsf,
    /// ArcSight CEF, one record per line.
    Cef,
}

/// Output options shared by every verb that produces a report.
#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "Output options")]
pub struct OutputArgs {
    /// Report format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// No progress bar and no notes on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Also send the report to a ferret collector (after `ferret enroll`). An unreachable
    /// collector gets it later: the report is spooled and sent by the next run or
    /// `ferret report send`.
    #[arg(long, value_name = "URL")]
    pub report_to: Option<String>,
    /// Also send every finding, problem and the run summary to a syslog receiver, one
    /// RFC 5424 message each with a CEF record: udp://HOST:PORT or tcp://HOST:PORT.
    #[arg(long, value_name = "udp://HOST:PORT|tcp://HOST:PORT")]
    pub syslog: Option<String>,
}

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

/// Writes bytes to stdout as they are (a generated script, a file's content).
pub fn bytes(data: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(data)?;
    out.flush()
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
        check_output_path(path)
            .with_context(|| format!("cannot write the report to {}", path.display()))?;
    }
    if let Some(url) = &args.report_to {
        let base = crate::upload::base_url(url);
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            anyhow::bail!("--report-to {url:?} is not a collector URL (https://HOST:PORT)");
        }
        let cfg = crate::upload::load_config().context("cannot report to the collector")?;
        crate::upload::enrolled_base(&cfg, Some(url))?;
    }
    if let Some(t) = &args.syslog {
        let target = ferret_report::syslog::Target::parse(t)?;
        syslog_addr(&target).context("cannot send to the syslog receiver")?;
    }
    Ok(())
}

/// The syslog receiver's address, its name resolved by ferret (`crate::resolve`), never by
/// the C library's NSS modules, which the static binary cannot load.
fn syslog_addr(target: &ferret_report::syslog::Target) -> anyhow::Result<std::net::SocketAddr> {
    let (host, port) = target.host_port();
    let ips = crate::resolve::NameResolver::default().lookup(
        host,
        ureq::config::IpFamily::Any,
        Some(std::time::Duration::from_secs(10)),
    )?;
    let ip = ips.first().context("no address found")?;
    Ok(std::net::SocketAddr::new(*ip, port))
}

/// The folder an output file goes to (`.` for a bare name).
pub fn parent_dir(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Checks, before any work, that an output file can be written: its folder exists and
/// takes a new file (one is created beside the destination and removed again), and the
/// path itself is not a folder.
pub fn check_output_path(path: &Path) -> anyhow::Result<()> {
    if is_special(path) {
        // A device or a pipe is opened once, when the report is written: opening a FIFO
        // here and closing it would end its reader's input.
        return Ok(());
    }
    let dir = parent_dir(path);
    let meta = std::fs::metadata(dir).with_context(|| {
        format!("cannot write {}: its folder {} cannot be used", path.display(), dir.display())
    })?;
    if !meta.is_dir() {
        anyhow::bail!("cannot write {}: {} is not a folder", path.display(), dir.display());
    }
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        anyhow::bail!("cannot write {}: it is a folder", path.display());
    }
    drop(AtomicFile::create(path)?);
    Ok(())
}

/// A file written beside its destination under a temporary name and renamed over the
/// destination only when complete ([`AtomicFile::commit`]); dropped before that, the
/// temporary file is removed and the destination is untouched.
///
/// A destination that exists and is neither a regular file nor a folder (`/dev/null`,
/// `/dev/stdout`, a FIFO, a pipe from the shell) is written in place: renaming over it would
/// replace the device or pipe with a regular file.
#[derive(Debug)]
pub struct AtomicFile {
    dest: PathBuf,
    tmp: PathBuf,
    file: Option<std::fs::File>,
}

impl AtomicFile {
    /// Creates `.NAME.tmp-RANDOM` in the destination's folder (new, never following a
    /// symlink).
    #[expect(
        clippy::disallowed_methods,
        reason = "ferret's own output file, chosen by the operator"
    )]
    pub fn create(dest: &Path) -> anyhow::Result<AtomicFile> {
        use std::os::unix::fs::OpenOptionsExt as _;
        if is_special(dest) {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_CLOEXEC)
                .open(dest)
                .with_context(|| format!("cannot write {}", dest.display()))?;
            return Ok(AtomicFile {
                dest: dest.to_path_buf(),
                tmp: PathBuf::new(),
                file: Some(file),
            });
        }
        let name = dest
            .file_name()
            .with_context(|| format!("cannot write {}: no file name", dest.display()))?;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
        let tmp = parent_dir(dest).join(tmp_name);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)
            .with_context(|| format!("cannot write {} (in its folder)", dest.display()))?;
        Ok(AtomicFile { dest: dest.to_path_buf(), tmp, file: Some(file) })
    }

    /// The temporary file's path; `None` for a destination written in place (a device or a
    /// pipe), which cannot be read back.
    pub fn tmp_path(&self) -> Option<&Path> {
        (!self.tmp.as_os_str().is_empty()).then_some(self.tmp.as_path())
    }

    /// The open temporary file.
    pub fn file(&self) -> anyhow::Result<&std::fs::File> {
        self.file.as_ref().context("output file already closed")
    }

    /// Flushes the temporary file to disk and renames it over the destination (then syncs
    /// the folder, so the rename survives a crash).
    #[expect(
        clippy::disallowed_methods,
        reason = "ferret's own output file, chosen by the operator"
    )]
    pub fn commit(mut self) -> anyhow::Result<()> {
        let file = self.file.take().context("output file already closed")?;
        if self.tmp.as_os_str().is_empty() {
            // Written in place (a device or a pipe): nothing to rename.
            return Ok(());
        }
        file.sync_all().with_context(|| format!("cannot write {}", self.tmp.display()))?;
        drop(file);
        std::fs::rename(&self.tmp, &self.dest)
            .with_context(|| format!("cannot replace {}", self.dest.display()))?;
        if let Ok(dir) = std::fs::File::open(parent_dir(&self.dest)) {
            let _ = dir.sync_all();
        }
        self.tmp = PathBuf::new();
        Ok(())
    }
}

impl Drop for AtomicFile {
    #[expect(clippy::disallowed_methods, reason = "removes ferret's own unfinished output")]
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            self.file = None;
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Whether `dest` exists as something other than a regular file or a folder (following
/// symlinks, as `/dev/stdout` is one): a character or block device, a FIFO or a socket.
pub fn is_special(dest: &Path) -> bool {
    std::fs::metadata(dest).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// What an upload did, in one sentence.
pub fn describe_upload(outcome: &UploadOutcome) -> String {
    match outcome {
        UploadOutcome::Sent { run_id, duplicate, spool_sent } => format!(
            "report {run_id} {}{}",
            if *duplicate { "was already at the collector" } else { "sent" },
            if *spool_sent > 0 {
                format!(" (and {spool_sent} spooled report(s))")
            } else {
                String::new()
            }
        ),
        UploadOutcome::Spooled { path, reason, .. } => {
            format!("collector unreachable ({reason}); report spooled as {}", path.display())
        }
    }
}

/// Renders the report in the chosen format to stdout or the output file.
pub fn emit(report: &Report, args: &OutputArgs) -> anyhow::Result<()> {
    match &args.output {
        Some(path) => {
            let file = AtomicFile::create(path)?;
            {
                let mut w = io::BufWriter::new(file.file()?);
                render(report, args.format, false, &mut w)?;
                w.flush()?;
            }
            file.commit()?;
        }
        None => {
            let stdout = io::stdout();
            let color = args.format == ReportFormat::Text && stdout.is_terminal();
            let mut lock = io::BufWriter::new(stdout.lock());
            render(report, args.format, color, &mut lock)?;
            lock.flush()?;
        }
    }
    if let Some(url) = &args.report_to {
        let outcome = crate::upload::send_or_spool(report, url)?;
        if !args.quiet {
            note(&format!("ferret: {}", describe_upload(&outcome)));
        }
    }
    if let Some(t) = &args.syslog {
        let target = ferret_report::syslog::Target::parse(t)?;
        let addr = syslog_addr(&target).context("cannot send to the syslog receiver")?;
        let sent = ferret_report::syslog::send_to(report, &target, addr, std::process::id())?;
        if !args.quiet {
            note(&format!("ferret: {sent} syslog message(s) sent to {target}"));
        }
    }
    Ok(())
}

fn render(
    report: &Report,
    format: ReportFormat,
    color: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        ReportFormat::Text => ferret_report::text::write(
            report,
            ferret_report::text::TextOptions { color, ..Default::default() },
            out,
        ),
        ReportFormat::Jsonl => ferret_report::jsonl::write(report, out),
        ReportFormat::Csv => ferret_report::csv::write(report, out),
        ReportFormat::Html => ferret_report::html::write(report, out),
        ReportFormat::Timesketch => ferret_report::timesketch::write(report, out),
        ReportFormat::Ecs => ferret_report::ecs::write(report, out),
        ReportFormat::Ocsf => ferret_report::ocsf::write(report, out),
        ReportFormat::Cef => ferret_report::cef::write(report, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn atomic_file_dropped_leaves_nothing_and_keeps_the_destination() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("m.manifest");
        #[expect(clippy::disallowed_methods, reason = "test fixture")]
        std::fs::write(&dest, b"old").unwrap();
        let f = AtomicFile::create(&dest).unwrap();
        std::io::Write::write_all(&mut f.file().unwrap(), b"new, unfinished").unwrap();
        assert_eq!(names(d.path()).len(), 2);
        drop(f);
        assert_eq!(names(d.path()), ["m.manifest"]);
        assert_eq!(std::fs::read(&dest).unwrap(), b"old");
    }

    #[test]
    fn atomic_file_commit_replaces_the_destination() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("m.manifest");
        let f = AtomicFile::create(&dest).unwrap();
        std::io::Write::write_all(&mut f.file().unwrap(), b"new").unwrap();
        f.commit().unwrap();
        assert_eq!(names(d.path()), ["m.manifest"]);
        assert_eq!(std::fs::read(&dest).unwrap(), b"new");
    }

    #[test]
    fn output_path_checked_before_work() {
        let d = tempfile::tempdir().unwrap();
        assert!(check_output_path(&d.path().join("no/such/dir/m")).is_err());
        assert!(check_output_path(d.path()).is_err(), "a folder is not an output file");
        assert!(check_output_path(&d.path().join("m")).is_ok());
        assert!(names(d.path()).is_empty(), "the check leaves nothing behind");
    }
}
