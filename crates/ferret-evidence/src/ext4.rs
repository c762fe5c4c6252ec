//! ext2, ext3 and ext4 read in place, read-only, from any [`ReadAt`] (a partition of an image,
//! or a bare volume).
//!
//! The volume is listed by walking its directories from the root inode, depth first, with
//! the paths the Linux host knew (`/etc/passwd`, `/var/www/html/index.php`). Directory blocks
//! are read linearly (an htree directory's index blocks look like empty entries and are
//! passed over), so a damaged index cannot mislead the walk; a directory inode met twice is
//! a loop and is not entered again, and the walk goes at most [`MAX_DEPTH`] levels down.
//!
//! Read: files mapped by extents (ext4) or by direct and indirect block pointers (ext2/3),
//! holes and unwritten extents as zeros, and inline data (`inline_data`: in the inode and its
//! `system.data` attribute). Symbolic links are listed as links and never followed; FIFOs,
//! sockets and device nodes are listed as special files and never read. Files encrypted
//! with fscrypt are listed with [`crate::Entry::unreadable`] set, and an encrypted folder is
//! a problem (its names are ciphertext). Not read: the journal (a volume that was not
//! cleanly unmounted is read as its blocks stand, with a note saying so), metadata checksums
//! (every structure is bounds-checked instead), and the features that change where data lies
//! in ways this reader does not follow (`meta_bg`, compression, `dirdata`): opening such a
//! volume is an error naming them.
//!
//! Every count read from the volume is bounded: block groups ([`MAX_GROUPS`], and the group
//! descriptor table must lie inside the volume), extents and block pointers per file
//! ([`MAX_RUNS`], [`MAX_TREE_BLOCKS`]), extent tree depth (5), directory size
//! ([`MAX_DIR_BYTES`]), and inline attributes by the inode's size.

use std::collections::HashSet;
use std::io;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use ferret_core::{Cancel, FileTimes, Problem, ProblemKind, Provenance, ReportPath, Sink};

use crate::bytes::{u8_at, u16_at, u32_at};
use crate::entry::{Entry, EntryKind, Handle, ListStats, ReadSeek, Source};
use crate::image::{ReadAt, read_exact_at};
use crate::ntfs::{Run, StreamData, StreamReader};

/// The deepest directory entered below the root.
pub const MAX_DEPTH: usize = 512;
/// The most block groups a volume may have (2^20 groups of 128 MiB: 128 TiB at 4 KiB blocks).
pub const MAX_GROUPS: u64 = 1 << 20;
/// The most runs (extents or contiguous pointer ranges) kept for one file, and the most
/// extent-tree or indirect blocks read for it.
pub const MAX_RUNS: usize = 1 << 18;
/// The most extent-tree blocks read for one file (a leaf of a 4 KiB block holds 340 extents).
pub const MAX_TREE_BLOCKS: usize = 8192;
/// The largest directory read (bytes).
pub const MAX_DIR_BYTES: u64 = 256 << 20;

const ROOT_INODE: u32 = 2;
const SUPERBLOCK: u64 = 1024;

// Superblock feature bits.
const COMPAT_HAS_JOURNAL: u32 = 0x4;
const INCOMPAT_COMPRESSION: u32 = 0x1;
const INCOMPAT_FILETYPE: u32 = 0x2;
const INCOMPAT_RECOVER: u32 = 0x4;
const INCOMPAT_JOURNAL_DEV: u32 = 0x8;
const INCOMPAT_META_BG: u32 = 0x10;
const INCOMPAT_EXTENTS: u32 = 0x40;
const INCOMPAT_64BIT: u32 = 0x80;
const INCOMPAT_FLEX_BG: u32 = 0x200;
const INCOMPAT_DIRDATA: u32 = 0x1000;
const INCOMPAT_CSUM_SEED: u32 = 0x2000;
const INCOMPAT_LARGEDIR: u32 = 0x4000;
const INCOMPAT_INLINE_DATA: u32 = 0x8000;
const INCOMPAT_ENCRYPT: u32 = 0x1_0000;
const RO_COMPAT_EXT4: u32 = 0x8 | 0x10 | 0x20 | 0x40 | 0x400; // huge_file, gdt_csum, dir_nlink, extra_isize, metadata_csum

// Inode flags.
const FLAG_ENCRYPT: u32 = 0x800;
const FLAG_EXTENTS: u32 = 0x8_0000;
const FLAG_INLINE_DATA: u32 = 0x1000_0000;

// Inode modes.
const S_IFMT: u16 = 0xF000;
const S_IFIFO: u16 = 0x1000;
const S_IFCHR: u16 = 0x2000;
const S_IFDIR: u16 = 0x4000;
const S_IFBLK: u16 = 0x6000;
const S_IFREG: u16 = 0x8000;
const S_IFLNK: u16 = 0xA000;
const S_IFSOCK: u16 = 0xC000;

