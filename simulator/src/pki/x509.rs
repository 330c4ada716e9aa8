//! X.509 building blocks for the test PKI: names with the exact string types JPKI uses,
//! validity in Japan time, an explicit builder profile (no extension is added behind our
//! back, so the extension order matches real certificates), and signature verification.

use der::asn1::{Ia5String, ObjectIdentifier, OctetString, PrintableStringRef, Utf8StringRef};
use der::oid::AssociatedOid;
use der::referenced::OwnedToRef;
use der::{Any, Decode, Encode};
use jiff::civil::Date;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::Verifier;
use rsa::{PrivateKey, PublicKey};
use sha2::Sha256;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::{Certificate, TbsCertificate};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::{GeneralName, OtherName};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

/// OIDs used by the test PKI.
pub mod oid {
    use der::asn1::ObjectIdentifier;

    /// countryName (X.520).
    pub const C: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
    /// localityName.
    pub const L: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.7");
    /// organizationName.
    pub const O: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
    /// organizationalUnitName.
    pub const OU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.11");
    /// commonName.
    pub const CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
    /// sha256WithRSAEncryption.
    pub const SHA256_WITH_RSA: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
    /// id-kp-clientAuth.
    pub const CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");
    /// id-qt-cps.
    pub const CPS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.2.1");
    /// id-ad-ocsp.
    pub const OCSP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1");
}

/// Why a certificate could not be built or checked. Building only fails on values that do
/// not fit their ASN.1 type (e.g. a country code that is not PrintableString).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct CertError(pub String);

impl CertError {
    fn from_display(e: impl std::fmt::Display) -> Self {
        Self(e.to_string())
    }
}

/// Attributes of a distinguished name, in encoding order (country first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attr {
    /// countryName, a PrintableString.
    C,
    /// localityName.
    L,
    /// organizationName.
    O,
    /// organizationalUnitName.
    Ou,
    /// commonName.
    Cn,
}

/// Builds a name from single-valued RDNs in the given order. `C` is a PrintableString and
/// every other attribute a UTF8String, as in JPKI certificates (reference §4).
pub fn name(parts: &[(Attr, &str)]) -> Result<Name, CertError> {
    let mut seq = RdnSequence::default();
    for (attr, value) in parts {
        let (oid, value) = match attr {
            Attr::C => (
                oid::C,
                Any::encode_from(&PrintableStringRef::new(value).map_err(CertError::from_display)?),
            ),
            Attr::L => (oid::L, utf8(value)),
            Attr::O => (oid::O, utf8(value)),
            Attr::Ou => (oid::OU, utf8(value)),
            Attr::Cn => (oid::CN, utf8(value)),
        };
        let atv = AttributeTypeAndValue {
            oid,
            value: value.map_err(CertError::from_display)?,
        };
        seq.push(RelativeDistinguishedName::try_from(vec![atv]).map_err(CertError::from_display)?);
    }
    Name::from_der(&seq.to_der().map_err(CertError::from_display)?).map_err(CertError::from_display)
}

fn utf8(value: &str) -> der::Result<Any> {
    Any::encode_from(&Utf8StringRef::new(value)?)
}

/// An `otherName` whose value is `[0] EXPLICIT UTF8String` (the JPKI subjectAltName form).
pub fn other_name_utf8(type_id: ObjectIdentifier, value: &str) -> Result<GeneralName, CertError> {
    Ok(GeneralName::OtherName(OtherName {
        type_id,
        value: utf8(value).map_err(CertError::from_display)?,
    }))
}

/// A URI general name.
pub fn uri(value: &str) -> Result<GeneralName, CertError> {
    Ok(GeneralName::UniformResourceIdentifier(
        Ia5String::new(value).map_err(CertError::from_display)?,
    ))
}

/// An IA5String wrapped as `Any` (for the CPS policy qualifier).
pub fn ia5_any(value: &str) -> Result<Any, CertError> {
    Any::encode_from(&Ia5String::new(value).map_err(CertError::from_display)?)
        .map_err(CertError::from_display)
}

/// A certificate time at `hour:minute:second` Japan time (UTC+9) on `date`: UTCTime until
/// 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5).
pub fn jst_time(date: Date, hour: i8, minute: i8, second: i8) -> Result<Time, CertError> {
    let ts = jiff::tz::offset(9)
        .to_timestamp(date.at(hour, minute, second, 0))
        .map_err(CertError::from_display)?;
    let secs =
        u64::try_from(ts.as_second()).map_err(|_| CertError(format!("{date} is before 1970")))?;
    let dt = der::DateTime::from_unix_duration(std::time::Duration::from_secs(secs))
        .map_err(CertError::from_display)?;
    if dt.year() < 2050 {
        Ok(Time::UtcTime(
            der::asn1::UtcTime::from_date_time(dt).map_err(CertError::from_display)?,
        ))
    } else {
        Ok(Time::GeneralTime(
            der::asn1::GeneralizedTime::from_date_time(dt),
        ))
    }
}

