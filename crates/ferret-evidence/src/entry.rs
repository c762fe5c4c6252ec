//! The evidence-source interface: entries with their original path, metadata and
//! provenance, and a reader per entry.

use std::io::{Read, Seek};
use std::path::PathBuf;

use ferret_core::{Cancel, FileTimes, Provenance, ReportPath, Sink};

/// What an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A file or an alternate data stream: has data to read.
    File,
    /// A directory (listed for counting; its named streams are separate `File` entries).
    Dir,
    /// A symbolic link: listed, never followed, never read.
    Symlink,
    /// A FIFO, socket or device node (`ferret_fs::EntryKind::Fifo`, …): listed, never
    /// opened.
    Special(ferret_fs::EntryKind),
}

/// A reader over one entry's data.
pub trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

/// One entry of an evidence source.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The path the examined host knew: a local path, or for NTFS `C:\dir\file` and
    /// `C:\dir\file:stream` for an alternate data stream.
    pub path: ReportPath,
    /// File, directory, symbolic link or special file.
    pub kind: EntryKind,
    /// The data's size in bytes (0 for a directory; a symbolic link's target length).
    pub size: u64,
    /// Where it was found (`None` for a local file).
    pub provenance: Option<Box<Provenance>>,
    /// Set when the entry exists but its data cannot be read here (EFS-encrypted,
    /// WOF/CompactOS-compressed, deduplicated): the reason, for a problem naming the file.
    pub unreadable: Option<String>,
    pub(crate) handle: Handle,
}

impl Entry {
    /// The local file that holds the entry's data, when it is one (an entry of a local
    /// directory, or of a collection that is a local folder such as a KAPE target folder).
    pub fn local_path(&self) -> Option<&std::path::Path> {
        match &self.handle {
            Handle::Local(p) => Some(p),
            _ => None,
        }
    }

    /// The times of the entry (NTFS: `$STANDARD_INFORMATION`; ext2/3/4: the inode's), when
    /// the source keeps them.
    pub fn times(&self) -> Option<&FileTimes> {
        self.provenance.as_ref().and_then(|p| p.standard_information.as_ref().or(p.times.as_ref()))
    }

    /// The file name: the last component of [`Entry::path`] (for an alternate data stream,
    /// `file:stream`), split at `\` or `/`.
    pub fn file_name(&self) -> String {
        let full = self.path.lossy();
        full.rsplit(['\\', '/']).next().unwrap_or_default().to_owned()
    }
}

/// How a source finds an entry's data again.
#[derive(Clone, Debug)]
pub(crate) enum Handle {
    /// A local file.
    Local(PathBuf),
    /// An NTFS stream.
    Ntfs(Box<crate::ntfs::StreamData>),
    /// A member of a collection (zip, tar, tar.gz).
    Member(Box<crate::collection::MemberData>),
    /// A regular file of an ext2/3/4 volume: its inode number.
    Ext4(u32),
    /// Nothing to read (a directory, an unreadable stream).
    None,
}

/// What listing a source counted besides the entries it yielded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListStats {
    /// File-system metadata files not listed (NTFS `$MFT`, `$LogFile`, `$Extend\…`).
    pub metadata_skipped: u64,
    /// Records or entries that could not be read (each one a problem).
    pub errors: u64,
}

/// A read-only evidence source.
pub trait Source: Send + Sync {
    /// A short description for problems and notes (`disk.img, partition 2 (gpt), ntfs`).
    fn describe(&self) -> String;

    /// Lists every entry, calling `visit` for each; an entry that cannot be listed is a
    /// problem in `sink`. Stops early when `cancel` is raised.
    fn entries(&self, sink: &dyn Sink, cancel: &Cancel, visit: &mut dyn FnMut(Entry)) -> ListStats;

    /// Opens an entry's data for reading.
    fn open(&self, entry: &Entry) -> std::io::Result<Box<dyn ReadSeek + '_>>;

    /// The source as `Any`, for what only one kind of source keeps (an NTFS volume's deleted
    /// MFT records and change journal: downcast to `ntfs::NtfsSource`); `None` by default.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
}
