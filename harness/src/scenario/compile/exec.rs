//! Compiling an `exec:` body: the program's command line (with `${…}` references), its
//! environment and time limit, and every check — exit status, output, transcript rules, the
//! card afterwards — with its place in the file.

use std::time::Duration;

use serde_saphyr::Location;

use super::{Scope, template};
use crate::scenario::model::{ExecSpec, OutputCheck, Rule};
use crate::scenario::plan::{
    AfterExpect, CommandPattern, ExecPlan, ExitExpect, OutputKind, OutputRule, PlanStep, RuleKind,
    SwPattern, TranscriptRule,
};

/// A mistake: where (when more precise than `exec:` itself), the key path below `exec`, and
/// the message.
pub(super) type ExecError = (Option<Location>, String, String);

/// The default time limit.
pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The longest time limit (a day).
const MAX_TIMEOUT_SECS: f64 = 86_400.0;

/// Compiles `exec:` (written on `line`), after its `setup` steps.
pub(super) fn compile(
    spec: &ExecSpec,
    line: u64,
    setup: Vec<PlanStep>,
    scope: &Scope<'_>,
) -> Result<ExecPlan, ExecError> {
    let here = |sub: &str, m: String| (None, sub.to_owned(), m);
    if spec.run.is_empty() || spec.run.first().is_some_and(|p| p.trim().is_empty()) {
        return Err(here(
            ".run",
            "the program to run and its arguments, e.g. [pkcs15-tool, --list-pins]".into(),
        ));
    }
    let mut argv = Vec::new();
    for (i, arg) in spec.run.iter().enumerate() {
        let sub = format!(".run[{i}]");
        argv.push(template::text(arg, &sub, scope).map_err(|(s, m)| here(&s, m))?);
    }
    let mut env = Vec::new();
    for (key, value) in &spec.env {
        let sub = format!(".env.{key}");
        if key.is_empty() || key.contains(['=', '\0']) {
            return Err(here(
                &sub,
                format!("`{key}` is not an environment variable name"),
            ));
        }
        env.push((
            key.clone(),
            template::text(value, &sub, scope).map_err(|(s, m)| here(&s, m))?,
        ));
    }
    let timeout = match &spec.timeout {
        None => DEFAULT_TIMEOUT,
        Some(t) if t.value.is_finite() && t.value > 0.0 && t.value <= MAX_TIMEOUT_SECS => {
            Duration::from_secs_f64(t.value)
        }
        Some(t) => {
            return Err((
                Some(t.referenced),
                ".timeout".into(),
                format!(
                    "{}: seconds the program may run, more than 0 and at most {MAX_TIMEOUT_SECS}",
                    t.value
                ),
            ));
        }
    };
    let seconds = |v: &Option<serde_saphyr::Spanned<f64>>, key: &str| match v {
        None => Ok(None),
        Some(t) if t.value.is_finite() && t.value >= 0.0 && t.value <= MAX_TIMEOUT_SECS => {
            Ok(Some(Duration::from_secs_f64(t.value)))
        }
        Some(t) => Err((
            Some(t.referenced),
            format!(".{key}"),
            format!("{}: seconds from 0 to {MAX_TIMEOUT_SECS}", t.value),
        )),
    };
    let remove_after = seconds(&spec.remove_after, "remove_after")?;
    let reinsert_after = seconds(&spec.reinsert_after, "reinsert_after")?;
    if remove_after.is_none()
        && let Some(t) = &spec.reinsert_after
    {
        return Err((
            Some(t.referenced),
            ".reinsert_after".into(),
            "puts back a card `remove_after` pulled out: give `remove_after` too".into(),
        ));
    }
    let removal = remove_after.map(|at| (at, reinsert_after));
    let exit = match &spec.exit {
        None => ExitExpect::Code(0),
        Some(value) => exit(&value.value).ok_or_else(|| {
            (
                Some(value.referenced),
                ".exit".into(),
                format!("{}: an exit status (0–255) or `nonzero`", value.value),
            )
        })?,
    };
    let stdout = outputs(&spec.stdout, ".stdout")?;
    let stderr = outputs(&spec.stderr, ".stderr")?;
    let mut rules = Vec::new();
    for (i, rule) in spec.transcript.iter().enumerate() {
        let sub = format!(".transcript[{i}]");
        let (label, kind) = transcript_rule(&rule.value)
            .map_err(|(s, m)| (Some(rule.referenced), format!("{sub}{s}"), m))?;
        rules.push(TranscriptRule {
            line: rule.referenced.line(),
            label,
            note: rule.value.note.clone(),
            kind,
        });
    }
    let after = match &spec.after {
        None => AfterExpect::default(),
        Some(a) => {
            let mut tries_left = Vec::new();
            for (key, n) in &a.tries_left {
                tries_left.push((key_name(key, ".after.tries_left")?, *n));
            }
            let mut signatures = Vec::new();
            for (key, n) in &a.signatures {
                signatures.push((key_name(key, ".after.signatures")?, *n));
            }
            let verified = match &a.verified {
                None => None,
                Some(list) => {
                    let mut keys = list
                        .iter()
                        .map(|k| key_name(k, ".after.verified"))
                        .collect::<Result<Vec<_>, _>>()?;
                    keys.sort();
                    keys.dedup();
                    Some(keys)
                }
            };
            AfterExpect {
                tries_left,
                signatures,
                verified,
                reset: a.reset,
            }
        }
    };
    Ok(ExecPlan {
        line,
        setup,
        argv,
        shown: spec.run.clone(),
        env,
        timeout,
        removal,
        exit,
        stdout,
        stderr,
        rules,
        after,
        validation: spec.validation,
    })
}

