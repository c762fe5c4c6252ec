//! ferret-store: where the collector keeps organisations, hosts, users, runs, findings and
//! directives.
//!
//! The server holds one `Arc<dyn` [`Store`]`>`, chosen once at start by [`open`] from a URL:
//! `sqlite:PATH` (the default; a file, no setup), `sqlite::memory:` (tests) or
//! `postgres://…` (several stateless collectors sharing one database). Both backends are
//! the same code ([`SqlStore`], on sqlx's `Any` driver with runtime-checked queries, so no
//! database is needed at build time); what differs is the DDL, kept per backend in
//! `migrations/<backend>/NNNN_*.sql` and embedded in the binary.
//!
//! Invariants:
//! * every value from outside (filters, names, report fields) is a bound parameter; SQL text
//!   is only ever assembled from fixed fragments;
//! * secrets are stored hashed: the caller passes [`hash_token`] of host tokens, enrolment
//!   secrets, session and admin tokens, and an Argon2 PHC string for passwords;
//! * ingest is idempotent: `(host, run_id)` is unique, a replay stores nothing and returns
//!   the first run's id; a run and its findings are written in one transaction;
//! * every read of tenant data takes the organisation id, so one organisation cannot see
//!   another's rows.

// Rules, reports and requests are third-party input: no panic path outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

mod model;
mod sql;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ferret_report::Report;
use sha2::Digest as _;

pub use model::*;
pub use sql::SqlStore;

