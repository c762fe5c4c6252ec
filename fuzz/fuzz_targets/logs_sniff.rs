//! Fuzz target: format sniffing and reading whatever was sniffed, gzip-compressed input included.
#![no_main]

#[path = "common.rs"]
mod common;

use ferret_logs::LogFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ferret_logs::sniff(std::path::Path::new("fuzz.log"), data);
    common::read_log("fuzz.log", data, None);
    let _ = LogFormat::parse(std::str::from_utf8(data).unwrap_or(""));
});
