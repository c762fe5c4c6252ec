//! Fuzz target: the integrity policy TOML (rules, attribute sets, exclude globs), then
//! lookups of a few paths.
#![no_main]

use ferret_integrity::Policy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(mut policy) = Policy::from_toml(text) else { return };
    let _ = policy.add_excludes(&["*.tmp".to_owned()]);
    for path in [&b"etc/passwd"[..], b"var/log/syslog", b"", b"\xff/\x00", b"a/b/c/d/e/f/g"] {
        let _ = policy.is_excluded(path);
        let _ = policy.is_excluded_path(path);
        let _ = policy.attrs_for(path);
    }
});
