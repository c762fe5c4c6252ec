//! Fuzz target: OpenIOC 1.1 XML documents.
#![no_main]

#[path = "ioc_common.rs"]
mod ioc_common;

use ferret_ioc::IocFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ioc_common::load_and_match(IocFormat::OpenIoc, data);
});
