//! ferret-ioc: indicators of compromise as data — the model, the parsers and the matcher.
//!
//! An [`IocSet`] is filled from rule texts handed to it ([`IocSet::load`]) in one of the
//! community formats ([`IocFormat`]): signature-base/Loki hash and file-name IOC files, plain
//! hash lists, ClamAV `.hdb`/`.hsb`, STIX 2.1 bundles, OpenIOC 1.1 documents and MISP event
//! exports (a MISP feed's `manifest.json` is read by [`misp::feed_manifest`]). Problems
//! with single lines or entries are pushed as [`ferret_core::Problem`]s and loading goes on.
//! [`IocSet::match_file`] then evaluates every loaded indicator against the facts of one
//! file ([`FileFacts`]: its path bytes, size and the digests the set asked for through
//! [`IocSet::needs`]).
//!
//! This crate does no file-system I/O on examined files: the caller reads and hashes them.
//!
//! Matching rules, in short:
//! - hash indicators are looked up in hash maps keyed by fixed-size digests (O(1));
//! - file-name indicators are regexes compiled into `regex::bytes::RegexSet`s and matched
//!   against the full path bytes; like Loki they are case-sensitive unless the regex says
//!   `(?i)`, and a path separator in the regex (`\\` or `/`) matches either separator;
//! - compound indicators (STIX patterns, OpenIOC trees) are evaluated with three-valued
//!   logic: a term that cannot be decided (an unsupported object, a digest that was not
//!   computed) is *unknown*, and only a definite *true* reports a match.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

pub mod builtin;
mod expr;
mod hashlist;
pub mod intel;
mod loki;
pub mod misp;
mod names;
pub mod network;
mod openioc;
mod pathre;
mod stix;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use ferret_core::{Engine, Evidence, Problem, ProblemKind, RuleRef};

use expr::Expr;

/// The IOC file formats ferret reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IocFormat {
    /// signature-base/Loki hash IOCs: `hash;description` (MD5, SHA-1 or SHA-256 by length).
    LokiHash,
    /// signature-base/Loki file-name IOCs: `regex;score[;false-positive regex]`.
    LokiFilename,
    /// One hash a line, optional trailing text; other text lines become descriptions.
    HashList,
    /// ClamAV MD5 signatures: `md5:size:name`.
    ClamAvHdb,
    /// ClamAV SHA signatures: `sha1|sha256:size:name` (size may be `*`).
    ClamAvHsb,
    /// STIX 2.1 JSON bundle (or a single indicator object).
    Stix2,
    /// OpenIOC 1.1 XML document.
    OpenIoc,
    /// MISP JSON event export (`{"Event": …}`, a list of them, or `{"response": […]}`).
    Misp,
    /// A plain list of network indicators: one domain, IP address or URL a line.
    NetworkList,
}

impl IocFormat {
    /// Every format, in declaration order.
    pub const ALL: [IocFormat; 9] = [
        IocFormat::LokiHash,
        IocFormat::LokiFilename,
        IocFormat::HashList,
        IocFormat::ClamAvHdb,
        IocFormat::ClamAvHsb,
        IocFormat::Stix2,
        IocFormat::OpenIoc,
        IocFormat::Misp,
        IocFormat::NetworkList,
    ];

    /// The format named `name` as [`IocFormat::as_str`] writes it.
    pub fn parse(name: &str) -> Option<IocFormat> {
        IocFormat::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// A short lowercase name (`loki-hash`, `stix2`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            IocFormat::LokiHash => "loki-hash",
            IocFormat::LokiFilename => "loki-filename",
            IocFormat::HashList => "hash-list",
            IocFormat::ClamAvHdb => "clamav-hdb",
            IocFormat::ClamAvHsb => "clamav-hsb",
            IocFormat::Stix2 => "stix2",
            IocFormat::OpenIoc => "openioc",
            IocFormat::Misp => "misp",
            IocFormat::NetworkList => "network-list",
        }
    }
}

