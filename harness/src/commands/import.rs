//! `mynasim import FORMAT LOG`: a log another tool wrote (pcsc-spy, pcscd `--apdu`, OpenSC's
//! debug log), a mynasim record, or a pasted `>>`/`<<` transcript, turned into mynasim's
//! transcript — JSON Lines (the record format) or the text form (`--text`). Issue 10,
//! "Import".
//!
//! It streams: entries are read by the importers in `mynasim_simulator::transcript::import`
//! (bounded lines, one pending exchange) and written as they come, so a log of any size
//! imports in bounded memory. Secrets are masked unless `--keep-secrets`, which says so on
//! stderr. Output to a file goes to a temporary file renamed into place on success, so a
//! log that fails half-way leaves no half transcript behind.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use mynasim_simulator::transcript::import::{Format, entries_of_slot};
use mynasim_simulator::transcript::jsonl::{self, Stamped};
use mynasim_simulator::transcript::{Event, text};

use crate::exit::Error;
use crate::scenario::from_trace::{FromTraceError, Header, Writer as ScenarioWriter};

/// What to import, and where to.
#[derive(Debug, Clone)]
pub struct Options {
    /// The log's format.
    pub format: Format,
    /// The log; `-` reads standard input.
    pub log: PathBuf,
    /// Where to write; `None` writes standard output.
    pub output: Option<PathBuf>,
    /// Write the `>>`/`<<` text form instead of JSON Lines.
    pub text: bool,
    /// Keep PINs and passwords as the log has them.
    pub keep_secrets: bool,
    /// For records of several slots: the slot to import.
    pub slot: Option<u16>,
    /// Also write a host-side scenario here.
    pub scenario: Option<PathBuf>,
    /// The scenario's card profile.
    pub profile: String,
}

/// How much was imported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Entries written.
    pub entries: u64,
    /// Of those, exchanges.
    pub exchanges: u64,
    /// Of those, exchanges whose secret was masked.
    pub masked: u64,
    /// Steps of the scenario written.
    pub steps: u64,
}

/// Imports the log.
///
/// # Errors
/// The log cannot be opened or is not of its format (2, naming the file and line); the
/// trace cannot become a scenario (2); the output cannot be written (4).
pub fn run(options: &Options) -> Result<(), Error> {
    if options.keep_secrets {
        eprintln!(
            "warning: --keep-secrets: the output holds PINs and passwords as the log has them"
        );
    }
    let name = options.log.display().to_string();
    let input: Box<dyn BufRead> = if options.log == Path::new("-") {
        Box::new(io::stdin().lock())
    } else {
        let file = File::open(&options.log)
            .map_err(|e| Error::invalid(anyhow!("cannot open the log {name}: {e}")))?;
        Box::new(BufReader::with_capacity(1 << 16, file))
    };
    // The transcript goes to -o, or to standard output unless a scenario is all that is
    // asked for.
    let mut transcript = match (&options.output, &options.scenario) {
        (Some(path), _) => Some(Sink::file(path)?),
        (None, None) => Some(Sink::Stdout(BufWriter::new(io::stdout().lock()))),
        (None, Some(_)) => None,
    };
    let mut scenario = match &options.scenario {
        Some(path) => Some(Sink::file(path)?),
        None => None,
    };
    let result = convert(
        options,
        &name,
        input,
        transcript.as_mut().map(|s| s as &mut dyn Write),
        scenario.as_mut().map(|s| s as &mut dyn Write),
    );
    let summary = match result {
        Ok(summary) => summary,
        Err(e) => {
            for sink in [transcript, scenario].into_iter().flatten() {
                sink.abort();
            }
            return Err(e);
        }
    };
    for sink in [transcript, scenario].into_iter().flatten() {
        sink.commit()?;
    }
    eprintln!(
        "imported {} exchanges ({} entries) from {name}{}{}",
        summary.exchanges,
        summary.entries,
        if summary.masked > 0 {
            format!("; {} secrets masked", summary.masked)
        } else {
            String::new()
        },
        match &options.scenario {
            Some(path) => format!("; scenario {} ({} steps)", path.display(), summary.steps),
            None => String::new(),
        }
    );
    Ok(())
}

