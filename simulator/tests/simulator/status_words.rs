//! Every status word the JPKI application and the card core send (reference §2.9), each
//! reached the way a client would reach it.

use super::support::{self, SELECT_JPKI, card, select_ef, tx, verify};

/// Runs `setup` then `command` on a fresh default card and returns the final SW.
fn sw_after(setup: &[&str], command: &str) -> String {
    let mut c = card();
    for s in setup {
        tx(&mut c, s);
    }
    let r = tx(&mut c, command);
    r.get(r.len().saturating_sub(5)..).unwrap_or("").to_owned()
}

#[test]
fn success_9000() {
    assert_eq!(sw_after(&[], SELECT_JPKI), "90 00");
    assert_eq!(sw_after(&[SELECT_JPKI], &select_ef(0x0018)), "90 00");
}

#[test]
fn wrong_pin_63cx_then_63c0_then_6984() {
    let mut c = card();
    tx(&mut c, SELECT_JPKI);
    tx(&mut c, &select_ef(0x0018));
    assert_eq!(
        tx(&mut c, "00 20 00 80"),
        "63 C3",
        "query: 3 tries, none spent"
    );
    assert_eq!(tx(&mut c, &verify("0000")), "63 C2");
    assert_eq!(tx(&mut c, &verify("0000")), "63 C1");
    assert_eq!(
        tx(&mut c, "00 20 00 80"),
        "63 C1",
        "the query costs nothing"
    );
    assert_eq!(
        tx(&mut c, &verify("0000")),
        "63 C0",
        "the try that blocks is 63 C0"
    );
    assert_eq!(
        tx(&mut c, &verify("1234")),
        "69 84",
        "blocked: even the right PIN"
    );
    assert_eq!(tx(&mut c, "00 20 00 80"), "63 C0", "query of a blocked key");
    // The lock survives power off.
    c.power_off();
    c.power_on();
    tx(&mut c, SELECT_JPKI);
    tx(&mut c, &select_ef(0x0018));
    assert_eq!(tx(&mut c, &verify("1234")), "69 84");
    // The signature password is a separate counter with 5 tries.
    tx(&mut c, &select_ef(0x001B));
    assert_eq!(tx(&mut c, "00 20 00 80"), "63 C5");
}

#[test]
fn a_right_pin_restores_the_counter() {
    let mut c = card();
    tx(&mut c, SELECT_JPKI);
    tx(&mut c, &select_ef(0x001B));
    assert_eq!(tx(&mut c, &verify("ABC124")), "63 C4");
    assert_eq!(tx(&mut c, &verify("abc123")), "63 C3", "no case folding");
    assert_eq!(tx(&mut c, &verify("ABC123")), "90 00");
    assert_eq!(tx(&mut c, "00 20 00 80"), "63 C5");
}

#[test]
fn wrong_length_6700() {
    // Case-2 form of the retry query, measured (reference §6 item 6).
    assert_eq!(
        sw_after(&[SELECT_JPKI, &select_ef(0x0018)], "00 20 00 80 00"),
        "67 00"
    );
    // iPhone "last command indicator".
    assert_eq!(sw_after(&[], "80 FC 00 00"), "67 00");
    // Malformed: Lc says 10, 2 bytes follow.
    assert_eq!(sw_after(&[], "00 A4 04 0C 0A D3 92"), "67 00");
    assert_eq!(sw_after(&[], "00 A4"), "67 00");
    // A signature without Le cannot be returned.
    let di = format!("{} {}", support::SHA256_DIGEST_INFO, "00 ".repeat(32));
    let setup = [
        SELECT_JPKI,
        &select_ef(0x0018),
        &verify("1234"),
        &select_ef(0x0017),
    ];
    assert_eq!(sw_after(&setup, &format!("80 2A 00 80 33 {di}")), "67 00");
    // Scheme 02 wants exactly a 32-byte hash.
    assert_eq!(sw_after(&setup, "80 2A 02 80 03 01 02 03 00"), "67 00");
    // A VERIFY longer than 16 bytes.
    assert_eq!(
        sw_after(
            &[SELECT_JPKI, &select_ef(0x001B)],
            &verify("ABCDEFGHIJ1234567")
        ),
        "67 00"
    );
    // READ BINARY without Le.
    assert_eq!(
        sw_after(&[SELECT_JPKI, &select_ef(0x0006)], "00 B0 00 00"),
        "67 00"
    );
}

