//! Test helpers: a `Fields` over a map of JSON values, and the EVTX-as-JSON flattener.
#![allow(dead_code)]

use std::borrow::Cow;
use std::collections::BTreeMap;

use ferret_core::{FieldValue, Fields};
use serde_json::Value;

/// An event: field name → JSON value.
#[derive(Clone, Debug, Default)]
pub struct MapEvent(pub BTreeMap<String, Value>);

impl MapEvent {
    pub fn from_pairs(pairs: &[(&str, Value)]) -> MapEvent {
        MapEvent(pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
    }
}

fn conv(v: &Value) -> FieldValue<'_> {
    match v {
        Value::String(s) => FieldValue::Str(Cow::Borrowed(s)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => FieldValue::Int(i),
            None => FieldValue::Float(n.as_f64().unwrap_or(0.0)),
        },
        Value::Bool(b) => FieldValue::Bool(*b),
        Value::Null => FieldValue::Null,
        Value::Array(a) => FieldValue::List(a.iter().map(conv).collect()),
        Value::Object(_) => FieldValue::Str(Cow::Owned(v.to_string())),
    }
}

impl Fields for MapEvent {
    fn get(&self, name: &str) -> Option<FieldValue<'_>> {
        self.0.get(name).map(conv)
    }

    fn for_each(&self, f: &mut dyn FnMut(&str, FieldValue<'_>)) {
        for (k, v) in &self.0 {
            f(k, conv(v));
        }
    }
}

/// Flattens one evtx-to-JSON event (`Event.System`, `Event.EventData`, `Event.UserData`) into
/// the canonical Windows field names: System children by name (`Provider_Name` from the
/// provider attribute, `SystemTime`, `UserID`, ...), EventData/UserData leaves by name.
pub fn flatten_evtx_json(v: &Value) -> MapEvent {
    let mut out = BTreeMap::new();
    let ev = v.get("Event").unwrap_or(v);
    if let Some(sys) = ev.get("System").and_then(Value::as_object) {
        for (k, val) in sys {
            match val {
                Value::Object(o) => {
                    if let Some(attrs) = o.get("#attributes").and_then(Value::as_object) {
                        for (ak, av) in attrs {
                            let name =
                                if k == "Provider" { format!("Provider_{ak}") } else { ak.clone() };
                            out.insert(name, av.clone());
                        }
                    }
                    if let Some(t) = o.get("#text") {
                        out.insert(k.clone(), t.clone());
                    }
                }
                other => {
                    out.insert(k.clone(), other.clone());
                }
            }
        }
    }
    for part in ["EventData", "UserData"] {
        if let Some(d) = ev.get(part) {
            leaves(d, &mut out);
        }
    }
    MapEvent(out)
}

fn leaves(v: &Value, out: &mut BTreeMap<String, Value>) {
    if let Value::Object(o) = v {
        for (k, val) in o {
            if k == "#attributes" {
                continue;
            }
            match val {
                Value::Object(_) => leaves(val, out),
                other => {
                    // Canonical Windows names drop spaces (`Source Name` → `SourceName`).
                    out.insert(k.replace(' ', ""), other.clone());
                }
            }
        }
    }
}

/// Every JSON value in a text of concatenated JSON documents.
pub fn json_stream(text: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(text).into_iter::<Value>().filter_map(Result::ok).collect()
}
