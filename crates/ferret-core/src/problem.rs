//! Problems: what ferret could not do, and why.
//!
//! Every per-item failure (an unreadable file, a rule that does not compile, a malformed
//! log record) is a [`Problem`] naming the item and the reason. Problems are data: the run
//! goes on, and the summary counts them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::path::ReportPath;

/// The kind of a problem. Kinds marked *incomplete* mean something that should have been
/// examined was not; the run's exit status reflects them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// Permission denied opening or listing (incomplete).
    PermissionDenied,
    /// Another I/O error while reading (incomplete).
    ReadError,
    /// The file vanished between listing and reading (not incomplete: nothing is left to check).
    Vanished,
    /// The file changed while it was read; its content was checked as read (not incomplete).
    Changed,
    /// Skipped by policy or type: FIFO, socket, device, over the size limit (not incomplete).
    Skipped,
    /// A walk problem: a symlink loop, a mount boundary (not incomplete).
    Walk,
    /// A rule or IOC file, or one entry in it, could not be loaded (incomplete).
    RuleLoad,
    /// A malformed record in an input (a log line, an EVTX chunk) (incomplete).
    Parse,
    /// Work that hit a time limit, e.g. a YARA scan timeout (incomplete).
    Timeout,
    /// ferret itself failed on an item: a panic inside a third-party parser, caught and
    /// turned into a problem naming the file; the run went on (incomplete).
    InternalError,
    /// Anything else (incomplete).
    Other,
}

impl ProblemKind {
    /// Whether this kind means the examination was incomplete.
    pub fn makes_incomplete(self) -> bool {
        !matches!(
            self,
            ProblemKind::Vanished | ProblemKind::Changed | ProblemKind::Skipped | ProblemKind::Walk
        )
    }

    /// The snake_case name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::PermissionDenied => "permission_denied",
            ProblemKind::ReadError => "read_error",
            ProblemKind::Vanished => "vanished",
            ProblemKind::Changed => "changed",
            ProblemKind::Skipped => "skipped",
            ProblemKind::Walk => "walk",
            ProblemKind::RuleLoad => "rule_load",
            ProblemKind::Parse => "parse",
            ProblemKind::Timeout => "timeout",
            ProblemKind::InternalError => "internal_error",
            ProblemKind::Other => "other",
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing ferret could not do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// What kind of failure.
    pub kind: ProblemKind,
    /// The file concerned, if any.
    #[serde(default, flatten, skip_serializing_if = "Option::is_none")]
    pub path: Option<ReportPath>,
    /// Where in the file: `line`, `line:col`, a byte offset or a record id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    /// Why, in lowercase prose.
    pub reason: String,
}

impl Problem {
    /// A problem about a file.
    pub fn at(
        kind: ProblemKind,
        path: impl Into<ReportPath>,
        reason: impl Into<String>,
    ) -> Problem {
        Problem { kind, path: Some(path.into()), position: None, reason: reason.into() }
    }

    /// A problem not tied to a file.
    pub fn general(kind: ProblemKind, reason: impl Into<String>) -> Problem {
        Problem { kind, path: None, position: None, reason: reason.into() }
    }

    /// Sets the position.
    #[must_use]
    pub fn with_position(mut self, position: impl Into<String>) -> Problem {
        self.position = Some(position.into());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.path {
            f.write_str(&crate::text::escape(&p.lossy()))?;
            if let Some(pos) = &self.position {
                write!(f, ":{}", crate::text::escape(pos))?;
            }
            f.write_str(": ")?;
        }
        write!(f, "{}: {}", self.kind, crate::text::escape(&self.reason))
    }
}
