//! A stand-in for J-LIS's validation service (issue 11; docs/validation.md): OCSP
//! (RFC 6960) and CRLs (RFC 5280 §5) for the test PKI, with the certificate life a relying
//! party sees — holds, revocations, the daily CRL schedule and its lag.
//!
//! Sans-IO like the card: [`Service::ocsp`] turns request bytes into response bytes and
//! [`Service::crl`] gives a CRL's DER; the HTTP server around them lives in the harness
//! (`host::validation`). Time is the service's own clock ([`Clock`]), derived from the
//! profile's `today`, never the wall clock.

pub mod client;
pub mod registry;
mod responder;

use std::sync::OnceLock;

use der::Encode;
use der::asn1::{GeneralizedTime, OctetString};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use rsa::pkcs1v15::{Signature, SigningKey};
use rsa::signature::{SignatureEncoding, Signer};
use sha2::Sha256;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::pkix::crl::dp::IssuingDistributionPoint;
use x509_cert::ext::pkix::crl::{CrlNumber, CrlReason};
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, SubjectKeyIdentifier};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Time;

use crate::pki::jpki::{self, CertKind};
use crate::pki::x509::{self, Attr, CertError, ext};
use crate::profile::{CertificateStatus, IssuedCard, IssuedCertificate, Token};

pub use registry::{Record, Registry, Status, TransitionError, parse_reason, reason_name};
pub use responder::{MAX_REQUESTS, Responder, responder};

/// The service's clock: the profile's `today` at noon, Japan time, plus whatever the
/// scenario advanced it by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    start: Timestamp,
    offset: SignedDuration,
}

/// Japan Standard Time, UTC+9.
const JST: jiff::tz::Offset = jiff::tz::offset(9);

/// When the daily CRLs are issued, Japan time (docs/validation.md: "refreshed daily").
pub const CRL_HOUR: i8 = 3;

impl Clock {
    /// Noon on `today`, Japan time.
    pub fn at_noon(today: Date) -> Self {
        let start = JST
            .to_timestamp(today.at(12, 0, 0, 0))
            .unwrap_or(Timestamp::UNIX_EPOCH);
        Self {
            start,
            offset: SignedDuration::ZERO,
        }
    }

    /// Now, by this clock.
    pub fn now(&self) -> Timestamp {
        self.start.checked_add(self.offset).unwrap_or(self.start)
    }

    /// Moves the clock on (or back, for a negative duration).
    pub fn advance(&mut self, by: SignedDuration) {
        self.offset = self.offset.saturating_add(by);
    }

    /// Today's date in Japan.
    pub fn today(&self) -> Date {
        JST.to_datetime(self.now()).date()
    }

    /// The time the current daily CRL was issued: today at [`CRL_HOUR`], or yesterday's if
    /// that has not come yet.
    pub fn crl_issued(&self) -> Timestamp {
        let now = self.now();
        let today = JST.to_datetime(now).date();
        let at = |d: Date| {
            JST.to_timestamp(d.at(CRL_HOUR, 0, 0, 0))
                .unwrap_or(Timestamp::UNIX_EPOCH)
        };
        let issued = at(today);
        if issued <= now {
            issued
        } else {
            at(today.yesterday().unwrap_or(today))
        }
    }
}

/// Misbehaviour of the service, as the real one shows under load (issue 11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Faults {
    /// OCSP answers `tryLater` (RFC 6960 §2.3).
    pub try_later: bool,
    /// The CRL served is the previous day's: its nextUpdate has passed.
    pub stale_crl: bool,
    /// The responder does not answer at all (the HTTP server refuses, or an in-process
    /// check reports it unavailable).
    pub down: bool,
    /// HTTP 503 to every request.
    pub http_503: bool,
    /// Every answer is delayed by this many milliseconds (HTTP only).
    pub delay_ms: u64,
}

