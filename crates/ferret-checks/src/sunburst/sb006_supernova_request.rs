//! SB006 sunburst-supernova-request: requests to the SUPERNOVA web shell in the Orion web
//! console's IIS logs: `LogoImageHandler.ashx` called with the shell's parameters.

use ferret_core::Severity;
use ferret_logs::Event;

use crate::detector::{
    Campaign, Detector, Doc, Info, Input, Out, Registration, evidence, push_fields, stateless,
};
use crate::inventory::LogSource;
use crate::proxylogon::{field, find_ci};
use crate::sunburst::{REF_FIREEYE, REF_FIREEYE_IOCS, REF_SOLARWINDS};

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "SB006",
        name: "sunburst-supernova-request",
        title: "Request to the SUPERNOVA web shell (LogoImageHandler.ashx with clazz=)",
        campaign: Campaign::Sunburst,
        severity: Severity::High,
        inputs: &[Input::Log(LogSource::Iis), Input::Log(LogSource::WebAccess)],
        needles: &["logoimagehandler.ashx"],
        doc: Doc {
            what: "IIS (and other access-log) requests for `LogoImageHandler.ashx` whose query \
                   string carries the `clazz` parameter, with any of `codes`, `method`, \
                   `args`: the parameters SUPERNOVA reads to compile and run the .NET code it \
                   is sent.",
            why: "SUPERNOVA replaces the Orion web console's logo handler with a web shell that \
                  compiles C# sent in the request (`codes`), then calls the class and method \
                  named by `clazz` and `method` with `args`. The legitimate handler takes none \
                  of these parameters.",
            evidence: "The URL stem and query, client address, user agent, status; the log \
                       file, line and time.",
            false_positives: "None known: the legitimate handler serves images by id. Requests \
                              carrying the parameters in a form body or cookie are not in IIS \
                              logs and are not seen (the planted DLL is, by SB002).",
            references: &[REF_FIREEYE, REF_FIREEYE_IOCS, REF_SOLARWINDS],
        },
    },
    build: stateless::<SupernovaRequest>,
};

#[derive(Default)]
struct SupernovaRequest;

/// Whether a query string carries `name=` as a parameter.
fn has_param(query: &str, name: &str) -> bool {
    query.split('&').any(|kv| {
        let k = kv.split('=').next().unwrap_or("");
        k.eq_ignore_ascii_case(name) && kv.contains('=')
    })
}

/// Whether a stem and query are a SUPERNOVA call.
pub(crate) fn supernova(stem: &str, query: &str) -> bool {
    find_ci(stem, "logoimagehandler.ashx").is_some()
        && has_param(query, "clazz")
        && ["codes", "method", "args"].iter().any(|p| has_param(query, p))
}

impl Detector for SupernovaRequest {
    fn on_event(&self, ev: &Event, _: LogSource, out: &mut Out) {
        let stem = field(ev, "cs-uri-stem");
        let query = field(ev, "cs-uri-query");
        if !supernova(&stem, &query) {
            return;
        }
        let mut f = DETECTOR.info.event_finding(ev);
        f.push_evidence(evidence("cs-uri-stem", &stem));
        f.push_evidence(evidence("cs-uri-query", &query));
        push_fields(&mut f, ev, &["c-ip", "cs-user-agent", "sc-status"]);
        out.finding(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls() {
        assert!(supernova(
            "/Orion/LogoImageHandler.ashx",
            "codes=dXNpbmc%3D&clazz=A&method=Run&args=x"
        ));
        assert!(!supernova("/Orion/LogoImageHandler.ashx", "id=SitelogoImage"));
        assert!(!supernova("/Orion/Other.ashx", "clazz=A&method=B"));
        assert!(!supernova("/Orion/LogoImageHandler.ashx", "clazz=A"));
    }
}
