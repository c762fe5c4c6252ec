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
    HostStatus, Ingested, NewDirective, Org, Role, Run, Session, StatusEvent, User,
};
use crate::{Result, Store, StoreError};

/// Which SQL dialect the DDL is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

const SQLITE_MIGRATIONS: &[(i64, &str)] =
    &[(1, include_str!("../migrations/sqlite/0001_init.sql"))];
const POSTGRES_MIGRATIONS: &[(i64, &str)] =
    &[(1, include_str!("../migrations/postgres/0001_init.sql"))];

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
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    args: &[Arg],
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    for a in args {
        q = match a {
            Arg::Int(v) => q.bind(*v),
            Arg::Text(v) => q.bind(v.clone()),
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
                // A pooled connection is checked before use, so one broken by a database
                // restart is replaced rather than handed out; ingest also retries a
                // transaction whose connection broke (`INGEST_RETRIES`).
                opts = opts.max_connections(8).test_before_acquire(true);
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
        Ok(Directive {
            id,
            name: row.try_get("name").map_err(g)?,
            command: row.try_get("command").map_err(g)?,
            bundle: row.try_get("bundle").map_err(g)?,
            deadline: from_ms(row.try_get("deadline_ms").map_err(g)?),
            created: from_ms(row.try_get("created_ms").map_err(g)?),
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

const DIRECTIVE_COLS: &str = "d.id, d.name, d.command, d.bundle, d.deadline_ms, d.created_ms";

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
        // A connection broken under the transaction (the database restarted, a backend
        // was terminated) is retried on a fresh one: the transaction never committed, or
        // it did and the retry finds the run and answers it as a duplicate, so the run is
        // stored exactly once either way.
        let mut attempt = 0u32;
        loop {
            match self.ingest_once(host, report, directive, now).await {
                Err(StoreError::Database { source, .. })
                    if attempt < INGEST_RETRIES && is_connection_lost(&source) =>
                {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100 << attempt)).await;
                }
                other => return other,
            }
        }
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
        let row = sqlx::query("SELECT report, findings FROM runs WHERE id = $1 AND org_id = $2")
            .bind(run)
            .bind(org)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("read report"))?;
        let Some(row) = row else { return Ok(None) };
        let text: String = row.try_get("report").map_err(db("read report"))?;
        let count: i64 = row.try_get("findings").map_err(db("read report"))?;
        let mut report: Report = serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt { what: "runs.report", reason: e.to_string() })?;
        if report.findings.is_empty() && count > 0 {
            // Stored once, as the rows of `findings` (see `StoredReport`).
            let rows = sqlx::query("SELECT body FROM findings WHERE run_pk = $1 ORDER BY id")
                .bind(run)
                .fetch_all(&self.pool)
                .await
                .map_err(db("read report findings"))?;
            report.findings = rows
                .iter()
                .map(|r| {
                    let body: String = r.try_get("body").map_err(db("read report findings"))?;
                    serde_json::from_str(&body).map_err(|e| StoreError::Corrupt {
                        what: "findings.body",
                        reason: e.to_string(),
                    })
                })
                .collect::<Result<_>>()?;
        }
        Ok(Some(report))
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
            "INSERT INTO directives (name, command, bundle, deadline_ms, created_ms) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(d.name.clone())
        .bind(d.command.clone())
        .bind(d.bundle.clone())
        .bind(ms(d.deadline))
        .bind(ms(now))
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
            command: d.command.clone(),
            bundle: d.bundle.clone(),
            deadline: from_ms(ms(d.deadline)),
            created: from_ms(ms(now)),
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
             ON o.directive_id = d.id WHERE o.org_id = $1 \
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
        .execute(&self.pool)
        .await
        .map_err(db("record directive outcome"))?;
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

    // Hardening: expired sessions swept.
    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_ms <= $1")
            .bind(ms(now))
            .execute(&self.pool)
            .await
            .map_err(db("sweep sessions"))?;
        Ok(done.rows_affected())
    }
}

// Ingest: retried on a lost connection, one transaction per run.
/// Columns of a finding row, in the order [`findings_insert_sql`] binds them.
const FINDING_COLUMNS: usize = 13;

/// What `runs.report` holds: the report without its findings, which are stored once, as
/// the `body` of their rows in `findings`, and put back in id order by `run_report` (a run
/// stored with its findings inside `runs.report` reads back the same). Serializes exactly
/// as [`Report`] does with an empty `findings` (a unit test compares the two).
#[derive(serde::Serialize)]
struct StoredReport<'a> {
    schema_version: u32,
    tool: &'a ferret_report::ToolInfo,
    verb: &'a str,
    run_id: &'a str,
    host: &'a str,
    targets: &'a [String],
    started: DateTime<Utc>,
    finished: DateTime<Utc>,
    findings: &'a [Finding],
    problems: &'a [ferret_core::Problem],
    problems_dropped: u64,
    summary: &'a ferret_core::Summary,
}

