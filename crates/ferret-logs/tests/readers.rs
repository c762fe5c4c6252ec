//! Per-format reader tests over the fixtures in `tests/data/logs`, malformed variants built from
//! them at test time (garbage in the middle), and gzip transparency.
#![allow(clippy::disallowed_methods, reason = "tests write their own temporary fixtures")]

use std::io::Write as _;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use ferret_core::{Collector, Fields as _, Problem, ProblemKind};
use ferret_logs::{Event, LogFormat, ReadOptions, SourceCoverage, read, sniff};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/logs").join(name)
}

fn read_with(path: &Path, opts: &ReadOptions) -> (SourceCoverage, Vec<Event>, Vec<Problem>) {
    let sink = Collector::new();
    let mut events = Vec::new();
    let cov = read(path, opts, &sink, &mut |e| {
        events.push(e.clone());
        ControlFlow::Continue(())
    });
    let (_, problems, _, _) = sink.into_parts();
    (cov, events, problems)
}

fn read_all(path: &Path) -> (SourceCoverage, Vec<Event>, Vec<Problem>) {
    read_with(path, &ReadOptions { syslog_year: Some(2021), ..ReadOptions::default() })
}

fn text(e: &Event, name: &str) -> String {
    e.get_text(name)
        .unwrap_or_else(|| panic!("no field {name} in {:?}", e.iter().collect::<Vec<_>>()))
}

