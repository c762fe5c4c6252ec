//! What to check and how: the run's configuration, built by the CLI.

use std::path::PathBuf;
use std::sync::Arc;

use ferret_core::Cancel;
use ferret_logs::ReadOptions;

use crate::campaign::Campaign;
use crate::intel::CheckIntel;
use crate::netioc::NetIndicators;

/// The configuration of one `ferret check` run.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Files or directories to examine (walked recursively; symlinks are not followed).
    pub paths: Vec<PathBuf>,
    /// The campaigns asked for. Empty: every campaign whose inputs are present.
    pub campaigns: Vec<Campaign>,
    /// An integrity manifest of the product tree (ferret's manifest format): files under the
    /// web folders that it does not list are new.
    pub manifest: Option<PathBuf>,
    /// The vendor's public key (PEM) for checking a Pulse Connect Secure manifest signature.
    pub vendor_key: Option<PathBuf>,
    /// The vendor's manifest for the appliance's release (`<path> <sha256>` lines): entries of
    /// the on-box manifest that it does not hold were never shipped.
    pub vendor_manifest: Option<PathBuf>,
    /// Host identities to match SUNBURST DNS queries against (`MAC,DOMAIN,MACHINEGUID`).
    pub match_hosts: Vec<String>,
    /// Log reader limits.
    pub read: ReadOptions,
    /// Largest file content read for file detectors, in bytes.
    pub max_file_read: u64,
    /// Exclude globs for the walk (as `ferret scan --exclude`).
    pub excludes: Vec<String>,
    /// The campaign knowledge the detectors read: the built-in `intel/` tables, or a verified
    /// intel pack that replaces them.
    pub intel: Arc<CheckIntel>,
    /// Files larger than this are not examined: each is reported as skipped, and the run is
    /// incomplete (a log or file left unread may hold the evidence). Default: no limit.
    pub max_file_size: u64,
    /// Walker threads (0: one per CPU).
    pub threads: usize,
    /// Network indicators of loaded rule files (`check --rules`), looked for in the logs read
    /// ([`crate::netioc`]).
    pub network: Arc<NetIndicators>,
    /// Raised to stop early (SIGINT): no new file is started, and no campaign is decided
    /// NOT FOUND on what was read so far.
    pub cancel: Cancel,
    /// Build the timeline of the campaigns' windows (`check --timeline`,
    /// [`crate::timeline`]): the artefact records are returned in [`crate::Outcome::timeline`].
    pub timeline: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            paths: Vec::new(),
            campaigns: Vec::new(),
            manifest: None,
            vendor_key: None,
            vendor_manifest: None,
            match_hosts: Vec::new(),
            read: ReadOptions::default(),
            max_file_read: 64 * 1024 * 1024,
            excludes: Vec::new(),
            intel: CheckIntel::builtin(),
            max_file_size: u64::MAX,
            threads: 0,
            network: Arc::new(NetIndicators::default()),
            cancel: Cancel::default(),
            timeline: false,
        }
    }
}
