//! Ivanti Connect Secure (the renamed Pulse Connect Secure appliance) detectors for the 2024 and
//! 2025 intrusions: CVE-2023-46805 with CVE-2024-21887 (UNC5221/UTA0178: LIGHTWIRE, WIREFIRE,
//! WARPWIRE, THINSPOOL, ZIPLINE, GLASSTOKEN, …), CVE-2025-0282 (the SPAWN family, PHASEJAM,
//! DRYHOOK) and CVE-2025-22457 (TRAILBLAZE, BRUSHFIRE); CISA ED 24-01 and AA24-060B.
//!
//! The appliance is the same as Pulse Connect Secure's, so the tree is found the same way
//! ([`crate::pulse::appliance_roots`]) and the manifest and integrity-checker checks are the
//! Pulse ones, run again under this campaign ([`Shared`]). Every indicator (hashes, names,
//! paths, code markers, request patterns) is data: the tables under `intel/ivanti-connect-secure/`,
//! read from the run's loaded intel ([`crate::intel::CheckIntel::ivanti`]).

pub mod ic001_family_file;
pub mod ic002_web_exploitation;
pub mod ic003_manifest_signature;
pub mod ic004_manifest_integrity;
pub mod ic005_manifest_unshipped;
pub mod ic006_integrity_tooling;

use std::path::Path;

use ferret_core::Severity;
use ferret_intel::Confidence;
use ferret_logs::Event;
use serde_json::json;

use crate::detector::{Detector, FileEntry, Info, Out};
use crate::inventory::{Inventory, LogSource};

/// CISA Emergency Directive 24-01.
pub const REF_ED_24_01: &str = "CISA Emergency Directive 24-01, Mitigate Ivanti Connect Secure and Ivanti Policy Secure Vulnerabilities <https://www.cisa.gov/news-events/directives/ed-24-01-mitigate-ivanti-connect-secure-and-ivanti-policy-secure-vulnerabilities>";
/// CISA advisory AA24-060B.
pub const REF_AA24_060B: &str = "CISA AA24-060B, Threat Actors Exploit Multiple Vulnerabilities in Ivanti Connect Secure and Policy Secure Gateways <https://www.cisa.gov/news-events/cybersecurity-advisories/aa24-060b>";
/// Volexity's first write-up (January 2024).
pub const REF_VOLEXITY_2024: &str = "Volexity, Active Exploitation of Two Zero-Day Vulnerabilities in Ivanti Connect Secure VPN <https://www.volexity.com/blog/2024/01/10/active-exploitation-of-two-zero-day-vulnerabilities-in-ivanti-connect-secure-vpn/>";
/// Mandiant's first write-up (January 2024).
pub const REF_MANDIANT_2024: &str = "Mandiant, Cutting Edge: Suspected APT Targets Ivanti Connect Secure VPN in New Zero-Day Exploitation <https://cloud.google.com/blog/topics/threat-intelligence/suspected-apt-targets-ivanti-zero-day>";
/// Mandiant on CVE-2025-0282 (January 2025).
pub const REF_MANDIANT_2025_01: &str = "Mandiant, Ivanti Connect Secure VPN Targeted in New Zero-Day Exploitation (CVE-2025-0282) <https://cloud.google.com/blog/topics/threat-intelligence/ivanti-connect-secure-vpn-zero-day>";
/// Mandiant on CVE-2025-22457 (April 2025).
pub const REF_MANDIANT_2025_04: &str = "Mandiant, Suspected China-Nexus Threat Actor Actively Exploiting Critical Ivanti Connect Secure Vulnerability (CVE-2025-22457) <https://cloud.google.com/blog/topics/threat-intelligence/china-nexus-exploiting-critical-ivanti-vulnerability>";
/// Rapid7's analysis of CVE-2023-46805 and CVE-2024-21887.
pub const REF_RAPID7_2024: &str = "Rapid7, CVE-2023-46805 and CVE-2024-21887 analysis (AttackerKB) <https://attackerkb.com/topics/AdUh6by52K/cve-2023-46805/rapid7-analysis>";

pub use crate::intel::ivanti::{Families, Indicator, Kind, MarkerSet, Markers};

/// The severity a row of this confidence gives: high → `high_sev`, medium → high, low → medium.
pub fn severity_of(c: Confidence, high_sev: Severity) -> Severity {
    match c {
        Confidence::High => high_sev,
        Confidence::Medium => Severity::High,
        Confidence::Low => Severity::Medium,
    }
}