/// Where output goes: standard output, or a file written beside its target and renamed
/// into place only once everything is written.
enum Sink {
    Stdout(BufWriter<io::StdoutLock<'static>>),
    File {
        tmp: PathBuf,
        path: PathBuf,
        out: BufWriter<File>,
    },
}

impl Sink {
    fn file(path: &Path) -> Result<Self, Error> {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(".partial-mynasim");
        let tmp = path.with_file_name(name);
        let file = File::create(&tmp)
            .map_err(|e| Error::io(anyhow!("cannot create {}: {e}", tmp.display())))?;
        Ok(Self::File {
            tmp,
            path: path.to_owned(),
            out: BufWriter::new(file),
        })
    }

    fn commit(self) -> Result<(), Error> {
        match self {
            Self::Stdout(mut out) => out
                .flush()
                .map_err(|e| Error::io(anyhow!("cannot write standard output: {e}"))),
            Self::File { tmp, path, mut out } => out
                .flush()
                .and_then(|()| std::fs::rename(&tmp, &path))
                .map_err(|e| Error::io(anyhow!("cannot write {}: {e}", path.display()))),
        }
    }

    fn abort(self) {
        if let Self::File { tmp, .. } = self {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Stdout(out) => out.write(buf),
            Self::File { out, .. } => out.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Stdout(out) => out.flush(),
            Self::File { out, .. } => out.flush(),
        }
    }
}

/// Reads entries from `input` and writes them as they come: the transcript to `transcript`,
/// the scenario ([`crate::scenario::from_trace`]) to `scenario`.
///
/// # Errors
/// The log is not of its format (invalid, `NAME: line N: …`), or holds no exchange; a
/// masked secret the scenario cannot name (invalid); an output cannot be written (I/O).
pub fn convert<R: BufRead>(
    options: &Options,
    name: &str,
    input: R,
    mut transcript: Option<&mut dyn Write>,
    scenario: Option<&mut dyn Write>,
) -> Result<Summary, Error> {
    let write_error = |e: io::Error| Error::io(anyhow!("cannot write the transcript: {e}"));
    let scenario_error = |e: FromTraceError| match e {
        FromTraceError::Io(e) => Error::io(anyhow!("cannot write the scenario: {e}")),
        e @ FromTraceError::MaskedSecret { .. } => Error::invalid(anyhow!("{name}: {e}")),
    };
    if !options.text
        && let Some(out) = transcript.as_mut()
    {
        writeln!(out, "{}", jsonl::header()).map_err(write_error)?;
    }
    let mut scenario = match scenario {
        Some(out) => Some(
            ScenarioWriter::new(
                out,
                &Header {
                    name: format!("trace {}", file_name(name)),
                    description: format!(
                        "Imported from {} ({} log) by mynasim import.",
                        file_name(name),
                        options.format.name()
                    ),
                    profile: options.profile.clone(),
                },
            )
            .map_err(|e| Error::io(anyhow!("cannot write the scenario: {e}")))?,
        ),
        None => None,
    };
    let mut summary = Summary::default();
    let mut line = String::new();
    for entry in entries_of_slot(options.format, input, options.slot) {
        let mut entry = entry.map_err(|e| {
            Error::invalid(anyhow!(
                "{name}: line {}: {} (read as {})",
                e.line,
                e.message,
                options.format.name()
            ))
        })?;
        if let Event::Exchange(x) = &mut entry.event {
            summary.exchanges += 1;
            if !options.keep_secrets {
                x.redact();
                if x.redacted {
                    summary.masked += 1;
                }
            }
        }
        summary.entries += 1;
        if let Some(writer) = scenario.as_mut() {
            writer.entry(&entry).map_err(scenario_error)?;
        }
        let Some(out) = transcript.as_mut() else {
            continue;
        };
        line.clear();
        if options.text {
            text::push_event(&mut line, &entry.event, !options.keep_secrets);
        } else {
            line.push_str(&jsonl::format_entry(
                &Stamped::new(entry),
                !options.keep_secrets,
            ));
            line.push('\n');
        }
        out.write_all(line.as_bytes()).map_err(write_error)?;
    }
    if summary.exchanges == 0 {
        // A log of another format reads as nothing at all: say so rather than write an
        // empty transcript.
        return Err(Error::invalid(anyhow!(
            "{name}: no APDU exchange in it when read as {}: is it a {} log? (formats: {})",
            options.format.name(),
            options.format.name(),
            Format::ALL.map(Format::name).join(", ")
        )));
    }
    if let Some(writer) = scenario {
        let (_, steps) = writer
            .finish()
            .map_err(|e| Error::io(anyhow!("cannot write the scenario: {e}")))?;
        summary.steps = steps;
    }
    if let Some(out) = transcript.as_mut() {
        out.flush().map_err(write_error)?;
    }
    Ok(summary)
}

/// The last part of a path, for names.
fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(format: Format, text: bool, keep_secrets: bool) -> Options {
        Options {
            format,
            log: PathBuf::from("log"),
            output: None,
            text,
            keep_secrets,
            slot: None,
            scenario: None,
            profile: "default".to_owned(),
        }
    }

