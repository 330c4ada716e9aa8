//! Running a compiled scenario on a target.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::check::{self, Context};
use super::compile::{Op, Plan, PlanStep, ReadMode};
use super::model::Power;
use super::target::{Target, TargetError};

/// One command and its response.
#[derive(Debug, Clone, Serialize)]
pub struct Exchange {
    /// The command APDU.
    #[serde(serialize_with = "as_hex")]
    pub command: Vec<u8>,
    /// The response (data + SW), or empty for power events.
    #[serde(serialize_with = "as_hex")]
    pub response: Vec<u8>,
    /// Round-trip time in microseconds.
    pub micros: u64,
    /// For power events: what happened (`power on, ATR …`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
}

fn as_hex<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&mynasim_simulator::hex::compact(bytes))
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "status", content = "failures")]
pub enum StepStatus {
    /// Every expectation held.
    Passed,
    /// Some did not.
    Failed(Vec<String>),
    /// Not run: an earlier step failed.
    Skipped,
}

/// One step's result.
#[derive(Debug, Clone, Serialize)]
pub struct StepOutcome {
    /// Step number (from 1).
    pub number: usize,
    /// Line in the file.
    pub line: u64,
    /// What it did.
    pub label: String,
    /// Result.
    #[serde(flatten)]
    pub status: StepStatus,
    /// The exchanges it made.
    pub exchanges: Vec<Exchange>,
    /// Time spent, in microseconds.
    pub micros: u64,
}

/// How a scenario ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Every step passed.
    Passed,
    /// A step failed.
    Failed,
    /// The scenario needs its own card state and the target is another card.
    NotApplicable,
    /// The scenario or its profile is invalid.
    Invalid,
    /// The target could not be reached.
    Unreachable,
}

/// A scenario's result.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// `path` or `path#N`.
    pub id: String,
    /// Scenario name.
    pub name: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Target description.
    pub target: String,
    /// Result.
    pub status: Status,
    /// Why, for anything but passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Steps.
    pub steps: Vec<StepOutcome>,
    /// Time spent, in microseconds.
    pub micros: u64,
}

