//! PS004 pulse-family-file: files of the published Pulse Connect Secure malware families
//! (SLOWPULSE, PULSECHECK, RADIALPULSE, ATRIUM, THINBLOOD, PACEMAKER, SLIGHTPULSE, BLOODMINE,
//! CLEANPULSE, …) by hash, by the code markers of the families that live in modified product
//! files, and by the on-box names and paths that are never product files (unless the manifest
//! that vouches for the appliance lists that very file).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use ferret_core::Severity;
use md5::Digest as _;

use crate::CheckError;
use crate::detector::{
    Campaign, Detector, Doc, FileEntry, Info, Input, Out, Registration, evidence,
};
use crate::inventory::{Inventory, Marker};
use crate::options::CheckOptions;
use crate::pulse::vendor::{Vendor, Vouch};
use crate::pulse::{
    Indicator, Kind, REF_AA21_110A, REF_MANDIANT_1, REF_MANDIANT_2, REF_MAR_AR21_110A,
    REF_MAR_AR21_112A, appliance_path, appliance_roots, in_appliance_area, norm,
};

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "PS004",
        name: "pulse-family-file",
        title: "File of a published Pulse Connect Secure malware family",
        campaign: Campaign::PulseSecure,
        severity: Severity::Critical,
        inputs: &[Input::Tree(Marker::PulseTree)],
        needles: &[],
        doc: Doc {
            what: "Files whose MD5, SHA-1 or SHA-256 is one of the published hashes of the \
                   Pulse Connect Secure families (Mandiant's countermeasures list: SLOWPULSE \
                   V1–V4 in `libdsplibs.so` and their patchers, PULSECHECK, RADIALPULSE, \
                   ATRIUM, PACEMAKER, THINBLOOD, SLIGHTPULSE, HARDPULSE, PULSEJUMP, \
                   QUIETPULSE, STEADYPULSE, LOCKPICK, BLOODMINE, BLOODBANK, CLEANPULSE and the \
                   `DSUpgrade.pm` persistence patchers; CISA AR21-110A and AR21-112A; the \
                   CVE-2021-22893 lists); files holding every code marker of one of the \
                   families that live in modified product pages (SLIGHTPULSE, RADIALPULSE, \
                   PULSECHECK, HARDPULSE, STEADYPULSE, ATRIUM, PULSEJUMP, RAPIDPULSE: literals \
                   from the published analyses, the intel table `pulse-secure/markers.tsv`); \
                   and files whose name or path the same lists give and that the product never \
                   ships (the `badname` and `badpath` rows: the published Perl module, the QUIETPULSE \
                   helper, the PACEMAKER memory reader, the THINBLOOD and CLEANPULSE log \
                   wipers, the statement-counter files in `/tmp`) unless the \
                   manifest that vouches for the appliance (`--vendor-manifest`, or the on-box \
                   manifest when its signature holds with `--vendor-key`) lists that very \
                   file. Genuine pages that families modify (`meeting_testjs.cgi`, \
                   `welcome.cgi`, `compcheckresult.cgi`, `secid_canceltoken.cgi`, \
                   `compcheckjava.cgi`, `licenseserverproto.cgi`, `DSUpgrade.pm`, `login.cgi`) \
                   are never judged by their name: only a hash, the markers or PS002/PS003's \
                   manifest comparisons decide. The data is \
                   the intel table `pulse-secure/families.tsv`. Files are hashed when their \
                   name is listed or when they lie under the appliance's code, web, runtime or \
                   scratch folders.",
            why: "These are the web shells, credential harvesters, log cleaners and patched \
                  libraries found on compromised appliances; a hash match is the sample itself. \
                  Trojanized product files (`login.cgi`, `compcheckresult.cgi`, \
                  `libdsplibs.so`, `DSUpgrade.pm`) keep their legitimate names, so for them \
                  only the hash (or PS002's manifest comparison) decides.",
            evidence: "The family, the published on-box name, the matching hash, markers \
                       (with their source) or name, and the file's SHA-256. Scores: 100 for a \
                       published hash, 95 for a full marker set, 85 for a never-shipped name, \
                       65 for a name too generic to decide.",
            false_positives: "Hash matches have none. The names counted as evidence are not \
                              product files; the `leadname` and `leadpath` rows of \
                              `pulse-secure/families.tsv` (a one-character name in `/tmp`, a \
                              misspelt upgrade module) are too generic to decide alone and are leads.",
            references: &[
                REF_MANDIANT_1,
                REF_MANDIANT_2,
                REF_MAR_AR21_110A,
                REF_MAR_AR21_112A,
                REF_AA21_110A,
            ],
        },
    },
    build,
};

/// Largest file hashed for family matching (the published samples are far smaller).
const MAX_SIZE: u64 = 64 * 1024 * 1024;

fn build(opts: &CheckOptions) -> Result<Box<dyn Detector>, CheckError> {
    Ok(Box::new(FamilyFile {
        vendor: Vendor::load(opts)?,
        pending: Mutex::new(Vec::new()),
        intel: opts.intel.clone(),
    }))
}

/// A file matched by name only, judged once the manifests are known.
struct Pending {
    path: PathBuf,
    indicator: Indicator,
    sha256: Option<String>,
}