impl std::fmt::Display for IocFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Sniffs the format of a rule file from its name and content.
///
/// `None` means "not an IOC file this crate reads" (YARA files, C2 or keyword lists, …).
/// Rules, in order: `.hdb`/`.hsb` by extension; `.ioc` or an `<OpenIOC`/`<ioc` root;
/// content starting with `{"Event"`, `{"response"` or `[{"Event"` is a MISP event export;
/// `.json`/`.stix` or content starting with `{` that names a bundle or indicator; then
/// text: a Loki file-name list by content (every one of the first data lines is
/// `regex;score[;false-positive regex]` with an integer score, and one of the regexes looks
/// like a path: a `\\`, `/`, `\.` or an anchor), or by a name containing `filename`; a first data line
/// `hash;…` makes a Loki hash list; a first data line starting with a 32/40/64-hex-digit
/// token, or (for `.txt`/`.csv`/`.lst` files and names containing `hash`) any such line in
/// the first 8 KiB, makes a plain hash list. Names with a word `c2`, `keyword(s)`, `readme`, `ja3`,
/// `ipv4`, `ipv6`, `uri(s)` or `mitre` (network indicators, TLS fingerprints) are not file IOCs.
/// Before that name rule, text whose every data line is a domain, an IP address or a URL
/// (defanged forms too) is a plain network list ([`network::looks_like_list`]).
pub fn sniff(file_name: &str, content: &[u8]) -> Option<IocFormat> {
    let lower = file_name.to_ascii_lowercase();
    let base = lower.rsplit(['/', '\\']).next().unwrap_or(&lower);
    let ext = base.rsplit_once('.').map_or("", |(_, e)| e);
    match ext {
        "hdb" => return Some(IocFormat::ClamAvHdb),
        "hsb" => return Some(IocFormat::ClamAvHsb),
        "yar" | "yara" | "yarc" | "ldb" | "ndb" | "rules" | "xlsx" | "md" | "py" | "sh" => {
            return None;
        }
        _ => {}
    }
    let head = content.get(..content.len().min(8192)).unwrap_or(content);
    let head_text = String::from_utf8_lossy(head);
    let trimmed = head_text.trim_start_matches('\u{feff}').trim_start();
    if ext == "ioc" || (trimmed.starts_with('<') && looks_like_openioc(trimmed)) {
        return Some(IocFormat::OpenIoc);
    }
    if misp::looks_like_misp(trimmed) {
        return Some(IocFormat::Misp);
    }
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let stixy = trimmed.contains("\"bundle\"")
            || trimmed.contains("\"indicator\"")
            || trimmed.contains("\"pattern\"");
        return if stixy { Some(IocFormat::Stix2) } else { None };
    }
    if matches!(ext, "json" | "stix" | "xml") {
        return None;
    }
    if network::looks_like_list(&head_text) {
        return Some(IocFormat::NetworkList);
    }
    let not_files =
        ["c2", "keyword", "keywords", "readme", "ja3", "ipv4", "ipv6", "uri", "uris", "mitre"];
    if base.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| not_files.contains(&w)) {
        return None;
    }
    let first = first_data_line(&head_text);
    if base.contains("filename") || looks_like_filename_iocs(&head_text) {
        return Some(IocFormat::LokiFilename);
    }
    let first_is_hash = first.is_some_and(|l| hashlist::leading_hash(l).is_some());
    let first_is_loki = first.is_some_and(|l| {
        l.split_once(';').is_some_and(|(h, _)| hashlist::parse_hex_digest(h.trim()).is_some())
    });
    if first_is_loki {
        return Some(IocFormat::LokiHash);
    }
    if first_is_hash
        || ((matches!(ext, "txt" | "csv" | "lst") || base.contains("hash"))
            && any_hash_line(&head_text))
    {
        return Some(IocFormat::HashList);
    }
    None
}

/// Whether the first data lines (up to 50) are all `regex;score[;false-positive regex]`,
/// and one regex looks like a path: the shape of a Loki/signature-base file-name IOC list.
fn looks_like_filename_iocs(text: &str) -> bool {
    let mut lines = 0;
    let mut pathy = false;
    for line in
        text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).take(50)
    {
        let mut fields = line.split(';');
        let (Some(regex), Some(score)) = (fields.next(), fields.next()) else { return false };
        if fields.nth(1).is_some()
            || regex.is_empty()
            || hashlist::parse_hex_digest(regex.trim()).is_some()
            || !score.trim().parse::<i32>().is_ok_and(|n| (-100..=100).contains(&n))
        {
            return false;
        }
        pathy |= regex.contains('\\')
            || regex.contains('/')
            || regex.starts_with('^')
            || regex.ends_with('$');
        lines += 1;
    }
    lines > 0 && pathy
}

