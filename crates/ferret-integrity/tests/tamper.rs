//! A manifest that was edited, cut, reordered, re-signed by another key or paired with
//! another manifest's signature is refused.

mod common;

use common::{key, manifest_of, put, run_verify, sign_manifest};
use ferret_integrity::verify::{Trust, VerifyError};
use ferret_integrity::{HashAlgorithm, Policy};

fn fixture() -> (tempfile::TempDir, Vec<u8>) {
    let d = tempfile::tempdir().unwrap();
    put(d.path(), "usr/bin/a", b"aaa");
    put(d.path(), "usr/bin/b", b"bbb");
    put(d.path(), "etc/c", b"ccc");
    let bytes = manifest_of(d.path(), &Policy::empty(), HashAlgorithm::Sha256, false);
    (d, bytes)
}

fn lines(b: &[u8]) -> Vec<String> {
    String::from_utf8(b.to_vec()).unwrap().lines().map(str::to_owned).collect()
}

fn join(l: &[String]) -> Vec<u8> {
    let mut s = l.join("\n");
    s.push('\n');
    s.into_bytes()
}

fn refused(root: &std::path::Path, bytes: &[u8], trust: &Trust) -> VerifyError {
    match run_verify(root, bytes, trust, &Policy::empty()) {
        Ok((f, _, _)) => panic!("accepted a tampered manifest ({} findings)", f.len()),
        Err(e) => e,
    }
}

#[test]
fn signed_manifest_tampering_is_refused() {
    let (d, bytes) = fixture();
    let kp = key();
    let sig = sign_manifest(&kp, &bytes);
    let trust =
        |sig: &str| Trust::Signed { public_key: kp.public.clone(), signature: sig.to_owned() };
    assert!(run_verify(d.path(), &bytes, &trust(&sig), &Policy::empty()).is_ok());

    let l = lines(&bytes);
    let entry = l.iter().position(|x| x.contains("usr/bin/a")).unwrap();
    // Edited entry: the recorded digest replaced by the current file's.
    let mut edited = l.clone();
    edited[entry] = edited[entry].replace("\"m\":\"0644\"", "\"m\":\"0755\"");
    assert_ne!(edited, l);
    // Dropped entry, with the trailer count fixed up.
    let mut dropped = l.clone();
    dropped.remove(entry);
    let last = dropped.len() - 1;
    dropped[last] = dropped[last].replace(&format!("{}", l.len() - 2), &format!("{}", l.len() - 3));
    // Reordered.
    let mut reordered = l.clone();
    reordered.swap(entry, entry + 1);
    // Truncated.
    let truncated = join(&l[..l.len() - 1]);
    for bad in [join(&edited), join(&dropped), join(&reordered), truncated] {
        let e = refused(d.path(), &bad, &trust(&sig));
        assert!(matches!(e, VerifyError::Signature(_)), "{e:?}");
    }

    // Signed by another key: refused against the operator's key.
    let other = key();
    let forged = sign_manifest(&other, &join(&edited));
    let e = refused(d.path(), &join(&edited), &trust(&forged));
    assert!(e.to_string().contains("signature"), "{e}");

    // Another (genuinely signed) manifest's signature swapped in.
    put(d.path(), "etc/d", b"ddd");
    let newer = manifest_of(d.path(), &Policy::empty(), HashAlgorithm::Sha256, false);
    let newer_sig = sign_manifest(&kp, &newer);
    assert!(matches!(refused(d.path(), &bytes, &trust(&newer_sig)), VerifyError::Signature(_)));
    // Garbage signature.
    assert!(matches!(refused(d.path(), &bytes, &trust("garbage")), VerifyError::Signature(_)));
}

#[test]
fn good_signature_with_wrong_comment_is_refused() {
    let (d, bytes) = fixture();
    let kp = key();
    let (sig, _) = ferret_integrity::sign::sign(
        &kp.secret,
        &bytes[..],
        "ferret-manifest id=other created=x entries=1",
    )
    .unwrap();
    let trust = Trust::Signed { public_key: kp.public.clone(), signature: sig };
    assert!(matches!(refused(d.path(), &bytes, &trust), VerifyError::Mismatch { .. }));
}

#[test]
fn unsigned_manifest_damage_is_still_refused() {
    let (d, bytes) = fixture();
    let l = lines(&bytes);
    let mut reordered = l.clone();
    reordered.swap(2, 3);
    for bad in [join(&reordered), join(&l[..l.len() - 1]), bytes[..bytes.len() - 5].to_vec()] {
        assert!(matches!(refused(d.path(), &bad, &Trust::Unsigned), VerifyError::Manifest(_)));
    }
}
