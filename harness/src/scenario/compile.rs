//! Compiling a scenario: resolve its card (profile + overrides), check every value, and turn
//! the steps into a [`Plan`] of operations. Every mistake is reported before anything runs,
//! with the file, line, column and key path (`steps[4].expect.sw`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use jiff::civil::Date;
use mynasim_simulator::apdu::StatusWord;
use mynasim_simulator::apps::AppId;
use mynasim_simulator::hex;
use mynasim_simulator::profile::{self, IssuedCard, Profile, ProfileError, era, from_yaml_str};
use serde_saphyr::{Location, Spanned};

use super::load::Loaded;
use super::model::{self, Action, Digest, Expect, Power, Validity};
use crate::profiles::DEFAULT_PROFILE;

/// The scenario format version this build reads.
pub const SCENARIO_VERSION: u32 = 1;

/// A secret or other text that may refer to captures (`${name}`, `${name[3..15]}`) and to
/// the card (`${card.my_number}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(Vec<Segment>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    /// A `${card.…}` value (text).
    Card(String),
    Capture {
        name: String,
        range: Option<(usize, usize)>,
    },
}

impl Template {
    /// The text, with captures substituted (their bytes read as text).
    pub fn render(&self, captures: &HashMap<String, Vec<u8>>) -> Vec<u8> {
        let mut out = Vec::new();
        for segment in &self.0 {
            match segment {
                Segment::Text(t) | Segment::Card(t) => out.extend_from_slice(t.as_bytes()),
                Segment::Capture { name, range } => {
                    out.extend_from_slice(captured(captures, name, *range));
                }
            }
        }
        out
    }
}

/// The bytes a capture reference names: the whole capture, or `[a..b]` of it (clipped).
fn captured<'c>(
    captures: &'c HashMap<String, Vec<u8>>,
    name: &str,
    range: Option<(usize, usize)>,
) -> &'c [u8] {
    let bytes = captures.get(name).map(Vec::as_slice).unwrap_or_default();
    match range {
        Some((a, b)) => bytes.get(a..b.min(bytes.len())).unwrap_or_default(),
        None => bytes,
    }
}

/// Hex bytes that may contain `${capture}`, `${capture[a..b]}` (the captured bytes) and
/// `${card.NAME}` (the value's ASCII bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HexTemplate(Vec<HexSegment>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum HexSegment {
    Bytes(Vec<u8>),
    Capture {
        name: String,
        range: Option<(usize, usize)>,
    },
}

impl HexTemplate {
    /// The bytes, with captures substituted.
    pub fn render(&self, captures: &HashMap<String, Vec<u8>>) -> Vec<u8> {
        let mut out = Vec::new();
        for segment in &self.0 {
            match segment {
                HexSegment::Bytes(b) => out.extend_from_slice(b),
                HexSegment::Capture { name, range } => {
                    out.extend_from_slice(captured(captures, name, *range));
                }
            }
        }
        out
    }

    /// The literal bytes before the first capture (for labels).
    pub fn literal_prefix(&self) -> &[u8] {
        match self.0.first() {
            Some(HexSegment::Bytes(b)) => b,
            _ => &[],
        }
    }
}

/// What one step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// SELECT DF by name.
    Select(Vec<u8>),
    /// SELECT EF.
    SelectEf([u8; 2]),
    /// VERIFY (after SELECT of `key`).
    Verify {
        /// Key EF to select first.
        key: Option<[u8; 2]>,
        /// The secret.
        pin: Template,
    },
    /// The retry query.
    Retries {
        /// Key EF to select first.
        key: Option<[u8; 2]>,
    },
    /// CHANGE REFERENCE DATA (`00 24 01 80`) or CHANGE KEY (`80 32 00 80`).
    Change {
        /// Key EF to select first.
        key: Option<[u8; 2]>,
        /// The new secret.
        new: Template,
        /// CLA, INS, P1 of the instruction.
        header: [u8; 3],
    },
    /// READ BINARY.
    Read {
        /// EF to select first.
        ef: Option<[u8; 2]>,
        /// Offset.
        offset: u16,
        /// How.
        mode: ReadMode,
    },
    /// READ RECORD.
    ReadRecord {
        /// EF to select first.
        ef: Option<[u8; 2]>,
        /// Record number.
        record: u8,
        /// P2.
        p2: u8,
    },
    /// COMPUTE DIGITAL SIGNATURE.
    Sign(SignOp),
    /// GET CHALLENGE.
    GetChallenge(usize),
    /// GET DATA.
    GetData {
        /// Tag.
        tag: [u8; 2],
        /// Extended Le.
        extended: bool,
    },
    /// INTERNAL AUTHENTICATE.
    InternalAuthenticate {
        /// P2 (`80|SFI`).
        p2: u8,
        /// The challenge.
        challenge: HexTemplate,
    },
    /// Power control.
    Power(Power),
    /// A raw APDU.
    Raw(HexTemplate),
}

