//! `mynasim trace diff A B`: two transcripts aligned by command, every row marked, the first
//! difference called out (issue 10, "works on my card, fails on theirs"). The alignment is
//! `mynasim_simulator::transcript::diff`; the files are read with the importers, so either
//! side may be a record, a pasted `>>`/`<<` text or a tool's log.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use mynasim_simulator::hex;
use mynasim_simulator::transcript::diff::{Row, align};
use mynasim_simulator::transcript::import::Format;
use mynasim_simulator::transcript::{Exchange, Transcript};

use crate::exit::Error;
use crate::host::record;

/// What to compare.
#[derive(Debug, Clone)]
pub struct Options {
    /// The first transcript (the reference: "my card").
    pub a: PathBuf,
    /// The second ("their card").
    pub b: PathBuf,
    /// The files' format; `None` guesses per file: a record when its first line is JSON,
    /// the text form otherwise.
    pub format: Option<Format>,
    /// Print only the rows that differ (and the summary).
    pub only_differences: bool,
}

/// Compares the two transcripts and prints the alignment.
///
/// # Errors
/// A file cannot be read or is not of its format (2); they differ (1, after the report).
pub fn diff(options: &Options) -> Result<(), Error> {
    let a = load(&options.a, options.format)?;
    let b = load(&options.b, options.format)?;
    let rows = align(&a, &b);
    let report = render(&rows, options.only_differences);
    std::io::stdout()
        .write_all(report.as_bytes())
        .map_err(|e| Error::io(anyhow!("cannot write standard output: {e}")))?;
    let differing = rows.iter().filter(|r| !r.is_same()).count();
    if differing == 0 {
        return Ok(());
    }
    Err(Error::Differs(format!(
        "{} and {} differ in {differing} of {} rows",
        options.a.display(),
        options.b.display(),
        rows.len()
    )))
}

/// Reads a transcript (secrets masked).
fn load(path: &Path, format: Option<Format>) -> Result<Transcript, Error> {
    let mut transcript = record::read(path, format).map_err(|e| Error::invalid(anyhow!(e)))?;
    transcript.redact();
    Ok(transcript)
}

/// The report: one block per row, the first difference marked, a summary line.
pub fn render(rows: &[Row<'_>], only_differences: bool) -> String {
    let mut out = String::new();
    let (mut a_no, mut b_no) = (0usize, 0usize);
    let mut first: Option<usize> = None;
    let mut counts = [0usize; 4];
    for (index, row) in rows.iter().enumerate() {
        let (ta, tb) = match row {
            Row::Same(_) | Row::Differs(..) => (true, true),
            Row::OnlyA(_) => (true, false),
            Row::OnlyB(_) => (false, true),
        };
        a_no += usize::from(ta);
        b_no += usize::from(tb);
        let kind = match row {
            Row::Same(_) => 0,
            Row::Differs(..) => 1,
            Row::OnlyA(_) => 2,
            Row::OnlyB(_) => 3,
        };
        if let Some(count) = counts.get_mut(kind) {
            *count += 1;
        }
        if !row.is_same() && first.is_none() {
            first = Some(index);
            let _ = writeln!(
                out,
                ">>>>> first difference: exchange {} of A, {} of B",
                if ta { a_no.to_string() } else { "-".into() },
                if tb { b_no.to_string() } else { "-".into() }
            );
        }
        if only_differences && row.is_same() {
            continue;
        }
        let place = |n: usize, here: bool| {
            if here {
                format!("{n:>4}")
            } else {
                "   -".into()
            }
        };
        let head = |mark: char, x: &Exchange| {
            format!(
                "{mark} A{} B{}  {:<26} >> {}\n",
                place(a_no, ta),
                place(b_no, tb),
                x.name(),
                x.format_command(true)
            )
        };
        let answer = |x: &Exchange| {
            if x.response.is_empty() {
                "(no answer)".to_owned()
            } else {
                hex::spaced(&x.response)
            }
        };
        let pad = " ".repeat(41);
        match row {
            Row::Same(x) => {
                out.push_str(&head('=', x));
                let _ = writeln!(out, "{pad}   << {}", answer(x));
            }
            Row::Differs(x, y) => {
                out.push_str(&head('!', x));
                let _ = writeln!(out, "{pad} A << {}", answer(x));
                let _ = writeln!(out, "{pad} B << {}", answer(y));
            }
            Row::OnlyA(x) => {
                out.push_str(&head('-', x));
                let _ = writeln!(out, "{pad} A << {}   (only in A)", answer(x));
            }
            Row::OnlyB(y) => {
                out.push_str(&head('+', y));
                let _ = writeln!(out, "{pad} B << {}   (only in B)", answer(y));
            }
        }
    }
    let [same, differ, only_a, only_b] = counts;
    let _ = writeln!(
        out,
        "{same} same, {differ} answered differently, {only_a} only in A, {only_b} only in B{}",
        if first.is_none() { ": identical" } else { "" }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_marks_every_row_and_the_first_difference() {
        let a = Transcript::parse(
            ">> 00 A4 02 0C 02 00 18\n<< 90 00\n>> 00 20 00 80 04 31 32 33 34\n<< 90 00\n\
             >> 00 B0 00 00 02\n<< 30 82 90 00\n>> 00 84 00 00 08\n<< 01 90 00\n",
        )
        .unwrap();
        let b = Transcript::parse(
            ">> 00 A4 02 0C 02 00 18\n<< 90 00\n>> 00 20 00 80 04 ** ** ** **\n<< 90 00\n\
             >> 00 B0 00 00 02\n<< 6A 82\n>> 00 B0 00 02 02\n<< 90 00\n",
        )
        .unwrap();
        let rows = align(&a, &b);
        let report = render(&rows, false);
        assert!(
            report.contains(">>>>> first difference: exchange 3 of A, 3 of B"),
            "{report}"
        );
        assert!(!report.contains("31 32 33 34"), "{report}");
        assert!(report.contains("! A   3 B   3  READ BINARY"), "{report}");
        assert!(report.contains(" A << 30 82 90 00\n"), "{report}");
        assert!(report.contains(" B << 6A 82\n"), "{report}");
        assert!(
            report.contains("(only in A)") && report.contains("(only in B)"),
            "{report}"
        );
        assert!(
            report.ends_with("2 same, 1 answered differently, 1 only in A, 1 only in B\n"),
            "{report}"
        );
        let short = render(&rows, true);
        assert!(!short.contains("= A"), "{short}");
        assert!(render(&align(&a, &a), false).ends_with(": identical\n"));
    }
}
