//! A compiled scenario: every value checked, every reference resolved, no serde model types
//! left. The engine runs a [`Plan`]; nothing in it can be wrong in a way a scenario author
//! could have been told about before the run.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use jiff::civil::Date;
use mynasim_simulator::apdu::{Instruction, StatusWord};
use mynasim_simulator::hex;
use mynasim_simulator::profile::IssuedCard;
use mynasim_simulator::security::{ClientDigest, SignatureScheme};

/// Data kept by earlier steps (`as: NAME`), by name.
pub type Captures = HashMap<String, Vec<u8>>;

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
    /// What it can cost a card (the declared class, or the steps' when stricter), the card
    /// values it refers to and whether it sends extended APDUs.
    pub needs: super::safety::Needs,
    /// The card, freshly issued (clone it to run).
    pub card: Arc<IssuedCard>,
    /// Where the card's profile came from.
    pub profile: String,
    /// Whether the scenario overrides profile fields.
    pub customised: bool,
    /// `card.replay`: the recording the card answers from, and what it does on divergence.
    pub replay: Option<
        Arc<(
            mynasim_simulator::transcript::Transcript,
            mynasim_simulator::replay::OnDivergence,
        )>,
    >,
    /// What the scenario does.
    pub body: Body,
}

impl Plan {
    /// The card a target puts in its reader for this scenario: the issued card, or — with
    /// `card.replay` — a replay card answering from the recording, the issued card behind it
    /// for `on_divergence: simulate`.
    pub fn virtual_card(&self) -> Box<dyn mynasim_simulator::card::VirtualCard + Send> {
        match &self.replay {
            None => Box::new(self.card.card.clone()),
            Some(replay) => Box::new(mynasim_simulator::replay::ReplayCard::new(
                &replay.0,
                replay.1,
                Some(self.card.card.clone()),
            )),
        }
    }

    /// A stable identifier: the path, with `#N` for scenarios in a list.
    pub fn id(&self) -> String {
        if self.in_list {
            format!("{}#{}", self.path.display(), self.index + 1)
        } else {
            self.path.display().to_string()
        }
    }

    /// Where the scenario's golden transcript lives: `NAME.transcript` beside the file.
    pub fn golden_path(&self) -> PathBuf {
        self.path.with_extension("transcript")
    }
}

/// What a scenario does. Steps sent to a card today; a host program under test next.
#[derive(Debug, Clone)]
pub enum Body {
    /// Steps the harness sends to the card, with expectations on each answer.
    Steps(Vec<PlanStep>),
    /// A program under test with the card in a PC/SC reader.
    Exec(Box<ExecPlan>),
}

/// A program under test and what it must do.
#[derive(Debug, Clone)]
pub struct ExecPlan {
    /// Line of `exec:` in the file.
    pub line: u64,
    /// Steps sent to the card before the program starts.
    pub setup: Vec<PlanStep>,
    /// The program and its arguments.
    pub argv: Vec<Template>,
    /// The program and its arguments as written (reports show these: no secrets).
    pub shown: Vec<String>,
    /// Environment added.
    pub env: Vec<(String, Template)>,
    /// Its time limit.
    pub timeout: std::time::Duration,
    /// The card pulled out this long after the program starts, and back after the second.
    pub removal: Option<(std::time::Duration, Option<std::time::Duration>)>,
    /// The exit status.
    pub exit: ExitExpect,
    /// Checks on standard output.
    pub stdout: Vec<OutputRule>,
    /// Checks on standard error.
    pub stderr: Vec<OutputRule>,
    /// Transcript rules.
    pub rules: Vec<TranscriptRule>,
    /// The card afterwards.
    pub after: AfterExpect,
    /// Start a validation service for the program.
    pub validation: bool,
}

/// A program's expected exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitExpect {
    /// Exactly this status.
    Code(i32),
    /// Any status but 0 (a signal or a time-out is not an exit).
    NonZero,
}

