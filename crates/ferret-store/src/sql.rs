//! [`SqlStore`]: the one [`Store`] implementation, over sqlx's `Any` driver for SQLite and
//! PostgreSQL.
//!
//! Queries are written once with `$N` placeholders, which both backends accept. Only the
//! DDL differs, in `migrations/<backend>/`. SQL text is built from fixed fragments only;
//! every value is bound.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone as _, Utc};
use ferret_core::{Finding, Severity};
use ferret_report::Report;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Connection as _, Row as _};

use crate::model::{
    Directive, DirectiveHost, DirectiveOutcome, DirectiveStatus, FindingFilter, FindingRow, Host,
    HostStatus, Ingested, NewDirective, Org, Role, RollupQuery, RollupRow, RollupSummary, Run,
    Session, StatusEvent, User,
};
use crate::{Result, Store, StoreError};

/// Which SQL dialect the DDL is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

const SQLITE_MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../migrations/sqlite/0002_signed_directives.sql")),
    (ROLLUP_MIGRATION, include_str!("../migrations/sqlite/0003_rollup.sql")),
];
const POSTGRES_MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (2, include_str!("../migrations/postgres/0002_signed_directives.sql")),
    (ROLLUP_MIGRATION, include_str!("../migrations/postgres/0003_rollup.sql")),
];

/// The migration that adds `directive_hosts`; the store fills it from the runs and
/// outcomes already stored, in the same transaction.
const ROLLUP_MIGRATION: i64 = 3;

/// Rows of findings inserted per statement.
const FINDING_CHUNK: usize = 100;

/// The SQL store.
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
}

fn db(op: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Database { op, source }
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(v: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(v).single().unwrap_or_default()
}

fn sev_rank(s: Severity) -> i64 {
    match s {
        Severity::Info => 0,
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
        Severity::Critical => 4,
    }
}

fn sev_from_rank(r: i64) -> Option<Severity> {
    usize::try_from(r).ok().and_then(|i| Severity::ALL.get(i).copied())
}

/// `%text%` for `LIKE … ESCAPE '\'`, with `%`, `_` and `\` in the text made literal.
fn like_pattern(text: &str) -> String {
    let mut s = String::with_capacity(text.len() + 2);
    s.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('%');
    s
}

/// A value to bind.
#[derive(Clone, Debug)]
enum Arg {
    Int(i64),
    Text(String),
    OptInt(Option<i64>),
    OptText(Option<String>),
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    args: &[Arg],
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    for a in args {
        q = match a {
            Arg::Int(v) => q.bind(*v),
            Arg::Text(v) => q.bind(v.clone()),
            Arg::OptInt(v) => q.bind(*v),
            Arg::OptText(v) => q.bind(v.clone()),
        };
    }
    q
}

/// SQL text plus its bound values, built from fixed fragments.
#[derive(Default)]
struct Sql {
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    fn push(&mut self, fragment: &str) -> &mut Self {
        self.text.push_str(fragment);
        self
    }

    /// Appends a placeholder for `a`.
    fn arg(&mut self, a: Arg) -> &mut Self {
        self.args.push(a);
        let n = self.args.len();
        let _ = write!(self.text, "${n}");
        self
    }
}

fn org_of(row: &AnyRow) -> Result<Org> {
    Ok(Org {
        id: row.try_get("id").map_err(db("read organisation"))?,
        name: row.try_get("name").map_err(db("read organisation"))?,
        created: from_ms(row.try_get("created_ms").map_err(db("read organisation"))?),
    })
}

fn host_of(row: &AnyRow) -> Result<Host> {
    let e = db("read host");
    let last: Option<i64> = row.try_get("last_seen_ms").map_err(db("read host"))?;
    Ok(Host {
        id: row.try_get("id").map_err(db("read host"))?,
        org_id: row.try_get("org_id").map_err(db("read host"))?,
        name: row.try_get("name").map_err(db("read host"))?,
        enrolled: from_ms(row.try_get("enrolled_ms").map_err(e)?),
        last_seen: last.map(from_ms),
    })
}

const HOST_COLS: &str = "id, org_id, name, enrolled_ms, last_seen_ms";

const RUN_COLS: &str = "r.id, r.org_id, r.host_id, h.name AS host_name, r.run_id, \
     r.directive_id, r.verb, r.tool_version, r.exe_sha256, r.ruleset_sha256, r.started_ms, \
     r.finished_ms, r.received_ms, r.complete, r.findings, r.problems, r.max_severity";

fn run_of(row: &AnyRow) -> Result<Run> {
    let g = |e| StoreError::Database { op: "read run", source: e };
    let max: Option<i64> = row.try_get("max_severity").map_err(g)?;
    Ok(Run {
        id: row.try_get("id").map_err(g)?,
        org_id: row.try_get("org_id").map_err(g)?,
        host_id: row.try_get("host_id").map_err(g)?,
        host_name: row.try_get("host_name").map_err(g)?,
        run_id: row.try_get("run_id").map_err(g)?,
        directive_id: row.try_get("directive_id").map_err(g)?,
        verb: row.try_get("verb").map_err(g)?,
        tool_version: row.try_get("tool_version").map_err(g)?,
        exe_sha256: row.try_get("exe_sha256").map_err(g)?,
        ruleset_sha256: row.try_get("ruleset_sha256").map_err(g)?,
        started: from_ms(row.try_get("started_ms").map_err(g)?),
        finished: from_ms(row.try_get("finished_ms").map_err(g)?),
        received: from_ms(row.try_get("received_ms").map_err(g)?),
        complete: row.try_get::<i64, _>("complete").map_err(g)? != 0,
        findings: row.try_get("findings").map_err(g)?,
        problems: row.try_get("problems").map_err(g)?,
        max_severity: max.and_then(sev_from_rank),
    })
}

fn finding_of(row: &AnyRow) -> Result<FindingRow> {
    let g = |e| StoreError::Database { op: "read finding", source: e };
    let body: String = row.try_get("body").map_err(g)?;
    let finding: Finding = serde_json::from_str(&body)
        .map_err(|e| StoreError::Corrupt { what: "findings.body", reason: e.to_string() })?;
    Ok(FindingRow {
        id: row.try_get("id").map_err(g)?,
        run_pk: row.try_get("run_pk").map_err(g)?,
        host_id: row.try_get("host_id").map_err(g)?,
        host_name: row.try_get("host_name").map_err(g)?,
        finding,
    })
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// The statements of a migration file (`--` comment lines dropped, split on `;`).
fn statements(sql: &str) -> Vec<String> {
    let body: String = sql.lines().filter(|l| !l.trim_start().starts_with("--")).fold(
        String::new(),
        |mut acc, l| {
            acc.push_str(l);
            acc.push('\n');
            acc
        },
    );
    body.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

impl SqlStore {
    /// Connects to `url` (`sqlite:PATH`, `sqlite::memory:`, `postgres://…`) and runs the
    /// migrations. With `schema` (PostgreSQL only), every connection uses that schema, which
    /// must exist (tests use one schema per run).
    pub async fn open(url: &str, schema: Option<&str>) -> Result<SqlStore> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            let shown = url.split('@').next_back().unwrap_or_default().to_owned();
            return Err(StoreError::UnsupportedUrl { url: shown });
        };
        let mut url = url.to_owned();
        let mut opts = AnyPoolOptions::new();
        match backend {
            Backend::Sqlite => {
                if !url.contains('?') && !url.contains(":memory:") {
                    url.push_str("?mode=rwc");
                }
                // One connection: SQLite has one writer anyway, and a single connection
                // never meets SQLITE_BUSY. A memory database also lives only as long as it.
                opts = opts
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                            sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut *conn).await?;
                            sqlx::query("PRAGMA busy_timeout = 5000").execute(&mut *conn).await?;
                            Ok(())
                        })
                    });
            }
            Backend::Postgres => {
                opts = opts.max_connections(8);
                if let Some(schema) = schema {
                    let schema = schema.to_owned();
                    opts = opts.after_connect(move |conn, _meta| {
                        let schema = schema.clone();
                        Box::pin(async move {
                            sqlx::query("SELECT set_config('search_path', $1, false) AS s")
                                .bind(schema)
                                .fetch_one(&mut *conn)
                                .await?;
                            Ok(())
                        })
                    });
                }
            }
        }
        let pool = opts.connect(&url).await.map_err(db("connect"))?;
        let store = SqlStore { pool, backend };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the migrations not applied yet, in order, each in a transaction. On
    /// PostgreSQL an advisory lock keeps collectors starting together from racing.
    async fn migrate(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(db("migrate"))?;
        let migrations = match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS,
            Backend::Postgres => {
                sqlx::query("SELECT COUNT(*) AS l FROM (SELECT pg_advisory_lock(7460143)) AS x")
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(db("migration lock"))?;
                POSTGRES_MIGRATIONS
            }
        };
        let result = async {
            sqlx::query(
                "CREATE TABLE IF NOT EXISTS schema_migrations \
                 (version BIGINT PRIMARY KEY, applied_ms BIGINT NOT NULL)",
            )
            .execute(&mut *conn)
            .await
            .map_err(db("migrate"))?;
            let done: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations")
                .fetch_all(&mut *conn)
                .await
                .map_err(db("migrate"))?
                .iter()
                .map(|r| r.try_get::<i64, _>("version"))
                .collect::<Result<_, _>>()
                .map_err(db("migrate"))?;
            for (version, sql) in migrations {
                if done.contains(version) {
                    continue;
                }
                let m = |source| StoreError::Migration { version: *version, source };
                let mut tx = conn.begin().await.map_err(m)?;
                for stmt in statements(sql) {
                    sqlx::query(&stmt).execute(&mut *tx).await.map_err(m)?;
                }
                if *version == ROLLUP_MIGRATION {
                    backfill_rollup(&mut tx).await.map_err(m)?;
                }
                sqlx::query("INSERT INTO schema_migrations (version, applied_ms) VALUES ($1, $2)")
                    .bind(*version)
                    .bind(ms(Utc::now()))
                    .execute(&mut *tx)
                    .await
                    .map_err(m)?;
                tx.commit().await.map_err(m)?;
            }
            Ok(())
        }
        .await;
        if self.backend == Backend::Postgres {
            let _ =
                sqlx::query("SELECT COUNT(*) AS u FROM (SELECT pg_advisory_unlock(7460143)) AS x")
                    .fetch_one(&mut *conn)
                    .await;
        }
        result
    }

    async fn directive_orgs(&self, id: i64) -> Result<Vec<i64>> {
        let rows = sqlx::query(
            "SELECT org_id FROM directive_orgs WHERE directive_id = $1 ORDER BY org_id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(db("read directive"))?;
        rows.iter().map(|r| r.try_get("org_id").map_err(db("read directive"))).collect()
    }

    async fn directive_of(&self, row: &AnyRow) -> Result<Directive> {
        let g = |e| StoreError::Database { op: "read directive", source: e };
        let id: i64 = row.try_get("id").map_err(g)?;
        let command: String = row.try_get("command").map_err(g)?;
        let verb: Option<String> = row.try_get("verb").map_err(g)?;
        let closed: Option<i64> = row.try_get("closed_ms").map_err(g)?;
        Ok(Directive {
            id,
            name: row.try_get("name").map_err(g)?,
            verb: verb.unwrap_or_else(|| {
                command.split_whitespace().next().unwrap_or_default().to_owned()
            }),
            command,
            document: row.try_get("document").map_err(g)?,
            signature: row.try_get("signature").map_err(g)?,
            bundle: row.try_get("bundle").map_err(g)?,
            deadline: from_ms(row.try_get("deadline_ms").map_err(g)?),
            created: from_ms(row.try_get("created_ms").map_err(g)?),
            closed: closed.map(from_ms),
            orgs: self.directive_orgs(id).await?,
        })
    }

    async fn directive_applies(&self, directive: i64, org: i64) -> Result<bool> {
        Ok(sqlx::query(
            "SELECT directive_id FROM directive_orgs WHERE directive_id = $1 AND org_id = $2",
        )
        .bind(directive)
        .bind(org)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("read directive"))?
        .is_some())
    }
}