/// The validation service: what it knows, its clock and faults.
#[derive(Debug, Clone)]
pub struct Service {
    /// The certificates and their statuses.
    pub registry: Registry,
    /// The service's clock.
    pub clock: Clock,
    /// Faults in force.
    pub faults: Faults,
    /// The cards registered, in order: the serials of each one's authentication and
    /// signature certificates (for card-level changes such as a loss).
    pub cards: Vec<[Option<Vec<u8>>; 2]>,
}

/// Why a CRL or OCSP answer could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// Building or signing failed (a damaged key pool, a value out of range).
    #[error("{0}")]
    Build(String),
}

impl From<CertError> for ServiceError {
    fn from(e: CertError) -> Self {
        Self::Build(e.0)
    }
}

impl From<der::Error> for ServiceError {
    fn from(e: der::Error) -> Self {
        Self::Build(e.to_string())
    }
}

impl Service {
    /// A service that knows nothing, at noon on `today`.
    pub fn new(today: Date) -> Self {
        Self {
            registry: Registry::default(),
            clock: Clock::at_noon(today),
            faults: Faults::default(),
            cards: Vec::new(),
        }
    }

    /// A service that knows one card's certificates, with the statuses its profile gives
    /// (`suspended`: on hold since the day before `today`; `revoked`: revoked then, reason
    /// unspecified).
    pub fn for_card(card: &IssuedCard) -> Self {
        let p = &card.personalisation;
        let mut service = Self::new(p.today);
        service.register_card(card);
        service
    }

    /// Adds a card's certificates.
    pub fn register_card(&mut self, card: &IssuedCard) {
        let p = &card.personalisation;
        let now = self.clock.now();
        let day_before = now
            .checked_sub(SignedDuration::from_hours(24))
            .unwrap_or(now);
        let serial = |c: &Option<IssuedCertificate>| {
            c.as_ref().map(|c| {
                c.certificate
                    .tbs_certificate()
                    .serial_number()
                    .as_bytes()
                    .to_vec()
            })
        };
        self.cards.push([
            serial(&card.auth_certificate),
            serial(&card.sign_certificate),
        ]);
        for cert in [&card.auth_certificate, &card.sign_certificate]
            .into_iter()
            .flatten()
        {
            let status = match cert.plan.status {
                CertificateStatus::Valid | CertificateStatus::Expired => Status::Good,
                CertificateStatus::Suspended => Status::Hold { since: day_before },
                CertificateStatus::Revoked => Status::Revoked {
                    at: day_before,
                    reason: CrlReason::Unspecified,
                },
            };
            self.registry.add(record_of(
                cert,
                &p.prefecture,
                &p.city,
                p.token != Token::Card && cert.kind == CertKind::Authentication,
                status,
            ));
        }
    }

    /// The OCSP answer to a request (RFC 6960 §2.3, §4.2): DER of an `OCSPResponse`, whatever
    /// the request — garbage gets `malformedRequest`, never an error.
    pub fn ocsp(&self, request: &[u8]) -> Vec<u8> {
        responder::answer(self, request)
    }

    /// The CRL of a hierarchy's partition as issued at the last daily issue (or the one
    /// before, with the `stale_crl` fault): DER.
    ///
    /// # Errors
    /// Only if signing fails.
    pub fn crl(
        &self,
        kind: CertKind,
        prefecture: &str,
        municipality: &str,
    ) -> Result<Vec<u8>, ServiceError> {
        let mut issued = self.clock.crl_issued();
        if self.faults.stale_crl {
            issued = issued
                .checked_sub(SignedDuration::from_hours(24))
                .unwrap_or(issued);
        }
        let revoked: Vec<(Vec<u8>, Timestamp, CrlReason)> = self
            .registry
            .records()
            .iter()
            .filter(|r| {
                r.kind == kind && r.prefecture == prefecture && r.municipality == municipality
            })
            .filter_map(|r| {
                r.status
                    .as_of(issued)
                    .revocation()
                    .map(|(at, reason)| (r.serial.clone(), at, reason))
            })
            .collect();
        crl(kind, prefecture, municipality, issued, &revoked)
    }
}

