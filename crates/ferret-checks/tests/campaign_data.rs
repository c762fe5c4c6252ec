//! The built-in SUNBURST and Pulse Connect Secure data against the published lists in the shared
//! corpus, through the detectors: every published hash is matched by the detectors' own lookups,
//! every published exploit URI with an exploitation marker is found by PS006 in a generated
//! access log (and without one it is not: the endpoints are genuine), every published web-shell
//! name is known to PS004 (a never-shipped name, or a genuine page judged by content), and every
//! published stage-2 network indicator in a generated DNS log is found by SB005.
//!
//! The corpus is optional: without it the tests say so and are skipped, and fail under
//! `FERRET_STRICT_TESTS=1`.

mod common;

use common::run;
use ferret_checks::Campaign;
use ferret_checks::intel::CheckIntel;
use ferret_checks::pulse::{Indicator, Kind};
use ferret_testkit::Tree;

fn by_hash(h: &str) -> Option<Indicator> {
    CheckIntel::builtin().families.by_hash(h).cloned()
}

fn by_name(n: &str) -> Option<Indicator> {
    CheckIntel::builtin().families.by_name(n).cloned()
}

fn product_file(n: &str) -> Option<Indicator> {
    CheckIntel::builtin().families.product_file(n).cloned()
}

fn file_by_hash(h: &str) -> Option<ferret_checks::sunburst::FileIndicator> {
    CheckIntel::builtin().sunburst_files.by_hash(h).cloned()
}

fn read(rel: &str) -> Option<String> {
    let p = ferret_testkit::corpus().join(rel);
    match std::fs::read_to_string(&p) {
        Ok(t) => Some(t),
        Err(_) => {
            ferret_testkit::skip(format_args!("the corpus file {}", p.display()));
            None
        }
    }
}