/// `0`…`255` or `nonzero`.
fn exit(value: &serde_json::Value) -> Option<ExitExpect> {
    match value {
        serde_json::Value::String(s) if s == "nonzero" => Some(ExitExpect::NonZero),
        serde_json::Value::Number(n) => n
            .as_u64()
            .filter(|n| *n <= 255)
            .and_then(|n| i32::try_from(n).ok())
            .map(ExitExpect::Code),
        _ => None,
    }
}

/// A key named `APP/EF` (`jpki/0018`), the EF in upper-case hex.
fn key_name(text: &str, sub: &str) -> Result<String, ExecError> {
    let bad = || {
        (
            None,
            format!("{sub}.{text}"),
            format!(
                "`{text}`: a key is named APP/EF, e.g. jpki/0018 (apps: jpki, text, face, \
                 common, juki)"
            ),
        )
    };
    let (app, ef) = text.split_once('/').ok_or_else(bad)?;
    if mynasim_simulator::apps::AppId::from_name(app).is_none()
        || ef.len() != 4
        || !ef.chars().all(|c| c.is_ascii_hexdigit())
    {
        return Err(bad());
    }
    Ok(format!("{app}/{}", ef.to_ascii_uppercase()))
}

/// Output checks, one key each.
fn outputs(
    list: &[serde_saphyr::Spanned<OutputCheck>],
    key: &str,
) -> Result<Vec<OutputRule>, ExecError> {
    let mut out = Vec::new();
    for (i, check) in list.iter().enumerate() {
        let sub = format!("{key}[{i}]");
        let loc = check.referenced;
        let c = &check.value;
        let mut kinds = Vec::new();
        if let Some(t) = &c.contains {
            kinds.push(OutputKind::Contains(t.clone()));
        }
        if let Some(t) = &c.lacks {
            kinds.push(OutputKind::Lacks(t.clone()));
        }
        if let Some(t) = &c.matches {
            let re = regex::RegexBuilder::new(t)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| (Some(loc), format!("{sub}.matches"), format!("`{t}`: {e}")))?;
            kinds.push(OutputKind::Matches(re));
        }
        if let Some(j) = &c.json {
            if !j.pointer.is_empty() && !j.pointer.starts_with('/') {
                return Err((
                    Some(loc),
                    format!("{sub}.json.pointer"),
                    format!(
                        "`{}`: a JSON pointer starts with `/` (`/tries/auth`), or is empty for \
                         the whole document",
                        j.pointer
                    ),
                ));
            }
            kinds.push(OutputKind::Json {
                pointer: j.pointer.clone(),
                equals: j.equals.clone(),
            });
        }
        let mut kinds = kinds.into_iter();
        match (kinds.next(), kinds.next()) {
            (Some(kind), None) => out.push(OutputRule {
                line: loc.line(),
                kind,
            }),
            _ => {
                return Err((
                    Some(loc),
                    sub,
                    "each check has exactly one of contains, lacks, matches, json".into(),
                ));
            }
        }
    }
    Ok(out)
}

