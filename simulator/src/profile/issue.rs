//! Issuing a card from a [`Personalisation`]: draw the card's test keys, issue its
//! certificates from the test CAs, and lay out every application's files.

use rand_core::{Rng, SeedableRng};
use x509_cert::certificate::Certificate;

use super::era;
use super::personalisation::{CertificatePlan, Personalisation};
use crate::apps::{self, AppId};
use crate::card::{Card, CardConfig};
use crate::pki::jpki::{self, CertKind, EeRequest, HolderFacts};
use crate::pki::keys::{self, CardKey};
use crate::pki::x509;

/// Why a card could not be issued: a damaged key pool, or a value that does not fit its
/// certificate field. Profiles that pass [`Profile::personalise`](super::Profile) do not
/// normally hit this.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IssueError {
    /// The committed key pool could not be read.
    #[error(transparent)]
    KeyPool(#[from] keys::KeyPoolError),
    /// A certificate could not be built.
    #[error("cannot issue the {kind} certificate: {reason}")]
    Certificate {
        /// Which certificate.
        kind: &'static str,
        /// Why.
        reason: String,
    },
}

/// A certificate on the card, with what `card show` prints.
#[derive(Debug, Clone)]
pub struct IssuedCertificate {
    /// Which one.
    pub kind: CertKind,
    /// DER bytes (the EF content).
    pub der: Vec<u8>,
    /// Parsed.
    pub certificate: Certificate,
    /// Dates and status.
    pub plan: CertificatePlan,
}

impl IssuedCertificate {
    /// Subject, RFC 4514.
    pub fn subject(&self) -> String {
        self.certificate.tbs_certificate().subject().to_string()
    }

    /// Issuer, RFC 4514.
    pub fn issuer(&self) -> String {
        self.certificate.tbs_certificate().issuer().to_string()
    }

    /// Serial number as hex.
    pub fn serial(&self) -> String {
        crate::hex::compact(
            self.certificate
                .tbs_certificate()
                .serial_number()
                .as_bytes(),
        )
    }

    /// SHA-256 fingerprint.
    pub fn fingerprint(&self) -> String {
        x509::fingerprint(&self.der)
    }

    /// PEM text.
    pub fn pem(&self) -> String {
        x509::pem(&self.der)
    }
}

/// A freshly issued card and the facts about it.
#[derive(Debug, Clone)]
pub struct IssuedCard {
    /// The card, unpowered. Clone it for a fresh copy in the issued state.
    pub card: Card,
    /// What it was issued from.
    pub personalisation: Personalisation,
    /// The authentication certificate.
    pub auth_certificate: Option<IssuedCertificate>,
    /// The signature certificate.
    pub sign_certificate: Option<IssuedCertificate>,
    /// The authentication CA certificate (EF 000B).
    pub auth_ca: Vec<u8>,
    /// The signature CA certificate (EF 0002).
    pub sign_ca: Vec<u8>,
}

/// Deterministic identifiers derived from the seed.
struct Identifiers {
    auth_serial: [u8; 3],
    sign_serial: [u8; 3],
    tag: u32,
}

impl Identifiers {
    fn new(seed: u64) -> Self {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed ^ 0x6365_7274);
        // A 3-byte serial with a non-zero top byte and the sign bit clear, like J-LIS's.
        let mut serial = || {
            let v = (rng.next_u32() & 0x007F_FFFF) | 0x0010_0000;
            let [_, a, b, c] = v.to_be_bytes();
            [a, b, c]
        };
        let auth_serial = serial();
        let sign_serial = serial();
        let tag = rng.next_u32();
        Self {
            auth_serial,
            sign_serial,
            tag,
        }
    }
}

