//! Decoder (and, for tests, encoder) of the SUNBURST DNS beacons: the names
//! `<label>.appsync-api.<region>.avsvmcloud.com` the trojanized Orion business layer resolves.
//!
//! Every label starts with the victim's 8-byte user id, XOR-masked with a random key byte and
//! written in the implant's own base32 alphabet. Two kinds of message follow from there:
//!
//! * **domain fragment** (key byte with its top bit set): 15 characters of masked id, one
//!   sequence character (fragment 0, 1, … or 35 for the last one, offset by the id's first
//!   character) and up to 16 characters of the victim's AD domain name, encoded either with a
//!   rotating substitution table (names made only of `0-9 a-z - _ .`) or, marked by a `00`
//!   prefix, as the UTF-8 bytes in base32;
//! * **status message** (top bit clear): the whole label is base32 of the masked id, a
//!   timestamp in half hours since 2010-01-01 UTC whose low bit is the "stage 2" flag (the
//!   implant accepts CNAME answers as new C2 hosts), and, in the longer form, two bits for each
//!   of eight security products (running / stopped by the implant).
//!
//! [`parse_query`] decodes one name, [`Reassembler`] groups queries by victim and rebuilds the
//! leaked domain, [`user_id`] and [`matches_host`] tell whether a query came from a given host.
//! The encoders (`encode::{encode_domain, encode_status}`, built for this crate's tests and
//! with the `testkit` feature only) reproduce the implant's output so tests can round-trip. Written from the published descriptions (FireEye/Mandiant, Microsoft, Prevasio,
//! RedDrip, Netresec, Cloudflare, Kaspersky); see `docs/sunburst-dns.md`.

use md5::Digest as _;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

/// The C2 zone of the first stage.
pub const C2_ZONE: &str = "avsvmcloud.com";
/// The label between the beacon label and the region.
pub const C2_SUBZONE: &str = "appsync-api";
/// The four regions, in the implant's order: a victim always uses `REGIONS[id[0] % 4]`.
pub const REGIONS: [&str; 4] = ["eu-west-1", "us-west-2", "us-east-1", "us-east-2"];
/// The security products whose state the long status message reports, in the implant's order.
pub const PRODUCTS: [&str; 8] = [
    "Windows Defender",
    "Windows Defender ATP",
    "Microsoft Defender for Identity (Azure ATP)",
    "Carbon Black",
    "CrowdStrike Falcon",
    "FireEye Endpoint Agent",
    "ESET",
    "F-Secure",
];

/// The implant's base32 alphabet (bits are taken least significant first).
const BASE32_ALPHABET: &[u8; 32] = b"ph2eifo3n5utg1j8d94qrvbmk0sal76c";
/// The substitution table: a character is replaced by the one four places to its right.
const SUBST_ALPHABET: &[u8; 35] = b"rq3gsalt6u1iyfzop572d49bnx8cvmkewhj";
/// Characters written as `0` plus a table character whose index modulo 4 selects them.
const SPECIALS: &[u8; 4] = b"0_-.";
/// Length of the masked id (9 bytes in base32).
const ID_CHARS: usize = 15;
/// Longest beacon label the implant writes.
const LABEL_MAX: usize = 32;
/// Sequence value of the last fragment.
const FINAL_SEQ: u8 = 35;
/// 2010-01-01T00:00:00Z, the epoch of the status timestamp, in Unix seconds.
const EPOCH_2010: i64 = 1_262_304_000;
/// The timestamp's unit: half an hour.
const TICK_SECS: i64 = 1800;
/// Suffix checked before anything else (lower case, no trailing dot).
const SUFFIX: &[u8] = b".avsvmcloud.com";

/// The 8-byte id the implant derives from the host (see [`user_id`]).
pub type VictimId = [u8; 8];

