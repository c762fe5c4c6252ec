//! The intel pack: one file carrying a set of `intel/` tables and a header, signed as a whole.
//!
//! # Format (version 1)
//!
//! A pack is UTF-8 text. It starts with the four lines of a minisign signature (untrusted
//! comment, signature, trusted comment, global signature), then the *body*, whose exact bytes
//! the signature covers:
//!
//! ```text
//! ferret-intel-pack 1
//! id <32 lowercase hex digits>
//! created <RFC 3339 UTC time>
//! tables <N>
//! table <path under intel/> <length in bytes>
//! <exactly that many bytes of the table's text>
//! table …
//! ```
//!
//! The signature's trusted comment reads
//! `ferret-intel id=<id> created=<created> tables=<N> sha256=<SHA-256 of the body>`; the
//! role word `ferret-intel` keeps a manifest or directive signature from passing for a pack
//! and a pack's from passing for them. Signing and checking live in `ferret-integrity`
//! (`intel_pack`); this module only writes and reads the container, and refuses a body that
//! does not follow it (a table path that climbs out of the folder, a length past the end,
//! bytes after the last table).

use crate::{Intel, IntelError};

/// The body's first line.
pub const MAGIC: &str = "ferret-intel-pack 1";

/// The largest pack read (tables are text; the built-in set is well under 1 MiB).
pub const MAX_PACK: u64 = 64 * 1024 * 1024;

/// The header of a pack: who it is and when it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackHeader {
    /// The pack id (32 lowercase hex digits).
    pub id: String,
    /// When it was made (RFC 3339, UTC).
    pub created: String,
}

/// Why a pack body cannot be read.
fn malformed(reason: impl Into<String>) -> IntelError {
    IntelError { path: "(pack)".to_owned(), line: 0, reason: reason.into() }
}

/// Writes a pack body from tables given as (path under `intel/`, text).
pub fn encode_body(header: &PackHeader, tables: &[(String, String)]) -> String {
    let mut body =
        format!("{MAGIC}\nid {}\ncreated {}\ntables {}\n", header.id, header.created, tables.len());
    for (path, text) in tables {
        body.push_str(&format!("table {path} {}\n", text.len()));
        body.push_str(text);
    }
    body
}

/// Whether a table path is `campaign/name.tsv` shaped: relative, `/`-separated, no `..`.
pub fn valid_table_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 200
        && std::path::Path::new(path).extension().is_some_and(|e| e == "tsv")
        && !path.starts_with('/')
        && path.split('/').all(|c| {
            !c.is_empty()
                && c != "."
                && c != ".."
                && c.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
}

/// Reads a pack body: its header and its tables, parsed as an [`Intel`].
pub fn decode_body(body: &[u8]) -> Result<(PackHeader, Intel), IntelError> {
    let mut rest = body;
    let mut line = || -> Result<&str, IntelError> {
        let i = rest.iter().position(|b| *b == b'\n').ok_or_else(|| malformed("truncated"))?;
        let (l, r) = rest.split_at(i);
        rest = r.get(1..).unwrap_or_default();
        std::str::from_utf8(l).map_err(|_| malformed("a header line is not UTF-8"))
    };
    if line()? != MAGIC {
        return Err(malformed(format!(
            "not an intel pack (the body does not start with {MAGIC:?})"
        )));
    }
    let field = |l: &str, key: &str| -> Result<String, IntelError> {
        l.strip_prefix(key)
            .and_then(|v| v.strip_prefix(' '))
            .map(str::to_owned)
            .ok_or_else(|| malformed(format!("expected the {key:?} line")))
    };
    let id = field(line()?, "id")?;
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
        return Err(malformed("the pack id is not 32 lowercase hex digits"));
    }
    let created = field(line()?, "created")?;
    let count: usize = field(line()?, "tables")?
        .parse()
        .map_err(|_| malformed("the table count is not a number"))?;
    let mut files: Vec<(String, &[u8])> = Vec::new();
    for _ in 0..count {
        let i = rest
            .iter()
            .position(|b| *b == b'\n')
            .ok_or_else(|| malformed("truncated before a table"))?;
        let (l, r) = rest.split_at(i);
        let l = std::str::from_utf8(l).map_err(|_| malformed("a table line is not UTF-8"))?;
        let r = r.get(1..).unwrap_or_default();
        let mut words = l.split(' ');
        let (Some("table"), Some(path), Some(len), None) =
            (words.next(), words.next(), words.next(), words.next())
        else {
            return Err(malformed(format!("expected a table line, found {:?}", trunc(l))));
        };
        if !valid_table_path(path) {
            return Err(malformed(format!(
                "table path {:?} is not campaign/name.tsv",
                trunc(path)
            )));
        }
        if files.iter().any(|(p, _)| p == path) {
            return Err(malformed(format!("table {path} appears twice")));
        }
        let len: usize = len.parse().map_err(|_| malformed("a table length is not a number"))?;
        let text = r.get(..len).ok_or_else(|| malformed(format!("table {path} is truncated")))?;
        rest = r.get(len..).unwrap_or_default();
        files.push((path.to_owned(), text));
    }
    if !rest.is_empty() {
        return Err(malformed("bytes after the last table"));
    }
    let intel = Intel::from_texts(files.iter().map(|(p, t)| (p.as_str(), *t)))?;
    Ok((PackHeader { id, created }, intel))
}

