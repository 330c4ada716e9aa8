//! The input-support, card-face, common-card and resident-registry applications and the
//! MF-level data objects, read the way clients read them (reference §1.4–§1.7, §2.6, §2.8).

use mynasim_simulator::hex;
use mynasim_simulator::pki::cv::{self, ParsedCv};
use mynasim_simulator::pki::keys::{CaKey, ca_key};
use mynasim_simulator::profile::era;
use rsa::Pkcs1v15Sign;
use sha2::{Digest, Sha256};

use super::support::{self, card, read_myna, select_ef, tx, tx_data, verify};

pub(crate) const SELECT_TEXT: &str = "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08";
pub(crate) const SELECT_FACE: &str = "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 02";
pub(crate) const SELECT_COMMON: &str = "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 01 00";
pub(crate) const SELECT_JUKI: &str = "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 01";

fn code_b() -> String {
    let p = &support::default_issued().personalisation;
    mynasim_simulator::apps::text::verification_code_b(
        p.birth_date,
        p.card_expires,
        &p.security_code,
    )
}

fn my_number() -> String {
    support::default_issued()
        .personalisation
        .my_number
        .to_string()
}

/// Reads an EF whole with extended Le.
fn read_all(c: &mut mynasim_simulator::Card, fid: u16) -> Vec<u8> {
    assert_eq!(tx(c, &select_ef(fid)), "90 00", "select {fid:04X}");
    let (data, sw) = tx_data(c, "00 B0 00 00 00 00 00");
    assert_eq!(sw, "90 00", "read {fid:04X}");
    data
}

#[test]
fn my_number_with_the_pin_or_code_a() {
    let mut c = card();
    tx(&mut c, SELECT_TEXT);
    tx(&mut c, &select_ef(0x0001));
    assert_eq!(tx(&mut c, "00 B0 00 00 11"), "69 82");
    tx(&mut c, &select_ef(0x0011));
    assert_eq!(tx(&mut c, "00 20 00 80"), "63 C3");
    assert_eq!(
        tx(&mut c, &verify("1234")),
        "90 00",
        "the input-support PIN defaults to the auth PIN"
    );
    tx(&mut c, &select_ef(0x0001));
    let (data, sw) = tx_data(&mut c, "00 B0 00 00 11");
    assert_eq!(sw, "90 00");
    assert_eq!(data.len(), 17);
    assert_eq!(&data[..3], [0xFF, 0x10, 0x0C]);
    assert_eq!(&data[3..15], my_number().as_bytes());
    assert_eq!(&data[15..], [0xFF, 0xFF]);
}

#[test]
fn code_a_opens_0001_not_0002_and_code_b_the_reverse() {
    let mut c = card();
    tx(&mut c, SELECT_TEXT);
    tx(&mut c, &select_ef(0x0014));
    assert_eq!(
        tx(&mut c, "00 20 00 80"),
        "63 CA",
        "照合番号A: 10 tries by default"
    );
    assert_eq!(tx(&mut c, &verify(&my_number())), "90 00");
    tx(&mut c, &select_ef(0x0001));
    assert!(tx(&mut c, "00 B0 00 00 11").ends_with("90 00"));
    tx(&mut c, &select_ef(0x0002));
    assert_eq!(
        tx(&mut c, "00 B0 00 00 07"),
        "69 82",
        "A does not open 0002"
    );
    tx(&mut c, &select_ef(0x0003));
    assert!(
        tx(&mut c, "00 B0 00 00 04").ends_with("90 00"),
        "A opens 0003"
    );

    let mut c = card();
    tx(&mut c, SELECT_TEXT);
    tx(&mut c, &select_ef(0x0015));
    assert_eq!(tx(&mut c, &verify(&code_b())), "90 00");
    tx(&mut c, &select_ef(0x0002));
    assert!(tx(&mut c, "00 B0 00 00 07").ends_with("90 00"));
    tx(&mut c, &select_ef(0x0001));
    assert_eq!(
        tx(&mut c, "00 B0 00 00 11"),
        "69 82",
        "B does not open 0001"
    );
}

