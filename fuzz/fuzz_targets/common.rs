//! Shared pieces of the log fuzz targets: bounded read options and an event visitor.

use std::ops::ControlFlow;
use std::path::Path;

use ferret_core::Collector;
use ferret_logs::{Event, LogFormat, ReadOptions};

/// Reads `data` as `format` (`None`: sniffed) under small caps, touching every field of every
/// event, and checks the coverage is consistent with the input size.
pub fn read_log(name: &str, data: &[u8], format: Option<LogFormat>) {
    let opts = ReadOptions {
        max_line: 4096,
        max_decompressed: 1 << 20,
        max_in_memory: 1 << 20,
        syslog_year: Some(2024),
        format,
    };
    let sink = Collector::new();
    let mut n = 0usize;
    let cov = ferret_logs::read_bytes(Path::new(name), data, &opts, &sink, &mut |e: &Event| {
        let _ = e.iter().count();
        n += 1;
        ControlFlow::Continue(())
    });
    assert_eq!(cov.events, n as u64);
}
