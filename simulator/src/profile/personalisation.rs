//! The validated profile: every rule of the J-LIS FAQ applied, every default filled in.

use jiff::civil::Date;

use super::ProfileError;
use super::model::{Certificate, CertificateStatus, Profile, Secret, Sex, Token};
use super::my_number::MyNumber;
use super::validity::{self, CardValidity};
use crate::card::{AtrPreset, Quirks};
use crate::security::{PinFormat, RetryCounter};

/// Tries of the user-authentication PIN (EF 0018; OpenSC `JPKI_AUTH_PIN_MAX_TRIES`).
pub const AUTH_PIN_TRIES: u8 = 3;
/// Tries of the signature password (EF 001B; OpenSC `JPKI_SIGN_PIN_MAX_TRIES`).
pub const SIGN_PIN_TRIES: u8 = 5;

/// A certificate the card will hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificatePlan {
    /// First valid day.
    pub not_before: Date,
    /// Last valid day.
    pub not_after: Date,
    /// Status at the CA as the profile states it.
    pub status: CertificateStatus,
    /// Whether the certificate carries an OCSP URL.
    pub ocsp: bool,
}

impl CertificatePlan {
    /// The status a relying party would see on `today`: `expired` once notAfter has passed,
    /// otherwise the recorded status.
    pub fn effective_status(&self, today: Date) -> CertificateStatus {
        if self.not_after < today {
            CertificateStatus::Expired
        } else {
            self.status
        }
    }
}

/// A secret with its retry counter.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretPlan {
    /// The value.
    pub value: String,
    /// Its counter.
    pub counter: RetryCounter,
}

impl std::fmt::Debug for SecretPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretPlan")
            .field("value", &"<redacted>")
            .field("counter", &self.counter)
            .finish()
    }
}

/// Everything needed to issue one card, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Personalisation {
    /// Seed for keys, identifiers and the card's RNG.
    pub seed: u64,
    /// "Today".
    pub today: Date,
    /// 氏名.
    pub name: String,
    /// Name in substitute characters.
    pub name_substitute: String,
    /// 住所.
    pub address: String,
    /// Address in substitute characters.
    pub address_substitute: String,
    /// Date of birth.
    pub birth_date: Date,
    /// Sex.
    pub sex: Sex,
    /// 個人番号 (possibly with a deliberately wrong check digit).
    pub my_number: MyNumber,
    /// Issue date.
    pub issued: Date,
    /// Application date.
    pub applied: Date,
    /// The FAQ Q12 computation (for `card show`).
    pub validity: CardValidity,
    /// Last valid day of the card (the FAQ rule unless the profile overrides it).
    pub card_expires: Date,
    /// Municipality code (5 digits).
    pub municipality_code: String,
    /// Romanised prefecture.
    pub prefecture: String,
    /// Romanised municipality.
    pub city: String,
    /// ATR preset.
    pub atr: AtrPreset,
    /// JPKI token kind.
    pub token: Token,
    /// Base URL for CPS and OCSP URLs.
    pub base_url: String,
    /// The authentication certificate, if the card holds one.
    pub auth_certificate: Option<CertificatePlan>,
    /// The signature certificate, if the card holds one.
    pub sign_certificate: Option<CertificatePlan>,
    /// 利用者証明用暗証番号.
    pub auth_pin: SecretPlan,
    /// 署名用パスワード.
    pub sign_pin: SecretPlan,
    /// Quirks.
    pub quirks: Quirks,
}

impl Personalisation {
    /// Whether the card itself has expired on "today".
    pub fn card_expired(&self) -> bool {
        self.card_expires < self.today
    }

    /// The holder's age on "today".
    pub fn age_today(&self) -> i16 {
        validity::age_on(self.birth_date, self.today)
    }
}

