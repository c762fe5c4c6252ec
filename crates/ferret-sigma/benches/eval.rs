//! Micro-benchmarks for the Sigma matcher.
//!
//! `synthetic_*`: 600 generated process-creation rules over generated Sysmon events (always
//! available). `sigmahq_*`: the SigmaHQ Windows rules over the SigmaHQ regression events, when
//! the shared corpus sits beside the repository (or `FERRET_CORPUS` points at it).
//!
//! Run: `cargo bench -p ferret-sigma --bench eval`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::LazyLock;

use ferret_core::{FieldValue, Fields};
use ferret_sigma::{LoadOptions, LogKind, Matcher, RuleSet};
use serde_json::Value;

fn main() {
    divan::main();
}

/// A flat event over a sorted vector (binary search), like a reader's field table.
struct Ev(Vec<(String, Value)>);

fn conv(v: &Value) -> FieldValue<'_> {
    match v {
        Value::String(s) => FieldValue::Str(Cow::Borrowed(s)),
        Value::Number(n) => n.as_i64().map_or(FieldValue::Null, FieldValue::Int),
        Value::Bool(b) => FieldValue::Bool(*b),
        _ => FieldValue::Null,
    }
}

impl Fields for Ev {
    fn get(&self, name: &str) -> Option<FieldValue<'_>> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .ok()
            .and_then(|i| self.0.get(i))
            .map(|(_, v)| conv(v))
    }

    fn for_each(&self, f: &mut dyn FnMut(&str, FieldValue<'_>)) {
        for (k, v) in &self.0 {
            f(k, conv(v));
        }
    }
}

fn ev(pairs: BTreeMap<String, Value>) -> Ev {
    Ev(pairs.into_iter().collect())
}

static SYNTH: LazyLock<(Matcher, Vec<Ev>)> = LazyLock::new(|| {
    let mut text = String::new();
    for i in 0..600 {
        let sel = match i % 4 {
            0 => format!("        Image|endswith: '\\\\tool{i}.exe'"),
            1 => format!("        CommandLine|contains|all: ['-flag{i}', 'value{i}']"),
            2 => format!(
                "        ParentImage|endswith: '\\\\parent{i}.exe'\n        CommandLine|contains: ' /x{i}'"
            ),
            _ => format!(
                "        CommandLine|contains:\n            - 'alpha{i}'\n            - 'beta{i}'"
            ),
        };
        let _ = write!(
            text,
            "title: r{i}\nid: r{i}\nlogsource:\n    product: windows\n    category: process_creation\ndetection:\n    sel:\n{sel}\n    filter:\n        User: 'SYSTEM'\n    condition: sel and not filter\n---\n"
        );
    }
    let (set, failures) =
        RuleSet::load_str(Path::new("synthetic.yml"), &text, &LoadOptions::default());
    assert!(failures.is_empty());
    let events = (0..200)
        .map(|i| {
            let mut m = BTreeMap::new();
            m.insert("Channel".to_owned(), Value::from("Microsoft-Windows-Sysmon/Operational"));
            m.insert("EventID".to_owned(), Value::from(1));
            m.insert(
                "Image".to_owned(),
                Value::from(format!("C:\\Windows\\System32\\prog{i}.exe")),
            );
            m.insert("ParentImage".to_owned(), Value::from("C:\\Windows\\explorer.exe"));
            m.insert(
                "CommandLine".to_owned(),
                Value::from(format!(
                    "prog{i}.exe --some-option {i} C:\\Users\\someone\\Documents\\file{i}.txt"
                )),
            );
            m.insert("User".to_owned(), Value::from("CORP\\someone"));
            m.insert(
                "Hashes".to_owned(),
                Value::from(
                    "SHA256=0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
                ),
            );
            m.insert("ProcessId".to_owned(), Value::from(4000 + i));
            ev(m)
        })
        .collect();
    (set.compile(), events)
});

fn leaves(v: &Value, out: &mut BTreeMap<String, Value>) {
    if let Some(o) = v.as_object() {
        for (k, val) in o {
            if val.is_object() {
                leaves(val, out);
            } else if k != "#attributes" {
                out.insert(k.replace(' ', ""), val.clone());
            }
        }
    }
}

fn flatten(v: &Value, out: &mut BTreeMap<String, Value>) {
    let e = v.get("Event").unwrap_or(v);
    if let Some(sys) = e.get("System").and_then(Value::as_object) {
        for (k, val) in sys {
            if let Some(attrs) = val.get("#attributes").and_then(Value::as_object) {
                for (ak, av) in attrs {
                    out.insert(
                        if k == "Provider" { format!("Provider_{ak}") } else { ak.clone() },
                        av.clone(),
                    );
                }
            } else if !val.is_object() {
                out.insert(k.clone(), val.clone());
            }
        }
    }
    for part in ["EventData", "UserData"] {
        if let Some(d) = e.get(part) {
            leaves(d, out);
        }
    }
}

static SIGMAHQ: LazyLock<Option<(Matcher, Vec<Ev>)>> = LazyLock::new(|| {
    let sigma = ferret_testkit::find_corpus()?.join("sigma");
    let (set, _) = RuleSet::load_paths(&[sigma.join("rules/windows")], &LoadOptions::default());
    let mut events = Vec::new();
    let mut stack = vec![sigma.join("regression_data")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).ok()?.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                let text = std::fs::read_to_string(&p).ok()?;
                for v in serde_json::Deserializer::from_str(&text).into_iter::<Value>().flatten() {
                    let mut m = BTreeMap::new();
                    flatten(&v, &mut m);
                    events.push(ev(m));
                }
            }
        }
    }
    Some((set.compile(), events))
});

/// Per event: 600 synthetic rules in one Sysmon bucket.
#[divan::bench]
fn synthetic_eval_200_events(b: divan::Bencher) {
    let (m, events) = &*SYNTH;
    let mut hits = Vec::new();
    b.bench_local(|| {
        for e in events {
            hits.clear();
            m.eval(LogKind::Windows, e, &mut hits);
        }
        hits.len()
    });
}

/// The same without routing and prefilter (what a naive engine does).
#[divan::bench]
fn synthetic_exhaustive_200_events(b: divan::Bencher) {
    let (m, events) = &*SYNTH;
    let mut hits = Vec::new();
    b.bench_local(|| {
        for e in events {
            hits.clear();
            m.eval_exhaustive(LogKind::Windows, e, &mut hits);
        }
        hits.len()
    });
}

/// SigmaHQ Windows rules over every SigmaHQ regression event (skipped without the corpus).
#[divan::bench]
fn sigmahq_windows_regression_events(b: divan::Bencher) {
    let Some((m, events)) = &*SIGMAHQ else {
        ferret_testkit::skip("the public corpus (FERRET_CORPUS)");
        return;
    };
    let mut hits = Vec::new();
    b.bench_local(|| {
        let mut n = 0;
        for e in events {
            hits.clear();
            m.eval(LogKind::Windows, e, &mut hits);
            n += hits.len();
        }
        n
    });
}

/// Loading and compiling the SigmaHQ Windows rules (skipped without the corpus).
#[divan::bench(sample_count = 5)]
fn sigmahq_windows_load_and_compile() -> usize {
    let Some(c) = ferret_testkit::find_corpus() else {
        ferret_testkit::skip("the public corpus (FERRET_CORPUS)");
        return 0;
    };
    let (set, _) = RuleSet::load_paths(&[c.join("sigma/rules/windows")], &LoadOptions::default());
    set.compile().rules().len()
}