#[test]
fn key_0012_is_blocked_from_issuance() {
    let mut c = card();
    tx(&mut c, SELECT_TEXT);
    tx(&mut c, &select_ef(0x0012));
    assert_eq!(tx(&mut c, "00 20 00 80"), "63 C0");
    assert_eq!(tx(&mut c, &verify("1234")), "69 84");
}

#[test]
fn basic_four_information_parses_and_its_offsets_point_at_the_tags() {
    let mut c = card();
    tx(&mut c, SELECT_TEXT);
    tx(&mut c, &select_ef(0x0011));
    tx(&mut c, &verify("1234"));
    let ef2 = read_all(&mut c, 0x0002);
    let p = &support::default_issued().personalisation;
    let (outer, _) = mynasim_simulator::apdu::tlv::Tlv::parse(&ef2).unwrap();
    let kids = outer.children().unwrap();
    let value = |tag: u32| kids.iter().find(|k| k.tag.0 == tag).unwrap().value;
    assert_eq!(std::str::from_utf8(value(0xDF22)).unwrap(), p.name);
    assert_eq!(std::str::from_utf8(value(0xDF23)).unwrap(), p.address);
    assert_eq!(value(0xDF24), era::yyyymmdd(p.birth_date).as_bytes());
    assert_eq!(value(0xDF25), b"2");
    let table = value(0xDF21);
    for (i, tag) in [0xDF22u16, 0xDF23, 0xDF24, 0xDF25].iter().enumerate() {
        let at = usize::from(u16::from_be_bytes([table[2 * i], table[2 * i + 1]]));
        assert_eq!(u16::from_be_bytes([ef2[at], ef2[at + 1]]), *tag);
    }
}

