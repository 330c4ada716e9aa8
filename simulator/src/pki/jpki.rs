//! The JPKI-shaped test hierarchy (reference §4): a signature CA and a user-authentication
//! CA, and the two end-entity certificates of a card.
//!
//! Shapes follow the J-LIS *test* card certificates surveyed by MYNA-CARD (its
//! `tests/fixtures`): the same attribute types, string types, extensions and extension order.
//! Every name says TEST and mynasim so nothing can be mistaken for J-LIS:
//! `O=JPKI-TEST` (the J-LIS test hierarchy's organisation) and an
//! `OU=mynasim TEST Agency …` where the real one names J-LIS.

use std::sync::{Arc, OnceLock};

use der::asn1::{ObjectIdentifier, OctetString};
use der::referenced::OwnedToRef;
use der::{Decode, Encode};
use jiff::civil::Date;
use rsa::{PrivateKey, PublicKey};
use x509_cert::certificate::Certificate;
use x509_cert::ext::pkix::certpolicy::{PolicyInformation, PolicyQualifierInfo};
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
    CertificatePolicies, CrlDistributionPoints, ExtendedKeyUsage, IssuerAltName, KeyUsage,
    KeyUsages, SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;

use super::keys::{CaKey, ca_key};
use super::x509::{self, Attr, CertError, CertSpec, ext, oid};

/// Which JPKI certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertKind {
    /// 署名用電子証明書: digital signature, EF 0001 (CA in EF 0002).
    Signature,
    /// 利用者証明用電子証明書: user authentication, EF 000A (CA in EF 000B).
    Authentication,
}

impl CertKind {
    /// The OU naming the hierarchy ("JPKI for digital signature").
    fn ou(self) -> &'static str {
        match self {
            Self::Signature => "JPKI for digital signature",
            Self::Authentication => "JPKI for user authentication",
        }
    }

    /// The Japanese OU of the issuerAltName / CA subjectAltName directory name.
    fn ou_ja(self) -> &'static str {
        match self {
            Self::Signature => "公的個人認証サービス署名用",
            Self::Authentication => "公的個人認証サービス利用者証明用",
        }
    }

    /// Certificate policy OID of the end-entity certificates (J-LIS test card:
    /// `…8.5.1.0.20` signature, `…8.5.1.0.30` authentication; production, from a single
    /// unverified source: `…8.5.1.1.20`, `…8.5.1.3.30`; reference §4).
    fn policy(self, production: bool) -> ObjectIdentifier {
        match (self, production) {
            (Self::Signature, false) => ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.1.0.20"),
            (Self::Authentication, false) => {
                ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.1.0.30")
            }
            (Self::Signature, true) => ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.1.1.20"),
            (Self::Authentication, true) => {
                ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.1.3.30")
            }
        }
    }

    fn ca_key(self) -> CaKey {
        match self {
            Self::Signature => CaKey::JpkiSignatureCa,
            Self::Authentication => CaKey::JpkiAuthenticationCa,
        }
    }

    /// One byte, like the J-LIS roots' serial 1 (reference §4).
    fn ca_serial(self) -> [u8; 1] {
        match self {
            Self::Signature => [0x01],
            Self::Authentication => [0x02],
        }
    }
}

/// The last OU of every mynasim CA name, where J-LIS's certificates name the agency.
///
/// It is as long as J-LIS's own (`Japan Agency for Local Authority Information Systems`, 52
/// bytes), so certificates keep the real sizes (docs/profiles.md, "Certificates").
pub const TEST_AGENCY: &str = "mynasim TEST Agency for Local Authority Info Systems";

/// `1.2.392.200149.8.5.5.n`: the otherName types of the signature certificate's
/// subjectAltName (reference §4).
pub mod san {
    use der::asn1::ObjectIdentifier;

