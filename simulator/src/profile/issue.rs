//! Issuing a card from a [`Personalisation`]: draw the card's test keys, issue its
//! certificates from the test CAs, and lay out every application's files.

use rand_core::{Rng, SeedableRng};
use x509_cert::certificate::Certificate;

use super::era;
use super::personalisation::{CertificatePlan, Personalisation};
use crate::apps::{self, AppId};
use crate::card::{Card, CardConfig};
use crate::pki::cv::{self, KeyId};
use crate::pki::jpki::{self, CertKind, EeRequest, HolderFacts};
use crate::pki::keys::{self, CaKey, CardKey};
use crate::pki::x509;
use crate::security::{Pin, PinFormat};

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
    auth_serial: [u8; 4],
    sign_serial: [u8; 4],
    tag: u32,
}

impl Identifiers {
    fn new(seed: u64) -> Self {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed ^ 0x6365_7274);
        // A 4-byte serial with a non-zero top byte and the sign bit clear, like the real
        // cards' (`01 2D 57 CA` in 2019, `07 05 D9 90` in 2024): positive, so DER needs no
        // leading zero byte, and always 4 bytes.
        let mut serial = || ((rng.next_u32() & 0x7FFF_FFFF) | 0x0100_0000).to_be_bytes();
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
        let auth_certificate = match &self.auth_certificate {
            Some(plan) => Some(self.jpki_certificate(
                CertKind::Authentication,
                plan,
                ids.auth_serial,
                &auth_key,
                ids.tag,
            )?),
            None => None,
        };
        let sign_certificate = match &self.sign_certificate {
            Some(plan) => Some(self.jpki_certificate(
                CertKind::Signature,
                plan,
                ids.sign_serial,
                &sign_key,
                ids.tag,
            )?),
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
        let text_df = self.input_support_df()?;
        let face_df = self.card_face_df()?;
        let common_df = apps::common::build_common(
            &self.serial,
            code,
            self.card_expires,
            keys::card_key(self.seed, CardKey::CommonAuthentication)?,
            four_digit_pin(&self.common_pin),
        );
        let juki_df =
            apps::common::build_resident_registry(code, four_digit_pin(&self.resident_pin));
        let mut isd = apps::isd::build(self.mf_data_objects()?);
        let mut dfs = vec![jpki_df, text_df, face_df, common_df, juki_df];
        // Some cards answer GET DATA 5F51 only with an application selected (reference §1.7).
        if self.quirks.atr_data_object_in_applications {
            let atr = contact_atr_object();
            isd.data_objects.retain(|(tag, _)| *tag != 0x5F51);
            for df in &mut dfs {
                df.data_objects.push(atr.clone());
            }
        }
        dfs.push(isd);
        dfs.sort_by_key(|df| AppId::ALL.iter().position(|a| *a == df.app));
        let mut card = Card::new(
            dfs,
            CardConfig {
                atr: self.atr,
                reader: self.reader,
                quirks: self.quirks,
                seed: self.seed,
                serial: self.serial.clone(),
            },
        );
        card.set_faults(self.faults.clone());
        card.set_timing(self.timing);
        Ok(IssuedCard {
            card,
            personalisation: self.clone(),
            auth_certificate,
            sign_certificate,
            auth_ca: auth_ca.der.clone(),
            sign_ca: sign_ca.der.clone(),
        })
    }

    /// One JPKI certificate of this holder: `tag` makes the opaque CN.
    fn jpki_certificate(
        &self,
        kind: CertKind,
        plan: &CertificatePlan,
        serial: [u8; 4],
        key: &rsa::PrivateKey,
        tag: u32,
    ) -> Result<IssuedCertificate, IssueError> {
        let code = &self.municipality_code;
        let request = |cn: String, ocsp_path: &str| EeRequest {
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
            cps_url: format!("{}cps", self.base_url_slash()),
            production_policies: self.policies == super::model::Policies::Production,
            crl_uri: self.crl_uri.then(|| {
                format!(
                    "{}crl/{}/{}/{}.crl",
                    self.base_url_slash(),
                    match kind {
                        CertKind::Authentication => "auth",
                        CertKind::Signature => "sign",
                    },
                    self.prefecture,
                    self.city
                )
            }),
        };
        let der = match kind {
            CertKind::Authentication => {
                // Opaque, 20 characters like a real card's (`8439XXXXXXXXXXXXXXXX`).
                let cn = format!("TEST{:07X}{code}003A", tag & 0xFFF_FFFF);
                jpki::issue_authentication(&request(cn, "ocsp/auth"))
                    .map_err(|e| cert_error("authentication", e))?
            }
            CertKind::Signature => {
                let cn = format!(
                    "{}1000TEST{:04X}{code}003A",
                    era::yyyymmdd(plan.not_before),
                    (tag >> 16) & 0xFFFF
                );
                let holder = HolderFacts {
                    name: self.name.clone(),
                    name_substitute: self.name_substitute.clone(),
                    sex: self.sex.digit(),
                    birth_date: era::era_digit_yyyymmdd(self.birth_date),
                    address: self.address.clone(),
                    address_substitute: self.address_substitute.clone(),
                };
                jpki::issue_signature(&request(cn, "ocsp/sign"), &holder)
                    .map_err(|e| cert_error("signature", e))?
            }
        };
        issued(kind, der, plan.clone())
    }

