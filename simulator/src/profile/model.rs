//! The profile file format, version 1: the raw serde model. Strict — an unknown key is an
//! error naming it, its line and column — and compiled into a
//! [`Personalisation`](super::Personalisation) by [`Profile::personalise`](super::Profile).

use jiff::civil::Date;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::{Location, Spanned};
use std::fmt;

use crate::card::{AtrPreset, Quirks};

/// A card profile: who holds the card, when it was issued, its certificates and secrets.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Format version; this mynasim reads version 1.
    #[schemars(with = "u32")]
    pub version: Spanned<u32>,
    /// Seed for everything random: which test keys the card holds, the generated My Number,
    /// certificate serials and identifiers, and the card's RNG (GET CHALLENGE, PSS salts).
    /// The same profile and seed give byte-identical transcripts.
    #[serde(default)]
    pub seed: u64,
    /// "Today" for the card and its certificates (YYYY-MM-DD): decides whether they have
    /// expired. The simulator never reads the clock.
    #[schemars(with = "Ymd")]
    pub today: Spanned<Ymd>,
    /// The card holder.
    pub holder: Holder,
    /// The 12-digit individual number (個人番号). Generated from `seed` with a valid check
    /// digit when absent; a wrong check digit is refused unless
    /// `corruption.my_number_check_digit` is set.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub my_number: Option<Spanned<String>>,
    /// Issue and validity of the card itself.
    pub card: CardSection,
    /// The two JPKI certificates.
    #[serde(default)]
    pub certificates: Certificates,
    /// Secrets and their retry counters.
    #[serde(default)]
    pub pins: Pins,
    /// Deliberate data corruption, for "corrupted notification data" scenarios.
    #[serde(default)]
    pub corruption: Corruption,
    /// Behaviours seen on some cards only; all off by default.
    #[serde(default)]
    pub quirks: Quirks,
}

/// The card holder (基本4情報 and the rest).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Holder {
    /// 氏名: family name, U+3000 (ideographic space), given name.
    #[serde(default = "default_name")]
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// The name in substitute characters (代替文字) as the signature certificate carries
    /// it. Default: one `0` per character of `name` (no character substituted), as on the
    /// J-LIS test card.
    #[serde(default)]
    pub name_substitute: Option<String>,
    /// 住所, block numbers in full-width digits.
    #[serde(default = "default_address")]
    #[schemars(with = "String")]
    pub address: Spanned<String>,
    /// The address in substitute characters. Default: one `0` per character of `address`.
    #[serde(default)]
    pub address_substitute: Option<String>,
    /// Date of birth (YYYY-MM-DD).
    #[schemars(with = "Ymd")]
    pub birth_date: Spanned<Ymd>,
    /// Sex (ISO 5218 as the card writes it: male 1, female 2, not-applicable 9, unknown 0).
    #[serde(default)]
    pub sex: Sex,
}

/// A value with no known position in the file (a default).
pub(crate) fn unspanned<T>(value: T) -> Spanned<T> {
    Spanned::new(value, Location::UNKNOWN, Location::UNKNOWN)
}

fn default_status() -> Spanned<CertificateStatus> {
    unspanned(CertificateStatus::Valid)
}

fn default_name() -> Spanned<String> {
    unspanned("試験　花子".to_owned())
}

fn default_address() -> Spanned<String> {
    unspanned("東京都千代田区霞が関２丁目１番２号　mynasim TEST".to_owned())
}

/// Sex as recorded on the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Sex {
    /// `1`.
    Male,
    /// `2`.
    #[default]
    Female,
    /// `9`.
    NotApplicable,
    /// `0`.
    Unknown,
}

impl Sex {
    /// The ISO 5218 digit the card stores.
    pub fn digit(self) -> char {
        match self {
            Self::Male => '1',
            Self::Female => '2',
            Self::NotApplicable => '9',
            Self::Unknown => '0',
        }
    }
}

/// The card itself.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CardSection {
    /// Issue date (発行日, when J-LIS made the card).
    #[schemars(with = "Ymd")]
    pub issued: Spanned<Ymd>,
    /// Application date; decides whether the age of majority is 20 (before 2022-04-01) or
    /// 18. Default: the issue date.
    #[serde(default)]
    #[schemars(with = "Option<Ymd>")]
    pub applied: Option<Spanned<Ymd>>,
    /// Last valid day of the card. Default: the FAQ Q12 rule (10th birthday after issue,
    /// 5th for minors).
    #[serde(default)]
    #[schemars(with = "Option<Ymd>")]
    pub expires: Option<Spanned<Ymd>>,
    /// End of a foreign resident's period of stay: caps the card and both certificates.
    #[serde(default)]
    #[schemars(with = "Option<Ymd>")]
    pub residence_until: Option<Spanned<Ymd>>,
    /// The issuing municipality.
    #[serde(default)]
    pub municipality: Municipality,
    /// The ATR preset.
    #[serde(default)]
    pub atr: AtrPreset,
    /// Which JPKI token the card presents (EF 0006 label).
    #[serde(default)]
    pub token: Token,
}

/// The issuing municipality (全国地方公共団体コード and romanised names).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Municipality {
    /// Five-digit local government code, e.g. `13101`.
    #[schemars(with = "String")]
    pub code: Spanned<String>,
    /// Romanised prefecture as in certificates, e.g. `Tokyo-to`.
    pub prefecture: String,
    /// Romanised municipality, e.g. `Chiyoda-ku`.
    pub city: String,
}

