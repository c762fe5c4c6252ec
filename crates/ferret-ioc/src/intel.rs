//! The scan tables of the intel (`ferret-intel`): `CAMPAIGN/scan-hashes.tsv` (file hashes) and
//! `CAMPAIGN/scan-names.tsv` (file-name regexes), the lists of `ferret scan`'s built-in pack.
//!
//! Their rows mean what a signature-base/Loki line means ([`crate::IocFormat::LokiHash`],
//! [`crate::IocFormat::LokiFilename`]): a hash row is `HASH;SCORE;DESCRIPTION` with its
//! references, a name row `REGEX;SCORE;FALSE-POSITIVE REGEX` with its description and
//! references. Each indicator's source is `intel:CAMPAIGN/TABLE.tsv:LINE`, so a finding names
//! the table row it came from, whether the table is built in or from a signed intel pack.
//!
//! Columns, besides the `source`, `published` and `confidence` every table has:
//!
//! - `scan-hashes.tsv`: `kind` (`md5`, `sha1`, `sha256`), `value` (the hex digest), `score`
//!   (0–100; empty: 100), `description`, `references` (URLs, space-separated);
//! - `scan-names.tsv`: `regex`, `score` (0–100), `false_positive` (a regex, or empty),
//!   `description`, `references`.
//!
//! A row that cannot be used is a rule-load problem naming the table and line; the other rows
//! load.

use std::sync::OnceLock;

use ferret_core::{Problem, RuleRef};
use ferret_intel::{Intel, Row, Table};

use crate::hashlist::parse_hex_digest;
use crate::names::{NameIoc, compile};
use crate::pathre::translate;
use crate::{DEFAULT_HASH_SCORE, HashMeta, IocSet, LoadCtx};

/// The file name of a campaign's hash table.
pub const HASH_TABLE: &str = "scan-hashes.tsv";
/// The file name of a campaign's file-name table.
pub const NAME_TABLE: &str = "scan-names.tsv";

/// Whether the table at `path` (`CAMPAIGN/NAME.tsv`) is a scan table.
pub fn is_scan_table(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name == HASH_TABLE || name == NAME_TABLE
}

/// The source name of a table's indicators (`intel:CAMPAIGN/TABLE.tsv`).
pub fn source_name(path: &str) -> String {
    format!("intel:{path}")
}

fn score(row: &Row, default: Option<u8>) -> Result<u8, String> {
    let text = row.field("score").trim();
    if text.is_empty()
        && let Some(d) = default
    {
        return Ok(d);
    }
    text.parse::<u8>()
        .ok()
        .filter(|s| *s <= 100)
        .ok_or_else(|| format!("score is not a number 0-100: {text:.40}"))
}

fn references(row: &Row) -> Vec<String> {
    row.field("references").split_whitespace().map(str::to_owned).collect()
}

fn load_hashes(ctx: &mut LoadCtx<'_>, table: &Table) {
    for row in &table.rows {
        let value = row.field("value").trim();
        let Some(digest) = parse_hex_digest(value) else {
            ctx.line_problem(
                row.line,
                format!("not an md5, sha1 or sha256 hex digest: {value:.80}"),
            );
            continue;
        };
        let kind = row.field("kind");
        if kind != digest.kind().label() {
            ctx.line_problem(
                row.line,
                format!("kind {kind:?} does not fit a digest of {} hex digits", value.len()),
            );
            continue;
        }
        let score = match score(row, Some(DEFAULT_HASH_SCORE)) {
            Ok(s) => s,
            Err(reason) => {
                ctx.line_problem(row.line, reason);
                continue;
            }
        };
        let description = row.field("description").trim();
        let name = if description.is_empty() {
            format!("known-bad {}", digest.kind().label())
        } else {
            description.to_owned()
        };
        let refs = references(row);
        let meta = HashMeta { id: None, name: &name, line: Some(row.line), references: &refs };
        ctx.add_hash(digest, None, &meta, score, "hash");
    }
}

fn load_names(ctx: &mut LoadCtx<'_>, table: &Table) {
    for row in &table.rows {
        let regex = row.field("regex");
        if regex.is_empty() {
            ctx.line_problem(row.line, "empty regex");
            continue;
        }
        let score = match score(row, None) {
            Ok(s) => s,
            Err(reason) => {
                ctx.line_problem(row.line, reason);
                continue;
            }
        };
        let fp = match row.field("false_positive").trim() {
            "" => None,
            fp => match compile(&translate(fp)) {
                Ok(r) => Some(r),
                Err(reason) => {
                    ctx.line_problem(row.line, format!("false-positive {reason}"));
                    continue;
                }
            },
        };
        let description = row.field("description").trim();
        let name = if description.is_empty() {
            format!("file name matches {regex:.120}")
        } else {
            description.to_owned()
        };
        let rule = RuleRef {
            id: regex.to_owned(),
            references: references(row),
            name,
            source: Some(ctx.source_at(row.line)),
        };
        ctx.add_name(NameIoc {
            pattern: translate(regex),
            regex: OnceLock::new(),
            fp,
            rule,
            score,
        });
    }
}

impl IocSet {
    /// Loads every scan table of `intel` (see the [module documentation](crate::intel)), in
    /// path order. Returns (table path, indicators added) per scan table.
    pub fn load_intel(
        &mut self,
        intel: &Intel,
        problems: &mut Vec<Problem>,
    ) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        for table in intel.tables().filter(|t| is_scan_table(&t.path)) {
            let n = self.load_table(&source_name(&table.path), table, problems);
            out.push((table.path.clone(), n));
        }
        out
    }

    /// Loads one scan table (by its file name: hashes or names) under the source name
    /// `source`. Returns how many indicators were added; a table that is no scan table adds
    /// none.
    pub fn load_table(
        &mut self,
        source: &str,
        table: &Table,
        problems: &mut Vec<Problem>,
    ) -> usize {
        let name = table.path.rsplit('/').next().unwrap_or(&table.path);
        match name {
            HASH_TABLE => self.load_with(source, problems, |ctx| load_hashes(ctx, table)),
            NAME_TABLE => self.load_with(source, problems, |ctx| load_names(ctx, table)),
            _ => 0,
        }
    }
}
