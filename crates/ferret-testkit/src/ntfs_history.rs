//! Writers of NTFS history files for fixtures: change journal records (`USN_RECORD_V2`, the
//! layout Microsoft documents in `winioctl.h`) and MFT records (`FILE` records with the
//! update sequence fixups, `$STANDARD_INFORMATION` and `$FILE_NAME`), and the layout triage
//! collectors give them (`C/$MFT`, `C/$Extend/$J`, as KAPE copies a volume).
//!
//! mkntfs makes no change journal and ntfs-3g writes no journal records, so journals are
//! written here from the published format. Deterministic: the same input gives the same bytes.

use std::path::PathBuf;

use crate::Tree;

/// A FILETIME (100 ns since 1601-01-01) for a UTC date and time.
pub fn filetime(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> u64 {
    // Days from the civil date (Howard Hinnant's algorithm), then from 1970.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((mo + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s);
    u64::try_from(secs + 11_644_473_600).expect("after 1601") * 10_000_000
}

/// `USN_REASON_FILE_CREATE`.
pub const FILE_CREATE: u32 = 0x100;
/// `USN_REASON_FILE_DELETE`.
pub const FILE_DELETE: u32 = 0x200;
/// `USN_REASON_DATA_EXTEND`.
pub const DATA_EXTEND: u32 = 0x2;
/// `USN_REASON_RENAME_OLD_NAME`.
pub const RENAME_OLD_NAME: u32 = 0x1000;
/// `USN_REASON_RENAME_NEW_NAME`.
pub const RENAME_NEW_NAME: u32 = 0x2000;
/// `USN_REASON_CLOSE`.
pub const CLOSE: u32 = 0x8000_0000;
/// `FILE_ATTRIBUTE_DIRECTORY`.
pub const DIRECTORY: u32 = 0x10;
/// `FILE_ATTRIBUTE_ARCHIVE`.
pub const ARCHIVE: u32 = 0x20;

/// One change journal record to write.
#[derive(Clone, Debug)]
pub struct Usn {
    /// MFT record number of the file.
    pub file: u64,
    /// Its sequence number.
    pub file_seq: u16,
    /// MFT record number of its folder (5: the root).
    pub parent: u64,
    /// The folder's sequence number.
    pub parent_seq: u16,
    /// FILETIME of the change.
    pub time: u64,
    /// `USN_REASON_*` flags.
    pub reason: u32,
    /// `FILE_ATTRIBUTE_*` flags.
    pub attributes: u32,
    /// The file's name.
    pub name: String,
}

/// The bytes of one `USN_RECORD_V2` whose USN is `usn` (padded to 8 bytes).
pub fn usn_v2(r: &Usn, usn: u64) -> Vec<u8> {
    let units: Vec<u16> = r.name.encode_utf16().collect();
    let name_len = units.len() * 2;
    let len = (60 + name_len).div_ceil(8) * 8;
    let mut b = vec![0u8; len];
    let put = |b: &mut Vec<u8>, at: usize, v: &[u8]| b[at..at + v.len()].copy_from_slice(v);
    put(&mut b, 0, &u32::try_from(len).expect("small").to_le_bytes());
    put(&mut b, 4, &2u16.to_le_bytes());
    put(&mut b, 8, &(r.file | (u64::from(r.file_seq) << 48)).to_le_bytes());
    put(&mut b, 16, &(r.parent | (u64::from(r.parent_seq) << 48)).to_le_bytes());
    put(&mut b, 24, &usn.to_le_bytes());
    put(&mut b, 32, &r.time.to_le_bytes());
    put(&mut b, 40, &r.reason.to_le_bytes());
    put(&mut b, 52, &r.attributes.to_le_bytes());
    put(&mut b, 56, &u16::try_from(name_len).expect("short name").to_le_bytes());
    put(&mut b, 58, &60u16.to_le_bytes());
    for (i, u) in units.iter().enumerate() {
        put(&mut b, 60 + 2 * i, &u.to_le_bytes());
    }
    b
}

/// A `$J` stream: `leading` bytes of zeros (the freed, sparse part), then the records, each
/// with its USN set to its offset, none crossing a 4 KiB page (padding with zeros as Windows
/// does).
pub fn journal(leading: usize, records: &[Usn]) -> Vec<u8> {
    let mut j = vec![0u8; leading];
    for r in records {
        let len = usn_v2(r, 0).len();
        let page_left = 4096 - j.len() % 4096;
        if len > page_left {
            j.resize(j.len() + page_left, 0);
        }
        let at = j.len() as u64;
        j.extend(usn_v2(r, at));
    }
    j
}

/// One MFT record to write.
#[derive(Clone, Debug)]
pub struct Record {
    /// Its number.
    pub number: u64,
    /// Its sequence number.
    pub seq: u16,
    /// In use (clear: a deleted file whose record remains).
    pub in_use: bool,
    /// A folder.
    pub dir: bool,
    /// The parent folder's record (5: the root) and sequence number.
    pub parent: (u64, u16),
    /// The Win32 name.
    pub name: String,
    /// `$STANDARD_INFORMATION` created and modified (FILETIMEs).
    pub si: (u64, u64),
    /// `$FILE_NAME` created and modified.
    pub fname: (u64, u64),
}

/// The bytes of one 1,024-byte MFT record (`FILE`, fixups applied as on disk).
pub fn mft_record(r: &Record) -> Vec<u8> {
    let mut b = vec![0u8; 1024];
    let put = |b: &mut Vec<u8>, at: usize, v: &[u8]| b[at..at + v.len()].copy_from_slice(v);
    put(&mut b, 0, b"FILE");
    put(&mut b, 4, &0x30u16.to_le_bytes());
    put(&mut b, 6, &3u16.to_le_bytes());
    put(&mut b, 0x10, &r.seq.to_le_bytes());
    put(&mut b, 0x12, &1u16.to_le_bytes());
    put(&mut b, 0x14, &0x38u16.to_le_bytes());
    let flags = u16::from(r.in_use) | (u16::from(r.dir) << 1);
    put(&mut b, 0x16, &flags.to_le_bytes());
    put(&mut b, 0x1C, &1024u32.to_le_bytes());
    put(&mut b, 0x2C, &u32::try_from(r.number & 0xFFFF_FFFF).expect("masked").to_le_bytes());
    let mut at = 0x38;
    // $STANDARD_INFORMATION: 72 bytes resident.
    let mut si = vec![0u8; 72];
    si[0..8].copy_from_slice(&r.si.0.to_le_bytes());
    si[8..16].copy_from_slice(&r.si.1.to_le_bytes());
    si[16..24].copy_from_slice(&r.si.1.to_le_bytes());
    si[24..32].copy_from_slice(&r.si.1.to_le_bytes());
    si[32..36].copy_from_slice(&(if r.dir { 0x10u32 } else { 0x20 }).to_le_bytes());
    at = resident(&mut b, at, 0x10, &si);
    // $FILE_NAME.
    let units: Vec<u16> = r.name.encode_utf16().collect();
    let mut fname = vec![0u8; 0x42 + units.len() * 2];
    fname[0..8].copy_from_slice(&(r.parent.0 | (u64::from(r.parent.1) << 48)).to_le_bytes());
    fname[8..16].copy_from_slice(&r.fname.0.to_le_bytes());
    fname[16..24].copy_from_slice(&r.fname.1.to_le_bytes());
    fname[24..32].copy_from_slice(&r.fname.1.to_le_bytes());
    fname[32..40].copy_from_slice(&r.fname.1.to_le_bytes());
    fname[0x40] = u8::try_from(units.len()).expect("short name");
    fname[0x41] = 1;
    for (i, u) in units.iter().enumerate() {
        fname[0x42 + 2 * i..0x44 + 2 * i].copy_from_slice(&u.to_le_bytes());
    }
    at = resident(&mut b, at, 0x30, &fname);
    put(&mut b, at, &0xFFFF_FFFFu32.to_le_bytes());
    put(&mut b, 0x18, &u32::try_from(at + 8).expect("small").to_le_bytes());
    // Fixups: the update sequence number at the end of each 512-byte stride, the saved
    // bytes in the array.
    let usn = 1u16;
    put(&mut b, 0x30, &usn.to_le_bytes());
    for i in 1..=2usize {
        let end = i * 512 - 2;
        let saved = [b[end], b[end + 1]];
        put(&mut b, 0x30 + 2 * i, &saved);
        put(&mut b, end, &usn.to_le_bytes());
    }
    b
}

/// Writes a resident attribute at `at`; returns where the next one goes.
fn resident(b: &mut [u8], at: usize, kind: u32, value: &[u8]) -> usize {
    let len = (24 + value.len()).div_ceil(8) * 8;
    b[at..at + 4].copy_from_slice(&kind.to_le_bytes());
    b[at + 4..at + 8].copy_from_slice(&u32::try_from(len).expect("small").to_le_bytes());
    b[at + 0x10..at + 0x14]
        .copy_from_slice(&u32::try_from(value.len()).expect("small").to_le_bytes());
    b[at + 0x14..at + 0x16].copy_from_slice(&24u16.to_le_bytes());
    b[at + 24..at + 24 + value.len()].copy_from_slice(value);
    at + len
}

/// A `$MFT` file: records 0 to the highest number given, the ones not given left empty
/// (zeros), except record 0, which is always a `$MFT` record (so the file starts `FILE0`).
pub fn mft(records: &[Record]) -> Vec<u8> {
    let top = records.iter().map(|r| r.number).max().unwrap_or(0);
    let mut out = vec![0u8; usize::try_from(top + 1).expect("small") * 1024];
    let mut all = vec![Record {
        number: 0,
        seq: 1,
        in_use: true,
        dir: false,
        parent: (5, 5),
        name: "$MFT".to_owned(),
        si: (0, 0),
        fname: (0, 0),
    }];
    all.extend(records.iter().cloned());
    for r in &all {
        let at = usize::try_from(r.number).expect("small") * 1024;
        out[at..at + 1024].copy_from_slice(&mft_record(r));
    }
    out
}

/// Folder records for a path under the root (`inetpub/wwwroot/aspnet_client`), numbered
/// from `first`, each the parent of the next; returns them and the last one's number.
pub fn folders(path: &str, first: u64, time: u64) -> (Vec<Record>, u64) {
    let mut out = Vec::new();
    let mut parent = 5;
    for (n, name) in (first..).zip(path.split('/').filter(|s| !s.is_empty())) {
        out.push(Record {
            number: n,
            seq: 1,
            in_use: true,
            dir: true,
            parent: (parent, if parent == 5 { 5 } else { 1 }),
            name: name.to_owned(),
            si: (time, time),
            fname: (time, time),
        });
        parent = n;
    }
    (out, parent)
}

/// Puts `mft` and `journal` in `tree` as KAPE copies a volume `C:` (`C/$MFT`,
/// `C/$Extend/$J`); returns their paths (`None` for what was not given).
pub fn kape_layout(
    tree: &Tree,
    mft: Option<&[u8]>,
    journal: Option<&[u8]>,
) -> (Option<PathBuf>, Option<PathBuf>) {
    (mft.map(|m| tree.file("C/$MFT", m)), journal.map(|j| tree.file("C/$Extend/$J", j)))
}
