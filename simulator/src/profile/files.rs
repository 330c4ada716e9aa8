//! Reading the files a profile names — and, for the harness, scenario files, serve
//! configurations and golden transcripts: regular files only, their size checked against a
//! limit before a byte is read, so `/dev/zero`, a FIFO or a runaway file is refused at once
//! with a message that says why.

use std::fmt;
use std::io::Read as _;
use std::path::Path;

/// The largest profile, scenario or configuration file read (1 MiB): hand-written YAML is a
/// few kilobytes.
pub const MAX_TEXT_FILE: u64 = 1 << 20;

/// The largest card-face photo: the card-face record must stay under the 65 535-byte limit
/// of its `82 xx xx` lengths, with room for the images and keys.
pub const MAX_PHOTO: u64 = 60_000;

/// Why a file was not read.
#[derive(Debug)]
pub enum ReadError {
    /// Not a regular file (a folder, a FIFO, a device, a socket).
    NotRegular(&'static str),
    /// Larger than the limit.
    TooLarge {
        /// Its size.
        len: u64,
        /// The limit.
        limit: u64,
    },
    /// Opening or reading failed.
    Io(std::io::Error),
    /// A text file that is not UTF-8.
    NotUtf8,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotRegular(kind) => write!(f, "not a regular file (a {kind})"),
            Self::TooLarge { len, limit } => write!(f, "{len} bytes; at most {limit} are read"),
            Self::Io(e) => write!(f, "{e}"),
            Self::NotUtf8 => f.write_str("not UTF-8 text"),
        }
    }
}

impl std::error::Error for ReadError {}

fn kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    let t = meta.file_type();
    if t.is_dir() {
        "folder"
    } else if t.is_fifo() {
        "FIFO"
    } else if t.is_char_device() {
        "character device"
    } else if t.is_block_device() {
        "block device"
    } else if t.is_socket() {
        "socket"
    } else {
        "special file"
    }
}

/// Reads a regular file of at most `limit` bytes.
///
/// # Errors
/// Not a regular file (checked before opening, so a FIFO never blocks), too large, or an I/O
/// error.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let meta = std::fs::metadata(path).map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(kind(&meta)));
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge {
            len: meta.len(),
            limit,
        });
    }
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    let mut data = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // The file may have grown since: never read past the limit.
    file.take(limit.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(ReadError::Io)?;
    let len = u64::try_from(data.len()).unwrap_or(u64::MAX);
    if len > limit {
        return Err(ReadError::TooLarge { len, limit });
    }
    Ok(data)
}

/// Reads a regular UTF-8 text file of at most `limit` bytes.
///
/// # Errors
/// As [`read_bounded`], or the text is not UTF-8.
pub fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    String::from_utf8(read_bounded(path, limit)?).map_err(|_| ReadError::NotUtf8)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn special_files_and_large_files_are_refused_before_reading() {
        let e = read_bounded(Path::new("/dev/zero"), 10).unwrap_err();
        assert_eq!(e.to_string(), "not a regular file (a character device)");
        let e = read_bounded(Path::new("/"), 10).unwrap_err();
        assert_eq!(e.to_string(), "not a regular file (a folder)");
        let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        let e = read_bounded(&here, 10).unwrap_err();
        assert!(e.to_string().ends_with("bytes; at most 10 are read"), "{e}");
        assert!(
            read_text(&here, MAX_TEXT_FILE)
                .unwrap()
                .contains("[package]")
        );
        let missing = read_bounded(Path::new("/nonexistent/x"), 10).unwrap_err();
        assert!(matches!(missing, ReadError::Io(_)));
    }
}
