//! `${…}` references in texts and hex: `${card.NAME}` is resolved now, from the scenario's
//! card; `${capture}` and `${capture[a..b]}` must name an earlier step's capture and are
//! filled in when the step runs.

use mynasim_simulator::profile::{IssuedCard, era};

use super::{Scope, StepError, bytes};
use crate::scenario::plan::{BytesPart, CaptureRef, HexTemplate, Template, TextPart};

/// The `${card.…}` names.
pub(super) const CARD_VALUES: &str = "my_number, code_a, code_b, birth_date_key, security_code, serial, pin.auth, pin.sign, pin.text, pin.resident, pin.common";

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

/// A piece of parsed template text.
enum Piece {
    /// Written in the scenario.
    Literal(String),
    /// A `${card.…}` value.
    Card(String),
    /// A `${capture}` reference.
    Capture(CaptureRef),
}

/// Splits `text` at its `${…}` references, resolving card values and checking captures.
fn pieces(text: &str, sub: &str, scope: &Scope<'_>) -> Result<Vec<Piece>, StepError> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let (before, after) = rest.split_at(start);
        if !before.is_empty() {
            out.push(Piece::Literal(before.to_owned()));
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
            let given = scope.secrets.get(name).map(str::to_owned);
            let value = given
                .or_else(|| card_value(scope.card, name))
                .ok_or_else(|| {
                    (
                        sub.to_owned(),
                        format!("`${{card.{name}}}` is unknown; card values are {CARD_VALUES}"),
                    )
                })?;
            out.push(Piece::Card(value));
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
        if !scope.known.contains(&name) {
            return Err((
                sub.to_owned(),
                format!("`${{{name}}}` is not captured by an earlier step (`as: {name}`)"),
            ));
        }
        out.push(Piece::Capture(CaptureRef { name, range }));
    }
    if !rest.is_empty() {
        out.push(Piece::Literal(rest.to_owned()));
    }
    Ok(out)
}

/// The most bytes a template may write before captures: what one APDU (a vpcd frame)
/// carries. A larger value would not be sent as written.
pub(super) const MAX_BYTES: usize = 65_535;

/// Refuses more literal bytes than an APDU carries.
fn bounded(len: usize, sub: &str) -> Result<(), StepError> {
    if len > MAX_BYTES {
        return Err((
            sub.to_owned(),
            format!("{len} bytes; at most {MAX_BYTES} fit an APDU"),
        ));
    }
    Ok(())
}

/// Parses text with `${…}` references.
pub(super) fn text(text: &str, sub: &str, scope: &Scope<'_>) -> Result<Template, StepError> {
    let parts: Vec<TextPart> = pieces(text, sub, scope)?
        .into_iter()
        .map(|p| match p {
            Piece::Literal(t) | Piece::Card(t) => TextPart::Text(t),
            Piece::Capture(c) => TextPart::Capture(c),
        })
        .collect();
    let literal = parts
        .iter()
        .map(|p| match p {
            TextPart::Text(t) => t.len(),
            TextPart::Capture(_) => 0,
        })
        .sum();
    bounded(literal, sub)?;
    Ok(Template(parts))
}

