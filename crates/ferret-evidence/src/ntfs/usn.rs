//! `$UsnJrnl:$J` records: the change journal NTFS keeps in `$Extend\$UsnJrnl`, as
//! `USN_RECORD_V2` and `USN_RECORD_V3` (Microsoft's `winioctl.h` layouts), read from any
//! [`Read`] (the `$J` stream of a volume, or a `$J` file copied by a triage collector).
//!
//! The journal is a sparse stream whose first gigabytes are usually zeros (the part Windows
//! has freed): zeros are skipped a block at a time without parsing. Records sit on 8-byte
//! boundaries and never cross a 4 KiB page; a record whose shape is wrong (length not a
//! multiple of 8 or out of range, an unknown version, a name outside the record) is counted
//! and reading resumes at the next page. Nothing here panics on any input, and no record
//! is larger than [`MAX_RECORD`] bytes, so memory stays bounded.

use std::io::{self, Read};

use chrono::{DateTime, Utc};

use super::filetime;
use crate::bytes::{u16_at, u32_at, u64_at, utf16_at};

/// The largest record accepted (a 255-character name makes a V3 record of 592 bytes).
pub const MAX_RECORD: usize = 4096;
/// Records never cross a page of this size; a damaged record is skipped to the next one.
const PAGE: u64 = 4096;
/// What is read at once.
const CHUNK: usize = 1 << 20;

/// A file reference: MFT record number (48 bits) and sequence number (16 bits).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileRef {
    /// The MFT record number.
    pub record: u64,
    /// The record's sequence number when the reference was made (0: not checked).
    pub seq: u16,
}

impl FileRef {
    /// Splits a 64-bit NTFS file reference.
    pub fn from_u64(v: u64) -> FileRef {
        FileRef { record: v & 0xFFFF_FFFF_FFFF, seq: u16::try_from(v >> 48).unwrap_or(0) }
    }
}

/// The reason flags of a record (`USN_REASON_*`), with the names Microsoft gives them
/// (without the prefix).
pub const REASONS: &[(u32, &str)] = &[
    (0x0000_0001, "DATA_OVERWRITE"),
    (0x0000_0002, "DATA_EXTEND"),
    (0x0000_0004, "DATA_TRUNCATION"),
    (0x0000_0010, "NAMED_DATA_OVERWRITE"),
    (0x0000_0020, "NAMED_DATA_EXTEND"),
    (0x0000_0040, "NAMED_DATA_TRUNCATION"),
    (0x0000_0100, "FILE_CREATE"),
    (0x0000_0200, "FILE_DELETE"),
    (0x0000_0400, "EA_CHANGE"),
    (0x0000_0800, "SECURITY_CHANGE"),
    (0x0000_1000, "RENAME_OLD_NAME"),
    (0x0000_2000, "RENAME_NEW_NAME"),
    (0x0000_4000, "INDEXABLE_CHANGE"),
    (0x0000_8000, "BASIC_INFO_CHANGE"),
    (0x0001_0000, "HARD_LINK_CHANGE"),
    (0x0002_0000, "COMPRESSION_CHANGE"),
    (0x0004_0000, "ENCRYPTION_CHANGE"),
    (0x0008_0000, "OBJECT_ID_CHANGE"),
    (0x0010_0000, "REPARSE_POINT_CHANGE"),
    (0x0020_0000, "STREAM_CHANGE"),
    (0x0040_0000, "TRANSACTED_CHANGE"),
    (0x0080_0000, "INTEGRITY_CHANGE"),
    (0x0100_0000, "DESIRED_STORAGE_CLASS_CHANGE"),
    (0x8000_0000, "CLOSE"),
];

/// `USN_REASON_FILE_CREATE`.
pub const REASON_FILE_CREATE: u32 = 0x0000_0100;
/// `USN_REASON_FILE_DELETE`.
pub const REASON_FILE_DELETE: u32 = 0x0000_0200;
/// `USN_REASON_RENAME_OLD_NAME`.
pub const REASON_RENAME_OLD_NAME: u32 = 0x0000_1000;
/// `USN_REASON_RENAME_NEW_NAME`.
pub const REASON_RENAME_NEW_NAME: u32 = 0x0000_2000;
/// `USN_REASON_DATA_OVERWRITE`.
pub const REASON_DATA_OVERWRITE: u32 = 0x0000_0001;
/// `USN_REASON_DATA_EXTEND`.
pub const REASON_DATA_EXTEND: u32 = 0x0000_0002;
/// `FILE_ATTRIBUTE_DIRECTORY`.
pub const ATTRIBUTE_DIRECTORY: u32 = 0x10;

