//! NOT FOUND only where the logs cover the campaign's window: logs that end before the window
//! (or begin after it) make the verdict UNKNOWN, saying so; logs inside it decide.

mod common;

use common::{V15, run};
use ferret_checks::Campaign;
use ferret_core::Verdict;
use ferret_testkit::Tree;

const IIS_HEADER: &str = "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n";

/// An Exchange server with IIS logs of ordinary traffic on `day` (`YYYY-MM-DD`).
fn exchange_with_iis_logs(day: &str) -> Tree {
    let t = Tree::new();
    t.file(format!("{V15}/FrontEnd/HttpProxy/owa/auth/logon.aspx"), "<%@ Page %>sign in");
    let mut log = IIS_HEADER.to_owned();
    for i in 0..10 {
        log.push_str(&format!(
            "{day} 10:00:0{i} 10.0.0.2 GET /owa/ - 443 - 192.0.2.{i} Mozilla/5.0+(Windows+NT+10.0) - 200 0 0 5\n"
        ));
    }
    t.file("inetpub/logs/LogFiles/W3SVC1/u_ex.log", log);
    t
}

#[test]
fn logs_ending_before_the_window_are_not_not_found() {
    // ProxyLogon's window opens on 2021-01-03: logs of November 2020 cannot show it.
    let t = exchange_with_iis_logs("2020-11-20");
    let r = run(t.root(), &[Campaign::ProxyLogon]);
    assert_eq!(r.verdict(Campaign::ProxyLogon), Some(Verdict::Unknown));
    let v = &r.outcome.verdicts[0];
    assert!(v.reason.contains("iis logs end on 2020-11-20"), "{v:#?}");
    assert!(v.reason.contains("2021-01-03"), "{v:#?}");
    assert!(!r.outcome.summary.complete, "an UNKNOWN verdict makes the run incomplete");
}

#[test]
fn logs_beginning_after_the_window_closed_are_not_not_found() {
    // SUNBURST's window closes on 2020-12-31: DNS logs of 2022 cannot show its beacons.
    let t = Tree::new();
    t.file(
        "dns/named.log",
        "03-Mar-2022 01:02:04.000 client 10.0.0.6#41000 (example.org): query: example.org IN A + (10.0.0.1)\n",
    );
    let r = run(t.root(), &[Campaign::Sunburst]);
    assert_eq!(r.verdict(Campaign::Sunburst), Some(Verdict::Unknown));
    let v = &r.outcome.verdicts[0];
    assert!(v.reason.contains("after the campaign's window"), "{v:#?}");
}

#[test]
fn logs_inside_the_window_decide() {
    let t = exchange_with_iis_logs("2021-02-01");
    let r = run(t.root(), &[Campaign::ProxyLogon]);
    assert_eq!(r.verdict(Campaign::ProxyLogon), Some(Verdict::NotFound));
    let v = &r.outcome.verdicts[0];
    // They begin after the window opened: said, but not a reason to withhold the verdict.
    assert!(v.not_checked.iter().any(|s| s.contains("earlier activity is not covered")), "{v:#?}");
}

#[test]
fn every_campaign_has_a_window_with_its_source() {
    let k = ferret_checks::intel::CheckIntel::builtin();
    for c in Campaign::ALL {
        let w = k.window(c).expect("window");
        assert!(w.source.contains("<https://"), "{c}: {w:?}");
        assert!(w.to.is_none_or(|to| to > w.from), "{c}: {w:?}");
    }
    assert_eq!(k.window(Campaign::ProxyLogon).unwrap().from.to_string(), "2021-01-03");
    assert_eq!(
        k.window(Campaign::Sunburst).unwrap().to.map(|d| d.to_string()).as_deref(),
        Some("2020-12-31")
    );
}
