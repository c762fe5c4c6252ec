//! One MFT record: the update-sequence fixups, the attribute headers, and the data runs of
//! non-resident attributes. Everything is read from untrusted bytes with bounds checks.

use crate::bytes::{u8_at, u16_at, u32_at, u64_at, utf16_at};

pub(crate) const ATTR_STANDARD_INFORMATION: u32 = 0x10;
pub(crate) const ATTR_ATTRIBUTE_LIST: u32 = 0x20;
pub(crate) const ATTR_FILE_NAME: u32 = 0x30;
pub(crate) const ATTR_DATA: u32 = 0x80;
pub(crate) const ATTR_REPARSE_POINT: u32 = 0xC0;
const ATTR_END: u32 = 0xFFFF_FFFF;

/// Attribute flags.
pub(crate) const FLAG_COMPRESSED: u16 = 0x0001;
pub(crate) const FLAG_ENCRYPTED: u16 = 0x4000;

/// The most runs one stream may have (each a few bytes on disk; a hostile list cannot make
/// ferret hold more than this many).
pub(crate) const MAX_RUNS: usize = 1 << 20;

/// The fixup stride: NTFS protects every 512 bytes of a record, whatever the sector size.
const STRIDE: usize = 512;

/// A mapping of `len` clusters from virtual cluster `vcn` of a stream to logical cluster
/// `lcn` of the volume (`None`: sparse, reads as zeros).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Run {
    pub vcn: u64,
    pub len: u64,
    pub lcn: Option<u64>,
}

/// The header fields of a record that matter here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub in_use: bool,
    pub is_dir: bool,
    /// The base record's number (0 for a base record itself).
    pub base: u64,
    pub seq: u16,
}

/// What is wrong with a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RecordError {
    /// All zeros: never used.
    Empty,
    /// Anything else, with the reason.
    Bad(String),
}

/// Checks the signature and applies the update-sequence fixups in place.
pub(crate) fn fixup(rec: &mut [u8]) -> Result<Header, RecordError> {
    if rec.get(..4) != Some(b"FILE") {
        if rec.iter().all(|b| *b == 0) {
            return Err(RecordError::Empty);
        }
        let what = if rec.get(..4) == Some(b"BAAD") {
            "marked bad by chkdsk (BAAD)".to_owned()
        } else {
            "no FILE signature".to_owned()
        };
        return Err(RecordError::Bad(what));
    }
    let bad = |s: &str| RecordError::Bad(s.to_owned());
    let usa = usize::from(u16_at(rec, 4).ok_or_else(|| bad("truncated header"))?);
    let count = usize::from(u16_at(rec, 6).ok_or_else(|| bad("truncated header"))?);
    if count < 2 || (count - 1) * STRIDE != rec.len() {
        return Err(bad("update sequence does not fit the record size"));
    }
    let usn = u16_at(rec, usa).ok_or_else(|| bad("update sequence outside the record"))?;
    // A record copied out by a tool that already applied the fixups (ntfs-3g's `ntfscat
    // '$MFT'` does) holds the saved bytes at every sector end: taken as it is.
    let applied = (1..count).all(|i| {
        let at = i * STRIDE - 2;
        u16_at(rec, at).is_some_and(|v| v != usn && Some(v) == u16_at(rec, usa + 2 * i))
    });
    for i in (1..count).filter(|_| !applied) {
        let end = i * STRIDE - 2;
        let saved =
            u16_at(rec, usa + 2 * i).ok_or_else(|| bad("update sequence outside the record"))?;
        if u16_at(rec, end) != Some(usn) {
            return Err(bad("update sequence mismatch (torn write)"));
        }
        if let Some(slot) = rec.get_mut(end..end + 2) {
            slot.copy_from_slice(&saved.to_le_bytes());
        }
    }
    let flags = u16_at(rec, 0x16).unwrap_or(0);
    Ok(Header {
        in_use: flags & 1 != 0,
        is_dir: flags & 2 != 0,
        base: u64_at(rec, 0x20).unwrap_or(0) & 0xFFFF_FFFF_FFFF,
        seq: u16_at(rec, 0x10).unwrap_or(0),
    })
}

/// The non-resident part of an attribute header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NonResident {
    pub start_vcn: u64,
    /// log2 of the compression unit in clusters (0: not compressed).
    pub compression_unit: u8,
    pub data_size: u64,
    pub init_size: u64,
    pub runs: Vec<Run>,
}

