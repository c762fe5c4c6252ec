//! Directives, their organisations and the agents' outcomes ([`DirectiveStore`]), with the
//! organisations' directive keys.

use super::rollup::{OutcomeAnswer, rollup_outcome};
use super::*;

#[derive(Default)]
/// Per-host accumulator of a directive roll-up.
struct Acc {
    /// The latest run: id, findings, received, complete.
    latest: Option<(i64, i64, i64, bool)>,
    ever_affected: bool,
    errored: Option<(Option<String>, i64)>,
}

/// A run's status in [`DirectiveStore::directive_status`]: affected with findings, else
/// incomplete when the run was not complete (never clean), else clean.
fn run_status(findings: i64, complete: bool) -> HostStatus {
    if findings > 0 {
        HostStatus::Affected
    } else if complete {
        HostStatus::Clean
    } else {
        HostStatus::Incomplete
    }
}

#[async_trait]
impl DirectiveStore for SqlStore {
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
            "SELECT id, host_id, findings, complete, received_ms FROM runs \
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
            let complete = r.try_get::<i64, _>("complete").map_err(g)? != 0;
            let at: i64 = r.try_get("received_ms").map_err(g)?;
            let a = acc.entry(host_id).or_default();
            if let Some((_, prev, _, _)) = a.latest
                && prev > 0
            {
                a.ever_affected = true;
            }
            a.latest = Some((id, findings, at, complete));
            let status = run_status(findings, complete);
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
                if let Some((run, findings, at, complete)) = a.latest {
                    line.status = run_status(findings, complete);
                    line.run_pk = Some(run);
                    line.findings = findings;
                    line.fixed = a.ever_affected && line.status == HostStatus::Clean;
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
}
