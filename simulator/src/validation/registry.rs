//! The validation service's database: every certificate it vouches for and its status, with
//! the transitions J-LIS allows (docs/validation.md, "Certificate life").
//!
//! ```text
//! good ──hold──▶ hold ──revoke (certificateHold)──▶ revoked
//!   │              └──release (smartphone user-authentication certificate only)──▶ good
//!   └──revoke (any reason)──▶ revoked
//! ```
//!
//! A lost card's certificates are put on hold (一時保留) and the hold is never lifted: when
//! the card is found they are revoked and new ones issued. Only the smartphone
//! user-authentication certificate has its hold released (J-LIS FAQ; issue 11).

use std::fmt;

use jiff::Timestamp;
use x509_cert::ext::pkix::crl::CrlReason;

use crate::pki::jpki::CertKind;

/// A certificate's status at the CA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Good.
    Good,
    /// On hold since this time: OCSP and CRLs say revoked with reason certificateHold.
    Hold {
        /// When the hold began.
        since: Timestamp,
    },
    /// Revoked for good.
    Revoked {
        /// When.
        at: Timestamp,
        /// Why (RFC 5280 §5.3.1).
        reason: CrlReason,
    },
}

impl Status {
    /// When it stopped being good, and the reason a CRL or OCSP response gives.
    pub fn revocation(self) -> Option<(Timestamp, CrlReason)> {
        match self {
            Self::Good => None,
            Self::Hold { since } => Some((since, CrlReason::CertificateHold)),
            Self::Revoked { at, reason } => Some((at, reason)),
        }
    }

    /// The status as it stood at `t`, if the change happened after `t` it was still good.
    pub fn as_of(self, t: Timestamp) -> Self {
        match self.revocation() {
            Some((at, _)) if at > t => Self::Good,
            _ => self,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Good => f.write_str("good"),
            Self::Hold { .. } => f.write_str("hold"),
            Self::Revoked { reason, .. } => write!(f, "revoked: {}", reason_name(*reason)),
        }
    }
}

/// RFC 5280's name of a reason (`affiliationChanged`).
pub fn reason_name(reason: CrlReason) -> &'static str {
    match reason {
        CrlReason::Unspecified => "unspecified",
        CrlReason::KeyCompromise => "keyCompromise",
        CrlReason::CaCompromise => "cACompromise",
        CrlReason::AffiliationChanged => "affiliationChanged",
        CrlReason::Superseded => "superseded",
        CrlReason::CessationOfOperation => "cessationOfOperation",
        CrlReason::CertificateHold => "certificateHold",
        CrlReason::RemoveFromCRL => "removeFromCRL",
        CrlReason::PrivilegeWithdrawn => "privilegeWithdrawn",
        CrlReason::AaCompromise => "aACompromise",
    }
}

/// The reason named (RFC 5280 spelling, or kebab-case: `affiliation-changed`).
pub fn parse_reason(name: &str) -> Option<CrlReason> {
    let key: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    [
        CrlReason::Unspecified,
        CrlReason::KeyCompromise,
        CrlReason::CaCompromise,
        CrlReason::AffiliationChanged,
        CrlReason::Superseded,
        CrlReason::CessationOfOperation,
        CrlReason::CertificateHold,
        CrlReason::PrivilegeWithdrawn,
        CrlReason::AaCompromise,
    ]
    .into_iter()
    .find(|r| reason_name(*r).to_ascii_lowercase() == key)
}

/// One certificate the service knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Which hierarchy issued it.
    pub kind: CertKind,
    /// Serial number bytes (as in the certificate).
    pub serial: Vec<u8>,
    /// The CRL partition: prefecture, romanised.
    pub prefecture: String,
    /// The CRL partition: municipality, romanised.
    pub municipality: String,
    /// When it was issued (a relying party cannot vouch for it before).
    pub issued: Timestamp,
    /// Whether a hold may be released (the smartphone user-authentication certificate).
    pub releasable: bool,
    /// Its status now.
    pub status: Status,
}

/// A change the rules do not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// No certificate with this serial.
    #[error("no {kind} certificate with serial {serial}")]
    Unknown {
        /// Which hierarchy.
        kind: &'static str,
        /// Serial, hex.
        serial: String,
    },
    /// The change is not allowed from the current status.
    #[error("certificate {serial} is {from}: it cannot be {to}")]
    NotAllowed {
        /// Serial, hex.
        serial: String,
        /// Current status.
        from: String,
        /// The change asked for.
        to: String,
    },
}

/// Every certificate the service vouches for.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    records: Vec<Record>,
}

fn kind_name(kind: CertKind) -> &'static str {
    match kind {
        CertKind::Signature => "signature",
        CertKind::Authentication => "authentication",
    }
}

impl Registry {
    /// Adds a certificate (a re-registered serial replaces the old record).
    pub fn add(&mut self, record: Record) {
        self.records
            .retain(|r| !(r.kind == record.kind && r.serial == record.serial));
        self.records.push(record);
    }

    /// Every record, in the order added.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The record of a serial.
    pub fn find(&self, kind: CertKind, serial: &[u8]) -> Option<&Record> {
        self.records
            .iter()
            .find(|r| r.kind == kind && r.serial == serial)
    }

    fn find_mut(&mut self, kind: CertKind, serial: &[u8]) -> Result<&mut Record, TransitionError> {
        self.records
            .iter_mut()
            .find(|r| r.kind == kind && r.serial == serial)
            .ok_or_else(|| TransitionError::Unknown {
                kind: kind_name(kind),
                serial: crate::hex::compact(serial),
            })
    }

