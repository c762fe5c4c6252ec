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
use crate::{DirectiveStore, Result, RollupStore, RunStore, Store, StoreError, TenancyStore};

mod directives;
mod rollup;
mod runs;
mod tenancy;

/// Which SQL dialect the DDL is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

const SQLITE_MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../../migrations/sqlite/0002_signed_directives.sql")),
    (ROLLUP_MIGRATION, include_str!("../../migrations/sqlite/0003_rollup.sql")),
    (
        ROLLUP_INCOMPLETE_MIGRATION,
        include_str!("../../migrations/sqlite/0004_rollup_incomplete.sql"),
    ),
];
const POSTGRES_MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/postgres/0001_init.sql")),
    (2, include_str!("../../migrations/postgres/0002_signed_directives.sql")),
    (ROLLUP_MIGRATION, include_str!("../../migrations/postgres/0003_rollup.sql")),
    (
        ROLLUP_INCOMPLETE_MIGRATION,
        include_str!("../../migrations/postgres/0004_rollup_incomplete.sql"),
    ),
];

/// The migration that adds `directive_hosts`; the store fills it from the runs and
/// outcomes already stored, in the same transaction (when the migration is replayed after
/// [`ROLLUP_INCOMPLETE_MIGRATION`]; otherwise that one fills it).
const ROLLUP_MIGRATION: i64 = 3;

/// The migration that adds the roll-up status `incomplete`: it empties `directive_hosts`
/// and the store refills it the same way, so hosts shown clean on an incomplete run are not.
const ROLLUP_INCOMPLETE_MIGRATION: i64 = 4;

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
                // The roll-up is filled once: by the migration that adds `incomplete`, or by
                // the one that creates the table when the later one is already recorded.
                let fill = *version == ROLLUP_INCOMPLETE_MIGRATION
                    || (*version == ROLLUP_MIGRATION
                        && done.contains(&ROLLUP_INCOMPLETE_MIGRATION));
                if fill {
                    rollup::backfill_rollup(&mut tx).await.map_err(m)?;
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
