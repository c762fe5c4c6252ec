//! Hashing large examined files through read-only memory maps, without the risk that a file
//! cut short while mapped kills the process.
//!
//! `read(2)` copies every byte from the page cache into the reader's buffer; for hashing, that
//! copy is the largest cost after the hash itself. A map lets the hasher read the page cache
//! in place. The danger of a map is `SIGBUS`: when another process truncates the file, a read
//! of a mapped page past the new end raises it, and its default action ends the process. An
//! attacker who controls a file on the examined host could stop a sweep that way.
//!
//! So a map is read only inside [`Window::read`], which marks the mapped range as guarded for
//! the calling thread. A `SIGBUS` handler (installed once, chaining to any handler installed
//! before it) that sees a fault inside the guarded range of the faulting thread replaces the
//! rest of the range with zero-filled anonymous memory, notes the fault, and returns: the read
//! goes on over zeros, and the caller, told that the read was cut short, reads the file again
//! with `read(2)` (where truncation and I/O errors are ordinary results). A fault anywhere else
//! goes to the handler that was there before, or to the default action.
//!
//! This module and `priority` in the binary are the only places of ferret with `unsafe` code.

#![expect(
    unsafe_code,
    reason = "mmap, munmap, madvise and sigaction, and the signal handler that keeps a file \
              truncated under a map from ending the process"
)]

use std::cell::Cell;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::OnceLock;

// The guarded range of the current thread (start, end), (0, 0) when none, and whether a
// fault was turned into zeros while guarded.
thread_local! {
    static GUARD: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
    static FAULTED: Cell<bool> = const { Cell::new(false) };
}

/// The `SIGBUS` disposition found when the handler was installed (`None`: not installed, so
/// maps are not used).
static PREVIOUS: OnceLock<Option<libc::sigaction>> = OnceLock::new();

/// Whether the handler is in place (installing it the first time).
fn guard_installed() -> bool {
    PREVIOUS.get_or_init(install).is_some()
}

fn install() -> Option<libc::sigaction> {
    // SAFETY: plain libc calls with zeroed, then filled, sigaction structs; the handler is an
    // `extern "C"` function of the signature SA_SIGINFO requires.
    unsafe {
        let mut new: libc::sigaction = std::mem::zeroed();
        new.sa_sigaction = on_sigbus as *const () as usize;
        new.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&raw mut new.sa_mask);
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGBUS, &raw const new, &raw mut old) != 0 {
            return None;
        }
        Some(old)
    }
}

extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: `info` is the kernel's siginfo for this SIGBUS (SA_SIGINFO).
    let addr = unsafe { (*info).si_addr() } as usize;
    let (start, end) = GUARD.with(Cell::get);
    if start <= addr && addr < end {
        let page = addr & !(page_size() - 1);
        // Anonymous private memory reads as zeros: the rest of the window is replaced, so the
        // faulting read (and every later one in the window) completes.
        // SAFETY: [page, end) lies inside the window the current thread mapped and reads; it
        // stays reserved (MAP_FIXED replaces it in place), and the window unmaps it later.
        let p = unsafe {
            libc::mmap(
                page as *mut libc::c_void,
                end - page,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if p != libc::MAP_FAILED {
            FAULTED.with(|f| f.set(true));
            return;
        }
    }
    // Not a fault of ours: what was there before decides.
    let prev = PREVIOUS.get().copied().flatten();
    match prev {
        Some(p) if p.sa_sigaction != libc::SIG_DFL && p.sa_sigaction != libc::SIG_IGN => {
            if p.sa_flags & libc::SA_SIGINFO != 0 {
                // SAFETY: a handler installed with SA_SIGINFO has this signature.
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    unsafe { std::mem::transmute(p.sa_sigaction) };
                f(sig, info, ctx);
            } else {
                // SAFETY: a handler installed without SA_SIGINFO has this signature.
                let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(p.sa_sigaction) };
                f(sig);
            }
        }
        _ => {
            // The default action: reset it and return, so the faulting access happens again
            // and the kernel applies it (a fault cannot be ignored).
            // SAFETY: sigaction with a zeroed struct whose handler is SIG_DFL.
            unsafe {
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(libc::SIGBUS, &raw const dfl, std::ptr::null_mut());
            }
        }
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf takes an integer and returns one.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).ok().filter(|n| n.is_power_of_two()).unwrap_or(4096)
}

