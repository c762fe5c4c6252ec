//! [`Notice`]: what a reader of every file (the file scan) tells a later step about the files
//! it reads, so that step can pick the files it wants by their first bytes (registry hives,
//! NTFS history) without listing or reading the tree again.

use std::path::Path;
use std::sync::Arc;

use crate::{Entry, Source};

/// How many first bytes of a file read a [`Notice`] is given at least (where the file has
/// them).
pub const NOTICE_HEAD: usize = ferret_fs::hash::HEAD;

/// Told about the files a reader meets, from the reading threads.
pub trait Notice: Sync {
    /// A local file met in a walk: `head` holds its first bytes as read (at least
    /// [`NOTICE_HEAD`] where the file has them), `None` when it was not read (over a size
    /// limit, or nothing about its content was wanted).
    fn local(&self, path: &Path, size: u64, head: Option<&[u8]>);
    /// A file inside evidence (a disk image, a collection), with its source: `head` as for
    /// [`Notice::local`].
    fn entry(&self, src: &Arc<dyn Source>, entry: &Entry, head: Option<&[u8]>);
}

/// Notes nothing.
impl Notice for () {
    fn local(&self, _: &Path, _: u64, _: Option<&[u8]>) {}
    fn entry(&self, _: &Arc<dyn Source>, _: &Entry, _: Option<&[u8]>) {}
}
