//! Disk images recognised by content: a raw disk with an MBR (primary and logical
//! partitions) or GPT partition table, or a bare volume; and the opening of every partition
//! whose file system is supported.
//!
//! Every count and offset read from the image is bounded: at most [`MAX_PARTITIONS`]
//! partitions, a logical-partition chain followed at most that far and never twice through
//! the same sector, GPT tables of at most 1,024 entries of at most 4 KiB.

use std::path::Path;
use std::sync::Arc;

use ferret_core::{Problem, ProblemKind, Provenance};

use crate::Source;
use crate::bytes::{u16_at, u32_at, u64_at, utf16_at};
use crate::container;
use crate::ext4::Ext4Source;
use crate::image::{ImageFile, ReadAt, Slice, read_exact_at};
use crate::ntfs::NtfsSource;

/// The most partitions read from one image.
pub const MAX_PARTITIONS: usize = 128;

/// What the start of a file says it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sniffed {
    /// A disk with an MBR partition table.
    Mbr,
    /// A disk with a GPT partition table.
    Gpt,
    /// A bare volume (no partition table) of the named file system.
    Volume(&'static str),
    /// A container format ferret recognises but does not read yet (`vhdx`, `vmdk`, …):
    /// opening it is a problem naming the format, never a silent nothing.
    Container(&'static str),
}

/// Whether the file ends in a VHD footer (a fixed VHD has no other mark).
fn vhd_footer(image: &dyn ReadAt) -> bool {
    let size = image.size();
    let mut cookie = [0u8; 8];
    size >= 1024 && read_exact_at(image, &mut cookie, size - 512).is_ok() && cookie == *b"conectix"
}

/// The virtual disk inside `file`: the container's disk (and its format, and the damage
/// seen opening it), or the file itself as a raw disk. `Err`: a container that cannot be
/// read, and why.
fn disk_of(path: &Path, file: Arc<dyn ReadAt>, head: &[u8]) -> Result<container::Disk, String> {
    let opened = match container::open(path, Arc::clone(&file), head) {
        Some(r) => Some(r),
        None if vhd_footer(&*file) => Some(container::vhd::open(path, Arc::clone(&file), &[])),
        None => None,
    };
    opened.unwrap_or_else(|| {
        let size = file.size();
        Ok(container::Disk {
            reader: Arc::new(Slice::new(file, 0, size)),
            format: "raw",
            problems: Vec::new(),
            stored: Vec::new(),
        })
    })
}

/// The disk inside the image at `path` (the virtual disk of a container, or the file itself
/// for a raw disk or volume) and the container format, with no partition or file system
/// read. Damage that still lets the disk be read is not reported here (see [`open_image`]).
pub fn open_disk(path: &Path) -> Result<(Arc<dyn ReadAt>, &'static str), Problem> {
    let disk = open_container(path)?;
    Ok((disk.reader, disk.format))
}

/// The image at `path` opened and its container recognised from its first 8 KiB.
fn open_container(path: &Path) -> Result<container::Disk, Problem> {
    let image = ImageFile::open(path).map_err(|e| {
        Problem::at(ProblemKind::ReadError, path, format!("cannot open the image: {e}"))
    })?;
    let mut head = vec![0u8; 8192];
    let n = read_prefix(&image, &mut head);
    head.truncate(n);
    let disk = disk_of(path, Arc::new(image), &head)
        .map_err(|reason| Problem::at(ProblemKind::Other, path, reason))?;
    Ok(disk)
}

/// What `--verify-container` found for one image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The container format (`e01`, `vhdx-dynamic`, …).
    pub format: String,
    /// Each stored checksum checked: the algorithm and the stored value (hex), all matching.
    pub matched: Vec<(String, String)>,
}