impl Profile {
    /// Applies the rules and fills in defaults; `origin` names the profile in errors.
    pub fn personalise(&self, origin: &str) -> Result<Personalisation, ProfileError> {
        let today = self.today.value.0;
        let birth_date = self.holder.birth_date.value.0;
        let issued = self.card.issued.value.0;
        if birth_date > issued {
            return Err(ProfileError::at(
                origin,
                &self.holder.birth_date,
                "holder.birth_date",
                format!("{birth_date} is after the card's issue date {issued}"),
            ));
        }
        if today < issued {
            return Err(ProfileError::at(
                origin,
                &self.today,
                "today",
                format!("{today} is before the card's issue date {issued} (card.issued)"),
            ));
        }
        let applied = match &self.card.applied {
            Some(a) if a.value.0 > issued => {
                return Err(ProfileError::at(
                    origin,
                    a,
                    "card.applied",
                    format!(
                        "the application date {} is after the issue date {issued}",
                        a.value
                    ),
                ));
            }
            Some(a) => a.value.0,
            None => issued,
        };

        let name = self.holder.name.value.clone();
        if name.trim().is_empty() {
            return Err(ProfileError::at(
                origin,
                &self.holder.name,
                "holder.name",
                "must not be empty",
            ));
        }
        let address = self.holder.address.value.clone();
        if address.trim().is_empty() {
            return Err(ProfileError::at(
                origin,
                &self.holder.address,
                "holder.address",
                "must not be empty",
            ));
        }
        let zeros = |s: &str| "0".repeat(s.chars().count());
        let name_substitute = self
            .holder
            .name_substitute
            .clone()
            .unwrap_or_else(|| zeros(&name));
        let address_substitute = self
            .holder
            .address_substitute
            .clone()
            .unwrap_or_else(|| zeros(&address));

        let my_number = self.my_number(origin)?;

        let code = &self.card.municipality.code;
        if code.value.len() != 5 || !code.value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ProfileError::at(
                origin,
                code,
                "card.municipality.code",
                format!(
                    "`{}` is not a 5-digit local government code (e.g. 13101)",
                    code.value
                ),
            ));
        }

        let residence_until = self.card.residence_until.as_ref().map(|s| s.value.0);
        let validity = validity::card_validity(birth_date, issued, applied, residence_until);
        let card_expires = match &self.card.expires {
            Some(e) if e.value.0 <= issued => {
                return Err(ProfileError::at(
                    origin,
                    e,
                    "card.expires",
                    format!("{} is not after the issue date {issued}", e.value),
                ));
            }
            Some(e) => e.value.0,
            None => validity.expires,
        };
        let default_cert_expiry = validity::certificate_expiry(birth_date, issued, card_expires);

        let auth_certificate = certificate_plan(
            origin,
            &self.certificates.auth,
            "certificates.auth",
            true,
            None,
            issued,
            default_cert_expiry,
            today,
            true,
        )?;
        let sign_allowed = validity::signature_certificate_allowed(validity.age_at_issue);
        let sign_certificate = certificate_plan(
            origin,
            &self.certificates.sign,
            "certificates.sign",
            sign_allowed,
            (!sign_allowed).then(|| {
                format!(
                    "the holder is {} at issue: no signature certificate is issued under 15 \
                     (J-LIS; reference §1.3). Set holder.birth_date or card.issued so the holder \
                     is at least 15, or drop `present: true`",
                    validity.age_at_issue
                )
            }),
            issued,
            default_cert_expiry,
            today,
            false,
        )?;

        let auth_pin = secret_plan(
            origin,
            &self.pins.auth,
            "pins.auth",
            PinFormat::Digits(4),
            AUTH_PIN_TRIES,
        )?;
        let sign_pin = secret_plan(
            origin,
            &self.pins.sign,
            "pins.sign",
            PinFormat::SignaturePassword,
            SIGN_PIN_TRIES,
        )?;

        let base_url = &self.certificates.base_url;
        if !(base_url.value.starts_with("http://") || base_url.value.starts_with("https://"))
            || !base_url.value.is_ascii()
        {
            return Err(ProfileError::at(
                origin,
                base_url,
                "certificates.base_url",
                format!(
                    "`{}` is not an ASCII http:// or https:// URL",
                    base_url.value
                ),
            ));
        }

        Ok(Personalisation {
            seed: self.seed,
            today,
            name,
            name_substitute,
            address,
            address_substitute,
            birth_date,
            sex: self.holder.sex,
            my_number,
            issued,
            applied,
            validity,
            card_expires,
            municipality_code: code.value.clone(),
            prefecture: self.card.municipality.prefecture.clone(),
            city: self.card.municipality.city.clone(),
            atr: self.card.atr,
            token: self.card.token,
            base_url: base_url.value.clone(),
            auth_certificate,
            sign_certificate,
            auth_pin,
            sign_pin,
            quirks: self.quirks,
        })
    }

    fn my_number(&self, origin: &str) -> Result<MyNumber, ProfileError> {
        let corrupt = self.corruption.my_number_check_digit;
        let Some(given) = &self.my_number else {
            let valid = MyNumber::from_seed(self.seed);
            return Ok(if corrupt {
                valid.with_wrong_check_digit()
            } else {
                valid
            });
        };
        let number = MyNumber::parse(&given.value)
            .map_err(|e| ProfileError::at(origin, given, "my_number", e.to_string()))?;
        match (number.has_valid_check_digit(), corrupt) {
            (true, false) => Ok(number),
            (true, true) => Ok(number.with_wrong_check_digit()),
            (false, true) => Ok(number),
            (false, false) => {
                let first11: [u8; 11] = number.as_bytes()[..11].try_into().unwrap_or([b'0'; 11]);
                Err(ProfileError::at(
                    origin,
                    given,
                    "my_number",
                    format!(
                        "check digit should be {} (reference §5); to keep a wrong one on purpose, \
                         set corruption.my_number_check_digit: true",
                        MyNumber::check_digit_for(&first11)
                    ),
                ))
            }
        }
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call per certificate, all named"
)]
fn certificate_plan(
    origin: &str,
    cert: &Certificate,
    path: &str,
    allowed: bool,
    refusal: Option<String>,
    issued: Date,
    default_expiry: Date,
    today: Date,
    ocsp_default: bool,
) -> Result<Option<CertificatePlan>, ProfileError> {
    let present = match &cert.present {
        Some(p) if p.value && !allowed => {
            return Err(ProfileError::at(
                origin,
                p,
                &format!("{path}.present"),
                refusal.unwrap_or_else(|| "not allowed for this holder".to_owned()),
            ));
        }
        Some(p) => p.value,
        None => allowed,
    };
    if !present {
        return Ok(None);
    }
    let not_before = cert.not_before.as_ref().map_or(issued, |s| s.value.0);
    let not_after = cert
        .not_after
        .as_ref()
        .map_or(default_expiry, |s| s.value.0);
    if not_after < not_before {
        let at = cert.not_after.as_ref().or(cert.not_before.as_ref());
        let message = format!("notAfter {not_after} is before notBefore {not_before}");
        return Err(match at {
            Some(s) => ProfileError::at(origin, s, &format!("{path}.not_after"), message),
            None => ProfileError::nowhere(origin, path, message),
        });
    }
    let status = cert.status.value;
    if status == CertificateStatus::Expired && not_after >= today {
        return Err(ProfileError::at(
            origin,
            &cert.status,
            &format!("{path}.status"),
            format!(
                "`expired` needs notAfter before today ({today}), but notAfter is {not_after}: \
                 set {path}.not_after to an earlier date, or move card.issued back at least \
                 five years"
            ),
        ));
    }
    Ok(Some(CertificatePlan {
        not_before,
        not_after,
        status,
        ocsp: cert.ocsp.unwrap_or(ocsp_default),
    }))
}

fn secret_plan(
    origin: &str,
    secret: &Secret,
    path: &str,
    format: PinFormat,
    max: u8,
) -> Result<SecretPlan, ProfileError> {
    format
        .check(secret.value.value.as_bytes())
        .map_err(|rule| ProfileError::at(origin, &secret.value, &format!("{path}.value"), rule))?;
    let left = match &secret.tries_left {
        Some(t) if t.value > max => {
            return Err(ProfileError::at(
                origin,
                t,
                &format!("{path}.tries_left"),
                format!("{} is more than the {max} tries this key has", t.value),
            ));
        }
        Some(t) => t.value,
        None => max,
    };
    Ok(SecretPlan {
        value: secret.value.value.clone(),
        counter: RetryCounter::new(max, left),
    })
}
