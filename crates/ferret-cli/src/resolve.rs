//! Finding the collector's address without the C library's resolver.
//!
//! The host build of ferret is linked statically (glibc with `crt-static`). glibc's
//! `getaddrinfo` then still loads NSS modules (`libnss_files`, `libnss_dns`) at run time, which
//! must match the glibc ferret was built with and are absent from a bare root: a static binary
//! that calls it fails or misbehaves on exactly the hosts it is carried onto. So every HTTP
//! client ferret makes (enroll, report, agent, admin, intel pull) resolves names here:
//!
//! 1. an IP literal is used as it is; `localhost` (and `*.localhost`) is the loopback;
//! 2. otherwise `/etc/hosts` (every address listed for the name, in file order);
//! 3. otherwise DNS: A and AAAA queries over UDP (TCP when the answer is truncated) to the
//!    `nameserver`s of `/etc/resolv.conf`, with its `search`, `ndots`, `timeout` and
//!    `attempts` (glibc's defaults when absent: 127.0.0.1, ndots 1, 5 s, 2 attempts).
//!
//! DNS messages are built and parsed by `hickory-proto`. An answer counts only when it comes
//! from the server asked (connected socket), carries the query's id, is a response and repeats
//! the question; A/AAAA records count only for the name asked or a CNAME chain from it.

use std::io::{self, Read as _, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use ureq::config::{Config, IpFamily};
use ureq::http::Uri;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// Largest UDP answer read (no EDNS is sent, so servers keep to 512 bytes or truncate).
const UDP_MAX: usize = 4096;
/// At most this many nameservers are asked, as glibc (`MAXNS`).
const MAX_NAMESERVERS: usize = 3;

/// The resolver given to every ureq agent ferret builds.
#[derive(Debug, Clone)]
pub struct NameResolver {
    hosts: PathBuf,
    resolv_conf: PathBuf,
    dns_port: u16,
}

impl Default for NameResolver {
    fn default() -> Self {
        Self::new("/etc/hosts".into(), "/etc/resolv.conf".into(), 53)
    }
}

/// What `/etc/resolv.conf` says (the parts a stub resolver uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvConf {
    /// `nameserver` lines, at most three, in order.
    pub nameservers: Vec<IpAddr>,
    /// `search` (or `domain`) suffixes, in order.
    pub search: Vec<String>,
    /// `options ndots:N`.
    pub ndots: usize,
    /// `options timeout:N`: per query and server.
    pub timeout: Duration,
    /// `options attempts:N`: rounds over the servers.
    pub attempts: u32,
}

impl Default for ResolvConf {
    fn default() -> Self {
        Self {
            nameservers: Vec::new(),
            search: Vec::new(),
            ndots: 1,
            timeout: Duration::from_secs(5),
            attempts: 2,
        }
    }
}

