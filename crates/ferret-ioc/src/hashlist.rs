//! Plain hash lists and ClamAV `.hdb`/`.hsb` hash signatures.
//!
//! Plain lists: one hash a line (MD5, SHA-1 or SHA-256 by length), optionally followed by a
//! separator (`;`, `,`, `:`, `|`, `*`, whitespace) and text that becomes the description
//! (`sha256sum` output, CSV exports with `hash,…` rows). `#` starts a comment; a comment of
//! the form `# reference: URL` applies that reference to the following entries. A line of
//! other text is a heading (vendor lists name the family and file above its hashes): the
//! headings since the last blank line or hash describe the hashes that follow. A hex token
//! of another length (SHA-384, SHA-512, a truncated hash) is a problem for that line.
//!
//! ClamAV: `HASH:SIZE:NAME[:FLEVEL…]`; `.hdb` holds MD5s, `.hsb` SHA-1/SHA-256s; `SIZE` may be
//! `*` (any size). A file matches only when the size matches too.

use crate::{DEFAULT_HASH_SCORE, Digest, HashMeta, LoadCtx, urls_in};

/// Each byte's value as a hex digit; 0xff for any other byte. (A table: a list of 100,000
/// digests is parsed at the start of every scan that loads it, on its serial path.)
#[expect(
    clippy::indexing_slicing,
    reason = "evaluated when ferret is built: an index out of range fails the build, never a run"
)]
const HEX: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0u8;
    while i < 10 {
        t[(b'0' + i) as usize] = i;
        i += 1;
    }
    let mut i = 0u8;
    while i < 6 {
        t[(b'a' + i) as usize] = 10 + i;
        t[(b'A' + i) as usize] = 10 + i;
        i += 1;
    }
    t
};

/// A hex digit's value; 0xff for any other byte.
fn hex_value(b: u8) -> u8 {
    // (Always in range: a byte indexes a table of 256.)
    HEX.get(usize::from(b)).copied().unwrap_or(0xff)
}

/// Decodes exactly `2 * N` hex digits.
fn decode_hex<const N: usize>(s: &[u8]) -> Option<[u8; N]> {
    if s.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    // Every digit's value or'ed together: above 15 when any byte is not a digit.
    let mut seen = 0u8;
    for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
        let [hi, lo] = pair else { return None };
        let (hi, lo) = (hex_value(*hi), hex_value(*lo));
        seen |= hi | lo;
        *o = (hi << 4) | (lo & 0x0f);
    }
    (seen <= 15).then_some(out)
}

/// Parses a hex digest of 32/40/64 hex digits (either case).
pub(crate) fn parse_hex_digest(s: &str) -> Option<Digest> {
    let b = s.as_bytes();
    match b.len() {
        32 => decode_hex(b).map(Digest::Md5),
        40 => decode_hex(b).map(Digest::Sha1),
        64 => decode_hex(b).map(Digest::Sha256),
        _ => None,
    }
}

/// The leading hex run of a line, when it is followed by the end or a separator.
fn leading_hex(line: &str) -> Option<(&str, &str)> {
    let end = line.bytes().position(|b| hex_value(b) > 15).unwrap_or(line.len());
    let (hex, rest) = line.split_at_checked(end)?;
    let sep_ok = rest.is_empty()
        || rest
            .starts_with(|c: char| c.is_whitespace() || matches!(c, ';' | ',' | ':' | '|' | '*'));
    (sep_ok && !hex.is_empty()).then_some((hex, rest))
}

/// A line's leading digest and the rest of the line.
pub(crate) fn leading_hash(line: &str) -> Option<(Digest, &str)> {
    let (hex, rest) = leading_hex(line)?;
    Some((parse_hex_digest(hex)?, rest))
}

/// The `# reference: URL` directives in force: consecutive directives accumulate; the
/// first directive after an entry starts a new list.
#[derive(Default)]
pub(crate) struct References {
    refs: Vec<String>,
    entry_seen: bool,
}

impl References {
    /// Feeds a comment line; returns whether it was a directive.
    pub(crate) fn comment(&mut self, line: &str) -> bool {
        let Some(r) = reference_directive(line) else { return false };
        if self.entry_seen {
            self.refs.clear();
            self.entry_seen = false;
        }
        if !self.refs.iter().any(|x| x == r) {
            self.refs.push(r.to_owned());
        }
        true
    }

    /// The references of an entry with this description: the directives, then URLs in it.
    pub(crate) fn for_entry(&mut self, description: &str) -> Vec<String> {
        self.entry_seen = true;
        let mut out = self.refs.clone();
        if description.contains("http") {
            for u in urls_in(description) {
                if !out.contains(&u) {
                    out.push(u);
                }
            }
        }
        out
    }
}

/// `# reference: URL` → the URL.
pub(crate) fn reference_directive(comment: &str) -> Option<&str> {
    let body = comment.trim_start_matches('#').trim();
    let (key, value) = body.split_once(':')?;
    (key.trim().eq_ignore_ascii_case("reference") && !value.trim().is_empty()).then(|| value.trim())
}

pub(crate) fn digest_length_name(len: usize) -> &'static str {
    match len {
        56 => "SHA-224",
        96 => "SHA-384",
        128 => "SHA-512",
        _ => "unknown",
    }
}

fn is_boolish(s: &str) -> bool {
    matches!(s.to_ascii_lowercase().as_str(), "" | "true" | "false" | "yes" | "no" | "1" | "0")
}

