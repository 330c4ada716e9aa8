//! The validated profile: every rule of the J-LIS FAQ applied, every default filled in.

use jiff::civil::Date;

use super::ProfileError;
use serde_saphyr::Spanned;

use super::model::{Certificate, CertificateStatus, Profile, Secret, Sex, Token};
use super::my_number::MyNumber;
use super::validity::{self, CardValidity};
use crate::card::{AtrPreset, Quirks};
use crate::security::{PinFormat, RetryCounter};

/// Tries of the user-authentication PIN (EF 0018; OpenSC `JPKI_AUTH_PIN_MAX_TRIES`).
pub const AUTH_PIN_TRIES: u8 = 3;
/// Tries of the signature password (EF 001B; OpenSC `JPKI_SIGN_PIN_MAX_TRIES`).
pub const SIGN_PIN_TRIES: u8 = 5;
/// Tries of the other 4-digit PINs (input support 0011, resident registry and common card
/// 001C; reference §2.6).
pub const FOUR_DIGIT_TRIES: u8 = 3;

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
    /// Reader personality, if named.
    pub reader: Option<crate::card::Reader>,
    /// Layout generation: `card.layout`, or the issue date's.
    pub layout: crate::card::Layout,
    /// JPKI token kind.
    pub token: Token,
    /// Base URL for CPS and OCSP URLs.
    pub base_url: String,
    /// The policy OIDs of the end-entity certificates.
    pub policies: super::model::Policies,
    /// Whether the certificates carry a second, URI-form CRL distribution point.
    pub crl_uri: bool,
    /// The authentication certificate, if the card holds one.
    pub auth_certificate: Option<CertificatePlan>,
    /// The signature certificate, if the card holds one.
    pub sign_certificate: Option<CertificatePlan>,
    /// 利用者証明用暗証番号.
    pub auth_pin: SecretPlan,
    /// 署名用パスワード.
    pub sign_pin: SecretPlan,
    /// 券面事項入力補助用暗証番号 (input-support 0011).
    pub text_pin: SecretPlan,
    /// Resident registry 001C.
    pub resident_pin: SecretPlan,
    /// Common card 001C.
    pub common_pin: SecretPlan,
    /// Counters of input-support 照合番号A / B.
    pub text_codes: (RetryCounter, RetryCounter),
    /// Counters of card-face 照合番号A / B and the birth-date key.
    pub face_codes: (RetryCounter, RetryCounter, RetryCounter),
    /// Security code printed on the card (4 digits).
    pub security_code: String,
    /// Manufacturing serial (15 digits).
    pub serial: String,
    /// The face photo (JPEG 2000), or `None` for the built-in one.
    pub photo: Option<Vec<u8>>,
    /// Deliberate damage to the input-support application's files.
    pub damage: crate::apps::text::Damage,
    /// Quirks.
    pub quirks: Quirks,
    /// Faults to inject, compiled.
    pub faults: crate::card::FaultPlan,
    /// The timing model (`None`: fast).
    pub timing: Option<crate::card::TimingModel>,
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

/// The longest name (characters): 氏名 on a residence record is far shorter; the bound keeps
/// the card's files, certificates and face images within their size fields.
pub const MAX_NAME_CHARS: usize = 100;

/// The longest address (characters).
pub const MAX_ADDRESS_CHARS: usize = 200;

/// The last issue date a profile may give: ten birthdays later still fits every date field.
pub const LAST_ISSUE_DATE: jiff::civil::Date = jiff::civil::Date::constant(2199, 12, 31);

/// The last "today" a profile may give.
pub const LAST_TODAY: jiff::civil::Date = jiff::civil::Date::constant(2299, 12, 31);

