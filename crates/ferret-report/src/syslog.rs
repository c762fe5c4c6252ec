//! Sending a report to a syslog receiver: every [`cef`] record (findings,
//! problems, then the run summary) as one RFC 5424 message, over UDP (RFC 5426, one datagram
//! per message) or TCP (RFC 6587 octet counting).
//!
//! A message is `<PRI>1 TIMESTAMP HOSTNAME ferret PROCID MSGID - MSG`:
//!
//! * PRI = facility × 8 + severity, facility 1 (user-level); severity 2 (critical) for a
//!   critical finding, 3 (error) high, 4 (warning) medium, 5 (notice) low, 6 (informational)
//!   info; 4 for a problem that makes the run incomplete (6 otherwise); 6 for the summary of
//!   a complete run and 4 for an incomplete one;
//! * TIMESTAMP = when the run finished (RFC 3339, UTC, microseconds); HOSTNAME = the examined
//!   host's name (printable ASCII, anything else `_`, at most 255 octets); PROCID = ferret's
//!   process id; MSGID `finding`, `problem` or `summary`; no structured data;
//! * MSG = the CEF record, UTF-8 without a byte-order mark (CEF parsers expect `CEF:` first).
//!   The CEF escaping keeps it on one line; no control character reaches the receiver.
//!
//! Over UDP a message longer than [`UDP_MAX`] octets is cut at a character boundary, never
//! inside an escape, and ends with `…`. Over TCP nothing is cut. Connecting and sending time
//! out after [`TIMEOUT`]; a receiver that refuses or stalls is an error, not a hang.

use std::fmt;
use std::io::Write as _;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs as _, UdpSocket};
use std::time::Duration;

use chrono::SecondsFormat;
use ferret_core::Severity;

use crate::Report;
use crate::cef::{self, RecordKind};

/// Longest UDP message sent, in octets: the size RFC 5426 says every receiver should accept.
pub const UDP_MAX: usize = 2048;

/// How long connecting, and each send, may take.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// The facility of every message: 1, user-level.
pub const FACILITY: u8 = 1;

/// The transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// One datagram per message.
    Udp,
    /// A stream of octet-counted frames.
    Tcp,
}

/// Where to send: `udp://HOST:PORT` or `tcp://HOST:PORT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// UDP or TCP.
    pub transport: Transport,
    /// `HOST:PORT` as given (a name, an IPv4 address or `[IPv6]`).
    pub address: String,
}

/// Why sending to a syslog receiver failed.
#[derive(Debug, thiserror::Error)]
pub enum SyslogError {
    /// The target is not `udp://HOST:PORT` or `tcp://HOST:PORT`.
    #[error("{0:?} is not a syslog target (udp://HOST:PORT or tcp://HOST:PORT)")]
    BadTarget(String),
    /// The host name did not resolve.
    #[error("cannot resolve {address}")]
    Resolve {
        /// `HOST:PORT`.
        address: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Connecting or sending failed.
    #[error("cannot send to the syslog receiver {target} ({sent} of {total} messages sent)")]
    Send {
        /// The target as given.
        target: String,
        /// Messages sent before the failure.
        sent: usize,
        /// Messages to send.
        total: usize,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.transport {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        };
        write!(f, "{scheme}://{}", self.address)
    }
}

impl Target {
    /// Parses `udp://HOST:PORT` or `tcp://HOST:PORT` (the port is required).
    pub fn parse(s: &str) -> Result<Target, SyslogError> {
        let bad = || SyslogError::BadTarget(s.to_owned());
        let (transport, rest) = if let Some(r) = s.strip_prefix("udp://") {
            (Transport::Udp, r)
        } else if let Some(r) = s.strip_prefix("tcp://") {
            (Transport::Tcp, r)
        } else {
            return Err(bad());
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
        let host_ok = !host.is_empty()
            && !host.contains(['/', '@', '?', '#', ' '])
            && (!host.contains(':') || (host.starts_with('[') && host.ends_with(']')));
        if !host_ok || port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(bad());
        }
        Ok(Target { transport, address: rest.to_owned() })
    }

    /// The host (brackets kept for IPv6) and the port.
    pub fn host_port(&self) -> (&str, u16) {
        let (host, port) = self.address.rsplit_once(':').unwrap_or((&self.address, "0"));
        (host, port.parse().unwrap_or(0))
    }