/// A read-only map of part of a file.
pub struct Window {
    ptr: *mut libc::c_void,
    len: usize,
}

impl std::fmt::Debug for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Window").field("len", &self.len).finish_non_exhaustive()
    }
}

impl Window {
    /// Maps `len` bytes of `file` from `offset` (a multiple of the page size), read-only and
    /// private. `None` when maps cannot be used here (no handler, a zero length, an offset not
    /// on a page, or the kernel refused): the caller reads instead.
    pub fn map(file: &File, offset: u64, len: usize) -> Option<Window> {
        let off = libc::off_t::try_from(offset).ok()?;
        if len == 0 || !offset.is_multiple_of(page_size() as u64) || !guard_installed() {
            return None;
        }
        // SAFETY: a fresh read-only private map of an open descriptor; the kernel picks the
        // address. The map is released in Drop.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_POPULATE,
                file.as_raw_fd(),
                off,
            )
        };
        if ptr == libc::MAP_FAILED {
            return None;
        }
        // SAFETY: advice on the range just mapped; failure only loses the hint.
        unsafe { libc::madvise(ptr, len, libc::MADV_SEQUENTIAL) };
        Some(Window { ptr, len })
    }

    /// Runs `f` over the mapped bytes on this thread, with the window guarded. Returns what
    /// `f` returned and whether the file was cut short under the map (then the bytes past the
    /// cut read as zeros: the caller must not trust them). `f` must not hand the bytes to
    /// another thread: only this thread's reads are guarded.
    pub fn read<R>(&self, f: impl FnOnce(&[u8]) -> R) -> (R, bool) {
        let start = self.ptr as usize;
        let outer = GUARD.with(|g| g.replace((start, start + self.len)));
        let outer_fault = FAULTED.with(|x| x.replace(false));
        // SAFETY: the map is live for as long as `self`, `len` bytes long, read-only; pages
        // cut off by a truncation are replaced with zeros by the handler while guarded. The
        // closure cannot keep the slice (its lifetime is bound to this call).
        let bytes = unsafe { std::slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) };
        let out = f(bytes);
        GUARD.with(|g| g.set(outer));
        let faulted = FAULTED.with(|x| x.replace(outer_fault));
        (out, faulted)
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        // SAFETY: the range this window mapped (partly replaced by anonymous memory after a
        // fault, which munmap releases the same way).
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

// The window is only read (PROT_READ) and its bytes are handed out as shared slices.
// SAFETY: see above; the raw pointer is what keeps the type from being Send by default.
unsafe impl Send for Window {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_what_the_file_holds() {
        let mut f = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..3 * 4096u32).map(|i| (i % 251) as u8).collect();
        f.write_all(&data).unwrap();
        let w = Window::map(&f, 4096, 2 * 4096).unwrap();
        let (copy, faulted) = w.read(<[u8]>::to_vec);
        assert!(!faulted);
        assert_eq!(copy, data[4096..]);
    }

    #[test]
    fn a_file_cut_short_under_the_map_is_reported_not_fatal() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&vec![7u8; 16 * 4096]).unwrap();
        let w = Window::map(&f, 0, 16 * 4096).unwrap();
        f.set_len(4096).unwrap();
        let (sum, faulted) = w.read(|b| b.iter().map(|&x| u64::from(x)).sum::<u64>());
        assert!(faulted, "the truncation must be noticed");
        // The first page still holds the file's bytes; the rest read as zeros.
        assert_eq!(sum, 7 * 4096);
        // The next read of an intact map is clean again.
        let mut g = tempfile::tempfile().unwrap();
        g.write_all(&[1u8; 4096]).unwrap();
        let w2 = Window::map(&g, 0, 4096).unwrap();
        assert_eq!(w2.read(<[u8]>::len), (4096, false));
    }

    #[test]
    fn unaligned_offsets_and_empty_windows_are_refused() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&[0u8; 8192]).unwrap();
        assert!(Window::map(&f, 1, 4096).is_none());
        assert!(Window::map(&f, 0, 0).is_none());
    }
}