#[expect(clippy::cast_possible_truncation, reason = "alphabets are shorter than 256")]
#[expect(
    clippy::indexing_slicing,
    reason = "evaluated at compile time over the constant alphabets: a bad index is a build error"
)]
const fn reverse_table<const N: usize>(alphabet: &[u8; N]) -> [u8; 256] {
    let mut table = [0xFF; 256];
    let mut i = 0;
    while i < N {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
}

/// A reverse table's entry for `c` (`0xFF`: not in the alphabet).
fn rev(table: &[u8; 256], c: u8) -> u8 {
    table.get(usize::from(c)).copied().unwrap_or(0xFF)
}

static BASE32_REV: [u8; 256] = reverse_table(BASE32_ALPHABET);
static SUBST_REV: [u8; 256] = reverse_table(SUBST_ALPHABET);

/// One decoded beacon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The victim's user id (unmasked).
    pub victim: VictimId,
    /// The region label of the name (one of [`REGIONS`]).
    pub region: &'static str,
    /// Whether the region is the one the implant derives from the id (`REGIONS[id[0] % 4]`);
    /// false suggests a name that only looks like a beacon (a random or forged label).
    pub region_matches_id: bool,
    /// What the label carries.
    pub message: Message,
}

/// The two kinds of beacon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A piece of the victim's encoded AD domain name.
    Fragment(Fragment),
    /// A timestamp, the stage-2 flag and, optionally, the security-product states.
    Status(Status),
}

/// Position of a fragment in the encoded domain name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Seq {
    /// Fragment number `n` (0-based) of a name that continues.
    Index(u8),
    /// The last (or only) fragment.
    Final,
}

/// A domain-name fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// Where it goes.
    pub seq: Seq,
    /// The encoded characters, with the implant's trailing `0` padding removed; fragments in
    /// sequence order concatenate to the encoded name.
    pub payload: String,
}

impl Fragment {
    /// The fragment decoded on its own, as if it began the encoded name: right for fragment 0
    /// and for a single-fragment name, and for later substitution-encoded fragments (that
    /// encoding never splits a character across fragments); `None` when it does not decode.
    pub fn standalone_text(&self) -> Option<(String, Encoding)> {
        decode_payload(&self.payload)
    }
}

/// How the domain name was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Encoding {
    /// The substitution table (lower-case letters, digits, `-`, `_`, `.`).
    Substitution,
    /// `00` then base32 of the UTF-8 bytes (names with upper case or other characters).
    Base32,
}

/// What the implant reports of one security product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ProductState {
    /// The product's processes or services were found.
    pub running: bool,
    /// The implant disabled the product's services (set them to start "disabled").
    pub stopped: bool,
}

/// A status message.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Status {
    /// When the implant built the message (Unix seconds, UTC, rounded down to the half hour).
    pub time: i64,
    /// The stage-2 flag ("associated" mode: the implant was told to accept CNAME answers as
    /// new C2 hosts, i.e. the operators selected this victim).
    pub stage2: bool,
    /// The states of the [`PRODUCTS`], in order, when the message carries them; `None` for the
    /// short form (a ping with the timestamp only).
    pub products: Option<[ProductState; 8]>,
}

impl Status {
    /// Names of the products reported running.
    pub fn running(&self) -> Vec<&'static str> {
        self.products_where(|p| p.running)
    }

    /// Names of the products reported stopped by the implant.
    pub fn stopped(&self) -> Vec<&'static str> {
        self.products_where(|p| p.stopped)
    }

    fn products_where(&self, pick: impl Fn(&ProductState) -> bool) -> Vec<&'static str> {
        self.products.map_or_else(Vec::new, |states| {
            PRODUCTS.iter().zip(states.iter()).filter(|(_, s)| pick(s)).map(|(n, _)| *n).collect()
        })
    }
}