/// A store error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL names no supported backend.
    #[error("unsupported database url {url:?}: use sqlite:PATH or postgres://…")]
    UnsupportedUrl {
        /// The URL given (without password).
        url: String,
    },
    /// The database failed.
    #[error("database error during {op}")]
    Database {
        /// What was being done.
        op: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A migration failed.
    #[error("migration {version} failed")]
    Migration {
        /// The migration's number.
        version: i64,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A stored value could not be read back.
    #[error("corrupt stored value in {what}: {reason}")]
    Corrupt {
        /// Which column.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A unique name is already taken.
    #[error("{what} already exists")]
    Conflict {
        /// What.
        what: &'static str,
    },
}

/// Result alias.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The collector's storage: one unit of work per method, tenant reads take `org`. Its
/// methods come in groups by table, one trait each ([`TenancyStore`], [`RunStore`],
/// [`DirectiveStore`], [`RollupStore`]); a `dyn Store` offers them all.
#[async_trait]
pub trait Store: TenancyStore + RunStore + DirectiveStore + RollupStore + Send + Sync {
    /// Which backend (`sqlite` or `postgres`).
    fn backend(&self) -> &'static str;
}

/// Organisations, enrolment secrets, hosts, administrator tokens, users, roles and sessions.
#[async_trait]
pub trait TenancyStore: Send + Sync {
    /// Creates an organisation.
    async fn create_org(&self, name: &str) -> Result<Org>;
    /// Every organisation, by name.
    async fn list_orgs(&self) -> Result<Vec<Org>>;
    /// One organisation.
    async fn get_org(&self, org: i64) -> Result<Option<Org>>;
    /// Adds an enrolment secret (hashed) to an organisation.
    async fn add_enrolment_secret(&self, org: i64, secret_hash: &str) -> Result<()>;
    /// The organisation an enrolment secret (hashed) belongs to.
    async fn org_for_secret(&self, secret_hash: &str) -> Result<Option<i64>>;
    /// Enrols a host with its token (hashed).
    async fn create_host(&self, org: i64, name: &str, token_hash: &str) -> Result<Host>;
    /// The host a token (hashed) belongs to.
    async fn host_by_token(&self, token_hash: &str) -> Result<Option<Host>>;
    /// One host of an organisation.
    async fn get_host(&self, org: i64, host: i64) -> Result<Option<Host>>;
    /// The hosts of an organisation whose name contains `name_like` (all when `None`).
    async fn list_hosts(&self, org: i64, name_like: Option<&str>) -> Result<Vec<Host>>;
    /// Adds an admin API token (hashed).
    async fn add_admin_token(&self, token_hash: &str) -> Result<()>;
    /// Whether an admin token (hashed) is known.
    async fn admin_token_valid(&self, token_hash: &str) -> Result<bool>;
    /// How many admin tokens exist.
    async fn admin_token_count(&self) -> Result<i64>;
    /// Creates a dashboard user with an Argon2 PHC password hash.
    async fn create_user(&self, name: &str, password_hash: &str) -> Result<User>;
    /// A user by login name.
    async fn user_by_name(&self, name: &str) -> Result<Option<User>>;
    /// Gives a user a role in an organisation (replacing any previous one).
    async fn grant_role(&self, user: i64, org: i64, role: Role) -> Result<()>;
    /// A user's roles, by organisation id.
    async fn user_roles(&self, user: i64) -> Result<Vec<(Org, Role)>>;
    /// Starts a session.
    async fn create_session(
        &self,
        token_hash: &str,
        user: i64,
        csrf: &str,
        expires: DateTime<Utc>,
    ) -> Result<()>;
    /// A live session (expired ones are not returned).
    async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>>;
    /// Ends a session.
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
    /// Deletes the sessions expired at `now`; returns how many were deleted.
    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64>;
}

/// Runs and their findings: ingest and the tenant reads.
#[async_trait]
pub trait RunStore: Send + Sync {
    /// Stores a report from a host, once per `(host, run_id)`.
    async fn ingest(
        &self,
        host: &Host,
        report: &Report,
        directive: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Ingested>;
    /// An organisation's runs, newest first (one host's when `host` is given).
    async fn list_runs(&self, org: i64, host: Option<i64>, limit: i64) -> Result<Vec<Run>>;
    /// One run.
    async fn get_run(&self, org: i64, run: i64) -> Result<Option<Run>>;
    /// The full report of one run, as received.
    async fn run_report(&self, org: i64, run: i64) -> Result<Option<Report>>;
    /// An organisation's findings matching a filter, most severe first.
    async fn list_findings(&self, org: i64, filter: &FindingFilter) -> Result<Vec<FindingRow>>;
    /// One finding.
    async fn get_finding(&self, org: i64, finding: i64) -> Result<Option<FindingRow>>;
}

/// Directives, their organisations, the agents' outcomes and the organisations' directive keys.
#[async_trait]
pub trait DirectiveStore: Send + Sync {
    /// Publishes a directive.
    async fn create_directive(&self, d: &NewDirective, now: DateTime<Utc>) -> Result<Directive>;
    /// The directives that apply to an organisation, newest first.
    async fn list_directives(&self, org: i64) -> Result<Vec<Directive>>;
    /// One directive, if it applies to the organisation.
    async fn get_directive(&self, org: i64, directive: i64) -> Result<Option<Directive>>;
    /// Directives of the host's organisation the host has not answered yet.
    async fn pending_directives(&self, host: &Host) -> Result<Vec<Directive>>;
    /// Records an agent's answer to a directive.
    async fn record_outcome(
        &self,
        host: &Host,
        directive: i64,
        outcome: &DirectiveOutcome,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// A directive's roll-up over the organisation's hosts at `now`.
    async fn directive_status(
        &self,
        org: i64,
        directive: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<DirectiveStatus>>;
    /// The organisation's directive public key (minisign text), if registered.
    async fn org_directive_key(&self, org: i64) -> Result<Option<String>>;
    /// Registers (or with `None` removes) the organisation's directive public key; false
    /// when there is no such organisation.
    async fn set_org_directive_key(&self, org: i64, key: Option<&str>) -> Result<bool>;
    /// Every directive, newest first (administrators).
    async fn list_all_directives(&self) -> Result<Vec<Directive>>;
    /// One directive whatever its organisations (administrators).
    async fn get_directive_any(&self, directive: i64) -> Result<Option<Directive>>;
    /// Closes a directive: agents are no longer served it. False when it does not exist.
    async fn close_directive(&self, directive: i64, now: DateTime<Utc>) -> Result<bool>;
}

/// A directive's roll-up: hosts per status, counted and paged in SQL.
#[async_trait]
pub trait RollupStore: Send + Sync {
    /// Hosts per status of one organisation in a directive at `now`, and the answers over
    /// `buckets` time buckets, counted in SQL (no host is loaded). `None` when the
    /// directive does not apply to the organisation.
    async fn rollup_summary(
        &self,
        org: i64,
        directive: i64,
        now: DateTime<Utc>,
        buckets: usize,
    ) -> Result<Option<RollupSummary>>;
    /// One page of an organisation's hosts in a directive's roll-up at `now`, in (host
    /// name, host id) order, filtered by status and host name. `None` when the directive
    /// does not apply to the organisation.
    async fn rollup_page(
        &self,
        org: i64,
        directive: i64,
        query: &RollupQuery,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<RollupRow>>>;
}

/// Opens the store a URL names and brings its schema up to date.
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>> {
    Ok(std::sync::Arc::new(SqlStore::open(url, None).await?))
}

/// The stored form of a secret token: lowercase hex SHA-256. Tokens are 32 random bytes,
/// so a fast hash is enough (passwords use Argon2 instead).
pub fn hash_token(token: &str) -> String {
    let d = sha2::Sha256::digest(token.as_bytes());
    d.iter().fold(String::with_capacity(64), |mut s, b| {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The README's example, run as a doctest so it keeps compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
