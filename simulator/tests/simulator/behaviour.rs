//! Card behaviours clients depend on: selection, READ BINARY chunking, power and reset,
//! security status, GET CHALLENGE and the event stream.

use mynasim_simulator::CardEvent;
use mynasim_simulator::apps::AppId;
use mynasim_simulator::card::Fid;

use super::support::{SELECT_JPKI, card, select_ef, tx, tx_data, verify};

#[test]
fn select_by_prefix_and_next_occurrence() {
    let mut c = card();
    // A prefix of the JPKI AID selects it (reference §1.2).
    assert_eq!(tx(&mut c, "00 A4 04 0C 04 D3 92 F0 00"), "90 00");
    assert_eq!(c.current_app(), Some(AppId::Jpki));
    // The empty name matches the first DF, the issuer security domain.
    assert_eq!(tx(&mut c, "00 A4 04 0C"), "90 00");
    assert_eq!(c.current_app(), Some(AppId::Isd));
    // "Next occurrence" walks the DFs matching the prefix.
    assert_eq!(tx(&mut c, "00 A4 04 0E 01 D3"), "90 00");
    assert_eq!(c.current_app(), Some(AppId::Jpki));
    // Nothing after the last match.
    assert_eq!(tx(&mut c, "00 A4 04 0E 04 D3 92 F0 00"), "6A 82");
    // A longer name than any AID never matches.
    assert_eq!(
        tx(&mut c, "00 A4 04 0C 0B D3 92 F0 00 26 01 00 00 00 01 00"),
        "6A 82"
    );
}

#[test]
fn select_with_fci_returns_a_minimal_template() {
    let mut c = card();
    let (fci, sw) = tx_data(&mut c, "00 A4 04 00 0A D3 92 F0 00 26 01 00 00 00 01 00");
    assert_eq!(sw, "90 00");
    assert_eq!(
        mynasim_simulator::hex::spaced(&fci),
        "6F 0C 84 0A D3 92 F0 00 26 01 00 00 00 01"
    );
}

/// Regression (fuzz/card, first run): a case-3 SELECT asking for an FCP (P2 = 04) was
/// answered with data although the host set no Le.
#[test]
fn select_never_returns_more_than_le() {
    let mut c = card();
    tx(&mut c, SELECT_JPKI);
    assert_eq!(tx(&mut c, "00 A4 02 04 02 00 0B"), "90 00");
    let (fcp, sw) = tx_data(&mut c, "00 A4 02 04 02 00 0B 00");
    assert_eq!((fcp.first(), sw.as_str()), (Some(&0x62), "90 00"));
    assert_eq!(tx(&mut c, "00 A4 02 04 02 00 0B 02"), "67 00");
    assert_eq!(
        tx(&mut c, "00 A4 04 00 0A D3 92 F0 00 26 01 00 00 00 01"),
        "90 00"
    );
}

#[test]
fn read_binary_returns_min_of_le_and_what_is_left() {
    let mut c = card();
    tx(&mut c, SELECT_JPKI);
    tx(&mut c, &select_ef(0x0006));
    // 160-byte token: Le 00 gives exactly 160, never more.
    let (data, sw) = tx_data(&mut c, "00 B0 00 00 00");
    assert_eq!((data.len(), sw.as_str()), (160, "90 00"));
    let (data, _) = tx_data(&mut c, "00 B0 00 9C 10");
    assert_eq!(data.len(), 4, "4 bytes left at offset 156");
    let (data, _) = tx_data(&mut c, "00 B0 00 10 05");
    assert_eq!(data.len(), 5);
    // Extended Le reads the whole EF in one go (JSAPDU).
    tx(&mut c, &select_ef(0x000A));
    let (data, sw) = tx_data(&mut c, "00 B0 00 00 00 00 00");
    assert_eq!(sw, "90 00");
    assert!(data.len() > 256 && data.get(..2) == Some(&[0x30, 0x82][..]));
    // Full 256-byte chunks mid-file for Le 00 (JPKI-RS depends on it).
    let (chunk, _) = tx_data(&mut c, "00 B0 01 00 00");
    assert_eq!(chunk.len(), 256);
}

#[test]
fn read_binary_by_short_file_identifier_selects_the_ef() {
    let mut c = card();
    tx(&mut c, SELECT_JPKI);
    // P1 = 80 | 08: EF 0008.
    assert_eq!(tx(&mut c, "00 B0 88 00 00"), "8F 8F 00 90 00");
    // The EF is now current.
    assert_eq!(tx(&mut c, "00 B0 00 01 02"), "8F 00 90 00");
    assert_eq!(tx(&mut c, "00 B0 88 03 01"), "6B 00");
    assert_eq!(tx(&mut c, "00 B0 A8 00 00"), "6A 86", "P1 b7..b6 must be 0");
    assert_eq!(tx(&mut c, "00 B0 83 00 00"), "6A 82", "no EF 0003");
}

