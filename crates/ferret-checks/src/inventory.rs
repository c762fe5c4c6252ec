//! What the paths hold: the files the walk met, the markers that say which products are
//! installed there, and the logs read, by source.
//!
//! A [`Marker`] is recognised from a path alone (an Exchange install, an IIS web root, the
//! ProgramData folder, an Orion install, a Pulse Connect Secure tree); a [`LogSource`] is
//! decided when a log is read, from its format, its `#Log-type:` channel and its path. Both are
//! [`crate::Input`]s: a detector ran when one of its inputs was present.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    /// The files inside the disk images and collections named as targets, for the tree
    /// detectors to read through their source ([`Inventory::read_small`]).
    pub evidence: EvidenceFiles,
}

/// The entries inside the disk images and collections named as targets, by the path the host
/// knew (`/home/etc/manifest/manifest` on an appliance's ext4 partition): a tree detector
/// reads them through their source, never through a local path that happens to have the same
/// name.
#[derive(Clone, Default)]
pub struct EvidenceFiles {
    /// Whether evidence was named at all (else every path is local).
    named: bool,
    /// The folders walked on this system beside the evidence.
    local_roots: Vec<PathBuf>,
    files: HashMap<PathBuf, (Arc<dyn ferret_evidence::Source>, ferret_evidence::Entry)>,
    /// Symbolic links and special files listed inside evidence: present, never read.
    others: HashSet<PathBuf>,
}

impl fmt::Debug for EvidenceFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EvidenceFiles")
            .field("files", &self.files.len())
            .field("others", &self.others.len())
            .field("local_roots", &self.local_roots)
            .finish_non_exhaustive()
    }
}

impl EvidenceFiles {
    /// The evidence files of a run that named `sources` and walked `local_roots`.
    pub(crate) fn new(local_roots: Vec<PathBuf>, named: bool) -> EvidenceFiles {
        EvidenceFiles { named, local_roots, ..EvidenceFiles::default() }
    }

    /// Adds a file of `source`.
    pub(crate) fn add_file(
        &mut self,
        source: &Arc<dyn ferret_evidence::Source>,
        entry: ferret_evidence::Entry,
    ) {
        let path = PathBuf::from(entry.path.lossy().into_owned());
        self.files.insert(path, (Arc::clone(source), entry));
    }

    /// Adds an entry that is present but not read (a link, a special file, a file over the
    /// size limit).
    pub(crate) fn add_other(&mut self, path: PathBuf) {
        self.others.insert(path);
    }

    fn is_local(&self, path: &Path) -> bool {
        !self.named || self.local_roots.iter().any(|r| path.starts_with(r))
    }
}

/// Reads a whole (small) local file through `ferret_fs`, up to `limit` bytes.
pub fn read_local(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let (mut file, meta) = ferret_fs::open_read_only(path).map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    ferret_fs::read_limited(&mut file, &meta, &mut buf, limit).map_err(|e| e.to_string())?;
    Ok(buf)
}

/// The SHA-256 of everything `r` yields, lowercase hex.
fn sha256_of(r: &mut dyn std::io::Read) -> Result<String, String> {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(buf.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(hex::encode(h.finalize()))
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

    /// Reads up to `limit` bytes of the file at `path`: through its source when it lies inside
    /// a disk image or collection named as a target, else through `ferret_fs` when it lies
    /// under a folder walked on this system.
    pub fn read_small(&self, path: &Path, limit: u64) -> Result<Vec<u8>, String> {
        if let Some((src, e)) = self.evidence.files.get(path) {
            let r = src.open(e).map_err(|e| e.to_string())?;
            let mut buf = Vec::new();
            r.take(limit).read_to_end(&mut buf).map_err(|e| e.to_string())?;
            return Ok(buf);
        }
        if self.evidence.is_local(path) {
            return read_local(path, limit);
        }
        Err("not found inside the evidence examined".to_owned())
    }

    /// The SHA-256 of the whole file at `path` (streamed, any size), lowercase hex, read as
    /// [`Inventory::read_small`] reads.
    pub fn sha256_file(&self, path: &Path) -> Result<String, String> {
        if let Some((src, e)) = self.evidence.files.get(path) {
            let mut r = src.open(e).map_err(|e| e.to_string())?;
            return sha256_of(&mut r);
        }
        if !self.evidence.is_local(path) {
            return Err("not found inside the evidence examined".to_owned());
        }
        let (mut file, _) = ferret_fs::open_read_only(path).map_err(|e| e.to_string())?;
        sha256_of(&mut file)
    }

    /// Whether anything is at `path` (a file, a link, a special file, a file left unread for
    /// its size), inside evidence or on this system.
    pub fn is_present(&self, path: &Path) -> bool {
        if self.evidence.files.contains_key(path) || self.evidence.others.contains(path) {
            return true;
        }
        self.evidence.is_local(path) && path.symlink_metadata().is_ok()
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
    fn paths_inside_evidence_are_never_read_from_this_system() {
        let here = std::env::current_exe().unwrap();
        let local = Inventory::default();
        assert!(local.read_small(&here, 16).is_ok(), "no evidence named: a local path");
        assert!(local.is_present(&here));
        let inside =
            Inventory { evidence: EvidenceFiles::new(Vec::new(), true), ..Inventory::default() };
        let err = inside.read_small(&here, 16).unwrap_err();
        assert!(err.contains("not found inside the evidence"), "{err}");
        assert!(inside.sha256_file(&here).is_err());
        assert!(!inside.is_present(&here));
        let beside = Inventory {
            evidence: EvidenceFiles::new(vec![here.parent().unwrap().to_path_buf()], true),
            ..Inventory::default()
        };
        assert!(beside.sha256_file(&here).is_ok(), "under a folder walked beside the evidence");
    }

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