fn is_hex_hash(s: &str) -> bool {
    matches!(s.len(), 32 | 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[test]
fn every_mandiant_pulse_hash_is_matched_by_ps004() {
    let Some(text) = read("pulsesecure_exploitation_countermeasures/MalwareHashes.txt") else {
        return;
    };
    let mut n = 0;
    for w in text.split_whitespace().filter(|w| is_hex_hash(w)) {
        n += 1;
        assert!(by_hash(&w.to_ascii_lowercase()).is_some(), "{w} is not matched");
    }
    assert!(n > 100, "{n}");
}

#[test]
fn every_cisa_pulse_file_hash_is_matched_by_ps004() {
    let Some(ja3) = read("pulse-connect-secure-ioc-csvs/AA21-110A-JA3.csv") else { return };
    let ja3: Vec<String> =
        ja3.lines().filter_map(|l| l.split(',').next()).map(str::to_ascii_lowercase).collect();
    for f in ["AR21-110A-hashes.csv", "AR21-112A-hashes.csv", "cve-2021-22893-hashes.csv"] {
        let Some(text) = read(&format!("pulse-connect-secure-ioc-csvs/{f}")) else { return };
        for l in text.lines() {
            let h = l.split(',').next().unwrap_or("").trim().to_ascii_lowercase();
            if is_hex_hash(&h) && !ja3.contains(&h) {
                assert!(by_hash(&h).is_some(), "{h} of {f} is not matched");
            }
        }
    }
}

/// A `/dana*` request line of an access log at `time` (hours after midnight, April 2021).
fn access_line(hour: usize, uri: &str) -> String {
    format!(
        "203.0.113.7 - - [12/Apr/2021:{:02}:{:02}:00 +0000] \"GET {uri} HTTP/1.1\" 200 87 \"-\" \"curl/7.29.0\"\n",
        hour / 60 % 24,
        hour % 60
    )
}

#[test]
fn every_published_pulse_uri_is_found_only_with_an_exploitation_marker() {
    let Some(uris) = read("pulse-connect-secure-ioc-csvs/cve-2021-22893-uris.csv") else { return };
    // `^/+dana/+meeting` → `/dana/meeting`; `recover[.]cgi` → `recover.cgi`.
    let plain: Vec<String> = uris
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap_or("").trim())
        .map(|u| u.trim_start_matches('^').replace("/+", "/").replace("[.]", "."))
        .filter(|u| !u.is_empty())
        .collect();
    assert!(plain.len() >= 5, "{plain:?}");
    let t = Tree::new();
    // The appliance root makes the campaign decidable; its files are absent on purpose.
    t.file("pcs/home/etc/manifest/manifest", "");
    // Bare requests to the published endpoints (the token-carrying recover.cgi aside): genuine
    // pages and features, no finding.
    let mut bare = String::new();
    for (i, u) in plain.iter().enumerate().filter(|(_, u)| !u.contains("?token=")) {
        bare.push_str(&access_line(i, u));
    }
    t.file("logs/bare-access.log", &bare);
    let r = run(t.root(), &[Campaign::PulseSecure]);
    assert!(r.of("PS006").is_empty(), "{:#?}", r.of("PS006"));
    // The same endpoints with a shell command in the request: one finding each.
    let mut marked = String::new();
    for (i, u) in plain.iter().enumerate() {
        let sep = if u.contains('?') { "&" } else { "?" };
        marked.push_str(&access_line(i, &format!("{u}{sep}cmd=%2Fbin%2Fsh%20-c%20id")));
    }
    t.file("logs/bare-access.log", &marked);
    let r = run(t.root(), &[Campaign::PulseSecure]);
    let hits = r.of("PS006");
    assert_eq!(hits.len(), plain.len(), "{hits:#?}");
}

#[test]
fn every_published_pulse_shell_name_is_known_to_ps004() {
    let Some(shells) = read("pulse-connect-secure-ioc-csvs/cve-2021-22893-webshells.csv") else {
        return;
    };
    let Some(files) = read("pulse-connect-secure-ioc-csvs/AR21-110A-files.csv") else { return };
    let names = shells.lines().chain(files.lines()).skip(1).filter_map(|l| {
        let n = l.split(',').next()?.trim().to_ascii_lowercase();
        (!n.is_empty() && n != "filename").then_some(n)
    });
    for name in names {
        // A genuine page that families modify (judged by content and manifest), or a name the
        // product never ships (a finding by itself).
        let product = product_file(&name).is_some();
        let never_shipped =
            by_name(&name).is_some_and(|i| matches!(i.kind, Kind::BadName | Kind::BadPath));
        assert!(product || never_shipped, "published name {name} is unknown to PS004");
        assert!(!(product && never_shipped), "{name} is both a product page and never shipped");
    }
}

#[test]
fn every_sunburst_release_hash_is_matched_by_sb001_or_sb002() {
    let Some(hashes) =
        read("sunburst_countermeasures/indicator_release/Indicator_Release_Hashes.csv")
    else {
        return;
    };
    let mut n = 0;
    for l in hashes.lines().skip(1) {
        let h = l.split(',').next().unwrap_or("");
        // Certificates and the decompiled source are not files found on a host.
        if l.contains("Code Signing Certificate") || l.contains(".cs,") || h.is_empty() {
            continue;
        }
        n += 1;
        assert!(file_by_hash(&h.to_ascii_lowercase()).is_some(), "{h} is not matched");
    }
    assert!(n >= 5, "{n}");
}

#[test]
fn every_sunburst_network_indicator_is_found_by_sb005_in_a_dns_log() {
    let Some(nbis) = read("sunburst_countermeasures/indicator_release/Indicator_Release_NBIs.csv")
    else {
        return;
    };
    let mut values: Vec<String> = Vec::new();
    for l in nbis.lines().skip(1) {
        for c in l.split(',').skip(2).take(3) {
            let v = c.replace("[.]", ".");
            // avsvmcloud.com is the first stage: SB004 decodes those queries.
            if !v.is_empty() && !v.contains("avsvmcloud") && !values.contains(&v) {
                values.push(v);
            }
        }
    }
    assert!(values.len() >= 5, "{values:?}");
    let t = Tree::new();
    let mut log = String::new();
    for (i, v) in values.iter().enumerate() {
        log.push_str(&format!(
            "13-Jun-2020 09:{:02}:{:02}.000 queries: info: client @0x7f1c2c0a1b80 10.0.0.5#52719 ({v}): query: {v} IN A + (10.0.0.1)\n",
            i / 60 % 60,
            i % 60
        ));
    }
    t.file("dns/named-queries.log", log);
    let r = run(t.root(), &[Campaign::Sunburst]);
    let hits = r.of("SB005");
    for v in &values {
        assert!(
            hits.iter().any(|f| f.evidence.iter().any(|e| e.data.contains(v.as_str()))),
            "{v} was not found by SB005: {hits:#?}"
        );
    }
}

#[test]
fn every_chirp_aa21_008a_network_indicator_is_in_the_sunburst_network_table() {
    let Some(text) = read("cisa-chirp-indicators/indicators/AA21-008A/iocs.yaml") else { return };
    // The `ips: |` block of the one `ioc_type: "network"` document.
    let Some(start) = text.find("ioc_type: \"network\"") else {
        panic!("no network indicators in the CHIRP file");
    };
    let block = text.get(start..).unwrap_or("");
    // The file pads some values with zero-width joiners: only the printable ASCII counts.
    let values: Vec<String> = block
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("ips:"))
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        .map(|l| l.chars().filter(char::is_ascii_graphic).collect::<String>())
        .filter(|v| !v.is_empty() && !v.contains("avsvmcloud"))
        .collect();
    assert!(values.len() > 1000, "{}", values.len());
    let net = &CheckIntel::builtin().network;
    // Domains and addresses are rows; a URL is found through its host.
    for v in &values {
        assert!(!net.indicators_in(v).is_empty(), "{v} is not found by sunburst/network.tsv");
    }
}
