//! The validation service, sans-IO: OCSP and CRL answers read back the way a relying party
//! reads them (issue 11). The same answers go to real OpenSSL in the harness tests.

use der::Decode;
use jiff::SignedDuration;
use mynasim_simulator::pki::jpki::{self, CertKind};
use mynasim_simulator::pki::ocsp::{self, CertIdHash};
use mynasim_simulator::profile::IssuedCard;
use mynasim_simulator::validation::client::{self, Verdict};
use mynasim_simulator::validation::{Service, parse_reason};
use x509_cert::certificate::Certificate;
use x509_cert::ext::pkix::crl::CrlReason;

use super::support;

const DEFAULT: &str = "version: 1\ntoday: 2026-11-25\nholder: { birth_date: 1985-04-12 }\ncard: { issued: 2024-06-03 }\n";

fn card(yaml: &str) -> IssuedCard {
    support::card_from(yaml).1
}

fn certs(card: &IssuedCard, kind: CertKind) -> (Certificate, Certificate) {
    let cert = match kind {
        CertKind::Authentication => card.auth_certificate.as_ref(),
        CertKind::Signature => card.sign_certificate.as_ref(),
    }
    .unwrap()
    .certificate
    .clone();
    (cert, jpki::ca(kind).unwrap().certificate.clone())
}

fn ask(service: &Service, cert: &Certificate, issuer: &Certificate, hash: CertIdHash) -> Verdict {
    let nonce = [7u8; 16];
    let request = ocsp::request(ocsp::cert_id(cert, issuer, hash).unwrap(), Some(&nonce)).unwrap();
    client::read_ocsp(&service.ocsp(&request), cert, issuer, Some(&nonce))
}

fn serial(cert: &Certificate) -> Vec<u8> {
    cert.tbs_certificate().serial_number().as_bytes().to_vec()
}

#[test]
fn ocsp_follows_the_certificate_through_hold_and_revocation() {
    let card = card(DEFAULT);
    let mut service = Service::for_card(&card);
    let (auth, auth_ca) = certs(&card, CertKind::Authentication);
    let (sign, sign_ca) = certs(&card, CertKind::Signature);
    for hash in [CertIdHash::Sha1, CertIdHash::Sha256] {
        assert_eq!(ask(&service, &auth, &auth_ca, hash), Verdict::Good);
        assert_eq!(ask(&service, &sign, &sign_ca, hash), Verdict::Good);
    }
    let now = service.clock.now();
    service
        .registry
        .hold(CertKind::Authentication, &serial(&auth), now)
        .unwrap();
    assert_eq!(
        ask(&service, &auth, &auth_ca, CertIdHash::Sha1),
        Verdict::Hold
    );
    service
        .registry
        .revoke(
            CertKind::Signature,
            &serial(&sign),
            CrlReason::AffiliationChanged,
            now,
        )
        .unwrap();
    assert_eq!(
        ask(&service, &sign, &sign_ca, CertIdHash::Sha1).to_string(),
        "revoked: affiliationChanged"
    );
    // The CA's own certificate is not one the service vouches for.
    assert_eq!(
        ask(&service, &auth_ca, &auth_ca, CertIdHash::Sha1),
        Verdict::Unknown
    );
    // Asked with the wrong issuer, the answer is about nothing we asked.
    assert!(matches!(
        ask(&service, &auth, &sign_ca, CertIdHash::Sha1),
        Verdict::Unavailable(_) | Verdict::Unknown
    ));
}

#[test]
fn the_responder_refuses_what_it_cannot_read_and_obeys_its_faults() {
    let card = card(DEFAULT);
    let mut service = Service::for_card(&card);
    let status = |der: &[u8]| ocsp::parse_response(der).unwrap().response_status;
    for garbage in [&[][..], &[0x30, 0x00], &[0xFF; 100], b"GET / HTTP/1.1"] {
        assert_eq!(
            status(&service.ocsp(garbage)),
            ocsp::ResponseStatus::MalformedRequest
        );
    }
    // A hash the responder does not know (MD5) is malformed too.
    let (auth, ca) = certs(&card, CertKind::Authentication);
    let mut id = ocsp::cert_id(&auth, &ca, CertIdHash::Sha1).unwrap();
    id.hash_algorithm.oid = der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.2.5");
    assert_eq!(
        status(&service.ocsp(&ocsp::request(id, None).unwrap())),
        ocsp::ResponseStatus::MalformedRequest
    );
    service.faults.try_later = true;
    let request =
        ocsp::request(ocsp::cert_id(&auth, &ca, CertIdHash::Sha1).unwrap(), None).unwrap();
    assert_eq!(
        status(&service.ocsp(&request)),
        ocsp::ResponseStatus::TryLater
    );
    assert!(matches!(
        client::read_ocsp(&service.ocsp(&request), &auth, &ca, None),
        Verdict::Unavailable(_)
    ));
}

