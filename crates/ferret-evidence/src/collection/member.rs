//! How a member's data is found again (kept apart from the listing, which makes entries,
//! so that an entry's handle does not depend on the code that lists it).

use std::sync::Arc;

/// How a member's data is found again.
#[derive(Clone, Debug)]
pub(crate) enum MemberData {
    /// A zip member: its central-directory record.
    Zip(Box<super::zip::ZipMember>),
    /// A plain tar member: a window onto the archive.
    Window { offset: u64, len: u64 },
    /// A tar.gz member: its place in the decompressed stream.
    Stream { offset: u64, len: u64 },
    /// A small tar.gz member, read while listing.
    Memory(Arc<[u8]>),
}
