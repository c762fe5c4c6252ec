//! File-name indicators: regexes over the full path, compiled into chunked `RegexSet`s.
//!
//! Each regex is first compiled alone (with size limits) so a broken or oversized one is a
//! problem for its own line only; the valid ones are then compiled into sets of
//! [`CHUNK`] patterns (smaller sets keep the lazy DFA's cache effective on thousands of
//! patterns). A path is run through every set; for each hit the indicator's
//! false-positive regex, if any, is checked and the match's text becomes the evidence.

use ferret_core::{Engine, Evidence, Problem, ProblemKind, RuleRef};
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
    pub regex: Regex,
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
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(n) => {
                format!("regex too big when compiled (limit {n} bytes)")
            }
            e => {
                let msg = e.to_string();
                let last = msg.lines().rev().find(|l| l.starts_with("error:")).unwrap_or(&msg);
                format!("regex does not compile: {}", last.trim_start_matches("error: "))
            }
        })
}

#[derive(Debug, Default)]
pub(crate) struct NameSet {
    iocs: Vec<NameIoc>,
    /// Sets and, per set, the indices into `iocs` of its patterns.
    sets: Vec<(RegexSet, Vec<usize>)>,
    /// How many of `iocs` are in `sets`.
    built: usize,
}

impl NameSet {
    pub(crate) fn is_empty(&self) -> bool {
        self.iocs.is_empty()
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
        match RegexSetBuilder::new(&patterns)
            .size_limit(SET_SIZE_LIMIT)
            .dfa_size_limit(SET_DFA_LIMIT)
            .build()
        {
            Ok(set) => self.sets.push((set, ids)),
            Err(e) if ids.len() > 1 => {
                let _ = e;
                let mid = ids.len() / 2;
                let (a, b) = ids.split_at(mid);
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
                let mut p = Problem::at(
                    ProblemKind::RuleLoad,
                    source,
                    format!(
                        "file-name regex left out: {}",
                        e.to_string().lines().last().unwrap_or("")
                    ),
                );
                p.position = position;
                problems.push(p);
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
                let matched = ioc.regex.find(path).map_or(path, |m| m.as_bytes());
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
