//! Pulse Connect Secure (CVE-2021-22893 and the 2019–2021 exploitation, AA21-110A, ED 21-03)
//! detectors, one file each, and what they share: the appliance roots found in the tree, the
//! manifest format, the published family data (`intel/pulse-secure/families.tsv`).
//!
//! An appliance tree is a mounted image or an extracted file system: the directory holding
//! `home/etc/manifest/manifest`. Paths inside the manifest are absolute on the appliance and
//! resolved under that directory.

pub mod ps001_manifest_signature;
pub mod ps002_manifest_integrity;
pub mod ps003_manifest_unshipped;
pub mod ps004_family_file;
pub mod ps005_integrity_tooling;
pub mod ps006_web_exploitation;
pub mod ps007_log_wiping;
pub mod signature;
pub mod vendor;

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use crate::inventory::{Inventory, Marker, normalized};

/// CISA alert AA21-110A.
pub const REF_AA21_110A: &str = "CISA AA21-110A, Exploitation of Pulse Connect Secure Vulnerabilities <https://www.cisa.gov/news-events/cybersecurity-advisories/aa21-110a>";
/// CISA Emergency Directive 21-03.
pub const REF_ED_21_03: &str = "CISA Emergency Directive 21-03, Mitigate Pulse Connect Secure Product Vulnerabilities <https://www.cisa.gov/news-events/directives/ed-21-03-mitigate-pulse-connect-secure-product-vulnerabilities>";
/// CISA malware analysis report AR21-110A.
pub const REF_MAR_AR21_110A: &str = "CISA MAR-10333243-1.v1 (AR21-110A), Pulse Connect Secure <https://www.cisa.gov/news-events/analysis-reports/ar21-110a>";
/// CISA malware analysis report AR21-112A.
pub const REF_MAR_AR21_112A: &str = "CISA AR21-112A, Pulse Connect Secure (procdump and IP indicators) <https://www.cisa.gov/news-events/analysis-reports/ar21-112a>";
/// Mandiant's first write-up.
pub const REF_MANDIANT_1: &str = "Mandiant, Check Your Pulse: Suspected APT Actors Leverage Authentication Bypass Techniques and Pulse Secure Zero-Day <https://www.mandiant.com/resources/blog/suspected-apt-actors-leverage-bypass-techniques-pulse-secure-zero-day>";
/// Mandiant's follow-up.
pub const REF_MANDIANT_2: &str = "Mandiant, Re-Checking Your Pulse: Updates on Chinese APT Actors Compromising Pulse Secure VPN Devices <https://www.mandiant.com/resources/blog/updates-on-chinese-apt-compromising-pulse-secure-vpn-devices>";
/// Pulse Secure's advisory for CVE-2021-22893.
pub const REF_SA44784: &str = "Pulse Secure SA44784, Multiple vulnerabilities resolved in Pulse Connect Secure 9.1R11.4 <https://kb.pulsesecure.net/articles/Pulse_Security_Advisories/SA44784/>";
/// Pulse Secure's Integrity Checker Tool article.
pub const REF_KB44755: &str = "Pulse Secure KB44755, Pulse Connect Secure Integrity Checker Tool <https://kb.pulsesecure.net/articles/Pulse_Secure_Article/KB44755>";

/// Where the manifest lives under an appliance root.
pub const MANIFEST: &str = "home/etc/manifest/manifest";

/// The appliance roots in the tree: the directories holding `home/etc/manifest/manifest`.
pub fn appliance_roots(inv: &Inventory) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = inv
        .markers
        .get(&Marker::PulseTree)
        .into_iter()
        .flatten()
        .filter_map(|p| p.ancestors().nth(4).map(Path::to_path_buf))
        .collect();
    roots.sort();
    roots.dedup();
    roots
}

/// A path on the appliance (`/home/bin/x`) resolved under `root`.
pub fn on_root(root: &Path, appliance_path: &str) -> PathBuf {
    root.join(appliance_path.trim_start_matches('/'))
}

/// The appliance path of a file under `root` (`/home/bin/x`), `/`-separated.
pub fn appliance_path(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let mut s = String::new();
    for c in rel.components() {
        s.push('/');
        s.push_str(&c.as_os_str().to_string_lossy());
    }
    Some(s)
}

/// Reads a whole (small) file through `ferret_fs`, up to `limit` bytes.
pub fn read_small(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let (mut file, meta) = ferret_fs::open_read_only(path).map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    ferret_fs::read_limited(&mut file, &meta, &mut buf, limit).map_err(|e| e.to_string())?;
    Ok(buf)
}

/// The SHA-256 of a file (streamed, any size), lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String, String> {
    use sha2::Digest as _;
    let (mut file, _) = ferret_fs::open_read_only(path).map_err(|e| e.to_string())?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(buf.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(hex::encode(h.finalize()))
}

