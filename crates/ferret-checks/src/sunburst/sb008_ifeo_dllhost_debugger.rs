//! SB008 sunburst-ifeo-dllhost-debugger: an Image File Execution Options `Debugger` for
//! `dllhost.exe` in a SOFTWARE hive (CHIRP's AA21-008A "IFEO Persistence").

use ferret_artefacts::{Hive, HiveKind};
use ferret_core::Severity;

use crate::detector::{
    Campaign, Detector, Doc, Info, Input, Out, Registration, evidence, stateless,
};
use crate::sunburst::REF_AA21_008A;

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "SB008",
        name: "sunburst-ifeo-dllhost-debugger",
        title: "IFEO debugger set for dllhost.exe (CHIRP AA21-008A)",
        campaign: Campaign::Sunburst,
        severity: Severity::High,
        inputs: &[Input::Hive(HiveKind::Software)],
        needles: &[],
        doc: Doc {
            what: "A `Debugger` value under `Microsoft\\Windows NT\\CurrentVersion\\Image File \
                   Execution Options\\dllhost.exe` (or its `Wow6432Node` twin) in a SOFTWARE hive.",
            why: "CISA's CHIRP (AA21-008A, \"IFEO Persistence\") looks for it: the attackers had the \
                  SolarWinds process create an IFEO debugger for `dllhost.exe`, so that every start \
                  of `dllhost.exe` starts their program instead.",
            evidence: "The key, the debugger command line and the key's last-written time. A key deleted from the live registry but still whole in a free cell of the hive \
                       is reported too, marked recovered (`details.recovered`), and so is a `Debugger` value deleted \
                       from a live key whose cell and data are still whole in free cells.",
            false_positives: "Debugging or application-compatibility tools can set IFEO debuggers, \
                              but rarely for `dllhost.exe` on a server; check the command line.",
            references: &[REF_AA21_008A],
        },
    },
    build: stateless::<IfeoDllhost>,
};

#[derive(Default)]
struct IfeoDllhost;

const KEYS: [&str; 2] = [
    "Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options\\dllhost.exe",
    "Wow6432Node\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options\\dllhost.exe",
];

impl Detector for IfeoDllhost {
    fn on_hive(&self, hive: &Hive, out: &mut Out) {
        for path in KEYS {
            let Some(k) = hive.key_or_recovered(path) else { continue };
            let Some(value) = k.value_or_recovered("Debugger") else { continue };
            let Some(debugger) = value.as_string() else { continue };
            if debugger.trim().is_empty() {
                continue;
            }
            let mut f =
                DETECTOR.info.finding().with_path(hive.path()).with_message(format!(
                    "dllhost.exe starts through an IFEO debugger: {debugger}"
                ));
            f.time = k.last_written();
            f.push_evidence(evidence("key", &format!("HKLM\\SOFTWARE\\{path}")));
            f.push_evidence(evidence("Debugger", &debugger));
            out.finding(crate::detector::recovered_value(f, &k, Some(&value)));
        }
    }
}
