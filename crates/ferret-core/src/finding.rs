//! Findings: what an engine found, where, how sure and how bad.
//!
//! A [`Finding`] is the one record every engine emits (file scan, integrity, Sigma, campaign
//! checks). Fields that only some engines fill are optional and skipped on the wire when
//! empty; engine-specific extras go in [`Finding::details`], a sorted map.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::path::ReportPath;

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; not suspicious by itself.
    Info,
    /// Weak signal.
    Low,
    /// Suspicious; needs a look.
    Medium,
    /// Very likely malicious or a compromise trace.
    High,
    /// A known-bad indicator matched exactly.
    Critical,
}

impl Severity {
    /// All severities, lowest first.
    pub const ALL: [Severity; 5] =
        [Severity::Info, Severity::Low, Severity::Medium, Severity::High, Severity::Critical];

    /// The severity band a 0–100 score falls in (≥90 critical, ≥75 high, ≥60 medium,
    /// ≥40 low, else info).
    pub fn from_score(score: u8) -> Severity {
        match score {
            90.. => Severity::Critical,
            75..=89 => Severity::High,
            60..=74 => Severity::Medium,
            40..=59 => Severity::Low,
            _ => Severity::Info,
        }
    }

    /// The score given to a finding whose rule states only a severity.
    pub fn default_score(self) -> u8 {
        match self {
            Severity::Critical => 95,
            Severity::High => 80,
            Severity::Medium => 65,
            Severity::Low => 45,
            Severity::Info => 20,
        }
    }

    /// The lowercase name used on the wire and in the terminal.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses a name as used on the wire, in Sigma `level` and on the command line
    /// (`informational` is accepted for `info`).
    pub fn parse(s: &str) -> Option<Severity> {
        match s.trim().to_ascii_lowercase().as_str() {
            "info" | "informational" => Some(Severity::Info),
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which engine produced a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// A file's hash is a known-bad indicator.
    Hash,
    /// A file's name or path matches an indicator.
    Filename,
    /// A YARA rule matched a file's content.
    Yara,
    /// A file differs from a trusted manifest or package database.
    Integrity,
    /// A Sigma rule matched a log event.
    Sigma,
    /// A campaign detector found a trace.
    Check,
    /// A Windows artefact (Amcache, ShimCache) records a file that matches an indicator: it
    /// ran or existed, whether or not it is still there.
    Artefact,
}

impl Engine {
    /// The lowercase name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Hash => "hash",
            Engine::Filename => "filename",
            Engine::Yara => "yara",
            Engine::Integrity => "integrity",
            Engine::Sigma => "sigma",
            Engine::Check => "check",
            Engine::Artefact => "artefact",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The rule (indicator, YARA rule, Sigma rule, detector) behind a finding.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleRef {
    /// Stable identifier: a Sigma id, a detector code, a YARA `namespace:rule`, an IOC value.
    pub id: String,
    /// Human-readable name or title.
    pub name: String,
    /// Where the rule came from: a rule file path or `builtin:<file>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// References (advisories, write-ups) the rule cites.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
}

/// A piece of evidence: a matched string, a field value, a changed attribute.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// What this is: a YARA string identifier (`$a`), a field name, an attribute.
    pub label: String,
    /// Byte offset in the file, when the evidence is a content match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// The matched data or value, as UTF-8 with invalid bytes escaped `\xNN`, capped.
    pub data: String,
}

impl Evidence {
    /// Longest `data` kept, in bytes of the source.
    pub const MAX_DATA: usize = 256;

    /// Evidence from raw matched bytes: non-UTF-8 bytes become `\xNN`, capped at
    /// [`Evidence::MAX_DATA`] source bytes (a trailing `…` marks the cut).
    pub fn from_bytes(label: impl Into<String>, offset: Option<u64>, bytes: &[u8]) -> Evidence {
        let cut = bytes.len() > Self::MAX_DATA;
        let bytes = bytes.get(..Self::MAX_DATA).unwrap_or(bytes);
        let mut data = String::with_capacity(bytes.len());
        for chunk in bytes.utf8_chunks() {
            data.push_str(chunk.valid());
            for b in chunk.invalid() {
                let _ = write!(data, "\\x{b:02x}");
            }
        }
        if cut {
            data.push('…');
        }
        Evidence { label: label.into(), offset, data }
    }
}

/// Where in a log a finding was made.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRef {
    /// The log's format (`evtx`, `w3c`, `syslog`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// EVTX record id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_id: Option<u64>,
    /// 1-based line number in a text log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Channel or log source name (EVTX channel, syslog program, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

/// One finding. The wire form is specified in `docs/report-format.md`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The engine that produced it.
    pub engine: Engine,
    /// The rule behind it.
    pub rule: RuleRef,
    /// How bad.
    pub severity: Severity,
    /// 0–100; `--min-score` filters on it.
    pub score: u8,
    /// One line saying what was found, when the rule name alone does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The file the finding is about (a scanned file, or the log a Sigma hit came from).
    #[serde(default, flatten, skip_serializing_if = "Option::is_none")]
    pub path: Option<ReportPath>,
    /// The file's size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The file's SHA-256, lowercase hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// When the event happened (log findings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<DateTime<Utc>>,
    /// Where in a log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<LogRef>,
    /// Matched strings, fields or attributes; capped per finding.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    /// Engine-specific extras, sorted by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, serde_json::Value>,
    /// Where the file was found when it was read out of evidence (a disk image); absent for
    /// files of the live file system. `path` is then the path the examined host knew.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Box<crate::Provenance>>,
}

impl Finding {
    /// Most evidence items kept per finding.
    pub const MAX_EVIDENCE: usize = 16;