    /// Resolves the address (the first result is used).
    pub fn resolve(&self) -> Result<SocketAddr, SyslogError> {
        let err = |source| SyslogError::Resolve { address: self.address.clone(), source };
        self.address.to_socket_addrs().map_err(err)?.next().ok_or_else(|| {
            err(std::io::Error::new(std::io::ErrorKind::NotFound, "no address found"))
        })
    }
}

/// The syslog severity of a record (see the module documentation).
pub fn severity(kind: RecordKind) -> u8 {
    match kind {
        RecordKind::Finding(Severity::Critical) => 2,
        RecordKind::Finding(Severity::High) => 3,
        RecordKind::Finding(Severity::Medium)
        | RecordKind::Problem(true)
        | RecordKind::Summary(false) => 4,
        RecordKind::Finding(Severity::Low) => 5,
        RecordKind::Finding(Severity::Info)
        | RecordKind::Problem(false)
        | RecordKind::Summary(true) => 6,
    }
}

/// The RFC 5424 HOSTNAME for `host`: printable ASCII without spaces, anything else `_`, at
/// most 255 octets; `-` when empty.
pub fn hostname(host: &str) -> String {
    let h: String =
        host.chars().map(|c| if c.is_ascii_graphic() { c } else { '_' }).take(255).collect();
    if h.is_empty() { "-".to_owned() } else { h }
}

/// Every message of the report (whole; see [`udp_datagram`] for the cut).
pub fn messages(report: &Report, procid: u32) -> Vec<String> {
    let time = report.finished.to_rfc3339_opts(SecondsFormat::Micros, true);
    let host = hostname(&report.host);
    cef::records(report)
        .into_iter()
        .map(|r| {
            let msgid = match r.kind {
                RecordKind::Finding(_) => "finding",
                RecordKind::Problem(_) => "problem",
                RecordKind::Summary(_) => "summary",
            };
            let pri = FACILITY * 8 + severity(r.kind);
            format!("<{pri}>1 {time} {host} ferret {procid} {msgid} - {}", r.text)
        })
        .collect()
}

/// A message cut to at most [`UDP_MAX`] octets: at a character boundary, not inside a
/// backslash escape, ending with `…`. Shorter messages are returned whole.
pub fn udp_datagram(message: &str) -> String {
    if message.len() <= UDP_MAX {
        return message.to_owned();
    }
    let marker = "…";
    let mut end = UDP_MAX - marker.len();
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let mut head = message.get(..end).unwrap_or("");
    // Do not end inside an escape: `\x`, `\u{…}`, or a lone backslash.
    if let Some(n) = head.rfind('\\') {
        let tail = head.get(n..).unwrap_or("");
        let backslashes =
            head.get(..n).unwrap_or("").chars().rev().take_while(|c| *c == '\\').count();
        let escaping = backslashes % 2 == 0;
        let complete = match tail.chars().nth(1) {
            None => false,
            Some('x') => tail.len() >= 4,
            Some('u') => tail.contains('}'),
            Some(_) => true,
        };
        if escaping && !complete {
            head = head.get(..n).unwrap_or("");
        }
    }
    format!("{head}{marker}")
}

/// A TCP frame: `LEN SP MESSAGE` (RFC 6587 octet counting).
pub fn tcp_frame(message: &str) -> Vec<u8> {
    let mut out = format!("{} ", message.len()).into_bytes();
    out.extend_from_slice(message.as_bytes());
    out
}

/// Sends every message of the report to `target`; returns how many were sent.
pub fn send(report: &Report, target: &Target, procid: u32) -> Result<usize, SyslogError> {
    send_to(report, target, target.resolve()?, procid)
}

/// As [`send`], to an address the caller resolved (the ferret binary resolves names itself,
/// never through the C library: see its `resolve` module).
pub fn send_to(
    report: &Report,
    target: &Target,
    addr: SocketAddr,
    procid: u32,
) -> Result<usize, SyslogError> {
    let msgs = messages(report, procid);
    let total = msgs.len();
    let fail = |sent, source| SyslogError::Send { target: target.to_string(), sent, total, source };
    match target.transport {
        Transport::Udp => {
            let local: SocketAddr = if addr.is_ipv4() {
                SocketAddr::from(([0, 0, 0, 0], 0))
            } else {
                SocketAddr::from(([0u16; 8], 0))
            };
            let sock = UdpSocket::bind(local).map_err(|e| fail(0, e))?;
            sock.set_write_timeout(Some(TIMEOUT)).map_err(|e| fail(0, e))?;
            sock.connect(addr).map_err(|e| fail(0, e))?;
            for (i, m) in msgs.iter().enumerate() {
                sock.send(udp_datagram(m).as_bytes()).map_err(|e| fail(i, e))?;
            }
        }
        Transport::Tcp => {
            let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| fail(0, e))?;
            stream.set_write_timeout(Some(TIMEOUT)).map_err(|e| fail(0, e))?;
            for (i, m) in msgs.iter().enumerate() {
                stream.write_all(&tcp_frame(m)).map_err(|e| fail(i, e))?;
            }
            stream.flush().map_err(|e| fail(total, e))?;
            stream.shutdown(std::net::Shutdown::Write).map_err(|e| fail(total, e))?;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        let t = Target::parse("udp://127.0.0.1:514").unwrap();
        assert_eq!((t.transport, t.address.as_str()), (Transport::Udp, "127.0.0.1:514"));
        let t = Target::parse("tcp://[::1]:6514").unwrap();
        assert_eq!((t.transport, t.address.as_str()), (Transport::Tcp, "[::1]:6514"));
        assert_eq!(t.to_string(), "tcp://[::1]:6514");
        for bad in
            ["127.0.0.1:514", "http://h:1", "udp://h", "udp://h:0", "udp://:514", "tcp://::1:5"]
        {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hostnames_are_printable_ascii() {
        assert_eq!(hostname("web 1\u{e9}"), "web_1_");
        assert_eq!(hostname(""), "-");
    }

    #[test]
    fn udp_cut_never_splits_an_escape_or_a_character() {
        for pad in 0..8 {
            let m =
                format!("{}{}", "a".repeat(UDP_MAX - 6 + pad), "\\xff\\u{001b}é\\\\=".repeat(4));
            let d = udp_datagram(&m);
            assert!(d.len() <= UDP_MAX, "{}", d.len());
            assert!(d.ends_with('…'));
            let body = d.strip_suffix('…').unwrap();
            let trailing = body.chars().rev().take_while(|c| *c == '\\').count();
            assert_eq!(trailing % 2, 0, "a lone backslash at the cut: {body:?}");
            if let Some(n) = body.rfind("\\u{") {
                assert!(body[n..].contains('}'), "cut inside \\u{{…}}");
            }
        }
        assert_eq!(udp_datagram("short"), "short");
    }
}
