//! Building the commands a host sends, from the [instruction table](super::ins): the
//! harness's steps, the benchmarks and the tests all write their APDUs here, so a command's
//! header bytes exist once (reference §2.1 and §2.10 show each form).
//!
//! Lengths pick the short form when they fit (Le 256 is `00`) and the extended form
//! otherwise, like every client in the reference.

use super::command::Command;
use super::ins::{BinaryAddress, Instruction, KeyReference, SelectP1};

/// Encodes a command ([`Command::new`]). What no APDU can carry — data over 65 535 bytes,
/// an `Ne` of 0 or over 65 536 — leaves the bare header, which the card refuses with
/// `67 00` like any malformed command (a scenario may send one on purpose).
pub fn command(header: [u8; 4], data: &[u8], ne: Option<usize>, extended: bool) -> Vec<u8> {
    Command::new(header, data, ne, extended).map_or_else(|| header.to_vec(), |c| c.encode())
}

/// `00 A4 04 0C Lc name`: SELECT a DF by name (full AID or a prefix), no response data.
pub fn select_df(name: &[u8]) -> Vec<u8> {
    command(
        Instruction::Select.header(SelectP1::DfName.byte(), 0x0C),
        name,
        None,
        false,
    )
}

/// `00 A4 02 0C 02 FID`: SELECT an EF of the current DF, no response data.
pub fn select_ef(fid: [u8; 2]) -> Vec<u8> {
    command(
        Instruction::Select.header(SelectP1::Ef.byte(), 0x0C),
        &fid,
        None,
        false,
    )
}

/// `00 20 00 P2 Lc secret`: VERIFY.
pub fn verify(key: KeyReference, secret: &[u8]) -> Vec<u8> {
    command(
        Instruction::Verify.header(0x00, key.p2()),
        secret,
        None,
        false,
    )
}

/// `00 20 00 P2`: the case-1 retry query (no try spent).
pub fn retry_query(key: KeyReference) -> Vec<u8> {
    Instruction::Verify.header(0x00, key.p2()).to_vec()
}

/// `00 24 01 P2 Lc new`: CHANGE REFERENCE DATA with the new secret alone.
pub fn change_reference_data(key: KeyReference, new: &[u8]) -> Vec<u8> {
    command(
        Instruction::ChangeReferenceData.header(0x01, key.p2()),
        new,
        None,
        false,
    )
}

/// `80 32 00 P2 Lc new`: JICSAP CHANGE KEY (the resident PINs).
pub fn change_key(key: KeyReference, new: &[u8]) -> Vec<u8> {
    command(
        Instruction::ChangeKey.header(0x00, key.p2()),
        new,
        None,
        false,
    )
}

/// `00 B0 P1 P2 Le`: READ BINARY of at most `ne` bytes (1–65 536; extended above 256).
pub fn read_binary(at: BinaryAddress, ne: usize) -> Vec<u8> {
    let [p1, p2] = at.p1p2();
    command(Instruction::ReadBinary.header(p1, p2), &[], Some(ne), false)
}

/// `00 B0 P1 P2 00 00 00`: READ BINARY with the extended Le for "everything".
pub fn read_binary_extended(at: BinaryAddress) -> Vec<u8> {
    let [p1, p2] = at.p1p2();
    command(
        Instruction::ReadBinary.header(p1, p2),
        &[],
        Some(super::EXTENDED_LE_MAX),
        true,
    )
}

/// `00 B2 record P2 00`: READ RECORD (P2 `SFI<<3 | 4`, or `04` for the current EF).
pub fn read_record(record: u8, p2: u8) -> Vec<u8> {
    command(
        Instruction::ReadRecord.header(record, p2),
        &[],
        Some(super::SHORT_LE_MAX),
        false,
    )
}

/// `80 2A scheme P2 Lc data Le`: COMPUTE DIGITAL SIGNATURE (P2 `00` the application's
/// default key, or a [`KeyReference`]'s byte).
pub fn compute_digital_signature(scheme: u8, p2: u8, data: &[u8], ne: usize) -> Vec<u8> {
    command(
        Instruction::ComputeDigitalSignature.header(scheme, p2),
        data,
        Some(ne),
        false,
    )
}

/// `00 84 00 00 Le`: GET CHALLENGE of `ne` bytes.
pub fn get_challenge(ne: usize) -> Vec<u8> {
    command(
        Instruction::GetChallenge.header(0x00, 0x00),
        &[],
        Some(ne),
        false,
    )
}

/// `00 CA P1 P2 00`, or with `extended` the Le `00 00 00`: GET DATA of a data object.
pub fn get_data(tag: [u8; 2], extended: bool) -> Vec<u8> {
    let ne = if extended {
        super::EXTENDED_LE_MAX
    } else {
        super::SHORT_LE_MAX
    };
    command(
        Instruction::GetData.header(tag[0], tag[1]),
        &[],
        Some(ne),
        extended,
    )
}

/// `00 88 00 P2 Lc challenge 00`: INTERNAL AUTHENTICATE.
pub fn internal_authenticate(key: KeyReference, challenge: &[u8]) -> Vec<u8> {
    command(
        Instruction::InternalAuthenticate.header(0x00, key.p2()),
        challenge,
        Some(super::SHORT_LE_MAX),
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex;

    /// The bytes of the reference's typical sequences (§2.10).
    #[test]
    fn builders_give_the_reference_bytes() {
        let cases: [(Vec<u8>, &str); 12] = [
            (
                select_df(&[0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01]),
                "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01",
            ),
            (select_ef([0x00, 0x18]), "00 A4 02 0C 02 00 18"),
            (retry_query(KeyReference::Current), "00 20 00 80"),
            (
                verify(KeyReference::Current, b"1234"),
                "00 20 00 80 04 31 32 33 34",
            ),
            (
                change_reference_data(KeyReference::Current, b"5678"),
                "00 24 01 80 04 35 36 37 38",
            ),
            (
                change_key(KeyReference::Current, b"12"),
                "80 32 00 80 02 31 32",
            ),
            (
                read_binary(BinaryAddress::Offset(0), 0x20),
                "00 B0 00 00 20",
            ),
            (
                read_binary(BinaryAddress::Offset(256), 256),
                "00 B0 01 00 00",
            ),
            (
                read_binary_extended(BinaryAddress::Offset(0)),
                "00 B0 00 00 00 00 00",
            ),
            (read_record(1, 0x0C), "00 B2 01 0C 00"),
            (get_data([0x5F, 0x51], true), "00 CA 5F 51 00 00 00"),
            (get_challenge(8), "00 84 00 00 08"),
        ];
        for (built, want) in cases {
            assert_eq!(hex::spaced(&built), want);
        }
        assert_eq!(
            hex::spaced(&compute_digital_signature(0, 0x97, &[0xAB], 256)),
            "80 2A 00 97 01 AB 00"
        );
        assert_eq!(
            hex::spaced(&internal_authenticate(KeyReference::Sfi(0x19), &[1])),
            "00 88 00 99 01 01 00"
        );
    }
}
