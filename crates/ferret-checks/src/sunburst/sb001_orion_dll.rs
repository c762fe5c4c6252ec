//! SB001 sunburst-orion-dll-trojanized: the SolarWinds Orion business-layer DLL that carries
//! SUNBURST, by its published hashes and file versions.

use std::path::Path;

use ferret_core::Severity;

use crate::detector::{
    Campaign, Detector, Doc, FileEntry, Info, Input, Out, Registration, evidence,
};
use crate::inventory::{Marker, normalized};
use crate::sunburst::pe_version::file_version;
use crate::sunburst::{ORION_DLL, REF_AA20_352A, REF_FIREEYE, REF_FIREEYE_IOCS, REF_SOLARWINDS};

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "SB001",
        name: "sunburst-orion-dll-trojanized",
        title: "Trojanized SolarWinds.Orion.Core.BusinessLayer.dll (SUNBURST)",
        campaign: Campaign::Sunburst,
        severity: Severity::Critical,
        inputs: &[Input::Tree(Marker::OrionInstall)],
        needles: &[],
        doc: Doc {
            what: "Every `SolarWinds.Orion.Core.BusinessLayer.dll`: its SHA-256 against the \
                   published SUNBURST builds (evidence) and the attacker's test builds that \
                   carry the `OrionImprovementBusinessLayer` class without the backdoor (a \
                   lead); and its file version, read from the PE version resource, against the \
                   versions of the published builds (the `version` rows of the intel table \
                   `sunburst/files.tsv`): a trojanized version with another \
                   hash is still evidence, since SolarWinds shipped these builds signed.",
            why: "This DLL is SUNBURST: loaded by the Orion business-layer service, it waits up \
                  to two weeks, then beacons through the `avsvmcloud.com` DGA and, for chosen \
                  victims, hands over to TEARDROP and Cobalt Strike. AA20-352A and Emergency \
                  Directive 21-01 treat any host that ran an affected version as compromised.",
            evidence: "The DLL's path, SHA-256 and file version; the published build it \
                       matches.",
            false_positives: "None for the hashes. The version test assumes the vendor's \
                              version numbering: a clean rebuild with the same version does not \
                              exist in SolarWinds' releases (the fixed releases have new \
                              versions).",
            references: &[REF_AA20_352A, REF_FIREEYE, REF_FIREEYE_IOCS, REF_SOLARWINDS],
        },
    },
    build: |opts| Ok(Box::new(OrionDll { intel: opts.intel.clone() })),
};

struct OrionDll {
    intel: std::sync::Arc<crate::intel::CheckIntel>,
}

impl Detector for OrionDll {
    fn wants_file(&self, path: &Path, _size: u64) -> bool {
        normalized(path).rsplit('/').next() == Some(ORION_DLL)
    }

    fn on_file(&self, file: &FileEntry<'_>, out: &mut Out) {
        let Ok(content) = file.content() else { return };
        let sha = file.sha256().unwrap_or("").to_owned();
        let version = file_version(content);
        let hash_hit =
            self.intel.sunburst_files.by_hash(&sha).filter(|i| i.family.starts_with("SUNBURST"));
        let version_hit =
            version.as_deref().filter(|v| self.intel.sunburst_files.trojanized_version(v));
        let (severity, message) = match (hash_hit, version_hit) {
            (Some(i), _) if i.severity >= Severity::High => (
                Severity::Critical,
                "SUNBURST: published hash of the trojanized Orion business-layer DLL",
            ),
            (_, Some(_)) => (
                Severity::High,
                "SUNBURST: Orion business-layer DLL with the file version of a trojanized build",
            ),
            (Some(i), None) => (
                i.severity,
                "Orion business-layer DLL of the attacker's test builds (no backdoor code)",
            ),
            (None, None) => return,
        };
        let mut f = DETECTOR.info.finding().with_path(file.path).with_message(message);
        f = f.with_score(severity.default_score());
        f.push_evidence(evidence("sha256", &sha));
        if let Some(v) = &version {
            f.push_evidence(evidence("file_version", v));
        }
        if let Some(i) = hash_hit {
            f.push_evidence(evidence("published", &i.note));
        }
        out.finding(f);
    }
}