impl Outcome {
    /// An outcome for a scenario that could not be compiled or loaded.
    pub fn invalid(id: String, name: String, message: String) -> Self {
        Self {
            id,
            name,
            tags: Vec::new(),
            target: String::new(),
            status: Status::Invalid,
            message: Some(message),
            steps: Vec::new(),
            micros: 0,
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Records exchanges as it talks to the target.
struct Session<'t> {
    target: &'t mut dyn Target,
    log: Vec<Exchange>,
}

impl Session<'_> {
    fn send(&mut self, apdu: Vec<u8>) -> Result<(Vec<u8>, u16), TargetError> {
        let start = Instant::now();
        let response = self.target.transmit(&apdu)?;
        let elapsed = start.elapsed();
        let (data, sw) = split(&response);
        let data = data.to_vec();
        self.log.push(Exchange {
            command: apdu,
            response,
            micros: micros(elapsed),
            event: None,
        });
        Ok((data, sw))
    }

    fn event(&mut self, text: String, elapsed: Duration) {
        self.log.push(Exchange {
            command: Vec::new(),
            response: Vec::new(),
            micros: micros(elapsed),
            event: Some(text),
        });
    }

    /// SELECT EF first when a step names one; a refusal ends the step with that SW.
    fn select_first(&mut self, ef: Option<[u8; 2]>) -> Result<Option<(Vec<u8>, u16)>, TargetError> {
        let Some([hi, lo]) = ef else { return Ok(None) };
        let (data, sw) = self.send(vec![0x00, 0xA4, 0x02, 0x0C, 0x02, hi, lo])?;
        Ok((sw != 0x9000).then_some((data, sw)))
    }
}

fn split(response: &[u8]) -> (&[u8], u16) {
    match response.split_last_chunk::<2>() {
        Some((data, sw)) => (data, u16::from_be_bytes(*sw)),
        None => (&[], 0),
    }
}

/// `cmd` with an Lc-prefixed data field and an optional Le.
fn apdu(header: [u8; 4], data: &[u8], le: Option<usize>) -> Vec<u8> {
    mynasim_simulator::apdu::Command::new(header, data, le, false)
        .map(|c| c.encode())
        .unwrap_or_else(|| header.to_vec())
}

/// What a step's operation produced: the data, the SW, and for `sign` the message signed.
type Produced = (Vec<u8>, u16, Option<Vec<u8>>);

/// Runs one step's operation.
fn execute(
    s: &mut Session<'_>,
    op: &Op,
    captures: &HashMap<String, Vec<u8>>,
) -> Result<Produced, TargetError> {
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
    captures: &HashMap<String, Vec<u8>>,
    message: Option<&[u8]>,
) -> Result<(Vec<u8>, u16), TargetError> {
    match op {
        Op::Select(aid) => s.send(apdu([0x00, 0xA4, 0x04, 0x0C], aid, None)),
        Op::SelectEf([hi, lo]) => s.send(vec![0x00, 0xA4, 0x02, 0x0C, 0x02, *hi, *lo]),
        Op::Verify { key, pin } => {
            if let Some(refused) = s.select_first(*key)? {
                return Ok(refused);
            }
            s.send(apdu([0x00, 0x20, 0x00, 0x80], &pin.render(captures), None))
        }
        Op::Retries { key } => {
            if let Some(refused) = s.select_first(*key)? {
                return Ok(refused);
            }
            s.send(vec![0x00, 0x20, 0x00, 0x80])
        }
        Op::Change { key, new, header } => {
            if let Some(refused) = s.select_first(*key)? {
                return Ok(refused);
            }
            let [cla, ins, p1] = *header;
            s.send(apdu([cla, ins, p1, 0x80], &new.render(captures), None))
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
            s.send(vec![0x00, 0xB2, *record, *p2, 0x00])
        }
        Op::Sign(sign) => {
            if let Some(refused) = s.select_first(sign.key)? {
                return Ok(refused);
            }
            let payload = sign.payload(message.unwrap_or_default());
            s.send(apdu(
                [0x80, 0x2A, sign.scheme, sign.p2],
                &payload,
                Some(sign.le),
            ))
        }
        Op::GetChallenge(n) => s.send(apdu([0x00, 0x84, 0x00, 0x00], &[], Some(*n))),
        Op::GetData {
            tag: [p1, p2],
            extended,
        } => {
            let command = if *extended {
                vec![0x00, 0xCA, *p1, *p2, 0x00, 0x00, 0x00]
            } else {
                vec![0x00, 0xCA, *p1, *p2, 0x00]
            };
            s.send(command)
        }
        Op::InternalAuthenticate { p2, challenge } => s.send(apdu(
            [0x00, 0x88, 0x00, *p2],
            &challenge.render(captures),
            Some(256),
        )),
        Op::Power(p) => {
            let start = Instant::now();
            let text = match p {
                Power::Off => {
                    s.target.power_off()?;
                    "power off".to_owned()
                }
                Power::On => format!(
                    "power on, ATR {}",
                    mynasim_simulator::hex::spaced(&s.target.power_on()?)
                ),
                Power::Reset => format!(
                    "warm reset, ATR {}",
                    mynasim_simulator::hex::spaced(&s.target.reset()?)
                ),
            };
            s.event(text, start.elapsed());
            Ok((Vec::new(), 0x9000))
        }
        Op::Raw(bytes) => s.send(bytes.render(captures)),
    }
}

/// READ BINARY: a range, one extended read, or the whole EF in 256-byte chunks until a short
/// chunk or `6B 00` (MYNA-CARD's `read_binary_all` for files of unknown size).
fn read(s: &mut Session<'_>, offset: u16, mode: ReadMode) -> Result<(Vec<u8>, u16), TargetError> {
    let [p1, p2] = offset.to_be_bytes();
    match mode {
        ReadMode::Range(n) => s.send(apdu([0x00, 0xB0, p1, p2], &[], Some(n))),
        ReadMode::Extended => s.send(vec![0x00, 0xB0, p1, p2, 0x00, 0x00, 0x00]),
        ReadMode::Probe(n) => {
            let (head, sw) = s.send(vec![0x00, 0xB0, p1, p2, n])?;
            let Some(total) = ber_size(&head).filter(|_| sw == 0x9000) else {
                return Ok((head, sw));
            };
            let mut out = head;
            while out.len() < total {
                let Ok(position) = u16::try_from(usize::from(offset) + out.len()) else {
                    break;
                };
                let [p1, p2] = position.to_be_bytes();
                let chunk = (total - out.len()).min(256);
                let (data, sw) = s.send(apdu([0x00, 0xB0, p1, p2], &[], Some(chunk)))?;
                if sw != 0x9000 || data.is_empty() {
                    return Ok((out, sw));
                }
                out.extend(data);
            }
            out.truncate(total);
            Ok((out, 0x9000))
        }
        ReadMode::Whole => {
            let mut out = Vec::new();
            let mut at = usize::from(offset);
            loop {
                let Ok(position) = u16::try_from(at) else {
                    return Ok((out, 0x9000));
                };
                let [p1, p2] = position.to_be_bytes();
                let (chunk, sw) = s.send(vec![0x00, 0xB0, p1, p2, 0x00])?;
                if sw == 0x6B00 && !out.is_empty() {
                    return Ok((out, 0x9000));
                }
                if sw != 0x9000 {
                    return Ok((out, sw));
                }
                let n = chunk.len();
                out.extend(chunk);
                at += n;
                if n < 256 || at > 0x7FFF {
                    return Ok((out, 0x9000));
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

/// Runs a scenario on a target that has been prepared for it.
pub fn run(plan: &Plan, target: &mut dyn Target) -> Outcome {
    let started = Instant::now();
    let mut outcome = Outcome {
        id: plan.id(),
        name: plan.name.clone(),
        tags: plan.tags.clone(),
        target: target.describe(),
        status: Status::Passed,
        message: None,
        steps: Vec::new(),
        micros: 0,
    };
    if !target.runs_scenario_card() && !plan.portable {
        outcome.status = Status::NotApplicable;
        outcome.message = Some(
            "the scenario needs its own card (profile, state or secrets) and this target is another card; \
             only scenarios marked `portable: true` run here"
                .to_owned(),
        );
        return outcome;
    }
    let mut session = Session {
        target,
        log: Vec::new(),
    };
    let start = Instant::now();
    match session.target.power_on() {
        Ok(atr) => session.event(
            format!("power on, ATR {}", mynasim_simulator::hex::spaced(&atr)),
            start.elapsed(),
        ),
        Err(e) => {
            outcome.status = Status::Unreachable;
            outcome.message = Some(format!("cannot power on the card: {e}"));
            return outcome;
        }
    }
    let power_on = std::mem::take(&mut session.log);
    let mut captures: HashMap<String, Vec<u8>> = HashMap::new();
    let today = plan.card.personalisation.today;
    let mut failed = false;
    for (i, step) in plan.steps.iter().enumerate() {
        if failed {
            outcome.steps.push(skipped(step));
            continue;
        }
        let start = Instant::now();
        let result = execute(&mut session, &step.op, &captures);
        let mut exchanges = std::mem::take(&mut session.log);
        if i == 0 {
            let mut with_power = power_on.clone();
            with_power.extend(exchanges);
            exchanges = with_power;
        }
        let status = match result {
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
                let failures = check::check(&step.expect, sw, &data, &ctx);
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
            status,
            exchanges,
            micros: micros(start.elapsed()),
        });
    }
    let _ = session.target.power_off();
    outcome.micros = micros(started.elapsed());
    outcome
}

fn skipped(step: &PlanStep) -> StepOutcome {
    StepOutcome {
        number: step.number,
        line: step.line,
        label: step.label.clone(),
        status: StepStatus::Skipped,
        exchanges: Vec::new(),
        micros: 0,
    }
}
