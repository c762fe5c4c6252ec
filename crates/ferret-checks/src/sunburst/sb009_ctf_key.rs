//! SB009 sunburst-teardrop-ctf-key: the `Microsoft\CTF` key in a SOFTWARE hive, which
//! TEARDROP variant 1 checks before running (CHIRP's AA21-008A "Teardrop - Registry Activity").

use ferret_artefacts::{Hive, HiveKind};
use ferret_core::Severity;

use crate::detector::{
    Campaign, Detector, Doc, Info, Input, Out, Registration, evidence, stateless,
};
use crate::sunburst::{REF_AA21_008A, REF_MSFT_STAGE2};

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "SB009",
        name: "sunburst-teardrop-ctf-key",
        title: "HKLM\\Software\\Microsoft\\CTF present (TEARDROP variant 1 check, CHIRP AA21-008A)",
        campaign: Campaign::Sunburst,
        severity: Severity::Low,
        inputs: &[Input::Hive(HiveKind::Software)],
        needles: &[],
        doc: Doc {
            what: "The key `Microsoft\\CTF` in a SOFTWARE hive (`HKLM\\Software\\Microsoft\\CTF`).",
            why: "CISA's CHIRP (AA21-008A, \"Teardrop - Registry Activity\", confidence 4 of 10) \
                  looks for it: TEARDROP variant 1 checks whether this key is present or \
                  accessible and stops if it is, so on a host where TEARDROP is suspected a hit \
                  says variant 1 likely stopped there.",
            evidence: "The key, its subkey count and its last-written time. A key deleted from the live registry but still whole in a free cell of the hive \
                       is reported too, marked recovered (`details.recovered`).",
            false_positives: "Windows itself keeps text-input settings under this key on many \
                              installations, so its presence alone proves nothing: this is \
                              context (low) for a host where SUNBURST or TEARDROP is otherwise \
                              found.",
            references: &[REF_AA21_008A, REF_MSFT_STAGE2],
        },
    },
    build: stateless::<CtfKey>,
};

#[derive(Default)]
struct CtfKey;

impl Detector for CtfKey {
    fn on_hive(&self, hive: &Hive, out: &mut Out) {
        let Some(k) = hive.key_or_recovered("Microsoft\\CTF") else { return };
        let mut f = DETECTOR.info.finding().with_path(hive.path());
        f.time = k.last_written();
        f.push_evidence(evidence("key", "HKLM\\Software\\Microsoft\\CTF"));
        f.push_evidence(evidence("subkeys", &k.subkeys().len().to_string()));
        out.finding(crate::detector::recovered(f, &k));
    }
}
