//! Running a plan's steps on a [`Link`]: each operation becomes the APDUs a client sends
//! (built from the simulator's [instruction table](mynasim_simulator::apdu::build)), every
//! exchange is recorded as a transcript entry, and each answer is checked.

use std::time::{Duration, Instant};

use mynasim_simulator::apdu::{BinaryAddress, Instruction, KeyReference, build};
use mynasim_simulator::transcript::{Entry, Event, Exchange};

use super::check::{self, Context};
use super::outcome::{Outcome, Status, StepOutcome, StepStatus};
use crate::scenario::plan::{Body, Captures, Op, Plan, PlanStep, Power, ReadMode};
use crate::target::{Link, TargetError};

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The status word of a success.
const OK: u16 = 0x9000;
/// READ BINARY past the end of the EF.
const OFFSET_OUTSIDE: u16 = 0x6B00;

/// Records entries as it talks to the link.
struct Session<'t> {
    link: &'t mut dyn Link,
    log: Vec<Entry>,
    /// The scenario's card as issued (validation steps start their service from it).
    card: std::sync::Arc<mynasim_simulator::profile::IssuedCard>,
    /// The scenario's validation service, from its first validation step on.
    validation: Option<super::validation::State>,
}

impl Session<'_> {
    fn send(&mut self, apdu: Vec<u8>) -> Result<(Vec<u8>, u16), TargetError> {
        let start = Instant::now();
        let response = match self.link.transmit(&apdu) {
            Ok(r) => r,
            Err(e) => {
                // The command went out and nothing came back: the transcript shows both.
                if let TargetError::Removed(why) | TargetError::Diverged(why) = &e {
                    self.log.push(Entry {
                        event: Event::Exchange(Exchange::new(apdu, Vec::new())),
                        elapsed: start.elapsed(),
                    });
                    self.log.push(Entry::new(Event::Link(why.clone())));
                }
                return Err(e);
            }
        };
        let elapsed = start.elapsed();
        let (data, sw) = split(&response);
        let data = data.to_vec();
        self.log.push(Entry {
            event: Event::Exchange(Exchange::new(apdu, response)),
            elapsed,
        });
        Ok((data, sw))
    }

    /// Powers the card; the ATR it presents (empty for `off`).
    fn power(&mut self, power: Power) -> Result<Vec<u8>, TargetError> {
        let start = Instant::now();
        let (event, atr) = match power {
            Power::Off => {
                self.link.power_off()?;
                (Event::PowerOff, Vec::new())
            }
            Power::On => {
                let atr = self.link.power_on()?;
                (Event::PowerOn { atr: atr.clone() }, atr)
            }
            Power::Reset => {
                let atr = self.link.reset()?;
                (Event::Reset { atr: atr.clone() }, atr)
            }
        };
        self.log.push(Entry {
            event,
            elapsed: start.elapsed(),
        });
        Ok(atr)
    }

    /// SELECT EF first when a step names one; a refusal ends the step with that SW.
    fn select_first(&mut self, ef: Option<[u8; 2]>) -> Result<Option<(Vec<u8>, u16)>, TargetError> {
        let Some(fid) = ef else { return Ok(None) };
        let (data, sw) = self.send(build::select_ef(fid))?;
        Ok((sw != OK).then_some((data, sw)))
    }
}

fn split(response: &[u8]) -> (&[u8], u16) {
    match response.split_last_chunk::<2>() {
        Some((data, sw)) => (data, u16::from_be_bytes(*sw)),
        None => (&[], 0),
    }
}

/// What a step's operation produced: the data, the SW, and for `sign` the message signed.
type Produced = (Vec<u8>, u16, Option<Vec<u8>>);

/// Runs one step's operation.
fn execute(s: &mut Session<'_>, op: &Op, captures: &Captures) -> Result<Produced, TargetError> {
    let message = match op {
        Op::Sign(sign) => Some(sign.message.render(captures)),
        _ => None,
    };
    let (data, sw) = send_op(s, op, captures, message.as_deref())?;
    Ok((data, sw, message))
}

