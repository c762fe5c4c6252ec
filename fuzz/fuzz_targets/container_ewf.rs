//! Fuzz target: E01/EWF: segment header, section chain, volume, chunk tables, zlib and Adler-32
//! chunks. The input follows the format's magic, so every run reaches the parser; the virtual
//! disk is then read at its start, middle and end.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut image = b"EVF\\x09\\x0d\\x0a\\xff\\x00\\x01\\x01\\x00\\x00\\x00".to_vec();
    image.extend_from_slice(data);
    ferret_evidence::container::fuzz(&image);
});
