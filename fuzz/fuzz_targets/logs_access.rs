//! Fuzz target: the Apache/nginx access log reader.
#![no_main]

#[path = "common.rs"]
mod common;

use ferret_logs::LogFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::read_log("fuzz.log", data, Some(LogFormat::Access));
});