impl Default for Municipality {
    fn default() -> Self {
        Self {
            code: unspanned("13101".to_owned()),
            prefecture: "Tokyo-to".to_owned(),
            city: "Chiyoda-ku".to_owned(),
        }
    }
}

/// The JPKI token kind (reference §1.3, §3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Token {
    /// The plastic My Number Card: `JPKIAPICCTOKEN2`.
    #[default]
    Card,
    /// Android smartphone certificate: `JPKIAPGPSETOKEN`; the authentication certificate
    /// needs the PIN before it can be read.
    Android,
    /// iPhone certificate: `JPKIAPIOSTOKEN`.
    Iphone,
    /// The old resident registry card (住基カード): `JPKIAPICCTOKEN`.
    JukiCard,
}

impl Token {
    /// The 32-byte label field's text.
    pub fn label(self) -> &'static str {
        match self {
            Self::Card => "JPKIAPICCTOKEN2",
            Self::Android => "JPKIAPGPSETOKEN",
            Self::Iphone => "JPKIAPIOSTOKEN",
            Self::JukiCard => "JPKIAPICCTOKEN",
        }
    }
}

/// Both certificates.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Certificates {
    /// Base URL of the (future) validation service: the CPS and OCSP URLs in the
    /// certificates are built from it. Loopback by default.
    #[serde(default = "default_base_url")]
    #[schemars(with = "String")]
    pub base_url: Spanned<String>,
    /// The user-authentication certificate (EF 000A).
    #[serde(default = "Certificate::authentication")]
    pub auth: Certificate,
    /// The signature certificate (EF 0001).
    #[serde(default = "Certificate::signature")]
    pub sign: Certificate,
}

impl Default for Certificates {
    fn default() -> Self {
        Self {
            base_url: default_base_url(),
            auth: Certificate::authentication(),
            sign: Certificate::signature(),
        }
    }
}

fn default_base_url() -> Spanned<String> {
    unspanned("http://127.0.0.1:35970/".to_owned())
}

/// One certificate's settings.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    /// Whether the card holds it. Default: yes, except no signature certificate for a holder
    /// under 15 at issue (asking for one then is an error).
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub present: Option<Spanned<bool>>,
    /// Status at the certification authority. `expired` is checked against the dates.
    #[serde(default = "default_status")]
    #[schemars(with = "CertificateStatus")]
    pub status: Spanned<CertificateStatus>,
    /// notBefore date. Default: the issue date.
    #[serde(default)]
    #[schemars(with = "Option<Ymd>")]
    pub not_before: Option<Spanned<Ymd>>,
    /// notAfter date. Default: the 5th birthday after issue, capped by the card's expiry.
    #[serde(default)]
    #[schemars(with = "Option<Ymd>")]
    pub not_after: Option<Spanned<Ymd>>,
    /// Whether the certificate carries an OCSP URL (authorityInfoAccess). Default: yes for
    /// the authentication certificate, no for the signature certificate — as on the J-LIS
    /// test card, whose signature certificate has no authorityInfoAccess.
    #[serde(default)]
    pub ocsp: Option<bool>,
}

impl Certificate {
    fn authentication() -> Self {
        Self {
            present: None,
            status: unspanned(CertificateStatus::Valid),
            not_before: None,
            not_after: None,
            ocsp: None,
        }
    }

    fn signature() -> Self {
        Self::authentication()
    }
}

/// Status of a certificate at its CA (FAQ Q47/Q48: suspension after loss).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CertificateStatus {
    /// Good.
    #[default]
    Valid,
    /// Past notAfter (requires notAfter before "today").
    Expired,
    /// Suspended after the card was reported lost (一時停止).
    Suspended,
    /// Revoked (失効): e.g. the signature certificate after a move.
    Revoked,
}

/// Secrets.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pins {
    /// 利用者証明用暗証番号: 4 digits, 3 tries (EF 0018).
    #[serde(default = "Secret::auth")]
    pub auth: Secret,
    /// 署名用パスワード: 6–16 of A–Z and 0–9 with at least one of each, 5 tries (EF 001B).
    #[serde(default = "Secret::sign")]
    pub sign: Secret,
}

impl Default for Pins {
    fn default() -> Self {
        Self {
            auth: Secret::auth(),
            sign: Secret::sign(),
        }
    }
}

/// A secret and how many tries it has left.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Secret {
    /// The value, exactly as the card compares it (bytes, no case folding).
    #[schemars(with = "String")]
    pub value: Spanned<String>,
    /// Tries left; default: the maximum. 0 means blocked.
    #[serde(default)]
    #[schemars(with = "Option<u8>")]
    pub tries_left: Option<Spanned<u8>>,
}

impl Secret {
    fn auth() -> Self {
        Self {
            value: unspanned("1234".to_owned()),
            tries_left: None,
        }
    }

    fn sign() -> Self {
        Self {
            value: unspanned("ABC123".to_owned()),
            tries_left: None,
        }
    }
}

/// Deliberate corruption of what the card stores. Each knob changes exactly the bytes it
/// names.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Corruption {
    /// The My Number's check digit is wrong (a given `my_number` may then have a bad check
    /// digit; a generated one gets the wrong digit).
    pub my_number_check_digit: bool,
}

/// A calendar date written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ymd(pub Date);

impl<'de> Deserialize<'de> for Ymd {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse::<Date>().map(Ymd).map_err(|e| {
            serde::de::Error::custom(format!("`{text}` is not a valid YYYY-MM-DD date: {e}"))
        })
    }
}

impl JsonSchema for Ymd {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Date".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "date",
            "description": "A calendar date, YYYY-MM-DD."
        })
    }
}

impl fmt::Display for Ymd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
