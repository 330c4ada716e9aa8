//! Signatures made by the card verify against the certificates read from the card, checked
//! the way a client checks them: parse the certificate, take its public key, verify.

use der::referenced::OwnedToRef;
use der::{Decode, Encode};
use mynasim_simulator::hex;
use mynasim_simulator::pki::x509;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, PublicKey};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

use super::support::{self, SELECT_JPKI, card, read_myna, select_ef, tx, tx_data, verify};

fn read_certificate(c: &mut mynasim_simulator::Card, fid: u16) -> Certificate {
    assert_eq!(tx(c, &select_ef(fid)), "90 00");
    let der = read_myna(c, &mut Vec::new());
    Certificate::from_der(&der).expect("the EF holds one DER certificate")
}

fn public_key(cert: &Certificate) -> PublicKey {
    let spki = cert.tbs_certificate().subject_public_key_info();
    PublicKey::try_from(spki.owned_to_ref()).expect("RSA key")
}

fn sign(c: &mut mynasim_simulator::Card, p1: u8, p2: u8, data: &[u8]) -> Vec<u8> {
    let apdu = format!(
        "80 2A {p1:02X} {p2:02X} {:02X} {} 00",
        data.len(),
        hex::spaced(data)
    );
    let (sig, sw) = tx_data(c, &apdu);
    assert_eq!(sw, "90 00", "scheme {p1:02X}");
    assert_eq!(sig.len(), 256);
    sig
}

#[test]
fn authentication_signature_verifies_with_the_certificate_on_the_card() {
    let mut c = card();
    tx(&mut c, SELECT_JPKI);
    let cert = read_certificate(&mut c, 0x000A);
    tx(&mut c, &select_ef(0x0018));
    assert_eq!(tx(&mut c, &verify("1234")), "90 00");
    tx(&mut c, &select_ef(0x0017));
    let message = b"mynasim signs this";
    let digest_info = [
        hex::decode(support::SHA256_DIGEST_INFO).unwrap(),
        Sha256::digest(message).to_vec(),
    ]
    .concat();
    let sig = sign(&mut c, 0x00, 0x80, &digest_info);
    // As OpenSSL/PKCS#11 would: sha256WithRSAEncryption over the message.
    let vk = VerifyingKey::<Sha256>::new(public_key(&cert));
    vk.verify(message, &Signature::try_from(sig.as_slice()).unwrap())
        .expect("signature verifies with the certificate's key");
}

#[test]
fn every_scheme_verifies_and_p2_sfi_signs_identically() {
    let mut c = card();
    tx(&mut c, SELECT_JPKI);
    tx(&mut c, &select_ef(0x001B));
    assert_eq!(tx(&mut c, &verify("ABC123")), "90 00");
    let cert = read_certificate(&mut c, 0x0001);
    let key = public_key(&cert);
    tx(&mut c, &select_ef(0x001A));
    let message = b"three signatures per VERIFY are fine";
    let hash = Sha256::digest(message).to_vec();
    let digest_info = [
        hex::decode(support::SHA256_DIGEST_INFO).unwrap(),
        hash.clone(),
    ]
    .concat();

    // 00: the given DigestInfo, padded.
    let s00 = sign(&mut c, 0x00, 0x80, &digest_info);
    key.verify(Pkcs1v15Sign::new::<Sha256>(), &hash, &s00)
        .unwrap();
    // 00 with P2 = 80|SFI (9A) gives the same bytes (reference §2.7).
    assert_eq!(sign(&mut c, 0x00, 0x9A, &digest_info), s00);
    // 01: bare SHA-256 of the data.
    let s01 = sign(&mut c, 0x01, 0x80, message);
    key.verify(Pkcs1v15Sign::new_unprefixed(), &hash, &s01)
        .unwrap();
    // 02: a given hash, DigestInfo added by the card.
    assert_eq!(sign(&mut c, 0x02, 0x80, &hash), s00);
    // 03: the card hashes and wraps: standard sha256WithRSAEncryption.
    assert_eq!(sign(&mut c, 0x03, 0x80, message), s00);
    // 04 / 05: PSS, randomised salt, both verify.
    let s04 = sign(&mut c, 0x04, 0x80, &hash);
    key.pss_verify_prehash::<Sha256>(&hash, &s04).unwrap();
    let s05 = sign(&mut c, 0x05, 0x80, message);
    key.pss_verify_prehash::<Sha256>(&hash, &s05).unwrap();
    assert_ne!(s04, s05, "fresh salt each time");
    // 00 takes up to 245 bytes and no more.
    assert_eq!(sign(&mut c, 0x00, 0x80, &[0xAB; 245]).len(), 256);
    let (_, sw) = tx_data(&mut c, &format!("80 2A 00 80 F6 {} 00", "AB ".repeat(246)));
    assert_eq!(sw, "67 00");
    assert_eq!(key.size(), 256);
}