/// One check on a program's output.
#[derive(Debug, Clone)]
pub struct OutputRule {
    /// Line in the file.
    pub line: u64,
    /// The check.
    pub kind: OutputKind,
}

/// What an output check looks for.
#[derive(Debug, Clone)]
pub enum OutputKind {
    /// This text appears.
    Contains(String),
    /// This text does not appear.
    Lacks(String),
    /// The expression matches.
    Matches(regex::Regex),
    /// The output is JSON and the value at the pointer equals this.
    Json {
        /// RFC 6901 pointer.
        pointer: String,
        /// The value.
        equals: serde_json::Value,
    },
}

/// One transcript rule, with where it was written.
#[derive(Debug, Clone)]
pub struct TranscriptRule {
    /// Line in the file.
    pub line: u64,
    /// The rule in words (`never_sends verify`).
    pub label: String,
    /// The author's note.
    pub note: Option<String>,
    /// The rule.
    pub kind: RuleKind,
}

/// What a transcript rule requires.
#[derive(Debug, Clone)]
pub enum RuleKind {
    /// At least one matching command.
    Sends(CommandPattern),
    /// No matching command.
    NeverSends(CommandPattern),
    /// At most this many matching commands.
    AtMost(CommandPattern, u32),
    /// Matching commands in this order.
    InOrder(Vec<CommandPattern>),
    /// After an answer matching `answer` (to a command matching `command`), no command
    /// matching `then`.
    NeverAfter {
        /// The status word.
        answer: SwPattern,
        /// The command answered.
        command: Option<CommandPattern>,
        /// Never sent afterwards.
        then: CommandPattern,
    },
    /// Every `command` comes after an `after` answered `90 00`.
    OnlyAfter {
        /// The command that waits.
        command: CommandPattern,
        /// The command that must succeed first.
        after: CommandPattern,
    },
}

pub use mynasim_simulator::apdu::CommandPattern;

/// The card's state expected when the program has ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AfterExpect {
    /// Tries left per `(app, key)`.
    pub tries_left: Vec<(String, u8)>,
    /// Signatures per `(app, key)`.
    pub signatures: Vec<(String, u32)>,
    /// The verified keys, exactly (sorted).
    pub verified: Option<Vec<String>>,
    /// Whether the card was reset.
    pub reset: Option<bool>,
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

/// Power control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    /// Remove power.
    Off,
    /// Cold start.
    On,
    /// Warm reset.
    Reset,
}

/// What one step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Something of the validation service (docs/validation.md).
    Validation(ValidationOp),
    /// Arm faults on the card from here on.
    Fault(Box<mynasim_simulator::card::FaultPlan>),
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
    /// CHANGE REFERENCE DATA or CHANGE KEY.
    Change {
        /// Key EF to select first.
        key: Option<[u8; 2]>,
        /// The new secret.
        new: Template,
        /// [`Instruction::ChangeReferenceData`] or [`Instruction::ChangeKey`].
        instruction: Instruction,
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
        /// The key, named in P2 by its short identifier.
        key: [u8; 2],
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
    /// Chunks of `chunk` bytes (256: Le `00`) until a short chunk or `6B 00`.
    Whole {
        /// The Le of each READ BINARY, 1 to 256.
        chunk: usize,
    },
    /// One READ BINARY with this Le.
    Range(usize),
    /// One READ BINARY with extended Le `00 00`.
    Extended,
    /// This many bytes first, then the rest of the BER object in chunks of at most `chunk`
    /// — from where the probe ended, or (`reread`) from the start again, as OpenSC does.
    Probe {
        /// The probe's length.
        first: u8,
        /// Read the whole object again from the start after the probe.
        reread: bool,
        /// The largest Le of the reads after the probe, 1 to 256.
        chunk: usize,
    },
}

/// A signing step, with what is needed to verify its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignOp {
    /// Key EF to select first (unless named in P2).
    pub key: Option<[u8; 2]>,
    /// P1, the scheme (also values the card refuses: the step tests the refusal).
    pub scheme: u8,
    /// P2.
    pub p2: u8,
    /// The message the signature is about.
    pub message: HexTemplate,
    /// How the message becomes scheme 0's input.
    pub digest: ClientDigest,
    /// Le.
    pub le: usize,
}

