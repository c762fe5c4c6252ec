//! PS002 pulse-manifest-integrity-mismatch: the appliance's files compared with its own
//! manifest (`home/etc/manifest/manifest`, lines of `<path> <sha256>`): modified files,
//! missing files, and code files under the product folders that the manifest does not list.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ferret_core::{Problem, ProblemKind, Severity};
use rayon::prelude::*;

use crate::detector::{
    Campaign, Detector, Doc, Info, Input, Out, Registration, evidence, stateless,
};
use crate::inventory::{Inventory, Marker};
use crate::pulse::{
    MANIFEST, Manifest, REF_AA21_110A, REF_KB44755, REF_MANDIANT_1, REF_MANDIANT_2, appliance_path,
    appliance_roots, on_root,
};

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "PS002",
        name: "pulse-manifest-integrity-mismatch",
        title: "Pulse Connect Secure file differs from the appliance manifest",
        campaign: Campaign::PulseSecure,
        severity: Severity::High,
        inputs: &[Input::Tree(Marker::PulseTree)],
        needles: &[],
        doc: Doc {
            what: "Every entry of the appliance manifest (`home/etc/manifest/manifest`, one \
                   `<path> <sha256>` per line, paths absolute on the appliance) is resolved \
                   under the image root and hashed: a file whose SHA-256 differs is *modified* \
                   (evidence), a listed file that is absent is *missing* (a lead). Files with a \
                   code extension (`.cgi`, `.pl`, `.pm`, `.so`, `.sh`) or under `/home/bin` \
                   that the manifest does not list are *new*: evidence for CGI scripts under \
                   the web root (`/home/webserver/htdocs`), a lead elsewhere.",
            why: "This is the comparison the vendor's Integrity Checker Tool makes. The \
                  published families live in modified product files (SLOWPULSE patches \
                  `libdsplibs.so`; PULSECHECK, RADIALPULSE, ATRIUM and others are lines added \
                  to legitimate CGI scripts and Perl modules such as `compcheckresult.cgi`, \
                  `login.cgi`, `DSUpgrade.pm`) or in new web shells under `dana-na`.",
            evidence: "The appliance path, the manifest's SHA-256 and the file's, or that it is \
                       missing or unlisted.",
            false_positives: "The manifest is only as trustworthy as its signature (PS001): an \
                              actor who rewrote it makes modified files look intact, so read \
                              this together with PS001 and PS003. Files the appliance rewrites \
                              at run time are not in the manifest; an extraction that skipped \
                              files makes them *missing* (hence a lead only).",
            references: &[REF_KB44755, REF_MANDIANT_1, REF_MANDIANT_2, REF_AA21_110A],
        },
    },
    build: stateless::<ManifestIntegrity>,
};

/// Most findings of one kind reported one by one per appliance; the rest are counted.
const MAX_EACH: usize = 100;

#[derive(Default)]
struct ManifestIntegrity;

enum State {
    Same,
    Modified(String),
    Missing,
    Unreadable(String),
}

fn code_file(appliance: &str) -> bool {
    let lower = appliance.to_ascii_lowercase();
    let by_ext = [".cgi", ".pl", ".pm", ".so", ".sh"].iter().any(|e| lower.ends_with(e))
        || lower.contains(".so.");
    let in_product = ["/home/webserver/", "/home/perl/", "/home/bin/", "/home/lib/"]
        .iter()
        .any(|a| lower.starts_with(a));
    in_product && (by_ext || lower.starts_with("/home/bin/"))
}

