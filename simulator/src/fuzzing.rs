//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz). Each target is a one-liner
//! into this module, so the logic is compiled, linted and unit-tested with the crate.
//!
//! Every function must return normally on *any* input; a panic is a bug.

use bytes::BytesMut;
use tokio_util::codec::{Decoder as _, Encoder as _};

use crate::apdu::{Command, tlv};
use crate::card::{Card, CardEvent, EfBody, VirtualCard};
use crate::profile::Profile;
use crate::transcript::{Entry, Transcript};
use crate::transport::{Control, FrameCodec, MAX_FRAME, ReaderMessage, answer_frame};

/// APDU parser: never panics; whatever parses re-encodes to the same bytes.
pub fn apdu(data: &[u8]) {
    if let Ok(cmd) = Command::parse(data) {
        assert_eq!(cmd.encode(), data, "parse/encode round trip");
    }
}

/// BER-TLV and simple-TLV parsers: never panic; every parsed object re-encodes to its raw
/// bytes.
pub fn tlv(data: &[u8]) {
    if let Ok(objects) = tlv::parse_all(data, 0) {
        for object in objects {
            let again = tlv::encode_with(object.tag, object.length_form, object.value);
            assert_eq!(again, object.raw, "TLV round trip");
            let _ = object.children();
        }
    }
    let _ = tlv::simple::parse(data);
}

/// Profile loader: YAML to a checked personalisation, or an error — never a panic.
pub fn profile(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(profile) = Profile::from_yaml(text, "fuzz") {
        let _ = profile.personalise("fuzz");
    }
}

/// Transcript text parser: never panics; whatever parses writes back to text that parses to
/// the same transcript, and writing that again changes nothing.
pub fn transcript(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = Transcript::parse(text) else {
        return;
    };
    let written = parsed.to_text(false);
    let again = Transcript::parse(&written);
    assert!(
        again.is_ok(),
        "written transcript does not parse: {again:?}\n{written}"
    );
    let again = again.unwrap_or_default();
    assert_eq!(again.to_text(false), written, "text round trip");
    assert_eq!(again.entries.len(), parsed.entries.len());
}

/// A card for the vpcd target that tracks its power state and echoes `90 00` when powered.
#[derive(Debug, Default)]
struct PowerTracker {
    powered: bool,
}

impl VirtualCard for PowerTracker {
    fn atr(&self) -> &[u8] {
        &[0x3B, 0x80, 0x80, 0x01, 0x01]
    }
    fn power_on(&mut self) {
        self.powered = true;
    }
    fn power_off(&mut self) {
        self.powered = false;
    }
    fn reset(&mut self) {
        self.powered = true;
    }
    fn transmit_into(&mut self, _apdu: &[u8], out: &mut Vec<u8>) {
        out.clear();
        if self.powered {
            out.extend_from_slice(&[0x90, 0x00]);
        }
    }
}

/// Decodes `wire` fed in chunks whose sizes come from `plan` (cycled; `0` means "the rest
/// at once"); returns the frames and the bytes left over.
fn decode_chunked(wire: &[u8], plan: &[u8]) -> (Vec<Vec<u8>>, Vec<u8>) {
    let mut codec = FrameCodec;
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut rest = wire;
    let mut sizes = plan.iter().cycle();
    while !rest.is_empty() {
        let size = match sizes.next() {
            Some(&0) | None => rest.len(),
            Some(&n) => usize::from(n).min(rest.len()),
        };
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        buf.extend_from_slice(chunk);
        while let Ok(Some(frame)) = codec.decode(&mut buf) {
            frames.push(frame.to_vec());
        }
    }
    (frames, buf.to_vec())
}

