//! The relying party's side: ask about a certificate by OCSP or CRL, check what comes back
//! (signatures, freshness, nonce) and say what it means — the checks a server that accepts
//! My Number Card certificates makes (docs/validation.md, "Relying party").

use std::fmt;

use der::{Decode, Encode};
use jiff::Timestamp;
use x509_cert::certificate::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::crl::CrlReason;

use super::{reason_name, timestamp_of};
use crate::pki::ocsp::{self, BasicResponse, CertIdHash, CertStatus, ResponseStatus};
use crate::pki::x509;

/// What a relying party concludes about a certificate's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Good.
    Good,
    /// Revoked with reason certificateHold: suspended (一時保留).
    Hold,
    /// Revoked for this reason.
    Revoked(CrlReason),
    /// The service does not know the certificate.
    Unknown,
    /// No trustworthy answer: the service is down, busy, stale or its answer does not
    /// verify.
    Unavailable(String),
    /// Past its notAfter (the relying party checks this first).
    Expired,
    /// Not yet valid, or not issued by the test CA.
    Invalid(String),
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Good => f.write_str("good"),
            Self::Hold => f.write_str("hold"),
            Self::Revoked(r) => write!(f, "revoked: {}", reason_name(*r)),
            Self::Unknown => f.write_str("unknown"),
            Self::Unavailable(why) => write!(f, "unavailable: {why}"),
            Self::Expired => f.write_str("expired"),
            Self::Invalid(why) => write!(f, "invalid: {why}"),
        }
    }
}

fn of_reason(reason: Option<CrlReason>) -> Verdict {
    match reason {
        Some(CrlReason::CertificateHold) => Verdict::Hold,
        Some(r) => Verdict::Revoked(r),
        None => Verdict::Revoked(CrlReason::Unspecified),
    }
}

/// Reads an OCSP response about `cert` (issued by `issuer`): the response must be
/// `successful`, signed by a responder certificate that `issuer` issued for OCSP signing,
/// carry `nonce` when one was sent, and answer about this very certificate.
pub fn read_ocsp(
    response: &[u8],
    cert: &Certificate,
    issuer: &Certificate,
    nonce: Option<&[u8]>,
) -> Verdict {
    let unavailable = |why: &str| Verdict::Unavailable(why.to_owned());
    let Ok(response) = ocsp::parse_response(response) else {
        return unavailable("the OCSP response does not parse");
    };
    if response.response_status != ResponseStatus::Successful {
        return Verdict::Unavailable(format!(
            "the responder answered {:?}",
            response.response_status
        ));
    }
    let Some(bytes) = response.response_bytes else {
        return unavailable("a successful OCSP response without a body");
    };
    if bytes.response_type != ocsp::oid::BASIC {
        return unavailable("not a basic OCSP response");
    }
    let Ok(basic) = BasicResponse::from_der(bytes.response.as_bytes()) else {
        return unavailable("the basic OCSP response does not parse");
    };
    if let Err(why) = verify_basic(&basic, issuer) {
        return Verdict::Unavailable(why);
    }
    let data = &basic.tbs_response_data;
    if let Some(n) = nonce {
        let echoed = data
            .response_extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == ocsp::oid::NONCE)
            .and_then(|e| der::asn1::OctetString::from_der(e.extn_value.as_bytes()).ok());
        if echoed.as_ref().map(der::asn1::OctetString::as_bytes) != Some(n) {
            return unavailable("the response does not echo the request's nonce");
        }
    }
    let serial = cert.tbs_certificate().serial_number();
    let Some(single) = data.responses.iter().find(|r| {
        &r.cert_id.serial_number == serial
            && CertIdHash::of(&r.cert_id.hash_algorithm).is_some_and(|h| {
                ocsp::issuer_hashes(issuer, h).is_ok_and(|(name, key)| {
                    r.cert_id.issuer_name_hash.as_bytes() == name.as_slice()
                        && r.cert_id.issuer_key_hash.as_bytes() == key.as_slice()
                })
            })
    }) else {
        return unavailable("the response says nothing about this certificate");
    };
    match &single.cert_status {
        CertStatus::Good(_) => Verdict::Good,
        CertStatus::Unknown(_) => Verdict::Unknown,
        CertStatus::Revoked(info) => of_reason(info.revocation_reason),
    }
}