fn looks_like_openioc(text: &str) -> bool {
    text.contains("<OpenIOC") || text.contains("<ioc ") || text.contains("<ioc>")
}

fn first_data_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#'))
}

fn any_hash_line(text: &str) -> bool {
    text.lines().take(200).any(|l| hashlist::leading_hash(l.trim()).is_some())
}

/// Which digests the loaded indicators need; the scanner computes only these.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct HashNeeds {
    /// Some indicator compares an MD5.
    pub md5: bool,
    /// Some indicator compares a SHA-1.
    pub sha1: bool,
    /// Some indicator compares a SHA-256.
    pub sha256: bool,
}

impl HashNeeds {
    /// Whether any digest is needed (and so the file must be read).
    pub fn any(self) -> bool {
        self.md5 || self.sha1 || self.sha256
    }
}

/// What the matcher knows about one file.
#[derive(Clone, Copy, Debug, Default)]
pub struct FileFacts<'a> {
    /// The full path as raw bytes (may be non-UTF-8).
    pub path: &'a [u8],
    /// Size in bytes.
    pub size: u64,
    /// MD5, when computed.
    pub md5: Option<[u8; 16]>,
    /// SHA-1, when computed.
    pub sha1: Option<[u8; 20]>,
    /// SHA-256, when computed.
    pub sha256: Option<[u8; 32]>,
}

impl FileFacts<'_> {
    /// The last path component (after the last `/` or `\`).
    pub fn file_name(&self) -> &[u8] {
        match self.path.iter().rposition(|&b| b == b'/' || b == b'\\') {
            Some(i) => self.path.get(i + 1..).unwrap_or_default(),
            None => self.path,
        }
    }

    /// The directory part (everything before the last separator; empty if none).
    pub fn dir(&self) -> &[u8] {
        match self.path.iter().rposition(|&b| b == b'/' || b == b'\\') {
            Some(i) => self.path.get(..i).unwrap_or_default(),
            None => &[],
        }
    }

    /// The extension of the file name, without the dot (empty if none).
    pub fn extension(&self) -> &[u8] {
        let name = self.file_name();
        match name.iter().rposition(|&b| b == b'.') {
            Some(i) if i > 0 => name.get(i + 1..).unwrap_or_default(),
            _ => &[],
        }
    }
}

/// One indicator that matched a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IocMatch {
    /// [`Engine::Hash`] for digest indicators (and compound indicators that matched on a
    /// digest), [`Engine::Filename`] otherwise.
    pub engine: Engine,
    /// The indicator.
    pub rule: RuleRef,
    /// 0–100; map to a severity with [`ferret_core::Severity::from_score`].
    pub score: u8,
    /// One line saying what matched.
    pub message: Option<String>,
    /// The matched value(s).
    pub evidence: Vec<Evidence>,
}

impl IocMatch {
    /// The finding for this match: engine, rule, score and its severity band
    /// ([`ferret_core::Severity::from_score`]), message and evidence. The caller adds the
    /// file's path, size and SHA-256.
    pub fn into_finding(self) -> ferret_core::Finding {
        let mut f = ferret_core::Finding::new(self.engine, self.rule, ferret_core::Severity::Info)
            .with_score(self.score);
        f.message = self.message;
        for e in self.evidence {
            f.push_evidence(e);
        }
        f
    }
}

/// The digest kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum HashKind {
    Md5,
    Sha1,
    Sha256,
}

impl HashKind {
    pub(crate) fn label(self) -> &'static str {
        match self {
            HashKind::Md5 => "md5",
            HashKind::Sha1 => "sha1",
            HashKind::Sha256 => "sha256",
        }
    }
}

