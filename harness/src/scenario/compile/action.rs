//! A step's action: one of the named operations (`select`, `verify`, `read`, `sign`, …) or a
//! raw APDU, checked and turned into an [`Op`] with a short label for reports.

use mynasim_simulator::apdu::{Instruction, KeyReference};
use mynasim_simulator::apps::AppId;
use mynasim_simulator::card::FaultPlan;
use mynasim_simulator::hex;
use mynasim_simulator::security::ClientDigest;

use super::{Scope, StepError, bytes, fid, need_capture, opt_fid, template};
use crate::scenario::model::{self, Action, Digest};
use crate::scenario::plan::{Op, Power, ReadMode, SignOp, ValidationOp};

/// Compiles one action; returns its label and operation.
pub(super) fn compile(action: &Action, scope: &Scope<'_>) -> Result<(String, Op), StepError> {
    Ok(match action {
        Action::Select(name) => {
            let aid = match AppId::from_name(name) {
                Some(app) => app.aid().to_vec(),
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
                key: opt_fid(v.key.as_deref(), ".verify.key")?,
                pin: template::text(&v.pin, ".verify.pin", scope)?,
            },
        ),
        Action::Retries(k) => (
            format!("retry query {}", k.key.as_deref().unwrap_or("current EF")),
            Op::Retries {
                key: opt_fid(k.key.as_deref(), ".retries.key")?,
            },
        ),
        Action::ChangePin(c) | Action::ChangeKey(c) => {
            let (name, instruction) = match action {
                Action::ChangeKey(_) => ("change_key", Instruction::ChangeKey),
                _ => ("change_pin", Instruction::ChangeReferenceData),
            };
            (
                format!("{name} {}", c.key.as_deref().unwrap_or("current EF")),
                Op::Change {
                    key: opt_fid(c.key.as_deref(), &format!(".{name}.key"))?,
                    new: template::text(&c.new, &format!(".{name}.new"), scope)?,
                    instruction,
                },
            )
        }
        Action::Read(r) => (
            format!("read {}", r.ef.as_deref().unwrap_or("current EF")),
            Op::Read {
                ef: opt_fid(r.ef.as_deref(), ".read.ef")?,
                offset: r.offset,
                mode: read_mode(r)?,
            },
        ),
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
                    ef: opt_fid(r.ef.as_deref(), ".read_record.ef")?,
                    record: r.record,
                    p2,
                },
            )
        }
        Action::Sign(s) => (
            format!("sign {}", s.key.as_deref().unwrap_or("current key")),
            Op::Sign(sign(s, scope)?),
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
        Action::InternalAuthenticate(ia) => (
            format!("internal authenticate {}", ia.key),
            Op::InternalAuthenticate {
                key: fid(&ia.key, ".internal_authenticate.key")?,
                challenge: template::hex(&ia.challenge, ".internal_authenticate.challenge", scope)?,
            },
        ),
        Action::Power(p) => {
            let (word, power) = match p {
                model::Power::Off => ("off", Power::Off),
                model::Power::On => ("on", Power::On),
                model::Power::Reset => ("reset", Power::Reset),
            };
            (format!("power {word}"), Op::Power(power))
        }
        Action::Fault(spec) => {
            let plan =
                FaultPlan::compile(std::slice::from_ref(spec), scope.card.personalisation.seed)
                    .map_err(|(path, message)| {
                        let rest = path.strip_prefix("faults[0]").unwrap_or(&path);
                        (format!(".fault{rest}"), message)
                    })?;
            let on = spec.on.as_deref().unwrap_or("every command");
            (format!("fault on {on}"), Op::Fault(Box::new(plan)))
        }
        Action::Validate(v) => {
            need_capture(&v.certificate, ".validate.certificate", scope.known)?;
            let via = match v.via {
                model::Via::Ocsp => "OCSP",
                model::Via::Crl => "CRL",
                model::Via::RelyingParty => "relying party",
            };
            (
                format!("validate {} ({via})", v.certificate),
                Op::Validation(ValidationOp::Validate {
                    capture: v.certificate.clone(),
                    via: v.via,
                }),
            )
        }
        Action::LoseCard(_) => ("lose card".into(), Op::Validation(ValidationOp::LoseCard)),
        Action::FindCard(_) => ("find card".into(), Op::Validation(ValidationOp::FindCard)),
        Action::MoveHouse(_) => ("move house".into(), Op::Validation(ValidationOp::MoveHouse)),
        Action::Renew(which) => (
            format!("renew {}", cert_label(*which)),
            Op::Validation(ValidationOp::Renew(cert_kind(*which))),
        ),
        Action::Revoke(r) => {
            let reason = match &r.reason {
                None => x509_cert::ext::pkix::crl::CrlReason::Unspecified,
                Some(name) => {
                    mynasim_simulator::validation::parse_reason(name).ok_or_else(|| {
                        (
                            ".revoke.reason".to_owned(),
                            format!(
                                "`{name}` is not an RFC 5280 reason: unspecified, keyCompromise, \
                             cACompromise, affiliationChanged, superseded, cessationOfOperation, \
                             certificateHold, privilegeWithdrawn, aACompromise"
                            ),
                        )
                    })?
                }
            };
            (
                format!(
                    "revoke {} ({})",
                    cert_label(r.certificate),
                    mynasim_simulator::validation::reason_name(reason)
                ),
                Op::Validation(ValidationOp::Revoke {
                    kind: cert_kind(r.certificate),
                    reason,
                }),
            )
        }
        Action::Advance(text) => (
            format!("advance {text}"),
            Op::Validation(ValidationOp::Advance(duration(text)?)),
        ),
        Action::ValidationFault(f) => (
            "validation fault".into(),
            Op::Validation(ValidationOp::Fault(mynasim_simulator::validation::Faults {
                try_later: f.try_later,
                stale_crl: f.stale_crl,
                down: f.down,
                http_503: f.http_503,
                delay_ms: 0,
            })),
        ),
        Action::Apdu(text) => {
            // Sent as written: a malformed APDU is a legitimate test of the card's 67 00.
            let apdu = template::hex(text, ".apdu", scope)?;
            let head = apdu.literal_prefix();
            (
                format!("apdu {}", hex::spaced(head.get(..4).unwrap_or(head))),
                Op::Raw(apdu),
            )
        }
    })
}