fn rfc(e: &Event) -> String {
    e.time.expect("event time").to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Reads the fixture: expected format, no problems, `n` events.
fn check(name: &str, format: LogFormat, n: usize) -> Vec<Event> {
    let (cov, events, problems) = read_all(&data(name));
    assert_eq!(cov.format, Some(format), "{name}");
    assert!(problems.is_empty(), "{name}: {problems:?}");
    assert_eq!(events.len(), n, "{name}");
    assert_eq!(cov.events, n as u64);
    assert_eq!(cov.parse_errors, 0);
    for e in &events {
        assert_eq!(e.format, format);
        assert_eq!(&*e.source, data(name).as_path());
    }
    events
}

#[test]
fn w3c_iis() {
    let ev = check("w3c_iis.log", LogFormat::W3c, 3);
    let e = &ev[2];
    assert_eq!(text(e, "cs-method"), "GET");
    assert_eq!(text(e, "cs-uri-stem"), "/aspnet_client/shell.aspx");
    assert_eq!(text(e, "cs-uri-query"), "cmd=whoami");
    assert_eq!(text(e, "c-ip"), "198.51.100.9");
    assert_eq!(text(e, "sc-status"), "200");
    assert_eq!(text(e, "cs(User-Agent)"), "curl/7.68.0");
    assert_eq!(text(e, "cs-user-agent"), "curl/7.68.0");
    assert_eq!(text(e, "cs-referer"), "-");
    assert_eq!(rfc(e), "2021-03-03T01:02:05.000Z");
    assert_eq!(e.line, Some(7));
}

#[test]
fn exchange_httpproxy() {
    let ev = check("exchange-csv_httpproxy.log", LogFormat::ExchangeCsv, 2);
    let e = &ev[0];
    assert_eq!(text(e, "UrlStem"), "/ecp/y.js");
    assert_eq!(text(e, "cs-uri-stem"), "/ecp/y.js");
    assert_eq!(
        text(e, "AnchorMailbox"),
        "ServerInfo~a]@mail01.example.org:444/autodiscover/autodiscover.xml?#"
    );
    assert_eq!(text(e, "UserAgent"), "python-requests/2.25.1");
    assert_eq!(text(e, "c-ip"), "203.0.113.7");
    assert_eq!(e.channel.as_deref(), Some("HttpProxy Logs"));
    assert_eq!(rfc(e), "2021-03-03T01:02:03.100Z");
    assert_eq!(text(&ev[1], "UrlQuery"), "a=1,b=\"x\"");
}

#[test]
fn exchange_plain_csv_header() {
    let ev = check("exchange-csv_ecp_plain_header.log", LogFormat::ExchangeCsv, 1);
    assert_eq!(text(&ev[0], "UrlStem"), "/ecp/DDI/DDIService.svc/SetObject");
    assert_eq!(text(&ev[0], "cs-uri-query"), "schema=OABVirtualDirectory");
    assert_eq!(rfc(&ev[0]), "2021-03-03T02:00:00.000Z");
}

#[test]
fn access_combined() {
    let ev = check("access_combined.log", LogFormat::Access, 3);
    let e = &ev[1];
    assert_eq!(text(e, "c-ip"), "198.51.100.9");
    assert_eq!(text(e, "cs-username"), "admin");
    assert_eq!(text(e, "cs-method"), "GET");
    assert!(text(e, "cs-uri-stem").starts_with("/dana-na/../dana/"));
    assert_eq!(text(e, "cs-uri-query"), "/dana/html5acc/guacamole/");
    assert_eq!(text(e, "sc-status"), "200");
    assert_eq!(text(e, "cs-referer"), "https://ref.example/");
    assert_eq!(text(e, "cs-user-agent"), "curl/7.68.0");
    assert_eq!(rfc(e), "2021-03-03T00:02:04.000Z");
    assert_eq!(text(&ev[2], "cs-uri-query"), "x=1");
    assert_eq!(text(&ev[2], "extra"), "\"extra-field\"");
}

#[test]
fn syslog_3164() {
    let ev = check("syslog_rfc3164.log", LogFormat::Syslog, 3);
    assert_eq!(text(&ev[0], "hostname"), "web01");
    assert_eq!(text(&ev[0], "program"), "sshd");
    assert_eq!(text(&ev[0], "pid"), "1234");
    assert!(text(&ev[0], "message").starts_with("Accepted password for root"));
    assert_eq!(rfc(&ev[0]), "2021-03-03T01:02:03.000Z");
    assert_eq!(text(&ev[1], "facility"), "4");
    assert_eq!(text(&ev[1], "severity"), "6");
    assert_eq!(ev[1].channel.as_deref(), Some("sudo"));
}

#[test]
fn syslog_5424() {
    let ev = check("syslog_rfc5424.log", LogFormat::Syslog, 3);
    assert_eq!(text(&ev[0], "hostname"), "web01.example.org");
    assert_eq!(text(&ev[0], "msgid"), "ID47");
    assert!(text(&ev[0], "structured_data").contains("eventSource"));
    assert_eq!(text(&ev[0], "message"), "Failed password for invalid user admin");
    assert_eq!(rfc(&ev[1]), "2021-03-03T00:02:04.000Z");
    assert_eq!(text(&ev[2], "program"), "cron");
    assert!(text(&ev[2], "message").contains("wget"));
}

#[test]
fn dns_windows() {
    let ev = check("dns-windows_debug.log", LogFormat::DnsWindows, 2);
    assert_eq!(text(&ev[0], "query"), "avsvmcloud.com");
    assert_eq!(text(&ev[0], "record_type"), "A");
    assert_eq!(text(&ev[0], "src_ip"), "10.0.0.5");
    assert_eq!(rfc(&ev[1]), "2021-03-03T13:02:04.000Z");
    assert_eq!(text(&ev[1], "response"), "true");
}

#[test]
fn dns_bind() {
    let ev = check("dns-bind_query.log", LogFormat::DnsBind, 2);
    assert_eq!(text(&ev[0], "query"), "appsync-api.eu-west-1.avsvmcloud.com");
    assert_eq!(text(&ev[0], "src_ip"), "10.0.0.5");
    assert_eq!(text(&ev[1], "record_type"), "TXT");
    assert_eq!(rfc(&ev[0]), "2021-03-03T01:02:03.123Z");
}

#[test]
fn zeek_dns() {
    let ev = check("zeek-dns_basic.log", LogFormat::ZeekDns, 2);
    assert_eq!(text(&ev[0], "query"), "avsvmcloud.com");
    assert_eq!(text(&ev[0], "record_type"), "A");
    assert_eq!(text(&ev[0], "answer"), "20.140.0.1");
    assert_eq!(text(&ev[0], "src_ip"), "10.0.0.5");
    assert_eq!(text(&ev[0], "id.orig_h"), "10.0.0.5");
    assert_eq!(rfc(&ev[0]), "2021-03-03T01:02:03.100Z");
}

#[test]
fn json_flat_windows() {
    let ev = check("json_flat_otrf.json", LogFormat::EvtxJson, 2);
    assert_eq!(text(&ev[0], "EventID"), "1");
    assert_eq!(text(&ev[0], "Channel"), "Microsoft-Windows-Sysmon/Operational");
    assert_eq!(text(&ev[0], "Provider_Name"), "Microsoft-Windows-Sysmon");
    assert_eq!(text(&ev[0], "Computer"), "WS01");
    assert_eq!(text(&ev[0], "CommandLine"), "cmd.exe /c whoami");
    assert_eq!(ev[0].record_id, Some(42));
    assert_eq!(ev[0].line, Some(1));
    assert_eq!(rfc(&ev[1]), "2021-03-03T01:02:04.000Z");
}

#[test]
fn json_winlogbeat() {
    let ev = check("evtx-json_winlogbeat.json", LogFormat::EvtxJson, 1);
    let e = &ev[0];
    assert_eq!(text(e, "EventID"), "1");
    assert_eq!(text(e, "Channel"), "Microsoft-Windows-Sysmon/Operational");
    assert_eq!(text(e, "Computer"), "ws02");
    assert_eq!(text(e, "Image"), "C:\\Windows\\System32\\cmd.exe");
    assert_eq!(text(e, "event.code"), "1");
    assert_eq!(e.record_id, Some(77));
    assert_eq!(rfc(e), "2021-03-03T01:02:03.000Z");
}

#[test]
fn json_generic() {
    let ev = check("json_generic.jsonl", LogFormat::Json, 2);
    assert_eq!(text(&ev[0], "requestParameters.userName"), "evil");
    assert_eq!(text(&ev[0], "eventName"), "CreateUser");
    assert!(matches!(ev[0].get("tags"), Some(ferret_core::FieldValue::List(l)) if l.len() == 2));
    assert_eq!(rfc(&ev[0]), "2021-03-03T01:02:03.000Z");
    assert_eq!(rfc(&ev[1]), "2021-03-03T01:02:04.000Z");
}

#[test]
fn evtx_json_nested_pretty() {
    let ev = check("evtx-json_nested_pretty.json", LogFormat::EvtxJson, 2);
    let e = &ev[0];
    assert_eq!(text(e, "EventID"), "1");
    assert_eq!(text(e, "Channel"), "Microsoft-Windows-Sysmon/Operational");
    assert_eq!(text(e, "Provider_Name"), "Microsoft-Windows-Sysmon");
    assert_eq!(text(e, "Computer"), "ws01.example.org");
    assert_eq!(text(e, "Execution_ProcessID"), "3544");
    assert_eq!(text(e, "Security_UserID"), "S-1-5-18");
    assert_eq!(text(e, "Image"), "C:\\Windows\\System32\\cmd.exe");
    assert_eq!(text(e, "ParentImage"), "C:\\Windows\\System32\\w3wp.exe");
    assert_eq!(e.record_id, Some(1001));
    assert_eq!(e.channel.as_deref(), Some("Microsoft-Windows-Sysmon/Operational"));
    assert_eq!(rfc(e), "2021-03-03T01:02:03.456Z");
    assert_eq!(e.line, Some(1));
    let e = &ev[1];
    assert_eq!(text(e, "EventID"), "1102");
    assert_eq!(text(e, "SubjectUserName"), "alice");
    assert_eq!(text(e, "Threat Name"), "Tool:Win32/Test");
    assert_eq!(text(e, "ThreatName"), "Tool:Win32/Test");
    assert_eq!(e.line, Some(42));
}

/// Every text fixture with a garbage record in the middle: the events before and after are
/// still read, and the problem names the file and the line.
#[test]
fn malformed_in_the_middle_per_format() {
    let cases: &[(&str, &str)] = &[
        ("w3c_iis.log", "this is not a w3c record"),
        ("exchange-csv_httpproxy.log", "garbage,without,enough,columns"),
        ("access_combined.log", "\u{1}\u{2} garbage \u{7f}"),
        ("syslog_rfc3164.log", "@@@ not syslog @@@"),
        ("syslog_rfc5424.log", "@@@ not syslog @@@"),
        ("dns-windows_debug.log", "3/3/2021 1:02:03 AM broken PACKET line"),
        ("dns-bind_query.log", "client nonsense"),
        ("zeek-dns_basic.log", "only\tthree\tcolumns"),
        ("json_flat_otrf.json", "{\"EventID\": 1, broken"),
        ("json_generic.jsonl", "not json at all"),
        ("evtx-json_nested_pretty.json", "{ \"Event\": nonsense }"),
    ];
    for (name, garbage) in cases {
        let good = std::fs::read_to_string(data(name)).unwrap();
        let (_, want, _) = read_all(&data(name));
        let lines: Vec<&str> = good.lines().collect();
        // Insert after the first data record (for the pretty JSON, between the documents).
        let at = if name.starts_with("evtx-json") {
            lines.iter().position(|l| *l == "}").unwrap() + 1
        } else {
            usize::try_from(want[0].line.unwrap()).unwrap()
        };
        let mut out: Vec<&str> = lines[..at].to_vec();
        out.push(garbage);
        out.extend_from_slice(&lines[at..]);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, out.join("\n") + "\n").unwrap();
        let (cov, got, problems) = read_all(&p);
        assert_eq!(got.len(), want.len(), "{name}: all good records still read");
        assert_eq!(cov.parse_errors, 1, "{name}: {problems:?}");
        assert_eq!(problems.len(), 1, "{name}");
        let pr = &problems[0];
        assert_eq!(pr.kind, ProblemKind::Parse);
        assert_eq!(pr.path.as_ref().unwrap().to_path_buf(), p);
        assert_eq!(pr.position.as_deref(), Some(format!("line {}", at + 1).as_str()), "{name}");
    }
}

