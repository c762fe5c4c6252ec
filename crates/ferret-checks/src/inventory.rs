//! What the paths hold: the files the walk met, the markers that say which products are
//! installed there, and the logs read, by source.
//!
//! A [`Marker`] is recognised from a path alone (an Exchange install, an IIS web root, the
//! ProgramData folder, an Orion install, a Pulse Connect Secure tree); a [`LogSource`] is
//! decided when a log is read, from its format, its `#Log-type:` channel and its path. Both are
//! [`crate::Input`]s: a detector ran when one of its inputs was present.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use ferret_core::SourceSpan;
use ferret_logs::LogFormat;

/// Which kind of log a file is, as far as the detectors care.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogSource {
    /// Exchange HttpProxy logs (`Logging\HttpProxy\<protocol>\*.log`).
    ExchangeHttpProxy,
    /// Exchange ECP server logs (`Logging\ECP\Server\*.log`).
    ExchangeEcpServer,
    /// Exchange OABGenerator logs (`Logging\OABGeneratorLog\*.log`).
    ExchangeOabGenerator,
    /// Another Exchange CSV log.
    ExchangeOther,
    /// IIS (W3C extended) logs.
    Iis,
    /// Apache/nginx-style access logs (e.g. a Pulse Connect Secure web log export).
    WebAccess,
    /// Windows event logs (EVTX or its JSON exports).
    WindowsEvent,
    /// DNS query logs (Windows DNS debug, BIND, Zeek).
    Dns,
    /// syslog.
    Syslog,
    /// Any other log ferret reads (JSON lines, other Zeek logs).
    Other,
}

impl LogSource {
    /// Every source.
    pub const ALL: [LogSource; 10] = [
        LogSource::ExchangeHttpProxy,
        LogSource::ExchangeEcpServer,
        LogSource::ExchangeOabGenerator,
        LogSource::ExchangeOther,
        LogSource::Iis,
        LogSource::WebAccess,
        LogSource::WindowsEvent,
        LogSource::Dns,
        LogSource::Syslog,
        LogSource::Other,
    ];

    /// The name used in reports (`exchange-httpproxy`, `iis`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            LogSource::ExchangeHttpProxy => "exchange-httpproxy",
            LogSource::ExchangeEcpServer => "exchange-ecp-server",
            LogSource::ExchangeOabGenerator => "exchange-oabgenerator",
            LogSource::ExchangeOther => "exchange-other",
            LogSource::Iis => "iis",
            LogSource::WebAccess => "web-access",
            LogSource::WindowsEvent => "windows-event",
            LogSource::Dns => "dns",
            LogSource::Syslog => "syslog",
            LogSource::Other => "other",
        }
    }

    /// What it is, for "what was missing" sentences.
    pub fn describe(self) -> &'static str {
        match self {
            LogSource::ExchangeHttpProxy => "Exchange HttpProxy logs (Logging\\HttpProxy)",
            LogSource::ExchangeEcpServer => "Exchange ECP server logs (Logging\\ECP\\Server)",
            LogSource::ExchangeOabGenerator => {
                "Exchange OABGenerator logs (Logging\\OABGeneratorLog)"
            }
            LogSource::ExchangeOther => "other Exchange logs",
            LogSource::Iis => "IIS logs (inetpub\\logs\\LogFiles\\W3SVC*)",
            LogSource::WebAccess => "web access logs",
            LogSource::WindowsEvent => "Windows event logs (EVTX or JSON exports)",
            LogSource::Dns => "DNS query logs",
            LogSource::Syslog => "syslog",
            LogSource::Other => "other logs",
        }
    }

    /// Decides the source of a log from its format, its channel (`#Log-type:`) and its path.
    pub fn classify(path: &Path, format: LogFormat, channel: Option<&str>) -> LogSource {
        match format {
            LogFormat::Evtx | LogFormat::EvtxJson => LogSource::WindowsEvent,
            LogFormat::DnsWindows | LogFormat::DnsBind | LogFormat::ZeekDns => LogSource::Dns,
            LogFormat::Access => LogSource::WebAccess,
            LogFormat::Syslog => LogSource::Syslog,
            LogFormat::W3c => LogSource::Iis,
            LogFormat::Json | LogFormat::Zeek => LogSource::Other,
            LogFormat::ExchangeCsv => {
                let p = normalized(path);
                let c = channel.unwrap_or("").to_ascii_lowercase();
                if p.contains("/httpproxy/") || c.contains("httpproxy") {
                    LogSource::ExchangeHttpProxy
                } else if p.contains("/oabgeneratorlog/") || c.contains("oabgenerator") {
                    LogSource::ExchangeOabGenerator
                } else if p.contains("/ecp/server/") || (c.contains("ecp") && c.contains("server"))
                {
                    LogSource::ExchangeEcpServer
                } else {
                    LogSource::ExchangeOther
                }
            }
        }
    }
}

