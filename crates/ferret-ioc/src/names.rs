//! File-name indicators: regexes over the full path, compiled into chunked `RegexSet`s.
//!
//! The regexes are compiled straight into sets of [`CHUNK`] patterns (smaller sets keep
//! the lazy DFA's cache effective on thousands of patterns). When a set does not compile,
//! it is split in halves until the patterns at fault are alone: each is then a problem for
//! its own line and the rest load. The single-pattern regex of an indicator (for the
//! evidence text) is compiled only when it first matches. A path is run through every set;
//! for each hit the indicator's false-positive regex, if any, is checked.

use ferret_core::{Engine, Evidence, Problem, ProblemKind, RuleRef};
use std::sync::OnceLock;

use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use crate::IocMatch;

/// Patterns per `RegexSet`.
pub(crate) const CHUNK: usize = 256;
/// Compiled-size limit of one regex.
pub(crate) const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Compiled-size limit of one set.
const SET_SIZE_LIMIT: usize = 64 << 20;
/// Lazy-DFA cache of one set.
const SET_DFA_LIMIT: usize = 8 << 20;

/// One file-name indicator.
#[derive(Clone, Debug)]
pub(crate) struct NameIoc {
    /// The pattern after separator translation (what is compiled).
    pub pattern: String,
    /// Compiled on first hit.
    pub regex: OnceLock<Option<Regex>>,
    pub fp: Option<Regex>,
    pub rule: RuleRef,
    pub score: u8,
}

/// Compiles one pattern alone, with the size limit; the error is a one-line reason.
pub(crate) fn compile(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| describe(&e))
}

/// A one-line reason for a regex error.
fn describe(e: &regex::Error) -> String {
    match e {
        regex::Error::CompiledTooBig(n) => format!("regex too big when compiled (limit {n} bytes)"),
        e => {
            let msg = e.to_string();
            let last = msg.lines().rev().find(|l| l.starts_with("error:")).unwrap_or(&msg);
            format!("regex does not compile: {}", last.trim_start_matches("error: "))
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct NameSet {
    iocs: Vec<NameIoc>,
    /// Sets and, per set, the indices into `iocs` of its patterns.
    sets: Vec<(RegexSet, Vec<usize>)>,
    /// How many of `iocs` went through set compilation.
    built: usize,
    /// Indicators whose regex did not compile (left out).
    failed: Vec<usize>,
}

impl NameSet {
    pub(crate) fn is_empty(&self) -> bool {
        self.iocs.len() == self.failed.len()
    }

    /// How many indicators were left out because their regex did not compile.
    pub(crate) fn failed(&self) -> usize {
        self.failed.len()
    }

    pub(crate) fn push(&mut self, ioc: NameIoc) {
        self.iocs.push(ioc);
    }

    /// Compiles the indicators added since the last rebuild into new sets.
    pub(crate) fn rebuild(&mut self, source: &str, problems: &mut Vec<Problem>) {
        let pending: Vec<usize> = (self.built..self.iocs.len()).collect();
        self.built = self.iocs.len();
        for chunk in pending.chunks(CHUNK) {
            self.build_chunk(chunk.to_vec(), source, problems);
        }
    }

    fn build_chunk(&mut self, ids: Vec<usize>, source: &str, problems: &mut Vec<Problem>) {
        let patterns: Vec<&str> =
            ids.iter().filter_map(|&i| self.iocs.get(i)).map(|n| n.pattern.as_str()).collect();
        let limit = if ids.len() == 1 { REGEX_SIZE_LIMIT } else { SET_SIZE_LIMIT };
        match RegexSetBuilder::new(&patterns)
            .size_limit(limit)
            .dfa_size_limit(SET_DFA_LIMIT)
            .build()
        {
            Ok(set) => self.sets.push((set, ids)),
            Err(_) if ids.len() > 1 => {
                let (a, b) = ids.split_at(ids.len() / 2);
                let (a, b) = (a.to_vec(), b.to_vec());
                self.build_chunk(a, source, problems);
                self.build_chunk(b, source, problems);
            }
            Err(e) => {
                let rule = ids.first().and_then(|&i| self.iocs.get(i)).map(|n| &n.rule);
                let position = rule
                    .and_then(|r| r.source.as_deref())
                    .and_then(|s| s.rsplit_once(':'))
                    .map(|(_, line)| line.to_owned());
                let mut p = Problem::at(ProblemKind::RuleLoad, source, describe(&e));
                p.position = position;
                problems.push(p);
                if let Some(&i) = ids.first() {
                    self.failed.push(i);
                }
            }
        }
    }

    pub(crate) fn match_path(&self, path: &[u8], out: &mut Vec<IocMatch>) {
        for (set, ids) in &self.sets {
            if !set.is_match(path) {
                continue;
            }
            for k in &set.matches(path) {
                let Some(ioc) = ids.get(k).and_then(|&i| self.iocs.get(i)) else { continue };
                if ioc.fp.as_ref().is_some_and(|fp| fp.is_match(path)) {
                    continue;
                }
                let regex = ioc.regex.get_or_init(|| compile(&ioc.pattern).ok());
                let matched =
                    regex.as_ref().and_then(|r| r.find(path)).map_or(path, |m| m.as_bytes());
                out.push(IocMatch {
                    engine: Engine::Filename,
                    rule: ioc.rule.clone(),
                    score: ioc.score,
                    message: Some("path matches a file-name indicator".to_owned()),
                    evidence: vec![Evidence::from_bytes("path", None, matched)],
                });
            }
        }
    }
}