/// The signature of a basic response, by a delegated responder `issuer` issued for OCSP
/// signing (RFC 6960 §4.2.2.2), or by the issuer itself.
fn verify_basic(basic: &BasicResponse, issuer: &Certificate) -> Result<(), String> {
    let issuer_spki = issuer.tbs_certificate().subject_public_key_info().clone();
    let tbs = basic
        .tbs_response_data
        .to_der()
        .map_err(|e| e.to_string())?;
    let signature = basic
        .signature
        .as_bytes()
        .ok_or("the response signature has unused bits")?;
    let verify_with =
        |spki: &spki::SubjectPublicKeyInfoOwned| x509::verify_bytes(&tbs, signature, spki).is_ok();
    if verify_with(&issuer_spki) {
        return Ok(());
    }
    for responder in basic.certs.iter().flatten() {
        let delegated = x509::verify_signature(responder, &issuer_spki).is_ok()
            && responder
                .tbs_certificate()
                .extensions()
                .is_some_and(|exts| {
                    exts.iter().any(|e| {
                        e.extn_id == x509_cert::ext::pkix::ExtendedKeyUsage::OID_VALUE
                            && e.extn_value
                                .as_bytes()
                                .windows(ocsp_signing_der().len())
                                .any(|w| w == ocsp_signing_der())
                    })
                });
        if delegated && verify_with(responder.tbs_certificate().subject_public_key_info()) {
            return Ok(());
        }
    }
    Err("the OCSP response is not signed by the CA or a responder it authorised".to_owned())
}

/// The DER of the id-kp-OCSPSigning OID, as it appears inside an EKU extension.
fn ocsp_signing_der() -> &'static [u8] {
    &[0x06, 0x08, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x09]
}

/// Reads a CRL for `cert`: signed by `issuer`, current at `now` (thisUpdate ≤ now ≤
/// nextUpdate; a stale CRL is no answer), and lists the serial or not.
pub fn read_crl(crl: &[u8], cert: &Certificate, issuer: &Certificate, now: Timestamp) -> Verdict {
    let Ok(list) = CertificateList::from_der(crl) else {
        return Verdict::Unavailable("the CRL does not parse".to_owned());
    };
    let issuer_spki = issuer.tbs_certificate().subject_public_key_info();
    let verified = list.tbs_cert_list.to_der().is_ok_and(|tbs| {
        list.signature
            .as_bytes()
            .is_some_and(|sig| x509::verify_bytes(&tbs, sig, issuer_spki).is_ok())
    });
    if !verified {
        return Verdict::Unavailable("the CRL is not signed by the issuing CA".to_owned());
    }
    let tbs = &list.tbs_cert_list;
    if timestamp_of(tbs.this_update) > now {
        return Verdict::Unavailable("the CRL was issued after now".to_owned());
    }
    match tbs.next_update {
        Some(next) if timestamp_of(next) < now => {
            return Verdict::Unavailable(format!(
                "the CRL is stale: its nextUpdate {} has passed",
                next
            ));
        }
        _ => {}
    }
    if timestamp_of(cert.tbs_certificate().validity().not_before) > timestamp_of(tbs.this_update) {
        return Verdict::Unavailable(
            "the CRL is older than the certificate: wait for the next day's CRL".to_owned(),
        );
    }
    let serial = cert.tbs_certificate().serial_number();
    let Some(entry) = tbs
        .revoked_certificates
        .iter()
        .flatten()
        .find(|e| &e.serial_number == serial)
    else {
        return Verdict::Good;
    };
    let reason = entry.crl_entry_extensions.iter().flatten().find_map(|e| {
        (e.extn_id == x509_cert::ext::pkix::crl::CrlReason::OID_VALUE)
            .then(|| CrlReason::from_der(e.extn_value.as_bytes()).ok())
            .flatten()
    });
    of_reason(reason)
}

/// What the OID constants are called here.
trait OidValue {
    const OID_VALUE: der::asn1::ObjectIdentifier;
}

impl<T: der::oid::AssociatedOid> OidValue for T {
    const OID_VALUE: der::asn1::ObjectIdentifier = T::OID;
}

/// The relying party's verdict in the documented order (PocketSign's verification API):
/// the chain first (issued by the test CA), then validity at `now` (expired before
/// revoked), then the status.
pub fn verdict(
    cert: &Certificate,
    issuer: &Certificate,
    now: Timestamp,
    status: Verdict,
) -> Verdict {
    let issuer_spki = issuer.tbs_certificate().subject_public_key_info();
    if x509::verify_signature(cert, issuer_spki).is_err() {
        return Verdict::Invalid("not issued by the test CA".to_owned());
    }
    let validity = cert.tbs_certificate().validity();
    if timestamp_of(validity.not_after) < now {
        return Verdict::Expired;
    }
    if timestamp_of(validity.not_before) > now {
        return Verdict::Invalid("not yet valid".to_owned());
    }
    status
}
