//! How fast files are read and hashed with SHA-256 on one thread, by where the read buffer
//! starts and how much each read asks for: the measurement behind the page-aligned buffer of
//! `ferret_fs::hash` (`BENCHMARKS.md`, hashing).
//!
//! ```text
//! find TREE -type f -print0 > files0
//! cargo run --release -p ferret-fs --example read_copy -- files0 [CHUNK] [SKEW]...
//! ```
//!
//! Every file of the NUL-separated list is read with `read(2)`, CHUNK bytes at a time
//! (default 262144), into a buffer starting SKEW bytes past a page boundary (default 0 and
//! 16; 16 is where `malloc` puts a large buffer), and hashed; one line per SKEW gives the
//! seconds and GB/s. Warm the page cache first (`xargs -0 -a files0 cat > /dev/null`).

#![expect(clippy::print_stdout, clippy::print_stderr, reason = "an example prints its result")]

use std::io::Read as _;
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;
use std::time::Instant;

use ferret_fs::hash::{HashKinds, MultiHasher};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(list) = args.first() else {
        eprintln!("usage: read_copy FILES0 [CHUNK] [SKEW]...");
        std::process::exit(2);
    };
    let list = match ferret_fs::open_read_only(Path::new(list)) {
        Ok((mut f, _)) => {
            let mut v = Vec::new();
            if let Err(e) = f.read_to_end(&mut v) {
                eprintln!("read_copy: cannot read {list}: {e}");
                std::process::exit(2);
            }
            v
        }
        Err(e) => {
            eprintln!("read_copy: cannot open {list}: {e}");
            std::process::exit(2);
        }
    };
    let chunk: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(256 << 10);
    let mut skews: Vec<usize> = args.iter().skip(2).filter_map(|s| s.parse().ok()).collect();
    if skews.is_empty() {
        skews = vec![0, 16];
    }
    let files: Vec<&Path> = list
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| Path::new(std::ffi::OsStr::from_bytes(p)))
        .collect();
    let kinds = HashKinds { sha256: true, ..HashKinds::default() };
    for skew in skews {
        let mut space = vec![0u8; chunk + 2 * 4096 + skew];
        let start = space.as_ptr().align_offset(4096) + skew;
        let Some(buf) = space.get_mut(start..start + chunk) else {
            continue;
        };
        let t = Instant::now();
        let mut bytes = 0u64;
        let mut failed = 0u64;
        for path in &files {
            let Ok((mut f, _)) = ferret_fs::open_read_only(path) else {
                failed += 1;
                continue;
            };
            let mut h = MultiHasher::new(kinds);
            loop {
                match f.read(buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        h.update(buf.get(..n).unwrap_or_default());
                        bytes += n as u64;
                    }
                    Err(_) => {
                        failed += 1;
                        break;
                    }
                }
            }
            std::hint::black_box(h.finish());
        }
        let s = t.elapsed().as_secs_f64();
        #[expect(clippy::cast_precision_loss, reason = "a rate for display")]
        let rate = bytes as f64 / s / 1e9;
        println!(
            "chunk {chunk} skew {skew:>4}: {} files, {bytes} bytes, {s:.3} s, {rate:.2} GB/s{}",
            files.len(),
            if failed > 0 { format!(" ({failed} unreadable)") } else { String::new() }
        );
    }
}
