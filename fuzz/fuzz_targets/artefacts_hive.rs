//! Fuzz target: registry hives (`regf`), their transaction logs and the artefacts read from
//! them; the first byte picks what the rest is: a hive alone, a hive and a `.LOG1` (split at
//! the second byte's share of the input), or an AppCompatCache value.
#![no_main]

use std::path::{Path, PathBuf};

use ferret_artefacts::examine::{Counts, match_hive};
use ferret_artefacts::{Hive, amcache, shimcache};
use ferret_core::Collector;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    match pick % 3 {
        0 => read(rest, &[]),
        1 => {
            let Some((&cut, rest)) = rest.split_first() else { return };
            let at = rest.len() * usize::from(cut) / 256;
            let (hive, log) = rest.split_at(at);
            read(hive, &[(PathBuf::from("x.LOG1"), log.to_vec())]);
        }
        _ => {
            let _ = shimcache::parse(rest);
        }
    }
});

fn read(hive: &[u8], logs: &[(PathBuf, Vec<u8>)]) {
    let Ok(h) = Hive::parse(Path::new("x"), hive, logs) else { return };
    let _ = amcache::entries(&h);
    let _ = shimcache::entries(&h);
    let sink = Collector::new();
    match_hive(&h, &ferret_ioc::IocSet::new(), &sink, &mut Counts::default());
    if let Ok(root) = h.root() {
        for k in root.subkeys() {
            for v in k.values() {
                let _ = (v.as_string(), v.as_u64(), v.as_strings());
            }
        }
    }
}
