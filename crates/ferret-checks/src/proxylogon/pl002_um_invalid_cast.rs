//! PL002 proxylogon-um-deserialization: CVE-2021-26857 as the Application event log records it.

use ferret_core::{FieldValue, Fields as _, Severity};
use ferret_logs::Event;

use crate::detector::{
    Campaign, Detector, Doc, Info, Input, Out, Registration, evidence, stateless,
};
use crate::inventory::LogSource;
use crate::proxylogon::{REF_AA21_062A, REF_MSFT_HAFNIUM, field};

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "PL002",
        name: "proxylogon-um-deserialization",
        title: "Unified Messaging error with System.InvalidCastException (CVE-2021-26857)",
        campaign: Campaign::ProxyLogon,
        severity: Severity::High,
        inputs: &[Input::Log(LogSource::WindowsEvent)],
        needles: &[],
        doc: Doc {
            what: "Error events in the Application event log from the source `MSExchange \
                   Unified Messaging` whose text carries `System.InvalidCastException`.",
            why: "CVE-2021-26857 is an insecure deserialization in the Unified Messaging \
                  service that runs the attacker's code as SYSTEM. Microsoft published this \
                  event as the trace its exploitation leaves.",
            evidence: "The provider, event id, level, and the event data that carries the \
                       exception; the log file, record id and time.",
            false_positives: "Unified Messaging can fail with an invalid cast for other \
                              reasons; the event is worth a look in any case, and together with \
                              PL001 hits of the same period it is strong evidence.",
            references: &[REF_MSFT_HAFNIUM, REF_AA21_062A],
        },
    },
    build: stateless::<UmInvalidCast>,
};

/// The detector (stateless).
#[derive(Default)]
struct UmInvalidCast;

/// The first field whose text contains `needle`, as `(name, text)`.
fn field_containing(ev: &Event, needle: &str) -> Option<(String, String)> {
    let mut found = None;
    ev.for_each(&mut |name, v| {
        if found.is_some() {
            return;
        }
        let texts: Vec<String> = match &v {
            FieldValue::List(l) => {
                l.iter().filter_map(|x| x.as_text().map(std::borrow::Cow::into_owned)).collect()
            }
            other => other.as_text().map(std::borrow::Cow::into_owned).into_iter().collect(),
        };
        for t in texts {
            if t.contains(needle) {
                found = Some((name.to_owned(), t));
                return;
            }
        }
    });
    found
}

impl Detector for UmInvalidCast {
    fn on_event(&self, ev: &Event, _: LogSource, out: &mut Out) {
        let provider = field(ev, "Provider_Name");
        if !provider.eq_ignore_ascii_case("MSExchange Unified Messaging") {
            return;
        }
        // Error: level 2 in the event log; absent levels (some exports) are not held against it.
        let level = field(ev, "Level");
        if !(level.is_empty() || level == "2" || level.eq_ignore_ascii_case("error")) {
            return;
        }
        let channel = ev.channel.as_deref().unwrap_or("");
        if !(channel.is_empty() || channel.eq_ignore_ascii_case("Application")) {
            return;
        }
        let Some((name, text)) = field_containing(ev, "System.InvalidCastException") else {
            return;
        };
        let mut f = DETECTOR.info.event_finding(ev);
        f.push_evidence(evidence("Provider_Name", &provider));
        let id = field(ev, "EventID");
        if !id.is_empty() {
            f.push_evidence(evidence("EventID", &id));
        }
        f.push_evidence(evidence(&name, &text));
        out.finding(f);
    }
}
