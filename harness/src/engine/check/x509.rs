//! Checks on X.509 certificates (subject, issuer, validity, extensions, subjectAltName, who
//! signed it) and on signatures made by a `sign` step, the way a relying party checks them.

use der::Decode as _;
use der::referenced::OwnedToRef as _;
use jiff::civil::Date;
use rsa::PublicKey;
use x509_cert::Certificate;

use super::Context;
use crate::scenario::plan::{CertificateChecks, Op};

/// Parses DER.
pub fn parse_certificate(bytes: &[u8]) -> Result<Certificate, String> {
    Certificate::from_der(bytes).map_err(|e| format!("not a DER certificate: {e}"))
}

fn public_key(cert: &Certificate) -> Result<PublicKey, String> {
    PublicKey::try_from(
        cert.tbs_certificate()
            .subject_public_key_info()
            .owned_to_ref(),
    )
    .map_err(|e| format!("certificate key is not RSA: {e}"))
}

/// A certificate time as a Japan-time calendar date.
fn jst_date(t: &x509_cert::time::Time) -> Option<Date> {
    let secs = t.to_unix_duration().as_secs();
    let ts = jiff::Timestamp::from_second(i64::try_from(secs).ok()?).ok()?;
    Some(jiff::tz::offset(9).to_datetime(ts).date())
}

/// Every certificate check that does not hold for `data`.
pub fn certificate(c: &CertificateChecks, data: &[u8], ctx: &Context<'_>) -> Vec<String> {
    let mut failures = Vec::new();
    let cert = match parse_certificate(data) {
        Ok(c) => c,
        Err(e) => return vec![format!("certificate: {e}")],
    };
    let tbs = cert.tbs_certificate();
    let subject = tbs.subject().to_string();
    let issuer = tbs.issuer().to_string();
    if let Some(want) = &c.subject_contains
        && !subject.contains(want.as_str())
    {
        failures.push(format!(
            "certificate subject: expected to contain {want:?}, got {subject:?}"
        ));
    }
    if let Some(want) = &c.issuer_contains
        && !issuer.contains(want.as_str())
    {
        failures.push(format!(
            "certificate issuer: expected to contain {want:?}, got {issuer:?}"
        ));
    }
    let not_after = jst_date(&tbs.validity().not_after);
    let not_before = jst_date(&tbs.validity().not_before);
    if let (Some(d), Some(na)) = (c.not_after_before, not_after) {
        let d = d.resolve(ctx.today);
        if na >= d {
            failures.push(format!(
                "certificate notAfter: expected before {d}, got {na}"
            ));
        }
    }
    if let (Some(d), Some(na)) = (c.not_after_after, not_after) {
        let d = d.resolve(ctx.today);
        if na < d {
            failures.push(format!(
                "certificate notAfter: expected on or after {d}, got {na}"
            ));
        }
    }
    if let (Some(d), Some(nb)) = (c.not_before_before, not_before) {
        let d = d.resolve(ctx.today);
        if nb > d {
            failures.push(format!(
                "certificate notBefore: expected on or before {d}, got {nb}"
            ));
        }
    }
    let present: Vec<String> = tbs
        .extensions()
        .map(|exts| exts.iter().map(|e| e.extn_id.to_string()).collect())
        .unwrap_or_default();
    for ext in &c.extensions {
        if !present.contains(&ext.oid) {
            failures.push(format!(
                "certificate: extension {} ({}) is missing",
                ext.name, ext.oid
            ));
        }
    }
    for ext in &c.no_extensions {
        if present.contains(&ext.oid) {
            failures.push(format!(
                "certificate: extension {} ({}) is present",
                ext.name, ext.oid
            ));
        }
    }
    if !c.san.is_empty() {
        let values = san_values(&cert);
        for (oid, want) in &c.san {
            match values.iter().find(|(o, _)| o == oid) {
                Some((_, got)) if got == want => {}
                Some((_, got)) => failures.push(format!(
                    "certificate SAN {oid}: expected {want:?}, got {got:?}"
                )),
                None => failures.push(format!("certificate SAN {oid}: missing")),
            }
        }
    }
    if let Some(name) = &c.signed_by {
        match ctx.captures.get(name).map(|b| parse_certificate(b)) {
            Some(Ok(issuer)) => {
                let spki = issuer.tbs_certificate().subject_public_key_info().clone();
                if let Err(e) = mynasim_simulator::pki::x509::verify_signature(&cert, &spki) {
                    failures.push(format!("certificate: not signed by `{name}`: {e}"));
                }
            }
            Some(Err(e)) => failures.push(format!("certificate: capture `{name}`: {e}")),
            None => failures.push(format!("certificate: nothing captured as `{name}`")),
        }
    }
    failures
}

