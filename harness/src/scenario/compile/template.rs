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
            let value = card_value(scope.card, name).ok_or_else(|| {
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

/// Parses text with `${…}` references.
pub(super) fn text(text: &str, sub: &str, scope: &Scope<'_>) -> Result<Template, StepError> {
    Ok(Template(
        pieces(text, sub, scope)?
            .into_iter()
            .map(|p| match p {
                Piece::Literal(t) | Piece::Card(t) => TextPart::Text(t),
                Piece::Capture(c) => TextPart::Capture(c),
            })
            .collect(),
    ))
}

/// Parses hex with `${…}` references: literal parts are hex (spaces allowed), `${card.NAME}`
/// inserts the value's ASCII bytes, `${capture}` / `${capture[a..b]}` the captured bytes.
pub(super) fn hex(text: &str, sub: &str, scope: &Scope<'_>) -> Result<HexTemplate, StepError> {
    pieces(text, sub, scope)?
        .into_iter()
        .map(|p| {
            Ok(match p {
                Piece::Literal(t) => BytesPart::Bytes(bytes(&t, sub)?),
                Piece::Card(v) => BytesPart::Bytes(v.into_bytes()),
                Piece::Capture(c) => BytesPart::Capture(c),
            })
        })
        .collect::<Result<_, _>>()
        .map(HexTemplate)
}
