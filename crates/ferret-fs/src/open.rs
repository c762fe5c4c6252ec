//! Safe read-only opening and bounded reading of examined files.

use std::fs::{File, FileType, Metadata};
use std::io::{self, Read};
use std::os::fd::BorrowedFd;
use std::path::Path;

/// What kind of filesystem object an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (not followed).
    Symlink,
    /// A named pipe: never opened (an open could block forever).
    Fifo,
    /// A Unix socket: never opened.
    Socket,
    /// A block device: never opened.
    BlockDevice,
    /// A character device: never opened.
    CharDevice,
    /// Anything else.
    Other,
}

impl EntryKind {
    /// The kind of a file type.
    pub fn of(ft: FileType) -> EntryKind {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if ft.is_fifo() {
                return EntryKind::Fifo;
            }
            if ft.is_socket() {
                return EntryKind::Socket;
            }
            if ft.is_block_device() {
                return EntryKind::BlockDevice;
            }
            if ft.is_char_device() {
                return EntryKind::CharDevice;
            }
        }
        if ft.is_symlink() {
            EntryKind::Symlink
        } else if ft.is_dir() {
            EntryKind::Dir
        } else if ft.is_file() {
            EntryKind::File
        } else {
            EntryKind::Other
        }
    }

    /// A short lowercase name (`file`, `dir`, `symlink`, `fifo`, `socket`, `block_device`,
    /// `char_device`, `other`), used as the skip reason for special files.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Dir => "dir",
            EntryKind::Symlink => "symlink",
            EntryKind::Fifo => "fifo",
            EntryKind::Socket => "socket",
            EntryKind::BlockDevice => "block_device",
            EntryKind::CharDevice => "char_device",
            EntryKind::Other => "other",
        }
    }
}

/// Why a file could not be opened for reading.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The object is not a regular file (found after opening without blocking).
    #[error("not a regular file ({})", kind.as_str())]
    NotRegular {
        /// What it is.
        kind: EntryKind,
    },
    /// Access denied.
    #[error("permission denied")]
    PermissionDenied(#[source] io::Error),
    /// The file is gone (deleted since it was listed).
    #[error("file vanished")]
    Vanished(#[source] io::Error),
    /// The final component is a symlink (it was replaced since it was listed).
    #[error("became a symbolic link; not followed")]
    Symlink(#[source] io::Error),
    /// Any other error.
    #[error("{0}")]
    Io(#[source] io::Error),
}

impl OpenError {
    fn from_io(e: io::Error) -> OpenError {
        match e.kind() {
            io::ErrorKind::PermissionDenied => OpenError::PermissionDenied(e),
            io::ErrorKind::NotFound => OpenError::Vanished(e),
            _ if e.raw_os_error() == Some(libc::ELOOP) => OpenError::Symlink(e),
            _ => OpenError::Io(e),
        }
    }
}

/// Opens an examined file read-only and returns it with its metadata (taken on the open
/// descriptor).
///
/// Uses `O_NONBLOCK` (a FIFO cannot block the open), `O_NOFOLLOW` (a final symlink is not
/// followed), `O_NOCTTY`, and `O_NOATIME` where permitted (the kernel allows it to the file's
/// owner and to root; otherwise the open is retried without it). Anything that is not a
/// regular file is refused after `fstat`.
pub fn open_read_only(path: &Path) -> Result<(File, Metadata), OpenError> {
    open_read_only_in(rustix::fs::CWD, path)
}

/// The one place that opens examined files: [`open_read_only`] for `path` relative to `dir`
/// (the working directory for [`rustix::fs::CWD`]).
pub(crate) fn open_read_only_in(
    dir: BorrowedFd<'_>,
    path: &Path,
) -> Result<(File, Metadata), OpenError> {
    use rustix::fs::{Mode, OFlags};
    let base =
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY;
    let fd = match rustix::fs::openat(dir, path, base | OFlags::NOATIME, Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::PERM) => rustix::fs::openat(dir, path, base, Mode::empty())
            .map_err(|e| OpenError::from_io(e.into()))?,
        Err(e) => return Err(OpenError::from_io(e.into())),
    };
    refuse_irregular(File::from(fd))
}

/// The file with its metadata (`fstat` on the open descriptor), or the refusal of anything
/// that is not a regular file.
fn refuse_irregular(file: File) -> Result<(File, Metadata), OpenError> {
    let meta = file.metadata().map_err(OpenError::Io)?;
    let kind = EntryKind::of(meta.file_type());
    if kind != EntryKind::File {
        return Err(OpenError::NotRegular { kind });
    }
    Ok((file, meta))
}

/// The result of [`read_limited`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadOutcome {
    /// Bytes now in the buffer.
    pub len: usize,
    /// The file grew past the limit while it was read (the buffer holds the first `limit`
    /// bytes).
    pub truncated: bool,
    /// Size, modification or change time differed after reading: the file changed while it
    /// was read.
    pub changed: bool,
}

pub(crate) fn stamp(m: &Metadata) -> (u64, i64, i64, i64, i64) {
    use std::os::unix::fs::MetadataExt;
    (m.len(), m.mtime(), m.mtime_nsec(), m.ctime(), m.ctime_nsec())
}

/// Reads `file` into `buf` (cleared first) up to `limit` bytes. `before` is the metadata
/// taken when the file was opened; it is compared with a fresh `fstat` afterwards.
pub fn read_limited(
    file: &mut File,
    before: &Metadata,
    buf: &mut Vec<u8>,
    limit: u64,
) -> io::Result<ReadOutcome> {
    buf.clear();
    let want = before.len().min(limit);
    buf.reserve(usize::try_from(want).unwrap_or(usize::MAX).saturating_add(1));
    let n = file.by_ref().take(limit.saturating_add(1)).read_to_end(buf)?;
    let truncated = n as u64 > limit;
    if truncated {
        buf.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    let after = file.metadata()?;
    let changed = truncated || stamp(before) != stamp(&after) || n as u64 != before.len();
    Ok(ReadOutcome { len: buf.len(), truncated, changed })
}

#[cfg(test)]
#[expect(clippy::disallowed_methods, reason = "tests build their fixture trees")]
mod tests {
    use super::*;

    #[test]
    fn refuses_fifo_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pipe");
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        // mkfifo through the shell keeps this crate free of unsafe code.
        let ok = std::process::Command::new("mkfifo").arg(&p).status().unwrap().success();
        assert!(ok, "mkfifo failed for {c:?}");
        match open_read_only(&p) {
            Err(OpenError::NotRegular { kind: EntryKind::Fifo }) => {}
            other => panic!("expected a refused fifo, got {other:?}"),
        }
    }

    #[test]
    fn does_not_follow_final_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t");
        std::fs::write(&target, b"x").unwrap();
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(matches!(open_read_only(&link), Err(OpenError::Symlink(_))));
    }

    #[test]
    fn reads_up_to_limit() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"0123456789").unwrap();
        let (mut f, m) = open_read_only(&p).unwrap();
        let mut buf = Vec::new();
        let out = read_limited(&mut f, &m, &mut buf, 4).unwrap();
        assert_eq!(&buf, b"0123");
        assert!(out.truncated);
        let (mut f, m) = open_read_only(&p).unwrap();
        let out = read_limited(&mut f, &m, &mut buf, 100).unwrap();
        assert_eq!(out, ReadOutcome { len: 10, truncated: false, changed: false });
    }

    #[test]
    fn vanished_file_is_reported_as_such() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(open_read_only(&dir.path().join("nope")), Err(OpenError::Vanished(_))));
    }
}
