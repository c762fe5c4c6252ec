//! Fuzz target: the header-driven field readers (W3C/IIS, Exchange CSV, Zeek and Zeek dns.log); the first byte picks the format.
#![no_main]

#[path = "common.rs"]
mod common;

use ferret_logs::LogFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let format = match pick % 4 {
        0 => LogFormat::W3c,
        1 => LogFormat::ExchangeCsv,
        2 => LogFormat::ZeekDns,
        _ => LogFormat::Zeek,
    };
    common::read_log("fuzz.log", rest, Some(format));
});
