//! PL001 proxylogon-anchor-mailbox-ssrf: the CVE-2021-26855 server-side request forgery as
//! Exchange's HttpProxy logs record it. The worked example of a log-event detector.

use ferret_core::Severity;
use ferret_logs::Event;

use crate::detector::{
    Campaign, Detector, Doc, Info, Input, Out, Registration, evidence, push_fields, stateless,
};
use crate::inventory::LogSource;
use crate::proxylogon::{
    REF_AA21_062A, REF_MSFT_HAFNIUM, REF_VOLEXITY, field, find_ci, starts_with_ci,
};

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "PL001",
        name: "proxylogon-anchor-mailbox-ssrf",
        title: "HttpProxy request with a forged ServerInfo~ anchor mailbox (CVE-2021-26855 SSRF)",
        campaign: Campaign::ProxyLogon,
        severity: Severity::High,
        inputs: &[Input::Log(LogSource::ExchangeHttpProxy)],
        needles: &["ServerInfo~"],
        doc: Doc {
            what: "Requests in the Exchange HttpProxy logs whose `AnchorMailbox` has the form \
                   `ServerInfo~<host>/<path>` and that carry no authenticated user: the \
                   front end was told to proxy an unauthenticated request to a back-end URL of \
                   the caller's choosing. Anchors naming `localhost`, and those whose path is \
                   the `/autodiscover` endpoint, are left out, as in Microsoft's published \
                   query.",
            why: "This is how CVE-2021-26855 is exploited: the forged anchor mailbox (sent in \
                  the `X-AnonResource-Backend` / `X-BEResource` cookie) makes the Client Access \
                  front end authenticate to the back end as the Exchange server itself. Every \
                  later step of the ProxyLogon chain (ECP virtual-directory abuse, file write) \
                  rides on it.",
            evidence: "`AnchorMailbox`, `UrlStem`, `ClientIpAddress`, `UserAgent`, \
                       `HttpStatus`; the log file, line and time.",
            false_positives: "Microsoft's guidance leaves out anchors for `localhost` and the \
                              autodiscover endpoint, which Exchange itself and scanners \
                              produce; the rest are exploitation attempts. A patched server \
                              still logs attempts (look at `HttpStatus` and `BackEndStatus` to \
                              tell a refused attempt from a served one), so a hit says the \
                              server was targeted and, before March 2021 patches, very likely \
                              reached.",
            references: &[REF_MSFT_HAFNIUM, REF_AA21_062A, REF_VOLEXITY],
        },
    },
    build: stateless::<AnchorMailbox>,
};

/// The detector (stateless).
#[derive(Default)]
struct AnchorMailbox;

/// Whether an `AnchorMailbox` value is `ServerInfo~*/*` and not one of the excluded forms.
pub(crate) fn forged_anchor(anchor: &str) -> bool {
    const PREFIX: &str = "ServerInfo~";
    if !starts_with_ci(anchor, PREFIX) {
        return false;
    }
    let rest = anchor.get(PREFIX.len()..).unwrap_or("");
    let Some(slash) = rest.find('/') else { return false };
    if starts_with_ci(rest, "localhost") {
        return false;
    }
    // `ServerInfo~*/autodiscover*`: a `/autodiscover` after the host part.
    find_ci(rest.get(slash..).unwrap_or(""), "/autodiscover").is_none()
}

impl Detector for AnchorMailbox {
    fn on_event(&self, ev: &Event, _: LogSource, out: &mut Out) {
        let anchor = field(ev, "AnchorMailbox");
        if !forged_anchor(&anchor) {
            return;
        }
        // Microsoft's query keeps only unauthenticated requests.
        if !field(ev, "AuthenticatedUser").trim().is_empty() {
            return;
        }
        let mut f = DETECTOR.info.event_finding(ev);
        f.push_evidence(evidence("AnchorMailbox", &anchor));
        push_fields(&mut f, ev, &["UrlStem", "ClientIpAddress", "UserAgent", "HttpStatus"]);
        out.finding(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors() {
        assert!(forged_anchor("ServerInfo~a]@mail01.example.org:444/mapi/emsmdb/?#"));
        assert!(forged_anchor("serverinfo~a]@mail01/ecp/proxyLogon.ecp?#"));
        assert!(!forged_anchor(
            "ServerInfo~a]@mail01.example.org:444/autodiscover/autodiscover.xml?#"
        ));
        assert!(!forged_anchor("ServerInfo~localhost/ecp/x"));
        assert!(!forged_anchor("ServerInfo~mail01.example.org"));
        assert!(!forged_anchor("SMTP:alice@example.org"));
        assert!(!forged_anchor(""));
    }
}
