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

/// What one `sunburst/files.tsv` row matches on.
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
    /// A file version of the business-layer DLL that only trojanized builds carry.
    Version,
}

/// One published file indicator (a row of `sunburst/files.tsv`).
#[derive(Clone, Debug)]
pub struct FileIndicator {
    /// What it matches on.
    pub kind: FileKind,
    /// The hash, name or path.
    pub value: String,
    /// The family.
    pub family: String,
    /// How much a match says.
    pub severity: Severity,
    /// What the source says about it.
    pub note: String,
}

/// The published SUNBURST/SUPERNOVA/TEARDROP file indicators (`sunburst/files.tsv`).
#[derive(Clone, Debug, Default)]
pub struct Files {
    /// The rows, in table order.
    pub rows: Vec<FileIndicator>,
}

/// A table's `severity` field.
pub(crate) fn severity_of(
    path: &str,
    row: &ferret_intel::Row,
) -> Result<Severity, ferret_intel::IntelError> {
    Ok(match crate::intel::one_of(path, row, "severity", &["critical", "high", "medium", "low"])? {
        "critical" => Severity::Critical,
        "high" => Severity::High,
        "medium" => Severity::Medium,
        _ => Severity::Low,
    })
}

impl Files {
    /// Reads `sunburst/files.tsv` from `intel` (none when the table is absent).
    pub fn from_intel(intel: &ferret_intel::Intel) -> Result<Files, ferret_intel::IntelError> {
        let path = crate::intel::tables::SUNBURST_FILES;
        let mut rows = Vec::new();
        for row in intel.rows(path) {
            let kind = match crate::intel::one_of(
                path,
                row,
                "kind",
                &["sha256", "name", "path", "product", "version"],
            )? {
                "sha256" => FileKind::Sha256,
                "name" => FileKind::Name,
                "path" => FileKind::Path,
                "version" => FileKind::Version,
                _ => FileKind::Product,
            };
            rows.push(FileIndicator {
                kind,
                value: row.field("value").to_ascii_lowercase(),
                family: row.field("family").to_owned(),
                severity: severity_of(path, row)?,
                note: row.field("note").to_owned(),
            });
        }
        Ok(Files { rows })
    }

    /// The indicator matching a normalized path (lowercase, `/`) by name or path suffix.
    pub fn by_path(&self, normalized: &str) -> Option<&FileIndicator> {
        let name = normalized.rsplit('/').next().unwrap_or(normalized);
        self.rows.iter().find(|i| match i.kind {
            FileKind::Name => name == i.value,
            FileKind::Path => normalized.ends_with(&i.value),
            FileKind::Sha256 | FileKind::Product | FileKind::Version => false,
        })
    }

    /// Whether a file name (lowercase) is a genuine Orion file that a family modifies.
    pub fn product_file(&self, name: &str) -> bool {
        self.rows.iter().any(|i| i.kind == FileKind::Product && i.value == name)
    }

    /// Whether a file version of the business-layer DLL is one of a trojanized build.
    pub fn trojanized_version(&self, version: &str) -> bool {
        self.rows.iter().any(|i| i.kind == FileKind::Version && i.value == version)
    }

    /// The indicator matching a SHA-256 (lowercase hex).
    pub fn by_hash(&self, sha256: &str) -> Option<&FileIndicator> {
        self.rows.iter().find(|i| i.kind == FileKind::Sha256 && i.value == sha256)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