/// Reads the whole disk inside the container at `path` and checks it against the
/// checksums the container stores (an E01's MD5 and SHA-1). `Ok` names what matched (an
/// empty list: the format stores none); `Err`: a mismatch, or the disk could not be read to
/// the end, as a problem naming the image.
pub fn verify_container(path: &Path) -> Result<Verified, Problem> {
    use md5::Digest as _;
    let problem = |reason: String| Problem::at(ProblemKind::Other, path, reason);
    let disk = open_container(path)?;
    let mut md5 = disk.stored.iter().any(|(a, _)| *a == "MD5").then(md5::Md5::new);
    let mut sha1 = disk.stored.iter().any(|(a, _)| *a == "SHA-1").then(sha1::Sha1::new);
    if md5.is_some() || sha1.is_some() {
        let mut buf = vec![0u8; 1 << 20];
        let size = disk.reader.size();
        let mut at = 0u64;
        while at < size {
            let want = usize::try_from(size - at).unwrap_or(usize::MAX).min(buf.len());
            let piece = buf.get_mut(..want).unwrap_or_default();
            read_exact_at(&*disk.reader, piece, at).map_err(|e| {
                problem(format!(
                    "{}: the disk cannot be read to the end to verify its checksums: at byte {at}: {e}",
                    disk.format
                ))
            })?;
            if let Some(h) = md5.as_mut() {
                h.update(&*piece);
            }
            if let Some(h) = sha1.as_mut() {
                h.update(&*piece);
            }
            at += want as u64;
        }
    }
    let hex = |b: &[u8]| {
        b.iter().fold(String::new(), |mut s, x| {
            use std::fmt::Write as _;
            let _ = write!(s, "{x:02x}");
            s
        })
    };
    let mut matched = Vec::new();
    for (algorithm, stored) in &disk.stored {
        let got = match *algorithm {
            "MD5" => md5.take().map(|h| h.finalize().to_vec()),
            _ => sha1.take().map(|h| h.finalize().to_vec()),
        }
        .unwrap_or_default();
        if got != *stored {
            return Err(problem(format!(
                "{}: the {algorithm} the container stores ({}) does not match its media ({})",
                disk.format,
                hex(stored),
                hex(&got)
            )));
        }
        matched.push(((*algorithm).to_owned(), hex(stored)));
    }
    Ok(Verified { format: disk.format.to_owned(), matched })
}

/// Recognises a disk image by the first bytes of `path` (and a VHD by its footer); `None`
/// for anything else (and for a file that cannot be read: it is then scanned, and its
/// problem reported, as a file).
pub fn sniff(path: &Path) -> Option<Sniffed> {
    let image = ImageFile::open(path).ok()?;
    let mut head = vec![0u8; 8192];
    let n = read_prefix(&image, &mut head);
    head.truncate(n);
    if let Some((_, name, _)) = container::MAGICS.iter().find(|(m, _, _)| head.starts_with(m)) {
        return Some(Sniffed::Container(name));
    }
    if vhd_footer(&image) {
        return Some(Sniffed::Container("VHD"));
    }
    sniff_bytes(&head)
}

fn read_prefix(r: &dyn ReadAt, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match r.read_at(buf.get_mut(n..).unwrap_or_default(), n as u64) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    n
}

/// The file system whose signature starts `head` (a volume's first 8 KiB), if any.
fn filesystem(head: &[u8]) -> Option<&'static str> {
    let at = |o: usize, sig: &[u8]| head.get(o..o + sig.len()) == Some(sig);
    if at(3, b"NTFS    ") {
        Some("ntfs")
    } else if at(3, b"-FVE-FS-") {
        Some("bitlocker")
    } else if at(3, b"ReFS\0\0\0\0") {
        Some("refs")
    } else if at(3, b"EXFAT   ") {
        Some("exfat")
    } else if at(0x36, b"FAT1") || at(0x52, b"FAT32") {
        Some("fat")
    } else if u16_at(head, 1024 + 56) == Some(0xEF53) {
        Some("ext2/3/4")
    } else if at(0, b"XFSB") {
        Some("xfs")
    } else if at(512, b"LABELONE") {
        Some("lvm2")
    } else {
        None
    }
}

fn sniff_bytes(head: &[u8]) -> Option<Sniffed> {
    if let Some(fs) = filesystem(head) {
        return Some(Sniffed::Volume(fs));
    }
    if head.get(512..520) == Some(b"EFI PART") || head.get(4096..4104) == Some(b"EFI PART") {
        return Some(Sniffed::Gpt);
    }
    let entries = mbr_entries(head)?;
    if entries.iter().any(|e| e.kind == 0xEE) {
        // A protective MBR without a GPT header where one belongs: a damaged GPT disk.
        return Some(Sniffed::Gpt);
    }
    Some(Sniffed::Mbr)
}

#[derive(Clone, Copy, Debug)]
struct MbrEntry {
    kind: u8,
    start: u64,
    sectors: u64,
}

