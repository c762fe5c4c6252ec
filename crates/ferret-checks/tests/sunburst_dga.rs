//! The SUNBURST DNS decoder: published examples, encode → decode round trips, host matching,
//! and no panic on arbitrary input.

use ferret_checks::sunburst::dga::{
    Encoding, Message, ProductState, Reassembler, Seq, Status, encode_domain, encode_status,
    find_in_line, matches_host, parse_query, region_for, user_id,
};
use proptest::prelude::*;

fn fragment_text(name: &str) -> (Seq, String) {
    let q = parse_query(name).expect("a beacon");
    let Message::Fragment(f) = q.message else { panic!("not a fragment: {name}") };
    let (text, _) = f.standalone_text().expect("decodes");
    (f.seq, text)
}

#[test]
fn cloudflare_example_is_the_first_fragment_of_neophotonics() {
    // Cloudflare, "A quirk in the SUNBURST DGA algorithm": guid 7cbtailjomqle1p, byte j,
    // encoded hostname vr2d32i2voe60ce2; RedDrip's list has the decoded "neophotonics.co".
    let (seq, text) =
        fragment_text("7cbtailjomqle1pjvr2d32i2voe60ce2.appsync-api.us-east-1.avsvmcloud.com");
    assert_eq!(seq, Seq::Index(0));
    assert_eq!(text, "neophotonics.co");
}

#[test]
fn prevasio_example_decodes_to_domain() {
    // Prevasio, "Sunburst Backdoor, Part II": fivu4vjamve5vfrtn2huov → "domain".
    let (_, text) = fragment_text("fivu4vjamve5vfrtn2huov.appsync-api.us-west-2.avsvmcloud.com");
    assert_eq!(text, "domain");
}

#[test]
fn names_outside_the_zone_or_malformed_are_rejected() {
    for name in [
        "",
        "avsvmcloud.com",
        "www.example.com",
        "7cbtailjomqle1pjvr2d32i2voe60ce2.appsync-api.us-east-1.avsvmcloud.co",
        "7cbtailjomqle1pjvr2d32i2voe60ce2.appsync-api.ap-south-1.avsvmcloud.com",
        "7cbtailjomqle1pjvr2d32i2voe60ce2.appsync.us-east-1.avsvmcloud.com",
        "a.b.appsync-api.us-east-1.avsvmcloud.com",
        "putinhasasmallpackage.appsync-api.us-east-1.avsvmcloud.com",
        "7cbtailjomqle1pjvr2d32i2voe60ce2x.appsync-api.us-east-1.avsvmcloud.com",
        "7cbtailjomqle1p.appsync-api.us-east-1.avsvmcloud.com",
    ] {
        assert!(parse_query(name).is_none(), "{name}");
    }
}

#[test]
fn case_and_trailing_dot_do_not_matter() {
    let name = "7CBTAILJOMQLE1PJVR2D32I2VOE60CE2.AppSync-API.US-EAST-1.avsvmcloud.com.";
    assert_eq!(fragment_text(name).1, "neophotonics.co");
}

#[test]
fn long_domain_round_trip_through_the_reassembler() {
    let id = user_id(
        "00:50:56:9A:1B:2C",
        "corp.example-industries.com",
        "4c4c4544-0042-3510-8051-b4c04f4b4d32",
    );
    let names = encode_domain(&id, "corp.example-industries.com", 11);
    assert!(names.len() > 1, "split into fragments: {names:?}");
    let mut r = Reassembler::new();
    // Out of order, with a status message in between.
    for (t, name) in names.iter().enumerate().rev() {
        assert!(r.push_name(Some(1_600_000_000 + i64::try_from(t).unwrap()), name));
    }
    let status =
        Status { time: 1_592_038_800, stage2: true, products: Some([ProductState::default(); 8]) };
    assert!(r.push_name(Some(1_600_000_100), &encode_status(&id, &status, 3)));
    let reports = r.reports();
    assert_eq!(reports.len(), 1);
    let rep = &reports[0];
    assert_eq!(rep.victim, id);
    let d = rep.domain.as_ref().unwrap();
    assert_eq!(d.name, "corp.example-industries.com");
    assert!(d.complete);
    assert_eq!(d.encoding, Some(Encoding::Substitution));
    assert_eq!(rep.queries, names.len() + 1);
    assert_eq!(rep.first_seen, Some(1_600_000_000));
    assert_eq!(rep.last_seen, Some(1_600_000_100));
    assert!(rep.stage2());
    assert_eq!(rep.stage2_since(), Some(1_592_038_800));
    assert_eq!(rep.region_mismatches, 0);
}