/// How a `read` step reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    /// Chunks of 256 until a short chunk or `6B 00`.
    Whole,
    /// One READ BINARY with this Le.
    Range(usize),
    /// One READ BINARY with extended Le `00 00`.
    Extended,
    /// This many bytes first, then the rest of the BER object in chunks of at most 256.
    Probe(u8),
}

/// A signing step, with what is needed to verify its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignOp {
    /// Key EF to select first (unless named in P2).
    pub key: Option<[u8; 2]>,
    /// P1.
    pub scheme: u8,
    /// P2.
    pub p2: u8,
    /// The message the signature is about.
    pub message: HexTemplate,
    /// How the message is digested for scheme 0.
    pub digest: Digest,
    /// Le.
    pub le: usize,
}

impl SignOp {
    /// The data field sent for a message: scheme 0 its DigestInfo (or the bytes, for
    /// `digest: none`), schemes 2 and 4 its SHA-256, the others the message itself.
    pub fn payload(&self, message: &[u8]) -> Vec<u8> {
        use sha2::Digest as _;
        match self.scheme {
            0 => match self.digest {
                Digest::Sha256 => {
                    mynasim_simulator::pki::cv::sha256_digest_info(&sha2::Sha256::digest(message))
                }
                Digest::Sha1 => {
                    let mut di = vec![
                        0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A, 0x05,
                        0x00, 0x04, 0x14,
                    ];
                    di.extend(sha1::Sha1::digest(message));
                    di
                }
                Digest::None => message.to_vec(),
            },
            2 | 4 => sha2::Sha256::digest(message).to_vec(),
            // 1, 3, 5 take the message; other P1 values are sent as given (6A 86 is the test).
            _ => message.to_vec(),
        }
    }
}

/// A status word pattern: `value` where `mask` bits are 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwPattern {
    /// Expected bits.
    pub value: u16,
    /// Which bits are checked.
    pub mask: u16,
    /// As written.
    pub text: [u8; 4],
}

impl SwPattern {
    /// Parses `9000`, `63C?`, `6A8?` (spaces allowed).
    pub fn parse(text: &str) -> Option<Self> {
        let digits: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() != 4 {
            return None;
        }
        let mut value = 0u16;
        let mut mask = 0u16;
        let mut shown = [b'?'; 4];
        for (i, c) in digits.iter().enumerate() {
            value <<= 4;
            mask <<= 4;
            if *c == '?' || *c == 'x' || *c == 'X' {
                continue;
            }
            let d = c.to_digit(16)? as u16;
            value |= d;
            mask |= 0xF;
            if let Some(s) = shown.get_mut(i) {
                *s = c.to_ascii_uppercase() as u8;
            }
        }
        Some(Self {
            value,
            mask,
            text: shown,
        })
    }

    /// Matches `sw` and nothing else.
    pub fn exact(sw: StatusWord) -> Self {
        let value = sw.to_u16();
        let mut text = [0u8; 4];
        for (t, c) in text.iter_mut().zip(hex::compact(&sw.to_bytes()).bytes()) {
            *t = c;
        }
        Self {
            value,
            mask: 0xFFFF,
            text,
        }
    }

    /// Whether `sw` matches.
    pub fn matches(&self, sw: u16) -> bool {
        sw & self.mask == self.value
    }

    /// As `90 00` / `63 C?`.
    pub fn display(&self) -> String {
        let t = String::from_utf8_lossy(&self.text).into_owned();
        format!("{} {}", t.get(..2).unwrap_or(""), t.get(2..).unwrap_or(""))
    }
}

/// A date in an expectation: a fixed day or the profile's "today".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateRef {
    /// The profile's today.
    Today,
    /// A fixed date.
    Day(Date),
}

/// Compiled certificate checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertificateChecks {
    /// Subject contains.
    pub subject_contains: Option<String>,
    /// Issuer contains.
    pub issuer_contains: Option<String>,
    /// notAfter < date.
    pub not_after_before: Option<DateRef>,
    /// notAfter >= date.
    pub not_after_after: Option<DateRef>,
    /// notBefore <= date.
    pub not_before_before: Option<DateRef>,
    /// Extensions present (OIDs with names).
    pub extensions: Vec<(String, String)>,
    /// Extensions absent.
    pub no_extensions: Vec<(String, String)>,
    /// SAN otherName values.
    pub san: BTreeMap<String, String>,
    /// Signed by the certificate in this capture.
    pub signed_by: Option<String>,
}

/// One compiled TLV check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlvCheck {
    /// Bytes skipped.
    pub skip: usize,
    /// Whether it must parse.
    pub parses: bool,
    /// Tag path.
    pub path: Vec<u32>,
    /// Value as text.
    pub text: Option<Template>,
    /// Whether the last tag is present.
    pub present: bool,
    /// Value bytes.
    pub hex: Option<Vec<u8>>,
    /// Value length.
    pub length: Option<usize>,
    /// UTF-8 validity.
    pub utf8: Option<Validity>,
}