/// The four entries of an MBR, if `sector` holds a plausible one: the boot signature, every
/// status byte 0x00 or 0x80, and at least one used entry.
fn mbr_entries(sector: &[u8]) -> Option<Vec<MbrEntry>> {
    if sector.get(510..512) != Some(&[0x55, 0xAA]) {
        return None;
    }
    let mut out = Vec::new();
    for i in 0..4 {
        let e = 446 + 16 * i;
        let status = *sector.get(e)?;
        if status != 0 && status != 0x80 {
            return None;
        }
        let kind = *sector.get(e + 4)?;
        let start = u64::from(u32_at(sector, e + 8)?);
        let sectors = u64::from(u32_at(sector, e + 12)?);
        // A link to the next logical partition may be relative 0 (the first EBR).
        if kind != 0 && sectors > 0 && (start > 0 || is_extended(kind)) {
            out.push(MbrEntry { kind, start, sectors });
        } else if kind == 0 && (start != 0 || sectors != 0) {
            return None;
        }
    }
    (!out.is_empty()).then_some(out)
}

fn is_extended(kind: u8) -> bool {
    matches!(kind, 0x05 | 0x0F | 0x85)
}

/// A partition found in a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Partition {
    pub number: u32,
    pub start: u64,
    pub len: u64,
    /// GPT types that hold no file system (Microsoft reserved, BIOS boot).
    pub no_filesystem: bool,
    pub name: Option<String>,
}

/// What opening an image gave.
pub struct Opened {
    /// One source per supported file system found.
    pub sources: Vec<Arc<dyn Source>>,
    /// What could not be examined, each naming the image (and partition) and why; every
    /// one makes the examination incomplete.
    pub problems: Vec<Problem>,
    /// What was seen and left alone on purpose (a partition type without a file system).
    pub notes: Vec<String>,
    /// How the image was read (`raw disk, gpt, 3 partitions`).
    pub layout: String,
}

/// Opens a disk image: reads its partition table, and opens every partition (or the bare
/// volume) whose file system is supported. `Err` when nothing in it can be read at all.
pub fn open_image(path: &Path) -> Result<Opened, Problem> {
    let image = ImageFile::open(path).map_err(|e| {
        Problem::at(ProblemKind::ReadError, path, format!("cannot open the image: {e}"))
    })?;
    let mut head = vec![0u8; 8192];
    let n = read_prefix(&image, &mut head);
    head.truncate(n);
    let container::Disk { reader: image, format, problems: damage, .. } =
        disk_of(path, Arc::new(image), &head)
            .map_err(|reason| Problem::at(ProblemKind::Other, path, reason))?;
    let mut head = vec![0u8; 8192];
    let n = read_prefix(&*image, &mut head);
    head.truncate(n);
    let container = path.to_string_lossy().into_owned();
    let base = Provenance {
        container: container.clone(),
        container_format: format.to_owned(),
        ..Provenance::default()
    };
    let mut opened = Opened {
        sources: Vec::new(),
        problems: Vec::new(),
        notes: Vec::new(),
        layout: String::new(),
    };
    opened.problems.extend(
        damage.into_iter().map(|d| Problem::at(ProblemKind::Parse, path, format!("{format}: {d}"))),
    );
    let problem = |reason: String| Problem::at(ProblemKind::Other, path, reason);
    let sniffed = sniff_bytes(&head).ok_or_else(|| {
        problem(
            "not a disk image ferret recognises (no partition table, no known file system)"
                .to_owned(),
        )
    })?;
    let (table, parts) = match sniffed {
        Sniffed::Container(name) => {
            return Err(problem(format!("a {name} container inside a {format} container")));
        }
        Sniffed::Volume(_) => {
            opened.layout = format!("{format}, bare volume");
            let mut found = Vec::new();
            open_volume(&image, 0, image.size(), None, &base, &mut opened, &mut found);
            finish(&mut opened, found);
            return Ok(opened);
        }
        Sniffed::Mbr => ("mbr", mbr_partitions(&*image, &head, &mut opened.problems, path)),
        Sniffed::Gpt => ("gpt", gpt_partitions(&*image, &mut opened.problems, path)),
    };
    opened.layout = format!("{format} disk, {table}, {} partition(s)", parts.len());
    let base = Provenance { partition_table: Some(table.to_owned()), ..base };
    let mut found = Vec::new();
    for p in parts {
        if p.no_filesystem {
            opened.notes.push(format!(
                "{container}: partition {} ({}) holds no file system; not examined",
                p.number,
                p.name.as_deref().unwrap_or("reserved")
            ));
            continue;
        }
        if p.start.saturating_add(p.len) > image.size() {
            opened.problems.push(
                problem(format!(
                    "partition {} ends at byte {} but the image has {} bytes (truncated image?); read as far as it goes",
                    p.number,
                    p.start.saturating_add(p.len),
                    image.size()
                ))
                .with_position(format!("partition {}", p.number)),
            );
        }
        open_volume(&image, p.start, p.len, Some(p.number), &base, &mut opened, &mut found);
    }
    if opened.sources.is_empty() && found.is_empty() && opened.problems.is_empty() {
        opened.problems.push(problem(format!("{}: no partition to examine", opened.layout)));
    }
    finish(&mut opened, found);
    Ok(opened)
}

