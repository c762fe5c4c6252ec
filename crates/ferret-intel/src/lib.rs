//! ferret's campaign knowledge as data.
//!
//! Every indicator list (hashes, names, paths, domains, IPs, URIs, log markers, families) lives
//! in a table under the workspace's `intel/` folder, embedded at build time and parsed once.
//! Detectors read tables through [`Intel`]; adding an indicator touches no Rust.
//!
//! # The table format
//!
//! A table is a UTF-8, tab-separated file `intel/<campaign>/<name>.tsv`:
//!
//! - lines starting with `#` are comments (sources, notes), blank lines are ignored;
//! - the first other line is the header: tab-separated column names, lowercase;
//! - every later line is a row with exactly as many fields as the header (an empty field is
//!   an empty string);
//! - every table has the columns `source` (who published it: advisory, report, with its URL
//!   where there is one), `published` (the publication date, `YYYY-MM-DD`) and `confidence`
//!   (`high`, `medium` or `low`); the other columns are the table's own (`kind`, `value`,
//!   `family`, `severity`, `note`, …), described in the table's comment block.
//!
//! A table that breaks these rules is refused whole with its path, line and reason
//! ([`IntelError`]); the built-in tables are checked by this crate's tests.
//!
//! # Identity
//!
//! [`Intel::sha256`] is the SHA-256 over every table's path and bytes in path order, so two
//! runs can be told apart by the intel they used.

pub mod pack;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use sha2::Digest as _;

/// The built-in tables: (path under `intel/`, text).
const EMBEDDED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// The columns every table carries.
pub const REQUIRED_COLUMNS: [&str; 3] = ["source", "published", "confidence"];

/// Why a table cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}: {reason}")]
pub struct IntelError {
    /// The table's path under `intel/`.
    pub path: String,
    /// The 1-based line (0: the file as a whole).
    pub line: usize,
    /// What is wrong, in lowercase.
    pub reason: String,
}

/// How much a row is trusted, as its source rates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Confidence {
    /// `low`
    Low,
    /// `medium`
    Medium,
    /// `high`
    High,
}

impl Confidence {
    /// Parses `high`, `medium` or `low`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "high" => Some(Self::High),
            "medium" => Some(Self::Medium),
            "low" => Some(Self::Low),
            _ => None,
        }
    }

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
        }
    }
}

/// One row of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The 1-based line in the table's file.
    pub line: usize,
    fields: Vec<String>,
    columns: std::sync::Arc<[String]>,
}

impl Row {
    /// The field of `column`, or `None` when the table has no such column.
    pub fn get(&self, column: &str) -> Option<&str> {
        let i = self.columns.iter().position(|c| c == column)?;
        self.fields.get(i).map(String::as_str)
    }

    /// The field of `column`, or `""` when the table has no such column.
    pub fn field(&self, column: &str) -> &str {
        self.get(column).unwrap_or("")
    }

    /// The `source` field.
    pub fn source(&self) -> &str {
        self.field("source")
    }

    /// The `published` field (`YYYY-MM-DD`).
    pub fn published(&self) -> &str {
        self.field("published")
    }

    /// The `confidence` field.
    pub fn confidence(&self) -> Confidence {
        Confidence::parse(self.field("confidence")).unwrap_or(Confidence::Low)
    }
}

/// One parsed table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Its path under `intel/` (`sunburst/network.tsv`).
    pub path: String,
    /// The header's column names.
    pub columns: Vec<String>,
    /// The rows, in file order.
    pub rows: Vec<Row>,
}

fn valid_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b.iter()
            .enumerate()
            .all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() })
        && matches!(text.get(5..7).and_then(|m| m.parse::<u8>().ok()), Some(1..=12))
        && matches!(text.get(8..10).and_then(|d| d.parse::<u8>().ok()), Some(1..=31))
}

impl Table {
    /// Parses one table (see the crate documentation for the format).
    pub fn parse(path: &str, text: &str) -> Result<Self, IntelError> {
        let err = |line: usize, reason: String| IntelError { path: path.to_owned(), line, reason };
        let mut header: Option<std::sync::Arc<[String]>> = None;
        let mut rows = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            if raw.trim().is_empty() || raw.starts_with('#') {
                continue;
            }
            let fields: Vec<String> = raw.split('\t').map(str::to_owned).collect();
            let Some(columns) = &header else {
                for need in REQUIRED_COLUMNS {
                    if !fields.iter().any(|f| f == need) {
                        return Err(err(line, format!("the header has no `{need}` column")));
                    }
                }
                if let Some(bad) = fields
                    .iter()
                    .find(|f| f.is_empty() || f.chars().any(|c| c.is_ascii_uppercase()))
                {
                    return Err(err(
                        line,
                        format!("column name {bad:?} is empty or not lowercase"),
                    ));
                }
                header = Some(fields.into());
                continue;
            };
            if fields.len() != columns.len() {
                return Err(err(
                    line,
                    format!("{} fields, the header has {}", fields.len(), columns.len()),
                ));
            }
            let row = Row { line, fields, columns: columns.clone() };
            if !valid_date(row.published()) {
                return Err(err(
                    line,
                    format!("published {:?} is not a date (YYYY-MM-DD)", row.published()),
                ));
            }
            if Confidence::parse(row.field("confidence")).is_none() {
                return Err(err(
                    line,
                    format!("confidence {:?} is not high, medium or low", row.field("confidence")),
                ));
            }
            if row.source().trim().is_empty() {
                return Err(err(line, "the source is empty".to_owned()));
            }
            rows.push(row);
        }
        let Some(columns) = header else {
            return Err(err(0, "the table has no header line".to_owned()));
        };
        Ok(Self { path: path.to_owned(), columns: columns.to_vec(), rows })
    }
}

