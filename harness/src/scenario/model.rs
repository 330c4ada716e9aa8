//! The scenario file format, version 1: the raw serde model. Strict (unknown keys are errors
//! with file, line and column), externally tagged, no `flatten`/`untagged`; compiled into a
//! [`Plan`](super::Plan) before anything runs.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

/// One scenario: a card situation and what should happen.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Format version; this mynasim reads version 1.
    #[schemars(with = "u32")]
    pub version: Spanned<u32>,
    /// Short name, unique in the library (`auth PIN lockout`).
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// What the scenario shows, for humans.
    #[serde(default)]
    pub description: Option<String>,
    /// Tags for `--tags` (`pin-lockout`, `field-bug`, …).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Where the expected behaviour comes from: a reference section, an issue, a field report.
    #[serde(default)]
    pub reference: Option<String>,
    /// Whether the scenario runs on any My Number Card (real or simulated) because it needs
    /// no particular card state, data or secrets. Scenarios that are not portable are "not
    /// applicable" on `pcsc:` targets.
    #[serde(default)]
    pub portable: bool,
    /// What running the scenario can cost a card (`docs/certification.md`): `read-only`,
    /// `pin-query`, `uses-secret` or `destructive`. Required with `portable: true`; never
    /// looser than what the steps send (checked). `mynasim certify` runs only `read-only`
    /// and `pin-query` scenarios on a card not known to be simulated unless told otherwise.
    #[serde(default)]
    #[schemars(with = "Option<super::safety::Safety>")]
    pub safety: Option<Spanned<super::safety::Safety>>,
    /// The card.
    #[serde(default)]
    pub card: CardSpec,
    /// Faults for the whole run, added after the card's own (`docs/faults.md`).
    #[serde(default)]
    #[schemars(with = "Vec<mynasim_simulator::card::FaultSpec>")]
    pub faults: Vec<mynasim_simulator::card::FaultSpec>,
    /// The steps, in order. A scenario has `steps` or `exec`.
    #[serde(default)]
    #[schemars(with = "Vec<Step>")]
    pub steps: Vec<Spanned<Step>>,
    /// With `exec`: steps sent to the card before the program starts, for state the
    /// profile cannot express.
    #[serde(default)]
    #[schemars(with = "Vec<Step>")]
    pub setup: Vec<Spanned<Step>>,
    /// A program under test, run with the scenario's card in a PC/SC reader, and what it
    /// must do (instead of `steps`).
    #[serde(default)]
    #[schemars(with = "Option<ExecSpec>")]
    pub exec: Option<Spanned<ExecSpec>>,
}

/// A program under test and what it must do: its exit status and output, what it sends
/// the card (transcript rules), and the card's state afterwards.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecSpec {
    /// The program and its arguments (`[pkcs11-tool, --login, --pin, "${card.pin.auth}"]`),
    /// run in the scenario's folder with `PCSCLITE_CSOCK_NAME` and `MYNASIM_READER` set.
    /// `${card.…}` references are allowed.
    pub run: Vec<String>,
    /// Environment variables added for the program.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Seconds the program may run (default 60); a hang fails with the transcript so far.
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    pub timeout: Option<Spanned<f64>>,
    /// Pull the card out of the reader this many seconds after the program starts.
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    pub remove_after: Option<Spanned<f64>>,
    /// With `remove_after`: put it back this many seconds later (default: leave it out).
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    pub reinsert_after: Option<Spanned<f64>>,
    /// The exit status: a number, or `nonzero`. Default 0.
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub exit: Option<Spanned<serde_json::Value>>,
    /// Checks on standard output, each one key (`contains`, `lacks`, `matches`, `json`).
    #[serde(default)]
    #[schemars(with = "Vec<OutputCheck>")]
    pub stdout: Vec<Spanned<OutputCheck>>,
    /// Checks on standard error, as `stdout`.
    #[serde(default)]
    #[schemars(with = "Vec<OutputCheck>")]
    pub stderr: Vec<Spanned<OutputCheck>>,
    /// Rules over what the program sent and the card answered, each one key (`sends`,
    /// `never_sends`, `at_most`, `in_order`, `never_after`, `only_after`).
    #[serde(default)]
    #[schemars(with = "Vec<Rule>")]
    pub transcript: Vec<Spanned<Rule>>,
    /// The card's state when the program has ended.
    #[serde(default)]
    pub after: Option<After>,
    /// Start the scenario card's validation service (OCSP and CRLs; docs/validation.md) on
    /// a free loopback port for the program: its base URL is in `MYNASIM_VALIDATION_URL`.
    /// The certificates' statuses are the profile's.
    #[serde(default)]
    pub validation: bool,
}

