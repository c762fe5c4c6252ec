//! Campaign verdicts: the answer `ferret check` gives per campaign.
//!
//! A [`CampaignVerdict`] says whether a campaign's traces were found ([`Verdict::Affected`]),
//! looked for and not found ([`Verdict::NotFound`], with what was checked and how far back the
//! logs reach), or could not be decided ([`Verdict::Unknown`], with what was missing). Verdicts
//! travel in `Summary::details["verdicts"]` as a JSON array (see `docs/report-format.md`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The answer for one campaign.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Evidence of the campaign was found.
    Affected,
    /// Looked for and not found (within what was checked).
    NotFound,
    /// Could not decide: the inputs the detectors need were not there.
    Unknown,
}

impl Verdict {
    /// The terminal form: `AFFECTED`, `NOT FOUND`, `UNKNOWN`.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Affected => "AFFECTED",
            Verdict::NotFound => "NOT FOUND",
            Verdict::Unknown => "UNKNOWN",
        }
    }
}

/// How far back one kind of log reaches.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceSpan {
    /// The log source (`exchange-httpproxy`, `iis`, `windows-event`, …).
    pub source: String,
    /// Files read.
    pub files: u64,
    /// Events read.
    pub events: u64,
    /// The oldest event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<DateTime<Utc>>,
    /// The newest event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<DateTime<Utc>>,
}

/// The verdict for one campaign, with what backs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignVerdict {
    /// The campaign's id (`proxylogon`, `sunburst`, `pulse-secure`, `ivanti-connect-secure`,
    /// `proxyshell`).
    pub campaign: String,
    /// Its title (with CVEs or advisory).
    pub title: String,
    /// The answer.
    pub verdict: Verdict,
    /// One sentence saying why.
    pub reason: String,
    /// Findings at evidence level (high or critical).
    pub evidence: u64,
    /// Findings below evidence level: leads worth a look that do not decide the verdict.
    pub leads: u64,
    /// What was checked: one sentence per detector that ran on its inputs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checked: Vec<String>,
    /// What was not checked and why: one sentence per detector whose inputs were missing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_checked: Vec<String>,
    /// The time span of each log source read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceSpan>,
}
/// One line of `ferret check --timeline`: a finding, or an artefact record of a campaign's
/// window (a `$MFT` or `$J` change under the campaign's folders, an Amcache or ShimCache
/// entry), in time order. The timeline travels in `Summary::details["timeline"]` as a JSON
/// array (see `docs/report-format.md`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// When.
    pub time: DateTime<Utc>,
    /// Where it comes from: `log`, `$MFT`, `$J`, `Amcache`, `ShimCache`,
    /// `registry key last-write`, `file`.
    pub source: String,
    /// Whether the line is a finding (else an artefact record).
    pub finding: bool,
    /// What happened (a finding's message, the journal's reasons, `created`, `ran`).
    pub what: String,
    /// The path the line is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A finding's rule (detector code or indicator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// A finding's severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<crate::Severity>,
    /// The campaign whose window (or finding) put it there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
}