/// A parsed manifest: appliance path → SHA-256 (lowercase hex), and the lines that did not parse.
#[derive(Clone, Debug, Default)]
pub struct Manifest {
    /// The entries, by path.
    pub entries: BTreeMap<String, String>,
    /// Lines that are neither blank, a comment nor `<path> <sha256>`.
    pub malformed: u64,
}

impl Manifest {
    /// Parses `<path> <sha256>` lines (the hash is the last whitespace-separated word; blank
    /// lines and `#` comments are skipped).
    pub fn parse(text: &[u8]) -> Manifest {
        let mut m = Manifest::default();
        for line in String::from_utf8_lossy(text).lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((path, hash)) = line.rsplit_once(char::is_whitespace) else {
                m.malformed += 1;
                continue;
            };
            let (path, hash) = (path.trim(), hash.trim());
            if path.is_empty() || hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                m.malformed += 1;
                continue;
            }
            m.entries.insert(path.to_owned(), hash.to_ascii_lowercase());
        }
        m
    }
}

/// What one published indicator says about a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A file hash (MD5, SHA-1 or SHA-256 by length).
    Hash,
    /// A file name never shipped with the product: evidence on its own.
    BadName,
    /// An absolute appliance path never shipped with the product: evidence on its own.
    BadPath,
    /// A published name too generic to decide alone: a lead.
    LeadName,
    /// A published path too generic to decide alone: a lead.
    LeadPath,
    /// The name of a genuine product file that a family modifies: never a finding by name.
    Product,
}

/// One row of `pulse-secure/families.tsv`.
#[derive(Clone, Debug)]
pub struct Indicator {
    /// What it is.
    pub kind: Kind,
    /// The hash (lowercase hex), the lowercase file name, or the appliance path.
    pub value: String,
    /// The family or the list it comes from.
    pub family: String,
    /// The on-box name or path published with it (may be empty).
    pub name: String,
    /// Who published it, and when (`source`, `published`).
    pub source: String,
}

/// The published Pulse Connect Secure indicators (`pulse-secure/families.tsv`).
#[derive(Clone, Debug, Default)]
pub struct Families {
    /// The rows, in table order.
    pub rows: Vec<Indicator>,
}

impl Families {
    /// Reads `pulse-secure/families.tsv` from `intel` (none when the table is absent).
    pub fn from_intel(intel: &ferret_intel::Intel) -> Result<Families, ferret_intel::IntelError> {
        let path = crate::intel::tables::PULSE_FAMILIES;
        let mut rows = Vec::new();
        for row in intel.rows(path) {
            let kind = match crate::intel::one_of(
                path,
                row,
                "kind",
                &["md5", "sha1", "sha256", "badname", "badpath", "leadname", "leadpath", "product"],
            )? {
                "md5" | "sha1" | "sha256" => Kind::Hash,
                "badname" => Kind::BadName,
                "badpath" => Kind::BadPath,
                "leadname" => Kind::LeadName,
                "leadpath" => Kind::LeadPath,
                _ => Kind::Product,
            };
            let value = match kind {
                Kind::Hash => row.field("value").to_ascii_lowercase(),
                _ => row.field("value").to_owned(),
            };
            rows.push(Indicator {
                kind,
                value,
                family: row.field("family").to_owned(),
                name: row.field("name").to_owned(),
                source: format!("{} ({})", row.source(), row.published()),
            });
        }
        Ok(Families { rows })
    }

    /// The indicator a file name or appliance path matches by name, if any. Genuine product
    /// files that families modify ([`Kind::Product`]) are never matched by name: see
    /// [`Families::product_file`].
    pub fn by_name(&self, appliance_path_or_name: &str) -> Option<&Indicator> {
        let p = appliance_path_or_name.replace('\\', "/").to_ascii_lowercase();
        let file = p.rsplit('/').next().unwrap_or(&p);
        self.rows.iter().find(|i| match i.kind {
            Kind::BadName | Kind::LeadName => file == i.value,
            Kind::BadPath | Kind::LeadPath => {
                p == i.value || p.ends_with(&format!("/root{}", i.value))
            }
            Kind::Hash | Kind::Product => false,
        })
    }

    /// The row of a genuine product file that published families modify (`meeting_testjs.cgi`,
    /// `welcome.cgi`, `DSUpgrade.pm`, …), by file name.
    pub fn product_file(&self, appliance_path_or_name: &str) -> Option<&Indicator> {
        let p = appliance_path_or_name.replace('\\', "/").to_ascii_lowercase();
        let file = p.rsplit('/').next().unwrap_or(&p);
        self.rows.iter().find(|i| i.kind == Kind::Product && file == i.value)
    }

    /// The indicator a hash (any of MD5/SHA-1/SHA-256, lowercase hex) matches, if any.
    pub fn by_hash(&self, hash: &str) -> Option<&Indicator> {
        self.rows.iter().find(|i| i.kind == Kind::Hash && i.value == hash)
    }
}