/// One check on a program's output: exactly one key.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputCheck {
    /// The output contains this text.
    #[serde(default)]
    pub contains: Option<String>,
    /// The output does not contain this text.
    #[serde(default)]
    pub lacks: Option<String>,
    /// A regular expression (Rust `regex` syntax) matches somewhere in the output.
    #[serde(default)]
    pub matches: Option<String>,
    /// The output is JSON and the value at `pointer` (RFC 6901, `/a/0/b`) equals `equals`.
    #[serde(default)]
    pub json: Option<JsonCheck>,
}

/// A JSON value in a program's output.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonCheck {
    /// Where (RFC 6901 JSON pointer; `""` is the whole document).
    pub pointer: String,
    /// The value it must equal.
    pub equals: serde_json::Value,
}

/// A rule over the transcript of a program's session: exactly one key. A command pattern is
/// hex with `?` for any nibble, optionally ending in `..` (anything may follow; otherwise the
/// whole command must match), or an instruction's name (`verify`, `read_binary`) followed
/// by such a pattern for P1, P2 and the rest (`verify 00 80 ..`).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The program sends a command matching this at least once.
    #[serde(default)]
    pub sends: Option<String>,
    /// The program never sends a command matching this.
    #[serde(default)]
    pub never_sends: Option<String>,
    /// The program sends a command matching `command` at most `times` times.
    #[serde(default)]
    pub at_most: Option<AtMost>,
    /// Commands matching these are sent in this order (others may come between).
    #[serde(default)]
    pub in_order: Option<Vec<String>>,
    /// Once the card answered `answer` (a status word pattern, `63C1`) — to a command matching
    /// `command`, when given — the program never sends a command matching `then`.
    #[serde(default)]
    pub never_after: Option<NeverAfter>,
    /// Every command matching `command` comes after one matching `after` that the card
    /// answered `90 00`.
    #[serde(default)]
    pub only_after: Option<OnlyAfter>,
    /// A note for humans, shown when the rule fails.
    #[serde(default)]
    pub note: Option<String>,
}

/// `at_most: { command, times }`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AtMost {
    /// The command pattern.
    pub command: String,
    /// The most times it may be sent.
    pub times: u32,
}

/// `never_after: { answer, command, then }`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NeverAfter {
    /// The status word pattern that ends it (`63C1`, `6984`, `63C?`).
    pub answer: String,
    /// Only answers to commands matching this count.
    #[serde(default)]
    pub command: Option<String>,
    /// The command pattern never sent afterwards.
    pub then: String,
}

/// `only_after: { command, after }`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OnlyAfter {
    /// The command pattern that must wait.
    pub command: String,
    /// The command pattern that must have been answered `90 00` first.
    pub after: String,
}

/// The card's state when the program has ended. Keys are named `APP/EF`: `jpki/0018` (the
/// user-authentication PIN), `jpki/001B` (the signature password), `jpki/0017` (the
/// authentication key), `jpki/001A` (the signature key), `text/0011`, …
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct After {
    /// Tries left per PIN or password.
    #[serde(default)]
    pub tries_left: BTreeMap<String, u8>,
    /// Signatures made per private key during the program's run.
    #[serde(default)]
    pub signatures: BTreeMap<String, u32>,
    /// Exactly these keys are verified when the program ends.
    #[serde(default)]
    pub verified: Option<Vec<String>>,
    /// Whether the card was reset (warm reset or power cycle) while the program ran.
    #[serde(default)]
    pub reset: Option<bool>,
}