pub(crate) fn load_plain(ctx: &mut LoadCtx<'_>, text: &str) {
    let mut heading: Vec<String> = Vec::new();
    let mut reset_heading = false;
    let mut refs = References::default();
    let file_label = ctx.source().rsplit(['/', '\\']).next().unwrap_or_default().to_owned();
    let default_name = format!("hash listed in {file_label}");
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let line = raw.trim().trim_start_matches('\u{feff}');
        if line.is_empty() {
            reset_heading = true;
            continue;
        }
        if line.starts_with('#') {
            refs.comment(line);
            continue;
        }
        if let Some((digest, rest)) = leading_hash(line) {
            reset_heading = true;
            let mut digests = vec![digest];
            let trailing = if rest.starts_with(',') {
                // A CSV row: later columns may hold the other digests of the same file.
                let mut words = Vec::new();
                for f in rest.split(',').map(|f| f.trim().trim_matches('"')) {
                    match parse_hex_digest(f) {
                        Some(d) => digests.push(d),
                        None if !is_boolish(f) => words.push(f),
                        None => {}
                    }
                }
                words.join(" ")
            } else {
                rest.trim_start_matches(|c: char| {
                    c.is_whitespace() || matches!(c, ';' | ':' | '|' | '*')
                })
                .trim()
                .to_owned()
            };
            let trailing = trailing.as_str();
            let name = if !is_boolish(trailing) {
                trailing.to_owned()
            } else if !heading.is_empty() {
                heading.join(" - ")
            } else {
                default_name.clone()
            };
            let references = refs.for_entry(&name);
            for d in digests {
                let meta = HashMeta {
                    id: None,
                    name: &name,
                    line: Some(line_no),
                    references: &references,
                };
                ctx.add_hash(d, None, &meta, DEFAULT_HASH_SCORE, "hash");
            }
            continue;
        }
        if let Some((hex, _)) = leading_hex(line)
            && hex.len() >= 32
        {
            ctx.line_problem(
                line_no,
                format!(
                    "hex digest of {} digits ({}) is not supported; md5, sha1 and sha256 are",
                    hex.len(),
                    digest_length_name(hex.len())
                ),
            );
            continue;
        }
        // A heading line (family, file name) for the hashes below it; CSV headers are not.
        if reset_heading {
            heading.clear();
            reset_heading = false;
        }
        if !line.contains(',') && heading.len() < 4 {
            heading.push(line.chars().take(200).collect());
        }
    }
}

pub(crate) fn load_clamav(ctx: &mut LoadCtx<'_>, text: &str, sha: bool) {
    let what = if sha { "hsb" } else { "hdb" };
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let line = raw.trim().trim_start_matches('\u{feff}');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split(':');
        let (Some(hash), Some(size), Some(name)) = (fields.next(), fields.next(), fields.next())
        else {
            ctx.line_problem(line_no, format!("expected HASH:SIZE:NAME in a ClamAV .{what} line"));
            continue;
        };
        let Some(digest) = parse_hex_digest(hash.trim()) else {
            ctx.line_problem(
                line_no,
                format!("not an md5, sha1 or sha256 hex digest: {:.80}", hash.trim()),
            );
            continue;
        };
        let kind_ok = match digest {
            Digest::Md5(_) => !sha,
            Digest::Sha1(_) | Digest::Sha256(_) => sha,
        };
        if !kind_ok {
            ctx.line_problem(
                line_no,
                format!(
                    "{} digest in a .{what} file (.hdb holds md5, .hsb sha1/sha256)",
                    digest.kind().label()
                ),
            );
            continue;
        }
        let size = match size.trim() {
            "*" => None,
            s => {
                if let Ok(v) = s.parse::<u64>() {
                    Some(v)
                } else {
                    ctx.line_problem(line_no, format!("size is not a number or '*': {s:.40}"));
                    continue;
                }
            }
        };
        let name = name.trim();
        if name.is_empty() {
            ctx.line_problem(line_no, "empty signature name");
            continue;
        }
        let meta = HashMeta { id: None, name, line: Some(line_no), references: &[] };
        ctx.add_hash(digest, size, &meta, DEFAULT_HASH_SCORE, "clamav");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_digests_decode() {
        let d = parse_hex_digest("00ff10aB").is_none();
        assert!(d, "wrong length");
        assert_eq!(
            parse_hex_digest("0123456789abcdefABCDEF0123456789"),
            Some(Digest::Md5([
                0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45,
                0x67, 0x89
            ]))
        );
        assert!(parse_hex_digest(&"g".repeat(32)).is_none());
        assert!(parse_hex_digest(&"é".repeat(16)).is_none());
        assert_eq!(
            leading_hash(&format!("{};x", "a".repeat(40))).map(|(d, r)| (d.kind(), r)),
            Some((crate::HashKind::Sha1, ";x"))
        );
        assert!(leading_hash(&format!("{}x", "a".repeat(40))).is_none());
    }

    #[test]
    fn the_hex_table_is_every_byte_right() {
        for b in 0..=255u8 {
            let want = char::from(b).to_digit(16).map_or(0xff, |d| u8::try_from(d).unwrap());
            assert_eq!(hex_value(b), want, "byte {b:#x}");
        }
        // One byte that is not a digit, anywhere in a digest, refuses it.
        let good = "0123456789abcdefABCDEF0123456789abcdefABCDEF0123456789abcdef0123";
        assert!(parse_hex_digest(good).is_some());
        for at in 0..good.len() {
            for bad in [b'g', b' ', b'/', b':', b'@', b'G', b'`', 0x80] {
                let mut s = good.as_bytes().to_vec();
                s[at] = bad;
                assert!(decode_hex::<32>(&s).is_none(), "{at} {bad}");
            }
        }
    }
}
