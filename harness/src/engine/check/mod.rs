//! Evaluating a step's expectations against what the card answered: the harness's oracle.
//!
//! One module per kind of knowledge — raw bytes ([`bytes`]), X.509 certificates and
//! signatures ([`x509`]), card-verifiable certificates ([`cv`]), BER-TLV ([`tlv`]), the
//! input-support integrity record ([`integrity`]), a program under test ([`program`]) — each a set of small functions that
//! return what did not hold, one line per failure, worded `what: expected …, got …`. Every
//! one of them is shown to fail on input that must fail (the unit tests here, the must-fail
//! scenario corpus in `harness/tests/must-fail/`, and `cargo-mutants`).

pub mod bytes;
pub mod cv;
pub mod integrity;
pub mod program;
pub mod tlv;
pub mod x509;

use jiff::civil::Date;
use mynasim_simulator::hex;

use mynasim_simulator::apdu::Instruction;
use mynasim_simulator::transcript::{Entry, Exchange};

use crate::scenario::plan::{Captures, Expectations, Op};

/// What the checks can see besides the response.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Data kept by earlier steps.
    pub captures: &'a Captures,
    /// The profile's "today".
    pub today: Date,
    /// The operation of this step.
    pub op: &'a Op,
    /// For `sign` steps: the message signed.
    pub message: Option<&'a [u8]>,
}

