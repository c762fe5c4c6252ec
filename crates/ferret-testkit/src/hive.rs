//! A small writer of registry hive files (`regf`) and transaction logs, for fixtures.
//!
//! Deterministic: the same [`HiveKey`] tree gives the same bytes. Layout written: a 4,096-byte
//! base block (`regf`, sequence numbers, the key times given, version 1.5, file type 0, the
//! root cell offset, the hive-bins size, the XOR checksum at byte 508), then one hive bin
//! (`hbin`, a multiple of 4,096 bytes) holding, in order, one `sk` security cell shared by
//! every key, then each key's `nk` cell, its values (`vk`, a data cell unless the data fits
//! in four bytes, `db` big data with 16,344-byte segments above 16,344 bytes), its value
//! list, its subkeys (depth first) and its `lf` subkey list (names sorted case-insensitively,
//! the first four name bytes as hint); the rest of the bin is one free cell. Names are
//! written as Latin-1 ("compressed", flag 0x20) when they are ASCII, else UTF-16LE.
//!
//! [`dirty_with_log`] makes a dirty hive (primary sequence number one above the secondary)
//! and a `.LOG1` file in the `HvLE` format whose one entry turns the old state into the new;
//! [`dirty_with_old_log`] does the same with an old-format (`DIRT`) `.LOG`.

/// A key to write: name, values, subkeys and last-written FILETIME.
#[derive(Clone, Debug, Default)]
pub struct HiveKey {
    /// The key name.
    pub name: String,
    /// Values: (name, type, data).
    pub values: Vec<(String, u32, Vec<u8>)>,
    /// Subkeys.
    pub subkeys: Vec<HiveKey>,
    /// Last-written time as a FILETIME (100 ns since 1601).
    pub time: u64,
    /// Deleted: the key's cell is written but free (a positive size) and left out of its
    /// parent's subkey list, as Windows leaves a deleted key until its cell is reused.
    pub deleted: bool,
    /// Names of values deleted from this key: their `vk` and data cells are written but free,
    /// and left out of the key's value list; the list as it was before the deletion is left
    /// in a free cell, as Windows leaves it when the list is reallocated.
    pub deleted_values: Vec<String>,
}

/// A fixed FILETIME used when none is given: 2020-12-13 00:00:00 UTC.
pub const DEFAULT_TIME: u64 = 132_522_624_000_000_000;

/// UTF-16LE with a terminating NUL (the data of a `REG_SZ`).
pub fn utf16z(s: &str) -> Vec<u8> {
    let mut v: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
    v.extend_from_slice(&[0, 0]);
    v
}

impl HiveKey {
    /// A key with no values or subkeys.
    pub fn new(name: &str) -> HiveKey {
        HiveKey { name: name.to_owned(), time: DEFAULT_TIME, ..HiveKey::default() }
    }

    /// Marks this key deleted (see [`HiveKey::deleted`]).
    pub fn delete(&mut self) -> &mut HiveKey {
        self.deleted = true;
        self
    }

    /// Deletes the value `name` (see [`HiveKey::deleted_values`]); it must have been added.
    pub fn delete_value(&mut self, name: &str) -> &mut HiveKey {
        assert!(
            self.values.iter().any(|(n, _, _)| n.eq_ignore_ascii_case(name)),
            "no value {name} to delete"
        );
        self.deleted_values.push(name.to_owned());
        self
    }

    /// The key at a `\`-separated path below this one, made when absent.
    pub fn key(&mut self, path: &str) -> &mut HiveKey {
        let mut k = self;
        for part in path.split('\\').filter(|p| !p.is_empty()) {
            let i = match k.subkeys.iter().position(|s| s.name.eq_ignore_ascii_case(part)) {
                Some(i) => i,
                None => {
                    k.subkeys.push(HiveKey::new(part));
                    k.subkeys.len() - 1
                }
            };
            k = &mut k.subkeys[i];
        }
        k
    }

    /// Adds a value of any type.
    pub fn value(&mut self, name: &str, kind: u32, data: Vec<u8>) -> &mut HiveKey {
        self.values.push((name.to_owned(), kind, data));
        self
    }

    /// Adds a `REG_SZ`.
    pub fn sz(&mut self, name: &str, text: &str) -> &mut HiveKey {
        self.value(name, 1, utf16z(text))
    }