/// A name or address: not empty, at most `max` characters.
fn check_text(
    text: &str,
    max: usize,
    origin: &str,
    at: &serde_saphyr::Spanned<String>,
    path: &str,
) -> Result<(), ProfileError> {
    if text.trim().is_empty() {
        return Err(ProfileError::at(origin, at, path, "must not be empty"));
    }
    let chars = text.chars().count();
    if chars > max {
        return Err(ProfileError::at(
            origin,
            at,
            path,
            format!("{chars} characters; at most {max} fit the card"),
        ));
    }
    Ok(())
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
        if birth_date < super::era::FIRST_ERA_DATE {
            return Err(ProfileError::at(
                origin,
                &self.holder.birth_date,
                "holder.birth_date",
                format!(
                    "{birth_date} is before the Meiji era ({}): the card writes birth dates as \
                     Japanese-era years",
                    super::era::FIRST_ERA_DATE
                ),
            ));
        }
        if issued > LAST_ISSUE_DATE {
            return Err(ProfileError::at(
                origin,
                &self.card.issued,
                "card.issued",
                format!(
                    "{issued} is after {LAST_ISSUE_DATE}: the card's validity (10 birthdays on) \
                     must fit the certificates' dates"
                ),
            ));
        }
        if today > LAST_TODAY {
            return Err(ProfileError::at(
                origin,
                &self.today,
                "today",
                format!("{today} is after {LAST_TODAY}"),
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
        check_text(
            &name,
            MAX_NAME_CHARS,
            origin,
            &self.holder.name,
            "holder.name",
        )?;
        let address = self.holder.address.value.clone();
        check_text(
            &address,
            MAX_ADDRESS_CHARS,
            origin,
            &self.holder.address,
            "holder.address",
        )?;
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
        for (text, max, at, path) in [
            (
                &name_substitute,
                MAX_NAME_CHARS,
                &self.holder.name,
                "holder.name_substitute",
            ),
            (
                &address_substitute,
                MAX_ADDRESS_CHARS,
                &self.holder.address,
                "holder.address_substitute",
            ),
        ] {
            let chars = text.chars().count();
            if chars > max {
                return Err(ProfileError::at(
                    origin,
                    at,
                    path,
                    format!("{chars} characters; at most {max} fit the card"),
                ));
            }
        }

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
        let four_digit = |secret: &Option<Secret>, path: &str, default: &SecretPlan| match secret {
            Some(s) => secret_plan(origin, s, path, PinFormat::Digits(4), FOUR_DIGIT_TRIES),
            None => Ok(SecretPlan {
                value: default.value.clone(),
                counter: RetryCounter::new(FOUR_DIGIT_TRIES, FOUR_DIGIT_TRIES),
            }),
        };
        let text_pin = four_digit(&self.pins.text, "pins.text", &auth_pin)?;
        let resident_pin = four_digit(&self.pins.resident, "pins.resident", &auth_pin)?;
        let common_pin = four_digit(&self.pins.common, "pins.common", &resident_pin)?;
        let v = &self.pins.verification;
        let max = v.tries.value;
        if !(1..=15).contains(&max) {
            return Err(ProfileError::at(
                origin,
                &v.tries,
                "pins.verification.tries",
                format!("{max} tries: must be 1 to 15 (63 Cx reports at most 15)"),
            ));
        }
        let counter = |left: &Option<Spanned<u8>>, name: &str| match left {
            Some(l) if l.value > max => Err(ProfileError::at(
                origin,
                l,
                &format!("pins.verification.{name}"),
                format!(
                    "{} is more than the {max} tries (pins.verification.tries)",
                    l.value
                ),
            )),
            Some(l) => Ok(RetryCounter::new(max, l.value)),
            None => Ok(RetryCounter::new(max, max)),
        };
        let text_codes = (counter(&v.text_a, "text_a")?, counter(&v.text_b, "text_b")?);
        let face_codes = (
            counter(&v.face_a, "face_a")?,
            counter(&v.face_b, "face_b")?,
            counter(&v.face_birth_date, "face_birth_date")?,
        );
        let security_code =
            digits_field(origin, &self.card.security_code, "card.security_code", 4)?
                .unwrap_or_else(|| seeded_digits(self.seed, 0x7365_6375, 4));
        let serial = digits_field(origin, &self.card.serial, "card.serial", 15)?
            .unwrap_or_else(|| format!("4{}", seeded_digits(self.seed, 0x7365_7269, 14)));
        let photo = match (&self.card.photo, &self.photo_data) {
            (None, _) => None,
            (Some(_), Some(data)) => Some(data.clone()),
            (Some(path), None) => {
                return Err(ProfileError::at(
                    origin,
                    path,
                    "card.photo",
                    format!(
                        "`{}` was not read: photos are read when a profile is loaded from a file",
                        path.value
                    ),
                ));
            }
        };
        let damage = self.damage(origin)?;
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
            reader: self.card.reader,
            layout: self
                .card
                .layout
                .as_ref()
                .map_or_else(|| crate::card::Layout::for_issue_date(issued), |l| l.value),
            token: self.card.token,
            base_url: base_url.value.clone(),
            policies: self.certificates.policies,
            crl_uri: self.certificates.crl_uri,
            auth_certificate,
            sign_certificate,
            auth_pin,
            sign_pin,
            text_pin,
            resident_pin,
            common_pin,
            text_codes,
            face_codes,
            security_code,
            serial,
            photo,
            damage,
            quirks: self.quirks,
            faults: crate::card::FaultPlan::compile(&self.faults, self.seed)
                .map_err(|(path, message)| ProfileError::nowhere(origin, &path, message))?,
            timing: crate::card::TimingModel::compile(
                &self.timing,
                &crate::card::AtrSource {
                    preset: self.card.atr,
                    reader: self.card.reader,
                }
                .atr([0; 4]),
            )
            .map_err(|(path, message)| ProfileError::nowhere(origin, &path, message))?,
        })
    }

    fn damage(&self, origin: &str) -> Result<crate::apps::text::Damage, ProfileError> {
        use super::model::{AttributeField, IntegrityCorruption, NameEncoding, ShortEf};
        use crate::apps::text::{Damage, Field, IntegrityDamage};
        let field = |f: AttributeField| match f {
            AttributeField::Name => Field::Name,
            AttributeField::Address => Field::Address,
            AttributeField::BirthDate => Field::BirthDate,
            AttributeField::Sex => Field::Sex,
        };
        let a = &self.corruption.attributes;
        let leading_bytes = match &a.leading_bytes {
            None => None,
            Some(hex) => Some(crate::hex::decode(&hex.value).map_err(|e| {
                ProfileError::at(
                    origin,
                    hex,
                    "corruption.attributes.leading_bytes",
                    e.to_string(),
                )
            })?),
        };
        let short = |which| self.corruption.short_ef.contains(&which);
        Ok(Damage {
            wrong_length: a.wrong_length.map(field),
            missing_tag: a.missing_tag.map(field),
            truncated: a.truncated,
            wrong_offsets: a.wrong_offsets,
            leading_bytes,
            name_invalid_utf8: a.name_encoding == Some(NameEncoding::InvalidUtf8),
            name_shift_jis: a.name_encoding == Some(NameEncoding::ShiftJis),
            integrity: self.corruption.integrity.map(|i| match i {
                IntegrityCorruption::MyNumberDigest => IntegrityDamage::MyNumberDigest,
                IntegrityCorruption::AttributesDigest => IntegrityDamage::AttributesDigest,
                IntegrityCorruption::Signature => IntegrityDamage::Signature,
            }),
            short_my_number: short(ShortEf::MyNumber),
            short_integrity: short(ShortEf::Integrity),
            short_cv_certificate: short(ShortEf::CvCertificate),
            short_basic_info: short(ShortEf::BasicInfo),
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

/// An optional field of exactly `n` ASCII digits.
fn digits_field(
    origin: &str,
    field: &Option<Spanned<String>>,
    path: &str,
    n: usize,
) -> Result<Option<String>, ProfileError> {
    match field {
        None => Ok(None),
        Some(s) if s.value.len() == n && s.value.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(Some(s.value.clone()))
        }
        Some(s) => Err(ProfileError::at(
            origin,
            s,
            path,
            format!("`{}` must be exactly {n} digits 0-9", s.value),
        )),
    }
}

/// `n` decimal digits derived from the seed and a per-field salt.
fn seeded_digits(seed: u64, salt: u64, n: usize) -> String {
    use rand_core::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed ^ salt);
    (0..n)
        .map(|_| char::from(b'0' + (rng.next_u32() % 10) as u8))
        .collect()
}