/// The card a scenario runs against: a profile plus overrides of any of its fields.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CardSpec {
    /// A profile: a name under `scenarios/profiles/`, or a path relative to the scenario.
    #[serde(default = "default_profile")]
    #[schemars(with = "String")]
    pub profile: Spanned<String>,
    /// Profile fields to override, written as in a profile (merged over it): e.g.
    /// `pins: { auth: { tries_left: 1 } }`, `today: 2031-01-01`, `corruption: {…}`.
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub set: Option<Spanned<serde_json::Value>>,
    /// Answer from a recorded trace instead (a `mynasim serve --record` file, an import's
    /// JSON Lines, or the `>>`/`<<` text form; relative to the scenario): each command must
    /// be the next recorded one and gets its recorded answer (docs/field-bugs.md). Steps
    /// scenarios only; for a program, `mynasim exec --replay`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub replay: Option<Spanned<String>>,
    /// With `replay`: when a command differs from the recording, `fail` (the card leaves
    /// the reader; default) or `simulate` (the profile's card answers from then on).
    #[serde(default)]
    pub on_divergence: Divergence,
}

/// What a replay card does when a command differs from the recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Divergence {
    /// The card leaves the reader; the step that sent the command fails.
    #[default]
    Fail,
    /// The simulated card answers from then on.
    Simulate,
}

impl Default for CardSpec {
    fn default() -> Self {
        Self {
            profile: default_profile(),
            set: None,
            replay: None,
            on_divergence: Divergence::Fail,
        }
    }
}

fn default_profile() -> Spanned<String> {
    Spanned::new(
        "default".to_owned(),
        serde_saphyr::Location::UNKNOWN,
        serde_saphyr::Location::UNKNOWN,
    )
}

/// One step: exactly one action key (`select: jpki`, `verify: {…}`, …), what to `expect`,
/// and optionally a name (`as`) to keep the response under. Read by a hand-written
/// deserializer (no `flatten`), so every error keeps its line and column.
#[derive(Debug, Clone)]
pub struct Step {
    /// The action.
    pub action: Action,
    /// What the response must look like. Default: SW `9000`.
    pub expect: Option<Expect>,
    /// Keep the response data under this name, for `${name}` and later checks.
    pub capture: Option<String>,
    /// A note for humans.
    pub note: Option<String>,
}

