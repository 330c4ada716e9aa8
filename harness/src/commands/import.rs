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
}

/// Imports the log.
///
/// # Errors
/// The log cannot be opened or is not of its format (2, naming the file and line); the
/// output cannot be written (4).
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
    let summary = match &options.output {
        None => {
            let stdout = io::stdout().lock();
            convert(options, &name, input, BufWriter::new(stdout))?
        }
        Some(path) => {
            let tmp = temporary(path);
            let file = File::create(&tmp)
                .map_err(|e| Error::io(anyhow!("cannot create {}: {e}", tmp.display())))?;
            let result = convert(options, &name, input, BufWriter::new(file));
            match result {
                Ok(summary) => {
                    std::fs::rename(&tmp, path)
                        .map_err(|e| Error::io(anyhow!("cannot write {}: {e}", path.display())))?;
                    summary
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e);
                }
            }
        }
    };
    eprintln!(
        "imported {} exchanges ({} entries) from {name}{}",
        summary.exchanges,
        summary.entries,
        if summary.masked > 0 {
            format!("; {} secrets masked", summary.masked)
        } else {
            String::new()
        }
    );
    Ok(())
}

/// `OUT.partial-mynasim` beside `OUT`.
fn temporary(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial-mynasim");
    path.with_file_name(name)
}

/// Reads entries from `input` and writes them to `out` as they come.
///
/// # Errors
/// The log is not of its format (invalid, `NAME: line N: …`); `out` cannot be written (I/O).
pub fn convert<R: BufRead, W: Write>(
    options: &Options,
    name: &str,
    input: R,
    mut out: W,
) -> Result<Summary, Error> {
    let write_error = |e: io::Error| Error::io(anyhow!("cannot write the transcript: {e}"));
    if !options.text {
        writeln!(out, "{}", jsonl::header()).map_err(write_error)?;
    }
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
    out.flush().map_err(write_error)?;
    Ok(summary)
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
            &mut out,
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
                masked: 1
            }
        );
        let mut out = Vec::new();
        convert(
            &options(Format::Hex, false, true),
            "log",
            PASTE.as_bytes(),
            &mut out,
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
            &mut out,
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
            Vec::new(),
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
            Vec::new(),
        )
        .unwrap_err();
        assert_eq!(crate::exit::exit_code(&e), crate::exit::INVALID);
        assert!(e.to_string().contains("no APDU exchange"), "{e}");
    }
}