/// Parses hex with `${…}` references: literal parts are hex (spaces allowed), `${card.NAME}`
/// inserts the value's ASCII bytes, `${capture}` / `${capture[a..b]}` the captured bytes.
pub(super) fn hex(text: &str, sub: &str, scope: &Scope<'_>) -> Result<HexTemplate, StepError> {
    let parts: Vec<BytesPart> = pieces(text, sub, scope)?
        .into_iter()
        .map(|p| {
            Ok(match p {
                Piece::Literal(t) => BytesPart::Bytes(bytes(&t, sub)?),
                Piece::Card(v) => BytesPart::Bytes(v.into_bytes()),
                Piece::Capture(c) => BytesPart::Capture(c),
            })
        })
        .collect::<Result<_, StepError>>()?;
    let literal = parts
        .iter()
        .map(|p| match p {
            BytesPart::Bytes(b) => b.len(),
            BytesPart::Capture(_) => 0,
        })
        .sum();
    bounded(literal, sub)?;
    Ok(HexTemplate(parts))
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use super::*;
    use crate::scenario::compile::tests::{
        at, cache, compile_with, default_card, known, step_error,
    };
    use crate::scenario::plan::Op;

    const UNKNOWN: &str = "`${card.nope}` is unknown; card values are my_number, code_a, code_b, birth_date_key, security_code, serial, pin.auth, pin.sign, pin.text, pin.resident, pin.common";

    fn text_of(t: &str, captures: &[&str]) -> Result<Template, StepError> {
        let card = default_card();
        let known = known(captures);
        text(
            t,
            ".t",
            &Scope {
                card: &card,
                known: &known,
                secrets: &super::super::CardSecrets::default(),
            },
        )
    }

    fn hex_of(t: &str, captures: &[&str]) -> Result<HexTemplate, StepError> {
        let card = default_card();
        let known = known(captures);
        hex(
            t,
            ".h",
            &Scope {
                card: &card,
                known: &known,
                secrets: &super::super::CardSecrets::default(),
            },
        )
    }

    fn lit(t: &str) -> TextPart {
        TextPart::Text(t.to_owned())
    }

    fn cap(name: &str, range: Option<(usize, usize)>) -> CaptureRef {
        CaptureRef {
            name: name.to_owned(),
            range,
        }
    }

    fn err(message: &str) -> StepError {
        (".t".to_owned(), message.to_owned())
    }

    #[test]
    fn every_card_value_of_the_default_card() {
        for (name, value) in [
            ("my_number", "490625019360"),
            ("code_a", "490625019360"),
            ("code_b", "60041220345350"),
            ("birth_date_key", "600412"),
            ("security_code", "5350"),
            ("serial", "468994375268502"),
            ("pin.auth", "1234"),
            ("pin.sign", "ABC123"),
            ("pin.text", "1234"),
            ("pin.resident", "1234"),
            ("pin.common", "1234"),
        ] {
            assert_eq!(
                text_of(&format!("${{card.{name}}}"), &[]),
                Ok(Template(vec![lit(value)])),
                "{name}"
            );
        }
    }

    #[test]
    fn each_pin_value_is_its_own() {
        let yaml = "version: 1
name: unit
card:
  set:
    pins:
      auth: { value: \"1111\" }
      sign: { value: \"SIGN22\" }
      text: { value: \"3333\" }
      resident: { value: \"4444\" }
      common: { value: \"5555\" }
    card: { security_code: \"9876\", serial: \"111122223333444\" }
steps:
  - verify: { pin: \"${card.pin.auth}/${card.pin.sign}/${card.pin.text}/${card.pin.resident}/${card.pin.common}\" }
  - verify: { pin: \"${card.security_code} ${card.serial} ${card.code_b}\" }
";
        let plan = compile_with(yaml, cache()).unwrap();
        let crate::scenario::plan::Body::Steps(steps) = plan.body else {
            panic!("an exec body")
        };
        let pin = |i: usize| match &steps[i].op {
            Op::Verify { pin, .. } => pin.render(&Default::default()),
            other => panic!("{other:?}"),
        };
        assert_eq!(pin(0), b"1111/SIGN22/3333/4444/5555");
        assert_eq!(pin(1), b"9876 111122223333444 60041220349876");
    }

    #[test]
    fn texts_split_at_references() {
        assert_eq!(text_of("", &[]), Ok(Template(vec![])));
        assert_eq!(text_of("abc", &[]), Ok(Template(vec![lit("abc")])));
        assert_eq!(
            text_of("a${card.pin.auth}b${card.security_code}", &[]),
            Ok(Template(vec![lit("a"), lit("1234"), lit("b"), lit("5350")]))
        );
        assert_eq!(
            text_of("${c}${c[3..15]}-${c[ 1 .. 2 ]}}", &["c"]),
            Ok(Template(vec![
                TextPart::Capture(cap("c", None)),
                TextPart::Capture(cap("c", Some((3, 15)))),
                lit("-"),
                TextPart::Capture(cap("c", Some((1, 2)))),
                lit("}"),
            ]))
        );
        assert_eq!(
            text_of("$${c}x", &["c"]),
            Ok(Template(vec![
                lit("$"),
                TextPart::Capture(cap("c", None)),
                lit("x")
            ]))
        );
    }

    #[test]
    fn a_reference_must_be_closed() {
        assert_eq!(
            text_of("ab${c", &["c"]),
            Err(err("`ab${c`: `${` without a closing `}`"))
        );
        assert_eq!(
            text_of("${card.pin.auth}${", &[]),
            Err(err("`${card.pin.auth}${`: `${` without a closing `}`"))
        );
    }

    #[test]
    fn card_values_are_the_listed_names() {
        assert_eq!(text_of("x${card.nope}", &[]), Err(err(UNKNOWN)));
        assert_eq!(
            text_of("${card.}", &[]),
            Err(err(
                "`${card.}` is unknown; card values are my_number, code_a, code_b, birth_date_key, security_code, serial, pin.auth, pin.sign, pin.text, pin.resident, pin.common"
            ))
        );
        assert_eq!(CARD_VALUES.split(", ").count(), 11);
        let card = default_card();
        for name in CARD_VALUES.split(", ") {
            assert!(card_value(&card, name).is_some(), "{name}");
        }
        assert_eq!(card_value(&card, "pin"), None);
        assert_eq!(card_value(&card, "card.serial"), None);
    }

    #[test]
    fn captures_must_come_from_earlier_steps() {
        assert_eq!(
            text_of("${nope}", &["c"]),
            Err(err(
                "`${nope}` is not captured by an earlier step (`as: nope`)"
            ))
        );
        assert_eq!(
            text_of("${nope[1..2]}", &["c"]),
            Err(err(
                "`${nope}` is not captured by an earlier step (`as: nope`)"
            ))
        );
        assert_eq!(
            text_of("${c}${}", &["c"]),
            Err(err("`${}` is not captured by an earlier step (`as: `)"))
        );
    }

    #[test]
    fn ranges_are_start_dot_dot_end() {
        assert_eq!(
            text_of("${c[3]}", &["c"]),
            Err(err("`c[3]`: a range is [start..end]"))
        );
        assert_eq!(
            text_of("${c[a..3]}", &["c"]),
            Err(err("`c[a..3]`: bad range start"))
        );
        assert_eq!(
            text_of("${c[..3]}", &["c"]),
            Err(err("`c[..3]`: bad range start"))
        );
        assert_eq!(
            text_of("${c[1..b]}", &["c"]),
            Err(err("`c[1..b]`: bad range end"))
        );
        assert_eq!(
            text_of("${c[1..]}", &["c"]),
            Err(err("`c[1..]`: bad range end"))
        );
    }

    #[test]
    fn hex_templates_insert_bytes() {
        assert_eq!(hex_of("", &[]), Ok(HexTemplate(vec![])));
        assert_eq!(
            hex_of("00 a4${c}${c[0..2]}${card.pin.auth}0C", &["c"]),
            Ok(HexTemplate(vec![
                BytesPart::Bytes(vec![0x00, 0xA4]),
                BytesPart::Capture(cap("c", None)),
                BytesPart::Capture(cap("c", Some((0, 2)))),
                BytesPart::Bytes(b"1234".to_vec()),
                BytesPart::Bytes(vec![0x0C]),
            ]))
        );
        // A literal of spaces only is no bytes, kept as an empty part.
        assert_eq!(
            hex_of("${c} ", &["c"]),
            Ok(HexTemplate(vec![
                BytesPart::Capture(cap("c", None)),
                BytesPart::Bytes(vec![]),
            ]))
        );
    }

    #[test]
    fn hex_templates_report_the_bad_literal_or_reference() {
        assert_eq!(
            hex_of("0g${c}", &["c"]),
            Err((
                ".h".into(),
                "`0g`: `g` at column 2 is not a hex digit".into()
            ))
        );
        assert_eq!(
            hex_of("${c}ABC", &["c"]),
            Err((".h".into(), "`ABC`: odd number of hex digits (3)".into()))
        );
        assert_eq!(
            hex_of("00${d}", &["c"]),
            Err((
                ".h".into(),
                "`${d}` is not captured by an earlier step (`as: d`)".into()
            ))
        );
        assert_eq!(
            hex_of("${card.x}", &[]),
            Err((".h".into(), "`${card.x}` is unknown; card values are my_number, code_a, code_b, birth_date_key, security_code, serial, pin.auth, pin.sign, pin.text, pin.resident, pin.common".into()))
        );
    }

    #[test]
    fn template_errors_are_reported_at_their_step_key() {
        assert_eq!(
            step_error("  - verify: { pin: \"${card.nope}\" }\n"),
            at(&format!(":4:5: steps[0].verify.pin: {UNKNOWN}"))
        );
    }

    /// Issue 12, finding 10: a 70 000-digit PIN made the step send only the header.
    #[test]
    fn finding_10_more_literal_bytes_than_an_apdu_carries_are_refused() {
        let long = "1".repeat(MAX_BYTES + 1);
        assert_eq!(
            text_of(&long, &[]).unwrap_err(),
            (
                ".t".to_owned(),
                "65536 bytes; at most 65535 fit an APDU".to_owned()
            )
        );
        assert!(text_of(&"1".repeat(MAX_BYTES), &[]).is_ok());
        assert_eq!(
            hex_of(&"AB".repeat(MAX_BYTES + 1), &[]).unwrap_err().1,
            "65536 bytes; at most 65535 fit an APDU"
        );
        assert!(hex_of(&"AB".repeat(MAX_BYTES), &[]).is_ok());
        // Captures are not counted: their size is known only when the step runs.
        assert!(text_of(&format!("{}${{c}}", "1".repeat(MAX_BYTES)), &["c"]).is_ok());
    }
}
