//! Signing and authenticating manifests with minisign (Ed25519).
//!
//! Keys and signatures are in minisign's formats, so `minisign -Vm MANIFEST -p KEY.pub`
//! checks a ferret manifest too. The secret key is stored unencrypted (like `minisign -W`):
//! keep it off the hosts you examine.
//!
//! The signature is detached (`MANIFEST.minisig`), prehashed (BLAKE2b-512), and its
//! *trusted comment* — covered by the signature — reads
//! `ferret-manifest id=<manifest id> created=<RFC 3339> entries=<N>`, so the id and time a
//! verifier reports are authenticated even before the manifest is parsed.

use std::io::{self, Read};

use sha2::Digest as _;

/// Errors creating or checking signatures.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// A key or signature file does not parse.
    #[error("invalid {what}: {reason}")]
    Format {
        /// `public key`, `secret key` or `signature`.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The signature does not match the manifest or the key.
    #[error("bad signature: {0}")]
    Bad(String),
    /// Signing failed.
    #[error("cannot sign: {0}")]
    Sign(String),
    /// The manifest could not be read.
    #[error("cannot read the manifest")]
    Io(#[from] io::Error),
}

/// A new key pair as the texts of a minisign secret and public key file.
#[derive(Debug, Clone)]
pub struct KeyPair {
    /// The secret key file's text (unencrypted).
    pub secret: String,
    /// The public key file's text.
    pub public: String,
    /// The key id, 16 uppercase hex digits as minisign shows it.
    pub key_id: String,
}

fn key_id(keynum: &[u8]) -> String {
    let mut b = [0u8; 8];
    for (d, s) in b.iter_mut().zip(keynum) {
        *d = *s;
    }
    format!("{:016X}", u64::from_le_bytes(b))
}

/// Generates an Ed25519 key pair.
pub fn keygen() -> Result<KeyPair, SignError> {
    let kp = minisign::KeyPair::generate_unencrypted_keypair()
        .map_err(|e| SignError::Sign(e.to_string()))?;
    let id = key_id(kp.pk.keynum());
    let public = kp.pk.to_box().map_err(|e| SignError::Sign(e.to_string()))?.into_string();
    let secret = kp
        .sk
        .to_box(Some(&format!("ferret secret key {id}")))
        .map_err(|e| SignError::Sign(e.to_string()))?
        .into_string();
    Ok(KeyPair { secret, public, key_id: id })
}

/// The key id of a public key file's text.
pub fn public_key_id(public: &str) -> Result<String, SignError> {
    let pk = parse_public(public)?;
    Ok(key_id(pk.keynum()))
}

fn parse_public(text: &str) -> Result<minisign::PublicKey, SignError> {
    let bad = |e: minisign::PError| SignError::Format { what: "public key", reason: e.to_string() };
    let boxed = minisign::PublicKeyBox::from_string(text).map_err(bad)?;
    boxed.into_public_key().map_err(bad)
}

/// The first word of a manifest signature's trusted comment (its role). Directives use
/// `ferret-directive` ([`ferret_core::directive::ROLE`]); a signature of one role never
/// passes as the other.
pub const MANIFEST_ROLE: &str = "ferret-manifest";

/// The trusted comment ferret puts in a manifest signature.
pub fn trusted_comment(id: &str, created: &str, entries: u64) -> String {
    format!("{MANIFEST_ROLE} id={id} created={created} entries={entries}")
}

/// Signs manifest bytes; returns the `.minisig` file's text and the key id.
pub fn sign(
    secret: &str,
    manifest: impl Read,
    comment: &str,
) -> Result<(String, String), SignError> {
    let bad = |e: minisign::PError| SignError::Format { what: "secret key", reason: e.to_string() };
    let sk = minisign::SecretKeyBox::from_string(secret)
        .map_err(bad)?
        .into_unencrypted_secret_key()
        .map_err(bad)?;
    let id = key_id(sk.keynum());
    let sig = minisign::sign(
        None,
        &sk,
        manifest,
        Some(comment),
        Some(&format!("signature from ferret key {id}")),
    )
    .map_err(|e| SignError::Sign(e.to_string()))?;
    Ok((sig.into_string(), id))
}

/// What a good signature established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticity {
    /// The id of the key that signed.
    pub key_id: String,
    /// The signed trusted comment.
    pub trusted_comment: String,
    /// SHA-256 of the bytes whose signature was checked; the reader compares it with the
    /// bytes it parses, so the file cannot be swapped in between.
    pub content_sha256: [u8; 32],
}

