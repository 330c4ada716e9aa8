//! Every corruption knob: a damaged card differs from the clean one in exactly the bytes the
//! knob names, and what a client reads shows the damage.

use std::collections::BTreeMap;

use mynasim_simulator::Card;
use mynasim_simulator::apdu::tlv::{self, Tlv};
use mynasim_simulator::apps::AppId;
use mynasim_simulator::card::EfBody;
use mynasim_simulator::profile::MyNumber;
use sha2::{Digest, Sha256};

use super::applications::SELECT_TEXT;
use super::support::{self, select_ef, tx, tx_data, verify};

const BASE: &str = "version: 1\nseed: 3\ntoday: 2026-11-25\nholder: { birth_date: 1985-04-12 }\ncard: { issued: 2024-06-01 }\n";

/// File contents by (application, FID).
type Files = BTreeMap<(AppId, u16), Vec<u8>>;

/// Every transparent EF and record of every application, by (application, FID).
fn files(card: &Card) -> Files {
    let mut out = BTreeMap::new();
    for df in card.dfs() {
        for ef in &df.files {
            match &ef.body {
                EfBody::Transparent(data) => {
                    out.insert((df.app, ef.fid.0), data.clone());
                }
                EfBody::Records(records) => {
                    out.insert((df.app, ef.fid.0), records.concat());
                }
                _ => {}
            }
        }
    }
    out
}

/// Issues the base card with `corruption:` set to `knob` and returns (clean, damaged) files
/// and the damaged card, powered.
fn with(knob: &str) -> (Files, Files, Card) {
    let (clean, _) = support::card_from(BASE);
    let (damaged, _) = support::card_from(&format!("{BASE}corruption:\n{knob}"));
    (files(&clean), files(&damaged), damaged)
}

/// The EFs that differ.
fn differing(a: &Files, b: &Files) -> Vec<(AppId, u16)> {
    a.keys()
        .filter(|k| a.get(*k) != b.get(*k))
        .copied()
        .collect()
}

/// Positions where two equally long files differ.
fn differing_bytes(a: &[u8], b: &[u8]) -> Vec<usize> {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .enumerate()
        .filter(|(_, (x, y))| x != y)
        .map(|(i, _)| i)
        .collect()
}

const TEXT_ATTRIBUTES: (AppId, u16) = (AppId::InputSupport, 0x0002);
const TEXT_INTEGRITY: (AppId, u16) = (AppId::InputSupport, 0x0003);

fn text_file(files: &Files, fid: u16) -> &[u8] {
    &files[&(AppId::InputSupport, fid)]
}

/// Reads an input-support EF through APDUs after VERIFY of the PIN, whole (extended Le).
fn client_read(card: &mut Card, fid: u16) -> Vec<u8> {
    tx(card, SELECT_TEXT);
    tx(card, &select_ef(0x0011));
    assert_eq!(tx(card, &verify("1234")), "90 00");
    tx(card, &select_ef(fid));
    let (data, sw) = tx_data(card, "00 B0 00 00 00 00 00");
    assert_eq!(sw, "90 00");
    data
}

#[test]
fn my_number_check_digit() {
    let (clean, bad, mut card) = with("  my_number_check_digit: true\n");
    // The card was issued with the wrong number: each copy of it and what is computed from
    // it differ, nothing else.
    assert_eq!(
        differing(&clean, &bad),
        [
            (AppId::CardFace, 0x0005),
            (AppId::InputSupport, 0x0001),
            (AppId::InputSupport, 0x0003)
        ]
    );
    assert_eq!(
        differing_bytes(text_file(&clean, 1), text_file(&bad, 1)),
        [14]
    );
    let ef1 = client_read(&mut card, 0x0001);
    let number = MyNumber::parse(std::str::from_utf8(&ef1[3..15]).unwrap()).unwrap();
    assert!(
        !number.has_valid_check_digit(),
        "a client detects the bad check digit"
    );
    // 照合番号A is the number as stored.
    tx(&mut card, &select_ef(0x0014));
    assert_eq!(tx(&mut card, &verify(number.as_str())), "90 00");
}