    /// Adds a `REG_EXPAND_SZ`.
    pub fn expand_sz(&mut self, name: &str, text: &str) -> &mut HiveKey {
        self.value(name, 2, utf16z(text))
    }

    /// Adds a `REG_DWORD`.
    pub fn dword(&mut self, name: &str, v: u32) -> &mut HiveKey {
        self.value(name, 4, v.to_le_bytes().to_vec())
    }

    /// Adds a `REG_QWORD`.
    pub fn qword(&mut self, name: &str, v: u64) -> &mut HiveKey {
        self.value(name, 11, v.to_le_bytes().to_vec())
    }

    /// Adds a `REG_BINARY`.
    pub fn binary(&mut self, name: &str, data: &[u8]) -> &mut HiveKey {
        self.value(name, 3, data.to_vec())
    }

    /// Sets the last-written time.
    pub fn at(&mut self, filetime: u64) -> &mut HiveKey {
        self.time = filetime;
        self
    }
}

struct Cells {
    /// The hive-bins data; offset 0 is the first `hbin` header.
    bins: Vec<u8>,
    sk: u32,
}

fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn name_bytes(name: &str) -> (Vec<u8>, bool) {
    if name.is_ascii() {
        (name.as_bytes().to_vec(), true)
    } else {
        (name.encode_utf16().flat_map(u16::to_le_bytes).collect(), false)
    }
}

impl Cells {
    fn alloc(&mut self, data: &[u8]) -> u32 {
        let off = u32::try_from(self.bins.len()).expect("hive fixture under 4 GiB");
        let size = (4 + data.len()).div_ceil(8) * 8;
        self.bins.extend_from_slice(&(-i32::try_from(size).expect("cell size")).to_le_bytes());
        self.bins.extend_from_slice(data);
        self.bins.resize(off as usize + size, 0);
        off
    }

    /// Frees the allocated cell at `off` (its size made positive).
    fn free(&mut self, off: u32) {
        let at = off as usize;
        let size = i32::from_le_bytes(self.bins[at..at + 4].try_into().expect("size"));
        self.bins[at..at + 4].copy_from_slice(&size.abs().to_le_bytes());
    }

    fn u32_at(&self, at: usize) -> u32 {
        u32::from_le_bytes(self.bins[at..at + 4].try_into().expect("u32"))
    }

    /// Frees a value's `vk` cell and the cells of its data (a `db` cell, its segment list
    /// and segments for big data).
    fn free_value(&mut self, vk: u32) {
        self.free(vk);
        let (size, data) = (self.u32_at(vk as usize + 8), self.u32_at(vk as usize + 12));
        if size & 0x8000_0000 != 0 {
            return;
        }
        self.free(data);
        if &self.bins[data as usize + 4..data as usize + 6] == b"db" {
            let n =
                u16::from_le_bytes([self.bins[data as usize + 6], self.bins[data as usize + 7]]);
            let list = self.u32_at(data as usize + 8);
            self.free(list);
            for i in 0..usize::from(n) {
                let seg = self.u32_at(list as usize + 4 + i * 4);
                self.free(seg);
            }
        }
    }

    fn value(&mut self, name: &str, kind: u32, data: &[u8]) -> u32 {
        let (nb, ascii) = name_bytes(name);
        let len = u32::try_from(data.len()).expect("value size");
        let (size_field, data_field) = if data.len() <= 4 {
            let mut inline = [0u8; 4];
            inline[..data.len()].copy_from_slice(data);
            (len | 0x8000_0000, u32::from_le_bytes(inline))
        } else if data.len() > 16344 {
            let segs: Vec<u32> = data.chunks(16344).map(|c| self.alloc(c)).collect();
            let list: Vec<u8> = segs.iter().flat_map(|o| o.to_le_bytes()).collect();
            let list_off = self.alloc(&list);
            let mut db = vec![0u8; 12];
            db[..2].copy_from_slice(b"db");
            put_u16(&mut db, 2, u16::try_from(segs.len()).expect("segments"));
            put_u32(&mut db, 4, list_off);
            (len, self.alloc(&db))
        } else {
            (len, self.alloc(data))
        };
        let mut vk = vec![0u8; 20 + nb.len()];
        vk[..2].copy_from_slice(b"vk");
        put_u16(&mut vk, 2, u16::try_from(nb.len()).expect("name"));
        put_u32(&mut vk, 4, size_field);
        put_u32(&mut vk, 8, data_field);
        put_u32(&mut vk, 12, kind);
        put_u16(&mut vk, 16, u16::from(ascii));
        vk[20..].copy_from_slice(&nb);
        self.alloc(&vk)
    }

