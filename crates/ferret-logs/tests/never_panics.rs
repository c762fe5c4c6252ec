//! Property tests: no reader panics on arbitrary bytes, with or without a recognisable header.
#![allow(clippy::disallowed_methods, reason = "tests write their own temporary fixtures")]

use std::ops::ControlFlow;

use ferret_core::Collector;
use ferret_logs::{LogFormat, ReadOptions, read, sniff};
use proptest::prelude::*;

fn run(format: LogFormat, prefix: &[u8], body: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("input.log");
    let mut bytes = prefix.to_vec();
    bytes.extend_from_slice(body);
    std::fs::write(&p, &bytes).unwrap();
    let _ = sniff(&p, &bytes);
    let sink = Collector::new();
    let opts = ReadOptions { format: Some(format), max_line: 4096, ..ReadOptions::default() };
    let cov = read(&p, &opts, &sink, &mut |e| {
        let _ = e.iter().count();
        ControlFlow::Continue(())
    });
    assert!(cov.events + cov.parse_errors <= bytes.len() as u64 + 1);
    // Sniffed as whatever it looks like, too.
    let _ = read(&p, &ReadOptions::default(), &sink, &mut |_| ControlFlow::Continue(()));
}

const PREFIXES: &[(LogFormat, &[u8])] = &[
    (LogFormat::Evtx, b"ElfFile\0"),
    (LogFormat::EvtxJson, b"{\"Event\":{\"System\":{\"EventID\":1}}}\n"),
    (LogFormat::Json, b"{\"a\":1}\n"),
    (LogFormat::Syslog, b"<34>Oct 11 22:14:15 host su: x\n"),
    (LogFormat::W3c, b"#Fields: date time cs-method c-ip\n"),
    (LogFormat::ExchangeCsv, b"#Fields: DateTime,UrlStem,UrlQuery\n"),
    (LogFormat::Access, b"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 1\n"),
    (LogFormat::DnsWindows, b"3/3/2021 1:02:03 AM 0E9C PACKET  0 UDP Rcv 1.2.3.4 5f0e   Q [0001   D   NOERROR] A (1)a(0)\n"),
    (LogFormat::DnsBind, b"client 1.2.3.4#5 (a): query: a IN A + (1.1.1.1)\n"),
    (LogFormat::ZeekDns, b"#fields\tts\tquery\tqtype_name\n"),
    (LogFormat::Zeek, b"#fields\tts\ta\n"),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn readers_never_panic(idx in 0..PREFIXES.len(), body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let (format, prefix) = PREFIXES[idx];
        run(format, prefix, &body);
        run(format, b"", &body);
    }

    #[test]
    fn text_readers_never_panic_on_texty_input(idx in 0..PREFIXES.len(), body in "[ -~\\t\\n\\[\\]\"{}#<>,:/]{0,800}") {
        let (format, prefix) = PREFIXES[idx];
        run(format, prefix, body.as_bytes());
    }
}