#[test]
fn gzip_is_transparent() {
    for name in ["w3c_iis.log", "json_generic.jsonl", "syslog_rfc3164.log"] {
        let raw = std::fs::read(data(name)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(format!("{name}.1.gz"));
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&raw).unwrap();
        std::fs::write(&p, enc.finish().unwrap()).unwrap();
        let (cov_gz, ev_gz, pr) = read_all(&p);
        let (cov, ev, _) = read_all(&data(name));
        assert!(pr.is_empty(), "{pr:?}");
        assert!(cov_gz.gzip);
        assert_eq!(cov_gz.format, cov.format);
        assert_eq!(ev_gz.len(), ev.len());
        assert_eq!(ev_gz[0].iter().count(), ev[0].iter().count());
    }
}

#[test]
fn gzip_bomb_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bomb.log.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let line = b"Mar  3 01:02:03 web01 sshd[1]: x\n";
    for _ in 0..10_000 {
        enc.write_all(line).unwrap();
    }
    std::fs::write(&p, enc.finish().unwrap()).unwrap();
    let opts = ReadOptions {
        max_decompressed: 64 * 1024,
        syslog_year: Some(2021),
        ..ReadOptions::default()
    };
    let (cov, events, problems) = read_with(&p, &opts);
    assert!(cov.truncated);
    assert!(events.len() < 10_000);
    let cut = problems.iter().find(|p| p.reason.contains("cap")).expect("the cap is reported");
    assert!(cut.kind.makes_incomplete(), "a cut log is an incomplete examination: {cut:?}");
}

