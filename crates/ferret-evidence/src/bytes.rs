//! Little-endian fields read out of untrusted buffers: out of range reads give `None`,
//! never a panic.

pub(crate) fn u8_at(b: &[u8], at: usize) -> Option<u8> {
    b.get(at).copied()
}

pub(crate) fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes(s.try_into().ok()?))
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(s.try_into().ok()?))
}

pub(crate) fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(s.try_into().ok()?))
}

/// UTF-16LE text (unpaired surrogates become U+FFFD).
pub(crate) fn utf16_at(b: &[u8], at: usize, units: usize) -> Option<String> {
    let s = b.get(at..at.checked_add(units.checked_mul(2)?)?)?;
    let it = s.chunks_exact(2).map(|c| <[u8; 2]>::try_from(c).map_or(0xFFFD, u16::from_le_bytes));
    Some(char::decode_utf16(it).map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_is_none() {
        let b = [1u8, 2, 3];
        assert_eq!(u16_at(&b, 1), Some(0x0302));
        assert_eq!(u16_at(&b, 2), None);
        assert_eq!(u32_at(&b, 0), None);
        assert_eq!(u64_at(&b, usize::MAX), None);
        assert_eq!(utf16_at(&b, 0, usize::MAX), None);
        assert_eq!(utf16_at(&[b'a', 0, 0, 0xD8], 0, 2).as_deref(), Some("a\u{FFFD}"));
    }
}
