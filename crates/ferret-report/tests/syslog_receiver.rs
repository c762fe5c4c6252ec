//! `ferret_report::syslog::send` against real receivers on loopback: a UDP socket and a TCP
//! listener. Every record arrives as one RFC 5424 message with a CEF body, the framing is
//! intact (one datagram each; RFC 6587 octet counting over TCP), a long field is cut safely
//! over UDP and kept whole over TCP, and a name that is not UTF-8 arrives escaped. A refused
//! connection is an error at once, not a hang.

mod common;

use std::io::Read as _;
use std::net::{TcpListener, UdpSocket};
use std::time::Duration;

use ferret_report::syslog::{self, Target, Transport};

/// Splits `<PRI>1 TS HOST APP PROCID MSGID SD MSG` and checks each header field.
fn parse(msg: &str) -> (u8, String, String) {
    assert!(msg.starts_with('<'), "{msg}");
    let close = msg.find('>').unwrap();
    let pri: u8 = msg[1..close].parse().unwrap();
    let mut parts = msg[close + 1..].splitn(8, ' ');
    assert_eq!(parts.next(), Some("1"), "VERSION");
    let ts = parts.next().unwrap();
    chrono::DateTime::parse_from_rfc3339(ts).expect("TIMESTAMP is RFC 3339");
    assert_eq!(parts.next(), Some("exch-01"), "HOSTNAME");
    assert_eq!(parts.next(), Some("ferret"), "APP-NAME");
    assert_eq!(parts.next(), Some("4711"), "PROCID");
    let msgid = parts.next().unwrap().to_owned();
    assert!(["finding", "problem", "summary"].contains(&msgid.as_str()));
    assert_eq!(parts.next(), Some("-"), "no STRUCTURED-DATA");
    let body = parts.next().unwrap().to_owned();
    assert!(body.starts_with("CEF:0|ferret|ferret|"), "{body}");
    assert!(!body.chars().any(char::is_control), "control characters escaped: {body:?}");
    (pri, msgid, body)
}

fn check_all(msgs: &[String]) {
    let r = common::fixture();
    assert_eq!(msgs.len(), r.findings.len() + r.problems.len() + 1, "every record arrives");
    let parsed: Vec<(u8, String, String)> = msgs.iter().map(|m| parse(m)).collect();
    let ids: Vec<&str> = parsed.iter().map(|p| p.1.as_str()).collect();
    assert_eq!(ids, ["finding", "finding", "finding", "problem", "problem", "summary"]);
    // PRI = facility 1 (user) * 8 + severity: critical 2, high 3; problems 4 / 6; summary 4.
    let pris: Vec<u8> = parsed.iter().map(|p| p.0).collect();
    assert_eq!(pris, [10, 11, 11, 12, 14, 12]);
    assert!(parsed[0].2.contains("filePath=/srv/www/up\\xffload\\=1\\\\a.aspx"), "{}", parsed[0].2);
    assert!(parsed[4].2.contains("filePath=/srv/fifo\\u{0001}"), "{}", parsed[4].2);
    assert!(parsed[5].2.contains("outcome=incomplete"));
}

#[test]
fn udp_one_datagram_per_record_long_ones_cut_safely() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let target = Target::parse(&format!("udp://{}", rx.local_addr().unwrap())).unwrap();
    assert_eq!(target.transport, Transport::Udp);
    let sent = syslog::send(&common::fixture(), &target, 4711).unwrap();
    let mut msgs = Vec::new();
    let mut buf = vec![0u8; 65_536];
    for _ in 0..sent {
        let n = rx.recv(&mut buf).unwrap();
        assert!(n <= syslog::UDP_MAX, "datagram of {n} octets");
        msgs.push(String::from_utf8(buf[..n].to_vec()).expect("a cut never splits a character"));
    }
    check_all(&msgs);
    // The Sigma finding's 2400-character command line does not fit: cut, marked, and the
    // cut leaves no half escape.
    let long = msgs.iter().find(|m| m.contains("powershell -enc")).unwrap();
    assert_eq!(long.len(), syslog::UDP_MAX.min(long.len()));
    assert!(long.ends_with('…'), "{long}");
    let body = long.strip_suffix('…').unwrap();
    assert_eq!(body.chars().rev().take_while(|c| *c == '\\').count() % 2, 0);
}

#[test]
fn tcp_octet_counted_frames_keep_long_records_whole() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = Target::parse(&format!("tcp://{}", listener.local_addr().unwrap())).unwrap();
    let reader = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        all
    });
    let sent = syslog::send(&common::fixture(), &target, 4711).unwrap();
    let stream = reader.join().unwrap();
    // RFC 6587 octet counting: MSG-LEN SP SYSLOG-MSG, repeated, nothing else.
    let mut msgs = Vec::new();
    let mut rest = &stream[..];
    while !rest.is_empty() {
        let sp = rest.iter().position(|b| *b == b' ').unwrap();
        let len: usize = std::str::from_utf8(&rest[..sp]).unwrap().parse().unwrap();
        assert!(rest[0] != b'0', "MSG-LEN has no leading zero");
        let msg = &rest[sp + 1..sp + 1 + len];
        msgs.push(String::from_utf8(msg.to_vec()).unwrap());
        rest = &rest[sp + 1 + len..];
    }
    assert_eq!(msgs.len(), sent);
    check_all(&msgs);
    let long = msgs.iter().find(|m| m.contains("powershell -enc")).unwrap();
    assert!(long.len() > syslog::UDP_MAX, "TCP does not cut");
    assert!(long.contains(&"QQBB".repeat(600)));
}

#[test]
fn a_refused_connection_is_an_error_not_a_hang() {
    // Bind then drop: nothing listens on the port.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let target = Target::parse(&format!("tcp://127.0.0.1:{port}")).unwrap();
    let err = syslog::send(&common::fixture(), &target, 1).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("cannot send to the syslog receiver tcp://127.0.0.1:"), "{text}");
    assert!(text.contains("0 of 6 messages sent"), "{text}");
}

#[test]
fn a_stalled_receiver_times_out() {
    // A listener that never accepts still completes the handshake (backlog): sending blocks
    // once the socket buffers are full, and the write timeout ends it with an error.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = Target::parse(&format!("tcp://{}", listener.local_addr().unwrap())).unwrap();
    let mut r = common::fixture();
    let big = r.findings[0].clone();
    r.findings = vec![big; 20_000];
    let res = syslog::send(&r, &target, 1);
    drop(listener);
    let err = res.expect_err("a receiver that reads nothing cannot take 20,000 records");
    assert!(err.to_string().contains("of 20003 messages sent"), "{err}");
}
