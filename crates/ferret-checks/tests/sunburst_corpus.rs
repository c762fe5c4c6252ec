//! Decodes the real SUNBURST passive-DNS hostnames of the shared corpus (skipped when it is
//! absent): most names are beacons, and the victim domains published in the write-ups come out.

use std::collections::BTreeSet;

use ferret_checks::sunburst::dga::{Message, Reassembler, format_utc, parse_query, victim_hex};

#[test]
fn corpus_hostnames_decode_to_victim_domains() {
    let Some(root) = ferret_testkit::require_corpus() else { return };
    let file = root.join("sunburst-passive-dns/sunburst/uniq-hostnames.txt");
    let Ok(text) = std::fs::read_to_string(&file) else {
        ferret_testkit::skip(format_args!("the corpus file {}", file.display()));
        return;
    };
    let names: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let mut r = Reassembler::new();
    let (mut fragments, mut statuses, mut stage2, mut region_ok) = (0usize, 0usize, 0usize, 0usize);
    for name in &names {
        let Some(q) = parse_query(name) else { continue };
        match &q.message {
            Message::Fragment(_) => fragments += 1,
            Message::Status(s) => {
                statuses += 1;
                stage2 += usize::from(s.stage2);
            }
        }
        region_ok += usize::from(q.region_matches_id);
        r.push(None, &q);
    }
    let parsed = fragments + statuses;
    let reports = r.reports();
    let with_domain: Vec<_> =
        reports.iter().filter_map(|v| v.domain.as_ref().map(|d| (v, d))).collect();
    let complete: BTreeSet<&str> =
        with_domain.iter().filter(|(_, d)| d.complete).map(|(_, d)| d.name.as_str()).collect();
    let partial: BTreeSet<&str> =
        with_domain.iter().filter(|(_, d)| !d.complete).map(|(_, d)| d.name.as_str()).collect();
    let names_to_domain = names
        .iter()
        .filter_map(|n| parse_query(n))
        .filter(|q| matches!(q.message, Message::Fragment(_)))
        .filter(|q| {
            reports
                .iter()
                .any(|v| v.victim == q.victim && v.domain.as_ref().is_some_and(|d| d.complete))
        })
        .count();

    eprintln!("names: {}", names.len());
    eprintln!(
        "beacons parsed: {parsed} ({fragments} domain fragments, {statuses} status messages, {stage2} with the stage-2 flag)"
    );
    eprintln!("region consistent with the id: {region_ok}");
    eprintln!(
        "victims: {}; with a domain: {} ({} complete, {} partial)",
        reports.len(),
        with_domain.len(),
        with_domain.iter().filter(|(_, d)| d.complete).count(),
        with_domain.iter().filter(|(_, d)| !d.complete).count()
    );
    eprintln!("fragment names that belong to a complete domain: {names_to_domain}");
    eprintln!("distinct complete domains ({}):", complete.len());
    for d in &complete {
        eprintln!("  {d}");
    }
    eprintln!("distinct partial domains ({}):", partial.len());
    for d in &partial {
        eprintln!("  {d}");
    }
    for v in reports.iter().filter(|v| v.stage2()) {
        eprintln!(
            "stage2 victim {} domain {:?}",
            victim_hex(&v.victim),
            v.domain.as_ref().map(|d| &d.name)
        );
    }

    assert!(parsed * 100 >= names.len() * 90, "only {parsed} of {} names parse", names.len());
    // Nearly every beacon uses the region the implant derives from its id.
    assert!(region_ok * 100 >= parsed * 95, "{region_ok} of {parsed} in the expected region");
    // Victim domains named in the write-ups (Netresec's decoder output, RedDrip's list,
    // Kaspersky's and the press's identifications).
    for want in [
        "central.pima.gov",
        "coxnet.cox.com",
        "nvidia.com",
        "fa.lcl",
        "innout.corp",
        "htwanmgmt.local",
        "aerioncorp.com",
        "uis.kent.edu",
        "thoughtspot.int",
    ] {
        assert!(complete.contains(want), "{want} not recovered");
    }
    // Netresec's table of stage-2 beacons: the flag set at 2020-06-13 09:00 and 2020-06-20 02:30 UTC.
    let stage2_times: BTreeSet<String> = reports
        .iter()
        .flat_map(|v| v.statuses.iter().filter(|s| s.stage2).map(|s| format_utc(s.time)))
        .collect();
    for want in ["2020-06-13T09:00Z", "2020-06-20T02:30Z"] {
        assert!(stage2_times.contains(want), "no stage-2 beacon at {want}: {stage2_times:?}");
    }
}
