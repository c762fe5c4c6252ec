//! Fuzz target: `$MFT` files: the sniff and record size, every record parsed (fixups,
//! attributes, `$STANDARD_INFORMATION`, `$FILE_NAME`), and paths built from the names.
#![no_main]

use ferret_evidence::ntfs::mft::{self, NameTable};
use ferret_evidence::ntfs::usn::FileRef;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = mft::looks_like_mft(data);
    let size = mft::record_size(data).unwrap_or(1024);
    let mut table = NameTable::new(Some('C'));
    let mut numbers = Vec::new();
    let _ = mft::read_mft(&mut &data[..], size, &|| false, &mut |r| {
        numbers.push(r.file_ref());
        table.add_record(&r);
    });
    for r in numbers {
        let _ = table.path_of(r);
        let _ = table.child_path(FileRef { record: r.record, seq: 0 }, "x");
    }
});