/// One attribute of a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Attr<'a> {
    pub kind: u32,
    pub name: String,
    pub flags: u16,
    pub resident: Option<&'a [u8]>,
    pub non_resident: Option<NonResident>,
}

/// The attributes of a fixed-up record (stops at the end marker). `total_clusters` bounds
/// the runs.
pub(crate) fn attributes(rec: &[u8], total_clusters: u64) -> Result<Vec<Attr<'_>>, String> {
    let used = (u32_at(rec, 0x18).unwrap_or(0) as usize).min(rec.len());
    let mut at = usize::from(u16_at(rec, 0x14).ok_or("truncated header")?);
    let mut out = Vec::new();
    loop {
        let kind = u32_at(rec, at).ok_or("attributes run past the record")?;
        if kind == ATTR_END {
            break;
        }
        let len = u32_at(rec, at + 4).ok_or("attributes run past the record")? as usize;
        if len < 16 || at.checked_add(len).is_none_or(|end| end > used) {
            return Err(format!("attribute at offset {at} has a bad length ({len})"));
        }
        let a = rec.get(at..at + len).ok_or("attributes run past the record")?;
        let non_res = u8_at(a, 8).unwrap_or(0) != 0;
        let name_len = usize::from(u8_at(a, 9).unwrap_or(0));
        let name_off = usize::from(u16_at(a, 0x0A).unwrap_or(0));
        let name = if name_len == 0 {
            String::new()
        } else {
            utf16_at(a, name_off, name_len).ok_or("attribute name outside the attribute")?
        };
        let flags = u16_at(a, 0x0C).unwrap_or(0);
        if non_res {
            let start_vcn = u64_at(a, 0x10).ok_or("truncated attribute")?;
            let runs_off = usize::from(u16_at(a, 0x20).ok_or("truncated attribute")?);
            let runs = a.get(runs_off..).ok_or("runs outside the attribute")?;
            let runs = decode_runs(runs, start_vcn, total_clusters)?;
            out.push(Attr {
                kind,
                name,
                flags,
                resident: None,
                non_resident: Some(NonResident {
                    start_vcn,
                    compression_unit: u8_at(a, 0x22).unwrap_or(0),
                    data_size: u64_at(a, 0x30).unwrap_or(0),
                    init_size: u64_at(a, 0x38).unwrap_or(0),
                    runs,
                }),
            });
        } else {
            let vlen = u32_at(a, 0x10).ok_or("truncated attribute")? as usize;
            let voff = usize::from(u16_at(a, 0x14).ok_or("truncated attribute")?);
            let value = voff
                .checked_add(vlen)
                .and_then(|end| a.get(voff..end))
                .ok_or("resident value outside the attribute")?;
            out.push(Attr { kind, name, flags, resident: Some(value), non_resident: None });
        }
        at += len;
    }
    Ok(out)
}