impl<'a> Context<'a> {
    /// The bytes captured under `name` (empty when nothing was).
    pub fn capture(&self, name: &str) -> &'a [u8] {
        self.captures
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

/// Checks every expectation; returns what did not hold (empty: passed).
pub fn check(e: &Expectations, sw: u16, data: &[u8], ctx: &Context<'_>) -> Vec<String> {
    let mut failures = Vec::new();
    if e.no_answer {
        failures.push(format!(
            "no answer expected (the card gone mid-command), got {sw:04X}"
        ));
        return failures;
    }
    failures.extend(bytes::sw(&e.sw, sw));
    if let Some(want) = &e.data {
        failures.extend(bytes::data(want, data));
    }
    if let Some(prefix) = &e.data_prefix {
        failures.extend(bytes::prefix(prefix, data));
    }
    if let Some(n) = e.data_length {
        failures.extend(bytes::length(n, data));
    }
    if let Some(re) = &e.data_matches {
        failures.extend(bytes::matches(re, data));
    }
    if let Some(text) = &e.text {
        failures.extend(bytes::text(&text.render(ctx.captures), data));
    }
    if let Some(name) = &e.same_as {
        failures.extend(bytes::same_as(name, ctx.capture(name), data));
    }
    if let Some(name) = &e.differs_from {
        failures.extend(bytes::differs_from(name, ctx.capture(name), data));
    }
    if let Some(c) = &e.certificate {
        failures.extend(x509::certificate(c, data, ctx));
    }
    if let Some(name) = &e.signature_verifies_with {
        failures.extend(x509::signature(name, data, ctx, true));
    }
    if let Some(name) = &e.signature_does_not_verify_with {
        failures.extend(x509::signature(name, data, ctx, false));
    }
    if let Some(valid) = e.my_number_check_digit_valid {
        failures.extend(bytes::my_number(valid, data));
    }
    for (i, t) in e.tlv.iter().enumerate() {
        if let Err(msg) = tlv::check(t, data, ctx.captures) {
            failures.push(format!("tlv[{i}]: {msg}"));
        }
    }
    if let Some(key) = &e.cv_certificate_verifies_with {
        failures.extend(cv::certificate(key, data, ctx, true));
    }
    if let Some(key) = &e.cv_certificate_does_not_verify_with {
        failures.extend(cv::certificate(key, data, ctx, false));
    }
    if let Some(i) = &e.integrity_record {
        failures.extend(integrity::record(i, data, ctx));
    }
    failures
}

/// Checks `reads` and `last_read` against the step's exchanges: how many READ BINARY
/// commands it sent, and how many data bytes the last one answered — the chunk pattern a
/// client with a fixed read size sees (issue 13: 4-byte probe, 7-byte header, 255-byte
/// chunks).
pub fn reads(e: &Expectations, entries: &[Entry]) -> Vec<String> {
    let mut failures = Vec::new();
    if e.reads.is_none() && e.last_read.is_none() {
        return failures;
    }
    let read_binaries: Vec<&Exchange> = entries
        .iter()
        .filter_map(Entry::exchange)
        .filter(|x| x.command.get(1) == Some(&Instruction::ReadBinary.code()))
        .collect();
    if let Some(n) = e.reads
        && read_binaries.len() != n
    {
        failures.push(format!(
            "reads: expected {n} READ BINARY commands, the step sent {}",
            read_binaries.len()
        ));
    }
    if let Some(n) = e.last_read {
        match read_binaries.last() {
            None => failures.push(format!(
                "last_read: expected a last READ BINARY of {n} bytes, the step sent none"
            )),
            Some(x) if x.data().len() != n => failures.push(format!(
                "last_read: expected {n} bytes in the last READ BINARY answer, got {}",
                x.data().len()
            )),
            Some(_) => {}
        }
    }
    failures
}

/// Spaced hex, cut after 48 bytes.
pub fn shorten(data: &[u8]) -> String {
    if data.is_empty() {
        return "no data".to_owned();
    }
    if data.len() <= 48 {
        return hex::spaced(data);
    }
    format!(
        "{} … ({} bytes)",
        hex::spaced(data.get(..48).unwrap_or(data)),
        data.len()
    )
}

/// `valid` or `invalid`.
fn validity(valid: bool) -> &'static str {
    if valid { "valid" } else { "invalid" }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]
    #[test]
    fn reads_counts_read_binary_commands_and_the_last_answer() {
        use mynasim_simulator::transcript::{Entry, Event, Exchange};
        let exchange = |cmd: &[u8], rsp: &[u8]| {
            Entry::new(Event::Exchange(Exchange::new(cmd.to_vec(), rsp.to_vec())))
        };
        let entries = [
            exchange(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x0A], &[0x90, 0x00]),
            exchange(&[0x00, 0xB0, 0x00, 0x00, 0x04], &[1, 2, 3, 4, 0x90, 0x00]),
            Entry::new(Event::Comment("between".into())),
            exchange(&[0x00, 0xB0, 0x00, 0x04, 0x02], &[5, 6, 0x90, 0x00]),
        ];
        let expect = |reads, last_read| Expectations {
            reads,
            last_read,
            ..Expectations::sw(pattern("9000"))
        };
        assert_eq!(super::reads(&expect(None, None), &entries), [""; 0]);
        assert_eq!(super::reads(&expect(Some(2), Some(2)), &entries), [""; 0]);
        assert_eq!(
            super::reads(&expect(Some(3), Some(4)), &entries),
            [
                "reads: expected 3 READ BINARY commands, the step sent 2",
                "last_read: expected 4 bytes in the last READ BINARY answer, got 2",
            ]
        );
        assert_eq!(
            super::reads(&expect(Some(1), None), &entries),
            ["reads: expected 1 READ BINARY commands, the step sent 2"]
        );
        assert_eq!(
            super::reads(&expect(None, Some(0)), &entries[..1]),
            ["last_read: expected a last READ BINARY of 0 bytes, the step sent none"]
        );
    }

    use std::sync::OnceLock;

    use mynasim_simulator::apdu::{BinaryAddress, KeyReference, build};
    use mynasim_simulator::apps::AppId;
    use mynasim_simulator::security::ClientDigest;

    use super::*;
    use crate::scenario::plan::{
        BytesPart, CaptureRef, CertificateChecks, CvKey, HexTemplate, IntegrityCheck, SignOp,
        SwPattern, Template, TextPart, TlvCheck,
    };

    /// What every `sign` step of the fixture signed.
    pub(crate) const MESSAGE: &[u8] = b"mynasim check";

    /// The default profile's "today".
    pub(crate) fn today() -> Date {
        Date::constant(2026, 11, 25)
    }

    /// What the checks get to see, read from a card issued from the committed default
    /// profile with the APDUs a client sends.
    pub(crate) struct Fixture {
        /// JPKI EF 000A: the user-authentication certificate.
        pub(crate) auth_cert: Vec<u8>,
        /// JPKI EF 000B: the authentication CA.
        pub(crate) auth_ca: Vec<u8>,
        /// JPKI EF 0001 (after the password): the signature certificate.
        pub(crate) sign_cert: Vec<u8>,
        /// JPKI EF 0002: the signature CA.
        pub(crate) sign_ca: Vec<u8>,
        /// Input support EF 0001: `FF 10 0C <digits> FF FF`.
        pub(crate) my_number: Vec<u8>,
        /// Input support EF 0002: `FF 20 { DF21 … DF25 }`.
        pub(crate) attributes: Vec<u8>,
        /// Input support EF 0003: `FF 30 { DF31, DF32, DF33 }`.
        pub(crate) integrity: Vec<u8>,
        /// Input support EF 0004: a CV certificate (`7F21`).
        pub(crate) cv_certificate: Vec<u8>,
        /// Input support EF 0006: `A1 { 90, 91 }`.
        pub(crate) session_key: Vec<u8>,
        /// Input support EF 0007: `FF 50 { DF51 { 90, 91 }, DF52 }`.
        pub(crate) signed_key: Vec<u8>,
        /// GET DATA 00F8: root → intermediate CV certificate, GET DATA form.
        pub(crate) cv_root: Vec<u8>,
        /// GET DATA 7F21: intermediate → lower CV certificate, GET DATA form.
        pub(crate) cv_lower: Vec<u8>,
        /// The JPKI authentication key's signatures of [`MESSAGE`], one per scheme (and
        /// scheme 00 with each client digest).
        pub(crate) signatures: Vec<(SignOp, Vec<u8>)>,
        /// The input-support key 0013's scheme-00 signature of [`MESSAGE`] (its public half
        /// is EF 0007).
        pub(crate) text_signature: (SignOp, Vec<u8>),
    }

    fn send(card: &mut mynasim_simulator::Card, apdu: &[u8]) -> Vec<u8> {
        let mut answer = card.transmit(apdu);
        let sw = answer.split_off(answer.len() - 2);
        assert_eq!(sw, [0x90, 0x00], "{}", hex::spaced(apdu));
        answer
    }

    fn read(card: &mut mynasim_simulator::Card, ef: [u8; 2]) -> Vec<u8> {
        send(card, &build::select_ef(ef));
        send(card, &build::read_binary_extended(BinaryAddress::Offset(0)))
    }

    pub(crate) fn sign_op(scheme: u8, digest: ClientDigest) -> SignOp {
        SignOp {
            key: None,
            scheme,
            p2: 0x80,
            message: HexTemplate(vec![BytesPart::Bytes(MESSAGE.to_vec())]),
            digest,
            le: 256,
        }
    }

    fn sign(card: &mut mynasim_simulator::Card, op: SignOp) -> (SignOp, Vec<u8>) {
        let apdu = build::compute_digital_signature(op.scheme, op.p2, &op.payload(MESSAGE), op.le);
        let signature = send(card, &apdu);
        (op, signature)
    }

    /// The fixture, read once per test process.
    pub(crate) fn fixture() -> &'static Fixture {
        static FIXTURE: OnceLock<Fixture> = OnceLock::new();
        FIXTURE.get_or_init(|| {
            let issued = crate::profiles::ProfileSource::BuiltinDefault
                .issue()
                .unwrap();
            let mut card = issued.card.clone();
            card.power_on();
            let cv_root = send(&mut card, &build::get_data([0x00, 0xF8], true));
            let cv_lower = send(&mut card, &build::get_data([0x7F, 0x21], true));

            send(&mut card, &build::select_df(AppId::Jpki.aid()));
            let auth_cert = read(&mut card, [0x00, 0x0A]);
            let auth_ca = read(&mut card, [0x00, 0x0B]);
            let sign_ca = read(&mut card, [0x00, 0x02]);
            send(&mut card, &build::select_ef([0x00, 0x1B]));
            send(&mut card, &build::verify(KeyReference::Current, b"ABC123"));
            let sign_cert = read(&mut card, [0x00, 0x01]);
            send(&mut card, &build::select_ef([0x00, 0x18]));
            send(&mut card, &build::verify(KeyReference::Current, b"1234"));
            send(&mut card, &build::select_ef([0x00, 0x17]));
            let signatures = [
                (0x00, ClientDigest::Sha256),
                (0x00, ClientDigest::Sha1),
                (0x00, ClientDigest::None),
                (0x01, ClientDigest::Sha256),
                (0x02, ClientDigest::Sha256),
                (0x03, ClientDigest::Sha256),
                (0x04, ClientDigest::Sha256),
                (0x05, ClientDigest::Sha256),
            ]
            .into_iter()
            .map(|(scheme, digest)| sign(&mut card, sign_op(scheme, digest)))
            .collect();

            send(&mut card, &build::select_df(AppId::InputSupport.aid()));
            send(&mut card, &build::select_ef([0x00, 0x11]));
            send(&mut card, &build::verify(KeyReference::Current, b"1234"));
            let my_number = read(&mut card, [0x00, 0x01]);
            let attributes = read(&mut card, [0x00, 0x02]);
            let integrity = read(&mut card, [0x00, 0x03]);
            let cv_certificate = read(&mut card, [0x00, 0x04]);
            let session_key = read(&mut card, [0x00, 0x06]);
            let signed_key = read(&mut card, [0x00, 0x07]);
            let text_signature = sign(
                &mut card,
                SignOp {
                    p2: 0x00,
                    ..sign_op(0x00, ClientDigest::Sha256)
                },
            );
            Fixture {
                auth_cert,
                auth_ca,
                sign_cert,
                sign_ca,
                my_number,
                attributes,
                integrity,
                cv_certificate,
                session_key,
                signed_key,
                cv_root,
                cv_lower,
                signatures,
                text_signature,
            }
        })
    }

    /// Everything the fixture read, captured under the names the tests use.
    pub(crate) fn captures() -> Captures {
        let f = fixture();
        [
            ("auth_cert", &f.auth_cert),
            ("auth_ca", &f.auth_ca),
            ("sign_cert", &f.sign_cert),
            ("sign_ca", &f.sign_ca),
            ("ef0001", &f.my_number),
            ("ef0002", &f.attributes),
            ("ef0003", &f.integrity),
            ("ef0004", &f.cv_certificate),
            ("ef0006", &f.session_key),
            ("ef0007", &f.signed_key),
            ("root", &f.cv_root),
            ("lower", &f.cv_lower),
            ("junk", &vec![0x01, 0x02, 0x03]),
        ]
        .into_iter()
        .map(|(name, bytes)| (name.to_owned(), bytes.clone()))
        .collect()
    }

    /// A step that is not a `sign` step.
    pub(crate) const READ: Op = Op::GetChallenge(8);

    /// A context for a step that is not a `sign` step.
    pub(crate) fn ctx(captures: &Captures) -> Context<'_> {
        Context {
            captures,
            today: today(),
            op: &READ,
            message: None,
        }
    }

    #[test]
    fn shorten_cuts_after_48_bytes() {
        assert_eq!(shorten(&[]), "no data");
        assert_eq!(shorten(&[0x0A]), "0A");
        let bytes: Vec<u8> = (0..49).collect();
        let spaced48 = hex::spaced(&bytes[..48]);
        assert_eq!(shorten(&bytes[..48]), spaced48);
        assert_eq!(shorten(&bytes), format!("{spaced48} … (49 bytes)"));
        assert!(spaced48.starts_with("00 01 02") && spaced48.ends_with(" 2D 2E 2F"));
    }

    #[test]
    fn validity_names_both_ways() {
        assert_eq!(validity(true), "valid");
        assert_eq!(validity(false), "invalid");
    }

    #[test]
    fn a_capture_is_its_bytes_or_nothing() {
        let mut captures = Captures::new();
        captures.insert("c".to_owned(), vec![1, 2]);
        let ctx = ctx(&captures);
        assert_eq!(ctx.capture("c"), [1, 2]);
        assert_eq!(ctx.capture("d"), [0u8; 0]);
    }

    fn pattern(text: &str) -> SwPattern {
        SwPattern::parse(text).unwrap()
    }

    fn tlv(path: &[u32], length: usize) -> TlvCheck {
        TlvCheck {
            skip: 0,
            parses: true,
            path: path.to_vec(),
            text: None,
            present: true,
            hex: None,
            length: Some(length),
            utf8_valid: None,
        }
    }

    fn capture_text(name: &str) -> Template {
        Template(vec![TextPart::Capture(CaptureRef {
            name: name.to_owned(),
            range: None,
        })])
    }

    fn integrity(digests_match: bool, signature_verifies: bool) -> IntegrityCheck {
        IntegrityCheck {
            my_number_file: "ef0001".to_owned(),
            attributes_file: "ef0002".to_owned(),
            cv_certificate: "ef0004".to_owned(),
            digests_match,
            signature_verifies,
        }
    }

    #[test]
    fn check_passes_when_every_expectation_holds() {
        let f = fixture();
        let captures = captures();
        let ctx = ctx(&captures);
        let ok = pattern("9000");
        assert_eq!(check(&Expectations::sw(ok), 0x9000, &[], &ctx), [""; 0]);

        // Every byte-level expectation at once, on the My Number file.
        let bytes = Expectations {
            data: Some(f.my_number.clone()),
            data_prefix: Some(vec![0xFF, 0x10, 0x0C]),
            data_length: Some(17),
            data_matches: Some(regex::Regex::new("^FF 10 0C ").unwrap()),
            text: Some(capture_text("ef0001")),
            same_as: Some("ef0001".to_owned()),
            differs_from: Some("ef0002".to_owned()),
            my_number_check_digit_valid: Some(true),
            tlv: vec![tlv(&[0xFF10], 12), tlv(&[], 12)],
            ..Expectations::sw(ok)
        };
        assert_eq!(check(&bytes, 0x9000, &f.my_number, &ctx), [""; 0]);

        let certificate = Expectations {
            certificate: Some(CertificateChecks {
                subject_contains: Some("C=JP".to_owned()),
                signed_by: Some("auth_ca".to_owned()),
                ..CertificateChecks::default()
            }),
            ..Expectations::sw(ok)
        };
        assert_eq!(check(&certificate, 0x9000, &f.auth_cert, &ctx), [""; 0]);

        let (op, signature) = &f.signatures[0];
        let op = Op::Sign(op.clone());
        let sign_ctx = Context {
            op: &op,
            message: Some(MESSAGE),
            ..ctx
        };
        let signed = Expectations {
            signature_verifies_with: Some("auth_cert".to_owned()),
            signature_does_not_verify_with: Some("sign_cert".to_owned()),
            ..Expectations::sw(ok)
        };
        assert_eq!(check(&signed, 0x9000, signature, &sign_ctx), [""; 0]);

        let cv = Expectations {
            cv_certificate_verifies_with: Some(CvKey::TestCa),
            cv_certificate_does_not_verify_with: Some(CvKey::Capture("ef0007".to_owned())),
            ..Expectations::sw(ok)
        };
        assert_eq!(check(&cv, 0x9000, &f.cv_certificate, &ctx), [""; 0]);

        let record = Expectations {
            integrity_record: Some(integrity(true, true)),
            ..Expectations::sw(ok)
        };
        assert_eq!(check(&record, 0x9000, &f.integrity, &ctx), [""; 0]);
    }

    #[test]
    fn check_reports_every_failure_in_order() {
        let f = fixture();
        let captures = captures();
        let ctx = ctx(&captures);
        let ok = pattern("9000");
        assert_eq!(
            check(&Expectations::sw(ok), 0x6A82, &[], &ctx),
            ["SW: expected 90 00, got 6A 82"]
        );

        let bytes = Expectations {
            data: Some(vec![0x01]),
            data_prefix: Some(vec![0x30]),
            data_length: Some(16),
            data_matches: Some(regex::Regex::new("^30 ").unwrap()),
            text: Some(Template(vec![TextPart::Text("x".to_owned())])),
            same_as: Some("ef0002".to_owned()),
            differs_from: Some("ef0001".to_owned()),
            my_number_check_digit_valid: Some(false),
            tlv: vec![tlv(&[0xFF10], 12), tlv(&[0xFF10], 11), tlv(&[0xFF20], 12)],
            ..Expectations::sw(pattern("6A82"))
        };
        let data = "FF 10 0C 34 39 30 36 32 35 30 31 39 33 36 30 FF FF";
        assert_eq!(
            hex::spaced(&f.my_number),
            data,
            "the default profile's My Number"
        );
        assert_eq!(
            check(&bytes, 0x9000, &f.my_number, &ctx),
            [
                "SW: expected 6A 82, got 90 00".to_owned(),
                format!("data: expected 01, got {data}"),
                format!("data: expected to start with 30, got {data}"),
                "data length: expected 16, got 17".to_owned(),
                format!("data: expected to match /^30 /, got {data}"),
                format!(
                    "text: expected \"x\", got {:?}",
                    String::from_utf8_lossy(&f.my_number)
                ),
                format!(
                    "data: expected the same bytes as `ef0002` ({}), got {data}",
                    shorten(&f.attributes)
                ),
                format!("data: expected to differ from `ef0001`, got the same {data}"),
                "my number 490625019360: check digit expected invalid, is valid".to_owned(),
                "tlv[1]: expected 11 bytes, got 12".to_owned(),
                "tlv[2]: outermost tag is FF10, not FF20".to_owned(),
            ]
        );

        let certificate = Expectations {
            certificate: Some(CertificateChecks {
                subject_contains: Some("nobody".to_owned()),
                signed_by: Some("nothing".to_owned()),
                ..CertificateChecks::default()
            }),
            ..Expectations::sw(ok)
        };
        assert_eq!(
            check(&certificate, 0x9000, &f.auth_cert, &ctx),
            [
                "certificate subject: expected to contain \"nobody\", got \
                 \"CN=TEST5DDA78B13101003A,C=JP\"",
                "certificate: nothing captured as `nothing`",
            ]
        );

        let (op, signature) = &f.signatures[0];
        let op = Op::Sign(op.clone());
        let sign_ctx = Context {
            op: &op,
            message: Some(MESSAGE),
            ..ctx
        };
        let signed = Expectations {
            signature_verifies_with: Some("sign_cert".to_owned()),
            signature_does_not_verify_with: Some("auth_cert".to_owned()),
            ..Expectations::sw(ok)
        };
        let failures = check(&signed, 0x9000, signature, &sign_ctx);
        assert_eq!(failures.len(), 2, "{failures:?}");
        assert!(
            failures[0].starts_with("signature: does not verify with the key of `sign_cert` ("),
            "{failures:?}"
        );
        assert_eq!(
            failures[1],
            "signature: verifies with the key of `auth_cert`, expected it not to"
        );

        let cv = Expectations {
            cv_certificate_verifies_with: Some(CvKey::Capture("ef0007".to_owned())),
            cv_certificate_does_not_verify_with: Some(CvKey::TestCa),
            ..Expectations::sw(ok)
        };
        assert_eq!(
            check(&cv, 0x9000, &f.cv_certificate, &ctx),
            [
                "cv certificate: signature does not verify with ef0007",
                "cv certificate: signature verifies, expected it not to, with mynasim-test-cv-ca",
            ]
        );

        let record = Expectations {
            integrity_record: Some(integrity(false, false)),
            ..Expectations::sw(ok)
        };
        assert_eq!(
            check(&record, 0x9000, &f.integrity, &ctx),
            [
                "integrity record: digests match, expected a mismatch with, the files",
                "integrity record: signature verifies, expected it not to, with the EF 0004 key",
            ]
        );
    }
}