#[test]
fn attributes_wrong_length() {
    let (clean, bad, mut card) = with("  attributes: { wrong_length: address }\n");
    assert_eq!(differing(&clean, &bad), [TEXT_ATTRIBUTES]);
    let (c, b) = (text_file(&clean, 2), text_file(&bad, 2));
    let at = differing_bytes(c, b);
    assert_eq!(at.len(), 1);
    // The changed byte is DF23's length, one larger.
    assert_eq!(&c[at[0] - 2..at[0]], [0xDF, 0x23]);
    assert_eq!(b[at[0]], c[at[0]] + 1);
    // A client's TLV parse of the fields no longer lines up.
    let read = client_read(&mut card, 0x0002);
    let (outer, _) = Tlv::parse(&read).unwrap();
    let parsed = outer.children();
    assert!(
        parsed.is_err() || parsed.unwrap().iter().all(|k| k.tag.0 != 0xDF24),
        "DF24 is swallowed"
    );
}

#[test]
fn attributes_missing_tag() {
    let (clean, bad, mut card) = with("  attributes: { missing_tag: sex }\n");
    assert_eq!(differing(&clean, &bad), [TEXT_ATTRIBUTES]);
    let read = client_read(&mut card, 0x0002);
    let (outer, rest) = Tlv::parse(&read).unwrap();
    assert!(rest.is_empty());
    let kids = outer.children().unwrap();
    assert!(kids.iter().all(|k| k.tag.0 != 0xDF25), "DF25 is gone");
    assert_eq!(kids.len(), 4);
    let table = kids[0].value;
    assert_eq!(&table[6..8], [0, 0], "its offset entry is 00 00");
    let clean_file = text_file(&clean, 2);
    let t = table_start(clean_file);
    assert_eq!(
        &table[..6],
        &clean_file[t..t + 6],
        "the other offsets are unchanged"
    );
    assert_eq!(read.len(), text_file(&clean, 2).len() - 4);
}

/// Where EF 0002's offset table starts: after `FF 20 <length> DF 21 08` (byte 6 on a 2016
/// card, 8 on a 2023 one).
fn table_start(ef2: &[u8]) -> usize {
    ef2.windows(3)
        .position(|w| w == [0xDF, 0x21, 0x08])
        .expect("DF21 08")
        + 3
}

#[test]
fn attributes_truncated() {
    let (clean, bad, _) = with("  attributes: { truncated: true }\n");
    assert_eq!(differing(&clean, &bad), [TEXT_ATTRIBUTES]);
    let (c, b) = (text_file(&clean, 2), text_file(&bad, 2));
    assert!(b.len() < c.len());
    assert_eq!(b, &c[..b.len()], "a prefix of the clean file");
    assert!(
        Tlv::parse(b).is_err(),
        "the outer TLV no longer fits the file"
    );
}

#[test]
fn attributes_wrong_offsets() {
    let (clean, bad, _) = with("  attributes: { wrong_offsets: true }\n");
    assert_eq!(differing(&clean, &bad), [TEXT_ATTRIBUTES]);
    let (c, b) = (text_file(&clean, 2), text_file(&bad, 2));
    let at = differing_bytes(c, b);
    // FF 20 <length> DF 21 08, then the four offsets.
    let t = table_start(c);
    assert!(
        at.iter().all(|&i| (t..t + 8).contains(&i)),
        "only the DF21 table: {at:?}"
    );
    for i in 0..4 {
        let off = |f: &[u8]| u16::from_be_bytes([f[t + 2 * i], f[t + 1 + 2 * i]]);
        assert_eq!(off(b), off(c) + 2);
    }
}

#[test]
fn attributes_leading_bytes() {
    let (clean, bad, mut card) = with("  attributes: { leading_bytes: \"0000\" }\n");
    assert_eq!(differing(&clean, &bad), [TEXT_ATTRIBUTES]);
    let read = client_read(&mut card, 0x0002);
    assert_eq!(&read[..2], [0, 0]);
    assert_eq!(&read[2..], text_file(&clean, 2));
}

#[test]
fn name_invalid_utf8() {
    let (clean, bad, mut card) = with("  attributes: { name_encoding: invalid-utf8 }\n");
    assert_eq!(differing(&clean, &bad), [TEXT_ATTRIBUTES]);
    let at = differing_bytes(text_file(&clean, 2), text_file(&bad, 2));
    assert_eq!(at.len(), 1);
    let read = client_read(&mut card, 0x0002);
    let (outer, _) = Tlv::parse(&read).unwrap();
    let name = outer.child(tlv::Tag(0xDF22)).unwrap().unwrap().value;
    assert_eq!(name[0], 0xFF);
    assert!(std::str::from_utf8(name).is_err());
}

