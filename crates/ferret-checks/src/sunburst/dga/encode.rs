//! The implant's side of the SUNBURST DNS beacons, for tests and fixtures: [`encode_domain`]
//! and [`encode_status`] write the names the trojanized Orion would resolve, so the decoder
//! in [`super`] can be round-tripped. Built for this crate's tests and with the `testkit`
//! feature only (never part of the engine).

use super::{
    BASE32_ALPHABET, C2_SUBZONE, C2_ZONE, EPOCH_2010, FINAL_SEQ, ID_CHARS, LABEL_MAX, SPECIALS,
    SUBST_ALPHABET, Status, TICK_SECS, VictimId, region_for,
};

/// Domain names made only of these are substitution-encoded; others go to base32.
const PLAIN_CHARSET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz-_.";

/// Domain characters per fragment.
const FRAGMENT_MAX: usize = LABEL_MAX - ID_CHARS - 1;

/// The timestamp counts 19 bits of half hours.
const TICK_MASK: i64 = 0x7_FFFF;

/// The alphabet's symbol at `i` (callers pass an index reduced modulo the alphabet's length).
fn symbol(alphabet: &[u8], i: usize) -> char {
    char::from(alphabet.get(i).copied().unwrap_or(b'0'))
}

fn base36_char(n: u8) -> char {
    if n < 10 { char::from(b'0' + n) } else { char::from(b'a' + n - 10) }
}

/// A small deterministic generator standing in for the implant's `System.Random`.
#[derive(Debug, Clone)]
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }

    fn next(&mut self) -> u32 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as u32
    }

    /// A value in `lo..hi`.
    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.next() % (hi - lo)
    }
}

/// The implant's base32: bits least significant first; with `pad_random` the unused high bits
/// of the last character are random.
pub(super) fn base32_encode(bytes: &[u8], pad_random: Option<&mut Rng>) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &b in bytes {
        acc |= u32::from(b) << bits;
        bits += 8;
        while bits >= 5 {
            out.push(symbol(BASE32_ALPHABET, (acc & 31) as usize));
            acc >>= 5;
            bits -= 5;
        }
    }
    if bits > 0 {
        if let Some(rng) = pad_random {
            acc |= rng.next() << bits;
        }
        out.push(symbol(BASE32_ALPHABET, (acc & 31) as usize));
    }
    out
}

/// The implant's substitution encoding (random choice among the eight forms of a special
/// character).
pub(super) fn substitution_encode(domain: &str, rng: &mut Rng) -> String {
    let mut out = String::with_capacity(domain.len() * 2);
    for c in domain.bytes() {
        if let Some(special) = SPECIALS.iter().position(|&s| s == c) {
            let variant = rng.next() as usize % (SUBST_ALPHABET.len() / SPECIALS.len());
            out.push('0');
            out.push(symbol(SUBST_ALPHABET, special + variant * SPECIALS.len()));
        } else {
            // A character outside the table maps as index -1 would, as in the implant.
            let idx = SUBST_ALPHABET.iter().position(|&s| s == c).map_or(0, |i| i + 1);
            out.push(symbol(SUBST_ALPHABET, (idx + 3) % SUBST_ALPHABET.len()));
        }
    }
    out
}

/// The masked id (or data) label: random key byte (top bit = `fragment`), bytes XORed with it.
#[expect(clippy::cast_possible_truncation, reason = "the key is drawn in 1..127")]
fn masked(data: &[u8], fragment: bool, rng: &mut Rng) -> String {
    let mut key = rng.range(1, 127) as u8;
    if fragment {
        key |= 0x80;
    }
    let mut bytes = Vec::with_capacity(data.len() + 1);
    bytes.push(key);
    bytes.extend(data.iter().map(|b| b ^ key));
    base32_encode(&bytes, Some(rng))
}

fn beacon_name(label: &str, victim: VictimId) -> String {
    format!("{label}.{C2_SUBZONE}.{}.{C2_ZONE}", region_for(&victim))
}

/// The domain-fragment query names the implant resolves, in order, for `domain` on the host
/// with id `victim`. `seed` drives the random choices (key bytes, padding bits, special
/// character forms).
pub fn encode_domain(victim: &VictimId, domain: &str, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    let encoded = if domain.bytes().all(|c| PLAIN_CHARSET.contains(&c)) {
        substitution_encode(domain, &mut rng)
    } else {
        format!("00{}", base32_encode(domain.as_bytes(), None))
    };
    let encoded = encoded.as_bytes();
    let mut names = Vec::new();
    let mut offset = 0usize;
    let mut count: i32 = 0;
    while offset < encoded.len() && count <= 36 {
        let id = masked(victim, true, &mut rng);
        let take = FRAGMENT_MAX.min(encoded.len() - offset);
        let mut chunk =
            String::from_utf8_lossy(encoded.get(offset..offset + take).unwrap_or_default())
                .into_owned();
        offset += take;
        if chunk.ends_with(['-', '_', '0']) {
            if take == FRAGMENT_MAX {
                offset -= 1;
                chunk.pop();
            }
            chunk.push('0');
        }
        if offset >= encoded.len() || count > 36 {
            count = -1;
        }
        let first = id.bytes().next().unwrap_or(b'0');
        let n = u8::try_from(count).ok().filter(|&n| n < 36).unwrap_or(FINAL_SEQ);
        let seq_char = base36_char((n + first % 36) % 36);
        names.push(beacon_name(&format!("{id}{seq_char}{chunk}"), *victim));
        if count < 0 {
            break;
        }
        count += 1;
    }
    names
}

/// The status query name the implant resolves for `status` on the host with id `victim`
/// (the time is rounded down to the half hour; times before 2010 encode as 2010).
pub fn encode_status(victim: &VictimId, status: &Status, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let ticks = ((status.time - EPOCH_2010).max(0) / TICK_SECS) & TICK_MASK;
    let stamp = (ticks << 1) | i64::from(status.stage2);
    let size: u8 = if status.products.is_some() { 2 } else { 1 };
    let [_, _, _, _, _, b0, b1, b2] = stamp.to_be_bytes();
    let mut buf = Vec::with_capacity(13);
    buf.extend_from_slice(victim);
    buf.extend_from_slice(&[(b0 & 0x0F) | (size << 4), b1, b2]);
    if let Some(products) = status.products {
        let mut data = [0u8; 2];
        for (i, p) in products.iter().enumerate() {
            let bits = u8::from(p.stopped) | (u8::from(p.running) << 1);
            if let Some(d) = data.get_mut(usize::from(i < 4)) {
                *d |= bits << ((i % 4) * 2);
            }
        }
        buf.extend_from_slice(&data);
    }
    for i in 0..8 {
        let k = buf.get(10 - i % 2).copied().unwrap_or(0);
        if let Some(b) = buf.get_mut(i) {
            *b ^= k;
        }
    }
    beacon_name(&masked(&buf, false, &mut rng), *victim)
}
