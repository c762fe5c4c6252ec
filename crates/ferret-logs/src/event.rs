//! One log event: where it came from, when it happened, and its named fields.
//!
//! Text readers keep the record's line once in the event and store fields as spans into it,
//! so a line costs no allocation per field; structured readers (EVTX, JSON) store owned
//! [`Value`]s. Matchers see both through [`ferret_core::Fields`].

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use ferret_core::{FieldValue, Fields};

use crate::LogFormat;

/// An owned field value (structured formats).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Text.
    Str(String),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// An explicit null.
    Null,
    /// Several values.
    List(Vec<Value>),
}

impl Value {
    fn view(&self) -> FieldValue<'_> {
        match self {
            Value::Str(s) => FieldValue::Str(Cow::Borrowed(s)),
            Value::Int(i) => FieldValue::Int(*i),
            Value::Float(f) => FieldValue::Float(*f),
            Value::Bool(b) => FieldValue::Bool(*b),
            Value::Null => FieldValue::Null,
            Value::List(l) => FieldValue::List(l.iter().map(Value::view).collect()),
        }
    }
}

#[derive(Clone, Debug)]
enum Slot {
    Span(u32, u32),
    Value(Value),
}

/// One event read from a log.
#[derive(Clone, Debug)]
pub struct Event {
    /// The format it was read as.
    pub format: LogFormat,
    /// The file it came from.
    pub source: Arc<Path>,
    /// The EVTX record id, when the format has one.
    pub record_id: Option<u64>,
    /// The 1-based line the record starts on, for text formats.
    pub line: Option<u64>,
    /// When it happened, in UTC; `None` when the record carries no parsable time.
    pub time: Option<DateTime<Utc>>,
    /// The channel or log source (EVTX channel, syslog program, Exchange log type).
    pub channel: Option<String>,
    text: String,
    fields: Vec<(Arc<str>, Slot)>,
}

impl Event {
    /// An empty event of `format` from `source`.
    pub fn new(format: LogFormat, source: Arc<Path>) -> Event {
        Event {
            format,
            source,
            record_id: None,
            line: None,
            time: None,
            channel: None,
            text: String::new(),
            fields: Vec::new(),
        }
    }

    /// Empties the event for reuse by the next record (keeps its allocations).
    pub fn clear(&mut self) {
        self.record_id = None;
        self.line = None;
        self.time = None;
        self.channel = None;
        self.text.clear();
        self.fields.clear();
    }

    /// Sets the record text that [`Event::push_span`] spans refer to.
    pub fn set_text(&mut self, text: &str) {
        self.text.clear();
        self.text.push_str(text);
    }

    /// The record text spans refer to (the raw line for text formats; empty otherwise).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Adds a field whose value is `text[start..end]`. Out-of-range or non-boundary spans
    /// read as empty.
    pub fn push_span(&mut self, name: &Arc<str>, start: usize, end: usize) {
        let s = u32::try_from(start).unwrap_or(0);
        let e = u32::try_from(end).unwrap_or(0);
        self.fields.push((Arc::clone(name), Slot::Span(s, e)));
    }

    /// Adds a field with an owned value.
    pub fn push(&mut self, name: impl Into<Arc<str>>, value: Value) {
        self.fields.push((name.into(), Slot::Value(value)));
    }

    /// Adds a text field.
    pub fn push_str(&mut self, name: impl Into<Arc<str>>, value: impl Into<String>) {
        self.push(name, Value::Str(value.into()));
    }

    /// The field names in the order the reader produced them. Events parsed under one
    /// header (a W3C `#Fields` line, a CSV header) share the same name allocations.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &Arc<str>> {
        self.fields.iter().map(|(n, _)| n)
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the event has no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    fn slot_view<'s>(&'s self, slot: &'s Slot) -> FieldValue<'s> {
        match slot {
            Slot::Span(s, e) => FieldValue::Str(Cow::Borrowed(
                self.text.get(*s as usize..*e as usize).unwrap_or(""),
            )),
            Slot::Value(v) => v.view(),
        }
    }

    /// The field's value as text (numbers in decimal), if present and scalar.
    pub fn get_text(&self, name: &str) -> Option<String> {
        self.get(name).and_then(|v| v.as_text().map(Cow::into_owned))
    }

    /// Iterates over `(name, value)` in the order the reader produced them.
    pub fn iter(&self) -> impl Iterator<Item = (&str, FieldValue<'_>)> {
        self.fields.iter().map(|(n, s)| (n.as_ref(), self.slot_view(s)))
    }
}

impl Fields for Event {
    /// Exact name first; failing that, the first field whose name matches ignoring ASCII case.
    fn get(&self, name: &str) -> Option<FieldValue<'_>> {
        let slot = self
            .fields
            .iter()
            .find(|(n, _)| n.as_ref() == name)
            .or_else(|| self.fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)))?;
        Some(self.slot_view(&slot.1))
    }

    fn for_each(&self, f: &mut dyn FnMut(&str, FieldValue<'_>)) {
        for (n, s) in &self.fields {
            f(n, self.slot_view(s));
        }
    }

    /// The record text once (every span field is a part of it), then each owned value.
    fn for_each_blob(&self, f: &mut dyn FnMut(FieldValue<'_>)) {
        let mut text_done = false;
        for (_, s) in &self.fields {
            match s {
                Slot::Span(..) if !text_done => {
                    text_done = true;
                    f(FieldValue::Str(Cow::Borrowed(&self.text)));
                }
                Slot::Span(..) => {}
                Slot::Value(v) => f(v.view()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_values() {
        let mut e = Event::new(LogFormat::Access, Arc::from(Path::new("x")));
        e.set_text("GET /a");
        let m: Arc<str> = Arc::from("cs-method");
        e.push_span(&m, 0, 3);
        e.push("n", Value::Int(3));
        e.push_span(&Arc::from("bad"), 5, 99);
        assert_eq!(e.get("cs-method"), Some(FieldValue::Str("GET".into())));
        assert_eq!(e.get("CS-METHOD"), Some(FieldValue::Str("GET".into())));
        assert_eq!(e.get("n"), Some(FieldValue::Int(3)));
        assert_eq!(e.get("bad"), Some(FieldValue::Str("".into())));
        assert_eq!(e.get("nope"), None);
        let mut names = Vec::new();
        e.for_each(&mut |n, _| names.push(n.to_owned()));
        assert_eq!(names, ["cs-method", "n", "bad"]);
        let mut blobs = Vec::new();
        e.for_each_blob(&mut |v| blobs.push(v.as_text().map(Cow::into_owned).unwrap_or_default()));
        assert_eq!(blobs, ["GET /a", "3"]);
    }
}