/// The keys a step may have besides its action.
const STEP_KEYS: &[&str] = &[
    "select",
    "select_ef",
    "verify",
    "retries",
    "change_pin",
    "change_key",
    "read",
    "read_record",
    "sign",
    "get_challenge",
    "get_data",
    "internal_authenticate",
    "power",
    "fault",
    "apdu",
    "validate",
    "lose_card",
    "find_card",
    "move_house",
    "renew",
    "revoke",
    "advance",
    "validation_fault",
    "expect",
    "as",
    "note",
];

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct StepVisitor;

        impl<'de> serde::de::Visitor<'de> for StepVisitor {
            type Value = Step;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a step: one action key (select, verify, read, …) with optional expect, as, note")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Step, A::Error> {
                use serde::de::Error;
                let mut action: Option<(String, Action)> = None;
                let mut expect = None;
                let mut capture = None;
                let mut note = None;
                while let Some(key) = map.next_key::<String>()? {
                    let new_action = match key.as_str() {
                        "expect" => {
                            expect = Some(map.next_value()?);
                            continue;
                        }
                        "as" => {
                            capture = Some(map.next_value()?);
                            continue;
                        }
                        "note" => {
                            note = Some(map.next_value()?);
                            continue;
                        }
                        "select" => Action::Select(map.next_value()?),
                        "select_ef" => Action::SelectEf(map.next_value()?),
                        "verify" => Action::Verify(map.next_value()?),
                        "retries" => Action::Retries(map.next_value()?),
                        "change_pin" => Action::ChangePin(map.next_value()?),
                        "change_key" => Action::ChangeKey(map.next_value()?),
                        "read" => Action::Read(map.next_value()?),
                        "read_record" => Action::ReadRecord(map.next_value()?),
                        "sign" => Action::Sign(map.next_value()?),
                        "get_challenge" => Action::GetChallenge(map.next_value()?),
                        "get_data" => Action::GetData(map.next_value()?),
                        "internal_authenticate" => Action::InternalAuthenticate(map.next_value()?),
                        "power" => Action::Power(map.next_value()?),
                        "fault" => Action::Fault(map.next_value()?),
                        "apdu" => Action::Apdu(map.next_value()?),
                        "validate" => Action::Validate(map.next_value()?),
                        "lose_card" => Action::LoseCard(map.next_value()?),
                        "find_card" => Action::FindCard(map.next_value()?),
                        "move_house" => Action::MoveHouse(map.next_value()?),
                        "renew" => Action::Renew(map.next_value()?),
                        "revoke" => Action::Revoke(map.next_value()?),
                        "advance" => Action::Advance(map.next_value()?),
                        "validation_fault" => Action::ValidationFault(map.next_value()?),
                        other => return Err(A::Error::unknown_field(other, STEP_KEYS)),
                    };
                    if let Some((first, _)) = &action {
                        return Err(A::Error::custom(format!(
                            "a step has one action, this one has `{first}` and `{key}`: make them two steps"
                        )));
                    }
                    action = Some((key, new_action));
                }
                let Some((_, action)) = action else {
                    return Err(A::Error::custom(
                        "a step needs an action: one of select, select_ef, verify, retries, change_pin, \
                         change_key, read, read_record, sign, get_challenge, get_data, \
                         internal_authenticate, power, fault, apdu, validate, lose_card, find_card, \
                         move_house, renew, revoke, advance, validation_fault",
                    ));
                };
                Ok(Step {
                    action,
                    expect,
                    capture,
                    note,
                })
            }
        }

        d.deserialize_map(StepVisitor)
    }
}

impl JsonSchema for Step {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Step".into()
    }

    /// One alternative per action: the action key (required) plus `expect`, `as`, `note`.
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let action = generator.subschema_for::<Action>();
        let expect = generator.subschema_for::<Option<Expect>>();
        let text = generator.subschema_for::<Option<String>>();
        let action_value = generator
            .definitions()
            .get("Action")
            .cloned()
            .unwrap_or_else(|| action.to_value());
        let variants = action_value
            .get("oneOf")
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default();
        let alternatives: Vec<serde_json::Value> = variants
            .into_iter()
            .map(|mut variant| {
                if let Some(props) = variant
                    .get_mut("properties")
                    .and_then(|p| p.as_object_mut())
                {
                    props.insert("expect".into(), expect.clone().to_value());
                    props.insert("as".into(), text.clone().to_value());
                    props.insert("note".into(), text.clone().to_value());
                }
                variant
            })
            .collect();
        schemars::json_schema!({
            "description": "One step: exactly one action key, with optional `expect`, `as` (capture name) and `note`.",
            "oneOf": alternatives
        })
    }
}