/// Decodes a run list starting at virtual cluster `vcn`. Every run must lie inside the
/// volume (`total_clusters`); at most [`MAX_RUNS`] runs.
pub(crate) fn decode_runs(b: &[u8], mut vcn: u64, total_clusters: u64) -> Result<Vec<Run>, String> {
    let mut runs = Vec::new();
    let mut lcn: i64 = 0;
    let mut at = 0usize;
    while let Some(&head) = b.get(at) {
        if head == 0 {
            break;
        }
        let len_size = usize::from(head & 0x0F);
        let off_size = usize::from(head >> 4);
        if len_size == 0 || len_size > 8 || off_size > 8 {
            return Err(format!("malformed data run header 0x{head:02x}"));
        }
        let field =
            |from: usize, size: usize| b.get(from..from + size).ok_or("data runs truncated");
        let len_bytes = field(at + 1, len_size)?;
        let mut len = 0u64;
        for (i, byte) in len_bytes.iter().enumerate() {
            len |= u64::from(*byte) << (8 * i);
        }
        let off_bytes = field(at + 1 + len_size, off_size)?;
        at += 1 + len_size + off_size;
        if len == 0 || len > total_clusters {
            return Err(format!("data run of {len} clusters on a volume of {total_clusters}"));
        }
        let run_lcn = if off_size == 0 {
            None
        } else {
            let mut off: i64 = 0;
            for (i, byte) in off_bytes.iter().enumerate() {
                off |= i64::from(*byte) << (8 * i);
            }
            // Sign-extend from the field's width.
            let shift = 64 - 8 * u32::from(head >> 4);
            if shift < 64 {
                off = (off << shift) >> shift;
            }
            lcn = lcn.checked_add(off).ok_or("data run offset overflows")?;
            let start = u64::try_from(lcn)
                .map_err(|_| "data run before the start of the volume".to_owned())?;
            if start.checked_add(len).is_none_or(|end| end > total_clusters) {
                return Err(format!(
                    "data run at cluster {start} (+{len}) past the end of the volume ({total_clusters} clusters)"
                ));
            }
            Some(start)
        };
        runs.push(Run { vcn, len, lcn: run_lcn });
        if runs.len() > MAX_RUNS {
            return Err(format!("more than {MAX_RUNS} data runs"));
        }
        vcn = vcn.checked_add(len).ok_or("data runs overflow")?;
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn runs_relative_negative_and_sparse() {
        // 0x21: 1-byte length, 2-byte offset: 16 clusters at 0x1000; then 0x01: sparse 8;
        // then 0x11: 4 clusters at -0x10 relative (0xFF0).
        let b = [0x21, 16, 0x00, 0x10, 0x01, 8, 0x11, 4, 0xF0, 0x00];
        let runs = decode_runs(&b, 0, 1 << 20).unwrap();
        assert_eq!(
            runs,
            vec![
                Run { vcn: 0, len: 16, lcn: Some(0x1000) },
                Run { vcn: 16, len: 8, lcn: None },
                Run { vcn: 24, len: 4, lcn: Some(0x0FF0) },
            ]
        );
    }

    #[test]
    fn runs_past_the_volume_or_malformed_are_errors() {
        assert!(
            decode_runs(&[0x21, 16, 0x00, 0x10, 0], 0, 0x1000)
                .unwrap_err()
                .contains("past the end")
        );
        assert!(decode_runs(&[0x11, 1, 0x80, 0], 0, 100).unwrap_err().contains("before the start"));
        assert!(decode_runs(&[0x09, 1, 0], 0, 100).unwrap_err().contains("malformed"));
        assert!(decode_runs(&[0x21, 16], 0, 100).unwrap_err().contains("truncated"));
    }

    #[test]
    fn fixups_are_checked_and_applied() {
        let mut rec = vec![0u8; 1024];
        rec[..4].copy_from_slice(b"FILE");
        rec[4..6].copy_from_slice(&0x30u16.to_le_bytes());
        rec[6..8].copy_from_slice(&3u16.to_le_bytes());
        rec[0x30..0x32].copy_from_slice(&7u16.to_le_bytes());
        rec[0x32..0x34].copy_from_slice(&0xAAAAu16.to_le_bytes());
        rec[0x34..0x36].copy_from_slice(&0xBBBBu16.to_le_bytes());
        rec[0x16] = 1;
        rec[510..512].copy_from_slice(&7u16.to_le_bytes());
        rec[1022..1024].copy_from_slice(&7u16.to_le_bytes());
        let mut torn = rec.clone();
        torn[1022] = 8;
        assert!(matches!(fixup(&mut torn), Err(RecordError::Bad(r)) if r.contains("torn")));
        let h = fixup(&mut rec).unwrap();
        assert!(h.in_use && !h.is_dir);
        assert_eq!(&rec[510..512], &0xAAAAu16.to_le_bytes());
        assert_eq!(&rec[1022..1024], &0xBBBBu16.to_le_bytes());
        assert_eq!(fixup(&mut [0u8; 1024]), Err(RecordError::Empty));
        // Already fixed up (a tool's copy): the saved bytes sit at both sector ends.
        let mut copied = rec.clone();
        assert!(fixup(&mut copied).unwrap().in_use);
        assert_eq!(copied, rec, "left as it is");
        // One sector fixed up and one not: torn.
        let mut half = rec.clone();
        half[1022..1024].copy_from_slice(&7u16.to_le_bytes());
        half[510..512].copy_from_slice(&0xAAAAu16.to_le_bytes());
        assert!(matches!(fixup(&mut half), Err(RecordError::Bad(r)) if r.contains("torn")));
    }

    proptest! {
        #[test]
        fn records_never_panic(mut rec in proptest::collection::vec(any::<u8>(), 0..2048), sig in any::<bool>()) {
            if sig && rec.len() >= 4 {
                rec[..4].copy_from_slice(b"FILE");
            }
            let _ = fixup(&mut rec);
            let _ = attributes(&rec, 1 << 30);
        }

        #[test]
        fn runs_never_panic(b in proptest::collection::vec(any::<u8>(), 0..256), total in any::<u64>()) {
            let _ = decode_runs(&b, 0, total);
        }
    }
}