    /// A finding with the given engine, rule and severity, scored by
    /// [`Severity::default_score`].
    pub fn new(engine: Engine, rule: RuleRef, severity: Severity) -> Finding {
        Finding {
            engine,
            rule,
            severity,
            score: severity.default_score(),
            message: None,
            path: None,
            size: None,
            sha256: None,
            time: None,
            log: None,
            evidence: Vec::new(),
            details: BTreeMap::new(),
            provenance: None,
        }
    }

    /// Sets the score and, consistently, the severity band.
    #[must_use]
    pub fn with_score(mut self, score: u8) -> Finding {
        self.score = score.min(100);
        self.severity = Severity::from_score(self.score);
        self
    }

    /// Sets the file path.
    #[must_use]
    pub fn with_path(mut self, path: impl Into<ReportPath>) -> Finding {
        self.path = Some(path.into());
        self
    }

    /// Sets the message.
    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> Finding {
        self.message = Some(message.into());
        self
    }

    /// Adds evidence unless the cap is reached.
    pub fn push_evidence(&mut self, e: Evidence) {
        if self.evidence.len() < Self::MAX_EVIDENCE {
            self.evidence.push(e);
        }
    }

    /// Adds an engine-specific detail.
    #[must_use]
    pub fn with_detail(mut self, key: &str, value: impl Into<serde_json::Value>) -> Finding {
        self.details.insert(key.to_owned(), value.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_bands() {
        assert_eq!(Severity::from_score(100), Severity::Critical);
        assert_eq!(Severity::from_score(90), Severity::Critical);
        assert_eq!(Severity::from_score(89), Severity::High);
        assert_eq!(Severity::from_score(60), Severity::Medium);
        assert_eq!(Severity::from_score(40), Severity::Low);
        assert_eq!(Severity::from_score(0), Severity::Info);
        for s in Severity::ALL {
            assert_eq!(Severity::from_score(s.default_score()), s);
        }
    }

    #[test]
    fn evidence_escapes_and_caps() {
        let e = Evidence::from_bytes("$a", Some(3), b"ab\xffc");
        assert_eq!(e.data, "ab\\xffc");
        let long = vec![b'x'; 1000];
        let e = Evidence::from_bytes("$a", None, &long);
        assert!(e.data.ends_with('…'));
        assert_eq!(e.data.chars().count(), Evidence::MAX_DATA + 1);
    }

    #[test]
    fn finding_wire_form() {
        let f = Finding::new(
            Engine::Hash,
            RuleRef { id: "abc".into(), name: "bad".into(), ..RuleRef::default() },
            Severity::High,
        )
        .with_path("/x");
        let j = serde_json::to_value(&f).unwrap();
        assert_eq!(j["engine"], "hash");
        assert_eq!(j["rule"]["id"], "abc");
        assert_eq!(j["severity"], "high");
        assert_eq!(j["path"], "/x");
        let back: Finding = serde_json::from_value(j).unwrap();
        assert_eq!(back, f);
    }
}