/// The actions a step can take. Each is written as a key of the step.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// SELECT an application by name (`jpki`, `text`, `face`, `common`, `juki`, `isd`) or by
    /// DF name in hex (full or a prefix).
    Select(String),
    /// SELECT an EF of the current application by its 2-byte FID in hex (`"0018"`).
    SelectEf(String),
    /// VERIFY a secret.
    Verify(Verify),
    /// The case-1 retry query `00 20 00 80` (no try spent).
    Retries(KeyRef),
    /// CHANGE REFERENCE DATA `00 24 01 80` with a new secret.
    ChangePin(ChangePin),
    /// JICSAP CHANGE KEY `80 32 00 80` (resident PINs).
    ChangeKey(ChangePin),
    /// READ BINARY: the whole EF or a range.
    Read(Read),
    /// READ RECORD.
    ReadRecord(ReadRecord),
    /// COMPUTE DIGITAL SIGNATURE `80 2A`.
    Sign(Sign),
    /// GET CHALLENGE of this many bytes (1–256).
    GetChallenge(u16),
    /// GET DATA of a data object.
    GetData(GetData),
    /// INTERNAL AUTHENTICATE.
    InternalAuthenticate(InternalAuthenticate),
    /// Power the card `off`, `on`, or `reset` it (warm).
    Power(Power),
    /// Arms a fault on the card from this point on, written as an entry of a profile's
    /// `faults:` (docs/faults.md); `after_apdus` counts from here. In-process card only.
    Fault(mynasim_simulator::card::FaultSpec),
    /// A raw command APDU in hex (spaces allowed); `${name}` inserts captured bytes.
    Apdu(String),
    /// Asks the validation service about a captured certificate, as a relying party does;
    /// the step's data is the verdict as text (`good`, `hold`, `revoked: affiliationChanged`,
    /// `unknown`, `unavailable: …`, `expired`) — check it with `expect: { text: … }`
    /// (docs/validation.md).
    Validate(Validate),
    /// The holder reports the card lost: both certificates go on hold (一時保留).
    LoseCard(Empty),
    /// The lost card is found: the held certificates are revoked (certificateHold) and new
    /// key pairs and certificates are written into the card.
    FindCard(Empty),
    /// The holder moves house: the signature certificate is revoked (affiliationChanged);
    /// the authentication certificate stays good.
    MoveHouse(Empty),
    /// A certificate is renewed (`auth` or `sign`): the old one is revoked (superseded) and
    /// a new key pair and certificate are written into the card.
    Renew(CertName),
    /// A certificate is revoked for a reason (RFC 5280 names: `keyCompromise`, or
    /// `key-compromise`).
    Revoke(Revoke),
    /// Moves the validation service's clock on: `1d`, `12h`, `30m`, `90s`.
    Advance(String),
    /// Makes the validation service misbehave from here on (all false: behave again).
    ValidationFault(ValidationFault),
}

/// No arguments (`lose_card: {}`).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// Which JPKI certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CertName {
    /// The user-authentication certificate (EF 000A).
    Auth,
    /// The signature certificate (EF 0001).
    Sign,
}

/// How a relying party asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// OCSP (RFC 6960), with a nonce.
    Ocsp,
    /// The municipality's daily CRL (RFC 5280).
    Crl,
    /// A relying party's verdict: the chain, then the validity dates (expired before
    /// revoked), then OCSP.
    RelyingParty,
}

/// `validate`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Validate {
    /// The capture holding the certificate (a `read` of EF 000A or 0001 with `as`).
    pub certificate: String,
    /// How to ask. Default: OCSP.
    #[serde(default = "Validate::ocsp")]
    pub via: Via,
}

impl Validate {
    fn ocsp() -> Via {
        Via::Ocsp
    }
}

/// `revoke`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Revoke {
    /// Which certificate.
    pub certificate: CertName,
    /// Why (RFC 5280 §5.3.1). Default: unspecified.
    #[serde(default)]
    pub reason: Option<String>,
}

/// `validation_fault`: every key defaults to false.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidationFault {
    /// OCSP answers `tryLater`.
    #[serde(default)]
    pub try_later: bool,
    /// The CRL served is yesterday's, past its nextUpdate.
    #[serde(default)]
    pub stale_crl: bool,
    /// The service does not answer.
    #[serde(default)]
    pub down: bool,
    /// The service answers HTTP 503.
    #[serde(default)]
    pub http_503: bool,
}