impl SignOp {
    /// The scheme, if P1 names one.
    pub fn scheme(&self) -> Option<SignatureScheme> {
        SignatureScheme::try_from(self.scheme).ok()
    }

    /// The data field sent for a message ([`SignatureScheme::client_payload`]); for a P1 that
    /// is no scheme, the message as given.
    pub fn payload(&self, message: &[u8]) -> Vec<u8> {
        match self.scheme() {
            Some(scheme) => scheme.client_payload(message, self.digest),
            None => message.to_vec(),
        }
    }
}

/// A piece of a [`Template`] or [`HexTemplate`] filled in at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureRef {
    /// The capture's name.
    pub name: String,
    /// `[a..b]` of it, clipped to its length.
    pub range: Option<(usize, usize)>,
}

impl CaptureRef {
    /// The bytes it names (empty when nothing was captured under the name).
    pub fn bytes<'c>(&self, captures: &'c Captures) -> &'c [u8] {
        let bytes = captures
            .get(&self.name)
            .map(Vec::as_slice)
            .unwrap_or_default();
        match self.range {
            Some((a, b)) => bytes.get(a..b.min(bytes.len())).unwrap_or_default(),
            None => bytes,
        }
    }
}

/// Text with `${capture}` references (card values are substituted at compile time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(pub Vec<TextPart>);

/// A part of a [`Template`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextPart {
    /// Literal text (also a resolved `${card.…}` value).
    Text(String),
    /// Captured bytes.
    Capture(CaptureRef),
}

impl Template {
    /// The text, with captures substituted (their bytes read as text).
    pub fn render(&self, captures: &Captures) -> Vec<u8> {
        let mut out = Vec::new();
        for part in &self.0 {
            match part {
                TextPart::Text(t) => out.extend_from_slice(t.as_bytes()),
                TextPart::Capture(c) => out.extend_from_slice(c.bytes(captures)),
            }
        }
        out
    }
}

/// Bytes with `${capture}` references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HexTemplate(pub Vec<BytesPart>);

/// A part of a [`HexTemplate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BytesPart {
    /// Literal bytes (also a resolved `${card.…}` value's ASCII).
    Bytes(Vec<u8>),
    /// Captured bytes.
    Capture(CaptureRef),
}

impl HexTemplate {
    /// The bytes, with captures substituted.
    pub fn render(&self, captures: &Captures) -> Vec<u8> {
        let mut out = Vec::new();
        for part in &self.0 {
            match part {
                BytesPart::Bytes(b) => out.extend_from_slice(b),
                BytesPart::Capture(c) => out.extend_from_slice(c.bytes(captures)),
            }
        }
        out
    }

    /// The literal bytes before the first capture (for labels).
    pub fn literal_prefix(&self) -> &[u8] {
        match self.0.first() {
            Some(BytesPart::Bytes(b)) => b,
            _ => &[],
        }
    }
}

impl From<Template> for HexTemplate {
    /// Text as bytes: its UTF-8, captures kept.
    fn from(t: Template) -> Self {
        Self(
            t.0.into_iter()
                .map(|part| match part {
                    TextPart::Text(t) => BytesPart::Bytes(t.into_bytes()),
                    TextPart::Capture(c) => BytesPart::Capture(c),
                })
                .collect(),
        )
    }
}

/// A status word pattern: `value` where `mask` bits are 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwPattern {
    /// Expected bits.
    pub value: u16,
    /// Which bits are checked.
    pub mask: u16,
    /// As written, `?` for unchecked nibbles.
    pub text: [u8; 4],
}