#[derive(Default)]
/// Per-host accumulator of a directive roll-up.
struct Acc {
    latest: Option<(i64, i64, i64)>,
    ever_affected: bool,
    errored: Option<(Option<String>, i64)>,
}

const DIRECTIVE_COLS: &str = "d.id, d.name, d.command, d.bundle, d.deadline_ms, d.created_ms, \
     d.verb, d.document, d.signature, d.closed_ms";

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    async fn create_org(&self, name: &str) -> Result<Org> {
        let now = Utc::now();
        let row = sqlx::query(
            "INSERT INTO organisations (name, created_ms) VALUES ($1, $2) \
             RETURNING id, name, created_ms",
        )
        .bind(name.to_owned())
        .bind(ms(now))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict { what: "organisation" }
            } else {
                StoreError::Database { op: "create organisation", source: e }
            }
        })?;
        org_of(&row)
    }

    async fn list_orgs(&self) -> Result<Vec<Org>> {
        let rows = sqlx::query("SELECT id, name, created_ms FROM organisations ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(db("list organisations"))?;
        rows.iter().map(org_of).collect()
    }

    async fn get_org(&self, org: i64) -> Result<Option<Org>> {
        let row = sqlx::query("SELECT id, name, created_ms FROM organisations WHERE id = $1")
            .bind(org)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("read organisation"))?;
        row.as_ref().map(org_of).transpose()
    }

    async fn add_enrolment_secret(&self, org: i64, secret_hash: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO enrolment_secrets (org_id, secret_hash, created_ms) VALUES ($1, $2, $3)",
        )
        .bind(org)
        .bind(secret_hash.to_owned())
        .bind(ms(Utc::now()))
        .execute(&self.pool)
        .await
        .map_err(db("add enrolment secret"))?;
        Ok(())
    }

    async fn org_for_secret(&self, secret_hash: &str) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT org_id FROM enrolment_secrets WHERE secret_hash = $1")
            .bind(secret_hash.to_owned())
            .fetch_optional(&self.pool)
            .await
            .map_err(db("read enrolment secret"))?;
        row.map(|r| r.try_get("org_id")).transpose().map_err(db("read enrolment secret"))
    }

    async fn create_host(&self, org: i64, name: &str, token_hash: &str) -> Result<Host> {
        let row = sqlx::query(&format!(
            "INSERT INTO hosts (org_id, name, token_hash, enrolled_ms) VALUES ($1, $2, $3, $4) \
             RETURNING {HOST_COLS}"
        ))
        .bind(org)
        .bind(name.to_owned())
        .bind(token_hash.to_owned())
        .bind(ms(Utc::now()))
        .fetch_one(&self.pool)
        .await
        .map_err(db("create host"))?;
        host_of(&row)
    }

    async fn host_by_token(&self, token_hash: &str) -> Result<Option<Host>> {
        let row = sqlx::query(&format!("SELECT {HOST_COLS} FROM hosts WHERE token_hash = $1"))
            .bind(token_hash.to_owned())
            .fetch_optional(&self.pool)
            .await
            .map_err(db("read host"))?;
        row.as_ref().map(host_of).transpose()
    }

    async fn get_host(&self, org: i64, host: i64) -> Result<Option<Host>> {
        let row =
            sqlx::query(&format!("SELECT {HOST_COLS} FROM hosts WHERE id = $1 AND org_id = $2"))
                .bind(host)
                .bind(org)
                .fetch_optional(&self.pool)
                .await
                .map_err(db("read host"))?;
        row.as_ref().map(host_of).transpose()
    }

    async fn list_hosts(&self, org: i64, name_like: Option<&str>) -> Result<Vec<Host>> {
        let mut q = Sql::default();
        q.push(&format!("SELECT {HOST_COLS} FROM hosts WHERE org_id = ")).arg(Arg::Int(org));
        if let Some(n) = name_like.filter(|n| !n.is_empty()) {
            q.push(" AND LOWER(name) LIKE ").arg(Arg::Text(like_pattern(n))).push(" ESCAPE '\\'");
        }
        q.push(" ORDER BY name, id");
        let rows = bind_all(sqlx::query(&q.text), &q.args)
            .fetch_all(&self.pool)
            .await
            .map_err(db("list hosts"))?;
        rows.iter().map(host_of).collect()
    }

    async fn add_admin_token(&self, token_hash: &str) -> Result<()> {
        sqlx::query("INSERT INTO admin_tokens (token_hash, created_ms) VALUES ($1, $2)")
            .bind(token_hash.to_owned())
            .bind(ms(Utc::now()))
            .execute(&self.pool)
            .await
            .map_err(db("add admin token"))?;
        Ok(())
    }

    async fn admin_token_valid(&self, token_hash: &str) -> Result<bool> {
        Ok(sqlx::query("SELECT token_hash FROM admin_tokens WHERE token_hash = $1")
            .bind(token_hash.to_owned())
            .fetch_optional(&self.pool)
            .await
            .map_err(db("read admin token"))?
            .is_some())
    }

    async fn admin_token_count(&self) -> Result<i64> {
        sqlx::query("SELECT COUNT(*) AS n FROM admin_tokens")
            .fetch_one(&self.pool)
            .await
            .and_then(|r| r.try_get("n"))
            .map_err(db("count admin tokens"))
    }

    async fn create_user(&self, name: &str, password_hash: &str) -> Result<User> {
        let row = sqlx::query(
            "INSERT INTO users (name, password_hash, created_ms) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(name.to_owned())
        .bind(password_hash.to_owned())
        .bind(ms(Utc::now()))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict { what: "user" }
            } else {
                StoreError::Database { op: "create user", source: e }
            }
        })?;
        Ok(User {
            id: row.try_get("id").map_err(db("create user"))?,
            name: name.to_owned(),
            password_hash: password_hash.to_owned(),
        })
    }

    async fn user_by_name(&self, name: &str) -> Result<Option<User>> {
        let row = sqlx::query("SELECT id, name, password_hash FROM users WHERE name = $1")
            .bind(name.to_owned())
            .fetch_optional(&self.pool)
            .await
            .map_err(db("read user"))?;
        row.map(|r| {
            Ok(User {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                password_hash: r.try_get("password_hash")?,
            })
        })
        .transpose()
        .map_err(db("read user"))
    }

    async fn grant_role(&self, user: i64, org: i64, role: Role) -> Result<()> {
        sqlx::query(
            "INSERT INTO user_roles (user_id, org_id, role) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, org_id) DO UPDATE SET role = excluded.role",
        )
        .bind(user)
        .bind(org)
        .bind(role.as_str())
        .execute(&self.pool)
        .await
        .map_err(db("grant role"))?;
        Ok(())
    }

    async fn user_roles(&self, user: i64) -> Result<Vec<(Org, Role)>> {
        let rows = sqlx::query(
            "SELECT o.id, o.name, o.created_ms, r.role FROM user_roles r \
             JOIN organisations o ON o.id = r.org_id WHERE r.user_id = $1 ORDER BY o.name",
        )
        .bind(user)
        .fetch_all(&self.pool)
        .await
        .map_err(db("read roles"))?;
        let mut out = Vec::new();
        for r in &rows {
            let role: String = r.try_get("role").map_err(db("read roles"))?;
            let role = Role::parse(&role)
                .ok_or_else(|| StoreError::Corrupt { what: "user_roles.role", reason: role })?;
            out.push((org_of(r)?, role));
        }
        Ok(out)
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user: i64,
        csrf: &str,
        expires: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf, expires_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash.to_owned())
        .bind(user)
        .bind(csrf.to_owned())
        .bind(ms(expires))
        .execute(&self.pool)
        .await
        .map_err(db("create session"))?;
        Ok(())
    }

    async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>> {
        let row = sqlx::query(
            "SELECT s.user_id, u.name, s.csrf, s.expires_ms FROM sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_ms > $2",
        )
        .bind(token_hash.to_owned())
        .bind(ms(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(db("read session"))?;
        row.map(|r| {
            Ok(Session {
                user_id: r.try_get("user_id")?,
                user_name: r.try_get("name")?,
                csrf: r.try_get("csrf")?,
                expires: from_ms(r.try_get("expires_ms")?),
            })
        })
        .transpose()
        .map_err(db("read session"))
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash.to_owned())
            .execute(&self.pool)
            .await
            .map_err(db("delete session"))?;
        Ok(())
    }

    async fn ingest(
        &self,
        host: &Host,
        report: &Report,
        directive: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Ingested> {
        let directive = match directive {
            Some(d) if self.directive_applies(d, host.org_id).await? => Some(d),
            _ => None,
        };
        let body = serde_json::to_string(report)
            .map_err(|e| StoreError::Corrupt { what: "runs.report", reason: e.to_string() })?;
        let max = report.findings.iter().map(|f| f.severity).max().map(sev_rank);
        let mut tx = self.pool.begin().await.map_err(db("ingest"))?;
        let row = sqlx::query(
            "INSERT INTO runs (org_id, host_id, run_id, directive_id, verb, tool_version, \
             exe_sha256, ruleset_sha256, started_ms, finished_ms, received_ms, complete, \
             findings, problems, max_severity, report) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
             ON CONFLICT (host_id, run_id) DO NOTHING RETURNING id",
        )
        .bind(host.org_id)
        .bind(host.id)
        .bind(report.run_id.clone())
        .bind(directive)
        .bind(report.verb.clone())
        .bind(report.tool.version.clone())
        .bind(report.tool.exe_sha256.clone())
        .bind(report.tool.ruleset_sha256.clone())
        .bind(ms(report.started))
        .bind(ms(report.finished))
        .bind(ms(now))
        .bind(i64::from(report.summary.complete))
        .bind(i64::try_from(report.findings.len()).unwrap_or(i64::MAX))
        .bind(i64::try_from(report.problems.len()).unwrap_or(i64::MAX))
        .bind(max)
        .bind(body)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db("ingest run"))?;
        let Some(row) = row else {
            tx.rollback().await.map_err(db("ingest"))?;
            let id: i64 = sqlx::query("SELECT id FROM runs WHERE host_id = $1 AND run_id = $2")
                .bind(host.id)
                .bind(report.run_id.clone())
                .fetch_one(&self.pool)
                .await
                .and_then(|r| r.try_get("id"))
                .map_err(db("ingest replay"))?;
            return Ok(Ingested { id, run_id: report.run_id.clone(), duplicate: true });
        };
        let run_pk: i64 = row.try_get("id").map_err(db("ingest run"))?;
        for chunk in report.findings.chunks(FINDING_CHUNK) {
            let mut q = Sql::default();
            q.push(
                "INSERT INTO findings (run_pk, org_id, host_id, engine, rule_id, rule_name, \
                 severity, score, path, time_ms, message, evidence, body) VALUES ",
            );
            for (i, f) in chunk.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                let evidence = serde_json::to_string(&f.evidence).unwrap_or_else(|_| "[]".into());
                let body = serde_json::to_string(f).map_err(|e| StoreError::Corrupt {
                    what: "findings.body",
                    reason: e.to_string(),
                })?;
                q.push("(").arg(Arg::Int(run_pk)).push(", ").arg(Arg::Int(host.org_id));
                q.push(", ").arg(Arg::Int(host.id));
                q.push(", ").arg(Arg::Text(f.engine.as_str().to_owned()));
                q.push(", ").arg(Arg::Text(f.rule.id.clone()));
                q.push(", ").arg(Arg::Text(f.rule.name.clone()));
                q.push(", ").arg(Arg::Int(sev_rank(f.severity)));
                q.push(", ").arg(Arg::Int(i64::from(f.score)));
                q.push(", ").arg(Arg::OptText(f.path.as_ref().map(|p| p.lossy().into_owned())));
                q.push(", ").arg(Arg::OptInt(f.time.map(ms)));
                q.push(", ").arg(Arg::OptText(f.message.clone()));
                q.push(", ").arg(Arg::Text(evidence));
                q.push(", ").arg(Arg::Text(body)).push(")");
            }
            bind_all(sqlx::query(&q.text), &q.args)
                .execute(&mut *tx)
                .await
                .map_err(db("ingest findings"))?;
        }
        if let Some(d) = directive {
            let answer = RunAnswer {
                directive: d,
                host_id: host.id,
                org_id: host.org_id,
                host_name: &host.name,
                run_pk,
                run_id: &report.run_id,
                findings: i64::try_from(report.findings.len()).unwrap_or(i64::MAX),
                affected: report.summary.has_findings(),
                verdicts: verdicts_json(&report.summary),
                at_ms: ms(now),
            };
            rollup_run(&mut tx, &answer).await.map_err(db("ingest roll-up"))?;
        }
        sqlx::query("UPDATE hosts SET last_seen_ms = $1 WHERE id = $2")
            .bind(ms(now))
            .bind(host.id)
            .execute(&mut *tx)
            .await
            .map_err(db("ingest"))?;
        tx.commit().await.map_err(db("ingest commit"))?;
        Ok(Ingested { id: run_pk, run_id: report.run_id.clone(), duplicate: false })
    }

    async fn list_runs(&self, org: i64, host: Option<i64>, limit: i64) -> Result<Vec<Run>> {
        let mut q = Sql::default();
        q.push(&format!("SELECT {RUN_COLS} FROM runs r JOIN hosts h ON h.id = r.host_id "));
        q.push("WHERE r.org_id = ").arg(Arg::Int(org));
        if let Some(h) = host {
            q.push(" AND r.host_id = ").arg(Arg::Int(h));
        }
        q.push(" ORDER BY r.finished_ms DESC, r.id DESC LIMIT ").arg(Arg::Int(limit.max(1)));
        let rows = bind_all(sqlx::query(&q.text), &q.args)
            .fetch_all(&self.pool)
            .await
            .map_err(db("list runs"))?;
        rows.iter().map(run_of).collect()
    }

    async fn get_run(&self, org: i64, run: i64) -> Result<Option<Run>> {
        let row = sqlx::query(&format!(
            "SELECT {RUN_COLS} FROM runs r JOIN hosts h ON h.id = r.host_id \
             WHERE r.id = $1 AND r.org_id = $2"
        ))
        .bind(run)
        .bind(org)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("read run"))?;
        row.as_ref().map(run_of).transpose()
    }

    async fn run_report(&self, org: i64, run: i64) -> Result<Option<Report>> {
        let row = sqlx::query("SELECT report FROM runs WHERE id = $1 AND org_id = $2")
            .bind(run)
            .bind(org)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("read report"))?;
        let Some(row) = row else { return Ok(None) };
        let text: String = row.try_get("report").map_err(db("read report"))?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| StoreError::Corrupt { what: "runs.report", reason: e.to_string() })
    }

    async fn list_findings(&self, org: i64, filter: &FindingFilter) -> Result<Vec<FindingRow>> {
        let mut q = Sql::default();
        q.push(
            "SELECT f.id, f.run_pk, f.host_id, h.name AS host_name, f.body FROM findings f \
             JOIN hosts h ON h.id = f.host_id WHERE f.org_id = ",
        )
        .arg(Arg::Int(org));
        if let Some(r) = filter.run_pk {
            q.push(" AND f.run_pk = ").arg(Arg::Int(r));
        }
        if let Some(h) = filter.host_id {
            q.push(" AND f.host_id = ").arg(Arg::Int(h));
        }
        if let Some(h) = filter.host.as_deref().filter(|s| !s.is_empty()) {
            q.push(" AND LOWER(h.name) LIKE ").arg(Arg::Text(like_pattern(h))).push(" ESCAPE '\\'");
        }
        if let Some(r) = filter.rule.as_deref().filter(|s| !s.is_empty()) {
            q.push(" AND (LOWER(f.rule_id) LIKE ").arg(Arg::Text(like_pattern(r)));
            q.push(" ESCAPE '\\' OR LOWER(f.rule_name) LIKE ").arg(Arg::Text(like_pattern(r)));
            q.push(" ESCAPE '\\')");
        }
        if let Some(s) = filter.min_severity {
            q.push(" AND f.severity >= ").arg(Arg::Int(sev_rank(s)));
        }
        let limit = if filter.limit <= 0 { 1000 } else { filter.limit };
        q.push(" ORDER BY f.severity DESC, f.id LIMIT ").arg(Arg::Int(limit));
        q.push(" OFFSET ").arg(Arg::Int(filter.offset.max(0)));
        let rows = bind_all(sqlx::query(&q.text), &q.args)
            .fetch_all(&self.pool)
            .await
            .map_err(db("list findings"))?;
        rows.iter().map(finding_of).collect()
    }

    async fn get_finding(&self, org: i64, finding: i64) -> Result<Option<FindingRow>> {
        let row = sqlx::query(
            "SELECT f.id, f.run_pk, f.host_id, h.name AS host_name, f.body FROM findings f \
             JOIN hosts h ON h.id = f.host_id WHERE f.id = $1 AND f.org_id = $2",
        )
        .bind(finding)
        .bind(org)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("read finding"))?;
        row.as_ref().map(finding_of).transpose()
    }

    async fn create_directive(&self, d: &NewDirective, now: DateTime<Utc>) -> Result<Directive> {
        let mut tx = self.pool.begin().await.map_err(db("create directive"))?;
        let row = sqlx::query(
            "INSERT INTO directives (name, command, bundle, deadline_ms, created_ms, verb, \
             document, signature) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(d.name.clone())
        .bind(d.command.clone())
        .bind(d.bundle.clone())
        .bind(ms(d.deadline))
        .bind(ms(now))
        .bind(d.verb.clone())
        .bind(d.document.clone())
        .bind(d.signature.clone())
        .fetch_one(&mut *tx)
        .await
        .map_err(db("create directive"))?;
        let id: i64 = row.try_get("id").map_err(db("create directive"))?;
        let mut orgs = d.orgs.clone();
        orgs.sort_unstable();
        orgs.dedup();
        for org in &orgs {
            sqlx::query("INSERT INTO directive_orgs (directive_id, org_id) VALUES ($1, $2)")
                .bind(id)
                .bind(*org)
                .execute(&mut *tx)
                .await
                .map_err(db("create directive"))?;
        }
        tx.commit().await.map_err(db("create directive"))?;
        Ok(Directive {
            id,
            name: d.name.clone(),
            verb: d.verb.clone(),
            command: d.command.clone(),
            document: d.document.clone(),
            signature: d.signature.clone(),
            bundle: d.bundle.clone(),
            deadline: from_ms(ms(d.deadline)),
            created: from_ms(ms(now)),
            closed: None,
            orgs,
        })
    }

    async fn list_directives(&self, org: i64) -> Result<Vec<Directive>> {
        let rows = sqlx::query(&format!(
            "SELECT {DIRECTIVE_COLS} FROM directives d JOIN directive_orgs o \
             ON o.directive_id = d.id WHERE o.org_id = $1 ORDER BY d.created_ms DESC, d.id DESC"
        ))
        .bind(org)
        .fetch_all(&self.pool)
        .await
        .map_err(db("list directives"))?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.directive_of(r).await?);
        }
        Ok(out)
    }

    async fn get_directive(&self, org: i64, directive: i64) -> Result<Option<Directive>> {
        let row = sqlx::query(&format!(
            "SELECT {DIRECTIVE_COLS} FROM directives d JOIN directive_orgs o \
             ON o.directive_id = d.id WHERE d.id = $1 AND o.org_id = $2"
        ))
        .bind(directive)
        .bind(org)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("read directive"))?;
        match row {
            Some(r) => Ok(Some(self.directive_of(&r).await?)),
            None => Ok(None),
        }
    }

    async fn pending_directives(&self, host: &Host) -> Result<Vec<Directive>> {
        let rows = sqlx::query(&format!(
            "SELECT {DIRECTIVE_COLS} FROM directives d JOIN directive_orgs o \
             ON o.directive_id = d.id WHERE o.org_id = $1 AND d.closed_ms IS NULL \
             AND NOT EXISTS (SELECT 1 FROM directive_results x WHERE x.directive_id = d.id \
                 AND x.host_id = $2) \
             AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.directive_id = d.id AND r.host_id = $2) \
             ORDER BY d.created_ms, d.id"
        ))
        .bind(host.org_id)
        .bind(host.id)
        .fetch_all(&self.pool)
        .await
        .map_err(db("pending directives"))?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.directive_of(r).await?);
        }
        Ok(out)
    }

    async fn record_outcome(
        &self,
        host: &Host,
        directive: i64,
        outcome: &DirectiveOutcome,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if !self.directive_applies(directive, host.org_id).await? {
            return Err(StoreError::Conflict { what: "no such directive; an answer" });
        }
        let mut tx = self.pool.begin().await.map_err(db("record directive outcome"))?;
        sqlx::query(
            "INSERT INTO directive_results (directive_id, host_id, state, exit_code, message, \
             run_id, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (directive_id, host_id) DO UPDATE SET state = excluded.state, \
             exit_code = excluded.exit_code, message = excluded.message, \
             run_id = excluded.run_id, updated_ms = excluded.updated_ms",
        )
        .bind(directive)
        .bind(host.id)
        .bind(if outcome.errored { "errored" } else { "ran" })
        .bind(outcome.exit_code)
        .bind(outcome.message.clone())
        .bind(outcome.run_id.clone())
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .map_err(db("record directive outcome"))?;
        let answer = OutcomeAnswer {
            directive,
            host_id: host.id,
            org_id: host.org_id,
            host_name: &host.name,
            outcome,
            at_ms: ms(now),
        };
        rollup_outcome(&mut tx, &answer).await.map_err(db("record directive outcome"))?;
        tx.commit().await.map_err(db("record directive outcome"))?;
        Ok(())
    }

    async fn directive_status(
        &self,
        org: i64,
        directive: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<DirectiveStatus>> {
        let Some(d) = self.get_directive(org, directive).await? else { return Ok(None) };
        let hosts = self.list_hosts(org, None).await?;
        let g = |e| StoreError::Database { op: "directive status", source: e };
        // Runs answering the directive, oldest first.
        let runs = sqlx::query(
            "SELECT id, host_id, findings, received_ms FROM runs \
             WHERE directive_id = $1 AND org_id = $2 ORDER BY received_ms, id",
        )
        .bind(directive)
        .bind(org)
        .fetch_all(&self.pool)
        .await
        .map_err(g)?;
        let results = sqlx::query(
            "SELECT x.host_id, x.state, x.message, x.updated_ms FROM directive_results x \
             JOIN hosts h ON h.id = x.host_id WHERE x.directive_id = $1 AND h.org_id = $2",
        )
        .bind(directive)
        .bind(org)
        .fetch_all(&self.pool)
        .await
        .map_err(g)?;

        let mut acc: BTreeMap<i64, Acc> = BTreeMap::new();
        let mut events = Vec::new();
        for r in &runs {
            let id: i64 = r.try_get("id").map_err(g)?;
            let host_id: i64 = r.try_get("host_id").map_err(g)?;
            let findings: i64 = r.try_get("findings").map_err(g)?;
            let at: i64 = r.try_get("received_ms").map_err(g)?;
            let a = acc.entry(host_id).or_default();
            if let Some((_, prev, _)) = a.latest
                && prev > 0
            {
                a.ever_affected = true;
            }
            a.latest = Some((id, findings, at));
            let status = if findings > 0 { HostStatus::Affected } else { HostStatus::Clean };
            events.push(StatusEvent { at: from_ms(at), host_id, status });
        }
        for r in &results {
            let host_id: i64 = r.try_get("host_id").map_err(g)?;
            let state: String = r.try_get("state").map_err(g)?;
            let at: i64 = r.try_get("updated_ms").map_err(g)?;
            if state == "errored" {
                let message: Option<String> = r.try_get("message").map_err(g)?;
                acc.entry(host_id).or_default().errored = Some((message, at));
                events.push(StatusEvent { at: from_ms(at), host_id, status: HostStatus::Errored });
            }
        }
        events.sort_by(|a, b| a.at.cmp(&b.at).then(a.host_id.cmp(&b.host_id)));
        let late = now > d.deadline;
        let mut lines: Vec<DirectiveHost> = hosts
            .into_iter()
            .map(|h| {
                let a = acc.remove(&h.id).unwrap_or_default();
                let mut line = DirectiveHost {
                    host_id: h.id,
                    host_name: h.name,
                    status: if late { HostStatus::Missing } else { HostStatus::Pending },
                    run_pk: None,
                    findings: 0,
                    fixed: false,
                    answered: None,
                    message: None,
                };
                if let Some((run, findings, at)) = a.latest {
                    line.status =
                        if findings > 0 { HostStatus::Affected } else { HostStatus::Clean };
                    line.run_pk = Some(run);
                    line.findings = findings;
                    line.fixed = a.ever_affected && findings == 0;
                    line.answered = Some(from_ms(at));
                } else if let Some((message, at)) = a.errored {
                    line.status = HostStatus::Errored;
                    line.message = message;
                    line.answered = Some(from_ms(at));
                }
                line
            })
            .collect();
        lines.sort_by(|a, b| a.status.cmp(&b.status).then_with(|| a.host_name.cmp(&b.host_name)));
        Ok(Some(DirectiveStatus { directive: d, hosts: lines, events }))
    }

    // Signed directives (fleet-trust).

    async fn org_directive_key(&self, org: i64) -> Result<Option<String>> {
        let row = sqlx::query("SELECT directive_key FROM organisations WHERE id = $1")
            .bind(org)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("read directive key"))?;
        match row {
            Some(r) => r.try_get("directive_key").map_err(db("read directive key")),
            None => Ok(None),
        }
    }

    async fn set_org_directive_key(&self, org: i64, key: Option<&str>) -> Result<bool> {
        let done = sqlx::query("UPDATE organisations SET directive_key = $1 WHERE id = $2")
            .bind(key.map(str::to_owned))
            .bind(org)
            .execute(&self.pool)
            .await
            .map_err(db("set directive key"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_all_directives(&self) -> Result<Vec<Directive>> {
        let rows = sqlx::query(&format!(
            "SELECT {DIRECTIVE_COLS} FROM directives d ORDER BY d.created_ms DESC, d.id DESC"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(db("list directives"))?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.directive_of(r).await?);
        }
        Ok(out)
    }

    async fn get_directive_any(&self, directive: i64) -> Result<Option<Directive>> {
        let row =
            sqlx::query(&format!("SELECT {DIRECTIVE_COLS} FROM directives d WHERE d.id = $1"))
                .bind(directive)
                .fetch_optional(&self.pool)
                .await
                .map_err(db("read directive"))?;
        match row {
            Some(r) => Ok(Some(self.directive_of(&r).await?)),
            None => Ok(None),
        }
    }

    async fn close_directive(&self, directive: i64, now: DateTime<Utc>) -> Result<bool> {
        let done =
            sqlx::query("UPDATE directives SET closed_ms = $1 WHERE id = $2 AND closed_ms IS NULL")
                .bind(ms(now))
                .bind(directive)
                .execute(&self.pool)
                .await
                .map_err(db("close directive"))?;
        if done.rows_affected() > 0 {
            return Ok(true);
        }
        Ok(self.get_directive_any(directive).await?.is_some())
    }

    // Directive roll-up at scale (fleet-ui).
    async fn rollup_summary(
        &self,
        org: i64,
        directive: i64,
        now: DateTime<Utc>,
        buckets: usize,
    ) -> Result<Option<RollupSummary>> {
        let Some(times) = self.rollup_times(org, directive).await? else { return Ok(None) };
        let g = |e| StoreError::Database { op: "directive roll-up counts", source: e };
        let hosts: i64 = sqlx::query("SELECT COUNT(*) AS n FROM hosts WHERE org_id = $1")
            .bind(org)
            .fetch_one(&self.pool)
            .await
            .and_then(|r| r.try_get("n"))
            .map_err(g)?;
        let n = i64::try_from(buckets.clamp(1, 100)).unwrap_or(1);
        let start = times.created_ms;
        let span = ms(now).saturating_sub(start).max(1);
        let width = (span / n).max(1);
        let rows = sqlx::query(
            "SELECT status, (answered_ms - $3) / $4 AS b, COUNT(*) AS n FROM directive_hosts \
             WHERE directive_id = $1 AND org_id = $2 AND status IS NOT NULL GROUP BY 1, 2",
        )
        .bind(directive)
        .bind(org)
        .bind(start)
        .bind(width)
        .fetch_all(&self.pool)
        .await
        .map_err(g)?;
        // answered[bucket][status]
        let mut answered: Vec<BTreeMap<HostStatus, i64>> =
            vec![BTreeMap::new(); usize::try_from(n).unwrap_or(1)];
        let mut counts: BTreeMap<HostStatus, i64> =
            HostStatus::ALL.iter().map(|s| (*s, 0)).collect();
        for r in &rows {
            let code: String = r.try_get("status").map_err(g)?;
            let bucket: Option<i64> = r.try_get("b").map_err(g)?;
            let c: i64 = r.try_get("n").map_err(g)?;
            let status = HostStatus::from_code(&code).ok_or_else(|| StoreError::Corrupt {
                what: "directive_hosts.status",
                reason: code,
            })?;
            *counts.entry(status).or_default() += c;
            let i = bucket.unwrap_or(n - 1).clamp(0, n - 1);
            if let Some(slot) = usize::try_from(i).ok().and_then(|i| answered.get_mut(i)) {
                *slot.entry(status).or_default() += c;
            }
        }
        let silent = if now > times.deadline { HostStatus::Missing } else { HostStatus::Pending };
        let total_answered: i64 = counts.values().sum();
        *counts.entry(silent).or_default() += (hosts - total_answered).max(0);
        let mut over_time = Vec::with_capacity(answered.len());
        let mut running: BTreeMap<HostStatus, i64> = BTreeMap::new();
        for (i, bucket) in answered.iter().enumerate() {
            for (st, c) in bucket {
                *running.entry(*st).or_default() += c;
            }
            let i = i64::try_from(i).unwrap_or(0) + 1;
            let end = from_ms(if i == n { ms(now) } else { start.saturating_add(width * i) });
            let mut col = running.clone();
            let so_far: i64 = col.values().sum();
            col.insert(HostStatus::Pending, (hosts - so_far).max(0));
            over_time.push((end, col));
        }
        Ok(Some(RollupSummary { hosts, counts, over_time }))
    }

    async fn rollup_page(
        &self,
        org: i64,
        directive: i64,
        query: &RollupQuery,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<RollupRow>>> {
        let Some(times) = self.rollup_times(org, directive).await? else { return Ok(None) };
        let late = now > times.deadline;
        let limit = query.limit.clamp(1, 1000);
        let mut q = Sql::default();
        match query.status {
            // Hosts that answered with this status: from the roll-up's own index.
            Some(
                st @ (HostStatus::Affected
                | HostStatus::Clean
                | HostStatus::Fixed
                | HostStatus::Errored),
            ) => {
                q.push(
                    "SELECT s.host_id, s.host_name, s.org_id, s.status, s.run_pk, s.run_id, \
                     s.findings, s.answered_ms, s.exit_code, s.message, s.verdicts \
                     FROM directive_hosts s WHERE s.directive_id = ",
                )
                .arg(Arg::Int(directive));
                q.push(" AND s.org_id = ").arg(Arg::Int(org));
                q.push(" AND s.status = ").arg(Arg::Text(st.code().to_owned()));
                if let Some(n) = query.name.as_deref().filter(|n| !n.is_empty()) {
                    q.push(" AND LOWER(s.host_name) LIKE ")
                        .arg(Arg::Text(like_pattern(n)))
                        .push(" ESCAPE '\\'");
                }
                if let Some(c) = &query.after {
                    q.push(" AND (s.host_name, s.host_id) > (").arg(Arg::Text(c.host_name.clone()));
                    q.push(", ").arg(Arg::Int(c.host_id)).push(")");
                }
                q.push(" ORDER BY s.host_name, s.host_id LIMIT ").arg(Arg::Int(limit));
            }
            Some(HostStatus::Pending) if late => return Ok(Some(Vec::new())),
            Some(HostStatus::Missing) if !late => return Ok(Some(Vec::new())),
            // Every host, or those that have not answered: from the organisation's hosts.
            other => {
                q.push(
                    "SELECT h.id AS host_id, h.name AS host_name, h.org_id, s.status, s.run_pk, \
                     s.run_id, s.findings, s.answered_ms, s.exit_code, s.message, s.verdicts \
                     FROM hosts h LEFT JOIN directive_hosts s ON s.directive_id = ",
                )
                .arg(Arg::Int(directive));
                q.push(" AND s.host_id = h.id WHERE h.org_id = ").arg(Arg::Int(org));
                if other.is_some() {
                    // A correlated subquery, not `s.status IS NULL`: PostgreSQL turns the
                    // latter into a hash join over every answer, while this walks the hosts
                    // in name order and probes the primary key until the page is full.
                    q.push(" AND (SELECT x.status FROM directive_hosts x WHERE x.directive_id = ")
                        .arg(Arg::Int(directive))
                        .push(" AND x.host_id = h.id) IS NULL");
                }
                if let Some(n) = query.name.as_deref().filter(|n| !n.is_empty()) {
                    q.push(" AND LOWER(h.name) LIKE ")
                        .arg(Arg::Text(like_pattern(n)))
                        .push(" ESCAPE '\\'");
                }
                if let Some(c) = &query.after {
                    q.push(" AND (h.name, h.id) > (").arg(Arg::Text(c.host_name.clone()));
                    q.push(", ").arg(Arg::Int(c.host_id)).push(")");
                }
                q.push(" ORDER BY h.name, h.id LIMIT ").arg(Arg::Int(limit));
            }
        }
        let rows = bind_all(sqlx::query(&q.text), &q.args)
            .fetch_all(&self.pool)
            .await
            .map_err(db("directive roll-up page"))?;
        let silent = if late { HostStatus::Missing } else { HostStatus::Pending };
        rows.iter().map(|r| rollup_row_of(r, silent)).collect::<Result<Vec<_>>>().map(Some)
    }
}

// Directive roll-up at scale (fleet-ui): the rows of `directive_hosts` are written with the
// run or outcome that changes them, in the same transaction.

/// A run that answers a directive, as the roll-up records it.
struct RunAnswer<'a> {
    directive: i64,
    host_id: i64,
    org_id: i64,
    host_name: &'a str,
    run_pk: i64,
    run_id: &'a str,
    findings: i64,
    /// The run decides exit status 1: a finding, or for `check` a campaign affected.
    affected: bool,
    verdicts: Option<String>,
    at_ms: i64,
}

/// An agent's outcome for a directive, as the roll-up records it.
struct OutcomeAnswer<'a> {
    directive: i64,
    host_id: i64,
    org_id: i64,
    host_name: &'a str,
    outcome: &'a DirectiveOutcome,
    at_ms: i64,
}

/// The verdicts of a `check` run as a JSON object campaign → verdict, or `None`.
fn verdicts_json(summary: &ferret_core::Summary) -> Option<String> {
    let list = summary.details.get("verdicts")?.as_array()?;
    let map: BTreeMap<&str, &str> = list
        .iter()
        .filter_map(|v| Some((v.get("campaign")?.as_str()?, v.get("verdict")?.as_str()?)))
        .collect();
    serde_json::to_string(&map).ok()
}

/// Records a run as the host's latest answer: its status is `affected`, or `fixed` when an
/// earlier run was affected, else `clean`. A single statement, so two collectors ingesting
/// for the same host cannot lose the earlier state.
async fn rollup_run(conn: &mut sqlx::AnyConnection, a: &RunAnswer<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO directive_hosts (directive_id, host_id, org_id, host_name, status, run_pk, \
         run_id, findings, prior_affected, answered_ms, verdicts, errored) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, 0) \
         ON CONFLICT (directive_id, host_id) DO UPDATE SET \
         prior_affected = CASE WHEN directive_hosts.run_pk IS NOT NULL \
             AND directive_hosts.status = 'affected' THEN 1 ELSE directive_hosts.prior_affected END, \
         status = CASE WHEN excluded.status = 'affected' THEN 'affected' \
             WHEN directive_hosts.prior_affected = 1 OR (directive_hosts.run_pk IS NOT NULL \
                 AND directive_hosts.status = 'affected') THEN 'fixed' \
             ELSE 'clean' END, \
         run_pk = excluded.run_pk, run_id = excluded.run_id, findings = excluded.findings, \
         answered_ms = excluded.answered_ms, verdicts = excluded.verdicts",
    )
    .bind(a.directive)
    .bind(a.host_id)
    .bind(a.org_id)
    .bind(a.host_name.to_owned())
    .bind(if a.affected { "affected" } else { "clean" })
    .bind(a.run_pk)
    .bind(a.run_id.to_owned())
    .bind(a.findings)
    .bind(a.at_ms)
    .bind(a.verdicts.clone())
    .execute(conn)
    .await?;
    Ok(())
}

