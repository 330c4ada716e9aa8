//! Records: every exchange and power event of every slot, as they happen, in the versioned
//! JSON Lines form of the transcript (`mynasim_simulator::transcript::jsonl`) — what
//! `serve --record FILE` and `exec --record FILE` write (issue 10, "Record").
//!
//! Each line carries its slot and the microseconds since the record started (`at_us`) and
//! is flushed as it is written, so a record is complete up to the last answer even when the
//! process is killed. Secrets (VERIFY, CHANGE REFERENCE DATA, CHANGE KEY data) are masked
//! unless the record was created to keep them. pcscd's presence polls (a `get ATR` every
//! 400 ms) are not recorded: they say nothing about the session and would fill the file.
//! The file is created owner-only (it may hold PINs with `--keep-secrets`).

use std::fs::File;
use std::io::{self, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use mynasim_simulator::transcript::import::{Format, entries};
use mynasim_simulator::transcript::jsonl::{self, Stamped};
use mynasim_simulator::transcript::{Entry, Event, Transcript};

/// A record being written; shared by the slots that feed it.
#[derive(Debug)]
pub struct Recorder {
    path: PathBuf,
    started: Instant,
    keep_secrets: bool,
    out: Mutex<Output>,
}

#[derive(Debug)]
struct Output {
    file: BufWriter<File>,
    /// The first write error; later entries are dropped and [`Recorder::finish`] reports it.
    failed: Option<io::Error>,
}

impl Recorder {
    /// Creates (or truncates) `path`, owner-only, and writes the header line.
    ///
    /// # Errors
    /// The file cannot be created or written.
    pub fn create(path: &Path, keep_secrets: bool) -> io::Result<Self> {
        let mut options = File::options();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path)?;
        // An existing file keeps its mode on open: make it owner-only too.
        #[cfg(unix)]
        file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        let mut file = BufWriter::new(file);
        writeln!(file, "{}", jsonl::header())?;
        file.flush()?;
        Ok(Self {
            path: path.to_owned(),
            started: Instant::now(),
            keep_secrets,
            out: Mutex::new(Output { file, failed: None }),
        })
    }

    /// Where it writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records one entry of `slot` (presence polls are skipped).
    pub fn entry(&self, slot: u16, entry: &Entry) {
        if matches!(entry.event, Event::AtrPoll) {
            return;
        }
        self.write(slot, entry.clone());
    }

    /// Records a note about `slot` (a card removed or inserted) as a comment.
    pub fn note(&self, slot: u16, text: &str) {
        self.write(slot, Entry::new(Event::Comment(text.to_owned())));
    }

    fn write(&self, slot: u16, entry: Entry) {
        let line = jsonl::format_entry(
            &Stamped {
                slot: Some(slot),
                at: Some(self.started.elapsed()),
                entry,
            },
            !self.keep_secrets,
        );
        let Ok(mut out) = self.out.lock() else {
            return;
        };
        if out.failed.is_some() {
            return;
        }
        let written = writeln!(out.file, "{line}").and_then(|()| out.file.flush());
        if let Err(e) = written {
            tracing::error!("cannot write the record {}: {e}", self.path.display());
            out.failed = Some(e);
        }
    }

    /// Flushes the file.
    ///
    /// # Errors
    /// A write failed at some point (the record is incomplete).
    pub fn finish(&self) -> io::Result<()> {
        let mut out = self
            .out
            .lock()
            .map_err(|_| io::Error::other("the record's writer panicked"))?;
        if let Some(e) = out.failed.take() {
            return Err(e);
        }
        out.file.flush()
    }
}

/// Reads a transcript file: a record (JSON Lines) when its first line is JSON, the `>>`/`<<`
/// text form otherwise, or any import `format` given. Secrets stay as the file has them.
///
/// # Errors
/// The file cannot be read, or a line is not of the format: `FILE: line N: …`.
pub fn read(path: &Path, format: Option<Format>) -> Result<Transcript, String> {
    use std::io::BufRead as _;
    let name = path.display();
    let open = || {
        File::open(path)
            .map(|f| io::BufReader::with_capacity(1 << 16, f))
            .map_err(|e| format!("cannot open {name}: {e}"))
    };
    let format = match format {
        Some(format) => format,
        None => {
            let mut first = String::new();
            for line in open()?.lines().take(64) {
                let line = line.map_err(|e| format!("cannot read {name}: {e}"))?;
                if !line.trim().is_empty() {
                    first = line;
                    break;
                }
            }
            if first.trim_start().starts_with('{') {
                Format::Jsonl
            } else {
                Format::Hex
            }
        }
    };
    entries(format, open()?)
        .collect::<Result<_, _>>()
        .map_err(|e| {
            format!(
                "{name}: line {}: {} (read as {})",
                e.line,
                e.message,
                format.name()
            )
        })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mynasim_simulator::transcript::Exchange;

    use super::*;

    #[test]
    fn records_mask_secrets_unless_kept_and_skip_polls() {
        let dir = std::env::temp_dir().join(format!("mynasim-record-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let verify = Entry {
            event: Event::Exchange(Exchange::new(
                vec![0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34],
                vec![0x90, 0x00],
            )),
            elapsed: Duration::from_micros(9),
        };
        for keep in [false, true] {
            let path = dir.join(format!("record-{keep}.jsonl"));
            let recorder = Recorder::create(&path, keep).unwrap();
            recorder.entry(1, &Entry::new(Event::PowerOn { atr: vec![0x3B] }));
            recorder.entry(1, &Entry::new(Event::AtrPoll));
            recorder.entry(1, &verify);
            recorder.note(1, "card removed");
            recorder.finish().unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(text.lines().count(), 4, "{text}");
            assert_eq!(text.contains("31 32 33 34"), keep, "{text}");
            assert!(
                text.lines().skip(1).all(|l| l.contains("\"slot\":1")),
                "{text}"
            );
            let back = jsonl::parse(&text).unwrap();
            assert_eq!(back.exchanges().next().unwrap().redacted, !keep);
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let mode = std::fs::metadata(&path).unwrap().permissions().mode();
                assert_eq!(mode & 0o077, 0, "owner-only");
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