#[test]
fn missing_fragment_gives_a_partial_name() {
    let id = [1, 2, 3, 4, 5, 6, 7, 8];
    let domain = "a-rather-long.internal-domain.of-a-large-organisation.example.org";
    let names = encode_domain(&id, domain, 5);
    assert!(names.len() >= 4, "{names:?}");
    let mut r = Reassembler::new();
    for (i, name) in names.iter().enumerate() {
        if i != 1 {
            r.push_name(None, name);
        }
    }
    let d = r.reports()[0].domain.clone().unwrap();
    assert!(!d.complete);
    assert!(d.name.contains('…'), "{}", d.name);
    assert!(d.name.starts_with(&domain[..8]), "{}", d.name);
    assert!(d.name.ends_with(&domain[domain.len() - 4..]), "{}", d.name);
}

#[test]
fn upper_case_domain_goes_through_base32() {
    let id = [9, 8, 7, 6, 5, 4, 3, 2];
    let names = encode_domain(&id, "BrokenArrow.Local", 1);
    let first = parse_query(&names[0]).unwrap();
    let Message::Fragment(f) = first.message else { panic!() };
    assert!(f.payload.starts_with("00"));
    let mut r = Reassembler::new();
    for n in &names {
        r.push_name(None, n);
    }
    let d = r.reports()[0].domain.clone().unwrap();
    assert_eq!(
        (d.name.as_str(), d.complete, d.encoding),
        ("BrokenArrow.Local", true, Some(Encoding::Base32))
    );
}

#[test]
fn status_messages_round_trip() {
    let id = [0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3];
    let mut products = [ProductState::default(); 8];
    products[0] = ProductState { running: true, stopped: false };
    products[4] = ProductState { running: true, stopped: true };
    products[7] = ProductState { running: false, stopped: true };
    for status in [
        Status { time: 1_592_038_800, stage2: false, products: None },
        Status { time: 1_592_038_800, stage2: true, products: None },
        Status { time: 1_607_900_400, stage2: false, products: Some(products) },
    ] {
        let name = encode_status(&id, &status, 99);
        let label = name.split('.').next().unwrap();
        assert_eq!(label.len(), if status.products.is_some() { 23 } else { 20 });
        let q = parse_query(&name).unwrap();
        assert_eq!(q.victim, id);
        assert!(q.region_matches_id);
        assert_eq!(q.message, Message::Status(status.clone()));
    }
    let status = Status { time: 1_607_900_400, stage2: false, products: Some(products) };
    assert_eq!(status.running(), ["Windows Defender", "CrowdStrike Falcon"]);
    assert_eq!(status.stopped(), ["CrowdStrike Falcon", "F-Secure"]);
}

#[test]
fn host_matching() {
    let mac = "00-50-56-9A-1B-2C";
    let id = user_id("0050569a1b2c", "CORP.example.com", "4c4c4544-0042-3510-8051-b4c04f4b4d32");
    assert_eq!(id, user_id(mac, "CORP.example.com", "4c4c4544-0042-3510-8051-b4c04f4b4d32"));
    assert!(matches_host(
        &id,
        &["11:22:33:44:55:66", mac],
        "CORP.example.com",
        "4c4c4544-0042-3510-8051-b4c04f4b4d32"
    ));
    assert!(!matches_host(
        &id,
        &["11:22:33:44:55:66"],
        "CORP.example.com",
        "4c4c4544-0042-3510-8051-b4c04f4b4d32"
    ));
    assert!(!matches_host(
        &id,
        &[mac],
        "other.example.com",
        "4c4c4544-0042-3510-8051-b4c04f4b4d32"
    ));
    // The name the host resolves carries the same id.
    let q = parse_query(&encode_domain(&id, "corp.example.com", 4)[0]).unwrap();
    assert_eq!(q.victim, id);
    assert_eq!(q.region, region_for(&id));
}

#[test]
fn user_id_is_md5_folded() {
    // MD5("") = d41d8cd98f00b204e9800998ecf8427e; halves XORed: d41d8cd98f00b204 ^ e9800998ecf8427e.
    assert_eq!(user_id("", "", ""), [0x3d, 0x9d, 0x85, 0x41, 0x63, 0xf8, 0xf0, 0x7a]);
}

