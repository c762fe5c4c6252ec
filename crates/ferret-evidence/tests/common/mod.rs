//! Reading a whole source back, shared by the image and ext4 tests.

use std::collections::BTreeMap;
use std::io::Read;

use ferret_core::{Cancel, Sink};
use ferret_evidence::{Entry, EntryKind, Source};

/// Every entry of `src` by path, each readable file's content read through the source.
pub fn entries_read(src: &dyn Source, sink: &dyn Sink) -> BTreeMap<String, (Entry, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut entries = Vec::new();
    src.entries(sink, &Cancel::default(), &mut |e| entries.push(e));
    for e in entries {
        let mut data = Vec::new();
        if e.kind == EntryKind::File && e.unreadable.is_none() {
            src.open(&e).unwrap().read_to_end(&mut data).unwrap();
        }
        out.insert(e.path.lossy().into_owned(), (e, data));
    }
    out
}

/// Lists and reads everything, tolerating read errors (a damaged image); how many files
/// were read.
pub fn read_all_lenient(src: &dyn Source, sink: &dyn Sink) -> usize {
    let mut entries = Vec::new();
    src.entries(sink, &Cancel::default(), &mut |e| entries.push(e));
    let mut read = 0;
    for e in entries.iter().filter(|e| e.kind == EntryKind::File && e.unreadable.is_none()) {
        if let Ok(mut r) = src.open(e) {
            let mut data = Vec::new();
            if r.by_ref().take(1 << 20).read_to_end(&mut data).is_ok() {
                read += 1;
            }
        }
    }
    read
}
