//! Fuzz target: VHDX: headers and region tables (CRC-32C), metadata, BAT, sector bitmaps. The
//! input follows the format's magic, so every run reaches the parser; the virtual disk is then
//! read at its start, middle and end.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut image = b"vhdxfile".to_vec();
    image.extend_from_slice(data);
    ferret_evidence::container::fuzz(&image);
});
