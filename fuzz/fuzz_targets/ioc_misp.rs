//! Fuzz target: MISP event exports (attributes, file objects, warning-list hits) and feed manifests.
#![no_main]

#[path = "ioc_common.rs"]
mod ioc_common;

use ferret_ioc::IocFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ioc_common::load_and_match(IocFormat::Misp, data);
    let _ = ferret_ioc::misp::feed_manifest(data);
});
