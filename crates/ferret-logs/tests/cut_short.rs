//! Logs cut short are problems that make the run incomplete, and times read without a zone are
//! said to be read as UTC: an EVTX file shorter than its header announces (synthetic, and a
//! corpus file cut at test time), a gzip stream cut mid-way, RFC 3164 syslog.
#![allow(clippy::disallowed_methods, reason = "tests write their own temporary fixtures")]

use std::io::Write as _;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use ferret_core::{Collector, Problem, ProblemKind};
use ferret_logs::{ReadOptions, SourceCoverage, read};

fn read_all(path: &Path) -> (SourceCoverage, u64, Vec<Problem>) {
    let sink = Collector::new();
    let mut n = 0u64;
    let opts = ReadOptions { syslog_year: Some(2021), ..ReadOptions::default() };
    let cov = read(path, &opts, &sink, &mut |_| {
        n += 1;
        ControlFlow::Continue(())
    });
    let (_, problems, _, _) = sink.into_parts();
    (cov, n, problems)
}

/// An EVTX file header (the 128 bytes that matter, padded to the 4 KiB header block)
/// announcing `chunks` chunks.
fn evtx_header(chunks: u16) -> Vec<u8> {
    let mut h = vec![0u8; 4096];
    h[..8].copy_from_slice(b"ElfFile\0");
    h[16..24].copy_from_slice(&u64::from(chunks.saturating_sub(1)).to_le_bytes());
    h[24..32].copy_from_slice(&1u64.to_le_bytes());
    h[32..36].copy_from_slice(&128u32.to_le_bytes());
    h[36..38].copy_from_slice(&1u16.to_le_bytes());
    h[38..40].copy_from_slice(&3u16.to_le_bytes());
    h[40..42].copy_from_slice(&4096u16.to_le_bytes());
    h[42..44].copy_from_slice(&chunks.to_le_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&h[..120]);
    h[124..128].copy_from_slice(&crc.sum().to_le_bytes());
    h
}

#[test]
fn evtx_shorter_than_its_header_is_a_read_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("Security.evtx");
    std::fs::write(&p, evtx_header(3)).unwrap();
    let (cov, _, problems) = read_all(&p);
    assert!(cov.truncated, "{cov:?}");
    let cut: Vec<_> = problems.iter().filter(|p| p.reason.contains("cut short")).collect();
    assert_eq!(cut.len(), 1, "{problems:?}");
    assert_eq!(cut[0].kind, ProblemKind::ReadError);
    assert!(cut[0].kind.makes_incomplete());
    assert_eq!(cut[0].path.as_ref().map(|x| x.lossy().into_owned()), Some(p.display().to_string()));
    // A header announcing no chunk, on a file of just the header: complete.
    std::fs::write(&p, evtx_header(0)).unwrap();
    let (cov, _, problems) = read_all(&p);
    assert!(!cov.truncated, "{cov:?} {problems:?}");
}

fn evtx_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            evtx_files(&p, out);
        } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("evtx")) {
            out.push(p);
        }
    }
}

#[test]
fn corpus_evtx_cut_at_test_time_is_incomplete() {
    let mut all = Vec::new();
    evtx_files(&ferret_testkit::corpus(), &mut all);
    all.sort();
    // A file of several chunks that reads whole, with events past its first chunk.
    let found = all.iter().find_map(|p| {
        let len = std::fs::metadata(p).ok()?.len();
        if len < 4096 + 3 * 65536 {
            return None;
        }
        let (cov, n, problems) = read_all(p);
        (n > 0 && !cov.truncated && problems.is_empty()).then(|| (p.clone(), n))
    });
    let Some((src, whole)) = found else {
        assert!(
            std::env::var_os("FERRET_STRICT_TESTS").is_none(),
            "the corpus EVTX files are needed under {}",
            ferret_testkit::corpus().display()
        );
        eprintln!(
            "SKIPPED: no corpus EVTX file of three chunks under {}",
            ferret_testkit::corpus().display()
        );
        return;
    };
    let bytes = std::fs::read(&src).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cut.evtx");
    std::fs::write(&p, &bytes[..4096 + 65536 + 20_000]).unwrap();
    let (cov, n, problems) = read_all(&p);
    assert!(cov.truncated, "{cov:?}");
    assert!(n < whole, "{n} of {whole} events");
    assert!(
        problems.iter().any(|x| x.kind == ProblemKind::ReadError && x.reason.contains("cut short")),
        "{problems:?}"
    );
}

#[test]
fn gzip_cut_mid_stream_is_a_read_error() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for i in 0..2000 {
        writeln!(gz, "<34>Oct 11 22:14:{:02} host su[{i}]: line {i} of a long log", i % 60)
            .unwrap();
    }
    let bytes = gz.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("messages.1.gz");
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    let (cov, n, problems) = read_all(&p);
    assert!(cov.truncated, "{cov:?}");
    assert!(n < 2000);
    assert!(problems.iter().any(|x| x.kind == ProblemKind::ReadError), "{problems:?}");
}

#[test]
fn syslog_without_a_zone_says_utc_was_assumed() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("messages");
    std::fs::write(&p, "<34>Oct 11 22:14:15 mymachine su[12]: 'su root' failed\n").unwrap();
    let (cov, n, _) = read_all(&p);
    assert_eq!(n, 1);
    assert_eq!(cov.assumed_timezone, Some("UTC"));
    let json = serde_json::to_value(&cov).unwrap();
    assert_eq!(json["assumed_timezone"], "UTC");
    // Zoned times: nothing assumed.
    std::fs::write(
        &p,
        "<165>1 2003-10-11T22:14:15.003Z host.example.com evntslog - ID47 - An event\n2024-01-02T03:04:05.123+00:00 web sshd[99]: Accepted password\n",
    )
    .unwrap();
    let (cov, n, _) = read_all(&p);
    assert_eq!(n, 2);
    assert_eq!(cov.assumed_timezone, None);
    assert!(serde_json::to_value(&cov).unwrap().get("assumed_timezone").is_none());
    // ISO without an offset: assumed.
    std::fs::write(&p, "2024-01-02T03:04:05 web sshd[99]: Accepted password\n").unwrap();
    let (cov, _, _) = read_all(&p);
    assert_eq!(cov.assumed_timezone, Some("UTC"));
}
