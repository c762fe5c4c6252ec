//! PS004 pulse-family-file: files of the published Pulse Connect Secure malware families
//! (SLOWPULSE, PULSECHECK, RADIALPULSE, ATRIUM, THINBLOOD, PACEMAKER, SLIGHTPULSE, BLOODMINE,
//! CLEANPULSE, …) by hash, and by the on-box names and paths that are never product files.

use std::path::Path;

use ferret_core::Severity;
use md5::Digest as _;

use crate::detector::{
    Campaign, Detector, Doc, FileEntry, Info, Input, Out, Registration, evidence, stateless,
};
use crate::inventory::Marker;
use crate::pulse::{
    Kind, REF_AA21_110A, REF_MANDIANT_1, REF_MANDIANT_2, REF_MAR_AR21_110A, REF_MAR_AR21_112A,
    by_hash, by_name, in_appliance_area, norm,
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
                   CVE-2021-22893 lists), and files whose name or path the same lists give and \
                   that the product never ships (`meeting_testjs.cgi`, \
                   `licenseserverproto.cgi`, `secid_canceltoken.cgi`, `compcheckjava.cgi`, \
                   `/home/perl/PAUS.pm`, `dshelper`, `memread`, `dsclslog`, `clear_log.sh`, \
                   `dsrlog`, the `/tmp/*.statementcounters` files). The data is \
                   `crates/ferret-checks/src/pulse/families.tsv`. Files are hashed when their \
                   name is listed or when they lie under the appliance's code, web, runtime or \
                   scratch folders.",
            why: "These are the web shells, credential harvesters, log cleaners and patched \
                  libraries found on compromised appliances; a hash match is the sample itself. \
                  Trojanized product files (`login.cgi`, `compcheckresult.cgi`, \
                  `libdsplibs.so`, `DSUpgrade.pm`) keep their legitimate names, so for them \
                  only the hash (or PS002's manifest comparison) decides.",
            evidence: "The family, the published on-box name, the matching hash (or name) and \
                       the file's SHA-256.",
            false_positives: "Hash matches have none. The names counted as evidence are not \
                              product files; `/tmp/1` and the misspelt `DSUpgade.pm` of the \
                              published list are too generic to decide alone and are leads.",
            references: &[
                REF_MANDIANT_1,
                REF_MANDIANT_2,
                REF_MAR_AR21_110A,
                REF_MAR_AR21_112A,
                REF_AA21_110A,
            ],
        },
    },
    build: stateless::<FamilyFile>,
};

#[derive(Default)]
struct FamilyFile;

/// Largest file hashed for family matching (the published samples are far smaller).
const MAX_SIZE: u64 = 64 * 1024 * 1024;

impl Detector for FamilyFile {
    fn wants_file(&self, path: &Path, size: u64) -> bool {
        by_name(&norm(path)).is_some() || (size <= MAX_SIZE && in_appliance_area(&norm(path)))
    }

    fn on_file(&self, file: &FileEntry<'_>, out: &mut Out) {
        let name_hit = by_name(&norm(file.path));
        let mut hash_hit = None;
        if let Ok(content) = file.content()
            && file.size <= MAX_SIZE
        {
            let sha256 = file.sha256().unwrap_or("").to_owned();
            let md5 = hex::encode(md5::Md5::digest(content));
            let sha1 = hex::encode(sha1::Sha1::digest(content));
            for h in [sha256, sha1, md5] {
                if let Some(i) = by_hash(&h) {
                    hash_hit = Some((i, h));
                    break;
                }
            }
        }
        let (ind, matched, severity) = match (&hash_hit, name_hit) {
            (Some((i, h)), _) => (*i, format!("hash {h}"), Severity::Critical),
            (None, Some(i)) => {
                let sev = if matches!(i.kind, Kind::BadName | Kind::BadPath) {
                    Severity::High
                } else {
                    Severity::Medium
                };
                (i, format!("published name {}", i.name), sev)
            }
            (None, None) => return,
        };
        let mut f = DETECTOR
            .info
            .finding()
            .with_path(file.path)
            .with_message(format!("Pulse Connect Secure malware family file: {}", ind.family));
        f.severity = severity;
        f.push_evidence(evidence("family", ind.family));
        if !ind.name.is_empty() {
            f.push_evidence(evidence("published_name", ind.name));
        }
        f.push_evidence(evidence("matched", &matched));
        if let Some(h) = file.sha256() {
            f.push_evidence(evidence("sha256", h));
        }
        out.finding(f);
    }
}
