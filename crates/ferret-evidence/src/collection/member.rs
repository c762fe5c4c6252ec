//! How a member's data is found again (kept apart from the listing, which makes entries,
//! so that an entry's handle does not depend on the code that lists it).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// How a member's data is found again.
#[derive(Clone, Debug)]
pub(crate) enum MemberData {
    /// A zip member: its central-directory record.
    Zip(Box<super::zip::ZipMember>),
    /// A plain tar member: a window onto the archive.
    Window { offset: u64, len: u64 },
    /// A tar.gz member: its place in the decompressed stream.
    Stream { offset: u64, len: u64 },
    /// A tar.gz member read while listing.
    Memory(Arc<Inline>),
}

/// A member's bytes held in memory, counted against its archive's budget until dropped.
#[derive(Debug)]
pub(crate) struct Inline {
    bytes: Vec<u8>,
    budget: Arc<AtomicU64>,
}

impl Inline {
    /// Holds `bytes`, already added to `budget`.
    pub(crate) fn new(bytes: Vec<u8>, budget: Arc<AtomicU64>) -> Inline {
        Inline { bytes, budget }
    }
}

impl Drop for Inline {
    fn drop(&mut self) {
        self.budget.fetch_sub(self.bytes.len() as u64, Ordering::Relaxed);
    }
}

/// `AsRef<[u8]>` over shared inline bytes, for a `Cursor`.
pub(crate) struct Shared(pub(crate) Arc<Inline>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0.bytes
    }
}