impl Authenticity {
    /// The role: the trusted comment's first word (`ferret-manifest`, `ferret-directive`).
    pub fn role(&self) -> &str {
        self.trusted_comment.split(' ').next().unwrap_or_default()
    }

    /// The value of `key=` in the trusted comment.
    pub fn comment_field(&self, key: &str) -> Option<&str> {
        self.trusted_comment
            .split(' ')
            .find_map(|kv| kv.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
    }
}

/// A reader that hashes what passes through it (SHA-256).
#[derive(Debug)]
pub struct HashingReader<R> {
    inner: R,
    sha: sha2::Sha256,
}

impl<R: Read> HashingReader<R> {
    /// Wraps a reader.
    pub fn new(inner: R) -> Self {
        HashingReader { inner, sha: sha2::Sha256::new() }
    }

    /// The digest of everything read so far.
    pub fn digest(&self) -> [u8; 32] {
        self.sha.clone().finalize().into()
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
}

/// Checks a detached signature over manifest bytes against a public key the operator
/// trusts. `manifest` must be seekable (minisign rewinds on some paths).
pub fn authenticate<R: Read + io::Seek>(
    public: &str,
    signature: &str,
    manifest: R,
) -> Result<Authenticity, SignError> {
    let pk = parse_public(public)?;
    let sig = minisign::SignatureBox::from_string(signature)
        .map_err(|e| SignError::Format { what: "signature", reason: e.to_string() })?;
    let expected = key_id(pk.keynum());
    let signer = key_id(sig.keynum());
    if expected != signer {
        return Err(SignError::Bad(format!(
            "signed by key {signer}, but the trusted public key is {expected}"
        )));
    }
    let mut reader = HashingReader::new(manifest);
    minisign::verify(&pk, &sig, &mut SeekPass(&mut reader), true, false, false)
        .map_err(|e| SignError::Bad(e.to_string().to_lowercase()))?;
    let trusted_comment = sig
        .trusted_comment()
        .map_err(|e| SignError::Format { what: "signature", reason: e.to_string() })?;
    Ok(Authenticity { key_id: expected, trusted_comment, content_sha256: reader.digest() })
}

/// Adapts a hashing reader for minisign's `Read + Seek` bound; seeking is refused (minisign
/// only seeks when asked to echo the data, which ferret never does).
struct SeekPass<'a, R>(&'a mut HashingReader<R>);

impl<R: Read> Read for SeekPass<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R> io::Seek for SeekPass<'_, R> {
    fn seek(&mut self, _: io::SeekFrom) -> io::Result<u64> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "seek not supported"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_authenticate() {
        let kp = keygen().unwrap();
        let data = b"manifest bytes\n";
        let (sig, id) = sign(&kp.secret, &data[..], &trusted_comment("abc", "t", 1)).unwrap();
        assert_eq!(id, kp.key_id);
        assert_eq!(public_key_id(&kp.public).unwrap(), kp.key_id);
        let a = authenticate(&kp.public, &sig, io::Cursor::new(data)).unwrap();
        assert_eq!(a.comment_field("id"), Some("abc"));
        assert_eq!(a.content_sha256, <[u8; 32]>::from(sha2::Sha256::digest(data)));
        // Different data.
        assert!(authenticate(&kp.public, &sig, io::Cursor::new(b"other")).is_err());
        // Another key.
        let other = keygen().unwrap();
        assert!(authenticate(&other.public, &sig, io::Cursor::new(data)).is_err());
        // Garbage.
        assert!(authenticate(&kp.public, "nonsense", io::Cursor::new(data)).is_err());
        assert!(authenticate("nonsense", &sig, io::Cursor::new(data)).is_err());
    }
}