impl fmt::Display for LogSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A product or place recognised from a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Marker {
    /// An Exchange install (`…\Exchange Server\V15\…`, `FrontEnd\HttpProxy`, `ClientAccess`).
    ExchangeInstall,
    /// An IIS web root (`inetpub\wwwroot`).
    IisWebRoot,
    /// The `ProgramData` folder of a Windows system drive.
    ProgramData,
    /// A SolarWinds Orion install (`SolarWinds\Orion`).
    OrionInstall,
    /// A Pulse Connect Secure tree (`home/etc/manifest/manifest`).
    PulseTree,
}

impl Marker {
    /// Every marker.
    pub const ALL: [Marker; 5] = [
        Marker::ExchangeInstall,
        Marker::IisWebRoot,
        Marker::ProgramData,
        Marker::OrionInstall,
        Marker::PulseTree,
    ];

    /// What it is, for "what was missing" sentences.
    pub fn describe(self) -> &'static str {
        match self {
            Marker::ExchangeInstall => {
                "an Exchange install tree (Program Files\\Microsoft\\Exchange Server\\V15)"
            }
            Marker::IisWebRoot => "an IIS web root (inetpub\\wwwroot)",
            Marker::ProgramData => "the ProgramData folder of the system drive",
            Marker::OrionInstall => "a SolarWinds Orion install (SolarWinds\\Orion)",
            Marker::PulseTree => {
                "a Pulse Connect Secure image or tree (home/etc/manifest/manifest)"
            }
        }
    }

    /// The markers a path carries (`path` as reached by the walk; `\` and `/` both separate).
    pub fn of(path: &Path) -> impl Iterator<Item = Marker> {
        let p = normalized(path);
        let p = format!("/{}", p.trim_start_matches('/'));
        Marker::ALL.into_iter().filter(move |m| m.matches(&p))
    }

    fn matches(self, p: &str) -> bool {
        match self {
            Marker::ExchangeInstall => {
                p.contains("/exchange server/v15/")
                    || p.contains("/frontend/httpproxy/")
                    || p.contains("/v15/clientaccess/")
            }
            Marker::IisWebRoot => {
                p.contains("/inetpub/wwwroot/") || p.ends_with("/inetpub/wwwroot")
            }
            Marker::ProgramData => p.contains("/programdata/") || p.ends_with("/programdata"),
            Marker::OrionInstall => {
                p.contains("/solarwinds/orion/") || p.ends_with("/solarwinds/orion")
            }
            Marker::PulseTree => p.ends_with("/home/etc/manifest/manifest"),
        }
    }
}

/// A path lowercased with `\` turned into `/`, for matching Windows layouts on any host.
pub fn normalized(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/").to_ascii_lowercase()
}

/// One log read: its source and what it covered.
#[derive(Clone, Debug)]
pub struct LogRead {
    /// The file.
    pub path: PathBuf,
    /// Its source.
    pub source: LogSource,
    /// Events read.
    pub events: u64,
    /// The oldest event.
    pub first: Option<DateTime<Utc>>,
    /// The newest event.
    pub last: Option<DateTime<Utc>>,
    /// Whether reading stopped before the end of the file (a cut-short copy, a read error).
    pub truncated: bool,
    /// The time zone assumed for times written without one, if any (`"UTC"`).
    pub assumed_timezone: Option<&'static str>,
}

