//! Golden transcripts: `NAME.transcript` beside a scenario file holds what passed between the
//! harness and the card when the scenario last ran on the in-process card, in the
//! [transcript text form](mynasim_simulator::transcript::text) with secrets masked. A run
//! on `sim` compares against it, so any change in what a client would see fails the
//! scenario until it is blessed (`mynasim run --bless`, or `ci/bless` for the bundled
//! library) and the diff reviewed.
//!
//! A file holds one section per scenario of the scenario file, in order, each starting with
//! its `# scenario: NAME` line; sections are separated by a blank line.

use super::outcome::Outcome;

/// The section header's prefix.
const HEADER: &str = "# scenario: ";

/// The golden text of one scenario's run (secrets masked).
pub fn section(outcome: &Outcome) -> String {
    outcome.transcript().to_text(true)
}

/// A whole golden file from the sections of a scenario file's scenarios, in order.
pub fn file(sections: &[String]) -> String {
    sections.join("\n")
}

/// The `index`-th section of a golden file, with the line number it starts on.
fn nth_section(file: &str, index: usize) -> Option<(usize, String)> {
    let lines: Vec<&str> = file.lines().collect();
    let starts: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with(HEADER))
        .map(|(i, _)| i)
        .collect();
    let start = *starts.get(index)?;
    let end = starts.get(index + 1).copied().unwrap_or(lines.len());
    let mut body: Vec<&str> = lines.get(start..end)?.to_vec();
    while body.last().is_some_and(|l| l.trim().is_empty()) {
        body.pop();
    }
    let mut text = body.join("\n");
    text.push('\n');
    Some((start + 1, text))
}

/// Compares a scenario's section of a golden file with what ran; the error names the file's
/// line where they first differ and both versions of it.
///
/// # Errors
/// The transcript differs, or the file has no section for the scenario.
pub fn compare(golden: &str, index: usize, actual: &str, file_name: &str) -> Result<(), String> {
    let Some((first_line, expected)) = nth_section(golden, index) else {
        return Err(format!(
            "transcript: {file_name} has no section for scenario {} (run `mynasim run --bless` \
             and review the diff)",
            index + 1
        ));
    };
    if expected == actual {
        return Ok(());
    }
    let (at, want, got) = expected
        .lines()
        .map(Some)
        .chain(std::iter::repeat(None))
        .zip(actual.lines().map(Some).chain(std::iter::repeat(None)))
        .take(expected.lines().count().max(actual.lines().count()))
        .enumerate()
        .find(|(_, (a, b))| a != b)
        .map_or((0, None, None), |(i, (a, b))| (i, a, b));
    Err(format!(
        "transcript differs from {file_name} at line {}:\n  expected: {}\n  actual:   {}\n\
         (if the change is intended: `mynasim run --bless`, then review the diff)",
        first_line + at,
        want.unwrap_or("<end>"),
        got.unwrap_or("<end>")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# scenario: a\n>> 00\n<< 90 00\n\n# scenario: b\n>> 01\n<< 6A 82\n";

    #[test]
    fn sections_are_found_by_their_header() {
        assert_eq!(
            nth_section(FILE, 0),
            Some((1, "# scenario: a\n>> 00\n<< 90 00\n".to_owned()))
        );
        assert_eq!(
            nth_section(FILE, 1),
            Some((5, "# scenario: b\n>> 01\n<< 6A 82\n".to_owned()))
        );
        assert_eq!(nth_section(FILE, 2), None);
        assert_eq!(
            file(&[
                "# scenario: a\n>> 00\n<< 90 00\n".to_owned(),
                "# scenario: b\n>> 01\n<< 6A 82\n".to_owned()
            ]),
            FILE
        );
    }

    #[test]
    fn a_difference_names_the_line_and_both_versions() {
        assert_eq!(
            compare(FILE, 1, "# scenario: b\n>> 01\n<< 6A 82\n", "x"),
            Ok(())
        );
        let e = compare(FILE, 1, "# scenario: b\n>> 01\n<< 90 00\n", "x.transcript").unwrap_err();
        assert!(
            e.starts_with("transcript differs from x.transcript at line 7:\n  expected: << 6A 82\n  actual:   << 90 00"),
            "{e}"
        );
        let longer = compare(
            FILE,
            0,
            "# scenario: a\n>> 00\n<< 90 00\n>> 02\n<< 90 00\n",
            "x",
        )
        .unwrap_err();
        assert!(
            longer.contains("line 4:\n  expected: <end>\n  actual:   >> 02"),
            "{longer}"
        );
        let shorter = compare(FILE, 0, "# scenario: a\n", "x").unwrap_err();
        assert!(shorter.contains("actual:   <end>"), "{shorter}");
        assert!(
            compare(FILE, 5, "", "x")
                .unwrap_err()
                .contains("no section for scenario 6")
        );
    }
}
