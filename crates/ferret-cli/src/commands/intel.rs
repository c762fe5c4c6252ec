//! `ferret intel`: what campaign intel is loaded (`show`), packing and signing a folder of
//! `intel/` tables into one file (`pack`), and the `--intel PACK --intel-key KEY` options that
//! make `check`, `scan` and `hunt` run on a verified pack instead of the built-in tables; `pull` fetches STIX 2.1
//! objects from a TAXII 2.1 server into a folder that `--rules` reads.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use ferret_checks::intel::CheckIntel;
use ferret_intel::Intel;
use ferret_intel::pack::PackHeader;
use ferret_report::IntelInfo;

use crate::commands::baseline::read_input;
use crate::exit::ExitStatus;
use crate::output;

use super::intel_pull;

/// `ferret intel` sub-commands.
#[derive(Debug, Subcommand)]
pub enum IntelCommand {
    /// Show the loaded intel: tables and rows per campaign, sources and dates, identity.
    Show(ShowArgs),
    /// Pack a folder of intel tables (`CAMPAIGN/NAME.tsv`) into one signed file.
    Pack(PackArgs),
    /// Fetch a TAXII 2.1 collection's objects into a folder of STIX 2.1 bundles (resumable).
    Pull(intel_pull::PullArgs),
}

/// `--intel` and `--intel-key`, shared by the verbs that read campaign intel.
#[derive(Debug, Clone, Default, Args)]
pub struct IntelArgs {
    /// A signed intel pack (made by `ferret intel pack`) to use instead of the built-in
    /// intel. It must verify with --intel-key, or with `intel.pub` in ferret's configuration
    /// folder.
    #[arg(long = "intel", value_name = "PACK")]
    pub intel: Option<PathBuf>,
    /// The public key (minisign) that signs intel packs.
    #[arg(long = "intel-key", value_name = "KEY.pub", requires = "intel")]
    pub intel_key: Option<PathBuf>,
}

/// Arguments of `ferret intel show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub intel: IntelArgs,
}

/// Arguments of `ferret intel pack`.
#[derive(Debug, Args)]
pub struct PackArgs {
    /// The folder holding the tables (`CAMPAIGN/NAME.tsv`, like the repository's `intel/`).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The pack to write.
    #[arg(short = 'o', long = "output", value_name = "PACK")]
    pub output: PathBuf,
    /// The secret key (made by `ferret keygen`) to sign with.
    #[arg(long = "sign", value_name = "KEY")]
    pub sign: PathBuf,
}

/// The intel a run uses and what the report says of it.
pub struct Loaded {
    /// The parsed knowledge.
    pub intel: Arc<CheckIntel>,
    /// The report's `tool.intel`.
    pub info: IntelInfo,
    /// Built-in tables the pack does not carry (their detectors have nothing to look for).
    pub missing: Vec<String>,
}

/// The pinned intel key: `--intel-key`, else `intel.pub` in the configuration folder.
fn pinned_key(args: &IntelArgs) -> anyhow::Result<(PathBuf, String)> {
    let path = match &args.intel_key {
        Some(p) => p.clone(),
        None => {
            let p = crate::upload::config_dir()?.join("intel.pub");
            if !p.is_file() {
                bail!(
                    "an intel pack needs the key that signed it: --intel-key KEY.pub, or {} \
                     (none there)",
                    p.display()
                );
            }
            p
        }
    };
    let text = read_input(&path)?;
    Ok((path, text))
}

/// The built-in intel, or the pack `--intel` names once its signature held. An unsigned,
/// tampered or wrongly signed pack is an error (the run does not start).
pub fn load(args: &IntelArgs) -> anyhow::Result<Loaded> {
    let builtin = CheckIntel::builtin();
    let Some(pack_path) = &args.intel else {
        let info = IntelInfo {
            origin: "builtin".into(),
            sha256: builtin.sha256().to_owned(),
            ..IntelInfo::default()
        };
        return Ok(Loaded { intel: builtin, info, missing: Vec::new() });
    };
    let (key_path, key) = pinned_key(args)?;
    let bytes = read_pack(pack_path)?;
    let opened = ferret_integrity::intel_pack::open(&key, &bytes).with_context(|| {
        format!(
            "refusing the intel pack {} (checked with {})",
            pack_path.display(),
            key_path.display()
        )
    })?;
    let sha256 = opened.intel.sha256().to_owned();
    let warning = older_than_builtin(&opened.header, &opened.intel, builtin.intel());
    let missing = builtin
        .intel()
        .tables()
        .filter(|t| opened.intel.table(&t.path).is_none())
        .map(|t| t.path.clone())
        .collect();
    let intel = CheckIntel::from_intel(Arc::new(opened.intel))
        .with_context(|| format!("refusing the intel pack {}", pack_path.display()))?;
    let info = IntelInfo {
        origin: "pack".into(),
        sha256,
        pack_id: Some(opened.header.id),
        pack_sha256: Some(opened.sha256),
        created: Some(opened.header.created),
        key_id: Some(opened.key_id),
        warning,
    };
    Ok(Loaded { intel: Arc::new(intel), info, missing })
}

/// [`load`] for a verb that examines a host: the older-pack warning is also said on stderr
/// before the run starts.
pub fn load_for_run(args: &IntelArgs) -> anyhow::Result<Loaded> {
    let loaded = load(args)?;
    if let Some(w) = &loaded.info.warning {
        output::note(&format!("ferret: warning: {w}"));
    }
    Ok(loaded)
}

