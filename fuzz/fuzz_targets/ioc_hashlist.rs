//! Fuzz target: plain hash lists and ClamAV `.hdb`/`.hsb` signatures, plus IOC format sniffing; the first byte picks the format.
#![no_main]

#[path = "ioc_common.rs"]
mod ioc_common;

use ferret_ioc::IocFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let format = match pick % 3 {
        0 => IocFormat::HashList,
        1 => IocFormat::ClamAvHdb,
        _ => IocFormat::ClamAvHsb,
    };
    ioc_common::load_and_match(format, rest);
});
