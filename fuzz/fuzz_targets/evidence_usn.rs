//! Fuzz target: change journal (`$UsnJrnl:$J`) data: the sniff, and every record read from
//! the bytes (V2 and V3 layouts, zeros skipped, damaged pages skipped), checking the count.
#![no_main]

use ferret_evidence::ntfs::usn;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = usn::looks_like_journal(data);
    let mut n = 0u64;
    let st = usn::read_journal(&mut &data[..], 0, &|| false, &mut |r| {
        n += 1;
        let _ = usn::reason_names(r.reason);
    });
    assert_eq!(st.records, n);
    assert_eq!(st.bytes, data.len() as u64);
});
