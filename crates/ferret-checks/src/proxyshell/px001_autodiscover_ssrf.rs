//! PX001 proxyshell-autodiscover-ssrf: the ProxyShell path confusion (CVE-2021-34473) as IIS and
//! Exchange HttpProxy logs record it: a request to the Autodiscover JSON endpoint whose query
//! holds an `@` followed by a back-end path (`/mapi/`, `/powershell`). The patterns are
//! `intel/proxyshell/requests.tsv`.

use ferret_core::Severity;
use ferret_logs::Event;

use crate::detector::{Campaign, Detector, Doc, Info, Input, Out, Registration, evidence, field};
use crate::intel::CheckIntel;
use crate::intel::proxyshell::Requests;
use crate::inventory::LogSource;
use crate::proxyshell::{REF_BLACKHAT, REF_CISA, REF_HUNTRESS, REF_ZDI, score_for, url_decode};

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "PX001",
        name: "proxyshell-autodiscover-ssrf",
        title: "Autodiscover path confusion reaching an Exchange back end (CVE-2021-34473)",
        campaign: Campaign::ProxyShell,
        severity: Severity::Critical,
        inputs: &[Input::Log(LogSource::Iis), Input::Log(LogSource::ExchangeHttpProxy)],
        needles: &["autodiscover"],
        doc: Doc {
            what: "IIS (W3C) and Exchange HttpProxy lines whose URL stem or query (URL-decoded) \
                   is the Autodiscover JSON endpoint (`/autodiscover/autodiscover.json`) and \
                   whose query holds an `@` followed by a back-end path: `/mapi/` (the NSPI \
                   and EMSMDB endpoints the published exploit reads the LegacyDN and SID from) \
                   or `/powershell` (PowerShell remoting, with the forged `X-Rps-CAT` token), \
                   critical; `/ews/`, high. The patterns are `intel/proxyshell/requests.tsv`.",
            why: "This is the request that starts every ProxyShell intrusion: Exchange's \
                  explicit-logon handling strips the `autodiscover.json?@…` prefix and \
                  forwards the rest to the back end as the machine account, with no \
                  authentication. The published exploits and the mass exploitation of August \
                  2021 send exactly this.",
            evidence: "The stem, the query, the status and the client address; the log file, \
                       line and time.",
            false_positives: "Clients query `autodiscover.json` with an e-mail address \
                              (`Email=user@example.org&Protocol=ActiveSync`): an `@` alone is \
                              not a finding, only a back-end path after it. A vulnerability \
                              scanner sends the same request; the status and what follows \
                              (PX002, PX003) tell an attempt from a compromise.",
            references: &[REF_ZDI, REF_BLACKHAT, REF_CISA, REF_HUNTRESS],
        },
    },
    build: |o| Ok(Box::new(AutodiscoverSsrf { intel: o.intel.clone() })),
};

/// What a request shows: (back-end path, severity).
pub(crate) fn classify(p: &Requests, stem: &str, query: &str) -> Option<(String, Severity)> {
    let stem = url_decode(stem).to_ascii_lowercase();
    let query = url_decode(query).to_ascii_lowercase();
    if !p.endpoints.iter().any(|e| stem.contains(e.as_str()) || query.contains(e.as_str())) {
        return None;
    }
    let after_at = query.split_once('@').map(|(_, rest)| rest)?;
    p.targets.iter().find(|(t, _)| after_at.contains(t.as_str())).map(|(t, s)| (t.clone(), *s))
}

struct AutodiscoverSsrf {
    intel: std::sync::Arc<CheckIntel>,
}

impl Detector for AutodiscoverSsrf {
    fn on_event(&self, ev: &Event, source: LogSource, out: &mut Out) {
        let (stem, query, status, ip) = match source {
            LogSource::Iis => ("cs-uri-stem", "cs-uri-query", "sc-status", "c-ip"),
            _ => ("UrlStem", "UrlQuery", "HttpStatus", "ClientIpAddress"),
        };
        let (stem, query) = (field(ev, stem), field(ev, query));
        let Some((target, sev)) = classify(&self.intel.proxyshell.requests, &stem, &query) else {
            return;
        };
        let mut f = DETECTOR.info.event_finding(ev).with_score(score_for(sev));
        f.message = Some(format!(
            "ProxyShell Autodiscover path confusion reaching `{target}` (CVE-2021-34473)"
        ));
        f.push_evidence(evidence("stem", &stem));
        f.push_evidence(evidence("query", &query));
        for (label, name) in [("status", status), ("client", ip)] {
            let v = field(ev, name);
            if !v.is_empty() {
                f.push_evidence(evidence(label, &v));
            }
        }
        out.finding(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(stem: &str, query: &str) -> Option<(String, Severity)> {
        super::classify(&CheckIntel::builtin().proxyshell.requests, stem, query)
    }

    #[test]
    fn requests() {
        let ad = "/autodiscover/autodiscover.json";
        assert_eq!(
            classify(
                ad,
                "@evil.example/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@evil.example"
            )
            .map(|x| x.1),
            Some(Severity::Critical)
        );
        assert_eq!(
            classify(ad, "@x.example/powershell/?X-Rps-CAT=VgEAVAdXaW5kb3dz&Email=autodiscover/autodiscover.json%3F@x.example")
                .map(|x| x.1),
            Some(Severity::Critical)
        );
        assert!(
            classify(ad, "Email=user@example.org&Protocol=ActiveSync&RedirectCount=1").is_none()
        );
        assert!(classify("/mapi/nspi/", "a@b/mapi/").is_none());
        for e in &CheckIntel::builtin().proxyshell.requests.endpoints {
            assert!(e.contains(DETECTOR.info.needles[0]), "the needle must stay necessary");
        }
    }
}