/// Sends an operation's APDUs (`message`: what a `sign` step signs); returns the data and
/// SW of the last.
fn send_op(
    s: &mut Session<'_>,
    op: &Op,
    captures: &Captures,
    message: Option<&[u8]>,
) -> Result<(Vec<u8>, u16), TargetError> {
    let current = KeyReference::Current;
    match op {
        Op::Validation(v) => {
            let card = std::sync::Arc::clone(&s.card);
            let state = s
                .validation
                .get_or_insert_with(|| super::validation::State::new(card));
            let (data, comment) = state.run(v, s.link, captures)?;
            s.log.push(Entry::new(Event::Comment(comment)));
            Ok((data, OK))
        }
        Op::Select(aid) => s.send(build::select_df(aid)),
        Op::SelectEf(fid) => s.send(build::select_ef(*fid)),
        Op::Verify { key, pin } => {
            if let Some(refused) = s.select_first(*key)? {
                return Ok(refused);
            }
            s.send(build::verify(current, &pin.render(captures)))
        }
        Op::Retries { key } => {
            if let Some(refused) = s.select_first(*key)? {
                return Ok(refused);
            }
            s.send(build::retry_query(current))
        }
        Op::Change {
            key,
            new,
            instruction,
        } => {
            if let Some(refused) = s.select_first(*key)? {
                return Ok(refused);
            }
            let new = new.render(captures);
            s.send(match instruction {
                Instruction::ChangeKey => build::change_key(current, &new),
                _ => build::change_reference_data(current, &new),
            })
        }
        Op::Read { ef, offset, mode } => {
            if let Some(refused) = s.select_first(*ef)? {
                return Ok(refused);
            }
            read(s, *offset, *mode)
        }
        Op::ReadRecord { ef, record, p2 } => {
            if let Some(refused) = s.select_first(*ef)? {
                return Ok(refused);
            }
            s.send(build::read_record(*record, *p2))
        }
        Op::Sign(sign) => {
            if let Some(refused) = s.select_first(sign.key)? {
                return Ok(refused);
            }
            let payload = sign.payload(message.unwrap_or_default());
            s.send(build::compute_digital_signature(
                sign.scheme,
                sign.p2,
                &payload,
                sign.le,
            ))
        }
        Op::GetChallenge(n) => s.send(build::get_challenge(*n)),
        Op::GetData { tag, extended } => s.send(build::get_data(*tag, *extended)),
        Op::InternalAuthenticate { key, challenge } => s.send(build::internal_authenticate(
            KeyReference::sfi_of(*key),
            &challenge.render(captures),
        )),
        // The step's data is the ATR, so `expect` and `as` can see what the reader shows.
        Op::Power(p) => Ok((s.power(*p)?, OK)),
        Op::Raw(bytes) => s.send(bytes.render(captures)),
        Op::Fault(plan) => {
            s.link.arm_faults((**plan).clone())?;
            Ok((Vec::new(), OK))
        }
    }
}

/// The largest offset READ BINARY can name in the current EF (15 bits).
const MAX_OFFSET: usize = 0x7FFF;

/// READ BINARY: a range, one extended read, a header probe and the rest, or the whole EF in
/// 256-byte chunks until a short chunk or `6B 00` (MYNA-CARD's `read_binary_all` for files
/// of unknown size).
fn read(s: &mut Session<'_>, offset: u16, mode: ReadMode) -> Result<(Vec<u8>, u16), TargetError> {
    let at = |position: usize| BinaryAddress::Offset(u16::try_from(position).unwrap_or(u16::MAX));
    match mode {
        ReadMode::Range(n) => s.send(build::read_binary(at(offset.into()), n)),
        ReadMode::Extended => s.send(build::read_binary_extended(at(offset.into()))),
        ReadMode::Probe {
            first,
            reread,
            chunk,
        } => {
            let (head, sw) = s.send(build::read_binary(at(offset.into()), first.into()))?;
            let Some(total) = ber_size(&head).filter(|_| sw == OK) else {
                return Ok((head, sw));
            };
            let mut out = if reread { Vec::new() } else { head };
            while out.len() < total {
                let position = usize::from(offset) + out.len();
                if position > MAX_OFFSET {
                    break;
                }
                let le = (total - out.len()).min(chunk);
                let (data, sw) = s.send(build::read_binary(at(position), le))?;
                if sw != OK || data.is_empty() {
                    return Ok((out, sw));
                }
                out.extend(data);
            }
            out.truncate(total);
            Ok((out, OK))
        }
        ReadMode::Whole { chunk: le } => {
            let mut out = Vec::new();
            let mut position = usize::from(offset);
            loop {
                let (chunk, sw) = s.send(build::read_binary(at(position), le))?;
                if sw == OFFSET_OUTSIDE && !out.is_empty() {
                    return Ok((out, OK));
                }
                if sw != OK {
                    return Ok((out, sw));
                }
                let n = chunk.len();
                out.extend(chunk);
                position += n;
                if n < le || position > MAX_OFFSET {
                    return Ok((out, OK));
                }
            }
        }
    }
}

/// The size of the BER object a header starts (tag of 1–3 bytes, length of 1–3 bytes), as a
/// client that sizes a file from its first bytes computes it.
fn ber_size(head: &[u8]) -> Option<usize> {
    let first = *head.first()?;
    let mut tag_len = 1;
    if first & 0x1F == 0x1F {
        while head.get(tag_len)? & 0x80 != 0 {
            tag_len += 1;
        }
        tag_len += 1;
    }
    let len_byte = *head.get(tag_len)?;
    let (len, len_len) = match len_byte {
        0x00..=0x7F => (usize::from(len_byte), 1),
        0x81..=0x83 => {
            let n = usize::from(len_byte & 0x7F);
            let bytes = head.get(tag_len + 1..tag_len + 1 + n)?;
            (
                bytes.iter().fold(0usize, |a, &b| a << 8 | usize::from(b)),
                1 + n,
            )
        }
        _ => return None,
    };
    Some(tag_len + len_len + len)
}

