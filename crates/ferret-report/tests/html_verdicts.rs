//! The HTML report leads with the answer: the result line and, for `ferret check`, the
//! campaign verdicts (verdict, why, what was checked, how far back each log reaches) come
//! before the findings and the timeline; every time on the page reads `YYYY-MM-DD HH:MM:SS UTC`.

mod common;

fn page() -> String {
    let mut out = Vec::new();
    ferret_report::html::write(&common::fixture(), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn at(page: &str, needle: &str) -> usize {
    page.find(needle).unwrap_or_else(|| panic!("{needle:?} is not on the page"))
}

#[test]
fn verdicts_head_the_page_before_findings_and_timeline() {
    let p = page();
    let result = at(&p, "AFFECTED: proxylogon; INCOMPLETE: 1 file could not be read");
    let verdicts = at(&p, "<h2>Verdicts</h2>");
    let affected = at(&p, "verdict verdict-affected\">AFFECTED</span>");
    let unknown = at(&p, "verdict verdict-unknown\">UNKNOWN</span>");
    assert!(result < verdicts && verdicts < affected && affected < unknown);
    for later in ["<h2>Summary</h2>", "<h2>Timeline</h2>", "<h2>Findings</h2>", "<h2>Problems</h2>"]
    {
        assert!(verdicts < at(&p, later), "verdicts come before {later}");
    }
    // Why, what was checked and what was not, and how far back the logs reach.
    at(&p, "a web shell was found in an Exchange virtual directory");
    at(&p, "checked: web shells in the Exchange virtual directories");
    at(&p, "not checked: Orion binaries: no installation found");
    at(&p, "from 2021-03-03 04:05:06 UTC to 2021-03-09 01:02:03 UTC");
    at(&p, "12 file(s), 52000 event(s)");
    at(&p, "no log was read");
}

#[test]
fn every_time_is_shown_one_way_in_utc() {
    let p = page();
    at(&p, "2026-03-01 10:00:00 UTC");
    at(&p, "2026-03-01 10:01:23 UTC");
    at(&p, "2026-02-27 23:59:58 UTC");
    for rfc3339 in ["T10:00:00", "+00:00", "T23:59:58", "T04:05:06"] {
        assert!(!p.contains(rfc3339), "{rfc3339} on the page");
    }
}

#[test]
fn runs_without_verdicts_have_no_verdict_section() {
    let mut r = common::fixture();
    r.summary.details.clear();
    r.verb = "scan".into();
    let mut out = Vec::new();
    ferret_report::html::write(&r, &mut out).unwrap();
    let p = String::from_utf8(out).unwrap();
    assert!(!p.contains("<h2>Verdicts</h2>"));
    assert!(p.contains("FINDINGS; INCOMPLETE: 1 file could not be read"));
}
