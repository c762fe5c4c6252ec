//! What the operator brings from the vendor, and which manifest therefore vouches for the files
//! of an appliance: the vendor's public key (`--vendor-key`), the vendor's manifest for the
//! release (`--vendor-manifest`, its signature `FILE.1` or `FILE.sig` checked with the key when
//! present), and the on-box manifest when its signature holds with the vendor key.

use std::path::{Path, PathBuf};

use rsa::RsaPublicKey;

use crate::CheckError;
use crate::inventory::{Inventory, read_local};
use crate::options::CheckOptions;
use crate::pulse::signature::{parse_public_key, signature_bytes, verifies};
use crate::pulse::{MANIFEST, Manifest};

/// Largest manifest, key or signature file read.
const MAX_READ: u64 = 64 * 1024 * 1024;

/// The vendor's manifest as the operator gave it.
#[derive(Clone, Debug)]
pub struct VendorManifest {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its entries.
    pub manifest: Manifest,
    /// `Some(true)`: its signature verified with the vendor key; `None`: no signature file
    /// was beside it, or no key was given to check it.
    pub signed: Option<bool>,
}

/// What the operator brought.
#[derive(Clone, Debug, Default)]
pub struct Vendor {
    /// The vendor key and its file.
    pub key: Option<(PathBuf, RsaPublicKey)>,
    /// The vendor manifest.
    pub manifest: Option<VendorManifest>,
}

/// The manifest that vouches for the files of one appliance.
#[derive(Debug)]
pub enum Vouch<'a> {
    /// The vendor manifest the operator brought.
    Vendor(&'a VendorManifest),
    /// The on-box manifest, whose signature holds with the vendor key.
    OnBox(Manifest),
    /// None: no vendor key, or the on-box manifest does not verify with it (the reason).
    Nothing(&'static str),
}

impl Vouch<'_> {
    /// The entries, when something vouches.
    pub fn entries(&self) -> Option<&Manifest> {
        match self {
            Vouch::Vendor(v) => Some(&v.manifest),
            Vouch::OnBox(m) => Some(m),
            Vouch::Nothing(_) => None,
        }
    }

    /// Whether the file at `appliance_path` with `sha256` is the vendor's file.
    pub fn vouches(&self, appliance_path: &str, sha256: &str) -> bool {
        self.entries()
            .and_then(|m| m.entries.get(appliance_path))
            .is_some_and(|h| h.eq_ignore_ascii_case(sha256))
    }
}

/// The signature file beside a manifest: `FILE.1` (the appliance's layout) or `FILE.sig`,
/// read with `read` (at most 1 MiB).
fn signature_beside(path: &Path, read: &dyn Fn(&Path) -> Option<Vec<u8>>) -> Option<Vec<u8>> {
    ["1", "sig"].iter().find_map(|ext| {
        let mut p = path.as_os_str().to_owned();
        p.push(".");
        p.push(ext);
        read(Path::new(&p)).map(signature_bytes)
    })
}

impl Vendor {
    /// Loads the vendor key and manifest named in `opts`. `Err` when a file is unreadable,
    /// unparsable, or when the vendor manifest's signature does not verify with the key.
    pub fn load(opts: &CheckOptions) -> Result<Vendor, CheckError> {
        let key = match &opts.vendor_key {
            None => None,
            Some(p) => {
                let pem = read_local(p, 1024 * 1024)
                    .map_err(|reason| CheckError::Option { option: "--vendor-key", reason })?;
                let key = parse_public_key(&pem).ok_or_else(|| CheckError::Option {
                    option: "--vendor-key",
                    reason: format!("{}: not an RSA public key in PEM form", p.display()),
                })?;
                Some((p.clone(), key))
            }
        };
        let manifest = match &opts.vendor_manifest {
            None => None,
            Some(p) => {
                let err =
                    |reason: String| CheckError::Option { option: "--vendor-manifest", reason };
                let text = read_local(p, MAX_READ).map_err(err)?;
                let m = Manifest::parse(&text);
                if m.entries.is_empty() {
                    return Err(err(format!("{}: no `<path> <sha256>` line", p.display())));
                }
                let signed = match (signature_beside(p, &|s| read_local(s, 1024 * 1024).ok()), &key)
                {
                    (Some(sig), Some((kp, k))) => {
                        if !verifies(k, &text, &sig) {
                            return Err(err(format!(
                                "{}: its signature does not verify with the vendor key {}",
                                p.display(),
                                kp.display()
                            )));
                        }
                        Some(true)
                    }
                    _ => None,
                };
                Some(VendorManifest { path: p.clone(), manifest: m, signed })
            }
        };
        Ok(Vendor { key, manifest })
    }

    /// Which manifest vouches for the files of the appliance at `root`.
    pub fn vouch(&self, inv: &Inventory, root: &Path) -> Vouch<'_> {
        if let Some(v) = &self.manifest {
            return Vouch::Vendor(v);
        }
        let Some((_, key)) = &self.key else {
            return Vouch::Nothing("no vendor key was given (--vendor-key)");
        };
        let manifest_path = root.join(MANIFEST);
        let (Ok(text), Some(sig)) = (
            inv.read_small(&manifest_path, MAX_READ),
            signature_beside(&manifest_path, &|s| inv.read_small(s, 1024 * 1024).ok()),
        ) else {
            return Vouch::Nothing("the on-box manifest or its signature cannot be read");
        };
        if verifies(key, &text, &sig) {
            Vouch::OnBox(Manifest::parse(&text))
        } else {
            Vouch::Nothing("the on-box manifest's signature does not hold with the vendor key")
        }
    }

    /// A sentence for the verdict when the vendor manifest was used without a signature check.
    pub fn unsigned_note(&self) -> Option<String> {
        let v = self.manifest.as_ref()?;
        (v.signed.is_none()).then(|| {
            format!(
                "the signature of the vendor manifest {}: no signature (FILE.1 or FILE.sig) \
                 with a vendor key to check it; it was taken on the operator's word",
                v.path.display()
            )
        })
    }
}
