//! SB010 sunburst-sibot-registry: the `CurrentVersion\sibot` key in a SOFTWARE hive, where
//! SIBOT keeps its second-stage script (CHIRP's AA21-008A "Sibot - Registry").

use ferret_artefacts::{Hive, HiveKind};
use ferret_core::Severity;

use crate::detector::{
    Campaign, Detector, Doc, Info, Input, Out, Registration, evidence, stateless,
};
use crate::sunburst::REF_AA21_008A;

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "SB010",
        name: "sunburst-sibot-registry",
        title: "SIBOT's registry key (CHIRP AA21-008A)",
        campaign: Campaign::Sunburst,
        severity: Severity::High,
        inputs: &[Input::Hive(HiveKind::Software)],
        needles: &[],
        doc: Doc {
            what: "The key `Microsoft\\Windows\\CurrentVersion\\sibot` in a SOFTWARE hive \
                   (`HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\sibot`), with its default \
                   value when present.",
            why: "CISA's CHIRP (AA21-008A, \"Sibot - Registry\", confidence 9 of 10) looks for it: \
                  SIBOT, a VBScript used by the same actor after SUNBURST, installs its second \
                  stage in the default value of this key and runs it with `rundll32.exe vbscript:`.",
            evidence: "The key, the start of its default value and its last-written time. A key deleted from the live registry but still whole in a free cell of the hive \
                       is reported too, marked recovered (`details.recovered`); a default value deleted from the \
                       live key but still whole in free cells is shown, marked `details.value_recovered`.",
            false_positives: "None known: Windows and common software do not create this key.",
            references: &[REF_AA21_008A],
        },
    },
    build: stateless::<Sibot>,
};

#[derive(Default)]
struct Sibot;

impl Detector for Sibot {
    fn on_hive(&self, hive: &Hive, out: &mut Out) {
        let Some(k) = hive.key_or_recovered("Microsoft\\Windows\\CurrentVersion\\sibot") else {
            return;
        };
        let mut f = DETECTOR.info.finding().with_path(hive.path());
        f.time = k.last_written();
        f.push_evidence(evidence(
            "key",
            "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\sibot",
        ));
        if let Some(v) = k.value_or_recovered("")
            && let Some(text) = v.as_string()
        {
            let head: String = text.chars().take(200).collect();
            if v.recovered {
                // The key is live; its default value was deleted but is still whole.
                f.push_evidence(evidence("deleted default value (recovered)", &head));
                f = f.with_detail("value_recovered", true);
            } else {
                f.push_evidence(evidence("default value", &head));
            }
        }
        out.finding(crate::detector::recovered(f, &k));
    }
}