#[test]
fn class_errors_6881_6882_69fc_6884_6e00() {
    assert_eq!(
        sw_after(&[], "01 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"),
        "68 81"
    );
    assert_eq!(
        sw_after(&[], "08 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"),
        "68 82"
    );
    assert_eq!(
        sw_after(&[], "0C A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"),
        "68 82"
    );
    assert_eq!(
        sw_after(&[SELECT_JPKI, &select_ef(0x000A)], "08 B0 00 00 04"),
        "69 FC"
    );
    assert_eq!(
        sw_after(&[SELECT_JPKI, &select_ef(0x0018)], "08 20 00 80"),
        "69 FC"
    );
    assert_eq!(
        sw_after(&[], "10 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"),
        "68 84"
    );
    assert_eq!(
        sw_after(&[], "A0 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"),
        "6E 00"
    );
    // Reader pseudo-APDUs reach a card only if the reader passes them on (reference §7).
    assert_eq!(sw_after(&[], "FF CA 00 00 00"), "6E 00");
}

#[test]
fn security_status_6982() {
    // The signature certificate needs the password (OpenSC #3169).
    assert_eq!(
        sw_after(&[SELECT_JPKI, &select_ef(0x0001)], "00 B0 00 00 04"),
        "69 82"
    );
    // Signing needs the key's PIN.
    let di = format!("{} {}", support::SHA256_DIGEST_INFO, "00 ".repeat(32));
    assert_eq!(
        sw_after(
            &[SELECT_JPKI, &select_ef(0x0017)],
            &format!("80 2A 00 80 33 {di} 00")
        ),
        "69 82"
    );
    // The auth PIN does not unlock the signature key.
    assert_eq!(
        sw_after(
            &[
                SELECT_JPKI,
                &select_ef(0x0018),
                &verify("1234"),
                &select_ef(0x001A)
            ],
            &format!("80 2A 00 80 33 {di} 00")
        ),
        "69 82"
    );
    // CHANGE REFERENCE DATA before VERIFY.
    assert_eq!(
        sw_after(
            &[SELECT_JPKI, &select_ef(0x0018)],
            "00 24 01 80 04 35 36 37 38"
        ),
        "69 82"
    );
    // SET SESSION KEY in the JPKI application (reference §2.8).
    assert_eq!(sw_after(&[SELECT_JPKI], "80 AE 00 00 00 00 01 00"), "69 82");
    // INTERNAL AUTHENTICATE with a PIN-protected key.
    assert_eq!(
        sw_after(&[SELECT_JPKI], "00 88 00 97 04 01 02 03 04 00"),
        "69 82"
    );
    // The protected EF 0009.
    assert_eq!(
        sw_after(&[SELECT_JPKI, &select_ef(0x0009)], "00 B0 00 00 01"),
        "69 82"
    );
}

#[test]
fn file_structure_6981_and_no_current_ef_6986() {
    assert_eq!(
        sw_after(&[SELECT_JPKI, &select_ef(0x0017)], "00 B0 00 00 04"),
        "69 81"
    );
    assert_eq!(
        sw_after(&[SELECT_JPKI, &select_ef(0x0018)], "00 B0 00 00 04"),
        "69 81"
    );
    assert_eq!(
        sw_after(&[SELECT_JPKI, &select_ef(0x000A)], "00 20 00 80"),
        "69 81"
    );
    // The MF's internal EF 001E (reference §1.2).
    assert_eq!(sw_after(&[&select_ef(0x001E)], "00 B0 00 00 01"), "69 81");
    assert_eq!(sw_after(&[&select_ef(0x001E)], "00 B2 01 04 00"), "69 81");
    assert_eq!(sw_after(&[SELECT_JPKI], "00 B0 00 00 04"), "69 86");
    assert_eq!(sw_after(&[SELECT_JPKI], "00 20 00 80"), "69 86");
}

#[test]
fn conditions_6985() {
    assert_eq!(
        sw_after(&[], "00 84 00 00 00 00 08"),
        "69 85",
        "extended GET CHALLENGE"
    );
    assert_eq!(
        sw_after(&[], "00 C0 00 00 10"),
        "69 85",
        "nothing to GET RESPONSE"
    );
}

#[test]
fn not_found_6a82() {
    assert_eq!(
        sw_after(&[], "00 A4 04 0C 07 A0 00 00 03 97 42 54"),
        "6A 82",
        "foreign AID"
    );
    assert_eq!(sw_after(&[SELECT_JPKI], &select_ef(0x0003)), "6A 82");
    assert_eq!(sw_after(&[], &select_ef(0x3F00)), "6A 82");
    assert_eq!(sw_after(&[SELECT_JPKI], &select_ef(0x3F00)), "6A 82");
    assert_eq!(sw_after(&[], &select_ef(0x2F10)), "6A 82");
    assert_eq!(
        sw_after(&[], &select_ef(0x0001)),
        "6A 82",
        "no EF 0001 under the MF"
    );
}

