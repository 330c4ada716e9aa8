//! Two transcripts aligned by command: the tool for "works on my card, fails on theirs"
//! (`mynasim trace diff A B`, issue 10).
//!
//! Exchanges are paired in order. Where the commands differ, the shorter way back into step
//! is taken: the next exchange of one side whose command the other side sends within
//! [`WINDOW`] exchanges is where they meet again, and what lies before it is only on one side.
//! Commands compare with their secrets masked, so a record with PINs masked and one without
//! align. Power events, comments and polls are not compared. The alignment is greedy (linear,
//! bounded look-ahead), not a longest common subsequence: APDU sessions rarely reorder, and a
//! log of a million exchanges must diff in bounded time.

use super::{Exchange, Transcript};

/// How far ahead a lost command is looked for.
pub const WINDOW: usize = 64;

/// One row of the alignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row<'a> {
    /// The same command and the same response on both sides.
    Same(&'a Exchange),
    /// The same command, answered differently.
    Differs(&'a Exchange, &'a Exchange),
    /// Only in the first transcript.
    OnlyA(&'a Exchange),
    /// Only in the second transcript.
    OnlyB(&'a Exchange),
}

impl Row<'_> {
    /// Whether the two sides agree here.
    pub fn is_same(&self) -> bool {
        matches!(self, Row::Same(_))
    }
}

/// Masked command bytes, for comparing.
fn key(x: &Exchange) -> Vec<u8> {
    let mut x = x.clone();
    x.redact();
    x.command
}

/// Aligns the exchanges of `a` and `b`.
pub fn align<'a>(a: &'a Transcript, b: &'a Transcript) -> Vec<Row<'a>> {
    let a: Vec<&Exchange> = a.exchanges().collect();
    let b: Vec<&Exchange> = b.exchanges().collect();
    let ka: Vec<Vec<u8>> = a.iter().map(|x| key(x)).collect();
    let kb: Vec<Vec<u8>> = b.iter().map(|x| key(x)).collect();
    let mut rows = Vec::with_capacity(a.len().max(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if ka.get(i) == kb.get(j) => {
                rows.push(if x.response == y.response {
                    Row::Same(x)
                } else {
                    Row::Differs(x, y)
                });
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) => {
                // Where does B's command come next in A, and A's in B?
                let in_a = (1..=WINDOW).find(|d| ka.get(i + d) == kb.get(j));
                let in_b = (1..=WINDOW).find(|d| kb.get(j + d) == ka.get(i));
                match (in_a, in_b) {
                    (Some(da), Some(db)) if db < da => {
                        rows.push(Row::OnlyB(y));
                        j += 1;
                    }
                    (Some(_), _) => {
                        rows.push(Row::OnlyA(x));
                        i += 1;
                    }
                    (None, Some(_)) => {
                        rows.push(Row::OnlyB(y));
                        j += 1;
                    }
                    (None, None) => {
                        rows.push(Row::OnlyA(x));
                        rows.push(Row::OnlyB(y));
                        i += 1;
                        j += 1;
                    }
                }
            }
            (Some(x), None) => {
                rows.push(Row::OnlyA(x));
                i += 1;
            }
            (None, Some(y)) => {
                rows.push(Row::OnlyB(y));
                j += 1;
            }
            (None, None) => break,
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> Transcript {
        Transcript::parse(text).unwrap()
    }

    fn shape(rows: &[Row<'_>]) -> String {
        rows.iter()
            .map(|r| match r {
                Row::Same(_) => '=',
                Row::Differs(..) => '!',
                Row::OnlyA(_) => '-',
                Row::OnlyB(_) => '+',
            })
            .collect()
    }

    #[test]
    fn aligns_by_command_and_finds_the_first_difference() {
        let a = t(">> 01\n<< 90 00\n>> 02\n<< 90 00\n>> 03\n<< 90 00\n>> 04\n<< 90 00\n");
        let b = t(">> 01\n<< 90 00\n>> 03\n<< 6A 82\n>> 04\n<< 90 00\n>> 05\n<< 90 00\n");
        let rows = align(&a, &b);
        assert_eq!(shape(&rows), "=-!=+");
        assert!(matches!(rows.get(2), Some(Row::Differs(x, y)) if x.response != y.response));
        assert_eq!(shape(&align(&a, &a)), "====");
        // Nothing in common: both sides, side by side.
        assert_eq!(
            shape(&align(&t(">> 0A\n<< 90 00\n"), &t(">> 0B\n<< 90 00\n"))),
            "-+"
        );
    }

    #[test]
    fn masked_and_clear_secrets_align() {
        let clear = t(">> 00 20 00 80 02 31 32\n<< 90 00\n");
        let masked = t(">> 00 20 00 80 02 ** **\n<< 90 00\n");
        assert_eq!(shape(&align(&clear, &masked)), "=");
    }
}
