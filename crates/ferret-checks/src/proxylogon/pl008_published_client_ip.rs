//! PL008 proxylogon-published-client-ip: requests from the addresses published for the
//! ProxyLogon exploitation.

use ferret_core::Severity;
use ferret_logs::Event;

use crate::detector::{
    Campaign, Detector, Doc, Info, Input, Out, Registration, evidence, push_fields,
};
use crate::inventory::LogSource;
use crate::proxylogon::{REF_AA21_062A, REF_VOLEXITY, field};

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "PL008",
        name: "proxylogon-published-client-ip",
        title: "Request from an address published for the ProxyLogon exploitation",
        campaign: Campaign::ProxyLogon,
        severity: Severity::Medium,
        inputs: &[Input::Log(LogSource::ExchangeHttpProxy), Input::Log(LogSource::Iis)],
        needles: &[],
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
    build: |opts| Ok(Box::new(PublishedClientIp { addresses: opts.intel.client_ips.clone() })),
};

/// The detector: the published addresses (`proxylogon/client-ips.tsv`).
struct PublishedClientIp {
    addresses: Vec<String>,
}

impl Detector for PublishedClientIp {
    fn needles(&self) -> Option<Vec<String>> {
        Some(self.addresses.clone())
    }

    fn on_event(&self, ev: &Event, _: LogSource, out: &mut Out) {
        let ip = field(ev, "c-ip");
        let ip = ip.trim();
        if !self.addresses.iter().any(|a| a == ip) {
            return;
        }
        let mut f = DETECTOR.info.event_finding(ev);
        f.push_evidence(evidence("c-ip", ip));
        push_fields(&mut f, ev, &["cs-method", "cs-uri-stem", "sc-status"]);
        out.finding(f);
    }
}
