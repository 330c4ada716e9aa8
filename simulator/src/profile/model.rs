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
    /// Faults to inject: answering late, pulled out mid-command, torn VERIFY, a dropped
    /// reader connection, corrupted responses, forced status words (`docs/faults.md`).
    #[serde(default)]
    pub faults: Vec<crate::card::FaultSpec>,
    /// How long answers take: `fast` (at once, the default) or `realistic` (a model of the
    /// contactless or contact link and the card's computation; `docs/timing.md`).
    #[serde(default)]
    pub timing: crate::card::TimingSpec,
    /// The bytes of `card.photo`, read by [`Profile::resolve_files`](super::Profile).
    #[serde(skip)]
    #[schemars(skip)]
    pub photo_data: Option<Vec<u8>>,
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
    /// The ATR preset: the ATR itself, or — with `reader` — the batch whose ATQB (or contact
    /// ATR) the reader shows.
    #[serde(default)]
    pub atr: AtrPreset,
    /// The reader the card sits in: `part3` (a PC/SC part 3 reader builds the ATR from the
    /// card's ATQB), `pupi` (a reader that puts the random PUPI in the ATR: a new ATR at
    /// every power-on) or `contact` (the contact interface, the chip's own ATR). Default:
    /// none — the `atr` preset as it is.
    #[serde(default)]
    pub reader: Option<crate::card::Reader>,
    /// The layout generation (`2016` or `2023`): how files that differ between issue
    /// periods are encoded — input-support EF 0002's outer length is `FF 20 LL` on 2016
    /// cards and `FF 20 82 HH LL` on 2023 cards. Default: 2023 for cards issued from 2023
    /// on, else 2016.
    #[serde(default)]
    #[schemars(with = "Option<crate::card::Layout>")]
    pub layout: Option<Spanned<crate::card::Layout>>,
    /// Which JPKI token the card presents (EF 0006 label).
    #[serde(default)]
    pub token: Token,
    /// The 4-digit security code printed on the card face (セキュリティコード): part of
    /// 照合番号B. Default: derived from `seed`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub security_code: Option<Spanned<String>>,
    /// The 15-digit manufacturing serial of the common-card application's EF 0001.
    /// Default: derived from `seed`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub serial: Option<Spanned<String>>,
    /// The face photo: a JPEG 2000 file (JP2 or raw codestream), relative to the profile.
    /// Default: the built-in TEST silhouette (378×472 greyscale, like J-LIS test cards).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub photo: Option<Spanned<String>>,
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
    /// Base URL of the validation service (`mynasim validation`): the CPS, OCSP and (with
    /// `crl_uri`) CRL URLs in the certificates are built from it. Loopback by default.
    #[serde(default = "default_base_url")]
    #[schemars(with = "String")]
    pub base_url: Spanned<String>,
    /// The certificate policy OIDs: `test` (the J-LIS test card's, `…8.5.1.0.20` /
    /// `…8.5.1.0.30`; the default) or `production` (`…8.5.1.1.20` / `…8.5.1.3.30`, from a
    /// single unverified source), for apps that check the policy.
    #[serde(default)]
    pub policies: Policies,
    /// A mynasim convenience, not J-LIS's shape: add a second CRL distribution point, a URI
    /// of the validation service's CRL for the partition, so stock OpenSSL
    /// (`verify -crl_download`) can fetch it. Default false: the directoryName DP only.
    #[serde(default)]
    pub crl_uri: bool,
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
            policies: Policies::default(),
            crl_uri: false,
            auth: Certificate::authentication(),
            sign: Certificate::signature(),
        }
    }
}

/// Which certificate policy OIDs the end-entity certificates carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Policies {
    /// The J-LIS test card's (`1.2.392.200149.8.5.1.0.20` signature, `….0.30`
    /// authentication).
    #[default]
    Test,
    /// Production cards' (`1.2.392.200149.8.5.1.1.20` signature, `1.2.392.200149.8.5.1.3.30`
    /// authentication; reference §4, single unverified source).
    Production,
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
    /// 券面事項入力補助用暗証番号: 4 digits, 3 tries (input-support EF 0011).
    /// Default: the same value as `auth`, with all tries.
    #[serde(default)]
    pub text: Option<Secret>,
    /// 住民基本台帳用暗証番号 of the resident registry application (EF 001C): 4 digits,
    /// 3 tries. Default: the same value as `auth`.
    #[serde(default)]
    pub resident: Option<Secret>,
    /// The common-card application's EF 001C, a separate counter set to the same PIN.
    /// Default: the same value as `resident`.
    #[serde(default)]
    pub common: Option<Secret>,
    /// Tries of the keys whose values follow from the card data (照合番号A/B, the
    /// birth-date key).
    #[serde(default)]
    pub verification: VerificationTries,
}

