//! The SUNBURST tables: files (`sunburst/files.tsv`: SUNBURST, SUPERNOVA and TEARDROP hashes,
//! names, paths, product files and trojanized versions) and network infrastructure
//! (`sunburst/network.tsv`: stage-2 domains, matched with their subdomains as whole labels,
//! and IPv4 addresses, matched as whole tokens; `high` rows from the FireEye/Mandiant SUNBURST
//! indicator release and Snort rules (AA20-352A), `medium` rows from the wider CISA AA21-008A
//! network list shipped with CHIRP, confidence 3 there, which also names later-stage hosts).

use std::collections::HashMap;

use ferret_core::Severity;
use ferret_intel::{Intel, IntelError};

use super::{one_of, tables};

/// What one `sunburst/files.tsv` row matches on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// SHA-256 of the file.
    Sha256,
    /// File name, lowercase.
    Name,
    /// Windows path suffix, lowercase with `/`.
    Path,
    /// The name of a genuine Orion file that a family modifies: never matched by name.
    Product,
    /// A file version of the business-layer DLL that only trojanized builds carry.
    Version,
}

/// One published file indicator (a row of `sunburst/files.tsv`).
#[derive(Clone, Debug)]
pub struct FileIndicator {
    /// What it matches on.
    pub kind: FileKind,
    /// The hash, name or path.
    pub value: String,
    /// The family.
    pub family: String,
    /// How much a match says.
    pub severity: Severity,
    /// What the source says about it.
    pub note: String,
}

/// The published SUNBURST/SUPERNOVA/TEARDROP file indicators (`sunburst/files.tsv`).
#[derive(Clone, Debug, Default)]
pub struct Files {
    /// The rows, in table order.
    pub rows: Vec<FileIndicator>,
}

/// A table's `severity` field.
pub(crate) fn severity_of(
    path: &str,
    row: &ferret_intel::Row,
) -> Result<Severity, ferret_intel::IntelError> {
    Ok(match super::one_of(path, row, "severity", &["critical", "high", "medium", "low"])? {
        "critical" => Severity::Critical,
        "high" => Severity::High,
        "medium" => Severity::Medium,
        _ => Severity::Low,
    })
}

impl Files {
    /// Reads `sunburst/files.tsv` from `intel` (none when the table is absent).
    pub fn from_intel(intel: &ferret_intel::Intel) -> Result<Files, ferret_intel::IntelError> {
        let path = super::tables::SUNBURST_FILES;
        let mut rows = Vec::new();
        for row in intel.rows(path) {
            let kind = match super::one_of(
                path,
                row,
                "kind",
                &["sha256", "name", "path", "product", "version"],
            )? {
                "sha256" => FileKind::Sha256,
                "name" => FileKind::Name,
                "path" => FileKind::Path,
                "version" => FileKind::Version,
                _ => FileKind::Product,
            };
            rows.push(FileIndicator {
                kind,
                value: row.field("value").to_ascii_lowercase(),
                family: row.field("family").to_owned(),
                severity: severity_of(path, row)?,
                note: row.field("note").to_owned(),
            });
        }
        Ok(Files { rows })
    }

    /// The indicator matching a normalized path (lowercase, `/`) by name or path suffix.
    pub fn by_path(&self, normalized: &str) -> Option<&FileIndicator> {
        let name = normalized.rsplit('/').next().unwrap_or(normalized);
        self.rows.iter().find(|i| match i.kind {
            FileKind::Name => name == i.value,
            FileKind::Path => normalized.ends_with(&i.value),
            FileKind::Sha256 | FileKind::Product | FileKind::Version => false,
        })
    }

    /// Whether a file name (lowercase) is a genuine Orion file that a family modifies.
    pub fn product_file(&self, name: &str) -> bool {
        self.rows.iter().any(|i| i.kind == FileKind::Product && i.value == name)
    }

    /// Whether a file version of the business-layer DLL is one of a trojanized build.
    pub fn trojanized_version(&self, version: &str) -> bool {
        self.rows.iter().any(|i| i.kind == FileKind::Version && i.value == version)
    }

    /// The indicator matching a SHA-256 (lowercase hex).
    pub fn by_hash(&self, sha256: &str) -> Option<&FileIndicator> {
        self.rows.iter().find(|i| i.kind == FileKind::Sha256 && i.value == sha256)
    }
}

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
                return Err(super::bad(path, row, "the value is empty".to_owned()));
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

/// One service SUNBURST sets to disabled (a row of `sunburst/services.tsv`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    /// The service key name, lowercase.
    pub name: String,
    /// The product it belongs to.
    pub vendor: String,
}

/// The services SUNBURST disables (`sunburst/services.tsv`).
#[derive(Clone, Debug, Default)]
pub struct Services {
    /// The rows, in table order.
    pub rows: Vec<Service>,
}

/// SUNBURST's name hash: FNV-1a 64 of the lowercase name, XOR 6605813339339102567
/// (`0x5BAC_903B_A7D8_1967`).
pub fn sunburst_hash(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.to_ascii_lowercase().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^ 0x5BAC_903B_A7D8_1967
}

impl Services {
    /// Reads `sunburst/services.tsv` (none when absent). A row whose name does not hash to its
    /// published `hash` is refused: the table holds decoded names of published hashes only.
    pub fn from_intel(intel: &Intel) -> Result<Services, IntelError> {
        let path = tables::SUNBURST_SERVICES;
        let mut rows = Vec::new();
        for row in intel.rows(path) {
            let name = row.field("service").to_ascii_lowercase();
            let published: Option<u64> = row.field("hash").parse().ok();
            if published != Some(sunburst_hash(&name)) {
                return Err(super::bad(
                    path,
                    row,
                    format!("service {name:?} does not hash to the published value in `hash`"),
                ));
            }
            rows.push(Service { name, vendor: row.field("vendor").to_owned() });
        }
        Ok(Services { rows })
    }

    /// The row for a service name (any case).
    pub fn get(&self, name: &str) -> Option<&Service> {
        self.rows.iter().find(|s| s.name.eq_ignore_ascii_case(name))
    }
}