/// A rule's label and kind; errors carry the key path below the rule.
fn transcript_rule(rule: &Rule) -> Result<(String, RuleKind), (String, String)> {
    let pattern =
        |text: &str, sub: &str| CommandPattern::parse(text).map_err(|m| (sub.to_owned(), m));
    let mut found: Vec<(String, RuleKind)> = Vec::new();
    if let Some(p) = &rule.sends {
        found.push((format!("sends {p}"), RuleKind::Sends(pattern(p, ".sends")?)));
    }
    if let Some(p) = &rule.never_sends {
        found.push((
            format!("never_sends {p}"),
            RuleKind::NeverSends(pattern(p, ".never_sends")?),
        ));
    }
    if let Some(a) = &rule.at_most {
        found.push((
            format!("at_most {} × {}", a.times, a.command),
            RuleKind::AtMost(pattern(&a.command, ".at_most.command")?, a.times),
        ));
    }
    if let Some(list) = &rule.in_order {
        if list.is_empty() {
            return Err((".in_order".into(), "a list of command patterns".into()));
        }
        let patterns = list
            .iter()
            .enumerate()
            .map(|(i, p)| pattern(p, &format!(".in_order[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        found.push((
            format!("in_order {}", list.join(" → ")),
            RuleKind::InOrder(patterns),
        ));
    }
    if let Some(n) = &rule.never_after {
        let answer = SwPattern::parse(&n.answer).ok_or_else(|| {
            (
                ".never_after.answer".to_owned(),
                format!("`{}`: a status word pattern such as 63C1 or 63C?", n.answer),
            )
        })?;
        let command = n
            .command
            .as_deref()
            .map(|c| pattern(c, ".never_after.command"))
            .transpose()?;
        let after = n
            .command
            .as_deref()
            .map(|c| format!(" to {c}"))
            .unwrap_or_default();
        found.push((
            format!("never_after {}{after}: {}", n.answer, n.then),
            RuleKind::NeverAfter {
                answer,
                command,
                then: pattern(&n.then, ".never_after.then")?,
            },
        ));
    }
    if let Some(o) = &rule.only_after {
        found.push((
            format!("only_after {}: {}", o.after, o.command),
            RuleKind::OnlyAfter {
                command: pattern(&o.command, ".only_after.command")?,
                after: pattern(&o.after, ".only_after.after")?,
            },
        ));
    }
    let mut found = found.into_iter();
    match (found.next(), found.next()) {
        (Some(one), None) => Ok(one),
        _ => Err((
            String::new(),
            "each rule has exactly one of sends, never_sends, at_most, in_order, never_after, \
             only_after"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

    use super::super::tests::{cache, compile_with, error};
    use super::*;
    use crate::scenario::plan::Body;

    fn exec(body: &str) -> String {
        format!("version: 1\nname: unit\nexec:\n{body}")
    }

    fn plan(body: &str) -> ExecPlan {
        match compile_with(&exec(body), cache()).unwrap().body {
            Body::Exec(p) => *p,
            Body::Steps(_) => panic!("steps"),
        }
    }

    #[test]
    fn a_whole_exec_body_compiles() {
        let p = plan(
            "  run: [pkcs11-tool, --pin, \"${card.pin.auth}\"]
  env: { OPENSC_CONF: /dev/null }
  timeout: 2.5
  exit: nonzero
  stdout: [{ contains: ok }, { matches: \"^a\" }]
  stderr: [{ lacks: x }, { json: { pointer: /a, equals: 1 } }]
  transcript:
    - sends: verify
    - never_sends: 00 20 00 81 ..
    - at_most: { command: verify, times: 1 }
    - in_order: [select, verify]
    - never_after: { answer: 63C1, then: verify }
    - only_after: { command: read_binary, after: verify }
      note: why
  after:
    tries_left: { jpki/0018: 0 }
    signatures: { jpki/0017: 0 }
    verified: [jpki/001b, jpki/001B]
    reset: false
",
        );
        assert_eq!(p.shown, ["pkcs11-tool", "--pin", "${card.pin.auth}"]);
        assert_eq!(p.argv[2].render(&Default::default()), b"1234");
        assert_eq!(p.env.len(), 1);
        assert_eq!(p.timeout, Duration::from_millis(2500));
        assert_eq!(p.exit, ExitExpect::NonZero);
        assert_eq!((p.stdout.len(), p.stderr.len()), (2, 2));
        assert_eq!(p.stdout[0].line, 8);
        let labels: Vec<&str> = p.rules.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "sends verify",
                "never_sends 00 20 00 81 ..",
                "at_most 1 × verify",
                "in_order select → verify",
                "never_after 63C1: verify",
                "only_after verify: read_binary"
            ]
        );
        assert_eq!(p.rules[5].note.as_deref(), Some("why"));
        assert_eq!(p.rules[1].line, 12);
        assert_eq!(p.after.tries_left, [("jpki/0018".to_owned(), 0)]);
        assert_eq!(p.after.verified, Some(vec!["jpki/001B".to_owned()]));
        assert_eq!(p.after.reset, Some(false));
        assert!(p.setup.is_empty());
        let d = plan("  run: [true]\n  exit: 3\n");
        assert_eq!((d.exit, d.timeout), (ExitExpect::Code(3), DEFAULT_TIMEOUT));
        assert_eq!(d.removal, None);
        let r = plan("  run: [true]\n  remove_after: 0.5\n  reinsert_after: 2\n");
        assert_eq!(
            r.removal,
            Some((Duration::from_millis(500), Some(Duration::from_secs(2))))
        );
    }

    #[test]
    fn setup_steps_come_before_and_their_captures_reach_the_command_line() {
        let p = match compile_with(
            "version: 1\nname: unit\nsetup:\n  - select: jpki\n  - get_challenge: 8\n    as: c\nexec:\n  run: [echo, \"${c}\"]\n",
            cache(),
        )
        .unwrap()
        .body
        {
            Body::Exec(p) => p,
            Body::Steps(_) => panic!("steps"),
        };
        assert_eq!(p.setup.len(), 2);
        assert_eq!(p.line, 8);
    }

    #[test]
    fn mistakes_name_their_place() {
        let e = |body: &str| error(&exec(body));
        let f = super::super::tests::at;
        assert_eq!(
            e("  run: []\n"),
            f(
                ":4:3: exec.run: the program to run and its arguments, e.g. [pkcs15-tool, --list-pins]"
            )
        );
        assert!(e("  run: [x, \"${card.nothing}\"]\n").contains("exec.run[1]: "));
        assert!(e("  run: [x, \"${nocapture}\"]\n").contains("exec.run[1]: "));
        assert_eq!(
            e("  run: [x]\n  timeout: 0\n"),
            f(":5:12: exec.timeout: 0: seconds the program may run, more than 0 and at most 86400")
        );
        assert!(e("  run: [x]\n  timeout: .nan\n").contains("exec.timeout"));
        assert!(e("  run: [x]\n  timeout: 1e9\n").contains("exec.timeout"));
        assert_eq!(
            e("  run: [x]\n  exit: 256\n"),
            f(":5:9: exec.exit: 256: an exit status (0–255) or `nonzero`")
        );
        assert!(e("  run: [x]\n  exit: zero\n").contains("exec.exit"));
        assert!(e("  run: [x]\n  remove_after: -1\n").contains("exec.remove_after: -1: seconds"));
        assert!(
            e("  run: [x]\n  reinsert_after: 1\n")
                .contains("exec.reinsert_after: puts back a card `remove_after` pulled out")
        );
        assert!(e("  run: [x]\n  exit: -1\n").contains("exec.exit"));
        assert!(e("  run: [x]\n  env: { \"A=B\": x }\n").contains("exec.env.A=B"));
        assert_eq!(
            e("  run: [x]\n  stdout: [{ contains: a, lacks: b }]\n"),
            f(
                ":5:12: exec.stdout[0]: each check has exactly one of contains, lacks, matches, json"
            )
        );
        assert!(e("  run: [x]\n  stdout: [{}]\n").contains("exec.stdout[0]: each check"));
        assert!(
            e("  run: [x]\n  stderr: [{ matches: \"(\" }]\n")
                .contains("exec.stderr[0].matches: `(`")
        );
        assert!(
            e("  run: [x]\n  stdout: [{ json: { pointer: a, equals: 1 } }]\n")
                .contains("exec.stdout[0].json.pointer")
        );
        assert_eq!(
            e("  run: [x]\n  transcript:\n    - sends: verify\n    - sends: zz\n"),
            f(
                ":7:7: exec.transcript[1].sends: `zz`: `z` is not a hex digit, `?`, `..` or an instruction name (verify, select, read_binary, compute_digital_signature, …)"
            )
        );
        assert!(
            e("  run: [x]\n  transcript: [{ sends: verify, never_sends: verify }]\n")
                .contains("exec.transcript[0]: each rule has exactly one")
        );
        assert!(e("  run: [x]\n  transcript: [{ note: n }]\n").contains("exactly one"));
        assert!(e("  run: [x]\n  transcript: [{ in_order: [] }]\n").contains(".in_order: a list"));
        assert!(
            e("  run: [x]\n  transcript: [{ never_after: { answer: 63C, then: verify } }]\n")
                .contains(".never_after.answer: `63C`")
        );
        assert!(
            e("  run: [x]\n  transcript: [{ never_after: { answer: 63C1, command: q, then: verify } }]\n")
                .contains(".never_after.command")
        );
        assert!(
            e("  run: [x]\n  transcript: [{ only_after: { command: verify, after: 0 } }]\n")
                .contains(".only_after.after")
        );
        assert!(
            e("  run: [x]\n  transcript: [{ at_most: { command: \"\", times: 1 } }]\n")
                .contains(".at_most.command")
        );
        assert!(
            e("  run: [x]\n  transcript: [{ in_order: [verify, \"1\"] }]\n")
                .contains(".in_order[1]")
        );
        for bad in ["jpki", "jpki/18", "nope/0018", "jpki/00G8"] {
            assert!(
                e(&format!(
                    "  run: [x]\n  after: {{ tries_left: {{ {bad}: 1 }} }}\n"
                ))
                .contains(&format!(
                    "exec.after.tries_left.{bad}: `{bad}`: a key is named APP/EF"
                )),
                "{bad}"
            );
        }
        assert!(
            e("  run: [x]\n  after: { signatures: { x: 1 } }\n").contains(".after.signatures.x")
        );
        assert!(e("  run: [x]\n  after: { verified: [x] }\n").contains(".after.verified.x"));
    }

    #[test]
    fn steps_and_exec_do_not_mix() {
        assert!(
            error("version: 1\nname: unit\nsteps:\n  - power: on\nexec:\n  run: [x]\n")
                .contains("exec: a scenario has `steps` or `exec`, not both")
        );
        assert!(
            error("version: 1\nname: unit\nsetup:\n  - power: on\nsteps:\n  - power: on\n")
                .contains("setup: `setup` prepares the card for an `exec:` program")
        );
        assert!(
            error("version: 1\nname: unit\n")
                .contains("steps: a scenario needs at least one step (or an `exec:` program)")
        );
    }
}
