//! The campaigns `ferret check` answers for and the time window each one's traces fall in
//! (`data/campaign-windows.tsv`). Shared by the detector API ([`crate::detector`]) and the run's
//! configuration ([`crate::options`]).

use std::fmt;

/// A campaign `ferret check` answers for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Campaign {
    /// Microsoft Exchange ProxyLogon (CVE-2021-26855/26857/26858/27065), AA21-062A.
    ProxyLogon,
    /// SolarWinds Orion SUNBURST (AA20-352A).
    Sunburst,
    /// Pulse Connect Secure backdoors (AA21-110A, ED 21-03).
    PulseSecure,
    /// Ivanti Connect Secure (the renamed Pulse Connect Secure): CVE-2023-46805 with
    /// CVE-2024-21887, CVE-2025-0282 and CVE-2025-22457 (ED 24-01, AA24-060B).
    IvantiConnectSecure,
    /// Microsoft Exchange ProxyShell (CVE-2021-34473/34523/31207).
    ProxyShell,
}

impl Campaign {
    /// What must be present for a clean result to mean NOT FOUND, for "what was missing".
    pub fn core_inputs(self) -> &'static str {
        match self {
            Campaign::ProxyLogon | Campaign::ProxyShell => {
                "an Exchange install or Exchange/IIS logs"
            }
            Campaign::Sunburst => "an Orion install or DNS query logs",
            Campaign::PulseSecure => "a Pulse Connect Secure tree (home/etc/manifest/manifest)",
            Campaign::IvantiConnectSecure => {
                "an Ivanti Connect Secure tree (home/etc/manifest/manifest)"
            }
        }
    }

    /// Every campaign, in report order.
    pub const ALL: [Campaign; 5] = [
        Campaign::ProxyLogon,
        Campaign::Sunburst,
        Campaign::PulseSecure,
        Campaign::IvantiConnectSecure,
        Campaign::ProxyShell,
    ];

    /// The id used on the command line and in reports.
    pub fn id(self) -> &'static str {
        match self {
            Campaign::ProxyLogon => "proxylogon",
            Campaign::Sunburst => "sunburst",
            Campaign::PulseSecure => "pulse-secure",
            Campaign::IvantiConnectSecure => "ivanti-connect-secure",
            Campaign::ProxyShell => "proxyshell",
        }
    }

    /// The title shown with the verdict.
    pub fn title(self) -> &'static str {
        match self {
            Campaign::ProxyLogon => {
                "ProxyLogon: Exchange CVE-2021-26855/26857/26858/27065 (AA21-062A)"
            }
            Campaign::Sunburst => "SUNBURST: SolarWinds Orion supply chain (AA20-352A)",
            Campaign::PulseSecure => {
                "Pulse Connect Secure exploitation and backdoors (AA21-110A, ED 21-03)"
            }
            Campaign::IvantiConnectSecure => {
                "Ivanti Connect Secure: CVE-2023-46805/CVE-2024-21887, CVE-2025-0282, CVE-2025-22457 (ED 24-01, AA24-060B)"
            }
            Campaign::ProxyShell => "ProxyShell: Exchange CVE-2021-34473/34523/31207",
        }
    }

    /// The time window that matters for the campaign, as published (`data/campaign-windows.tsv`).
    pub fn window(self) -> Option<Window> {
        WINDOWS_TSV
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(Window::parse)
            .find(|(id, _)| *id == self.id())
            .map(|(_, w)| w)
    }

    /// Parses an id as given by [`Campaign::id`] (case-insensitive; `pulse` and `ivanti` also
    /// accepted).
    pub fn parse(s: &str) -> Option<Campaign> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "pulse" | "pulsesecure" => Some(Campaign::PulseSecure),
            "ivanti" | "ics" => Some(Campaign::IvantiConnectSecure),
            _ => Campaign::ALL.into_iter().find(|c| c.id() == s),
        }
    }
}

static WINDOWS_TSV: &str = include_str!("../data/campaign-windows.tsv");

/// The time window a campaign's traces fall in, with its published source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// First day (UTC).
    pub from: chrono::NaiveDate,
    /// Last day (UTC); `None`: no end.
    pub to: Option<chrono::NaiveDate>,
    /// Who says so.
    pub source: &'static str,
}

impl Window {
    /// Parses one row `campaign\tfrom\tto\tsource` (dates `YYYY-MM-DD`, `to` may be empty).
    fn parse(line: &'static str) -> Option<(&'static str, Window)> {
        let mut it = line.split('\t');
        let id = it.next()?;
        let date = |s: &str| chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
        let from = date(it.next()?)?;
        let to = it.next()?;
        let to = if to.trim().is_empty() { None } else { Some(date(to)?) };
        Some((id, Window { from, to, source: it.next()?.trim() }))
    }

    /// `from 2021-01-03` or `2020-03-01 to 2020-12-31`.
    pub fn describe(&self) -> String {
        match self.to {
            Some(to) => format!("{} to {}", self.from, to),
            None => format!("from {}, no end", self.from),
        }
    }

    /// The source's title without its URL.
    pub fn source_title(&self) -> &'static str {
        self.source.split(" <").next().unwrap_or(self.source)
    }
}

impl fmt::Display for Campaign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}