#[test]
fn a_wrong_nonce_or_a_forged_signature_is_no_answer() {
    let card = card(DEFAULT);
    let service = Service::for_card(&card);
    let (auth, ca) = certs(&card, CertKind::Authentication);
    let request = ocsp::request(
        ocsp::cert_id(&auth, &ca, CertIdHash::Sha1).unwrap(),
        Some(b"one"),
    )
    .unwrap();
    let response = service.ocsp(&request);
    assert_eq!(
        client::read_ocsp(&response, &auth, &ca, Some(b"two")),
        Verdict::Unavailable("the response does not echo the request's nonce".into())
    );
    // producedAt moved by a year: still parses, no longer verifies.
    let mut forged = response.clone();
    let at = forged.windows(4).position(|w| w == b"2026").unwrap();
    forged[at + 3] = b'7';
    assert_eq!(
        client::read_ocsp(&forged, &auth, &ca, Some(b"one")),
        Verdict::Unavailable(
            "the OCSP response is not signed by the CA or a responder it authorised".into()
        )
    );
    assert_eq!(
        client::read_ocsp(&response, &auth, &ca, Some(b"one")),
        Verdict::Good
    );
}

#[test]
fn crls_are_daily_so_a_revocation_shows_the_next_day_and_a_stale_crl_is_no_answer() {
    let card = card(DEFAULT);
    let mut service = Service::for_card(&card);
    let (sign, ca) = certs(&card, CertKind::Signature);
    let crl = |s: &Service| {
        s.crl(CertKind::Signature, "Tokyo-to", "Chiyoda-ku")
            .unwrap()
    };
    assert_eq!(
        client::read_crl(&crl(&service), &sign, &ca, service.clock.now()),
        Verdict::Good
    );
    let now = service.clock.now();
    service
        .registry
        .revoke(
            CertKind::Signature,
            &serial(&sign),
            parse_reason("affiliation-changed").unwrap(),
            now,
        )
        .unwrap();
    assert_eq!(
        client::read_crl(&crl(&service), &sign, &ca, service.clock.now()),
        Verdict::Good,
        "today's CRL was issued at 03:00, before the move"
    );
    service.clock.advance(SignedDuration::from_hours(24));
    assert_eq!(
        client::read_crl(&crl(&service), &sign, &ca, service.clock.now()),
        Verdict::Revoked(CrlReason::AffiliationChanged)
    );
    service.faults.stale_crl = true;
    assert!(matches!(
        client::read_crl(&crl(&service), &sign, &ca, service.clock.now()),
        Verdict::Unavailable(why) if why.contains("stale")
    ));
    // Another municipality's partition does not list it.
    service.faults.stale_crl = false;
    let other = service
        .crl(CertKind::Signature, "Osaka-fu", "Kita-ku")
        .unwrap();
    assert_eq!(
        client::read_crl(&other, &sign, &ca, service.clock.now()),
        Verdict::Good
    );
    // A CRL parses as one, with the partition in its IDP.
    let list: x509_cert::crl::CertificateList =
        x509_cert::crl::CertificateList::from_der(&crl(&service)).unwrap();
    assert_eq!(list.tbs_cert_list.revoked_certificates.unwrap().len(), 1);
}

#[test]
fn the_verdict_says_expired_before_revoked() {
    let yaml = "version: 1\ntoday: 2030-01-10\nholder: { birth_date: 1985-04-12 }\n\
                card: { issued: 2024-06-03 }\n";
    let card = card(yaml);
    let mut service = Service::for_card(&card);
    let (auth, ca) = certs(&card, CertKind::Authentication);
    let now = service.clock.now();
    service
        .registry
        .revoke(
            CertKind::Authentication,
            &serial(&auth),
            CrlReason::KeyCompromise,
            now,
        )
        .unwrap();
    let status = ask(&service, &auth, &ca, CertIdHash::Sha1);
    assert_eq!(status, Verdict::Revoked(CrlReason::KeyCompromise));
    assert_eq!(client::verdict(&auth, &ca, now, status), Verdict::Expired);
    let (_, sign_ca) = certs(&card, CertKind::Signature);
    assert!(matches!(
        client::verdict(&auth, &sign_ca, now, Verdict::Good),
        Verdict::Invalid(_)
    ));
}