impl ResolvConf {
    /// Parses resolv.conf text; unknown lines and bad values are skipped, as glibc does.
    pub fn parse(text: &str) -> Self {
        let mut conf = Self::default();
        for line in text.lines() {
            let line = line.split(['#', ';']).next().unwrap_or("");
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => {
                    // A link-local IPv6 server may carry a zone (`fe80::1%eth0`): not usable
                    // without the interface index, so such a line is skipped.
                    if let Some(ip) = words.next().and_then(|w| w.parse::<IpAddr>().ok())
                        && conf.nameservers.len() < MAX_NAMESERVERS
                    {
                        conf.nameservers.push(ip);
                    }
                }
                Some("search" | "domain") => {
                    conf.search = words
                        .map(|w| w.trim_end_matches('.').to_ascii_lowercase())
                        .filter(|w| !w.is_empty())
                        .collect();
                }
                Some("options") => {
                    for opt in words {
                        let (key, val) = opt.split_once(':').unwrap_or((opt, ""));
                        let Ok(n) = val.parse::<u32>() else { continue };
                        match key {
                            "ndots" => conf.ndots = n.min(15) as usize,
                            "timeout" => {
                                conf.timeout = Duration::from_secs(u64::from(n.clamp(1, 30)));
                            }
                            "attempts" => conf.attempts = n.clamp(1, 5),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        conf
    }
}

/// The addresses `/etc/hosts` text lists for `name` (case-insensitive), in file order.
pub fn hosts_lookup(text: &str, name: &str) -> Vec<IpAddr> {
    let name = name.trim_end_matches('.');
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let Some(addr) = words.next().and_then(|a| a.parse::<IpAddr>().ok()) else { continue };
        if words.any(|w| w.trim_end_matches('.').eq_ignore_ascii_case(name)) && !out.contains(&addr)
        {
            out.push(addr);
        }
    }
    out
}

/// How one DNS query ended.
#[derive(Debug)]
enum Answer {
    Addrs(Vec<IpAddr>),
    /// The name does not exist (or has no such record): try the next candidate name.
    NoSuchName,
}

impl NameResolver {
    /// A resolver reading the given hosts and resolv.conf files and asking DNS servers on
    /// `dns_port` (53 but in tests).
    pub fn new(hosts: PathBuf, resolv_conf: PathBuf, dns_port: u16) -> Self {
        Self { hosts, resolv_conf, dns_port }
    }

    /// The addresses of `host` (a name or an IP literal, IPv6 with or without brackets).
    pub fn lookup(
        &self,
        host: &str,
        family: IpFamily,
        budget: Option<Duration>,
    ) -> io::Result<Vec<IpAddr>> {
        let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        let name = bare.trim_end_matches('.').to_ascii_lowercase();
        if name.is_empty() || name.len() > 253 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{host:?} is not a host name"),
            ));
        }
        if name == "localhost" || name.ends_with(".localhost") {
            return Ok(vec![IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)]);
        }
        if let Ok(text) = std::fs::read_to_string(&self.hosts) {
            let found = hosts_lookup(&text, &name);
            if !found.is_empty() {
                return Ok(found);
            }
        }
        let conf = std::fs::read_to_string(&self.resolv_conf)
            .map(|t| ResolvConf::parse(&t))
            .unwrap_or_default();
        self.dns_lookup(&name, &conf, family, budget)
    }

    fn dns_lookup(
        &self,
        name: &str,
        conf: &ResolvConf,
        family: IpFamily,
        budget: Option<Duration>,
    ) -> io::Result<Vec<IpAddr>> {
        let servers: Vec<SocketAddr> = if conf.nameservers.is_empty() {
            vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), self.dns_port)]
        } else {
            conf.nameservers.iter().map(|ip| SocketAddr::new(*ip, self.dns_port)).collect()
        };
        let deadline = budget.map(|b| Instant::now() + b);
        let types: &[RecordType] = match family {
            IpFamily::Ipv4Only => &[RecordType::A],
            IpFamily::Ipv6Only => &[RecordType::AAAA],
            IpFamily::Any => &[RecordType::A, RecordType::AAAA],
        };
        let mut last_err = None;
        for candidate in candidates(name, conf) {
            let Ok(qname) = Name::from_ascii(format!("{candidate}.")) else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{name:?} is not a host name"),
                ));
            };
            let mut addrs = Vec::new();
            let mut answered = false;
            for &rtype in types {
                match ask_servers(&servers, &qname, rtype, conf, deadline) {
                    Ok(Answer::Addrs(a)) => {
                        answered = true;
                        addrs.extend(a);
                    }
                    Ok(Answer::NoSuchName) => answered = true,
                    Err(e) => last_err = Some(e),
                }
            }
            if !addrs.is_empty() {
                return Ok(addrs);
            }
            if !answered {
                break;
            }
        }
        Err(match last_err {
            Some(e) => io::Error::new(e.kind(), format!("cannot resolve {name}: {e}")),
            None => io::Error::new(io::ErrorKind::NotFound, format!("{name}: no such host (DNS)")),
        })
    }
}

/// The names to ask for, in order: as given first when it has at least `ndots` dots,
/// otherwise after the search suffixes.
fn candidates(name: &str, conf: &ResolvConf) -> Vec<String> {
    let searched = conf.search.iter().map(|s| format!("{name}.{s}"));
    if name.matches('.').count() >= conf.ndots {
        std::iter::once(name.to_owned()).chain(searched).collect()
    } else {
        searched.chain(std::iter::once(name.to_owned())).collect()
    }
}

