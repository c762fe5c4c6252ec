//! Every detector, listed once. Order here is the order of `docs/detectors.md`.

use crate::detector::Registration;
use crate::{ivanti, proxylogon, proxyshell, pulse, sunburst};

/// Every detector ferret knows.
pub static DETECTORS: &[&Registration] = &[
    &proxylogon::pl001_anchor_mailbox::DETECTOR,
    &proxylogon::pl002_um_invalid_cast::DETECTOR,
    &proxylogon::pl003_oab_file_write::DETECTOR,
    &proxylogon::pl004_ecp_virtual_directory::DETECTOR,
    &proxylogon::pl005_iis_exploit_requests::DETECTOR,
    &proxylogon::pl006_web_shell::DETECTOR,
    &proxylogon::pl007_lsass_dump::DETECTOR,
    &proxylogon::pl008_published_client_ip::DETECTOR,
    &proxylogon::pl009_deleted_web_shell::DETECTOR,
    // SUNBURST
    &sunburst::sb001_orion_dll::DETECTOR,
    &sunburst::sb002_related_file::DETECTOR,
    &sunburst::sb003_report_watcher_retry::DETECTOR,
    &sunburst::sb004_dns_beacon::DETECTOR,
    &sunburst::sb005_stage2_infrastructure::DETECTOR,
    &sunburst::sb006_supernova_request::DETECTOR,
    &sunburst::sb007_security_service_disabled::DETECTOR,
    &sunburst::sb008_ifeo_dllhost_debugger::DETECTOR,
    &sunburst::sb009_ctf_key::DETECTOR,
    &sunburst::sb010_sibot_key::DETECTOR,
    &sunburst::sb011_file_in_ntfs_history::DETECTOR,
    // Pulse Connect Secure
    &pulse::ps001_manifest_signature::DETECTOR,
    &pulse::ps002_manifest_integrity::DETECTOR,
    &pulse::ps003_manifest_unshipped::DETECTOR,
    &pulse::ps004_family_file::DETECTOR,
    &pulse::ps005_integrity_tooling::DETECTOR,
    &pulse::ps006_web_exploitation::DETECTOR,
    &pulse::ps007_log_wiping::DETECTOR,
    // Ivanti Connect Secure
    &ivanti::ic001_family_file::DETECTOR,
    &ivanti::ic002_web_exploitation::DETECTOR,
    &ivanti::ic003_manifest_signature::DETECTOR,
    &ivanti::ic004_manifest_integrity::DETECTOR,
    &ivanti::ic005_manifest_unshipped::DETECTOR,
    &ivanti::ic006_integrity_tooling::DETECTOR,
    // ProxyShell
    &proxyshell::px001_autodiscover_ssrf::DETECTOR,
    &proxyshell::px002_mailbox_export::DETECTOR,
    &proxyshell::px003_exported_web_shell::DETECTOR,
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::Campaign;

    #[test]
    fn codes_and_names_are_unique_and_well_formed() {
        let mut codes = BTreeSet::new();
        let mut names = BTreeSet::new();
        for d in DETECTORS {
            let i = &d.info;
            assert!(codes.insert(i.code), "duplicate code {}", i.code);
            assert!(names.insert(i.name), "duplicate name {}", i.name);
            let prefix = match i.campaign {
                Campaign::ProxyLogon => ("PL", "proxylogon-"),
                Campaign::Sunburst => ("SB", "sunburst-"),
                Campaign::PulseSecure => ("PS", "pulse-"),
                Campaign::IvantiConnectSecure => ("IC", "ivanti-"),
                Campaign::ProxyShell => ("PX", "proxyshell-"),
            };
            assert!(i.code.len() == 5 && i.code.starts_with(prefix.0), "{}", i.code);
            assert!(i.code[2..].bytes().all(|b| b.is_ascii_digit()), "{}", i.code);
            assert!(i.name.starts_with(prefix.1), "{} should start with {}", i.name, prefix.1);
            assert!(
                i.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            );
            assert!(!i.inputs.is_empty(), "{} names no input", i.code);
            let doc = &i.doc;
            for (h, t) in [
                ("what", doc.what),
                ("why", doc.why),
                ("evidence", doc.evidence),
                ("false positives", doc.false_positives),
            ] {
                assert!(!t.trim().is_empty(), "{}: empty {h}", i.code);
            }
            assert!(!doc.references.is_empty(), "{}: no reference", i.code);
        }
    }
}
