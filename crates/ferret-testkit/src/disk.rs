//! Disk images built at test time: an NTFS volume made by ntfs-3g's `mkntfs` on a plain file
//! and filled with `ntfscp` (no root, no mount) or, for folders, through ntfs-3g's FUSE mount
//! ([`NtfsVolume::tree`]), and MBR or GPT disks written around a volume.
//! The images are sparse files in the test's temporary folder.

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// ntfs-3g's tool `name`: found on `PATH`, else in the system folders Debian installs it in
/// (`mkntfs` and `ntfscp` live in `/usr/sbin`, which an unprivileged `PATH` may lack).
fn tool(name: &str) -> Command {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file());
    Command::new(found.unwrap_or_else(|| PathBuf::from(name)))
}

/// Whether ntfs-3g's `mkntfs` and `ntfscp` can be run (the `ntfs-3g` Debian package).
pub fn ntfs_tools() -> bool {
    ["mkntfs", "ntfscp"].iter().all(|t| tool(t).arg("--version").output().is_ok())
}

/// Whether e2fsprogs' `mke2fs` can be run (the `e2fsprogs` Debian package).
pub fn e2fs_tools() -> bool {
    tool("mke2fs").arg("-V").output().is_ok_and(|o| o.status.success())
}

/// Makes an ext2, ext3 or ext4 volume (`kind`) of `mib` MiB at `image` holding a copy of the
/// folder `tree` (`mke2fs -t KIND -d TREE`: no root, no mount; FIFOs and symbolic links are
/// copied as they are), with `extra` options for mke2fs (`-b 4096`, `-O inline_data`, …).
///
/// # Panics
/// When mke2fs fails.
pub fn ext_volume(image: &Path, kind: &str, tree: &Path, mib: u64, extra: &[&str]) {
    let out = tool("mke2fs")
        .args(["-q", "-F", "-t", kind, "-L", "FERRET"])
        .args(extra)
        .arg("-d")
        .arg(tree)
        .arg(image)
        .arg(format!("{mib}M"))
        .output()
        .expect("run mke2fs");
    assert!(out.status.success(), "mke2fs: {}", String::from_utf8_lossy(&out.stderr));
}

/// An NTFS volume in a file, being filled.
pub struct NtfsVolume {
    image: PathBuf,
    scratch: PathBuf,
    n: usize,
}

impl NtfsVolume {
    /// Makes a volume of `mib` MiB at `image` (`mkntfs -F -Q`); `compressed`: the root folder
    /// is marked compressed (`-C`), so every file copied in is LZNT1-compressed.
    ///
    /// # Panics
    /// When mkntfs fails.
    pub fn new(image: &Path, mib: u64, compressed: bool) -> NtfsVolume {
        let f = std::fs::File::create(image).expect("create the image");
        f.set_len(mib << 20).expect("size the image");
        drop(f);
        let mut cmd = tool("mkntfs");
        cmd.args(["-F", "-Q", "-q", "-L", "FERRET"]);
        if compressed {
            cmd.arg("-C");
        }
        let out = cmd.arg(image).output().expect("run mkntfs");
        assert!(out.status.success(), "mkntfs: {}", String::from_utf8_lossy(&out.stderr));
        let scratch = image.with_extension("scratch");
        std::fs::create_dir_all(&scratch).expect("scratch folder");
        NtfsVolume { image: image.to_path_buf(), scratch, n: 0 }
    }

    fn staged(&mut self, content: &[u8]) -> PathBuf {
        self.n += 1;
        let p = self.scratch.join(format!("f{}", self.n));
        std::fs::write(&p, content).expect("stage a file");
        p
    }

    /// Copies `content` into the volume's root as `name` (ntfscp cannot make folders).
    ///
    /// # Panics
    /// When ntfscp fails.
    pub fn file(&mut self, name: &str, content: &[u8]) -> &mut Self {
        let src = self.staged(content);
        let out = tool("ntfscp")
            .arg("-q")
            .arg(&self.image)
            .arg(&src)
            .arg(name)
            .output()
            .expect("run ntfscp");
        assert!(out.status.success(), "ntfscp {name}: {}", String::from_utf8_lossy(&out.stderr));
        self
    }

