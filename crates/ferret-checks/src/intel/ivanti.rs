//! The Ivanti Connect Secure tables (`intel/ivanti-connect-secure/`): the families' files
//! (`families.tsv`), their code markers (`markers.tsv`) and the exploitation requests
//! (`requests.tsv`).

use std::collections::BTreeMap;

use ferret_core::Severity;
use ferret_intel::{Confidence, Intel, IntelError};

use super::{bad, one_of, tables};

/// What one row of `families.tsv` says about a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A file hash (MD5, SHA-1 or SHA-256 by length).
    Hash,
    /// A file name the product never ships.
    BadName,
    /// An appliance path the product never ships.
    BadPath,
    /// A genuine product file a family modifies: never a finding by name.
    Product,
}

/// One row of `families.tsv`.
#[derive(Clone, Debug)]
pub struct Indicator {
    /// What it is.
    pub kind: Kind,
    /// The hash (lowercase hex), the lowercase file name or the lowercase appliance path.
    pub value: String,
    /// The family.
    pub family: String,
    /// The published on-box name or path.
    pub name: String,
    /// The row's confidence.
    pub confidence: Confidence,
    /// The row's source.
    pub source: String,
}

/// The rows of `families.tsv`.
#[derive(Clone, Debug, Default)]
pub struct Families {
    /// The rows, in table order.
    pub rows: Vec<Indicator>,
}

impl Families {
    /// Reads `families.tsv` from `intel` (none when the table is absent).
    pub fn from_intel(intel: &Intel) -> Result<Families, IntelError> {
        let path = tables::IVANTI_FAMILIES;
        let mut rows = Vec::new();
        for r in intel.rows(path) {
            let kind = match one_of(
                path,
                r,
                "kind",
                &["md5", "sha1", "sha256", "badname", "badpath", "product"],
            )? {
                "md5" | "sha1" | "sha256" => Kind::Hash,
                "badname" => Kind::BadName,
                "badpath" => Kind::BadPath,
                _ => Kind::Product,
            };
            let value = r.field("value").trim().to_ascii_lowercase();
            if value.is_empty() {
                return Err(bad(path, r, "the value is empty".to_owned()));
            }
            rows.push(Indicator {
                kind,
                value,
                family: r.field("family").to_owned(),
                name: r.field("name").to_owned(),
                confidence: r.confidence(),
                source: r.source().to_owned(),
            });
        }
        Ok(Families { rows })
    }

    /// The indicator a hash (lowercase hex) matches.
    pub fn by_hash(&self, hash: &str) -> Option<&Indicator> {
        self.rows.iter().find(|i| i.kind == Kind::Hash && i.value.eq_ignore_ascii_case(hash))
    }

    /// The never-shipped name or path a normalized path (`/…`, lowercase) matches.
    pub fn by_name(&self, normalized_path: &str) -> Option<&Indicator> {
        let file = normalized_path.rsplit('/').next().unwrap_or(normalized_path);
        self.rows.iter().find(|i| match i.kind {
            Kind::BadName => file == i.value,
            Kind::BadPath => i.value.starts_with('/') && normalized_path.ends_with(&i.value),
            Kind::Hash | Kind::Product => false,
        })
    }

    /// The product-file row of a normalized path, by file name.
    pub fn product_file(&self, normalized_path: &str) -> Option<&Indicator> {
        let file = normalized_path.rsplit('/').next().unwrap_or(normalized_path);
        self.rows.iter().find(|i| i.kind == Kind::Product && file == i.value)
    }
}

/// One set of code markers (`markers.tsv`).
#[derive(Clone, Debug)]
pub struct MarkerSet {
    /// The family.
    pub family: String,
    /// The source of the literals.
    pub source: String,
    /// The set's confidence.
    pub confidence: Confidence,
    /// How many literals must be present.
    pub need: usize,
    /// The literals.
    pub literals: Vec<String>,
}

/// The marker sets and one automaton over all their literals.
#[derive(Debug, Default)]
pub struct Markers {
    /// The sets, in table order.
    pub sets: Vec<MarkerSet>,
    ids: Vec<(usize, usize)>,
    ac: Option<aho_corasick::AhoCorasick>,
}

