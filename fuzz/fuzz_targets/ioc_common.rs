//! Shared piece of the IOC fuzz targets: load a text in one format, then match a few files.

use ferret_ioc::{FileFacts, IocFormat, IocSet};

/// Loads `data` (lossily decoded, as rule files are) as `format` and runs the matcher over a
/// few file descriptions.
pub fn load_and_match(format: IocFormat, data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = ferret_ioc::sniff("fuzz.txt", data);
    let mut set = IocSet::new();
    let mut problems = Vec::new();
    let added = set.load(format, "fuzz", &text, &mut problems);
    assert!(added <= text.len() + 1, "more indicators than bytes");
    let _ = set.needs();
    let _ = set.counts();
    let files = [
        FileFacts { path: b"/var/www/html/shell.aspx", size: 1234, ..FileFacts::default() },
        FileFacts {
            path: b"C:\\Windows\\Temp\\x.exe",
            size: 0,
            md5: Some([0; 16]),
            sha1: Some([0x11; 20]),
            sha256: Some([0xaa; 32]),
        },
        FileFacts { path: b"\xff\xfe/\x00odd name", size: u64::MAX, ..FileFacts::default() },
    ];
    let mut out = Vec::new();
    for f in &files {
        set.match_file(f, &mut out);
    }
    for m in out {
        let _ = m.into_finding();
    }
}