/// A profile that adds nothing: the caller gives every extension, in the real
/// certificate's order.
struct ExplicitProfile {
    subject: Name,
    issuer: Name,
}

impl BuilderProfile for ExplicitProfile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: spki::SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: spki::SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(Vec::new())
    }
}

/// An extension with explicit criticality.
pub fn ext<E: AssociatedOid + Encode>(critical: bool, value: &E) -> Result<Extension, CertError> {
    let der = value.to_der().map_err(CertError::from_display)?;
    Ok(Extension {
        extn_id: E::OID,
        critical,
        extn_value: OctetString::new(der).map_err(CertError::from_display)?,
    })
}

/// Everything a certificate needs.
pub struct CertSpec {
    /// Serial number bytes (big-endian, ≤ 20).
    pub serial: Vec<u8>,
    /// notBefore.
    pub not_before: Time,
    /// notAfter.
    pub not_after: Time,
    /// Subject.
    pub subject: Name,
    /// Issuer (the signer's subject).
    pub issuer: Name,
    /// The subject's public key.
    pub subject_key: PublicKey,
    /// Extensions in order.
    pub extensions: Vec<Extension>,
}

/// Builds and signs a certificate with sha256WithRSAEncryption. Deterministic: PKCS#1 v1.5
/// signatures have no randomness, so the same spec gives the same DER.
pub fn build(spec: CertSpec, issuer_key: &PrivateKey) -> Result<Certificate, CertError> {
    let serial = SerialNumber::new(&spec.serial).map_err(CertError::from_display)?;
    let spki =
        SubjectPublicKeyInfoOwned::from_key(&spec.subject_key).map_err(CertError::from_display)?;
    let profile = ExplicitProfile {
        subject: spec.subject,
        issuer: spec.issuer,
    };
    let mut builder = CertificateBuilder::new(
        profile,
        serial,
        Validity::new(spec.not_before, spec.not_after),
        spki,
    )
    .map_err(CertError::from_display)?;
    for extension in spec.extensions {
        builder
            .add_extension(extension)
            .map_err(CertError::from_display)?;
    }
    let signer = SigningKey::<Sha256>::new(issuer_key.clone());
    builder
        .build::<_, Signature>(&signer)
        .map_err(CertError::from_display)
}

/// The SubjectPublicKeyInfo of a key.
pub fn spki_of(key: &PublicKey) -> Result<SubjectPublicKeyInfoOwned, CertError> {
    SubjectPublicKeyInfoOwned::from_key(key).map_err(CertError::from_display)
}

/// Checks that `cert` is signed with sha256WithRSAEncryption by the key in `issuer_spki`.
pub fn verify_signature(
    cert: &Certificate,
    issuer_spki: &SubjectPublicKeyInfoOwned,
) -> Result<(), CertError> {
    if cert.signature_algorithm().oid != oid::SHA256_WITH_RSA {
        return Err(CertError(
            "signature algorithm is not sha256WithRSAEncryption".into(),
        ));
    }
    let vk = VerifyingKey::<Sha256>::try_from(issuer_spki.owned_to_ref())
        .map_err(CertError::from_display)?;
    let tbs = cert
        .tbs_certificate()
        .to_der()
        .map_err(CertError::from_display)?;
    let sig = cert
        .signature()
        .as_bytes()
        .ok_or_else(|| CertError("signature BIT STRING has unused bits".into()))?;
    let sig = Signature::try_from(sig).map_err(CertError::from_display)?;
    vk.verify(&tbs, &sig).map_err(CertError::from_display)
}

/// Checks a sha256WithRSAEncryption signature over `data` with the key in `spki` (OCSP
/// responses, CRLs).
pub fn verify_bytes(
    data: &[u8],
    signature: &[u8],
    spki: &SubjectPublicKeyInfoOwned,
) -> Result<(), CertError> {
    let vk =
        VerifyingKey::<Sha256>::try_from(spki.owned_to_ref()).map_err(CertError::from_display)?;
    let sig = Signature::try_from(signature).map_err(CertError::from_display)?;
    vk.verify(data, &sig).map_err(CertError::from_display)
}

/// SHA-256 fingerprint of DER bytes, as upper-case hex with colons.
pub fn fingerprint(der: &[u8]) -> String {
    use sha2::Digest;
    let digest = Sha256::digest(der);
    digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A DER certificate as PEM text.
pub fn pem(der: &[u8]) -> String {
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der).unwrap_or_default()
}
