//! Sending reports to a collector: `--report-to URL` on every verb, `ferret report send`,
//! `ferret enroll` and the agent.
//!
//! A report is sent as gzip-compressed JSONL to `POST /api/v1/reports` with the host's token
//! (from `ferret enroll`). Its run id makes a resend harmless: the collector stores a run
//! once per host and answers a replay with the same id. When the collector cannot be reached
//! (or answers 5xx) after a few tries with backoff, the compressed body is written to the
//! spool directory; every later upload first sends what is spooled, oldest first, and removes
//! a spooled file only once the collector has acknowledged it. So nothing is lost and, thanks
//! to the run id, nothing is counted twice. A spooled file the collector refuses as malformed
//! (400/413) is moved to `spool/rejected/` and kept.
//!
//! Locations: the configuration (`agent.json`, mode 0600: collector URL, host token, the
//! organisation's pinned directive public key, and the CA pinned with `ferret enroll --ca`,
//! which then is the only root trusted for the collector by every verb) is in
//! `$FERRET_CONFIG_DIR`, else `$XDG_CONFIG_HOME/ferret`, else `~/.config/ferret`; the spool
//! in `$FERRET_SPOOL_DIR`, else `$XDG_STATE_HOME/ferret/spool`, else
//! `~/.local/state/ferret/spool`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use ferret_report::Report;
use serde::{Deserialize, Serialize};

/// Environment variable naming the directive a run answers (set by `ferret agent`).
pub const DIRECTIVE_ENV: &str = "FERRET_DIRECTIVE";

/// What [`send_or_spool`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UploadOutcome {
    /// The collector acknowledged the report.
    Sent {
        /// The report's run id.
        run_id: String,
        /// True when the collector already had it.
        duplicate: bool,
        /// Spooled reports sent before it.
        spool_sent: usize,
    },
    /// The collector could not be reached; the report waits in the spool.
    Spooled {
        /// The spooled file.
        path: PathBuf,
        /// Why it was not sent.
        reason: String,
        /// Spooled reports sent before the collector became unreachable.
        spool_sent: usize,
    },
}

/// The host's enrolment, written by `ferret enroll`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AgentConfig {
    /// The collector's base URL.
    pub url: String,
    /// The host's token.
    pub token: String,
    /// The host's id at the collector.
    pub host_id: i64,
    /// The host's organisation at the collector (absent in enrolments made before signed
    /// directives): a directive must name it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<i64>,
    /// The organisation's directive public key (minisign text), pinned at enrolment or
    /// with `ferret enroll --directive-key`. Without it the agent runs no directive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directive_key: Option<String>,
    /// The CA certificate(s) (PEM) pinned with `ferret enroll --ca`: the only roots trusted
    /// for the collector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from)
}

/// The configuration directory.
pub fn config_dir() -> anyhow::Result<PathBuf> {
    if let Some(d) = std::env::var_os("FERRET_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d).join("ferret"));
    }
    Ok(home().context("no HOME: set FERRET_CONFIG_DIR")?.join(".config").join("ferret"))
}

/// The spool directory.
pub fn spool_dir() -> anyhow::Result<PathBuf> {
    if let Some(d) = std::env::var_os("FERRET_SPOOL_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d).join("ferret").join("spool"));
    }
    Ok(home()
        .context("no HOME: set FERRET_SPOOL_DIR")?
        .join(".local")
        .join("state")
        .join("ferret")
        .join("spool"))
}

fn config_path() -> anyhow::Result<PathBuf> {
    Ok(config_dir()?.join("agent.json"))
}

/// Reads the enrolment written by `ferret enroll`.
pub fn load_config() -> anyhow::Result<AgentConfig> {
    let path = config_path()?;
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!("not enrolled ({} is missing): run `ferret enroll URL --secret S`", path.display())
    })?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid", path.display()))
}