/// Decode one query name; `None` unless it is a well-formed SUNBURST beacon.
///
/// Case-insensitive, a trailing dot is accepted. Names outside `avsvmcloud.com` are rejected
/// by a suffix comparison before any allocation.
pub fn parse_query(name: &str) -> Option<Query> {
    let bytes = name.as_bytes();
    let bytes = bytes.strip_suffix(b".").unwrap_or(bytes);
    let (rest, suffix) = bytes.split_at_checked(bytes.len().checked_sub(SUFFIX.len())?)?;
    if !suffix.eq_ignore_ascii_case(SUFFIX) {
        return None;
    }
    let mut parts = rest.rsplitn(3, |&b| b == b'.');
    let region_label = parts.next()?;
    let subzone = parts.next()?;
    let label = parts.next()?;
    if !subzone.eq_ignore_ascii_case(C2_SUBZONE.as_bytes()) {
        return None;
    }
    let region =
        REGIONS.iter().copied().find(|r| region_label.eq_ignore_ascii_case(r.as_bytes()))?;
    if label.len() > LABEL_MAX || label.len() <= ID_CHARS {
        return None;
    }
    let mut buf = [0u8; LABEL_MAX];
    let lower = buf.get_mut(..label.len())?;
    lower.copy_from_slice(label);
    lower.make_ascii_lowercase();
    let lower: &[u8] = lower;

    let (id_chars, tail) = lower.split_at_checked(ID_CHARS)?;
    let mut head = [0u8; 9];
    if base32_decode_into(id_chars, &mut head)? != head.len() {
        return None;
    }
    let key = head[0];
    let message;
    let victim;
    if key & 0x80 != 0 {
        if !(1..=126).contains(&(key & 0x7F)) {
            return None;
        }
        let mut id = [0u8; 8];
        for (out, b) in id.iter_mut().zip(&head[1..]) {
            *out = b ^ key;
        }
        victim = id;
        let (&seq_char, payload) = tail.split_first()?;
        let seq_value = base36_value(seq_char)?;
        let first = id_chars.first().copied()?;
        let seq = (seq_value + 36 - first % 36) % 36;
        let seq = if seq == FINAL_SEQ { Seq::Final } else { Seq::Index(seq) };
        if payload.is_empty() || !payload.iter().all(|&c| c == b'0' || rev(&SUBST_REV, c) != 0xFF) {
            return None;
        }
        let payload = payload.strip_suffix(b"0").unwrap_or(payload);
        if payload.is_empty() {
            return None;
        }
        message = Message::Fragment(Fragment {
            seq,
            payload: String::from_utf8_lossy(payload).into_owned(),
        });
    } else {
        let (size, data_len) = match lower.len() {
            20 => (1, 0),
            23 => (2, 2),
            _ => return None,
        };
        if !(1..=126).contains(&key) {
            return None;
        }
        let mut raw = [0u8; 14];
        let total = 12 + data_len;
        let raw = raw.get_mut(..total)?;
        if base32_decode_into(lower, raw)? != total {
            return None;
        }
        let mut plain = [0u8; 13];
        for (out, b) in plain.iter_mut().zip(raw.get(1..)?) {
            *out = b ^ key;
        }
        if plain[8] >> 4 != size {
            return None;
        }
        let mut id = [0u8; 8];
        for (i, out) in id.iter_mut().enumerate() {
            *out = plain.get(i)? ^ plain.get(10 - i % 2)?;
        }
        victim = id;
        let stamp =
            (i64::from(plain[8] & 0x0F) << 16) | (i64::from(plain[9]) << 8) | i64::from(plain[10]);
        let products = (data_len == 2).then(|| decode_products([plain[11], plain[12]]));
        message = Message::Status(Status {
            time: EPOCH_2010 + (stamp >> 1) * TICK_SECS,
            stage2: stamp & 1 == 1,
            products,
        });
    }
    Some(Query { victim, region, region_matches_id: region_for(&victim) == region, message })
}