/// Compiled expectations.
#[derive(Debug, Clone)]
pub struct Expectations {
    /// Status word.
    pub sw: SwPattern,
    /// Exact data.
    pub data: Option<Vec<u8>>,
    /// Data prefix.
    pub data_prefix: Option<Vec<u8>>,
    /// Data length.
    pub data_length: Option<usize>,
    /// Regex over spaced hex.
    pub data_matches: Option<regex::Regex>,
    /// Data as text.
    pub text: Option<Template>,
    /// Data equals a capture.
    pub same_as: Option<String>,
    /// Data differs from a capture.
    pub differs_from: Option<String>,
    /// Signature does not verify with the key in this capture.
    pub signature_does_not_verify_with: Option<String>,
    /// CV certificate does not verify with this key.
    pub cv_certificate_does_not_verify_with: Option<String>,
    /// The integrity record check.
    pub integrity_record: Option<model::IntegrityExpect>,
    /// Certificate checks.
    pub certificate: Option<CertificateChecks>,
    /// Signature verifies with the certificate in this capture.
    pub signature_verifies_with: Option<String>,
    /// My Number check digit.
    pub my_number_check_digit: Option<Validity>,
    /// TLV checks.
    pub tlv: Vec<TlvCheck>,
    /// CV certificate verifies with this capture or the test CV CA.
    pub cv_certificate_verifies_with: Option<String>,
}

/// One step, ready to run.
#[derive(Debug, Clone)]
pub struct PlanStep {
    /// 1-based step number.
    pub number: usize,
    /// Line of the step in the file.
    pub line: u64,
    /// What it does, in a few words (`verify 0018`).
    pub label: String,
    /// The operation.
    pub op: Op,
    /// Expectations.
    pub expect: Expectations,
    /// Capture name.
    pub capture: Option<String>,
    /// Human note.
    pub note: Option<String>,
}

/// A scenario ready to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The file.
    pub path: PathBuf,
    /// Index in a list file.
    pub index: usize,
    /// Whether the file holds a list (the id then carries `#index`).
    pub in_list: bool,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Reference.
    pub reference: Option<String>,
    /// Runs on any card.
    pub portable: bool,
    /// The card, freshly issued (clone it to run).
    pub card: Arc<IssuedCard>,
    /// Where the card's profile came from.
    pub profile: String,
    /// Whether the scenario overrides profile fields.
    pub customised: bool,
    /// Steps.
    pub steps: Vec<PlanStep>,
}

impl Plan {
    /// A stable identifier: the path, with `#N` for scenarios in a list.
    pub fn id(&self) -> String {
        if self.in_list {
            format!("{}#{}", self.path.display(), self.index + 1)
        } else {
            self.path.display().to_string()
        }
    }
}

/// Issued cards, shared by scenarios with the same profile and overrides.
#[derive(Debug, Default)]
pub struct CardCache(Mutex<HashMap<String, Arc<IssuedCard>>>);

/// Compiles a loaded scenario.
pub fn compile(loaded: &Loaded, cache: &CardCache) -> Result<Plan, ProfileError> {
    let origin = loaded.path.display().to_string();
    let s = &loaded.scenario.value;
    let at = |loc: &Location, path: &str, message: String| ProfileError {
        origin: origin.clone(),
        line: loc.line(),
        column: loc.column(),
        path: path.to_owned(),
        message,
    };
    if s.version.value != SCENARIO_VERSION {
        return Err(at(
            &s.version.referenced,
            "version",
            format!(
                "unsupported scenario version {} (this mynasim reads version {SCENARIO_VERSION})",
                s.version.value
            ),
        ));
    }
    if s.steps.is_empty() {
        return Err(at(
            &s.name.referenced,
            "steps",
            "a scenario needs at least one step".into(),
        ));
    }
    let dir = loaded.path.parent().unwrap_or_else(|| Path::new("."));
    let (card, profile_label) = resolve_card(&s.card, dir, &origin, cache)?;
    let mut known: HashSet<String> = HashSet::new();
    let mut steps = Vec::new();
    for (i, step) in s.steps.iter().enumerate() {
        let path = format!("steps[{i}]");
        let loc = step.referenced;
        let fail = |sub: &str, message: String| at(&loc, &format!("{path}{sub}"), message);
        let (label, op) =
            compile_action(&step.value.action, &card, &known).map_err(|(sub, m)| fail(&sub, m))?;
        let expect = compile_expect(step.value.expect.as_ref(), &card, &known)
            .map_err(|(sub, m)| fail(&format!(".expect{sub}"), m))?;
        if let Some(name) = &step.value.capture {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(fail(
                    ".as",
                    format!("`{name}`: capture names are letters, digits and _"),
                ));
            }
            known.insert(name.clone());
        }
        steps.push(PlanStep {
            number: i + 1,
            line: loc.line(),
            label,
            op,
            expect,
            capture: step.value.capture.clone(),
            note: step.value.note.clone(),
        });
    }
    Ok(Plan {
        path: loaded.path.clone(),
        index: loaded.index,
        in_list: loaded.in_list,
        name: s.name.value.clone(),
        description: s.description.clone(),
        tags: s.tags.clone(),
        reference: s.reference.clone(),
        portable: s.portable,
        card,
        profile: profile_label,
        customised: s.card.set.is_some(),
        steps,
    })
}

