//! Readers over members: a window onto the archive (stored members, plain tar) and a
//! decompressing reader that seeks by starting again (deflated zip members, members of a
//! tar.gz). Nothing is written anywhere; memory per open member is one decompressor.

use std::io::{self, Read, Seek, SeekFrom};

use crate::image::{ReadAt, Slice};

/// `Read + Seek` over a window of a [`ReadAt`].
pub(crate) struct SliceReader {
    slice: Slice,
    pos: u64,
}

impl SliceReader {
    pub(crate) fn new(slice: Slice) -> SliceReader {
        SliceReader { slice, pos: 0 }
    }
}

impl Read for SliceReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.slice.read_at(buf, self.pos)?;
        self.pos = self.pos.saturating_add(n as u64);
        Ok(n)
    }
}

impl Seek for SliceReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = seek_target(to, self.pos, self.slice.size())?;
        Ok(self.pos)
    }
}

fn seek_target(to: SeekFrom, pos: u64, len: u64) -> io::Result<u64> {
    let target = match to {
        SeekFrom::Start(n) => Some(n),
        SeekFrom::End(d) => len.checked_add_signed(d),
        SeekFrom::Current(d) => pos.checked_add_signed(d),
    };
    target.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))
}

/// Makes a fresh reader positioned at a member's first byte.
pub(crate) type Opener<'a> = Box<dyn Fn() -> io::Result<Box<dyn Read + Send + 'a>> + Send + 'a>;

/// A decompressed member: reads stream; a seek forward reads and drops, a seek backward
/// starts decompressing again. At most `len` bytes come out (the size the archive
/// declared), so a member that decompresses to more than it declared is cut there.
pub(crate) struct Restart<'a> {
    open: Opener<'a>,
    cur: Box<dyn Read + Send + 'a>,
    pos: u64,
    len: u64,
}

impl<'a> Restart<'a> {
    pub(crate) fn new(open: Opener<'a>, len: u64) -> io::Result<Restart<'a>> {
        let cur = open()?;
        Ok(Restart { open, cur, pos: 0, len })
    }
}

impl Read for Restart<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let room = usize::try_from(self.len.saturating_sub(self.pos)).unwrap_or(usize::MAX);
        let want = buf.len().min(room);
        if want == 0 {
            return Ok(0);
        }
        let n = self.cur.read(buf.get_mut(..want).unwrap_or_default())?;
        self.pos = self.pos.saturating_add(n as u64);
        Ok(n)
    }
}

impl Seek for Restart<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = seek_target(to, self.pos, self.len)?;
        if target < self.pos {
            self.cur = (self.open)()?;
            self.pos = 0;
        }
        let skip = target.min(self.len).saturating_sub(self.pos);
        let skipped = io::copy(&mut (&mut self.cur).take(skip), &mut io::sink())?;
        self.pos = self.pos.saturating_add(skipped);
        if skipped == skip {
            self.pos = target;
        }
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn restart_seeks_both_ways() {
        let data: Arc<Vec<u8>> = Arc::new((0u8..100).collect());
        let d = data.clone();
        let open: Opener<'_> = Box::new(move || Ok(Box::new(io::Cursor::new(d.to_vec())) as _));
        let mut r = Restart::new(open, 50).unwrap();
        let mut b = [0u8; 3];
        r.seek(SeekFrom::Start(40)).unwrap();
        r.read_exact(&mut b).unwrap();
        assert_eq!(b, [40, 41, 42]);
        r.seek(SeekFrom::Start(1)).unwrap();
        r.read_exact(&mut b).unwrap();
        assert_eq!(b, [1, 2, 3]);
        let mut rest = Vec::new();
        r.seek(SeekFrom::End(-2)).unwrap();
        r.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, [48, 49], "cut at the declared size");
    }
}