/// Why a volume cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum Ext4Error {
    /// The superblock is not one ferret can use.
    #[error("superblock: {0}")]
    Superblock(String),
    /// The volume uses a feature this reader does not follow.
    #[error("unsupported feature(s): {0}")]
    Unsupported(String),
    /// The block group descriptors cannot be used.
    #[error("group descriptors: {0}")]
    Groups(String),
    /// The root folder cannot be read.
    #[error("root folder: {0}")]
    Root(String),
    /// Reading the image failed.
    #[error("read failed: {0}")]
    Io(#[from] io::Error),
}

/// The geometry the superblock gives.
#[derive(Clone, Debug)]
struct Geometry {
    block: u64,
    blocks: u64,
    inodes_per_group: u64,
    inodes: u64,
    inode_size: usize,
    incompat: u32,
}

/// One inode, as far as it matters here.
#[derive(Clone, Debug)]
struct Inode {
    mode: u16,
    size: u64,
    flags: u32,
    /// `i_block`: block pointers, the extent tree's root, inline data or a short link target.
    block: [u8; 60],
    times: FileTimes,
    /// The whole on-disk inode (for the inline attributes past the first 128 bytes).
    raw: Vec<u8>,
}

impl Inode {
    fn kind(&self) -> u16 {
        self.mode & S_IFMT
    }
}

/// An ext2, ext3 or ext4 volume.
pub struct Ext4Source {
    dev: Arc<dyn ReadAt>,
    geo: Geometry,
    /// The first block of each group's inode table.
    tables: Vec<u64>,
    provenance: Provenance,
}

/// What opening a volume noticed besides the volume itself.
#[derive(Clone, Debug, Default)]
pub struct Checked {
    /// Damage that leaves the volume readable, in part (a volume larger than its partition).
    pub problems: Vec<String>,
    /// What the reader leaves alone on purpose (a journal not replayed).
    pub notes: Vec<String>,
}

/// The file system a superblock describes: `ext4` with any ext4-only feature, `ext3` with a
/// journal, else `ext2`.
fn flavour(compat: u32, incompat: u32, ro_compat: u32) -> &'static str {
    let ext4_incompat = INCOMPAT_EXTENTS
        | INCOMPAT_64BIT
        | INCOMPAT_FLEX_BG
        | INCOMPAT_CSUM_SEED
        | INCOMPAT_LARGEDIR
        | INCOMPAT_INLINE_DATA
        | INCOMPAT_ENCRYPT;
    if incompat & ext4_incompat != 0 || ro_compat & RO_COMPAT_EXT4 != 0 {
        "ext4"
    } else if compat & COMPAT_HAS_JOURNAL != 0 {
        "ext3"
    } else {
        "ext2"
    }
}

/// A time from its 32-bit seconds field and, when the inode has it, its `_extra` field (two
/// more epoch bits and the nanoseconds). Zero is "not set".
fn time(raw: &[u8], at: usize, extra: Option<usize>) -> Option<DateTime<Utc>> {
    let base = u32_at(raw, at)?;
    // A signed 32-bit count of seconds.
    let mut secs = i64::from(i32::from_le_bytes(base.to_le_bytes()));
    let mut nanos = 0u32;
    if let Some(e) = extra.and_then(|x| u32_at(raw, x)) {
        secs += i64::from(e & 3) << 32;
        nanos = e >> 2;
        if nanos >= 1_000_000_000 {
            nanos = 0;
        }
    }
    if secs == 0 && nanos == 0 {
        return None;
    }
    DateTime::from_timestamp(secs, nanos)
}