/// Finds a profile by name (`profiles/NAME.yaml` in the scenario's folder or any folder
/// above it; `default` is also built in) or by path (relative to the scenario).
fn find_profile(name: &str, dir: &Path) -> Option<PathBuf> {
    let looks_like_path = name.contains('/') || name.ends_with(".yaml") || name.ends_with(".yml");
    if looks_like_path {
        return Some(dir.join(name));
    }
    dir.ancestors()
        .map(|d| d.join("profiles").join(format!("{name}.yaml")))
        .find(|p| p.is_file())
}

fn resolve_card(
    spec: &model::CardSpec,
    dir: &Path,
    origin: &str,
    cache: &CardCache,
) -> Result<(Arc<IssuedCard>, String), ProfileError> {
    let name = &spec.profile.value;
    let located = find_profile(name, dir);
    let (base_text, base_origin, base_dir) = match &located {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ProfileError::at(
                    origin,
                    &spec.profile,
                    "card.profile",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            let base_dir = path.parent().map_or_else(|| dir.to_owned(), Path::to_owned);
            (text, path.display().to_string(), base_dir)
        }
        None if name == "default" => (
            DEFAULT_PROFILE.to_owned(),
            "<built-in default profile>".to_owned(),
            dir.to_owned(),
        ),
        None => {
            return Err(ProfileError::at(
                origin,
                &spec.profile,
                "card.profile",
                format!(
                    "no profile named `{name}`: looked for profiles/{name}.yaml beside the scenario and in the folders above it"
                ),
            ));
        }
    };
    let set_json = spec
        .set
        .as_ref()
        .map(|s| s.value.to_string())
        .unwrap_or_default();
    let key = format!("{base_origin}\u{0}{set_json}");
    if let Some(hit) = cache.0.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok((hit, base_origin));
    }
    // The profile alone must be valid: its own mistakes point into its own file.
    let mut base = Profile::from_yaml(&base_text, &base_origin)?;
    base.resolve_files(&base_dir, &base_origin)?;
    let mut personalisation = base.personalise(&base_origin)?;
    if let Some(set) = &spec.set {
        personalisation = apply_overrides(&base_text, &base_origin, &base_dir, set, dir, origin)?;
    }
    let issued = personalisation
        .issue()
        .map_err(|e| ProfileError::at(origin, &spec.profile, "card", e.to_string()))?;
    let issued = Arc::new(issued);
    if let Ok(mut c) = cache.0.lock() {
        c.insert(key, issued.clone());
    }
    Ok((issued, base_origin))
}

/// Merges `card.set` over the profile and checks the result. Mistakes are reported at the
/// `set:` mapping with the key path (`card.set.pins.auth.tries_left`).
fn apply_overrides(
    base_text: &str,
    base_origin: &str,
    base_dir: &Path,
    set: &Spanned<serde_json::Value>,
    scenario_dir: &Path,
    origin: &str,
) -> Result<profile::Personalisation, ProfileError> {
    let here = |path: &str, message: String| ProfileError {
        origin: origin.to_owned(),
        line: set.referenced.line(),
        column: set.referenced.column(),
        path: if path.is_empty() {
            "card.set".to_owned()
        } else {
            format!("card.set.{path}")
        },
        message,
    };
    if !set.value.is_object() {
        return Err(here("", "must be a mapping of profile fields".to_owned()));
    }
    let mut merged: serde_json::Value = from_yaml_str(base_text, base_origin)?;
    merge(&mut merged, &set.value);
    let mut profile: Profile = serde_path_to_error::deserialize(&merged).map_err(|e| {
        let path = e.path().to_string();
        let path = path.strip_suffix(".value").unwrap_or(&path).to_owned();
        here(&path, e.into_inner().to_string())
    })?;
    let photo_overridden = set.value.get("card").and_then(|c| c.get("photo")).is_some();
    let files_dir = if photo_overridden {
        scenario_dir
    } else {
        base_dir
    };
    profile
        .resolve_files(files_dir, origin)
        .map_err(|e| here(&e.path, e.message))?;
    profile
        .personalise(origin)
        .map_err(|e| here(&e.path, e.message))
}