/// The client's check of the CV chain: EF 0004 verifies with mynasim's published test CV CA
/// key, and its subject key verifies every record of the application.
#[test]
fn every_integrity_signature_verifies_with_the_published_cv_ca() {
    let mut c = card();
    tx(&mut c, SELECT_TEXT);
    let cert = ParsedCv::parse(&read_all(&mut c, 0x0004)).unwrap();
    assert!(cert.verify(&ca_key(CaKey::CvTextIssuer).unwrap().to_public_key()));
    assert_eq!(cert.issuer.name(), cv::TEXT_ISSUER);
    tx(&mut c, &select_ef(0x0011));
    tx(&mut c, &verify("1234"));
    let ef1 = read_all(&mut c, 0x0001);
    let ef2 = read_all(&mut c, 0x0002);
    let ef3 = read_all(&mut c, 0x0003);
    let ef7 = read_all(&mut c, 0x0007);
    assert_eq!(ef3.len(), 336, "MYNA-GO reads exactly 336 bytes");
    // EF 0003: DF31 = SHA-256 of EF 0001 (17 bytes with filler), DF32 = SHA-256 of EF 0002
    // from DF22 on; DF33 signs DF31‖DF32.
    assert_eq!(&ef3[5..8], [0xDF, 0x31, 0x20]);
    assert_eq!(&ef3[8..40], Sha256::digest(&ef1).as_slice());
    let source = mynasim_simulator::apps::text::attributes_digest_source(&ef2);
    assert_eq!(&ef3[43..75], Sha256::digest(source).as_slice());
    let key = &cert.subject_key;
    let check = |signed: &[u8], sig: &[u8]| {
        key.verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(signed), sig)
            .expect("record signature verifies with the EF 0004 key")
    };
    check(&ef3[5..75], &ef3[80..336]);
    check(&ef7[5..275], &ef7[280..536]);
    // EF 0007's key is the one 80 2A 00 00 signs with.
    let signing_key = cv::parse_public_key(&ef7[10..275]).unwrap();
    let challenge = [0x11u8; 16];
    let di = cv::sha256_digest_info(&Sha256::digest(challenge));
    let (sig, sw) = tx_data(&mut c, &format!("80 2A 00 00 33 {} 00", hex::spaced(&di)));
    assert_eq!(sw, "90 00", "no credential needed");
    signing_key
        .verify(Pkcs1v15Sign::new_unprefixed(), &di, &sig)
        .expect("challenge signature verifies with EF 0007's key");

    // Card face: EF 0004 from the face issuer; its key signs 0001, 0002 (three digests), 0005.
    let mut c = card();
    tx(&mut c, SELECT_FACE);
    let cert = ParsedCv::parse(&read_all(&mut c, 0x0004)).unwrap();
    assert!(cert.verify(&ca_key(CaKey::CvFaceIssuer).unwrap().to_public_key()));
    assert!(!cert.verify(&ca_key(CaKey::CvTextIssuer).unwrap().to_public_key()));
    tx(&mut c, &select_ef(0x0011));
    let p = &support::default_issued().personalisation;
    assert_eq!(tx(&mut c, &verify(&era::era_yymmdd(p.birth_date))), "90 00");
    let age = read_all(&mut c, 0x0001);
    tx(&mut c, &select_ef(0x0013));
    assert_eq!(tx(&mut c, &verify(&my_number())), "90 00");
    let face = read_all(&mut c, 0x0002);
    let image = read_all(&mut c, 0x0005);
    let key = &cert.subject_key;
    fn before(
        file: &[u8],
        tag: u32,
    ) -> (Vec<u8>, Vec<u8>, Vec<mynasim_simulator::apdu::tlv::Tlv<'_>>) {
        let (outer, _) = mynasim_simulator::apdu::tlv::Tlv::parse(file).unwrap();
        let kids = outer.children().unwrap();
        let i = kids.iter().position(|k| k.tag.0 == tag).unwrap();
        (
            kids[..i]
                .iter()
                .flat_map(|k| k.raw.iter().copied())
                .collect::<Vec<u8>>(),
            kids[i].value.to_vec(),
            kids,
        )
    }
    let (signed, sig, _) = before(&age, 0xDF13);
    key.verify(
        Pkcs1v15Sign::new::<Sha256>(),
        &Sha256::digest(&signed),
        &sig,
    )
    .unwrap();
    let (signed, sig, _) = before(&image, 0xDF43);
    key.verify(
        Pkcs1v15Sign::new::<Sha256>(),
        &Sha256::digest(&signed),
        &sig,
    )
    .unwrap();
    let (_, sig, kids) = before(&face, 0xDF28);
    let raw = |tags: &[u32]| {
        tags.iter()
            .flat_map(|t| {
                kids.iter()
                    .find(|k| k.tag.0 == *t)
                    .unwrap()
                    .raw
                    .iter()
                    .copied()
            })
            .collect::<Vec<u8>>()
    };
    let digests = [
        Sha256::digest(raw(&[0xDF22, 0xDF23, 0xDF24])).to_vec(),
        Sha256::digest(raw(&[0xDF25, 0xDF26])).to_vec(),
        Sha256::digest(raw(&[0xDF27])).to_vec(),
    ]
    .concat();
    key.verify(
        Pkcs1v15Sign::new_unprefixed(),
        &cv::sha256_digest_info(&digests),
        &sig,
    )
    .expect("the card face's three-digest signature verifies");
}