/// The vpcd frame decoder and the card side's answers to whatever a reader sends. The
/// first byte gives the number `k` of chunk sizes that follow (at most 8); the rest is the
/// wire. Checked:
/// * the frames do not depend on how the wire is split into reads (one read, the plan's
///   chunks, one byte at a time) — split and merged reads;
/// * re-encoding the frames gives back the consumed wire; what is left is a partial frame,
///   which `decode_eof` reports as an error (EOF mid-frame), and nothing else is;
/// * every frame is answered as vpcd requires: exactly one answer frame per get ATR (the
///   ATR) and per APDU, none for other control codes, unknown control bytes or empty frames;
///   get ATR never changes the power state; answers are valid frames.
pub fn vpcd_frames(data: &[u8]) {
    let Some((&k, rest)) = data.split_first() else {
        return;
    };
    let k = usize::from(k % 9).min(rest.len());
    let (plan, wire) = rest.split_at(k);

    let (whole, left) = decode_chunked(wire, &[]);
    assert_eq!(
        decode_chunked(wire, plan),
        (whole.clone(), left.clone()),
        "chunked reads"
    );
    assert_eq!(
        decode_chunked(wire, &[1]),
        (whole.clone(), left.clone()),
        "byte reads"
    );

    let mut again = BytesMut::new();
    for frame in &whole {
        assert!(frame.len() <= MAX_FRAME);
        assert!(FrameCodec.encode(frame.as_slice(), &mut again).is_ok());
    }
    again.extend_from_slice(&left);
    assert_eq!(&again[..], wire, "re-encoding gives the wire back");
    let mut tail = BytesMut::from(&left[..]);
    let eof = FrameCodec.decode_eof(&mut tail);
    assert_eq!(
        eof.is_err(),
        !left.is_empty(),
        "EOF mid-frame is an error, and only that"
    );

    let mut card = PowerTracker::default();
    let mut response = Vec::new();
    let mut out = BytesMut::new();
    for frame in &whole {
        out.clear();
        let before = card.powered;
        let mut events = 0;
        answer_frame(
            frame,
            &mut card,
            &mut response,
            &mut out,
            &mut |_: Entry| {
                events += 1;
            },
        );
        assert_eq!(events, 1, "one event per frame");
        let answers = decode_chunked(&out, &[]);
        assert!(answers.1.is_empty(), "answers are whole frames");
        let expected = match ReaderMessage::parse(frame) {
            ReaderMessage::Control(Control::GetAtr) => {
                assert_eq!(card.powered, before, "get ATR never changes state");
                vec![card.atr().to_vec()]
            }
            ReaderMessage::Control(Control::PowerOn | Control::Reset) => {
                assert!(card.powered);
                vec![]
            }
            ReaderMessage::Control(Control::PowerOff) => {
                assert!(!card.powered);
                vec![]
            }
            ReaderMessage::UnknownControl(_) | ReaderMessage::Empty => {
                assert_eq!(card.powered, before);
                vec![]
            }
            ReaderMessage::Apdu(_) if before => vec![vec![0x90, 0x00]],
            ReaderMessage::Apdu(_) => vec![vec![]],
        };
        assert_eq!(answers.0, expected);
    }
}

/// One step of the whole-card target, decoded from the input.
#[derive(Debug)]
pub enum Step<'a> {
    /// Send these bytes as an APDU.
    Apdu(&'a [u8]),
    /// Power off.
    PowerOff,
    /// Power on.
    PowerOn,
    /// Warm reset.
    Reset,
}

/// Splits fuzz input into steps: a length byte then that many APDU bytes; the length bytes
/// `FD`, `FE`, `FF` are warm reset, power off and power on.
pub fn steps(mut data: &[u8]) -> Vec<Step<'_>> {
    let mut out = Vec::new();
    while let Some((&len, rest)) = data.split_first() {
        match len {
            0xFD => {
                out.push(Step::Reset);
                data = rest;
            }
            0xFE => {
                out.push(Step::PowerOff);
                data = rest;
            }
            0xFF => {
                out.push(Step::PowerOn);
                data = rest;
            }
            n => {
                let n = usize::from(n).min(rest.len());
                let (apdu, rest) = rest.split_at(n);
                out.push(Step::Apdu(apdu));
                data = rest;
            }
        }
    }
    out
}