/// Records an agent's outcome: `errored` decides the status only while no run answered;
/// the exit code and message are kept either way.
async fn rollup_outcome(
    conn: &mut sqlx::AnyConnection,
    a: &OutcomeAnswer<'_>,
) -> Result<(), sqlx::Error> {
    let errored = a.outcome.errored;
    sqlx::query(
        "INSERT INTO directive_hosts (directive_id, host_id, org_id, host_name, status, run_id, \
         findings, prior_affected, answered_ms, errored, exit_code, message) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, 0, $7, $8, $9, $10) \
         ON CONFLICT (directive_id, host_id) DO UPDATE SET \
         errored = excluded.errored, exit_code = excluded.exit_code, message = excluded.message, \
         status = CASE WHEN directive_hosts.run_pk IS NOT NULL THEN directive_hosts.status \
             ELSE excluded.status END, \
         run_id = CASE WHEN directive_hosts.run_pk IS NOT NULL THEN directive_hosts.run_id \
             ELSE excluded.run_id END, \
         answered_ms = CASE WHEN directive_hosts.run_pk IS NOT NULL \
             THEN directive_hosts.answered_ms ELSE excluded.answered_ms END",
    )
    .bind(a.directive)
    .bind(a.host_id)
    .bind(a.org_id)
    .bind(a.host_name.to_owned())
    .bind(errored.then_some("errored"))
    .bind(a.outcome.run_id.clone())
    .bind(errored.then_some(a.at_ms))
    .bind(i64::from(errored))
    .bind(a.outcome.exit_code)
    .bind(a.outcome.message.clone())
    .execute(conn)
    .await?;
    Ok(())
}

