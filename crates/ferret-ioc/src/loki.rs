//! signature-base/Loki hash and file-name IOC files.
//!
//! Hash IOCs: `HASH;DESCRIPTION` or `HASH;SCORE;DESCRIPTION` (THOR's extension, used in
//! signature-base for lower-scored entries), the digest's kind by its length; without a
//! score the indicator scores [`crate::DEFAULT_HASH_SCORE`] (100, critical), as in Loki.
//!
//! File-name IOCs: `REGEX;SCORE[;FALSE-POSITIVE REGEX]`; the description is the last comment
//! line above the entry (Loki's convention). Regexes are case-sensitive as written (Loki
//! compiles them with Python's `re.compile` and no flags; `(?i)` makes one insensitive) and
//! searched anywhere in the full path; separators are translated by [`crate::pathre`]. A
//! hit whose path also matches the false-positive regex is dropped.
//!
//! In both, `#` starts a comment and `# reference: URL` attaches a reference to the
//! entries below it (ferret's extension, a plain comment to Loki); URLs inside a
//! description are references too.

use std::sync::OnceLock;

use ferret_core::RuleRef;

use crate::hashlist::{References, digest_length_name, parse_hex_digest};
use crate::names::{NameIoc, compile};
use crate::pathre::translate;
use crate::{DEFAULT_HASH_SCORE, HashMeta, LoadCtx};

fn parse_score(s: &str) -> Option<u8> {
    s.trim().parse::<u8>().ok().filter(|&v| v <= 100)
}

pub(crate) fn load_hashes(ctx: &mut LoadCtx<'_>, text: &str) {
    let mut refs = References::default();
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let line = raw.trim().trim_start_matches('\u{feff}');
        if line.is_empty() {
            continue;
        }
        if line.starts_with('#') {
            refs.comment(line);
            continue;
        }
        let (hash, rest) = line.split_once(';').unwrap_or((line, ""));
        let hash = hash.trim();
        let Some(digest) = parse_hex_digest(hash) else {
            let reason = if hash.bytes().all(|b| b.is_ascii_hexdigit()) && !hash.is_empty() {
                format!(
                    "hex digest of {} digits ({}) is not supported; md5, sha1 and sha256 are",
                    hash.len(),
                    digest_length_name(hash.len())
                )
            } else {
                format!("not an md5, sha1 or sha256 hex digest: {hash:.80}")
            };
            ctx.line_problem(line_no, reason);
            continue;
        };
        let (score, description) = match rest.split_once(';') {
            Some((s, d)) if parse_score(s).is_some() => (parse_score(s), d),
            _ => (None, rest),
        };
        let description = description.trim();
        let name = if description.is_empty() {
            format!("known-bad {}", digest.kind().label())
        } else {
            description.to_owned()
        };
        let references = refs.for_entry(&name);
        let meta = HashMeta { id: None, name: &name, line: Some(line_no), references: &references };
        ctx.add_hash(digest, None, &meta, score.unwrap_or(DEFAULT_HASH_SCORE), "hash");
    }
}

pub(crate) fn load_filenames(ctx: &mut LoadCtx<'_>, text: &str) {
    let mut refs = References::default();
    let mut last_comment = String::new();
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let line = raw.trim_end_matches(['\r', '\n']).trim_start_matches('\u{feff}');
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with('#') {
            if !refs.comment(line) {
                let c = line.trim_start_matches('#').trim();
                if !c.is_empty() {
                    last_comment = c.chars().take(300).collect();
                }
            }
            continue;
        }
        let mut parts = line.splitn(3, ';');
        let regex = parts.next().unwrap_or_default();
        let Some(score_text) = parts.next() else {
            ctx.line_problem(line_no, "expected REGEX;SCORE[;FALSE-POSITIVE REGEX]");
            continue;
        };
        let Some(score) = parse_score(score_text) else {
            ctx.line_problem(
                line_no,
                format!("score is not a number 0-100: {:.40}", score_text.trim()),
            );
            continue;
        };
        if regex.is_empty() {
            ctx.line_problem(line_no, "empty regex");
            continue;
        }
        let pattern = translate(regex);
        let fp = match parts.next().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(fp) => match compile(&translate(fp)) {
                Ok(r) => Some(r),
                Err(reason) => {
                    ctx.line_problem(line_no, format!("false-positive {reason}"));
                    continue;
                }
            },
        };
        let name = if last_comment.is_empty() {
            format!("file name matches {regex:.120}")
        } else {
            last_comment.clone()
        };
        let rule = RuleRef {
            id: regex.to_owned(),
            references: refs.for_entry(&name),
            name,
            source: Some(ctx.source_at(line_no)),
        };
        ctx.add_name(NameIoc { pattern, regex: OnceLock::new(), fp, rule, score });
    }
}
