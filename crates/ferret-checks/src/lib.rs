//! ferret-checks: were we hit by ProxyLogon, SUNBURST, the Pulse Secure backdoors, their Ivanti
//! Connect Secure successors or ProxyShell? A verdict per campaign, with the evidence, what was
//! checked and what could not be.
//!
//! Entry points:
//! * [`check`] walks the paths once, reads every log once (dispatching each event to the
//!   detectors that want its source), offers files to the file detectors, runs the tree
//!   detectors, and returns a [`Summary`] whose `details["verdicts"]` holds one
//!   [`ferret_core::CampaignVerdict`] per campaign (AFFECTED / NOT FOUND / UNKNOWN) and whose
//!   `details["coverage"]` lists the logs read with the time span they cover.
//! * [`registry::DETECTORS`]: every detector, listed once; [`docs::render`] renders their docs
//!   into `docs/detectors.md`.
//! * The detector API is in [`detector`]: a new detector is one file exporting a
//!   [`Registration`] and one line in the registry.
//!
//! Invariants: nothing is written; examined files are opened only through `ferret_fs`
//! (directly or through `ferret_logs::read`); every log is read at most once per run; a
//! campaign is AFFECTED only on findings at evidence level (high or critical); a campaign
//! whose detectors had none of their inputs is UNKNOWN, never NOT FOUND.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

pub mod campaign;
pub mod detector;
pub mod docs;
pub mod intel;
pub mod inventory;
pub mod ivanti;
pub mod netioc;
pub mod options;
pub mod proxylogon;
pub mod proxyshell;
pub mod pulse;
pub mod registry;
mod run;
pub mod sunburst;
pub mod timeline;

pub use detector::{Campaign, Detector, Doc, FileEntry, Info, Input, Out, Registration};
pub use ferret_core::Summary;
pub use inventory::{Inventory, LogSource, Marker};
pub use options::CheckOptions;
pub use run::{Outcome, check};

/// Why a check could not start.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// No path to examine was given.
    #[error("no path to check was given")]
    NoPaths,
    /// The walk could not be set up (a bad exclude pattern).
    #[error(transparent)]
    Walk(#[from] ferret_fs::WalkError),
    /// An option a detector needs is unusable.
    #[error("{option}: {reason}")]
    Option {
        /// The option (`--manifest`, `--vendor-key`, …).
        option: &'static str,
        /// Why.
        reason: String,
    },
}

/// The README's example, run as a doctest so it keeps compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