impl Ext4Source {
    /// Opens the volume in `dev`: reads and checks its superblock and group descriptors and
    /// its root inode. `provenance` names the container and partition; its file system is
    /// set here (`ext2`, `ext3` or `ext4`).
    pub fn open(
        dev: Arc<dyn ReadAt>,
        provenance: Provenance,
    ) -> Result<(Ext4Source, Checked), Ext4Error> {
        let mut sb = [0u8; 1024];
        read_exact_at(&*dev, &mut sb, SUPERBLOCK)?;
        let bad = |s: String| Ext4Error::Superblock(s);
        let field = |at: usize| u32_at(&sb, at).unwrap_or(0);
        if u16_at(&sb, 0x38) != Some(0xEF53) {
            return Err(bad("no ext2/3/4 magic".to_owned()));
        }
        let log_block = field(0x18);
        if log_block > 6 {
            return Err(bad(format!("block size 2^{} bytes", u64::from(log_block) + 10)));
        }
        let block = 1024u64 << log_block;
        let (compat, incompat, ro_compat) = (field(0x5C), field(0x60), field(0x64));
        let unsupported: Vec<&str> = [
            (INCOMPAT_COMPRESSION, "compression"),
            (INCOMPAT_JOURNAL_DEV, "journal_dev (an external journal, not a file system)"),
            (INCOMPAT_META_BG, "meta_bg"),
            (INCOMPAT_DIRDATA, "dirdata"),
        ]
        .into_iter()
        .filter(|(bit, _)| incompat & bit != 0)
        .map(|(_, name)| name)
        .collect();
        if !unsupported.is_empty() {
            return Err(Ext4Error::Unsupported(unsupported.join(", ")));
        }
        let mut blocks = u64::from(field(0x04));
        if incompat & INCOMPAT_64BIT != 0 {
            blocks |= u64::from(field(0x150)) << 32;
        }
        let first_data_block = u64::from(field(0x14));
        let blocks_per_group = u64::from(field(0x20));
        let inodes_per_group = u64::from(field(0x28));
        let bits = block * 8;
        if first_data_block > 1 || blocks <= first_data_block {
            return Err(bad(format!("{blocks} blocks, the first data block {first_data_block}")));
        }
        if !(8..=bits).contains(&blocks_per_group) || !(1..=bits).contains(&inodes_per_group) {
            return Err(bad(format!(
                "{blocks_per_group} blocks and {inodes_per_group} inodes per group with {block}-byte blocks"
            )));
        }
        let rev = field(0x4C);
        let inode_size = if rev == 0 { 128 } else { u64::from(u16_at(&sb, 0x58).unwrap_or(0)) };
        if !(128..=block).contains(&inode_size) || !inode_size.is_power_of_two() {
            return Err(bad(format!(
                "inode size {inode_size} (must be a power of two from 128 to the block size)"
            )));
        }
        let desc_size = if incompat & INCOMPAT_64BIT != 0 {
            u64::from(u16_at(&sb, 0xFE).unwrap_or(0))
        } else {
            32
        };
        if !(32..=block).contains(&desc_size) || !desc_size.is_power_of_two() {
            return Err(bad(format!("group descriptor size {desc_size}")));
        }
        let groups = (blocks - first_data_block).div_ceil(blocks_per_group);
        let table_bytes = groups.saturating_mul(desc_size);
        let table_at = (first_data_block + 1) * block;
        if groups > MAX_GROUPS || table_at.saturating_add(table_bytes) > dev.size() {
            return Err(Ext4Error::Groups(format!(
                "{groups} groups of {blocks_per_group} blocks: the descriptor table ({table_bytes} bytes) does not fit in the volume ({} bytes)",
                dev.size()
            )));
        }
        let mut tables = Vec::with_capacity(usize::try_from(groups).unwrap_or(0));
        let per_chunk = (1u64 << 20) / desc_size;
        let mut g = 0u64;
        while g < groups {
            let n = per_chunk.min(groups - g);
            let mut chunk = vec![0u8; usize::try_from(n * desc_size).unwrap_or(0)];
            read_exact_at(&*dev, &mut chunk, table_at + g * desc_size)?;
            for d in chunk.chunks_exact(usize::try_from(desc_size).unwrap_or(32)) {
                let lo = u64::from(u32_at(d, 0x08).unwrap_or(0));
                let hi = if desc_size >= 64 { u64::from(u32_at(d, 0x28).unwrap_or(0)) } else { 0 };
                tables.push(lo | (hi << 32));
            }
            g += n;
        }
        let inodes = u64::from(field(0x00)).min(groups.saturating_mul(inodes_per_group));
        let geo = Geometry {
            block,
            blocks,
            inodes_per_group,
            inodes,
            inode_size: usize::try_from(inode_size).unwrap_or(128),
            incompat,
        };
        let kind = flavour(compat, incompat, ro_compat);
        let provenance = Provenance { filesystem: kind.to_owned(), ..provenance };
        let source = Ext4Source { dev, geo, tables, provenance };
        let root = source.inode(ROOT_INODE).map_err(|e| Ext4Error::Root(e.to_string()))?;
        if root.kind() != S_IFDIR {
            return Err(Ext4Error::Root(format!("inode 2 is not a folder (mode {:o})", root.mode)));
        }
        let mut checked = Checked::default();
        let size = blocks.saturating_mul(block);
        if size > source.dev.size() {
            checked.problems.push(format!(
                "{kind}: the file system has {size} bytes but its partition or image holds {}; files past the end cannot be read",
                source.dev.size()
            ));
        }
        if incompat & INCOMPAT_RECOVER != 0 {
            checked.notes.push(format!(
                "{}: {kind} was not cleanly unmounted; its journal was not replayed, so the latest changes may be missing",
                source.describe()
            ));
        }
        Ok((source, checked))
    }

    /// The file system: `ext2`, `ext3` or `ext4`.
    pub fn filesystem(&self) -> &str {
        &self.provenance.filesystem
    }

