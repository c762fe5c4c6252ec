//! SUNBURST (AA20-352A) detectors: the trojanized Orion business-layer DLL, SUPERNOVA,
//! TEARDROP, the `ReportWatcherRetry` setting, stage-2 infrastructure, and the DNS beacon
//! decoder ([`dga`]) for `*.appsync-api.*.avsvmcloud.com` queries; and in registry hives, the
//! security services SUNBURST disables and CISA CHIRP's AA21-008A registry patterns; in NTFS
//! history, the published file names.

pub mod dga;
pub mod pe_version;
pub mod sb001_orion_dll;
pub mod sb002_related_file;
pub mod sb003_report_watcher_retry;
pub mod sb004_dns_beacon;
pub mod sb005_stage2_infrastructure;
pub mod sb006_supernova_request;
pub mod sb007_security_service_disabled;
pub mod sb008_ifeo_dllhost_debugger;
pub mod sb009_ctf_key;
pub mod sb010_sibot_key;
pub mod sb011_file_in_ntfs_history;

pub use crate::intel::sunburst::{FileIndicator, FileKind, Files, NetInfo, Network};

/// CISA alert AA20-352A.
pub const REF_AA20_352A: &str = "CISA AA20-352A, Advanced Persistent Threat Compromise of Government Agencies, Critical Infrastructure, and Private Sector Organizations <https://www.cisa.gov/news-events/cybersecurity-advisories/aa20-352a>";
/// CISA alert AA21-008A (the later-stage activity and the CHIRP indicators).
pub const REF_AA21_008A: &str = "CISA AA21-008A, Detecting Post-Compromise Threat Activity in Microsoft Cloud Environments <https://www.cisa.gov/news-events/cybersecurity-advisories/aa21-008a>";
/// FireEye/Mandiant's SUNBURST write-up.
pub const REF_FIREEYE: &str = "FireEye/Mandiant, Highly Evasive Attacker Leverages SolarWinds Supply Chain to Compromise Multiple Global Victims With SUNBURST Backdoor <https://www.mandiant.com/resources/blog/evasive-attacker-leverages-solarwinds-supply-chain-compromises-with-sunburst-backdoor>";
/// FireEye/Mandiant's countermeasures and indicator release.
pub const REF_FIREEYE_IOCS: &str = "FireEye/Mandiant, SUNBURST countermeasures and indicator release <https://github.com/mandiant/sunburst_countermeasures>";
/// Microsoft's write-up of the second stage (TEARDROP/RAINDROP loaders).
pub const REF_MSFT_STAGE2: &str = "Microsoft, Deep dive into the Solorigate second-stage activation: from SUNBURST to TEARDROP and Raindrop <https://www.microsoft.com/en-us/security/blog/2021/01/20/deep-dive-into-the-solorigate-second-stage-activation-from-sunburst-to-teardrop-and-raindrop/>";
/// SolarWinds' security advisory.
pub const REF_SOLARWINDS: &str = "SolarWinds Security Advisory (SUNBURST and SUPERNOVA) <https://www.solarwinds.com/sa-overview/securityadvisory>";

/// The business-layer DLL's file name, lowercase.
pub const ORION_DLL: &str = "solarwinds.orion.core.businesslayer.dll";

/// The SUPERNOVA family the content of a compiled ASP.NET page shows, from the published
/// markers (FireEye's SUPERNOVA rules: the dynamic compilation of a request's code, and the
/// `clazz`/`codes`/`method`/`args` parameters), if any.
pub fn supernova_content(content: &[u8]) -> Option<&'static str> {
    let has = |s: &str| memchr::memmem::find(content, s.as_bytes()).is_some();
    let solarwinds = content.windows(10).any(|w| w.eq_ignore_ascii_case(b"solarwinds"));
    let params = ["codes", "clazz", "method", "args"].iter().filter(|p| has(p)).count();
    if has("DynamicRun") && has("clazz") && params >= 3 && solarwinds {
        return Some("DynamicRun with the clazz/codes/method/args parameters");
    }
    if ["CompileAssemblyFromSource", "CreateCompiler", "ProcessRequest", "IHttpHandler", "clazz"]
        .iter()
        .all(|s| has(s))
    {
        return Some("an HTTP handler compiling request code (CompileAssemblyFromSource, clazz)");
    }
    None
}

#[cfg(test)]
mod tests {
    use ferret_core::Severity;

    #[test]
    fn data() {
        let k = crate::intel::CheckIntel::builtin();
        let files = &k.sunburst_files;
        assert!(files.rows.len() > 60);
        let i = files
            .by_hash("32519b85c0b422e4656de6e6c41878e95fd95026267daab4215ee59c107d6c77")
            .unwrap();
        assert_eq!(i.family, "SUNBURST");
        assert_eq!(i.severity, Severity::Critical);
        assert_eq!(
            files.by_path("c:/windows/syswow64/netsetupsvc.dll").unwrap().family,
            "TEARDROP"
        );
        assert!(files.by_path("c:/windows/system32/kernel32.dll").is_none());
    }
}