    /// A new certificate and key pair for a card whose certificate was revoked and replaced
    /// (a found card, a renewal; issue 11): generation `generation` (1, 2, …) of the card's
    /// JPKI key of this kind — a different pool key from the one before — and a new serial,
    /// valid from `today` to the 5th birthday after it (capped by the card's expiry).
    ///
    /// # Errors
    /// A damaged key pool, or a certificate that cannot be built.
    pub fn reissue(
        &self,
        kind: CertKind,
        generation: u32,
        today: jiff::civil::Date,
    ) -> Result<(IssuedCertificate, std::sync::Arc<rsa::PrivateKey>), IssueError> {
        let which = match kind {
            CertKind::Authentication => CardKey::JpkiAuthentication,
            CertKind::Signature => CardKey::JpkiSignature,
        };
        let before = keys::card_key(self.seed, which)?;
        let mut key = before.clone();
        let mut salt = u64::from(generation);
        // A seed whose draw differs from the card's current key (1 in 24 draws coincide).
        for _ in 0..64 {
            let seed = self.seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            key = keys::card_key(seed, which)?;
            if key.to_public_key() != before.to_public_key() {
                break;
            }
            salt = salt.wrapping_add(0x1_0000);
        }
        let ids =
            Identifiers::new(self.seed ^ u64::from(generation).wrapping_mul(0xA076_1D64_78BD_642F));
        let plan = CertificatePlan {
            not_before: today,
            not_after: super::validity::certificate_expiry(
                self.birth_date,
                today,
                self.card_expires,
            ),
            status: super::model::CertificateStatus::Valid,
            ocsp: match kind {
                CertKind::Authentication => self.auth_certificate.as_ref(),
                CertKind::Signature => self.sign_certificate.as_ref(),
            }
            .is_some_and(|p| p.ocsp),
        };
        let serial = match kind {
            CertKind::Authentication => ids.auth_serial,
            CertKind::Signature => ids.sign_serial,
        };
        let cert = self.jpki_certificate(kind, &plan, serial, &key, ids.tag)?;
        Ok((cert, key))
    }

    fn base_url_slash(&self) -> String {
        if self.base_url.ends_with('/') {
            self.base_url.clone()
        } else {
            format!("{}/", self.base_url)
        }
    }

    /// The input-support application.
    fn input_support_df(&self) -> Result<crate::card::Df, IssueError> {
        let digits = self.my_number.as_bytes();
        let code_b = apps::text::verification_code_b(
            self.birth_date,
            self.card_expires,
            &self.security_code,
        );
        let (a_counter, b_counter) = self.text_codes;
        Ok(apps::text::build(apps::text::Content {
            my_number: digits,
            name: &self.name,
            address: &self.address,
            birth_date: self.birth_date,
            sex: self.sex.digit(),
            expires: self.card_expires,
            security_code: &self.security_code,
            municipality_code: &self.municipality_code,
            pin: four_digit_pin(&self.text_pin),
            code_a: Pin::new(digits.to_vec(), a_counter, PinFormat::Digits(12)),
            code_b: Pin::new(code_b.into_bytes(), b_counter, PinFormat::Digits(14)),
            signing_key: keys::card_key(self.seed, CardKey::InputSupportSigning)?,
            session_key: keys::card_key(self.seed, CardKey::InputSupportSession)?.to_public_key(),
            records_key: keys::card_key(self.seed, CardKey::InputSupportRecords)?,
            issuer_key: keys::ca_key(CaKey::CvTextIssuer)?,
            basic_info_trailer: seeded_bytes(self.seed, 0x7478_7464),
            layout: self.layout,
            damage: &self.damage,
        }))
    }