    /// Reads inode `n` (1-based).
    fn inode(&self, n: u32) -> io::Result<Inode> {
        let bad = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
        let n64 = u64::from(n);
        if n == 0 || n64 > self.geo.inodes {
            return Err(bad(format!("inode {n} is outside the file system's {}", self.geo.inodes)));
        }
        let group = (n64 - 1) / self.geo.inodes_per_group;
        let index = (n64 - 1) % self.geo.inodes_per_group;
        let table = usize::try_from(group).ok().and_then(|g| self.tables.get(g)).copied();
        let Some(table) = table.filter(|t| *t > 0 && *t < self.geo.blocks) else {
            return Err(bad(format!("the inode table of group {group} lies outside the volume")));
        };
        let at = table
            .checked_mul(self.geo.block)
            .and_then(|b| b.checked_add(index * self.geo.inode_size as u64))
            .ok_or_else(|| bad(format!("inode {n} lies past the end of the volume")))?;
        let mut raw = vec![0u8; self.geo.inode_size];
        read_exact_at(&*self.dev, &mut raw, at)?;
        let mode = u16_at(&raw, 0).unwrap_or(0);
        let lo = u64::from(u32_at(&raw, 0x04).unwrap_or(0));
        let hi = u64::from(u32_at(&raw, 0x6C).unwrap_or(0));
        // The high half is a directory's ACL block on ext2/3, its size only with `largedir`.
        let size = if mode & S_IFMT == S_IFDIR && self.geo.incompat & INCOMPAT_LARGEDIR == 0 {
            lo
        } else {
            lo | (hi << 32)
        };
        let mut block = [0u8; 60];
        if let Some(b) = raw.get(0x28..0x28 + 60) {
            block.copy_from_slice(b);
        }
        // The extra fields exist when the inode is large and `i_extra_isize` covers them.
        let extra_end = if raw.len() > 128 {
            128 + usize::from(u16_at(&raw, 0x80).unwrap_or(0)).min(raw.len() - 128)
        } else {
            128
        };
        let has = |at: usize| (at + 4 <= extra_end).then_some(at);
        let times = FileTimes {
            created: has(0x90).and_then(|at| time(&raw, at, has(0x94))),
            modified: time(&raw, 0x10, has(0x88)),
            record_changed: time(&raw, 0x0C, has(0x84)),
            accessed: time(&raw, 0x08, has(0x8C)),
        };
        Ok(Inode { mode, size, flags: u32_at(&raw, 0x20).unwrap_or(0), block, times, raw })
    }