impl Personalisation {
    /// Issues the card: keys from the test pool, certificates from the test CAs, files.
    pub fn issue(&self) -> Result<IssuedCard, IssueError> {
        let ids = Identifiers::new(self.seed);
        let auth_ca =
            jpki::ca(CertKind::Authentication).map_err(|e| cert_error("authentication CA", e))?;
        let sign_ca = jpki::ca(CertKind::Signature).map_err(|e| cert_error("signature CA", e))?;
        let auth_key = keys::card_key(self.seed, CardKey::JpkiAuthentication)?;
        let sign_key = keys::card_key(self.seed, CardKey::JpkiSignature)?;
        let code = &self.municipality_code;

        let request = |plan: &CertificatePlan,
                       serial: [u8; 3],
                       key: &rsa::PrivateKey,
                       cn: String,
                       ocsp_path: &str| EeRequest {
            serial,
            not_before: plan.not_before,
            not_after: plan.not_after,
            subject_key: key.to_public_key(),
            common_name: cn,
            prefecture: self.prefecture.clone(),
            municipality: self.city.clone(),
            ocsp_url: plan
                .ocsp
                .then(|| format!("{}{ocsp_path}", self.base_url_slash())),
            cps_url: format!("{}cps.html", self.base_url_slash()),
        };

        let auth_certificate = match &self.auth_certificate {
            Some(plan) => {
                let cn = format!("MYNASIMTEST{:03X}{code}003A", ids.tag & 0xFFF);
                let der = jpki::issue_authentication(&request(
                    plan,
                    ids.auth_serial,
                    &auth_key,
                    cn,
                    "ocsp/auth",
                ))
                .map_err(|e| cert_error("authentication", e))?;
                Some(issued(CertKind::Authentication, der, plan.clone())?)
            }
            None => None,
        };
        let sign_certificate = match &self.sign_certificate {
            Some(plan) => {
                let cn = format!(
                    "{}1000TEST{:04X}{code}003A",
                    era::yyyymmdd(plan.not_before),
                    (ids.tag >> 16) & 0xFFFF
                );
                let holder = HolderFacts {
                    name: self.name.clone(),
                    name_substitute: self.name_substitute.clone(),
                    sex: self.sex.digit(),
                    birth_date: era::era_digit_yyyymmdd(self.birth_date),
                    address: self.address.clone(),
                    address_substitute: self.address_substitute.clone(),
                };
                let der = jpki::issue_signature(
                    &request(plan, ids.sign_serial, &sign_key, cn, "ocsp/sign"),
                    &holder,
                )
                .map_err(|e| cert_error("signature", e))?;
                Some(issued(CertKind::Signature, der, plan.clone())?)
            }
            None => None,
        };

        let jpki_df = apps::jpki::build(apps::jpki::Content {
            token: self.token,
            auth: auth_certificate.as_ref().map(|c| apps::jpki::Credential {
                certificate: &c.der,
                key: auth_key.clone(),
                secret: apps::jpki::auth_pin(&self.auth_pin.value, self.auth_pin.counter),
            }),
            sign: sign_certificate.as_ref().map(|c| apps::jpki::Credential {
                certificate: &c.der,
                key: sign_key.clone(),
                secret: apps::jpki::sign_pin(&self.sign_pin.value, self.sign_pin.counter),
            }),
            auth_ca: &auth_ca.der,
            sign_ca: &sign_ca.der,
        });
        let isd = apps::isd::build(self.mf_data_objects());
        let mut dfs = vec![isd, jpki_df];
        dfs.sort_by_key(|df| AppId::ALL.iter().position(|a| *a == df.app));
        let card = Card::new(
            dfs,
            CardConfig {
                atr: self.atr,
                quirks: self.quirks,
                seed: self.seed,
            },
        );
        Ok(IssuedCard {
            card,
            personalisation: self.clone(),
            auth_certificate,
            sign_certificate,
            auth_ca: auth_ca.der.clone(),
            sign_ca: sign_ca.der.clone(),
        })
    }

    fn base_url_slash(&self) -> String {
        if self.base_url.ends_with('/') {
            self.base_url.clone()
        } else {
            format!("{}/", self.base_url)
        }
    }

    /// The MF-level GET DATA objects that follow from the profile (reference §1.7): the
    /// municipality code `00F0`, the expiry date `00F2` and the contact ATR without TS
    /// `5F51`.
    fn mf_data_objects(&self) -> Vec<(u16, Vec<u8>)> {
        let contact_atr = crate::card::AtrPreset::Contact.bytes();
        vec![
            (0x00F0, self.municipality_code.as_bytes().to_vec()),
            (0x00F2, era::yyyymmdd(self.card_expires).into_bytes()),
            (0x5F51, contact_atr.get(1..).unwrap_or_default().to_vec()),
        ]
    }
}

fn issued(
    kind: CertKind,
    der: Vec<u8>,
    plan: CertificatePlan,
) -> Result<IssuedCertificate, IssueError> {
    let certificate = jpki::parse(&der).map_err(|e| cert_error("issued", e))?;
    Ok(IssuedCertificate {
        kind,
        der,
        certificate,
        plan,
    })
}

fn cert_error(kind: &'static str, e: impl std::fmt::Display) -> IssueError {
    IssueError::Certificate {
        kind,
        reason: e.to_string(),
    }
}
