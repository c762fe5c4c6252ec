//! ferret-core: the vocabulary every ferret engine shares.
//!
//! Data flows one way through ferret: files, logs and hosts go in; [`Finding`]s,
//! [`Problem`]s and a [`Summary`] come out. Engines push findings and problems into a
//! [`Sink`] while they run and return a [`Summary`] when they finish. An `Err` from an
//! engine means only "could not start"; every per-item failure is a [`Problem`].
//!
//! Nothing here does I/O, prints or exits.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

pub mod cancel;
pub mod directive;
pub mod fields;
pub mod finding;
pub mod path;
pub mod problem;
pub mod provenance;
pub mod sink;
pub mod summary;
pub mod text;
pub mod verdict;

pub use cancel::Cancel;
pub use fields::{FieldValue, Fields};
pub use finding::{Engine, Evidence, Finding, LogRef, RuleRef, Severity};
pub use path::ReportPath;
pub use problem::{Problem, ProblemKind};
pub use provenance::{FileTimes, Provenance};
pub use sink::{Collector, NullProgress, Progress, Sink};
pub use summary::{RuleStats, Summary};
pub use verdict::{CampaignVerdict, SourceSpan, TimelineEntry, Verdict};

/// The README's example, run as a doctest so it keeps compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
