//! `upload::decode`, the collector's decoding of an uploaded body (also a fuzz target): plain
//! and gzip bodies round-trip, and every way a body can be wrong is refused with its reason.

use std::io::Write as _;

use ferret_report::upload::{GZIP_EXPANSION, UploadError, decode};
use ferret_testkit::report::{jsonl, report};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn plain_and_gzip_bodies_decode() {
    let body = jsonl(&report("run-1", vec![]));
    for enc in [None, Some(""), Some("identity"), Some(" IDENTITY ")] {
        assert_eq!(decode(enc, &body, 1 << 20).unwrap().run_id, "run-1");
    }
    assert_eq!(decode(Some("gzip"), &gzip(&body), 1 << 20).unwrap().run_id, "run-1");
}

#[test]
fn bad_bodies_are_refused_with_their_reason() {
    let body = jsonl(&report("run-1", vec![]));
    assert!(
        matches!(decode(Some("br"), &body, 1 << 20), Err(UploadError::Encoding(e)) if e == "br")
    );
    assert!(matches!(decode(Some("gzip"), &body, 1 << 20), Err(UploadError::Gzip(_))));
    assert!(matches!(decode(None, b"\xff\xfe", 1 << 20), Err(UploadError::NotUtf8)));
    assert!(matches!(decode(None, b"{}", 1 << 20), Err(UploadError::Malformed(_))));
    assert!(matches!(decode(None, &jsonl(&report("", vec![])), 1 << 20), Err(UploadError::RunId)));
    let long = "r".repeat(129);
    assert!(matches!(
        decode(None, &jsonl(&report(&long, vec![])), 1 << 20),
        Err(UploadError::RunId)
    ));
    let msg = decode(None, &jsonl(&report("", vec![])), 1 << 20).unwrap_err().to_string();
    assert_eq!(msg, "malformed report: run_id must be 1 to 128 bytes");
}

#[test]
fn gzip_bomb_is_refused_at_the_expansion_cap() {
    let limit = 1000;
    let bomb = gzip(&vec![b' '; limit * GZIP_EXPANSION + 1]);
    assert!(bomb.len() < limit);
    match decode(Some("gzip"), &bomb, limit) {
        Err(UploadError::TooLarge { limit: cap }) => assert_eq!(cap, limit * GZIP_EXPANSION),
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

/// The inputs kept for the `report_upload` fuzz target (`fuzz/seeds/report_upload/`) go
/// through the target's path under `cargo test`; the plain seed decodes to a report.
#[test]
fn fuzz_kept_inputs_decode_without_panic() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/report_upload");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no input kept in {}", dir.display());
    let mut decoded = 0;
    for f in files {
        let data = std::fs::read(&f).unwrap();
        let Some((&pick, body)) = data.split_first() else { continue };
        let encoding = if pick & 1 == 1 { "gzip" } else { "identity" };
        decoded += usize::from(decode(Some(encoding), body, 1 << 20).is_ok());
    }
    assert!(decoded >= 1, "no kept input decodes to a report");
}