impl SwPattern {
    /// Parses `9000`, `63C?`, `6A8x` (spaces allowed).
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
            if matches!(c, '?' | 'x' | 'X') {
                continue;
            }
            let d = u16::try_from(c.to_digit(16)?).ok()?;
            value |= d;
            mask |= 0xF;
            if let Some(s) = shown.get_mut(i) {
                *s = u8::try_from(c.to_ascii_uppercase()).ok()?;
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
        let mut text = [0u8; 4];
        for (t, c) in text.iter_mut().zip(hex::compact(&sw.to_bytes()).bytes()) {
            *t = c;
        }
        Self {
            value: sw.to_u16(),
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

impl DateRef {
    /// The date, with `today` for [`DateRef::Today`].
    pub fn resolve(self, today: Date) -> Date {
        match self {
            Self::Today => today,
            Self::Day(day) => day,
        }
    }
}

/// An X.509 extension named in an expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionRef {
    /// Its name (`key-usage`).
    pub name: String,
    /// Its OID (`2.5.29.15`).
    pub oid: String,
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
    /// Extensions present.
    pub extensions: Vec<ExtensionRef>,
    /// Extensions absent.
    pub no_extensions: Vec<ExtensionRef>,
    /// SAN otherName values by OID.
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
    /// The value must be valid UTF-8 (`true`) or must not (`false`).
    pub utf8_valid: Option<bool>,
}

/// The input-support integrity record check (reference §1.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrityCheck {
    /// Capture of EF 0001.
    pub my_number_file: String,
    /// Capture of EF 0002.
    pub attributes_file: String,
    /// Capture of EF 0004.
    pub cv_certificate: String,
    /// Whether both digests must match the files.
    pub digests_match: bool,
    /// Whether DF33 must verify with EF 0004's key.
    pub signature_verifies: bool,
}

/// Whose key checks a card-verifiable certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CvKey {
    /// The simulator's published test CV CA (`mynasim-test-cv-ca`).
    TestCa,
    /// The key in a capture.
    Capture(String),
}

impl CvKey {
    /// How scenarios name the test CV CA.
    pub const TEST_CA_NAME: &'static str = "mynasim-test-cv-ca";
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
    /// READ BINARY commands the step sent.
    pub reads: Option<usize>,
    /// Data bytes of the step's last READ BINARY answer.
    pub last_read: Option<usize>,
    /// Regex over spaced hex.
    pub data_matches: Option<regex::Regex>,
    /// Data as text.
    pub text: Option<Template>,
    /// Data equals a capture.
    pub same_as: Option<String>,
    /// Data differs from a capture.
    pub differs_from: Option<String>,
    /// Certificate checks.
    pub certificate: Option<CertificateChecks>,
    /// Signature verifies with the key in this capture.
    pub signature_verifies_with: Option<String>,
    /// Signature does not verify with the key in this capture.
    pub signature_does_not_verify_with: Option<String>,
    /// The My Number's check digit must be valid (`true`) or not (`false`).
    pub my_number_check_digit_valid: Option<bool>,
    /// TLV checks.
    pub tlv: Vec<TlvCheck>,
    /// CV certificate verifies with this key.
    pub cv_certificate_verifies_with: Option<CvKey>,
    /// CV certificate does not verify with this key.
    pub cv_certificate_does_not_verify_with: Option<CvKey>,
    /// The integrity record check.
    pub integrity_record: Option<IntegrityCheck>,
    /// The card gives no answer: it left the reader, or the link dropped, mid-command (a
    /// fault).
    pub no_answer: bool,
}