#[test]
fn the_card_face_images_are_real_files() {
    let mut c = card();
    tx(&mut c, SELECT_FACE);
    tx(&mut c, &select_ef(0x0013));
    tx(&mut c, &verify(&my_number()));
    let face = read_all(&mut c, 0x0002);
    let image = read_all(&mut c, 0x0005);
    let (outer, _) = mynasim_simulator::apdu::tlv::Tlv::parse(&face).unwrap();
    let kids = outer.children().unwrap();
    let value = |tag: u32| kids.iter().find(|k| k.tag.0 == tag).unwrap().value.to_vec();
    let decode = |png_bytes: &[u8]| {
        let mut reader = png::Decoder::new(std::io::Cursor::new(png_bytes.to_vec()))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.bit_depth, png::BitDepth::One);
        assert!(buf.iter().any(|&b| b != 0xFF), "some ink");
        (info.width, info.height)
    };
    assert_eq!(decode(&value(0xDF25)), (216, 12), "name");
    assert!(decode(&value(0xDF26)).0 >= 288, "address");
    assert_eq!(decode(&value(0xDF2A)), (24, 12), "security code");
    let (io, _) = mynasim_simulator::apdu::tlv::Tlv::parse(&image).unwrap();
    let png_bytes = io.children().unwrap()[0].value.to_vec();
    assert_eq!(decode(&png_bytes), (72, 12), "My Number");
    // The photo is a JPEG 2000 file that OpenJPEG decodes.
    let photo = value(0xDF27);
    assert_eq!(
        &photo[..12],
        [
            0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A
        ]
    );
    let dir = std::env::temp_dir().join(format!("mynasim-photo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("photo.jp2"), &photo).unwrap();
    let out = std::process::Command::new("opj_decompress")
        .args(["-i", "photo.jp2", "-o", "photo.pgm"])
        .current_dir(&dir)
        .output()
        .expect("opj_decompress (Debian libopenjp2-tools, installed by ci/setup) runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pgm = std::fs::read(dir.join("photo.pgm")).unwrap();
    let header: Vec<String> = pgm
        .split(|&b| b == b'\n')
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .filter(|l| !l.starts_with('#'))
        .take(2)
        .collect();
    assert_eq!(header, ["P5", "378 472"], "a 378x472 greyscale image");
    let _ = std::fs::remove_dir_all(dir);
    // DF29 is the card's expiry.
    let p = &support::default_issued().personalisation;
    assert_eq!(value(0xDF29), era::yyyymmdd(p.card_expires).as_bytes());
}

#[test]
fn card_face_access_and_keys() {
    let mut c = card();
    tx(&mut c, SELECT_FACE);
    for fid in [0x0001, 0x0002, 0x0005, 0x0006] {
        tx(&mut c, &select_ef(fid));
        assert_eq!(
            tx(&mut c, "00 B0 00 00 01"),
            "69 82",
            "{fid:04X} is protected"
        );
    }
    for fid in [0x0003, 0x0004] {
        tx(&mut c, &select_ef(fid));
        assert!(
            tx(&mut c, "00 B0 00 00 01").ends_with("90 00"),
            "{fid:04X} is free"
        );
    }
    tx(&mut c, &select_ef(0x0012));
    assert_eq!(tx(&mut c, &verify(&code_b())), "90 00");
    tx(&mut c, &select_ef(0x0002));
    assert!(
        tx(&mut c, "00 B0 00 00 01").ends_with("90 00"),
        "B opens 0002"
    );
    tx(&mut c, &select_ef(0x0005));
    assert_eq!(
        tx(&mut c, "00 B0 00 00 01"),
        "69 82",
        "B does not open 0005"
    );
    tx(&mut c, &select_ef(0x0001));
    assert_eq!(
        tx(&mut c, "00 B0 00 00 01"),
        "69 82",
        "B does not open 0001"
    );
    // 0003 carries the municipality code.
    let ef3 = read_all(&mut c, 0x0003);
    assert_eq!(&ef3[..5], [0xFF, 0x30, 0x82, 0x01, 0x3B]);
    assert_eq!(&ef3[35..43], b"\xDF\x34\x0513101");
    // Card-face keys refuse INTERNAL AUTHENTICATE with 69 85; SET SESSION KEY is 66 F1.
    assert_eq!(tx(&mut c, "00 88 00 9A 04 01 02 03 04 00"), "69 85");
    assert_eq!(tx(&mut c, "80 AE 00 00 00 00 01 00"), "66 F1");
}

#[test]
fn verifying_one_application_never_opens_another() {
    let mut c = card();
    // The JPKI PIN does not open the input-support files, even with the same value.
    tx(&mut c, support::SELECT_JPKI);
    tx(&mut c, &select_ef(0x0018));
    assert_eq!(tx(&mut c, &verify("1234")), "90 00");
    tx(&mut c, SELECT_TEXT);
    tx(&mut c, &select_ef(0x0001));
    assert_eq!(tx(&mut c, "00 B0 00 00 11"), "69 82");
    // Nor does the input-support PIN open the card face, or 照合番号A in the input-support
    // application open the card face's A-gated files.
    tx(&mut c, &select_ef(0x0011));
    tx(&mut c, &verify("1234"));
    tx(&mut c, &select_ef(0x0014));
    tx(&mut c, &verify(&my_number()));
    tx(&mut c, SELECT_FACE);
    tx(&mut c, &select_ef(0x0005));
    assert_eq!(tx(&mut c, "00 B0 00 00 01"), "69 82");
    // Even with the quirk that keeps verified keys across DF switches, keys belong to their DF.
    let yaml = "version: 1\ntoday: 2026-11-25\nholder: { birth_date: 1985-04-12 }\ncard: { issued: 2024-06-01 }\n\
                quirks: { keep_security_on_df_switch: true }\n";
    let (mut c, _) = support::card_from(yaml);
    tx(&mut c, SELECT_TEXT);
    tx(&mut c, &select_ef(0x0011));
    assert_eq!(tx(&mut c, &verify("1234")), "90 00");
    tx(&mut c, support::SELECT_JPKI);
    tx(&mut c, &select_ef(0x0017));
    let di = format!("{} {}", support::SHA256_DIGEST_INFO, "00 ".repeat(32));
    assert_eq!(tx(&mut c, &format!("80 2A 00 80 33 {di} 00")), "69 82");
    tx(&mut c, SELECT_TEXT);
    tx(&mut c, &select_ef(0x0001));
    assert!(
        tx(&mut c, "00 B0 00 00 11").ends_with("90 00"),
        "kept in its own DF"
    );
}

#[test]
fn common_card_records_internal_authenticate_and_change_key() {
    let mut c = card();
    tx(&mut c, SELECT_COMMON);
    // MYNA-RS: READ RECORD by SFI without selecting the EF.
    let (record, sw) = tx_data(&mut c, "00 B2 01 0C 00");
    assert_eq!(sw, "90 00");
    let p = &support::default_issued().personalisation;
    assert_eq!(&record[..2], [0x01, 0x1C]);
    assert_eq!(&record[2..17], p.serial.as_bytes());
    assert_eq!(&record[17..22], b"13101");
    assert_eq!(&record[22..], era::yyyymmdd(p.card_expires).as_bytes());
    // MYNA-CARD: SELECT then READ RECORD of the current EF.
    tx(&mut c, &select_ef(0x0001));
    assert_eq!(tx_data(&mut c, "00 B2 01 04 00").0, record);
    assert_eq!(tx(&mut c, "00 B2 02 04 00"), "6A 83");
    assert_eq!(tx(&mut c, "00 B2 01 05 00"), "6A 81");
    assert_eq!(
        tx(&mut c, "00 B0 00 00 01"),
        "69 81",
        "READ BINARY on a record EF"
    );
    // INTERNAL AUTHENTICATE with key 0019, no credential, deterministic.
    let challenge = "01 02 03 04 05 06 07 08";
    let (sig1, sw) = tx_data(&mut c, &format!("00 88 00 99 08 {challenge} 00"));
    assert_eq!((sig1.len(), sw.as_str()), (256, "90 00"));
    let (sig2, _) = tx_data(&mut c, &format!("00 88 00 99 08 {challenge} 00"));
    assert_eq!(sig1, sig2);
    assert_eq!(tx(&mut c, "80 AE 00 00 00 00 01 00"), "66 F1");
    // CHANGE KEY on 001C after VERIFY; the resident registry's 001C is a separate counter.
    tx(&mut c, &select_ef(0x001C));
    assert_eq!(
        tx(&mut c, "80 32 00 80 04 35 36 37 38"),
        "69 82",
        "not verified yet"
    );
    assert_eq!(tx(&mut c, &verify("1234")), "90 00");
    assert_eq!(tx(&mut c, "80 32 00 80 04 35 36 37 38"), "90 00");
    assert_eq!(tx(&mut c, &verify("1234")), "63 C2");
    tx(&mut c, SELECT_JUKI);
    tx(&mut c, &select_ef(0x001C));
    assert_eq!(tx(&mut c, "00 20 00 80"), "63 C3", "separate counter");
    assert_eq!(tx(&mut c, &verify("1234")), "90 00", "separate value");
    assert_eq!(
        tx(&mut c, "00 B2 01 14 00").len(),
        16 * 3 + 5,
        "EF 0002 by SFI 2"
    );
    assert_eq!(tx(&mut c, "80 AE 00 00 00 00 01 00"), "69 82");
}

#[test]
fn mf_data_objects() {
    let mut c = card();
    let p = &support::default_issued().personalisation;
    assert_eq!(
        tx_data(&mut c, "00 CA 00 F2 00").0,
        era::yyyymmdd(p.card_expires).as_bytes()
    );
    assert_eq!(tx_data(&mut c, "00 CA 00 45 00").0, p.serial.as_bytes());
    assert_eq!(tx_data(&mut c, "00 CA 00 42 00").0.len(), 16);
    // Card recognition data parses as BER-TLV all the way down.
    let crd = tx_data(&mut c, "00 CA 00 66 00").0;
    let (outer, rest) = mynasim_simulator::apdu::tlv::Tlv::parse(&crd).unwrap();
    assert!(rest.is_empty() && outer.tag.0 == 0x66);
    let template = &outer.children().unwrap()[0];
    assert_eq!(template.tag.0, 0x73);
    assert_eq!(template.children().unwrap().len(), 4);
    // The CV chain: a short Le is refused, an extended one works (MYNA-CARD get_data).
    assert_eq!(tx(&mut c, "00 CA 00 F8 00"), "67 00");
    let (f8, sw) = tx_data(&mut c, "00 CA 00 F8 00 00 00");
    assert_eq!((f8.len(), sw.as_str()), (575, "90 00"));
    let (f7, _) = tx_data(&mut c, "00 CA 00 F7 00");
    let root = ParsedCv::parse(&f8).unwrap();
    assert!(root.verify(&ca_key(CaKey::MfRoot).unwrap().to_public_key()));
    assert_eq!(
        root.subject.0.as_slice(),
        f7.as_slice(),
        "00F7 names F8's subject"
    );
    let (d7f21, _) = tx_data(&mut c, "00 CA 7F 21 00 00 00");
    let below = ParsedCv::parse(&d7f21).unwrap();
    assert_eq!(below.issuer, root.subject);
    assert!(below.verify(&root.subject_key), "7F21 chains to F8");
    assert_eq!(tx(&mut c, "00 CA 00 F3 00"), "6A 88");
    // Not inside an application (after the ISD is re-selected it works again).
    tx(&mut c, SELECT_TEXT);
    assert_eq!(tx(&mut c, "00 CA 00 F2 00"), "6A 88");
    tx(&mut c, "00 A4 04 0C 07 A0 00 00 01 51 00 00");
    assert!(tx(&mut c, "00 CA 00 F2 00").ends_with("90 00"));
    // Quirks: older cards lack 7F21; some answer 5F51 only inside applications.
    let yaml = "version: 1\ntoday: 2026-11-25\nholder: { birth_date: 1985-04-12 }\ncard: { issued: 2024-06-01 }\n\
                quirks: { no_7f21_data_object: true, atr_data_object_in_applications: true }\n";
    let (mut c, _) = support::card_from(yaml);
    assert_eq!(tx(&mut c, "00 CA 7F 21 00 00 00"), "6A 88");
    assert_eq!(tx(&mut c, "00 CA 5F 51 00"), "6A 88");
    tx(&mut c, support::SELECT_JPKI);
    assert_eq!(
        tx(&mut c, "00 CA 5F 51 00"),
        "E0 00 FF 81 31 FE 45 14 90 00"
    );
}

#[test]
fn text_application_refuses_secure_messaging_it_does_not_emulate() {
    let mut c = card();
    tx(&mut c, SELECT_TEXT);
    assert_eq!(tx(&mut c, "80 AE 00 00 00 00 01 00"), "69 82", "no PIN yet");
    tx(&mut c, &select_ef(0x0011));
    tx(&mut c, &verify("1234"));
    assert_eq!(tx(&mut c, "80 AE 00 00 00 00 01 00"), "6A 80");
}

#[test]
fn a_150_byte_address_gets_a_long_form_length_and_still_verifies() {
    let address = "東京都千代田区".to_owned() + &"あ".repeat(43); // 21 + 129 = 150 bytes
    assert_eq!(address.len(), 150);
    // A 2016 card writes the minimal long form (81 xx), a 2023 card always 82 HH LL.
    for (layout, header) in [
        ("2016", &[0xFF, 0x20, 0x81][..]),
        ("2023", &[0xFF, 0x20, 0x82, 0x00][..]),
    ] {
        let yaml = format!(
            "version: 1\ntoday: 2026-11-25\nholder: {{ birth_date: 1985-04-12, address: \"{address}\" }}\n\
             card: {{ issued: 2024-06-01, layout: {layout} }}\n"
        );
        let (mut c, _) = support::card_from(&yaml);
        tx(&mut c, SELECT_TEXT);
        tx(&mut c, &select_ef(0x0011));
        tx(&mut c, &verify("1234"));
        let ef2 = read_all(&mut c, 0x0002);
        assert_eq!(
            &ef2[..header.len()],
            header,
            "layout {layout}: outer length"
        );
        let (outer, _) = mynasim_simulator::apdu::tlv::Tlv::parse(&ef2).unwrap();
        let df23 = outer
            .children()
            .unwrap()
            .into_iter()
            .find(|k| k.tag.0 == 0xDF23)
            .unwrap();
        assert_eq!(
            &df23.raw[..4],
            [0xDF, 0x23, 0x81, 0x96],
            "DF23 81 96: 150 bytes"
        );
        // A client reading the 7-byte header then the rest gets the same file.
        tx(&mut c, &select_ef(0x0002));
        assert_eq!(read_myna(&mut c, &mut Vec::new()), ef2);
        // And the integrity record still matches it.
        let ef3 = read_all(&mut c, 0x0003);
        let source = mynasim_simulator::apps::text::attributes_digest_source(&ef2);
        assert_eq!(&ef3[43..75], Sha256::digest(source).as_slice());
    }
}

/// Reader personalities (issue 13): a part-3 reader shows the batch's ATR, a PUPI reader a
/// new one at every power-on (the same sequence for the same seed), a contact reader the
/// chip's own; the card behind answers the same.
#[test]
fn the_reader_decides_the_atr_and_nothing_else() {
    let card_in = |reader: &str| {
        let yaml = format!(
            "version: 1\ntoday: 2026-11-25\nholder: {{ birth_date: 1985-04-12 }}\n\
             card: {{ issued: 2024-06-01, atr: contactless41, reader: {reader} }}\n"
        );
        support::card_from(&yaml).0
    };
    let mut part3 = card_in("part3");
    assert_eq!(
        part3.atr(),
        [
            0x3B, 0x88, 0x80, 0x01, 0x00, 0x00, 0x41, 0xE0, 0xB3, 0x81, 0xA1, 0x00, 0x3B
        ]
    );
    part3.power_off();
    assert_eq!(part3.power_on()[6], 0x41, "a part-3 ATR does not change");

    let mut pupi = card_in("pupi");
    let first = pupi.atr().to_vec();
    assert_eq!(&first[..4], [0x3B, 0x88, 0x80, 0x01]);
    assert_eq!(&first[8..12], [0xB3, 0x81, 0xA1, 0x00]);
    pupi.power_off();
    let second = pupi.power_on().to_vec();
    assert_ne!(first, second, "a new PUPI at every activation");
    assert_eq!(
        pupi.reset(),
        second,
        "a warm reset keeps the activation's PUPI"
    );
    let mut again = card_in("pupi");
    again.power_off();
    assert_eq!(
        (first.as_slice(), again.power_on()),
        (first.as_slice(), second.as_slice()),
        "the same seed, the same PUPIs"
    );

    let mut contact = card_in("contact");
    assert_eq!(
        contact.atr(),
        [0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14]
    );
    // The card answers the same in every reader.
    for card in [&mut part3, &mut pupi, &mut contact] {
        assert_eq!(tx(card, SELECT_TEXT), "90 00");
    }
}