#[test]
fn verify_by_short_file_identifier() {
    let mut c = card();
    tx(&mut c, SELECT_JPKI);
    // P2 = 80 | 18: key 0018 without SELECT (MYNA-CARD verify_sfi).
    assert_eq!(tx(&mut c, "00 20 00 98"), "63 C3");
    assert_eq!(
        tx(
            &mut c,
            &verify("1234").replace("00 20 00 80", "00 20 00 98")
        ),
        "90 00"
    );
    assert!(c.is_verified(AppId::Jpki, Fid(0x0018)));
}

#[test]
fn verified_state_lives_until_power_off_and_survives_warm_reset() {
    let mut c = card();
    tx(&mut c, SELECT_JPKI);
    tx(&mut c, &select_ef(0x001B));
    assert_eq!(tx(&mut c, &verify("ABC123")), "90 00");
    c.reset();
    tx(&mut c, SELECT_JPKI);
    tx(&mut c, &select_ef(0x0001));
    assert_eq!(
        &tx(&mut c, "00 B0 00 00 02")[..5],
        "30 82",
        "warm reset keeps it"
    );
    c.power_off();
    assert!(
        c.transmit(&[0x00, 0xA4, 0x00, 0x00]).is_empty(),
        "unpowered: mute"
    );
    c.power_on();
    tx(&mut c, SELECT_JPKI);
    tx(&mut c, &select_ef(0x0001));
    assert_eq!(tx(&mut c, "00 B0 00 00 02"), "69 82", "power-off clears it");
}

#[test]
fn selecting_another_application_clears_security_status() {
    let mut c = card();
    tx(&mut c, SELECT_JPKI);
    tx(&mut c, &select_ef(0x001B));
    tx(&mut c, &verify("ABC123"));
    // Re-selecting the same application keeps it (JICSAP 5.1.3 rule 2).
    tx(&mut c, SELECT_JPKI);
    tx(&mut c, &select_ef(0x0001));
    assert_eq!(&tx(&mut c, "00 B0 00 00 02")[..5], "30 82");
    // The issuer security domain is another DF: back in JPKI the password is needed again.
    assert_eq!(tx(&mut c, "00 A4 04 0C 07 A0 00 00 01 51 00 00"), "90 00");
    tx(&mut c, SELECT_JPKI);
    tx(&mut c, &select_ef(0x0001));
    assert_eq!(tx(&mut c, "00 B0 00 00 02"), "69 82");
}

#[test]
fn get_challenge_honours_every_length() {
    let mut c = card();
    for le in [1usize, 8, 16, 255, 256] {
        let (data, sw) = tx_data(&mut c, &format!("00 84 00 00 {:02X}", le % 256));
        assert_eq!((data.len(), sw.as_str()), (le, "90 00"));
    }
    tx(&mut c, SELECT_JPKI);
    let (a, _) = tx_data(&mut c, "00 84 00 00 08");
    let (b, _) = tx_data(&mut c, "00 84 00 00 08");
    assert_ne!(a, b);
    assert_eq!(tx(&mut c, "00 84 00 01 08"), "6A 86");
    assert_eq!(tx(&mut c, "00 84 00 00"), "67 00");
}

#[test]
fn get_data_at_mf_level_only() {
    let mut c = card();
    assert_eq!(
        tx(&mut c, "00 CA 00 F0 00"),
        "31 33 31 30 31 90 00",
        "municipality 13101"
    );
    assert_eq!(
        tx(&mut c, "00 CA 5F 51 00"),
        "E0 00 FF 81 31 FE 45 14 90 00"
    );
    assert_eq!(
        tx(&mut c, "00 CA 00 F0 02"),
        "67 00",
        "Le smaller than the object"
    );
    tx(&mut c, SELECT_JPKI);
    assert_eq!(tx(&mut c, "00 CA 00 F0 00"), "6A 88");
}

#[test]
fn events_tell_what_happened() {
    let mut c = card();
    c.take_events();
    tx(&mut c, SELECT_JPKI);
    tx(&mut c, &select_ef(0x0018));
    tx(&mut c, &verify("0000"));
    tx(&mut c, &verify("0000"));
    tx(&mut c, &verify("0000"));
    let events = c.take_events();
    assert_eq!(
        events.first(),
        Some(&CardEvent::Selected { app: AppId::Jpki })
    );
    assert!(events.contains(&CardEvent::PinFailed {
        app: AppId::Jpki,
        key: Fid(0x0018),
        left: 1
    }));
    assert_eq!(
        events.last(),
        Some(&CardEvent::PinBlocked {
            app: AppId::Jpki,
            key: Fid(0x0018)
        })
    );
}