/// Gives the NTFS volumes their drive letters (the one holding `\Windows` is `C:`, the
/// others follow in partition order) and adds them to the sources.
fn finish(opened: &mut Opened, mut found: Vec<NtfsSource>) {
    let system = found.iter().position(NtfsSource::has_windows_dir).unwrap_or(0);
    let mut next = b'D';
    for (i, v) in found.iter_mut().enumerate() {
        if i == system {
            v.set_letter('C');
        } else {
            v.set_letter(char::from(next));
            next = next.saturating_add(1).min(b'Z');
        }
    }
    opened.sources.extend(found.into_iter().map(|v| Arc::new(v) as Arc<dyn Source>));
}

fn open_volume(
    image: &Arc<dyn ReadAt>,
    start: u64,
    len: u64,
    number: Option<u32>,
    base: &Provenance,
    opened: &mut Opened,
    found: &mut Vec<NtfsSource>,
) {
    let slice: Arc<dyn ReadAt> = Arc::new(Slice::new(Arc::clone(image), start, len));
    let mut head = vec![0u8; 8192];
    let n = read_prefix(&*slice, &mut head);
    head.truncate(n);
    let at = match number {
        Some(n) => format!("partition {n}"),
        None => "the volume".to_owned(),
    };
    let problem = |reason: String| {
        let p = Problem::at(ProblemKind::Other, base.container.as_str(), reason);
        match number {
            Some(n) => p.with_position(format!("partition {n}")),
            None => p,
        }
    };
    match filesystem(&head) {
        Some("ntfs") => {
            let prov =
                Provenance { partition: number, filesystem: "ntfs".to_owned(), ..base.clone() };
            match NtfsSource::open(slice, prov) {
                Ok(v) => found.push(v),
                Err(e) => {
                    opened.problems.push(problem(format!("{at}: ntfs volume cannot be read: {e}")));
                }
            }
        }
        Some("ext2/3/4") => {
            match Ext4Source::open(slice, Provenance { partition: number, ..base.clone() }) {
                Ok((v, checked)) => {
                    for why in checked.problems {
                        opened.problems.push(problem(format!("{at}: {why}")));
                    }
                    opened.notes.extend(checked.notes);
                    opened.sources.push(Arc::new(v));
                }
                Err(e) => opened.problems.push(problem(format!(
                    "{at}: ext2/3/4 file system cannot be read: {e}; its files were not examined"
                ))),
            }
        }
        Some(fs) => opened.problems.push(problem(format!(
            "{at}: file system not supported ({fs}); its files were not examined"
        ))),
        None => {
            opened.problems.push(problem(format!("{at}: no file system recognised; not examined")));
        }
    }
}

fn mbr_partitions(
    image: &dyn ReadAt,
    head: &[u8],
    problems: &mut Vec<Problem>,
    path: &Path,
) -> Vec<Partition> {
    let mut out = Vec::new();
    let Some(entries) = mbr_entries(head) else { return out };
    let mut extended = None;
    for (i, e) in entries.iter().enumerate() {
        if is_extended(e.kind) {
            extended.get_or_insert(e.start);
            continue;
        }
        out.push(Partition {
            number: u32::try_from(i).unwrap_or(0) + 1,
            start: e.start.saturating_mul(512),
            len: e.sectors.saturating_mul(512),
            no_filesystem: false,
            name: None,
        });
    }
    // Logical partitions: a chain of extended boot records, each relative to the extended
    // partition's start, followed at most MAX_PARTITIONS links and never twice.
    if let Some(ext) = extended {
        let mut next = Some(ext);
        let mut seen = std::collections::HashSet::new();
        let mut number = 5u32;
        while let Some(ebr) = next.take() {
            if !seen.insert(ebr) || seen.len() > MAX_PARTITIONS {
                problems.push(Problem::at(
                    ProblemKind::Parse,
                    path,
                    "the chain of logical partitions loops or is too long; stopped",
                ));
                break;
            }
            let mut sector = [0u8; 512];
            if read_exact_at(image, &mut sector, ebr.saturating_mul(512)).is_err() {
                problems.push(Problem::at(
                    ProblemKind::Parse,
                    path,
                    format!("the extended boot record at sector {ebr} cannot be read"),
                ));
                break;
            }
            let Some(entries) = mbr_entries(&sector) else { break };
            for e in entries {
                if is_extended(e.kind) {
                    next = Some(ext.saturating_add(e.start));
                } else {
                    out.push(Partition {
                        number,
                        start: ebr.saturating_add(e.start).saturating_mul(512),
                        len: e.sectors.saturating_mul(512),
                        no_filesystem: false,
                        name: None,
                    });
                    number += 1;
                }
            }
        }
    }
    out.truncate(MAX_PARTITIONS);
    out
}

