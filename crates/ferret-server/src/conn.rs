//! Connections: the one accept loop behind [`crate::serve_with`] (plain HTTP) and
//! [`crate::tls::serve_tls_with`] (HTTPS), with the limits of [`ServeOptions`].
//!
//! * At most [`ServeOptions::max_connections`] connections are served at once: a permit is
//!   taken before `accept`, so the excess waits in the kernel's listen backlog (and is
//!   refused by the kernel when that is full) instead of costing a task and a descriptor.
//! * A TLS handshake that does not finish within [`ServeOptions::tls_handshake_timeout`]
//!   drops the connection.
//! * HTTP/1.1 only: a request's headers must arrive within
//!   [`ServeOptions::header_timeout`] of the connection starting to wait for them (on a new
//!   connection, and again between keep-alive requests), else the connection is closed; so
//!   a client that connects and sends nothing, or trickles its headers, is dropped.
//! * Every request carries the peer's address as `ConnectInfo<SocketAddr>` (the login rate
//!   limit keys on it).
//! * Expired dashboard sessions are swept at start and every
//!   [`ServeOptions::session_sweep_interval`].
//! * On shutdown the loop stops accepting and in-flight connections finish their current
//!   request.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::Request;
use ferret_store::Store;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Semaphore;

/// Default cap on connections served at once.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Default time a client has to send a request's headers.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time a client has to finish the TLS handshake.
pub const DEFAULT_TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default interval between sweeps of expired sessions.
pub const DEFAULT_SESSION_SWEEP_INTERVAL: Duration = Duration::from_secs(600);

/// The connection limits of a running collector (`ferret serve --max-connections`,
/// `--header-timeout`, `--tls-handshake-timeout`).
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Connections served at once; the excess waits in the listen backlog (at least 1).
    pub max_connections: usize,
    /// Time a client has to send a request's headers.
    pub header_timeout: Duration,
    /// Time a client has to finish the TLS handshake.
    pub tls_handshake_timeout: Duration,
    /// Interval between sweeps of expired dashboard sessions.
    pub session_sweep_interval: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            tls_handshake_timeout: DEFAULT_TLS_HANDSHAKE_TIMEOUT,
            session_sweep_interval: DEFAULT_SESSION_SWEEP_INTERVAL,
        }
    }
}

/// The router with the peer's address put into every request.
#[derive(Clone)]
struct WithPeer {
    app: Router,
    peer: SocketAddr,
}

impl<B> tower::Service<Request<B>> for WithPeer
where
    Router: tower::Service<Request<B>>,
{
    type Response = <Router as tower::Service<Request<B>>>::Response;
    type Error = <Router as tower::Service<Request<B>>>::Error;
    type Future = <Router as tower::Service<Request<B>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        tower::Service::<Request<B>>::poll_ready(&mut self.app, cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        req.extensions_mut().insert(ConnectInfo(self.peer));
        tower::Service::<Request<B>>::call(&mut self.app, req)
    }
}

/// Deletes expired sessions now and then every `every`, until dropped (aborted).
fn spawn_session_sweeper(store: Arc<dyn Store>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // A failed sweep (database briefly away) is retried at the next tick.
            let _ = store.delete_expired_sessions(chrono::Utc::now()).await;
        }
    })
}

/// Serves `app` on `listener` (through `tls` when given) until `shutdown` resolves.
pub(crate) async fn run(
    listener: tokio::net::TcpListener,
    app: Router,
    store: Arc<dyn Store>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    opts: &ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(opts.max_connections.clamp(1, Semaphore::MAX_PERMITS)));
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
    builder.http1().timer(TokioTimer::new()).header_read_timeout(opts.header_timeout);
    let handshake_timeout = opts.tls_handshake_timeout;
    let sweeper = spawn_session_sweeper(store, opts.session_sweep_interval);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            p = Arc::clone(&permits).acquire_owned() => p,
        };
        let Ok(permit) = permit else { break };
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            a = listener.accept() => a,
        };
        let Ok((tcp, peer)) = accepted else {
            // Out of descriptors or a connection reset before accept: back off briefly
            // rather than spin.
            drop(permit);
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let service = TowerToHyperService::new(WithPeer { app: app.clone(), peer });
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match tls {
                Some(acceptor) => {
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    serve_one(&builder, watcher, stream, service).await;
                }
                None => serve_one(&builder, watcher, tcp, service).await,
            }
        });
    }
    sweeper.abort();
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

async fn serve_one<IO>(
    builder: &auto::Builder<TokioExecutor>,
    watcher: hyper_util::server::graceful::Watcher,
    io: IO,
    service: TowerToHyperService<WithPeer>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = builder.serve_connection(TokioIo::new(io), service);
    let _ = watcher.watch(conn).await;
}
