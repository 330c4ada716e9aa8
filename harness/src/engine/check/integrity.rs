//! A client's check of the input-support integrity record (EF 0003, reference §1.4): DF31
//! and DF32 are the SHA-256 of EF 0001 (physical, filler included) and of EF 0002 from DF22
//! on, and DF33 signs DF31‖DF32 with the key certified in EF 0004.

use mynasim_simulator::apdu::tlv::{Tag, Tlv};
use rsa::Pkcs1v15Sign;
use sha2::Digest as _;

use super::x509::key_in;
use super::{Context, shorten};
use crate::scenario::plan::IntegrityCheck;

/// Every part of the integrity check that does not come out as expected.
pub fn record(i: &IntegrityCheck, data: &[u8], ctx: &Context<'_>) -> Vec<String> {
    let mut failures = Vec::new();
    let parsed = Tlv::parse(data).ok().and_then(|(outer, _)| {
        if outer.tag != Tag(0xFF30) {
            return None;
        }
        let kids = outer.children().ok()?;
        let find = |tag: u32| kids.iter().find(|k| k.tag == Tag(tag)).copied();
        let (df31, df32, df33) = (find(0xDF31)?, find(0xDF32)?, find(0xDF33)?);
        Some((
            df31.value.to_vec(),
            df32.value.to_vec(),
            df33.value.to_vec(),
            [df31.raw, df32.raw].concat(),
        ))
    });
    let Some((df31, df32, df33, signed)) = parsed else {
        return vec![format!(
            "integrity record: not FF30 {{ DF31, DF32, DF33 }}: {}",
            shorten(data)
        )];
    };
    let source =
        mynasim_simulator::apps::text::attributes_digest_source(ctx.capture(&i.attributes_file));
    let digests_match = df31 == sha2::Sha256::digest(ctx.capture(&i.my_number_file)).as_slice()
        && df32 == sha2::Sha256::digest(source).as_slice();
    if digests_match != i.digests_match {
        failures.push(format!(
            "integrity record: digests {} the files",
            if digests_match {
                "match, expected a mismatch with,"
            } else {
                "do not match"
            }
        ));
    }
    let key = match key_in(ctx.capture(&i.cv_certificate)) {
        Ok(key) => key,
        Err(e) => {
            failures.push(format!(
                "integrity record: capture `{}`: {e}",
                i.cv_certificate
            ));
            return failures;
        }
    };
    let signature_ok = key
        .verify(
            Pkcs1v15Sign::new::<sha2::Sha256>(),
            &sha2::Sha256::digest(&signed),
            &df33,
        )
        .is_ok();
    if signature_ok != i.signature_verifies {
        failures.push(format!(
            "integrity record: signature {} with the EF 0004 key",
            if signature_ok {
                "verifies, expected it not to,"
            } else {
                "does not verify"
            }
        ));
    }
    failures
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use mynasim_simulator::apdu::tlv;
    use mynasim_simulator::apps::text::integrity_file;
    use mynasim_simulator::pki::keys::{CardKey, card_key, pool_key};

    use super::super::tests::{captures, ctx, fixture};
    use super::*;
    use crate::scenario::plan::Captures;

    const DIGESTS_MISMATCH: &str = "integrity record: digests do not match the files";
    const DIGESTS_MATCH: &str =
        "integrity record: digests match, expected a mismatch with, the files";
    const SIGNATURE_FAILS: &str =
        "integrity record: signature does not verify with the EF 0004 key";
    const SIGNATURE_VERIFIES: &str =
        "integrity record: signature verifies, expected it not to, with the EF 0004 key";

    fn expect(digests_match: bool, signature_verifies: bool) -> IntegrityCheck {
        IntegrityCheck {
            my_number_file: "ef0001".to_owned(),
            attributes_file: "ef0002".to_owned(),
            cv_certificate: "ef0004".to_owned(),
            digests_match,
            signature_verifies,
        }
    }

    /// `record` checked against `captures` with every expectation: (digests, signature) →
    /// failures.
    fn all_ways(record: &[u8], captures: &Captures) -> [Vec<String>; 4] {
        let ctx = ctx(captures);
        [(true, true), (true, false), (false, true), (false, false)]
            .map(|(d, s)| super::record(&expect(d, s), record, &ctx))
    }

    /// The default card's records key (certified by EF 0004).
    fn records_key() -> std::sync::Arc<rsa::PrivateKey> {
        card_key(1, CardKey::InputSupportRecords).unwrap()
    }

    #[test]
    fn a_clean_record_matches_and_verifies() {
        let f = fixture();
        assert_eq!(f.integrity.len(), 336);
        assert_eq!(
            f.integrity,
            integrity_file(&f.my_number, &f.attributes, &records_key())
        );
        assert_eq!(
            all_ways(&f.integrity, &captures()),
            [
                vec![],
                vec![SIGNATURE_VERIFIES],
                vec![DIGESTS_MATCH],
                vec![DIGESTS_MATCH, SIGNATURE_VERIFIES],
            ]
        );
    }

    #[test]
    fn either_file_differing_is_a_digest_mismatch() {
        let f = fixture();
        // EF 0001 without its FF FF filler: DF31 covers the physical file.
        let mut short = captures();
        short.insert("ef0001".to_owned(), f.my_number[..15].to_vec());
        // EF 0002 with one byte of the address changed: DF32 covers DF22 onwards.
        let mut address = captures();
        let mut attributes = f.attributes.clone();
        attributes[50] ^= 0x01;
        address.insert("ef0002".to_owned(), attributes);
        // EF 0002 with one byte of the offset table changed: not covered, still matches.
        let mut offsets = captures();
        let mut attributes = f.attributes.clone();
        attributes[9] ^= 0x01;
        offsets.insert("ef0002".to_owned(), attributes);
        for captures in [&short, &address] {
            assert_eq!(
                all_ways(&f.integrity, captures),
                [
                    vec![DIGESTS_MISMATCH],
                    vec![DIGESTS_MISMATCH, SIGNATURE_VERIFIES],
                    vec![],
                    vec![SIGNATURE_VERIFIES],
                ]
            );
        }
        assert_eq!(all_ways(&f.integrity, &offsets)[0], [""; 0]);
        // Nothing captured: the digests of nothing.
        let mut missing = captures();
        missing.remove("ef0002");
        assert_eq!(all_ways(&f.integrity, &missing)[0], [DIGESTS_MISMATCH]);
    }

    #[test]
    fn a_damaged_record_fails_what_it_damages() {
        let f = fixture();
        let captures = captures();
        let flip = |at: usize| {
            let mut record = f.integrity.clone();
            record[at] ^= 0x01;
            record
        };
        // The last bit of DF33 (the signature).
        assert_eq!(
            all_ways(&flip(335), &captures),
            [
                vec![SIGNATURE_FAILS],
                vec![],
                vec![DIGESTS_MATCH, SIGNATURE_FAILS],
                vec![DIGESTS_MATCH],
            ]
        );
        // A byte of DF31 (digest of EF 0001) or of DF32 (digest of EF 0002): signed too.
        for at in [7 + 31, 7 + 34 + 31] {
            assert_eq!(
                all_ways(&flip(at), &captures),
                [
                    vec![DIGESTS_MISMATCH, SIGNATURE_FAILS],
                    vec![DIGESTS_MISMATCH],
                    vec![SIGNATURE_FAILS],
                    vec![],
                ],
                "byte {at}"
            );
        }
    }

    #[test]
    fn the_signature_must_be_by_the_certified_key() {
        let f = fixture();
        let mut captures = captures();
        // Right digests, signed by another key.
        let foreign = integrity_file(&f.my_number, &f.attributes, &pool_key(9).unwrap());
        assert_eq!(all_ways(&foreign, &captures)[0], [SIGNATURE_FAILS]);
        assert_eq!(all_ways(&foreign, &captures)[1], [""; 0]);
        // The key as a bare 90/91 record works as well as the CV certificate.
        captures.insert(
            "ef0004".to_owned(),
            mynasim_simulator::pki::cv::public_key_tlv(&records_key().to_public_key()),
        );
        assert_eq!(all_ways(&f.integrity, &captures)[0], [""; 0]);
        // Another key's record (EF 0007 holds the signing key 0013).
        captures.insert("ef0004".to_owned(), f.signed_key.clone());
        assert_eq!(all_ways(&f.integrity, &captures)[0], [SIGNATURE_FAILS]);
        assert_eq!(all_ways(&f.integrity, &captures)[1], [""; 0]);
    }

    #[test]
    fn a_capture_without_a_key_stops_after_the_digests() {
        let f = fixture();
        let mut captures = captures();
        let no_key = "integrity record: capture `ef0004`: holds no certificate or 90/91 RSA key";
        for holds in [None, Some(vec![0x01, 0x02]), Some(f.my_number.clone())] {
            match holds {
                None => captures.remove("ef0004"),
                Some(bytes) => captures.insert("ef0004".to_owned(), bytes),
            };
            assert_eq!(
                all_ways(&f.integrity, &captures),
                [
                    vec![no_key],
                    vec![no_key],
                    vec![DIGESTS_MATCH, no_key],
                    vec![DIGESTS_MATCH, no_key],
                ]
            );
        }
    }

    #[test]
    fn data_that_is_no_integrity_record_is_the_only_failure() {
        let f = fixture();
        let captures = captures();
        let not = |data: &[u8]| {
            format!(
                "integrity record: not FF30 {{ DF31, DF32, DF33 }}: {}",
                shorten(data)
            )
        };
        // No DF33.
        let two = tlv::encode(
            Tag(0xFF30),
            &[
                tlv::encode(Tag(0xDF31), &[0; 32]),
                tlv::encode(Tag(0xDF32), &[0; 32]),
            ]
            .concat(),
        );
        // EF 0003 cut at 300 bytes: the signature is incomplete.
        let cut = &f.integrity[..300];
        // The same record under another outer tag.
        let mut other_tag = f.integrity.clone();
        other_tag[1] = 0x31;
        for data in [
            &[][..],
            &[0x01, 0x02],
            &two,
            cut,
            &f.attributes,
            &f.integrity[7..],
            &other_tag,
        ] {
            let want = not(data);
            assert_eq!(
                all_ways(data, &captures),
                [
                    vec![want.clone()],
                    vec![want.clone()],
                    vec![want.clone()],
                    vec![want],
                ]
            );
        }
        assert_eq!(
            not(&[0x01, 0x02]),
            "integrity record: not FF30 { DF31, DF32, DF33 }: 01 02"
        );
        assert!(not(cut).ends_with(" … (300 bytes)"));
    }
}
