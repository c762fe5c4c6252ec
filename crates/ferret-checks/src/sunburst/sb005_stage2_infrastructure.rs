//! SB005 sunburst-stage2-infrastructure: the published stage-2 domains (the CNAME targets
//! SUNBURST handed its chosen victims to) and addresses, in DNS, proxy and web logs.

use std::sync::Arc;

use ferret_core::Severity;
use ferret_logs::Event;

use crate::detector::{Campaign, Detector, Doc, Info, Input, Out, Registration, evidence};
use crate::intel::CheckIntel;
use crate::inventory::LogSource;
use crate::sunburst::{REF_AA20_352A, REF_AA21_008A, REF_FIREEYE, REF_FIREEYE_IOCS};

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "SB005",
        name: "sunburst-stage2-infrastructure",
        title: "Traffic to published SUNBURST stage-2 infrastructure",
        campaign: Campaign::Sunburst,
        severity: Severity::High,
        inputs: &[
            Input::Log(LogSource::Dns),
            Input::Log(LogSource::WebAccess),
            Input::Log(LogSource::Syslog),
            Input::Log(LogSource::Other),
        ],
        needles: &[],
        doc: Doc {
            what: "Log lines (DNS queries and answers, proxy and web access logs, syslog, Zeek \
                   and JSON logs; not IIS logs, which record inbound requests to the server) naming a published stage-2 domain or one of its subdomains \
                   or address (the eleven domains and ten addresses of the FireEye/Mandiant \
                   release): evidence. \
                   The wider CISA CHIRP AA21-008A network list (more domains and about two \
                   thousand addresses, confidence 3 there): leads. The data is \
                   the intel table `sunburst/network.tsv` (or an intel pack's).",
            why: "A victim whose beacon carried the stage-2 flag received a CNAME pointing at \
                  one of these hosts and then talked to it over HTTPS: a hit means the \
                  operators chose the site for hands-on activity (TEARDROP, Cobalt Strike).",
            evidence: "The indicator, its source, the log line, file, line and time.",
            false_positives: "The domains were sinkholed or re-registered after December \
                              2020, and cloud addresses change hands: weigh hits after that \
                              date accordingly. Security tools resolving indicators for \
                              lookups also appear.",
            references: &[REF_FIREEYE, REF_FIREEYE_IOCS, REF_AA20_352A, REF_AA21_008A],
        },
    },
    build: |opts| Ok(Box::new(Stage2 { intel: opts.intel.clone() })),
};

struct Stage2 {
    intel: Arc<CheckIntel>,
}

impl Detector for Stage2 {
    fn needles(&self) -> Option<Vec<String>> {
        Some(self.intel.network.values().to_vec())
    }

    fn on_event(&self, ev: &Event, _: LogSource, out: &mut Out) {
        let line = ev.text();
        let hits = self.intel.network.indicators_in(line);
        let Some(top) = hits.iter().map(|h| h.1.severity).max() else { return };
        let mut f = DETECTOR.info.event_finding(ev);
        f = f.with_score(top.default_score());
        let names: Vec<&str> = hits.iter().map(|h| h.0).collect();
        f.message = Some(format!("SUNBURST stage-2 infrastructure: {}", names.join(", ")));
        for (v, info) in &hits {
            f.push_evidence(evidence("indicator", &format!("{v} ({})", info.source)));
        }
        f.push_evidence(evidence("line", line));
        out.finding(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let k = CheckIntel::builtin();
        let net = &k.network;
        let h = net.indicators_in("query: cdn.freescanonline.com IN A -> 54.193.127.66");
        assert_eq!(h.len(), 2, "{h:?}");
        assert!(h.iter().all(|x| x.1.severity == Severity::High));
        assert!(
            net.indicators_in("query: notfreescanonline.com.example IN A 154.193.127.66")
                .is_empty()
        );
        assert!(net.indicators_in("GET https://www.example.org/ 10.0.0.1").is_empty());
    }
}
