//! `mynasim report RUN.json --html OUT.html`: a run saved with `mynasim run --json`,
//! rendered as the HTML page `mynasim run --html` would have written.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::anyhow;

use crate::exit::Error;
use crate::report::{self, html, json};

/// The largest report read (256 MiB): a run of the whole library is a few MiB, so anything
/// far larger is the wrong file, and is refused before it fills memory.
pub const MAX_INPUT: u64 = 256 * 1024 * 1024;

/// What to render, and where.
#[derive(Debug, Clone)]
pub struct Options {
    /// The JSON report.
    pub input: PathBuf,
    /// The page to write.
    pub html: PathBuf,
}

/// Reads the report and writes the page. The run's own result does not change the exit
/// status: rendering a failed run succeeds.
///
/// # Errors
/// The report cannot be read, is too large, or is not a JSON run report of version 1 (2,
/// naming the file and the line and column); the page cannot be written (4).
pub fn run(options: &Options) -> Result<(), Error> {
    if let (Ok(a), Ok(b)) = (options.input.canonicalize(), options.html.canonicalize())
        && a == b
    {
        return Err(Error::invalid(anyhow!(
            "{}: the page would replace the report it is made from (give another --html file)",
            options.html.display()
        )));
    }
    let text = read_bounded(&options.input)?;
    let run = json::parse(&text)
        .map_err(|e| Error::invalid(anyhow!("{}: {e}", options.input.display())))?;
    let page = html::run::render(&run, jiff::Timestamp::now());
    report::write_atomic(&options.html, page.as_bytes())
        .map_err(|e| Error::io(anyhow!("cannot write {}: {e}", options.html.display())))
}

/// The file as UTF-8 text, at most [`MAX_INPUT`] bytes (checked before reading, and while
/// reading for files that grow or report no size).
fn read_bounded(path: &Path) -> Result<String, Error> {
    let cannot = |e: std::io::Error| Error::invalid(anyhow!("cannot read {}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(cannot)?;
    let meta = file.metadata().map_err(cannot)?;
    if meta.is_dir() {
        return Err(Error::invalid(anyhow!(
            "{} is a folder (give the file `mynasim run --json FILE` wrote)",
            path.display()
        )));
    }
    let too_large = || {
        Error::invalid(anyhow!(
            "{}: larger than {} MiB, which no run report is (refused before reading)",
            path.display(),
            MAX_INPUT / (1024 * 1024)
        ))
    };
    if meta.len() > MAX_INPUT {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(MAX_INPUT + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_INPUT {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|e| {
        Error::invalid(anyhow!(
            "{}: not a mynasim JSON run report: not UTF-8 text (byte {})",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })
}
