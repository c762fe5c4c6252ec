//! PS003 pulse-manifest-unshipped-entry: entries of the on-box manifest that the vendor never
//! shipped: absent from (or hashed differently in) the vendor manifest given with
//! `--vendor-manifest`, or naming a published family file.

use std::path::{Path, PathBuf};

use ferret_core::{Problem, ProblemKind, Severity};

use crate::CheckError;
use crate::detector::{Campaign, Detector, Doc, Info, Input, Out, Registration, evidence};
use crate::inventory::{Inventory, Marker};
use crate::options::CheckOptions;
use crate::pulse::vendor::{Vendor, Vouch};
use crate::pulse::{
    Kind, MANIFEST, Manifest, REF_AA21_110A, REF_KB44755, REF_MANDIANT_2, appliance_roots,
};

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "PS003",
        name: "pulse-manifest-unshipped-entry",
        title: "Pulse Connect Secure manifest lists a file the vendor never shipped",
        campaign: Campaign::PulseSecure,
        severity: Severity::High,
        inputs: &[Input::Tree(Marker::PulseTree)],
        needles: &[],
        doc: Doc {
            what: "Entries of the on-box manifest that the vendor's manifest for the release \
                   (`--vendor-manifest FILE`, same `<path> <sha256>` format) does not hold, or \
                   holds with another hash; and, with or without a vendor manifest, entries \
                   whose path is a published family file that is never part of the product \
                   (the `badname` and `badpath` rows of the intel table \
                   `pulse-secure/families.tsv`: a Perl module, the QUIETPULSE helper, the THINBLOOD \
                   log wiper, the statement-counter files in `/tmp`, …) unless the vendor manifest holds that \
                   very entry. Genuine pages that families modify (`meeting_testjs.cgi`, \
                   `welcome.cgi`, `compcheckresult.cgi`, …) are never judged by name. When \
                   the vendor manifest has a signature beside it (`FILE.1` or `FILE.sig`), it \
                   must verify with `--vendor-key` or the run does not start.",
            why: "An actor who adds files and wants the integrity check to stay quiet adds them \
                  to the manifest, and one who modifies files re-hashes their entries. Both \
                  leave entries the vendor never shipped.",
            evidence: "The appliance path, the on-box hash and the vendor's (when it has the \
                       entry), and the family when the path is a published one.",
            false_positives: "A vendor manifest of another release differs everywhere: use the \
                              one matching the appliance's version. Without \
                              `--vendor-manifest` only published family paths are looked for \
                              and the run says that the comparison was not made.",
            references: &[REF_KB44755, REF_MANDIANT_2, REF_AA21_110A],
        },
    },
    build,
};

/// Most findings reported one by one per appliance.
const MAX_EACH: usize = 100;

fn build(opts: &CheckOptions) -> Result<Box<dyn Detector>, CheckError> {
    let trust = Vendor::load(opts)?;
    let note = trust.unsigned_note();
    let vendor = trust.manifest.as_ref().map(|v| (v.path.clone(), v.manifest.clone()));
    Ok(Box::new(Unshipped { vendor, note, trust, intel: opts.intel.clone() }))
}

struct Unshipped {
    vendor: Option<(PathBuf, Manifest)>,
    /// Said when the vendor manifest carried no signature that could be checked.
    note: Option<String>,
    /// What the operator brought, to tell whether the on-box manifest is the vendor's.
    trust: Vendor,
    /// The published family names.
    intel: std::sync::Arc<crate::intel::CheckIntel>,
}

impl Unshipped {
    fn check_root(&self, inv: &Inventory, root: &Path, out: &mut Out) {
        let manifest_path = root.join(MANIFEST);
        let onbox = match inv.read_small(&manifest_path, 64 * 1024 * 1024) {
            Ok(m) => Manifest::parse(&m),
            Err(e) => {
                out.problem(Problem::at(ProblemKind::ReadError, manifest_path.as_path(), e));
                return;
            }
        };
        // An on-box manifest whose signature holds with the vendor key is the vendor's own:
        // its entries were shipped, whatever their names.
        let vendor_signed =
            self.vendor.is_none() && matches!(self.trust.vouch(inv, root), Vouch::OnBox(_));
        let mut n = 0usize;
        for (path, hash) in &onbox.entries {
            if vendor_signed {
                break;
            }
            let family = self
                .intel
                .families
                .by_name(path)
                .filter(|i| matches!(i.kind, Kind::BadName | Kind::BadPath));
            let vendor_hash = self.vendor.as_ref().map(|(_, v)| v.entries.get(path));
            let why = match (family, vendor_hash) {
                // The vendor shipped this very file: nothing to say about its name.
                (_, Some(Some(v))) if v == hash => continue,
                (Some(_), _) => "the manifest lists a published family file",
                (None, Some(None)) => "the manifest lists a file the vendor manifest does not hold",
                (None, Some(Some(v))) if v != hash => {
                    "the manifest's hash for this file differs from the vendor manifest's"
                }
                _ => continue,
            };
            n += 1;
            if n > MAX_EACH {
                continue;
            }
            let mut f = DETECTOR
                .info
                .finding()
                .with_path(manifest_path.as_path())
                .with_message(format!("Pulse Connect Secure manifest tampered: {why}"));
            f.push_evidence(evidence("appliance_path", path));
            f.push_evidence(evidence("manifest_sha256", hash));
            if let Some(Some(v)) = vendor_hash {
                f.push_evidence(evidence("vendor_sha256", v));
            }
            if let Some(i) = family {
                f.push_evidence(evidence("family", &i.family));
            }
            out.finding(f);
        }
        if n > MAX_EACH {
            out.not_checked(format!(
                "{} more tampered manifest entries in {} were counted but not reported one by one",
                n - MAX_EACH,
                manifest_path.display()
            ));
        }
        if let Some(note) = &self.note {
            out.not_checked(note.clone());
        }
        if self.vendor.is_none() {
            out.not_checked(format!(
                "the entries of {} against the vendor's manifest: none was given \
                 (--vendor-manifest); only published family paths were looked for",
                manifest_path.display()
            ));
        }
    }
}

impl Detector for Unshipped {
    fn on_tree(&self, inv: &Inventory, out: &mut Out) {
        for root in appliance_roots(inv) {
            self.check_root(inv, &root, out);
        }
    }
}
