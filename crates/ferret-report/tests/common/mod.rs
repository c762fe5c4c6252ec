//! The fixed report the format tests render: a file finding with a name that is not UTF-8,
//! a Sigma finding with an event time, ATT&CK tags and a command line, a campaign detector
//! finding, one problem that makes the run incomplete and one that does not, campaign
//! verdicts, and an incomplete summary.

use chrono::{Duration, TimeZone as _, Utc};
use ferret_core::{
    CampaignVerdict, Engine, Evidence, Finding, LogRef, Problem, ProblemKind, RuleRef, Severity,
    SourceSpan, Verdict,
};
use ferret_report::Report;

pub fn fixture() -> Report {
    let mut file = Finding::new(
        Engine::Yara,
        RuleRef {
            id: "webshells:china_chopper".into(),
            name: "China Chopper | web shell".into(),
            source: Some("rules/webshells.yar".into()),
            references: vec!["https://advisory.example/cc".into()],
        },
        Severity::Critical,
    )
    .with_path(b"/srv/www/up\xffload=1\\a.aspx".to_vec())
    .with_message("eval of a request parameter\nsecond line");
    file.size = Some(1234);
    file.sha256 = Some("ab".repeat(32));
    file.push_evidence(Evidence {
        label: "$eval".into(),
        offset: Some(96),
        data: "<%@ Page Language=\"Jscript\"%><%Response.Write(Request.Item[\"p\"]);%>\u{1b}[2J"
            .into(),
    });
    let mut sigma = Finding::new(
        Engine::Sigma,
        RuleRef {
            id: "5f0b6c3d-0000-4000-8000-000000000001".into(),
            name: "Suspicious encoded PowerShell".into(),
            source: Some("sigma/proc_creation_win_powershell_enc.yml".into()),
            references: vec![],
        },
        Severity::High,
    )
    .with_path("C:/Windows/System32/winevt/Logs/Security.evtx");
    sigma.time = Some(Utc.with_ymd_and_hms(2026, 2, 27, 23, 59, 58).unwrap());
    sigma.log = Some(LogRef {
        format: Some("evtx".into()),
        record_id: Some(4242),
        line: None,
        channel: Some("Security".into()),
    });
    sigma.push_evidence(Evidence {
        label: "CommandLine".into(),
        offset: None,
        data: format!("powershell -enc {}", "QQBB".repeat(600)),
    });
    sigma.push_evidence(Evidence {
        label: "Image".into(),
        offset: None,
        data: "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe".into(),
    });
    sigma = sigma
        .with_detail("event_id", 4688)
        .with_detail("tags", serde_json::json!(["attack.execution", "attack.t1059.001"]));
    let mut check = Finding::new(
        Engine::Check,
        RuleRef {
            id: "PL003".into(),
            name: "proxylogon-oab-webshell".into(),
            source: Some("builtin:ferret-checks".into()),
            references: vec![],
        },
        Severity::High,
    )
    .with_path("C:/Program Files/Microsoft/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth/x.aspx")
    .with_detail("campaign", "proxylogon");
    check.size = Some(2048);
    let mut r = ferret_testkit::report::report("run-7", vec![file, sigma, check]);
    r.host = "exch-01".into();
    r.targets = vec!["C:/".into()];
    r.finished = r.started + Duration::seconds(83);
    r.problems = vec![
        Problem::at(ProblemKind::PermissionDenied, "C:/pagefile.sys", "permission denied"),
        Problem::at(ProblemKind::Skipped, b"/srv/fifo\x01".to_vec(), "a fifo is not read"),
    ];
    let s = &mut r.summary;
    s.count("files_scanned", 1000);
    s.count("events_read", 52_000);
    s.skip("size", 3);
    s.problems.insert(ProblemKind::PermissionDenied, 1);
    s.problems.insert(ProblemKind::Skipped, 1);
    s.not_checked.push("archives were not opened".into());
    let verdicts = vec![
        CampaignVerdict {
            campaign: "proxylogon".into(),
            title: "ProxyLogon (CVE-2021-26855 and others)".into(),
            verdict: Verdict::Affected,
            reason: "a web shell was found in an Exchange virtual directory".into(),
            evidence: 1,
            leads: 0,
            checked: vec!["web shells in the Exchange virtual directories".into()],
            not_checked: vec![],
            sources: vec![SourceSpan {
                source: "exchange-httpproxy".into(),
                files: 12,
                events: 52_000,
                first: Some(Utc.with_ymd_and_hms(2021, 3, 3, 4, 5, 6).unwrap()),
                last: Some(Utc.with_ymd_and_hms(2021, 3, 9, 1, 2, 3).unwrap()),
            }],
        },
        CampaignVerdict {
            campaign: "sunburst".into(),
            title: "SUNBURST (SolarWinds Orion)".into(),
            verdict: Verdict::Unknown,
            reason: "no Orion installation and no DNS log were found".into(),
            evidence: 0,
            leads: 0,
            checked: vec![],
            not_checked: vec!["Orion binaries: no installation found".into()],
            sources: vec![],
        },
    ];
    s.details.insert("verdicts".into(), serde_json::to_value(verdicts).unwrap());
    s.settle();
    s.mark_incomplete("1 file could not be read");
    r.count_findings();
    r
}

/// Renders with a writer into a string.
#[allow(dead_code, reason = "not every test file that shares this module renders")]
pub fn render(write: fn(&Report, &mut dyn std::io::Write) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    write(&fixture(), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}