fn cert_kind(which: model::CertName) -> mynasim_simulator::pki::jpki::CertKind {
    match which {
        model::CertName::Auth => mynasim_simulator::pki::jpki::CertKind::Authentication,
        model::CertName::Sign => mynasim_simulator::pki::jpki::CertKind::Signature,
    }
}

fn cert_label(which: model::CertName) -> &'static str {
    match which {
        model::CertName::Auth => "auth",
        model::CertName::Sign => "sign",
    }
}

/// `1d`, `12h`, `30m`, `90s`, up to ten years either way (a minus sign goes back).
fn duration(text: &str) -> Result<jiff::SignedDuration, StepError> {
    mynasim_simulator::validation::parse_duration(text).map_err(|e| (".advance".to_owned(), e))
}

/// How a `read` reads: at most one of `length`, `extended`, `probe` (with `reread`).
fn read_mode(r: &model::Read) -> Result<ReadMode, StepError> {
    if r.reread && r.probe.is_none() {
        return Err((
            ".read.reread".into(),
            "`reread` goes with `probe` (read the header, then the whole object again)".into(),
        ));
    }
    let chunk = match r.chunk {
        None => 256,
        Some(n @ 1..=256) => usize::from(n),
        Some(n) => {
            return Err((
                ".read.chunk".into(),
                format!("{n}: a chunk is 1 to 256 bytes"),
            ));
        }
    };
    if r.chunk.is_some() && (r.length.is_some() || r.extended) {
        return Err((
            ".read.chunk".into(),
            "`chunk` goes with a whole-EF or `probe` read, not `length` or `extended`".into(),
        ));
    }
    Ok(match (r.length, r.extended, r.probe) {
        (Some(n), false, None) if (1..=65_536).contains(&n) => {
            ReadMode::Range(usize::try_from(n).unwrap_or(65_536))
        }
        (Some(n), false, None) => {
            return Err((".read.length".into(), format!("{n}: must be 1 to 65536")));
        }
        (None, true, None) => ReadMode::Extended,
        (None, false, Some(n)) if (2..=16).contains(&n) => ReadMode::Probe {
            first: n,
            reread: r.reread,
            chunk,
        },
        (None, false, Some(n)) => {
            return Err((
                ".read.probe".into(),
                format!("{n}: a header probe is 2 to 16 bytes"),
            ));
        }
        (None, false, None) => ReadMode::Whole { chunk },
        _ => {
            return Err((
                ".read".into(),
                "give at most one of `length`, `extended`, `probe`".into(),
            ));
        }
    })
}