    /// Reads `len` bytes at block `block` (`len` at most a block).
    fn read_block(&self, block: u64, buf: &mut [u8]) -> io::Result<()> {
        if block == 0 || block >= self.geo.blocks {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("block {block} lies outside the volume ({} blocks)", self.geo.blocks),
            ));
        }
        read_exact_at(&*self.dev, buf, block * self.geo.block)
    }

    /// Where an inode's data lies: inline bytes, or runs of blocks with the holes between
    /// them (and up to the end of the file) as runs without a location.
    fn data_of(&self, inode: &Inode) -> io::Result<StreamData> {
        if inode.flags & FLAG_INLINE_DATA != 0 {
            let mut bytes = inline_data(inode);
            bytes.truncate(usize::try_from(inode.size).unwrap_or(usize::MAX));
            return Ok(StreamData::resident(bytes));
        }
        let mut runs = Vec::new();
        let blocks_in_file = inode.size.div_ceil(self.geo.block);
        if inode.flags & FLAG_EXTENTS != 0 {
            self.extents(&inode.block, &mut runs)?;
        } else {
            self.block_map(&inode.block, blocks_in_file, &mut runs)?;
        }
        runs.sort_by_key(|r| r.vcn);
        let mut out: Vec<Run> = Vec::with_capacity(runs.len() + 1);
        let mut next = 0u64;
        for r in runs {
            if r.vcn >= blocks_in_file {
                break;
            }
            if r.vcn < next {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("block {} of the file is mapped twice", r.vcn),
                ));
            }
            if let Some(lcn) = r.lcn
                && lcn.checked_add(r.len).is_none_or(|end| end > self.geo.blocks)
            {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("blocks {lcn}+{} lie outside the volume", r.len),
                ));
            }
            if r.vcn > next {
                out.push(Run { vcn: next, len: r.vcn - next, lcn: None });
            }
            next = r.vcn + r.len;
            out.push(r);
        }
        if next < blocks_in_file {
            out.push(Run { vcn: next, len: blocks_in_file - next, lcn: None });
        }
        Ok(StreamData {
            resident: None,
            runs: out,
            size: inode.size,
            init: inode.size,
            unit_clusters: 0,
        })
    }

    /// The leaves of an extent tree rooted in `root` (an inode's `i_block`), as runs.
    fn extents(&self, root: &[u8], runs: &mut Vec<Run>) -> io::Result<()> {
        let bad = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
        let mut stack: Vec<(Vec<u8>, Option<u16>)> = vec![(root.to_vec(), None)];
        let mut nodes = 0usize;
        while let Some((node, want_depth)) = stack.pop() {
            nodes += 1;
            if nodes > MAX_TREE_BLOCKS || runs.len() > MAX_RUNS {
                return Err(bad(format!(
                    "more than {MAX_RUNS} extents or {MAX_TREE_BLOCKS} extent-tree blocks"
                )));
            }
            if u16_at(&node, 0) != Some(0xF30A) {
                return Err(bad("an extent node without its magic".to_owned()));
            }
            let entries = usize::from(u16_at(&node, 2).unwrap_or(0));
            let depth = u16_at(&node, 6).unwrap_or(0);
            if depth > 5 || want_depth.is_some_and(|d| d != depth) {
                return Err(bad(format!("an extent node of depth {depth} where another was due")));
            }
            if 12 + entries * 12 > node.len() {
                return Err(bad(format!("an extent node claims {entries} entries")));
            }
            for i in 0..entries {
                let e = 12 + i * 12;
                let logical = u64::from(u32_at(&node, e).unwrap_or(0));
                if depth == 0 {
                    let raw_len = u16_at(&node, e + 4).unwrap_or(0);
                    let (len, written) =
                        if raw_len > 32768 { (raw_len - 32768, false) } else { (raw_len, true) };
                    let start = (u64::from(u16_at(&node, e + 6).unwrap_or(0)) << 32)
                        | u64::from(u32_at(&node, e + 8).unwrap_or(0));
                    if len > 0 {
                        runs.push(Run {
                            vcn: logical,
                            len: u64::from(len),
                            lcn: written.then_some(start),
                        });
                    }
                } else {
                    let child = u64::from(u32_at(&node, e + 4).unwrap_or(0))
                        | (u64::from(u16_at(&node, e + 8).unwrap_or(0)) << 32);
                    let mut buf = vec![0u8; usize::try_from(self.geo.block).unwrap_or(4096)];
                    self.read_block(child, &mut buf)?;
                    stack.push((buf, Some(depth - 1)));
                }
            }
        }
        Ok(())
    }

    /// The blocks an ext2/3 inode's pointers map (direct, single, double and triple
    /// indirect), merged into runs; zero pointers are holes.
    fn block_map(&self, ptrs: &[u8], blocks_in_file: u64, runs: &mut Vec<Run>) -> io::Result<()> {
        let per = self.geo.block / 4;
        let mut reads = 0usize;
        let add = |runs: &mut Vec<Run>, logical: u64, physical: u64| -> io::Result<()> {
            if let Some(last) = runs.last_mut()
                && last.vcn + last.len == logical
                && last.lcn.and_then(|l| l.checked_add(last.len)) == Some(physical)
            {
                last.len += 1;
                return Ok(());
            }
            if runs.len() >= MAX_RUNS {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("more than {MAX_RUNS} block runs"),
                ));
            }
            runs.push(Run { vcn: logical, len: 1, lcn: Some(physical) });
            Ok(())
        };
        let mut logical = 0u64;
        for i in 0..12 {
            let p = u64::from(u32_at(ptrs, i * 4).unwrap_or(0));
            if logical >= blocks_in_file {
                return Ok(());
            }
            if p != 0 {
                add(runs, logical, p)?;
            }
            logical += 1;
        }
        // Each level: (pointer in i_block, blocks it covers).
        for (slot, level) in [(12usize, 1u32), (13, 2), (14, 3)] {
            let span = per.saturating_pow(level);
            if logical >= blocks_in_file {
                return Ok(());
            }
            let top = u64::from(u32_at(ptrs, slot * 4).unwrap_or(0));
            if top != 0 {
                // Depth-first over (block, level, first logical block it maps).
                let mut stack = vec![(top, level, logical)];
                while let Some((blk, lvl, first)) = stack.pop() {
                    reads += 1;
                    if reads > MAX_RUNS {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("more than {MAX_RUNS} indirect blocks"),
                        ));
                    }
                    let mut buf = vec![0u8; usize::try_from(self.geo.block).unwrap_or(4096)];
                    self.read_block(blk, &mut buf)?;
                    let child_span = per.saturating_pow(lvl - 1);
                    let mut children = Vec::new();
                    for (k, c) in buf.chunks_exact(4).enumerate() {
                        let at = first.saturating_add((k as u64).saturating_mul(child_span));
                        if at >= blocks_in_file {
                            break;
                        }
                        let p = u64::from(u32_at(c, 0).unwrap_or(0));
                        if p == 0 {
                            continue;
                        }
                        if lvl == 1 {
                            add(runs, at, p)?;
                        } else {
                            children.push((p, lvl - 1, at));
                        }
                    }
                    // Pushed in reverse so the lowest logical blocks come first.
                    stack.extend(children.into_iter().rev());
                }
            }
            logical = logical.saturating_add(span);
        }
        Ok(())
    }

    /// Calls `each(inode, name)` for every entry of directory `dir` but `.` and `..`.
    fn read_dir(
        &self,
        dir: &Inode,
        each: &mut dyn FnMut(u32, &[u8]),
        damage: &mut Vec<String>,
    ) -> io::Result<()> {
        if dir.flags & FLAG_INLINE_DATA != 0 {
            // The parent's number, then entries; more entries in `system.data`.
            let bytes = inline_data(dir);
            let first = bytes.get(4..60.min(bytes.len())).unwrap_or_default();
            self.dir_block(first, each, damage, "inline data");
            if let Some(rest) = bytes.get(60..) {
                self.dir_block(rest, each, damage, "inline data (system.data)");
            }
            return Ok(());
        }
        if dir.size > MAX_DIR_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a directory of {} bytes (at most {MAX_DIR_BYTES} are read)", dir.size),
            ));
        }
        let data = self.data_of(dir)?;
        let end = dir.size.div_ceil(self.geo.block);
        let mut buf = vec![0u8; usize::try_from(self.geo.block).unwrap_or(4096)];
        for run in &data.runs {
            let Some(lcn) = run.lcn else { continue };
            for i in 0..run.len.min(end.saturating_sub(run.vcn)) {
                self.read_block(lcn + i, &mut buf)?;
                self.dir_block(&buf, each, damage, &format!("block {}", run.vcn + i));
            }
        }
        Ok(())
    }

    /// The entries of one directory block (or of inline directory data).
    fn dir_block(
        &self,
        block: &[u8],
        each: &mut dyn FnMut(u32, &[u8]),
        damage: &mut Vec<String>,
        place: &str,
    ) {
        let filetype = self.geo.incompat & INCOMPAT_FILETYPE != 0;
        let mut off = 0usize;
        while off + 8 <= block.len() {
            let ino = u32_at(block, off).unwrap_or(0);
            let rec_len = usize::from(u16_at(block, off + 4).unwrap_or(0));
            let name_len = if filetype {
                usize::from(u8_at(block, off + 6).unwrap_or(0))
            } else {
                usize::from(u16_at(block, off + 6).unwrap_or(0))
            };
            if rec_len < 8 || rec_len % 4 != 0 || off + rec_len > block.len() {
                // Zeroed space after the last entry of inline data is not damage.
                if !(rec_len == 0 && block.get(off..).is_some_and(|r| r.iter().all(|b| *b == 0))) {
                    damage.push(format!(
                        "{place}: an entry at byte {off} has record length {rec_len}; the rest of the block is not read"
                    ));
                }
                return;
            }
            if ino != 0 && name_len > 0 && 8 + name_len <= rec_len {
                let name = block.get(off + 8..off + 8 + name_len).unwrap_or_default();
                if name != b"." && name != b".." {
                    each(ino, name);
                }
            }
            off += rec_len;
        }
    }

    /// One entry of a folder being listed: read its inode, hand it to `visit`, and keep a
    /// sub-folder for later (once, and not past [`MAX_DEPTH`]).
    fn child(
        &self,
        walk: &mut Walk,
        ino: u32,
        child: Vec<u8>,
        depth: usize,
        sink: &dyn Sink,
        visit: &mut dyn FnMut(Entry),
    ) {
        let name = child.rsplit(|b| *b == b'/').next().unwrap_or_default();
        if name.contains(&0) || child.ends_with(b"/") {
            walk.fail(
                self,
                sink,
                ProblemKind::Parse,
                &child,
                ino,
                "a name holding '/' or a NUL byte; not listed".to_owned(),
            );
            return;
        }
        let inode = match self.inode(ino) {
            Ok(i) => i,
            Err(e) => {
                walk.fail(
                    self,
                    sink,
                    ProblemKind::Parse,
                    &child,
                    ino,
                    format!("inode not readable: {e}"),
                );
                return;
            }
        };
        let Some(entry) = self.entry(&child, ino, &inode) else {
            walk.fail(
                self,
                sink,
                ProblemKind::Parse,
                &child,
                ino,
                format!("inode {ino} has no valid file type (mode {:o}); not listed", inode.mode),
            );
            return;
        };
        if entry.kind == EntryKind::Dir {
            if depth + 1 > MAX_DEPTH {
                walk.fail(
                    self,
                    sink,
                    ProblemKind::Walk,
                    &child,
                    ino,
                    format!("deeper than {MAX_DEPTH} folders; not entered"),
                );
            } else if !walk.seen.insert(ino) {
                walk.fail(
                    self,
                    sink,
                    ProblemKind::Walk,
                    &child,
                    ino,
                    format!("folder inode {ino} was already listed under another name (a loop); not entered again"),
                );
            } else {
                walk.subdirs.push((ino, child, depth + 1));
            }
        }
        visit(entry);
    }

    fn problem(&self, sink: &dyn Sink, kind: ProblemKind, path: &[u8], inode: u32, why: String) {
        let p = Provenance { record: Some(u64::from(inode)), ..self.provenance.clone() };
        sink.problem(Problem::at(kind, shown(path), why).with_position(p.describe()));
    }

    fn entry(&self, path: &[u8], number: u32, inode: &Inode) -> Option<Entry> {
        let kind = match inode.kind() {
            S_IFREG => EntryKind::File,
            S_IFDIR => EntryKind::Dir,
            S_IFLNK => EntryKind::Symlink,
            S_IFIFO => EntryKind::Special(ferret_fs::EntryKind::Fifo),
            S_IFSOCK => EntryKind::Special(ferret_fs::EntryKind::Socket),
            S_IFCHR => EntryKind::Special(ferret_fs::EntryKind::CharDevice),
            S_IFBLK => EntryKind::Special(ferret_fs::EntryKind::BlockDevice),
            _ => return None,
        };
        let unreadable = (kind == EntryKind::File && inode.flags & FLAG_ENCRYPT != 0).then(|| {
            "encrypted (fscrypt; its key is not in the image): present, not readable".to_owned()
        });
        Some(Entry {
            path: shown(path),
            kind,
            size: if kind == EntryKind::Dir { 0 } else { inode.size },
            provenance: Some(Box::new(Provenance {
                record: Some(u64::from(number)),
                times: Some(inode.times.clone()),
                ..self.provenance.clone()
            })),
            handle: if kind == EntryKind::File && unreadable.is_none() {
                Handle::Ext4(number)
            } else {
                Handle::None
            },
            unreadable,
        })
    }
}

