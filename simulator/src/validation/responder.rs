//! The OCSP responder (RFC 6960 §2.2, §2.3, §4.2): a TEST delegated responder certificate
//! per CA (RFC 6960 §4.2.2.2: issued by the CA, extended key usage id-kp-OCSPSigning, with
//! id-pkix-ocsp-nocheck), and the answer to a request.

use std::sync::Arc;

use der::asn1::{Null, OctetString};
use der::referenced::OwnedToRef;
use der::{Decode, Encode};
use rsa::PrivateKey;
use rsa::pkcs1v15::{Signature, SigningKey};
use rsa::signature::{SignatureEncoding, Signer};
use sha1::{Digest, Sha1};
use sha2::Sha256;
use x509_cert::certificate::Certificate;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectKeyIdentifier,
};

use super::{Service, ServiceError, Status, generalized};
use crate::pki::jpki::{self, CertKind, TEST_AGENCY};
use crate::pki::keys::{CaKey, ca_key};
use crate::pki::ocsp::{
    self, BasicResponse, CertId, CertIdHash, CertStatus, OcspRequest, OcspResponse, ResponderId,
    ResponseBytes, ResponseData, ResponseStatus, RevokedInfo, SingleResponse,
};
use crate::pki::x509::{self, Attr, CertSpec, ext};

/// The most certificates one request may ask about.
pub const MAX_REQUESTS: usize = 16;

/// A delegated responder: its certificate and key.
#[derive(Debug, Clone)]
pub struct Responder {
    /// Which CA it answers for.
    pub kind: CertKind,
    /// Its certificate, issued by that CA.
    pub certificate: Certificate,
    /// DER of the certificate.
    pub der: Vec<u8>,
    /// The key (a pool key of its own).
    pub key: Arc<PrivateKey>,
}

/// The responder of a hierarchy.
///
/// # Errors
/// If the responder certificates cannot be built (a damaged key pool).
pub fn responder(kind: CertKind) -> Result<&'static Responder, ServiceError> {
    let [auth, sign] = super::responders()?;
    Ok(match kind {
        CertKind::Authentication => auth,
        CertKind::Signature => sign,
    })
}

/// `1.3.6.1.5.5.7.48.1.5` id-pkix-ocsp-nocheck: its value is NULL.
struct NoCheck;

impl der::oid::AssociatedOid for NoCheck {
    const OID: der::asn1::ObjectIdentifier = ocsp::oid::NO_CHECK;
}

impl Encode for NoCheck {
    fn encoded_len(&self) -> der::Result<der::Length> {
        Null.encoded_len()
    }

    fn encode(&self, writer: &mut impl der::Writer) -> der::Result<()> {
        Null.encode(writer)
    }
}

pub(super) fn build(kind: CertKind) -> Result<Responder, ServiceError> {
    let ca = jpki::ca(kind)?;
    let key = ca_key(match kind {
        CertKind::Authentication => CaKey::OcspResponderAuth,
        CertKind::Signature => CaKey::OcspResponderSign,
    })
    .map_err(|e| ServiceError::Build(e.to_string()))?;
    let public = key.to_public_key();
    let spki = x509::spki_of(&public)?;
    let ski = SubjectKeyIdentifier::try_from(spki.owned_to_ref())
        .map_err(|e| ServiceError::Build(e.to_string()))?;
    let ca_spki = ca.certificate.tbs_certificate().subject_public_key_info();
    let ca_ski = SubjectKeyIdentifier::try_from(ca_spki.owned_to_ref())
        .map_err(|e| ServiceError::Build(e.to_string()))?;
    let subject = x509::name(&[
        (Attr::C, "JP"),
        (Attr::O, "JPKI-TEST"),
        (
            Attr::Ou,
            match kind {
                CertKind::Signature => "JPKI for digital signature",
                CertKind::Authentication => "JPKI for user authentication",
            },
        ),
        (Attr::Ou, TEST_AGENCY),
        (Attr::Cn, "mynasim TEST OCSP responder"),
    ])?;
    let extensions = vec![
        ext(true, &KeyUsage(KeyUsages::DigitalSignature.into()))?,
        ext(false, &ExtendedKeyUsage(vec![ocsp::oid::OCSP_SIGNING]))?,
        ext(false, &NoCheck)?,
        ext(
            true,
            &BasicConstraints {
                ca: false,
                path_len_constraint: None,
            },
        )?,
        ext(
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(ca_ski.0.as_bytes())?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )?,
        ext(false, &ski)?,
    ];
    let certificate = x509::build(
        CertSpec {
            serial: vec![
                0x0C,
                match kind {
                    CertKind::Signature => 0x01,
                    CertKind::Authentication => 0x02,
                },
            ],
            not_before: x509::jst_time(jiff::civil::date(2014, 1, 1), 0, 0, 0)?,
            not_after: x509::jst_time(jiff::civil::date(2049, 12, 31), 23, 59, 59)?,
            subject,
            issuer: ca.name().clone(),
            subject_key: public,
            extensions,
        },
        &ca.key,
    )?;
    let der = certificate.to_der()?;
    Ok(Responder {
        kind,
        certificate,
        der,
        key,
    })
}

