//! `mynasim card apdu`: power a card on, send each APDU in order, print each response (or a
//! transcript). The card is a profile's simulated card, or with `--reader` whatever is in a
//! PC/SC reader (as it is, and in one PC/SC transaction) — both print the same.

use std::io::{BufRead as _, Read as _, Write as _};
use std::path::Path;
use std::time::Instant;

use anyhow::anyhow;
use mynasim_simulator::hex;
use mynasim_simulator::transcript::{Event, Transcript, text};

use crate::exit::Error;
use crate::profiles::ProfileSource;
use crate::target::{Link, SimLink, Transmit};

/// The longest line read from standard input (a 65 535-byte APDU is 131 070 hex digits).
const MAX_LINE: usize = 200_000;

/// What to send where.
#[derive(Debug, Clone)]
pub struct Options {
    /// The profile of the simulated card.
    pub profile: String,
    /// A PC/SC reader instead.
    pub reader: Option<String>,
    /// Print a transcript instead of bare responses.
    pub transcript: bool,
    /// Show secrets in the transcript.
    pub reveal: bool,
    /// Hex APDUs, or `-` for standard input.
    pub apdus: Vec<String>,
}

/// Sends the APDUs. What was answered before a failure is printed.
///
/// # Errors
/// Bad hex or profile (2); the reader or card is gone (3); output cannot be written (4).
pub fn run(options: &Options) -> Result<(), Error> {
    let apdus = collect(&options.apdus)?;
    let start = Instant::now();
    let mut transcript = Transcript::new();
    let result = match &options.reader {
        // A card in a reader is used as it is (no power cycle, so a session stays open),
        // and the APDUs go as one PC/SC transaction: no other client comes between them.
        Some(reader) => on_reader(reader, apdus, &mut transcript, start)?,
        None => {
            let source = ProfileSource::find(&options.profile, Path::new("."))?;
            let mut link = SimLink::new(source.issue()?.card);
            let atr = link.power_on()?;
            transcript.push(Event::PowerOn { atr }, start.elapsed());
            let mut transmit = |apdu: &[u8]| link.transmit(apdu);
            send_all(&mut transmit, apdus, &mut transcript)
        }
    };
    let out = if options.transcript {
        transcript.to_text(!options.reveal)
    } else {
        let mut out = String::new();
        for x in transcript.exchanges() {
            out.push_str(&hex::spaced(&x.response));
            out.push('\n');
        }
        out
    };
    std::io::stdout()
        .write_all(out.as_bytes())
        .map_err(|e| Error::io(anyhow!("cannot write standard output: {e}")))?;
    result
}

/// Sends each APDU in order, recording the exchanges; stops at the first failure.
fn send_all(
    transmit: &mut Transmit<'_>,
    apdus: Vec<Vec<u8>>,
    transcript: &mut Transcript,
) -> Result<(), Error> {
    for command in apdus {
        let start = Instant::now();
        let response = transmit(&command)?;
        transcript.push_exchange(command, response, start.elapsed());
        if let Some(entry) = transcript.entries.last() {
            let mut line = String::new();
            text::push_event(&mut line, &entry.event, true);
            tracing::debug!("{}", line.trim_end().replace('\n', " "));
        }
    }
    Ok(())
}

/// The APDUs to the card in a reader, connected as it is, in one transaction.
#[cfg(feature = "pcsc")]
fn on_reader(
    reader: &str,
    apdus: Vec<Vec<u8>>,
    transcript: &mut Transcript,
    start: Instant,
) -> Result<Result<(), Error>, Error> {
    let mut link = crate::target::pcsc::PcscLink::open(reader)?;
    tracing::debug!("card: {}", link.describe());
    transcript.push(
        Event::PowerOn {
            atr: link.atr().to_vec(),
        },
        start.elapsed(),
    );
    Ok(link.in_transaction(|transmit| send_all(transmit, apdus, transcript))?)
}

#[cfg(not(feature = "pcsc"))]
fn on_reader(
    _reader: &str,
    _apdus: Vec<Vec<u8>>,
    _transcript: &mut Transcript,
    _start: Instant,
) -> Result<Result<(), Error>, Error> {
    Err(crate::target::TargetError::NotBuilt.into())
}

/// The APDU list: arguments, or lines of standard input for `-` (`#` starts a comment).
fn collect(args: &[String]) -> Result<Vec<Vec<u8>>, Error> {
    let mut out = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        if arg != "-" {
            let bytes = hex::decode(arg)
                .map_err(|e| Error::invalid(anyhow!("APDU {} (`{arg}`): {e}", i + 1)))?;
            out.push(bytes);
            continue;
        }
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        let mut n = 0;
        loop {
            n += 1;
            let mut line = String::new();
            let limit = u64::try_from(MAX_LINE + 1).unwrap_or(u64::MAX);
            let read = (&mut input)
                .take(limit)
                .read_line(&mut line)
                .map_err(|e| Error::invalid(anyhow!("cannot read standard input: {e}")))?;
            if read == 0 {
                break;
            }
            if line.len() > MAX_LINE {
                return Err(Error::invalid(anyhow!(
                    "standard input line {n}: longer than {MAX_LINE} characters"
                )));
            }
            let text = line.split('#').next().unwrap_or("").trim();
            if text.is_empty() {
                continue;
            }
            let bytes = hex::decode(text)
                .map_err(|e| Error::invalid(anyhow!("standard input line {n}: {e}")))?;
            out.push(bytes);
        }
    }
    Ok(out)
}
