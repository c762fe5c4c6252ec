//! IC004 ivanti-manifest-integrity-mismatch: the appliance's files compared with its own manifest, as PS002 does for the
//! same appliance under its Pulse Connect Secure name.

use ferret_core::Severity;

use crate::CheckError;
use crate::detector::{Campaign, Detector, Doc, Info, Input, Registration};
use crate::inventory::Marker;
use crate::ivanti::{REF_AA24_060B, REF_ED_24_01, REF_MANDIANT_2024, REF_VOLEXITY_2024, Shared};
use crate::options::CheckOptions;
use crate::pulse::ps002_manifest_integrity;

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "IC004",
        name: "ivanti-manifest-integrity-mismatch",
        title: "Ivanti Connect Secure file differs from the appliance manifest",
        campaign: Campaign::IvantiConnectSecure,
        severity: Severity::High,
        inputs: &[Input::Tree(Marker::PulseTree)],
        needles: &[],
        doc: Doc {
            what: "PS002's comparison run under this campaign: every manifest entry is hashed under the image root; a modified file is evidence, a missing one a lead, and a code file the manifest does not list is new (evidence for CGI scripts under the web root).",
            why: "The 2024 and 2025 families live in modified product files (`compcheckresult.cgi`, `visits.py`, `lastauthserverused.js`, `DSUpgrade.pm`, `getComponent.cgi`, `restAuth.cgi`, `DSAuth.pm`) and in new files: the comparison the vendor's Integrity Checker Tool makes finds them whatever their content.",
            evidence: "As PS002: the appliance path, the manifest's SHA-256 and the file's, or that it is missing or new; `details.shared_with` names PS002.",
            false_positives: "As PS002: read it with IC003, since a rewritten manifest hides modified files.",
            references: &[REF_AA24_060B, REF_ED_24_01, REF_VOLEXITY_2024, REF_MANDIANT_2024],
        },
    },
    build,
};

fn build(opts: &CheckOptions) -> Result<Box<dyn Detector>, CheckError> {
    Ok(Box::new(Shared::new(&DETECTOR.info, (ps002_manifest_integrity::DETECTOR.build)(opts)?)))
}