/// `1d`, `12h`, `30m`, `90s` (a minus sign goes back), at most ten years.
///
/// # Errors
/// Anything else.
pub fn parse_duration(text: &str) -> Result<jiff::SignedDuration, String> {
    let bad =
        || format!("`{text}` is not a duration: write a number and d, h, m or s (`1d`, `12h`)");
    let t = text.trim();
    let unit = t.chars().last().ok_or_else(bad)?;
    let number: i64 = t
        .get(..t.len() - unit.len_utf8())
        .ok_or_else(bad)?
        .trim()
        .parse()
        .map_err(|_| bad())?;
    let per = match unit {
        'd' => 86_400,
        'h' => 3_600,
        'm' => 60,
        's' => 1,
        _ => return Err(bad()),
    };
    number
        .checked_mul(per)
        .filter(|s| s.abs() <= 10 * 366 * 86_400)
        .map(jiff::SignedDuration::from_secs)
        .ok_or_else(|| format!("`{text}`: at most ten years"))
}

/// The record of an issued certificate.
pub fn record_of(
    cert: &IssuedCertificate,
    prefecture: &str,
    municipality: &str,
    releasable: bool,
    status: Status,
) -> Record {
    let tbs = cert.certificate.tbs_certificate();
    Record {
        kind: cert.kind,
        serial: tbs.serial_number().as_bytes().to_vec(),
        prefecture: prefecture.to_owned(),
        municipality: municipality.to_owned(),
        issued: timestamp_of(tbs.validity().not_before),
        releasable,
        status,
    }
}

/// A certificate time as a timestamp.
pub fn timestamp_of(t: Time) -> Timestamp {
    let secs = t.to_unix_duration().as_secs();
    Timestamp::from_second(i64::try_from(secs).unwrap_or(i64::MAX)).unwrap_or(Timestamp::MAX)
}

/// A timestamp as GeneralizedTime (whole seconds).
pub fn generalized(t: Timestamp) -> Result<GeneralizedTime, ServiceError> {
    let secs =
        u64::try_from(t.as_second()).map_err(|_| ServiceError::Build("time before 1970".into()))?;
    Ok(GeneralizedTime::from_unix_duration(
        std::time::Duration::from_secs(secs),
    )?)
}

/// A timestamp as an X.509 Time (UTCTime until 2049).
pub fn time(t: Timestamp) -> Result<Time, ServiceError> {
    let secs =
        u64::try_from(t.as_second()).map_err(|_| ServiceError::Build("time before 1970".into()))?;
    Ok(Time::from(der::DateTime::from_unix_duration(
        std::time::Duration::from_secs(secs),
    )?))
}

/// The directory name of a partition's CRL distribution point, as the certificates carry it
/// (`… OU=CRL Distribution Points, OU=<prefecture>, CN=<municipality> CRLDP`).
pub fn partition_name(
    kind: CertKind,
    prefecture: &str,
    municipality: &str,
) -> Result<Name, CertError> {
    x509::name(&[
        (Attr::C, "JP"),
        (Attr::O, "JPKI-TEST"),
        (
            Attr::Ou,
            match kind {
                CertKind::Signature => "JPKI for digital signature",
                CertKind::Authentication => "JPKI for user authentication",
            },
        ),
        (Attr::Ou, "CRL Distribution Points"),
        (Attr::Ou, prefecture),
        (Attr::Cn, &format!("{municipality} CRLDP")),
    ])
}