/// Find and decode a beacon name anywhere in a log line: dotted (`a.b.avsvmcloud.com`, as in
/// BIND, dnsmasq, Zeek or Sysmon logs) or in the Windows DNS debug-log form
/// (`(32)…(11)appsync-api(9)us-east-1(10)avsvmcloud(3)com(0)`). Lines without the zone name are
/// rejected by a byte search before any allocation.
pub fn find_in_line(line: &str) -> Option<Query> {
    let bytes = line.as_bytes();
    let at = bytes.windows(10).position(|w| w.eq_ignore_ascii_case(b"avsvmcloud"))?;
    let is_name =
        |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'(' | b')');
    let start = bytes.get(..at)?.iter().rposition(|b| !is_name(b)).map_or(0, |p| p + 1);
    let end = bytes.get(at..)?.iter().position(|b| !is_name(b)).map_or(bytes.len(), |p| at + p);
    let token = line.get(start..end)?;
    if token.contains('(') {
        let mut dotted = String::with_capacity(token.len());
        for label in token.split(['(', ')']) {
            if label.is_empty() || label.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            if !dotted.is_empty() {
                dotted.push('.');
            }
            dotted.push_str(label);
        }
        parse_query(&dotted)
    } else {
        parse_query(token)
    }
}

/// The region the implant uses for a victim id.
pub fn region_for(victim: &VictimId) -> &'static str {
    REGIONS.get(usize::from(victim[0] % 4)).copied().unwrap_or_default()
}

