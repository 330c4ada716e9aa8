//! APDU transcripts: `>>` command, `<<` response, one exchange per pair of lines, with the
//! secrets of VERIFY, CHANGE REFERENCE DATA and CHANGE KEY redacted by default.
//!
//! ```text
//! >> 00 A4 02 0C 02 00 18
//! << 90 00
//! >> 00 20 00 80 04 ** ** ** **
//! << 63 C2
//! ```
//!
//! Golden transcripts beside the tests use this format; reviewers read their diffs.

use std::fmt::Write as _;

use crate::apdu::{Command, Response};
use crate::hex;

/// Whether a command carries a secret in its data field: VERIFY (`X0 20`), CHANGE
/// REFERENCE DATA (`X0 24`), JICSAP CHANGE KEY (`8X 32`).
pub fn carries_secret(apdu: &[u8]) -> bool {
    match apdu {
        [cla, ins, ..] => {
            let proprietary = cla & 0x80 != 0;
            matches!((proprietary, ins), (false, 0x20 | 0x24) | (true, 0x32))
        }
        _ => false,
    }
}

/// Where a command's secret sits: the byte range of the data field of VERIFY, CHANGE
/// REFERENCE DATA and CHANGE KEY, or `None` for any other command (or one without data).
pub fn secret_range(apdu: &[u8]) -> Option<std::ops::Range<usize>> {
    if !carries_secret(apdu) {
        return None;
    }
    let cmd = Command::parse(apdu).ok()?;
    let data_len = cmd.data().len();
    if data_len == 0 {
        return None;
    }
    // The data field sits right after Lc; find it by length from the end.
    let le_len = match (cmd.case().has_le(), cmd.case().is_extended()) {
        (false, _) => 0,
        (true, false) => 1,
        (true, true) => 2,
    };
    let start = apdu.len() - le_len - data_len;
    Some(start..start + data_len)
}

/// The command as hex, with the data field masked (`**` per byte) when it carries a
/// secret and `redact` is set. Header, Lc and Le stay visible.
pub fn format_command(apdu: &[u8], redact: bool) -> String {
    let Some(range) = redact.then(|| secret_range(apdu)).flatten() else {
        return hex::spaced(apdu);
    };
    let mut out = hex::spaced(apdu.get(..range.start).unwrap_or_default());
    for _ in range.clone() {
        out.push_str(" **");
    }
    let tail = apdu.get(range.end..).unwrap_or_default();
    if !tail.is_empty() {
        out.push(' ');
        out.push_str(&hex::spaced(tail));
    }
    out
}

/// Appends one exchange to a transcript.
pub fn push_exchange(out: &mut String, command: &[u8], response: &[u8], redact: bool) {
    let _ = writeln!(out, ">> {}", format_command(command, redact));
    let _ = writeln!(out, "<< {}", hex::spaced(response));
}

/// The command's name for humans: `SELECT`, `READ BINARY`, `VERIFY`, … (reference §2.1).
pub fn command_name(apdu: &[u8]) -> &'static str {
    let Some((&cla, rest)) = apdu.split_first() else {
        return "(empty)";
    };
    let Some(&ins) = rest.first() else {
        return "(too short)";
    };
    let p1 = rest.get(1).copied().unwrap_or(0);
    let proprietary = cla & 0x80 != 0;
    match (proprietary, ins) {
        _ if cla == 0xFF => "reader pseudo-APDU",
        (false, 0xA4) => match p1 {
            0x04 => "SELECT DF",
            0x02 => "SELECT EF",
            0x00 => "SELECT MF",
            _ => "SELECT",
        },
        (false, 0xB0) => "READ BINARY",
        (false, 0xB2) => "READ RECORD",
        (false, 0x20) if apdu.len() == 4 => "VERIFY (retry query)",
        (false, 0x20) => "VERIFY",
        (false, 0x24) => "CHANGE REFERENCE DATA",
        (false, 0x84) => "GET CHALLENGE",
        (false, 0x88) => "INTERNAL AUTHENTICATE",
        (false, 0xC0) => "GET RESPONSE",
        (false, 0xCA) => "GET DATA",
        (false, 0x82) => "EXTERNAL AUTHENTICATE",
        (true, 0x2A) => "COMPUTE DIGITAL SIGNATURE",
        (true, 0x32) => "CHANGE KEY",
        (true, 0xAE) => "SET SESSION KEY",
        (true, 0xA2) => "SET PUBLIC IC KEY",
        (true, 0xFC) => "LAST COMMAND INDICATOR",
        _ => "unknown instruction",
    }
}

/// A short decoded note for a response: `63 C2 (verification failed / tries left)`.
pub fn describe_response(response: &[u8]) -> String {
    match Response::parse(response) {
        Some(r) => format!("{} ({})", r.sw, r.sw.meaning()),
        None => "no response".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_only_secrets() {
        assert_eq!(
            format_command(
                &[0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34],
                true
            ),
            "00 20 00 80 04 ** ** ** **"
        );
        assert_eq!(
            format_command(
                &[0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34],
                false
            ),
            "00 20 00 80 04 31 32 33 34"
        );
        assert_eq!(
            format_command(&[0x00, 0x20, 0x00, 0x80], true),
            "00 20 00 80"
        );
        assert_eq!(
            format_command(&[0x80, 0x32, 0x00, 0x80, 0x02, 0x31, 0x32, 0x00], true),
            "80 32 00 80 02 ** ** 00"
        );
        assert_eq!(
            format_command(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18], true),
            "00 A4 02 0C 02 00 18"
        );
    }
}