fn ask_servers(
    servers: &[SocketAddr],
    qname: &Name,
    rtype: RecordType,
    conf: &ResolvConf,
    deadline: Option<Instant>,
) -> io::Result<Answer> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no nameserver");
    for _ in 0..conf.attempts {
        for server in servers {
            let mut timeout = conf.timeout;
            if let Some(d) = deadline {
                timeout = timeout.min(d.saturating_duration_since(Instant::now()));
                if timeout.is_zero() {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "timed out resolving the name",
                    ));
                }
            }
            match query(*server, qname, rtype, timeout) {
                Ok(a) => return Ok(a),
                Err(e) => last = io::Error::new(e.kind(), format!("nameserver {server}: {e}")),
            }
        }
    }
    Err(last)
}

/// One query to one server: UDP, then TCP if the UDP answer was truncated.
fn query(
    server: SocketAddr,
    qname: &Name,
    rtype: RecordType,
    timeout: Duration,
) -> io::Result<Answer> {
    let mut msg = Message::query();
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(qname.clone(), rtype));
    let id = msg.metadata.id;
    let wire = msg.to_vec().map_err(io::Error::other)?;

    let bind: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = UdpSocket::bind(bind)?;
    // Connected: the kernel drops datagrams from any other source.
    sock.connect(server)?;
    sock.set_read_timeout(Some(timeout))?;
    sock.send(&wire)?;
    let start = Instant::now();
    let mut buf = vec![0u8; UDP_MAX];
    loop {
        let n = sock.recv(&mut buf)?;
        // A stray or spoofed datagram (wrong id, not an answer to this question) is ignored.
        let Some(reply) = parse(&buf[..n]) else { continue };
        if !matches_question(&reply, id, qname, rtype) {
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "no answer"));
            }
            sock.set_read_timeout(Some(left))?;
            continue;
        }
        if reply.metadata.truncation {
            return query_tcp(server, &wire, id, qname, rtype, timeout);
        }
        return interpret(&reply, qname);
    }
}

fn query_tcp(
    server: SocketAddr,
    wire: &[u8],
    id: u16,
    qname: &Name,
    rtype: RecordType,
    timeout: Duration,
) -> io::Result<Answer> {
    let mut stream = TcpStream::connect_timeout(&server, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let len = u16::try_from(wire.len()).map_err(io::Error::other)?;
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(wire);
    stream.write_all(&framed)?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len)?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut buf)?;
    let reply = parse(&buf)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unreadable DNS answer"))?;
    if !matches_question(&reply, id, qname, rtype) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the TCP answer is for another question",
        ));
    }
    interpret(&reply, qname)
}

/// A DNS message from the wire, or `None` when it does not parse. The answer is untrusted
/// input: a panic in the parser is caught and counts as an unreadable answer.
fn parse(bytes: &[u8]) -> Option<Message> {
    std::panic::catch_unwind(|| Message::from_vec(bytes).ok()).ok().flatten()
}

fn matches_question(reply: &Message, id: u16, qname: &Name, rtype: RecordType) -> bool {
    reply.metadata.id == id
        && reply.metadata.message_type == MessageType::Response
        && reply.queries.len() == 1
        && reply.queries[0].name() == qname
        && reply.queries[0].query_type() == rtype
}

fn interpret(reply: &Message, qname: &Name) -> io::Result<Answer> {
    match reply.metadata.response_code {
        ResponseCode::NoError => {}
        ResponseCode::NXDomain => return Ok(Answer::NoSuchName),
        other => {
            return Err(io::Error::other(format!("the nameserver answered {other}")));
        }
    }
    // Follow the CNAME chain from the name asked; addresses count only for names on it.
    let mut names = vec![qname.clone()];
    for _ in 0..8 {
        let before = names.len();
        for r in &reply.answers {
            if let RData::CNAME(target) = &r.data
                && names.contains(&r.name)
                && !names.contains(&target.0)
            {
                names.push(target.0.clone());
            }
        }
        if names.len() == before {
            break;
        }
    }
    let mut addrs = Vec::new();
    for r in &reply.answers {
        if !names.contains(&r.name) {
            continue;
        }
        match &r.data {
            RData::A(a) => addrs.push(IpAddr::V4(a.0)),
            RData::AAAA(a) => addrs.push(IpAddr::V6(a.0)),
            _ => {}
        }
    }
    if addrs.is_empty() { Ok(Answer::NoSuchName) } else { Ok(Answer::Addrs(addrs)) }
}