/// The state of one listing.
struct Walk {
    stats: ListStats,
    /// Folder inodes entered (a second name for one is a loop).
    seen: HashSet<u32>,
    /// The sub-folders of the folder being read, to enter next.
    subdirs: Vec<(u32, Vec<u8>, usize)>,
}

impl Walk {
    /// Counts an error of the listing and reports it (see [`Ext4Source::problem`]).
    fn fail(
        &mut self,
        src: &Ext4Source,
        sink: &dyn Sink,
        kind: ProblemKind,
        path: &[u8],
        inode: u32,
        why: String,
    ) {
        self.stats.errors += 1;
        src.problem(sink, kind, path, inode, why);
    }
}

/// The path shown for `path` (`/` for the root).
fn shown(path: &[u8]) -> ReportPath {
    if path.is_empty() { ReportPath::from("/") } else { ReportPath::from(path.to_vec()) }
}

/// An inline-data inode's bytes: the 60 bytes of `i_block`, then the value of its
/// `system.data` extended attribute (kept in the inode, past its extra fields).
fn inline_data(inode: &Inode) -> Vec<u8> {
    let mut out = inode.block.to_vec();
    let raw = &inode.raw;
    let start = 128 + usize::from(u16_at(raw, 0x80).unwrap_or(0));
    if raw.len() <= 128 || start + 4 > raw.len() || u32_at(raw, start) != Some(0xEA02_0000) {
        return out;
    }
    let first = start + 4;
    let mut e = first;
    while e + 16 <= raw.len() {
        let name_len = usize::from(u8_at(raw, e).unwrap_or(0));
        let index = u8_at(raw, e + 1).unwrap_or(0);
        let value_at = usize::from(u16_at(raw, e + 2).unwrap_or(0));
        let value_inode = u32_at(raw, e + 4).unwrap_or(0);
        let value_len = u32_at(raw, e + 8).and_then(|v| usize::try_from(v).ok()).unwrap_or(0);
        if name_len == 0 && index == 0 && value_at == 0 && value_inode == 0 {
            break;
        }
        let name = raw.get(e + 16..e + 16 + name_len);
        if index == 7 && name == Some(b"data".as_slice()) && value_inode == 0 {
            if let Some(v) = raw.get(first + value_at..(first + value_at).saturating_add(value_len))
            {
                out.extend_from_slice(v);
            }
            break;
        }
        e += (16 + name_len + 3) & !3;
    }
    out
}

