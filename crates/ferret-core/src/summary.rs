//! The summary of a run: what was examined and, as plainly, what was not.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::finding::Severity;
use crate::problem::ProblemKind;

/// Rule loading statistics for one run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleStats {
    /// Rules or indicators loaded, by kind (`yara`, `hash`, `filename`, `sigma`, …).
    pub loaded: BTreeMap<String, u64>,
    /// Rules or rule files not loaded, by reason.
    pub not_loaded: BTreeMap<String, u64>,
}

impl RuleStats {
    /// Total rules not loaded.
    pub fn not_loaded_total(&self) -> u64 {
        self.not_loaded.values().sum()
    }

    /// Adds `n` loaded rules of `kind`.
    pub fn add_loaded(&mut self, kind: &str, n: u64) {
        *self.loaded.entry(kind.to_owned()).or_default() += n;
    }

    /// Counts one rule or file not loaded for `reason`.
    pub fn add_not_loaded(&mut self, reason: &str) {
        *self.not_loaded.entry(reason.to_owned()).or_default() += 1;
    }
}

/// The summary of one run of one verb. Counters are named by the engine; the shared
/// ones are `files_seen`, `files_scanned`, `bytes_scanned`, `events_read`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// What was counted (files, bytes, events, …).
    pub counters: BTreeMap<String, u64>,
    /// Items not examined by policy or type, by reason (`size`, `fifo`, `excluded`, …).
    pub skipped: BTreeMap<String, u64>,
    /// Problems by kind.
    pub problems: BTreeMap<ProblemKind, u64>,
    /// Rule loading.
    pub rules: RuleStats,
    /// Findings by severity (after the score threshold).
    pub findings: BTreeMap<Severity, u64>,
    /// Whether everything that should have been examined was.
    pub complete: bool,
    /// Plain sentences saying what was not checked and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_checked: Vec<String>,
    /// Engine-specific extras (per-source coverage, verdicts, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, serde_json::Value>,
    /// Why the run examined less than it was asked to (a missing target, no log found, an
    /// unknown package, rules the verb cannot use, …). Any entry makes the run incomplete.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incomplete_reasons: Vec<String>,
    /// Plain remarks on how the run was done that change no verdict (threads lowered to what
    /// the machine can use, a time zone assumed, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Nothing at all was examined: never a clean result.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub nothing_examined: bool,
    /// The run was stopped (SIGINT, SIGTERM) before it finished; what it had found so far is
    /// in the report.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
}

impl Summary {
    /// Adds `n` to a counter.
    pub fn count(&mut self, counter: &str, n: u64) {
        *self.counters.entry(counter.to_owned()).or_default() += n;
    }

    /// Adds `n` to a skip reason.
    pub fn skip(&mut self, reason: &str, n: u64) {
        if n > 0 {
            *self.skipped.entry(reason.to_owned()).or_default() += n;
        }
    }

    /// A counter's value (0 when absent).
    pub fn counter(&self, counter: &str) -> u64 {
        self.counters.get(counter).copied().unwrap_or(0)
    }

    /// Total findings.
    pub fn findings_total(&self) -> u64 {
        self.findings.values().sum()
    }

    /// Total problems.
    pub fn problems_total(&self) -> u64 {
        self.problems.values().sum()
    }

    /// Recomputes `complete` from the problems, rule statistics and the recorded reasons:
    /// complete when no problem of an *incomplete* kind was counted, every rule loaded,
    /// something was examined, nothing was left out and the run was not interrupted.
    pub fn settle(&mut self) {
        self.complete = self.rules.not_loaded_total() == 0
            && !self.problems.iter().any(|(k, n)| *n > 0 && k.makes_incomplete())
            && self.incomplete_reasons.is_empty()
            && !self.nothing_examined
            && !self.interrupted;
    }

