//! ferret-integrity: signed manifests of a file tree, and checking a tree against them.
//!
//! The trust anchor is a public key the operator brings from elsewhere. A **manifest**
//! ([`manifest`]) lists every path under a root — type, size, mode, owner, digest, symlink
//! target, security xattrs — sorted, so that a tree of any size can be checked by a streaming
//! merge-join in bounded memory. It is signed with minisign ([`sign`]) so that `minisign -V`
//! can check it too.
//!
//! Entry points:
//! - [`baseline::baseline`] walks a root and writes a manifest;
//! - [`baseline::baseline_evidence`] does the same for the file systems of a disk image or a
//!   triage collection ([`evidence::Evidence`], opened by `ferret_evidence::open_one`);
//! - [`verify::verify`] checks a root against a manifest, pushing findings (engine
//!   `integrity`) into a [`ferret_core::Sink`], and [`verify::verify_evidence`] checks
//!   evidence;
//! - [`diff::diff`] compares two manifests;
//! - [`dpkg::verify_dpkg`] checks installed Debian packages against their recorded MD5 sums
//!   and looks for files no package owns where packages install, rolled up per package.
//!
//! Directives (what a coordinator asks a fleet to run) are signed and opened with the same
//! machinery in their own role ([`directive`]).
//!
//! Each engine takes a stop flag ([`ferret_core::Cancel`], in [`tree::WalkOptions`] and
//! [`dpkg::DpkgOptions`]) and ends at the next file when it is raised.
//!
//! What is expected to change (logs, caches) and which attributes are compared is a
//! [`policy::Policy`]. Nothing here prints or exits; per-item failures are
//! [`ferret_core::Problem`]s.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

pub mod baseline;
pub mod compare;
pub mod diff;
pub mod directive;
pub mod dpkg;
pub mod evidence;
pub mod intel_pack;
pub mod manifest;
pub mod policy;
pub mod sign;
pub mod tree;
pub mod verify;

pub use manifest::{
    Entry, EntryKind, EvidenceInfo, HashAlgorithm, Header, ManifestError, ManifestKind, PathStyle,
};
pub use policy::{AttrSet, Policy};

/// The README's example, run as a doctest so it keeps compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