fn base36_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'z' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Decode implant base32 into `out`; returns the number of whole bytes written (extra input
/// is ignored once `out` is full, leftover bits are dropped), `None` on a foreign character.
fn base32_decode_into(chars: &[u8], out: &mut [u8]) -> Option<usize> {
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut n = 0;
    for &c in chars {
        let v = rev(&BASE32_REV, c);
        if v == 0xFF {
            return None;
        }
        acc |= u32::from(v) << bits;
        bits += 5;
        if bits >= 8 {
            if let Some(slot) = out.get_mut(n) {
                *slot = (acc & 0xFF) as u8;
                n += 1;
            }
            acc >>= 8;
            bits -= 8;
        }
    }
    Some(n)
}

/// Whether `chars` is exactly what the implant writes for some byte string: no character
/// more than needed and zero padding bits.
fn base32_is_canonical(chars: &[u8]) -> bool {
    let bytes = chars.len() * 5 / 8;
    if chars.len() != (bytes * 8).div_ceil(5) {
        return false;
    }
    let spare = chars.len() * 5 - bytes * 8;
    chars.last().is_none_or(|&c| {
        let v = rev(&BASE32_REV, c);
        v != 0xFF && (spare == 0 || v >> (5 - spare) == 0)
    })
}

fn base32_decode(chars: &[u8]) -> Option<Vec<u8>> {
    let mut out = vec![0u8; chars.len() * 5 / 8];
    let n = base32_decode_into(chars, &mut out)?;
    out.truncate(n);
    Some(out)
}

/// Decode the substitution encoding; a dangling `0` at the end (a cut name) is dropped.
fn substitution_decode(chars: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(chars.len());
    let mut it = chars.iter();
    while let Some(&c) = it.next() {
        if c == b'0' {
            let Some(&next) = it.next() else { break };
            let idx = rev(&SUBST_REV, next);
            if idx == 0xFF {
                return None;
            }
            out.push(char::from(*SPECIALS.get(usize::from(idx % 4))?));
        } else {
            let idx = rev(&SUBST_REV, c);
            if idx == 0xFF {
                return None;
            }
            let n = SUBST_ALPHABET.len();
            out.push(char::from(*SUBST_ALPHABET.get((usize::from(idx) + n - 4) % n)?));
        }
    }
    Some(out)
}

/// Decode an encoded name (or its beginning): `00` then base32, else substitution.
fn decode_payload(payload: &str) -> Option<(String, Encoding)> {
    if let Some(b32) = payload.strip_prefix("00") {
        let bytes = base32_decode(b32.as_bytes())?;
        Some((String::from_utf8_lossy(&bytes).into_owned(), Encoding::Base32))
    } else {
        Some((substitution_decode(payload.as_bytes())?, Encoding::Substitution))
    }
}

fn decode_products(data: [u8; 2]) -> [ProductState; 8] {
    let mut states = [ProductState::default(); 8];
    for (i, state) in states.iter_mut().enumerate() {
        // The first four products are in the second byte.
        let byte = data.get(usize::from(i < 4)).copied().unwrap_or(0);
        let bits = byte >> ((i % 4) * 2);
        *state = ProductState { stopped: bits & 1 != 0, running: bits & 2 != 0 };
    }
    states
}

// ---------------------------------------------------------------------------------------------
// Host matching

/// The user id the implant derives for a host: MD5 over the ASCII of the first up, non-loopback
/// interface's MAC address (12 upper-case hex digits, as .NET prints it), the AD domain name and
/// the `MachineGuid` registry value, concatenated; the 16-byte digest is folded to 8 bytes by
/// XORing its halves.
///
/// `mac` may be written with `:`/`-`/`.` separators and in any case; it is normalised. The
/// domain and GUID are used exactly as given (non-ASCII characters become `?`, as in the
/// implant); [`matches_host`] also tries common case variants.
pub fn user_id(mac: &str, domain: &str, machine_guid: &str) -> VictimId {
    let mut input = Vec::with_capacity(12 + domain.len() + machine_guid.len());
    input.extend(
        mac.chars()
            .filter(|c| !matches!(c, ':' | '-' | '.') && !c.is_whitespace())
            .flat_map(ascii_units)
            .map(|b| b.to_ascii_uppercase()),
    );
    input.extend(domain.chars().flat_map(ascii_units));
    input.extend(machine_guid.chars().flat_map(ascii_units));
    let digest: [u8; 16] = md5::Md5::digest(&input).into();
    let mut id = [0u8; 8];
    for (i, b) in digest.iter().enumerate() {
        if let Some(x) = id.get_mut(i % 8) {
            *x ^= b;
        }
    }
    id
}

/// .NET's ASCII encoding of one character: itself, or `?` per UTF-16 unit.
fn ascii_units(c: char) -> impl Iterator<Item = u8> {
    let (byte, count) = if c.is_ascii() { (c as u8, 1) } else { (b'?', c.len_utf16()) };
    std::iter::repeat_n(byte, count)
}

/// Whether `victim` is the id of a host with one of these MAC addresses, this AD domain and
/// this `MachineGuid`. The domain and the GUID are tried as given, in lower and in upper case
/// (the implant used them as Windows reported them).
pub fn matches_host(victim: &VictimId, macs: &[&str], domain: &str, machine_guid: &str) -> bool {
    let domains = [domain.to_owned(), domain.to_ascii_lowercase(), domain.to_ascii_uppercase()];
    let guids = [
        machine_guid.to_owned(),
        machine_guid.to_ascii_lowercase(),
        machine_guid.to_ascii_uppercase(),
    ];
    macs.iter()
        .any(|mac| domains.iter().any(|d| guids.iter().any(|g| user_id(mac, d, g) == *victim)))
}

// ---------------------------------------------------------------------------------------------
// Reassembly

/// Groups beacons by victim and rebuilds what they leaked.
#[derive(Debug, Default)]
pub struct Reassembler {
    victims: HashMap<VictimId, VictimState>,
}

#[derive(Debug, Default)]
struct VictimState {
    first_seen: Option<i64>,
    last_seen: Option<i64>,
    queries: usize,
    region_mismatches: usize,
    fragments: BTreeMap<u8, String>,
    last_fragment: Option<String>,
    statuses: BTreeSet<Status>,
}

/// What one victim's beacons tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VictimReport {
    /// The victim's user id.
    pub victim: VictimId,
    /// The leaked AD domain, complete or in part, if any fragment was seen.
    pub domain: Option<RecoveredDomain>,
    /// Earliest log time of a query (as given to [`Reassembler::push`]).
    pub first_seen: Option<i64>,
    /// Latest log time of a query.
    pub last_seen: Option<i64>,
    /// Number of queries.
    pub queries: usize,
    /// Queries whose region is not the one the implant derives from the id.
    pub region_mismatches: usize,
    /// The distinct status messages, oldest encoded time first.
    pub statuses: Vec<Status>,
}

