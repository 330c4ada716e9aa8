//! Checks on a program under test (scenarios with `exec:`): its exit status, its output, the
//! rules over what it sent the card and what the card answered, and the card's state
//! afterwards. Pure functions over what was recorded; each failure is one line that names
//! the rule (and its line in the scenario) and what broke it, with the exchange's number in
//! the transcript.

use mynasim_simulator::hex;
use mynasim_simulator::transcript::{Event, Exchange, Transcript};

use crate::scenario::plan::{
    AfterExpect, CommandPattern, ExitExpect, OutputKind, OutputRule, RuleKind, TranscriptRule,
};

/// How the program ended, as the checks see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Exited with a status.
    Exited(i32),
    /// Killed by a signal.
    Signal(i32),
    /// Killed at its time limit.
    TimedOut,
}

/// The exit status.
pub fn exit(expect: ExitExpect, ended: Ended) -> Vec<String> {
    let got = match ended {
        Ended::Exited(code) => format!("status {code}"),
        Ended::Signal(signal) => format!("killed by signal {signal}"),
        Ended::TimedOut => "a time-out (the program was killed)".to_owned(),
    };
    let ok = match (expect, ended) {
        (ExitExpect::Code(want), Ended::Exited(code)) => want == code,
        (ExitExpect::NonZero, Ended::Exited(code)) => code != 0,
        _ => false,
    };
    if ok {
        return Vec::new();
    }
    let want = match expect {
        ExitExpect::Code(code) => format!("status {code}"),
        ExitExpect::NonZero => "a non-zero status".to_owned(),
    };
    vec![format!("exit: expected {want}, got {got}")]
}

/// Checks on one output stream (`stdout`, `stderr`).
pub fn output(stream: &str, rules: &[OutputRule], text: &str) -> Vec<String> {
    let mut failures = Vec::new();
    for rule in rules {
        let at = format!("{stream} (line {})", rule.line);
        match &rule.kind {
            OutputKind::Contains(want) => {
                if !text.contains(want.as_str()) {
                    failures.push(format!(
                        "{at}: expected it to contain {want:?}; it does not"
                    ));
                }
            }
            OutputKind::Lacks(unwanted) => {
                if text.contains(unwanted.as_str()) {
                    failures.push(format!("{at}: expected no {unwanted:?}; it is there"));
                }
            }
            OutputKind::Matches(re) => {
                if !re.is_match(text) {
                    failures.push(format!("{at}: expected a match for /{re}/; none"));
                }
            }
            OutputKind::Json { pointer, equals } => {
                match serde_json::from_str::<serde_json::Value>(text) {
                    Err(e) => failures.push(format!("{at}: expected JSON; {e}")),
                    Ok(doc) => match doc.pointer(pointer) {
                        None => failures.push(format!("{at}: {pointer:?}: no such value")),
                        Some(got) if got != equals => failures
                            .push(format!("{at}: {pointer:?}: expected {equals}, got {got}")),
                        Some(_) => {}
                    },
                }
            }
        }
    }
    failures
}

/// The transcript's exchanges, numbered from 1 as `mynasim`'s transcripts show them.
fn exchanges(transcript: &Transcript) -> Vec<(usize, &Exchange)> {
    transcript
        .entries
        .iter()
        .filter_map(|e| match &e.event {
            Event::Exchange(x) => Some(x),
            _ => None,
        })
        .enumerate()
        .map(|(i, x)| (i + 1, x))
        .collect()
}

/// An exchange in a failure message: `#N >> 00 20 00 80 … << 63 C1` (secrets masked).
fn shown(n: usize, x: &Exchange) -> String {
    let response = hex::spaced(&x.response);
    format!("#{n} >> {} << {response}", x.format_command(true))
}

