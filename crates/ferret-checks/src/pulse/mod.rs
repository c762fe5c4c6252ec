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
use std::path::{Path, PathBuf};

pub use crate::intel::pulse::{Families, Indicator, Kind, MarkerSet, Markers};
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
