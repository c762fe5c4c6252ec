//! Reads the public sample corpus kept beside the repository (skipped when absent): every EVTX
//! file and every evtx-to-JSON export without a panic, counting events and damaged records.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use ferret_core::Collector;
use ferret_logs::{LogFormat, ReadOptions, read};

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            files(&p, ext, out);
        } else if ft.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case(ext)) {
            out.push(p);
        }
    }
}

#[test]
fn corpus_evtx_reads_without_panic() {
    let root = ferret_testkit::corpus();
    let root = root.as_path();
    if !root.is_dir() {
        ferret_testkit::skip(format_args!("the public corpus at {}", root.display()));
        return;
    }
    let mut evtx = Vec::new();
    files(root, "evtx", &mut evtx);
    evtx.sort();
    let sink = Collector::new();
    let (mut events, mut errors, mut with_events) = (0u64, 0u64, 0usize);
    for p in &evtx {
        let cov = read(p, &ReadOptions::default(), &sink, &mut |e| {
            assert!(e.record_id.is_some());
            ControlFlow::Continue(())
        });
        assert_eq!(cov.format, Some(LogFormat::Evtx), "{}", p.display());
        events += cov.events;
        errors += cov.parse_errors;
        with_events += usize::from(cov.events > 0);
    }
    eprintln!(
        "{} evtx files, {with_events} with events: {events} events, {errors} damaged records",
        evtx.len()
    );
    assert!(events > 0);
    assert!(with_events * 10 >= evtx.len() * 9, "most corpus EVTX files yield events");
}

#[test]
fn corpus_regression_json_reads_as_windows_events() {
    let root = ferret_testkit::corpus().join("sigma/regression_data");
    if !root.is_dir() {
        ferret_testkit::skip(format_args!("the corpus folder {}", root.display()));
        return;
    }
    let mut json = Vec::new();
    files(&root, "json", &mut json);
    json.sort();
    let sink = Collector::new();
    let mut events = 0;
    for p in &json {
        let cov = read(p, &ReadOptions::default(), &sink, &mut |e| {
            assert!(e.get_text("EventID").is_some(), "{}", p.display());
            ControlFlow::Continue(())
        });
        assert_eq!(cov.format, Some(LogFormat::EvtxJson), "{}", p.display());
        assert_eq!(cov.parse_errors, 0, "{}", p.display());
        events += cov.events;
    }
    eprintln!("{} json files: {events} events", json.len());
}
