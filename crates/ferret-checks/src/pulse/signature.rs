//! The appliance manifest's signature primitives, shared by PS001 (the on-box manifest) and
//! [`super::vendor`] (the vendor's manifest): RSA public keys from PEM, PKCS#1 v1.5 over SHA-512
//! (as `openssl dgst -sha512 -sign` makes it), and the signature file's raw or base64 bytes.

use base64::Engine as _;
use rsa::pkcs1::DecodeRsaPublicKey as _;
use rsa::pkcs8::DecodePublicKey as _;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use sha2::Digest as _;

/// The DigestInfo prefix of a SHA-512 digest in a PKCS#1 v1.5 signature (RFC 8017, 9.2).
const SHA512_DIGEST_INFO: [u8; 19] = [
    0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
    0x00, 0x04, 0x40,
];

/// Parses an RSA public key from PEM: SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`) or PKCS#1
/// (`BEGIN RSA PUBLIC KEY`).
pub fn parse_public_key(pem: &[u8]) -> Option<RsaPublicKey> {
    let text = std::str::from_utf8(pem).ok()?.trim();
    RsaPublicKey::from_public_key_pem(text).ok().or_else(|| RsaPublicKey::from_pkcs1_pem(text).ok())
}

/// Whether `sig` is a valid PKCS#1 v1.5 SHA-512 signature of `data` under `key`.
pub fn verifies(key: &RsaPublicKey, data: &[u8], sig: &[u8]) -> bool {
    let digest = sha2::Sha512::digest(data);
    let scheme = Pkcs1v15Sign { hash_len: Some(64), prefix: Box::new(SHA512_DIGEST_INFO) };
    key.verify(scheme, &digest, sig).is_ok()
}

/// The signature bytes of `manifest.1`: raw, or base64 text.
pub(crate) fn signature_bytes(raw: Vec<u8>) -> Vec<u8> {
    let text = String::from_utf8_lossy(&raw);
    let compact: String = text.split_whitespace().collect();
    if !compact.is_empty()
        && compact.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
        && let Ok(b) = base64::engine::general_purpose::STANDARD.decode(&compact)
    {
        return b;
    }
    raw
}