    /// The card-face application.
    fn card_face_df(&self) -> Result<crate::card::Df, IssueError> {
        let digits = self.my_number.as_bytes();
        let code_b = apps::text::verification_code_b(
            self.birth_date,
            self.card_expires,
            &self.security_code,
        );
        let (a_counter, b_counter, birth_counter) = self.face_codes;
        let photo = self.photo.as_deref().unwrap_or(BUILT_IN_PHOTO);
        Ok(apps::face::build(apps::face::Content {
            birth_date: self.birth_date,
            sex: self.sex.digit(),
            name: &self.name,
            address: &self.address,
            photo,
            expires: self.card_expires,
            security_code: &self.security_code,
            my_number: digits,
            municipality_code: &self.municipality_code,
            birth_date_key: Pin::new(
                era::era_yymmdd(self.birth_date).into_bytes(),
                birth_counter,
                PinFormat::Digits(6),
            ),
            code_b: Pin::new(code_b.into_bytes(), b_counter, PinFormat::Digits(14)),
            code_a: Pin::new(digits.to_vec(), a_counter, PinFormat::Digits(12)),
            signing_key: keys::card_key(self.seed, CardKey::CardFaceSigning)?,
            records_key: keys::card_key(self.seed, CardKey::CardFaceRecords)?,
            issuer_key: keys::ca_key(CaKey::CvFaceIssuer)?,
            basic_info_opaque: seeded_bytes(self.seed, 0x6661_6365),
        }))
    }

    /// The MF-level GET DATA objects (reference §1.7): `0042` issuer identification, `0045`
    /// card identification number, `0066` card recognition data, `00F0` municipality code,
    /// `00F2` expiry, `00F7` the intermediate's key ID, `00F8` and `7F21` the CV chain
    /// (575 bytes each: an extended Le is needed), `5F51` the contact ATR without TS.
    fn mf_data_objects(&self) -> Result<Vec<(u16, Vec<u8>)>, IssueError> {
        let root_id = KeyId::new(cv::MF_ROOT, "001", 0);
        let intermediate_id = KeyId::new(&format!("{}30", self.municipality_code), "002", 0);
        let leaf_id = KeyId::new("0000050", "001", 0);
        let root = keys::ca_key(CaKey::MfRoot)?;
        let intermediate = keys::ca_key(CaKey::MfIntermediate)?;
        let leaf = keys::ca_key(CaKey::MfLeaf)?;
        let mut objects = vec![
            (0x0042, root_id.0.to_vec()),
            (0x0045, self.serial.as_bytes().to_vec()),
            (0x0066, card_recognition_data()),
            (0x00F0, self.municipality_code.as_bytes().to_vec()),
            (0x00F2, era::yyyymmdd(self.card_expires).into_bytes()),
            (0x00F7, intermediate_id.0.to_vec()),
            (
                0x00F8,
                cv::data_object(
                    root_id,
                    &root,
                    intermediate_id,
                    &intermediate.to_public_key(),
                ),
            ),
        ];
        if !self.quirks.no_7f21_data_object {
            objects.push((
                0x7F21,
                cv::data_object(
                    intermediate_id,
                    &intermediate,
                    leaf_id,
                    &leaf.to_public_key(),
                ),
            ));
        }
        objects.push(contact_atr_object());
        Ok(objects)
    }
}

/// The built-in face photo: a 378×472 greyscale JPEG 2000 silhouette marked TEST
/// (`ci/gen-photo`).
pub const BUILT_IN_PHOTO: &[u8] = include_bytes!("../../assets/face-photo-test.jp2");

/// GET DATA `0066`: GlobalPlatform card recognition data (GP Card Specification 2.2 §H.2).
/// The card's own bytes are not published (reference §1.7 says only that it is CRD under
/// 1.2.840.114283); this is a minimal GP 2.2.1 CRD — the recognition OID, the card
/// management type and version, the card identification scheme and SCP02 — built with the
/// TLV encoder so every length is right. A guess at the content, not at the shape.
fn card_recognition_data() -> Vec<u8> {
    use crate::apdu::tlv::{Tag, encode};
    const GP: [u8; 6] = [0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B];
    let oid = |tail: &[u8]| encode(Tag(0x06), &[&GP[..], tail].concat());
    let inner = [
        oid(&[0x01]),
        encode(Tag(0x60), &oid(&[0x02, 0x02, 0x02, 0x01])),
        encode(Tag(0x63), &oid(&[0x03])),
        encode(Tag(0x64), &oid(&[0x04, 0x02, 0x55])),
    ]
    .concat();
    encode(Tag(0x66), &encode(Tag(0x73), &inner))
}

/// GET DATA `5F51`: the contact ATR without TS.
fn contact_atr_object() -> (u16, Vec<u8>) {
    let atr = crate::card::AtrPreset::Contact.bytes();
    (0x5F51, atr.get(1..).unwrap_or_default().to_vec())
}

fn four_digit_pin(plan: &super::SecretPlan) -> Pin {
    Pin::new(plan.value.as_bytes(), plan.counter, PinFormat::Digits(4))
}

/// `N` bytes derived from the seed and a salt.
fn seeded_bytes<const N: usize>(seed: u64, salt: u64) -> [u8; N] {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed ^ salt);
    let mut out = [0u8; N];
    rng.fill_bytes(&mut out);
    out
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