/// Domains the implant substitution-encodes, and others it sends in base32.
fn domain_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-z_-]{2,20}\\.[0-9a-z_.-]{1,60}",
        "[0-9A-Za-z_-]{0,10}[A-Z][0-9A-Za-z_-]{1,10}\\.[0-9A-Za-z_.-]{1,30}",
        "\\PC{2,12}\\.\\PC{1,20}",
        "[0-9a-z_.-]{1,80}",
        "\\PC{1,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn encode_then_reassemble_gives_back_domain_and_id(
        domain in domain_strategy(),
        id in any::<[u8; 8]>(),
        seed in any::<u64>(),
    ) {
        let names = encode_domain(&id, &domain, seed);
        prop_assert!(!names.is_empty());
        let mut r = Reassembler::new();
        for (i, name) in names.iter().enumerate() {
            let label = name.split('.').next().unwrap();
            prop_assert!(label.len() <= 32, "label too long: {}", name);
            let q = parse_query(name);
            prop_assert!(q.is_some(), "does not parse: {}", name);
            let q = q.unwrap();
            prop_assert_eq!(q.victim, id);
            prop_assert!(q.region_matches_id);
            let Message::Fragment(f) = &q.message else { panic!("not a fragment") };
            let want = if i + 1 == names.len() { Seq::Final } else { Seq::Index(u8::try_from(i).unwrap()) };
            prop_assert_eq!(f.seq, want);
            r.push(None, &q);
        }
        let reports = r.reports();
        prop_assert_eq!(reports.len(), 1);
        prop_assert_eq!(reports[0].victim, id);
        let d = reports[0].domain.clone().unwrap();
        let plain = domain.bytes().all(|c| b"0123456789abcdefghijklmnopqrstuvwxyz-_.".contains(&c));
        let want = if plain { Encoding::Substitution } else { Encoding::Base32 };
        // A name that does not look like a domain (a dot after a first label of two or more
        // characters) is reported partial: it could be cut (fragments missed).
        if domain.find('.').is_some_and(|dot| dot >= 2) {
            prop_assert!(d.complete);
            prop_assert_eq!(&d.name, &domain);
            prop_assert_eq!(d.encoding, Some(want));
        } else if names.len() == 1 && plain {
            prop_assert!(!d.complete);
            prop_assert_eq!(d.name, format!("…{domain}"));
            prop_assert_eq!(d.encoding, None);
        } else {
            prop_assert!(!d.complete);
            prop_assert_eq!(d.name, format!("{domain}…"));
            prop_assert_eq!(d.encoding, Some(want));
        }
    }

    #[test]
    fn status_round_trip(
        id in any::<[u8; 8]>(),
        ticks in 0i64..0x7_FFFF,
        stage2 in any::<bool>(),
        bits in proptest::option::of(any::<[bool; 16]>()),
        seed in any::<u64>(),
    ) {
        let products = bits.map(|b| std::array::from_fn(|i| ProductState { running: b[2 * i], stopped: b[2 * i + 1] }));
        let status = Status { time: 1_262_304_000 + ticks * 1800, stage2, products };
        let q = parse_query(&encode_status(&id, &status, seed)).unwrap();
        prop_assert_eq!(q.victim, id);
        prop_assert_eq!(q.message, Message::Status(status));
    }

    #[test]
    fn never_panics_on_arbitrary_names(s in "\\PC{0,80}") {
        let _ = parse_query(&s);
        let _ = find_in_line(&s);
        let _ = find_in_line(&format!("{s}avsvmcloud{s}"));
        let mut r = Reassembler::new();
        r.push_name(Some(0), &s);
        let _ = r.reports();
    }

    #[test]
    fn never_panics_on_beacon_shaped_names(
        label in "[0-9a-zA-Z_.-]{0,40}",
        region in prop::sample::select(vec!["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "x"]),
    ) {
        let mut r = Reassembler::new();
        for name in [format!("{label}.appsync-api.{region}.avsvmcloud.com"), format!("{label}.avsvmcloud.com.")] {
            if let Some(q) = parse_query(&name) {
                r.push(None, &q);
                if let Message::Fragment(f) = &q.message {
                    let _ = f.standalone_text();
                }
            }
        }
        let _ = r.reports();
    }
}
