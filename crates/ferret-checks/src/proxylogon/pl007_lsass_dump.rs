//! PL007 proxylogon-lsass-dump-staging: LSASS memory dumps and staged archives where the
//! ProxyLogon operators left them.

use std::path::Path;

use ferret_core::Severity;

use crate::detector::{
    Campaign, Detector, Doc, FileEntry, Info, Input, Out, Registration, evidence, stateless,
};
use crate::inventory::{Marker, normalized};
use crate::proxylogon::{REF_AA21_062A, REF_MSFT_HAFNIUM};

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "PL007",
        name: "proxylogon-lsass-dump-staging",
        title: "LSASS dump or staged archive where the ProxyLogon operators left theirs",
        campaign: Campaign::ProxyLogon,
        severity: Severity::High,
        inputs: &[Input::Tree(Marker::ProgramData)],
        needles: &[],
        doc: Doc {
            what: "Files named like an LSASS dump (`lsass*.dmp`, or `lsass*` with a minidump \
                   header) under `ProgramData` or `Windows\\Temp` (high); the published \
                   archive `C:\\ProgramData\\it.zip` (high); other `.zip`, `.7z` and `.rar` \
                   archives with a short name (one to six letters or digits) directly in \
                   `ProgramData` (medium: a lead).",
            why: "After the web shell, HAFNIUM dumped LSASS with procdump \
                  (`procdump -ma lsass.exe C:\\windows\\temp\\lsass`) to take credentials, and \
                  staged stolen data in 7-Zip and ZIP archives in `C:\\ProgramData` for \
                  exfiltration. A dump left behind means credentials must be considered \
                  stolen.",
            evidence: "The file's path, size and SHA-256, and whether it starts with a \
                       minidump header (`MDMP`).",
            false_positives: "Crash-dump tooling run by administrators against LSASS, and \
                              installers that unpack archives into ProgramData (the archive \
                              rule is a lead for that reason).",
            references: &[REF_MSFT_HAFNIUM, REF_AA21_062A],
        },
    },
    build: stateless::<LsassDump>,
};

/// The detector (stateless).
#[derive(Default)]
struct LsassDump;

/// What a path looks like: `Some((severity, why))` when it is one of the published forms.
pub(crate) fn classify(norm: &str) -> Option<(Severity, &'static str)> {
    let name = norm.rsplit('/').next().unwrap_or(norm);
    let parent = norm.rsplit('/').nth(1).unwrap_or("");
    let in_staging = norm.contains("/programdata/") || norm.contains("/windows/temp/");
    if in_staging && name.starts_with("lsass") {
        return Some((Severity::High, "LSASS dump name"));
    }
    if parent == "programdata" {
        if name == "it.zip" {
            return Some((Severity::High, "published staging archive name"));
        }
        if let Some((stem, ext)) = name.rsplit_once('.')
            && matches!(ext, "zip" | "7z" | "rar")
            && (1..=6).contains(&stem.len())
            && stem.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Some((Severity::Medium, "short-named archive in ProgramData"));
        }
    }
    None
}

impl Detector for LsassDump {
    fn wants_file(&self, path: &Path, _: u64) -> bool {
        classify(&normalized(path)).is_some()
    }

    fn on_file(&self, file: &FileEntry<'_>, out: &mut Out) {
        let norm = normalized(file.path);
        let Some((severity, why)) = classify(&norm) else { return };
        let mut f = DETECTOR.info.finding().with_path(file.path);
        f = f.with_score(severity.default_score());
        f.size = Some(file.size);
        f.push_evidence(evidence("name", why));
        if let Ok(c) = file.content() {
            if c.starts_with(b"MDMP") {
                f.push_evidence(evidence("content", "minidump header (MDMP)"));
            }
            f.sha256 = file.sha256().map(str::to_owned);
        }
        out.finding(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(classify("/c/programdata/lsass.dmp").map(|c| c.0), Some(Severity::High));
        assert_eq!(classify("/c/windows/temp/lsass.dmp").map(|c| c.0), Some(Severity::High));
        assert_eq!(classify("/c/programdata/it.zip").map(|c| c.0), Some(Severity::High));
        assert_eq!(classify("/c/programdata/abc.7z").map(|c| c.0), Some(Severity::Medium));
        assert_eq!(classify("/c/programdata/microsoft/abc.7z"), None);
        assert_eq!(classify("/c/programdata/installer-package.zip"), None);
        assert_eq!(classify("/c/users/x/lsass.dmp"), None);
    }
}