#[test]
fn overlong_line_is_skipped_and_reading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("access.log");
    let good = std::fs::read_to_string(data("access_combined.log")).unwrap();
    let mut lines: Vec<String> = good.lines().map(str::to_owned).collect();
    lines.insert(
        1,
        format!(
            "1.2.3.4 - - [03/Mar/2021:01:02:03 +0000] \"GET /{} HTTP/1.1\" 200 1",
            "A".repeat(300_000)
        ),
    );
    std::fs::write(&p, lines.join("\n")).unwrap();
    let opts = ReadOptions { max_line: 100_000, ..ReadOptions::default() };
    let (cov, events, problems) = read_with(&p, &opts);
    assert_eq!(events.len(), 3);
    assert_eq!(cov.parse_errors, 1);
    assert_eq!(problems[0].position.as_deref(), Some("line 2"));
    assert!(problems[0].reason.contains("longer than"));
}

#[test]
fn sniff_uses_content_not_extension() {
    for (name, want) in [
        ("w3c_iis.log", LogFormat::W3c),
        ("access_combined.log", LogFormat::Access),
        ("syslog_rfc5424.log", LogFormat::Syslog),
        ("json_generic.jsonl", LogFormat::Json),
        ("zeek-dns_basic.log", LogFormat::ZeekDns),
        ("dns-bind_query.log", LogFormat::DnsBind),
    ] {
        let head = std::fs::read(data(name)).unwrap();
        assert_eq!(sniff(Path::new("renamed.txt"), &head), Some(want), "{name}");
    }
    assert_eq!(sniff(Path::new("a.bin"), b"ElfFile\0rest"), Some(LogFormat::Evtx));
    assert_eq!(sniff(Path::new("a.txt"), b"just some prose\nnothing else\n"), None);
    assert_eq!(sniff(Path::new("a.bin"), b"\x7fELF\x02\x01\x00\x00"), None);
}