    /// Records that the run examined less than asked, and why; the run is incomplete.
    pub fn mark_incomplete(&mut self, reason: impl Into<String>) {
        let reason = reason.into();
        if !self.incomplete_reasons.contains(&reason) {
            self.incomplete_reasons.push(reason);
        }
        self.complete = false;
    }

    /// Records that nothing at all was examined, and why.
    pub fn mark_nothing_examined(&mut self, reason: impl Into<String>) {
        self.nothing_examined = true;
        self.mark_incomplete(reason);
    }

    /// Records that the run was interrupted before it finished.
    pub fn mark_interrupted(&mut self) {
        self.interrupted = true;
        self.mark_incomplete("interrupted before the run finished");
    }

    /// The campaigns `ferret check` found affected, when the summary carries verdicts
    /// (`details["verdicts"]`); `None` for the other verbs.
    fn affected_campaigns(&self) -> Option<Vec<String>> {
        let verdicts = self.details.get("verdicts")?.as_array()?;
        Some(
            verdicts
                .iter()
                .filter(|v| v.get("verdict").and_then(|x| x.as_str()) == Some("affected"))
                .filter_map(|v| v.get("campaign").and_then(|c| c.as_str()).map(str::to_owned))
                .collect(),
        )
    }

    /// Whether the run found something that decides its exit status 1: a finding, or for a
    /// run with campaign verdicts a campaign found affected (leads below evidence level do
    /// not decide a verdict).
    pub fn has_findings(&self) -> bool {
        match self.affected_campaigns() {
            Some(affected) => {
                !affected.is_empty() || self.network_findings() > 0 || self.artefact_findings() > 0
            }
            None => self.findings_total() > 0,
        }
    }

    /// `ferret check`'s findings of known-bad infrastructure contacted at evidence level
    /// (`details["network_findings"]`): they decide the exit status but no campaign's verdict.
    fn network_findings(&self) -> u64 {
        self.details.get("network_findings").and_then(serde_json::Value::as_u64).unwrap_or(0)
    }

    /// `ferret check`'s artefact findings at evidence level (`details["artefact_findings"]`:
    /// Amcache, ShimCache or autostart entries naming a known-bad file): like network
    /// findings, they decide the exit status but no campaign's verdict.
    fn artefact_findings(&self) -> u64 {
        self.details.get("artefact_findings").and_then(serde_json::Value::as_u64).unwrap_or(0)
    }

    /// The one-line result every renderer prints, agreeing with the exit status:
    /// `FINDINGS` (`AFFECTED: …` for campaign verdicts), `CLEAN (complete)` (`NOT FOUND
    /// (complete)`), `NOTHING EXAMINED` or `INCOMPLETE`, with the reason.
    pub fn result_line(&self) -> String {
        let why = if self.incomplete_reasons.is_empty() {
            "see problems above".to_owned()
        } else {
            self.incomplete_reasons.join("; ")
        };
        let affected = self.affected_campaigns();
        if self.has_findings() {
            let what = match &affected {
                Some(a) if a.is_empty() => {
                    let mut what = Vec::new();
                    if self.network_findings() > 0 {
                        what.push(format!(
                            "known-bad infrastructure contacted ({})",
                            self.network_findings()
                        ));
                    }
                    if self.artefact_findings() > 0 {
                        what.push(format!(
                            "known-bad files recorded in registry artefacts ({})",
                            self.artefact_findings()
                        ));
                    }
                    format!("FINDINGS: {}; no campaign affected", what.join(", "))
                }
                Some(a) => format!("AFFECTED: {}", a.join(", ")),
                None => "FINDINGS".to_owned(),
            };
            if self.complete { what } else { format!("{what}; INCOMPLETE: {why}") }
        } else if self.nothing_examined {
            format!("NOTHING EXAMINED: {why}")
        } else if self.complete {
            match (&affected, self.findings_total()) {
                (Some(_), 0) => "NOT FOUND (complete)".to_owned(),
                (Some(_), n) => format!("NOT FOUND (complete); {n} lead(s) below evidence level"),
                (None, _) => "CLEAN (complete)".to_owned(),
            }
        } else if affected.is_some() {
            format!("INCOMPLETE, not found: {why}")
        } else {
            format!("INCOMPLETE, nothing found: {why}")
        }
    }