fn sign(s: &model::Sign, scope: &Scope<'_>) -> Result<SignOp, StepError> {
    let message = match (&s.text, &s.data) {
        (Some(t), None) => template::text(t, ".sign.text", scope)?.into(),
        (None, Some(h)) => template::hex(h, ".sign.data", scope)?,
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
        (Some(k), true) => (None, KeyReference::sfi_of(fid(k, ".sign.key")?).p2()),
        (None, true) => return Err((".sign.by_sfi".into(), "`by_sfi` needs `key`".into())),
        (k, false) => (opt_fid(k, ".sign.key")?, 0x80),
    };
    Ok(SignOp {
        key,
        scheme: s.scheme,
        p2,
        message,
        digest: match s.digest {
            Digest::Sha256 => ClientDigest::Sha256,
            Digest::Sha1 => ClientDigest::Sha1,
            Digest::None => ClientDigest::None,
        },
        le: match s.le {
            None => 256,
            Some(n @ 1..=65_536) => usize::try_from(n).unwrap_or(65_536),
            Some(n) => {
                return Err((
                    ".sign.le".into(),
                    format!("{n}: Le is 1 to 65536 (256 is `00` in a short APDU)"),
                ));
            }
        },
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

    use mynasim_simulator::apdu::Instruction;
    use mynasim_simulator::security::ClientDigest;

    use crate::scenario::compile::tests::{at, last, step_error};
    use crate::scenario::plan::{
        BytesPart, CaptureRef, HexTemplate, Op, Power, ReadMode, SignOp, Template, TextPart,
        ValidationOp,
    };

    /// The label and operation of a step (after a `get_challenge` captured as `c`).
    fn op(step: &str) -> (String, Op) {
        let s = last(&format!("  - get_challenge: 8\n    as: c\n  - {step}\n"));
        (s.label, s.op)
    }

    /// The error of a step (the second, on line 6, after a capture `c`).
    fn fails(step: &str) -> String {
        let e = step_error(&format!("  - get_challenge: 8\n    as: c\n  - {step}\n"));
        let prefix = at(":6:5: steps[1]");
        e.strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("not at {prefix}: {e}"))
            .to_owned()
    }

    fn text(t: &str) -> Template {
        Template(vec![TextPart::Text(t.to_owned())])
    }

    fn bytes(b: &[u8]) -> HexTemplate {
        HexTemplate(vec![BytesPart::Bytes(b.to_vec())])
    }

    fn capture(name: &str) -> CaptureRef {
        CaptureRef {
            name: name.to_owned(),
            range: None,
        }
    }

    const NOT_A_FID: &str = "`18` is not a 2-byte FID such as \"0018\"";

    #[test]
    fn select_names_an_application_or_a_df_name_in_hex() {
        for (name, aid) in [
            ("jpki", "D392F000260100000001"),
            ("text", "D3921000310001010408"),
            ("face", "D3921000310001010402"),
            ("common", "D3921000310001010100"),
            ("juki", "D3921000310001010401"),
            ("isd", "A0000001510000"),
            ("D392 f000", "D392F000"),
        ] {
            assert_eq!(
                op(&format!("select: {name}")),
                (
                    format!("select {name}"),
                    Op::Select(mynasim_simulator::hex::decode(aid).unwrap())
                )
            );
        }
        // An empty name is an empty DF name.
        assert_eq!(op("select: \"\""), ("select ".into(), Op::Select(vec![])));
        for bad in ["jpkix", "JPKI", "D39"] {
            assert_eq!(
                fails(&format!("select: {bad}")),
                format!(
                    ".select: `{bad}` is neither an application (jpki, text, face, common, juki, isd) nor a DF name in hex"
                )
            );
        }
    }

    #[test]
    fn select_ef_takes_a_fid() {
        assert_eq!(
            op("select_ef: \"000A\""),
            ("select EF 000A".into(), Op::SelectEf([0x00, 0x0A]))
        );
        assert_eq!(
            fails("select_ef: \"18\""),
            format!(".select_ef: {NOT_A_FID}")
        );
    }

    #[test]
    fn verify_selects_its_key_if_given() {
        assert_eq!(
            op("verify: { key: \"0018\", pin: \"${card.pin.auth}\" }"),
            (
                "verify 0018".into(),
                Op::Verify {
                    key: Some([0x00, 0x18]),
                    pin: text("1234")
                }
            )
        );
        assert_eq!(
            op("verify: { pin: \"${c}\" }"),
            (
                "verify current EF".into(),
                Op::Verify {
                    key: None,
                    pin: Template(vec![TextPart::Capture(capture("c"))])
                }
            )
        );
        assert_eq!(
            fails("verify: { key: \"18\", pin: \"1\" }"),
            format!(".verify.key: {NOT_A_FID}")
        );
        assert_eq!(
            fails("verify: { pin: \"${d}\" }"),
            ".verify.pin: `${d}` is not captured by an earlier step (`as: d`)"
        );
    }

    #[test]
    fn retries_selects_its_key_if_given() {
        assert_eq!(
            op("retries: { key: \"001B\" }"),
            (
                "retry query 001B".into(),
                Op::Retries {
                    key: Some([0x00, 0x1B])
                }
            )
        );
        assert_eq!(
            op("retries: {}"),
            ("retry query current EF".into(), Op::Retries { key: None })
        );
        assert_eq!(
            fails("retries: { key: \"18\" }"),
            format!(".retries.key: {NOT_A_FID}")
        );
    }

    #[test]
    fn change_pin_and_change_key_differ_in_their_instruction() {
        assert_eq!(
            op("change_pin: { key: \"0018\", new: \"5678\" }"),
            (
                "change_pin 0018".into(),
                Op::Change {
                    key: Some([0x00, 0x18]),
                    new: text("5678"),
                    instruction: Instruction::ChangeReferenceData
                }
            )
        );
        assert_eq!(
            op("change_key: { new: \"${card.pin.auth}\" }"),
            (
                "change_key current EF".into(),
                Op::Change {
                    key: None,
                    new: text("1234"),
                    instruction: Instruction::ChangeKey
                }
            )
        );
        assert_eq!(
            op("change_key: { key: \"001C\", new: \"1\" }").0,
            "change_key 001C"
        );
        assert_eq!(op("change_pin: { new: \"1\" }").0, "change_pin current EF");
        for name in ["change_pin", "change_key"] {
            assert_eq!(
                fails(&format!("{name}: {{ key: \"18\", new: \"1\" }}")),
                format!(".{name}.key: {NOT_A_FID}")
            );
            assert_eq!(
                fails(&format!("{name}: {{ new: \"${{d}}\" }}")),
                format!(".{name}.new: `${{d}}` is not captured by an earlier step (`as: d`)")
            );
        }
    }

    fn read(args: &str) -> (String, Op) {
        op(&format!("read: {{ {args} }}"))
    }

    fn mode(args: &str) -> ReadMode {
        match read(args).1 {
            Op::Read { mode, .. } => mode,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn read_reads_the_whole_ef_by_default() {
        assert_eq!(
            read("ef: \"000A\""),
            (
                "read 000A".into(),
                Op::Read {
                    ef: Some([0x00, 0x0A]),
                    offset: 0,
                    mode: ReadMode::Whole { chunk: 256 }
                }
            )
        );
        assert_eq!(
            read("offset: 7"),
            (
                "read current EF".into(),
                Op::Read {
                    ef: None,
                    offset: 7,
                    mode: ReadMode::Whole { chunk: 256 }
                }
            )
        );
        assert_eq!(
            fails("read: { ef: \"18\" }"),
            format!(".read.ef: {NOT_A_FID}")
        );
    }

    #[test]
    fn read_lengths_are_1_to_65536() {
        assert_eq!(mode("length: 1"), ReadMode::Range(1));
        assert_eq!(mode("length: 256"), ReadMode::Range(256));
        assert_eq!(mode("length: 65536"), ReadMode::Range(65_536));
        for n in [0, 65_537, 4_294_967_295_u32] {
            assert_eq!(
                fails(&format!("read: {{ length: {n} }}")),
                format!(".read.length: {n}: must be 1 to 65536")
            );
        }
    }

    #[test]
    fn read_extended_and_probes_of_2_to_16() {
        assert_eq!(mode("extended: true"), ReadMode::Extended);
        assert_eq!(mode("extended: false"), ReadMode::Whole { chunk: 256 });
        assert_eq!(
            mode("probe: 2"),
            ReadMode::Probe {
                first: 2,
                reread: false,
                chunk: 256
            }
        );
        assert_eq!(
            mode("probe: 16, reread: true"),
            ReadMode::Probe {
                first: 16,
                reread: true,
                chunk: 256
            }
        );
        assert_eq!(
            mode("probe: 7, reread: false"),
            ReadMode::Probe {
                first: 7,
                reread: false,
                chunk: 256
            }
        );
        for n in [0, 1, 17, 255] {
            assert_eq!(
                fails(&format!("read: {{ probe: {n} }}")),
                format!(".read.probe: {n}: a header probe is 2 to 16 bytes")
            );
        }
    }

    #[test]
    fn chunks_are_1_to_256_on_whole_and_probe_reads() {
        assert_eq!(mode("chunk: 255"), ReadMode::Whole { chunk: 255 });
        assert_eq!(mode("chunk: 1"), ReadMode::Whole { chunk: 1 });
        assert_eq!(mode("chunk: 256"), ReadMode::Whole { chunk: 256 });
        assert_eq!(
            mode("probe: 7, chunk: 255"),
            ReadMode::Probe {
                first: 7,
                reread: false,
                chunk: 255
            }
        );
        for n in [0, 257, 65_535] {
            assert_eq!(
                fails(&format!("read: {{ chunk: {n} }}")),
                format!(".read.chunk: {n}: a chunk is 1 to 256 bytes")
            );
        }
        for args in ["chunk: 255, length: 4", "chunk: 255, extended: true"] {
            assert_eq!(
                fails(&format!("read: {{ {args} }}")),
                ".read.chunk: `chunk` goes with a whole-EF or `probe` read, not `length` or `extended`",
                "{args}"
            );
        }
    }

    #[test]
    fn reread_needs_a_probe() {
        for args in [
            "reread: true",
            "reread: true, length: 4",
            "reread: true, extended: true",
        ] {
            assert_eq!(
                fails(&format!("read: {{ {args} }}")),
                ".read.reread: `reread` goes with `probe` (read the header, then the whole object again)"
            );
        }
    }

    #[test]
    fn read_takes_one_way_of_reading() {
        for args in [
            "length: 4, extended: true",
            "length: 4, probe: 4",
            "extended: true, probe: 4",
            "length: 4, extended: true, probe: 4",
            "length: 0, probe: 4",
            "extended: true, probe: 1",
        ] {
            assert_eq!(
                fails(&format!("read: {{ {args} }}")),
                ".read: give at most one of `length`, `extended`, `probe`",
                "{args}"
            );
        }
    }

    fn record(args: &str) -> (String, Op) {
        op(&format!("read_record: {{ {args} }}"))
    }

    #[test]
    fn validation_steps_compile_to_their_operations() {
        use crate::scenario::model::Via;
        use mynasim_simulator::pki::jpki::CertKind;
        use x509_cert::ext::pkix::crl::CrlReason;
        let v = |step: &str| op(step);
        assert_eq!(
            v("validate: { certificate: c, via: crl }"),
            (
                "validate c (CRL)".into(),
                Op::Validation(ValidationOp::Validate {
                    capture: "c".into(),
                    via: Via::Crl
                })
            )
        );
        assert_eq!(
            v("validate: { certificate: c }").1,
            Op::Validation(ValidationOp::Validate {
                capture: "c".into(),
                via: Via::Ocsp
            })
        );
        assert_eq!(
            v("revoke: { certificate: sign, reason: affiliation-changed }"),
            (
                "revoke sign (affiliationChanged)".into(),
                Op::Validation(ValidationOp::Revoke {
                    kind: CertKind::Signature,
                    reason: CrlReason::AffiliationChanged
                })
            )
        );
        assert_eq!(
            v("revoke: { certificate: auth }").1,
            Op::Validation(ValidationOp::Revoke {
                kind: CertKind::Authentication,
                reason: CrlReason::Unspecified
            })
        );
        assert_eq!(
            v("renew: sign").1,
            Op::Validation(ValidationOp::Renew(CertKind::Signature))
        );
        for (text, secs) in [
            ("1d", 86_400),
            ("12h", 43_200),
            ("-30m", -1_800),
            ("90s", 90),
        ] {
            assert_eq!(
                v(&format!("advance: \"{text}\"")).1,
                Op::Validation(ValidationOp::Advance(jiff::SignedDuration::from_secs(secs)))
            );
        }
        assert_eq!(v("lose_card: {}").1, Op::Validation(ValidationOp::LoseCard));
        assert_eq!(v("find_card: {}").1, Op::Validation(ValidationOp::FindCard));
        assert_eq!(
            v("move_house: {}").1,
            Op::Validation(ValidationOp::MoveHouse)
        );
    }

    #[test]
    fn validation_steps_refuse_what_they_cannot_do() {
        assert_eq!(
            fails("validate: { certificate: nothing }"),
            ".validate.certificate: `nothing` is not captured by an earlier step (`as: nothing`)"
        );
        assert!(
            fails("revoke: { certificate: auth, reason: lost }")
                .starts_with(".revoke.reason: `lost` is not an RFC 5280 reason")
        );
        for bad in ["1w", "d", "", "x1d", "1.5d"] {
            assert_eq!(
                fails(&format!("advance: \"{bad}\"")),
                format!(
                    ".advance: `{bad}` is not a duration: write a number and d, h, m or s (`1d`, `12h`)"
                )
            );
        }
        assert_eq!(
            fails("advance: 4000d"),
            ".advance: `4000d`: at most ten years"
        );
    }

    #[test]
    fn read_record_names_its_ef_by_sfi_in_p2() {
        for (sfi, p2) in [(1, 0x0C), (2, 0x14), (7, 0x3C), (30, 0xF4)] {
            assert_eq!(
                record(&format!("record: 3, sfi: {sfi}")),
                (
                    "read record 3".into(),
                    Op::ReadRecord {
                        ef: None,
                        record: 3,
                        p2
                    }
                )
            );
        }
        for sfi in [0, 31, 255] {
            assert_eq!(
                fails(&format!("read_record: {{ record: 1, sfi: {sfi} }}")),
                format!(".read_record.sfi: {sfi}: must be 1 to 30")
            );
        }
        assert_eq!(
            fails("read_record: { record: 1, sfi: 31, ef: \"0001\" }"),
            ".read_record.sfi: 31: must be 1 to 30"
        );
    }

    #[test]
    fn read_record_selects_its_ef_or_reads_the_current_one() {
        assert_eq!(
            record("record: 1, ef: \"0001\""),
            (
                "read record 1".into(),
                Op::ReadRecord {
                    ef: Some([0x00, 0x01]),
                    record: 1,
                    p2: 0x04
                }
            )
        );
        assert_eq!(
            record("record: 255"),
            (
                "read record 255".into(),
                Op::ReadRecord {
                    ef: None,
                    record: 255,
                    p2: 0x04
                }
            )
        );
        assert_eq!(
            fails("read_record: { record: 1, sfi: 1, ef: \"0001\" }"),
            ".read_record: give `sfi` or `ef`, not both"
        );
        assert_eq!(
            fails("read_record: { record: 1, ef: \"18\" }"),
            format!(".read_record.ef: {NOT_A_FID}")
        );
    }

    fn sign(args: &str) -> (String, SignOp) {
        match op(&format!("sign: {{ {args} }}")) {
            (label, Op::Sign(s)) => (label, s),
            other => panic!("{other:?}"),
        }
    }

    fn sign_op(key: Option<[u8; 2]>, p2: u8, message: HexTemplate) -> SignOp {
        SignOp {
            key,
            scheme: 0,
            p2,
            message,
            digest: ClientDigest::Sha256,
            le: 256,
        }
    }

    #[test]
    fn sign_selects_its_key_and_names_it_80_in_p2() {
        assert_eq!(
            sign("key: \"0017\", text: hello"),
            (
                "sign 0017".into(),
                sign_op(Some([0x00, 0x17]), 0x80, bytes(b"hello"))
            )
        );
        assert_eq!(
            sign("data: \"01 02\""),
            (
                "sign current key".into(),
                sign_op(None, 0x80, bytes(&[1, 2]))
            )
        );
    }

    #[test]
    fn sign_by_sfi_names_the_key_in_p2() {
        for (key, p2) in [
            ("0017", 0x97),
            ("001A", 0x9A),
            ("00F7", 0x97),
            ("0001", 0x81),
            ("001F", 0x9F),
        ] {
            assert_eq!(
                sign(&format!("key: \"{key}\", by_sfi: true, text: x")),
                (format!("sign {key}"), sign_op(None, p2, bytes(b"x"))),
                "{key}"
            );
        }
        assert_eq!(
            fails("sign: { by_sfi: true, text: x }"),
            ".sign.by_sfi: `by_sfi` needs `key`"
        );
        assert_eq!(
            fails("sign: { key: \"17\", by_sfi: true, text: x }"),
            ".sign.key: `17` is not a 2-byte FID such as \"0018\""
        );
    }

    #[test]
    fn sign_with_the_default_key_sends_p2_00() {
        assert_eq!(
            sign("key: default, data: \"${c}\""),
            (
                "sign default".into(),
                sign_op(
                    None,
                    0x00,
                    HexTemplate(vec![BytesPart::Capture(capture("c"))])
                )
            )
        );
        assert_eq!(
            fails("sign: { key: default, by_sfi: true, text: x }"),
            ".sign.by_sfi: `key: default` has no SFI"
        );
        assert_eq!(
            fails("sign: { key: \"18\", text: x }"),
            format!(".sign.key: {NOT_A_FID}")
        );
    }

    #[test]
    fn sign_takes_the_message_as_text_or_data() {
        assert_eq!(
            sign("text: \"${card.pin.auth}${c}\"").1.message,
            HexTemplate(vec![
                BytesPart::Bytes(b"1234".to_vec()),
                BytesPart::Capture(capture("c"))
            ])
        );
        assert_eq!(
            fails("sign: { key: \"0017\" }"),
            ".sign: give the message as `text` or `data`"
        );
        assert_eq!(
            fails("sign: { text: a, data: \"00\" }"),
            ".sign: give `text` or `data`, not both"
        );
        assert_eq!(
            fails("sign: { text: \"${d}\" }"),
            ".sign.text: `${d}` is not captured by an earlier step (`as: d`)"
        );
        assert_eq!(
            fails("sign: { data: \"0\" }"),
            ".sign.data: `0`: odd number of hex digits (1)"
        );
    }

    #[test]
    fn sign_scheme_digest_and_le() {
        let s = sign("text: x, scheme: 4, digest: sha1, le: 1").1;
        assert_eq!((s.scheme, s.digest, s.le), (4, ClientDigest::Sha1, 1));
        let s = sign("text: x, scheme: 255, digest: none, le: 65536").1;
        assert_eq!(
            (s.scheme, s.digest, s.le),
            (255, ClientDigest::None, 65_536)
        );
    }

    /// Issue 12, finding 10: `le: 0` and `le: 70000` made the step send only the header.
    #[test]
    fn finding_10_sign_le_outside_1_to_65536_is_refused() {
        for n in [0, 65_537, 70_000] {
            assert_eq!(
                fails(&format!("sign: {{ text: x, le: {n} }}")),
                format!(".sign.le: {n}: Le is 1 to 65536 (256 is `00` in a short APDU)")
            );
        }
    }

    #[test]
    fn get_challenge_asks_for_1_to_256_bytes() {
        for n in [1, 8, 256] {
            assert_eq!(
                op(&format!("get_challenge: {n}")),
                (format!("get challenge {n}"), Op::GetChallenge(n))
            );
        }
        for n in [0, 257, 65_535] {
            assert_eq!(
                fails(&format!("get_challenge: {n}")),
                format!(".get_challenge: {n}: must be 1 to 256")
            );
        }
    }

    #[test]
    fn get_data_takes_a_two_byte_tag() {
        assert_eq!(
            op("get_data: { tag: \"00F8\", extended: true }"),
            (
                "get data 00F8".into(),
                Op::GetData {
                    tag: [0x00, 0xF8],
                    extended: true
                }
            )
        );
        assert_eq!(
            op("get_data: { tag: \"5f51\" }"),
            (
                "get data 5f51".into(),
                Op::GetData {
                    tag: [0x5F, 0x51],
                    extended: false
                }
            )
        );
        assert_eq!(
            fails("get_data: { tag: \"18\" }"),
            format!(".get_data.tag: {NOT_A_FID}")
        );
    }

    #[test]
    fn internal_authenticate_takes_a_key_and_a_challenge() {
        assert_eq!(
            op("internal_authenticate: { key: \"0019\", challenge: \"01${c}\" }"),
            (
                "internal authenticate 0019".into(),
                Op::InternalAuthenticate {
                    key: [0x00, 0x19],
                    challenge: HexTemplate(vec![
                        BytesPart::Bytes(vec![1]),
                        BytesPart::Capture(capture("c"))
                    ])
                }
            )
        );
        assert_eq!(
            fails("internal_authenticate: { key: \"18\", challenge: \"01\" }"),
            format!(".internal_authenticate.key: {NOT_A_FID}")
        );
        assert_eq!(
            fails("internal_authenticate: { key: \"0019\", challenge: \"0\" }"),
            ".internal_authenticate.challenge: `0`: odd number of hex digits (1)"
        );
    }

    #[test]
    fn power_off_on_and_reset() {
        assert_eq!(
            op("power: off"),
            ("power off".into(), Op::Power(Power::Off))
        );
        assert_eq!(op("power: on"), ("power on".into(), Op::Power(Power::On)));
        assert_eq!(
            op("power: reset"),
            ("power reset".into(), Op::Power(Power::Reset))
        );
    }

    #[test]
    fn apdu_is_sent_as_written_and_labelled_by_its_header() {
        assert_eq!(
            op("apdu: \"00A4040C 02 3F00\""),
            (
                "apdu 00 A4 04 0C".into(),
                Op::Raw(bytes(&[0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00]))
            )
        );
        assert_eq!(
            op("apdu: \"00 84\""),
            ("apdu 00 84".into(), Op::Raw(bytes(&[0x00, 0x84])))
        );
        assert_eq!(
            op("apdu: \"${c}00\""),
            (
                "apdu ".into(),
                Op::Raw(HexTemplate(vec![
                    BytesPart::Capture(capture("c")),
                    BytesPart::Bytes(vec![0])
                ]))
            )
        );
        assert_eq!(
            fails("apdu: \"00A4 0\""),
            ".apdu: `00A4 0`: odd number of hex digits (5)"
        );
    }
}