    fn key(&mut self, k: &HiveKey, parent: u32, root: bool) -> u32 {
        let (nb, ascii) = name_bytes(&k.name);
        let mut nk = vec![0u8; 76 + nb.len()];
        nk[..2].copy_from_slice(b"nk");
        let mut flags: u16 = if root { 0x0C } else { 0 };
        if ascii {
            flags |= 0x20;
        }
        put_u16(&mut nk, 2, flags);
        put_u64(&mut nk, 4, k.time);
        put_u32(&mut nk, 16, parent);
        put_u32(&mut nk, 28, u32::MAX);
        put_u32(&mut nk, 32, u32::MAX);
        put_u32(&mut nk, 40, u32::MAX);
        put_u32(&mut nk, 44, self.sk);
        put_u32(&mut nk, 48, u32::MAX);
        put_u16(&mut nk, 72, u16::try_from(nb.len()).expect("name"));
        nk[76..].copy_from_slice(&nb);
        let me = self.alloc(&nk);
        let at = me as usize + 4;
        if !k.values.is_empty() {
            let offs: Vec<u32> = k.values.iter().map(|(n, t, d)| self.value(n, *t, d)).collect();
            let list: Vec<u8> = offs.iter().flat_map(|o| o.to_le_bytes()).collect();
            let gone = |n: &str| k.deleted_values.iter().any(|d| d.eq_ignore_ascii_case(n));
            let live: Vec<u32> = offs
                .iter()
                .zip(&k.values)
                .filter(|(_, (n, _, _))| !gone(n))
                .map(|(o, _)| *o)
                .collect();
            if live.len() < offs.len() {
                // The list before the deletion, freed; the deleted values' cells freed.
                let old = self.alloc(&list);
                self.free(old);
                for (o, (n, _, _)) in offs.iter().zip(&k.values) {
                    if gone(n) {
                        self.free_value(*o);
                    }
                }
            }
            if !live.is_empty() {
                let list: Vec<u8> = live.iter().flat_map(|o| o.to_le_bytes()).collect();
                let l = self.alloc(&list);
                put_u32(&mut self.bins, at + 36, u32::try_from(live.len()).expect("values"));
                put_u32(&mut self.bins, at + 40, l);
            }
        }
        if !k.subkeys.is_empty() {
            let mut kids: Vec<&HiveKey> = k.subkeys.iter().collect();
            kids.sort_by_key(|s| s.name.to_uppercase());
            let mut lf = vec![0u8; 4];
            lf[..2].copy_from_slice(b"lf");
            put_u16(&mut lf, 2, u16::try_from(kids.len()).expect("subkeys"));
            let mut live = 0u16;
            for kid in kids {
                let off = self.key(kid, me, false);
                if kid.deleted {
                    // Free the cell (a positive size) and leave it out of the list.
                    self.free(off);
                    continue;
                }
                live += 1;
                lf.extend_from_slice(&off.to_le_bytes());
                let mut hint = [0u8; 4];
                for (h, b) in hint.iter_mut().zip(kid.name.bytes()) {
                    *h = b;
                }
                lf.extend_from_slice(&hint);
            }
            put_u16(&mut lf, 2, live);
            let l = self.alloc(&lf);
            put_u32(&mut self.bins, at + 20, u32::from(live));
            put_u32(&mut self.bins, at + 28, l);
        }
        me
    }
}

