//! A directory of the live system as an evidence source: listed by `ferret_fs::Walker`, read
//! through `ferret_fs::open_read_only` (ferret-fs stays the only door to local files).

use std::io;
use std::path::PathBuf;

use ferret_core::{Cancel, ReportPath, Sink};
use ferret_fs::{WalkOptions, Walker};

use crate::entry::{Entry, EntryKind, Handle, ListStats, ReadSeek, Source};

/// A local directory (or file), walked without following symlinks.
#[derive(Clone, Debug)]
pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    /// A source over `root`.
    pub fn new(root: impl Into<PathBuf>) -> LocalDir {
        LocalDir { root: root.into() }
    }
}

impl Source for LocalDir {
    fn describe(&self) -> String {
        self.root.to_string_lossy().into_owned()
    }

    fn entries(&self, sink: &dyn Sink, cancel: &Cancel, visit: &mut dyn FnMut(Entry)) -> ListStats {
        let opts = WalkOptions {
            roots: vec![self.root.clone()],
            threads: 1,
            cancel: cancel.clone(),
            ..WalkOptions::default()
        };
        let walker = match Walker::new(opts) {
            Ok(w) => w,
            Err(e) => {
                sink.problem(ferret_core::Problem::at(
                    ferret_core::ProblemKind::Walk,
                    self.root.as_path(),
                    e.to_string(),
                ));
                return ListStats { errors: 1, ..ListStats::default() };
            }
        };
        // The walker calls its visitors on its own threads: entries come back over a
        // channel and are handed to `visit` here, in the caller's thread.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Entry>(1024);
        let mut stats = ListStats::default();
        std::thread::scope(|scope| {
            let walked = scope.spawn(move || {
                walker.run(
                    || {
                        let tx = tx.clone();
                        move |e: ferret_fs::Entry<'_>| {
                            let kind = match e.kind {
                                ferret_fs::EntryKind::File => EntryKind::File,
                                ferret_fs::EntryKind::Dir => EntryKind::Dir,
                                // Symlinks and special files have no data to read.
                                _ => return,
                            };
                            let _ = tx.send(Entry {
                                path: ReportPath::from(e.path),
                                kind,
                                size: if kind == EntryKind::File { e.meta.len() } else { 0 },
                                provenance: None,
                                unreadable: None,
                                handle: Handle::Local(e.path.to_path_buf()),
                            });
                        }
                    },
                    sink,
                )
            });
            for e in rx {
                visit(e);
            }
            if let Ok(w) = walked.join() {
                stats.errors = w.errors;
            }
        });
        stats
    }

    fn open(&self, entry: &Entry) -> io::Result<Box<dyn ReadSeek + '_>> {
        let Handle::Local(path) = &entry.handle else {
            return Err(io::Error::new(io::ErrorKind::Unsupported, "not a local file"));
        };
        let (file, _) =
            ferret_fs::open_read_only(path).map_err(|e| io::Error::other(e.to_string()))?;
        Ok(Box::new(file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn lists_and_reads_through_ferret_fs() {
        let tree = ferret_testkit::Tree::new();
        tree.file("a/b.txt", "hello");
        tree.fifo("a/pipe");
        let src = LocalDir::new(tree.root());
        let sink = ferret_core::Collector::default();
        let mut files = Vec::new();
        src.entries(&sink, &Cancel::default(), &mut |e| {
            if e.kind == EntryKind::File {
                files.push(e);
            }
        });
        assert_eq!(files.len(), 1, "the FIFO is not a file to read");
        assert_eq!(files[0].file_name(), "b.txt");
        let mut text = String::new();
        src.open(&files[0]).unwrap().read_to_string(&mut text).unwrap();
        assert_eq!(text, "hello");
    }
}