/// Deep merge: mappings merge key by key, everything else replaces.
fn merge(base: &mut serde_json::Value, patch: &serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(b), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                match b.get_mut(k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}

type StepError = (String, String);

fn fid(text: &str, sub: &str) -> Result<[u8; 2], StepError> {
    let bytes = hex::decode(text).map_err(|e| (sub.to_owned(), format!("`{text}`: {e}")))?;
    <[u8; 2]>::try_from(bytes.as_slice()).map_err(|_| {
        (
            sub.to_owned(),
            format!("`{text}` is not a 2-byte FID such as \"0018\""),
        )
    })
}

fn opt_fid(text: &Option<String>, sub: &str) -> Result<Option<[u8; 2]>, StepError> {
    text.as_deref().map(|t| fid(t, sub)).transpose()
}

fn bytes(text: &str, sub: &str) -> Result<Vec<u8>, StepError> {
    hex::decode(text).map_err(|e| (sub.to_owned(), format!("`{text}`: {e}")))
}

/// The `${card.…}` values of a card.
fn card_value(card: &IssuedCard, name: &str) -> Option<String> {
    let p = &card.personalisation;
    Some(match name {
        "my_number" | "code_a" => p.my_number.to_string(),
        "code_b" => mynasim_simulator::apps::text::verification_code_b(
            p.birth_date,
            p.card_expires,
            &p.security_code,
        ),
        "birth_date_key" => era::era_yymmdd(p.birth_date),
        "security_code" => p.security_code.clone(),
        "serial" => p.serial.clone(),
        "pin.auth" => p.auth_pin.value.clone(),
        "pin.sign" => p.sign_pin.value.clone(),
        "pin.text" => p.text_pin.value.clone(),
        "pin.resident" => p.resident_pin.value.clone(),
        "pin.common" => p.common_pin.value.clone(),
        _ => return None,
    })
}

const CARD_VALUES: &str = "my_number, code_a, code_b, birth_date_key, security_code, serial, pin.auth, pin.sign, pin.text, pin.resident, pin.common";

/// Parses `${…}` references: `${card.NAME}` is resolved now; `${capture}` and
/// `${capture[a..b]}` must name an earlier capture.
fn template(
    text: &str,
    sub: &str,
    card: &IssuedCard,
    known: &HashSet<String>,
) -> Result<Template, StepError> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let (before, after) = rest.split_at(start);
        if !before.is_empty() {
            out.push(Segment::Text(before.to_owned()));
        }
        let Some(end) = after.find('}') else {
            return Err((
                sub.to_owned(),
                format!("`{text}`: `${{` without a closing `}}`"),
            ));
        };
        let inner = after.get(2..end).unwrap_or("");
        rest = after.get(end + 1..).unwrap_or("");
        if let Some(name) = inner.strip_prefix("card.") {
            let value = card_value(card, name).ok_or_else(|| {
                (
                    sub.to_owned(),
                    format!("`${{card.{name}}}` is unknown; card values are {CARD_VALUES}"),
                )
            })?;
            out.push(Segment::Card(value));
            continue;
        }
        let (name, range) = match inner.split_once('[') {
            Some((name, r)) => {
                let r = r.strip_suffix(']').unwrap_or(r);
                let (a, b) = r.split_once("..").ok_or_else(|| {
                    (
                        sub.to_owned(),
                        format!("`{inner}`: a range is [start..end]"),
                    )
                })?;
                let a: usize = a
                    .trim()
                    .parse()
                    .map_err(|_| (sub.to_owned(), format!("`{inner}`: bad range start")))?;
                let b: usize = b
                    .trim()
                    .parse()
                    .map_err(|_| (sub.to_owned(), format!("`{inner}`: bad range end")))?;
                (name.to_owned(), Some((a, b)))
            }
            None => (inner.to_owned(), None),
        };
        if !known.contains(&name) {
            return Err((
                sub.to_owned(),
                format!("`${{{name}}}` is not captured by an earlier step (`as: {name}`)"),
            ));
        }
        out.push(Segment::Capture { name, range });
    }
    if !rest.is_empty() {
        out.push(Segment::Text(rest.to_owned()));
    }
    Ok(Template(out))
}

/// Parses hex with `${…}` references: literal parts are hex (spaces allowed), `${card.NAME}`
/// inserts the value's ASCII bytes, `${capture}` / `${capture[a..b]}` the captured bytes.
fn hex_template(
    text: &str,
    sub: &str,
    card: &IssuedCard,
    known: &HashSet<String>,
) -> Result<HexTemplate, StepError> {
    let mut out = Vec::new();
    for segment in template(text, sub, card, known)?.0 {
        match segment {
            Segment::Text(t) => out.push(HexSegment::Bytes(bytes(&t, sub)?)),
            Segment::Card(v) => out.push(HexSegment::Bytes(v.into_bytes())),
            Segment::Capture { name, range } => out.push(HexSegment::Capture { name, range }),
        }
    }
    Ok(HexTemplate(out))
}

