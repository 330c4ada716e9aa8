//! OCSP messages (RFC 6960 §4), as `der` 0.8 types.
//!
//! RustCrypto's `x509-ocsp` (0.2) is built on `der` 0.7 and `x509-cert` 0.2, and no release
//! matches this workspace's `der` 0.8 / `x509-cert` 0.3; two copies of the ASN.1 stack would
//! mean converting every certificate and name through bytes. The messages are small, so they
//! are declared here with `der`'s derives, field for field from RFC 6960's ASN.1 module
//! (§4.1.1 requests, §4.2.1 responses; the module is `EXPLICIT TAGS` except where it says
//! `IMPLICIT`).
//!
//! J-LIS's own OCSP wire profile (nonce use, responder certificate, request signing) is not
//! public; this follows RFC 6960 and RFC 5280 generically (docs/validation.md).

use der::asn1::{BitString, GeneralizedTime, Null, ObjectIdentifier, OctetString};
use der::{Choice, Decode, Encode, Enumerated, Sequence};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Version;
use x509_cert::certificate::Certificate;
use x509_cert::ext::Extensions;
use x509_cert::ext::pkix::crl::CrlReason;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;

/// OIDs of RFC 6960.
pub mod oid {
    use der::asn1::ObjectIdentifier;

    /// id-pkix-ocsp-basic (§4.2.1).
    pub const BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
    /// id-pkix-ocsp-nonce (§4.4.1).
    pub const NONCE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.2");
    /// id-pkix-ocsp-nocheck (§4.2.2.2.1).
    pub const NO_CHECK: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.5");
    /// id-kp-OCSPSigning (RFC 5280 §4.2.1.12).
    pub const OCSP_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.9");
    /// id-sha1 (the CertID hash OpenSSL sends by default).
    pub const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
    /// id-sha256.
    pub const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
}

/// `OCSPRequest` (§4.1.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
#[allow(missing_docs)]
pub struct OcspRequest {
    pub tbs_request: TbsRequest,
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    pub optional_signature: Option<RequestSignature>,
}

/// `TBSRequest` (§4.1.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
#[allow(missing_docs)]
pub struct TbsRequest {
    #[asn1(
        context_specific = "0",
        default = "Default::default",
        tag_mode = "EXPLICIT"
    )]
    pub version: Version,
    #[asn1(context_specific = "1", optional = "true", tag_mode = "EXPLICIT")]
    pub requestor_name: Option<GeneralName>,
    pub request_list: Vec<Request>,
    #[asn1(context_specific = "2", optional = "true", tag_mode = "EXPLICIT")]
    pub request_extensions: Option<Extensions>,
}

/// `Signature` of a signed request (§4.1.1): parsed, never required.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
#[allow(missing_docs)]
pub struct RequestSignature {
    pub signature_algorithm: AlgorithmIdentifierOwned,
    pub signature: BitString,
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    pub certs: Option<Vec<Certificate>>,
}

/// `Request` (§4.1.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
#[allow(missing_docs)]
pub struct Request {
    pub req_cert: CertId,
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    pub single_request_extensions: Option<Extensions>,
}

/// `CertID` (§4.1.1): the certificate asked about, by its issuer's name and key hashes and
/// its serial.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
#[allow(missing_docs)]
pub struct CertId {
    pub hash_algorithm: AlgorithmIdentifierOwned,
    pub issuer_name_hash: OctetString,
    pub issuer_key_hash: OctetString,
    pub serial_number: SerialNumber,
}

/// `OCSPResponseStatus` (§4.2.1).
#[derive(Clone, Copy, Debug, Eq, PartialEq, Enumerated)]
#[asn1(type = "ENUMERATED")]
#[repr(u32)]
#[allow(missing_docs)]
pub enum ResponseStatus {
    Successful = 0,
    MalformedRequest = 1,
    InternalError = 2,
    TryLater = 3,
    SigRequired = 5,
    Unauthorized = 6,
}

/// `OCSPResponse` (§4.2.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
#[allow(missing_docs)]
pub struct OcspResponse {
    pub response_status: ResponseStatus,
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    pub response_bytes: Option<ResponseBytes>,
}

/// `ResponseBytes` (§4.2.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
#[allow(missing_docs)]
pub struct ResponseBytes {
    pub response_type: ObjectIdentifier,
    pub response: OctetString,
}

/// `BasicOCSPResponse` (§4.2.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
#[allow(missing_docs)]
pub struct BasicResponse {
    pub tbs_response_data: ResponseData,
    pub signature_algorithm: AlgorithmIdentifierOwned,
    pub signature: BitString,
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    pub certs: Option<Vec<Certificate>>,
}

/// `ResponseData` (§4.2.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
#[allow(missing_docs)]
pub struct ResponseData {
    #[asn1(
        context_specific = "0",
        default = "Default::default",
        tag_mode = "EXPLICIT"
    )]
    pub version: Version,
    pub responder_id: ResponderId,
    pub produced_at: GeneralizedTime,
    pub responses: Vec<SingleResponse>,
    #[asn1(context_specific = "1", optional = "true", tag_mode = "EXPLICIT")]
    pub response_extensions: Option<Extensions>,
}