/// The names of the flags set in `reason`, joined with `|` (unknown bits as hex).
pub fn reason_names(reason: u32) -> String {
    let mut out = String::new();
    let mut known = 0u32;
    for (bit, name) in REASONS {
        if reason & bit != 0 {
            if !out.is_empty() {
                out.push('|');
            }
            out.push_str(name);
            known |= bit;
        }
    }
    let rest = reason & !known;
    if rest != 0 {
        if !out.is_empty() {
            out.push('|');
        }
        out.push_str(&format!("0x{rest:08x}"));
    }
    out
}

/// One change journal record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsnRecord {
    /// Where it sits in the stream (bytes).
    pub offset: u64,
    /// The record's major version (2 or 3).
    pub major: u16,
    /// The update sequence number (the record's offset when Windows wrote it).
    pub usn: u64,
    /// When the change happened.
    pub time: Option<DateTime<Utc>>,
    /// `USN_REASON_*` flags ([`reason_names`]).
    pub reason: u32,
    /// The file changed.
    pub file: FileRef,
    /// Its folder.
    pub parent: FileRef,
    /// `FILE_ATTRIBUTE_*` flags.
    pub attributes: u32,
    /// The file's name (no folder).
    pub name: String,
}

impl UsnRecord {
    /// Whether the record is about a folder.
    pub fn is_dir(&self) -> bool {
        self.attributes & ATTRIBUTE_DIRECTORY != 0
    }
}

/// Why the bytes at a position are no record.
fn bad(why: &str) -> String {
    why.to_owned()
}

/// Parses the record at the start of `b` (which may hold more). `Ok(None)`: the length field
/// is zero (padding or a sparse area). `Err`: the bytes are not a record of a known shape.
pub fn parse_record(b: &[u8], offset: u64) -> Result<Option<(UsnRecord, usize)>, String> {
    let len = u32_at(b, 0).ok_or_else(|| bad("truncated record header"))? as usize;
    if len == 0 {
        return Ok(None);
    }
    if !len.is_multiple_of(8) || len > MAX_RECORD {
        return Err(format!("record length {len} is not a multiple of 8 up to {MAX_RECORD}"));
    }
    let rec = b.get(..len).ok_or_else(|| bad("record runs past the end of the journal"))?;
    let major = u16_at(rec, 4).unwrap_or(0);
    // Field offsets: (file, parent, usn, time, reason, attributes, name length, name offset,
    // header size).
    let (file, parent, usn_at, time_at, reason_at, attr_at, nlen_at, noff_at, header) = match major
    {
        2 => (8, 16, 24, 32, 40, 52, 56, 58, 60),
        3 => (8, 24, 40, 48, 56, 68, 72, 74, 76),
        4 => return Err(bad("USN_RECORD_V4 (range tracking) is not read")),
        m => return Err(format!("unknown record version {m}")),
    };
    if len < header {
        return Err(format!("record length {len} below the version {major} header"));
    }
    let get = |at: usize| u64_at(rec, at).unwrap_or(0);
    let name_len = usize::from(u16_at(rec, nlen_at).unwrap_or(0));
    let name_off = usize::from(u16_at(rec, noff_at).unwrap_or(0));
    if !name_len.is_multiple_of(2) || name_off < header || name_off + name_len > len {
        return Err(format!("file name ({name_len} bytes at {name_off}) outside the record"));
    }
    let name = utf16_at(rec, name_off, name_len / 2).ok_or_else(|| bad("file name unreadable"))?;
    let usn = get(usn_at);
    if usn >> 63 != 0 {
        return Err(bad("negative update sequence number"));
    }
    let record = UsnRecord {
        offset,
        major,
        usn,
        time: filetime(get(time_at)),
        reason: u32_at(rec, reason_at).unwrap_or(0),
        // V3 references are 128-bit; on NTFS the low 64 bits hold the usual reference.
        file: FileRef::from_u64(get(file)),
        parent: FileRef::from_u64(get(parent)),
        attributes: u32_at(rec, attr_at).unwrap_or(0),
        name,
    };
    Ok(Some((record, len)))
}