/// A loaded set of tables: the built-in one, or one read from elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intel {
    tables: BTreeMap<String, Table>,
    sha256: String,
}

static BUILTIN: LazyLock<Result<Intel, IntelError>> =
    LazyLock::new(|| Intel::from_texts(EMBEDDED.iter().map(|(p, t)| (*p, t.as_bytes()))));

impl Intel {
    /// The tables embedded in this build.
    ///
    /// # Errors
    /// Only if a built-in table is malformed, which this crate's tests rule out.
    pub fn builtin() -> Result<&'static Intel, IntelError> {
        BUILTIN.as_ref().map_err(Clone::clone)
    }

    /// The built-in tables' files: (path under `intel/`, text).
    pub fn builtin_files() -> &'static [(&'static str, &'static str)] {
        EMBEDDED
    }

    /// No table at all (the identity of the empty set).
    pub fn empty() -> Self {
        Self { tables: BTreeMap::new(), sha256: hex::encode(sha2::Sha256::digest([])) }
    }

    /// Parses a set of tables given as (path, bytes).
    ///
    /// # Errors
    /// The first table that is not UTF-8 or breaks the format.
    pub fn from_texts<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<Self, IntelError> {
        let mut sorted: Vec<(&str, &[u8])> = files.into_iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        let mut h = sha2::Sha256::new();
        let mut tables = BTreeMap::new();
        for (path, bytes) in sorted {
            h.update(path.as_bytes());
            h.update([0]);
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
            let text = std::str::from_utf8(bytes).map_err(|e| IntelError {
                path: path.to_owned(),
                line: 0,
                reason: format!("not UTF-8: {e}"),
            })?;
            tables.insert(path.to_owned(), Table::parse(path, text)?);
        }
        Ok(Self { tables, sha256: hex::encode(h.finalize()) })
    }

    /// The table at `path` (`sunburst/network.tsv`), if loaded.
    pub fn table(&self, path: &str) -> Option<&Table> {
        self.tables.get(path)
    }

    /// The rows of the table at `path`; none when it is not loaded.
    pub fn rows<'a>(&'a self, path: &str) -> impl Iterator<Item = &'a Row> + 'a {
        self.tables.get(path).into_iter().flat_map(|t| t.rows.iter())
    }

    /// Every table, by path.
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.tables.values()
    }

    /// The newest `published` date of any row (`YYYY-MM-DD`), `None` when there is no row.
    pub fn newest_published(&self) -> Option<&str> {
        self.tables.values().flat_map(|t| t.rows.iter()).map(Row::published).max()
    }

    /// The SHA-256 (lowercase hex) over every table's path and bytes.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "# a comment\nkind\tvalue\tsource\tpublished\tconfidence\nsha256\tab\tCISA AA20-352A\t2020-12-17\thigh\n\nname\tx.aspx\tVolexity\t2021-03-02\tmedium\n";

    #[test]
    fn parses_rows_and_columns() {
        let t = Table::parse("t/a.tsv", GOOD).unwrap();
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].get("kind"), Some("sha256"));
        assert_eq!(t.rows[1].field("value"), "x.aspx");
        assert_eq!(t.rows[1].line, 5);
        assert_eq!(t.rows[1].confidence(), Confidence::Medium);
        assert_eq!(t.rows[0].get("nope"), None);
    }

    #[test]
    fn refuses_broken_tables_with_the_line() {
        let cases = [
            ("value\tsource\tpublished\n", 1, "confidence"),
            ("value\tsource\tpublished\tconfidence\nx\ty\t2021-13-01\thigh\n", 2, "not a date"),
            ("value\tsource\tpublished\tconfidence\nx\ty\t2021-01-01\tsure\n", 2, "confidence"),
            ("value\tsource\tpublished\tconfidence\nx\ty\t2021-01-01\n", 2, "fields"),
            ("value\tsource\tpublished\tconfidence\nx\t \t2021-01-01\thigh\n", 2, "source"),
            ("# only comments\n", 0, "header"),
        ];
        for (text, line, what) in cases {
            let e = Table::parse("t.tsv", text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.reason.contains(what), "{text:?}: {e}");
        }
    }

    #[test]
    fn identity_covers_paths_and_bytes() {
        let a = Intel::from_texts([("a.tsv", GOOD.as_bytes())]).unwrap();
        let b = Intel::from_texts([("b.tsv", GOOD.as_bytes())]).unwrap();
        let c = Intel::from_texts([("a.tsv", GOOD.replace("ab", "ac").as_bytes())]).unwrap();
        assert_ne!(a.sha256(), b.sha256());
        assert_ne!(a.sha256(), c.sha256());
        assert_eq!(a.sha256().len(), 64);
        assert!(Intel::from_texts([("a.tsv", &b"\xff\xfe"[..])]).is_err());
    }

    #[test]
    fn builtin_tables_parse() {
        let intel = Intel::builtin().unwrap();
        assert_eq!(intel.tables().count(), Intel::builtin_files().len());
    }
}

/// The README's example, run as a doctest so it keeps compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
