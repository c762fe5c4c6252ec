//! The built-in SUNBURST and Pulse Connect Secure data hold every hash, name, URI and network
//! indicator of the published lists in the shared corpus (skips when it is absent).

use std::path::PathBuf;

/// The corpus: `FERRET_CORPUS` when set, else `shared/corpus` beside the repository.
fn corpus() -> PathBuf {
    std::env::var_os("FERRET_CORPUS").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus")),
        PathBuf::from,
    )
}

fn read(rel: &str) -> Option<String> {
    let p = corpus().join(rel);
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

const FAMILIES: &str = include_str!("../src/pulse/families.tsv");
const SUNBURST_FILES: &str = include_str!("../src/sunburst/files.tsv");
const NETWORK: &str = include_str!("../src/sunburst/network.rs");
const PS006: &str = include_str!("../src/pulse/ps006_web_exploitation.rs");

#[test]
fn every_mandiant_pulse_hash_is_in_families() {
    let Some(text) = read("pulsesecure_exploitation_countermeasures/MalwareHashes.txt") else {
        return;
    };
    let mut n = 0;
    for w in text.split_whitespace() {
        if is_hex_hash(w) {
            n += 1;
            assert!(FAMILIES.contains(&w.to_ascii_lowercase()), "{w} missing from families.tsv");
        }
    }
    assert!(n > 100, "{n}");
}

#[test]
fn every_cisa_pulse_file_hash_is_in_families() {
    let Some(ja3) = read("pulse-connect-secure-ioc-csvs/AA21-110A-JA3.csv") else { return };
    let ja3: Vec<String> =
        ja3.lines().filter_map(|l| l.split(',').next()).map(str::to_ascii_lowercase).collect();
    for f in ["AR21-110A-hashes.csv", "AR21-112A-hashes.csv", "cve-2021-22893-hashes.csv"] {
        let Some(text) = read(&format!("pulse-connect-secure-ioc-csvs/{f}")) else { return };
        for l in text.lines() {
            let h = l.split(',').next().unwrap_or("").trim().to_ascii_lowercase();
            if is_hex_hash(&h) && !ja3.contains(&h) {
                assert!(FAMILIES.contains(&h), "{h} of {f} missing from families.tsv");
            }
        }
    }
}

#[test]
fn every_published_pulse_uri_and_shell_name_is_in_ps006() {
    let Some(uris) = read("pulse-connect-secure-ioc-csvs/cve-2021-22893-uris.csv") else { return };
    for l in uris.lines().skip(1) {
        let uri = l.split(',').next().unwrap_or("").trim();
        // `^/+dana/+meeting` → `/dana/meeting`; `recover[.]cgi` → `recover.cgi`.
        let plain = uri.trim_start_matches('^').replace("/+", "/").replace("[.]", ".");
        if !plain.is_empty() {
            // Either the URI itself or its script name (a web shell) is matched.
            let script = plain.rsplit('/').next().unwrap_or("");
            let covered =
                PS006.contains(&plain) || (script.contains(".cgi") && PS006.contains(script));
            assert!(covered, "URI {plain} missing from PS006");
        }
    }
    let Some(shells) = read("pulse-connect-secure-ioc-csvs/cve-2021-22893-webshells.csv") else {
        return;
    };
    // Names of product files (trojanized, found by hash and manifest) are not matched by name.
    let product = ["compcheckresult.cgi", "login.cgi", "healthcheck.cgi"];
    for l in shells.lines().skip(1) {
        let name = l.split(',').next().unwrap_or("").trim().to_ascii_lowercase();
        if !name.is_empty() && !product.contains(&name.as_str()) {
            assert!(PS006.contains(&name), "shell {name} missing from PS006");
            assert!(FAMILIES.contains(&name), "shell {name} missing from families.tsv");
        }
    }
}

#[test]
fn every_sunburst_release_hash_and_network_indicator_is_built_in() {
    let Some(hashes) =
        read("sunburst_countermeasures/indicator_release/Indicator_Release_Hashes.csv")
    else {
        return;
    };
    for l in hashes.lines().skip(1) {
        let h = l.split(',').next().unwrap_or("");
        // Certificates and the decompiled source are not files found on a host.
        if l.contains("Code Signing Certificate") || l.contains(".cs,") {
            continue;
        }
        assert!(SUNBURST_FILES.contains(h), "{h} missing from sunburst/files.tsv");
    }
    let Some(nbis) = read("sunburst_countermeasures/indicator_release/Indicator_Release_NBIs.csv")
    else {
        return;
    };
    for l in nbis.lines().skip(1) {
        let cols: Vec<&str> = l.split(',').collect();
        for c in cols.iter().skip(2).take(3) {
            let v = c.replace("[.]", ".");
            if v.is_empty() || v.contains("avsvmcloud") {
                continue;
            }
            assert!(NETWORK.contains(&format!("\"{v}\"")), "{v} missing from sunburst/network.rs");
        }
    }
}