/// Fills `directive_hosts` from the runs and outcomes stored before it existed, replaying
/// them in the order they arrived (runs in pages, so memory stays bounded).
async fn backfill_rollup(conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
    let mut after = (i64::MIN, i64::MIN);
    loop {
        let rows = sqlx::query(
            "SELECT r.id, r.host_id, r.org_id, h.name, r.directive_id, r.run_id, r.findings, \
             r.received_ms, r.report FROM runs r JOIN hosts h ON h.id = r.host_id \
             WHERE r.directive_id IS NOT NULL AND (r.received_ms, r.id) > ($1, $2) \
             ORDER BY r.received_ms, r.id LIMIT 500",
        )
        .bind(after.0)
        .bind(after.1)
        .fetch_all(&mut *conn)
        .await?;
        let Some(last) = rows.last() else { break };
        after = (last.try_get("received_ms")?, last.try_get("id")?);
        for r in &rows {
            let text: String = r.try_get("report")?;
            let findings: i64 = r.try_get("findings")?;
            let (affected, verdicts) = match serde_json::from_str::<Report>(&text) {
                Ok(rep) => (rep.summary.has_findings(), verdicts_json(&rep.summary)),
                Err(_) => (findings > 0, None),
            };
            let name: String = r.try_get("name")?;
            let run_id: String = r.try_get("run_id")?;
            let answer = RunAnswer {
                directive: r.try_get("directive_id")?,
                host_id: r.try_get("host_id")?,
                org_id: r.try_get("org_id")?,
                host_name: &name,
                run_pk: r.try_get("id")?,
                run_id: &run_id,
                findings,
                affected,
                verdicts,
                at_ms: r.try_get("received_ms")?,
            };
            rollup_run(&mut *conn, &answer).await?;
        }
    }
    let outcomes = sqlx::query(
        "SELECT x.directive_id, x.host_id, h.org_id, h.name, x.state, x.exit_code, x.message, \
         x.run_id, x.updated_ms FROM directive_results x JOIN hosts h ON h.id = x.host_id \
         ORDER BY x.updated_ms",
    )
    .fetch_all(&mut *conn)
    .await?;
    for r in &outcomes {
        let state: String = r.try_get("state")?;
        let outcome = DirectiveOutcome {
            errored: state == "errored",
            exit_code: r.try_get("exit_code")?,
            message: r.try_get("message")?,
            run_id: r.try_get("run_id")?,
        };
        let name: String = r.try_get("name")?;
        let answer = OutcomeAnswer {
            directive: r.try_get("directive_id")?,
            host_id: r.try_get("host_id")?,
            org_id: r.try_get("org_id")?,
            host_name: &name,
            outcome: &outcome,
            at_ms: r.try_get("updated_ms")?,
        };
        rollup_outcome(&mut *conn, &answer).await?;
    }
    Ok(())
}