/// A parsed digest value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Digest {
    Md5([u8; 16]),
    Sha1([u8; 20]),
    Sha256([u8; 32]),
}

impl Digest {
    pub(crate) fn kind(&self) -> HashKind {
        match self {
            Digest::Md5(_) => HashKind::Md5,
            Digest::Sha1(_) => HashKind::Sha1,
            Digest::Sha256(_) => HashKind::Sha256,
        }
    }

    pub(crate) fn hex(&self) -> String {
        match self {
            Digest::Md5(d) => hex::encode(d),
            Digest::Sha1(d) => hex::encode(d),
            Digest::Sha256(d) => hex::encode(d),
        }
    }
}

/// Hashing for maps keyed by digests: the key is already uniformly distributed (MD5/SHA
/// output), so its first eight bytes are the hash. Keys come from rule files, not from the
/// examined files, so there is no flooding concern from the scanned system.
#[derive(Clone, Copy, Default, Debug)]
struct DigestHash;

impl std::hash::BuildHasher for DigestHash {
    type Hasher = DigestHasher;
    fn build_hasher(&self) -> DigestHasher {
        DigestHasher(0)
    }
}

/// See [`DigestHash`].
#[derive(Clone, Copy, Default, Debug)]
struct DigestHasher(u64);

impl std::hash::Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut word = [0u8; 8];
        for (w, b) in word.iter_mut().zip(bytes) {
            *w = *b;
        }
        self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
    }
    fn write_usize(&mut self, _length_prefix: usize) {}
}

/// A hash indicator: one digest, optionally bound to a file size (ClamAV). Compact: the
/// rule id defaults to the digest's hex, and names, sources and references are shared
/// between consecutive entries that have the same ones.
#[derive(Clone, Debug)]
struct HashIoc {
    /// The rule id when it is not the digest (STIX/OpenIOC indicator ids).
    id: Option<Arc<str>>,
    name: Arc<str>,
    source: Arc<str>,
    /// 1-based line in `source`, 0 when none.
    line: u32,
    references: Arc<[String]>,
    score: u8,
    size: Option<u64>,
    kind: HashKind,
    /// The counter this indicator is counted under (`hash`, `clamav`, `stix`, …).
    family: &'static str,
    /// The next indicator with the same digest (`u32::MAX`: none).
    next: u32,
}

/// What a parser knows about a hash indicator besides its digest.
pub(crate) struct HashMeta<'a> {
    /// The rule id when it is not the digest's hex.
    pub id: Option<&'a str>,
    pub name: &'a str,
    pub line: Option<usize>,
    pub references: &'a [String],
}

const NO_NEXT: u32 = u32::MAX;

/// A compound indicator (STIX pattern, OpenIOC tree) evaluated per file.
#[derive(Clone, Debug)]
struct CompoundIoc {
    rule: RuleRef,
    score: u8,
    expr: Expr,
}

/// A set of loaded indicators. `Send + Sync`; matching takes `&self`.
#[derive(Default)]
pub struct IocSet {
    md5: HashMap<[u8; 16], u32, DigestHash>,
    sha1: HashMap<[u8; 20], u32, DigestHash>,
    sha256: HashMap<[u8; 32], u32, DigestHash>,
    hashes: Vec<HashIoc>,
    names: names::NameSet,
    compound: Vec<CompoundIoc>,
    compound_needs: HashNeeds,
    network: Vec<network::NetIndicator>,
    counts: BTreeMap<String, u64>,
}

impl std::fmt::Debug for IocSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IocSet").field("counts", &self.counts).finish_non_exhaustive()
    }
}

/// Default score of a hash indicator that carries none (Loki: 100).
pub const DEFAULT_HASH_SCORE: u8 = 100;
/// Score of a compound (STIX/OpenIOC) indicator that is not digests alone (high).
pub const DEFAULT_COMPOUND_SCORE: u8 = 80;

impl IocSet {
    /// An empty set.
    pub fn new() -> IocSet {
        IocSet::default()
    }

