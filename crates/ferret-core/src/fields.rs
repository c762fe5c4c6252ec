//! A read-only view of an event's named fields, for rule engines.
//!
//! Log readers produce events in many shapes (EVTX XML, JSON objects, W3C columns);
//! matchers see them only through [`Fields`], so one Sigma engine runs over all of them.

use std::borrow::Cow;

/// One field value as a matcher sees it.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue<'a> {
    /// Text.
    Str(Cow<'a, str>),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// An explicit null / empty value.
    Null,
    /// Several values (a JSON array, a repeated field).
    List(Vec<FieldValue<'a>>),
}

impl FieldValue<'_> {
    /// The value as text, as rules compare it (numbers in decimal, booleans `true`/`false`).
    pub fn as_text(&self) -> Option<Cow<'_, str>> {
        match self {
            FieldValue::Str(s) => Some(Cow::Borrowed(s.as_ref())),
            FieldValue::Int(i) => Some(Cow::Owned(i.to_string())),
            FieldValue::Float(f) => Some(Cow::Owned(f.to_string())),
            FieldValue::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            FieldValue::Null | FieldValue::List(_) => None,
        }
    }
}

/// Read-only access to an event's fields by name.
pub trait Fields {
    /// The value of the field `name` (exact name; mappings happen before this call).
    fn get(&self, name: &str) -> Option<FieldValue<'_>>;

    /// Calls `f` for every field, in a stable order.
    fn for_each(&self, f: &mut dyn FnMut(&str, FieldValue<'_>));

    /// Calls `f` with values whose texts together contain the text of every field value
    /// (and possibly more): a literal prefilter may search these instead of each field.
    /// The default hands over each field's value; an event read from one line of text may
    /// hand over that line once (each field being a part of it) plus any value that is not.
    fn for_each_blob(&self, f: &mut dyn FnMut(FieldValue<'_>)) {
        self.for_each(&mut |_, v| f(v));
    }
}
