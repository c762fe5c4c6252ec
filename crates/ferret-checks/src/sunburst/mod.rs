//! SUNBURST (AA20-352A) detectors: the trojanized Orion business-layer DLL, SUPERNOVA,
//! TEARDROP, the `ReportWatcherRetry` setting, stage-2 infrastructure, and the DNS beacon
//! decoder ([`dga`]) for `*.appsync-api.*.avsvmcloud.com` queries.

pub mod dga;
pub mod network;
pub mod pe_version;
pub mod sb001_orion_dll;
pub mod sb002_related_file;
pub mod sb003_report_watcher_retry;
pub mod sb004_dns_beacon;
pub mod sb005_stage2_infrastructure;
pub mod sb006_supernova_request;

use std::sync::LazyLock;

use ferret_core::Severity;

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

/// File versions of the trojanized business-layer DLL in the published indicator release.
pub const TROJANIZED_VERSIONS: [&str; 4] =
    ["2019.4.5200.9083", "2020.2.100.12299", "2020.2.5200.12394", "2020.2.5300.12432"];

/// What one `files.tsv` row matches on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// SHA-256 of the file.
    Sha256,
    /// File name, lowercase.
    Name,
    /// Windows path suffix, lowercase with `/`.
    Path,
    /// The name of a genuine Orion file that a family modifies: never matched by name.
    Product,
}

/// One published file indicator.
#[derive(Clone, Copy, Debug)]
pub struct FileIndicator {
    /// What it matches on.
    pub kind: FileKind,
    /// The hash, name or path.
    pub value: &'static str,
    /// The family.
    pub family: &'static str,
    /// How much a match says.
    pub severity: Severity,
    /// What the source says about it.
    pub note: &'static str,
}

static FILES_TSV: &str = include_str!("files.tsv");

/// The published SUNBURST/SUPERNOVA/TEARDROP file indicators (`files.tsv`).
pub static FILES: LazyLock<Vec<FileIndicator>> = LazyLock::new(|| {
    FILES_TSV
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut it = l.split('\t');
            let kind = match it.next()? {
                "sha256" => FileKind::Sha256,
                "name" => FileKind::Name,
                "path" => FileKind::Path,
                "product" => FileKind::Product,
                _ => return None,
            };
            let value = it.next()?;
            let family = it.next()?;
            let severity = match it.next()? {
                "critical" => Severity::Critical,
                "high" => Severity::High,
                _ => Severity::Medium,
            };
            Some(FileIndicator { kind, value, family, severity, note: it.next().unwrap_or("") })
        })
        .collect()
});

/// The indicator matching a normalized path (lowercase, `/`) by name or path suffix.
pub fn file_by_path(normalized: &str) -> Option<&'static FileIndicator> {
    let name = normalized.rsplit('/').next().unwrap_or(normalized);
    FILES.iter().find(|i| match i.kind {
        FileKind::Name => name == i.value,
        FileKind::Path => normalized.ends_with(i.value),
        FileKind::Sha256 | FileKind::Product => false,
    })
}

/// Whether a file name (lowercase) is a genuine Orion file that a family modifies.
pub fn product_file(name: &str) -> bool {
    FILES.iter().any(|i| i.kind == FileKind::Product && i.value == name)
}

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

/// The indicator matching a SHA-256 (lowercase hex).
pub fn file_by_hash(sha256: &str) -> Option<&'static FileIndicator> {
    FILES.iter().find(|i| i.kind == FileKind::Sha256 && i.value == sha256)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data() {
        assert!(FILES.len() > 60);
        let i = file_by_hash("32519b85c0b422e4656de6e6c41878e95fd95026267daab4215ee59c107d6c77")
            .unwrap();
        assert_eq!(i.family, "SUNBURST");
        assert_eq!(i.severity, Severity::Critical);
        assert_eq!(file_by_path("c:/windows/syswow64/netsetupsvc.dll").unwrap().family, "TEARDROP");
        assert!(file_by_path("c:/windows/system32/kernel32.dll").is_none());
        assert_eq!(network::INDICATORS.len(), network::NEEDLES.len());
    }
}
