//! Fuzz target: the manifest reader (plain and zstd), header and every entry, order, duplicate
//! and trailer checks. The input is read as is and again after a valid header line.
#![no_main]

use ferret_integrity::manifest::ManifestReader;
use libfuzzer_sys::fuzz_target;

const HEADER: &str = r#"{"format":"ferret-manifest","schema_version":1,"tool":"t","created":"c","root":"/","host":"h","hash":"sha256","id":"i"}"#;

fn drain(bytes: &[u8]) {
    if let Ok(r) = ManifestReader::new(bytes) {
        let _ = r.header();
        for entry in r {
            match entry {
                Ok(e) => {
                    let _ = e.display_path();
                }
                Err(_) => break,
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    drain(data);
    let mut with_header = format!("{HEADER}\n").into_bytes();
    with_header.extend_from_slice(data);
    drain(&with_header);
});
