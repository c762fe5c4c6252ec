//! Fuzz target: the JSON reader (JSON lines, concatenated objects, arrays; generic and evtx-to-JSON exports); the first byte picks the format.
#![no_main]

#[path = "common.rs"]
mod common;

use ferret_logs::LogFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let format = if pick & 1 == 0 { LogFormat::Json } else { LogFormat::EvtxJson };
    common::read_log("fuzz.json", rest, Some(format));
});
