//! Fuzz target: ext2/3/4 volumes (superblock, group descriptors, inodes, extent trees, block
//! pointers, directory blocks, inline data). The input is laid after the 1 KiB boot area with
//! the superblock magic set, so every run reaches the parser; the volume is then listed and
//! the start of each file read.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut volume = vec![0u8; 1024];
    volume.extend_from_slice(data);
    if let Some(magic) = volume.get_mut(1080..1082) {
        magic.copy_from_slice(&0xEF53u16.to_le_bytes());
    }
    ferret_evidence::ext4::fuzz(&volume);
});
