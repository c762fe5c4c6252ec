//! Micro-benchmarks of `IocSet::match_file`: 100,000 SHA-256 indicators (the hash lookup
//! must cost nothing next to hashing), and the full signature-base file-name IOC set
//! (skipped when the shared corpus is absent).
//!
//! Run: `cargo bench -p ferret-ioc --bench match`.

use std::hint::black_box;

use divan::Bencher;
use ferret_ioc::{FileFacts, IocFormat, IocSet};

fn main() {
    divan::main();
}

/// Deterministic pseudo-random digests (splitmix64).
fn digests(n: usize) -> Vec<[u8; 32]> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    (0..n)
        .map(|_| {
            let mut d = [0u8; 32];
            for chunk in d.chunks_mut(8) {
                chunk.copy_from_slice(&next().to_le_bytes());
            }
            d
        })
        .collect()
}

fn sha256_list(ds: &[[u8; 32]]) -> String {
    let mut text = String::with_capacity(ds.len() * 65);
    for d in ds {
        text.push_str(&hex::encode(d));
        text.push('\n');
    }
    text
}

fn hash_set(n: usize) -> (IocSet, Vec<[u8; 32]>) {
    let ds = digests(n);
    let mut set = IocSet::default();
    let mut problems = Vec::new();
    let loaded = set.load(IocFormat::HashList, "bench", &sha256_list(&ds), &mut problems);
    assert_eq!(loaded, n);
    (set, ds)
}

#[divan::bench]
fn load_100k_sha256(bencher: Bencher) {
    let text = sha256_list(&digests(100_000));
    bencher.bench(|| {
        let mut set = IocSet::default();
        let mut problems = Vec::new();
        black_box(set.load(IocFormat::HashList, "bench", black_box(&text), &mut problems))
    });
}

#[divan::bench]
fn match_100k_sha256_miss(bencher: Bencher) {
    let (set, _) = hash_set(100_000);
    let facts = FileFacts {
        path: b"/usr/lib/x86_64-linux-gnu/libc.so.6",
        size: 2_000_000,
        sha256: Some([0x5a; 32]),
        ..FileFacts::default()
    };
    let mut out = Vec::new();
    bencher.bench_local(|| {
        out.clear();
        set.match_file(black_box(&facts), &mut out);
        out.len()
    });
}

#[divan::bench]
fn match_100k_sha256_hit(bencher: Bencher) {
    let (set, ds) = hash_set(100_000);
    let facts =
        FileFacts { path: b"/srv/x.bin", size: 10, sha256: Some(ds[4242]), ..FileFacts::default() };
    let mut out = Vec::new();
    bencher.bench_local(|| {
        out.clear();
        set.match_file(black_box(&facts), &mut out);
        out.len()
    });
}

const PATHS: [&str; 8] = [
    "/usr/lib/x86_64-linux-gnu/libssl.so.3",
    "/home/alice/projects/ferret/target/debug/deps/libregex-1234.rlib",
    "/var/www/html/wp-content/plugins/akismet/akismet.php",
    "C:\\Windows\\System32\\drivers\\etc\\hosts",
    "C:\\Users\\bob\\AppData\\Local\\Temp\\setup_4f2a.tmp",
    "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\FrontEnd\\HttpProxy\\owa\\auth\\logon.aspx",
    "/opt/app/node_modules/lodash/lodash.min.js",
    "/tmp/mimikatz.exe",
];

fn corpus_filenames() -> Option<String> {
    let root = ferret_testkit::corpus();
    std::fs::read_to_string(root.join("signature-base/iocs/filename-iocs.txt")).ok()
}

#[divan::bench]
fn load_signature_base_filenames(bencher: Bencher) {
    let Some(text) = corpus_filenames() else {
        ferret_testkit::skip("signature-base/iocs/filename-iocs.txt of the public corpus");
        bencher.bench(|| ());
        return;
    };
    bencher.bench(|| {
        let mut set = IocSet::default();
        let mut problems = Vec::new();
        black_box(set.load(IocFormat::LokiFilename, "filename-iocs.txt", &text, &mut problems))
    });
}

/// One `match_file` per path, over the eight sample paths in turn.
#[divan::bench]
fn match_signature_base_filenames(bencher: Bencher) {
    let Some(text) = corpus_filenames() else {
        ferret_testkit::skip("signature-base/iocs/filename-iocs.txt of the public corpus");
        bencher.bench(|| ());
        return;
    };
    let mut set = IocSet::default();
    let mut problems = Vec::new();
    set.load(IocFormat::LokiFilename, "filename-iocs.txt", &text, &mut problems);
    // Warm the lazy DFAs once.
    let mut out = Vec::new();
    for p in PATHS {
        set.match_file(&FileFacts { path: p.as_bytes(), ..FileFacts::default() }, &mut out);
    }
    let mut i = 0usize;
    bencher.bench_local(|| {
        i = (i + 1) % PATHS.len();
        out.clear();
        let facts = FileFacts { path: PATHS[i].as_bytes(), ..FileFacts::default() };
        set.match_file(black_box(&facts), &mut out);
        out.len()
    });
}
