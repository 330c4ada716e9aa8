//! A step's `expect`: every expectation checked for shape and references now, compiled into
//! [`Expectations`] the engine evaluates.

use jiff::civil::Date;
use mynasim_simulator::apdu::StatusWord;

use super::{Scope, StepError, bytes, need_capture, template};
use crate::scenario::model::{Expect, Validity};
use crate::scenario::plan::{
    CertificateChecks, CvKey, DateRef, Expectations, ExtensionRef, IntegrityCheck, SwPattern,
    TlvCheck,
};

/// The extension names an expectation may use.
pub(super) const EXTENSIONS: &[(&str, &str)] = &[
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

fn extension_list(names: &[String], sub: &str) -> Result<Vec<ExtensionRef>, StepError> {
    names
        .iter()
        .map(|n| {
            EXTENSIONS
                .iter()
                .find(|(name, _)| name == n)
                .map(|(name, oid)| ExtensionRef {
                    name: (*name).to_owned(),
                    oid: (*oid).to_owned(),
                })
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

fn valid(v: Validity) -> bool {
    v == Validity::Valid
}

fn cv_key(name: &str, sub: &str, scope: &Scope<'_>) -> Result<CvKey, StepError> {
    if name == CvKey::TEST_CA_NAME {
        return Ok(CvKey::TestCa);
    }
    need_capture(name, sub, scope.known)?;
    Ok(CvKey::Capture(name.to_owned()))
}

/// Compiles a step's expectations (none given: SW `90 00`).
pub(super) fn compile(
    expect: Option<&Expect>,
    scope: &Scope<'_>,
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
                need_capture(name, ".certificate.signed_by", scope.known)?;
            }
            let date =
                |d: &Option<String>, sub: &str| d.as_deref().map(|d| date_ref(d, sub)).transpose();
            Some(CertificateChecks {
                subject_contains: c.subject_contains.clone(),
                issuer_contains: c.issuer_contains.clone(),
                not_after_before: date(&c.not_after_before, ".certificate.not_after_before")?,
                not_after_after: date(&c.not_after_after, ".certificate.not_after_after")?,
                not_before_before: date(&c.not_before_before, ".certificate.not_before_before")?,
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
            need_capture(name, sub, scope.known)?;
        }
    }
    let integrity_record = match &e.integrity_record {
        None => None,
        Some(i) => {
            need_capture(
                &i.my_number_file,
                ".integrity_record.my_number_file",
                scope.known,
            )?;
            need_capture(
                &i.attributes_file,
                ".integrity_record.attributes_file",
                scope.known,
            )?;
            need_capture(
                &i.cv_certificate,
                ".integrity_record.cv_certificate",
                scope.known,
            )?;
            Some(IntegrityCheck {
                my_number_file: i.my_number_file.clone(),
                attributes_file: i.attributes_file.clone(),
                cv_certificate: i.cv_certificate.clone(),
                digests_match: valid(i.digests),
                signature_verifies: valid(i.signature),
            })
        }
    };
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
            && (path.is_empty()
                || !t.parses
                || t.text.is_some()
                || t.hex.is_some()
                || t.length.is_some()
                || t.utf8.is_some())
        {
            return Err((
                sub,
                "`present: false` needs a `path` and no value checks (nor `parses: false`)"
                    .to_owned(),
            ));
        }
        tlv.push(TlvCheck {
            skip: t.skip,
            parses: t.parses,
            present: t.present,
            text: t
                .text
                .as_deref()
                .map(|x| template::text(x, &format!("{sub}.text"), scope))
                .transpose()?,
            hex: t
                .hex
                .as_deref()
                .map(|h| bytes(h, &format!("{sub}.hex")))
                .transpose()?,
            length: t.length,
            utf8_valid: t.utf8.map(valid),
            path,
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
            .map(|t| template::text(t, ".text", scope))
            .transpose()?,
        same_as: e.same_as.clone(),
        differs_from: e.differs_from.clone(),
        certificate,
        signature_verifies_with: e.signature_verifies_with.clone(),
        signature_does_not_verify_with: e.signature_does_not_verify_with.clone(),
        my_number_check_digit_valid: e.my_number_check_digit.map(valid),
        tlv,
        cv_certificate_verifies_with: e
            .cv_certificate_verifies_with
            .as_deref()
            .map(|n| cv_key(n, ".cv_certificate_verifies_with", scope))
            .transpose()?,
        cv_certificate_does_not_verify_with: e
            .cv_certificate_does_not_verify_with
            .as_deref()
            .map(|n| cv_key(n, ".cv_certificate_does_not_verify_with", scope))
            .transpose()?,
        integrity_record,
    })
}
