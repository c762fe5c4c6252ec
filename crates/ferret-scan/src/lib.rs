//! ferret-scan: sweep files for known-bad hashes, names and YARA rules.
//!
//! Entry points: [`RuleSet::load`] gathers rules (the built-in pack, `--rules` files and
//! directories, compiled bundles) and reports every file or line it could not load;
//! [`scan`] walks the targets through `ferret-fs`, reads each regular file once, computes
//! only the digests the loaded indicators need, runs YARA over the same bytes and pushes
//! findings and problems into a sink. yara-x is linked here and nowhere else.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

mod bundle;
mod cache;
mod filetype;
mod intel_doc;
mod own;
mod rules;
mod scan;
mod tiers;
mod yara;

pub use bundle::BUNDLE_MAGIC;
pub use cache::YARA_X_VERSION;
/// Whether an intel table (`CAMPAIGN/NAME.tsv`) is one the built-in pack reads.
pub use ferret_ioc::intel::is_scan_table;
pub use own::OwnFiles;
pub use rules::{LoadOptions, RuleSet, RuleSource, builtin_sha256, write_bundle};
pub use scan::{ScanConfig, scan, scan_noting};

/// The README's example, run as a doctest so it keeps compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
