//! Validation steps (issue 11; docs/validation.md): the scenario's own validation service —
//! created from the scenario's card at the first such step — changed by `lose_card`,
//! `find_card`, `move_house`, `renew`, `revoke`, `advance` and `validation_fault`, and asked by
//! `validate` the way a relying party asks (the OCSP request and CRL go through the same
//! encoders and checks as over HTTP).

use std::sync::Arc;

use der::Decode;
use mynasim_simulator::pki::jpki::{self, CertKind};
use mynasim_simulator::pki::ocsp::{self, CertIdHash};
use mynasim_simulator::profile::IssuedCard;
use mynasim_simulator::validation::client::{self, Verdict};
use mynasim_simulator::validation::{Service, Status, record_of};
use x509_cert::certificate::Certificate;
use x509_cert::ext::pkix::crl::CrlReason;

use crate::scenario::model::Via;
use crate::scenario::plan::{Captures, ValidationOp};
use crate::target::{Link, TargetError};

/// The validation service of one scenario run, and which certificates the card holds now.
#[derive(Debug)]
pub(super) struct State {
    service: Service,
    card: Arc<IssuedCard>,
    /// The serials on the card now: authentication, signature.
    current: [Option<Vec<u8>>; 2],
    /// Re-issues so far (each draws new keys).
    generation: u32,
    /// Validate steps so far (each OCSP request gets its own nonce).
    asked: u32,
}

fn index(kind: CertKind) -> usize {
    match kind {
        CertKind::Authentication => 0,
        CertKind::Signature => 1,
    }
}

impl State {
    pub(super) fn new(card: Arc<IssuedCard>) -> Self {
        let service = Service::for_card(&card);
        let serial = |c: &Option<mynasim_simulator::profile::IssuedCertificate>| {
            c.as_ref().map(|c| {
                c.certificate
                    .tbs_certificate()
                    .serial_number()
                    .as_bytes()
                    .to_vec()
            })
        };
        let current = [
            serial(&card.auth_certificate),
            serial(&card.sign_certificate),
        ];
        Self {
            service,
            card,
            current,
            generation: 0,
            asked: 0,
        }
    }

    fn serial(&self, kind: CertKind) -> Result<Vec<u8>, TargetError> {
        self.current
            .get(index(kind))
            .cloned()
            .flatten()
            .ok_or_else(|| {
                TargetError::Protocol(format!(
                    "the card has no {} certificate",
                    match kind {
                        CertKind::Authentication => "authentication",
                        CertKind::Signature => "signature",
                    }
                ))
            })
    }

    fn kinds(&self) -> Vec<CertKind> {
        [CertKind::Authentication, CertKind::Signature]
            .into_iter()
            .filter(|k| self.current.get(index(*k)).is_some_and(Option::is_some))
            .collect()
    }

    fn transition(
        &mut self,
        result: Result<(), mynasim_simulator::validation::TransitionError>,
    ) -> Result<(), TargetError> {
        result.map_err(|e| TargetError::Protocol(format!("the validation service refuses: {e}")))
    }

    /// A new key pair and certificate into the card, registered as good from now.
    fn reissue(&mut self, kind: CertKind, link: &mut dyn Link) -> Result<(), TargetError> {
        self.generation += 1;
        let p = &self.card.personalisation;
        let (cert, key) = p
            .reissue(kind, self.generation, self.service.clock.today())
            .map_err(|e| TargetError::Protocol(format!("cannot re-issue: {e}")))?;
        let der = cert.der.clone();
        let mut installed = false;
        link.with_card(&mut |card| {
            if let Some(df) = card.df_mut(mynasim_simulator::apps::AppId::Jpki) {
                installed = mynasim_simulator::apps::jpki::install(
                    df,
                    kind == CertKind::Signature,
                    der.clone(),
                    key.clone(),
                );
            }
        })?;
        if !installed {
            return Err(TargetError::Protocol(
                "the card's JPKI application has no such certificate to replace".to_owned(),
            ));
        }
        let record = record_of(&cert, &p.prefecture, &p.city, false, Status::Good);
        if let Some(slot) = self.current.get_mut(index(kind)) {
            *slot = Some(record.serial.clone());
        }
        self.service.registry.add(record);
        Ok(())
    }