/// A key reference, optionally selected first.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRef {
    /// The key EF (`"0018"`); the step SELECTs it first (expecting `9000`). Default: the
    /// current EF.
    #[serde(default)]
    pub key: Option<String>,
}

/// VERIFY.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Verify {
    /// The key EF, selected first. Default: the current EF.
    #[serde(default)]
    pub key: Option<String>,
    /// The secret as text (`"1234"`, `"${card.code_b}"`).
    pub pin: String,
}

/// CHANGE REFERENCE DATA / CHANGE KEY.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePin {
    /// The key EF, selected first. Default: the current EF.
    #[serde(default)]
    pub key: Option<String>,
    /// The new secret.
    pub new: String,
}

/// READ BINARY.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Read {
    /// The EF, selected first. Default: the current EF.
    #[serde(default)]
    pub ef: Option<String>,
    /// Start offset. Default 0.
    #[serde(default)]
    pub offset: u16,
    /// Bytes to read in one READ BINARY (Le). Default: the whole EF, read like a client:
    /// chunks of 256 (Le `00`) until a short chunk or `6B 00`.
    #[serde(default)]
    pub length: Option<u32>,
    /// Read the whole EF in one READ BINARY with extended Le `00 00`.
    #[serde(default)]
    pub extended: bool,
    /// Read the whole EF like a client that sizes it from its BER header: this many bytes
    /// first (4 like OpenSC, 7 like MYNA-RS/MYNA-GO), then the rest in chunks of at most 256.
    #[serde(default)]
    pub probe: Option<u8>,
    /// With `probe`: after the header, read the whole object again from offset 0 (OpenSC's
    /// JPKI driver sizes the file with a 4-byte read, then reads it from the start) instead
    /// of going on from where the probe ended (MYNA-RS).
    #[serde(default)]
    pub reread: bool,
    /// The chunk size (Le) of a whole-EF or probe read, 1 to 256. Default 256 (Le `00`);
    /// 255 reads like the J-LIS client (7 × 255 and the remainder for a signature
    /// certificate).
    #[serde(default)]
    pub chunk: Option<u16>,
}

/// READ RECORD.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadRecord {
    /// Record number (from 1).
    pub record: u8,
    /// Short EF identifier (1–30): `P2 = SFI<<3 | 4`, no SELECT. Default: the current EF.
    #[serde(default)]
    pub sfi: Option<u8>,
    /// The EF, selected first (instead of `sfi`).
    #[serde(default)]
    pub ef: Option<String>,
}

/// The digest a `sign` step applies to `text`/`data` before sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Digest {
    /// Send a SHA-256 DigestInfo of the message (what most clients do).
    #[default]
    Sha256,
    /// Send a SHA-1 DigestInfo (JPKIREADER, JPKI-RS CLI).
    Sha1,
    /// Send the bytes as given.
    None,
}

/// COMPUTE DIGITAL SIGNATURE.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sign {
    /// The key EF (`"0017"`, `"001A"`), selected first; `default` sends P2 `00`, the
    /// application's default key (card-face and input-support challenge signing). Default:
    /// the current EF.
    #[serde(default)]
    pub key: Option<String>,
    /// Name the key in P2 as `80|SFI` instead of selecting it.
    #[serde(default)]
    pub by_sfi: bool,
    /// P1, the signature scheme (reference §2.7): 0 pads the given bytes, 1 bare SHA-256,
    /// 2 given hash, 3 card hashes, 4/5 PSS. Default 0.
    #[serde(default)]
    pub scheme: u8,
    /// The message as text (UTF-8).
    #[serde(default)]
    pub text: Option<String>,
    /// The message as hex; `${name}` inserts captured bytes (e.g. a GET CHALLENGE result).
    #[serde(default)]
    pub data: Option<String>,
    /// For scheme 0: how the message is turned into the bytes sent. Default: SHA-256
    /// DigestInfo. Other schemes send the message (or its hash, for 2 and 4) as the card
    /// expects.
    #[serde(default)]
    pub digest: Digest,
    /// Le; default `00` (256).
    #[serde(default)]
    pub le: Option<u32>,
}

