//! Realistic timing: how long a real card and reader take for one exchange, so an
//! application's time-outs and progress display can be tested. `timing: fast` (the
//! default) answers at once; `timing: realistic` makes the card return the modelled time
//! with each answer ([`super::Deliver::After`]) and the hosts wait it out — the card itself
//! never sleeps or reads a clock.
//!
//! The model (`docs/timing.md` gives the sources and the arithmetic):
//!
//! * **Contactless** (ISO/IEC 14443-2/-3/-4 Type B, what the default ATR describes): an
//!   elementary time unit is `128 / (fc · D)` with `fc` = 13.56 MHz and `D` = 1, 2 or 4 for
//!   106, 212 or 424 kbit/s; a character is 10 etu (start, 8 bits, stop); a frame adds SOF
//!   (12 etu) and EOF (10 etu) around its bytes — PCB, the information field, CRC_B (2). The
//!   card answers each frame after TR0 + TR1 (64 + 80 subcarrier periods `16/fc`). APDUs
//!   longer than a frame are chained, each block but the last acknowledged by an R(ACK)
//!   frame. The frame sizes (FSC) and the frame waiting time (FWT = `256·16/fc · 2^FWI`) come
//!   from the ATQB protocol information inside the PC/SC part-3 ATR; a computation longer
//!   than FWT costs one S(WTX) request and answer per FWT.
//! * **Contact** (ISO/IEC 7816-3 T=1): an etu is `Fi / (Di · f)` with Fi/Di from TA1 (372/1
//!   without it) and the reader's clock `f` (default 4 MHz); a character is 11 etu with the
//!   guard time; a block is NAD, PCB, LEN, the information field (at most IFSC, from TA3) and
//!   an LRC; 22 etu (BGT) separate blocks in opposite directions; a computation longer than
//!   BWT (from TB3) costs an S(WTX) exchange per BWT.
//! * **Computation**: a fixed time per kind of command: a private-key operation
//!   (`signature_ms`, default 150 ms; real cards take 50–900 ms), VERIFY with a PIN
//!   (`verify_ms`, default 30 ms: the counter is written to EEPROM before and after the
//!   compare), anything else (`command_ms`, default 2 ms).

use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::apdu::Instruction;

/// `timing:` in a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimingSpec {
    /// `fast` (answers at once, the default) or `realistic`.
    #[serde(default)]
    pub mode: TimingMode,
    /// Contactless bit rate the reader uses: 106, 212 or 424 kbit/s (at most what the ATR
    /// announces). Default: the fastest the ATR announces.
    #[serde(default)]
    pub bit_rate_kbps: Option<u32>,
    /// Contact readers: the clock in kHz. Default 4000.
    #[serde(default = "default_clock")]
    pub clock_khz: u32,
    /// A private-key operation (COMPUTE DIGITAL SIGNATURE, INTERNAL AUTHENTICATE), ms.
    #[serde(default = "default_signature")]
    pub signature_ms: u32,
    /// A VERIFY with a PIN, ms.
    #[serde(default = "default_verify")]
    pub verify_ms: u32,
    /// Any other command, ms.
    #[serde(default = "default_command")]
    pub command_ms: u32,
}

impl Default for TimingSpec {
    fn default() -> Self {
        Self {
            mode: TimingMode::Fast,
            bit_rate_kbps: None,
            clock_khz: default_clock(),
            signature_ms: default_signature(),
            verify_ms: default_verify(),
            command_ms: default_command(),
        }
    }
}

fn default_clock() -> u32 {
    4000
}
fn default_signature() -> u32 {
    150
}
fn default_verify() -> u32 {
    30
}
fn default_command() -> u32 {
    2
}

/// `timing.mode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TimingMode {
    /// Answers at once.
    #[default]
    Fast,
    /// Answers take as long as the model says.
    Realistic,
}

/// The carrier frequency of ISO/IEC 14443, Hz.
const FC: f64 = 13_560_000.0;