fn app_aid(name: &str) -> Option<Vec<u8>> {
    AppId::from_name(name).map(|a| a.aid().to_vec())
}

fn compile_action(
    action: &Action,
    card: &IssuedCard,
    known: &HashSet<String>,
) -> Result<(String, Op), StepError> {
    Ok(match action {
        Action::Select(name) => {
            let aid = match app_aid(name) {
                Some(aid) => aid,
                None => bytes(name, ".select").map_err(|(s, _)| {
                    (s, format!("`{name}` is neither an application (jpki, text, face, common, juki, isd) nor a DF name in hex"))
                })?,
            };
            (format!("select {name}"), Op::Select(aid))
        }
        Action::SelectEf(text) => (
            format!("select EF {text}"),
            Op::SelectEf(fid(text, ".select_ef")?),
        ),
        Action::Verify(v) => (
            format!("verify {}", v.key.as_deref().unwrap_or("current EF")),
            Op::Verify {
                key: opt_fid(&v.key, ".verify.key")?,
                pin: template(&v.pin, ".verify.pin", card, known)?,
            },
        ),
        Action::Retries(k) => (
            format!("retry query {}", k.key.as_deref().unwrap_or("current EF")),
            Op::Retries {
                key: opt_fid(&k.key, ".retries.key")?,
            },
        ),
        Action::ChangePin(c) | Action::ChangeKey(c) => {
            let (name, header) = match action {
                Action::ChangeKey(_) => ("change_key", [0x80, 0x32, 0x00]),
                _ => ("change_pin", [0x00, 0x24, 0x01]),
            };
            (
                format!("{name} {}", c.key.as_deref().unwrap_or("current EF")),
                Op::Change {
                    key: opt_fid(&c.key, &format!(".{name}.key"))?,
                    new: template(&c.new, &format!(".{name}.new"), card, known)?,
                    header,
                },
            )
        }
        Action::Read(r) => {
            let mode = match (r.length, r.extended, r.probe) {
                (Some(n), false, None) if (1..=65_536).contains(&n) => ReadMode::Range(n as usize),
                (Some(n), false, None) => {
                    return Err((".read.length".into(), format!("{n}: must be 1 to 65536")));
                }
                (None, true, None) => ReadMode::Extended,
                (None, false, Some(n)) if (2..=16).contains(&n) => ReadMode::Probe(n),
                (None, false, Some(n)) => {
                    return Err((
                        ".read.probe".into(),
                        format!("{n}: a header probe is 2 to 16 bytes"),
                    ));
                }
                (None, false, None) => ReadMode::Whole,
                _ => {
                    return Err((
                        ".read".into(),
                        "give at most one of `length`, `extended`, `probe`".into(),
                    ));
                }
            };
            (
                format!("read {}", r.ef.as_deref().unwrap_or("current EF")),
                Op::Read {
                    ef: opt_fid(&r.ef, ".read.ef")?,
                    offset: r.offset,
                    mode,
                },
            )
        }
        Action::ReadRecord(r) => {
            let p2 = match r.sfi {
                Some(sfi) if (1..=30).contains(&sfi) => sfi << 3 | 0x04,
                Some(sfi) => {
                    return Err((".read_record.sfi".into(), format!("{sfi}: must be 1 to 30")));
                }
                None => 0x04,
            };
            if r.sfi.is_some() && r.ef.is_some() {
                return Err((".read_record".into(), "give `sfi` or `ef`, not both".into()));
            }
            (
                format!("read record {}", r.record),
                Op::ReadRecord {
                    ef: opt_fid(&r.ef, ".read_record.ef")?,
                    record: r.record,
                    p2,
                },
            )
        }
        Action::Sign(s) => (
            format!("sign {}", s.key.as_deref().unwrap_or("current key")),
            Op::Sign(compile_sign(s, card, known)?),
        ),
        Action::GetChallenge(n) => {
            if !(1..=256).contains(n) {
                return Err((".get_challenge".into(), format!("{n}: must be 1 to 256")));
            }
            (
                format!("get challenge {n}"),
                Op::GetChallenge(usize::from(*n)),
            )
        }
        Action::GetData(g) => (
            format!("get data {}", g.tag),
            Op::GetData {
                tag: fid(&g.tag, ".get_data.tag")?,
                extended: g.extended,
            },
        ),
        Action::InternalAuthenticate(ia) => {
            let key = fid(&ia.key, ".internal_authenticate.key")?;
            let challenge = hex_template(
                &ia.challenge,
                ".internal_authenticate.challenge",
                card,
                known,
            )?;
            (
                format!("internal authenticate {}", ia.key),
                Op::InternalAuthenticate {
                    p2: 0x80 | (key[1] & 0x1F),
                    challenge,
                },
            )
        }
        Action::Power(p) => (
            format!(
                "power {}",
                match p {
                    Power::Off => "off",
                    Power::On => "on",
                    Power::Reset => "reset",
                }
            ),
            Op::Power(*p),
        ),
        Action::Apdu(text) => {
            // Sent as written: a malformed APDU is a legitimate test of the card's 67 00.
            let apdu = hex_template(text, ".apdu", card, known)?;
            let head = apdu.literal_prefix();
            (
                format!("apdu {}", hex::spaced(head.get(..4).unwrap_or(head))),
                Op::Raw(apdu),
            )
        }
    })
}

