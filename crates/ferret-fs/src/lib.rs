//! ferret-fs: the only door to the examined filesystem.
//!
//! * [`open_read_only`] opens a file for reading without following a final symlink, without
//!   blocking on a FIFO, and without updating its access time where the kernel allows; it
//!   refuses anything that is not a regular file once open (checked on the open descriptor,
//!   so a file swapped for a FIFO between listing and opening is still refused).
//! * [`Walker`] walks roots in parallel, yields every entry with its metadata and never opens
//!   anything itself; symlinks are not followed unless asked (and then loops are detected),
//!   pseudo-filesystems are excluded when scanning `/`, excludes are globs.
//! * [`dir`] keeps a walk's directories open and reaches their entries relative to them
//!   (`fstatat`, `openat`), never following a component swapped for a symbolic link.
//! * [`hash`] computes only the digests a caller needs, in one pass over the bytes; large
//!   files are read through memory maps guarded against truncation ([`mapped`]).
//! * [`read_limited`] reads a file into a reused buffer up to a size limit and reports whether
//!   the file changed while it was read.
//!
//! Invariant: nothing here writes to the examined system.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

pub mod dir;
pub mod hash;
pub mod mapped;
mod open;
mod threads;
mod walk;

pub use open::{EntryKind, OpenError, ReadOutcome, open_read_only, read_limited};
pub use threads::ThreadBudget;
pub use walk::{Entry, PathExcludes, WalkError, WalkOptions, WalkStats, Walker, io_reason};

/// The README's example, run as a doctest so it keeps compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