/// How the card talks to the reader.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Interface {
    /// ISO/IEC 14443 Type B.
    Contactless {
        /// Divisor D: 1, 2 or 4 (106, 212, 424 kbit/s).
        d: u32,
        /// The card's frame size (FSC), bytes.
        fsc: usize,
        /// The reader's frame size (FSD), bytes.
        fsd: usize,
        /// Frame waiting time.
        fwt: Duration,
    },
    /// ISO/IEC 7816-3 T=1.
    Contact {
        /// One etu, seconds.
        etu: f64,
        /// The card's information field size.
        ifsc: usize,
        /// Block waiting time.
        bwt: Duration,
    },
}

/// A compiled timing model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimingModel {
    /// The link.
    pub interface: Interface,
    /// Private-key operations.
    pub signature: Duration,
    /// VERIFY with a PIN.
    pub verify: Duration,
    /// Anything else.
    pub command: Duration,
}

impl Eq for TimingModel {}

/// The parts of one exchange's modelled time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Breakdown {
    /// Frames on the link, both ways, with the card's turnaround.
    pub transfer: Duration,
    /// The card's computation.
    pub compute: Duration,
    /// Waiting-time extensions.
    pub wtx: Duration,
    /// How many S(WTX) exchanges.
    pub wtx_count: u32,
}