#[test]
fn unrecognised_file_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("notes.txt");
    std::fs::write(&p, "dear diary\n").unwrap();
    let (cov, events, problems) = read_all(&p);
    assert_eq!(cov.format, None);
    assert!(events.is_empty() && problems.is_empty());
}

#[test]
fn damaged_evtx_header_is_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("broken.evtx");
    let mut b = b"ElfFile\0".to_vec();
    b.extend(std::iter::repeat_n(0xAAu8, 8192));
    std::fs::write(&p, &b).unwrap();
    let (cov, events, problems) = read_all(&p);
    assert_eq!(cov.format, Some(LogFormat::Evtx));
    assert!(events.is_empty());
    assert!(!problems.is_empty());
    assert!(problems.iter().all(|p| p.path.is_some()));
}

#[cfg(unix)]
#[test]
fn fifo_and_symlink_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("link.log");
    std::os::unix::fs::symlink(data("w3c_iis.log"), &link).unwrap();
    let (cov, events, problems) = read_all(&link);
    assert!(events.is_empty());
    assert_eq!(cov.format, None);
    assert_eq!(problems.len(), 1);
}

#[test]
fn read_filtered_counts_unkept_lines_in_the_coverage() {
    let path = data("exchange-csv_httpproxy.log");
    let sink = Collector::new();
    let mut seen = Vec::new();
    let keep = |f: LogFormat, channel: Option<&str>, line: &str| {
        assert_eq!(f, LogFormat::ExchangeCsv);
        assert_eq!(channel, Some("HttpProxy Logs"));
        line.contains("ServerInfo~")
    };
    let cov = ferret_logs::read_filtered(&path, &ReadOptions::default(), &sink, &keep, &mut |e| {
        seen.push(e.line);
        ControlFlow::Continue(())
    });
    let (all, _, _) = read_all(&path);
    assert_eq!(seen, [Some(6)], "only the kept line becomes an event");
    assert_eq!(cov, all, "the coverage is the same as reading everything");
}