    /// 氏名 name.
    pub const NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.5.1");
    /// Name in substitute characters (代替文字).
    pub const NAME_SUBSTITUTE: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.5.2");
    /// Sex.
    pub const SEX: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.5.3");
    /// Date of birth, era digit + YYYYMMDD.
    pub const BIRTH_DATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.5.4");
    /// Address.
    pub const ADDRESS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.5.5");
    /// Address in substitute characters.
    pub const ADDRESS_SUBSTITUTE: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.392.200149.8.5.5.6");
}

/// A test CA: its key, certificate and name.
#[derive(Debug, Clone)]
pub struct Ca {
    /// Which hierarchy.
    pub kind: CertKind,
    /// The CA's private key (a pool key).
    pub key: Arc<PrivateKey>,
    /// The self-signed certificate.
    pub certificate: Certificate,
    /// Its DER encoding (the content of EF 0002 / 000B).
    pub der: Vec<u8>,
}

impl Ca {
    /// The CA's subject name.
    pub fn name(&self) -> &Name {
        self.certificate.tbs_certificate().subject()
    }
}

/// Validity of the test CAs: long enough for any profile's "today".
const CA_NOT_BEFORE: Date = Date::constant(2014, 1, 1);
const CA_NOT_AFTER: Date = Date::constant(2049, 12, 31);

fn ca_name(kind: CertKind) -> Result<Name, CertError> {
    x509::name(&[
        (Attr::C, "JP"),
        (Attr::O, "JPKI-TEST"),
        (Attr::Ou, kind.ou()),
        (Attr::Ou, TEST_AGENCY),
    ])
}

/// The directory name of the CA's subjectAltName and the end entities' issuerAltName.
fn ca_alt_name(kind: CertKind) -> Result<Name, CertError> {
    x509::name(&[
        (Attr::C, "JP"),
        (Attr::O, "公的個人認証サービス"),
        (Attr::Ou, kind.ou_ja()),
        (Attr::Ou, "mynasim TEST（J-LISではない）"),
    ])
}

fn build_ca(kind: CertKind) -> Result<Ca, CertError> {
    let key = ca_key(kind.ca_key()).map_err(|e| CertError(e.to_string()))?;
    let public = key.to_public_key();
    let name = ca_name(kind)?;
    let spki = x509::spki_of(&public)?;
    let ski = SubjectKeyIdentifier::try_from(spki.owned_to_ref())
        .map_err(|e| CertError(e.to_string()))?;
    let extensions = vec![
        ext(true, &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign))?,
        ext(
            false,
            &SubjectAltName(vec![GeneralName::DirectoryName(ca_alt_name(kind)?)]),
        )?,
        ext(
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: None,
            },
        )?,
        ext(false, &crl_dp(name.clone()))?,
        ext(false, &ski)?,
    ];
    let certificate = x509::build(
        CertSpec {
            serial: kind.ca_serial().to_vec(),
            not_before: x509::jst_time(CA_NOT_BEFORE, 0, 0, 0)?,
            not_after: x509::jst_time(CA_NOT_AFTER, 23, 59, 59)?,
            subject: name.clone(),
            issuer: name,
            subject_key: public,
            extensions,
        },
        &key,
    )?;
    let der = certificate.to_der().map_err(|e| CertError(e.to_string()))?;
    Ok(Ca {
        kind,
        key,
        certificate,
        der,
    })
}

/// The test CA of a hierarchy, built once per process.
pub fn ca(kind: CertKind) -> Result<&'static Ca, CertError> {
    static SIGNATURE: OnceLock<Result<Ca, CertError>> = OnceLock::new();
    static AUTHENTICATION: OnceLock<Result<Ca, CertError>> = OnceLock::new();
    let cell = match kind {
        CertKind::Signature => &SIGNATURE,
        CertKind::Authentication => &AUTHENTICATION,
    };
    cell.get_or_init(|| build_ca(kind))
        .as_ref()
        .map_err(Clone::clone)
}

/// The end entity's CRL distribution points: the partition's directory name, and (a mynasim
/// convenience) the validation service's URL for it.
fn ee_crl_dp(name: Name, uri: Option<&str>) -> Result<CrlDistributionPoints, CertError> {
    let mut dps = crl_dp(name);
    if let Some(uri) = uri {
        dps.0.push(DistributionPoint {
            distribution_point: Some(DistributionPointName::FullName(vec![x509::uri(uri)?])),
            reasons: None,
            crl_issuer: None,
        });
    }
    Ok(dps)
}