impl Resolver for NameResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let port = match (uri.scheme_str(), uri.authority()) {
            (Some(scheme), Some(authority)) => match authority.port_u16() {
                Some(p) => p,
                None if scheme.eq_ignore_ascii_case("https") => 443,
                None if scheme.eq_ignore_ascii_case("http") => 80,
                None => return Err(ureq::Error::BadUri(format!("unknown scheme: {scheme}"))),
            },
            _ => return Err(ureq::Error::BadUri(format!("{uri} has no scheme or host"))),
        };
        let host = uri.authority().map(ureq::http::uri::Authority::host).unwrap_or_default();
        let budget = (!timeout.after.is_not_happening()).then(|| *timeout.after);
        let family = config.ip_family();
        let ips = self.lookup(host, family, budget).map_err(ureq::Error::Io)?;
        let mut out = self.empty();
        for sa in family.keep_wanted(ips.into_iter().map(|ip| SocketAddr::new(ip, port))).take(16) {
            out.push(sa);
        }
        if out.is_empty() { Err(ureq::Error::HostNotFound) } else { Ok(out) }
    }
}

#[cfg(test)]
#[expect(clippy::disallowed_methods, reason = "fixtures in the test's temporary directory")]
mod tests {
    use super::*;
    use hickory_proto::rr::Record;
    use hickory_proto::rr::rdata::{A, CNAME};

    #[test]
    fn hosts_file_lines() {
        let text = "# comment 10.0.0.9 collector\n\
                    127.0.0.1\tlocalhost\n\
                    10.0.0.5   collector.corp.example  collector # the fleet collector\n\
                    not-an-ip  collector\n\
                    fe80::1%eth0 collector\n\
                    2001:db8::5 Collector.Corp.Example.\n\
                    10.0.0.5   collector\n";
        assert_eq!(
            hosts_lookup(text, "collector.corp.example"),
            vec!["10.0.0.5".parse::<IpAddr>().unwrap(), "2001:db8::5".parse().unwrap()]
        );
        assert_eq!(hosts_lookup(text, "COLLECTOR"), vec!["10.0.0.5".parse::<IpAddr>().unwrap()]);
        assert!(hosts_lookup(text, "comment").is_empty());
        assert!(hosts_lookup(text, "corp.example").is_empty());
    }

    #[test]
    fn resolv_conf_lines() {
        let conf = ResolvConf::parse(
            "# generated\nnameserver 192.0.2.53\nnameserver fe80::1%eth0\nnameserver 2001:db8::53 ; v6\n\
             nameserver 192.0.2.54\nnameserver 192.0.2.55\nsearch Corp.Example lab.example.\n\
             options ndots:2 timeout:3 attempts:9 rotate\n",
        );
        assert_eq!(
            conf.nameservers,
            vec![
                "192.0.2.53".parse::<IpAddr>().unwrap(),
                "2001:db8::53".parse().unwrap(),
                "192.0.2.54".parse().unwrap()
            ]
        );
        assert_eq!(conf.search, vec!["corp.example", "lab.example"]);
        assert_eq!((conf.ndots, conf.timeout, conf.attempts), (2, Duration::from_secs(3), 5));
        assert_eq!(ResolvConf::parse(""), ResolvConf::default());
        assert_eq!(
            candidates("collector", &conf),
            vec!["collector.corp.example", "collector.lab.example", "collector"]
        );
        assert_eq!(candidates("a.b.c", &conf)[0], "a.b.c");
    }

    #[test]
    fn literals_and_localhost_need_no_files() {
        let r =
            NameResolver::new("/nonexistent/hosts".into(), "/nonexistent/resolv.conf".into(), 1);
        let v4 = r.lookup("192.0.2.1", IpFamily::Any, None).unwrap();
        assert_eq!(v4, vec!["192.0.2.1".parse::<IpAddr>().unwrap()]);
        let v6 = r.lookup("[2001:db8::1]", IpFamily::Any, None).unwrap();
        assert_eq!(v6, vec!["2001:db8::1".parse::<IpAddr>().unwrap()]);
        assert!(
            r.lookup("LocalHost", IpFamily::Any, None)
                .unwrap()
                .contains(&IpAddr::V4(Ipv4Addr::LOCALHOST))
        );
    }

