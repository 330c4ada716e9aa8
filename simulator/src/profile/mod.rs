//! Card profiles (YAML): who holds the card, dates, certificates, secrets, quirks and
//! corruption — everything that makes one simulated card differ from another.
//!
//! Loading has two stages, so that every mistake is reported with its place:
//! 1. [`Profile::from_yaml`] parses strictly (serde-saphyr): syntax errors, unknown keys and
//!    wrong types name the file, line, column and key path;
//! 2. [`Profile::personalise`] applies the domain rules (J-LIS FAQ validity, the signature
//!    password rule, the under-15 rule, check digits) and gives a [`Personalisation`], or
//!    an error pointing at the offending value.
//!
//! [`Personalisation::issue`] then builds the card: test keys, certificates, files.

pub mod era;
pub mod files;
mod issue;
mod model;
pub mod my_number;
mod personalisation;
pub mod validity;

use std::cell::RefCell;
use std::fmt;
use std::path::Path;

pub use issue::{BUILT_IN_PHOTO, IssueError, IssuedCard, IssuedCertificate};
pub use model::{
    AttributeField, AttributesCorruption, CardSection, Certificate, CertificateStatus,
    Certificates, Corruption, Holder, IntegrityCorruption, Municipality, NameEncoding, Pins,
    Policies, Profile, Secret, Sex, ShortEf, Token, VerificationTries, Ymd,
};
pub use my_number::MyNumber;
pub use personalisation::{
    AUTH_PIN_TRIES, CertificatePlan, FOUR_DIGIT_TRIES, LAST_ISSUE_DATE, LAST_TODAY,
    MAX_ADDRESS_CHARS, MAX_NAME_CHARS, Personalisation, SIGN_PIN_TRIES, SecretPlan,
};

/// The profile format version this build reads.
pub const PROFILE_VERSION: u32 = 1;

/// A mistake in a profile, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ProfileError {
    /// The file (or `<inline>`).
    pub origin: String,
    /// 1-based line, 0 when unknown.
    pub line: u64,
    /// 1-based column, 0 when unknown.
    pub column: u64,
    /// The key path (`pins.sign.value`), empty when not known.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl ProfileError {
    /// An error at a value's position.
    pub fn at<T>(
        origin: &str,
        spanned: &serde_saphyr::Spanned<T>,
        path: &str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            origin: origin.to_owned(),
            line: spanned.referenced.line(),
            column: spanned.referenced.column(),
            path: path.to_owned(),
            message: message.into(),
        }
    }

    /// An error with no position.
    pub fn nowhere(origin: &str, path: &str, message: impl Into<String>) -> Self {
        Self {
            origin: origin.to_owned(),
            line: 0,
            column: 0,
            path: path.to_owned(),
            message: message.into(),
        }
    }
}

/// Parsing limits: profiles are small, and a YAML bomb must fail fast.
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! { max_nodes: 20_000, max_aliases: 200, max_depth: 32 },
    }
}

/// Deserialises strict YAML into `T`, reporting origin, line, column and key path.
pub fn from_yaml_str<T: serde::de::DeserializeOwned>(
    text: &str,
    origin: &str,
) -> Result<T, ProfileError> {
    let path = RefCell::new(String::new());
    serde_saphyr::with_deserializer_from_str_with_options(text, yaml_options(), |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            *path.borrow_mut() = e.path().to_string();
            e.into_inner()
        })
    })
    .map_err(|e| {
        let (line, column) = e
            .location()
            .map_or((0, 0), |loc| (loc.line(), loc.column()));
        // `Spanned<T>` deserialises through an inner `value` field; drop that segment, at
        // the end and after a list index (`steps[1].value.expect` is `steps[1].expect`).
        let path = path.into_inner().replace("].value.", "].");
        let path = path
            .strip_suffix(".value")
            .map_or(path.clone(), str::to_owned);
        ProfileError {
            origin: origin.to_owned(),
            line,
            column,
            path: if path == "." { String::new() } else { path },
            message: strip_location(&e.without_snippet().to_string()),
        }
    })
}

/// serde-saphyr appends " at line L, column C"; the position is reported separately.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message.get(..i).unwrap_or(message).to_owned(),
        None => message.to_owned(),
    }
}

impl Profile {
    /// Parses a profile from YAML text; `origin` names it in errors (a path or `<inline>`).
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self, ProfileError> {
        let profile: Self = from_yaml_str(text, origin)?;
        if profile.version.value != PROFILE_VERSION {
            return Err(ProfileError::at(
                origin,
                &profile.version,
                "version",
                format!(
                    "unsupported profile version {} (this mynasim reads version {PROFILE_VERSION})",
                    profile.version.value
                ),
            ));
        }
        Ok(profile)
    }

    /// Reads and parses a profile file, and the files it names.
    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        let origin = path.display().to_string();
        let text = files::read_text(path, files::MAX_TEXT_FILE).map_err(|e| {
            ProfileError::nowhere(&origin, "", format!("cannot read the profile: {e}"))
        })?;
        let mut profile = Self::from_yaml(&text, &origin)?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        profile.resolve_files(base, &origin)?;
        Ok(profile)
    }

    /// Reads the files a profile names (`card.photo`), relative to `base`: the only file
    /// I/O of profiles besides [`Profile::load`], so that [`Profile::personalise`] stays
    /// pure.
    pub fn resolve_files(&mut self, base: &Path, origin: &str) -> Result<(), ProfileError> {
        let Some(photo) = &self.card.photo else {
            return Ok(());
        };
        let path = base.join(&photo.value);
        let data = files::read_bounded(&path, files::MAX_PHOTO).map_err(|e| {
            let why = match e {
                files::ReadError::TooLarge { len, .. } => format!(
                    "{} is {len} bytes; at most {} fit the card-face record",
                    path.display(),
                    files::MAX_PHOTO
                ),
                e => format!("cannot read {}: {e}", path.display()),
            };
            ProfileError::at(origin, photo, "card.photo", why)
        })?;
        const JP2_SIGNATURE: [u8; 12] = [
            0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A,
        ];
        const CODESTREAM: [u8; 4] = [0xFF, 0x4F, 0xFF, 0x51];
        if !(data.starts_with(&JP2_SIGNATURE) || data.starts_with(&CODESTREAM)) {
            return Err(ProfileError::at(
                origin,
                photo,
                "card.photo",
                format!(
                    "{} is not a JPEG 2000 file (no JP2 signature box or codestream marker)",
                    path.display()
                ),
            ));
        }
        self.photo_data = Some(data);
        Ok(())
    }
}

/// Loads a profile file and applies the rules: the usual way in.
pub fn load(path: &Path) -> Result<Personalisation, ProfileError> {
    let origin = path.display().to_string();
    Profile::load(path)?.personalise(&origin)
}

/// The JSON Schema of the profile format.
pub fn json_schema() -> schemars::Schema {
    schemars::schema_for!(Profile)
}