    /// Folds another summary into this one (for verbs that run several engines).
    pub fn merge(&mut self, other: Summary) {
        for (k, v) in other.counters {
            *self.counters.entry(k).or_default() += v;
        }
        for (k, v) in other.skipped {
            *self.skipped.entry(k).or_default() += v;
        }
        for (k, v) in other.problems {
            *self.problems.entry(k).or_default() += v;
        }
        for (k, v) in other.rules.loaded {
            *self.rules.loaded.entry(k).or_default() += v;
        }
        for (k, v) in other.rules.not_loaded {
            *self.rules.not_loaded.entry(k).or_default() += v;
        }
        for (k, v) in other.findings {
            *self.findings.entry(k).or_default() += v;
        }
        self.not_checked.extend(other.not_checked);
        self.details.extend(other.details);
        for r in other.incomplete_reasons {
            if !self.incomplete_reasons.contains(&r) {
                self.incomplete_reasons.push(r);
            }
        }
        self.notes.extend(other.notes);
        self.nothing_examined |= other.nothing_examined;
        self.interrupted |= other.interrupted;
        self.settle();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settle_marks_incomplete_on_read_errors_and_rules() {
        let mut s = Summary::default();
        s.settle();
        assert!(s.complete);
        s.problems.insert(ProblemKind::Skipped, 3);
        s.settle();
        assert!(s.complete, "skips by policy keep the run complete");
        s.problems.insert(ProblemKind::ReadError, 1);
        s.settle();
        assert!(!s.complete);
        let mut s = Summary::default();
        s.rules.add_not_loaded("syntax error");
        s.settle();
        assert!(!s.complete);
    }

    #[test]
    fn reasons_interrupts_and_nothing_examined_are_never_clean() {
        let mut s = Summary::default();
        s.mark_incomplete("target /x does not exist");
        s.settle();
        assert!(!s.complete);
        assert!(s.result_line().starts_with("INCOMPLETE"), "{}", s.result_line());
        let mut s = Summary::default();
        s.mark_nothing_examined("no log file was found");
        s.settle();
        assert!(!s.complete);
        assert_eq!(s.result_line(), "NOTHING EXAMINED: no log file was found");
        let mut s = Summary::default();
        s.mark_interrupted();
        s.settle();
        assert!(!s.complete && s.interrupted);
        let mut s = Summary::default();
        s.settle();
        assert_eq!(s.result_line(), "CLEAN (complete)");
        s.findings.insert(Severity::High, 1);
        assert_eq!(s.result_line(), "FINDINGS");
    }

    #[test]
    fn campaign_verdicts_decide_the_result_line() {
        let mut s = Summary::default();
        s.details.insert(
            "verdicts".into(),
            serde_json::json!([{"campaign": "proxylogon", "verdict": "not_found"}]),
        );
        s.findings.insert(Severity::Medium, 2);
        s.settle();
        assert!(!s.has_findings(), "leads decide nothing");
        assert_eq!(s.result_line(), "NOT FOUND (complete); 2 lead(s) below evidence level");
        s.details.insert(
            "verdicts".into(),
            serde_json::json!([{"campaign": "sunburst", "verdict": "affected"}]),
        );
        assert!(s.has_findings());
        assert_eq!(s.result_line(), "AFFECTED: sunburst");
        s.details.insert(
            "verdicts".into(),
            serde_json::json!([{"campaign": "pulse-secure", "verdict": "unknown"}]),
        );
        s.mark_incomplete("pulse-secure: no appliance tree");
        assert_eq!(s.result_line(), "INCOMPLETE, not found: pulse-secure: no appliance tree");
    }
}