fn check_root(root: &Path, inv: &Inventory, out: &mut Out) {
    let manifest_path = root.join(MANIFEST);
    let manifest = match inv.read_small(&manifest_path, 64 * 1024 * 1024) {
        Ok(m) => Manifest::parse(&m),
        Err(e) => {
            out.problem(Problem::at(ProblemKind::ReadError, manifest_path.as_path(), e));
            return;
        }
    };
    if manifest.malformed > 0 {
        out.problem(Problem::at(
            ProblemKind::Parse,
            manifest_path.as_path(),
            format!("{} manifest line(s) are not `<path> <sha256>`", manifest.malformed),
        ));
    }
    let present: BTreeSet<&PathBuf> =
        inv.files.iter().map(|(p, _)| p).filter(|p| p.starts_with(root)).collect();
    let states: Vec<(&String, &String, State)> = manifest
        .entries
        .par_iter()
        .map(|(path, want)| {
            let file = on_root(root, path);
            let state = if present.contains(&file) {
                match inv.sha256_file(&file) {
                    Ok(h) if &h == want => State::Same,
                    Ok(h) => State::Modified(h),
                    Err(e) => State::Unreadable(e),
                }
            } else if inv.is_present(&file) {
                State::Same // not a regular file (a link): not hashed
            } else {
                State::Missing
            };
            (path, want, state)
        })
        .collect();
    let (mut modified, mut missing) = (0usize, 0usize);
    for (path, want, state) in states {
        let file = on_root(root, path);
        match state {
            State::Same => {}
            State::Unreadable(e) => {
                out.problem(Problem::at(ProblemKind::ReadError, file.as_path(), e));
            }
            State::Modified(have) => {
                modified += 1;
                if modified <= MAX_EACH {
                    let mut f = DETECTOR
                        .info
                        .finding()
                        .with_path(file.as_path())
                        .with_message("Pulse Connect Secure file modified: its SHA-256 differs from the appliance manifest");
                    f.push_evidence(evidence("appliance_path", path));
                    f.push_evidence(evidence("manifest_sha256", want));
                    f.push_evidence(evidence("file_sha256", &have));
                    out.finding(f);
                }
            }
            State::Missing => {
                missing += 1;
                if missing <= MAX_EACH {
                    let mut f = DETECTOR.info.finding().with_path(file.as_path()).with_message(
                        "file listed in the Pulse Connect Secure manifest is missing",
                    );
                    f = f.with_score(Severity::Medium.default_score());
                    f.push_evidence(evidence("appliance_path", path));
                    f.push_evidence(evidence("manifest_sha256", want));
                    out.finding(f);
                }
            }
        }
    }
    let mut new = 0usize;
    for p in present {
        let Some(ap) = appliance_path(root, p) else { continue };
        if manifest.entries.contains_key(&ap) || !code_file(&ap) {
            continue;
        }
        new += 1;
        if new > MAX_EACH {
            continue;
        }
        let web_cgi = ap.to_ascii_lowercase().starts_with("/home/webserver/htdocs/")
            && ap.to_ascii_lowercase().ends_with(".cgi");
        let mut f = DETECTOR
            .info
            .finding()
            .with_path(p.as_path())
            .with_message("code file under the Pulse Connect Secure product folders that the manifest does not list");
        if !web_cgi {
            f = f.with_score(Severity::Medium.default_score());
        }
        f.push_evidence(evidence("appliance_path", &ap));
        out.finding(f);
    }
    for (n, what) in [(modified, "modified"), (missing, "missing"), (new, "unlisted")] {
        if n > MAX_EACH {
            out.not_checked(format!(
                "{} more {what} file(s) under {} were counted but not reported one by one",
                n - MAX_EACH,
                root.display()
            ));
        }
    }
}

impl Detector for ManifestIntegrity {
    fn on_tree(&self, inv: &Inventory, out: &mut Out) {
        for root in appliance_roots(inv) {
            check_root(&root, inv, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_files() {
        assert!(code_file("/home/webserver/htdocs/dana-na/auth/x.cgi"));
        assert!(code_file("/home/bin/dshelper"));
        assert!(code_file("/home/lib/libdsplibs.so"));
        assert!(!code_file("/home/webserver/htdocs/dana-na/css/a.css"));
        assert!(!code_file("/tmp/x.cgi"));
    }
}
