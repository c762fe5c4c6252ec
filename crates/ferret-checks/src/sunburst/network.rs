//! SUNBURST stage-2 and related infrastructure (`intel/sunburst/network.tsv`): domains,
//! matched with their subdomains as whole labels, and IPv4 addresses, matched as whole tokens.
//! `high`: the FireEye/Mandiant SUNBURST indicator release and Snort rules (AA20-352A);
//! `medium`: the wider CISA AA21-008A network list shipped with CHIRP (confidence 3 there),
//! which also names later-stage hosts.

use std::collections::HashMap;

use ferret_core::Severity;
use ferret_intel::{Intel, IntelError};

use crate::intel::{one_of, tables};
use crate::sunburst::severity_of;

/// One indicator: its severity and who published it (`source (published)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetInfo {
    /// What a hit weighs.
    pub severity: Severity,
    /// Who published it, with the date.
    pub source: String,
}

/// The published network indicators, by lowercase value.
#[derive(Clone, Debug, Default)]
pub struct Network {
    by_value: HashMap<String, NetInfo>,
    /// The values in table order (the log prefilter's needles).
    values: Vec<String>,
}

impl Network {
    /// Reads `sunburst/network.tsv` from `intel` (none when the table is absent).
    pub fn from_intel(intel: &Intel) -> Result<Network, IntelError> {
        let path = tables::SUNBURST_NETWORK;
        let mut n = Network::default();
        for row in intel.rows(path) {
            one_of(path, row, "kind", &["domain", "ipv4"])?;
            let value = row.field("value").trim().to_ascii_lowercase();
            if value.is_empty() {
                return Err(crate::intel::bad(path, row, "the value is empty".to_owned()));
            }
            let info = NetInfo {
                severity: severity_of(path, row)?,
                source: format!("{}, {}", source_title(row.source()), row.published()),
            };
            if n.by_value.insert(value.clone(), info).is_none() {
                n.values.push(value);
            }
        }
        Ok(n)
    }

    /// How many indicators.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The values, in table order.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// What is known of a value (lowercase), if it is an indicator.
    pub fn get(&self, value: &str) -> Option<&NetInfo> {
        self.by_value.get(value)
    }

    /// Every indicator in a line: domains (with subdomains, as whole labels) and IPv4 addresses
    /// (as whole tokens), each once, in line order.
    pub fn indicators_in(&self, line: &str) -> Vec<(&str, &NetInfo)> {
        let lower = line.to_ascii_lowercase();
        let mut hits: Vec<(&str, &NetInfo)> = Vec::new();
        for token in lower.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-')) {
            let token = token.trim_matches('.');
            if token.is_empty() {
                continue;
            }
            // The token itself and each parent domain of it.
            let mut rest = token;
            loop {
                if let Some((k, info)) = self.by_value.get_key_value(rest) {
                    if !hits.iter().any(|(v, _)| *v == k.as_str()) {
                        hits.push((k.as_str(), info));
                    }
                    break;
                }
                match rest.split_once('.') {
                    Some((_, parent)) if parent.contains('.') => rest = parent,
                    _ => break,
                }
            }
        }
        hits
    }
}

/// A source's title without its `<URL>`.
pub(crate) fn source_title(source: &str) -> &str {
    source.split(" <").next().unwrap_or(source).trim()
}
