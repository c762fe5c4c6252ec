//! The store suite: written once, run on SQLite always and on PostgreSQL when
//! `FERRET_TEST_POSTGRES_URL` is set (each PostgreSQL test gets its own schema, dropped at
//! the end).

use std::sync::Arc;

use chrono::{Duration, TimeZone as _, Utc};
use ferret_core::{Engine, Evidence, Finding, RuleRef, Severity};
use ferret_report::Report;
use ferret_store::{
    DirectiveOutcome, FindingFilter, HostStatus, NewDirective, Role, RollupCursor, RollupQuery,
    RollupRow, SqlStore, Store, StoreError, hash_token,
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
    let mut r = ferret_testkit::report::report(run_id, findings);
    r.tool.exe_sha256 = Some("ab".repeat(32));
    r.verb = "scan".into();
    r.host = "web-1".into();
    r.targets = vec!["/srv".into()];
    r.started = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
    r.finished = r.started + Duration::seconds(3);
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
                ..NewDirective::default()
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

/// A `check` report whose summary carries campaign verdicts.
fn check_report(run_id: &str, findings: Vec<Finding>, verdicts: &[(&str, &str)]) -> Report {
    let mut r = report(run_id, findings);
    r.verb = "check".into();
    let list: Vec<serde_json::Value> = verdicts
        .iter()
        .map(|(c, v)| {
            serde_json::json!({ "campaign": c, "verdict": v, "title": c, "reason": "r",
                                           "evidence": 0, "leads": 0 })
        })
        .collect();
    r.summary.details.insert("verdicts".into(), serde_json::Value::Array(list));
    r
}

/// Every page of a roll-up query, following the keyset cursor.
async fn all_pages(
    s: &dyn Store,
    org: i64,
    d: i64,
    q: RollupQuery,
    now: chrono::DateTime<Utc>,
) -> Vec<RollupRow> {
    let mut out: Vec<RollupRow> = Vec::new();
    let mut q = q;
    for _ in 0..1000 {
        let page = s.rollup_page(org, d, &q, now).await.unwrap().unwrap();
        let full = i64::try_from(page.len()).unwrap() == q.limit;
        if let Some(last) = page.last() {
            q.after =
                Some(RollupCursor { host_name: last.host_name.clone(), host_id: last.host_id });
        }
        out.extend(page);
        if !full {
            return out;
        }
    }
    panic!("pagination did not end");
}

async fn rollup_counts_pages_and_filters(s: &dyn Store) {
    let a = s.create_org("a").await.unwrap();
    let b = s.create_org("b").await.unwrap();
    let now = Utc::now();
    let d = s
        .create_directive(
            &NewDirective {
                name: "check".into(),
                command: "check".into(),
                bundle: None,
                deadline: now + Duration::days(1),
                orgs: vec![a.id],
                ..NewDirective::default()
            },
            now,
        )
        .await
        .unwrap();
    let host =
        |n: &'static str| async move { s.create_host(a.id, n, &hash_token(n)).await.unwrap() };
    let hit = host("hit").await;
    let fixed = host("fixed").await;
    let clean = host("clean").await;
    let broken = host("broken").await;
    let late_run = host("errored-then-ran").await;
    let said_ran = host("said-ran").await;
    let leads = host("leads-only").await;
    // Names with LIKE wildcards, and enough silent hosts for several pages.
    host("100%_real").await;
    host("100x-real").await;
    for i in 0..23 {
        s.create_host(a.id, &format!("silent-{i:02}"), &hash_token(&format!("s{i}")))
            .await
            .unwrap();
    }
    let outsider = s.create_host(b.id, "outsider", &hash_token("o")).await.unwrap();
    let bad = || vec![finding("pulse", Severity::Critical, "/x")];
    let at = |secs| now + Duration::seconds(secs);
    s.ingest(
        &hit,
        &check_report("h1", bad(), &[("pulse-secure", "affected"), ("sunburst", "not_found")]),
        Some(d.id),
        at(1),
    )
    .await
    .unwrap();
    s.ingest(&fixed, &report("f1", bad()), Some(d.id), at(1)).await.unwrap();
    s.ingest(&fixed, &report("f2", vec![]), Some(d.id), at(2)).await.unwrap();
    s.ingest(&fixed, &report("f3", vec![]), Some(d.id), at(3)).await.unwrap();
    s.ingest(&clean, &report("c1", vec![]), Some(d.id), at(1)).await.unwrap();
    // A report from another organisation's host naming the directive is not part of it.
    s.ingest(&outsider, &report("o1", vec![]), Some(d.id), at(1)).await.unwrap();
    // A replay changes nothing.
    s.ingest(&clean, &report("c1", vec![]), Some(d.id), at(9)).await.unwrap();
    let err = DirectiveOutcome {
        errored: true,
        exit_code: Some(2),
        message: Some("=cmd|' /C calc'!A0".into()),
        run_id: None,
    };
    s.record_outcome(&broken, d.id, &err, at(1)).await.unwrap();
    s.record_outcome(&late_run, d.id, &err, at(1)).await.unwrap();
    s.ingest(&late_run, &report("l1", vec![]), Some(d.id), at(2)).await.unwrap();
    let ran = DirectiveOutcome {
        errored: false,
        exit_code: Some(0),
        message: None,
        run_id: Some("lost".into()),
    };
    s.record_outcome(&said_ran, d.id, &ran, at(1)).await.unwrap();
    // A check run with leads below evidence level only: NOT FOUND, exit 0, so clean.
    s.ingest(
        &leads,
        &check_report(
            "x1",
            vec![finding("lead", Severity::Medium, "/l")],
            &[("proxylogon", "not_found")],
        ),
        Some(d.id),
        at(1),
    )
    .await
    .unwrap();
    // The outcome of a host that also sent a run keeps the run's status, adds the exit code.
    s.record_outcome(
        &hit,
        d.id,
        &DirectiveOutcome {
            errored: false,
            exit_code: Some(1),
            message: None,
            run_id: Some("h1".into()),
        },
        at(2),
    )
    .await
    .unwrap();

    let sum = s.rollup_summary(a.id, d.id, at(10), 4).await.unwrap().unwrap();
    assert_eq!(sum.hosts, 32);
    let count = |st| sum.counts[&st];
    assert_eq!(count(HostStatus::Affected), 1);
    assert_eq!(count(HostStatus::Fixed), 1);
    assert_eq!(count(HostStatus::Clean), 3, "clean, errored-then-ran, leads-only");
    assert_eq!(count(HostStatus::Errored), 1);
    assert_eq!(count(HostStatus::Pending), 26, "23 silent, 2 wildcard names, said-ran");
    assert_eq!(count(HostStatus::Missing), 0);
    assert_eq!(sum.over_time.len(), 4);
    let last = &sum.over_time[3].1;
    assert_eq!(last.values().sum::<i64>(), 32, "every host in the last column");
    let late = s.rollup_summary(a.id, d.id, now + Duration::days(2), 4).await.unwrap().unwrap();
    assert_eq!((late.counts[&HostStatus::Pending], late.counts[&HostStatus::Missing]), (0, 26));
    assert!(s.rollup_summary(b.id, d.id, now, 4).await.unwrap().is_none(), "another organisation");
    assert!(
        s.rollup_page(b.id, d.id, &RollupQuery { limit: 10, ..Default::default() }, now)
            .await
            .unwrap()
            .is_none()
    );

    // Every host once, in name order, over keyset pages of 10.
    let all =
        all_pages(s, a.id, d.id, RollupQuery { limit: 10, ..Default::default() }, at(10)).await;
    let names: Vec<&str> = all.iter().map(|r| r.host_name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(names.len(), 32);
    assert_eq!(sorted.len(), 32, "no host twice");
    assert!(!names.contains(&"outsider"));
    let row = |n: &str| all.iter().find(|r| r.host_name == n).unwrap().clone();
    let hit_row = row("hit");
    assert_eq!(hit_row.status, HostStatus::Affected);
    assert_eq!(
        (hit_row.findings, hit_row.exit_code, hit_row.run_id.as_deref()),
        (1, Some(1), Some("h1"))
    );
    assert_eq!(hit_row.verdicts.get("pulse-secure").map(String::as_str), Some("affected"));
    assert_eq!(hit_row.verdicts.get("sunburst").map(String::as_str), Some("not_found"));
    assert_eq!(hit_row.answered, Some(from_ms(at(1))));
    assert_eq!(row("fixed").status, HostStatus::Fixed);
    assert_eq!(row("fixed").run_id.as_deref(), Some("f3"));
    assert_eq!(row("clean").status, HostStatus::Clean);
    assert_eq!(row("clean").answered, Some(from_ms(at(1))), "the replay changed nothing");
    let broken_row = row("broken");
    assert_eq!((broken_row.status, broken_row.exit_code), (HostStatus::Errored, Some(2)));
    assert_eq!(broken_row.message.as_deref(), Some("=cmd|' /C calc'!A0"));
    assert_eq!(row("errored-then-ran").status, HostStatus::Clean);
    assert_eq!(row("errored-then-ran").exit_code, Some(2), "the outcome is kept beside the run");
    let sr = row("said-ran");
    assert_eq!((sr.status, sr.answered, sr.exit_code), (HostStatus::Pending, None, Some(0)));
    assert_eq!(row("leads-only").status, HostStatus::Clean);
    assert_eq!(row("leads-only").findings, 1);
    assert_eq!(row("silent-05").status, HostStatus::Pending);
    assert!(
        s.rollup_page(
            a.id,
            d.id,
            &RollupQuery { limit: 50, ..Default::default() },
            now + Duration::days(2)
        )
        .await
        .unwrap()
        .unwrap()
        .iter()
        .filter(|r| r.host_name.starts_with("silent"))
        .all(|r| r.status == HostStatus::Missing)
    );

    // Filters: status (answered and silent), name with wildcards taken literally.
    let by = |st: HostStatus, name: Option<&str>, limit: i64| RollupQuery {
        status: Some(st),
        name: name.map(str::to_owned),
        limit,
        ..Default::default()
    };
    let names_of = |rows: Vec<RollupRow>| rows.into_iter().map(|r| r.host_name).collect::<Vec<_>>();
    assert_eq!(
        names_of(all_pages(s, a.id, d.id, by(HostStatus::Affected, None, 10), at(10)).await),
        ["hit"]
    );
    assert_eq!(
        names_of(all_pages(s, a.id, d.id, by(HostStatus::Clean, None, 2), at(10)).await),
        ["clean", "errored-then-ran", "leads-only"]
    );
    assert_eq!(all_pages(s, a.id, d.id, by(HostStatus::Pending, None, 7), at(10)).await.len(), 26);
    assert!(all_pages(s, a.id, d.id, by(HostStatus::Missing, None, 7), at(10)).await.is_empty());
    assert_eq!(
        all_pages(s, a.id, d.id, by(HostStatus::Missing, None, 7), now + Duration::days(2))
            .await
            .len(),
        26
    );
    let named = |n: &str| RollupQuery { name: Some(n.into()), limit: 100, ..Default::default() };
    assert_eq!(names_of(all_pages(s, a.id, d.id, named("%_"), at(10)).await), ["100%_real"]);
    assert_eq!(names_of(all_pages(s, a.id, d.id, named("SILENT-1"), at(10)).await).len(), 10);
    assert_eq!(
        names_of(all_pages(s, a.id, d.id, by(HostStatus::Pending, Some("100"), 1), at(10)).await),
        ["100%_real", "100x-real"]
    );
    assert!(
        all_pages(s, a.id, d.id, by(HostStatus::Errored, Some("' OR '1'='1"), 5), at(10))
            .await
            .is_empty()
    );
}

fn from_ms(t: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    Utc.timestamp_millis_opt(t.timestamp_millis()).unwrap()
}

async fn signed_directives_keys_and_closing(s: &dyn Store) {
    let a = s.create_org("a").await.unwrap();
    let b = s.create_org("b").await.unwrap();
    let host = s.create_host(a.id, "h", &hash_token("1")).await.unwrap();
    assert_eq!(s.org_directive_key(a.id).await.unwrap(), None);
    assert!(s.set_org_directive_key(a.id, Some("untrusted comment: k\nRWQ")).await.unwrap());
    assert!(!s.set_org_directive_key(9999, Some("k")).await.unwrap());
    assert_eq!(
        s.org_directive_key(a.id).await.unwrap().as_deref(),
        Some("untrusted comment: k\nRWQ")
    );
    assert_eq!(s.org_directive_key(b.id).await.unwrap(), None);
    let now = Utc::now();
    let d = s
        .create_directive(
            &NewDirective {
                name: "signed".into(),
                verb: "check".into(),
                command: "check --campaign=pulse-secure -- /".into(),
                document: Some("{\"exact\": \"text\"}".into()),
                signature: Some("sig text".into()),
                deadline: now + Duration::days(1),
                orgs: vec![a.id, b.id],
                ..NewDirective::default()
            },
            now,
        )
        .await
        .unwrap();
    // Kept verbatim.
    let back = s.get_directive_any(d.id).await.unwrap().unwrap();
    assert_eq!(back.document.as_deref(), Some("{\"exact\": \"text\"}"));
    assert_eq!(back.signature.as_deref(), Some("sig text"));
    assert_eq!(back.verb, "check");
    assert_eq!(back.orgs, vec![a.id, b.id]);
    assert_eq!(s.list_all_directives().await.unwrap().len(), 1);
    assert_eq!(s.pending_directives(&host).await.unwrap().len(), 1);
    assert!(s.close_directive(d.id, now).await.unwrap());
    assert!(s.get_directive_any(d.id).await.unwrap().unwrap().closed.is_some());
    assert!(s.pending_directives(&host).await.unwrap().is_empty());
    assert!(!s.close_directive(d.id + 100, now).await.unwrap());
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

/// A run that found nothing but is not complete (exit status 3) is `incomplete`, never
/// clean: counted, filtered and paged as such; affected wins over it, and only a clean and
/// complete run after an affected one is `fixed`.
async fn rollup_incomplete_is_never_clean(s: &dyn Store) {
    let a = s.create_org("a").await.unwrap();
    let now = Utc::now();
    let d = s
        .create_directive(
            &NewDirective {
                name: "check".into(),
                command: "check".into(),
                bundle: None,
                deadline: now + Duration::days(1),
                orgs: vec![a.id],
                ..NewDirective::default()
            },
            now,
        )
        .await
        .unwrap();
    let hosts = make_hosts(
        s,
        a.id,
        &[
            "unknown",
            "partial",
            "hit-then-partial",
            "hit-then-partial-then-clean",
            "hit-then-clean",
            "partial-then-clean",
            "partial-with-findings",
            "clean",
        ],
    )
    .await;
    let host = |n: &str| hosts.iter().find(|h| h.name == n).unwrap();
    let bad = || vec![finding("pulse", Severity::Critical, "/x")];
    let partial = |id: &str, findings| {
        let mut r = report(id, findings);
        r.summary.mark_incomplete("permission denied");
        r
    };
    let at = |secs| now + Duration::seconds(secs);
    // A check whose campaign is UNKNOWN: no finding at evidence level, exit status 3.
    let mut unknown = check_report(
        "u1",
        vec![finding("lead", Severity::Medium, "/l")],
        &[("pulse-secure", "unknown"), ("sunburst", "not_found")],
    );
    unknown.summary.mark_incomplete("pulse-secure: UNKNOWN");
    s.ingest(host("unknown"), &unknown, Some(d.id), at(1)).await.unwrap();
    s.ingest(host("partial"), &partial("p1", vec![]), Some(d.id), at(1)).await.unwrap();
    let hh = host("hit-then-partial");
    s.ingest(hh, &report("a1", bad()), Some(d.id), at(1)).await.unwrap();
    s.ingest(hh, &partial("a2", vec![]), Some(d.id), at(2)).await.unwrap();
    let hh = host("hit-then-partial-then-clean");
    s.ingest(hh, &report("b1", bad()), Some(d.id), at(1)).await.unwrap();
    s.ingest(hh, &partial("b2", vec![]), Some(d.id), at(2)).await.unwrap();
    s.ingest(hh, &report("b3", vec![]), Some(d.id), at(3)).await.unwrap();
    let hh = host("hit-then-clean");
    s.ingest(hh, &report("c1", bad()), Some(d.id), at(1)).await.unwrap();
    s.ingest(hh, &report("c2", vec![]), Some(d.id), at(2)).await.unwrap();
    let hh = host("partial-then-clean");
    s.ingest(hh, &partial("e1", vec![]), Some(d.id), at(1)).await.unwrap();
    s.ingest(hh, &report("e2", vec![]), Some(d.id), at(2)).await.unwrap();
    s.ingest(host("partial-with-findings"), &partial("g1", bad()), Some(d.id), at(1))
        .await
        .unwrap();
    s.ingest(host("clean"), &report("k1", vec![]), Some(d.id), at(1)).await.unwrap();

    let sum = s.rollup_summary(a.id, d.id, at(10), 4).await.unwrap().unwrap();
    let count = |st| sum.counts[&st];
    assert_eq!(count(HostStatus::Affected), 1, "partial-with-findings");
    assert_eq!(count(HostStatus::Fixed), 2, "hit-then-clean, hit-then-partial-then-clean");
    assert_eq!(count(HostStatus::Incomplete), 3, "unknown, partial, hit-then-partial");
    assert_eq!(count(HostStatus::Clean), 2, "partial-then-clean, clean");
    assert_eq!(count(HostStatus::Pending), 0);
    let last = &sum.over_time[3].1;
    assert_eq!(last.get(&HostStatus::Incomplete).copied(), Some(3));

    let all =
        all_pages(s, a.id, d.id, RollupQuery { limit: 3, ..Default::default() }, at(10)).await;
    let status: Vec<_> = all.iter().map(|r| (r.host_name.as_str(), r.status)).collect();
    assert_eq!(
        status,
        [
            ("clean", HostStatus::Clean),
            ("hit-then-clean", HostStatus::Fixed),
            ("hit-then-partial", HostStatus::Incomplete),
            ("hit-then-partial-then-clean", HostStatus::Fixed),
            ("partial", HostStatus::Incomplete),
            ("partial-then-clean", HostStatus::Clean),
            ("partial-with-findings", HostStatus::Affected),
            ("unknown", HostStatus::Incomplete),
        ]
    );
    let u = all.iter().find(|r| r.host_name == "unknown").unwrap();
    assert_eq!(u.verdicts.get("pulse-secure").map(String::as_str), Some("unknown"));
    assert_eq!(u.run_id.as_deref(), Some("u1"));

    let only = RollupQuery { status: Some(HostStatus::Incomplete), limit: 2, ..Default::default() };
    let names: Vec<String> =
        all_pages(s, a.id, d.id, only, at(10)).await.into_iter().map(|r| r.host_name).collect();
    assert_eq!(names, ["hit-then-partial", "partial", "unknown"]);
    let clean = RollupQuery { status: Some(HostStatus::Clean), limit: 10, ..Default::default() };
    let names: Vec<String> =
        all_pages(s, a.id, d.id, clean, at(10)).await.into_iter().map(|r| r.host_name).collect();
    assert_eq!(names, ["clean", "partial-then-clean"]);

    // The per-host directive status agrees for the runs without campaign verdicts (it
    // counts stored findings, leads included).
    let st = s.directive_status(a.id, d.id, at(10)).await.unwrap().unwrap();
    let line = |n: &str| st.hosts.iter().find(|h| h.host_name == n).unwrap().clone();
    for n in ["partial", "hit-then-partial"] {
        assert_eq!((line(n).status, line(n).fixed), (HostStatus::Incomplete, false), "{n}");
    }
    for n in ["hit-then-clean", "hit-then-partial-then-clean"] {
        assert_eq!((line(n).status, line(n).fixed), (HostStatus::Clean, true), "{n}");
    }
    assert_eq!(line("partial-then-clean").status, HostStatus::Clean);
    assert_eq!(line("partial-with-findings").status, HostStatus::Affected);
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
    rollup_counts_pages_and_filters,
    rollup_incomplete_is_never_clean,
    signed_directives_keys_and_closing,
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

#[tokio::test]
async fn upgrading_fills_the_roll_up_from_stored_runs_and_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("up.db").display());
    let now = Utc::now();
    let before = {
        let s = ferret_store::open(&url).await.unwrap();
        let a = s.create_org("a").await.unwrap();
        let d = s
            .create_directive(
                &NewDirective {
                    name: "d".into(),
                    command: "check".into(),
                    bundle: None,
                    deadline: now + Duration::days(1),
                    orgs: vec![a.id],
                    ..NewDirective::default()
                },
                now,
            )
            .await
            .unwrap();
        let hosts: Vec<_> =
            make_hosts(s.as_ref(), a.id, &["fixed", "hit", "broken", "silent", "partial"]).await;
        let bad = || vec![finding("pulse", Severity::Critical, "/x")];
        s.ingest(&hosts[0], &report("f1", bad()), Some(d.id), now).await.unwrap();
        s.ingest(&hosts[0], &report("f2", vec![]), Some(d.id), now + Duration::seconds(1))
            .await
            .unwrap();
        s.ingest(
            &hosts[1],
            &check_report("h1", bad(), &[("sunburst", "affected")]),
            Some(d.id),
            now,
        )
        .await
        .unwrap();
        let err = DirectiveOutcome {
            errored: true,
            exit_code: Some(2),
            message: Some("no".into()),
            run_id: None,
        };
        s.record_outcome(&hosts[2], d.id, &err, now).await.unwrap();
        let mut partial = check_report("p1", vec![], &[("sunburst", "unknown")]);
        partial.summary.mark_incomplete("sunburst: UNKNOWN");
        s.ingest(&hosts[4], &partial, Some(d.id), now).await.unwrap();
        let q = RollupQuery { limit: 100, ..Default::default() };
        (a.id, d.id, s.rollup_page(a.id, d.id, &q, now).await.unwrap().unwrap())
    };
    // Back to the schema before the roll-up table existed.
    sqlx::any::install_default_drivers();
    let raw = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&url).await.unwrap();
    sqlx::query("DROP TABLE directive_hosts").execute(&raw).await.unwrap();
    sqlx::query("DELETE FROM schema_migrations WHERE version = 3").execute(&raw).await.unwrap();
    raw.close().await;
    let s = ferret_store::open(&url).await.unwrap();
    let (org, d, rows) = before;
    let q = RollupQuery { limit: 100, ..Default::default() };
    let after = s.rollup_page(org, d, &q, now).await.unwrap().unwrap();
    assert_eq!(after, rows);
    let status: Vec<_> = after.iter().map(|r| (r.host_name.as_str(), r.status)).collect();
    assert_eq!(
        status,
        [
            ("broken", HostStatus::Errored),
            ("fixed", HostStatus::Fixed),
            ("hit", HostStatus::Affected),
            ("partial", HostStatus::Incomplete),
            ("silent", HostStatus::Pending)
        ]
    );
    assert_eq!(after[2].verdicts.get("sunburst").map(String::as_str), Some("affected"));
    drop(s);

    // A roll-up written before `incomplete` existed showed the host clean; the migration
    // that adds the status rebuilds it.
    let raw = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&url).await.unwrap();
    sqlx::query("UPDATE directive_hosts SET status = 'clean' WHERE host_name = 'partial'")
        .execute(&raw)
        .await
        .unwrap();
    sqlx::query("DELETE FROM schema_migrations WHERE version = 4").execute(&raw).await.unwrap();
    raw.close().await;
    let s = ferret_store::open(&url).await.unwrap();
    let again = s.rollup_page(org, d, &q, now).await.unwrap().unwrap();
    assert_eq!(again, rows);
    assert_eq!(again[3].status, HostStatus::Incomplete);
}

async fn make_hosts(s: &dyn Store, org: i64, names: &[&str]) -> Vec<ferret_store::Host> {
    let mut out = Vec::new();
    for n in names {
        out.push(s.create_host(org, n, &hash_token(n)).await.unwrap());
    }
    out
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
