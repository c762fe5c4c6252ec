//! Fuzz target: the syslog reader (RFC 3164, RFC 5424, ISO-timestamped lines).
#![no_main]

#[path = "common.rs"]
mod common;

use ferret_logs::LogFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::read_log("fuzz.log", data, Some(LogFormat::Syslog));
});