/// Writes a file ferret owns (configuration, spool) with mode 0600, atomically: a temporary
/// file in the same directory, then a rename over the destination.
#[expect(
    clippy::disallowed_methods,
    reason = "ferret's own configuration and spool files, never the examined system"
)]
fn write_private_impl(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt as _;
    let dir = path.parent().context("path has no directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    let mut f = opts.open(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(data)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Writes a file ferret owns (mode 0600, atomically).
pub fn write_owned_file(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    write_private_impl(path, data)
}

/// Removes a file ferret owns (a verified directive bundle once its run is over).
pub fn remove_owned_file(path: &Path) -> anyhow::Result<()> {
    remove_spooled(path)
}

fn write_private(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    write_private_impl(path, data)
}

#[expect(clippy::disallowed_methods, reason = "removes a spooled report of ferret's own once sent")]
fn remove_spooled(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

#[expect(
    clippy::disallowed_methods,
    reason = "moves a refused spooled report of ferret's own aside"
)]
fn reject_spooled(path: &Path) -> anyhow::Result<PathBuf> {
    let dir = path.parent().context("no spool dir")?.join("rejected");
    std::fs::create_dir_all(&dir)?;
    let dest = dir.join(path.file_name().context("no file name")?);
    std::fs::rename(path, &dest)?;
    Ok(dest)
}

/// Saves the enrolment (mode 0600).
pub fn save_config(cfg: &AgentConfig) -> anyhow::Result<PathBuf> {
    let path = config_path()?;
    write_private(&path, serde_json::to_string_pretty(cfg)?.as_bytes())?;
    Ok(path)
}

/// The collector's base URL from what the user gave (a trailing `/` or a full
/// `/api/v1/reports` path are accepted).
pub fn base_url(url: &str) -> String {
    let u = url.trim().trim_end_matches('/');
    u.strip_suffix("/api/v1/reports").unwrap_or(u).to_owned()
}

/// The collector the host token may go to: the one this host enrolled with. Another URL
/// (`--report-to`, `report send --url`, `ferret agent URL`) is refused before anything is
/// sent, so a mistyped or planted URL never receives the token.
pub fn enrolled_base(cfg: &AgentConfig, requested: Option<&str>) -> anyhow::Result<String> {
    let enrolled = base_url(&cfg.url);
    match requested {
        Some(u) if !base_url(u).eq_ignore_ascii_case(&enrolled) => bail!(
            "{u:?} is not the collector this host enrolled with ({enrolled}): the host token is \
             sent only there (to change collector, enrol again with `ferret enroll URL --secret …`)"
        ),
        _ => Ok(enrolled),
    }
}

/// An HTTP client for a collector. With `ca_pem`, rustls trusts only the certificates in
/// it (a private CA); otherwise the WebPKI roots.
pub(crate) fn http_agent(ca_pem: Option<&str>) -> anyhow::Result<ureq::Agent> {
    let mut b = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .timeout_connect(Some(Duration::from_secs(10)));
    if let Some(pem) = ca_pem {
        let mut certs = Vec::new();
        for item in ureq::tls::parse_pem(pem.as_bytes()) {
            if let ureq::tls::PemItem::Certificate(c) = item.context("the CA file is not PEM")? {
                certs.push(c);
            }
        }
        if certs.is_empty() {
            bail!("the CA file holds no certificate");
        }
        b = b.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
                .build(),
        );
    }
    // Names are resolved by ferret itself, never by the C library (see `resolve`).
    Ok(ureq::Agent::with_parts(
        b.build(),
        ureq::unversioned::transport::DefaultConnector::default(),
        crate::resolve::NameResolver::default(),
    ))
}

/// The HTTP client for the enrolled collector: its pinned CA, if any.
pub(crate) fn agent() -> anyhow::Result<ureq::Agent> {
    let ca = load_config().ok().and_then(|c| c.ca_pem);
    http_agent(ca.as_deref())
}

/// How an attempt to send went.
enum Attempt {
    Ok {
        duplicate: bool,
    },
    /// Worth retrying later (unreachable, 5xx, 429).
    Retry(String),
    /// Not worth retrying: the collector refused this body.
    Refused(u16, String),
}