/// The XOR checksum of a base block's first 508 bytes.
pub fn checksum(base: &[u8]) -> u32 {
    let x = base[..508]
        .chunks_exact(4)
        .fold(0u32, |x, c| x ^ u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
    match x {
        0xFFFF_FFFF => 0xFFFF_FFFE,
        0 => 1,
        x => x,
    }
}

fn base_block(root: u32, bins_len: usize, primary: u32, secondary: u32, file_type: u32) -> Vec<u8> {
    let mut b = vec![0u8; 4096];
    b[..4].copy_from_slice(b"regf");
    put_u32(&mut b, 4, primary);
    put_u32(&mut b, 8, secondary);
    put_u64(&mut b, 12, DEFAULT_TIME);
    put_u32(&mut b, 20, 1);
    put_u32(&mut b, 24, 5);
    put_u32(&mut b, 28, file_type);
    put_u32(&mut b, 32, 1);
    put_u32(&mut b, 36, root);
    put_u32(&mut b, 40, u32::try_from(bins_len).expect("bins"));
    put_u32(&mut b, 44, 1);
    let c = checksum(&b);
    put_u32(&mut b, 508, c);
    b
}

/// The hive-bins data and root offset of a tree.
fn bins(root: &HiveKey) -> (Vec<u8>, u32) {
    let mut c = Cells { bins: vec![0u8; 32], sk: 0 };
    // One security cell, its own forward and backward link, used by every key.
    let mut sk = vec![0u8; 20 + 20];
    sk[..2].copy_from_slice(b"sk");
    put_u32(&mut sk, 12, 1);
    put_u32(&mut sk, 16, 20);
    sk[20] = 1;
    put_u16(&mut sk, 22, 0x8000);
    c.sk = c.alloc(&sk);
    let sk_at = c.sk as usize + 4;
    let sk_off = c.sk;
    put_u32(&mut c.bins, sk_at + 4, sk_off);
    put_u32(&mut c.bins, sk_at + 8, sk_off);
    let r = c.key(root, 0, true);
    // Fill the bin to a multiple of 4096 with one free cell (at least 8 bytes).
    let used = c.bins.len();
    let total = (used + 8).div_ceil(4096) * 4096;
    c.bins.resize(total, 0);
    put_u32(&mut c.bins, used, u32::try_from(total - used).expect("free cell"));
    c.bins[..4].copy_from_slice(b"hbin");
    put_u32(&mut c.bins, 8, u32::try_from(total).expect("bin size"));
    (c.bins, r)
}

/// The bytes of a clean hive file whose root key is `root`.
pub fn build(root: &HiveKey) -> Vec<u8> {
    let (bins, r) = bins(root);
    let mut out = base_block(r, bins.len(), 1, 1, 0);
    out.extend_from_slice(&bins);
    out
}

/// The Marvin32 seed of transaction-log entries.
pub const LOG_SEED: u64 = 0x82EF_4D88_7A4E_55C5;

fn marvin_block(lo: &mut u32, hi: &mut u32) {
    *hi ^= *lo;
    *lo = lo.rotate_left(20).wrapping_add(*hi);
    *hi = hi.rotate_left(9) ^ *lo;
    *lo = lo.rotate_left(27).wrapping_add(*hi);
    *hi = hi.rotate_left(19);
}

/// Marvin32 folded to 32 bits, as transaction logs use it.
pub fn marvin32(seed: u64, data: &[u8]) -> u32 {
    let mut lo = (seed & 0xFFFF_FFFF) as u32;
    let mut hi = (seed >> 32) as u32;
    let mut it = data.chunks_exact(4);
    for c in &mut it {
        lo = lo.wrapping_add(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        marvin_block(&mut lo, &mut hi);
    }
    let r = it.remainder();
    let fin: u32 = match r.len() {
        0 => 0x80,
        1 => 0x8000 | u32::from(r[0]),
        2 => 0x0080_0000 | u32::from(r[1]) << 8 | u32::from(r[0]),
        _ => 0x8000_0000 | u32::from(r[2]) << 16 | u32::from(r[1]) << 8 | u32::from(r[0]),
    };
    lo = lo.wrapping_add(fin);
    marvin_block(&mut lo, &mut hi);
    marvin_block(&mut lo, &mut hi);
    lo ^ hi
}

/// A dirty hive holding `old` on disk, and a `.LOG1` whose one `HvLE` entry (sequence
/// number 1) holds every 4 KiB page of `new`'s hive bins: (hive file, log file).
pub fn dirty_with_log(old: &HiveKey, new: &HiveKey) -> (Vec<u8>, Vec<u8>) {
    let (old_bins, old_root) = bins(old);
    let (new_bins, new_root) = bins(new);
    let mut hive = base_block(old_root, old_bins.len(), 2, 1, 0);
    hive.extend_from_slice(&old_bins);
    let mut log = base_block(new_root, new_bins.len(), 2, 2, 1);
    log.truncate(512);
    let pages: Vec<(u32, &[u8])> = new_bins
        .chunks(4096)
        .enumerate()
        .map(|(i, p)| (u32::try_from(i * 4096).expect("page"), p))
        .collect();
    let mut entry = vec![0u8; 40];
    entry[..4].copy_from_slice(b"HvLE");
    put_u32(&mut entry, 8, 0);
    put_u32(&mut entry, 12, 1);
    put_u32(&mut entry, 16, u32::try_from(new_bins.len()).expect("bins"));
    put_u32(&mut entry, 20, u32::try_from(pages.len()).expect("pages"));
    for (off, p) in &pages {
        entry.extend_from_slice(&off.to_le_bytes());
        entry.extend_from_slice(&u32::try_from(p.len()).expect("page").to_le_bytes());
    }
    for (_, p) in &pages {
        entry.extend_from_slice(p);
    }
    entry.resize(entry.len().div_ceil(512) * 512, 0);
    let size = u32::try_from(entry.len()).expect("entry");
    put_u32(&mut entry, 4, size);
    let h1 = marvin32(LOG_SEED, &entry[40..]);
    put_u64(&mut entry, 24, u64::from(h1));
    let h2 = marvin32(LOG_SEED, &entry[..32]);
    put_u64(&mut entry, 32, u64::from(h2));
    log.extend_from_slice(&entry);
    (hive, log)
}

/// A dirty hive holding `old` on disk, and an old-format log (Windows XP to 8: a `DIRT`
/// dirty vector and 512-byte pages) that turns it into `new`: (hive file, log file). Every
/// 4 KiB block of `new`'s bins that differs from `old`'s is marked dirty, as Windows tracks
/// changes in 4 KiB blocks.
pub fn dirty_with_old_log(old: &HiveKey, new: &HiveKey) -> (Vec<u8>, Vec<u8>) {
    let (old_bins, old_root) = bins(old);
    let (new_bins, new_root) = bins(new);
    let mut hive = base_block(old_root, old_bins.len(), 2, 1, 0);
    hive.extend_from_slice(&old_bins);
    let mut log = base_block(new_root, new_bins.len(), 2, 2, 1);
    log.truncate(512);
    let pages = new_bins.len() / 512;
    let mut bitmap = vec![0u8; pages.div_ceil(8)];
    let mut dirty = Vec::new();
    for (b, block) in new_bins.chunks(4096).enumerate() {
        if old_bins.get(b * 4096..b * 4096 + block.len()) == Some(block) {
            continue;
        }
        for p in 0..block.len() / 512 {
            let bit = b * 8 + p;
            bitmap[bit / 8] |= 1 << (bit % 8);
            dirty.extend_from_slice(&block[p * 512..p * 512 + 512]);
        }
    }
    log.extend_from_slice(b"DIRT");
    log.extend_from_slice(&bitmap);
    log.resize(log.len().div_ceil(512) * 512, 0);
    log.extend_from_slice(&dirty);
    (hive, log)
}

/// A Windows 10 AppCompatCache value holding `paths` (most recent first), each with the
/// last-modified FILETIME given.
pub fn shimcache_win10(entries: &[(&str, u64)]) -> Vec<u8> {
    let mut v = vec![0u8; 0x34];
    put_u32(&mut v, 0, 0x34);
    for (path, time) in entries {
        let p: Vec<u8> = path.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let mut e = Vec::new();
        e.extend_from_slice(&u16::try_from(p.len()).expect("path").to_le_bytes());
        e.extend_from_slice(&p);
        e.extend_from_slice(&time.to_le_bytes());
        e.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(b"10ts");
        v.extend_from_slice(&[0, 0, 0, 0]);
        v.extend_from_slice(&u32::try_from(e.len()).expect("entry").to_le_bytes());
        v.extend_from_slice(&e);
    }
    v
}

/// A Windows 7 x64 AppCompatCache value (`0xBADC0FEE`, 48-byte entries).
pub fn shimcache_win7_x64(entries: &[(&str, u64)]) -> Vec<u8> {
    let mut v = vec![0u8; 128 + 48 * entries.len()];
    put_u32(&mut v, 0, 0xBADC_0FEE);
    put_u32(&mut v, 4, u32::try_from(entries.len()).expect("entries"));
    for (i, (path, time)) in entries.iter().enumerate() {
        let p: Vec<u8> = path.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let off = v.len();
        v.extend_from_slice(&p);
        v.extend_from_slice(&[0, 0]);
        let e = 128 + i * 48;
        put_u16(&mut v, e, u16::try_from(p.len()).expect("path"));
        put_u16(&mut v, e + 2, u16::try_from(p.len() + 2).expect("path"));
        put_u64(&mut v, e + 8, off as u64);
        put_u64(&mut v, e + 16, *time);
    }
    v
}
