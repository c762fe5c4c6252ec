//! Reports for tests of everything that carries one (the wire format, the upload, the
//! collector and its store): [`report`] builds a complete run with the findings given.
//! Behind the `report` feature, so the crates below `ferret-report` do not build it.

use chrono::{Duration, TimeZone as _, Utc};
use ferret_core::{Finding, Summary};
use ferret_report::{Report, SCHEMA_VERSION, ToolInfo};

/// A complete `check` run of host `h` with `findings` (counted in the summary), started
/// 2026-03-01 10:00:00 UTC and finished two seconds later. Tests change the public fields
/// they care about (call [`Report::count_findings`] again after changing the findings).
///
/// # Panics
/// Never: the start time is a valid constant.
pub fn report(run_id: &str, findings: Vec<Finding>) -> Report {
    let started = Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).single().expect("a valid time");
    let mut r = Report {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo { name: "ferret".into(), version: "0.1.0".into(), ..Default::default() },
        verb: "check".into(),
        run_id: run_id.into(),
        host: "h".into(),
        targets: vec![],
        started,
        finished: started + Duration::seconds(2),
        findings,
        problems: vec![],
        problems_dropped: 0,
        summary: Summary { complete: true, ..Default::default() },
    };
    r.count_findings();
    r
}

/// `report` as JSON lines, the body a host uploads.
///
/// # Panics
/// When the report cannot be written to memory (it always can).
pub fn jsonl(report: &Report) -> Vec<u8> {
    let mut out = Vec::new();
    ferret_report::jsonl::write(report, &mut out).expect("write JSONL to memory");
    out
}
