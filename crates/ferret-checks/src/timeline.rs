//! `check --timeline`: the findings and the artefact records of the campaigns' windows in time
//! order, each line naming its source (`log`, `$MFT`, `$J`, `Amcache`, `ShimCache`,
//! `registry key last-write`, `file`).
//!
//! The run records ([`Recorder`]) the artefacts whose time falls in the window of a campaign
//! it answers for (`campaigns/windows.tsv`): NTFS history changes under that campaign's
//! folders (Exchange and IIS for ProxyLogon and ProxyShell, SolarWinds for SUNBURST), and
//! Amcache and ShimCache entries. At most [`MAX_RECORDS`] are kept (the first met; the rest
//! are counted in a note). [`merge`] adds every finding that has a time and sorts.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use ferret_artefacts::ntfs::Change;
use ferret_core::{Engine, Finding, TimelineEntry};

use crate::detector::{Campaign, Window};

/// The most artefact records kept.
pub const MAX_RECORDS: usize = 20_000;

/// The folders whose changes make a campaign's timeline (normalized: lowercase, `/`).
fn folders(c: Campaign) -> &'static [&'static str] {
    match c {
        Campaign::ProxyLogon | Campaign::ProxyShell => &[
            "/inetpub/",
            "/exchange server/",
            "/frontend/httpproxy/",
            "/clientaccess/",
            "/aspnet_client/",
        ],
        Campaign::Sunburst => &["/solarwinds/"],
        Campaign::PulseSecure | Campaign::IvantiConnectSecure => &[],
    }
}

/// Collects the artefact records of the windows during a run.
#[derive(Debug, Default)]
pub struct Recorder {
    windows: Vec<(Campaign, Window)>,
    lines: Mutex<Vec<TimelineEntry>>,
    dropped: AtomicU64,
}

impl Recorder {
    /// A recorder for the windows of `campaigns` (those the intel gives a window).
    pub fn new(campaigns: &[Campaign], intel: &crate::intel::CheckIntel) -> Recorder {
        let windows =
            campaigns.iter().filter_map(|c| intel.window(*c).map(|w| (*c, w.clone()))).collect();
        Recorder { windows, ..Recorder::default() }
    }

    /// The first campaign whose window holds `t` (and whose folders hold `norm`, when given).
    fn campaign_of(&self, t: DateTime<Utc>, norm: Option<&str>) -> Option<Campaign> {
        let d = t.date_naive();
        self.windows
            .iter()
            .find(|(c, w)| {
                d >= w.from
                    && w.to.is_none_or(|to| d <= to)
                    && norm.is_none_or(|n| folders(*c).iter().any(|f| n.contains(f)))
            })
            .map(|(c, _)| *c)
    }

    fn push(&self, e: TimelineEntry) {
        let mut g = self.lines.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if g.len() < MAX_RECORDS {
            g.push(e);
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A `$MFT` or `$J` change.
    pub fn change(&self, c: &Change) {
        let Some(t) = c.time else { return };
        if self.campaign_of(t, None).is_none() {
            return;
        }
        let norm = c.path.replace('\\', "/").to_ascii_lowercase();
        let Some(campaign) = self.campaign_of(t, Some(&norm)) else { return };
        let what = match (c.kind, c.deleted_record) {
            (ferret_artefacts::ntfs::HistoryKind::Mft, true) => {
                "created (record no longer in use: deleted)".to_owned()
            }
            (ferret_artefacts::ntfs::HistoryKind::Mft, false) => "created".to_owned(),
            _ => c.what(),
        };
        self.push(TimelineEntry {
            time: t,
            source: c.kind.as_str().to_owned(),
            finding: false,
            what,
            path: Some(c.path.clone()),
            rule: None,
            severity: None,
            campaign: Some(campaign.id().to_owned()),
        });
    }

    /// An execution record: `source` `Amcache` or `ShimCache`.
    pub fn execution(&self, source: &str, time: Option<DateTime<Utc>>, path: &str, what: &str) {
        let Some(t) = time else { return };
        let Some(campaign) = self.campaign_of(t, None) else { return };
        self.push(TimelineEntry {
            time: t,
            source: source.to_owned(),
            finding: false,
            what: what.to_owned(),
            path: (!path.is_empty()).then(|| path.to_owned()),
            rule: None,
            severity: None,
            campaign: Some(campaign.id().to_owned()),
        });
    }

    /// The records kept, and how many were left out.
    pub fn into_parts(self) -> (Vec<TimelineEntry>, u64) {
        let lines = self.lines.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        (lines, self.dropped.into_inner())
    }
}

/// Where a finding comes from, for the timeline.
pub fn source_of(f: &Finding) -> &'static str {
    if f.log.is_some() {
        return "log";
    }
    if let Some(h) = f.details.get("history").and_then(|v| v.as_str()) {
        return if h == "$MFT" { "$MFT" } else { "$J" };
    }
    let detail = f.details.get("artefact").and_then(|v| v.as_str()).unwrap_or("");
    match detail {
        "amcache" => "Amcache",
        "shimcache" => "ShimCache",
        "autostart" | "registry" => "registry key last-write",
        "$J" => "$J",
        "$MFT" => "$MFT",
        _ if f.engine == Engine::Artefact => "registry key last-write",
        _ => "file",
    }
}

/// The timeline: every finding with a time, and the records, sorted by time, then source,
/// then path.
pub fn merge(findings: &[Finding], records: &[TimelineEntry]) -> Vec<TimelineEntry> {
    let mut out: Vec<TimelineEntry> = records.to_vec();
    for f in findings {
        let Some(time) = f.time else { continue };
        out.push(TimelineEntry {
            time,
            source: source_of(f).to_owned(),
            finding: true,
            what: f.message.clone().unwrap_or_else(|| f.rule.name.clone()),
            path: f.path.as_ref().map(|p| p.lossy().into_owned()),
            rule: Some(f.rule.id.clone()),
            severity: Some(f.severity),
            campaign: f.details.get("campaign").and_then(|v| v.as_str()).map(str::to_owned),
        });
    }
    out.sort_by(|a, b| {
        a.time
            .cmp(&b.time)
            .then_with(|| b.finding.cmp(&a.finding))
            .then_with(|| a.source.cmp(&b.source))
            .then_with(|| a.path.cmp(&b.path))
            .then_with(|| a.what.cmp(&b.what))
    });
    out
}
