//! SB003 sunburst-report-watcher-retry: the `ReportWatcherRetry` setting of the Orion
//! business-layer configuration, where SUNBURST keeps its state.

use std::path::Path;

use ferret_core::Severity;

use crate::detector::{
    Campaign, Detector, Doc, FileEntry, Info, Input, Out, Registration, evidence, stateless,
};
use crate::inventory::{Marker, normalized};
use crate::sunburst::{REF_AA20_352A, REF_FIREEYE};

/// The registration.
pub static DETECTOR: Registration = Registration {
    info: Info {
        code: "SB003",
        name: "sunburst-report-watcher-retry",
        title: "SUNBURST state in the ReportWatcherRetry setting",
        campaign: Campaign::Sunburst,
        severity: Severity::Medium,
        inputs: &[Input::Tree(Marker::OrionInstall)],
        needles: &[],
        doc: Doc {
            what: "The `ReportWatcherRetry` entry of `SolarWinds.Orion.Core.BusinessLayer.dll.config` \
                   (an `<add key=\"ReportWatcherRetry\" value=\"…\"/>` application setting) when its \
                   value is one of the states SUNBURST writes there: 3 (*Truncate*: the \
                   backdoor disabled itself for good, e.g. after meeting a blocklisted process \
                   or a kill command), 4 (*New*: not yet activated) or 5 (*Append*: active).",
            why: "SUNBURST persists its execution state in this existing setting. With a \
                  trojanized DLL (SB001) the value tells whether the backdoor is still active \
                  or turned itself off; 3 on a host that ran the DLL means it stopped, not that \
                  it never ran.",
            evidence: "The configuration file, the value and its meaning.",
            false_positives: "The setting belongs to the product, so its presence alone proves \
                              nothing: this is a lead to read with SB001 and SB004.",
            references: &[REF_FIREEYE, REF_AA20_352A],
        },
    },
    build: stateless::<ReportWatcherRetry>,
};

#[derive(Default)]
struct ReportWatcherRetry;

/// The value of the `ReportWatcherRetry` application setting, if present.
pub(crate) fn setting(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower.get(from..)?.find("<add ") {
        let start = from + i;
        let end = lower.get(start..)?.find('>').map_or(lower.len(), |e| start + e);
        let tag = text.get(start..end)?;
        if attr(tag, "key").is_some_and(|k| k.eq_ignore_ascii_case("ReportWatcherRetry")) {
            return attr(tag, "value");
        }
        from = end;
    }
    None
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower.get(from..)?.find(name) {
        let at = from + i;
        let before_ok =
            at == 0 || lower.as_bytes().get(at - 1).is_some_and(u8::is_ascii_whitespace);
        let rest = tag.get(at + name.len()..)?.trim_start();
        if before_ok && let Some(rest) = rest.strip_prefix('=') {
            let rest = rest.trim_start();
            let q = rest.chars().next()?;
            if q == '"' || q == '\'' {
                let body = rest.get(1..)?;
                return body.find(q).and_then(|e| body.get(..e)).map(str::to_owned);
            }
        }
        from = at + name.len();
    }
    None
}

fn meaning(value: &str) -> Option<&'static str> {
    match value.trim() {
        "3" => Some("Truncate: the backdoor disabled itself"),
        "4" => Some("New: the backdoor has not activated yet"),
        "5" => Some("Append: the backdoor is active"),
        _ => None,
    }
}

impl Detector for ReportWatcherRetry {
    fn wants_file(&self, path: &Path, size: u64) -> bool {
        size <= 4 * 1024 * 1024
            && normalized(path).ends_with("solarwinds.orion.core.businesslayer.dll.config")
    }

    fn on_file(&self, file: &FileEntry<'_>, out: &mut Out) {
        let Ok(content) = file.content() else { return };
        let Some(value) = setting(&String::from_utf8_lossy(content)) else { return };
        let Some(m) = meaning(&value) else { return };
        let mut f = DETECTOR
            .info
            .finding()
            .with_path(file.path)
            .with_message(format!("SUNBURST state in ReportWatcherRetry: {m}"));
        f.push_evidence(evidence("ReportWatcherRetry", &value));
        f.push_evidence(evidence("meaning", m));
        out.finding(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings() {
        let c = r#"<configuration><appSettings><add key="Other" value="1"/><add value='5' key="ReportWatcherRetry" /></appSettings></configuration>"#;
        assert_eq!(setting(c).as_deref(), Some("5"));
        assert_eq!(setting("<add key=\"x\" value=\"3\"/>"), None);
        assert_eq!(meaning("3"), Some("Truncate: the backdoor disabled itself"));
        assert_eq!(meaning("0"), None);
    }
}
