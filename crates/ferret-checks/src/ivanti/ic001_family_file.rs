//! IC001 ivanti-family-file: files of the published 2024 and 2025 Ivanti Connect Secure
//! families by hash, by the families' code markers (web shells inserted into genuine CGI
//! scripts, Perl and Python modules and JavaScript), and by names and paths the product never
//! ships. The data is `intel/ivanti-connect-secure/families.tsv` and `markers.tsv`.

use std::path::Path;

use ferret_core::Severity;
use ferret_intel::Confidence;
use md5::Digest as _;

use crate::detector::{
    Campaign, Detector, Doc, FileEntry, Info, Input, Out, Registration, evidence,
};
use crate::intel::CheckIntel;
use crate::inventory::Marker;
use crate::ivanti::{
    Indicator, Kind, REF_AA24_060B, REF_ED_24_01, REF_MANDIANT_2024, REF_MANDIANT_2025_01,
    REF_MANDIANT_2025_04, REF_VOLEXITY_2024, score_for, severity_of,
};
use crate::pulse::{in_appliance_area, norm};

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "IC001",
        name: "ivanti-family-file",
        title: "File of a published Ivanti Connect Secure intrusion family (2024–2025)",
        campaign: Campaign::IvantiConnectSecure,
        severity: Severity::Critical,
        inputs: &[Input::Tree(Marker::PulseTree)],
        needles: &[],
        doc: Doc {
            what: "Files under the appliance's code, web, Python, runtime and scratch folders \
                   (and any file whose name is listed) judged by content: an MD5 or SHA-256 \
                   among the published samples (Mandiant: LIGHTWIRE, WIREFIRE, THINSPOOL, \
                   WARPWIRE; Volexity: COMPLYSHELL, GLASSTOKEN, the post-exploitation files of \
                   the January 2024 mass exploitation; PHASEJAM); the code markers of a family \
                   (the literals of the published YARA rules: LIGHTWIRE and COMPLYSHELL in \
                   `compcheckresult.cgi`, WIREFIRE in `visits.py`, WARPWIRE in \
                   `lastauthserverused.js`, THINSPOOL and the modified `sessionserver.pl`, \
                   ZIPLINE, GLASSTOKEN, the SPAWNANT installer, the PHASEJAM dropper), as many \
                   of them as the rule requires; and names or paths the product never ships \
                   (the shared library ZIPLINE preloads; the THINSPOOL dropper's shell script \
                   beside `sessionserver.pl`, the backups the PHASEJAM dropper \
                   keeps, the temporary files of the TRAILBLAZE/BRUSHFIRE dropper in `/tmp`). \
                   Genuine files the families modify (`compcheckresult.cgi`, `visits.py`, \
                   `lastauthserverused.js`, `DSUpgrade.pm`, `getComponent.cgi`, \
                   `restAuth.cgi`, `DSAuth.pm`) are never findings by name: only a hash or \
                   the markers decide, and IC004 compares them with the manifest. The data is \
                   `intel/ivanti-connect-secure/families.tsv` and `markers.tsv`.",
            why: "The 2024 and 2025 intrusions ended, like the 2021 ones, in web shells and \
                  credential harvesters inserted into the appliance's own CGI scripts, Perl \
                  and Python modules, in droppers and in backdoors preloaded into its \
                  processes; CISA ED 24-01 asked agencies to hunt for them before a factory \
                  reset.",
            evidence: "The family, the published on-box name, the matching hash, markers (with \
                       their source) or name, and the file's SHA-256. Scores: 100 for a \
                       published hash, 95 for a marker set, 85 for a never-shipped name of \
                       high confidence, 65 for a path too generic to decide alone (a lead).",
            false_positives: "Hash matches have none. Marker sets need every literal the \
                              published rule needs (the SPAWNANT installer rule 5 of 7). The \
                              `/tmp` files of the TRAILBLAZE dropper have one-letter names and \
                              the PHASEJAM backups ordinary ones: they are leads.",
            references: &[
                REF_VOLEXITY_2024,
                REF_MANDIANT_2024,
                REF_MANDIANT_2025_01,
                REF_MANDIANT_2025_04,
                REF_ED_24_01,
                REF_AA24_060B,
            ],
        },
    },
    build: |o| Ok(Box::new(FamilyFile { intel: o.intel.clone() })),
};