/// GET DATA.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetData {
    /// The tag as 4 hex digits (`"00F8"`, `"5F51"`).
    pub tag: String,
    /// Use extended Le `00 00` (needed for the 575-byte CV certificates).
    #[serde(default)]
    pub extended: bool,
}

/// INTERNAL AUTHENTICATE.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InternalAuthenticate {
    /// The key EF, named in P2 as `80|SFI` (`"0019"`).
    pub key: String,
    /// The challenge in hex; `${name}` inserts captured bytes.
    pub challenge: String,
}

/// Power control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Power {
    /// Remove power: the session ends.
    Off,
    /// Cold start.
    On,
    /// Warm reset.
    Reset,
}

/// Expectations on a step's response. Every one given must hold.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The status word, 4 hex digits; `?` matches any nibble (`"63C?"`, `"6A8?"`).
    #[serde(default)]
    pub sw: Option<String>,
    /// Sugar for `sw: 63Cx`: tries left after the step.
    #[serde(default)]
    pub tries_left: Option<u8>,
    /// The data, exactly, in hex.
    #[serde(default)]
    pub data: Option<String>,
    /// The data starts with these bytes (hex).
    #[serde(default)]
    pub data_prefix: Option<String>,
    /// The data has exactly this many bytes.
    #[serde(default)]
    pub data_length: Option<usize>,
    /// The step sent exactly this many READ BINARY commands (a header probe included).
    #[serde(default)]
    pub reads: Option<usize>,
    /// The step's last READ BINARY answered this many data bytes (the last chunk's length).
    #[serde(default)]
    pub last_read: Option<usize>,
    /// A regular expression over the data as spaced upper-case hex (`"^30 82 "`).
    #[serde(default)]
    pub data_matches: Option<String>,
    /// The data equals this text (UTF-8); `${card.…}` and `${capture}` are substituted.
    #[serde(default)]
    pub text: Option<String>,
    /// The data equals what an earlier step captured under this name.
    #[serde(default)]
    pub same_as: Option<String>,
    /// The data differs from what an earlier step captured under this name.
    #[serde(default)]
    pub differs_from: Option<String>,
    /// The data is an X.509 certificate with these properties.
    #[serde(default)]
    pub certificate: Option<CertificateExpect>,
    /// The data is a signature that verifies, over the step's message, with the key in a
    /// capture: an X.509 certificate, a CV certificate (its subject key), or a record that
    /// holds a `90`/`91` RSA key (input-support EF 0007, card-face EF 0001).
    #[serde(default)]
    pub signature_verifies_with: Option<String>,
    /// The data is a signature that does NOT verify with the key in this capture.
    #[serde(default)]
    pub signature_does_not_verify_with: Option<String>,
    /// The data holds a My Number (EF 0001 `FF 10 0C …`, or 12 digits) whose check digit is
    /// `valid` or `invalid`.
    #[serde(default)]
    pub my_number_check_digit: Option<Validity>,
    /// BER-TLV checks on the data.
    #[serde(default)]
    pub tlv: Vec<TlvExpect>,
    /// The data is a card-verifiable certificate (EF 0004, GET DATA 00F8/7F21) whose
    /// signature verifies with this key: a capture, or `mynasim-test-cv-ca` for the
    /// simulator's published CV CA of the application.
    #[serde(default)]
    pub cv_certificate_verifies_with: Option<String>,
    /// The data is a CV certificate that does NOT verify with this key.
    #[serde(default)]
    pub cv_certificate_does_not_verify_with: Option<String>,
    /// The data is the input-support integrity record (EF 0003), checked the way a client
    /// checks it against the files it covers.
    #[serde(default)]
    pub integrity_record: Option<IntegrityExpect>,
    /// `true`: the card gives no answer at all — a fault took it out of the reader or
    /// dropped the link mid-command. Stands alone.
    #[serde(default)]
    pub no_answer: bool,
}