/// A response with no body (every status but `successful`).
fn bare(status: ResponseStatus) -> Vec<u8> {
    OcspResponse {
        response_status: status,
        response_bytes: None,
    }
    .to_der()
    .unwrap_or_else(|_| vec![0x30, 0x03, 0x0A, 0x01, status as u8])
}

/// Answers a request (RFC 6960 §2.3): `malformedRequest` for anything that does not parse,
/// asks about nothing or too much, or names a hash this responder does not know;
/// `tryLater` under that fault; else a signed basic response for every certificate asked
/// about, `unknown` for one no test CA issued, with the request's nonce echoed.
pub(super) fn answer(service: &Service, request: &[u8]) -> Vec<u8> {
    if service.faults.try_later {
        return bare(ResponseStatus::TryLater);
    }
    let Ok(request) = OcspRequest::from_der(request) else {
        return bare(ResponseStatus::MalformedRequest);
    };
    let list = &request.tbs_request.request_list;
    if list.is_empty() || list.len() > MAX_REQUESTS {
        return bare(ResponseStatus::MalformedRequest);
    }
    if list
        .iter()
        .any(|r| CertIdHash::of(&r.req_cert.hash_algorithm).is_none())
    {
        return bare(ResponseStatus::MalformedRequest);
    }
    match signed(service, &request) {
        Ok(der) => der,
        Err(_) => bare(ResponseStatus::InternalError),
    }
}

/// Which test CA a CertID names, if any.
fn issuer_of(id: &CertId) -> Option<CertKind> {
    let hash = CertIdHash::of(&id.hash_algorithm)?;
    [CertKind::Authentication, CertKind::Signature]
        .into_iter()
        .find(|kind| {
            jpki::ca(*kind)
                .ok()
                .and_then(|ca| ocsp::issuer_hashes(&ca.certificate, hash).ok())
                .is_some_and(|(name, key)| {
                    id.issuer_name_hash.as_bytes() == name.as_slice()
                        && id.issuer_key_hash.as_bytes() == key.as_slice()
                })
        })
}

fn signed(service: &Service, request: &OcspRequest) -> Result<Vec<u8>, ServiceError> {
    let now = service.clock.now();
    let list = &request.tbs_request.request_list;
    // The responder of the first certificate's CA signs; a request about both hierarchies
    // at once is answered by that one (each status is still its own CA's).
    let kind = list
        .first()
        .and_then(|r| issuer_of(&r.req_cert))
        .unwrap_or(CertKind::Authentication);
    let responder = responder(kind)?;
    let mut responses = Vec::with_capacity(list.len());
    for r in list {
        let id = &r.req_cert;
        let status = issuer_of(id)
            .and_then(|k| service.registry.find(k, id.serial_number.as_bytes()))
            .filter(|record| record.issued <= now)
            .map(|record| record.status);
        let cert_status = match status {
            None => CertStatus::Unknown(Null),
            Some(Status::Good) => CertStatus::Good(Null),
            Some(s) => {
                let (at, reason) = s.revocation().unwrap_or((now, ocsp_unspecified()));
                CertStatus::Revoked(RevokedInfo {
                    revocation_time: generalized(at)?,
                    revocation_reason: Some(reason),
                })
            }
        };
        responses.push(SingleResponse {
            cert_id: id.clone(),
            cert_status,
            this_update: generalized(now)?,
            next_update: None,
            single_extensions: None,
        });
    }
    let nonce = request
        .tbs_request
        .request_extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == ocsp::oid::NONCE)
        .cloned();
    let key_hash = Sha1::digest(
        responder
            .certificate
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes(),
    );
    let data = ResponseData {
        version: x509_cert::Version::V1,
        responder_id: ResponderId::ByKey(OctetString::new(key_hash.as_slice())?),
        produced_at: generalized(now)?,
        responses,
        response_extensions: nonce.map(|n| vec![n]),
    };
    let tbs = data.to_der()?;
    let signer = SigningKey::<Sha256>::new((*responder.key).clone());
    let signature: Signature = signer.sign(&tbs);
    let basic = BasicResponse {
        tbs_response_data: data,
        signature_algorithm: spki::AlgorithmIdentifierOwned {
            oid: x509::oid::SHA256_WITH_RSA,
            parameters: Some(der::Any::null()),
        },
        signature: der::asn1::BitString::from_bytes(&signature.to_bytes())?,
        certs: Some(vec![responder.certificate.clone()]),
    };
    Ok(OcspResponse {
        response_status: ResponseStatus::Successful,
        response_bytes: Some(ResponseBytes {
            response_type: ocsp::oid::BASIC,
            response: OctetString::new(basic.to_der()?)?,
        }),
    }
    .to_der()?)
}

fn ocsp_unspecified() -> x509_cert::ext::pkix::crl::CrlReason {
    x509_cert::ext::pkix::crl::CrlReason::Unspecified
}