/// subjectAltName otherName values: (OID, UTF8String).
fn san_values(cert: &Certificate) -> Vec<(String, String)> {
    use x509_cert::ext::pkix::SubjectAltName;
    use x509_cert::ext::pkix::name::GeneralName;
    let Ok(Some((_, san))) = cert.tbs_certificate().get_extension::<SubjectAltName>() else {
        return Vec::new();
    };
    san.0
        .iter()
        .filter_map(|n| match n {
            GeneralName::OtherName(o) => Some((
                o.type_id.to_string(),
                der::asn1::Utf8StringRef::try_from(&o.value)
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
            )),
            _ => None,
        })
        .collect()
}

/// A `sign` step's signature verifies (`should_verify`) or does not with the key in the
/// capture `name`, over the step's message, the way its scheme defines.
pub fn signature(name: &str, sig: &[u8], ctx: &Context<'_>, should_verify: bool) -> Option<String> {
    let (Op::Sign(op), Some(message)) = (ctx.op, ctx.message) else {
        return Some("signature checks are only for `sign` steps".to_owned());
    };
    let key = match ctx.captures.get(name).map(|b| key_in(b)) {
        Some(Ok(k)) => k,
        Some(Err(e)) => return Some(format!("signature: capture `{name}`: {e}")),
        None => return Some(format!("signature: nothing captured as `{name}`")),
    };
    let verified = match op.scheme() {
        Some(scheme) => scheme
            .verify(&key, message, op.digest, sig)
            .map_err(|e| e.to_string()),
        None => Err(format!(
            "scheme {:02X} has no signature to check",
            op.scheme
        )),
    };
    match (verified, should_verify) {
        (Ok(()), true) | (Err(_), false) => None,
        (Err(why), true) => Some(format!(
            "signature: does not verify with the key of `{name}` ({why})"
        )),
        (Ok(()), false) => Some(format!(
            "signature: verifies with the key of `{name}`, expected it not to"
        )),
    }
}

/// The RSA public key a capture holds: an X.509 certificate's, a CV certificate's subject
/// key, or the first `90`/`91` key inside a record (input-support EF 0007, card-face EF
/// 0001/0002/0005, EF 0006).
pub fn key_in(bytes: &[u8]) -> Result<PublicKey, String> {
    if let Ok(cert) = Certificate::from_der(bytes) {
        return public_key(&cert);
    }
    if let Some(cv) = mynasim_simulator::pki::cv::ParsedCv::parse(bytes) {
        return Ok(cv.subject_key);
    }
    find_rsa_key(bytes).ok_or_else(|| "holds no certificate or 90/91 RSA key".to_owned())
}

