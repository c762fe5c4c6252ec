//! Ivanti Connect Secure (the renamed Pulse Connect Secure appliance) detectors for the 2024 and
//! 2025 intrusions: CVE-2023-46805 with CVE-2024-21887 (UNC5221/UTA0178: LIGHTWIRE, WIREFIRE,
//! WARPWIRE, THINSPOOL, ZIPLINE, GLASSTOKEN, …), CVE-2025-0282 (the SPAWN family, PHASEJAM,
//! DRYHOOK) and CVE-2025-22457 (TRAILBLAZE, BRUSHFIRE); CISA ED 24-01 and AA24-060B.
//!
//! The appliance is the same as Pulse Connect Secure's, so the tree is found the same way
//! ([`crate::pulse::appliance_roots`]) and the manifest and integrity-checker checks are the
//! Pulse ones, run again under this campaign ([`Shared`]). Every indicator (hashes, names,
//! paths, code markers, request patterns) is data: the tables under `intel/ivanti-connect-secure/`,
//! read through [`intel`].

pub mod ic001_family_file;
pub mod ic002_web_exploitation;
pub mod ic003_manifest_signature;
pub mod ic004_manifest_integrity;
pub mod ic005_manifest_unshipped;
pub mod ic006_integrity_tooling;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

use ferret_core::Severity;
use ferret_intel::{Confidence, Intel, Row};
use ferret_logs::Event;
use serde_json::json;

use crate::detector::{Detector, FileEntry, Info, Out};
use crate::inventory::{Inventory, LogSource};

/// CISA Emergency Directive 24-01.
pub const REF_ED_24_01: &str = "CISA Emergency Directive 24-01, Mitigate Ivanti Connect Secure and Ivanti Policy Secure Vulnerabilities <https://www.cisa.gov/news-events/directives/ed-24-01-mitigate-ivanti-connect-secure-and-ivanti-policy-secure-vulnerabilities>";
/// CISA advisory AA24-060B.
pub const REF_AA24_060B: &str = "CISA AA24-060B, Threat Actors Exploit Multiple Vulnerabilities in Ivanti Connect Secure and Policy Secure Gateways <https://www.cisa.gov/news-events/cybersecurity-advisories/aa24-060b>";
/// Volexity's first write-up (January 2024).
pub const REF_VOLEXITY_2024: &str = "Volexity, Active Exploitation of Two Zero-Day Vulnerabilities in Ivanti Connect Secure VPN <https://www.volexity.com/blog/2024/01/10/active-exploitation-of-two-zero-day-vulnerabilities-in-ivanti-connect-secure-vpn/>";
/// Mandiant's first write-up (January 2024).
pub const REF_MANDIANT_2024: &str = "Mandiant, Cutting Edge: Suspected APT Targets Ivanti Connect Secure VPN in New Zero-Day Exploitation <https://cloud.google.com/blog/topics/threat-intelligence/suspected-apt-targets-ivanti-zero-day>";
/// Mandiant on CVE-2025-0282 (January 2025).
pub const REF_MANDIANT_2025_01: &str = "Mandiant, Ivanti Connect Secure VPN Targeted in New Zero-Day Exploitation (CVE-2025-0282) <https://cloud.google.com/blog/topics/threat-intelligence/ivanti-connect-secure-vpn-zero-day>";
/// Mandiant on CVE-2025-22457 (April 2025).
pub const REF_MANDIANT_2025_04: &str = "Mandiant, Suspected China-Nexus Threat Actor Actively Exploiting Critical Ivanti Connect Secure Vulnerability (CVE-2025-22457) <https://cloud.google.com/blog/topics/threat-intelligence/china-nexus-exploiting-critical-ivanti-vulnerability>";
/// Rapid7's analysis of CVE-2023-46805 and CVE-2024-21887.
pub const REF_RAPID7_2024: &str = "Rapid7, CVE-2023-46805 and CVE-2024-21887 analysis (AttackerKB) <https://attackerkb.com/topics/AdUh6by52K/cve-2023-46805/rapid7-analysis>";

/// The intel the Ivanti detectors read: today the built-in tables.
pub fn intel() -> Option<&'static Intel> {
    Intel::builtin().ok()
}

/// The rows of one of this campaign's tables (`families.tsv`, …).
fn rows(table: &str) -> Vec<&'static Row> {
    intel().map(|i| i.rows(&format!("ivanti-connect-secure/{table}")).collect()).unwrap_or_default()
}

/// What one row of `families.tsv` says about a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A file hash (MD5, SHA-1 or SHA-256 by length).
    Hash,
    /// A file name the product never ships.
    BadName,
    /// An appliance path the product never ships.
    BadPath,
    /// A genuine product file a family modifies: never a finding by name.
    Product,
}

