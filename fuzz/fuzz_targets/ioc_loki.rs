//! Fuzz target: signature-base/Loki hash and file-name IOC files (file-name regexes compiled and matched); the first byte picks the format.
#![no_main]

#[path = "ioc_common.rs"]
mod ioc_common;

use ferret_ioc::IocFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let format = if pick & 1 == 0 { IocFormat::LokiHash } else { IocFormat::LokiFilename };
    ioc_common::load_and_match(format, rest);
});
