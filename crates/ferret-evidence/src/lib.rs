//! ferret-evidence: evidence sources under one read-only interface.
//!
//! A [`Source`] lists [`Entry`]s, each with the path the examined host knew it by (for a
//! Windows volume `C:\inetpub\wwwroot\x.aspx`, and `C:\dir\file.aspx:stream` for an
//! alternate data stream), its metadata (size, kind, times) and its [`Provenance`], and
//! opens a reader (`Read + Seek`) for an entry. Implementations:
//!
//! * [`LocalDir`]: a directory of the live system, listed by `ferret_fs::Walker` and read
//!   through `ferret_fs::open_read_only` (ferret-fs stays the only door to local files);
//! * [`ntfs::NtfsSource`]: an NTFS volume inside a disk image, read in place;
//! * [`collection::Collection`]: a triage collection read in place — a zip, tar or tar.gz
//!   archive (plain, Velociraptor or KAPE), or a Velociraptor or KAPE folder, each member
//!   reported under the path the host knew (`C:\inetpub\…`).
//!
//! [`open_image`] recognises a disk image by its content ([`sniff`]): a raw disk with an MBR
//! or GPT partition table, or a bare volume, on its own or inside a container ([`container`]:
//! E01, VHD, VHDX, VMDK, each read as the raw disk it holds), and opens every partition
//! whose file system is supported; [`verify_container`] checks a container's disk against
//! the checksums it stores; every other partition is a [`Problem`](ferret_core::Problem) naming the image, the partition and why.
//!
//! Invariants: nothing here writes; the image is opened once, read-only, through ferret-fs;
//! no input makes this crate panic or loop without bound (every count read from the image
//! is checked against the image's size and against fixed limits).

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

mod bytes;
pub mod collection;
pub mod container;
mod entry;
mod image;
mod local;
pub mod lznt1;
pub mod ntfs;
pub mod partition;
mod target;

pub use collection::{Collection, Limits, open_collection, sniff_collection};
pub use entry::{Entry, EntryKind, ListStats, ReadSeek, Source};
pub use ferret_core::{FileTimes, Provenance};
pub use image::{ImageFile, ReadAt, Slice, read_exact_at};
pub use local::LocalDir;
pub use partition::{Opened, Sniffed, Verified, open_disk, open_image, sniff, verify_container};
pub use target::{EntrySink, is_evidence, open_evidence, open_named, open_one};

/// The README's example, run as a doctest so it keeps compiling.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
