//! Tar headers (v7, ustar, GNU long names, pax `path`/`size`), read from a stream without
//! trusting them: a header's checksum must hold, sizes are checked, long names are bounded.

use std::io::{self, Read};

/// The longest GNU long name or pax header read (bytes).
const MAX_META: u64 = 1 << 20;

/// What a tar member is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TarKind {
    File,
    Dir,
    /// A link, device, FIFO: no data of its own.
    Other,
    /// A GNU sparse file (its map is not read).
    Sparse,
}

/// One member: its name, kind, size and where its data starts in the (decompressed) stream.
#[derive(Clone, Debug)]
pub(crate) struct TarMember {
    pub name: Vec<u8>,
    pub kind: TarKind,
    pub size: u64,
    pub offset: u64,
}

/// A stream that counts what was read and stops past a limit.
pub(crate) struct Counted<R> {
    inner: R,
    pub pos: u64,
    limit: u64,
}

impl<R: Read> Counted<R> {
    pub(crate) fn new(inner: R, limit: u64) -> Counted<R> {
        Counted { inner, pos: 0, limit }
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.limit {
            return Err(io::Error::other(format!(
                "decompressed more than {} bytes: stopped there (a decompression bomb?)",
                self.limit
            )));
        }
        let n = self.inner.read(buf)?;
        self.pos = self.pos.saturating_add(n as u64);
        Ok(n)
    }
}

