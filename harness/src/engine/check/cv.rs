//! Checks on card-verifiable certificates (input-support EF 0004, card-face records, GET DATA
//! `00F8`/`7F21`): does the signature verify with a captured key or the test CV CA.

use mynasim_simulator::pki::cv::ParsedCv;
use rsa::PublicKey;

use super::Context;
use super::x509::key_in;
use crate::scenario::plan::CvKey;

/// The CV certificate in `data` verifies (`should_verify`) or not with `key`.
pub fn certificate(
    key: &CvKey,
    data: &[u8],
    ctx: &Context<'_>,
    should_verify: bool,
) -> Option<String> {
    let Some(cert) = ParsedCv::parse(data) else {
        return Some("cv certificate: data is not a card-verifiable certificate".to_owned());
    };
    let (keys, name): (Vec<PublicKey>, &str) = match key {
        CvKey::TestCa => {
            use mynasim_simulator::pki::keys::{CaKey, ca_key};
            (
                // The published CV CAs (simulator/keys/ca): the card-face and input-support
                // issuers and the MF root. The MF intermediate key (certified by 00F8) is
                // not a trust anchor: a chain through it names 00F8 as the capture.
                [CaKey::CvFaceIssuer, CaKey::CvTextIssuer, CaKey::MfRoot]
                    .into_iter()
                    .filter_map(|k| ca_key(k).ok().map(|k| k.to_public_key()))
                    .collect(),
                CvKey::TEST_CA_NAME,
            )
        }
        CvKey::Capture(name) => match key_in(ctx.capture(name)) {
            Ok(key) => (vec![key], name.as_str()),
            Err(_) => return Some(format!("cv certificate: capture `{name}` holds no key")),
        },
    };
    let verifies = keys.iter().any(|k| cert.verify(k));
    (verifies != should_verify).then(|| {
        format!(
            "cv certificate: signature {} with {name}",
            if verifies {
                "verifies, expected it not to,"
            } else {
                "does not verify"
            }
        )
    })
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use mynasim_simulator::pki::cv::{KeyId, public_key_tlv};
    use mynasim_simulator::pki::keys::pool_key;

    use super::super::tests::{captures, ctx, fixture};
    use super::*;
    use crate::scenario::plan::Captures;

    const TEST_CA_VERIFIES: &str =
        "cv certificate: signature verifies, expected it not to, with mynasim-test-cv-ca";
    const TEST_CA_DOES_NOT: &str =
        "cv certificate: signature does not verify with mynasim-test-cv-ca";

    fn capture(name: &str) -> CvKey {
        CvKey::Capture(name.to_owned())
    }

    fn check(key: &CvKey, data: &[u8], captures: &Captures, should_verify: bool) -> Option<String> {
        certificate(key, data, &ctx(captures), should_verify)
    }

    /// A CV certificate issued by pool key 9, which no test CA uses, and captures holding
    /// that issuer's key (`issuer`, a bare `90`/`91` record).
    fn foreign() -> (Vec<u8>, Captures) {
        let issuer = pool_key(9).unwrap();
        let cert = mynasim_simulator::pki::cv::certificate(
            KeyId::new("7000099", "001", 0),
            &issuer,
            KeyId::new("1310131", "000", 0),
            &pool_key(10).unwrap().to_public_key(),
        );
        let mut captures = captures();
        captures.insert("issuer".to_owned(), public_key_tlv(&issuer.to_public_key()));
        (cert, captures)
    }

    #[test]
    fn card_cv_certificates_verify_with_the_test_ca() {
        let f = fixture();
        let captures = captures();
        // EF 0004 (input-support issuer) and GET DATA 00F8 (MF root).
        for data in [&f.cv_certificate, &f.cv_root] {
            assert_eq!(check(&CvKey::TestCa, data, &captures, true), None);
            assert_eq!(
                check(&CvKey::TestCa, data, &captures, false).as_deref(),
                Some(TEST_CA_VERIFIES)
            );
        }
        // 7F21 is signed by the intermediate key 00F8 certifies, which is no trust anchor.
        assert_eq!(
            check(&CvKey::TestCa, &f.cv_lower, &captures, true).as_deref(),
            Some(TEST_CA_DOES_NOT)
        );
        assert_eq!(check(&CvKey::TestCa, &f.cv_lower, &captures, false), None);
    }

    #[test]
    fn a_certificate_from_another_issuer_does_not_verify_with_the_test_ca() {
        let (cert, captures) = foreign();
        assert_eq!(
            check(&CvKey::TestCa, &cert, &captures, true).as_deref(),
            Some(TEST_CA_DOES_NOT)
        );
        assert_eq!(check(&CvKey::TestCa, &cert, &captures, false), None);
        // With its issuer's key, captured, it does.
        assert_eq!(check(&capture("issuer"), &cert, &captures, true), None);
        assert_eq!(
            check(&capture("issuer"), &cert, &captures, false).as_deref(),
            Some("cv certificate: signature verifies, expected it not to, with issuer")
        );
    }

    #[test]
    fn captured_keys_verify_only_what_they_signed() {
        let f = fixture();
        let captures = captures();
        // 00F8 certifies the key that signs 7F21.
        assert_eq!(check(&capture("root"), &f.cv_lower, &captures, true), None);
        assert_eq!(
            check(&capture("root"), &f.cv_lower, &captures, false).as_deref(),
            Some("cv certificate: signature verifies, expected it not to, with root")
        );
        for (data, name) in [
            (&f.cv_root, "lower"),
            (&f.cv_root, "root"),
            (&f.cv_certificate, "ef0004"),
            (&f.cv_certificate, "ef0007"),
            (&f.cv_certificate, "auth_cert"),
        ] {
            assert_eq!(
                check(&capture(name), data, &captures, true),
                Some(format!(
                    "cv certificate: signature does not verify with {name}"
                ))
            );
            assert_eq!(check(&capture(name), data, &captures, false), None);
        }
    }

    #[test]
    fn a_capture_without_a_key_fails_both_ways() {
        let f = fixture();
        let captures = captures();
        for name in ["nothing", "junk", "ef0001"] {
            for should_verify in [true, false] {
                assert_eq!(
                    check(&capture(name), &f.cv_certificate, &captures, should_verify),
                    Some(format!("cv certificate: capture `{name}` holds no key"))
                );
            }
        }
    }

    #[test]
    fn data_that_is_no_cv_certificate_fails_both_ways() {
        let f = fixture();
        let captures = captures();
        let truncated = &f.cv_certificate[..500];
        for data in [
            &[][..],
            &[0x01, 0x02, 0x03],
            &f.auth_cert,
            &f.signed_key,
            &f.integrity,
            truncated,
        ] {
            for key in [CvKey::TestCa, capture("root"), capture("nothing")] {
                for should_verify in [true, false] {
                    assert_eq!(
                        check(&key, data, &captures, should_verify).as_deref(),
                        Some("cv certificate: data is not a card-verifiable certificate")
                    );
                }
            }
        }
    }
}
