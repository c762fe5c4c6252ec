//! Directories held open by a walk, and what is reached relative to them.
//!
//! A walk that keeps each directory it lists open can take the metadata of an entry and open
//! it relative to that descriptor (`fstatat`, `openat`) instead of by its whole path: the
//! kernel does not walk the path again for every file, and an entry is always looked up in
//! the directory that was listed, even if a directory above it is renamed or replaced by a
//! symbolic link meanwhile. Directories are opened with `O_NOFOLLOW`: a component swapped
//! for a symbolic link is refused, never followed.

use std::ffi::OsStr;
use std::fs::{File, Metadata};
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{AtFlags, Mode, OFlags};

use crate::open::{EntryKind, OpenError, open_read_only_in};

/// The `lstat` of an entry: what a walk records of it, whether taken by path or relative to
/// its directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileStat {
    /// What it is.
    pub kind: EntryKind,
    /// Size in bytes.
    pub size: u64,
    /// Mode bits (type bits included, as `st_mode`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Device number, for device nodes.
    pub rdev: u64,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
    /// Inode number.
    pub ino: u64,
    /// Device holding it.
    pub dev: u64,
}

impl From<&Metadata> for FileStat {
    fn from(m: &Metadata) -> FileStat {
        use std::os::unix::fs::MetadataExt;
        FileStat {
            kind: EntryKind::of(m.file_type()),
            size: m.len(),
            mode: m.mode(),
            uid: m.uid(),
            gid: m.gid(),
            rdev: m.rdev(),
            mtime: m.mtime(),
            ino: m.ino(),
            dev: m.dev(),
        }
    }
}

fn kind_of(t: rustix::fs::FileType) -> Option<EntryKind> {
    use rustix::fs::FileType;
    Some(match t {
        FileType::RegularFile => EntryKind::File,
        FileType::Directory => EntryKind::Dir,
        FileType::Symlink => EntryKind::Symlink,
        FileType::Fifo => EntryKind::Fifo,
        FileType::Socket => EntryKind::Socket,
        FileType::CharacterDevice => EntryKind::CharDevice,
        FileType::BlockDevice => EntryKind::BlockDevice,
        FileType::Unknown => return None,
    })
}

impl From<&rustix::fs::Stat> for FileStat {
    fn from(s: &rustix::fs::Stat) -> FileStat {
        let kind =
            kind_of(rustix::fs::FileType::from_raw_mode(s.st_mode)).unwrap_or(EntryKind::Other);
        FileStat {
            kind,
            size: u64::try_from(s.st_size).unwrap_or(0),
            mode: s.st_mode,
            uid: s.st_uid,
            gid: s.st_gid,
            rdev: s.st_rdev,
            mtime: s.st_mtime,
            ino: s.st_ino,
            dev: s.st_dev,
        }
    }
}

/// Opens a directory to list it and to reach its entries relative to it: `name` inside
/// `parent`, or the path `name` when there is no parent. The final component is never
/// followed when `follow` is false (a directory replaced by a symbolic link is refused with
/// `ELOOP` or `ENOTDIR`), and nothing but a directory is opened (`O_DIRECTORY`: a FIFO or a
/// device put in its place is refused before any open of it).
pub fn open_dir(parent: Option<BorrowedFd<'_>>, name: &Path, follow: bool) -> io::Result<OwnedFd> {
    let mut flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOCTTY;
    if !follow {
        flags |= OFlags::NOFOLLOW;
    }
    let fd = match parent {
        Some(dir) => rustix::fs::openat(dir, name, flags, Mode::empty()),
        None => rustix::fs::open(name, flags, Mode::empty()),
    };
    Ok(fd?)
}

/// A name in a directory and its kind as the listing gives it (see [`list_dir`]).
pub type Listed = (Vec<u8>, Option<EntryKind>);

/// The names in an open directory (not `.` and `..`) with the kind of each as the directory
/// entry gives it (`None` where the file system does not say), in the order the file system
/// gives them, and the error that ended the listing early, if one did (the names read until
/// then are kept). The kind is a hint, true when listed: what an entry is when it is opened
/// is checked on the open descriptor.
pub fn list_dir(dir: BorrowedFd<'_>) -> (Vec<Listed>, Option<io::Error>) {
    // `getdents64` straight on the descriptor (no second descriptor for the listing): the
    // walk uses this one only for `*at` calls, which do not depend on its position.
    let mut buf = vec![std::mem::MaybeUninit::<u8>::uninit(); 32 * 1024];
    let mut listing = rustix::fs::RawDir::new(dir, &mut buf);
    let mut names = Vec::new();
    while let Some(entry) = listing.next() {
        match entry {
            Ok(e) => {
                let name = e.file_name().to_bytes();
                if name != b"." && name != b".." {
                    names.push((name.to_vec(), kind_of(e.file_type())));
                }
            }
            Err(e) => return (names, Some(e.into())),
        }
    }
    (names, None)
}