fn compile_sign(
    s: &model::Sign,
    card: &IssuedCard,
    known: &HashSet<String>,
) -> Result<SignOp, StepError> {
    let message = match (&s.text, &s.data) {
        (Some(t), None) => {
            let text = template(t, ".sign.text", card, known)?;
            HexTemplate(
                text.0
                    .into_iter()
                    .map(|seg| match seg {
                        Segment::Text(t) | Segment::Card(t) => HexSegment::Bytes(t.into_bytes()),
                        Segment::Capture { name, range } => HexSegment::Capture { name, range },
                    })
                    .collect(),
            )
        }
        (None, Some(h)) => hex_template(h, ".sign.data", card, known)?,
        (None, None) => {
            return Err((
                ".sign".into(),
                "give the message as `text` or `data`".into(),
            ));
        }
        (Some(_), Some(_)) => {
            return Err((".sign".into(), "give `text` or `data`, not both".into()));
        }
    };
    let (key, p2) = match (s.key.as_deref(), s.by_sfi) {
        (Some("default"), false) => (None, 0x00),
        (Some("default"), true) => {
            return Err((".sign.by_sfi".into(), "`key: default` has no SFI".into()));
        }
        (Some(k), true) => (None, 0x80 | (fid(k, ".sign.key")?[1] & 0x1F)),
        (None, true) => return Err((".sign.by_sfi".into(), "`by_sfi` needs `key`".into())),
        (k, false) => (k.map(|k| fid(k, ".sign.key")).transpose()?, 0x80),
    };
    let le = s.le.map_or(256, |n| n as usize);
    Ok(SignOp {
        key,
        scheme: s.scheme,
        p2,
        message,
        digest: s.digest,
        le,
    })
}

fn date_ref(text: &str, sub: &str) -> Result<DateRef, StepError> {
    if text == "today" {
        return Ok(DateRef::Today);
    }
    text.parse::<Date>().map(DateRef::Day).map_err(|e| {
        (
            sub.to_owned(),
            format!("`{text}` is not `today` or a YYYY-MM-DD date: {e}"),
        )
    })
}

/// The extension names an expectation may use.
pub const EXTENSIONS: &[(&str, &str)] = &[
    ("key-usage", "2.5.29.15"),
    ("extended-key-usage", "2.5.29.37"),
    ("subject-alt-name", "2.5.29.17"),
    ("issuer-alt-name", "2.5.29.18"),
    ("certificate-policies", "2.5.29.32"),
    ("crl-distribution-points", "2.5.29.31"),
    ("authority-info-access", "1.3.6.1.5.5.7.1.1"),
    ("subject-key-identifier", "2.5.29.14"),
    ("authority-key-identifier", "2.5.29.35"),
    ("basic-constraints", "2.5.29.19"),
];

fn extension_list(names: &[String], sub: &str) -> Result<Vec<(String, String)>, StepError> {
    names
        .iter()
        .map(|n| {
            EXTENSIONS
                .iter()
                .find(|(name, _)| name == n)
                .map(|(name, oid)| ((*name).to_owned(), (*oid).to_owned()))
                .ok_or_else(|| {
                    let all: Vec<&str> = EXTENSIONS.iter().map(|(n, _)| *n).collect();
                    (
                        sub.to_owned(),
                        format!("`{n}` is not one of {}", all.join(", ")),
                    )
                })
        })
        .collect()
}

fn need_capture(name: &str, sub: &str, known: &HashSet<String>) -> Result<(), StepError> {
    if known.contains(name) {
        Ok(())
    } else {
        Err((
            sub.to_owned(),
            format!("`{name}` is not captured by an earlier step (`as: {name}`)"),
        ))
    }
}