/// Depth-first search for a TLV sequence with a `90` exponent and a `91` modulus.
fn find_rsa_key(bytes: &[u8]) -> Option<PublicKey> {
    use mynasim_simulator::apdu::tlv;
    let objects = tlv::parse_all(bytes, 0).ok()?;
    // A level holding both `90` and `91` is the key.
    if let Some(key) = mynasim_simulator::pki::cv::parse_public_key(bytes) {
        return Some(key);
    }
    objects.iter().find_map(|o| find_rsa_key(o.value))
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use mynasim_simulator::pki::keys::{CaKey, CardKey, ca_key, card_key};
    use mynasim_simulator::security::ClientDigest;

    use super::super::tests::{MESSAGE, captures, ctx, fixture, sign_op, today};
    use super::*;
    use crate::scenario::plan::{DateRef, ExtensionRef, SignOp};

    const AUTH_SUBJECT: &str = "CN=TEST5DDA78B13101003A,C=JP";
    const AUTH_ISSUER: &str = "OU=mynasim TEST Agency for Local Authority Info Systems,\
                               OU=JPKI for user authentication,O=JPKI-TEST,C=JP";
    /// The default profile's seed.
    const SEED: u64 = 1;

    fn day(y: i16, m: i8, d: i8) -> Option<DateRef> {
        Some(DateRef::Day(Date::constant(y, m, d)))
    }

    fn ext(name: &str, oid: &str) -> ExtensionRef {
        ExtensionRef {
            name: name.to_owned(),
            oid: oid.to_owned(),
        }
    }

    fn san(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(o, v)| ((*o).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The signature certificate's subjectAltName otherNames (default profile).
    const SIGN_SAN: [(&str, &str); 6] = [
        ("1.2.392.200149.8.5.5.1", "試験　花子"),
        ("1.2.392.200149.8.5.5.2", "00000"),
        ("1.2.392.200149.8.5.5.3", "2"),
        ("1.2.392.200149.8.5.5.4", "319850412"),
        (
            "1.2.392.200149.8.5.5.5",
            "東京都千代田区霞が関２丁目１番２号　mynasim TEST",
        ),
        ("1.2.392.200149.8.5.5.6", "000000000000000000000000000000"),
    ];

    fn check_auth(c: &CertificateChecks) -> Vec<String> {
        let captures = captures();
        certificate(c, &fixture().auth_cert, &ctx(&captures))
    }

    #[test]
    fn certificates_that_meet_every_check_pass() {
        let f = fixture();
        let captures = captures();
        let ctx = ctx(&captures);
        let sign = CertificateChecks {
            subject_contains: Some("L=Tokyo-to".to_owned()),
            issuer_contains: Some("OU=JPKI for digital signature".to_owned()),
            not_after_before: day(2029, 4, 13),
            not_after_after: day(2029, 4, 12),
            not_before_before: day(2024, 6, 3),
            extensions: vec![
                ext("key-usage", "2.5.29.15"),
                ext("subject-alt-name", "2.5.29.17"),
                ext("certificate-policies", "2.5.29.32"),
                ext("crl-distribution-points", "2.5.29.31"),
                ext("authority-key-identifier", "2.5.29.35"),
                ext("subject-key-identifier", "2.5.29.14"),
            ],
            no_extensions: vec![
                ext("basic-constraints", "2.5.29.19"),
                ext("authority-info-access", "1.3.6.1.5.5.7.1.1"),
            ],
            san: san(&SIGN_SAN),
            signed_by: Some("sign_ca".to_owned()),
        };
        assert_eq!(certificate(&sign, &f.sign_cert, &ctx), [""; 0]);
        let auth = CertificateChecks {
            subject_contains: Some(AUTH_SUBJECT.to_owned()),
            issuer_contains: Some(AUTH_ISSUER.to_owned()),
            not_after_before: day(2029, 4, 13),
            not_after_after: day(2029, 4, 12),
            not_before_before: day(2024, 6, 3),
            extensions: vec![
                ext("key-usage", "2.5.29.15"),
                ext("authority-info-access", "1.3.6.1.5.5.7.1.1"),
            ],
            no_extensions: vec![
                ext("subject-alt-name", "2.5.29.17"),
                ext("basic-constraints", "2.5.29.19"),
            ],
            san: std::collections::BTreeMap::new(),
            signed_by: Some("auth_ca".to_owned()),
        };
        assert_eq!(certificate(&auth, &f.auth_cert, &ctx), [""; 0]);
        // A self-signed CA certificate is signed by itself.
        let ca = CertificateChecks {
            signed_by: Some("auth_ca".to_owned()),
            extensions: vec![ext("basic-constraints", "2.5.29.19")],
            ..CertificateChecks::default()
        };
        assert_eq!(certificate(&ca, &f.auth_ca, &ctx), [""; 0]);
        assert_eq!(
            certificate(&CertificateChecks::default(), &f.auth_cert, &ctx),
            [""; 0]
        );
    }

    #[test]
    fn data_that_is_no_certificate_is_the_only_failure() {
        let f = fixture();
        let captures = captures();
        let ctx = ctx(&captures);
        let every = CertificateChecks {
            subject_contains: Some("x".to_owned()),
            signed_by: Some("nothing".to_owned()),
            ..CertificateChecks::default()
        };
        for data in [&[0x01, 0x01, 0xFF][..], &[], &f.cv_certificate] {
            for c in [&every, &CertificateChecks::default()] {
                let failures = certificate(c, data, &ctx);
                assert_eq!(failures.len(), 1, "{failures:?}");
                assert!(
                    failures[0].starts_with("certificate: not a DER certificate: "),
                    "{failures:?}"
                );
            }
        }
        assert_eq!(
            parse_certificate(&[0x01, 0x01, 0xFF]).unwrap_err(),
            "not a DER certificate: unexpected ASN.1 DER tag: expected SEQUENCE, got BOOLEAN"
        );
        assert_eq!(
            parse_certificate(&f.auth_cert)
                .unwrap()
                .tbs_certificate()
                .subject()
                .to_string(),
            AUTH_SUBJECT
        );
    }

    #[test]
    fn subject_and_issuer_must_contain_the_text() {
        let c = |subject: &str, issuer: &str| CertificateChecks {
            subject_contains: Some(subject.to_owned()),
            issuer_contains: Some(issuer.to_owned()),
            ..CertificateChecks::default()
        };
        assert_eq!(check_auth(&c("CN=TEST5DDA", "O=JPKI-TEST")), [""; 0]);
        assert_eq!(
            check_auth(&c("L=Tokyo-to", "O=JPKI-TEST")),
            [format!(
                "certificate subject: expected to contain \"L=Tokyo-to\", got {AUTH_SUBJECT:?}"
            )]
        );
        assert_eq!(
            check_auth(&c("C=JP", "OU=JPKI for digital signature")),
            [format!(
                "certificate issuer: expected to contain \"OU=JPKI for digital signature\", \
                 got {AUTH_ISSUER:?}"
            )]
        );
        // The subject is not looked for in the issuer, nor the issuer in the subject.
        assert_eq!(
            check_auth(&c("O=JPKI-TEST", "CN=TEST5DDA")),
            [
                format!(
                    "certificate subject: expected to contain \"O=JPKI-TEST\", got \
                     {AUTH_SUBJECT:?}"
                ),
                format!(
                    "certificate issuer: expected to contain \"CN=TEST5DDA\", got \
                     {AUTH_ISSUER:?}"
                ),
            ]
        );
    }

    // The authentication certificate: notBefore 2024-06-03T01:00:00Z (10:00 JST), notAfter
    // 2029-04-12T14:59:59Z (23:59:59 JST).

    #[test]
    fn not_after_before_is_strictly_before() {
        let c = |d| CertificateChecks {
            not_after_before: d,
            ..CertificateChecks::default()
        };
        assert_eq!(check_auth(&c(day(2029, 4, 13))), [""; 0]);
        assert_eq!(check_auth(&c(day(2100, 1, 1))), [""; 0]);
        assert_eq!(
            check_auth(&c(day(2029, 4, 12))),
            ["certificate notAfter: expected before 2029-04-12, got 2029-04-12"]
        );
        assert_eq!(
            check_auth(&c(day(2029, 4, 11))),
            ["certificate notAfter: expected before 2029-04-11, got 2029-04-12"]
        );
    }

    #[test]
    fn not_after_after_includes_the_day() {
        let c = |d| CertificateChecks {
            not_after_after: d,
            ..CertificateChecks::default()
        };
        assert_eq!(check_auth(&c(day(2029, 4, 12))), [""; 0]);
        assert_eq!(check_auth(&c(day(2029, 4, 11))), [""; 0]);
        assert_eq!(check_auth(&c(day(2024, 6, 3))), [""; 0]);
        assert_eq!(
            check_auth(&c(day(2029, 4, 13))),
            ["certificate notAfter: expected on or after 2029-04-13, got 2029-04-12"]
        );
    }

    #[test]
    fn not_before_before_includes_the_day() {
        let c = |d| CertificateChecks {
            not_before_before: d,
            ..CertificateChecks::default()
        };
        assert_eq!(check_auth(&c(day(2024, 6, 3))), [""; 0]);
        assert_eq!(check_auth(&c(day(2024, 6, 4))), [""; 0]);
        assert_eq!(
            check_auth(&c(day(2024, 6, 2))),
            ["certificate notBefore: expected on or before 2024-06-02, got 2024-06-03"]
        );
        assert_eq!(
            check_auth(&c(day(1, 1, 1))),
            ["certificate notBefore: expected on or before 0001-01-01, got 2024-06-03"]
        );
    }

    #[test]
    fn today_is_the_contexts_today() {
        let f = fixture();
        let captures = captures();
        let c = CertificateChecks {
            not_after_before: Some(DateRef::Today),
            not_after_after: Some(DateRef::Today),
            not_before_before: Some(DateRef::Today),
            ..CertificateChecks::default()
        };
        // The profile's today (2026-11-25): valid, not yet expired.
        assert_eq!(today(), Date::constant(2026, 11, 25));
        let on = |today: Date| {
            certificate(
                &c,
                &f.auth_cert,
                &Context {
                    today,
                    ..ctx(&captures)
                },
            )
        };
        assert_eq!(
            on(today()),
            ["certificate notAfter: expected before 2026-11-25, got 2029-04-12"]
        );
        assert_eq!(
            on(Date::constant(2029, 4, 13)),
            ["certificate notAfter: expected on or after 2029-04-13, got 2029-04-12"]
        );
        assert_eq!(
            on(Date::constant(2024, 6, 2)),
            [
                "certificate notAfter: expected before 2024-06-02, got 2029-04-12",
                "certificate notBefore: expected on or before 2024-06-02, got 2024-06-03",
            ]
        );
    }

    #[test]
    fn extensions_must_be_present_or_absent_as_named() {
        let c = |present: Vec<ExtensionRef>, absent: Vec<ExtensionRef>| CertificateChecks {
            extensions: present,
            no_extensions: absent,
            ..CertificateChecks::default()
        };
        let key_usage = || ext("key-usage", "2.5.29.15");
        let san = || ext("subject-alt-name", "2.5.29.17");
        let basic = || ext("basic-constraints", "2.5.29.19");
        assert_eq!(check_auth(&c(vec![key_usage()], vec![san()])), [""; 0]);
        assert_eq!(
            check_auth(&c(vec![key_usage(), san(), basic()], vec![])),
            [
                "certificate: extension subject-alt-name (2.5.29.17) is missing",
                "certificate: extension basic-constraints (2.5.29.19) is missing",
            ]
        );
        assert_eq!(
            check_auth(&c(vec![], vec![san(), key_usage()])),
            ["certificate: extension key-usage (2.5.29.15) is present"]
        );
        // The name is only for the message: the OID is what is looked for.
        assert_eq!(
            check_auth(&c(vec![ext("basic-constraints", "2.5.29.15")], vec![])),
            [""; 0]
        );
    }

    #[test]
    fn san_values_are_compared_by_oid() {
        let f = fixture();
        let captures = captures();
        let ctx = ctx(&captures);
        let c = |pairs: &[(&str, &str)]| CertificateChecks {
            san: san(pairs),
            ..CertificateChecks::default()
        };
        for pair in SIGN_SAN {
            assert_eq!(certificate(&c(&[pair]), &f.sign_cert, &ctx), [""; 0]);
        }
        assert_eq!(
            certificate(
                &c(&[
                    ("1.2.392.200149.8.5.5.3", "1"),
                    ("1.2.392.200149.8.5.5.4", "319850412"),
                    ("1.2.392.200149.8.5.5.7", "x"),
                ]),
                &f.sign_cert,
                &ctx
            ),
            [
                "certificate SAN 1.2.392.200149.8.5.5.3: expected \"1\", got \"2\"",
                "certificate SAN 1.2.392.200149.8.5.5.7: missing",
            ]
        );
        assert_eq!(
            certificate(&c(&[("1.2.392.200149.8.5.5.1", "")]), &f.sign_cert, &ctx),
            // Debug quoting, as in every message: U+3000 is escaped.
            ["certificate SAN 1.2.392.200149.8.5.5.1: expected \"\", got \"試験\\u{3000}花子\""]
        );
        // No subjectAltName at all (the authentication certificate).
        assert_eq!(
            certificate(&c(&[("1.2.392.200149.8.5.5.1", "")]), &f.auth_cert, &ctx),
            ["certificate SAN 1.2.392.200149.8.5.5.1: missing"]
        );
        // A CA's subjectAltName is a directory name, not an otherName.
        assert_eq!(
            certificate(&c(&[("1.2.392.200149.8.5.5.1", "")]), &f.sign_ca, &ctx),
            ["certificate SAN 1.2.392.200149.8.5.5.1: missing"]
        );
    }

    #[test]
    fn signed_by_needs_the_issuers_certificate() {
        let f = fixture();
        let captures = captures();
        let ctx = ctx(&captures);
        let by = |name: &str| CertificateChecks {
            signed_by: Some(name.to_owned()),
            ..CertificateChecks::default()
        };
        assert_eq!(certificate(&by("auth_ca"), &f.auth_cert, &ctx), [""; 0]);
        assert_eq!(certificate(&by("sign_ca"), &f.sign_cert, &ctx), [""; 0]);
        for (cert, wrong) in [
            (&f.auth_cert, "sign_ca"),
            (&f.sign_cert, "auth_ca"),
            (&f.auth_cert, "auth_cert"),
        ] {
            let failures = certificate(&by(wrong), cert, &ctx);
            assert_eq!(failures.len(), 1, "{failures:?}");
            assert!(
                failures[0].starts_with(&format!("certificate: not signed by `{wrong}`: ")),
                "{failures:?}"
            );
        }
        let failures = certificate(&by("junk"), &f.auth_cert, &ctx);
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(
            failures[0].starts_with("certificate: capture `junk`: not a DER certificate: "),
            "{failures:?}"
        );
        assert_eq!(
            certificate(&by("nothing"), &f.auth_cert, &ctx),
            ["certificate: nothing captured as `nothing`"]
        );
    }

    #[test]
    fn every_failing_check_is_reported_in_order() {
        let c = CertificateChecks {
            subject_contains: Some("L=".to_owned()),
            issuer_contains: Some("CN=".to_owned()),
            not_after_before: day(2029, 1, 1),
            not_after_after: day(2030, 1, 1),
            not_before_before: day(2024, 1, 1),
            extensions: vec![ext("subject-alt-name", "2.5.29.17")],
            no_extensions: vec![ext("key-usage", "2.5.29.15")],
            san: san(&[("1.2.392.200149.8.5.5.1", "x")]),
            signed_by: Some("nothing".to_owned()),
        };
        assert_eq!(
            check_auth(&c),
            [
                format!("certificate subject: expected to contain \"L=\", got {AUTH_SUBJECT:?}"),
                format!("certificate issuer: expected to contain \"CN=\", got {AUTH_ISSUER:?}"),
                "certificate notAfter: expected before 2029-01-01, got 2029-04-12".to_owned(),
                "certificate notAfter: expected on or after 2030-01-01, got 2029-04-12".to_owned(),
                "certificate notBefore: expected on or before 2024-01-01, got 2024-06-03"
                    .to_owned(),
                "certificate: extension subject-alt-name (2.5.29.17) is missing".to_owned(),
                "certificate: extension key-usage (2.5.29.15) is present".to_owned(),
                "certificate SAN 1.2.392.200149.8.5.5.1: missing".to_owned(),
                "certificate: nothing captured as `nothing`".to_owned(),
            ]
        );
    }

    /// `signature(name, sig, …)` for a `sign` step `op` over `message`.
    fn verify(
        op: &SignOp,
        message: &[u8],
        name: &str,
        sig: &[u8],
        should_verify: bool,
    ) -> Option<String> {
        let captures = captures();
        let op = Op::Sign(op.clone());
        let ctx = Context {
            op: &op,
            message: Some(message),
            ..ctx(&captures)
        };
        signature(name, sig, &ctx, should_verify)
    }

    const VERIFIES: &str = "signature: verifies with the key of `auth_cert`, expected it not to";

    fn assert_does_not_verify(failure: Option<String>, name: &str) {
        let failure = failure.unwrap_or_default();
        assert!(
            failure.starts_with(&format!(
                "signature: does not verify with the key of `{name}` ("
            )) && failure.ends_with(')'),
            "{failure:?}"
        );
    }

    #[test]
    fn every_schemes_signature_verifies_with_the_signers_key_only() {
        let f = fixture();
        assert_eq!(f.signatures.len(), 8);
        for (op, sig) in &f.signatures {
            let about = format!("scheme {:02X} {:?}", op.scheme, op.digest);
            assert_eq!(verify(op, MESSAGE, "auth_cert", sig, true), None, "{about}");
            assert_eq!(
                verify(op, MESSAGE, "auth_cert", sig, false).as_deref(),
                Some(VERIFIES),
                "{about}"
            );
            assert_does_not_verify(verify(op, MESSAGE, "sign_cert", sig, true), "sign_cert");
            assert_eq!(
                verify(op, MESSAGE, "sign_cert", sig, false),
                None,
                "{about}"
            );
            // Another message, or a damaged signature, does not verify with the right key.
            assert_does_not_verify(verify(op, b"other", "auth_cert", sig, true), "auth_cert");
            assert_eq!(
                verify(op, b"other", "auth_cert", sig, false),
                None,
                "{about}"
            );
            let mut damaged = sig.clone();
            damaged[100] ^= 0x01;
            assert_does_not_verify(
                verify(op, MESSAGE, "auth_cert", &damaged, true),
                "auth_cert",
            );
            assert_eq!(verify(op, MESSAGE, "auth_cert", &damaged, false), None);
        }
    }

    #[test]
    fn the_steps_scheme_and_digest_decide_how_to_verify() {
        let f = fixture();
        let (sha256, sig) = &f.signatures[0];
        assert_eq!((sha256.scheme, sha256.digest), (0x00, ClientDigest::Sha256));
        assert_eq!(verify(sha256, MESSAGE, "auth_cert", sig, true), None);
        // The same signature read as scheme 03 (same padding) verifies; as 00 with SHA-1,
        // as 01 (bare hash) or as PSS it does not.
        assert_eq!(
            verify(
                &sign_op(0x03, ClientDigest::Sha256),
                MESSAGE,
                "auth_cert",
                sig,
                true
            ),
            None
        );
        for (scheme, digest) in [
            (0x00, ClientDigest::Sha1),
            (0x00, ClientDigest::None),
            (0x01, ClientDigest::Sha256),
            (0x05, ClientDigest::Sha256),
        ] {
            let op = sign_op(scheme, digest);
            assert_does_not_verify(verify(&op, MESSAGE, "auth_cert", sig, true), "auth_cert");
            assert_eq!(verify(&op, MESSAGE, "auth_cert", sig, false), None);
        }
        // A P1 that is no scheme has no signature to check.
        let op = sign_op(0x06, ClientDigest::Sha256);
        assert_eq!(
            verify(&op, MESSAGE, "auth_cert", sig, true).as_deref(),
            Some(
                "signature: does not verify with the key of `auth_cert` (scheme 06 has no \
                 signature to check)"
            )
        );
        assert_eq!(verify(&op, MESSAGE, "auth_cert", sig, false), None);
    }

    #[test]
    fn a_key_record_verifies_the_input_support_signature() {
        let f = fixture();
        let (op, sig) = &f.text_signature;
        assert_eq!(verify(op, MESSAGE, "ef0007", sig, true), None);
        assert_eq!(
            verify(op, MESSAGE, "ef0007", sig, false).as_deref(),
            Some("signature: verifies with the key of `ef0007`, expected it not to")
        );
        // EF 0004 certifies the records key, not the signing key.
        assert_does_not_verify(verify(op, MESSAGE, "ef0004", sig, true), "ef0004");
        assert_eq!(verify(op, MESSAGE, "ef0004", sig, false), None);
        assert_does_not_verify(verify(op, MESSAGE, "auth_cert", sig, true), "auth_cert");
    }

    #[test]
    fn signature_checks_need_a_sign_step_and_a_key() {
        let f = fixture();
        let captures = captures();
        let (op, sig) = &f.signatures[0];
        let sign = Op::Sign(op.clone());
        let only = Some("signature checks are only for `sign` steps");
        for should_verify in [true, false] {
            // Not a sign step (even with a message), or a sign step without a message.
            let not_sign = Context {
                message: Some(MESSAGE),
                ..ctx(&captures)
            };
            assert_eq!(
                signature("auth_cert", sig, &not_sign, should_verify).as_deref(),
                only
            );
            let no_message = Context {
                op: &sign,
                message: None,
                ..ctx(&captures)
            };
            assert_eq!(
                signature("auth_cert", sig, &no_message, should_verify).as_deref(),
                only
            );
            assert_eq!(
                verify(op, MESSAGE, "nothing", sig, should_verify).as_deref(),
                Some("signature: nothing captured as `nothing`")
            );
            assert_eq!(
                verify(op, MESSAGE, "junk", sig, should_verify).as_deref(),
                Some("signature: capture `junk`: holds no certificate or 90/91 RSA key")
            );
        }
    }

    #[test]
    fn key_in_finds_the_key_of_every_kind_of_capture() {
        let f = fixture();
        let public = |k: CardKey| card_key(SEED, k).unwrap().to_public_key();
        assert_eq!(
            key_in(&f.auth_cert).unwrap(),
            public(CardKey::JpkiAuthentication)
        );
        assert_eq!(
            key_in(&f.sign_cert).unwrap(),
            public(CardKey::JpkiSignature)
        );
        assert_eq!(
            key_in(&f.auth_ca).unwrap(),
            ca_key(CaKey::JpkiAuthenticationCa).unwrap().to_public_key()
        );
        // CV certificates: the subject key, in the EF form and the GET DATA form.
        assert_eq!(
            key_in(&f.cv_certificate).unwrap(),
            public(CardKey::InputSupportRecords)
        );
        assert_eq!(
            key_in(&f.cv_root).unwrap(),
            ca_key(CaKey::MfIntermediate).unwrap().to_public_key()
        );
        assert_eq!(
            key_in(&f.cv_lower).unwrap(),
            ca_key(CaKey::MfLeaf).unwrap().to_public_key()
        );
        // 90/91 records: one level down (EF 0006), two levels down (EF 0007), bare.
        assert_eq!(
            key_in(&f.session_key).unwrap(),
            public(CardKey::InputSupportSession)
        );
        assert_eq!(
            key_in(&f.signed_key).unwrap(),
            public(CardKey::InputSupportSigning)
        );
        let bare = mynasim_simulator::pki::cv::public_key_tlv(&public(CardKey::CardFaceSigning));
        assert_eq!(key_in(&bare).unwrap(), public(CardKey::CardFaceSigning));
    }

    #[test]
    fn key_in_fails_on_anything_without_a_key() {
        let f = fixture();
        let none = Err("holds no certificate or 90/91 RSA key".to_owned());
        for data in [
            &[][..],
            &[0x01, 0x02, 0x03],
            &f.my_number,
            &f.attributes,
            &f.integrity,
            // 91 without 90, and 90 without 91.
            &[0x91, 0x01, 0x05],
            &[0xA1, 0x03, 0x90, 0x01, 0x03],
        ] {
            assert_eq!(key_in(data), none, "{}", super::super::shorten(data));
        }
        // An X.509 certificate whose key is not rsaEncryption.
        let rsa_encryption = [
            0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01,
        ];
        let mut cert = f.auth_cert.clone();
        let at = cert
            .windows(rsa_encryption.len())
            .position(|w| w == rsa_encryption)
            .unwrap();
        cert[at + rsa_encryption.len() - 1] = 0x07;
        assert!(Certificate::from_der(&cert).is_ok());
        let err = key_in(&cert).unwrap_err();
        assert!(err.starts_with("certificate key is not RSA: "), "{err}");
    }

    #[test]
    fn jst_dates_are_calendar_days_in_japan() {
        let cert = parse_certificate(&fixture().auth_cert).unwrap();
        let validity = cert.tbs_certificate().validity();
        assert_eq!(
            jst_date(&validity.not_before),
            Some(Date::constant(2024, 6, 3))
        );
        assert_eq!(
            jst_date(&validity.not_after),
            Some(Date::constant(2029, 4, 12))
        );
        // The CAs' notBefore is 2014-01-01 00:00 JST, i.e. 2013-12-31T15:00:00Z: the date
        // is Japan's, not UTC's.
        let f = fixture();
        let ca = parse_certificate(&f.auth_ca).unwrap();
        let validity = ca.tbs_certificate().validity();
        assert_eq!(
            validity.not_before.to_string(),
            "2013-12-31T15:00:00Z",
            "UTC in the DER"
        );
        assert_eq!(
            jst_date(&validity.not_before),
            Some(Date::constant(2014, 1, 1))
        );
        let captures = captures();
        let before = |d| CertificateChecks {
            not_before_before: d,
            ..CertificateChecks::default()
        };
        assert_eq!(
            certificate(&before(day(2013, 12, 31)), &f.auth_ca, &ctx(&captures)),
            ["certificate notBefore: expected on or before 2013-12-31, got 2014-01-01"]
        );
        assert_eq!(
            certificate(&before(day(2014, 1, 1)), &f.auth_ca, &ctx(&captures)),
            [""; 0]
        );
    }
}
