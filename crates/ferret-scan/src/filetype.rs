//! File type by magic bytes, for the YARA `filetype` external (as Loki and THOR set it).

/// The file type names ferret reports, checked in order (longest magic first where they
/// share a prefix).
const MAGIC: &[(&[u8], &str)] = &[
    (b"MZ", "EXE"),
    (b"\x7fELF", "ELF"),
    (b"\xca\xfe\xba\xbe", "MACHO"),
    (b"\xcf\xfa\xed\xfe", "MACHO"),
    (b"\xce\xfa\xed\xfe", "MACHO"),
    (b"PK\x03\x04", "ZIP"),
    (b"PK\x05\x06", "ZIP"),
    (b"\x1f\x8b\x08", "GZIP"),
    (b"BZh", "BZIP2"),
    (b"7z\xbc\xaf\x27\x1c", "7ZIP"),
    (b"Rar!\x1a\x07", "RAR"),
    (b"%PDF", "PDF"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "OLE"),
    (b"{\\rt", "RTF"),
    (b"<?php", "PHP"),
    (b"<%@", "ASPX"),
    (b"#!", "SCRIPT"),
    (b"\x89PNG", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF8", "GIF"),
    (b"ElfFile\x00", "EVTX"),
    (b"regf", "REGISTRY"),
    (b"\xd4\xc3\xb2\xa1", "PCAP"),
    (b"\xa1\xb2\xc3\xd4", "PCAP"),
];

/// The type name for a file starting with `head`, or `UNKNOWN`.
pub fn detect(head: &[u8]) -> &'static str {
    for (magic, name) in MAGIC {
        if head.starts_with(magic) {
            return name;
        }
    }
    "UNKNOWN"
}

#[cfg(test)]
mod tests {
    #[test]
    fn detects_common_types() {
        assert_eq!(super::detect(b"MZ\x90\x00"), "EXE");
        assert_eq!(super::detect(b"\x7fELF\x02"), "ELF");
        assert_eq!(super::detect(b"<?php echo"), "PHP");
        assert_eq!(super::detect(b"hello"), "UNKNOWN");
        assert_eq!(super::detect(b""), "UNKNOWN");
    }
}
