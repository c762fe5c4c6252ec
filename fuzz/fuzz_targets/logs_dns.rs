//! Fuzz target: the DNS log readers (Windows DNS debug log, BIND query log); the first byte picks the format.
#![no_main]

#[path = "common.rs"]
mod common;

use ferret_logs::LogFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let format = if pick & 1 == 0 { LogFormat::DnsWindows } else { LogFormat::DnsBind };
    common::read_log("fuzz.log", rest, Some(format));
});