/// Encodes steps as fuzz input (for seeding the corpus from golden scripts).
pub fn encode_steps(steps: &[Step<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for step in steps {
        match step {
            Step::Reset => out.push(0xFD),
            Step::PowerOff => out.push(0xFE),
            Step::PowerOn => out.push(0xFF),
            Step::Apdu(apdu) => {
                let n = apdu.len().min(0xFC);
                out.push(n as u8);
                out.extend_from_slice(apdu.get(..n).unwrap_or_default());
            }
        }
    }
    out
}

/// Counters of every PIN on the card: (app, fid, left, max).
fn counters(card: &Card) -> Vec<(crate::apps::AppId, u16, u8, u8)> {
    let mut out = Vec::with_capacity(24);
    for df in card.dfs() {
        for ef in &df.files {
            if let EfBody::Pin(pin) = &ef.body {
                let c = pin.counter();
                out.push((df.app, ef.fid.0, c.left(), c.max()));
            }
        }
    }
    out
}

/// The private-key operations one [`card`] input may make.
pub const MAX_SIGNATURES: usize = 4;

/// The whole card as a state machine, driven by a sequence of APDUs and power events, with
/// invariants checked after every step:
/// * a powered card always answers at least a status word, and never more than `Ne` data
///   bytes for a command that parses;
/// * no retry counter exceeds its maximum, and counters only go down except by a
///   successful VERIFY or CHANGE of that key;
/// * a blocked key never verifies.
///
/// An input ends after [`MAX_SIGNATURES`] private-key operations: where the real RSA-2048
/// arithmetic runs (tests; under the fuzzer it is a stand-in, see
/// `security::signature`), a corpus grown to inputs of many signatures would cost
/// milliseconds each and explore nothing more.
pub fn card(card: &mut Card, data: &[u8]) {
    card.power_on();
    let mut signatures = 0usize;
    for step in steps(data) {
        if signatures >= MAX_SIGNATURES {
            break;
        }
        let before = counters(card);
        match step {
            Step::PowerOff => card.power_off(),
            Step::PowerOn => {
                card.power_on();
            }
            Step::Reset => {
                card.reset();
            }
            Step::Apdu(apdu) => {
                let response = card.transmit(apdu);
                if card.is_powered() {
                    assert!(
                        response.len() >= 2,
                        "a powered card always answers a status word"
                    );
                    if let Ok(cmd) = Command::parse(apdu) {
                        let ne = cmd.le().unwrap_or(0);
                        assert!(response.len() - 2 <= ne, "more data than Le allows");
                    }
                }
            }
        }
        let after = counters(card);
        let events = card.take_events();
        signatures += events
            .iter()
            .filter(|e| matches!(e, CardEvent::Signed { .. }))
            .count();
        for ((app, fid, left_before, _), (_, _, left, max)) in before.iter().zip(&after) {
            assert!(left <= max, "{app} {fid:04X}: {left} tries left of {max}");
            let restored = events.iter().any(|e| match e {
                CardEvent::PinVerified { app: a, key } | CardEvent::PinChanged { app: a, key } => {
                    a == app && key.0 == *fid
                }
                _ => false,
            });
            if *left_before == 0 {
                assert!(!restored, "{app} {fid:04X} was blocked and then verified");
                assert_eq!(*left, 0, "{app} {fid:04X} came back from blocked");
            }
            if left > left_before {
                assert!(
                    restored,
                    "{app} {fid:04X} counter rose without a successful VERIFY"
                );
            }
        }
    }
}

/// The validation service's OCSP responder: any bytes get an answer that parses as an
/// `OCSPResponse`; bytes that are not an OCSP request get `malformedRequest`; a request that
/// parses is answered `successful` (the service knows the certificates) or `malformedRequest`
/// (an empty list, more than [`crate::validation::MAX_REQUESTS`], a hash it does not know).
pub fn ocsp(service: &crate::validation::Service, data: &[u8]) {
    use crate::pki::ocsp::{self, OcspRequest, ResponseStatus};
    use der::Decode;
    let response = service.ocsp(data);
    let parsed = ocsp::parse_response(&response);
    assert!(
        parsed.is_ok(),
        "an OCSP answer that does not parse: {response:02X?}"
    );
    let Ok(parsed) = parsed else { return };
    match OcspRequest::from_der(data) {
        Err(_) => assert_eq!(parsed.response_status, ResponseStatus::MalformedRequest),
        Ok(_) => assert!(matches!(
            parsed.response_status,
            ResponseStatus::Successful | ResponseStatus::MalformedRequest
        )),
    }
}

/// The log importers (pcsc-spy, pcscd, OpenSC, JSON Lines, hex): the first byte picks the
/// format, the rest is the log. Never panics; whatever imports writes to the text form and
/// to JSON Lines, and both read back.
pub fn import(data: &[u8]) {
    use crate::transcript::import::{Format, entries};
    use crate::transcript::jsonl;
    let Some((selector, log)) = data.split_first() else {
        return;
    };
    let format = Format::ALL
        .get(usize::from(*selector) % Format::ALL.len())
        .copied()
        .unwrap_or(Format::Hex);
    let Ok(imported) = entries(format, log).collect::<Result<Transcript, _>>() else {
        return;
    };
    // The text form reads back to the same bytes exchanged, secrets masked (comments and
    // link notes may lose surrounding blanks there, and a partly masked secret is shown
    // masked whole); the record form, written, read back and written again, is unchanged.
    let pairs = |t: &Transcript| {
        t.exchanges()
            .map(|x| {
                let mut x = x.clone();
                x.redact();
                (x.command, x.response)
            })
            .collect::<Vec<_>>()
    };
    let text = imported.to_text(false);
    let from_text = Transcript::parse(&text);
    assert!(
        from_text.is_ok(),
        "imported text does not parse: {from_text:?}\n{text}"
    );
    assert_eq!(
        from_text.map(|t| pairs(&t)).unwrap_or_default(),
        pairs(&imported),
        "text round trip"
    );
    let record = jsonl::format(&imported, false);
    let from_record = jsonl::parse(&record);
    assert!(
        from_record.is_ok(),
        "record does not parse: {from_record:?}\n{record}"
    );
    assert_eq!(
        from_record
            .map(|t| jsonl::format(&t, false))
            .unwrap_or_default(),
        record,
        "JSON Lines round trip"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inputs `fuzz/fuzz_targets/import.rs` found: a failed SCardTransmit that sent nothing
    /// (was an exchange with an empty command), and a pasted VERIFY masked in part (its text
    /// form masks the whole secret).
    #[test]
    fn import_regressions_found_by_fuzzing() {
        import(b"\x00SCardTransmit\n i bSendLength 0x00000000 (0)\n => (SCARD_E_TIMEOUT)\n");
        import(b"\x04>> 00 20 00 80 04 ** A4 04 0C\n<< 90 00\n");
        import(b"\x02Outgoing APDU (0 bytes):\n");
    }

    #[test]
    fn vpcd_frames_accepts_the_seed_shapes() {
        // Power on, get ATR, an APDU, an unknown control, an empty frame, then half a frame.
        let mut data = vec![3, 1, 2, 0];
        data.extend_from_slice(&[
            0x00, 0x01, 0x01, 0x00, 0x01, 0x04, 0x00, 0x04, 0x00, 0xA4, 0x00, 0x00,
        ]);
        data.extend_from_slice(&[0x00, 0x01, 0x07, 0x00, 0x00, 0x00, 0x09, 0x00]);
        vpcd_frames(&data);
        vpcd_frames(&[]);
        vpcd_frames(&[0xFF, 0xFF, 0xFF]);
    }

    #[test]
    fn steps_round_trip() {
        let input = [0xFF, 0x04, 0x00, 0xA4, 0x00, 0x00, 0xFE, 0xFD, 0x02, 0x01];
        let steps = steps(&input);
        assert_eq!(steps.len(), 5);
        assert_eq!(
            encode_steps(&steps),
            [0xFF, 0x04, 0x00, 0xA4, 0x00, 0x00, 0xFE, 0xFD, 0x01, 0x01]
        );
    }
}