impl Expectations {
    /// Only `sw`.
    pub fn sw(sw: SwPattern) -> Self {
        Self {
            sw,
            data: None,
            data_prefix: None,
            data_length: None,
            reads: None,
            last_read: None,
            data_matches: None,
            text: None,
            same_as: None,
            differs_from: None,
            certificate: None,
            signature_verifies_with: None,
            signature_does_not_verify_with: None,
            my_number_check_digit_valid: None,
            tlv: Vec::new(),
            cv_certificate_verifies_with: None,
            cv_certificate_does_not_verify_with: None,
            integrity_record: None,
            no_answer: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sw_patterns_match_only_their_bits() {
        let p = SwPattern::parse("63C?").unwrap_or(SwPattern::exact(StatusWord::Success));
        assert!(p.matches(0x63C0) && p.matches(0x63CF));
        assert!(!p.matches(0x63D0) && !p.matches(0x9000));
        assert_eq!(p.display(), "63 C?");
        let x = SwPattern::parse("6a8x").unwrap_or(SwPattern::exact(StatusWord::Success));
        assert!(x.matches(0x6A82) && !x.matches(0x6B82));
        assert_eq!(x.display(), "6A 8?");
        let exact = SwPattern::exact(StatusWord::retries(2));
        assert!(exact.matches(0x63C2) && !exact.matches(0x63C3));
        assert_eq!(exact.display(), "63 C2");
        for bad in ["900", "90000", "9g00", ""] {
            assert!(SwPattern::parse(bad).is_none(), "{bad}");
        }
        assert!(SwPattern::parse("90 00").is_some());
    }

    #[test]
    fn captures_render_whole_or_a_clipped_range() {
        let mut captures = Captures::new();
        captures.insert("c".into(), vec![1, 2, 3, 4]);
        let whole = CaptureRef {
            name: "c".into(),
            range: None,
        };
        let part = CaptureRef {
            name: "c".into(),
            range: Some((1, 10)),
        };
        let outside = CaptureRef {
            name: "c".into(),
            range: Some((5, 6)),
        };
        let missing = CaptureRef {
            name: "d".into(),
            range: None,
        };
        assert_eq!(whole.bytes(&captures), [1, 2, 3, 4]);
        assert_eq!(part.bytes(&captures), [2, 3, 4]);
        assert!(outside.bytes(&captures).is_empty());
        assert!(missing.bytes(&captures).is_empty());
        let t = HexTemplate(vec![BytesPart::Bytes(vec![0xAA]), BytesPart::Capture(part)]);
        assert_eq!(t.render(&captures), [0xAA, 2, 3, 4]);
        assert_eq!(t.literal_prefix(), [0xAA]);
        let text = Template(vec![TextPart::Text("x".into()), TextPart::Capture(whole)]);
        assert_eq!(text.render(&captures), [b'x', 1, 2, 3, 4]);
    }

    fn sign_op(scheme: u8, digest: ClientDigest) -> SignOp {
        SignOp {
            key: None,
            scheme,
            p2: 0x80,
            message: HexTemplate(vec![]),
            digest,
            le: 256,
        }
    }

    #[test]
    fn sign_payloads_follow_the_scheme_in_p1() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        let sha256 =
            hex::decode("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD")
                .unwrap_or_default();
        let info = [
            hex::decode("3031300D060960864801650304020105000420").unwrap_or_default(),
            sha256.clone(),
        ]
        .concat();
        assert_eq!(sign_op(0, ClientDigest::Sha256).payload(b"abc"), info);
        assert_eq!(sign_op(0, ClientDigest::None).payload(b"abc"), b"abc");
        for scheme in [2, 4] {
            assert_eq!(sign_op(scheme, ClientDigest::Sha1).payload(b"abc"), sha256);
        }
        for scheme in [1, 3, 5] {
            assert_eq!(
                sign_op(scheme, ClientDigest::Sha256).payload(b"abc"),
                b"abc"
            );
        }
        // A P1 that is no scheme sends the message as given (the card must refuse it).
        for scheme in [6, 0x80, 0xFF] {
            let op = sign_op(scheme, ClientDigest::Sha256);
            assert_eq!(op.scheme(), None);
            assert_eq!(op.payload(b"abc"), b"abc");
        }
        assert_eq!(
            sign_op(4, ClientDigest::Sha256).scheme(),
            Some(SignatureScheme::PssPrehashed)
        );
    }

    #[test]
    fn text_templates_become_bytes_with_their_captures() {
        let c = CaptureRef {
            name: "c".into(),
            range: Some((0, 1)),
        };
        let text = Template(vec![
            TextPart::Text("試".into()),
            TextPart::Capture(c.clone()),
        ]);
        assert_eq!(
            HexTemplate::from(text),
            HexTemplate(vec![
                BytesPart::Bytes("試".as_bytes().to_vec()),
                BytesPart::Capture(c.clone())
            ])
        );
        assert!(HexTemplate(vec![]).literal_prefix().is_empty());
        assert!(
            HexTemplate(vec![BytesPart::Capture(c), BytesPart::Bytes(vec![1])])
                .literal_prefix()
                .is_empty()
        );
    }

    #[test]
    fn backwards_and_empty_ranges_give_no_bytes() {
        let mut captures = Captures::new();
        captures.insert("c".into(), vec![1, 2, 3, 4]);
        for range in [(3, 1), (2, 2), (4, 9)] {
            let r = CaptureRef {
                name: "c".into(),
                range: Some(range),
            };
            assert!(r.bytes(&captures).is_empty(), "{range:?}");
        }
    }

    #[test]
    fn exact_and_parsed_patterns_show_their_digits() {
        let ok = SwPattern::exact(StatusWord::Success);
        assert_eq!((ok.value, ok.mask, ok.text), (0x9000, 0xFFFF, *b"9000"));
        assert_eq!(ok.display(), "90 00");
        assert_eq!(SwPattern::parse(" 9 0 0 0 "), Some(ok));
        let any = SwPattern::parse("????");
        assert_eq!(
            any,
            Some(SwPattern {
                value: 0,
                mask: 0,
                text: *b"????"
            })
        );
        assert!(any.is_some_and(|p| p.matches(0x6A82) && p.matches(0x9000)));
        assert_eq!(
            SwPattern::parse("6a8X"),
            Some(SwPattern {
                value: 0x6A80,
                mask: 0xFFF0,
                text: *b"6A8?"
            })
        );
    }

    #[test]
    fn dates_resolve_against_the_profiles_today() {
        let today = jiff::civil::date(2026, 11, 25);
        let day = jiff::civil::date(2030, 1, 2);
        assert_eq!(DateRef::Today.resolve(today), today);
        assert_eq!(DateRef::Day(day).resolve(today), day);
    }

    #[test]
    fn a_plan_is_named_by_its_file_and_list_index() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/unit/x.yaml");
        let loaded = crate::scenario::load::load_str(
            "version: 1\nname: unit\nsteps: [ { power: on } ]\n",
            &path,
        )
        .unwrap_or_default();
        let Some(loaded) = loaded.first() else {
            panic!("nothing loaded");
        };
        let mut plan =
            match crate::scenario::compile(loaded, &crate::scenario::CardCache::default()) {
                Ok(plan) => plan,
                Err(e) => panic!("{e}"),
            };
        assert_eq!(plan.id(), path.display().to_string());
        assert_eq!(plan.golden_path(), path.with_extension("transcript"));
        plan.in_list = true;
        plan.index = 2;
        assert_eq!(plan.id(), format!("{}#3", path.display()));
    }
}

/// A step about the validation service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidationOp {
    /// Ask about the certificate in a capture.
    Validate {
        /// The capture.
        capture: String,
        /// How.
        via: crate::scenario::model::Via,
    },
    /// Both certificates on hold.
    LoseCard,
    /// Held certificates revoked, new ones issued into the card.
    FindCard,
    /// The signature certificate revoked (affiliationChanged).
    MoveHouse,
    /// Old certificate superseded, a new one issued into the card.
    Renew(mynasim_simulator::pki::jpki::CertKind),
    /// A certificate revoked.
    Revoke {
        /// Which.
        kind: mynasim_simulator::pki::jpki::CertKind,
        /// Why.
        reason: x509_cert::ext::pkix::crl::CrlReason,
    },
    /// The service's clock moves on.
    Advance(jiff::SignedDuration),
    /// The service's faults from now on.
    Fault(mynasim_simulator::validation::Faults),
}