impl<'a> StoredReport<'a> {
    fn of(r: &'a Report) -> StoredReport<'a> {
        let Report {
            schema_version,
            tool,
            verb,
            run_id,
            host,
            targets,
            started,
            finished,
            findings: _,
            problems,
            problems_dropped,
            summary,
        } = r;
        StoredReport {
            schema_version: *schema_version,
            tool,
            verb,
            run_id,
            host,
            targets,
            started: *started,
            finished: *finished,
            findings: &[],
            problems,
            problems_dropped: *problems_dropped,
            summary,
        }
    }
}

/// `INSERT INTO findings (…) VALUES ($1, …), …` for `rows` rows; on SQLite with anonymous
/// `?` placeholders instead (bound in the same order): SQLite finds a numbered parameter's
/// name by a linear scan, so binding 1,300 `$N` made the insert quadratic (60% of the
/// collector's CPU on SQLite in a profile).
fn findings_insert_sql(backend: Backend, rows: usize) -> String {
    let mut q = String::with_capacity(160 + rows * FINDING_COLUMNS * 6);
    q.push_str(
        "INSERT INTO findings (run_pk, org_id, host_id, engine, rule_id, rule_name, \
         severity, score, path, time_ms, message, evidence, body) VALUES ",
    );
    for row in 0..rows {
        q.push_str(if row == 0 { "(" } else { ", (" });
        for col in 0..FINDING_COLUMNS {
            let sep = if col == 0 { "" } else { ", " };
            match backend {
                Backend::Sqlite => {
                    let _ = write!(q, "{sep}?");
                }
                Backend::Postgres => {
                    let _ = write!(q, "{sep}${}", row * FINDING_COLUMNS + col + 1);
                }
            }
        }
        q.push(')');
    }
    q
}

/// Attempts after the first when the connection to the database is lost mid-ingest
/// (0.2 s, 0.4 s, 0.8 s, 1.6 s, 3.2 s apart: long enough for a PostgreSQL restart).
const INGEST_RETRIES: u32 = 5;

/// Whether an error means the connection (not the statement) failed: I/O, a pool that
/// could not connect in time, or PostgreSQL's shutdown and connection-exception codes.
fn is_connection_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|c| {
            matches!(c.as_ref(), "57P01" | "57P02" | "57P03") || c.starts_with("08")
        }),
        _ => false,
    }
}

impl SqlStore {
    async fn ingest_once(
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
        let body = serde_json::to_string(&StoredReport::of(report))
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
        let full = findings_insert_sql(self.backend, FINDING_CHUNK);
        for chunk in report.findings.chunks(FINDING_CHUNK) {
            let partial;
            let text = if chunk.len() == FINDING_CHUNK {
                &full
            } else {
                partial = findings_insert_sql(self.backend, chunk.len());
                &partial
            };
            // Values are bound straight from the report (text borrowed, not copied); the
            // statement text is the same for every full chunk, so each connection prepares
            // it once.
            let mut q = sqlx::query(text);
            for f in chunk {
                let evidence = serde_json::to_string(&f.evidence).unwrap_or_else(|_| "[]".into());
                let body = serde_json::to_string(f).map_err(|e| StoreError::Corrupt {
                    what: "findings.body",
                    reason: e.to_string(),
                })?;
                q = q
                    .bind(run_pk)
                    .bind(host.org_id)
                    .bind(host.id)
                    .bind(f.engine.as_str())
                    .bind(f.rule.id.as_str())
                    .bind(f.rule.name.as_str())
                    .bind(sev_rank(f.severity))
                    .bind(i64::from(f.score))
                    .bind(f.path.as_ref().map(|p| p.lossy().into_owned()))
                    .bind(f.time.map(ms))
                    .bind(f.message.as_deref())
                    .bind(evidence)
                    .bind(body);
            }
            q.execute(&mut *tx).await.map_err(db("ingest findings"))?;
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
    fn findings_insert_numbers_every_placeholder_once() {
        let q = findings_insert_sql(Backend::Postgres, 2);
        assert!(q.ends_with(
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13), \
             ($14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)"
        ));
        let full = findings_insert_sql(Backend::Postgres, FINDING_CHUNK);
        assert_eq!(full.matches('$').count(), FINDING_CHUNK * FINDING_COLUMNS);
        let lite = findings_insert_sql(Backend::Sqlite, FINDING_CHUNK);
        assert_eq!(lite.matches('?').count(), FINDING_CHUNK * FINDING_COLUMNS);
        assert!(!lite.contains('$'));
        assert!(full.contains(&format!("${})", FINDING_CHUNK * FINDING_COLUMNS)));
    }

    #[test]
    fn stored_report_is_the_report_without_findings() {
        let started = Utc.timestamp_millis_opt(1_700_000_000_000).single().unwrap();
        let mut summary = ferret_core::Summary { complete: true, ..Default::default() };
        summary.notes.push("a note".into());
        let report = Report {
            schema_version: ferret_report::SCHEMA_VERSION,
            tool: ferret_report::ToolInfo {
                name: "ferret".into(),
                version: "1".into(),
                exe_sha256: Some("ab".into()),
                ruleset_sha256: None,
            },
            verb: "scan".into(),
            run_id: "r".into(),
            host: "h".into(),
            targets: vec!["/srv".into()],
            started,
            finished: started,
            findings: vec![Finding::new(
                ferret_core::Engine::Yara,
                ferret_core::RuleRef::default(),
                Severity::High,
            )],
            problems: vec![],
            problems_dropped: 3,
            summary,
        };
        let stored = serde_json::to_string(&StoredReport::of(&report)).unwrap();
        let without = Report { findings: vec![], ..report.clone() };
        assert_eq!(stored, serde_json::to_string(&without).unwrap());
    }

    #[test]
    fn statements_drop_comments_and_split() {
        let s = statements("-- c;\nCREATE TABLE a (x INTEGER);\n\nCREATE TABLE b (y TEXT)\n");
        assert_eq!(s.len(), 2);
    }
}