    /// Parses `text` (a whole rule file) in `format` and adds its indicators.
    ///
    /// `source` names the file in [`RuleRef::source`] (a path or `builtin:<name>`); each
    /// indicator's source is `source:line` when the format has lines. Per-line and
    /// per-entry problems are pushed ([`ProblemKind::RuleLoad`], path = `source`, position
    /// = line or line:col) and loading goes on. Returns how many indicators were added.
    pub fn load(
        &mut self,
        format: IocFormat,
        source: &str,
        text: &str,
        problems: &mut Vec<Problem>,
    ) -> usize {
        self.load_with(source, problems, |ctx| match format {
            IocFormat::LokiHash => loki::load_hashes(ctx, text),
            IocFormat::LokiFilename => loki::load_filenames(ctx, text),
            IocFormat::HashList => hashlist::load_plain(ctx, text),
            IocFormat::ClamAvHdb => hashlist::load_clamav(ctx, text, false),
            IocFormat::ClamAvHsb => hashlist::load_clamav(ctx, text, true),
            IocFormat::Stix2 => stix::load(ctx, text),
            IocFormat::OpenIoc => openioc::load(ctx, text),
            IocFormat::Misp => misp::load(ctx, text),
            IocFormat::NetworkList => network::load_list(ctx, text),
        })
    }

    /// Runs one loader over a fresh context for `source`, then rebuilds the file-name
    /// matcher when names were added. Returns how many indicators were added.
    pub(crate) fn load_with(
        &mut self,
        source: &str,
        problems: &mut Vec<Problem>,
        load: impl FnOnce(&mut LoadCtx<'_>),
    ) -> usize {
        let mut ctx = LoadCtx {
            set: self,
            source,
            source_arc: Arc::from(source),
            last_name: Arc::from(""),
            last_refs: Arc::from(Vec::new()),
            problems,
            added: 0,
            names_added: false,
        };
        load(&mut ctx);
        let mut added = ctx.added;
        if ctx.names_added {
            let LoadCtx { set, problems, source, .. } = ctx;
            let before = set.names.failed();
            set.names.rebuild(source, problems);
            let failed = set.names.failed() - before;
            added -= failed;
            if let Some(c) = set.counts.get_mut("filename") {
                *c -= failed as u64;
            }
        }
        added
    }

    /// The digests the loaded indicators need.
    pub fn needs(&self) -> HashNeeds {
        HashNeeds {
            md5: !self.md5.is_empty() || self.compound_needs.md5,
            sha1: !self.sha1.is_empty() || self.compound_needs.sha1,
            sha256: !self.sha256.is_empty() || self.compound_needs.sha256,
        }
    }

    /// Whether nothing is loaded.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty() && self.names.is_empty() && self.compound.is_empty()
    }

    /// The network indicators loaded (domains, IP addresses, URLs), in load order. They are
    /// not matched against files; log detectors look for them.
    pub fn network(&self) -> &[network::NetIndicator] {
        &self.network
    }

    /// Adds a network indicator (counted under `network`).
    pub fn add_network(&mut self, indicator: network::NetIndicator) {
        self.network.push(indicator);
        self.bump("network");
    }