/// Whether `head` (the first bytes of a file) starts with a change journal record, or with
/// zeros followed by one within `head`.
pub fn looks_like_journal(head: &[u8]) -> bool {
    let Some(first) = head.iter().position(|b| *b != 0) else { return false };
    let at = first - first % 8;
    matches!(head.get(at..).map(|b| parse_record(b, at as u64)), Some(Ok(Some(_))))
}

/// What reading a journal counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JournalStats {
    /// Records read.
    pub records: u64,
    /// Bytes read (zeros included).
    pub bytes: u64,
    /// Bytes of zeros skipped (freed or sparse areas and padding).
    pub zeros: u64,
    /// Places where the bytes were no record (each skipped to the next page).
    pub damaged: u64,
    /// The first few of them: stream offset and reason.
    pub damage: Vec<(u64, String)>,
    /// A read error that ended the journal early.
    pub read_error: Option<String>,
}

/// How many damaged places are kept with their reason.
const MAX_DAMAGE_KEPT: usize = 16;

/// Reads every record of a journal from `r`, whose first byte is stream offset `start`,
/// calling `visit` for each. Stops at the end of the data, at a read error (kept in the
/// stats), or when `stop` says so (checked once per chunk).
pub fn read_journal(
    r: &mut dyn Read,
    start: u64,
    stop: &dyn Fn() -> bool,
    visit: &mut dyn FnMut(UsnRecord),
) -> JournalStats {
    let mut st = JournalStats::default();
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK + MAX_RECORD);
    // Stream offset of buf[0].
    let mut base = start;
    let mut at = 0usize;
    let mut eof = false;
    loop {
        // Keep at least one whole record ahead of `at`, unless the data ended.
        if !eof && buf.len() - at < MAX_RECORD {
            if stop() {
                break;
            }
            buf.drain(..at);
            base += at as u64;
            at = 0;
            let have = buf.len();
            buf.resize(have + CHUNK, 0);
            let mut filled = have;
            while filled < buf.len() {
                match r.read(buf.get_mut(filled..).unwrap_or_default()) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        st.read_error = Some(e.to_string());
                        eof = true;
                        break;
                    }
                }
            }
            st.bytes += (filled - have) as u64;
            buf.truncate(filled);
        }
        let rest = buf.get(at..).unwrap_or_default();
        if rest.is_empty() {
            break;
        }
        // Zeros: skip to the next non-zero 8-byte word in one pass.
        if rest.get(..8).is_some_and(|w| w.iter().all(|b| *b == 0)) || rest.len() < 8 {
            let nz = rest.iter().position(|b| *b != 0).unwrap_or(rest.len());
            let skip = (nz - nz % 8).max(8).min(rest.len());
            st.zeros += skip as u64;
            at += skip;
            continue;
        }
        let offset = base + at as u64;
        match parse_record(rest, offset) {
            Ok(Some((rec, len))) => {
                st.records += 1;
                visit(rec);
                at += len;
            }
            Ok(None) => at += 8,
            Err(why) => {
                st.damaged += 1;
                if st.damage.len() < MAX_DAMAGE_KEPT {
                    st.damage.push((offset, why));
                }
                let next = (offset / PAGE + 1) * PAGE;
                let skip = usize::try_from(next - offset).unwrap_or(8).min(rest.len()).max(8);
                at += skip;
            }
        }
        at = at.min(buf.len());
    }
    st
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A V2 record (the layout of `USN_RECORD_V2`).
    fn v2(file: u64, parent: u64, usn: u64, time: u64, reason: u32, name: &str) -> Vec<u8> {
        let units: Vec<u16> = name.encode_utf16().collect();
        let len = (60 + units.len() * 2).div_ceil(8) * 8;
        let mut b = vec![0u8; len];
        b[0..4].copy_from_slice(&u32::try_from(len).unwrap().to_le_bytes());
        b[4..6].copy_from_slice(&2u16.to_le_bytes());
        b[8..16].copy_from_slice(&file.to_le_bytes());
        b[16..24].copy_from_slice(&parent.to_le_bytes());
        b[24..32].copy_from_slice(&usn.to_le_bytes());
        b[32..40].copy_from_slice(&time.to_le_bytes());
        b[40..44].copy_from_slice(&reason.to_le_bytes());
        b[56..58].copy_from_slice(&u16::try_from(units.len() * 2).unwrap().to_le_bytes());
        b[58..60].copy_from_slice(&60u16.to_le_bytes());
        for (i, u) in units.iter().enumerate() {
            b[60 + 2 * i..62 + 2 * i].copy_from_slice(&u.to_le_bytes());
        }
        b
    }

    #[test]
    fn v2_records_after_zeros_and_a_damaged_page() {
        let mut j = vec![0u8; 3 * 4096];
        j.extend(v2((1 << 48) | 0x28, 5, 12288, 132_591_168_000_000_000, 0x100, "a.aspx"));
        // Damage: a length that is no multiple of 8, then good records on the next page.
        let mut junk = vec![0u8; 8];
        junk[0] = 13;
        junk[4] = 2;
        j.extend(junk);
        j.resize(5 * 4096, 0);
        j.extend(v2(40, 5, 20480, 132_591_168_000_000_000, 0x200 | 0x8000_0000, "a.aspx"));
        let mut got = Vec::new();
        let st = read_journal(&mut j.as_slice(), 0, &|| false, &mut |r| got.push(r));
        assert_eq!(st.records, 2);
        assert_eq!(st.damaged, 1, "{st:?}");
        assert_eq!(got[0].offset, 12288);
        assert_eq!(got[0].file, FileRef { record: 40, seq: 1 });
        assert_eq!(got[0].name, "a.aspx");
        assert_eq!(reason_names(got[1].reason), "FILE_DELETE|CLOSE");
        assert_eq!(got[1].time.unwrap().to_rfc3339(), "2021-03-02T00:00:00+00:00");
        assert!(looks_like_journal(&j[..16384]));
        assert!(!looks_like_journal(&[0u8; 64]));
        assert!(!looks_like_journal(b"FILE0\x00\x03\x00 not a journal at all............"));
    }

    #[test]
    fn v3_records() {
        let mut b = vec![0u8; 88];
        b[0..4].copy_from_slice(&88u32.to_le_bytes());
        b[4..6].copy_from_slice(&3u16.to_le_bytes());
        b[8..16].copy_from_slice(&((2u64 << 48) | 0x4D).to_le_bytes());
        b[24..32].copy_from_slice(&5u64.to_le_bytes());
        b[56..60].copy_from_slice(&0x2000u32.to_le_bytes());
        b[72..74].copy_from_slice(&4u16.to_le_bytes());
        b[74..76].copy_from_slice(&76u16.to_le_bytes());
        b[76..80].copy_from_slice(&[b'x', 0, b'y', 0]);
        let (r, len) = parse_record(&b, 0).unwrap().unwrap();
        assert_eq!(len, 88);
        assert_eq!((r.file.record, r.file.seq, r.parent.record), (77, 2, 5));
        assert_eq!(r.name, "xy");
        assert_eq!(reason_names(r.reason), "RENAME_NEW_NAME");
        assert_eq!(reason_names(0x4000_0000), "0x40000000");
    }

    #[test]
    fn lying_name_lengths_are_errors() {
        let mut b = v2(1, 5, 0, 0, 0x100, "abc");
        b[56..58].copy_from_slice(&200u16.to_le_bytes());
        assert!(parse_record(&b, 0).unwrap_err().contains("outside the record"));
        let mut b = v2(1, 5, 0, 0, 0x100, "abc");
        b[4] = 9;
        assert!(parse_record(&b, 0).unwrap_err().contains("version"));
    }

    proptest! {
        #[test]
        fn journals_never_panic(b in proptest::collection::vec(any::<u8>(), 0..9000), start in 0u64..10_000) {
            let mut n = 0u64;
            let st = read_journal(&mut b.as_slice(), start, &|| false, &mut |_| n += 1);
            prop_assert_eq!(st.records, n);
            prop_assert!(st.bytes == b.len() as u64);
            let _ = looks_like_journal(&b);
        }

        #[test]
        fn records_round_trip(file in 0u64..(1 << 48), parent in 0u64..(1 << 48), reason in any::<u32>(), name in "[a-zA-Z0-9 ._$-]{0,64}") {
            let b = v2(file, parent, 0, 0, reason, &name);
            let (r, len) = parse_record(&b, 0).unwrap().unwrap();
            prop_assert_eq!(len, b.len());
            prop_assert_eq!(r.file.record, file);
            prop_assert_eq!(r.parent.record, parent);
            prop_assert_eq!(r.reason, reason);
            prop_assert_eq!(r.name, name);
        }
    }
}
