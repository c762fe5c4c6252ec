//! IC006 ivanti-integrity-tooling-tampered: the integrity checker made to pass and the upgrade module made to re-plant or fake,
//! as PS005 does for the same appliance under its Pulse Connect Secure name.

use ferret_core::Severity;

use crate::CheckError;
use crate::detector::{Campaign, Detector, Doc, Info, Input, Registration};
use crate::inventory::Marker;
use crate::ivanti::{REF_AA24_060B, REF_ED_24_01, REF_MANDIANT_2025_01, Shared};
use crate::options::CheckOptions;
use crate::pulse::ps005_integrity_tooling;

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "IC006",
        name: "ivanti-integrity-tooling-tampered",
        title: "Ivanti Connect Secure integrity checker or upgrade module tampered with",
        campaign: Campaign::IvantiConnectSecure,
        severity: Severity::High,
        inputs: &[Input::Tree(Marker::PulseTree)],
        needles: &[],
        doc: Doc {
            what: "PS005's check run under this campaign: `check_integrity.sh` with an unconditional early `exit 0` or counters of new or mismatched files reset after counting, and `DSUpgrade.pm` carrying copies from `/tmp` over CGI pages or Perl modules, `sed -i` edits of CGI scripts or Base64-decoded code.",
            why: "Mandiant found the 2025 families hijacking the upgrade (SPAWNANT, through `dspkginstall`) and faking it (PHASEJAM, through `DSUpgrade.pm` and `getComponent.cgi`) so that the implants survive or the appliance is never really upgraded; the checker that should report them is the first thing tampered with.",
            evidence: "As PS005: the script, the line(s) matched and their line numbers; `details.shared_with` names PS005.",
            false_positives: "As PS005: the counter test is a heuristic on variable names; read the script before concluding.",
            references: &[REF_MANDIANT_2025_01, REF_AA24_060B, REF_ED_24_01],
        },
    },
    build,
};

fn build(opts: &CheckOptions) -> Result<Box<dyn Detector>, CheckError> {
    Ok(Box::new(Shared::new(&DETECTOR.info, (ps005_integrity_tooling::DETECTOR.build)(opts)?)))
}
