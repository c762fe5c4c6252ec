//! The store suite: written once, run on SQLite always and on PostgreSQL when
//! `FERRET_TEST_POSTGRES_URL` is set (each PostgreSQL test gets its own schema, dropped at
//! the end).

use std::sync::Arc;

use chrono::{Duration, TimeZone as _, Utc};
use ferret_core::{Engine, Evidence, Finding, RuleRef, Severity, Summary};
use ferret_report::{Report, SCHEMA_VERSION, ToolInfo};
use ferret_store::{
    DirectiveOutcome, FindingFilter, HostStatus, NewDirective, Role, SqlStore, Store, StoreError,
    hash_token,
};

fn finding(rule: &str, severity: Severity, path: &str) -> Finding {
    let mut f = Finding::new(
        Engine::Yara,
        RuleRef { id: format!("id:{rule}"), name: rule.to_owned(), ..Default::default() },
        severity,
    )
    .with_path(path.as_bytes().to_vec());
    f.push_evidence(Evidence { label: "$a".into(), offset: Some(16), data: "<%eval%>".into() });
    f
}

fn report(run_id: &str, findings: Vec<Finding>) -> Report {
    let started = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
    let mut r = Report {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: "ferret".into(),
            version: "0.1.0".into(),
            exe_sha256: Some("ab".repeat(32)),
            ruleset_sha256: None,
        },
        verb: "scan".into(),
        run_id: run_id.into(),
        host: "web-1".into(),
        targets: vec!["/srv".into()],
        started,
        finished: started + Duration::seconds(3),
        findings,
        problems: vec![],
        problems_dropped: 0,
        summary: Summary { complete: true, ..Default::default() },
    };
    r.count_findings();
    r
}

async fn orgs_hosts_and_tokens(s: &dyn Store) {
    let a = s.create_org("agency-a").await.unwrap();
    assert!(matches!(s.create_org("agency-a").await, Err(StoreError::Conflict { .. })));
    let b = s.create_org("agency-b").await.unwrap();
    assert_eq!(s.list_orgs().await.unwrap().len(), 2);
    s.add_enrolment_secret(a.id, &hash_token("secret-a")).await.unwrap();
    assert_eq!(s.org_for_secret(&hash_token("secret-a")).await.unwrap(), Some(a.id));
    assert_eq!(s.org_for_secret(&hash_token("nope")).await.unwrap(), None);
    let h = s.create_host(a.id, "web-1", &hash_token("tok")).await.unwrap();
    let found = s.host_by_token(&hash_token("tok")).await.unwrap().unwrap();
    assert_eq!(found, h);
    assert!(s.host_by_token("tok").await.unwrap().is_none(), "tokens are looked up hashed");
    assert!(s.get_host(b.id, h.id).await.unwrap().is_none(), "another organisation's host");
    assert_eq!(s.get_host(a.id, h.id).await.unwrap().unwrap().name, "web-1");
}

async fn admin_tokens(s: &dyn Store) {
    assert_eq!(s.admin_token_count().await.unwrap(), 0);
    s.add_admin_token(&hash_token("adm")).await.unwrap();
    assert!(s.admin_token_valid(&hash_token("adm")).await.unwrap());
    assert!(!s.admin_token_valid(&hash_token("other")).await.unwrap());
    assert_eq!(s.admin_token_count().await.unwrap(), 1);
}

async fn ingest_is_idempotent(s: &dyn Store) {
    let org = s.create_org("o").await.unwrap();
    let h = s.create_host(org.id, "web-1", &hash_token("t")).await.unwrap();
    let r = report(
        "run-1",
        vec![finding("webshell", Severity::High, "/srv/a.php"), finding("x", Severity::Low, "/b")],
    );
    let now = Utc::now();
    let first = s.ingest(&h, &r, None, now).await.unwrap();
    assert!(!first.duplicate);
    let again = s.ingest(&h, &r, None, now).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(again.id, first.id);
    let runs = s.list_runs(org.id, None, 100).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].findings, 2);
    assert_eq!(runs[0].max_severity, Some(Severity::High));
    assert!(runs[0].complete);
    let all = s.list_findings(org.id, &FindingFilter::default()).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].finding.severity, Severity::High, "most severe first");
    let back = s.run_report(org.id, first.id).await.unwrap().unwrap();
    assert_eq!(back, r);
    let host = s.get_host(org.id, h.id).await.unwrap().unwrap();
    assert!(host.last_seen.is_some());
}

