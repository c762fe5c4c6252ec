//! Positional, shared reading of an image: [`ReadAt`] (many threads read one image without
//! a shared cursor), the image file itself ([`ImageFile`]) and a window onto part of it
//! ([`Slice`], a partition).

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Arc;

/// Positional reads: `read_at` never moves a shared cursor, so one image serves every
/// scanning thread.
pub trait ReadAt: Send + Sync {
    /// Reads up to `buf.len()` bytes at `offset`; 0 at or past the end.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// The size in bytes.
    fn size(&self) -> u64;
}

/// Fills `buf` from `offset`, or fails with `UnexpectedEof` when the data ends first.
pub fn read_exact_at(r: &dyn ReadAt, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match r.read_at(buf, offset) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the data ends before offset {offset}"),
                ));
            }
            Ok(n) => {
                buf = buf.get_mut(n..).unwrap_or_default();
                offset = offset.saturating_add(n as u64);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// An image file, opened read-only through `ferret_fs::open_read_only`.
#[derive(Debug)]
pub struct ImageFile {
    file: File,
    size: u64,
}

impl ImageFile {
    /// Opens `path` read-only (a regular file only: never a FIFO, socket or device).
    pub fn open(path: &Path) -> Result<ImageFile, ferret_fs::OpenError> {
        let (file, meta) = ferret_fs::open_read_only(path)?;
        Ok(ImageFile { file, size: meta.len() })
    }
}

impl ReadAt for ImageFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        if offset >= self.size {
            return Ok(0);
        }
        let room = usize::try_from(self.size - offset).unwrap_or(usize::MAX);
        let len = buf.len().min(room);
        self.file.read_at(buf.get_mut(..len).unwrap_or_default(), offset)
    }

    fn size(&self) -> u64 {
        self.size
    }
}

impl ReadAt for Vec<u8> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let Ok(start) = usize::try_from(offset) else { return Ok(0) };
        let Some(src) = self.get(start..) else { return Ok(0) };
        let n = src.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), src.get(..n)) {
            dst.copy_from_slice(src);
        }
        Ok(n)
    }

    fn size(&self) -> u64 {
        self.len() as u64
    }
}

/// A window `[start, start + len)` onto another reader (a partition of a disk). Reads past
/// the window's end, or past the end of what lies under it, return what there is.
#[derive(Clone)]
pub struct Slice {
    inner: Arc<dyn ReadAt>,
    start: u64,
    len: u64,
}

impl Slice {
    /// A window onto `inner`; `len` is clamped to what `inner` holds past `start`.
    pub fn new(inner: Arc<dyn ReadAt>, start: u64, len: u64) -> Slice {
        let len = len.min(inner.size().saturating_sub(start));
        Slice { inner, start, len }
    }
}

impl ReadAt for Slice {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let room = usize::try_from(self.len - offset).unwrap_or(usize::MAX);
        let len = buf.len().min(room);
        self.inner.read_at(buf.get_mut(..len).unwrap_or_default(), self.start + offset)
    }

    fn size(&self) -> u64 {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_clamps_and_reads_exactly() {
        let disk: Arc<dyn ReadAt> = Arc::new((0u8..=255).collect::<Vec<u8>>());
        let part = Slice::new(disk, 250, 100);
        assert_eq!(part.size(), 6, "clamped to what the disk holds");
        let mut buf = [0u8; 4];
        read_exact_at(&part, &mut buf, 2).unwrap();
        assert_eq!(buf, [252, 253, 254, 255]);
        let err = read_exact_at(&part, &mut buf, 4).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
