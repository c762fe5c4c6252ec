//! LZNT1, the compression of NTFS compressed files (`[MS-XCA]` section 2.5, published by
//! Microsoft). A compressed stream is a run of chunks, each a 2-byte header and at most
//! 4,096 bytes of output; a chunk is stored or holds groups of a flag byte and eight
//! tokens (a literal byte, or a 2-byte back-reference whose split between offset and
//! length depends on how much of the chunk has been written).
//!
//! Hostile input never panics and never writes past `limit`: a reference before the
//! chunk's start, a chunk longer than its header says, or a truncated token is an error.

/// The output size of a whole chunk.
const CHUNK: usize = 4096;

/// Why compressed data could not be decompressed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Lznt1Error {
    /// A back-reference points before the start of its chunk.
    #[error("lznt1: back-reference before the start of the chunk at input offset {0}")]
    BadReference(usize),
    /// A chunk header promises more bytes than there are.
    #[error("lznt1: chunk at input offset {0} is truncated")]
    Truncated(usize),
}

/// Decompresses `input` onto the end of `out`, writing at most `limit` bytes; stops at an
/// end marker (a zero chunk header), at the end of `input`, or at `limit`.
pub fn decompress(input: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), Lznt1Error> {
    let base = out.len();
    let mut at = 0usize;
    while at + 2 <= input.len() && out.len() - base < limit {
        let header = u16::from_le_bytes([
            input.get(at).copied().unwrap_or(0),
            input.get(at + 1).copied().unwrap_or(0),
        ]);
        if header == 0 {
            break;
        }
        let size = usize::from(header & 0x0FFF) + 1;
        let compressed = header & 0x8000 != 0;
        let start = at + 2;
        let Some(data) = input.get(start..start + size) else {
            return Err(Lznt1Error::Truncated(at));
        };
        let room = limit - (out.len() - base);
        if compressed {
            chunk(data, out, room.min(CHUNK), at)?;
        } else {
            out.extend_from_slice(data.get(..room.min(data.len())).unwrap_or_default());
        }
        at = start + size;
    }
    Ok(())
}

/// One compressed chunk, appended to `out` (at most `room` bytes).
fn chunk(data: &[u8], out: &mut Vec<u8>, room: usize, at: usize) -> Result<(), Lznt1Error> {
    let chunk_start = out.len();
    let mut i = 0usize;
    while i < data.len() {
        let Some(&flags) = data.get(i) else { break };
        i += 1;
        for bit in 0..8 {
            if i >= data.len() || out.len() - chunk_start >= room {
                return Ok(());
            }
            if flags & (1 << bit) == 0 {
                out.push(data.get(i).copied().unwrap_or(0));
                i += 1;
                continue;
            }
            let (Some(&lo), Some(&hi)) = (data.get(i), data.get(i + 1)) else {
                return Err(Lznt1Error::Truncated(at));
            };
            i += 2;
            let token = u16::from_le_bytes([lo, hi]);
            let pos = out.len() - chunk_start;
            let (len_mask, shift) = split(pos);
            let length = usize::from(token & len_mask) + 3;
            let offset = usize::from(token >> shift) + 1;
            if offset > pos {
                return Err(Lznt1Error::BadReference(at));
            }
            for _ in 0..length {
                if out.len() - chunk_start >= room {
                    return Ok(());
                }
                let b = out.get(out.len() - offset).copied().unwrap_or(0);
                out.push(b);
            }
        }
    }
    Ok(())
}

/// The length mask and offset shift of a back-reference written at `pos` bytes into a
/// chunk: the offset takes as many bits as `pos - 1` needs (at least 4), the length the rest.
fn split(pos: usize) -> (u16, u32) {
    let mut len_mask: u16 = 0x0FFF;
    let mut shift = 12u32;
    let mut p = pos.saturating_sub(1);
    while p >= 0x10 {
        len_mask >>= 1;
        shift -= 1;
        p >>= 1;
    }
    (len_mask, shift)
}