/// The `lstat` of `name` in `dir` (a final symbolic link is described, not followed).
pub fn lstat_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<FileStat> {
    let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(FileStat::from(&st))
}

/// [`crate::open_read_only`] for `name` in `dir`: the same flags (`O_NONBLOCK`,
/// `O_NOFOLLOW`, `O_NOCTTY`, `O_NOATIME` where permitted) and the same refusal of anything
/// that is not a regular file once open, without looking the directory's path up again.
pub fn open_read_only_at(dir: BorrowedFd<'_>, name: &OsStr) -> Result<(File, Metadata), OpenError> {
    open_read_only_in(dir, Path::new(name))
}

/// Raises this process's soft limit on open descriptors to its hard limit, up to `want` (a
/// walk that keeps directories open sizes its budget of descriptors on the limit). Where it
/// cannot be raised, the limit stays as it was.
pub fn raise_open_file_limit(want: u64) {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut lim = getrlimit(Resource::Nofile);
    let target = want.min(lim.maximum.unwrap_or(u64::MAX));
    if lim.current.is_some_and(|soft| soft < target) {
        lim.current = Some(target);
        let _ = setrlimit(Resource::Nofile, lim);
    }
}

/// The soft limit on open descriptors (`u64::MAX`: unlimited).
pub fn open_file_limit() -> u64 {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current.unwrap_or(u64::MAX)
}

#[cfg(test)]
#[expect(clippy::disallowed_methods, reason = "tests build their fixture trees")]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn lists_and_opens_relative_to_a_directory_and_refuses_what_open_read_only_refuses() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("f"), b"content").unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::os::unix::fs::symlink("f", d.path().join("l")).unwrap();
        let ok = std::process::Command::new("mkfifo").arg(d.path().join("p")).status();
        assert!(ok.unwrap().success());
        let dir = open_dir(None, d.path(), false).unwrap();
        let (mut names, err) = list_dir(dir.as_fd());
        assert!(err.is_none());
        names.sort();
        let want: Vec<Listed> = vec![
            (b"f".to_vec(), Some(EntryKind::File)),
            (b"l".to_vec(), Some(EntryKind::Symlink)),
            (b"p".to_vec(), Some(EntryKind::Fifo)),
            (b"sub".to_vec(), Some(EntryKind::Dir)),
        ];
        // (A file system that gives no kinds in its listing says `None`; ext4 and tmpfs do.)
        if names.iter().all(|(_, k)| k.is_some()) {
            assert_eq!(names, want);
        } else {
            assert_eq!(names.len(), 4);
        }
        let (mut f, m) = open_read_only_at(dir.as_fd(), OsStr::new("f")).unwrap();
        assert_eq!(m.len(), 7);
        let mut s = String::new();
        std::io::Read::read_to_string(&mut f, &mut s).unwrap();
        assert_eq!(s, "content");
        assert!(matches!(
            open_read_only_at(dir.as_fd(), OsStr::new("l")),
            Err(OpenError::Symlink(_))
        ));
        assert!(matches!(
            open_read_only_at(dir.as_fd(), OsStr::new("p")),
            Err(OpenError::NotRegular { kind: EntryKind::Fifo })
        ));
        assert!(matches!(
            open_read_only_at(dir.as_fd(), OsStr::new("gone")),
            Err(OpenError::Vanished(_))
        ));
        assert_eq!(lstat_at(dir.as_fd(), OsStr::new("l")).unwrap().kind, EntryKind::Symlink);
        assert_eq!(lstat_at(dir.as_fd(), OsStr::new("sub")).unwrap().kind, EntryKind::Dir);
        // A symlink is not followed as a directory below the root.
        assert!(open_dir(Some(dir.as_fd()), Path::new("l"), false).is_err());
        assert!(open_dir(Some(dir.as_fd()), Path::new("sub"), false).is_ok());
        assert!(open_dir(Some(dir.as_fd()), Path::new("p"), false).is_err(), "O_DIRECTORY");
    }
}