/// A Pulse Connect Secure detector run again under the Ivanti campaign: the same appliance, the
/// same manifest and integrity checker. Its findings are re-stamped with the Ivanti detector's
/// rule and campaign.
pub struct Shared {
    info: &'static Info,
    inner: Box<dyn Detector>,
}

impl Shared {
    /// Wraps `inner`, stamping its findings as `info`'s.
    pub fn new(info: &'static Info, inner: Box<dyn Detector>) -> Shared {
        Shared { info, inner }
    }

    fn restamp(&self, tmp: &mut Out, out: &mut Out) {
        for mut f in tmp.findings.drain(..) {
            let shared_from = f.rule.id.clone();
            f.rule = self.info.rule();
            f.details.insert("campaign".to_owned(), json!(self.info.campaign.id()));
            if !shared_from.is_empty() {
                f.details.insert("shared_with".to_owned(), json!(shared_from));
            }
            out.finding(f);
        }
        out.problems.append(&mut tmp.problems);
        out.not_checked.append(&mut tmp.not_checked);
    }
}

impl Detector for Shared {
    fn on_event(&self, ev: &Event, source: LogSource, out: &mut Out) {
        let mut tmp = Out::default();
        self.inner.on_event(ev, source, &mut tmp);
        self.restamp(&mut tmp, out);
    }

    fn wants_file(&self, path: &Path, size: u64) -> bool {
        self.inner.wants_file(path, size)
    }

    fn on_file(&self, file: &FileEntry<'_>, out: &mut Out) {
        let mut tmp = Out::default();
        self.inner.on_file(file, &mut tmp);
        self.restamp(&mut tmp, out);
    }

    fn on_tree(&self, inventory: &Inventory, out: &mut Out) {
        let mut tmp = Out::default();
        self.inner.on_tree(inventory, &mut tmp);
        self.restamp(&mut tmp, out);
    }

    fn finish(&self, out: &mut Out) {
        let mut tmp = Out::default();
        self.inner.finish(&mut tmp);
        self.restamp(&mut tmp, out);
    }
}

/// The score a finding of this severity gets (the report's severity follows the score).
pub fn score_for(severity: Severity) -> u8 {
    match severity {
        Severity::Critical => 95,
        Severity::High => 85,
        Severity::Medium => 65,
        Severity::Low => 45,
        Severity::Info => 20,
    }
}

#[cfg(test)]
mod tests {
    use crate::intel::CheckIntel;

    use super::*;

    #[test]
    fn tables_parse() {
        let k = CheckIntel::builtin();
        let fam = &k.ivanti.families;
        assert!(fam.rows.iter().filter(|i| i.kind == Kind::Hash).count() >= 20);
        for i in fam.rows.iter().filter(|i| i.kind == Kind::Hash) {
            assert!(matches!(i.value.len(), 32 | 40 | 64), "{}", i.value);
            assert!(i.value.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        }
        assert!(k.ivanti.markers.sets.len() >= 8);
        for s in &k.ivanti.markers.sets {
            assert!(s.need >= 1 && s.need <= s.literals.len(), "{}", s.family);
        }
        assert_eq!(
            fam.by_name("/root/usr/lib/libsecure.so.1").map(|i| i.family.as_str()),
            Some("ZIPLINE")
        );
        assert!(fam.by_name("/home/webserver/htdocs/dana-na/auth/compcheckresult.cgi").is_none());
        assert!(
            fam.product_file("/home/webserver/htdocs/dana-na/auth/compcheckresult.cgi").is_some()
        );
        assert!(fam.by_name("/tmp/.i").is_some());
        assert!(fam.by_name("/tmp/x.i").is_none());
    }

    #[test]
    fn markers_need_their_count() {
        let k = CheckIntel::builtin();
        let warp = concat!(
            "var wdata = document.frmLogin.username.value;\n",
            "var sdata = document.frmLogin.password.value;\n",
            "var xhr = new XMLHttpRequest(); x.send(u+wdata+'&'+sdata;\n",
            "// Remember the last selected auth realm for 30 days\n"
        );
        assert_eq!(
            k.ivanti.markers.matching(warp.as_bytes()).map(|(s, _)| s.family.as_str()),
            Some("WARPWIRE")
        );
        let genuine = "// Remember the last selected auth realm for 30 days\nfunction f() {}\n";
        assert!(k.ivanti.markers.matching(genuine.as_bytes()).is_none());
    }
}