/// A plain LZNT1 compressor (greedy longest match), for tests and fixtures only: it lets
/// the decompressor be checked against data whose original is known.
#[cfg(test)]
#[expect(
    clippy::cast_possible_truncation,
    reason = "chunk sizes and tokens fit 16 bits by construction"
)]
pub(crate) fn compress(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for block in data.chunks(CHUNK) {
        let mut body = Vec::new();
        let mut pos = 0usize;
        while pos < block.len() {
            let flag_at = body.len();
            body.push(0u8);
            for bit in 0..8 {
                if pos >= block.len() {
                    break;
                }
                let (len_mask, shift) = split(pos);
                let max_len = usize::from(len_mask) + 3;
                let max_off = (usize::from(u16::MAX >> shift) + 1).min(pos);
                let mut best = (0usize, 0usize);
                for off in 1..=max_off {
                    let mut l = 0;
                    while l < max_len
                        && pos + l < block.len()
                        && block[pos + l - off] == block[pos + l]
                    {
                        l += 1;
                    }
                    if l > best.0 {
                        best = (l, off);
                    }
                }
                if best.0 >= 3 {
                    let token = (((best.1 - 1) as u16) << shift) | ((best.0 - 3) as u16);
                    body.extend_from_slice(&token.to_le_bytes());
                    body[flag_at] |= 1 << bit;
                    pos += best.0;
                } else {
                    body.push(block[pos]);
                    pos += 1;
                }
            }
        }
        if body.len() >= block.len() {
            // Incompressible: a stored chunk.
            out.extend_from_slice(&(0x3000u16 | (block.len() as u16 - 1)).to_le_bytes());
            out.extend_from_slice(block);
        } else {
            out.extend_from_slice(&(0xB000u16 | (body.len() as u16 - 1)).to_le_bytes());
            out.extend_from_slice(&body);
        }
    }
    out
}

#[cfg(test)]
#[expect(clippy::cast_possible_truncation, reason = "test chunks are a few bytes")]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn stored_and_compressed_chunks() {
        // A stored chunk of 3 bytes, then a compressed one: "abc" and a reference of
        // length 6 at offset 3 ("abcabc"), then the end marker.
        let mut input = vec![0x02, 0x30, b'x', b'y', b'z'];
        let token: u16 = (2 << 12) | 3; // pos 3: 4 offset bits, offset 3, length 6
        let body =
            [0b0000_1000u8, b'a', b'b', b'c', token.to_le_bytes()[0], token.to_le_bytes()[1]];
        input.extend_from_slice(&(0xB000u16 | (body.len() as u16 - 1)).to_le_bytes());
        input.extend_from_slice(&body);
        input.extend_from_slice(&[0, 0, 0xFF]);
        let mut out = Vec::new();
        decompress(&input, &mut out, 1 << 20).unwrap();
        assert_eq!(out, b"xyzabcabcabc");
    }

    #[test]
    fn reference_before_chunk_start_is_an_error() {
        let token: u16 = 5 << 12; // offset 6 at position 1
        let body = [0b10u8, b'a', token.to_le_bytes()[0], token.to_le_bytes()[1]];
        let mut input = (0xB000u16 | (body.len() as u16 - 1)).to_le_bytes().to_vec();
        input.extend_from_slice(&body);
        assert_eq!(decompress(&input, &mut Vec::new(), 4096), Err(Lznt1Error::BadReference(0)));
    }

    #[test]
    fn truncated_chunk_is_an_error_and_limit_holds() {
        assert_eq!(
            decompress(&[0x10, 0xB0, 1, 2], &mut Vec::new(), 10),
            Err(Lznt1Error::Truncated(0))
        );
        let packed = compress(&[7u8; 10_000]);
        let mut out = Vec::new();
        decompress(&packed, &mut out, 5000).unwrap();
        assert_eq!(out.len(), 5000);
    }

    #[test]
    fn round_trip_of_repetitive_text() {
        let text: Vec<u8> = b"<%@ Page Language=\"Jscript\"%><%eval(Request.Item[\"p\"]);%>\n"
            .iter()
            .copied()
            .cycle()
            .take(9000)
            .collect();
        let packed = compress(&text);
        assert!(packed.len() < text.len() / 4, "the sample compresses");
        let mut out = Vec::new();
        decompress(&packed, &mut out, text.len()).unwrap();
        assert_eq!(out, text);
    }

    proptest! {
        #[test]
        fn round_trips(data in proptest::collection::vec(0u8..4, 0..9000)) {
            let mut out = Vec::new();
            decompress(&compress(&data), &mut out, data.len()).unwrap();
            prop_assert_eq!(out, data);
        }

        #[test]
        fn never_panics(input in proptest::collection::vec(any::<u8>(), 0..6000), limit in 0usize..20_000) {
            let mut out = Vec::new();
            let _ = decompress(&input, &mut out, limit);
            prop_assert!(out.len() <= limit);
        }
    }
}