/// One row of `families.tsv`.
#[derive(Clone, Copy, Debug)]
pub struct Indicator {
    /// What it is.
    pub kind: Kind,
    /// The hash (lowercase hex), the lowercase file name or the lowercase appliance path.
    pub value: &'static str,
    /// The family.
    pub family: &'static str,
    /// The published on-box name or path.
    pub name: &'static str,
    /// The row's confidence.
    pub confidence: Confidence,
    /// The row's source.
    pub source: &'static str,
}

/// The rows of `families.tsv`, parsed once.
pub static FAMILIES: LazyLock<Vec<Indicator>> = LazyLock::new(|| {
    rows("families.tsv")
        .into_iter()
        .filter_map(|r| {
            let kind = match r.field("kind") {
                "md5" | "sha1" | "sha256" => Kind::Hash,
                "badname" => Kind::BadName,
                "badpath" => Kind::BadPath,
                "product" => Kind::Product,
                _ => return None,
            };
            Some(Indicator {
                kind,
                value: r.field("value"),
                family: r.field("family"),
                name: r.field("name"),
                confidence: r.confidence(),
                source: r.source(),
            })
        })
        .collect()
});

/// The indicator a hash (lowercase hex) matches.
pub fn by_hash(hash: &str) -> Option<&'static Indicator> {
    FAMILIES.iter().find(|i| i.kind == Kind::Hash && i.value.eq_ignore_ascii_case(hash))
}

/// The never-shipped name or path a normalized path (`/…`, lowercase) matches.
pub fn by_name(normalized_path: &str) -> Option<&'static Indicator> {
    let file = normalized_path.rsplit('/').next().unwrap_or(normalized_path);
    FAMILIES.iter().find(|i| match i.kind {
        Kind::BadName => file == i.value,
        Kind::BadPath => i.value.starts_with('/') && normalized_path.ends_with(i.value),
        Kind::Hash | Kind::Product => false,
    })
}

/// The product-file row of a normalized path, by file name.
pub fn product_file(normalized_path: &str) -> Option<&'static Indicator> {
    let file = normalized_path.rsplit('/').next().unwrap_or(normalized_path);
    FAMILIES.iter().find(|i| i.kind == Kind::Product && file == i.value)
}

/// One set of code markers (`markers.tsv`).
#[derive(Clone, Debug)]
pub struct MarkerSet {
    /// The family.
    pub family: &'static str,
    /// The source of the literals.
    pub source: &'static str,
    /// The set's confidence.
    pub confidence: Confidence,
    /// How many literals must be present.
    pub need: usize,
    /// The literals.
    pub literals: Vec<&'static str>,
}

/// The marker sets and one automaton over all their literals.
pub struct Markers {
    /// The sets, in file order.
    pub sets: Vec<MarkerSet>,
    ids: Vec<(usize, usize)>,
    ac: Option<aho_corasick::AhoCorasick>,
}

/// The code markers of `markers.tsv`.
pub static MARKERS: LazyLock<Markers> = LazyLock::new(|| {
    let mut by_set: BTreeMap<&str, usize> = BTreeMap::new();
    let mut sets: Vec<MarkerSet> = Vec::new();
    for r in rows("markers.tsv") {
        let literal = r.field("literal");
        if literal.is_empty() {
            continue;
        }
        let need = r.field("need").trim().parse::<usize>().unwrap_or(usize::MAX);
        let i = *by_set.entry(r.field("set")).or_insert_with(|| {
            sets.push(MarkerSet {
                family: r.field("family"),
                source: r.source(),
                confidence: r.confidence(),
                need,
                literals: Vec::new(),
            });
            sets.len() - 1
        });
        if let Some(s) = sets.get_mut(i) {
            s.literals.push(literal);
        }
    }
    let mut ids = Vec::new();
    let mut pats = Vec::new();
    for (si, s) in sets.iter().enumerate() {
        for (li, l) in s.literals.iter().enumerate() {
            ids.push((si, li));
            pats.push(*l);
        }
    }
    let ac = aho_corasick::AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(aho_corasick::MatchKind::Standard)
        .build(&pats)
        .ok();
    Markers { sets, ids, ac }
});

impl Markers {
    /// The first set with at least `need` of its literals in `content`, with the literals found.
    pub fn matching(&self, content: &[u8]) -> Option<(&MarkerSet, Vec<&'static str>)> {
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
        self.sets.iter().zip(&seen).find_map(|(s, v)| {
            let found: Vec<&'static str> =
                s.literals.iter().zip(v).filter(|(_, b)| **b).map(|(l, _)| *l).collect();
            (!found.is_empty() && found.len() >= s.need.min(s.literals.len())).then_some((s, found))
        })
    }
}

