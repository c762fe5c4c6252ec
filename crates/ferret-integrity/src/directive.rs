//! Signing and opening directives with the same minisign machinery as manifests, in their
//! own role.
//!
//! [`sign()`] signs a directive document's exact text with the coordinator's directive key;
//! the trusted comment reads `ferret-directive id=<id> sha256=<document SHA-256>`
//! ([`ferret_core::directive::trusted_comment`]), so neither a manifest signature can pass
//! for a directive nor a directive signature for a manifest, nor a signature for another
//! document.
//!
//! [`open`] is what a host does with an [`Envelope`] the collector served: the signature is
//! checked against the key the host pinned *before* the document is parsed (the bytes
//! verified are the bytes parsed), then the document is parsed and checked against the
//! allow-lists, then the bundle's SHA-256 is compared with the signed one before anything
//! reads the bundle.

use std::io::Cursor;

use ferret_core::directive::{
    DirectiveError, Document, Envelope, check_trusted_comment, sha256_hex, trusted_comment,
};

use crate::sign;

/// A directive whose signature, document and bundle all held.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The checked document.
    pub document: Document,
    /// The bundle's bytes (their SHA-256 is the signed one).
    pub bundle: Option<Vec<u8>>,
    /// The id of the key that signed.
    pub key_id: String,
}

/// Signs a document's exact text with a directive secret key (minisign text); returns the
/// signature's text and the key id. The document is checked first, so a coordinator cannot
/// sign what every host would refuse.
pub fn sign(secret: &str, document: &str) -> Result<(String, String), DirectiveError> {
    let doc = Document::parse(document)?;
    let comment = trusted_comment(&doc.id, &sha256_hex(document.as_bytes()));
    sign::sign(secret, document.as_bytes(), &comment)
        .map_err(|e| DirectiveError::Signature(e.to_string()))
}

/// Opens an envelope with the pinned directive public key: signature, then role and digest
/// of the trusted comment, then the document, then the bundle. Nothing is parsed before the
/// signature holds.
pub fn open(pinned_public: &str, envelope: &Envelope) -> Result<Opened, DirectiveError> {
    if envelope.document.len() > ferret_core::directive::MAX_DOCUMENT {
        return Err(DirectiveError::Malformed("document too large".into()));
    }
    let a = sign::authenticate(
        pinned_public,
        &envelope.signature,
        Cursor::new(envelope.document.as_bytes()),
    )
    .map_err(|e| DirectiveError::Signature(e.to_string()))?;
    if a.content_sha256.as_slice() != sha2_of(envelope.document.as_bytes()).as_slice() {
        return Err(DirectiveError::Signature("the verified bytes are not the document".into()));
    }
    check_trusted_comment(&a.trusted_comment, &envelope.document)?;
    let document = Document::parse(&envelope.document)?;
    if a.comment_field("id") != Some(document.id.as_str()) {
        return Err(DirectiveError::Signature("the signature names another directive id".into()));
    }
    let bundle = envelope.checked_bundle(&document)?;
    Ok(Opened { document, bundle, key_id: a.key_id })
}

fn sha2_of(data: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(data).into()
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use chrono::Utc;
    use ferret_core::directive::DirectiveOption;

    use super::*;

    fn document(bundle: Option<&[u8]>) -> String {
        serde_json::to_string(&Document {
            schema_version: 1,
            id: "a0b1".into(),
            name: "t".into(),
            verb: "scan".into(),
            targets: vec!["/srv".into()],
            options: vec![DirectiveOption::parse("min-score=50")],
            deadline: Utc::now(),
            orgs: vec![1],
            bundle_sha256: bundle.map(sha256_hex),
            created: Utc::now(),
        })
        .unwrap()
    }

    #[test]
    fn open_checks_signature_role_document_and_bundle() {
        let kp = sign::keygen().unwrap();
        let bundle = b"compiled rules";
        let text = document(Some(bundle));
        let (sig, _) = sign(&kp.secret, &text).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(bundle);
        let env =
            Envelope { document: text.clone(), signature: sig.clone(), bundle_b64: Some(b64) };
        let opened = open(&kp.public, &env).unwrap();
        assert_eq!(opened.bundle.as_deref(), Some(&bundle[..]));
        // Another key.
        let other = sign::keygen().unwrap();
        assert!(matches!(open(&other.public, &env), Err(DirectiveError::Signature(_))));
        // A tampered document.
        let tampered = Envelope { document: text.replace("/srv", "/etc"), ..env.clone() };
        assert!(matches!(open(&kp.public, &tampered), Err(DirectiveError::Signature(_))));
        // A tampered bundle.
        let swapped = Envelope {
            bundle_b64: Some(base64::engine::general_purpose::STANDARD.encode(b"other rules")),
            ..env.clone()
        };
        assert!(matches!(open(&kp.public, &swapped), Err(DirectiveError::Bundle(_))));
        // A manifest signature over the same bytes.
        let (msig, _) =
            sign::sign(&kp.secret, text.as_bytes(), &sign::trusted_comment("a0b1", "t", 1))
                .unwrap();
        let manifest_sig = Envelope { signature: msig, ..env };
        assert!(matches!(open(&kp.public, &manifest_sig), Err(DirectiveError::Signature(_))));
    }
}