impl Markers {
    /// Reads `markers.tsv` from `intel`: rows with the same `set` form one set.
    pub fn from_intel(intel: &Intel) -> Result<Markers, IntelError> {
        let path = tables::IVANTI_MARKERS;
        let mut by_set: BTreeMap<String, usize> = BTreeMap::new();
        let mut sets: Vec<MarkerSet> = Vec::new();
        for r in intel.rows(path) {
            let literal = r.field("literal");
            if literal.is_empty() {
                return Err(bad(path, r, "the literal is empty".to_owned()));
            }
            let need = r
                .field("need")
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| bad(path, r, "need is not a positive number".to_owned()))?;
            let i = match by_set.get(r.field("set")) {
                Some(i) => *i,
                None => {
                    sets.push(MarkerSet {
                        family: r.field("family").to_owned(),
                        source: r.source().to_owned(),
                        confidence: r.confidence(),
                        need,
                        literals: Vec::new(),
                    });
                    by_set.insert(r.field("set").to_owned(), sets.len() - 1);
                    sets.len() - 1
                }
            };
            if let Some(s) = sets.get_mut(i) {
                s.literals.push(literal.to_owned());
            }
        }
        let mut ids = Vec::new();
        let mut pats = Vec::new();
        for (si, s) in sets.iter().enumerate() {
            for (li, l) in s.literals.iter().enumerate() {
                ids.push((si, li));
                pats.push(l.as_str());
            }
        }
        let ac = aho_corasick::AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(aho_corasick::MatchKind::Standard)
            .build(&pats)
            .ok();
        Ok(Markers { sets, ids, ac })
    }

    /// The first set with at least `need` of its literals in `content`, with the literals found.
    pub fn matching(&self, content: &[u8]) -> Option<(&MarkerSet, Vec<&str>)> {
        let ac = self.ac.as_ref()?;
        let mut seen: Vec<Vec<bool>> =
            self.sets.iter().map(|s| vec![false; s.literals.len()]).collect();
        for m in ac.find_overlapping_iter(content) {
            if let Some(&(si, li)) = self.ids.get(m.pattern().as_usize())
                && let Some(slot) = seen.get_mut(si).and_then(|v| v.get_mut(li))
            {
                *slot = true;
            }
        }
        self.sets.iter().zip(&seen).find_map(|(s, v)| {
            let found: Vec<&str> =
                s.literals.iter().zip(v).filter(|(_, b)| **b).map(|(l, _)| l.as_str()).collect();
            (!found.is_empty() && found.len() >= s.need.min(s.literals.len())).then_some((s, found))
        })
    }
}

/// How a row of `requests.tsv` matches a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    /// `value` followed by a `../` step in the same request.
    Traversal,
    /// `value` followed by shell syntax in the same request.
    Injection,
    /// `value` and a run of at least this many digits and periods.
    Overflow(usize),
    /// `value` alone (a request).
    Uri,
    /// `value` alone (a log message).
    Message,
}

/// One row of `requests.tsv`.
#[derive(Clone, Debug)]
pub struct RequestRule {
    /// How it matches.
    pub how: How,
    /// The endpoint or message, lowercase.
    pub value: String,
    /// The vulnerability.
    pub cve: String,
    /// What a hit weighs.
    pub severity: Severity,
    /// What it is.
    pub note: String,
}

/// A table's `severity` field, or the error naming its line.
pub(crate) fn severity_field(path: &str, r: &ferret_intel::Row) -> Result<Severity, IntelError> {
    Ok(match one_of(path, r, "severity", &["critical", "high", "medium", "low"])? {
        "critical" => Severity::Critical,
        "high" => Severity::High,
        "medium" => Severity::Medium,
        _ => Severity::Low,
    })
}

/// The rows of `requests.tsv`, strongest first (a line is reported once, for its most
/// specific pattern).
pub fn requests_from_intel(intel: &Intel) -> Result<Vec<RequestRule>, IntelError> {
    let path = tables::IVANTI_REQUESTS;
    let mut v = Vec::new();
    for r in intel.rows(path) {
        let how = match one_of(
            path,
            r,
            "kind",
            &["traversal", "injection", "overflow", "uri", "message"],
        )? {
            "traversal" => How::Traversal,
            "injection" => How::Injection,
            "overflow" => How::Overflow(r.field("param").trim().parse().map_err(|_| {
                bad(path, r, "param of an overflow row is not a number".to_owned())
            })?),
            "uri" => How::Uri,
            _ => How::Message,
        };
        let value = r.field("value").to_ascii_lowercase();
        if value.is_empty() {
            return Err(bad(path, r, "the value is empty".to_owned()));
        }
        v.push(RequestRule {
            how,
            value,
            cve: r.field("cve").to_owned(),
            severity: severity_field(path, r)?,
            note: r.field("note").to_owned(),
        });
    }
    v.sort_by_key(|r| std::cmp::Reverse(r.severity));
    Ok(v)
}

/// Everything the Ivanti Connect Secure detectors read.
#[derive(Debug, Default)]
pub struct Ivanti {
    /// `families.tsv`.
    pub families: Families,
    /// `markers.tsv`.
    pub markers: Markers,
    /// `requests.tsv`, strongest first.
    pub requests: Vec<RequestRule>,
}

impl Ivanti {
    /// Reads the three tables from `intel`.
    pub fn from_intel(intel: &Intel) -> Result<Ivanti, IntelError> {
        Ok(Ivanti {
            families: Families::from_intel(intel)?,
            markers: Markers::from_intel(intel)?,
            requests: requests_from_intel(intel)?,
        })
    }
}