fn crl_dp(name: Name) -> CrlDistributionPoints {
    CrlDistributionPoints(vec![DistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![
            GeneralName::DirectoryName(name),
        ])),
        reasons: None,
        crl_issuer: None,
    }])
}

/// The holder's facts as the signature certificate carries them (reference §4).
#[derive(Debug, Clone)]
pub struct HolderFacts {
    /// 氏名, family and given name separated by U+3000.
    pub name: String,
    /// Name in substitute characters.
    pub name_substitute: String,
    /// Sex, one digit (1 male, 2 female, 9 not applicable, 0 unknown).
    pub sex: char,
    /// Era digit + YYYYMMDD.
    pub birth_date: String,
    /// 住所.
    pub address: String,
    /// Address in substitute characters.
    pub address_substitute: String,
}

/// What an end-entity certificate needs besides the holder.
#[derive(Debug, Clone)]
pub struct EeRequest {
    /// Serial number: 4 bytes, positive, like real cards' (`01 2D 57 CA`, `07 05 D9 90`;
    /// reference §4, issue 13).
    pub serial: [u8; 4],
    /// First day of validity (issue date).
    pub not_before: Date,
    /// Last day of validity; the certificate ends 23:59:59 JST that day.
    pub not_after: Date,
    /// The card's key.
    pub subject_key: PublicKey,
    /// Subject CN: an opaque identifier.
    pub common_name: String,
    /// Prefecture, romanised (`Tokyo-to`): subject L and CRL partition.
    pub prefecture: String,
    /// Municipality, romanised (`Chiyoda-ku`).
    pub municipality: String,
    /// `authorityInfoAccess` OCSP URL, if any.
    pub ocsp_url: Option<String>,
    /// The CPS URL of the certificate policy.
    pub cps_url: String,
    /// Production policy OIDs instead of the test card's.
    pub production_policies: bool,
    /// A second CRL distribution point: this URI (a mynasim convenience).
    pub crl_uri: Option<String>,
}

/// Issues the user-authentication certificate: subject `C=JP, CN=<opaque id>` and no
/// personal data; keyUsage digitalSignature, EKU clientAuth (reference §4; J-LIS test
/// card layout).
pub fn issue_authentication(req: &EeRequest) -> Result<Vec<u8>, CertError> {
    let kind = CertKind::Authentication;
    let subject = x509::name(&[(Attr::C, "JP"), (Attr::Cn, &req.common_name)])?;
    let mut extensions = vec![
        ext(true, &KeyUsage(KeyUsages::DigitalSignature.into()))?,
        ext(false, &ExtendedKeyUsage(vec![oid::CLIENT_AUTH]))?,
    ];
    extensions.extend(common_tail(kind, req)?);
    issue(kind, req, subject, extensions)
}

/// Issues the signature certificate: subject `C=JP, L=<prefecture>, L=<municipality>,
/// CN=<id>`, keyUsage digitalSignature + nonRepudiation, and the holder's facts as
/// subjectAltName otherNames (reference §4).
pub fn issue_signature(req: &EeRequest, holder: &HolderFacts) -> Result<Vec<u8>, CertError> {
    let kind = CertKind::Signature;
    let subject = x509::name(&[
        (Attr::C, "JP"),
        (Attr::L, &req.prefecture),
        (Attr::L, &req.municipality),
        (Attr::Cn, &req.common_name),
    ])?;
    let sex = holder.sex.to_string();
    // The order of the J-LIS test card: name, birth date, sex, address, then the two
    // substitute-character forms.
    let san = SubjectAltName(vec![
        x509::other_name_utf8(san::NAME, &holder.name)?,
        x509::other_name_utf8(san::BIRTH_DATE, &holder.birth_date)?,
        x509::other_name_utf8(san::SEX, &sex)?,
        x509::other_name_utf8(san::ADDRESS, &holder.address)?,
        x509::other_name_utf8(san::NAME_SUBSTITUTE, &holder.name_substitute)?,
        x509::other_name_utf8(san::ADDRESS_SUBSTITUTE, &holder.address_substitute)?,
    ]);
    let mut extensions = vec![
        ext(
            true,
            &KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation),
        )?,
        ext(false, &san)?,
    ];
    extensions.extend(common_tail(kind, req)?);
    issue(kind, req, subject, extensions)
}