#[test]
fn name_shift_jis() {
    let (clean, bad, mut card) = with("  attributes: { name_encoding: shift-jis }\n");
    assert_eq!(differing(&clean, &bad), [TEXT_ATTRIBUTES]);
    let read = client_read(&mut card, 0x0002);
    let (outer, _) = Tlv::parse(&read).unwrap();
    let name = outer.child(tlv::Tag(0xDF22)).unwrap().unwrap().value;
    let (decoded, _, errors) = encoding_rs::SHIFT_JIS.decode(name);
    assert!(!errors);
    assert_eq!(decoded, "試験　花子");
    assert!(std::str::from_utf8(name).is_err(), "not UTF-8");
    // The other fields are untouched.
    let (clean_outer, _) = Tlv::parse(text_file(&clean, 2)).unwrap();
    for tag in [0xDF23, 0xDF24, 0xDF25] {
        assert_eq!(
            outer.child(tlv::Tag(tag)).unwrap().unwrap().value,
            clean_outer.child(tlv::Tag(tag)).unwrap().unwrap().value
        );
    }
}

#[test]
fn integrity_digest_and_signature() {
    for (knob, tag_offset) in [
        ("my-number-digest", 8 + 31),
        ("attributes-digest", 43 + 31),
        ("signature", 335),
    ] {
        let (clean, bad, mut card) = with(&format!("  integrity: {knob}\n"));
        assert_eq!(differing(&clean, &bad), [TEXT_INTEGRITY], "{knob}");
        assert_eq!(
            differing_bytes(text_file(&clean, 3), text_file(&bad, 3)),
            [tag_offset],
            "{knob}"
        );
        // A client's check fails where it should.
        let ef1 = client_read(&mut card, 0x0001);
        let ef3 = client_read(&mut card, 0x0003);
        let my_number_ok = ef3[8..40] == *Sha256::digest(&ef1);
        assert_eq!(my_number_ok, knob != "my-number-digest", "{knob}");
    }
}

#[test]
fn short_efs() {
    for (knob, fid, len) in [
        ("my-number", 1, 15),
        ("integrity", 3, 300),
        ("cv-certificate", 4, 500),
        ("basic-info", 5, 164),
    ] {
        let (clean, bad, _) = with(&format!("  short_ef: [{knob}]\n"));
        assert_eq!(
            differing(&clean, &bad),
            [(AppId::InputSupport, fid)],
            "{knob}"
        );
        let (c, b) = (text_file(&clean, fid), text_file(&bad, fid));
        assert_eq!(b.len(), len, "{knob}");
        assert_eq!(b, &c[..len], "{knob}: a prefix");
    }
    // A client asking for the usual 17 bytes gets 15 and 90 00 (min(Le, what is left)).
    let (_, _, mut card) = with("  short_ef: [my-number]\n");
    tx(&mut card, SELECT_TEXT);
    tx(&mut card, &select_ef(0x0011));
    tx(&mut card, &verify("1234"));
    tx(&mut card, &select_ef(0x0001));
    let (data, sw) = tx_data(&mut card, "00 B0 00 00 11");
    assert_eq!((data.len(), sw.as_str()), (15, "90 00"));
}

#[test]
fn a_corrupted_card_still_answers_every_apdu() {
    let knobs = "  my_number_check_digit: true\n  attributes: { wrong_length: name, wrong_offsets: true, name_encoding: invalid-utf8 }\n  integrity: signature\n  short_ef: [my-number, integrity, cv-certificate, basic-info]\n";
    let (_, _, mut card) = with(knobs);
    // Sequence 6 of the reference (scenarios/sequences/seq06-basic-four-information.yaml).
    let mut log = Vec::new();
    for apdu in [
        SELECT_TEXT.to_owned(),
        select_ef(0x0011),
        verify("1234"),
        select_ef(0x0002),
    ] {
        log.push(card.transmit(&mynasim_simulator::hex::decode(&apdu).unwrap()));
    }
    support::read_myna(&mut card, &mut Vec::new());
    for apdu in [
        select_ef(0x0003),
        "00 B0 00 00 00".to_owned(),
        "00 B0 01 00 50".to_owned(),
        select_ef(0x0004),
        "00 B0 00 00 00".to_owned(),
        "00 B0 01 00 00".to_owned(),
        "00 B0 02 00 38".to_owned(),
        select_ef(0x0005),
        "00 B0 00 00 00".to_owned(),
    ] {
        log.push(card.transmit(&mynasim_simulator::hex::decode(&apdu).unwrap()));
    }
    assert!(
        log.iter().all(|r| r.len() >= 2),
        "every APDU has a status word"
    );
}
