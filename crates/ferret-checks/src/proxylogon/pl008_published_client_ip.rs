//! PL008 proxylogon-published-client-ip: requests from the addresses published for the
//! ProxyLogon exploitation.

use ferret_core::Severity;
use ferret_logs::Event;

use crate::detector::{
    Campaign, Detector, Doc, Info, Input, Out, Registration, evidence, push_fields, stateless,
};
use crate::inventory::LogSource;
use crate::proxylogon::{REF_AA21_062A, REF_VOLEXITY, field};

/// The addresses Volexity published (CISA's AA21-062A indicator file repeats them).
const ADDRESSES: &[&str] = &[
    "103.77.192.219",
    "104.140.114.110",
    "104.250.191.110",
    "108.61.246.56",
    "149.28.14.163",
    "157.230.221.198",
    "167.99.168.251",
    "185.250.151.72",
    "192.81.208.169",
    "203.160.69.66",
    "211.56.98.146",
    "5.2.69.14",
    "5.254.43.18",
    "80.92.205.81",
    "91.192.103.43",
];

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "PL008",
        name: "proxylogon-published-client-ip",
        title: "Request from an address published for the ProxyLogon exploitation",
        campaign: Campaign::ProxyLogon,
        severity: Severity::Medium,
        inputs: &[Input::Log(LogSource::ExchangeHttpProxy), Input::Log(LogSource::Iis)],
        needles: ADDRESSES,
        doc: Doc {
            what: "HttpProxy and IIS log requests whose client address (`ClientIpAddress`, \
                   `c-ip`) is one of the fifteen addresses Volexity published for the \
                   exploitation it observed.",
            why: "These addresses sent the exploitation requests Volexity saw from January \
                  2021; a request from one of them says the server was in the attackers' \
                  sights in that period.",
            evidence: "The client address, method, stem and status; the log file, line and \
                       time.",
            false_positives: "The addresses belong to VPS and VPN providers and will have \
                              changed hands since: a lead (medium), never evidence on its own. \
                              Weigh the date of the request.",
            references: &[REF_VOLEXITY, REF_AA21_062A],
        },
    },
    build: stateless::<PublishedClientIp>,
};

/// The detector (stateless).
#[derive(Default)]
struct PublishedClientIp;

impl Detector for PublishedClientIp {
    fn on_event(&self, ev: &Event, _: LogSource, out: &mut Out) {
        let ip = field(ev, "c-ip");
        let ip = ip.trim();
        if !ADDRESSES.contains(&ip) {
            return;
        }
        let mut f = DETECTOR.info.event_finding(ev);
        f.push_evidence(evidence("c-ip", ip));
        push_fields(&mut f, ev, &["cs-method", "cs-uri-stem", "sc-status"]);
        out.finding(f);
    }
}