async fn tenant_isolation(s: &dyn Store) {
    let a = s.create_org("a").await.unwrap();
    let b = s.create_org("b").await.unwrap();
    let ha = s.create_host(a.id, "ha", &hash_token("ta")).await.unwrap();
    let ing = s
        .ingest(&ha, &report("r", vec![finding("f", Severity::High, "/x")]), None, Utc::now())
        .await
        .unwrap();
    let fid = s.list_findings(a.id, &FindingFilter::default()).await.unwrap()[0].id;
    assert!(s.get_run(b.id, ing.id).await.unwrap().is_none());
    assert!(s.run_report(b.id, ing.id).await.unwrap().is_none());
    assert!(s.get_finding(b.id, fid).await.unwrap().is_none());
    assert!(s.list_findings(b.id, &FindingFilter::default()).await.unwrap().is_empty());
    assert!(s.list_runs(b.id, None, 10).await.unwrap().is_empty());
    assert!(s.get_finding(a.id, fid).await.unwrap().is_some());
    // The same run id from another host is a different run.
    let hb = s.create_host(b.id, "hb", &hash_token("tb")).await.unwrap();
    let other = s.ingest(&hb, &report("r", vec![]), None, Utc::now()).await.unwrap();
    assert!(!other.duplicate);
}

const NASTY: &[&str] = &[
    "'; DROP TABLE findings; --",
    "\" OR 1=1 --",
    "%",
    "_",
    "\\",
    "$1",
    "?",
    "') OR ('1'='1",
    "web%_'\\",
];

