//! Unit tests of the codec internals against values published in the write-ups.

use super::encode::{Rng, base32_encode, substitution_encode};
use super::*;

#[test]
fn base32_id_of_the_prevasio_example() {
    // Prevasio, "Sunburst Backdoor, Part III": "olc62cocacn7u2q" decodes to
    // 86 7f 2f be f9 fb a3 ae c4, key 0x86, user id f9 a9 38 7f 7d 25 28 42.
    let mut head = [0u8; 9];
    assert_eq!(base32_decode_into(b"olc62cocacn7u2q", &mut head), Some(9));
    assert_eq!(head, [0x86, 0x7f, 0x2f, 0xbe, 0xf9, 0xfb, 0xa3, 0xae, 0xc4]);
    let id: Vec<u8> = head[1..].iter().map(|b| b ^ head[0]).collect();
    assert_eq!(id, [0xf9, 0xa9, 0x38, 0x7f, 0x7d, 0x25, 0x28, 0x42]);
}

#[test]
fn substitution_table_examples() {
    // Prevasio, "Part II": "n2huov" is "domain" (each character four places left in the table).
    assert_eq!(substitution_decode(b"n2huov").as_deref(), Some("domain"));
    // A special character: `0` then a table character whose index modulo 4 picks from "0_-.".
    assert_eq!(substitution_decode(b"0r").as_deref(), Some("0"));
    assert_eq!(substitution_decode(b"0c").as_deref(), Some("."));
    let mut rng = Rng::new(7);
    for domain in ["a.b-c_d0", "corp.example.com", "0_-."] {
        let enc = substitution_encode(domain, &mut rng);
        assert_eq!(substitution_decode(enc.as_bytes()).as_deref(), Some(domain));
    }
}

#[test]
fn base32_round_trip_without_padding_noise() {
    for input in [&b""[..], b"a", b"LKDataCenter.com", &[0xff, 0x00, 0x80]] {
        let enc = base32_encode(input, None);
        assert_eq!(base32_decode(enc.as_bytes()).as_deref(), Some(input));
    }
}

#[test]
fn product_bits_follow_the_implant_layout() {
    // Service i sits in byte [1 - i / 4] at bit (i % 4) * 2: stopped, then running.
    let states = decode_products([0b0000_0010, 0b0000_0011]);
    assert_eq!(states[0], ProductState { running: true, stopped: true });
    assert_eq!(states[4], ProductState { running: true, stopped: false });
    assert!(
        states.iter().enumerate().all(|(i, s)| i == 0 || i == 4 || *s == ProductState::default())
    );
}

#[test]
fn utc_formatting() {
    assert_eq!(format_utc(EPOCH_2010), "2010-01-01T00:00Z");
    assert_eq!(format_utc(1_592_038_800), "2020-06-13T09:00Z");
    assert_eq!(format_utc(0), "1970-01-01T00:00Z");
}

#[test]
fn beacons_found_in_log_lines() {
    let dotted = "7cbtailjomqle1pjvr2d32i2voe60ce2.appsync-api.us-east-1.avsvmcloud.com";
    let want = parse_query(dotted).unwrap();
    let windows = "20/06/2020 14:02:11 0E1C PACKET  000001D2 UDP Rcv 10.0.0.5 a1b2   Q [0001   D   NOERROR] A      \
                   (32)7cbtailjomqle1pjvr2d32i2voe60ce2(11)appsync-api(9)us-east-1(10)avsvmcloud(3)com(0)";
    assert_eq!(find_in_line(windows).as_ref(), Some(&want));
    let bind =
        format!("client @0x7f 10.0.0.5#53211 ({dotted}): query: {dotted} IN A +E(0)K (10.0.0.1)");
    assert_eq!(find_in_line(&bind).as_ref(), Some(&want));
    let zeek = format!(
        "1592038800.1\tCabc\t10.0.0.5\t53211\t10.0.0.1\t53\tudp\t1\t-\t{dotted}\t1\tC_INTERNET"
    );
    assert_eq!(find_in_line(&zeek).as_ref(), Some(&want));
    assert_eq!(find_in_line("query: www.example.com IN A"), None);
    assert_eq!(find_in_line("api.avsvmcloud.com"), None);
    assert_eq!(find_in_line("avsvmcloud"), None);
}
