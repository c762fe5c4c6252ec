//! Helpers shared by the integration tests: build trees, baseline, sign, verify.

#![allow(dead_code, reason = "each test file uses a subset")]

use std::io::Cursor;
use std::path::Path;

use ferret_core::{Collector, Finding, Problem, Summary};
use ferret_integrity::baseline::{BaselineOptions, baseline};
use ferret_integrity::sign::{KeyPair, keygen, sign, trusted_comment};
use ferret_integrity::verify::{Trust, VerifyError, VerifyOptions, verify};
use ferret_integrity::{HashAlgorithm, Policy};

/// Writes a fixture file, creating parents.
#[expect(clippy::disallowed_methods, reason = "test fixtures")]
pub fn put(root: &Path, rel: &str, data: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, data).unwrap();
}

/// A manifest of `root` in memory.
pub fn manifest_of(root: &Path, policy: &Policy, hash: HashAlgorithm, zstd: bool) -> Vec<u8> {
    let sink = Collector::new();
    let opts = BaselineOptions { hash, zstd, host: "test".into(), ..Default::default() };
    let (bytes, outcome) = baseline(root, policy, &opts, Vec::new(), &sink).unwrap();
    let (_, problems, _, _) = sink.into_parts();
    assert!(problems.is_empty(), "baseline problems: {problems:?}");
    assert!(outcome.entries > 0);
    bytes
}

/// Signs manifest bytes with the ferret trusted comment.
pub fn sign_manifest(kp: &KeyPair, bytes: &[u8]) -> String {
    let r = ferret_integrity::manifest::ManifestReader::new(bytes).unwrap();
    let h = r.header().clone();
    let n = r.count() as u64;
    sign(&kp.secret, bytes, &trusted_comment(&h.id, &h.created, n)).unwrap().0
}

/// A fresh key pair.
pub fn key() -> KeyPair {
    keygen().unwrap()
}

/// Verifies `root` against manifest bytes.
pub fn run_verify(
    root: &Path,
    bytes: &[u8],
    trust: &Trust,
    policy: &Policy,
) -> Result<(Vec<Finding>, Vec<Problem>, Summary), VerifyError> {
    let sink = Collector::new();
    let out = verify(root, Cursor::new(bytes), trust, policy, &VerifyOptions::default(), &sink)?;
    let (findings, problems, _, _) = sink.into_parts();
    Ok((findings, problems, out.summary))
}