    /// How many indicators are loaded, by family: `hash` (Loki hash lines and plain hash
    /// lists), `clamav`, `filename`, `stix`, `openioc`, `misp` (file indicators from MISP
    /// events), `network` (domains, IP addresses and URLs from any source).
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.counts.clone()
    }

    /// Evaluates every loaded indicator against one file and appends the matches to `out`
    /// (hash matches first, then file-name matches in load order, then compound ones).
    ///
    /// Digests are `None` when the file was not read: name indicators still apply, hash
    /// terms are then unknown (never a match).
    pub fn match_file(&self, facts: &FileFacts<'_>, out: &mut Vec<IocMatch>) {
        if let Some(d) = facts.md5
            && let Some(&head) = self.md5.get(&d)
        {
            self.push_hash_hits(head, &Digest::Md5(d), facts, out);
        }
        if let Some(d) = facts.sha1
            && let Some(&head) = self.sha1.get(&d)
        {
            self.push_hash_hits(head, &Digest::Sha1(d), facts, out);
        }
        if let Some(d) = facts.sha256
            && let Some(&head) = self.sha256.get(&d)
        {
            self.push_hash_hits(head, &Digest::Sha256(d), facts, out);
        }
        self.names.match_path(facts.path, out);
        for c in &self.compound {
            let mut evidence = Vec::new();
            if c.expr.eval(facts, &mut evidence) == Some(true) {
                let engine = if evidence.iter().any(|e| expr::is_hash_label(&e.label)) {
                    Engine::Hash
                } else {
                    Engine::Filename
                };
                evidence.truncate(ferret_core::Finding::MAX_EVIDENCE);
                out.push(IocMatch {
                    engine,
                    rule: c.rule.clone(),
                    score: c.score,
                    message: Some(format!("file matches indicator {}", c.rule.id)),
                    evidence,
                });
            }
        }
    }

    fn push_hash_hits(
        &self,
        head: u32,
        digest: &Digest,
        facts: &FileFacts<'_>,
        out: &mut Vec<IocMatch>,
    ) {
        let mut id = head;
        while let Some(h) = self.hashes.get(id as usize) {
            id = h.next;
            if h.size.is_some_and(|s| s != facts.size) {
                continue;
            }
            debug_assert_eq!(h.kind, digest.kind());
            let hex = digest.hex();
            let rule = RuleRef {
                id: h.id.as_deref().map_or_else(|| hex.clone(), str::to_owned),
                name: h.name.to_string(),
                source: Some(if h.line == 0 {
                    h.source.to_string()
                } else {
                    format!("{}:{}", h.source, h.line)
                }),
                references: h.references.to_vec(),
            };
            let mut evidence =
                vec![Evidence { label: h.kind.label().into(), offset: None, data: hex }];
            if let Some(s) = h.size {
                evidence.push(Evidence { label: "size".into(), offset: None, data: s.to_string() });
            }
            out.push(IocMatch {
                engine: Engine::Hash,
                rule,
                score: h.score,
                message: Some(format!(
                    "file {} is a known-bad {}",
                    h.kind.label(),
                    h.family_word()
                )),
                evidence,
            });
        }
    }

    fn bump(&mut self, family: &str) {
        if let Some(c) = self.counts.get_mut(family) {
            *c += 1;
        } else {
            self.counts.insert(family.to_owned(), 1);
        }
    }

    fn add_hash(&mut self, digest: Digest, ioc: HashIoc) {
        let Ok(id) = u32::try_from(self.hashes.len()) else { return };
        if id == NO_NEXT {
            return;
        }
        let family = ioc.family;
        self.hashes.push(ioc);
        let head = match digest {
            Digest::Md5(d) => *self.md5.entry(d).or_insert(id),
            Digest::Sha1(d) => *self.sha1.entry(d).or_insert(id),
            Digest::Sha256(d) => *self.sha256.entry(d).or_insert(id),
        };
        if head != id {
            // Append to the chain so hits come out in load order.
            let mut at = head;
            while let Some(h) = self.hashes.get(at as usize) {
                if h.next == NO_NEXT {
                    break;
                }
                at = h.next;
            }
            if let Some(h) = self.hashes.get_mut(at as usize) {
                h.next = id;
            }
        }
        self.bump(family);
    }

    fn add_compound(&mut self, rule: RuleRef, score: u8, expr: Expr, family: &'static str) {
        let n = expr.needs();
        self.compound_needs.md5 |= n.md5;
        self.compound_needs.sha1 |= n.sha1;
        self.compound_needs.sha256 |= n.sha256;
        self.compound.push(CompoundIoc { rule, score, expr });
        self.bump(family);
    }
}

impl HashIoc {
    fn family_word(&self) -> &'static str {
        match self.family {
            "clamav" => "ClamAV signature",
            "stix" => "STIX indicator",
            "openioc" => "OpenIOC indicator",
            "misp" => "MISP attribute",
            _ => "hash indicator",
        }
    }
}

/// Loading state shared by the parsers.
pub(crate) struct LoadCtx<'a> {
    set: &'a mut IocSet,
    source: &'a str,
    source_arc: Arc<str>,
    last_name: Arc<str>,
    last_refs: Arc<[String]>,
    problems: &'a mut Vec<Problem>,
    added: usize,
    names_added: bool,
}

