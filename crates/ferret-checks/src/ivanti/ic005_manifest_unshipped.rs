//! IC005 ivanti-manifest-unshipped: manifest entries the vendor's manifest for the release never held, as PS003 does
//! for the same appliance under its Pulse Connect Secure name.

use ferret_core::Severity;

use crate::CheckError;
use crate::detector::{Campaign, Detector, Doc, Info, Input, Registration};
use crate::inventory::Marker;
use crate::ivanti::{REF_AA24_060B, REF_ED_24_01, Shared};
use crate::options::CheckOptions;
use crate::pulse::ps003_manifest_unshipped;

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "IC005",
        name: "ivanti-manifest-unshipped",
        title: "Ivanti Connect Secure manifest lists a file the vendor never shipped",
        campaign: Campaign::IvantiConnectSecure,
        severity: Severity::High,
        inputs: &[Input::Tree(Marker::PulseTree)],
        needles: &[],
        doc: Doc {
            what: "PS003's check run under this campaign: with `--vendor-manifest`, entries of the on-box manifest that the vendor's manifest for the release does not hold (and entries whose hash differs) are reported.",
            why: "An actor who can write the manifest adds their own files to it so that the integrity checker accepts them; only the vendor's manifest for the release tells those entries apart.",
            evidence: "As PS003: the entry and the hashes; `details.shared_with` names PS003.",
            false_positives: "As PS003: a vendor manifest of another release lists other files; give the one for the release installed.",
            references: &[REF_AA24_060B, REF_ED_24_01],
        },
    },
    build,
};

fn build(opts: &CheckOptions) -> Result<Box<dyn Detector>, CheckError> {
    Ok(Box::new(Shared::new(&DETECTOR.info, (ps003_manifest_unshipped::DETECTOR.build)(opts)?)))
}
