//! The campaigns `ferret check` answers for and the time window each one's traces fall in
//! (`intel/campaigns/windows.tsv`). Shared by the detector API ([`crate::detector`]) and the run's
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

/// The time window a campaign's traces fall in, with its published source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// First day (UTC).
    pub from: chrono::NaiveDate,
    /// Last day (UTC); `None`: no end.
    pub to: Option<chrono::NaiveDate>,
    /// Who says so, and why: `title: note <URL>`.
    pub source: String,
}

impl Window {
    /// Reads one row of `campaigns/windows.tsv` (`from`, `to` dates `YYYY-MM-DD`, `to` may be
    /// empty; `note`, `source`).
    pub(crate) fn from_row(row: &ferret_intel::Row) -> Option<Window> {
        let date = |s: &str| chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
        let from = date(row.field("from"))?;
        let to = row.field("to");
        let to = if to.trim().is_empty() { None } else { Some(date(to)?) };
        let src = row.source();
        let (title, url) = match src.find(" <") {
            Some(i) => (src.get(..i).unwrap_or(src), src.get(i..).unwrap_or("")),
            None => (src, ""),
        };
        let note = row.field("note");
        let source = if note.is_empty() { src.to_owned() } else { format!("{title}: {note}{url}") };
        Some(Window { from, to, source })
    }

    /// `from 2021-01-03` or `2020-03-01 to 2020-12-31`.
    pub fn describe(&self) -> String {
        match self.to {
            Some(to) => format!("{} to {}", self.from, to),
            None => format!("from {}, no end", self.from),
        }
    }

    /// The source's title without its URL.
    pub fn source_title(&self) -> &str {
        self.source.split(" <").next().unwrap_or(&self.source)
    }
}

impl fmt::Display for Campaign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}