impl LoadCtx<'_> {
    /// Pushes a rule-load problem at `position` (line or line:col).
    pub(crate) fn problem(&mut self, position: Option<String>, reason: impl Into<String>) {
        let mut p = Problem::at(ProblemKind::RuleLoad, self.source, reason);
        p.position = position;
        self.problems.push(p);
    }

    /// Pushes a note of something deliberately left out ([`ProblemKind::Skipped`]: it does
    /// not make a run incomplete).
    pub(crate) fn skipped(&mut self, reason: impl Into<String>) {
        self.problems.push(Problem::at(ProblemKind::Skipped, self.source, reason));
    }

    pub(crate) fn line_problem(&mut self, line: usize, reason: impl Into<String>) {
        self.problem(Some(line.to_string()), reason);
    }

    pub(crate) fn source_at(&self, line: usize) -> String {
        format!("{}:{line}", self.source)
    }

    pub(crate) fn source(&self) -> &str {
        self.source
    }

    pub(crate) fn add_hash(
        &mut self,
        digest: Digest,
        size: Option<u64>,
        meta: &HashMeta<'_>,
        score: u8,
        family: &'static str,
    ) {
        if *self.last_name != *meta.name {
            self.last_name = Arc::from(meta.name);
        }
        if *self.last_refs != *meta.references {
            self.last_refs = Arc::from(meta.references);
        }
        let ioc = HashIoc {
            id: meta.id.map(Arc::from),
            name: Arc::clone(&self.last_name),
            source: Arc::clone(&self.source_arc),
            line: meta.line.and_then(|l| u32::try_from(l).ok()).unwrap_or(0),
            references: Arc::clone(&self.last_refs),
            score,
            size,
            kind: digest.kind(),
            family,
            next: NO_NEXT,
        };
        self.set.add_hash(digest, ioc);
        self.added += 1;
    }

    pub(crate) fn add_compound(
        &mut self,
        rule: RuleRef,
        score: u8,
        expr: Expr,
        family: &'static str,
    ) {
        self.set.add_compound(rule, score, expr, family);
        self.added += 1;
    }

    pub(crate) fn add_network(&mut self, indicator: network::NetIndicator) {
        self.set.add_network(indicator);
        self.added += 1;
    }

    pub(crate) fn add_name(&mut self, ioc: names::NameIoc) {
        self.set.names.push(ioc);
        self.set.bump("filename");
        self.added += 1;
        self.names_added = true;
    }
}

/// The 1-based line of a byte offset.
pub(crate) fn line_of_offset(text: &[u8], offset: usize) -> usize {
    text.get(..offset.min(text.len())).map_or(1, |b| b.split(|&c| c == b'\n').count())
}

/// Extracts `http(s)://…` URLs from free text (descriptions often carry their reference).
pub(crate) fn urls_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("http://").or_else(|| rest.find("https://")) {
        let tail = rest.get(i..).unwrap_or_default();
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ')' | ','))
            .unwrap_or(tail.len());
        let url = tail.get(..end).unwrap_or_default().trim_end_matches(['.', ';']);
        if url.len() > "https://".len() && !out.iter().any(|u| u == url) {
            out.push(url.to_owned());
        }
        rest = tail.get(end.max(1)..).unwrap_or_default();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_extracted() {
        assert_eq!(
            urls_in("APT x - http://goo.gl/abc, see https://a.example/b."),
            vec!["http://goo.gl/abc".to_owned(), "https://a.example/b".to_owned()]
        );
        assert!(urls_in("no url here http://").is_empty());
    }

    #[test]
    fn facts_split_path() {
        let f = FileFacts { path: b"C:\\inetpub\\x/shell.aspx", ..FileFacts::default() };
        assert_eq!(f.file_name(), b"shell.aspx");
        assert_eq!(f.dir(), b"C:\\inetpub\\x");
        assert_eq!(f.extension(), b"aspx");
        let f = FileFacts { path: b".bashrc", ..FileFacts::default() };
        assert_eq!(f.extension(), b"");
    }

    #[test]
    fn set_is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<IocSet>();
    }
}

/// The README's example, run as a doctest so it keeps compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