impl Loaded {
    /// Records the intel in `report`: `tool.intel`, and for a pack summary notes naming it,
    /// its warning when it is older than the built-in intel, and the built-in tables it lacks.
    pub fn record(self, report: &mut ferret_report::Report) {
        let info = self.info;
        if let (Some(id), Some(created), Some(key)) = (&info.pack_id, &info.created, &info.key_id) {
            report.summary.notes.push(format!(
                "intel: pack {id} created {created}, signed by key {key} (intel sha256 {})",
                info.sha256
            ));
        }
        if let Some(w) = &info.warning {
            report.summary.notes.push(format!("warning: {w}"));
        }
        if !self.missing.is_empty() {
            report.summary.notes.push(format!(
                "the intel pack has no table {}: the detectors reading them had nothing to look for",
                self.missing.join(", ")
            ));
        }
        report.tool.intel = Some(info);
    }
}

/// The warning for a pack older than the built-in intel: made before the newest built-in
/// row was published, or whose newest row is older than it.
fn older_than_builtin(header: &PackHeader, pack: &Intel, builtin: &Intel) -> Option<String> {
    let ours = builtin.newest_published()?;
    let made = header.created.get(..10).unwrap_or(&header.created);
    let theirs = pack.newest_published().unwrap_or("");
    (made < ours || theirs < ours).then(|| {
        format!(
            "the intel pack (created {}, newest indicator published {}) is older than the \
             intel built into this ferret (newest indicator published {ours})",
            header.created,
            if theirs.is_empty() { "never" } else { theirs }
        )
    })
}

#[expect(clippy::disallowed_methods, reason = "operator-supplied input, not an examined file")]
fn read_pack(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read as _;
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut bytes = Vec::new();
    f.take(ferret_intel::pack::MAX_PACK + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(bytes)
}

/// Runs `ferret intel …`.
pub fn run(cmd: IntelCommand) -> anyhow::Result<ExitStatus> {
    match cmd {
        IntelCommand::Show(args) => show(&args),
        IntelCommand::Pack(args) => pack(&args),
        IntelCommand::Pull(args) => intel_pull::run(&args),
    }
}

fn show(args: &ShowArgs) -> anyhow::Result<ExitStatus> {
    let loaded = load(&args.intel)?;
    let info = &loaded.info;
    let intel = loaded.intel.intel();
    let mut lines =
        vec![format!("origin: {}", info.origin), format!("intel sha256: {}", info.sha256)];
    if let (Some(id), Some(sha), Some(created), Some(key)) =
        (&info.pack_id, &info.pack_sha256, &info.created, &info.key_id)
    {
        lines.push(format!("pack sha256: {sha}"));
        lines.push(format!("pack id: {id}"));
        lines.push(format!("created: {created}"));
        lines.push(format!("signed by key: {key}"));
    }
    if let Some(w) = &info.warning {
        lines.push(format!("warning: {w}"));
    }
    for m in &loaded.missing {
        lines.push(format!("not in the pack: {m} (its detectors have nothing to look for)"));
    }
    lines.push(format!(
        "newest indicator published: {}",
        intel.newest_published().unwrap_or("none")
    ));
    let mut campaign = "";
    for t in intel.tables() {
        let c = t.path.split('/').next().unwrap_or("");
        if c != campaign {
            campaign = c;
            let (tables, rows) = intel
                .tables()
                .filter(|x| x.path.split('/').next() == Some(c))
                .fold((0, 0), |(n, r), x| (n + 1, r + x.rows.len()));
            lines.push(format!("{c}: {tables} tables, {rows} rows"));
        }
        lines.push(format!("  {}: {} rows", t.path, t.rows.len()));
        let mut sources: std::collections::BTreeMap<&str, (usize, &str)> =
            std::collections::BTreeMap::new();
        for r in &t.rows {
            let title = r.source().split(" <").next().unwrap_or("");
            let e = sources.entry(title).or_insert((0, r.published()));
            e.0 += 1;
            e.1 = e.1.max(r.published());
        }
        for (title, (n, date)) in sources {
            lines.push(format!("    {date}  {title} ({n})"));
        }
    }
    for l in lines {
        output::line(&l)?;
    }
    Ok(ExitStatus::Clean)
}

/// The tables under `dir`: `CAMPAIGN/NAME.tsv`, sorted by path.
fn collect_tables(dir: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let campaigns =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for c in campaigns {
        let c = c?;
        if !c.file_type()?.is_dir() {
            continue;
        }
        for t in std::fs::read_dir(c.path())? {
            let t = t?;
            let name = t.file_name().to_string_lossy().into_owned();
            if !t.file_type()?.is_file() || t.path().extension().is_none_or(|e| e != "tsv") {
                continue;
            }
            let rel = format!("{}/{name}", c.file_name().to_string_lossy());
            out.push((rel, read_input(&t.path())?));
        }
    }
    out.sort();
    if out.is_empty() {
        bail!("no table (CAMPAIGN/NAME.tsv) under {}", dir.display());
    }
    Ok(out)
}

fn pack(args: &PackArgs) -> anyhow::Result<ExitStatus> {
    let tables = collect_tables(&args.dir)?;
    let secret = read_input(&args.sign)?;
    output::check_output_path(&args.output)?;
    let header = PackHeader {
        id: uuid::Uuid::new_v4().simple().to_string(),
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    let (bytes, key_id) = ferret_integrity::intel_pack::build(&secret, &header, &tables)
        .with_context(|| format!("cannot pack {}", args.dir.display()))?;
    let out = output::AtomicFile::create(&args.output)?;
    {
        use std::io::Write as _;
        let mut f = out.file()?;
        f.write_all(&bytes)?;
        f.flush()?;
    }
    out.commit()?;
    let sha = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    output::note(&format!(
        "ferret: wrote {} ({} tables; pack id {}, created {}, signed by key {key_id}, sha256 {sha})",
        args.output.display(),
        tables.len(),
        header.id,
        header.created
    ));
    Ok(ExitStatus::Clean)
}