fn auth_cert_times(card: &IssuedCard) -> (jiff::Timestamp, jiff::Timestamp) {
    let v = *card
        .auth_certificate
        .as_ref()
        .unwrap()
        .certificate
        .tbs_certificate()
        .validity();
    (
        mynasim_simulator::validation::timestamp_of(v.not_before),
        mynasim_simulator::validation::timestamp_of(v.not_after),
    )
}

#[test]
fn a_crl_is_read_at_its_edges_inclusive() {
    use mynasim_simulator::validation::crl;
    let card = card(DEFAULT);
    let (cert, ca) = certs(&card, CertKind::Authentication);
    let (issued, _) = auth_cert_times(&card);
    let day = SignedDuration::from_hours(24);
    let at = |t: jiff::Timestamp| {
        crl(CertKind::Authentication, "Tokyo-to", "Chiyoda-ku", t, &[]).unwrap()
    };
    // Issued the instant the certificate was, read at that instant and at its nextUpdate.
    assert_eq!(
        client::read_crl(&at(issued), &cert, &ca, issued),
        Verdict::Good
    );
    assert_eq!(
        client::read_crl(&at(issued), &cert, &ca, issued + day),
        Verdict::Good
    );
    // A second later than nextUpdate: stale.
    assert!(matches!(
        client::read_crl(&at(issued), &cert, &ca, issued + day + SignedDuration::from_secs(1)),
        Verdict::Unavailable(why) if why.contains("stale")
    ));
    // A CRL from the future is no answer.
    assert_eq!(
        client::read_crl(
            &at(issued + SignedDuration::from_secs(10)),
            &cert,
            &ca,
            issued
        ),
        Verdict::Unavailable("the CRL was issued after now".into())
    );
    // A CRL a second older than the certificate cannot vouch for it.
    assert_eq!(
        client::read_crl(
            &at(issued - SignedDuration::from_secs(1)),
            &cert,
            &ca,
            issued
        ),
        Verdict::Unavailable(
            "the CRL is older than the certificate: wait for the next day's CRL".into()
        )
    );
    // Signed by the other CA: refused.
    let (_, sign_ca) = certs(&card, CertKind::Signature);
    assert_eq!(
        client::read_crl(&at(issued), &cert, &sign_ca, issued),
        Verdict::Unavailable("the CRL is not signed by the issuing CA".into())
    );
}

#[test]
fn the_verdict_reads_the_validity_dates_inclusively() {
    let card = card(DEFAULT);
    let (cert, ca) = certs(&card, CertKind::Authentication);
    let (from, to) = auth_cert_times(&card);
    let second = SignedDuration::from_secs(1);
    assert_eq!(
        client::verdict(&cert, &ca, from, Verdict::Good),
        Verdict::Good
    );
    assert_eq!(
        client::verdict(&cert, &ca, to, Verdict::Good),
        Verdict::Good
    );
    assert_eq!(
        client::verdict(&cert, &ca, to + second, Verdict::Good),
        Verdict::Expired
    );
    assert_eq!(
        client::verdict(&cert, &ca, from - second, Verdict::Good),
        Verdict::Invalid("not yet valid".into())
    );
    assert_eq!(
        client::verdict(&cert, &ca, from + second, Verdict::Hold),
        Verdict::Hold,
        "within its dates, the status decides"
    );
}

/// An OCSP response about `cert`, re-signed by `key` with `certs` in it.
fn resigned(response: &[u8], key: &rsa::PrivateKey, certs: Vec<Certificate>) -> Vec<u8> {
    use der::Encode;
    use rsa::signature::{SignatureEncoding, Signer};
    let mut outer = ocsp::parse_response(response).unwrap();
    let bytes = outer.response_bytes.as_mut().unwrap();
    let mut basic = ocsp::BasicResponse::from_der(bytes.response.as_bytes()).unwrap();
    let tbs = basic.tbs_response_data.to_der().unwrap();
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.clone());
    let signature: rsa::pkcs1v15::Signature = signer.sign(&tbs);
    basic.signature = der::asn1::BitString::from_bytes(&signature.to_bytes()).unwrap();
    basic.certs = Some(certs);
    bytes.response = der::asn1::OctetString::new(basic.to_der().unwrap()).unwrap();
    outer.to_der().unwrap()
}