async fn filters_bind_metacharacters(s: &dyn Store) {
    let org = s.create_org("o").await.unwrap();
    let plain = s.create_host(org.id, "plain-host", &hash_token("p")).await.unwrap();
    let evil = s.create_host(org.id, "web%_'\\", &hash_token("e")).await.unwrap();
    s.ingest(
        &plain,
        &report("1", vec![finding("ordinary", Severity::Medium, "/a")]),
        None,
        Utc::now(),
    )
    .await
    .unwrap();
    s.ingest(
        &evil,
        &report("2", vec![finding("'; DROP TABLE findings; --", Severity::Critical, "/b")]),
        None,
        Utc::now(),
    )
    .await
    .unwrap();
    for n in NASTY {
        let by_rule = s
            .list_findings(
                org.id,
                &FindingFilter { rule: Some((*n).to_owned()), ..Default::default() },
            )
            .await
            .unwrap();
        assert!(
            by_rule
                .iter()
                .all(|f| f.finding.rule.name.contains(n) || f.finding.rule.id.contains(n)),
            "rule filter {n:?} matched only literally"
        );
        let by_host = s
            .list_findings(
                org.id,
                &FindingFilter { host: Some((*n).to_owned()), ..Default::default() },
            )
            .await
            .unwrap();
        assert!(by_host.iter().all(|f| f.host_name.contains(n)), "host filter {n:?}");
        let hosts = s.list_hosts(org.id, Some(n)).await.unwrap();
        assert!(hosts.iter().all(|h| h.name.contains(n)), "host list filter {n:?}");
    }
    // `%` and `_` are literal: only the host whose name holds them matches.
    let pct = s
        .list_findings(org.id, &FindingFilter { host: Some("%".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(pct.len(), 1);
    assert_eq!(pct[0].host_name, "web%_'\\");
    let drop = s
        .list_findings(
            org.id,
            &FindingFilter { rule: Some("drop table".into()), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!(drop.len(), 1, "case-insensitive literal match");
    let crit = s
        .list_findings(
            org.id,
            &FindingFilter { min_severity: Some(Severity::High), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!(crit.len(), 1);
    // Both tables are still there.
    assert_eq!(s.list_findings(org.id, &FindingFilter::default()).await.unwrap().len(), 2);
    assert_eq!(s.list_hosts(org.id, None).await.unwrap().len(), 2);
}

async fn users_roles_sessions(s: &dyn Store) {
    let org = s.create_org("o").await.unwrap();
    let u = s.create_user("alice", "$argon2id$placeholder").await.unwrap();
    assert!(matches!(s.create_user("alice", "x").await, Err(StoreError::Conflict { .. })));
    s.grant_role(u.id, org.id, Role::Viewer).await.unwrap();
    s.grant_role(u.id, org.id, Role::Admin).await.unwrap();
    let roles = s.user_roles(u.id).await.unwrap();
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0].1, Role::Admin);
    assert_eq!(s.user_by_name("alice").await.unwrap().unwrap().id, u.id);
    assert!(s.user_by_name("' OR '1'='1").await.unwrap().is_none());
    let now = Utc::now();
    s.create_session(&hash_token("sess"), u.id, "csrf-1", now + Duration::hours(1)).await.unwrap();
    let sess = s.session(&hash_token("sess"), now).await.unwrap().unwrap();
    assert_eq!(sess.user_name, "alice");
    assert_eq!(sess.csrf, "csrf-1");
    assert!(s.session(&hash_token("sess"), now + Duration::hours(2)).await.unwrap().is_none());
    s.delete_session(&hash_token("sess")).await.unwrap();
    assert!(s.session(&hash_token("sess"), now).await.unwrap().is_none());
}

async fn expired_sessions_are_swept(s: &dyn Store) {
    let u = s.create_user("erin", "$argon2id$placeholder").await.unwrap();
    let now = Utc::now();
    for (token, hours) in [("old-1", -5), ("old-2", -1), ("live", 1)] {
        s.create_session(&hash_token(token), u.id, "c", now + Duration::hours(hours))
            .await
            .unwrap();
    }
    assert_eq!(s.delete_expired_sessions(now).await.unwrap(), 2);
    assert_eq!(s.delete_expired_sessions(now).await.unwrap(), 0);
    let long_ago = now - Duration::days(1);
    assert!(s.session(&hash_token("old-1"), long_ago).await.unwrap().is_none(), "row deleted");
    assert!(s.session(&hash_token("live"), now).await.unwrap().is_some());
    // A session expires at its instant: swept then, not before.
    assert_eq!(s.delete_expired_sessions(now + Duration::minutes(59)).await.unwrap(), 0);
    assert_eq!(s.delete_expired_sessions(now + Duration::hours(1)).await.unwrap(), 1);
}

async fn directives_roll_up(s: &dyn Store) {
    let a = s.create_org("a").await.unwrap();
    let b = s.create_org("b").await.unwrap();
    let fixed = s.create_host(a.id, "fixed", &hash_token("1")).await.unwrap();
    let broken = s.create_host(a.id, "broken", &hash_token("2")).await.unwrap();
    let silent = s.create_host(a.id, "silent", &hash_token("3")).await.unwrap();
    let hit = s.create_host(a.id, "hit", &hash_token("4")).await.unwrap();
    let outsider = s.create_host(b.id, "outsider", &hash_token("5")).await.unwrap();
    let now = Utc::now();
    let d = s
        .create_directive(
            &NewDirective {
                name: "pulse".into(),
                command: "check --campaign pulse-secure".into(),
                bundle: Some(vec![0, 1, 2, 255]),
                deadline: now + Duration::days(1),
                orgs: vec![a.id],
            },
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        s.get_directive(a.id, d.id).await.unwrap().unwrap().bundle,
        Some(vec![0, 1, 2, 255])
    );
    assert!(s.get_directive(b.id, d.id).await.unwrap().is_none());
    assert!(s.pending_directives(&outsider).await.unwrap().is_empty());
    assert_eq!(s.pending_directives(&fixed).await.unwrap().len(), 1);

    let bad = vec![finding("pulse", Severity::Critical, "/x")];
    s.ingest(&fixed, &report("f1", bad.clone()), Some(d.id), now).await.unwrap();
    s.ingest(&fixed, &report("f2", vec![]), Some(d.id), now + Duration::seconds(5)).await.unwrap();
    s.ingest(&hit, &report("h1", bad), Some(d.id), now).await.unwrap();
    let outcome = DirectiveOutcome {
        errored: true,
        exit_code: Some(2),
        message: Some("could not run".into()),
        run_id: None,
    };
    s.record_outcome(&broken, d.id, &outcome, now).await.unwrap();
    assert!(s.record_outcome(&outsider, d.id, &outcome, now).await.is_err());
    // A report from another organisation's host naming the directive is not linked to it.
    s.ingest(&outsider, &report("o1", vec![]), Some(d.id), now).await.unwrap();

    assert!(s.pending_directives(&fixed).await.unwrap().is_empty());
    assert!(s.pending_directives(&broken).await.unwrap().is_empty());
    assert_eq!(s.pending_directives(&silent).await.unwrap().len(), 1);

    let st = s.directive_status(a.id, d.id, now).await.unwrap().unwrap();
    let by_name = |n: &str| st.hosts.iter().find(|h| h.host_name == n).unwrap().clone();
    assert_eq!(by_name("fixed").status, HostStatus::Clean);
    assert!(by_name("fixed").fixed);
    assert_eq!(by_name("hit").status, HostStatus::Affected);
    assert!(!by_name("hit").fixed);
    assert_eq!(by_name("broken").status, HostStatus::Errored);
    assert_eq!(by_name("silent").status, HostStatus::Pending);
    assert_eq!(st.hosts.len(), 4);
    assert_eq!(st.events.len(), 4);
    let counts = st.counts();
    assert_eq!(counts[&HostStatus::Affected], 1);
    assert_eq!(counts[&HostStatus::Clean], 1);
    let late = s.directive_status(a.id, d.id, now + Duration::days(2)).await.unwrap().unwrap();
    assert_eq!(late.counts()[&HostStatus::Missing], 1);
    assert!(s.directive_status(b.id, d.id, now).await.unwrap().is_none());
    assert_eq!(s.list_directives(a.id).await.unwrap().len(), 1);
    assert!(s.list_directives(b.id).await.unwrap().is_empty());
}

async fn sqlite() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("ferret.db").display());
    (ferret_store::open(&url).await.unwrap(), dir)
}

/// A PostgreSQL store in a fresh schema, when `FERRET_TEST_POSTGRES_URL` is set. Without it
/// the tests below are ignored (`build.rs`), or fail under `FERRET_STRICT_TESTS=1`.
struct Pg {
    store: Arc<dyn Store>,
    admin: sqlx::AnyPool,
    schema: String,
}

impl Pg {
    async fn new() -> Option<Pg> {
        let Ok(url) = std::env::var("FERRET_TEST_POSTGRES_URL") else {
            ferret_testkit::skip("PostgreSQL: set FERRET_TEST_POSTGRES_URL");
            return None;
        };
        sqlx::any::install_default_drivers();
        let admin =
            sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&url).await.unwrap();
        let schema = format!("ferret_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&admin).await.unwrap();
        let store = SqlStore::open(&url, Some(&schema)).await.unwrap();
        Some(Pg { store: Arc::new(store), admin, schema })
    }

    async fn drop(self) {
        drop(self.store);
        sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .execute(&self.admin)
            .await
            .unwrap();
    }
}

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let (store, _dir) = super::sqlite().await;
                    super::$name(store.as_ref()).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test]
                #[cfg_attr(
                    ferret_no_postgres,
                    ignore = "needs PostgreSQL: set FERRET_TEST_POSTGRES_URL"
                )]
                async fn $name() {
                    let Some(pg) = super::Pg::new().await else { return };
                    super::$name(pg.store.as_ref()).await;
                    pg.drop().await;
                }
            )*
        }
    };
}