/// Runs a scenario's steps on a link that has been prepared for it.
pub fn run(plan: &Plan, link: &mut dyn Link) -> Outcome {
    match &plan.body {
        Body::Steps(steps) => run_steps(plan, steps, link).0,
        Body::Exec(_) => {
            let mut outcome = fresh(plan, link.describe());
            outcome.status = Status::NotApplicable;
            outcome.message = Some(
                "the scenario runs a program (`exec:`), which needs the card in a PC/SC reader"
                    .to_owned(),
            );
            outcome
        }
    }
}

/// An outcome that has not failed yet.
pub(super) fn fresh(plan: &Plan, target: String) -> Outcome {
    Outcome {
        id: plan.id(),
        path: plan.path.clone(),
        index: plan.index,
        name: plan.name.clone(),
        tags: plan.tags.clone(),
        target,
        status: Status::Passed,
        message: None,
        opening: Vec::new(),
        steps: Vec::new(),
        micros: 0,
    }
}

/// Runs steps on a link, from power-on to power-off; the outcome and what the steps
/// captured.
pub(super) fn run_steps(
    plan: &Plan,
    steps: &[PlanStep],
    link: &mut dyn Link,
) -> (Outcome, Captures) {
    let started = Instant::now();
    let mut outcome = fresh(plan, link.describe());
    if !link.runs_scenario_card() && !plan.portable {
        outcome.status = Status::NotApplicable;
        outcome.message = Some(
            "the scenario needs its own card (profile, state or secrets) and this target is another card; \
             only scenarios marked `portable: true` run here"
                .to_owned(),
        );
        return (outcome, Captures::new());
    }
    let mut session = Session {
        link,
        log: Vec::new(),
        card: std::sync::Arc::clone(&plan.card),
        validation: None,
    };
    if let Err(e) = session.power(Power::On) {
        outcome.status = Status::Unreachable;
        outcome.message = Some(format!("cannot power on the card: {e}"));
        return (outcome, Captures::new());
    }
    outcome.opening = std::mem::take(&mut session.log);
    let mut captures = Captures::new();
    let today = plan.card.personalisation.today;
    let mut failed = false;
    for step in steps {
        if failed {
            outcome.steps.push(skipped(step));
            continue;
        }
        let start = Instant::now();
        let result = execute(&mut session, &step.op, &captures);
        let entries = std::mem::take(&mut session.log);
        let status = match result {
            Err(TargetError::Removed(_)) if step.expect.no_answer => StepStatus::Passed,
            Err(TargetError::Diverged(why)) => {
                outcome.status = Status::Failed;
                outcome.message = Some(format!("step {} ({}): {why}", step.number, step.label));
                StepStatus::Failed(vec![why])
            }
            Err(e) => {
                outcome.status = Status::Unreachable;
                outcome.message = Some(format!("step {} ({}): {e}", step.number, step.label));
                StepStatus::Failed(vec![e.to_string()])
            }
            Ok((data, sw, message)) => {
                let ctx = Context {
                    captures: &captures,
                    today,
                    op: &step.op,
                    message: message.as_deref(),
                };
                let mut failures = check::check(&step.expect, sw, &data, &ctx);
                failures.extend(check::reads(&step.expect, &entries));
                if let Some(name) = &step.capture {
                    captures.insert(name.clone(), data);
                }
                if failures.is_empty() {
                    StepStatus::Passed
                } else {
                    StepStatus::Failed(failures)
                }
            }
        };
        if matches!(status, StepStatus::Failed(_)) {
            failed = true;
            if outcome.status == Status::Passed {
                outcome.status = Status::Failed;
                outcome.message = Some(format!("step {} ({}) failed", step.number, step.label));
            }
        }
        outcome.steps.push(StepOutcome {
            number: step.number,
            line: step.line,
            label: step.label.clone(),
            note: step.note.clone(),
            status,
            entries,
            micros: micros(start.elapsed()),
        });
    }
    let _ = session.link.power_off();
    outcome.micros = micros(started.elapsed());
    (outcome, captures)
}

fn skipped(step: &PlanStep) -> StepOutcome {
    StepOutcome {
        number: step.number,
        line: step.line,
        label: step.label.clone(),
        note: step.note.clone(),
        status: StepStatus::Skipped,
        entries: Vec::new(),
        micros: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ber_sizes_are_what_a_client_computes() {
        assert_eq!(ber_size(&[0x30, 0x82, 0x06, 0x7B]), Some(0x067B + 4));
        assert_eq!(ber_size(&[0xFF, 0x20, 0x81, 0x90, 0xDF]), Some(0x90 + 4));
        assert_eq!(ber_size(&[0xFF, 0x10, 0x0C]), Some(15));
        assert_eq!(ber_size(&[0x5F, 0x1F, 0x01]), Some(4));
        assert_eq!(ber_size(&[0x30, 0x84, 0, 0, 0, 1]), None);
        assert_eq!(ber_size(&[0x30, 0x82, 0x06]), None);
        assert_eq!(ber_size(&[]), None);
    }
}