/// A client's check of the input-support integrity record (EF 0003, reference §1.4): its
/// DF31 and DF32 are the SHA-256 of EF 0001 (physical, filler included) and of EF 0002 from
/// DF22 on, and DF33 signs DF31‖DF32 with the key certified in EF 0004.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrityExpect {
    /// Capture of EF 0001.
    pub my_number_file: String,
    /// Capture of EF 0002.
    pub attributes_file: String,
    /// Capture of EF 0004.
    pub cv_certificate: String,
    /// Whether both digests match the files (`valid`) or not (`invalid`).
    pub digests: Validity,
    /// Whether DF33 verifies with EF 0004's key.
    pub signature: Validity,
}

/// Valid or invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Validity {
    /// Passes the check.
    Valid,
    /// Fails the check.
    Invalid,
}

/// Checks on an X.509 certificate.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateExpect {
    /// The subject (RFC 4514) contains this text.
    #[serde(default)]
    pub subject_contains: Option<String>,
    /// The issuer (RFC 4514) contains this text.
    #[serde(default)]
    pub issuer_contains: Option<String>,
    /// notAfter is before this date (`YYYY-MM-DD`, or `today` for the profile's today).
    #[serde(default)]
    pub not_after_before: Option<String>,
    /// notAfter is on or after this date (or `today`).
    #[serde(default)]
    pub not_after_after: Option<String>,
    /// notBefore is on or before this date (or `today`).
    #[serde(default)]
    pub not_before_before: Option<String>,
    /// These extensions are present (`key-usage`, `extended-key-usage`,
    /// `subject-alt-name`, `issuer-alt-name`, `certificate-policies`,
    /// `crl-distribution-points`, `authority-info-access`, `subject-key-identifier`,
    /// `authority-key-identifier`, `basic-constraints`).
    #[serde(default)]
    pub extensions: Vec<String>,
    /// These extensions are absent.
    #[serde(default)]
    pub no_extensions: Vec<String>,
    /// subjectAltName otherName values by OID (`1.2.392.200149.8.5.5.1: 試験　花子`).
    #[serde(default)]
    pub san: BTreeMap<String, String>,
    /// The certificate's signature verifies with this certificate (a capture name).
    #[serde(default)]
    pub signed_by: Option<String>,
}

/// A check on one TLV object: the data (after `skip` bytes) parses as BER-TLV, and the object
/// at `path` (tags in hex joined by `/`, e.g. `FF20/DF22`) has the given value.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlvExpect {
    /// Bytes to skip before the TLV (e.g. 2 for the "leading bytes" variant).
    #[serde(default)]
    pub skip: usize,
    /// Whether the data parses as TLV along the path. Default true.
    #[serde(default = "yes")]
    pub parses: bool,
    /// Path to the object, tags in hex (`FF20/DF23`). Default: the outermost object.
    #[serde(default)]
    pub path: Option<String>,
    /// The object's value equals this text (UTF-8); `${card.…}` and `${capture}` are
    /// substituted.
    #[serde(default)]
    pub text: Option<String>,
    /// The object's value equals these bytes (hex).
    #[serde(default)]
    pub hex: Option<String>,
    /// The object's value has this many bytes.
    #[serde(default)]
    pub length: Option<usize>,
    /// The object's value is valid UTF-8 (`valid`) or not (`invalid`).
    #[serde(default)]
    pub utf8: Option<Validity>,
    /// Whether the last tag of `path` is present. `false`: everything parses and that tag is
    /// absent (as opposed to `parses: false`).
    #[serde(default = "yes")]
    pub present: bool,
}

fn yes() -> bool {
    true
}
