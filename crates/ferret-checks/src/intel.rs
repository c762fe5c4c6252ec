//! The SHA-256 of the intelligence built into `ferret check`: every embedded data file (the
//! Pulse Connect Secure families and code markers, the SUNBURST file and network indicators,
//! the ProxyLogon web-shell list, the campaign windows, the `intel/` tables) and every
//! detector's identity (code, name, campaign, default severity), with the crate's version. Reports carry it as
//! `tool.ruleset_sha256`, so two runs can be told apart by the intel they used.

use std::sync::LazyLock;

use sha2::Digest as _;

use crate::registry::DETECTORS;
use crate::sunburst::network;

/// The embedded data files, by name.
const DATA: [(&str, &str); 5] = [
    ("pulse/families.tsv", include_str!("pulse/families.tsv")),
    ("pulse/markers.tsv", include_str!("pulse/markers.tsv")),
    ("sunburst/files.tsv", include_str!("sunburst/files.tsv")),
    ("data/proxylogon-webshells.txt", include_str!("../data/proxylogon-webshells.txt")),
    ("data/campaign-windows.tsv", include_str!("../data/campaign-windows.tsv")),
];

static SHA256: LazyLock<String> = LazyLock::new(|| {
    let mut h = sha2::Sha256::new();
    let mut item = |name: &str, body: &[u8]| {
        h.update(name.as_bytes());
        h.update([0]);
        h.update((body.len() as u64).to_le_bytes());
        h.update(body);
    };
    item("version", env!("CARGO_PKG_VERSION").as_bytes());
    for (name, body) in DATA {
        item(name, body.as_bytes());
    }
    if let Ok(intel) = ferret_intel::Intel::builtin() {
        item("intel", intel.sha256().as_bytes());
    }
    let mut net = String::new();
    for (value, severity, source) in network::INDICATORS {
        net.push_str(&format!("{value}\t{severity}\t{source}\n"));
    }
    item("sunburst/network", net.as_bytes());
    let mut dets = String::new();
    for d in DETECTORS {
        let i = &d.info;
        dets.push_str(&format!("{}\t{}\t{}\t{}\n", i.code, i.name, i.campaign, i.severity));
    }
    item("detectors", dets.as_bytes());
    hex::encode(h.finalize())
});

/// The SHA-256 (lowercase hex) of the built-in intelligence.
pub fn sha256() -> &'static str {
    &SHA256
}

#[cfg(test)]
mod tests {
    #[test]
    fn stable_and_hex() {
        let a = super::sha256();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(a, super::sha256());
    }
}