impl VictimReport {
    /// Whether any status message carried the stage-2 flag.
    pub fn stage2(&self) -> bool {
        self.statuses.iter().any(|s| s.stage2)
    }

    /// The earliest encoded time of a stage-2 status message.
    pub fn stage2_since(&self) -> Option<i64> {
        self.statuses.iter().filter(|s| s.stage2).map(|s| s.time).min()
    }

    /// Products reported running in any status message.
    pub fn products_running(&self) -> Vec<&'static str> {
        self.products_where(|p| p.running)
    }

    /// Products reported stopped by the implant in any status message.
    pub fn products_stopped(&self) -> Vec<&'static str> {
        self.products_where(|p| p.stopped)
    }

    fn products_where(&self, pick: impl Fn(&ProductState) -> bool) -> Vec<&'static str> {
        PRODUCTS
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                self.statuses
                    .iter()
                    .filter_map(|s| s.products)
                    .any(|p| p.get(*i).is_some_and(&pick))
            })
            .map(|(_, n)| *n)
            .collect()
    }
}

/// A domain name rebuilt from fragments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveredDomain {
    /// The name; when partial, `…` stands where fragments are missing.
    pub name: String,
    /// Every fragment up to the last one was seen.
    pub complete: bool,
    /// The encoding, known when the start of the name (fragment 0, or a lone base32
    /// fragment) was seen; `None` otherwise, and the text is then decoded as substitution
    /// (garbage if the name was in base32).
    pub encoding: Option<Encoding>,
    /// Number of distinct fragments seen.
    pub fragments: usize,
}

impl Reassembler {
    /// An empty reassembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add one decoded query seen at `time` (Unix seconds, when the log has it).
    pub fn push(&mut self, time: Option<i64>, query: &Query) {
        let state = self.victims.entry(query.victim).or_default();
        state.queries += 1;
        if !query.region_matches_id {
            state.region_mismatches += 1;
        }
        if let Some(t) = time {
            state.first_seen = Some(state.first_seen.map_or(t, |f| f.min(t)));
            state.last_seen = Some(state.last_seen.map_or(t, |l| l.max(t)));
        }
        match &query.message {
            Message::Fragment(f) => match f.seq {
                Seq::Index(i) => {
                    state.fragments.entry(i).or_insert_with(|| f.payload.clone());
                }
                Seq::Final => {
                    state.last_fragment.get_or_insert_with(|| f.payload.clone());
                }
            },
            Message::Status(s) => {
                state.statuses.insert(s.clone());
            }
        }
    }

    /// Decode `name` and add it; returns whether it was a beacon.
    pub fn push_name(&mut self, time: Option<i64>, name: &str) -> bool {
        parse_query(name).map(|q| self.push(time, &q)).is_some()
    }

    /// Number of distinct victims seen.
    pub fn len(&self) -> usize {
        self.victims.len()
    }

    /// Whether no beacon was added.
    pub fn is_empty(&self) -> bool {
        self.victims.is_empty()
    }

    /// One report per victim, ordered by victim id.
    pub fn reports(&self) -> Vec<VictimReport> {
        let mut out: Vec<VictimReport> = self
            .victims
            .iter()
            .map(|(victim, s)| VictimReport {
                victim: *victim,
                domain: assemble(&s.fragments, s.last_fragment.as_deref()),
                first_seen: s.first_seen,
                last_seen: s.last_seen,
                queries: s.queries,
                region_mismatches: s.region_mismatches,
                statuses: s.statuses.iter().cloned().collect(),
            })
            .collect();
        out.sort_by_key(|r| r.victim);
        out
    }
}

