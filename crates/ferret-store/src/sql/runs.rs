//! Runs and findings ([`RunStore`]): ingest (idempotent on `(host, run_id)`, one
//! transaction, retried on a lost connection) and the tenant reads of runs and findings.

use super::rollup::{RunAnswer, rollup_run, run_outcome, verdicts_json};
use super::*;

#[async_trait]
impl RunStore for SqlStore {
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
        if let Some(d) = directive {
            let (affected, incomplete) = run_outcome(&report.summary);
            let answer = RunAnswer {
                directive: d,
                host_id: host.id,
                org_id: host.org_id,
                host_name: &host.name,
                run_pk,
                run_id: &report.run_id,
                findings: i64::try_from(report.findings.len()).unwrap_or(i64::MAX),
                affected,
                incomplete,
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
                intel: None,
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
}
