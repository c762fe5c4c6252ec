//! Fuzz target: minisign public key and signature parsing and checking. The input is split at
//! NUL bytes into public key text, signature text and the signed bytes.
#![no_main]

use ferret_integrity::sign;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == 0);
    let public = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let signature = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let signed = parts.next().unwrap_or_default();
    let _ = sign::public_key_id(&public);
    if let Ok(a) = sign::authenticate(&public, &signature, std::io::Cursor::new(signed)) {
        let _ = a.comment_field("id");
        let _ = a.comment_field("created");
    }
});
