//! Shared helpers: the default card, APDU shorthands, and a client's whole-EF read.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use mynasim_simulator::profile::{self, IssuedCard};
use mynasim_simulator::{Card, hex};

/// The repository root.
pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `scenarios/profiles/default.yaml`, issued once per test process.
pub(crate) fn default_issued() -> &'static IssuedCard {
    static ISSUED: OnceLock<IssuedCard> = OnceLock::new();
    ISSUED.get_or_init(|| {
        profile::load(&repo().join("scenarios/profiles/default.yaml"))
            .expect("default profile loads")
            .issue()
            .expect("default profile issues")
    })
}

/// A fresh, powered default card.
pub(crate) fn card() -> Card {
    let mut card = default_issued().card.clone();
    card.power_on();
    card
}

/// A powered card from inline YAML.
pub(crate) fn card_from(yaml: &str) -> (Card, IssuedCard) {
    let issued = profile::Profile::from_yaml(yaml, "<inline>")
        .and_then(|p| p.personalise("<inline>"))
        .expect("profile is valid")
        .issue()
        .expect("card issues");
    let mut card = issued.card.clone();
    card.power_on();
    (card, issued)
}

/// Sends hex, returns the response as spaced hex.
pub(crate) fn tx(card: &mut Card, apdu: &str) -> String {
    hex::spaced(&card.transmit(&hex::decode(apdu).expect("test APDU is hex")))
}

/// Sends hex, returns (data, SW as "XX XX").
pub(crate) fn tx_data(card: &mut Card, apdu: &str) -> (Vec<u8>, String) {
    let mut r = card.transmit(&hex::decode(apdu).expect("test APDU is hex"));
    let sw = r.split_off(r.len().saturating_sub(2));
    (r, hex::spaced(&sw))
}

/// SELECT of the JPKI application.
pub(crate) const SELECT_JPKI: &str = "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01";

/// `00 A4 02 0C 02 <fid>`.
pub(crate) fn select_ef(fid: u16) -> String {
    format!("00 A4 02 0C 02 {:02X} {:02X}", fid >> 8, fid & 0xFF)
}

/// VERIFY with an ASCII secret against the current EF.
pub(crate) fn verify(secret: &str) -> String {
    format!(
        "00 20 00 80 {:02X} {}",
        secret.len(),
        hex::spaced(secret.as_bytes())
    )
}

/// The SHA-256 DigestInfo prefix (PKCS#1 v1.5).
pub(crate) const SHA256_DIGEST_INFO: &str =
    "30 31 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20";

/// Sends an APDU and logs the exchange.
fn send(card: &mut Card, log: &mut Vec<(Vec<u8>, Vec<u8>)>, apdu: Vec<u8>) -> Vec<u8> {
    let r = card.transmit(&apdu);
    log.push((apdu, r.clone()));
    r
}

/// Appends READ BINARY chunks of at most 256 bytes to `out` until it holds `total` bytes,
/// starting at offset `out.len()`; stops at any status other than `90 00`.
fn read_rest(card: &mut Card, log: &mut Vec<(Vec<u8>, Vec<u8>)>, out: &mut Vec<u8>, total: usize) {
    while out.len() < total {
        let chunk = (total - out.len()).min(256);
        let [p1, p2] = (out.len() as u16).to_be_bytes();
        let mut r = send(card, log, vec![0x00, 0xB0, p1, p2, (chunk % 256) as u8]);
        let sw = r.split_off(r.len().saturating_sub(2));
        if sw != [0x90, 0x00] || r.is_empty() {
            break;
        }
        out.extend(r);
    }
}

/// Reads a whole TLV EF the way MYNA-RS does (pattern 2): 7 bytes, then the rest from
/// offset 7 in chunks of at most 256.
pub(crate) fn read_myna(card: &mut Card, log: &mut Vec<(Vec<u8>, Vec<u8>)>) -> Vec<u8> {
    let mut head = send(card, log, vec![0x00, 0xB0, 0x00, 0x00, 0x07]);
    let sw = head.split_off(head.len().saturating_sub(2));
    if sw != [0x90, 0x00] || head.len() < 4 {
        return head;
    }
    // One- or two-byte tag (30 …, FF 20 …), then a BER length.
    let tag_len = if head[0] & 0x1F == 0x1F { 2 } else { 1 };
    let total = match head.get(tag_len) {
        Some(0x82) => {
            usize::from(u16::from_be_bytes([head[tag_len + 1], head[tag_len + 2]])) + tag_len + 3
        }
        Some(0x81) => usize::from(head[tag_len + 1]) + tag_len + 2,
        Some(&n) if n < 0x80 => usize::from(n) + tag_len + 1,
        _ => return head,
    };
    let mut out = head;
    read_rest(card, log, &mut out, total);
    out.truncate(total);
    out
}
