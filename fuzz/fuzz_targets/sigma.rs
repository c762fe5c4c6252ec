//! Fuzz target: the Sigma rule loader and compiler (YAML → rules → matcher), then evaluation
//! of two events through the routed and the exhaustive path (which must agree) and the
//! correlator.
#![no_main]

use std::borrow::Cow;
use std::path::Path;

use ferret_core::{FieldValue, Fields};
use ferret_sigma::{LoadOptions, RuleSet};
use libfuzzer_sys::fuzz_target;

/// An event with a few typical Windows fields.
struct Fixed;

const FIXED: &[(&str, &str)] = &[
    ("Channel", "Security"),
    ("CommandLine", "cmd.exe /c whoami & powershell -enc AAAA"),
    ("Image", "C:\\Windows\\System32\\cmd.exe"),
    ("ParentImage", "C:\\Windows\\explorer.exe"),
    ("TargetUserName", "admin$"),
    ("cs-uri-query", "a=1&b=%27"),
    ("query", "example.com"),
];

impl Fields for Fixed {
    fn get(&self, name: &str) -> Option<FieldValue<'_>> {
        if name == "EventID" {
            return Some(FieldValue::Int(4688));
        }
        FIXED.iter().find(|(k, _)| *k == name).map(|(_, v)| FieldValue::Str(Cow::Borrowed(*v)))
    }

    fn for_each(&self, f: &mut dyn FnMut(&str, FieldValue<'_>)) {
        f("EventID", FieldValue::Int(4688));
        for (k, v) in FIXED {
            f(k, FieldValue::Str(Cow::Borrowed(*v)));
        }
    }
}

/// An event that has every field, its value being the field's own name.
struct Echo;

impl Fields for Echo {
    fn get(&self, name: &str) -> Option<FieldValue<'_>> {
        Some(FieldValue::Str(Cow::Owned(name.to_owned())))
    }

    fn for_each(&self, f: &mut dyn FnMut(&str, FieldValue<'_>)) {
        f("Echo", FieldValue::Str(Cow::Borrowed("Echo")));
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (set, _failures) = RuleSet::load_str(Path::new("fuzz.yml"), text, &LoadOptions::default());
    let matcher = set.compile();
    let _ = matcher.routing_stats();
    let mut correlator = matcher.correlator();
    let t = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
    let events: [&dyn Fields; 2] = [&Fixed, &Echo];
    for &kind in matcher.kinds() {
        for ev in events {
            let mut routed = Vec::new();
            let mut exhaustive = Vec::new();
            matcher.eval(kind, ev, &mut routed);
            matcher.eval_exhaustive(kind, ev, &mut exhaustive);
            let mut a: Vec<usize> = routed.iter().map(|h| h.rule).collect();
            let mut b: Vec<usize> = exhaustive.iter().map(|h| h.rule).collect();
            a.sort_unstable();
            b.sort_unstable();
            assert_eq!(a, b, "routed and exhaustive evaluation disagree");
            for hit in &routed {
                let _ = correlator.observe(hit.rule, t, ev);
            }
        }
    }
});