/// One set of code markers of a family (`pulse-secure/markers.tsv`): all literals present is a
/// match.
#[derive(Clone, Debug)]
pub struct MarkerSet {
    /// The family.
    pub family: String,
    /// The published analysis the literals come from (the rule's name).
    pub source: String,
    /// The literals.
    pub literals: Vec<String>,
}

/// The families' code markers and one automaton over all their literals.
#[derive(Debug)]
pub struct Markers {
    /// The sets, in table order.
    pub sets: Vec<MarkerSet>,
    /// Pattern id → (set index, literal index).
    ids: Vec<(usize, usize)>,
    ac: Option<aho_corasick::AhoCorasick>,
}

impl Markers {
    /// Reads `pulse-secure/markers.tsv` from `intel`: rows with the same `family` and `set`, in
    /// a run, form one set.
    pub fn from_intel(intel: &ferret_intel::Intel) -> Result<Markers, ferret_intel::IntelError> {
        let path = crate::intel::tables::PULSE_MARKERS;
        let mut sets: Vec<MarkerSet> = Vec::new();
        for row in intel.rows(path) {
            let (family, set, literal) =
                (row.field("family"), row.field("set"), row.field("literal"));
            if literal.is_empty() {
                return Err(crate::intel::bad(path, row, "the literal is empty".to_owned()));
            }
            match sets.last_mut() {
                Some(s) if s.family == family && s.source == set => {
                    s.literals.push(literal.to_owned())
                }
                _ => sets.push(MarkerSet {
                    family: family.to_owned(),
                    source: set.to_owned(),
                    literals: vec![literal.to_owned()],
                }),
            }
        }
        Ok(Markers::new(sets))
    }

    /// Markers over the given sets.
    pub fn new(sets: Vec<MarkerSet>) -> Markers {
        let mut ids = Vec::new();
        let mut pats = Vec::new();
        for (si, s) in sets.iter().enumerate() {
            for (li, l) in s.literals.iter().enumerate() {
                ids.push((si, li));
                pats.push(l.as_str());
            }
        }
        let ac = aho_corasick::AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(aho_corasick::MatchKind::Standard)
            .build(&pats)
            .ok();
        Markers { sets, ids, ac }
    }

    /// The first marker set whose literals are all in `content`.
    pub fn matching(&self, content: &[u8]) -> Option<&MarkerSet> {
        let ac = self.ac.as_ref()?;
        let mut seen: Vec<Vec<bool>> =
            self.sets.iter().map(|s| vec![false; s.literals.len()]).collect();
        for m in ac.find_overlapping_iter(content) {
            if let Some(&(si, li)) = self.ids.get(m.pattern().as_usize())
                && let Some(slot) = seen.get_mut(si).and_then(|v| v.get_mut(li))
            {
                *slot = true;
            }
        }
        seen.iter().position(|v| v.iter().all(|b| *b)).and_then(|i| self.sets.get(i))
    }
}

/// Whether a path (normalized) lies where the appliance keeps code, web content or scratch
/// files: the places the published families were found.
pub fn in_appliance_area(normalized_path: &str) -> bool {
    const AREAS: [&str; 8] = [
        "/home/bin/",
        "/home/lib/",
        "/home/perl/",
        "/home/webserver/",
        "/home/etc/",
        "/home/runtime/",
        "/tmp/",
        "/data/runtime/",
    ];
    AREAS.iter().any(|a| normalized_path.contains(a))
}

/// Normalized path with a leading `/` (so area tests match relative walks too).
pub fn norm(path: &Path) -> String {
    let p = normalized(path);
    format!("/{}", p.trim_start_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_data_parses() {
        let k = crate::intel::CheckIntel::builtin();
        let f = &k.families;
        assert!(f.rows.len() > 100);
        for i in &f.rows {
            if i.kind == Kind::Hash {
                assert!(matches!(i.value.len(), 32 | 40 | 64), "{}", i.value);
                assert!(i.value.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
            }
        }
        // SLOWPULSE V1 in libdsplibs.so.
        let i =
            f.by_hash("cd09ec795a8f4b6ced003500a44d810f49943514e2f92c81ab96c33e1c0fbd68").unwrap();
        assert_eq!(i.family, "SLOWPULSE V1");
        assert_eq!(i.name, "libdsplibs.so");
        assert_eq!(f.by_name("/home/perl/PAUS.pm").unwrap().kind, Kind::BadName);
        assert_eq!(f.by_name("/tmp/dsactiveuser.statementcounters").unwrap().kind, Kind::BadPath);
        assert!(f.by_name("/home/webserver/htdocs/dana-na/auth/login.cgi").is_none());
        assert!(f.by_name("/home/lib/libdsplibs.so").is_none());
    }

    #[test]
    fn manifest_lines() {
        let h = "a".repeat(64);
        let m =
            Manifest::parse(format!("# c\n/home/bin/x {h}\n\nbad line\n/a b/c  {h}\n").as_bytes());
        assert_eq!(m.entries.len(), 2);
        assert_eq!(m.entries.get("/a b/c"), Some(&h));
        assert_eq!(m.malformed, 1);
    }
}