/// Every transcript rule.
pub fn rules(rules: &[TranscriptRule], transcript: &Transcript) -> Vec<String> {
    let list = exchanges(transcript);
    let mut failures = Vec::new();
    for rule in rules {
        if let Some(why) = rule_fails(&rule.kind, &list) {
            let note = rule
                .note
                .as_deref()
                .map(|n| format!(" ({})", n.split_whitespace().collect::<Vec<_>>().join(" ")))
                .unwrap_or_default();
            failures.push(format!(
                "transcript rule `{}` (line {}){note}: {why}",
                rule.label, rule.line
            ));
        }
    }
    failures
}

/// Why a rule does not hold, or `None`.
fn rule_fails(kind: &RuleKind, list: &[(usize, &Exchange)]) -> Option<String> {
    let matching = |p: &CommandPattern| -> Vec<(usize, &Exchange)> {
        list.iter()
            .filter(|(_, x)| p.matches(&x.command))
            .copied()
            .collect()
    };
    match kind {
        RuleKind::Sends(p) => matching(p)
            .is_empty()
            .then(|| format!("no command matching `{}` was sent", p.text)),
        RuleKind::NeverSends(p) => matching(p)
            .first()
            .map(|(n, x)| format!("sent {}", shown(*n, x))),
        RuleKind::AtMost(p, times) => {
            let found = matching(p);
            let limit = usize::try_from(*times).unwrap_or(usize::MAX);
            found.get(limit).map(|(n, x)| {
                format!(
                    "sent {} times, at most {times} allowed; the first too many: {}",
                    found.len(),
                    shown(*n, x)
                )
            })
        }
        RuleKind::InOrder(patterns) => {
            let mut from = 0usize;
            for p in patterns {
                let next = list
                    .iter()
                    .enumerate()
                    .skip(from)
                    .find(|(_, (_, x))| p.matches(&x.command));
                match next {
                    Some((i, _)) => from = i + 1,
                    None => {
                        return Some(if matching(p).is_empty() {
                            format!("no command matching `{}` was sent", p.text)
                        } else {
                            format!(
                                "no command matching `{}` came after the ones before it",
                                p.text
                            )
                        });
                    }
                }
            }
            None
        }
        RuleKind::NeverAfter {
            answer,
            command,
            then,
        } => {
            let trigger = list.iter().find(|(_, x)| {
                x.sw().is_some_and(|sw| answer.matches(sw.to_u16()))
                    && command.as_ref().is_none_or(|c| c.matches(&x.command))
            })?;
            list.iter()
                .filter(|(n, x)| *n > trigger.0 && then.matches(&x.command))
                .map(|(n, x)| {
                    format!(
                        "the card answered {} at {}, and then the program sent {}",
                        answer.display(),
                        shown(trigger.0, trigger.1),
                        shown(*n, x)
                    )
                })
                .next()
        }
        RuleKind::OnlyAfter { command, after } => {
            let mut done = false;
            for (n, x) in list {
                if command.matches(&x.command) && !done {
                    return Some(format!(
                        "{} was sent before any command matching `{}` was answered 90 00",
                        shown(*n, x),
                        after.text
                    ));
                }
                if after.matches(&x.command) && x.response.ends_with(&[0x90, 0x00]) {
                    done = true;
                }
            }
            None
        }
    }
}

/// The card's state when the program ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardAfter {
    /// Tries left per `APP/EF`.
    pub tries_left: Vec<(String, u8)>,
    /// Signatures made per `APP/EF` during the run.
    pub signatures: Vec<(String, u32)>,
    /// Keys verified at the end, sorted.
    pub verified: Vec<String>,
    /// Warm resets and power-ons during the run.
    pub resets: u32,
}