    /// Writes `content` into the alternate data stream `stream` of the existing file `name`.
    ///
    /// # Panics
    /// When ntfscp fails.
    pub fn stream(&mut self, name: &str, stream: &str, content: &[u8]) -> &mut Self {
        let src = self.staged(content);
        let out = tool("ntfscp")
            .args(["-q", "-N", stream])
            .arg(&self.image)
            .arg(&src)
            .arg(name)
            .output()
            .expect("run ntfscp");
        assert!(
            out.status.success(),
            "ntfscp {name}:{stream}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self
    }

    /// Writes `files` (paths with `/`, folders made as needed) into the volume through
    /// ntfs-3g's FUSE mount (ntfscp cannot make folders), then unmounts. `Err` says why when
    /// the mount is not possible here (no `/dev/fuse`, no permission): the caller skips with
    /// [`crate::require`].
    pub fn tree(&mut self, files: &[(String, Vec<u8>)]) -> Result<&mut Self, String> {
        let mnt = self.image.with_extension("mnt");
        std::fs::create_dir_all(&mnt).map_err(|e| e.to_string())?;
        // In the foreground (`no_detach`), so the volume is closed when the process ends.
        let mut child = tool("ntfs-3g")
            .args(["-o", "no_detach"])
            .arg(&self.image)
            .arg(&mnt)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("ntfs-3g: {e}"))?;
        let mounted = || {
            std::fs::read_to_string("/proc/mounts")
                .is_ok_and(|m| m.lines().any(|l| l.split(' ').nth(1) == mnt.to_str()))
        };
        for _ in 0..200 {
            if mounted() {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                return Err(format!("ntfs-3g mount ({status}): {err}"));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        if !mounted() {
            let _ = child.kill();
            let _ = child.wait();
            return Err("ntfs-3g did not mount the volume".to_owned());
        }
        let mut result = Ok(());
        for (rel, data) in files {
            let p = mnt.join(rel);
            let wrote = p
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(&p, data));
            if let Err(e) = wrote {
                result = Err(format!("{rel}: {e}"));
                break;
            }
        }
        let un = tool("fusermount").arg("-u").arg(&mnt).output();
        if !un.as_ref().is_ok_and(|o| o.status.success()) {
            let _ = tool("umount").arg(&mnt).output();
        }
        // The volume is written out when ntfs-3g ends.
        let _ = child.wait();
        result.map(|()| self)
    }

    /// The volume's file.
    pub fn path(&self) -> &Path {
        &self.image
    }
}

/// CRC-32 (IEEE), as GPT uses it.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// The first usable sector of a partition on the disks made here (1 MiB, as partitioning
/// tools align).
pub const FIRST_SECTOR: u64 = 2048;

fn copy_volume(disk: &mut std::fs::File, volume: &Path, at: u64) {
    let data = std::fs::read(volume).expect("read the volume");
    disk.seek(SeekFrom::Start(at)).expect("seek");
    disk.write_all(&data).expect("write the volume");
}

fn mbr_entry(sector: &mut [u8], i: usize, kind: u8, start: u64, sectors: u64) {
    let e = 446 + 16 * i;
    sector[e + 4] = kind;
    sector[e + 8..e + 12].copy_from_slice(&u32::try_from(start).unwrap_or(u32::MAX).to_le_bytes());
    sector[e + 12..e + 16]
        .copy_from_slice(&u32::try_from(sectors).unwrap_or(u32::MAX).to_le_bytes());
    sector[510] = 0x55;
    sector[511] = 0xAA;
}

/// Writes an MBR disk at `disk` holding `volumes` as primary partitions (type 0x07), each
/// at a 1 MiB boundary, in order.
///
/// # Panics
/// On I/O errors.
pub fn mbr_disk(disk: &Path, volumes: &[&Path]) {
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .read(true)
        .open(disk)
        .expect("create disk");
    let mut mbr = vec![0u8; 512];
    let mut at = FIRST_SECTOR;
    for (i, v) in volumes.iter().enumerate() {
        let sectors = std::fs::metadata(v).expect("volume").len() / 512;
        mbr_entry(&mut mbr, i, 0x07, at, sectors);
        copy_volume(&mut f, v, at * 512);
        at += sectors.div_ceil(2048) * 2048;
    }
    f.set_len(at * 512).expect("size disk");
    f.seek(SeekFrom::Start(0)).expect("seek");
    f.write_all(&mbr).expect("write the MBR");
}

/// Writes a GPT disk (protective MBR, primary header and 128 entries, backup at the end) at
/// `disk` holding `volumes` as "Microsoft basic data" partitions at 1 MiB boundaries, after
/// a "Microsoft reserved" one when `reserved` is set (as Windows lays a disk out).
///
/// # Panics
/// On I/O errors.
pub fn gpt_disk(disk: &Path, volumes: &[&Path], reserved: bool) {
    const BASIC: [u8; 16] = [
        0xA2, 0xA0, 0xD0, 0xEB, 0xE5, 0xB9, 0x33, 0x44, 0x87, 0xC0, 0x68, 0xB6, 0xB7, 0x26, 0x99,
        0xC7,
    ];
    const MSR: [u8; 16] = [
        0x16, 0xE3, 0xC9, 0xE3, 0x5C, 0x0B, 0xB8, 0x4D, 0x81, 0x7D, 0xF9, 0x2D, 0xF0, 0x02, 0x15,
        0xAE,
    ];
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .read(true)
        .open(disk)
        .expect("create disk");
    let mut entries = vec![0u8; 128 * 128];
    let mut at = FIRST_SECTOR;
    let mut slot = 0usize;
    let mut add = |entries: &mut Vec<u8>, kind: &[u8; 16], first: u64, sectors: u64, name: &str| {
        let e = &mut entries[slot * 128..slot * 128 + 128];
        e[..16].copy_from_slice(kind);
        e[16] = u8::try_from(slot + 1).unwrap_or(0);
        e[32..40].copy_from_slice(&first.to_le_bytes());
        e[40..48].copy_from_slice(&(first + sectors - 1).to_le_bytes());
        for (i, u) in name.encode_utf16().take(36).enumerate() {
            e[56 + 2 * i..58 + 2 * i].copy_from_slice(&u.to_le_bytes());
        }
        slot += 1;
    };
    if reserved {
        add(&mut entries, &MSR, at, 2048, "Microsoft reserved partition");
        at += 2048;
    }
    for v in volumes {
        let sectors = std::fs::metadata(v).expect("volume").len() / 512;
        add(&mut entries, &BASIC, at, sectors, "Basic data partition");
        copy_volume(&mut f, v, at * 512);
        at += sectors.div_ceil(2048) * 2048;
    }
    let last_usable = at + 2048 - 34;
    let total = at + 2048;
    let entries_crc = crc32(&entries);
    let header = |current: u64, backup: u64, table: u64| {
        let mut h = vec![0u8; 92];
        h[..8].copy_from_slice(b"EFI PART");
        h[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
        h[12..16].copy_from_slice(&92u32.to_le_bytes());
        h[24..32].copy_from_slice(&current.to_le_bytes());
        h[32..40].copy_from_slice(&backup.to_le_bytes());
        h[40..48].copy_from_slice(&34u64.to_le_bytes());
        h[48..56].copy_from_slice(&last_usable.to_le_bytes());
        h[56..72].copy_from_slice(b"ferret-test-disk");
        h[72..80].copy_from_slice(&table.to_le_bytes());
        h[80..84].copy_from_slice(&128u32.to_le_bytes());
        h[84..88].copy_from_slice(&128u32.to_le_bytes());
        h[88..92].copy_from_slice(&entries_crc.to_le_bytes());
        let crc = crc32(&h);
        h[16..20].copy_from_slice(&crc.to_le_bytes());
        h
    };
    let mut mbr = vec![0u8; 512];
    mbr_entry(&mut mbr, 0, 0xEE, 1, (total - 1).min(u64::from(u32::MAX)));
    let writes: [(u64, Vec<u8>); 5] = [
        (0, mbr),
        (512, header(1, total - 1, 2)),
        (1024, entries.clone()),
        ((total - 33) * 512, entries),
        ((total - 1) * 512, header(total - 1, 1, total - 33)),
    ];
    for (off, data) in writes {
        f.seek(SeekFrom::Start(off)).expect("seek");
        f.write_all(&data).expect("write");
    }
    f.set_len(total * 512).expect("size disk");
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc32_check_value() {
        assert_eq!(super::crc32(b"123456789"), 0xCBF4_3926);
    }
}