    /// Runs one step; the step's data (a verdict for `validate`, else a one-line account of
    /// what changed) and a comment for the transcript.
    pub(super) fn run(
        &mut self,
        op: &ValidationOp,
        link: &mut dyn Link,
        captures: &Captures,
    ) -> Result<(Vec<u8>, String), TargetError> {
        let now = self.service.clock.now();
        let said = match op {
            ValidationOp::Validate { capture, via } => {
                let der = captures.get(capture).map(Vec::as_slice).unwrap_or_default();
                let verdict = self.validate(der, *via);
                let how = match via {
                    Via::Ocsp => "OCSP",
                    Via::Crl => "the CRL",
                    Via::RelyingParty => "a relying party's checks",
                };
                return Ok((
                    verdict.to_string().into_bytes(),
                    format!("validation: {capture} by {how} → {verdict}"),
                ));
            }
            ValidationOp::LoseCard => {
                for kind in self.kinds() {
                    let serial = self.serial(kind)?;
                    let r = self.service.registry.hold(kind, &serial, now);
                    self.transition(r)?;
                }
                "the card is reported lost: its certificates are on hold".to_owned()
            }
            ValidationOp::FindCard => {
                for kind in self.kinds() {
                    let serial = self.serial(kind)?;
                    let r = self.service.registry.revoke(
                        kind,
                        &serial,
                        CrlReason::CertificateHold,
                        now,
                    );
                    self.transition(r)?;
                    self.reissue(kind, link)?;
                }
                "the card is found: the held certificates are revoked, new ones are on the card"
                    .to_owned()
            }
            ValidationOp::MoveHouse => {
                let serial = self.serial(CertKind::Signature)?;
                let r = self.service.registry.revoke(
                    CertKind::Signature,
                    &serial,
                    CrlReason::AffiliationChanged,
                    now,
                );
                self.transition(r)?;
                "the holder moved: the signature certificate is revoked (affiliationChanged)"
                    .to_owned()
            }
            ValidationOp::Renew(kind) => {
                let serial = self.serial(*kind)?;
                let r = self
                    .service
                    .registry
                    .revoke(*kind, &serial, CrlReason::Superseded, now);
                self.transition(r)?;
                self.reissue(*kind, link)?;
                "renewed: the old certificate is superseded, a new one is on the card".to_owned()
            }
            ValidationOp::Revoke { kind, reason } => {
                let serial = self.serial(*kind)?;
                let r = self.service.registry.revoke(*kind, &serial, *reason, now);
                self.transition(r)?;
                format!(
                    "revoked ({})",
                    mynasim_simulator::validation::reason_name(*reason)
                )
            }
            ValidationOp::Advance(by) => {
                self.service.clock.advance(*by);
                format!(
                    "the validation service's clock is now {}",
                    self.service.clock.now()
                )
            }
            ValidationOp::Fault(faults) => {
                self.service.faults = *faults;
                format!(
                    "faults: try_later {}, stale_crl {}, down {}, http_503 {}",
                    faults.try_later, faults.stale_crl, faults.down, faults.http_503
                )
            }
        };
        Ok((Vec::new(), format!("validation: {said}")))
    }

    /// What a relying party concludes about the certificate `der`.
    fn validate(&mut self, der: &[u8], via: Via) -> Verdict {
        let Ok(cert) = Certificate::from_der(der) else {
            return Verdict::Invalid("the capture is not an X.509 certificate".to_owned());
        };
        let Some(issuer) = issuer_of(&cert) else {
            return Verdict::Invalid("not issued by a test CA".to_owned());
        };
        let now = self.service.clock.now();
        match via {
            Via::Ocsp => self.ocsp(&cert, &issuer),
            Via::Crl => self.crl(&cert, &issuer, now),
            Via::RelyingParty => {
                let status = self.ocsp(&cert, &issuer);
                client::verdict(&cert, &issuer, now, status)
            }
        }
    }

    fn unreachable(&self) -> Option<Verdict> {
        let f = self.service.faults;
        if f.down {
            Some(Verdict::Unavailable(
                "the validation service does not answer".to_owned(),
            ))
        } else if f.http_503 {
            Some(Verdict::Unavailable(
                "the validation service answers HTTP 503".to_owned(),
            ))
        } else {
            None
        }
    }

    fn ocsp(&mut self, cert: &Certificate, issuer: &Certificate) -> Verdict {
        if let Some(v) = self.unreachable() {
            return v;
        }
        self.asked += 1;
        let nonce = self.asked.to_be_bytes();
        let request = ocsp::cert_id(cert, issuer, CertIdHash::Sha1)
            .and_then(|id| ocsp::request(id, Some(&nonce)));
        match request {
            Ok(request) => {
                client::read_ocsp(&self.service.ocsp(&request), cert, issuer, Some(&nonce))
            }
            Err(e) => Verdict::Invalid(format!("cannot build the OCSP request: {e}")),
        }
    }

    fn crl(&self, cert: &Certificate, issuer: &Certificate, now: jiff::Timestamp) -> Verdict {
        if let Some(v) = self.unreachable() {
            return v;
        }
        let kind = if issuer_is(issuer, CertKind::Signature) {
            CertKind::Signature
        } else {
            CertKind::Authentication
        };
        let p = &self.card.personalisation;
        // The partition the certificate names: the card's municipality.
        match self.service.crl(kind, &p.prefecture, &p.city) {
            Ok(crl) => client::read_crl(&crl, cert, issuer, now),
            Err(e) => Verdict::Unavailable(format!("cannot make the CRL: {e}")),
        }
    }
}

fn issuer_is(issuer: &Certificate, kind: CertKind) -> bool {
    jpki::ca(kind).is_ok_and(|ca| &ca.certificate == issuer)
}

/// The test CA whose key signed `cert`.
fn issuer_of(cert: &Certificate) -> Option<Certificate> {
    [CertKind::Authentication, CertKind::Signature]
        .into_iter()
        .filter_map(|k| jpki::ca(k).ok())
        .find(|ca| {
            mynasim_simulator::pki::x509::verify_signature(
                cert,
                ca.certificate.tbs_certificate().subject_public_key_info(),
            )
            .is_ok()
        })
        .map(|ca| ca.certificate.clone())
}
