//! SB007 sunburst-security-service-disabled: security products' services set to disabled
//! (`Start` = 4) in a SYSTEM hive, the services SUNBURST disables.

use std::collections::BTreeSet;

use ferret_artefacts::{Hive, HiveKind};
use ferret_core::Severity;

use crate::detector::{Campaign, Detector, Doc, Info, Input, Out, Registration, evidence};
use crate::intel::sunburst::Services;
use crate::sunburst::{REF_FIREEYE, REF_FIREEYE_IOCS};

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "SB007",
        name: "sunburst-security-service-disabled",
        title: "security products' services disabled as SUNBURST does",
        campaign: Campaign::Sunburst,
        severity: Severity::Medium,
        inputs: &[Input::Hive(HiveKind::System)],
        needles: &[],
        doc: Doc {
            what: "In a SYSTEM hive (recognised by its keys, with its transaction logs replayed), \
                   a service of `sunburst/services.tsv` (the security products' services whose \
                   names SUNBURST carries as hashes: Carbon Black, CrowdStrike, FireEye, ESET, \
                   F-Secure, Microsoft Defender) whose `Start` value is 4 (disabled), in any \
                   `ControlSet00N`. One finding per hive, listing every such service.",
            why: "SUNBURST sets `Start` to 4 on these services when it finds them, so that the \
                  products do not start after the next reboot; the registry keeps the change \
                  after the backdoor is gone.",
            evidence: "Each disabled service with its product and control set, and the key's \
                       last-written time (the latest is the finding's time).",
            false_positives: "An administrator or an uninstaller may disable one product's \
                              services, and Defender's are disabled on some hosts with another \
                              product: services of one product make a lead (medium); services \
                              of two or more products disabled together, which SUNBURST does and \
                              administrators rarely do, make evidence (high).",
            references: &[REF_FIREEYE, REF_FIREEYE_IOCS],
        },
    },
    build: |opts| Ok(Box::new(ServiceDisabled { services: opts.intel.sunburst_services.clone() })),
};

struct ServiceDisabled {
    services: Services,
}

impl Detector for ServiceDisabled {
    fn on_hive(&self, hive: &Hive, out: &mut Out) {
        let Ok(root) = hive.root() else { return };
        let mut hits = Vec::new();
        for set in root.subkeys() {
            if !set.name().to_ascii_lowercase().starts_with("controlset") {
                continue;
            }
            let Some(services) = set.subkey("Services") else { continue };
            for svc in services.subkeys() {
                let Some(row) = self.services.get(svc.name()) else { continue };
                if svc.value("Start").and_then(|v| v.as_u64()) == Some(4) {
                    hits.push((
                        set.name().to_owned(),
                        svc.name().to_owned(),
                        row.vendor.clone(),
                        svc.last_written(),
                    ));
                }
            }
        }
        if hits.is_empty() {
            return;
        }
        let vendors: BTreeSet<&str> = hits.iter().map(|h| h.2.as_str()).collect();
        // The same service in several control sets is named once.
        let names: BTreeSet<String> = hits.iter().map(|h| format!("{} ({})", h.1, h.2)).collect();
        let mut f = DETECTOR.info.finding().with_path(hive.path()).with_message(format!(
            "{} security service(s) of {} product(s) set to disabled (Start = 4): {}",
            names.len(),
            vendors.len(),
            names.into_iter().collect::<Vec<_>>().join(", ")
        ));
        if vendors.len() >= 2 {
            f.severity = Severity::High;
            f.score = Severity::High.default_score();
        }
        f.time = hits.iter().filter_map(|h| h.3).max();
        for (set, name, vendor, time) in &hits {
            let when = time.map_or_else(|| "unknown".to_owned(), |t| t.to_rfc3339());
            f.push_evidence(evidence(
                "service",
                &format!("{set}\\Services\\{name} Start=4 ({vendor}; key written {when})"),
            ));
        }
        out.finding(f);
    }
}
