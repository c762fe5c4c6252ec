//! The inputs kept for the log fuzz targets (`fuzz/seeds/<target>/`: the seeds, and every
//! input a fuzz run found) are read again through each target's path under `cargo test`; a
//! log target without kept inputs fails the test. Reading from memory
//! ([`ferret_logs::read_bytes`]) must give what reading the same bytes from a file gives.
#![allow(clippy::disallowed_methods, reason = "tests write their own temporary fixtures")]

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use ferret_core::Collector;
use ferret_logs::{LogFormat, ReadOptions, SourceCoverage, read, read_bytes};

/// The options the fuzz targets read with.
fn fuzz_opts(format: Option<LogFormat>) -> ReadOptions {
    ReadOptions {
        max_line: 4096,
        max_decompressed: 1 << 20,
        max_in_memory: 1 << 20,
        syslog_year: Some(2024),
        format,
    }
}

fn from_memory(name: &str, bytes: &[u8], opts: &ReadOptions) -> (SourceCoverage, Vec<String>) {
    let sink = Collector::new();
    let mut ids = Vec::new();
    let cov = read_bytes(Path::new(name), bytes, opts, &sink, &mut |e| {
        ids.push(format!("{:?} {:?} {}", e.record_id, e.time, e.iter().count()));
        ControlFlow::Continue(())
    });
    (cov, ids)
}

/// The format a fuzz target reads its input as (the first byte picks it for some targets),
/// and the input without that byte.
fn target_format(target: &str, data: &[u8]) -> (Option<LogFormat>, Vec<u8>) {
    let (pick, rest) = data.split_first().map_or((0, &[][..]), |(p, r)| (*p, r));
    let picked = |f: LogFormat| (Some(f), rest.to_vec());
    match target {
        "evtx" => (Some(LogFormat::Evtx), data.to_vec()),
        "logs_syslog" => (Some(LogFormat::Syslog), data.to_vec()),
        "logs_access" => (Some(LogFormat::Access), data.to_vec()),
        "logs_json" if pick & 1 == 0 => picked(LogFormat::Json),
        "logs_json" => picked(LogFormat::EvtxJson),
        "logs_dns" if pick & 1 == 0 => picked(LogFormat::DnsWindows),
        "logs_dns" => picked(LogFormat::DnsBind),
        "logs_w3c" => picked(match pick % 4 {
            0 => LogFormat::W3c,
            1 => LogFormat::ExchangeCsv,
            2 => LogFormat::ZeekDns,
            _ => LogFormat::Zeek,
        }),
        _ => (None, data.to_vec()),
    }
}

/// The fuzz targets of this crate, as `fuzz/Cargo.toml` declares them (`evtx`, `logs_*`).
fn log_targets(fuzz: &Path) -> Vec<String> {
    let manifest = std::fs::read_to_string(fuzz.join("Cargo.toml")).expect("fuzz/Cargo.toml");
    let targets: Vec<String> = manifest
        .lines()
        .filter_map(|l| l.trim().strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|n| *n == "evtx" || n.starts_with("logs_"))
        .map(str::to_owned)
        .collect();
    assert!(targets.len() >= 7, "the log fuzz targets of fuzz/Cargo.toml: {targets:?}");
    targets
}

#[test]
fn fuzz_kept_inputs_read_without_panic() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for target in log_targets(&fuzz) {
        let dir = fuzz.join("seeds").join(&target);
        let kept: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|f| f.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        assert!(
            !kept.is_empty(),
            "no input kept for the fuzz target {target} in {}",
            dir.display()
        );
        files.extend(kept.into_iter().map(|f| (target.clone(), f)));
    }
    files.sort();
    for (target, file) in files {
        let data = std::fs::read(&file).unwrap();
        let (format, input) = target_format(&target, &data);
        let name = if target == "evtx" { "fuzz.evtx" } else { "fuzz.log" };
        if target == "logs_sniff" {
            let _ = ferret_logs::sniff(Path::new(name), &input);
        }
        let (cov, ids) = from_memory(name, &input, &fuzz_opts(format));
        assert_eq!(cov.events, ids.len() as u64, "{}", file.display());
    }
}

#[test]
fn memory_and_file_reads_agree() {
    let dir = tempfile::tempdir().unwrap();
    let logs = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/logs");
    let mut names: Vec<PathBuf> =
        std::fs::read_dir(&logs).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    assert!(!names.is_empty());
    for src in names {
        let bytes = std::fs::read(&src).unwrap();
        // Plain, and gzip-compressed.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &bytes).unwrap();
        let gz = gz.finish().unwrap();
        for (suffix, content) in [("", bytes.as_slice()), (".gz", gz.as_slice())] {
            let name = format!("{}{suffix}", src.file_name().unwrap().to_string_lossy());
            let path = dir.path().join(&name);
            std::fs::write(&path, content).unwrap();
            let opts = fuzz_opts(None);
            let sink = Collector::new();
            let mut ids = Vec::new();
            let cov_file = read(&path, &opts, &sink, &mut |e| {
                ids.push(format!("{:?} {:?} {}", e.record_id, e.time, e.iter().count()));
                ControlFlow::Continue(())
            });
            let (cov_mem, ids_mem) = from_memory(&name, content, &opts);
            assert_eq!(cov_file, cov_mem, "{name}");
            assert_eq!(ids, ids_mem, "{name}");
            assert!(cov_mem.events > 0, "{name}");
        }
    }
}

#[test]
fn evtx_from_memory_reports_damage_instead_of_failing() {
    let mut bytes = b"ElfFile\0".to_vec();
    bytes.resize(5000, 0xAB);
    let (cov, ids) = from_memory("x.evtx", &bytes, &fuzz_opts(None));
    assert_eq!(cov.format, Some(LogFormat::Evtx));
    assert!(ids.is_empty());
    assert!(cov.parse_errors >= 1);
}
