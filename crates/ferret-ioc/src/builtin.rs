//! The built-in pack of `ferret scan`.
//!
//! Its hash and file-name indicators are data of the intel (`ferret-intel`): the scan tables
//! `CAMPAIGN/scan-hashes.tsv` and `CAMPAIGN/scan-names.tsv` under the workspace's `intel/`
//! folder, loaded with [`crate::IocSet::load_intel`] from the built-in intel or from a signed
//! intel pack that replaces it (see [`crate::intel`]).
//!
//! Its YARA rules are rule files under `builtin/yara/` (see [`yara_sources`]), compiled by the
//! scanner: rules are code for the YARA engine, not rows of a table, and an intel pack carries
//! tables only. `scan --no-builtin --rules DIR` replaces them.

static YARA: &[(&str, &str)] = &[
    ("china-chopper.yar", include_str!("../builtin/yara/china-chopper.yar")),
    ("proxylogon-webshells.yar", include_str!("../builtin/yara/proxylogon-webshells.yar")),
    ("sunburst.yar", include_str!("../builtin/yara/sunburst.yar")),
    ("supernova.yar", include_str!("../builtin/yara/supernova.yar")),
    ("pulsesecure.yar", include_str!("../builtin/yara/pulsesecure.yar")),
];

/// The built-in YARA rule files: (name, text). Not compiled here.
pub fn yara_sources() -> &'static [(&'static str, &'static str)] {
    YARA
}

/// The texts of the built-in intel's scan tables: (path under `intel/`, text).
pub fn scan_tables() -> impl Iterator<Item = (&'static str, &'static str)> {
    ferret_intel::Intel::builtin_files()
        .iter()
        .copied()
        .filter(|(path, _)| crate::intel::is_scan_table(path))
}
