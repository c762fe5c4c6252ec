//! A directive's roll-up kept as data ([`RollupStore`]): the `directive_hosts` rows written
//! with the run or outcome that changes them, their backfill, and the counted and paged reads.

use super::*;

#[async_trait]
impl RollupStore for SqlStore {
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
                | HostStatus::Incomplete
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
pub(super) struct RunAnswer<'a> {
    pub(super) directive: i64,
    pub(super) host_id: i64,
    pub(super) org_id: i64,
    pub(super) host_name: &'a str,
    pub(super) run_pk: i64,
    pub(super) run_id: &'a str,
    pub(super) findings: i64,
    /// The run decides exit status 1: a finding, or for `check` a campaign affected.
    pub(super) affected: bool,
    /// The run decides exit status 3: no finding, and not complete (for `check`, a
    /// campaign verdict UNKNOWN). Never clean.
    pub(super) incomplete: bool,
    pub(super) verdicts: Option<String>,
    pub(super) at_ms: i64,
}

/// An agent's outcome for a directive, as the roll-up records it.
pub(super) struct OutcomeAnswer<'a> {
    pub(super) directive: i64,
    pub(super) host_id: i64,
    pub(super) org_id: i64,
    pub(super) host_name: &'a str,
    pub(super) outcome: &'a DirectiveOutcome,
    pub(super) at_ms: i64,
}

/// The verdicts of a `check` run as a JSON object campaign → verdict, or `None`.
pub(super) fn verdicts_json(summary: &ferret_core::Summary) -> Option<String> {
    let list = summary.details.get("verdicts")?.as_array()?;
    let map: BTreeMap<&str, &str> = list
        .iter()
        .filter_map(|v| Some((v.get("campaign")?.as_str()?, v.get("verdict")?.as_str()?)))
        .collect();
    serde_json::to_string(&map).ok()
}

/// Whether a run is affected (exit status 1) and whether it is incomplete (exit status 3),
/// by the rule of [`ferret_core::Summary::result_line`]: findings decide affected; without
/// them a run that is not complete, or a `check` run with a campaign verdict UNKNOWN, is
/// incomplete, never clean.
pub(super) fn run_outcome(summary: &ferret_core::Summary) -> (bool, bool) {
    if summary.has_findings() {
        return (true, false);
    }
    let unknown = summary.details.get("verdicts").and_then(|v| v.as_array()).is_some_and(|l| {
        l.iter().any(|v| {
            v.get("verdict")
                .and_then(|x| x.as_str())
                .is_some_and(|x| x.eq_ignore_ascii_case("unknown"))
        })
    });
    (false, !summary.complete || unknown)
}

/// Records a run as the host's latest answer: its status is `affected`, else `incomplete`
/// when the run is not complete, else `fixed` when an earlier run was affected, else
/// `clean`. A single statement, so two collectors ingesting for the same host cannot lose
/// the earlier state.
pub(super) async fn rollup_run(
    conn: &mut sqlx::AnyConnection,
    a: &RunAnswer<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO directive_hosts (directive_id, host_id, org_id, host_name, status, run_pk, \
         run_id, findings, prior_affected, answered_ms, verdicts, errored) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, 0) \
         ON CONFLICT (directive_id, host_id) DO UPDATE SET \
         prior_affected = CASE WHEN directive_hosts.run_pk IS NOT NULL \
             AND directive_hosts.status = 'affected' THEN 1 ELSE directive_hosts.prior_affected END, \
         status = CASE WHEN excluded.status = 'affected' THEN 'affected' \
             WHEN excluded.status = 'incomplete' THEN 'incomplete' \
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
    .bind(if a.affected {
        "affected"
    } else if a.incomplete {
        "incomplete"
    } else {
        "clean"
    })
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
pub(super) async fn rollup_outcome(
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
pub(super) async fn backfill_rollup(conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
    let mut after = (i64::MIN, i64::MIN);
    loop {
        let rows = sqlx::query(
            "SELECT r.id, r.host_id, r.org_id, h.name, r.directive_id, r.run_id, r.findings, \
             r.complete, r.received_ms, r.report FROM runs r JOIN hosts h ON h.id = r.host_id \
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
            let complete: i64 = r.try_get("complete")?;
            let ((affected, incomplete), verdicts) = match serde_json::from_str::<Report>(&text) {
                Ok(rep) => (run_outcome(&rep.summary), verdicts_json(&rep.summary)),
                Err(_) => ((findings > 0, findings == 0 && complete == 0), None),
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
                incomplete,
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