#[test]
fn only_a_responder_the_ca_authorised_for_ocsp_signing_is_believed() {
    use mynasim_simulator::pki::keys::{CardKey, card_key};
    let card = card(DEFAULT);
    let service = Service::for_card(&card);
    let (auth, ca) = certs(&card, CertKind::Authentication);
    let (_, sign_ca) = certs(&card, CertKind::Signature);
    let request =
        ocsp::request(ocsp::cert_id(&auth, &ca, CertIdHash::Sha1).unwrap(), None).unwrap();
    let response = service.ocsp(&request);
    let refused = Verdict::Unavailable(
        "the OCSP response is not signed by the CA or a responder it authorised".into(),
    );
    // The right responder, checked against the other CA: not that CA's responder.
    assert_eq!(client::read_ocsp(&response, &auth, &sign_ca, None), refused);
    // Signed by the card's own key, with its certificate (issued by the CA, but for client
    // authentication, not OCSP signing): refused.
    let key = card_key(card.personalisation.seed, CardKey::JpkiAuthentication).unwrap();
    let forged = resigned(&response, &key, vec![auth.clone()]);
    assert_eq!(client::read_ocsp(&forged, &auth, &ca, None), refused);
    // The genuine response is believed.
    assert_eq!(
        client::read_ocsp(&response, &auth, &ca, None),
        Verdict::Good
    );
}

#[test]
fn a_response_about_another_certificate_is_no_answer() {
    let card = card(DEFAULT);
    let service = Service::for_card(&card);
    let (auth, ca) = certs(&card, CertKind::Authentication);
    let other = self::card(
        "version: 1\ntoday: 2026-11-25\nseed: 7\nholder: { birth_date: 1985-04-12 }\ncard: { issued: 2024-06-03 }\n",
    );
    let (other_auth, _) = certs(&other, CertKind::Authentication);
    assert_ne!(serial(&other_auth), serial(&auth));
    let request =
        ocsp::request(ocsp::cert_id(&auth, &ca, CertIdHash::Sha1).unwrap(), None).unwrap();
    let response = service.ocsp(&request);
    let nothing = Verdict::Unavailable("the response says nothing about this certificate".into());
    // Same issuer, another serial.
    assert_eq!(
        client::read_ocsp(&response, &other_auth, &ca, None),
        nothing
    );
    // Same serial, an issuer with the CA's name and another key: the key hash differs.
    let impostor = {
        use mynasim_simulator::pki::x509::{self, CertSpec};
        let key = mynasim_simulator::pki::keys::pool_key(20).unwrap();
        let name = ca.tbs_certificate().subject().clone();
        x509::build(
            CertSpec {
                serial: vec![0x42],
                not_before: ca.tbs_certificate().validity().not_before,
                not_after: ca.tbs_certificate().validity().not_after,
                subject: name.clone(),
                issuer: name,
                subject_key: key.to_public_key(),
                extensions: Vec::new(),
            },
            &key,
        )
        .unwrap()
    };
    let forged = resigned(
        &response,
        &mynasim_simulator::pki::keys::pool_key(20).unwrap(),
        Vec::new(),
    );
    assert_eq!(client::read_ocsp(&forged, &auth, &impostor, None), nothing);
}

#[test]
fn the_registry_replaces_a_record_only_for_the_same_kind_and_serial() {
    use mynasim_simulator::validation::{Record, Registry, Status};
    let t = jiff::Timestamp::from_second(1_800_000_000).unwrap();
    let record = |kind, serial: &[u8]| Record {
        kind,
        serial: serial.to_vec(),
        prefecture: "Tokyo-to".into(),
        municipality: "Chiyoda-ku".into(),
        issued: t,
        releasable: false,
        status: Status::Good,
    };
    let mut r = Registry::default();
    r.add(record(CertKind::Authentication, &[1]));
    r.add(record(CertKind::Authentication, &[1]));
    assert_eq!(
        r.records().len(),
        1,
        "the same certificate again replaces it"
    );
    r.add(record(CertKind::Signature, &[1]));
    r.add(record(CertKind::Authentication, &[2]));
    assert_eq!(r.records().len(), 3);
    assert_eq!(
        r.hold(CertKind::Signature, &[9], t)
            .unwrap_err()
            .to_string(),
        "no signature certificate with serial 09"
    );
    assert_eq!(
        r.hold(CertKind::Authentication, &[9], t)
            .unwrap_err()
            .to_string(),
        "no authentication certificate with serial 09"
    );
}
