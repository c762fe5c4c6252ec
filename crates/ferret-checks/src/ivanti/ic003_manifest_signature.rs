//! IC003 ivanti-manifest-signature: the appliance manifest's signature checked with the vendor key, as PS001 does for
//! the same appliance under its Pulse Connect Secure name.

use ferret_core::Severity;

use crate::CheckError;
use crate::detector::{Campaign, Detector, Doc, Info, Input, Registration};
use crate::inventory::Marker;
use crate::ivanti::{REF_AA24_060B, REF_ED_24_01, REF_MANDIANT_2024, Shared};
use crate::options::CheckOptions;
use crate::pulse::ps001_manifest_signature;

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "IC003",
        name: "ivanti-manifest-signature",
        title: "Ivanti Connect Secure manifest signature does not verify with the vendor key",
        campaign: Campaign::IvantiConnectSecure,
        severity: Severity::Critical,
        inputs: &[Input::Tree(Marker::PulseTree)],
        needles: &[],
        doc: Doc {
            what: "PS001's check run under this campaign: the signature of the appliance manifest (`home/etc/manifest/manifest`) is verified with the key the operator gives (`--vendor-key`), never the key found on the image; a manifest that does not verify, or a key on the image that is not the vendor's, is reported. Ivanti Connect Secure is the Pulse Connect Secure appliance renamed, with the same manifest.",
            why: "The integrity checker trusts the manifest: an actor who rewrites it (the 2024 intrusions added their files to the checker's lists, CISA AA24-060B found the checker could be deceived) makes modified files look genuine. A signature that holds with the vendor's key is what makes IC004's comparison trustworthy.",
            evidence: "As PS001: the manifest, the key used, and why the signature does not hold; the finding names PS001 in `details.shared_with`.",
            false_positives: "As PS001. The same finding is reported under both campaigns when both run: the appliance's manifest cannot tell which intrusion altered it.",
            references: &[REF_AA24_060B, REF_ED_24_01, REF_MANDIANT_2024],
        },
    },
    build,
};

fn build(opts: &CheckOptions) -> Result<Box<dyn Detector>, CheckError> {
    Ok(Box::new(Shared::new(&DETECTOR.info, (ps001_manifest_signature::DETECTOR.build)(opts)?)))
}
