//! The file version of a PE file from its `VS_VERSIONINFO` resource, found by its layout rather
//! than by walking the resource tree: the UTF-16 key `VS_VERSION_INFO` followed, on a 32-bit
//! boundary, by the `VS_FIXEDFILEINFO` structure whose signature is `0xFEEF04BD`. Safe on any
//! input: bounds are checked and nothing is trusted beyond the bytes read.

/// `VS_FIXEDFILEINFO.dwSignature`.
const SIGNATURE: u32 = 0xFEEF_04BD;

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([*s.first()?, *s.get(1)?, *s.get(2)?, *s.get(3)?]))
}

/// The file version (`a.b.c.d`) of a PE image, or `None` when it is not a PE file or has no
/// version resource.
pub fn file_version(data: &[u8]) -> Option<String> {
    if !data.starts_with(b"MZ") {
        return None;
    }
    let key: Vec<u8> = "VS_VERSION_INFO".encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut from = 0;
    while let Some(pos) = data.get(from..)?.windows(key.len()).position(|w| w == key.as_slice()) {
        let start = from + pos + key.len();
        // The key's NUL terminator and padding, then the structure: look a few words ahead.
        for skip in (0..=8).step_by(2) {
            let at = start + skip;
            if u32_at(data, at) == Some(SIGNATURE) {
                let ms = u32_at(data, at + 8)?;
                let ls = u32_at(data, at + 12)?;
                return Some(format!("{}.{}.{}.{}", ms >> 16, ms & 0xFFFF, ls >> 16, ls & 0xFFFF));
            }
        }
        from = start;
    }
    None
}

/// A minimal PE-looking byte string with a version resource, for tests (built for this
/// crate's tests and with the `testkit` feature only).
#[cfg(any(test, feature = "testkit"))]
pub fn pe_with_version(version: [u16; 4], filler: &[u8]) -> Vec<u8> {
    let mut b = b"MZ".to_vec();
    b.extend_from_slice(filler);
    b.extend_from_slice(&[0x5C, 0x03, 0x34, 0x00, 0x00, 0x00]); // wLength, wValueLength, wType
    b.extend("VS_VERSION_INFO".encode_utf16().flat_map(u16::to_le_bytes));
    b.extend_from_slice(&[0, 0, 0, 0]); // terminator and padding
    b.extend_from_slice(&SIGNATURE.to_le_bytes());
    b.extend_from_slice(&0x0001_0000u32.to_le_bytes());
    let ms = (u32::from(version[0]) << 16) | u32::from(version[1]);
    let ls = (u32::from(version[2]) << 16) | u32::from(version[3]);
    b.extend_from_slice(&ms.to_le_bytes());
    b.extend_from_slice(&ls.to_le_bytes());
    b.extend_from_slice(&[0; 36]);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        let pe = pe_with_version([2019, 4, 5200, 9083], b"junk");
        assert_eq!(file_version(&pe).as_deref(), Some("2019.4.5200.9083"));
        assert_eq!(file_version(b"MZ"), None);
        assert_eq!(file_version(b"not a pe"), None);
        let mut cut = pe.clone();
        cut.truncate(pe.len() - 50);
        assert_eq!(file_version(&cut), None);
    }
}
