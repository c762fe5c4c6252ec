//! The SUNBURST beacon names FireEye published with their first-seen times (the CNAME records
//! of the indicator release, `Indicator_Release_NBIs.csv`) decode to the victims' status
//! messages: each carries the stage-2 flag (the CNAME answer is what a selected victim gets)
//! and a timestamp in the half hour before the name was first seen (the implant rounds its
//! clock down to the half hour); two names of July 2020 are the same victim on two days.
//!
//! The corpus is optional: without it the test says so and is skipped, and fails under
//! `FERRET_STRICT_TESTS=1`.

use ferret_checks::sunburst::dga::{Message, format_utc, parse_query, victim_hex};

/// `YYYY-MM-DD HH:MM:SS` as Unix seconds (UTC).
fn unix(s: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M:%S")
        .expect("first-seen time")
        .and_utc()
        .timestamp()
}

#[test]
fn fireeye_cname_beacons_decode_to_stage2_status_messages() {
    let file = ferret_testkit::corpus()
        .join("sunburst_countermeasures/indicator_release/Indicator_Release_NBIs.csv");
    let Ok(text) = std::fs::read_to_string(&file) else {
        assert!(std::env::var_os("FERRET_STRICT_TESTS").is_none(), "{} is needed", file.display());
        eprintln!("SKIPPED: {} not present", file.display());
        return;
    };
    let mut n = 0;
    let mut victims = Vec::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        let (Some(fqdn), Some(first_seen)) = (cols.get(2), cols.get(5)) else { continue };
        let fqdn = fqdn.replace("[.]", ".");
        if !fqdn.contains("avsvmcloud") {
            continue;
        }
        let q = parse_query(&fqdn).unwrap_or_else(|| panic!("{fqdn} does not decode"));
        let Message::Status(s) = &q.message else { panic!("{fqdn} is not a status message") };
        let seen = unix(first_seen);
        eprintln!(
            "{fqdn}: victim {} status {} stage2 {} (first seen {first_seen})",
            victim_hex(&q.victim),
            format_utc(s.time),
            s.stage2
        );
        assert!(q.region_matches_id, "{fqdn}");
        assert!(s.stage2, "{fqdn}: the CNAME answer goes to a selected victim");
        assert!(
            s.time <= seen && seen - s.time < 1800,
            "{fqdn}: status time {} is not just before {first_seen}",
            format_utc(s.time)
        );
        victims.push((fqdn.clone(), victim_hex(&q.victim)));
        n += 1;
    }
    assert!(n >= 4, "{n} beacon names");
    let of = |label: &str| {
        victims.iter().find(|(f, _)| f.starts_with(label)).map(|(_, v)| v.clone()).expect(label)
    };
    assert_eq!(of("k5kcubuassl3alrf7gm3"), of("mhdosoksaccf9sni9icp"));
    assert_ne!(of("6a57jk2ba1d9keg15cbg"), of("gq1h856599gqh538acqn"));
}