/// GPT partition types that hold no file system.
const NO_FS_TYPES: [[u8; 16]; 2] = [
    // Microsoft reserved E3C9E316-0B5C-4DB8-817D-F92DF00215AE
    [
        0x16, 0xE3, 0xC9, 0xE3, 0x5C, 0x0B, 0xB8, 0x4D, 0x81, 0x7D, 0xF9, 0x2D, 0xF0, 0x02, 0x15,
        0xAE,
    ],
    // BIOS boot 21686148-6449-6E6F-744E-656564454649
    [
        0x48, 0x61, 0x68, 0x21, 0x49, 0x64, 0x6F, 0x6E, 0x74, 0x4E, 0x65, 0x65, 0x64, 0x45, 0x46,
        0x49,
    ],
];

fn gpt_partitions(image: &dyn ReadAt, problems: &mut Vec<Problem>, path: &Path) -> Vec<Partition> {
    let mut out = Vec::new();
    let problem = |reason: String| Problem::at(ProblemKind::Parse, path, reason);
    for sector in [512u64, 4096] {
        let mut header = vec![0u8; usize::try_from(sector).unwrap_or(512)];
        if read_exact_at(image, &mut header, sector).is_err()
            || header.get(..8) != Some(b"EFI PART")
        {
            continue;
        }
        let size = u32_at(&header, 12).unwrap_or(0) as usize;
        if (92..=header.len()).contains(&size) {
            let mut h = header.get(..size).unwrap_or_default().to_vec();
            let stored = u32_at(&h, 16).unwrap_or(0);
            if let Some(f) = h.get_mut(16..20) {
                f.fill(0);
            }
            if crc32(&h) != stored {
                problems.push(problem(
                    "the GPT header's checksum does not match; its partition table was read anyway"
                        .to_owned(),
                ));
            }
        }
        let lba = u64_at(&header, 72).unwrap_or(0);
        let count = u32_at(&header, 80).unwrap_or(0) as usize;
        let entry = u32_at(&header, 84).unwrap_or(0) as usize;
        if count > 1024 || !(128..=4096).contains(&entry) || !entry.is_multiple_of(8) {
            problems.push(problem(format!(
                "the GPT header names {count} entries of {entry} bytes; not a partition table ferret reads"
            )));
            return out;
        }
        let mut table = vec![0u8; count * entry];
        if read_exact_at(image, &mut table, lba.saturating_mul(sector)).is_err() {
            problems
                .push(problem(format!("the GPT partition entries at sector {lba} cannot be read")));
            return out;
        }
        for (i, e) in table.chunks_exact(entry).enumerate() {
            let Some(kind) = e.get(..16) else { continue };
            if kind.iter().all(|b| *b == 0) {
                continue;
            }
            let first = u64_at(e, 32).unwrap_or(0);
            let last = u64_at(e, 40).unwrap_or(0);
            let name = utf16_at(e, 56, 36).map(|n| n.trim_end_matches('\0').to_owned());
            if last < first {
                problems
                    .push(problem(format!("GPT entry {} ends before it starts; not read", i + 1)));
                continue;
            }
            out.push(Partition {
                number: u32::try_from(i + 1).unwrap_or(u32::MAX),
                start: first.saturating_mul(sector),
                len: (last - first).saturating_add(1).saturating_mul(sector),
                no_filesystem: NO_FS_TYPES.iter().any(|t| t.as_slice() == kind),
                name: name.filter(|n| !n.is_empty()),
            });
            if out.len() >= MAX_PARTITIONS {
                break;
            }
        }
        return out;
    }
    problems.push(problem("a protective MBR but no readable GPT header".to_owned()));
    out
}