/// Everything the walk saw, handed to tree detectors and used for the verdicts.
#[derive(Clone, Debug, Default)]
pub struct Inventory {
    /// The roots given.
    pub roots: Vec<PathBuf>,
    /// Every regular file, sorted by path, with its size.
    pub files: Vec<(PathBuf, u64)>,
    /// The markers found, with the first few paths that carried each (sorted).
    pub markers: BTreeMap<Marker, Vec<PathBuf>>,
    /// The logs read, in path order.
    pub logs: Vec<LogRead>,
    /// The kinds of the registry hives read, in path order.
    pub hives: Vec<ferret_artefacts::HiveKind>,
    /// NTFS history read: `$MFT` and `$UsnJrnl:$J` files or volumes.
    pub ntfs_history: u64,
}

impl Inventory {
    /// Most paths kept per marker.
    pub const MAX_MARKER_PATHS: usize = 16;

    /// Whether a marker was found.
    pub fn has(&self, m: Marker) -> bool {
        self.markers.contains_key(&m)
    }

    /// Whether logs of a source were read.
    pub fn has_log(&self, s: LogSource) -> bool {
        self.logs.iter().any(|l| l.source == s)
    }

    /// The regular files whose path (normalized: lowercase, `/`) ends with `suffix`.
    pub fn files_ending_with<'a>(
        &'a self,
        suffix: &'a str,
    ) -> impl Iterator<Item = &'a (PathBuf, u64)> + 'a {
        let suffix = suffix.to_ascii_lowercase();
        self.files.iter().filter(move |(p, _)| normalized(p).ends_with(&suffix))
    }

    /// The time span of each log source read, in source order.
    pub fn spans(&self) -> Vec<SourceSpan> {
        let mut by: BTreeMap<LogSource, SourceSpan> = BTreeMap::new();
        for l in &self.logs {
            let s = by.entry(l.source).or_insert_with(|| SourceSpan {
                source: l.source.as_str().to_owned(),
                ..SourceSpan::default()
            });
            s.files += 1;
            s.events += l.events;
            if let Some(f) = l.first {
                s.first = Some(s.first.map_or(f, |x| x.min(f)));
            }
            if let Some(t) = l.last {
                s.last = Some(s.last.map_or(t, |x| x.max(t)));
            }
        }
        by.into_values().collect()
    }

    pub(crate) fn mark(&mut self, path: &Path) {
        for m in Marker::of(path) {
            let v = self.markers.entry(m).or_default();
            if v.len() < Self::MAX_MARKER_PATHS {
                v.push(path.to_path_buf());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_from_windows_and_unix_paths() {
        let m: Vec<Marker> = Marker::of(Path::new(
            "/mnt/c/Program Files/Microsoft/Exchange Server/V15/FrontEnd/HttpProxy/owa/auth/x.aspx",
        ))
        .collect();
        assert_eq!(m, [Marker::ExchangeInstall]);
        let m: Vec<Marker> = Marker::of(Path::new("C:\\ProgramData\\lsass.dmp")).collect();
        assert_eq!(m, [Marker::ProgramData]);
        let m: Vec<Marker> = Marker::of(Path::new("img/home/etc/manifest/manifest")).collect();
        assert_eq!(m, [Marker::PulseTree]);
        assert_eq!(Marker::of(Path::new("/var/log/syslog")).count(), 0);
    }

    #[test]
    fn exchange_sources_by_path_and_channel() {
        let c = |p: &str, ch: Option<&str>| {
            LogSource::classify(Path::new(p), LogFormat::ExchangeCsv, ch)
        };
        assert_eq!(
            c("V15/Logging/HttpProxy/Ecp/HttpProxy_1.log", None),
            LogSource::ExchangeHttpProxy
        );
        assert_eq!(c("x.log", Some("HttpProxy Logs")), LogSource::ExchangeHttpProxy);
        assert_eq!(c("V15/Logging/ECP/Server/ECPServer_1.log", None), LogSource::ExchangeEcpServer);
        assert_eq!(
            c("V15/Logging/OABGeneratorLog/OAB_1.log", None),
            LogSource::ExchangeOabGenerator
        );
        assert_eq!(c("x.log", None), LogSource::ExchangeOther);
    }
}