fn octal(field: &[u8]) -> Option<u64> {
    // GNU base-256 for large values: high bit set on the first byte.
    if let Some(&first) = field.first()
        && first & 0x80 != 0
    {
        let mut v: u64 = u64::from(first & 0x7f);
        for &b in field.get(1..)? {
            v = v.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(v);
    }
    let mut v: u64 = 0;
    let mut digits = 0;
    for &b in field.iter().skip_while(|b| **b == b' ' || **b == 0) {
        match b {
            b'0'..=b'7' => {
                v = v.checked_mul(8)?.checked_add(u64::from(b - b'0'))?;
                digits += 1;
            }
            b' ' | 0 => break,
            _ => return None,
        }
    }
    (digits > 0).then_some(v)
}

fn cstr(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    field.get(..end).unwrap_or_default()
}

/// Whether `block` (512 bytes) is a tar header with a correct checksum.
pub(crate) fn is_header(block: &[u8]) -> bool {
    block.len() >= 512 && !block.iter().all(|b| *b == 0) && checksum_ok(block)
}

fn checksum_ok(b: &[u8]) -> bool {
    let Some(stored) = b.get(148..156).and_then(octal) else { return false };
    let mut unsigned: u64 = 0;
    let mut signed: i64 = 0;
    for (i, &x) in b.iter().take(512).enumerate() {
        let x = if (148..156).contains(&i) { b' ' } else { x };
        unsigned += u64::from(x);
        signed += i64::from(x.cast_signed());
    }
    stored == unsigned || i64::try_from(stored).is_ok_and(|s| s == signed)
}

/// Reads members from a tar stream, calling `on` for each with a reader over its data
/// (whatever `on` leaves unread is skipped). `Ok(None)` at the end of the archive,
/// `Ok(Some(why))` when it stops early on damage (a truncated stream, a bad checksum).
pub(crate) fn walk<R: Read>(
    r: &mut Counted<R>,
    max_members: u64,
    on: &mut dyn FnMut(TarMember, &mut dyn Read) -> std::ops::ControlFlow<()>,
) -> io::Result<Option<String>> {
    let mut block = [0u8; 512];
    let mut long_name: Option<Vec<u8>> = None;
    let mut pax_path: Option<Vec<u8>> = None;
    let mut pax_size: Option<u64> = None;
    let mut count = 0u64;
    loop {
        let at = r.pos;
        match read_full(r, &mut block)? {
            0 => return Ok(Some("the archive ends without its end marker (truncated)".into())),
            512 => {}
            _ => return Ok(Some(format!("the archive ends inside a header at offset {at}"))),
        }
        if block.iter().all(|b| *b == 0) {
            return Ok(None);
        }
        if !checksum_ok(&block) {
            return Ok(Some(format!("a damaged header at offset {at} (bad checksum)")));
        }
        let Some(size) = octal(block.get(124..136).unwrap_or_default()) else {
            return Ok(Some(format!("a header at offset {at} with an unreadable size")));
        };
        let flag = block.get(156).copied().unwrap_or_default();
        let data_at = r.pos;
        let padded = size.div_ceil(512).saturating_mul(512);
        match flag {
            b'L' | b'x' => {
                if size > MAX_META {
                    return Ok(Some(format!("a {size}-byte name header at offset {at}")));
                }
                let mut meta = Vec::new();
                (&mut *r).take(size).read_to_end(&mut meta)?;
                if (meta.len() as u64) < size {
                    return Ok(Some("the archive ends inside a name header (truncated)".into()));
                }
                skip(r, padded - size)?;
                if flag == b'L' {
                    long_name = Some(cstr(&meta).to_vec());
                } else {
                    let (p, s) = pax(&meta);
                    pax_path = p.or(pax_path);
                    pax_size = s.or(pax_size);
                }
                continue;
            }
            b'g' | b'K' => {
                skip(r, padded)?;
                continue;
            }
            _ => {}
        }
        count += 1;
        if count > max_members {
            return Ok(Some(format!("more than {max_members} members; the rest were not listed")));
        }
        let size = pax_size.take().unwrap_or(size);
        let padded = size.div_ceil(512).saturating_mul(512);
        let name = pax_path.take().or_else(|| long_name.take()).unwrap_or_else(|| {
            let name = cstr(block.get(0..100).unwrap_or_default());
            let prefix = cstr(block.get(345..500).unwrap_or_default());
            if block.get(257..263) == Some(b"ustar\0") && !prefix.is_empty() {
                [prefix, b"/", name].concat()
            } else {
                name.to_vec()
            }
        });
        long_name = None;
        let kind = match flag {
            b'0' | 0 | b'7' if name.last() == Some(&b'/') => TarKind::Dir,
            b'0' | 0 | b'7' => TarKind::File,
            b'5' => TarKind::Dir,
            b'S' => TarKind::Sparse,
            _ => TarKind::Other,
        };
        // Links, devices and directories carry no data even when a size is written.
        let (size, padded) = if matches!(kind, TarKind::File | TarKind::Sparse) {
            (size, padded)
        } else {
            (0, if matches!(flag, b'1' | b'2' | b'3' | b'4' | b'5' | b'6') { 0 } else { padded })
        };
        let member = TarMember { name, kind, size, offset: data_at };
        let mut data = (&mut *r).take(size);
        let flow = on(member, &mut data);
        let left = data.limit();
        let skipped = io::copy(&mut data, &mut io::sink())?;
        if skipped < left {
            return Ok(Some("the archive ends inside a member's data (truncated)".into()));
        }
        skip(r, padded - size)?;
        if flow.is_break() {
            return Ok(None);
        }
    }
}

fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(buf.get_mut(n..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn skip<R: Read>(r: &mut R, n: u64) -> io::Result<()> {
    io::copy(&mut r.take(n), &mut io::sink())?;
    Ok(())
}

/// `path` and `size` of a pax extended header (`<len> <key>=<value>\n` records).
fn pax(meta: &[u8]) -> (Option<Vec<u8>>, Option<u64>) {
    let (mut path, mut size) = (None, None);
    let mut rest = meta;
    for _ in 0..10_000 {
        let Some(sp) = rest.iter().position(|b| *b == b' ') else { break };
        let Some(len) = std::str::from_utf8(rest.get(..sp).unwrap_or_default())
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
        else {
            break;
        };
        let Some(rec) = rest.get(sp + 1..len) else { break };
        let rec = rec.strip_suffix(b"\n").unwrap_or(rec);
        if let Some(v) = rec.strip_prefix(b"path=") {
            path = Some(v.to_vec());
        } else if let Some(v) = rec.strip_prefix(b"size=") {
            size = std::str::from_utf8(v).ok().and_then(|s| s.parse().ok());
        }
        rest = rest.get(len..).unwrap_or_default();
        if rest.is_empty() || len == 0 {
            break;
        }
    }
    (path, size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octal_fields() {
        assert_eq!(octal(b"0000644 \0"), Some(0o644));
        assert_eq!(octal(b"   12\0"), Some(0o12));
        assert_eq!(octal(b"\x80\0\0\0\0\0\0\x01\0"), Some(256));
        assert_eq!(octal(b"9"), None);
        assert_eq!(octal(b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"), None, "overflow");
        assert_eq!(
            pax(b"18 path=a/b/c.txt\n11 size=42\n"),
            (Some(b"a/b/c.txt".to_vec()), Some(42))
        );
    }
}