impl Breakdown {
    /// The whole.
    pub fn total(&self) -> Duration {
        self.transfer + self.compute + self.wtx
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

impl TimingModel {
    /// The model for a card with this ATR, or `None` for `mode: fast`.
    ///
    /// # Errors
    /// A bit rate the ATR does not allow, or a value out of range; the key and the message.
    pub fn compile(spec: &TimingSpec, atr: &[u8]) -> Result<Option<Self>, (String, String)> {
        if spec.mode == TimingMode::Fast {
            return Ok(None);
        }
        for (value, key) in [
            (spec.signature_ms, "signature_ms"),
            (spec.verify_ms, "verify_ms"),
            (spec.command_ms, "command_ms"),
        ] {
            if value > 60_000 {
                return Err((
                    format!("timing.{key}"),
                    format!("{value}: at most 60000 ms"),
                ));
            }
        }
        let interface = match contactless_protocol_info(atr) {
            Some(info) => {
                let (max_d, fsc, fwi) = info;
                let d = match spec.bit_rate_kbps {
                    None => max_d,
                    Some(106) => 1,
                    Some(212) if max_d >= 2 => 2,
                    Some(424) if max_d >= 4 => 4,
                    Some(k) => {
                        return Err((
                            "timing.bit_rate_kbps".into(),
                            format!(
                                "{k}: the card's ATR allows {} kbit/s",
                                match max_d {
                                    4 => "106, 212 or 424",
                                    2 => "106 or 212",
                                    _ => "only 106",
                                }
                            ),
                        ));
                    }
                };
                Interface::Contactless {
                    d,
                    fsc,
                    fsd: 256,
                    fwt: secs(256.0 * 16.0 / FC * f64::from(1u32 << fwi)),
                }
            }
            None => {
                if spec.clock_khz == 0 || spec.clock_khz > 20_000 {
                    return Err((
                        "timing.clock_khz".into(),
                        format!("{}: a reader clock from 1 to 20000 kHz", spec.clock_khz),
                    ));
                }
                let t1 = contact_t1_parameters(atr);
                let f = f64::from(spec.clock_khz) * 1000.0;
                let etu = f64::from(t1.fi) / (f64::from(t1.di) * f);
                // ISO/IEC 7816-3 §11.4.3: BWT = 11 etu + 2^BWI · 960 · Fd / f, Fd = 372.
                let bwt = 11.0 * etu + f64::from(1u32 << t1.bwi) * 960.0 * 372.0 / f;
                Interface::Contact {
                    etu,
                    ifsc: t1.ifsc,
                    bwt: secs(bwt),
                }
            }
        };
        let ms = |v: u32| Duration::from_millis(u64::from(v));
        Ok(Some(Self {
            interface,
            signature: ms(spec.signature_ms),
            verify: ms(spec.verify_ms),
            command: ms(spec.command_ms),
        }))
    }

    /// The card's computation for a command.
    pub fn compute(&self, command: &[u8]) -> Duration {
        let ins = Instruction::of(command);
        match ins {
            Some(Instruction::ComputeDigitalSignature | Instruction::InternalAuthenticate) => {
                self.signature
            }
            // VERIFY with data; without it, the retry query only reads the counter.
            Some(Instruction::Verify) if command.len() > 5 => self.verify,
            _ => self.command,
        }
    }

    /// The modelled time of one exchange.
    pub fn exchange(&self, command: &[u8], response: &[u8]) -> Breakdown {
        let compute = self.compute(command);
        match self.interface {
            Interface::Contactless { d, fsc, fsd, fwt } => {
                let etu = 128.0 / (FC * f64::from(d));
                // SOF 12 etu, EOF 10 etu, 10 etu per character.
                let frame = |bytes: usize| (22.0 + 10.0 * bytes as f64) * etu;
                // The card's turnaround before each of its frames: TR0 + TR1 (64 + 80 / fs).
                let turnaround = (64.0 + 80.0) * 16.0 / FC;
                // PCB + CRC_B (3 bytes) around each information field of a frame.
                let blocks = |len: usize, size: usize| -> Vec<usize> {
                    chain(len, size.saturating_sub(3))
                        .into_iter()
                        .map(|b| b + 3)
                        .collect()
                };
                let mut t = 0.0;
                let up = blocks(command.len(), fsc);
                for (i, b) in up.iter().enumerate() {
                    t += frame(*b);
                    if i + 1 < up.len() {
                        t += turnaround + frame(3); // R(ACK) from the card
                    }
                }
                let down = blocks(response.len(), fsd);
                for (i, b) in down.iter().enumerate() {
                    t += turnaround + frame(*b);
                    if i + 1 < down.len() {
                        t += frame(3); // R(ACK) from the reader
                    }
                }
                let (wtx_count, wtx) = waits(compute, fwt, turnaround + frame(4) + frame(4));
                Breakdown {
                    transfer: secs(t),
                    compute,
                    wtx,
                    wtx_count,
                }
            }
            Interface::Contact { etu, ifsc, bwt } => {
                // NAD PCB LEN … LRC: 4 bytes around each information field; 11 etu each.
                let block = |bytes: usize| 11.0 * etu * (bytes + 4) as f64;
                let bgt = 22.0 * etu;
                let mut t = 0.0;
                let up = chain(command.len(), ifsc);
                for (i, b) in up.iter().enumerate() {
                    t += block(*b);
                    if i + 1 < up.len() {
                        t += 2.0 * bgt + block(0); // R-block from the card
                    }
                }
                let down = chain(response.len(), 254);
                for (i, b) in down.iter().enumerate() {
                    t += bgt + block(*b);
                    if i + 1 < down.len() {
                        t += bgt + block(0); // R-block from the reader
                    }
                }
                let (wtx_count, wtx) = waits(compute, bwt, 2.0 * (bgt + block(1)));
                Breakdown {
                    transfer: secs(t),
                    compute,
                    wtx,
                    wtx_count,
                }
            }
        }
    }
}

/// The information-field sizes of the blocks an APDU of `len` bytes is chained into, at
/// most `room` bytes each (at least one block, possibly empty).
fn chain(len: usize, room: usize) -> Vec<usize> {
    let room = room.max(1);
    let n = len.div_ceil(room).max(1);
    (0..n)
        .map(|i| room.min(len.saturating_sub(i * room)))
        .collect()
}

/// S(WTX) exchanges a computation needs: one per full waiting time it lasts.
fn waits(compute: Duration, limit: Duration, each: f64) -> (u32, Duration) {
    if limit.is_zero() || compute <= limit {
        return (0, Duration::ZERO);
    }
    let n = (compute.as_secs_f64() / limit.as_secs_f64()).ceil() as u32 - 1;
    (n, secs(f64::from(n) * each))
}

/// For a PC/SC part-3 contactless ATR (`3B 8n 80 01` + historical bytes) of a Type B card —
/// 4 bytes of application data, 3 of protocol information, the MBLI byte — the fastest
/// divisor D both directions allow, FSC, and FWI.
fn contactless_protocol_info(atr: &[u8]) -> Option<(u32, usize, u32)> {
    let [0x3B, t0, 0x80, 0x01, hist @ ..] = atr else {
        return None;
    };
    if t0 & 0xF0 != 0x80 || t0 & 0x0F != 8 {
        return None;
    }
    let [_, _, _, _, rate, frame, fwi_byte, _mbli, ..] = hist else {
        return None;
    };
    // Bit rate capability: b7..b5 card→reader, b3..b1 reader→card (bit 1 = 212, 2 = 424).
    let both = (rate >> 4) & 0x07 & (rate & 0x07);
    let d = if both & 0x02 != 0 {
        4
    } else if both & 0x01 != 0 {
        2
    } else {
        1
    };
    // FSCI → FSC (ISO/IEC 14443-3 table), the upper nibble of the second byte.
    const FSC: [usize; 9] = [16, 24, 32, 40, 48, 64, 96, 128, 256];
    let fsc = FSC.get(usize::from(frame >> 4)).copied().unwrap_or(256);
    Some((d, fsc, u32::from(fwi_byte >> 4).min(14)))
}

/// T=1 parameters of a contact ATR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct T1 {
    fi: u32,
    di: u32,
    ifsc: usize,
    bwi: u32,
}

/// Reads TA1 (Fi/Di), and the first T=1 TA (IFSC) and TB (BWI) after a `TDi` naming T=1.
fn contact_t1_parameters(atr: &[u8]) -> T1 {
    let mut t1 = T1 {
        fi: 372,
        di: 1,
        ifsc: 32,
        bwi: 4,
    };
    const FI: [u32; 16] = [
        372, 372, 558, 744, 1116, 1488, 1860, 372, 372, 512, 768, 1024, 1536, 2048, 372, 372,
    ];
    const DI: [u32; 16] = [1, 1, 2, 4, 8, 16, 32, 64, 12, 20, 1, 1, 1, 1, 1, 1];
    let mut at = 1; // T0
    let mut y = atr.get(at).map_or(0, |t0| t0 >> 4);
    let mut i = 1;
    let mut after_t1 = false;
    while at < atr.len() && i <= 8 {
        let mut next = |present: bool| {
            if present {
                at += 1;
                atr.get(at).copied()
            } else {
                None
            }
        };
        let ta = next(y & 0x1 != 0);
        let tb = next(y & 0x2 != 0);
        let _tc = next(y & 0x4 != 0);
        let td = next(y & 0x8 != 0);
        if i == 1
            && let Some(ta) = ta
        {
            t1.fi = FI.get(usize::from(ta >> 4)).copied().unwrap_or(372);
            t1.di = DI.get(usize::from(ta & 0x0F)).copied().unwrap_or(1);
        }
        if after_t1 {
            if let Some(ta) = ta {
                t1.ifsc = usize::from(ta).clamp(1, 254);
            }
            if let Some(tb) = tb {
                t1.bwi = u32::from(tb >> 4).min(9);
            }
        }
        match td {
            Some(td) => {
                // T=1's own bytes are TAi/TBi for i ≥ 3, after a TD(i-1) naming T=1.
                after_t1 = td & 0x0F == 1 && i >= 2;
                y = td >> 4;
                i += 1;
            }
            None => break,
        }
    }
    t1
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::float_cmp)]

    use super::*;
    use crate::card::AtrPreset;

    fn model(atr: AtrPreset, spec: TimingSpec) -> TimingModel {
        TimingModel::compile(&spec, atr.bytes()).unwrap().unwrap()
    }

    fn realistic() -> TimingSpec {
        TimingSpec {
            mode: TimingMode::Realistic,
            ..TimingSpec::default()
        }
    }

    fn us(d: Duration) -> f64 {
        d.as_secs_f64() * 1e6
    }

    #[test]
    fn fast_has_no_model() {
        assert_eq!(
            TimingModel::compile(&TimingSpec::default(), AtrPreset::Contactless.bytes()),
            Ok(None)
        );
    }

    #[test]
    fn the_default_atr_announces_424_kbits_fsc_256_and_fwi_10() {
        // B3 81 A1: 212 and 424 both ways; FSCI 8; FWI 10.
        assert_eq!(
            contactless_protocol_info(AtrPreset::Contactless.bytes()),
            Some((4, 256, 10))
        );
        // 00 81 D1: 106 only; FWI 13.
        assert_eq!(
            contactless_protocol_info(AtrPreset::Contactless4b51Zero.bytes()),
            Some((1, 256, 13))
        );
        assert_eq!(contactless_protocol_info(AtrPreset::Contact.bytes()), None);
        let m = model(AtrPreset::Contactless, realistic());
        let Interface::Contactless { d, fwt, .. } = m.interface else {
            panic!("contactless")
        };
        assert_eq!(d, 4);
        // 256 · 16 / 13.56 MHz · 2^10 = 309.3 ms.
        assert!((fwt.as_secs_f64() - 0.309_29).abs() < 1e-4, "{fwt:?}");
    }

    #[test]
    fn a_short_exchange_at_106_kbits_is_its_frames_and_the_turnaround() {
        let m = model(
            AtrPreset::Contactless,
            TimingSpec {
                bit_rate_kbps: Some(106),
                command_ms: 0,
                ..realistic()
            },
        );
        // SELECT EF (7 bytes) → 10-byte frame; 90 00 → 5-byte frame.
        // etu = 128 / 13.56 MHz = 9.4395 µs; frames (22 + 10·10) and (22 + 10·5) etu = 194 etu;
        // turnaround (64 + 80) · 16 / fc = 169.91 µs. Total 1831.27 + 169.91 = 2001.2 µs.
        let b = m.exchange(&[0, 0xA4, 2, 0x0C, 2, 0, 0x18], &[0x90, 0]);
        assert!((us(b.transfer) - 2001.2).abs() < 0.5, "{b:?}");
        assert_eq!((b.compute, b.wtx_count), (Duration::ZERO, 0));
    }

    #[test]
    fn long_responses_are_chained_and_faster_rates_are_faster() {
        let read = [0u8, 0xB0, 0, 0, 0];
        let response = vec![0u8; 258]; // 256 data + SW: two frames to a 256-byte FSD
        let at = |k| {
            model(
                AtrPreset::Contactless,
                TimingSpec {
                    bit_rate_kbps: Some(k),
                    command_ms: 0,
                    ..realistic()
                },
            )
            .exchange(&read, &response)
            .transfer
        };
        // At 106: frames of 8 bytes (command), 256 and 8 (response blocks of 253 + 5 bytes),
        // 3 (the reader's R(ACK)): (22·4 + 10·(8 + 256 + 8 + 3)) etu = 2838 etu, + 2 turnarounds.
        let t106 = us(at(106));
        assert!(
            (t106 - (2838.0 * 9.439_528 + 2.0 * 169.911)).abs() < 1.0,
            "{t106}"
        );
        assert!(at(212) < at(106) && at(424) < at(212));
    }

    #[test]
    fn a_slow_signature_costs_wtx_exchanges() {
        let m = model(
            AtrPreset::Contactless,
            TimingSpec {
                signature_ms: 900,
                ..realistic()
            },
        );
        let sign = [0x80, 0x2A, 0, 0x80, 0x33];
        let b = m.exchange(&sign, &[0; 258]);
        assert_eq!(b.compute, Duration::from_millis(900));
        // FWT 309.3 ms: 900 ms needs 2 extensions.
        assert_eq!(b.wtx_count, 2);
        assert!(b.wtx > Duration::ZERO);
        let quick = model(AtrPreset::Contactless, realistic()).exchange(&sign, &[0; 258]);
        assert_eq!(
            (quick.compute, quick.wtx_count),
            (Duration::from_millis(150), 0)
        );
        assert_eq!(b.total(), b.transfer + b.compute + b.wtx);
    }

    #[test]
    fn computation_by_kind_of_command() {
        let m = model(AtrPreset::Contactless, realistic());
        assert_eq!(m.compute(&[0x80, 0x2A, 0, 0x80, 1, 0]), m.signature);
        assert_eq!(m.compute(&[0, 0x88, 0, 0x80, 1, 0]), m.signature);
        assert_eq!(m.compute(&[0, 0x20, 0, 0x80, 4, 1, 2, 3, 4]), m.verify);
        assert_eq!(m.compute(&[0, 0x20, 0, 0x80]), m.command, "retry query");
        assert_eq!(m.compute(&[0, 0xA4, 4, 0x0C, 1, 0]), m.command);
    }

    #[test]
    fn contact_t1_comes_from_the_atr() {
        // 3B E0 00 FF 81 31 FE 45 14: no TA1; TD1 81 → T=1; TD2 31 → TA3 FE, TB3 45.
        assert_eq!(
            contact_t1_parameters(AtrPreset::Contact.bytes()),
            T1 {
                fi: 372,
                di: 1,
                ifsc: 254,
                bwi: 4
            }
        );
        // 3B F5 91 00 FF 91 81 71 FE 40 …: TA1 91 (Fi 512, Di 1).
        let f5 = contact_t1_parameters(AtrPreset::ContactF5.bytes());
        assert_eq!((f5.fi, f5.di), (512, 1));
        let m = model(AtrPreset::Contact, realistic());
        let Interface::Contact { etu, ifsc, bwt } = m.interface else {
            panic!("contact")
        };
        assert!((etu - 372.0 / 4e6).abs() < 1e-12);
        assert_eq!(ifsc, 254);
        // 11 etu + 16 · 960 · 372 / 4 MHz = 1.42848 s.
        assert!(
            (bwt.as_secs_f64() - (11.0 * 93e-6 + 1.428_48)).abs() < 1e-5,
            "{bwt:?}"
        );
        // SELECT EF + 90 00: blocks of 7 + 4 and 2 + 4 bytes at 11 etu, one BGT.
        let b = m.exchange(&[0, 0xA4, 2, 0x0C, 2, 0, 0x18], &[0x90, 0]);
        let want = (11.0 * 17.0 + 22.0) * 93e-6;
        assert!((b.transfer.as_secs_f64() - want).abs() < 1e-9, "{b:?}");
    }

    #[test]
    fn values_out_of_range_are_refused() {
        let err = |spec: TimingSpec, atr: AtrPreset| {
            TimingModel::compile(&spec, atr.bytes()).unwrap_err().0
        };
        assert_eq!(
            err(
                TimingSpec {
                    bit_rate_kbps: Some(424),
                    ..realistic()
                },
                AtrPreset::Contactless4b51Zero
            ),
            "timing.bit_rate_kbps"
        );
        assert_eq!(
            err(
                TimingSpec {
                    bit_rate_kbps: Some(300),
                    ..realistic()
                },
                AtrPreset::Contactless
            ),
            "timing.bit_rate_kbps"
        );
        assert_eq!(
            err(
                TimingSpec {
                    signature_ms: 60_001,
                    ..realistic()
                },
                AtrPreset::Contactless
            ),
            "timing.signature_ms"
        );
        assert_eq!(
            err(
                TimingSpec {
                    clock_khz: 0,
                    ..realistic()
                },
                AtrPreset::Contact
            ),
            "timing.clock_khz"
        );
    }
}