    /// A DNS server on a loopback UDP port that answers `answers` queries: A records for
    /// `collector.corp.example` (through a CNAME), NXDOMAIN for anything else. A stray
    /// datagram with a wrong id is sent before each real answer and must be ignored.
    fn responder(answers: usize) -> (u16, std::thread::JoinHandle<Vec<String>>) {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = sock.local_addr().unwrap().port();
        let handle = std::thread::spawn(move || {
            let mut asked = Vec::new();
            let mut buf = [0u8; 512];
            for _ in 0..answers {
                let (n, from) = sock.recv_from(&mut buf).unwrap();
                let q = Message::from_vec(&buf[..n]).unwrap();
                let query = q.queries[0].clone();
                asked.push(format!("{} {}", query.name(), query.query_type()));
                let mut stray =
                    Message::response(q.metadata.id.wrapping_add(1), q.metadata.op_code);
                stray.add_query(query.clone());
                stray.add_answer(Record::from_rdata(
                    query.name().clone(),
                    60,
                    RData::A(A::new(203, 0, 113, 66)),
                ));
                sock.send_to(&stray.to_vec().unwrap(), from).unwrap();
                let mut reply = Message::response(q.metadata.id, q.metadata.op_code);
                reply.add_query(query.clone());
                let wanted = Name::from_ascii("collector.corp.example.").unwrap();
                if query.name() == &wanted && query.query_type() == RecordType::A {
                    let canon = Name::from_ascii("fleet.corp.example.").unwrap();
                    reply.add_answer(Record::from_rdata(
                        wanted,
                        60,
                        RData::CNAME(CNAME(canon.clone())),
                    ));
                    reply.add_answer(Record::from_rdata(canon, 60, RData::A(A::new(192, 0, 2, 7))));
                    // Not on the chain: must not be used.
                    let other = Name::from_ascii("elsewhere.example.").unwrap();
                    reply.add_answer(Record::from_rdata(
                        other,
                        60,
                        RData::A(A::new(198, 51, 100, 9)),
                    ));
                } else if query.name() != &wanted {
                    reply.metadata.response_code = ResponseCode::NXDomain;
                }
                sock.send_to(&reply.to_vec().unwrap(), from).unwrap();
            }
            asked
        });
        (port, handle)
    }

    #[test]
    fn dns_query_over_loopback() {
        let dir = tempfile::tempdir().unwrap();
        let hosts = dir.path().join("hosts");
        let resolv = dir.path().join("resolv.conf");
        std::fs::write(&hosts, "127.0.0.1 localhost\n").unwrap();
        std::fs::write(&resolv, "nameserver 127.0.0.1\nsearch corp.example\noptions timeout:5\n")
            .unwrap();
        // "collector" has no dot: the search suffix is tried first and answers (A: the
        // address; AAAA: no record), so the bare name is never asked.
        let (port, server) = responder(2);
        let r = NameResolver::new(hosts, resolv, port);
        let got = r.lookup("collector", IpFamily::Any, Some(Duration::from_secs(20))).unwrap();
        assert_eq!(got, vec!["192.0.2.7".parse::<IpAddr>().unwrap()]);
        assert_eq!(
            server.join().unwrap(),
            vec!["collector.corp.example. A", "collector.corp.example. AAAA"]
        );
    }

    #[test]
    fn ureq_agent_uses_the_resolver() {
        let dir = tempfile::tempdir().unwrap();
        let hosts = dir.path().join("hosts");
        std::fs::write(&hosts, "127.0.0.1 collector.test\n").unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                req.extend_from_slice(&buf[..n]);
            }
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                .unwrap();
            String::from_utf8_lossy(&req).into_owned()
        });
        let resolver = NameResolver::new(hosts, dir.path().join("none"), 1);
        let agent = ureq::Agent::with_parts(
            ureq::Agent::config_builder().build(),
            ureq::unversioned::transport::DefaultConnector::default(),
            resolver,
        );
        let mut resp = agent.get(&format!("http://collector.test:{port}/x")).call().unwrap();
        assert_eq!(resp.body_mut().read_to_string().unwrap(), "ok");
        assert!(server.join().unwrap().to_ascii_lowercase().contains("host: collector.test"));
    }

    #[test]
    fn unknown_name_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let resolv = dir.path().join("resolv.conf");
        std::fs::write(&resolv, "nameserver 127.0.0.1\n").unwrap();
        let (port, server) = responder(2);
        let r = NameResolver::new(dir.path().join("hosts"), resolv, port);
        let err = r.lookup("nowhere.example", IpFamily::Any, None).unwrap_err();
        assert!(err.to_string().contains("nowhere.example"), "{err}");
        server.join().unwrap();
    }
}