fn post_report(
    agent: &ureq::Agent,
    base: &str,
    token: &str,
    gz: &[u8],
    directive: Option<&str>,
) -> Attempt {
    let url = format!("{base}/api/v1/reports");
    let auth = format!("Bearer {token}");
    let mut req = agent
        .post(&url)
        .header("authorization", &auth)
        .header("content-type", "application/x-ndjson")
        .header("content-encoding", "gzip");
    if let Some(d) = directive {
        req = req.header("x-ferret-directive", d);
    }
    match req.send(gz) {
        Err(e) => Attempt::Retry(format!("collector unreachable: {e}")),
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let body = resp.body_mut().read_to_string().unwrap_or_default();
            let message = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
                .unwrap_or(body);
            match status {
                200..=299 => {
                    let duplicate = serde_json::from_str::<serde_json::Value>(&message)
                        .ok()
                        .and_then(|v| v.get("duplicate").and_then(serde_json::Value::as_bool))
                        .unwrap_or(false);
                    Attempt::Ok { duplicate }
                }
                429 | 500..=599 => {
                    Attempt::Retry(format!("collector answered {status}: {message}"))
                }
                _ => Attempt::Refused(status, message),
            }
        }
    }
}

fn backoff_base() -> Duration {
    let ms =
        std::env::var("FERRET_UPLOAD_BACKOFF_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
    Duration::from_millis(ms)
}

/// Tries up to 4 times, waiting 1, 2, 4 × the backoff base between tries.
fn post_with_retry(
    agent: &ureq::Agent,
    base: &str,
    token: &str,
    gz: &[u8],
    directive: Option<&str>,
) -> Attempt {
    let mut wait = backoff_base();
    let mut last = Attempt::Retry(String::new());
    for attempt in 0..4 {
        if attempt > 0 {
            std::thread::sleep(wait);
            wait *= 2;
        }
        last = post_report(agent, base, token, gz, directive);
        if !matches!(last, Attempt::Retry(_)) {
            return last;
        }
    }
    last
}

fn gzip(data: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data)?;
    Ok(e.finish()?)
}

/// A spool file name for a run: `<run id>[.d<directive>].jsonl.gz`, the run id reduced to
/// safe characters.
fn spool_name(run_id: &str, directive: Option<&str>) -> String {
    let safe: String = run_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .take(100)
        .collect();
    let millis = chrono::Utc::now().timestamp_millis();
    match directive {
        Some(d) if d.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{millis}-{safe}.d{d}.jsonl.gz")
        }
        _ => format!("{millis}-{safe}.jsonl.gz"),
    }
}

fn spooled_directive(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?.strip_suffix(".jsonl.gz")?;
    let (_, d) = name.rsplit_once(".d")?;
    d.bytes().all(|b| b.is_ascii_digit()).then(|| d.to_owned())
}

/// What sending the spool did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpoolResult {
    /// Reports the collector acknowledged (and were removed from the spool).
    pub sent: usize,
    /// Reports still waiting.
    pub left: usize,
    /// Reports the collector refused (moved to `rejected/`).
    pub rejected: usize,
    /// Why sending stopped early, if it did.
    pub stopped: Option<String>,
}

