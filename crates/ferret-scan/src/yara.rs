//! YARA sources as ferret compiles them: the source type shared by the rule loader
//! ([`crate::rules`]) and the compiler and its cache ([`crate::cache`]), the Loki/THOR external
//! variables every rule may use, and how a yara-x compile error is rendered.

use std::fmt::Write as _;
use std::path::PathBuf;

/// The external variables every YARA rule may use, with their per-file values set by the
/// scanner.
pub(crate) const EXTERNALS: [&str; 5] = ["filename", "filepath", "extension", "filetype", "owner"];

/// One YARA source file (or built-in source) to compile, in load order.
pub(crate) struct YaraSource {
    pub(crate) name: String,
    pub(crate) text: Vec<u8>,
    /// The file it was read from (`None` for the built-in pack).
    pub(crate) path: Option<PathBuf>,
}

/// Renders a yara-x compile error as `path:line:col: code: title (label text)`.
pub(crate) fn render_compile_error(err: &yara_x::errors::CompileError) -> (Option<String>, String) {
    let mut position = None;
    let mut label_text = String::new();
    if let Some(label) = err.labels().next()
        && let Ok(v) = serde_json::to_value(&label)
    {
        let line = v.get("line").and_then(serde_json::Value::as_u64);
        let col = v.get("column").and_then(serde_json::Value::as_u64);
        if let (Some(l), Some(c)) = (line, col) {
            position = Some(format!("{l}:{c}"));
        }
        label.text().clone_into(&mut label_text);
    }
    let mut reason = format!("{}: {}", err.code(), err.title());
    if !label_text.is_empty() {
        let _ = write!(reason, " ({label_text})");
    }
    (position, reason)
}
