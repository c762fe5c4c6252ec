//! The built-in IOC pack, compiled into the binary.
//!
//! Hash and file-name indicators for the 2021 campaigns (SUNBURST and its follow-on
//! malware, the Pulse Connect Secure intrusions, ProxyLogon web shells), each line carrying
//! its reference through `# reference:` directives. The YARA rules of the pack are data
//! files under `builtin/yara/` (see [`yara_sources`]); they are compiled by the scanner.

use crate::IocFormat;

static SOURCES: &[(&str, IocFormat, &str)] = &[
    ("sunburst-hashes.txt", IocFormat::LokiHash, include_str!("../builtin/sunburst-hashes.txt")),
    (
        "sunburst-filenames.txt",
        IocFormat::LokiFilename,
        include_str!("../builtin/sunburst-filenames.txt"),
    ),
    (
        "pulsesecure-hashes.txt",
        IocFormat::LokiHash,
        include_str!("../builtin/pulsesecure-hashes.txt"),
    ),
    (
        "pulsesecure-filenames.txt",
        IocFormat::LokiFilename,
        include_str!("../builtin/pulsesecure-filenames.txt"),
    ),
    (
        "proxylogon-hashes.txt",
        IocFormat::LokiHash,
        include_str!("../builtin/proxylogon-hashes.txt"),
    ),
    (
        "proxylogon-filenames.txt",
        IocFormat::LokiFilename,
        include_str!("../builtin/proxylogon-filenames.txt"),
    ),
];

static YARA: &[(&str, &str)] = &[
    ("china-chopper.yar", include_str!("../builtin/yara/china-chopper.yar")),
    ("proxylogon-webshells.yar", include_str!("../builtin/yara/proxylogon-webshells.yar")),
    ("sunburst.yar", include_str!("../builtin/yara/sunburst.yar")),
    ("supernova.yar", include_str!("../builtin/yara/supernova.yar")),
    ("pulsesecure.yar", include_str!("../builtin/yara/pulsesecure.yar")),
];

/// The built-in IOC files: (name, format, text). Load each with
/// `IocSet::load(format, &format!("builtin:{name}"), text, …)`.
pub fn sources() -> &'static [(&'static str, IocFormat, &'static str)] {
    SOURCES
}

/// The built-in YARA rule files: (name, text). Not compiled here.
pub fn yara_sources() -> &'static [(&'static str, &'static str)] {
    YARA
}
