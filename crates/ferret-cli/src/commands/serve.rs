//! `ferret serve`: run the fleet collector and its dashboard.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;

use crate::exit::ExitStatus;
use crate::output;

/// Arguments of `ferret serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Database: `sqlite:PATH` (default: collector.db in ferret's data directory) or
    /// `postgres://USER@HOST/DB`.
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
    /// Address to listen on. Loopback by default; put a reverse proxy or --tls-* in front
    /// before listening on other addresses.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// PEM certificate chain: serve HTTPS (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (with --tls-cert).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// A file holding an admin API token to accept (instead of printing a generated one on
    /// first start).
    #[arg(long, value_name = "FILE")]
    pub admin_token_file: Option<PathBuf>,
    /// Largest accepted upload, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = ferret_server::DEFAULT_BODY_LIMIT)]
    pub body_limit: usize,
    /// Connections served at once; more wait in the listen backlog. Keep it below the
    /// process's open-file limit (`ulimit -n`).
    #[arg(long, value_name = "N", default_value_t = ferret_server::conn::DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers (on a new connection and between
    /// keep-alive requests) before the connection is closed.
    #[arg(long, value_name = "SECS", default_value_t = ferret_server::conn::DEFAULT_HEADER_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout: u64,
    /// Seconds a client has to finish the TLS handshake.
    #[arg(long, value_name = "SECS", default_value_t = ferret_server::conn::DEFAULT_TLS_HANDSHAKE_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub tls_handshake_timeout: u64,
}

fn default_db() -> anyhow::Result<String> {
    let dir = match std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d).join("ferret"),
        None => PathBuf::from(std::env::var_os("HOME").context("no HOME: give --db")?)
            .join(".local")
            .join("share")
            .join("ferret"),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(format!("sqlite:{}", dir.join("collector.db").display()))
}

/// The collector's SQLite file holds password and token hashes: it is created with mode 0600
/// (SQLite gives its `-wal` and `-shm` files the same mode) and an existing one readable by
/// others is narrowed to 0600. Other URLs (`sqlite::memory:`, PostgreSQL) are left alone.
#[cfg(unix)]
#[expect(
    clippy::disallowed_methods,
    reason = "the collector's own database file, never an examined system"
)]
fn private_sqlite_file(db: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let Some(rest) = db.strip_prefix("sqlite:") else { return Ok(()) };
    let path = rest.trim_start_matches("//");
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path.starts_with(':') {
        return Ok(());
    }
    let path = std::path::Path::new(path);
    match std::fs::metadata(path) {
        Ok(meta) => {
            if meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                    .with_context(|| format!("cannot make {} private", path.display()))?;
            }
        }
        Err(_) => {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(path)
                .with_context(|| format!("cannot create the database {}", path.display()))?;
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn private_sqlite_file(_db: &str) -> anyhow::Result<()> {
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            let _ = ctrl_c.await;
            return;
        };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Runs `ferret serve`.
pub fn run(args: &ServeArgs) -> anyhow::Result<ExitStatus> {
    let db = match &args.db {
        Some(d) => d.clone(),
        None => default_db()?,
    };
    private_sqlite_file(&db)?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => {
            let cert = std::fs::read(c).with_context(|| format!("cannot read {}", c.display()))?;
            let key = std::fs::read(k).with_context(|| format!("cannot read {}", k.display()))?;
            Some(ferret_server::tls::server_config(&cert, &key)?)
        }
        _ => None,
    };
    let admin_token = match &args.admin_token_file {
        Some(f) => {
            let t = std::fs::read_to_string(f)
                .with_context(|| format!("cannot read {}", f.display()))?;
            if t.trim().len() < 16 {
                bail!("the admin token in {} is shorter than 16 characters", f.display());
            }
            Some(t.trim().to_owned())
        }
        None => None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let store =
            ferret_store::open(&db).await.with_context(|| "cannot open the database".to_owned())?;
        match admin_token {
            Some(t) => ferret_server::add_admin_token(store.as_ref(), &t).await?,
            None => {
                if let Some(t) = ferret_server::bootstrap_admin(store.as_ref()).await? {
                    output::line(&format!("admin token (shown once; keep it): {t}"))?;
                }
            }
        }
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        let state = ferret_server::AppState {
            store: Arc::clone(&store),
            body_limit: args.body_limit,
            secure_cookies: true,
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        if tls.is_none() && !addr.ip().is_loopback() {
            output::note(
                "ferret: warning: serving plain HTTP beyond loopback; tokens and passwords \
                 cross the network unencrypted unless a TLS proxy is in front (--tls-cert/--tls-key)",
            );
        }
        output::note(&format!(
            "ferret collector on {scheme}://{addr}/ ({} database)",
            store.backend()
        ));
        let opts = ferret_server::ServeOptions {
            max_connections: args.max_connections,
            header_timeout: Duration::from_secs(args.header_timeout),
            tls_handshake_timeout: Duration::from_secs(args.tls_handshake_timeout),
            ..ferret_server::ServeOptions::default()
        };
        match tls {
            Some(cfg) => {
                ferret_server::tls::serve_tls_with(listener, state, cfg, &opts, shutdown_signal())
                    .await?;
            }
            None => ferret_server::serve_with(listener, state, &opts, shutdown_signal()).await?,
        }
        anyhow::Ok(())
    })?;
    Ok(ExitStatus::Clean)
}