/// CRC-32 (IEEE 802.3), as GPT uses it.
pub(crate) fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mbr(entries: &[(u8, u32, u32)]) -> Vec<u8> {
        let mut s = vec![0u8; 512];
        for (i, (kind, start, len)) in entries.iter().enumerate() {
            let e = 446 + 16 * i;
            s[e + 4] = *kind;
            s[e + 8..e + 12].copy_from_slice(&start.to_le_bytes());
            s[e + 12..e + 16].copy_from_slice(&len.to_le_bytes());
        }
        s[510] = 0x55;
        s[511] = 0xAA;
        s
    }

    #[test]
    fn containers_by_magic_and_fixed_vhd_by_footer() {
        let p = Path::new("/nonexistent/d");
        let open = |b: &Vec<u8>| {
            disk_of(p, Arc::new(b.clone()), b)
                .map(|d| (d.reader.size(), d.format, d.problems.len()))
        };
        let mut qcow = b"QFI\xfb".to_vec();
        qcow.resize(4096, 0);
        assert!(open(&qcow).unwrap_err().contains("QCOW2"));
        let mut vhdx = b"vhdxfile".to_vec();
        vhdx.resize(4096, 0);
        assert!(open(&vhdx).unwrap_err().contains("header"));
        let mut disk = mbr(&[(0x07, 1, 8)]);
        disk.resize(8 * 512, 0);
        assert_eq!(open(&disk), Ok((8 * 512, "raw", 0)));
        let mut footer = vec![0u8; 512];
        footer[..8].copy_from_slice(b"conectix");
        footer[48..56].copy_from_slice(&(8u64 * 512).to_be_bytes());
        footer[60..64].copy_from_slice(&2u32.to_be_bytes());
        let mut fixed = disk.clone();
        fixed.extend_from_slice(&footer);
        assert_eq!(open(&fixed), Ok((8 * 512, "vhd-fixed", 1)), "the checksum is wrong");
        let sum = footer.iter().fold(0u32, |s, b| s.wrapping_add(u32::from(*b)));
        fixed[8 * 512 + 64..8 * 512 + 68].copy_from_slice(&(!sum).to_be_bytes());
        assert_eq!(open(&fixed), Ok((8 * 512, "vhd-fixed", 0)));
        fixed[8 * 512 + 63] = 3;
        assert!(open(&fixed).unwrap_err().contains("dynamic header"));
    }

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn sniffs_tables_and_volumes() {
        assert_eq!(sniff_bytes(&mbr(&[(0x07, 2048, 4096)])), Some(Sniffed::Mbr));
        assert_eq!(sniff_bytes(&mbr(&[(0xEE, 1, 4096)])), Some(Sniffed::Gpt));
        assert_eq!(sniff_bytes(&mbr(&[])), None, "no used entry: not a table");
        let mut boot = mbr(&[(0x07, 2048, 4096)]);
        boot[3..11].copy_from_slice(b"NTFS    ");
        assert_eq!(sniff_bytes(&boot), Some(Sniffed::Volume("ntfs")));
        let mut text = b"GET / HTTP/1.1\r\n".repeat(64);
        text[510] = 0x55;
        text[511] = 0xAA;
        assert_eq!(sniff_bytes(&text), None, "status bytes not 0/0x80: not a table");
        assert_eq!(sniff_bytes(b"short"), None);
    }

    #[test]
    fn logical_partition_loop_is_bounded() {
        // Primary 1 and an extended partition at sector 100 whose EBR points at itself.
        let mut disk = mbr(&[(0x07, 2048, 8), (0x05, 100, 50)]);
        disk.resize(200 * 512, 0);
        let ebr = mbr(&[(0x07, 1, 8), (0x05, 0, 50)]);
        disk[100 * 512..101 * 512].copy_from_slice(&ebr);
        let head = disk[..8192].to_vec();
        let mut problems = Vec::new();
        let parts = mbr_partitions(&disk, &head, &mut problems, Path::new("d.img"));
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert_eq!(parts[1].number, 5);
        assert_eq!(parts[1].start, 101 * 512);
        assert!(problems[0].reason.contains("loops"), "{problems:?}");
    }
}