/// Largest file hashed (the published samples are far smaller).
const MAX_SIZE: u64 = 64 * 1024 * 1024;

struct FamilyFile {
    intel: std::sync::Arc<CheckIntel>,
}

/// Where the appliance keeps its Python API, besides the Pulse areas.
fn in_area(n: &str) -> bool {
    in_appliance_area(n) || n.contains("/home/venv3/")
}

fn finding(path: &Path, ind: &Indicator, score: u8) -> ferret_core::Finding {
    let mut f = DETECTOR
        .info
        .finding()
        .with_path(path)
        .with_message(format!("Ivanti Connect Secure intrusion family file: {}", ind.family))
        .with_score(score);
    f.push_evidence(evidence("family", &ind.family));
    if !ind.name.is_empty() {
        f.push_evidence(evidence("published_name", &ind.name));
    }
    f.push_evidence(evidence("source", &ind.source));
    f
}

impl Detector for FamilyFile {
    fn wants_file(&self, path: &Path, size: u64) -> bool {
        let n = norm(path);
        let fam = &self.intel.ivanti.families;
        fam.by_name(&n).is_some()
            || (size <= MAX_SIZE && (in_area(&n) || fam.product_file(&n).is_some()))
    }

    fn on_file(&self, file: &FileEntry<'_>, out: &mut Out) {
        let n = norm(file.path);
        let fam = &self.intel.ivanti.families;
        if let Ok(content) = file.content()
            && file.size <= MAX_SIZE
        {
            let sha256 = file.sha256().unwrap_or("").to_owned();
            let md5 = hex::encode(md5::Md5::digest(content));
            let sha1 = hex::encode(sha1::Sha1::digest(content));
            for h in [sha256.as_str(), &sha1, &md5] {
                if let Some(i) = fam.by_hash(h) {
                    let mut f = finding(file.path, i, 100);
                    f.push_evidence(evidence("matched", &format!("hash {h}")));
                    f.push_evidence(evidence("sha256", &sha256));
                    out.finding(f);
                    return;
                }
            }
            if let Some((set, found)) = self.intel.ivanti.markers.matching(content) {
                let product = fam.product_file(&n);
                let mut f = DETECTOR
                    .info
                    .finding()
                    .with_path(file.path)
                    .with_message(format!(
                        "Ivanti Connect Secure intrusion family code: {}{}",
                        set.family,
                        if product.is_some() { " in a genuine product file" } else { "" }
                    ))
                    .with_score(score_for(severity_of(set.confidence, Severity::Critical)));
                f.push_evidence(evidence("family", &set.family));
                f.push_evidence(evidence("markers", &found.join(" | ")));
                f.push_evidence(evidence("marker_source", &set.source));
                if let Some(p) = product {
                    f.push_evidence(evidence("product_file", &p.name));
                }
                f.push_evidence(evidence("sha256", &sha256));
                out.finding(f);
                return;
            }
        }
        if let Some(i) = fam.by_name(&n) {
            // A name decides only when its source is sure of it; otherwise it is a lead.
            let sev =
                if i.confidence == Confidence::High { Severity::High } else { Severity::Medium };
            let mut f = finding(file.path, i, score_for(sev));
            debug_assert!(matches!(i.kind, Kind::BadName | Kind::BadPath));
            f.push_evidence(evidence("matched", &format!("published name {}", i.name)));
            if let Some(s) = file.sha256() {
                f.push_evidence(evidence("sha256", s));
            }
            out.finding(f);
        }
    }
}