#[test]
fn end_entity_certificates_chain_to_the_ca_certificates_on_the_card() {
    let mut c = card();
    tx(&mut c, SELECT_JPKI);
    let auth = read_certificate(&mut c, 0x000A);
    let auth_ca = read_certificate(&mut c, 0x000B);
    let sign_ca = read_certificate(&mut c, 0x0002);
    tx(&mut c, &select_ef(0x001B));
    tx(&mut c, &verify("ABC123"));
    let sign_cert = read_certificate(&mut c, 0x0001);
    let auth_ca_spki = auth_ca.tbs_certificate().subject_public_key_info().clone();
    let sign_ca_spki = sign_ca.tbs_certificate().subject_public_key_info().clone();
    x509::verify_signature(&auth, &auth_ca_spki).expect("auth chains to auth CA");
    x509::verify_signature(&auth_ca, &auth_ca_spki).expect("auth CA is self-signed");
    x509::verify_signature(&sign_cert, &sign_ca_spki).expect("sign chains to sign CA");
    assert!(
        x509::verify_signature(&sign_cert, &auth_ca_spki).is_err(),
        "not the other CA"
    );
    // Every name says TEST.
    for cert in [&auth_ca, &sign_ca] {
        let subject = cert.tbs_certificate().subject().to_string();
        assert!(
            subject.contains("TEST") && subject.contains("mynasim"),
            "{subject}"
        );
    }
    // Certificates are DER with a 30 82 LL LL header (OpenSC, JPKIREADER depend on it).
    for cert in [&auth, &sign_cert, &auth_ca, &sign_ca] {
        let der = cert.to_der().unwrap();
        assert_eq!(der.get(..2), Some(&[0x30, 0x82][..]));
    }
}

#[test]
fn the_signature_certificate_carries_the_holders_facts() {
    use x509_cert::ext::pkix::name::GeneralName;
    use x509_cert::ext::pkix::{KeyUsage, SubjectAltName};
    let issued = support::default_issued();
    let cert = &issued
        .sign_certificate
        .as_ref()
        .expect("adult holder")
        .certificate;
    let (critical, ku) = cert
        .tbs_certificate()
        .get_extension::<KeyUsage>()
        .unwrap()
        .expect("keyUsage");
    assert!(critical);
    assert_eq!(ku.to_der().unwrap(), [0x03, 0x02, 0x06, 0xC0]);
    let (_, san) = cert
        .tbs_certificate()
        .get_extension::<SubjectAltName>()
        .unwrap()
        .expect("subjectAltName");
    let values: Vec<(String, String)> = san
        .0
        .iter()
        .map(|name| match name {
            GeneralName::OtherName(o) => (
                o.type_id.to_string(),
                der::asn1::Utf8StringRef::try_from(&o.value)
                    .unwrap()
                    .to_string(),
            ),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    let get = |oid: &str| {
        values
            .iter()
            .find(|(o, _)| o == oid)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("1.2.392.200149.8.5.5.1"), Some("試験　花子"));
    assert_eq!(get("1.2.392.200149.8.5.5.3"), Some("2"));
    assert_eq!(
        get("1.2.392.200149.8.5.5.4"),
        Some("319850412"),
        "昭和, era digit 3"
    );
    assert_eq!(
        get("1.2.392.200149.8.5.5.2"),
        Some("00000"),
        "one 0 per character"
    );
    assert_eq!(values.len(), 6);
    // The authentication certificate has no personal data: subject C=JP, CN=<id> only.
    let auth = &issued.auth_certificate.as_ref().unwrap().certificate;
    let subject = auth.tbs_certificate().subject().to_string();
    assert!(
        subject.starts_with("CN=TEST") && subject.ends_with(",C=JP"),
        "{subject}"
    );
    assert!(
        auth.tbs_certificate()
            .get_extension::<SubjectAltName>()
            .unwrap()
            .is_none()
    );
}