/// The severity a row of this confidence gives: high → `high_sev`, medium → high, low → medium.
pub fn severity_of(c: Confidence, high_sev: Severity) -> Severity {
    match c {
        Confidence::High => high_sev,
        Confidence::Medium => Severity::High,
        Confidence::Low => Severity::Medium,
    }
}

/// A Pulse Connect Secure detector run again under the Ivanti campaign: the same appliance, the
/// same manifest and integrity checker. Its findings are re-stamped with the Ivanti detector's
/// rule and campaign.
pub struct Shared {
    info: &'static Info,
    inner: Box<dyn Detector>,
}

impl Shared {
    /// Wraps `inner`, stamping its findings as `info`'s.
    pub fn new(info: &'static Info, inner: Box<dyn Detector>) -> Shared {
        Shared { info, inner }
    }

    fn restamp(&self, tmp: &mut Out, out: &mut Out) {
        for mut f in tmp.findings.drain(..) {
            let shared_from = f.rule.id.clone();
            f.rule = self.info.rule();
            f.details.insert("campaign".to_owned(), json!(self.info.campaign.id()));
            if !shared_from.is_empty() {
                f.details.insert("shared_with".to_owned(), json!(shared_from));
            }
            out.finding(f);
        }
        out.problems.append(&mut tmp.problems);
        out.not_checked.append(&mut tmp.not_checked);
    }
}

impl Detector for Shared {
    fn on_event(&self, ev: &Event, source: LogSource, out: &mut Out) {
        let mut tmp = Out::default();
        self.inner.on_event(ev, source, &mut tmp);
        self.restamp(&mut tmp, out);
    }

    fn wants_file(&self, path: &Path, size: u64) -> bool {
        self.inner.wants_file(path, size)
    }

    fn on_file(&self, file: &FileEntry<'_>, out: &mut Out) {
        let mut tmp = Out::default();
        self.inner.on_file(file, &mut tmp);
        self.restamp(&mut tmp, out);
    }

    fn on_tree(&self, inventory: &Inventory, out: &mut Out) {
        let mut tmp = Out::default();
        self.inner.on_tree(inventory, &mut tmp);
        self.restamp(&mut tmp, out);
    }

    fn finish(&self, out: &mut Out) {
        let mut tmp = Out::default();
        self.inner.finish(&mut tmp);
        self.restamp(&mut tmp, out);
    }
}

/// The score a finding of this severity gets (the report's severity follows the score).
pub fn score_for(severity: Severity) -> u8 {
    match severity {
        Severity::Critical => 95,
        Severity::High => 85,
        Severity::Medium => 65,
        Severity::Low => 45,
        Severity::Info => 20,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_parse() {
        assert!(FAMILIES.iter().filter(|i| i.kind == Kind::Hash).count() >= 20);
        for i in FAMILIES.iter().filter(|i| i.kind == Kind::Hash) {
            assert!(matches!(i.value.len(), 32 | 40 | 64), "{}", i.value);
            assert!(i.value.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        }
        for i in FAMILIES.iter().filter(|i| i.kind != Kind::Hash) {
            assert_eq!(i.value, i.value.to_ascii_lowercase(), "names and paths are lowercase");
        }
        assert!(MARKERS.sets.len() >= 8);
        for s in &MARKERS.sets {
            assert!(s.need >= 1 && s.need <= s.literals.len(), "{}", s.family);
        }
        assert_eq!(by_name("/root/usr/lib/libsecure.so.1").map(|i| i.family), Some("ZIPLINE"));
        assert!(by_name("/home/webserver/htdocs/dana-na/auth/compcheckresult.cgi").is_none());
        assert!(product_file("/home/webserver/htdocs/dana-na/auth/compcheckresult.cgi").is_some());
        assert!(by_name("/tmp/.i").is_some());
        assert!(by_name("/tmp/x.i").is_none());
    }

    #[test]
    fn markers_need_their_count() {
        let warp = concat!(
            "var wdata = document.frmLogin.username.value;\n",
            "var sdata = document.frmLogin.password.value;\n",
            "var xhr = new XMLHttpRequest(); x.send(u+wdata+'&'+sdata;\n",
            "// Remember the last selected auth realm for 30 days\n"
        );
        assert_eq!(MARKERS.matching(warp.as_bytes()).map(|(s, _)| s.family), Some("WARPWIRE"));
        let genuine = "// Remember the last selected auth realm for 30 days\nfunction f() {}\n";
        assert!(MARKERS.matching(genuine.as_bytes()).is_none());
    }
}