    /// good → hold.
    ///
    /// # Errors
    /// Unknown serial; not good.
    pub fn hold(
        &mut self,
        kind: CertKind,
        serial: &[u8],
        at: Timestamp,
    ) -> Result<(), TransitionError> {
        let r = self.find_mut(kind, serial)?;
        match r.status {
            Status::Good => {
                r.status = Status::Hold { since: at };
                Ok(())
            }
            other => Err(not_allowed(r, other, "put on hold")),
        }
    }

    /// hold → good, for a releasable certificate only.
    ///
    /// # Errors
    /// Unknown serial; not on hold; not releasable.
    pub fn release(&mut self, kind: CertKind, serial: &[u8]) -> Result<(), TransitionError> {
        let r = self.find_mut(kind, serial)?;
        match r.status {
            Status::Hold { .. } if r.releasable => {
                r.status = Status::Good;
                Ok(())
            }
            other => Err(not_allowed(
                r,
                other,
                "released from hold (only the smartphone user-authentication certificate is)",
            )),
        }
    }

    /// good → revoked(reason); hold → revoked(certificateHold) only.
    ///
    /// # Errors
    /// Unknown serial; already revoked; a held certificate revoked for another reason.
    pub fn revoke(
        &mut self,
        kind: CertKind,
        serial: &[u8],
        reason: CrlReason,
        at: Timestamp,
    ) -> Result<(), TransitionError> {
        let r = self.find_mut(kind, serial)?;
        match (r.status, reason) {
            (Status::Good, CrlReason::CertificateHold) => {
                r.status = Status::Hold { since: at };
                Ok(())
            }
            (Status::Good, _) => {
                r.status = Status::Revoked { at, reason };
                Ok(())
            }
            (Status::Hold { since }, CrlReason::CertificateHold) => {
                r.status = Status::Revoked {
                    at: since,
                    reason: CrlReason::CertificateHold,
                };
                Ok(())
            }
            (other, _) => Err(not_allowed(
                r,
                other,
                &format!("revoked ({})", reason_name(reason)),
            )),
        }
    }
}

fn not_allowed(r: &Record, from: Status, to: &str) -> TransitionError {
    TransitionError::NotAllowed {
        serial: crate::hex::compact(&r.serial),
        from: from.to_string(),
        to: to.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn registry(releasable: bool) -> Registry {
        let mut r = Registry::default();
        r.add(Record {
            kind: CertKind::Authentication,
            serial: vec![1, 2, 3, 4],
            prefecture: "Tokyo-to".into(),
            municipality: "Chiyoda-ku".into(),
            issued: t(0),
            releasable,
            status: Status::Good,
        });
        r
    }

    const A: CertKind = CertKind::Authentication;
    const S: &[u8] = &[1, 2, 3, 4];

    #[test]
    fn a_hold_becomes_a_revocation_for_certificate_hold_and_nothing_else() {
        let mut r = registry(false);
        r.hold(A, S, t(10)).unwrap();
        assert_eq!(r.find(A, S).unwrap().status.to_string(), "hold");
        assert!(r.release(A, S).is_err(), "a card's hold is never lifted");
        assert_eq!(
            r.revoke(A, S, CrlReason::KeyCompromise, t(20))
                .unwrap_err()
                .to_string(),
            "certificate 01020304 is hold: it cannot be revoked (keyCompromise)"
        );
        r.revoke(A, S, CrlReason::CertificateHold, t(20)).unwrap();
        assert_eq!(
            r.find(A, S).unwrap().status,
            Status::Revoked {
                at: t(10),
                reason: CrlReason::CertificateHold
            }
        );
        assert!(r.hold(A, S, t(30)).is_err());
        assert!(r.revoke(A, S, CrlReason::CertificateHold, t(30)).is_err());
    }

    #[test]
    fn only_a_releasable_hold_goes_back_to_good() {
        let mut r = registry(true);
        r.hold(A, S, t(10)).unwrap();
        r.release(A, S).unwrap();
        assert_eq!(r.find(A, S).unwrap().status, Status::Good);
        assert!(r.release(A, S).is_err(), "not on hold");
    }

    #[test]
    fn good_is_revoked_for_any_reason_once() {
        let mut r = registry(false);
        r.revoke(A, S, CrlReason::AffiliationChanged, t(5)).unwrap();
        assert_eq!(
            r.find(A, S).unwrap().status.to_string(),
            "revoked: affiliationChanged"
        );
        assert!(r.revoke(A, S, CrlReason::Superseded, t(6)).is_err());
        assert!(matches!(
            r.hold(CertKind::Signature, S, t(1)),
            Err(TransitionError::Unknown { .. })
        ));
    }

    #[test]
    fn a_status_as_of_a_time_before_the_change_is_good() {
        let s = Status::Revoked {
            at: t(10),
            reason: CrlReason::Superseded,
        };
        assert_eq!(s.as_of(t(9)), Status::Good);
        assert_eq!(s.as_of(t(10)), s);
    }

    #[test]
    fn reasons_are_named_both_ways() {
        assert_eq!(
            parse_reason("affiliation-changed"),
            Some(CrlReason::AffiliationChanged)
        );
        assert_eq!(
            parse_reason("certificateHold"),
            Some(CrlReason::CertificateHold)
        );
        assert_eq!(parse_reason("lost"), None);
    }
}
