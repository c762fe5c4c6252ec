//! No parser panics on any input: arbitrary bytes (read lossily, as the scanner does) and
//! inputs shaped like each format, then matching the loaded set against arbitrary paths.

use ferret_ioc::{FileFacts, IocFormat, IocSet};
use proptest::prelude::*;

const FORMATS: [IocFormat; 9] = IocFormat::ALL;

fn exercise(format: IocFormat, text: &str, path: &[u8]) {
    let mut set = IocSet::default();
    let mut problems = Vec::new();
    set.load(format, "fuzz", text, &mut problems);
    let _ = set.needs();
    let _ = set.counts();
    let facts = FileFacts {
        path,
        size: 42,
        md5: Some([0xaa; 16]),
        sha1: Some([0xbb; 20]),
        sha256: Some([0xcc; 32]),
    };
    let mut out = Vec::new();
    set.match_file(&facts, &mut out);
    set.match_file(&FileFacts { path, ..FileFacts::default() }, &mut out);
}

/// Line-ish text built from the characters each format cares about.
fn shaped_text() -> impl Strategy<Value = String> {
    prop::collection::vec("[0-9a-fA-F;:,*#|\\\\/\\[\\](){}.?+^$ 'xX=<>!-]{0,80}", 0..20)
        .prop_map(|lines| lines.join("\n"))
}

fn stix_text() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just(" AND ".to_owned()),
        Just(" OR ".to_owned()),
        Just(" NOT ".to_owned()),
        Just(" FOLLOWEDBY ".to_owned()),
        Just(" WITHIN 5 SECONDS".to_owned()),
        Just(" REPEATS 2 TIMES".to_owned()),
        Just("file:name".to_owned()),
        Just("file:hashes.'SHA-256'".to_owned()),
        Just("file:size".to_owned()),
        Just("file:parent_directory_ref.path".to_owned()),
        Just("x[*].y".to_owned()),
        Just(" = ".to_owned()),
        Just(" LIKE ".to_owned()),
        Just(" MATCHES ".to_owned()),
        Just(" IN ".to_owned()),
        Just(" > ".to_owned()),
        Just("'a%b_'".to_owned()),
        Just("'(unclosed'".to_owned()),
        Just("'\\\\'".to_owned()),
        Just("12".to_owned()),
        Just("t'2021-01-01T00:00:00Z'".to_owned()),
        "[a-z0-9'\\\\]{0,8}",
    ];
    prop::collection::vec(atom, 0..24).prop_map(|parts| {
        let pattern = serde_json::to_string(&parts.concat()).unwrap();
        format!(
            "{{\"type\":\"bundle\",\"objects\":[{{\"type\":\"indicator\",\"id\":\"indicator--1\",\"pattern_type\":\"stix\",\"pattern\":{pattern}}}]}}"
        )
    })
}

fn openioc_text() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        Just("<OpenIOC id=\"x\">".to_owned()),
        Just("</OpenIOC>".to_owned()),
        Just("<criteria>".to_owned()),
        Just("<Indicator operator=\"OR\">".to_owned()),
        Just("<Indicator operator=\"AND\">".to_owned()),
        Just("<Indicator operator=\"XOR\">".to_owned()),
        Just("</Indicator>".to_owned()),
        Just("<IndicatorItem condition=\"is\" negate=\"true\">".to_owned()),
        Just("<IndicatorItem condition=\"matches\">".to_owned()),
        Just("<IndicatorItem condition=\"greater-than\">".to_owned()),
        Just("</IndicatorItem>".to_owned()),
        Just("<Context search=\"FileItem/FileName\"/>".to_owned()),
        Just("<Context search=\"FileItem/Md5sum\"/>".to_owned()),
        Just("<Context search=\"FileItem/SizeInBytes\"/>".to_owned()),
        Just("<Context search=\"processEvent/process\"/>".to_owned()),
        Just("<Content type=\"string\">".to_owned()),
        Just("</Content>".to_owned()),
        Just("<![CDATA[x]]>".to_owned()),
        Just("&amp;&bogus;".to_owned()),
        "[a-f0-9(\\[*]{0,40}",
    ];
    prop::collection::vec(atom, 0..40).prop_map(|parts| parts.concat())
}

/// MISP events built from attributes of every type the loader reads, with hostile values.
fn misp_text() -> impl Strategy<Value = String> {
    let kind = prop_oneof![
        Just("md5"),
        Just("sha1"),
        Just("sha256"),
        Just("filename"),
        Just("filename|sha256"),
        Just("filename|md5"),
        Just("domain"),
        Just("hostname"),
        Just("ip-dst"),
        Just("ip-src|port"),
        Just("domain|ip"),
        Just("url"),
        Just("link"),
        Just("size-in-bytes"),
        Just("regkey"),
    ];
    let value = prop_oneof![
        "[0-9a-fA-F]{0,70}",
        "[a-zA-Z0-9.:|/\\\\ _\\-\\[(*?]{0,40}",
        Just("C:\\\\x\\\\evil.exe|".to_owned() + &"a".repeat(64)),
    ];
    let ids = prop_oneof![
        Just("true"),
        Just("false"),
        Just("\"1\""),
        Just("0"),
        Just("null"),
        Just("[]"),
    ];
    let attr = (kind, value, ids, any::<bool>()).prop_map(|(k, v, i, warned)| {
        let w = if warned { ",\"warnings\":[{\"warninglist_name\":\"w\"}]" } else { "" };
        format!(
            "{{\"type\":\"{k}\",\"object_relation\":\"{k}\",\"value\":{},\"to_ids\":{i},\"uuid\":\"a\"{w}}}",
            serde_json::to_string(&v).unwrap()
        )
    });
    (prop::collection::vec(attr.clone(), 0..8), prop::collection::vec(attr, 0..6), any::<bool>())
        .prop_map(|(attrs, obj, file)| {
            let name = if file { "file" } else { "domain-ip" };
            format!(
                "{{\"response\":[{{\"Event\":{{\"uuid\":\"e\",\"threat_level_id\":\"1\",\"Attribute\":[{}],\"Object\":[{{\"name\":\"{name}\",\"Attribute\":[{}]}}],\"warnings\":{{\"7\":[]}}}}}}]}}",
                attrs.join(","),
                obj.join(",")
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048),
                                   path in prop::collection::vec(any::<u8>(), 0..200)) {
        let text = String::from_utf8_lossy(&bytes);
        for f in FORMATS {
            exercise(f, &text, &path);
        }
    }

    #[test]
    fn shaped_lines_never_panic(text in shaped_text(), path in "[a-zA-Z0-9/\\\\._ -]{0,80}") {
        for f in FORMATS {
            exercise(f, &text, path.as_bytes());
        }
    }

    #[test]
    fn stix_patterns_never_panic(text in stix_text(), path in "[a-z0-9/._%]{0,40}") {
        exercise(IocFormat::Stix2, &text, path.as_bytes());
    }

    #[test]
    fn misp_events_never_panic(text in misp_text(), path in "[a-zA-Z0-9/\\\\._]{0,40}") {
        exercise(IocFormat::Misp, &text, path.as_bytes());
        let _ = ferret_ioc::misp::feed_manifest(text.as_bytes());
    }

    #[test]
    fn openioc_documents_never_panic(text in openioc_text(), path in "[a-z0-9/._]{0,40}") {
        exercise(IocFormat::OpenIoc, &text, path.as_bytes());
    }
}
