//! Lossless paths in reports.
//!
//! File names on a compromised host are attacker-controlled bytes: they need not be UTF-8
//! and may carry control characters. [`ReportPath`] keeps the raw bytes. On the wire it is
//! two fields: `path`, the name as UTF-8 (invalid bytes replaced by U+FFFD), and, only when
//! the name is not valid UTF-8, `path_b64`, the raw bytes in standard base64. A reader
//! that needs the exact name decodes `path_b64` when present and uses `path` otherwise.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// A file path kept as raw bytes, serialized as `path` (+ `path_b64` when not UTF-8).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(from = "PathWire", into = "PathWire")]
pub struct ReportPath(Vec<u8>);

#[derive(Serialize, Deserialize)]
struct PathWire {
    path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path_b64: Option<String>,
}

impl From<PathWire> for ReportPath {
    fn from(w: PathWire) -> Self {
        if let Some(b) = w.path_b64
            && let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b.as_bytes())
        {
            return ReportPath(raw);
        }
        ReportPath(w.path.into_bytes())
    }
}

impl From<ReportPath> for PathWire {
    fn from(p: ReportPath) -> Self {
        match String::from_utf8(p.0) {
            Ok(path) => PathWire { path, path_b64: None },
            Err(e) => {
                let raw = e.into_bytes();
                PathWire {
                    path: String::from_utf8_lossy(&raw).into_owned(),
                    path_b64: Some(base64::engine::general_purpose::STANDARD.encode(&raw)),
                }
            }
        }
    }
}

impl ReportPath {
    /// The path's raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The path for the operating system (exact on Unix).
    pub fn to_path_buf(&self) -> PathBuf {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            PathBuf::from(std::ffi::OsStr::from_bytes(&self.0))
        }
        #[cfg(not(unix))]
        {
            PathBuf::from(String::from_utf8_lossy(&self.0).into_owned())
        }
    }

    /// The name as UTF-8, invalid sequences replaced. Not escaped: use
    /// [`crate::text::escape`] before showing it on a terminal.
    pub fn lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }

    /// Whether the name is valid UTF-8.
    pub fn is_utf8(&self) -> bool {
        std::str::from_utf8(&self.0).is_ok()
    }
}

impl From<&Path> for ReportPath {
    fn from(p: &Path) -> Self {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            ReportPath(p.as_os_str().as_bytes().to_vec())
        }
        #[cfg(not(unix))]
        {
            ReportPath(p.to_string_lossy().into_owned().into_bytes())
        }
    }
}

impl From<PathBuf> for ReportPath {
    fn from(p: PathBuf) -> Self {
        ReportPath::from(p.as_path())
    }
}

impl From<&str> for ReportPath {
    fn from(s: &str) -> Self {
        ReportPath(s.as_bytes().to_vec())
    }
}

impl From<String> for ReportPath {
    fn from(s: String) -> Self {
        ReportPath(s.into_bytes())
    }
}

impl From<Vec<u8>> for ReportPath {
    fn from(b: Vec<u8>) -> Self {
        ReportPath(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_path_has_no_b64() {
        let j = serde_json::to_value(ReportPath::from("/tmp/a b")).unwrap();
        assert_eq!(j, serde_json::json!({"path": "/tmp/a b"}));
    }

    #[test]
    fn non_utf8_path_round_trips() {
        let raw = b"/tmp/\xff\xfe\nname".to_vec();
        let p = ReportPath::from(raw.clone());
        let j = serde_json::to_string(&p).unwrap();
        assert!(j.contains("path_b64"));
        let back: ReportPath = serde_json::from_str(&j).unwrap();
        assert_eq!(back.as_bytes(), raw.as_slice());
    }
}