/// Rebuild the name from the fragments seen.
fn assemble(fragments: &BTreeMap<u8, String>, last: Option<&str>) -> Option<RecoveredDomain> {
    let count = fragments.len() + usize::from(last.is_some());
    if fragments.is_empty() {
        let last = last?;
        let (name, encoding) = decode_payload(last)?;
        // A lone last fragment is a whole name unless it is the tail of a longer one whose
        // first fragments were not logged (a base32 one starts the name: `00`); it is taken
        // as whole when it looks like a domain.
        let complete = looks_like_domain(&name)
            && (encoding == Encoding::Substitution
                || base32_is_canonical(last.as_bytes().get(2..).unwrap_or_default()));
        let name = match (complete, encoding) {
            (true, _) => name,
            (false, Encoding::Substitution) => format!("…{name}"),
            (false, Encoding::Base32) => format!("{name}…"),
        };
        let encoding = (complete || encoding == Encoding::Base32).then_some(encoding);
        return Some(RecoveredDomain { name, complete, encoding, fragments: count });
    }
    let contiguous = fragments.keys().copied().zip(0u8..).all(|(k, want)| k == want);
    if contiguous && let Some(last) = last {
        let mut encoded: String = fragments.values().map(String::as_str).collect();
        encoded.push_str(last);
        let (name, encoding) = decode_payload(&encoded)?;
        // Fragments between the highest index seen and the last one may have been missed:
        // base32 shows it when the length or the padding bits do not add up, and a cut name
        // often lacks its dot.
        let complete = looks_like_domain(&name)
            && (encoding == Encoding::Substitution
                || base32_is_canonical(encoded.as_bytes().get(2..).unwrap_or_default()));
        let name = if complete { name } else { format!("{name}…") };
        return Some(RecoveredDomain {
            name,
            complete,
            encoding: Some(encoding),
            fragments: count,
        });
    }
    // Partial: decode each contiguous run of fragments; `…` marks what is missing.
    let base32 = fragments.get(&0).is_some_and(|f| f.starts_with("00"));
    let encoding = if base32 { Encoding::Base32 } else { Encoding::Substitution };
    let after_max = fragments.keys().next_back().map_or(0, |k| k.saturating_add(1));
    let mut pieces: Vec<(u8, &str)> = fragments.iter().map(|(k, v)| (*k, v.as_str())).collect();
    if let Some(last) = last {
        pieces.push((after_max, last));
    }
    let mut name = String::new();
    let mut run = String::new();
    let mut expected = 0u8;
    for (index, payload) in pieces {
        if index != expected {
            flush_run(&mut name, &run, encoding);
            run.clear();
            name.push('…');
        }
        run.push_str(payload);
        expected = index.saturating_add(1);
    }
    flush_run(&mut name, &run, encoding);
    if last.is_none() {
        name.push('…');
    }
    let encoding = fragments.contains_key(&0).then_some(encoding);
    Some(RecoveredDomain { name, complete: false, encoding, fragments: count })
}

/// An AD DNS domain has a dot after a first label of two characters or more.
fn looks_like_domain(name: &str) -> bool {
    name.find('.').is_some_and(|dot| dot >= 2)
}

/// Append the decoded text of a run of consecutive fragments. A base32 run decodes only from
/// the start of the name (bit alignment is lost after a gap); substitution runs always decode.
fn flush_run(name: &mut String, run: &str, encoding: Encoding) {
    if run.is_empty() || (encoding == Encoding::Base32 && !run.starts_with("00")) {
        return;
    }
    if let Some((text, _)) = decode_payload(run) {
        name.push_str(&text);
    }
}

/// Format Unix seconds as `YYYY-MM-DDTHH:MMZ` (UTC).
pub fn format_utc(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut s = String::with_capacity(17);
    let _ = write!(s, "{year:04}-{month:02}-{day:02}T{:02}:{:02}Z", secs / 3600, secs % 3600 / 60);
    s
}

/// Hex form of a victim id.
pub fn victim_hex(victim: &VictimId) -> String {
    victim.iter().fold(String::with_capacity(16), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(any(test, feature = "testkit"))]
pub mod encode;
#[cfg(any(test, feature = "testkit"))]
pub use encode::{encode_domain, encode_status};

#[cfg(test)]
mod tests;