suite!(
    orgs_hosts_and_tokens,
    admin_tokens,
    ingest_is_idempotent,
    tenant_isolation,
    filters_bind_metacharacters,
    users_roles_sessions,
    directives_roll_up,
    expired_sessions_are_swept,
);

#[tokio::test]
async fn unsupported_url_is_refused() {
    assert!(matches!(
        ferret_store::open("mysql://x").await,
        Err(StoreError::UnsupportedUrl { .. })
    ));
}

#[tokio::test]
async fn reopening_a_sqlite_file_keeps_data_and_skips_migrations() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("f.db").display());
    {
        let s = ferret_store::open(&url).await.unwrap();
        s.create_org("kept").await.unwrap();
    }
    let s = ferret_store::open(&url).await.unwrap();
    assert_eq!(s.list_orgs().await.unwrap()[0].name, "kept");
}

/// Ingest goes on while the collector's PostgreSQL connections are terminated under it
/// (`pg_terminate_backend`, which touches only this store's connections, found by their
/// `application_name`): every ingest is acknowledged and every run stored once with all
/// its findings.
#[tokio::test]
#[cfg_attr(ferret_no_postgres, ignore = "needs PostgreSQL: set FERRET_TEST_POSTGRES_URL")]
async fn ingest_survives_terminated_connections() {
    let Ok(url) = std::env::var("FERRET_TEST_POSTGRES_URL") else {
        ferret_testkit::skip("PostgreSQL: set FERRET_TEST_POSTGRES_URL");
        return;
    };
    sqlx::any::install_default_drivers();
    let admin = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&url).await.unwrap();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let schema = format!("ferret_test_{id}");
    let app = format!("ferret_reconnect_{id}");
    sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&admin).await.unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    let store: Arc<dyn Store> = Arc::new(
        SqlStore::open(&format!("{url}{sep}application_name={app}"), Some(&schema)).await.unwrap(),
    );
    let org = store.create_org("o").await.unwrap();
    let host = store.create_host(org.id, "h", &hash_token("t")).await.unwrap();
    let killer = {
        let admin = admin.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let mut killed = 0i64;
            for _ in 0..10 {
                tokio::time::sleep(std::time::Duration::from_millis(40)).await;
                let row = sqlx::query(
                    "SELECT COUNT(*) AS n FROM (SELECT pg_terminate_backend(pid) FROM \
                     pg_stat_activity WHERE application_name = $1) AS t",
                )
                .bind(app.clone())
                .fetch_one(&admin)
                .await
                .unwrap();
                killed += sqlx::Row::get::<i64, _>(&row, "n");
            }
            killed
        })
    };
    let mut writers = Vec::new();
    for w in 0..4 {
        let store = Arc::clone(&store);
        let host = host.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..25 {
                let findings = (0..20)
                    .map(|j| finding(&format!("r{j}"), Severity::High, &format!("/f{i}/{j}")))
                    .collect();
                let r = report(&format!("run-{w}-{i}"), findings);
                store.ingest(&host, &r, None, Utc::now()).await.expect("ingest acknowledged");
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    assert!(killer.await.unwrap() > 0, "no connection was terminated");
    let runs = store.list_runs(org.id, None, 1000).await.unwrap();
    assert_eq!(runs.len(), 100);
    assert!(runs.iter().all(|r| r.findings == 20));
    let row = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {schema}.findings"))
        .fetch_one(&admin)
        .await
        .unwrap();
    assert_eq!(sqlx::Row::get::<i64, _>(&row, "n"), 2000);
    drop(store);
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(&admin).await.unwrap();
}
