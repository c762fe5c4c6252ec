//! HTTPS: the same router behind rustls (ring provider), for `ferret serve --tls-cert
//! --tls-key`, with a handshake timeout ([`crate::ServeOptions`]), HTTP/1.1 only (ALPN
//! `http/1.1`), and `strict-transport-security` on every response.

use std::future::Future;
use std::sync::Arc;

use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::{AppState, ServeOptions};

/// A TLS configuration problem.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate chain could not be read.
    #[error("no usable certificate in the PEM given: {reason}")]
    Certificate {
        /// Why.
        reason: String,
    },
    /// The private key could not be read.
    #[error("no usable private key in the PEM given: {reason}")]
    Key {
        /// Why.
        reason: String,
    },
    /// rustls refused the pair.
    #[error("tls configuration refused")]
    Config(#[source] rustls::Error),
}

/// A server configuration from a PEM certificate chain and a PEM private key.
pub fn server_config(
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Certificate { reason: e.to_string() })?;
    if certs.is_empty() {
        return Err(TlsError::Certificate { reason: "no CERTIFICATE block".into() });
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| TlsError::Key { reason: e.to_string() })?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(TlsError::Config)?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(TlsError::Config)?;
    // HTTP/1.1 only: its header read timeout is what drops a slow or silent client.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves the router over TLS on `listener` with the default [`ServeOptions`] until
/// `shutdown` resolves. A failed or slow handshake only drops that connection.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    state: AppState,
    tls: Arc<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_tls_with(listener, state, tls, &ServeOptions::default(), shutdown).await
}

/// Serves the router over TLS on `listener` with the limits of `opts` until `shutdown`
/// resolves; every response carries `strict-transport-security`.
pub async fn serve_tls_with(
    listener: tokio::net::TcpListener,
    state: AppState,
    tls: Arc<rustls::ServerConfig>,
    opts: &ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let store = Arc::clone(&state.store);
    let app = crate::router(state).layer(axum::middleware::map_response(crate::auth::hsts));
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    crate::conn::run(listener, app, store, Some(acceptor), opts, shutdown).await
}