/// The extensions after the purpose-specific ones: policy, issuerAltName, CRL distribution
/// point (a directory name per municipality), OCSP access when given, AKI, SKI.
fn common_tail(
    kind: CertKind,
    req: &EeRequest,
) -> Result<Vec<x509_cert::ext::Extension>, CertError> {
    let ca = ca(kind)?;
    let policies = CertificatePolicies(vec![PolicyInformation {
        policy_identifier: kind.policy(req.production_policies),
        policy_qualifiers: Some(vec![PolicyQualifierInfo {
            policy_qualifier_id: oid::CPS,
            qualifier: Some(x509::ia5_any(&req.cps_url)?),
        }]),
    }]);
    let crl_name = x509::name(&[
        (Attr::C, "JP"),
        (Attr::O, "JPKI-TEST"),
        (Attr::Ou, kind.ou()),
        (Attr::Ou, "CRL Distribution Points"),
        (Attr::Ou, &req.prefecture),
        (Attr::Cn, &format!("{} CRLDP", req.municipality)),
    ])?;
    let ca_spki = ca.certificate.tbs_certificate().subject_public_key_info();
    let ca_ski = SubjectKeyIdentifier::try_from(ca_spki.owned_to_ref())
        .map_err(|e| CertError(e.to_string()))?;
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(
            OctetString::new(ca_ski.0.as_bytes()).map_err(|e| CertError(e.to_string()))?,
        ),
        authority_cert_issuer: Some(vec![GeneralName::DirectoryName(ca.name().clone())]),
        authority_cert_serial_number: Some(
            SerialNumber::new(&kind.ca_serial()).map_err(|e| CertError(e.to_string()))?,
        ),
    };
    let spki = x509::spki_of(&req.subject_key)?;
    let ski = SubjectKeyIdentifier::try_from(spki.owned_to_ref())
        .map_err(|e| CertError(e.to_string()))?;
    let mut out = vec![
        ext(true, &policies)?,
        ext(
            false,
            &IssuerAltName(vec![GeneralName::DirectoryName(ca_alt_name(kind)?)]),
        )?,
        ext(false, &ee_crl_dp(crl_name, req.crl_uri.as_deref())?)?,
    ];
    if let Some(url) = &req.ocsp_url {
        out.push(ext(
            false,
            &AuthorityInfoAccessSyntax(vec![AccessDescription {
                access_method: oid::OCSP,
                access_location: x509::uri(url)?,
            }]),
        )?);
    }
    out.push(ext(false, &aki)?);
    out.push(ext(false, &ski)?);
    Ok(out)
}

fn issue(
    kind: CertKind,
    req: &EeRequest,
    subject: Name,
    extensions: Vec<x509_cert::ext::Extension>,
) -> Result<Vec<u8>, CertError> {
    let ca = ca(kind)?;
    let certificate = x509::build(
        CertSpec {
            serial: req.serial.to_vec(),
            not_before: x509::jst_time(req.not_before, 10, 0, 0)?,
            not_after: x509::jst_time(req.not_after, 23, 59, 59)?,
            subject,
            issuer: ca.name().clone(),
            subject_key: req.subject_key.clone(),
            extensions,
        },
        &ca.key,
    )?;
    certificate.to_der().map_err(|e| CertError(e.to_string()))
}

/// Parses DER into a certificate (for `card show` and tests).
pub fn parse(der: &[u8]) -> Result<Certificate, CertError> {
    Certificate::from_der(der).map_err(|e| CertError(e.to_string()))
}