/// Sends every spooled report, oldest first; stops at the first one the collector cannot
/// take now.
pub fn send_spool(base: &str, token: &str) -> anyhow::Result<SpoolResult> {
    let dir = spool_dir()?;
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.to_string_lossy().ends_with(".jsonl.gz"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    files.sort();
    let agent = agent()?;
    let mut result = SpoolResult::default();
    let total = files.len();
    for (i, path) in files.iter().enumerate() {
        let Ok(gz) = std::fs::read(path) else { continue };
        match post_report(&agent, base, token, &gz, spooled_directive(path).as_deref()) {
            Attempt::Ok { .. } => {
                remove_spooled(path)?;
                result.sent += 1;
            }
            Attempt::Refused(401, m) => {
                result.left = total - i;
                result.stopped = Some(format!("collector refused the host token: {m}"));
                break;
            }
            Attempt::Refused(status, m) => {
                let dest = reject_spooled(path)?;
                result.rejected += 1;
                result.stopped.get_or_insert(format!(
                    "collector refused {} ({status}: {m}); kept as {}",
                    path.display(),
                    dest.display()
                ));
            }
            Attempt::Retry(m) => {
                result.left = total - i;
                result.stopped = Some(m);
                break;
            }
        }
    }
    Ok(result)
}

/// Sends a report to the collector at `url` (spooled reports first). Unreachable → the
/// report is spooled and `Ok(Spooled)`; refused (400, 401, 413) → `Err`.
pub fn send_or_spool(report: &Report, url: &str) -> anyhow::Result<UploadOutcome> {
    let cfg = load_config()?;
    let base = enrolled_base(&cfg, Some(url))?;
    let mut body = Vec::new();
    ferret_report::jsonl::write(report, &mut body)?;
    let gz = gzip(&body)?;
    let directive = std::env::var(DIRECTIVE_ENV).ok().filter(|d| !d.is_empty());
    upload_gz(&cfg, &base, &report.run_id, &gz, directive.as_deref())
}

/// Uploads an already-compressed report body (spool first, then it, spooling on failure).
pub fn upload_gz(
    cfg: &AgentConfig,
    base: &str,
    run_id: &str,
    gz: &[u8],
    directive: Option<&str>,
) -> anyhow::Result<UploadOutcome> {
    let spool = send_spool(base, &cfg.token)?;
    let attempt = if spool.left > 0 {
        // The collector is down right now: do not wait for it again.
        Attempt::Retry(spool.stopped.unwrap_or_default())
    } else {
        post_with_retry(&agent()?, base, &cfg.token, gz, directive)
    };
    match attempt {
        Attempt::Ok { duplicate } => {
            Ok(UploadOutcome::Sent { run_id: run_id.to_owned(), duplicate, spool_sent: spool.sent })
        }
        Attempt::Retry(reason) => {
            let path = spool_dir()?.join(spool_name(run_id, directive));
            write_private(&path, gz)?;
            Ok(UploadOutcome::Spooled { path, reason, spool_sent: spool.sent })
        }
        Attempt::Refused(status, m) => bail!("collector refused the report ({status}): {m}"),
    }
}

/// What the collector answered to an enrolment.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// The new configuration (no directive key pinned yet; the CA given, if any).
    pub config: AgentConfig,
    /// The directive public key the collector advertises for the organisation, if any.
    pub advertised_key: Option<String>,
}

/// `ferret enroll`: trades the enrolment secret for a host token (over `ca_pem` only, when
/// given). The caller decides which directive key to pin and saves the configuration.
pub fn enroll(
    url: &str,
    secret: &str,
    host: &str,
    ca_pem: Option<String>,
) -> anyhow::Result<Enrolment> {
    let base = base_url(url);
    let body = serde_json::json!({ "secret": secret, "host": host }).to_string();
    let mut resp = http_agent(ca_pem.as_deref())?
        .post(&format!("{base}/api/v1/enroll"))
        .header("content-type", "application/json")
        .send(body.as_bytes())
        .with_context(|| format!("cannot reach the collector at {base}"))?;
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    if status != 201 {
        bail!("enrolment refused ({status}): {text}");
    }
    let v: serde_json::Value =
        serde_json::from_str(&text).context("collector answer is not json")?;
    let config = AgentConfig {
        url: base,
        token: v["token"].as_str().context("no token in the answer")?.to_owned(),
        host_id: v["host_id"].as_i64().unwrap_or_default(),
        org_id: v["org_id"].as_i64(),
        directive_key: None,
        ca_pem,
    };
    let advertised_key = v["directive_key"].as_str().map(str::to_owned);
    Ok(Enrolment { config, advertised_key })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_accepts_several_spellings() {
        assert_eq!(base_url("https://c:8443/"), "https://c:8443");
        assert_eq!(base_url("https://c:8443/api/v1/reports"), "https://c:8443");
    }

    #[test]
    fn spool_names_are_safe_and_carry_the_directive() {
        let n = spool_name("../../etc/passwd", Some("12"));
        assert!(!n.contains('/'));
        assert!(n.ends_with(".d12.jsonl.gz"));
        assert_eq!(spooled_directive(Path::new(&n)).as_deref(), Some("12"));
        assert_eq!(spooled_directive(Path::new("1-abc.jsonl.gz")), None);
        assert!(!spool_name("x", Some("1;rm")).contains(";rm"));
    }
}
