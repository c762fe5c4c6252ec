//! Where engines put what they find while they run.
//!
//! Engines are handed a `&dyn Sink` and call [`Sink::finding`] and [`Sink::problem`] from
//! any thread. [`Collector`] is the standard sink: it keeps findings and problems in memory
//! (problems capped, counts exact) for the report renderers, which sort them before output.
//! Progress goes to a separate [`Progress`] so that engines need no terminal knowledge.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::finding::Finding;
use crate::problem::{Problem, ProblemKind};

/// Receives findings and problems from an engine, from any thread.
pub trait Sink: Send + Sync {
    /// Records a finding.
    fn finding(&self, finding: Finding);
    /// Records a problem.
    fn problem(&self, problem: Problem);
}

/// Receives progress from an engine, from any thread. All methods default to nothing.
pub trait Progress: Send + Sync {
    /// The total amount of work, once known (files, bytes).
    fn set_total(&self, _items: u64, _bytes: u64) {}
    /// `items` more items and `bytes` more bytes are done.
    fn advance(&self, _items: u64, _bytes: u64) {}
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullProgress;

impl Progress for NullProgress {}

/// Keeps findings and problems in memory. Problems beyond [`Collector::MAX_PROBLEMS`] are
/// counted but not kept.
#[derive(Debug, Default)]
pub struct Collector {
    findings: Mutex<Vec<Finding>>,
    problems: Mutex<Vec<Problem>>,
    problem_counts: Mutex<BTreeMap<ProblemKind, u64>>,
    dropped_problems: AtomicU64,
    min_score: u8,
}

impl Collector {
    /// Most problems kept in memory; the rest are only counted.
    pub const MAX_PROBLEMS: usize = 100_000;

    /// A collector that keeps every finding.
    pub fn new() -> Collector {
        Collector::default()
    }

    /// A collector that drops findings scored below `min_score`.
    pub fn with_min_score(min_score: u8) -> Collector {
        Collector { min_score, ..Collector::default() }
    }

    /// Takes what was collected: findings, problems, problem counts by kind, and the number
    /// of problems counted but not kept.
    pub fn into_parts(self) -> (Vec<Finding>, Vec<Problem>, BTreeMap<ProblemKind, u64>, u64) {
        (
            self.findings.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner),
            self.problems.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner),
            self.problem_counts.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner),
            self.dropped_problems.into_inner(),
        )
    }

    /// Number of findings so far.
    pub fn findings_len(&self) -> usize {
        self.findings.lock().map_or(0, |f| f.len())
    }
}

impl Sink for Collector {
    fn finding(&self, mut finding: Finding) {
        // Severity follows the score by the documented bands, whatever the engine set.
        finding.severity = crate::finding::Severity::from_score(finding.score);
        if finding.score < self.min_score {
            return;
        }
        if let Ok(mut f) = self.findings.lock() {
            f.push(finding);
        }
    }

    fn problem(&self, problem: Problem) {
        if let Ok(mut c) = self.problem_counts.lock() {
            *c.entry(problem.kind).or_default() += 1;
        }
        if let Ok(mut p) = self.problems.lock()
            && p.len() < Self::MAX_PROBLEMS
        {
            p.push(problem);
            return;
        }
        self.dropped_problems.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Engine, RuleRef, Severity};

    #[test]
    fn collector_filters_by_score_and_counts_problems() {
        let c = Collector::with_min_score(50);
        c.finding(Finding::new(Engine::Hash, RuleRef::default(), Severity::Low));
        c.finding(Finding::new(Engine::Hash, RuleRef::default(), Severity::High));
        c.problem(Problem::general(ProblemKind::ReadError, "x"));
        let (f, p, counts, dropped) = c.into_parts();
        assert_eq!(f.len(), 1);
        assert_eq!(p.len(), 1);
        assert_eq!(counts[&ProblemKind::ReadError], 1);
        assert_eq!(dropped, 0);
    }
}
