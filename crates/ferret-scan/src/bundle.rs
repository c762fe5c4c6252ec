//! Compiled rule bundles: `ferret rules compile -o FILE`, loaded back with `--rules FILE`.
//!
//! Antivirus products quarantine plain-text YARA and IOC files; a bundle survives that and
//! starts fast. Layout (all integers little-endian):
//!
//! ```text
//! FERRET-RULES-BUNDLE\n          magic (20 bytes)
//! deflate stream of:
//!   u32 header length, header JSON {"version":1,"ferret":…,"yara_x":…,
//!                                   "yara_len":N,"iocs":[{"name","format","len"}…]}
//!   N bytes of yara-x serialized rules (absent when yara_len is 0)
//!   the IOC texts, back to back, lengths as in the header
//! ```

use std::io::{Read, Write};

use ferret_ioc::IocFormat;
use serde::{Deserialize, Serialize};

/// The first bytes of every bundle.
pub const BUNDLE_MAGIC: &[u8; 20] = b"FERRET-RULES-BUNDLE\n";

/// Largest decompressed bundle accepted (a bomb guard).
const MAX_BUNDLE: u64 = 1 << 30;

#[derive(Serialize, Deserialize)]
struct Header {
    version: u32,
    ferret: String,
    yara_x: String,
    yara_len: u64,
    #[serde(default)]
    origins: std::collections::BTreeMap<String, String>,
    iocs: Vec<IocEntry>,
}

#[derive(Serialize, Deserialize)]
struct IocEntry {
    name: String,
    format: String,
    len: u64,
}

pub(crate) struct Bundle {
    pub(crate) yara: Option<yara_x::Rules>,
    pub(crate) iocs: Vec<(String, IocFormat, String)>,
    /// Intel scan tables: (path under `intel/`, text).
    pub(crate) tables: Vec<(String, String)>,
    pub(crate) origins: std::collections::BTreeMap<String, String>,
}

/// What a bundle is written from: a loaded rule set's compiled YARA sets, its YARA
/// namespace origins and its IOC texts (name, format, text).
pub(crate) struct Contents<'a> {
    pub(crate) yara: &'a [yara_x::Rules],
    pub(crate) origins: &'a std::collections::HashMap<String, String>,
    pub(crate) ioc_texts: &'a [(String, IocFormat, String)],
    pub(crate) intel_texts: &'a [(String, String)],
}

/// The format name of an intel scan table in a bundle (its name is the table's path).
const INTEL_TABLE: &str = "intel-table";

/// Writes a bundle (see [`crate::write_bundle`]).
pub(crate) fn write(rules: &Contents<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    if rules.yara.len() > 1 {
        return Err(std::io::Error::other("cannot re-bundle rules loaded from another bundle"));
    }
    let yara = match rules.yara.first() {
        Some(r) => r.serialize().map_err(|e| std::io::Error::other(e.to_string()))?,
        None => Vec::new(),
    };
    let header = Header {
        version: 1,
        ferret: env!("CARGO_PKG_VERSION").into(),
        yara_x: crate::cache::YARA_X_VERSION.into(),
        yara_len: yara.len() as u64,
        origins: rules.origins.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        iocs: rules
            .ioc_texts
            .iter()
            .map(|(n, f, t)| IocEntry {
                name: n.clone(),
                format: f.as_str().into(),
                len: t.len() as u64,
            })
            .chain(rules.intel_texts.iter().map(|(p, t)| IocEntry {
                name: p.clone(),
                format: INTEL_TABLE.into(),
                len: t.len() as u64,
            }))
            .collect(),
    };
    let header = serde_json::to_vec(&header).map_err(std::io::Error::other)?;
    out.write_all(BUNDLE_MAGIC)?;
    let mut z = flate2::write::DeflateEncoder::new(out, flate2::Compression::default());
    z.write_all(&u32::try_from(header.len()).map_err(std::io::Error::other)?.to_le_bytes())?;
    z.write_all(&header)?;
    z.write_all(&yara)?;
    for (_, _, t) in rules.ioc_texts {
        z.write_all(t.as_bytes())?;
    }
    for (_, t) in rules.intel_texts {
        z.write_all(t.as_bytes())?;
    }
    z.finish()?.flush()
}

/// Reads a bundle.
pub(crate) fn read_bundle(bytes: &[u8]) -> Result<Bundle, String> {
    let body = bytes.get(BUNDLE_MAGIC.len()..).ok_or("truncated bundle")?;
    let mut data = Vec::new();
    flate2::read::DeflateDecoder::new(body)
        .take(MAX_BUNDLE + 1)
        .read_to_end(&mut data)
        .map_err(|e| format!("cannot decompress: {e}"))?;
    if data.len() as u64 > MAX_BUNDLE {
        return Err("bundle larger than 1 GiB when decompressed".into());
    }
    let (len, rest) = data.split_at_checked(4).ok_or("truncated header")?;
    let len = u32::from_le_bytes(len.try_into().map_err(|_| "truncated header")?) as usize;
    let (header, mut rest) = rest.split_at_checked(len).ok_or("truncated header")?;
    let header: Header = serde_json::from_slice(header).map_err(|e| format!("bad header: {e}"))?;
    if header.version != 1 {
        return Err(format!("bundle version {} is not supported", header.version));
    }
    let take = |rest: &mut &[u8], n: u64| -> Result<Vec<u8>, String> {
        let n = usize::try_from(n).map_err(|_| "bad length")?;
        let (a, b) = rest.split_at_checked(n).ok_or("truncated bundle")?;
        *rest = b;
        Ok(a.to_vec())
    };
    let yara = if header.yara_len > 0 {
        if header.yara_x != crate::cache::YARA_X_VERSION {
            return Err(format!(
                "compiled with yara-x {}; this ferret uses {}: recompile",
                header.yara_x,
                crate::cache::YARA_X_VERSION
            ));
        }
        let raw = take(&mut rest, header.yara_len)?;
        Some(yara_x::Rules::deserialize(&raw).map_err(|e| format!("bad compiled rules: {e}"))?)
    } else {
        None
    };
    let mut iocs = Vec::new();
    let mut tables = Vec::new();
    for e in header.iocs {
        let raw = take(&mut rest, e.len)?;
        if e.format == INTEL_TABLE {
            tables.push((e.name, String::from_utf8_lossy(&raw).into_owned()));
            continue;
        }
        let format = IocFormat::parse(&e.format)
            .ok_or_else(|| format!("unknown ioc format {:?}", e.format))?;
        iocs.push((e.name, format, String::from_utf8_lossy(&raw).into_owned()));
    }
    Ok(Bundle { yara, iocs, tables, origins: header.origins })
}
