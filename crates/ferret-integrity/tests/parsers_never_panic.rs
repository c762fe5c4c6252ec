//! The parsers of untrusted input survive arbitrary bytes.

use ferret_integrity::dpkg::{
    PathFilters, parse_diversions, parse_list, parse_md5sums, parse_status,
};
use ferret_integrity::manifest::ManifestReader;
use proptest::prelude::*;

const HEADER: &str = r#"{"format":"ferret-manifest","schema_version":1,"tool":"t","created":"c","root":"/","host":"h","hash":"sha256","id":"i"}"#;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn manifest_reader_never_panics(data in prop::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(r) = ManifestReader::new(data.as_slice()) {
            let _ = r.count();
        }
        let mut with_header = format!("{HEADER}\n").into_bytes();
        with_header.extend_from_slice(&data);
        if let Ok(r) = ManifestReader::new(with_header.as_slice()) {
            let _ = r.count();
        }
    }

    #[test]
    fn manifest_entries_never_panic(line in r#"\{("[a-z]{1,2}":("[ -~]{0,6}"|-?[0-9]{1,21}|\{\}|null),?){0,9}\}"#) {
        let text = format!("{HEADER}\n{line}\n{{\"end\":{{\"entries\":1}}}}\n");
        if let Ok(r) = ManifestReader::new(text.as_bytes()) {
            let _ = r.count();
        }
    }

    #[test]
    fn dpkg_parsers_never_panic(data in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_status(&data);
        let _ = parse_md5sums(&data);
        let _ = parse_list(&data);
        let _ = parse_diversions(&data);
        let mut f = PathFilters::default();
        f.add_config(&data);
        let _ = f.excluded(&data);
    }

    #[test]
    fn policy_parser_never_panics(text in "\\PC{0,300}") {
        let _ = ferret_integrity::Policy::from_toml(&text);
    }
}