impl Source for Ext4Source {
    fn describe(&self) -> String {
        self.provenance.describe()
    }

    fn entries(&self, sink: &dyn Sink, cancel: &Cancel, visit: &mut dyn FnMut(Entry)) -> ListStats {
        let mut walk = Walk {
            stats: ListStats::default(),
            seen: HashSet::from([ROOT_INODE]),
            subdirs: Vec::new(),
        };
        let mut stack: Vec<(u32, Vec<u8>, usize)> = vec![(ROOT_INODE, Vec::new(), 0)];
        while let Some((number, path, depth)) = stack.pop() {
            if cancel.is_cancelled() {
                break;
            }
            let dir = match self.inode(number) {
                Ok(d) => d,
                Err(e) => {
                    walk.fail(
                        self,
                        sink,
                        ProblemKind::Parse,
                        &path,
                        number,
                        format!("folder not readable: {e}"),
                    );
                    continue;
                }
            };
            if dir.flags & FLAG_ENCRYPT != 0 {
                walk.fail(
                    self,
                    sink,
                    ProblemKind::ReadError,
                    &path,
                    number,
                    "an encrypted folder (fscrypt; its key is not in the image): the names and files inside cannot be read".to_owned(),
                );
                continue;
            }
            let mut damage = Vec::new();
            let listed = self.read_dir(
                &dir,
                &mut |ino, name| {
                    if cancel.is_cancelled() {
                        return;
                    }
                    let mut child = path.clone();
                    child.push(b'/');
                    child.extend_from_slice(name);
                    self.child(&mut walk, ino, child, depth, sink, visit);
                },
                &mut damage,
            );
            if let Err(e) = listed {
                walk.fail(
                    self,
                    sink,
                    ProblemKind::Parse,
                    &path,
                    number,
                    format!("folder not readable: {e}"),
                );
            }
            for why in damage {
                walk.fail(
                    self,
                    sink,
                    ProblemKind::Parse,
                    &path,
                    number,
                    format!("damaged folder: {why}"),
                );
            }
            // Sub-folders are pushed in reverse, so they are listed in directory order.
            let subdirs = std::mem::take(&mut walk.subdirs);
            stack.extend(subdirs.into_iter().rev());
        }
        walk.stats
    }

