//! Fuzz target: arbitrary bytes read as EVTX (the `evtx` parser and ferret's record-to-event flattening).
#![no_main]

#[path = "common.rs"]
mod common;

use ferret_logs::LogFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::read_log("fuzz.evtx", data, Some(LogFormat::Evtx));
});