    const PASTE: &str =
        ">> 00 20 00 80 04 31 32 33 34\n<< 63 C2\n>> 00 B0 00 00 02\n<< 12 34 90 00\n";

    #[test]
    fn secrets_are_masked_unless_kept() {
        let mut out = Vec::new();
        let summary = convert(
            &options(Format::Hex, true, false),
            "log",
            PASTE.as_bytes(),
            Some(&mut out),
            None,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            ">> 00 20 00 80 04 ** ** ** **\n<< 63 C2\n>> 00 B0 00 00 02\n<< 12 34 90 00\n"
        );
        assert_eq!(
            summary,
            Summary {
                entries: 2,
                exchanges: 2,
                masked: 1,
                steps: 0,
            }
        );
        let mut out = Vec::new();
        convert(
            &options(Format::Hex, false, true),
            "log",
            PASTE.as_bytes(),
            Some(&mut out),
            None,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with(&jsonl::header()), "{text}");
        assert!(
            text.contains("\"command\":\"00 20 00 80 04 31 32 33 34\""),
            "{text}"
        );
        let mut out = Vec::new();
        convert(
            &options(Format::Hex, false, false),
            "log",
            PASTE.as_bytes(),
            Some(&mut out),
            None,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("31 32 33 34"), "{text}");
    }

    #[test]
    fn errors_name_the_file_line_and_format() {
        let e = convert(
            &options(Format::Pcscd, false, false),
            "field.log",
            "00000001 SW: 90 00\n".as_bytes(),
            Some(&mut Vec::new()),
            None,
        )
        .unwrap_err();
        assert_eq!(crate::exit::exit_code(&e), crate::exit::INVALID);
        let message = e.to_string();
        assert!(
            message.starts_with("field.log: line 1: `SW:` without an `APDU:`"),
            "{message}"
        );
        assert!(message.ends_with("(read as pcscd)"), "{message}");
        // Another tool's log reads as nothing: an error, not an empty transcript.
        let e = convert(
            &options(Format::Pcscd, true, false),
            "spy.log",
            "SCardTransmit\n i hCard: 0x1\n => Command successful.\n".as_bytes(),
            Some(&mut Vec::new()),
            None,
        )
        .unwrap_err();
        assert_eq!(crate::exit::exit_code(&e), crate::exit::INVALID);
        assert!(e.to_string().contains("no APDU exchange"), "{e}");
    }
}