struct FamilyFile {
    vendor: Vendor,
    pending: Mutex<Vec<Pending>>,
    intel: std::sync::Arc<crate::intel::CheckIntel>,
}

impl FamilyFile {
    fn finding(path: &Path, ind: &Indicator, score: u8) -> ferret_core::Finding {
        let mut f = DETECTOR
            .info
            .finding()
            .with_path(path)
            .with_message(format!("Pulse Connect Secure malware family file: {}", ind.family))
            .with_score(score);
        f.push_evidence(evidence("family", &ind.family));
        if !ind.name.is_empty() {
            f.push_evidence(evidence("published_name", &ind.name));
        }
        f
    }
}

impl Detector for FamilyFile {
    fn wants_file(&self, path: &Path, size: u64) -> bool {
        let n = norm(path);
        let families = &self.intel.families;
        families.by_name(&n).is_some()
            || (size <= MAX_SIZE && (in_appliance_area(&n) || families.product_file(&n).is_some()))
    }

    fn on_file(&self, file: &FileEntry<'_>, out: &mut Out) {
        let n = norm(file.path);
        let families = &self.intel.families;
        let Ok(content) = file.content() else {
            // Unreadable: the runner reports it; a listed name is still judged by name.
            if let Some(i) = families.by_name(&n) {
                self.pending.lock().unwrap_or_else(PoisonError::into_inner).push(Pending {
                    path: file.path.to_path_buf(),
                    indicator: i.clone(),
                    sha256: None,
                });
            }
            return;
        };
        if file.size <= MAX_SIZE {
            let sha256 = file.sha256().unwrap_or("").to_owned();
            let md5 = hex::encode(md5::Md5::digest(content));
            let sha1 = hex::encode(sha1::Sha1::digest(content));
            for h in [sha256, sha1, md5] {
                if let Some(i) = families.by_hash(&h) {
                    let mut f = Self::finding(file.path, i, 100);
                    f.push_evidence(evidence("matched", &format!("hash {h}")));
                    if let Some(s) = file.sha256() {
                        f.push_evidence(evidence("sha256", s));
                    }
                    out.finding(f);
                    return;
                }
            }
            if let Some(set) = self.intel.markers.matching(content) {
                let ind = families.product_file(&n).filter(|p| p.family.contains(&set.family));
                let mut f = DETECTOR
                    .info
                    .finding()
                    .with_path(file.path)
                    .with_message(format!(
                        "Pulse Connect Secure malware family code: {}{}",
                        set.family,
                        if ind.is_some() { " in a modified product page" } else { "" }
                    ))
                    .with_score(95);
                f.push_evidence(evidence("family", &set.family));
                f.push_evidence(evidence("markers", &set.literals.join(" | ")));
                f.push_evidence(evidence("marker_source", &set.source));
                if let Some(s) = file.sha256() {
                    f.push_evidence(evidence("sha256", s));
                }
                out.finding(f);
                return;
            }
        }
        if let Some(i) = families.by_name(&n) {
            self.pending.lock().unwrap_or_else(PoisonError::into_inner).push(Pending {
                path: file.path.to_path_buf(),
                indicator: i.clone(),
                sha256: file.sha256().map(str::to_owned),
            });
        }
    }

    fn on_tree(&self, inv: &Inventory, out: &mut Out) {
        let pending =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner));
        if pending.is_empty() {
            return;
        }
        let roots = appliance_roots(inv);
        let mut vouches: BTreeMap<&Path, Vouch<'_>> = BTreeMap::new();
        for p in pending {
            let root =
                roots.iter().filter(|r| p.path.starts_with(r)).max_by_key(|r| r.as_os_str().len());
            let vouched = match (root, &p.sha256) {
                (Some(root), Some(sha)) => {
                    let v = vouches
                        .entry(root.as_path())
                        .or_insert_with(|| self.vendor.vouch(inv, root));
                    appliance_path(root, &p.path).is_some_and(|ap| v.vouches(&ap, sha))
                }
                _ => false,
            };
            if vouched {
                continue;
            }
            let score =
                if matches!(p.indicator.kind, Kind::BadName | Kind::BadPath) { 85 } else { 65 };
            let mut f = Self::finding(&p.path, &p.indicator, score);
            f.push_evidence(evidence("matched", &format!("published name {}", p.indicator.name)));
            if let Some(s) = &p.sha256 {
                f.push_evidence(evidence("sha256", s));
            }
            out.finding(f);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn markers_need_every_literal() {
        let shell = concat!(
            "if (CGI::param('cmd')) { run(); } elsif (1) {}\n",
            "sys",
            "tem(\"$c > /tmp/1 2>&1\");\n",
            "open(*F, \"< $f\"); while (<F>) { print; }\n",
            "print \"Content-type: image/gif\\n\\n\";\n"
        );
        let k = crate::intel::CheckIntel::builtin();
        let markers = &k.markers;
        assert_eq!(
            markers.matching(shell.as_bytes()).map(|s| s.family.as_str()),
            Some("SLIGHTPULSE")
        );
        let genuine = "#!/usr/bin/perl\nuse CGI;\nmy $x = CGI::param('id');\nprint \"Content-type: text/javascript\\n\\n\";\n";
        assert!(markers.matching(genuine.as_bytes()).is_none());
        assert!(markers.sets.len() >= 8);
    }
}
