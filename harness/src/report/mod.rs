//! Reports of a run, one module per format: the terminal ([`terminal`]), JUnit XML
//! ([`junit`]), JSON ([`json`]) and HTML ([`html`]), with the latency statistics they share
//! ([`latency`]). They read [`Outcome`](crate::engine::Outcome)s and never decide exit
//! codes; writing a file is the caller's I/O.

pub mod html;
pub mod json;
pub mod junit;
pub mod latency;
pub mod terminal;

/// Options for what people read.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Colour.
    pub colour: bool,
    /// Show secrets in transcripts.
    pub reveal: bool,
}

impl Style {
    /// No colour, secrets masked: files and CI logs.
    pub const PLAIN: Self = Self {
        colour: false,
        reveal: false,
    };
}

/// Writes a report file atomically: the content goes to a temporary file beside `path`
/// (same folder, so the rename cannot cross file systems), which is then renamed over it. A
/// reader (a CI artefact upload, a browser) sees the old file or the whole new one, never
/// half of it; on failure the temporary file is removed.
///
/// # Errors
/// The folder is missing or not writable, the disk is full, or the rename is refused.
pub fn write_atomic(path: &std::path::Path, content: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".{}.tmp", std::process::id()));
    let temp = path.with_file_name(temp_name);
    let written = std::fs::write(&temp, content).and_then(|()| std::fs::rename(&temp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_replace_whole_files_and_leave_no_temporary() {
        let dir = std::env::temp_dir().join(format!("mynasim-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("report.html");
        write_atomic(&path, b"old").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "only the report is left"
        );
        let missing = dir.join("no-such-folder").join("report.html");
        assert!(write_atomic(&missing, b"x").is_err());
        assert!(
            write_atomic(&dir, b"x").is_err(),
            "a folder is not replaced"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
