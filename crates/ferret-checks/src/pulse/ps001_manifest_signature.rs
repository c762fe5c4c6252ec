//! PS001 pulse-manifest-signature-invalid: the appliance manifest's signature (`manifest.1`,
//! RSA PKCS#1 v1.5 over SHA-512, as `openssl dgst -sha512 -sign` makes it) checked with the
//! vendor key the operator supplies, never with the key found on the image (`manifest.2`).

use std::path::{Path, PathBuf};

use ferret_core::{Problem, ProblemKind, Severity};
use rsa::RsaPublicKey;
use sha2::Digest as _;

use crate::CheckError;
use crate::detector::{Campaign, Detector, Doc, Info, Input, Out, Registration, evidence};
use crate::inventory::{Inventory, Marker};
use crate::options::CheckOptions;
use crate::pulse::signature::{parse_public_key, signature_bytes, verifies};
use crate::pulse::vendor::Vendor;
use crate::pulse::{
    MANIFEST, Manifest, REF_AA21_110A, REF_ED_21_03, REF_KB44755, REF_MANDIANT_1, appliance_roots,
};

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "PS001",
        name: "pulse-manifest-signature-invalid",
        title: "Pulse Connect Secure manifest signature does not verify with the vendor key",
        campaign: Campaign::PulseSecure,
        severity: Severity::Critical,
        inputs: &[Input::Tree(Marker::PulseTree)],
        needles: &[],
        doc: Doc {
            what: "The signature of the appliance's file manifest (`home/etc/manifest/manifest`), \
                   stored in `manifest.1` as an RSA PKCS#1 v1.5 signature over the manifest's \
                   SHA-512 digest (what `openssl dgst -sha512 -sign` writes), checked with the \
                   vendor's public key given with `--vendor-key KEY.pem` (SPKI or PKCS#1 PEM). \
                   The key stored on the image (`manifest.2`) is never trusted: it is only used \
                   to say whether a bad signature was made on the box. Without `--vendor-key` the \
                   signature is not checked and the run says so.",
            why: "The manifest is what the vendor's integrity check compares the file system \
                  with. An actor who modifies product files (the published families patch \
                  shared libraries, CGI scripts and Perl modules) and wants the check to stay \
                  quiet has to rewrite the manifest; a manifest that no longer verifies with the \
                  vendor key, and above all one that verifies with a key found on the box, was \
                  rewritten and re-signed there, which is itself evidence of compromise.",
            evidence: "The manifest path, its SHA-512, which key verified it (none, or the \
                       on-box `manifest.2` key only), and the vendor key's file.",
            false_positives: "The wrong vendor key for the release (keys can change between \
                              major releases) fails every manifest: check that the key matches \
                              the image's release before concluding. A missing `manifest.1` in \
                              an extracted tree is reported as a problem, not as evidence.",
            references: &[REF_AA21_110A, REF_ED_21_03, REF_KB44755, REF_MANDIANT_1],
        },
    },
    build,
};

/// Largest manifest file read.
const MAX_READ: u64 = 64 * 1024 * 1024;

fn build(opts: &CheckOptions) -> Result<Box<dyn Detector>, CheckError> {
    let vendor = Vendor::load(opts)?;
    Ok(Box::new(ManifestSignature {
        vendor: vendor.key,
        vendor_manifest: vendor.manifest.is_some(),
    }))
}

struct ManifestSignature {
    vendor: Option<(PathBuf, RsaPublicKey)>,
    /// Whether the operator brought the vendor's manifest (`--vendor-manifest`).
    vendor_manifest: bool,
}

impl ManifestSignature {
    fn check_one(&self, inv: &Inventory, root: &Path, out: &mut Out) {
        let manifest_path = root.join(MANIFEST);
        let sig_path = root.join(format!("{MANIFEST}.1"));
        let key_path = root.join(format!("{MANIFEST}.2"));
        let manifest = match inv.read_small(&manifest_path, MAX_READ) {
            Ok(m) => m,
            Err(e) => {
                out.problem(Problem::at(ProblemKind::ReadError, manifest_path.as_path(), e));
                return;
            }
        };
        let Ok(sig) = inv.read_small(&sig_path, 1024 * 1024).map(signature_bytes) else {
            out.problem(Problem::at(
                ProblemKind::ReadError,
                sig_path.as_path(),
                "no readable manifest signature (manifest.1): signature not checked",
            ));
            out.not_checked(format!(
                "the signature of {} (manifest.1 is missing or unreadable)",
                manifest_path.display()
            ));
            return;
        };
        let Some((vendor_path, vendor_key)) = &self.vendor else {
            out.not_checked(format!(
                "the signature of {}: no vendor key was given (--vendor-key KEY.pem); the key \
                 on the image (manifest.2) is never trusted",
                manifest_path.display()
            ));
            return;
        };
        if verifies(vendor_key, &manifest, &sig) {
            return;
        }
        let on_box = inv
            .read_small(&key_path, 1024 * 1024)
            .ok()
            .and_then(|pem| parse_public_key(&pem))
            .is_some_and(|k| verifies(&k, &manifest, &sig));
        let mut f = DETECTOR.info.finding().with_path(manifest_path.as_path());
        if on_box {
            f = f.with_message(
                "Pulse Connect Secure manifest re-signed on the box: its signature verifies with \
                 the key on the image (manifest.2) but not with the vendor key",
            );
        }
        f.push_evidence(evidence("manifest_sha512", &hex::encode(sha2::Sha512::digest(&manifest))));
        f.push_evidence(evidence(
            "verified_by",
            if on_box { "on-box key manifest.2 only" } else { "no key" },
        ));
        f.push_evidence(evidence("vendor_key", &vendor_path.to_string_lossy()));
        if !self.vendor_manifest {
            // Nothing vouches for the files any more: the manifest that should is forged.
            let n = Manifest::parse(&manifest).entries.len();
            f.push_evidence(evidence("files_not_vouched_for", &n.to_string()));
            out.not_checked(format!(
                "{n} file(s) listed in {} can no longer be vouched for: the manifest does not \
                 verify with the vendor key{}; bring the vendor's manifest for the release \
                 (--vendor-manifest FILE) to judge them",
                manifest_path.display(),
                if on_box { " (it was re-signed on the box)" } else { "" }
            ));
        }
        out.finding(f);
    }
}

impl Detector for ManifestSignature {
    fn on_tree(&self, inv: &Inventory, out: &mut Out) {
        for root in appliance_roots(inv) {
            self.check_one(inv, &root, out);
        }
    }
}