    fn open(&self, entry: &Entry) -> io::Result<Box<dyn ReadSeek + '_>> {
        let Handle::Ext4(number) = &entry.handle else {
            return Err(io::Error::new(io::ErrorKind::Unsupported, "no data to read"));
        };
        let number = *number;
        let inode = self.inode(number)?;
        if inode.kind() != S_IFREG {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("inode {number} is no longer a regular file"),
            ));
        }
        if inode.flags & FLAG_ENCRYPT != 0 {
            return Err(io::Error::new(io::ErrorKind::PermissionDenied, "encrypted (fscrypt)"));
        }
        let data = self.data_of(&inode)?;
        Ok(Box::new(StreamReader::new(&*self.dev, self.geo.block, data)?))
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// Opens `data` as an ext2/3/4 volume, lists it and reads every file's start: what the
/// fuzz target and the never-panics tests run.
#[doc(hidden)]
pub fn fuzz(data: &[u8]) {
    let dev: Arc<dyn ReadAt> = Arc::new(data.to_vec());
    let Ok((src, _)) = Ext4Source::open(dev, Provenance::default()) else { return };
    let sink = ferret_core::Collector::default();
    let mut files = Vec::new();
    src.entries(&sink, &Cancel::default(), &mut |e| {
        if e.kind == EntryKind::File && files.len() < 64 {
            files.push(e);
        }
    });
    let mut buf = vec![0u8; 4096];
    for f in &files {
        if let Ok(mut r) = src.open(f) {
            let _ = std::io::Read::read(&mut r, &mut buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_carry_the_extra_epoch_bits_and_nanoseconds() {
        let mut raw = vec![0u8; 256];
        raw[0x10..0x14].copy_from_slice(&0x8000_0000u32.to_le_bytes()); // 1901 as signed
        assert_eq!(time(&raw, 0x10, None).unwrap().timestamp(), -(1i64 << 31));
        raw[0x88..0x8C].copy_from_slice(&((5u32 << 2) | 1).to_le_bytes()); // +2^32 s, 5 ns
        let t = time(&raw, 0x10, Some(0x88)).unwrap();
        assert_eq!(t.timestamp(), (1i64 << 32) - (1i64 << 31));
        assert_eq!(t.timestamp_subsec_nanos(), 5);
        assert_eq!(time(&raw, 0x20, None), None, "zero is not set");
    }

    #[test]
    fn flavour_by_features() {
        assert_eq!(flavour(0, INCOMPAT_FILETYPE, 0), "ext2");
        assert_eq!(flavour(COMPAT_HAS_JOURNAL, INCOMPAT_FILETYPE, 0), "ext3");
        assert_eq!(flavour(COMPAT_HAS_JOURNAL, INCOMPAT_EXTENTS, 0), "ext4");
        assert_eq!(flavour(0, 0, 0x400), "ext4");
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        use proptest::prelude::*;
        let mut runner = proptest::test_runner::TestRunner::default();
        runner
            .run(&proptest::collection::vec(any::<u8>(), 0..8192), |data| {
                let mut v = vec![0u8; 1024];
                v.extend_from_slice(&data);
                // The superblock's magic at 1080..1082, when the bytes reach that far.
                if let Some(magic) = v.get_mut(1080..1082) {
                    magic.copy_from_slice(&[0x53, 0xEF]);
                }
                fuzz(&v);
                Ok(())
            })
            .unwrap();
    }
}