/// A directive's creation time and deadline, if it applies to the organisation.
struct RollupTimes {
    created_ms: i64,
    deadline: DateTime<Utc>,
}

fn rollup_row_of(r: &AnyRow, silent: HostStatus) -> Result<RollupRow> {
    let g = |e| StoreError::Database { op: "read directive roll-up", source: e };
    let code: Option<String> = r.try_get("status").map_err(g)?;
    let status = match code {
        Some(c) => HostStatus::from_code(&c)
            .ok_or_else(|| StoreError::Corrupt { what: "directive_hosts.status", reason: c })?,
        None => silent,
    };
    let decided = !matches!(status, HostStatus::Pending | HostStatus::Missing);
    let answered: Option<i64> = r.try_get("answered_ms").map_err(g)?;
    let verdicts: Option<String> = r.try_get("verdicts").map_err(g)?;
    Ok(RollupRow {
        host_id: r.try_get("host_id").map_err(g)?,
        host_name: r.try_get("host_name").map_err(g)?,
        org_id: r.try_get("org_id").map_err(g)?,
        status,
        findings: r.try_get::<Option<i64>, _>("findings").map_err(g)?.unwrap_or(0),
        answered: answered.filter(|_| decided).map(from_ms),
        run_pk: r.try_get("run_pk").map_err(g)?,
        run_id: r.try_get("run_id").map_err(g)?,
        exit_code: r.try_get("exit_code").map_err(g)?,
        message: r.try_get("message").map_err(g)?,
        verdicts: verdicts.and_then(|v| serde_json::from_str(&v).ok()).unwrap_or_default(),
    })
}

impl SqlStore {
    async fn rollup_times(&self, org: i64, directive: i64) -> Result<Option<RollupTimes>> {
        let row = sqlx::query(
            "SELECT d.created_ms, d.deadline_ms FROM directives d JOIN directive_orgs o \
             ON o.directive_id = d.id WHERE d.id = $1 AND o.org_id = $2",
        )
        .bind(directive)
        .bind(org)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("read directive"))?;
        let Some(row) = row else { return Ok(None) };
        let g = |e| StoreError::Database { op: "read directive", source: e };
        Ok(Some(RollupTimes {
            created_ms: row.try_get("created_ms").map_err(g)?,
            deadline: from_ms(row.try_get("deadline_ms").map_err(g)?),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_pattern_makes_wildcards_literal() {
        assert_eq!(like_pattern("a%b_c\\"), "%a\\%b\\_c\\\\%");
        assert_eq!(like_pattern("ABC"), "%abc%");
    }

    #[test]
    fn statements_drop_comments_and_split() {
        let s = statements("-- c;\nCREATE TABLE a (x INTEGER);\n\nCREATE TABLE b (y TEXT)\n");
        assert_eq!(s.len(), 2);
    }
}
