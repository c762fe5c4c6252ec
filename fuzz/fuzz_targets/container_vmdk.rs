//! Fuzz target: VMDK: sparse extents (grain directory and tables, stream-optimised deflate
//! grains) and, when the first byte is odd, text descriptors. The input follows the format's
//! magic, so every run reaches the parser; the virtual disk is then read at its start, middle
//! and end.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut image = b"KDMV".to_vec();
    image.extend_from_slice(data);
    ferret_evidence::container::fuzz(&image);
    if data.first().is_some_and(|b| b % 2 == 1) {
        let mut text = b"# Disk DescriptorFile\n".to_vec();
        text.extend_from_slice(data);
        ferret_evidence::container::fuzz(&text);
    }
});
