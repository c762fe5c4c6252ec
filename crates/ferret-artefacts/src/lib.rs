//! ferret-artefacts: Windows artefacts that outlive the files they describe.
//!
//! * [`hive`]: a bounded, read-only reader of registry hive files (`regf`), which replays the
//!   transaction logs (`.LOG1`/`.LOG2`, the `HvLE` format of Windows 8.1 and later) found
//!   beside a dirty hive in memory, never on disk, and recognises the hive's kind (SYSTEM,
//!   SOFTWARE, NTUSER.DAT, UsrClass.dat, Amcache.hve) from its keys, not its name.
//! * [`amcache`]: `Root\InventoryApplicationFile` entries (SHA-1 of the first 30 MiB, path,
//!   link date, key time).
//! * [`shimcache`]: the AppCompatCache value of a SYSTEM hive (Windows 10/8.1 `10ts` entries,
//!   Windows 8.0 `00ts`, Windows 7/2008 R2 x64).
//! * [`ntfs`]: NTFS history, the `$MFT` (live and deleted records, both time sets) and the
//!   change journal (`$UsnJrnl:$J`), from disk images or raw collected files, as [`ntfs::Change`]s
//!   with paths, matched against the file-name indicators.
//! * [`examine`](mod@examine): notes hives and NTFS history files by their first bytes as a
//!   scan (or a walk of its own) reads every file, inside disk images and collections too,
//!   and matches their execution evidence against a loaded [`ferret_ioc::IocSet`] (findings
//!   of engine `artefact`).
//!
//! Every hive problem (truncated, bad checksum, dirty without logs, a cell out of bounds) is
//! a [`ferret_core::Problem`] naming the file; nothing here panics on any input, and every
//! list the hive declares is bounded by the bytes that hold it.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

pub mod amcache;
mod bytes;
pub mod examine;
pub mod hive;
mod log;
pub mod ntfs;
pub mod shimcache;

pub use examine::{ArtefactOptions, Candidates, examine, find_hives};
pub use hive::{DeletedValue, Hive, HiveError, HiveKind, Key, Value};

/// The README's example, run as a doctest so it keeps compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