impl Default for Pins {
    fn default() -> Self {
        Self {
            auth: Secret::auth(),
            sign: Secret::sign(),
            text: None,
            resident: None,
            common: None,
            verification: VerificationTries::default(),
        }
    }
}

/// Retry counters of 照合番号A (the My Number), 照合番号B (era birth date + expiry year +
/// security code) and the card-face birth-date key. Their maximum is not published; the
/// Digital Agency's guides say 10 (reference §2.6, single unverified source).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationTries {
    /// Maximum tries of each of these keys.
    #[serde(default = "default_verification_tries")]
    #[schemars(with = "u8")]
    pub tries: Spanned<u8>,
    /// Tries left on input-support 照合番号A (EF 0014). Default: `tries`.
    #[serde(default)]
    #[schemars(with = "Option<u8>")]
    pub text_a: Option<Spanned<u8>>,
    /// Tries left on input-support 照合番号B (EF 0015).
    #[serde(default)]
    #[schemars(with = "Option<u8>")]
    pub text_b: Option<Spanned<u8>>,
    /// Tries left on card-face 照合番号A (EF 0013).
    #[serde(default)]
    #[schemars(with = "Option<u8>")]
    pub face_a: Option<Spanned<u8>>,
    /// Tries left on card-face 照合番号B (EF 0012).
    #[serde(default)]
    #[schemars(with = "Option<u8>")]
    pub face_b: Option<Spanned<u8>>,
    /// Tries left on the card-face birth-date key (EF 0011).
    #[serde(default)]
    #[schemars(with = "Option<u8>")]
    pub face_birth_date: Option<Spanned<u8>>,
}

impl Default for VerificationTries {
    fn default() -> Self {
        Self {
            tries: default_verification_tries(),
            text_a: None,
            text_b: None,
            face_a: None,
            face_b: None,
            face_birth_date: None,
        }
    }
}

fn default_verification_tries() -> Spanned<u8> {
    unspanned(10)
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

/// Deliberate corruption of what the card stores, for "corrupted notification data"
/// scenarios. Every record, digest and signature is computed from the clean data first; each
/// knob then changes exactly the bytes it names, so a corrupted card differs from the clean
/// one only there (docs/profiles.md lists the bytes).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Corruption {
    /// The My Number's check digit is wrong (a given `my_number` may then have a bad check
    /// digit; a generated one gets the wrong digit).
    pub my_number_check_digit: bool,
    /// Damage to 基本4情報 (input-support EF 0002).
    pub attributes: AttributesCorruption,
    /// Damage to the integrity record (input-support EF 0003).
    pub integrity: Option<IntegrityCorruption>,
    /// EFs that are shorter than clients expect.
    pub short_ef: Vec<ShortEf>,
}

/// Damage to 基本4情報 (input-support EF 0002).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AttributesCorruption {
    /// This field's length byte is one too large.
    pub wrong_length: Option<AttributeField>,
    /// This field's TLV is left out (outer length and offset table follow; its offset
    /// entry is `00 00`).
    pub missing_tag: Option<AttributeField>,
    /// The file ends before the last field's value is complete (lengths unchanged).
    pub truncated: bool,
    /// Every DF21 offset points 2 bytes too far.
    pub wrong_offsets: bool,
    /// Hex bytes placed before `FF 20` (e.g. `"0000"`): a robustness knob. No real card is
    /// known to do this: the "2 extra bytes on 2023 cards" report it was made for is the
    /// 2023 layout's `FF 20 82 HH LL` (`card.layout`).
    #[schemars(with = "Option<String>")]
    pub leading_bytes: Option<Spanned<String>>,
    /// The name's encoding: `invalid-utf8` (its first byte becomes `FF`) or `shift-jis`
    /// (written in Shift_JIS/CP932 instead of UTF-8).
    pub name_encoding: Option<NameEncoding>,
}

/// A field of 基本4情報.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AttributeField {
    /// DF22 氏名.
    Name,
    /// DF23 住所.
    Address,
    /// DF24 birth date.
    BirthDate,
    /// DF25 sex.
    Sex,
}

/// A wrong name encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NameEncoding {
    /// The first byte of the name is `FF`.
    InvalidUtf8,
    /// Shift_JIS (CP932) instead of UTF-8.
    ShiftJis,
}

/// Which part of the integrity record is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum IntegrityCorruption {
    /// DF31, the digest of EF 0001 (last bit flipped).
    MyNumberDigest,
    /// DF32, the digest of EF 0002 (last bit flipped).
    AttributesDigest,
    /// DF33, the signature (last bit flipped).
    Signature,
}

/// An EF cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ShortEf {
    /// Input-support EF 0001: 15 bytes instead of 17 (MYNA-GO reads 17).
    MyNumber,
    /// Input-support EF 0003: 300 bytes instead of 336.
    Integrity,
    /// Input-support EF 0004: 500 bytes instead of 568.
    CvCertificate,
    /// Input-support EF 0005: 164 bytes instead of 256.
    BasicInfo,
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
