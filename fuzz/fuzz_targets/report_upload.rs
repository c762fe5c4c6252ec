//! Fuzz target: the collector's upload decoding: the body (gzip when the first byte is odd,
//! as with `Content-Encoding: gzip`) decoded under the size cap, checked as UTF-8 and parsed
//! as a JSONL report.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let encoding = if pick & 1 == 1 { "gzip" } else { "identity" };
    let _ = ferret_report::upload::decode(Some(encoding), body, 1 << 20);
});