#[test]
fn parameters_6a86_6a81_6a88_6b00() {
    // SELECT MF right after power-on; a no-op once an application is current.
    assert_eq!(sw_after(&[], "00 A4 00 00"), "6A 86");
    assert_eq!(sw_after(&[SELECT_JPKI], "00 A4 00 00"), "90 00");
    assert_eq!(
        sw_after(&[SELECT_JPKI], "00 A4 09 0C 02 00 0A"),
        "6A 86",
        "P1 09 (OpenSC #801)"
    );
    let setup = [
        SELECT_JPKI,
        &select_ef(0x0018),
        &verify("1234"),
        &select_ef(0x0017),
    ];
    assert_eq!(
        sw_after(&setup, "80 2A 06 80 01 00 00"),
        "6A 86",
        "unknown scheme"
    );
    assert_eq!(
        sw_after(&[], "80 A2 00 00 01 00"),
        "6A 86",
        "SET PUBLIC IC KEY"
    );
    assert_eq!(
        sw_after(&[SELECT_JPKI], "00 B2 01 05 00"),
        "6A 81",
        "multi-record read"
    );
    assert_eq!(
        sw_after(&[SELECT_JPKI], "00 20 00 85"),
        "6A 88",
        "no key at SFI 5"
    );
    assert_eq!(
        sw_after(&[], "00 CA 01 01 00"),
        "6A 88",
        "absent data object"
    );
    assert_eq!(
        sw_after(&[SELECT_JPKI, &select_ef(0x0008)], "00 B0 00 03 01"),
        "6B 00"
    );
    assert_eq!(
        sw_after(&[SELECT_JPKI, &select_ef(0x0006)], "00 B0 7F FF 01"),
        "6B 00"
    );
}

#[test]
fn unknown_instruction_6d00() {
    assert_eq!(sw_after(&[], "00 FE 00 00"), "6D 00");
    assert_eq!(sw_after(&[], "00 B1 00 00 01"), "6D 00");
    assert_eq!(sw_after(&[], "80 B0 00 00 01"), "6D 00");
}

#[test]
fn first_command_quirk_6f00() {
    let yaml = "version: 1\ntoday: 2026-11-25\nholder: { birth_date: 1985-04-12 }\n\
                card: { issued: 2024-06-01 }\nquirks: { first_command_6f00: true }\n";
    let (mut c, _) = support::card_from(yaml);
    assert_eq!(tx(&mut c, SELECT_JPKI), "6F 00");
    assert_eq!(tx(&mut c, SELECT_JPKI), "90 00");
    c.power_off();
    c.power_on();
    assert_eq!(
        tx(&mut c, SELECT_JPKI),
        "6F 00",
        "again after every power-up"
    );
}

/// Where the reference allows two status words, the measured one is the default and the
/// other is a named quirk chosen inside the one mapping (reference §2.4, §2.7).
#[test]
fn quirks_choose_between_the_status_words_the_reference_allows() {
    let blocked = |quirks: &str| {
        let (mut c, _) = support::card_from(&format!(
            "version: 1\ntoday: 2026-11-25\nholder: {{ birth_date: 1985-04-12 }}\n\
             card: {{ issued: 2024-06-01 }}\npins: {{ auth: {{ value: \"1234\", tries_left: 0 }} }}\n{quirks}"
        ));
        tx(&mut c, SELECT_JPKI);
        tx(&mut c, &select_ef(0x0018));
        let query = tx(&mut c, "00 20 00 80");
        let verify = tx(&mut c, &verify("1234"));
        (query, verify)
    };
    assert_eq!(blocked(""), ("63 C0".to_owned(), "69 84".to_owned()));
    assert_eq!(
        blocked("quirks: { blocked_key_6983: true }"),
        ("63 C0".to_owned(), "69 83".to_owned())
    );
    assert_eq!(
        blocked("quirks: { blocked_query_6984: true }"),
        ("69 84".to_owned(), "69 84".to_owned())
    );

    let short_hash = |quirks: &str| {
        let (mut c, _) = support::card_from(&format!(
            "version: 1\ntoday: 2026-11-25\nholder: {{ birth_date: 1985-04-12 }}\n\
             card: {{ issued: 2024-06-01 }}\n{quirks}"
        ));
        tx(&mut c, SELECT_JPKI);
        tx(&mut c, &select_ef(0x0018));
        tx(&mut c, &verify("1234"));
        tx(&mut c, &select_ef(0x0017));
        // Scheme 02 takes exactly one SHA-256 value: 31 bytes is the wrong length.
        tx(&mut c, &format!("80 2A 02 80 1F {} 00", hex(&[0xAB; 31])))
    };
    assert_eq!(short_hash(""), "67 00");
    assert_eq!(short_hash("quirks: { signing_length_6985: true }"), "69 85");
}

fn hex(bytes: &[u8]) -> String {
    mynasim_simulator::hex::spaced(bytes)
}
