//! ferret-server: the fleet collector. Hosts enrol and upload reports; coordinators publish
//! directives; people read the roll-up on a server-rendered dashboard.
//!
//! Entry points: [`router`] builds the one route table over an [`AppState`] (which holds the
//! `Arc<dyn Store>` chosen at start), and [`serve`] runs it on a listener until a shutdown
//! future resolves, so tests bind `127.0.0.1:0` ([`serve_with`] and
//! [`tls::serve_tls_with`] take the connection limits of [`ServeOptions`], served by
//! [`conn`]). The JSON API is in [`api`] (described by `GET /api/v1/openapi.json`), the
//! dashboard in [`dashboard`], the roll-up export of a directive (API and dashboard) in
//! [`export`]; every failure is an [`ApiError`].
//!
//! This crate links no engine: it depends on ferret-core, ferret-report and ferret-store only.
//!
//! Invariants: every secret is stored hashed; every tenant read goes through the caller's
//! organisation (a host token or a user's role) and answers 404 for anything else; bodies
//! are capped ([`AppState::body_limit`]) and read only after the credential in the headers
//! has been checked ([`auth::authenticate_first`]); connections are capped and time out
//! ([`ServeOptions`]); failed sign-ins are limited per client and per user name
//! ([`limit::LoginLimiter`]); every form carries the session's CSRF token; every
//! attacker-controlled string is escaped by the templates.

// Rules, reports and requests are third-party input: no panic path outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

pub mod api;
pub mod auth;
pub mod conn;
pub mod dashboard;
pub mod error;
pub mod export;
pub mod limit;
pub mod tls;

use std::future::Future;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodFilter, on};
use axum::{Extension, Router};
use ferret_store::Store;

pub use conn::ServeOptions;
pub use error::ApiError;

/// Default cap on a request body (an uploaded report, compressed): 32 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The store, chosen once at start.
    pub store: Arc<dyn Store>,
    /// Largest accepted request body in bytes (larger → 413).
    pub body_limit: usize,
    /// Whether cookies carry `Secure` (true unless testing over plain HTTP).
    pub secure_cookies: bool,
}

impl AppState {
    /// A state with the default body limit and secure cookies.
    pub fn new(store: Arc<dyn Store>) -> AppState {
        AppState { store, body_limit: DEFAULT_BODY_LIMIT, secure_cookies: true }
    }
}

/// One table declares the JSON API: it builds the router and [`API_ROUTES`], so the list a
/// test checks against `openapi.json` is the list that is served.
macro_rules! api_routes {
    ($($method:ident $path:literal => $handler:path),* $(,)?) => {
        /// Every JSON API route as (method, path), as routed by [`router`]; each is
        /// described in `openapi.json` (a test checks both directions).
        pub const API_ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        fn api_router() -> Router<AppState> {
            Router::new()$(.route($path, on(MethodFilter::$method, $handler)))*
        }
    };
}

api_routes! {
    GET "/api/v1/openapi.json" => api::openapi,
    POST "/api/v1/admin/orgs" => api::create_org,
    GET "/api/v1/admin/orgs" => api::list_orgs,
    POST "/api/v1/admin/orgs/{id}/secrets" => api::new_secret,
    POST "/api/v1/admin/users" => api::create_user,
    POST "/api/v1/admin/directives" => api::create_directive,
    POST "/api/v1/enroll" => api::enroll,
    POST "/api/v1/reports" => api::ingest,
    GET "/api/v1/runs/{id}" => api::get_run,
    GET "/api/v1/directives/pending" => api::pending,
    POST "/api/v1/directives/{id}/outcome" => api::outcome,
    // Signed directives and administration (fleet-trust).
    GET "/api/v1/admin/directives" => api::list_directives,
    GET "/api/v1/admin/directives/{id}" => api::get_directive,
    POST "/api/v1/admin/directives/{id}/close" => api::close_directive,
    GET "/api/v1/admin/hosts" => api::list_hosts,
    PUT "/api/v1/admin/orgs/{id}/directive-key" => api::set_directive_key,
    // Directive roll-up export (fleet-ui).
    GET "/api/v1/admin/directives/{id}/export" => export::admin_export,
}

/// The route table, behind [`auth::authenticate_first`] and with its own
/// [`limit::LoginLimiter`].
pub fn router(state: AppState) -> Router {
    let limit = state.body_limit;
    let guard = axum::middleware::from_fn_with_state(state.clone(), auth::authenticate_first);
    api_router()
        .merge(dashboard::routes())
        .layer(DefaultBodyLimit::max(limit))
        // On matched routes only: an unknown path stays a bare 404 and a wrong method 405,
        // neither of which reads the body.
        .route_layer(guard)
        .layer(Extension(Arc::new(limit::LoginLimiter::default())))
        .with_state(state)
}

/// Serves the router on `listener` with the default [`ServeOptions`] until `shutdown`
/// resolves; in-flight requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, &ServeOptions::default(), shutdown).await
}

/// Serves the router on `listener` with the limits of `opts` until `shutdown` resolves.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: AppState,
    opts: &ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let store = Arc::clone(&state.store);
    conn::run(listener, router(state), store, None, opts, shutdown).await
}

/// On a store with no admin token yet, creates one and returns it (to be shown once).
pub async fn bootstrap_admin(store: &dyn Store) -> Result<Option<String>, ApiError> {
    if store.admin_token_count().await? > 0 {
        return Ok(None);
    }
    let token = auth::new_token()?;
    store.add_admin_token(&ferret_store::hash_token(&token)).await?;
    Ok(Some(token))
}

/// Registers an admin token given by the operator (from `--admin-token-file`).
pub async fn add_admin_token(store: &dyn Store, token: &str) -> Result<(), ApiError> {
    let hash = ferret_store::hash_token(token.trim());
    if !store.admin_token_valid(&hash).await? {
        store.add_admin_token(&hash).await?;
    }
    Ok(())
}

/// The README's example, run as a doctest so it keeps compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
