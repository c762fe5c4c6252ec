//! Fuzz target: collections read in place. The input is an archive (zip, tar, tar.gz,
//! recognised by content): its members are listed, their names decoded (Velociraptor's
//! percent-encoded uploads, KAPE's drive folders) and every member read, with seeks, as the
//! scan and EVTX reader do. The same bytes are also decoded as one member name.
#![no_main]

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use ferret_core::{Cancel, Collector};
use ferret_evidence::collection::{self, Layout};
use ferret_evidence::{EntryKind, Limits, Source};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let name = String::from_utf8_lossy(data);
    let _ = collection::velociraptor_path(&name);
    let _ = collection::map_member(Layout::Kape, &name);
    let _ = collection::name_issue(data);
    let _ = collection::detect_layout(name.split('\n'));

    // Small limits keep a bomb from slowing the fuzzer; the checks are the same.
    let limits = Limits { max_members: 10_000, max_total: 64 << 20, max_ratio: 1_000 };
    let Ok(c) = collection::open_data(Path::new("fuzz.zip"), Arc::new(data.to_vec()), limits)
    else {
        return;
    };
    let sink = Collector::default();
    let mut files = Vec::new();
    c.entries(&sink, &Cancel::default(), &mut |e| {
        if e.kind == EntryKind::File && files.len() < 64 {
            files.push(e);
        }
    });
    for e in files {
        if let Ok(mut r) = c.open(&e) {
            let mut buf = Vec::new();
            let _ = r.by_ref().take(1 << 20).read_to_end(&mut buf);
            let _ = r.seek(SeekFrom::Start(1));
            let _ = r.read(&mut [0u8; 16]);
        }
    }
});
