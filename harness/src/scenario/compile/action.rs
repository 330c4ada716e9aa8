//! A step's action: one of the named operations (`select`, `verify`, `read`, `sign`, …) or a
//! raw APDU, checked and turned into an [`Op`] with a short label for reports.

use mynasim_simulator::apdu::Instruction;
use mynasim_simulator::apps::AppId;
use mynasim_simulator::hex;
use mynasim_simulator::security::ClientDigest;

use super::{Scope, StepError, bytes, fid, opt_fid, template};
use crate::scenario::model::{self, Action, Digest};
use crate::scenario::plan::{Op, Power, ReadMode, SignOp};

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

/// How a `read` reads: at most one of `length`, `extended`, `probe` (with `reread`).
fn read_mode(r: &model::Read) -> Result<ReadMode, StepError> {
    if r.reread && r.probe.is_none() {
        return Err((
            ".read.reread".into(),
            "`reread` goes with `probe` (read the header, then the whole object again)".into(),
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
        },
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
        (Some(k), true) => (None, 0x80 | (fid(k, ".sign.key")?[1] & 0x1F)),
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
        le: s
            .le
            .map_or(256, |n| usize::try_from(n).unwrap_or(usize::MAX)),
    })
}