fn compile_expect(
    expect: Option<&Expect>,
    card: &IssuedCard,
    known: &HashSet<String>,
) -> Result<Expectations, StepError> {
    let default = Expect::default();
    let e = expect.unwrap_or(&default);
    let sw = match (&e.sw, e.tries_left) {
        (Some(_), Some(_)) => {
            return Err(("".into(), "give `sw` or `tries_left`, not both".into()));
        }
        (Some(text), None) => SwPattern::parse(text).ok_or_else(|| {
            (
                ".sw".to_owned(),
                format!("`{text}` is not 4 hex digits (with `?` for any nibble)"),
            )
        })?,
        (None, Some(n)) if n <= 15 => SwPattern::exact(StatusWord::retries(n)),
        (None, Some(n)) => {
            return Err((".tries_left".into(), format!("{n}: 63 Cx reports 0 to 15")));
        }
        (None, None) => SwPattern::exact(StatusWord::Success),
    };
    let data_matches = e
        .data_matches
        .as_deref()
        .map(|r| {
            regex::Regex::new(r)
                .map_err(|err| (".data_matches".to_owned(), format!("`{r}`: {err}")))
        })
        .transpose()?;
    let certificate = match &e.certificate {
        None => None,
        Some(c) => {
            if let Some(name) = &c.signed_by {
                need_capture(name, ".certificate.signed_by", known)?;
            }
            Some(CertificateChecks {
                subject_contains: c.subject_contains.clone(),
                issuer_contains: c.issuer_contains.clone(),
                not_after_before: c
                    .not_after_before
                    .as_deref()
                    .map(|d| date_ref(d, ".certificate.not_after_before"))
                    .transpose()?,
                not_after_after: c
                    .not_after_after
                    .as_deref()
                    .map(|d| date_ref(d, ".certificate.not_after_after"))
                    .transpose()?,
                not_before_before: c
                    .not_before_before
                    .as_deref()
                    .map(|d| date_ref(d, ".certificate.not_before_before"))
                    .transpose()?,
                extensions: extension_list(&c.extensions, ".certificate.extensions")?,
                no_extensions: extension_list(&c.no_extensions, ".certificate.no_extensions")?,
                san: c.san.clone(),
                signed_by: c.signed_by.clone(),
            })
        }
    };
    for (name, sub) in [
        (&e.signature_verifies_with, ".signature_verifies_with"),
        (
            &e.signature_does_not_verify_with,
            ".signature_does_not_verify_with",
        ),
        (&e.same_as, ".same_as"),
        (&e.differs_from, ".differs_from"),
    ] {
        if let Some(name) = name {
            need_capture(name, sub, known)?;
        }
    }
    if let Some(name) = &e.cv_certificate_does_not_verify_with
        && name != "mynasim-test-cv-ca"
    {
        need_capture(name, ".cv_certificate_does_not_verify_with", known)?;
    }
    if let Some(i) = &e.integrity_record {
        need_capture(&i.my_number_file, ".integrity_record.my_number_file", known)?;
        need_capture(
            &i.attributes_file,
            ".integrity_record.attributes_file",
            known,
        )?;
        need_capture(&i.cv_certificate, ".integrity_record.cv_certificate", known)?;
    }
    if let Some(name) = &e.cv_certificate_verifies_with
        && name != "mynasim-test-cv-ca"
    {
        need_capture(name, ".cv_certificate_verifies_with", known)?;
    }
    let mut tlv = Vec::new();
    for (i, t) in e.tlv.iter().enumerate() {
        let sub = format!(".tlv[{i}]");
        let path = match &t.path {
            None => Vec::new(),
            Some(p) => p
                .split('/')
                .map(|tag| {
                    u32::from_str_radix(tag.trim(), 16).map_err(|_| {
                        (
                            format!("{sub}.path"),
                            format!("`{tag}` is not a tag in hex (e.g. FF20/DF22)"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        if !t.present
            && (path.is_empty() || t.text.is_some() || t.hex.is_some() || t.length.is_some())
        {
            return Err((
                sub,
                "`present: false` needs a `path` and no value checks".to_owned(),
            ));
        }
        let text = t
            .text
            .as_deref()
            .map(|x| template(x, &format!("{sub}.text"), card, known))
            .transpose()?;
        tlv.push(TlvCheck {
            skip: t.skip,
            parses: t.parses,
            present: t.present,
            path,
            text,
            hex: t
                .hex
                .as_deref()
                .map(|h| bytes(h, &format!("{sub}.hex")))
                .transpose()?,
            length: t.length,
            utf8: t.utf8,
        });
    }
    Ok(Expectations {
        sw,
        data: e.data.as_deref().map(|h| bytes(h, ".data")).transpose()?,
        data_prefix: e
            .data_prefix
            .as_deref()
            .map(|h| bytes(h, ".data_prefix"))
            .transpose()?,
        data_length: e.data_length,
        data_matches,
        text: e
            .text
            .as_deref()
            .map(|t| template(t, ".text", card, known))
            .transpose()?,
        same_as: e.same_as.clone(),
        differs_from: e.differs_from.clone(),
        signature_does_not_verify_with: e.signature_does_not_verify_with.clone(),
        cv_certificate_does_not_verify_with: e.cv_certificate_does_not_verify_with.clone(),
        integrity_record: e.integrity_record.clone(),
        certificate,
        signature_verifies_with: e.signature_verifies_with.clone(),
        my_number_check_digit: e.my_number_check_digit,
        tlv,
        cv_certificate_verifies_with: e.cv_certificate_verifies_with.clone(),
    })
}