/// Builds and signs a partition's CRL (RFC 5280 §5): v2, thisUpdate `issued`, nextUpdate a
/// day later, one entry per revoked serial with its reasonCode, and the extensions AKI,
/// cRLNumber (days since 1970) and issuingDistributionPoint (the partition's name, user
/// certificates only).
///
/// # Errors
/// Only if a value does not fit or signing fails.
pub fn crl(
    kind: CertKind,
    prefecture: &str,
    municipality: &str,
    issued: Timestamp,
    revoked: &[(Vec<u8>, Timestamp, CrlReason)],
) -> Result<Vec<u8>, ServiceError> {
    use der::referenced::OwnedToRef;
    let ca = jpki::ca(kind)?;
    let entries = revoked
        .iter()
        .map(|(serial, at, reason)| {
            Ok(RevokedCert {
                serial_number: SerialNumber::<x509_cert::certificate::Rfc5280>::new(serial)?,
                revocation_date: time(*at)?,
                crl_entry_extensions: Some(vec![ext(false, reason)?]),
            })
        })
        .collect::<Result<Vec<_>, ServiceError>>()?;
    let ca_spki = ca.certificate.tbs_certificate().subject_public_key_info();
    let ca_ski = SubjectKeyIdentifier::try_from(ca_spki.owned_to_ref())
        .map_err(|e| ServiceError::Build(e.to_string()))?;
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(ca_ski.0.as_bytes())?),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };
    let number = u64::try_from(issued.as_second() / 86_400).unwrap_or(0);
    let idp = IssuingDistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![
            GeneralName::DirectoryName(partition_name(kind, prefecture, municipality)?),
        ])),
        only_contains_user_certs: true,
        only_contains_ca_certs: false,
        only_some_reasons: None,
        indirect_crl: false,
        only_contains_attribute_certs: false,
    };
    let tbs = TbsCertList {
        version: x509_cert::Version::V2,
        signature: spki::AlgorithmIdentifierOwned {
            oid: x509::oid::SHA256_WITH_RSA,
            parameters: Some(der::Any::null()),
        },
        issuer: ca.name().clone(),
        this_update: time(issued)?,
        next_update: Some(time(
            issued
                .checked_add(SignedDuration::from_hours(24))
                .unwrap_or(issued),
        )?),
        revoked_certificates: (!entries.is_empty()).then_some(entries),
        crl_extensions: Some(vec![
            ext(false, &aki)?,
            ext(
                false,
                &CrlNumber(der::asn1::Uint::new(&number.to_be_bytes())?),
            )?,
            issuing_distribution_point(&idp)?,
        ]),
    };
    let tbs_der = tbs.to_der()?;
    let signer = SigningKey::<Sha256>::new((*ca.key).clone());
    let signature: Signature = signer.sign(&tbs_der);
    let list = CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: spki::AlgorithmIdentifierOwned {
            oid: x509::oid::SHA256_WITH_RSA,
            parameters: Some(der::Any::null()),
        },
        signature: der::asn1::BitString::from_bytes(&signature.to_bytes())?,
    };
    Ok(list.to_der()?)
}

/// id-ce-issuingDistributionPoint (RFC 5280 §5.2.5), critical. Built by hand: `x509-cert`
/// 0.3.0 associates its `IssuingDistributionPoint` with the subjectInfoAccess OID, which
/// OpenSSL then rejects as an unhandled critical extension.
fn issuing_distribution_point(
    idp: &IssuingDistributionPoint,
) -> Result<x509_cert::ext::Extension, ServiceError> {
    Ok(x509_cert::ext::Extension {
        extn_id: der::asn1::ObjectIdentifier::new_unwrap("2.5.29.28"),
        critical: true,
        extn_value: OctetString::new(idp.to_der()?)?,
    })
}

/// The responder certificates, built once per process.
pub(crate) fn responders() -> Result<&'static [Responder; 2], ServiceError> {
    static CELL: OnceLock<Result<[Responder; 2], ServiceError>> = OnceLock::new();
    CELL.get_or_init(|| {
        Ok([
            responder::build(CertKind::Authentication)?,
            responder::build(CertKind::Signature)?,
        ])
    })
    .as_ref()
    .map_err(Clone::clone)
}
