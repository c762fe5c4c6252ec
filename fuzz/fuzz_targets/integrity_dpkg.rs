//! Fuzz target: the parsers of the examined host's dpkg data (status, md5sums, file lists,
//! diversions, dpkg path-exclude configuration).
#![no_main]

use ferret_integrity::dpkg::{
    PathFilters, parse_diversions, parse_list, parse_md5sums, parse_status,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_status(data);
    let _ = parse_md5sums(data);
    let _ = parse_list(data);
    let _ = parse_diversions(data);
    let mut filters = PathFilters::default();
    filters.add_config(data);
    let _ = filters.excluded(b"/usr/share/doc/x/README");
    let _ = filters.excluded(data);
});
