//! Signing and opening intel packs (the container format is `ferret_intel::pack`'s) with the
//! same minisign machinery as manifests and directives, in their own role.
//!
//! [`build`] signs a pack body with the intel key; the trusted comment reads
//! `ferret-intel id=<id> created=<created> tables=<N> sha256=<body SHA-256>`
//! ([`trusted_comment`]), so no manifest or directive signature passes for a pack, and a
//! pack's signature passes for no other pack.
//!
//! [`open`] checks the signature against the pinned key *before* the body is parsed (the
//! bytes verified are the bytes parsed), then the role, the body's digest and the header
//! against the trusted comment, then parses the tables. An unsigned pack, a tampered one or
//! one signed by another key is refused with the reason.

use std::io::Cursor;

use ferret_intel::Intel;
use ferret_intel::pack::{self, PackHeader};

use crate::sign;

/// The role word of an intel pack signature.
pub const INTEL_ROLE: &str = "ferret-intel";

/// Why a pack cannot be built or opened.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// The signature is missing, bad, from another key or of another role.
    #[error("intel pack signature: {0}")]
    Signature(String),
    /// The pack does not follow the format, or a table breaks the table format.
    #[error("intel pack: {0}")]
    Format(String),
}

/// The trusted comment of a pack signature.
pub fn trusted_comment(header: &PackHeader, tables: usize, body_sha256: &str) -> String {
    format!(
        "{INTEL_ROLE} id={} created={} tables={tables} sha256={body_sha256}",
        header.id, header.created
    )
}

/// A pack whose signature and content held.
#[derive(Debug, Clone)]
pub struct OpenedPack {
    /// Its id and creation time.
    pub header: PackHeader,
    /// Its tables.
    pub intel: Intel,
    /// The id of the key that signed it.
    pub key_id: String,
    /// The SHA-256 of the whole pack file (lowercase hex).
    pub sha256: String,
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(data))
}

/// Builds a signed pack from tables (path under `intel/`, text) with the intel secret key
/// (minisign text). Every table is checked first, so a pack that every ferret would refuse is
/// never written. Returns the pack's bytes and the key id.
pub fn build(
    secret: &str,
    header: &PackHeader,
    tables: &[(String, String)],
) -> Result<(Vec<u8>, String), PackError> {
    for (path, _) in tables {
        if !pack::valid_table_path(path) {
            return Err(PackError::Format(format!("table path {path:?} is not campaign/name.tsv")));
        }
    }
    Intel::from_texts(tables.iter().map(|(p, t)| (p.as_str(), t.as_bytes())))
        .map_err(|e| PackError::Format(e.to_string()))?;
    let body = pack::encode_body(header, tables);
    let comment = trusted_comment(header, tables.len(), &sha256_hex(body.as_bytes()));
    let (sig, key_id) = sign::sign(secret, body.as_bytes(), &comment)
        .map_err(|e| PackError::Signature(e.to_string()))?;
    let mut out = sig.into_bytes();
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend_from_slice(body.as_bytes());
    Ok((out, key_id))
}

/// Opens a pack with the pinned public key (minisign text).
pub fn open(pinned_public: &str, bytes: &[u8]) -> Result<OpenedPack, PackError> {
    if bytes.len() as u64 > pack::MAX_PACK {
        return Err(PackError::Format("larger than 64 MiB".into()));
    }
    let (sig, body) = pack::split(bytes).map_err(|e| PackError::Signature(e.reason))?;
    let a = sign::authenticate(pinned_public, sig, Cursor::new(body))
        .map_err(|e| PackError::Signature(e.to_string()))?;
    let body_sha = sha256_hex(body);
    if hex::encode(a.content_sha256) != body_sha {
        return Err(PackError::Signature("the verified bytes are not the pack's body".into()));
    }
    if a.role() != INTEL_ROLE {
        return Err(PackError::Signature(format!(
            "the signature is a {:?} signature, not an intel pack's",
            a.role()
        )));
    }
    if a.comment_field("sha256") != Some(body_sha.as_str()) {
        return Err(PackError::Signature(
            "the signature names another pack (sha256 differs)".into(),
        ));
    }
    let (header, intel) = pack::decode_body(body).map_err(|e| PackError::Format(e.to_string()))?;
    if a.comment_field("id") != Some(header.id.as_str())
        || a.comment_field("created") != Some(header.created.as_str())
    {
        return Err(PackError::Signature(
            "the signed id or creation time differs from the pack's header".into(),
        ));
    }
    Ok(OpenedPack { header, intel, key_id: a.key_id, sha256: sha256_hex(bytes) })
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str =
        "kind\tvalue\tsource\tpublished\tconfidence\nipv4\t192.0.2.1\ts\t2021-01-01\thigh\n";

    fn header() -> PackHeader {
        PackHeader {
            id: "0123456789abcdef0123456789abcdef".into(),
            created: "2026-01-02T03:04:05Z".into(),
        }
    }

    #[test]
    fn build_and_open() {
        let kp = sign::keygen().unwrap();
        let tables = vec![("x/ips.tsv".to_owned(), T.to_owned())];
        let (bytes, id) = build(&kp.secret, &header(), &tables).unwrap();
        assert_eq!(id, kp.key_id);
        let p = open(&kp.public, &bytes).unwrap();
        assert_eq!(p.header, header());
        assert_eq!(p.key_id, kp.key_id);
        assert_eq!(p.intel.rows("x/ips.tsv").count(), 1);
        assert_eq!(p.sha256.len(), 64);
    }

    #[test]
    fn refuses_tampered_unsigned_and_foreign() {
        let kp = sign::keygen().unwrap();
        let tables = vec![("x/ips.tsv".to_owned(), T.to_owned())];
        let (bytes, _) = build(&kp.secret, &header(), &tables).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        // Tampered: one indicator changed.
        let tampered = text.replace("192.0.2.1", "192.0.2.9");
        assert!(matches!(open(&kp.public, tampered.as_bytes()), Err(PackError::Signature(_))));
        // Unsigned: the body alone.
        let body = pack::encode_body(&header(), &tables);
        assert!(matches!(open(&kp.public, body.as_bytes()), Err(PackError::Signature(_))));
        // Another key.
        let other = sign::keygen().unwrap();
        let e = open(&other.public, &bytes).unwrap_err().to_string();
        assert!(e.contains("signed by key"), "{e}");
        // A manifest signature over the same body is not a pack signature.
        let (sig, _) = sign::sign(
            &kp.secret,
            body.as_bytes(),
            &sign::trusted_comment("0123456789abcdef0123456789abcdef", "t", 1),
        )
        .unwrap();
        let forged = format!("{}{}", sig.trim_end_matches('\n').to_owned() + "\n", body);
        let e = open(&kp.public, forged.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("not an intel pack"), "{e}");
        // A bad table is refused before signing.
        let bad = vec![("x/ips.tsv".to_owned(), "value\n".to_owned())];
        assert!(matches!(build(&kp.secret, &header(), &bad), Err(PackError::Format(_))));
    }
}
