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
    if e.no_answer
        && (e.sw.is_some()
            || e.tries_left.is_some()
            || e.data.is_some()
            || e.data_prefix.is_some()
            || e.data_length.is_some()
            || e.data_matches.is_some())
    {
        return Err((
            ".no_answer".into(),
            "a step with no answer has no status word or data to check: `no_answer: true` \
             stands alone"
                .into(),
        ));
    }
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
        no_answer: e.no_answer,
        sw,
        data: e.data.as_deref().map(|h| bytes(h, ".data")).transpose()?,
        data_prefix: e
            .data_prefix
            .as_deref()
            .map(|h| bytes(h, ".data_prefix"))
            .transpose()?,
        data_length: e.data_length,
        reads: e.reads,
        last_read: e.last_read,
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

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use std::collections::BTreeMap;

    use super::*;
    use crate::scenario::compile::tests::{assert_expectations, at, last, step_error, sw_9000};
    use crate::scenario::plan::{CaptureRef, Template, TextPart};

    /// The expectations of a step (after steps capturing `c` and `d`).
    fn expect(e: &str) -> Expectations {
        last(&format!(
            "  - get_challenge: 8\n    as: c\n  - get_challenge: 8\n    as: d\n  - power: on\n    expect: {e}\n"
        ))
        .expect
    }

    /// The error of `expect` (on the third step, line 8, after captures `c` and `d`).
    fn fails(e: &str) -> String {
        let got = step_error(&format!(
            "  - get_challenge: 8\n    as: c\n  - get_challenge: 8\n    as: d\n  - power: on\n    expect: {e}\n"
        ));
        let prefix = at(":8:5: steps[2].expect");
        got.strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("not at {prefix}: {got}"))
            .to_owned()
    }

    fn sw(value: u16, mask: u16, text: &[u8; 4]) -> SwPattern {
        SwPattern {
            value,
            mask,
            text: *text,
        }
    }

    fn with_sw(expected: SwPattern) -> Expectations {
        Expectations::sw(expected)
    }

    fn ok() -> Expectations {
        with_sw(sw_9000())
    }

    fn text(t: &str) -> Template {
        Template(vec![TextPart::Text(t.to_owned())])
    }

    fn ext(name: &str, oid: &str) -> ExtensionRef {
        ExtensionRef {
            name: name.to_owned(),
            oid: oid.to_owned(),
        }
    }

    #[test]
    fn an_empty_expect_is_90_00() {
        assert_expectations(&expect("{}"), &ok());
    }

    #[test]
    fn sw_patterns_have_any_nibble_as_a_question_mark() {
        assert_expectations(
            &expect("{ sw: \"6A82\" }"),
            &with_sw(sw(0x6A82, 0xFFFF, b"6A82")),
        );
        assert_expectations(
            &expect("{ sw: \"63c?\" }"),
            &with_sw(sw(0x63C0, 0xFFF0, b"63C?")),
        );
        assert_expectations(
            &expect("{ sw: \"?? 00\" }"),
            &with_sw(sw(0x0000, 0x00FF, b"??00")),
        );
        for bad in ["9", "90000", "9G00", ""] {
            assert_eq!(
                fails(&format!("{{ sw: \"{bad}\" }}")),
                format!(".sw: `{bad}` is not 4 hex digits (with `?` for any nibble)")
            );
        }
    }

    #[test]
    fn tries_left_is_63_cx_of_0_to_15() {
        assert_expectations(
            &expect("{ tries_left: 0 }"),
            &with_sw(sw(0x63C0, 0xFFFF, b"63C0")),
        );
        assert_expectations(
            &expect("{ tries_left: 2 }"),
            &with_sw(sw(0x63C2, 0xFFFF, b"63C2")),
        );
        assert_expectations(
            &expect("{ tries_left: 15 }"),
            &with_sw(sw(0x63CF, 0xFFFF, b"63CF")),
        );
        for n in [16, 255] {
            assert_eq!(
                fails(&format!("{{ tries_left: {n} }}")),
                format!(".tries_left: {n}: 63 Cx reports 0 to 15")
            );
        }
        assert_eq!(
            fails("{ sw: \"63C2\", tries_left: 2 }"),
            ": give `sw` or `tries_left`, not both"
        );
    }

    #[test]
    fn data_checks_are_compiled() {
        let want = Expectations {
            data: Some(vec![0x8F, 0x8F, 0x00]),
            data_prefix: Some(vec![0x30, 0x82]),
            data_length: Some(256),
            data_matches: Some(regex::Regex::new("^30 82 ").unwrap()),
            text: Some(Template(vec![
                TextPart::Text("n".into()),
                TextPart::Text("468994375268502".into()),
                TextPart::Capture(CaptureRef {
                    name: "c".into(),
                    range: Some((0, 2)),
                }),
            ])),
            same_as: Some("c".into()),
            differs_from: Some("d".into()),
            signature_verifies_with: Some("c".into()),
            signature_does_not_verify_with: Some("d".into()),
            my_number_check_digit_valid: Some(true),
            ..ok()
        };
        assert_expectations(
            &expect(
                "{ data: \"8f8f 00\", data_prefix: \"3082\", data_length: 256, data_matches: \"^30 82 \", text: \"n${card.serial}${c[0..2]}\", same_as: c, differs_from: d, signature_verifies_with: c, signature_does_not_verify_with: d, my_number_check_digit: valid }",
            ),
            &want,
        );
        assert_expectations(
            &expect("{ my_number_check_digit: invalid, data: \"\" }"),
            &Expectations {
                my_number_check_digit_valid: Some(false),
                data: Some(vec![]),
                ..ok()
            },
        );
    }

    #[test]
    fn data_hex_and_regex_mistakes_are_reported() {
        assert_eq!(
            fails("{ data: \"0\" }"),
            ".data: `0`: odd number of hex digits (1)"
        );
        assert_eq!(
            fails("{ data_prefix: \"30 8\" }"),
            ".data_prefix: `30 8`: odd number of hex digits (3)"
        );
        assert_eq!(
            fails("{ data_matches: \"(\" }"),
            ".data_matches: `(`: regex parse error:\n    (\n    ^\nerror: unclosed group"
        );
        assert_eq!(
            fails("{ text: \"${e}\" }"),
            ".text: `${e}` is not captured by an earlier step (`as: e`)"
        );
    }

    #[test]
    fn captures_named_by_expectations_must_exist() {
        for key in [
            "same_as",
            "differs_from",
            "signature_verifies_with",
            "signature_does_not_verify_with",
            "cv_certificate_verifies_with",
            "cv_certificate_does_not_verify_with",
        ] {
            assert_eq!(
                fails(&format!("{{ {key}: e }}")),
                format!(".{key}: `e` is not captured by an earlier step (`as: e`)")
            );
        }
    }

    #[test]
    fn cv_keys_are_the_test_ca_or_a_capture() {
        assert_expectations(
            &expect(
                "{ cv_certificate_verifies_with: mynasim-test-cv-ca, cv_certificate_does_not_verify_with: c }",
            ),
            &Expectations {
                cv_certificate_verifies_with: Some(CvKey::TestCa),
                cv_certificate_does_not_verify_with: Some(CvKey::Capture("c".into())),
                ..ok()
            },
        );
        assert_expectations(
            &expect(
                "{ cv_certificate_verifies_with: d, cv_certificate_does_not_verify_with: mynasim-test-cv-ca }",
            ),
            &Expectations {
                cv_certificate_verifies_with: Some(CvKey::Capture("d".into())),
                cv_certificate_does_not_verify_with: Some(CvKey::TestCa),
                ..ok()
            },
        );
    }

    #[test]
    fn certificate_checks_are_compiled() {
        let got = expect(
            "{ certificate: { subject_contains: CN=, issuer_contains: JPKI, not_after_before: 2030-01-02, not_after_after: today, not_before_before: today, extensions: [key-usage, subject-alt-name], no_extensions: [basic-constraints], san: { 1.2.392.200149.8.5.5.1: 試験 }, signed_by: c } }",
        );
        let want = Expectations {
            certificate: Some(CertificateChecks {
                subject_contains: Some("CN=".into()),
                issuer_contains: Some("JPKI".into()),
                not_after_before: Some(DateRef::Day(jiff::civil::date(2030, 1, 2))),
                not_after_after: Some(DateRef::Today),
                not_before_before: Some(DateRef::Today),
                extensions: vec![
                    ext("key-usage", "2.5.29.15"),
                    ext("subject-alt-name", "2.5.29.17"),
                ],
                no_extensions: vec![ext("basic-constraints", "2.5.29.19")],
                san: BTreeMap::from([("1.2.392.200149.8.5.5.1".to_owned(), "試験".to_owned())]),
                signed_by: Some("c".into()),
            }),
            ..ok()
        };
        assert_expectations(&got, &want);
        assert_expectations(
            &expect("{ certificate: {} }"),
            &Expectations {
                certificate: Some(CertificateChecks::default()),
                ..ok()
            },
        );
    }

    #[test]
    fn dates_are_today_or_yyyy_mm_dd() {
        let date = |d: &str| match expect(&format!(
            "{{ certificate: {{ not_after_after: \"{d}\" }} }}"
        ))
        .certificate
        {
            Some(c) => c.not_after_after,
            None => panic!("no certificate checks"),
        };
        assert_eq!(date("today"), Some(DateRef::Today));
        assert_eq!(
            date("2026-11-25"),
            Some(DateRef::Day(jiff::civil::date(2026, 11, 25)))
        );
        for key in ["not_after_before", "not_after_after", "not_before_before"] {
            assert_eq!(
                fails(&format!("{{ certificate: {{ {key}: Today }} }}")),
                format!(
                    ".certificate.{key}: `Today` is not `today` or a YYYY-MM-DD date: {}",
                    "Today".parse::<Date>().unwrap_err()
                )
            );
        }
        assert_eq!(date_ref("today", ".x"), Ok(DateRef::Today));
        assert_eq!(
            date_ref("2026-02-30", ".x"),
            Err((
                ".x".into(),
                format!(
                    "`2026-02-30` is not `today` or a YYYY-MM-DD date: {}",
                    "2026-02-30".parse::<Date>().unwrap_err()
                )
            ))
        );
    }

    #[test]
    fn every_extension_name_has_its_oid() {
        let names: Vec<&str> = EXTENSIONS.iter().map(|(n, _)| *n).collect();
        let got = match expect(&format!(
            "{{ certificate: {{ extensions: [{}] }} }}",
            names.join(", ")
        ))
        .certificate
        {
            Some(c) => c.extensions,
            None => panic!("no certificate checks"),
        };
        assert_eq!(
            got,
            [
                ext("key-usage", "2.5.29.15"),
                ext("extended-key-usage", "2.5.29.37"),
                ext("subject-alt-name", "2.5.29.17"),
                ext("issuer-alt-name", "2.5.29.18"),
                ext("certificate-policies", "2.5.29.32"),
                ext("crl-distribution-points", "2.5.29.31"),
                ext("authority-info-access", "1.3.6.1.5.5.7.1.1"),
                ext("subject-key-identifier", "2.5.29.14"),
                ext("authority-key-identifier", "2.5.29.35"),
                ext("basic-constraints", "2.5.29.19"),
            ]
        );
        assert_eq!(extension_list(&[], ".x"), Ok(vec![]));
    }

    #[test]
    fn an_unknown_extension_name_lists_the_known_ones() {
        let all = "key-usage, extended-key-usage, subject-alt-name, issuer-alt-name, certificate-policies, crl-distribution-points, authority-info-access, subject-key-identifier, authority-key-identifier, basic-constraints";
        for key in ["extensions", "no_extensions"] {
            assert_eq!(
                fails(&format!(
                    "{{ certificate: {{ {key}: [key-usage, keyusage] }} }}"
                )),
                format!(".certificate.{key}: `keyusage` is not one of {all}")
            );
        }
        assert_eq!(
            fails("{ certificate: { extensions: [2.5.29.15] } }"),
            format!(".certificate.extensions: `2.5.29.15` is not one of {all}")
        );
    }

    #[test]
    fn a_certificate_signer_must_be_captured() {
        assert_eq!(
            fails("{ certificate: { signed_by: e } }"),
            ".certificate.signed_by: `e` is not captured by an earlier step (`as: e`)"
        );
    }

    #[test]
    fn the_integrity_record_check_names_three_captures() {
        let yaml = "  - get_challenge: 8\n    as: f1\n  - get_challenge: 8\n    as: f2\n  - get_challenge: 8\n    as: cv\n  - power: on\n    expect: { integrity_record: { my_number_file: f1, attributes_file: f2, cv_certificate: cv, digests: valid, signature: invalid } }\n";
        assert_expectations(
            &last(yaml).expect,
            &Expectations {
                integrity_record: Some(IntegrityCheck {
                    my_number_file: "f1".into(),
                    attributes_file: "f2".into(),
                    cv_certificate: "cv".into(),
                    digests_match: true,
                    signature_verifies: false,
                }),
                ..ok()
            },
        );
        let swapped = yaml.replace(
            "digests: valid, signature: invalid",
            "digests: invalid, signature: valid",
        );
        let got = last(&swapped).expect.integrity_record.unwrap();
        assert_eq!((got.digests_match, got.signature_verifies), (false, true));
        for (key, i) in [
            ("my_number_file", 0),
            ("attributes_file", 1),
            ("cv_certificate", 2),
        ] {
            let names: Vec<&str> = ["c", "c", "c"]
                .iter()
                .enumerate()
                .map(|(j, n)| if i == j { "e" } else { *n })
                .collect();
            assert_eq!(
                fails(&format!(
                    "{{ integrity_record: {{ my_number_file: {}, attributes_file: {}, cv_certificate: {}, digests: valid, signature: valid }} }}",
                    names[0], names[1], names[2]
                )),
                format!(
                    ".integrity_record.{key}: `e` is not captured by an earlier step (`as: e`)"
                )
            );
        }
    }

    #[test]
    fn validity_is_valid_or_not() {
        assert!(valid(Validity::Valid));
        assert!(!valid(Validity::Invalid));
    }

    fn tlv(checks: &str) -> Vec<TlvCheck> {
        expect(&format!("{{ tlv: [ {checks} ] }}")).tlv
    }

    fn tlv_check(path: Vec<u32>) -> TlvCheck {
        TlvCheck {
            skip: 0,
            parses: true,
            path,
            text: None,
            present: true,
            hex: None,
            length: None,
            utf8_valid: None,
        }
    }

    #[test]
    fn tlv_checks_are_compiled_in_order() {
        assert_eq!(
            tlv(
                "{}, { path: FF20/DF22, text: \"${card.serial}\", utf8: valid }, { path: \" ff20 / 5f1 \", skip: 2, hex: \"0A 0b\", length: 2, utf8: invalid }, { path: \"7F21/5F37\", parses: false }, { path: DF23, present: false }"
            ),
            [
                tlv_check(vec![]),
                TlvCheck {
                    text: Some(text("468994375268502")),
                    utf8_valid: Some(true),
                    ..tlv_check(vec![0xFF20, 0xDF22])
                },
                TlvCheck {
                    skip: 2,
                    hex: Some(vec![0x0A, 0x0B]),
                    length: Some(2),
                    utf8_valid: Some(false),
                    ..tlv_check(vec![0xFF20, 0x5F1])
                },
                TlvCheck {
                    parses: false,
                    ..tlv_check(vec![0x7F21, 0x5F37])
                },
                TlvCheck {
                    present: false,
                    ..tlv_check(vec![0xDF23])
                },
            ]
        );
        assert_eq!(
            expect("{ tlv: [ { text: \"${c}\" } ] }").tlv[0].text,
            Some(Template(vec![TextPart::Capture(CaptureRef {
                name: "c".into(),
                range: None
            })]))
        );
    }

    #[test]
    fn tlv_path_tags_are_hex() {
        for (path, tag) in [
            ("FF20/XY", "XY"),
            ("FF20//DF22", ""),
            ("/FF20", ""),
            ("FF20/", ""),
            ("100000000", "100000000"),
        ] {
            assert_eq!(
                fails(&format!("{{ tlv: [ {{}}, {{ path: \"{path}\" }} ] }}")),
                format!(".tlv[1].path: `{tag}` is not a tag in hex (e.g. FF20/DF22)"),
                "{path}"
            );
        }
        assert_eq!(
            fails("{ tlv: [ { path: \"\" } ] }"),
            ".tlv[0].path: `` is not a tag in hex (e.g. FF20/DF22)"
        );
    }

    #[test]
    fn tlv_values_are_checked() {
        assert_eq!(
            fails("{ tlv: [ { path: DF22, hex: \"0\" } ] }"),
            ".tlv[0].hex: `0`: odd number of hex digits (1)"
        );
        assert_eq!(
            fails("{ tlv: [ {}, {}, { text: \"${e}\" } ] }"),
            ".tlv[2].text: `${e}` is not captured by an earlier step (`as: e`)"
        );
    }

    #[test]
    fn present_false_needs_a_path_and_nothing_else() {
        let rule = "`present: false` needs a `path` and no value checks (nor `parses: false`)";
        for extra in [
            "",
            ", path: DF22, parses: false",
            ", path: DF22, text: x",
            ", path: DF22, hex: \"00\"",
            ", path: DF22, length: 0",
            ", path: DF22, utf8: valid",
            ", path: DF22, utf8: invalid",
            ", parses: false, text: x, hex: \"00\", length: 1, utf8: valid",
        ] {
            assert_eq!(
                fails(&format!("{{ tlv: [ {{}}, {{ present: false{extra} }} ] }}")),
                format!(".tlv[1]: {rule}"),
                "{extra}"
            );
        }
        assert_eq!(
            tlv("{ present: false, path: DF22, skip: 3 }"),
            [TlvCheck {
                present: false,
                skip: 3,
                ..tlv_check(vec![0xDF22])
            }]
        );
    }

    #[test]
    fn value_checks_go_with_present_true() {
        assert_eq!(
            tlv("{ present: true, parses: false, text: x, hex: \"00\", length: 1, utf8: valid }"),
            [TlvCheck {
                parses: false,
                text: Some(text("x")),
                hex: Some(vec![0]),
                length: Some(1),
                utf8_valid: Some(true),
                ..tlv_check(vec![])
            }]
        );
    }
}