/// `ResponderID` (§4.2.1).
#[derive(Clone, Debug, Eq, PartialEq, Choice)]
#[allow(missing_docs)]
pub enum ResponderId {
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", constructed = "true")]
    ByName(Name),
    /// SHA-1 of the responder's public key (the BIT STRING's value).
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", constructed = "true")]
    ByKey(OctetString),
}

/// `SingleResponse` (§4.2.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
#[allow(missing_docs)]
pub struct SingleResponse {
    pub cert_id: CertId,
    pub cert_status: CertStatus,
    pub this_update: GeneralizedTime,
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    pub next_update: Option<GeneralizedTime>,
    #[asn1(context_specific = "1", optional = "true", tag_mode = "EXPLICIT")]
    pub single_extensions: Option<Extensions>,
}

/// `CertStatus` (§4.2.1): the only IMPLICIT tags of the module.
#[derive(Clone, Debug, Eq, PartialEq, Choice)]
#[allow(missing_docs)]
pub enum CertStatus {
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    Good(Null),
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", constructed = "true")]
    Revoked(RevokedInfo),
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT")]
    Unknown(Null),
}

/// `RevokedInfo` (§4.2.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
#[allow(missing_docs)]
pub struct RevokedInfo {
    pub revocation_time: GeneralizedTime,
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    pub revocation_reason: Option<CrlReason>,
}

/// The CertID hash algorithms this responder understands.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum CertIdHash {
    /// SHA-1 (OpenSSL's default).
    Sha1,
    /// SHA-256.
    Sha256,
}

impl CertIdHash {
    /// The algorithm an identifier names, if supported.
    pub fn of(alg: &AlgorithmIdentifierOwned) -> Option<Self> {
        match alg.oid {
            oid::SHA1 => Some(Self::Sha1),
            oid::SHA256 => Some(Self::Sha256),
            _ => None,
        }
    }

    /// Hashes bytes.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => Sha1::digest(data).to_vec(),
            Self::Sha256 => Sha256::digest(data).to_vec(),
        }
    }

    /// The AlgorithmIdentifier (parameters NULL, as OpenSSL writes them).
    pub fn identifier(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: match self {
                Self::Sha1 => oid::SHA1,
                Self::Sha256 => oid::SHA256,
            },
            parameters: Some(der::Any::null()),
        }
    }
}

/// The two hashes a CertID carries for an issuer: of its name's DER and of its public key
/// (the subjectPublicKey BIT STRING's value) (§4.1.1).
pub fn issuer_hashes(issuer: &Certificate, hash: CertIdHash) -> der::Result<(Vec<u8>, Vec<u8>)> {
    let tbs = issuer.tbs_certificate();
    let name = tbs.subject().to_der()?;
    let key = tbs.subject_public_key_info().subject_public_key.raw_bytes();
    Ok((hash.digest(&name), hash.digest(key)))
}

/// The CertID of `cert`, issued by `issuer`.
pub fn cert_id(cert: &Certificate, issuer: &Certificate, hash: CertIdHash) -> der::Result<CertId> {
    let (name_hash, key_hash) = issuer_hashes(issuer, hash)?;
    Ok(CertId {
        hash_algorithm: hash.identifier(),
        issuer_name_hash: OctetString::new(name_hash)?,
        issuer_key_hash: OctetString::new(key_hash)?,
        serial_number: cert.tbs_certificate().serial_number().clone(),
    })
}

/// A request for one certificate, with a nonce if given (§4.4.1), DER-encoded.
pub fn request(id: CertId, nonce: Option<&[u8]>) -> der::Result<Vec<u8>> {
    let request_extensions = match nonce {
        None => None,
        Some(n) => Some(vec![x509_cert::ext::Extension {
            extn_id: oid::NONCE,
            critical: false,
            extn_value: OctetString::new(OctetString::new(n)?.to_der()?)?,
        }]),
    };
    OcspRequest {
        tbs_request: TbsRequest {
            version: Version::V1,
            requestor_name: None,
            request_list: vec![Request {
                req_cert: id,
                single_request_extensions: None,
            }],
            request_extensions,
        },
        optional_signature: None,
    }
    .to_der()
}

/// Parses a DER response.
pub fn parse_response(der: &[u8]) -> der::Result<OcspResponse> {
    OcspResponse::from_der(der)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for status in [
            CertStatus::Good(Null),
            CertStatus::Unknown(Null),
            CertStatus::Revoked(RevokedInfo {
                revocation_time: GeneralizedTime::from_unix_duration(
                    std::time::Duration::from_secs(1_700_000_000),
                )
                .unwrap(),
                revocation_reason: Some(CrlReason::CertificateHold),
            }),
        ] {
            let der = status.to_der().unwrap();
            assert_eq!(CertStatus::from_der(&der).unwrap(), status);
        }
        // good is [0] IMPLICIT NULL: 80 00.
        assert_eq!(CertStatus::Good(Null).to_der().unwrap(), [0x80, 0x00]);
        assert_eq!(CertStatus::Unknown(Null).to_der().unwrap(), [0x82, 0x00]);
    }

    #[test]
    fn a_malformed_request_is_an_error_not_a_panic() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x03, 0x30, 0x01, 0x00],
            &[0xFF; 40],
        ] {
            assert!(OcspRequest::from_der(bad).is_err());
        }
    }
}