/// The card's state against what was expected.
pub fn after(expect: &AfterExpect, got: &CardAfter) -> Vec<String> {
    let mut failures = Vec::new();
    for (key, want) in &expect.tries_left {
        match got.tries_left.iter().find(|(k, _)| k == key) {
            None => failures.push(format!(
                "after: {key}: the card has no such PIN or password"
            )),
            Some((_, left)) if left != want => failures.push(format!(
                "after: tries left on {key}: expected {want}, got {left}"
            )),
            Some(_) => {}
        }
    }
    for (key, want) in &expect.signatures {
        let made = got
            .signatures
            .iter()
            .find(|(k, _)| k == key)
            .map_or(0, |(_, n)| *n);
        if made != *want {
            failures.push(format!(
                "after: signatures with {key}: expected {want}, got {made}"
            ));
        }
    }
    if let Some(want) = &expect.verified
        && want != &got.verified
    {
        let list = |l: &[String]| {
            if l.is_empty() {
                "none".to_owned()
            } else {
                l.join(", ")
            }
        };
        failures.push(format!(
            "after: verified keys: expected {}, got {}",
            list(want),
            list(&got.verified)
        ));
    }
    if let Some(want) = expect.reset {
        let was = got.resets > 0;
        if want != was {
            failures.push(format!(
                "after: expected the card {} reset during the run; it {} ({} resets)",
                if want { "to be" } else { "not to be" },
                if was { "was" } else { "was not" },
                got.resets
            ));
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use std::time::Duration;

    use super::*;
    use crate::scenario::plan::SwPattern;

    fn p(text: &str) -> CommandPattern {
        CommandPattern::parse(text).unwrap()
    }

    fn rule(kind: RuleKind) -> TranscriptRule {
        TranscriptRule {
            line: 7,
            label: "the rule".into(),
            note: Some("a  note".into()),
            kind,
        }
    }

    /// SELECT JPKI, VERIFY wrong (63 C1), VERIFY wrong again (63 C0), READ BINARY.
    fn session() -> Transcript {
        let mut t = Transcript::new();
        let x = |t: &mut Transcript, c: &str, r: &str| {
            t.push_exchange(
                hex::decode(c).unwrap(),
                hex::decode(r).unwrap(),
                Duration::ZERO,
            );
        };
        x(&mut t, "00A4040C0AD3921000310001010408", "9000");
        x(&mut t, "00A4020C020018", "9000");
        x(&mut t, "0020008004 31313131", "63C1");
        x(&mut t, "0020008004 32323232", "63C0");
        x(&mut t, "00B0000004", "6982");
        t
    }

    fn fails(kind: RuleKind) -> Option<String> {
        let f = rules(&[rule(kind)], &session());
        assert!(f.len() <= 1);
        f.into_iter().next()
    }

    #[test]
    fn patterns_match_bytes_nibbles_names_and_open_ends() {
        let verify = hex::decode("0020008004 31313131").unwrap();
        assert!(p("00 20 00 80 04 31313131").matches(&verify));
        assert!(p("00 20 00 8? ..").matches(&verify));
        assert!(p("?? 20 ..").matches(&verify));
        assert!(p("verify").matches(&verify));
        assert!(p("VERIFY 00 80 ..").matches(&verify));
        assert!(
            !p("verify 00 80").matches(&verify),
            "closed: no data allowed"
        );
        assert!(
            !p("00 20 00 80").matches(&verify),
            "closed patterns match whole commands"
        );
        assert!(!p("00 20 00 81 ..").matches(&verify));
        assert!(!p("select").matches(&verify));
        assert!(p("read_binary").matches(&hex::decode("00B0000004").unwrap()));
        assert!(p("read binary 00 00 ..").matches(&hex::decode("00B0000004").unwrap()));
        assert!(!p("00 20 00 80 04 31313131 ..").matches(&hex::decode("002000").unwrap()));
        for bad in ["0", "zz", "00 .. 20", "", "verifyx", "get_nothing 00"] {
            assert!(CommandPattern::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            CommandPattern::parse("00 2G").unwrap_err(),
            "`00 2G`: `G` is not a hex digit, `?`, `..` or an instruction name (verify, select, \
             read_binary, compute_digital_signature, …)"
        );
    }

    #[test]
    fn sends_and_never_sends() {
        assert_eq!(fails(RuleKind::Sends(p("verify"))), None);
        assert_eq!(
            fails(RuleKind::Sends(p("compute_digital_signature"))).unwrap(),
            "transcript rule `the rule` (line 7) (a note): no command matching \
             `compute_digital_signature` was sent"
        );
        assert_eq!(fails(RuleKind::NeverSends(p("get_challenge"))), None);
        assert_eq!(
            fails(RuleKind::NeverSends(p("verify"))).unwrap(),
            "transcript rule `the rule` (line 7) (a note): sent #3 >> 00 20 00 80 04 ** ** ** ** \
             << 63 C1"
        );
    }

    #[test]
    fn at_most_counts() {
        assert_eq!(fails(RuleKind::AtMost(p("verify"), 2)), None);
        let f = fails(RuleKind::AtMost(p("verify"), 1)).unwrap();
        assert!(
            f.ends_with("sent 2 times, at most 1 allowed; the first too many: #4 >> 00 20 00 80 04 ** ** ** ** << 63 C0"),
            "{f}"
        );
        assert!(fails(RuleKind::AtMost(p("verify"), 0)).is_some());
    }

    #[test]
    fn in_order_is_a_subsequence() {
        assert_eq!(
            fails(RuleKind::InOrder(vec![
                p("select"),
                p("verify"),
                p("read_binary")
            ])),
            None
        );
        assert_eq!(
            fails(RuleKind::InOrder(vec![p("select"), p("select")])),
            None
        );
        assert!(
            fails(RuleKind::InOrder(vec![p("read_binary"), p("verify")]))
                .unwrap()
                .ends_with("no command matching `verify` came after the ones before it")
        );
        assert!(
            fails(RuleKind::InOrder(vec![p("select"), p("get_data")]))
                .unwrap()
                .ends_with("no command matching `get_data` was sent")
        );
        assert!(
            fails(RuleKind::InOrder(vec![
                p("select"),
                p("select"),
                p("select")
            ]))
            .is_some()
        );
    }

    #[test]
    fn never_after_an_answer() {
        let never = |answer: &str, command: Option<&str>, then: &str| {
            fails(RuleKind::NeverAfter {
                answer: SwPattern::parse(answer).unwrap(),
                command: command.map(p),
                then: p(then),
            })
        };
        let f = never("63C1", None, "verify").unwrap();
        assert!(
            f.ends_with(
                "the card answered 63 C1 at #3 >> 00 20 00 80 04 ** ** ** ** << 63 C1, and then \
                 the program sent #4 >> 00 20 00 80 04 ** ** ** ** << 63 C0"
            ),
            "{f}"
        );
        assert_eq!(
            never("63C0", None, "verify"),
            None,
            "nothing after the last"
        );
        assert_eq!(never("6984", None, "verify"), None, "never answered");
        assert_eq!(never("9000", Some("verify"), "read_binary"), None);
        assert!(never("9000", Some("select"), "read_binary").is_some());
        assert!(never("63C?", None, "read_binary").is_some());
        assert_eq!(never("63C1", None, "select"), None);
    }

    #[test]
    fn only_after_a_success() {
        let only = |command: &str, after: &str| {
            fails(RuleKind::OnlyAfter {
                command: p(command),
                after: p(after),
            })
        };
        assert_eq!(only("verify", "00 A4 02 0C 02 0018"), None);
        let f = only("read_binary", "verify").unwrap();
        assert!(
            f.ends_with(
                "#5 >> 00 B0 00 00 04 << 69 82 was sent before any command matching `verify` \
                 was answered 90 00"
            ),
            "{f}"
        );
        assert!(only("select", "verify").is_some());
        assert_eq!(
            only("get_data", "verify"),
            None,
            "never sent: nothing to wait for"
        );
    }

    #[test]
    fn exit_statuses() {
        assert!(exit(ExitExpect::Code(0), Ended::Exited(0)).is_empty());
        assert!(exit(ExitExpect::NonZero, Ended::Exited(1)).is_empty());
        assert_eq!(
            exit(ExitExpect::Code(0), Ended::Exited(1)),
            ["exit: expected status 0, got status 1"]
        );
        assert_eq!(
            exit(ExitExpect::NonZero, Ended::Exited(0)),
            ["exit: expected a non-zero status, got status 0"]
        );
        assert_eq!(
            exit(ExitExpect::NonZero, Ended::Signal(9)),
            ["exit: expected a non-zero status, got killed by signal 9"]
        );
        assert_eq!(
            exit(ExitExpect::Code(0), Ended::TimedOut),
            ["exit: expected status 0, got a time-out (the program was killed)"]
        );
        assert!(!exit(ExitExpect::Code(2), Ended::Exited(3)).is_empty());
    }

    #[test]
    fn output_checks() {
        let r = |kind| OutputRule { line: 3, kind };
        let text = "{\"tries\": {\"auth\": 2}}\nok";
        let json = "{\"tries\": {\"auth\": 2}}";
        assert!(output("stdout", &[r(OutputKind::Contains("ok".into()))], text).is_empty());
        assert_eq!(
            output("stdout", &[r(OutputKind::Contains("KO".into()))], text),
            ["stdout (line 3): expected it to contain \"KO\"; it does not"]
        );
        assert!(output("stdout", &[r(OutputKind::Lacks("KO".into()))], text).is_empty());
        assert_eq!(
            output("stderr", &[r(OutputKind::Lacks("ok".into()))], text),
            ["stderr (line 3): expected no \"ok\"; it is there"]
        );
        let re = regex::Regex::new(r"auth.: \d").unwrap();
        assert!(output("stdout", &[r(OutputKind::Matches(re))], text).is_empty());
        let re = regex::Regex::new(r"^ok$x").unwrap();
        assert_eq!(
            output("stdout", &[r(OutputKind::Matches(re))], text).len(),
            1
        );
        let j = |pointer: &str, equals| {
            output(
                "stdout",
                &[r(OutputKind::Json {
                    pointer: pointer.into(),
                    equals,
                })],
                json,
            )
        };
        assert!(j("/tries/auth", serde_json::json!(2)).is_empty());
        assert_eq!(
            j("/tries/auth", serde_json::json!(3)),
            ["stdout (line 3): \"/tries/auth\": expected 3, got 2"]
        );
        assert_eq!(
            j("/tries/sign", serde_json::json!(3)),
            ["stdout (line 3): \"/tries/sign\": no such value"]
        );
        let bad = output(
            "stdout",
            &[r(OutputKind::Json {
                pointer: String::new(),
                equals: serde_json::json!(1),
            })],
            text,
        );
        assert!(
            bad[0].starts_with("stdout (line 3): expected JSON; "),
            "{bad:?}"
        );
    }

    #[test]
    fn card_state_afterwards() {
        let got = CardAfter {
            tries_left: vec![("jpki/0018".into(), 0), ("jpki/001B".into(), 5)],
            signatures: vec![("jpki/0017".into(), 1)],
            verified: vec!["jpki/001B".into()],
            resets: 0,
        };
        let ok = AfterExpect {
            tries_left: vec![("jpki/0018".into(), 0)],
            signatures: vec![("jpki/0017".into(), 1), ("jpki/001A".into(), 0)],
            verified: Some(vec!["jpki/001B".into()]),
            reset: Some(false),
        };
        assert!(after(&ok, &got).is_empty());
        let wrong = AfterExpect {
            tries_left: vec![("jpki/0018".into(), 1), ("jpki/9999".into(), 1)],
            signatures: vec![("jpki/001A".into(), 1)],
            verified: Some(Vec::new()),
            reset: Some(true),
        };
        assert_eq!(
            after(&wrong, &got),
            [
                "after: tries left on jpki/0018: expected 1, got 0",
                "after: jpki/9999: the card has no such PIN or password",
                "after: signatures with jpki/001A: expected 1, got 0",
                "after: verified keys: expected none, got jpki/001B",
                "after: expected the card to be reset during the run; it was not (0 resets)",
            ]
        );
        let reset = CardAfter {
            resets: 2,
            ..got.clone()
        };
        assert_eq!(
            after(
                &AfterExpect {
                    reset: Some(false),
                    ..AfterExpect::default()
                },
                &reset
            ),
            ["after: expected the card not to be reset during the run; it was (2 resets)"]
        );
        assert!(after(&AfterExpect::default(), &reset).is_empty());
    }
}