fn trunc(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Splits a pack file into its signature text (the first four lines) and its body.
pub fn split(pack: &[u8]) -> Result<(&str, &[u8]), IntelError> {
    let mut end = 0;
    for _ in 0..4 {
        let i = pack
            .get(end..)
            .and_then(|r| r.iter().position(|b| *b == b'\n'))
            .ok_or_else(|| malformed("no signature: a pack starts with a minisign signature"))?;
        end += i + 1;
    }
    let (sig, body) = pack.split_at(end);
    let sig = std::str::from_utf8(sig).map_err(|_| malformed("the signature is not text"))?;
    if !sig.starts_with("untrusted comment:") {
        return Err(malformed("no signature: a pack starts with a minisign signature"));
    }
    Ok((sig, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str =
        "kind\tvalue\tsource\tpublished\tconfidence\nipv4\t192.0.2.1\ts\t2021-01-01\thigh\n";

    fn header() -> PackHeader {
        PackHeader {
            id: "0123456789abcdef0123456789abcdef".into(),
            created: "2026-01-02T03:04:05Z".into(),
        }
    }

    #[test]
    fn round_trip() {
        let tables =
            vec![("a/b.tsv".to_owned(), T.to_owned()), ("c/d.tsv".to_owned(), T.to_owned())];
        let body = encode_body(&header(), &tables);
        let (h, intel) = decode_body(body.as_bytes()).unwrap();
        assert_eq!(h, header());
        assert_eq!(intel.tables().count(), 2);
        let direct = Intel::from_texts(tables.iter().map(|(p, t)| (p.as_str(), t.as_bytes())));
        assert_eq!(intel.sha256(), direct.unwrap().sha256());
    }

    #[test]
    fn refuses_malformed_bodies() {
        let good = encode_body(&header(), &[("a/b.tsv".to_owned(), T.to_owned())]);
        let cases = [
            good.replace(MAGIC, "ferret-intel-pack 2"),
            good.replace("table a/b.tsv", "table ../b.tsv"),
            good.replace("table a/b.tsv", "table /etc/b.tsv"),
            good.replace(&format!("{}\n", T.len()), &format!("{}\n", T.len() + 5)),
            format!("{good}extra"),
            good.replace("tables 1", "tables 2"),
            good.replace("id 0123", "id 0X23"),
        ];
        for c in cases {
            assert!(decode_body(c.as_bytes()).is_err(), "{c:?}");
        }
        assert!(split(good.as_bytes()).is_err());
    }

    proptest::proptest! {
        /// A pack body is hostile input: arbitrary bytes, and a valid body with bytes changed,
        /// never panic the reader.
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
                        at in 0usize..400, b in proptest::num::u8::ANY) {
            let _ = decode_body(&bytes);
            let _ = split(&bytes);
            let mut good = encode_body(&header(), &[("a/b.tsv".to_owned(), T.to_owned())]).into_bytes();
            if let Some(x) = good.get_mut(at) {
                *x = b;
            }
            let _ = decode_body(&good);
        }
    }

    #[test]
    fn table_paths() {
        assert!(valid_table_path("sunburst/network.tsv"));
        for bad in ["", "/a.tsv", "a/../b.tsv", "a//b.tsv", "a/b.txt", "a/b c.tsv", "a\\b.tsv"] {
            assert!(!valid_table_path(bad), "{bad}");
        }
    }
}
