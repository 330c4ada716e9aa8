//! Compiling a scenario: resolve its card ([`card`]: profile plus overrides), check every
//! value, and turn the steps ([`action`]) and their expectations ([`expect`]) into a
//! [`Plan`]. Every mistake is reported before anything runs, with the file, line, column
//! and key path (`steps[4].expect.sw`).

mod action;
pub mod card;
mod exec;
mod expect;
mod template;

use std::collections::HashSet;
use std::path::Path;

use mynasim_simulator::hex;
use mynasim_simulator::profile::{IssuedCard, ProfileError};
use serde_saphyr::Location;

pub use card::CardCache;

use super::load::Loaded;
use super::plan::{Body, Plan, PlanStep};

/// The scenario format version this build reads.
pub const SCENARIO_VERSION: u32 = 1;

/// A mistake inside a step: the key path below the step (`.expect.sw`) and the message.
type StepError = (String, String);

/// What compiling one step can see: the card (for `${card.…}`) and the captures of the
/// steps before it.
struct Scope<'a> {
    card: &'a IssuedCard,
    known: &'a HashSet<String>,
    secrets: &'a CardSecrets,
}

/// Secrets that stand in for the card's own in `${card.pin.NAME}`: the PINs of a card in a
/// reader, given by its holder (`mynasim certify --pin-env`). Never printed: `Debug` shows
/// only which names are set.
#[derive(Clone, Default)]
pub struct CardSecrets(std::collections::BTreeMap<String, String>);

impl CardSecrets {
    /// Sets `${card.pin.NAME}` (`auth`, `sign`, `text`, `resident`, `common`).
    pub fn set_pin(&mut self, name: &str, value: String) {
        self.0.insert(format!("pin.{name}"), value);
    }

    /// The value standing in for `${card.NAME}`, if given.
    pub(crate) fn get(&self, card_value: &str) -> Option<&str> {
        self.0.get(card_value).map(String::as_str)
    }

    /// Whether `${card.NAME}` is given.
    pub fn has(&self, card_value: &str) -> bool {
        self.0.contains_key(card_value)
    }

    /// Every value given (to look for them in what was written).
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.0.values().map(String::as_str)
    }
}

impl std::fmt::Debug for CardSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// Compiles a loaded scenario.
///
/// # Errors
/// The first mistake, with its position.
pub fn compile(loaded: &Loaded, cache: &CardCache) -> Result<Plan, ProfileError> {
    compile_with_secrets(loaded, cache, &CardSecrets::default())
}

/// [`compile`], with `secrets` standing in for the card's own `${card.pin.…}` values.
///
/// # Errors
/// The first mistake, with its position.
pub fn compile_with_secrets(
    loaded: &Loaded,
    cache: &CardCache,
    secrets: &CardSecrets,
) -> Result<Plan, ProfileError> {
    let origin = loaded.path.display().to_string();
    let s = &loaded.scenario.value;
    let at = |loc: &Location, path: &str, message: String| ProfileError {
        origin: origin.clone(),
        line: loc.line(),
        column: loc.column(),
        path: path.to_owned(),
        message,
    };
    if s.version.value != SCENARIO_VERSION {
        return Err(at(
            &s.version.referenced,
            "version",
            format!(
                "unsupported scenario version {} (this mynasim reads version {SCENARIO_VERSION})",
                s.version.value
            ),
        ));
    }
    let dir = loaded.path.parent().unwrap_or_else(|| Path::new("."));
    let body_at = s.exec.as_ref().map_or(s.name.referenced, |e| e.referenced);
    match (&s.exec, s.steps.is_empty(), s.setup.is_empty()) {
        (None, true, _) => {
            return Err(at(
                &s.name.referenced,
                "steps",
                "a scenario needs at least one step (or an `exec:` program)".into(),
            ));
        }
        (Some(_), false, _) => {
            return Err(at(
                &body_at,
                "exec",
                "a scenario has `steps` or `exec`, not both (steps before the program go \
                 under `setup`)"
                    .into(),
            ));
        }
        (None, false, false) => {
            return Err(at(
                &s.name.referenced,
                "setup",
                "`setup` prepares the card for an `exec:` program; with `steps`, put these \
                 steps first"
                    .into(),
            ));
        }
        _ => {}
    }
    let needs = check_safety(s, &at)?;
    let (mut card, profile_label) = card::resolve(&s.card, dir, &origin, cache)?;
    if !s.faults.is_empty() {
        let plan =
            mynasim_simulator::card::FaultPlan::compile(&s.faults, card.personalisation.seed)
                .map_err(|(path, message)| at(&s.name.referenced, &path, message))?;
        let mut own = (*card).clone();
        own.card.add_faults(plan);
        card = std::sync::Arc::new(own);
    }
    let replay = match &s.card.replay {
        None => None,
        Some(path) => {
            if s.exec.is_some() {
                return Err(at(
                    &path.referenced,
                    "card.replay",
                    "`card.replay` answers a steps scenario from a recording; for a program \
                     under test use `mynasim exec --replay TRACE`"
                        .into(),
                ));
            }
            let transcript = card::read_replay(&dir.join(&path.value))
                .map_err(|m| at(&path.referenced, "card.replay", m))?;
            Some(std::sync::Arc::new((
                transcript,
                match s.card.on_divergence {
                    crate::scenario::model::Divergence::Fail => {
                        mynasim_simulator::replay::OnDivergence::Fail
                    }
                    crate::scenario::model::Divergence::Simulate => {
                        mynasim_simulator::replay::OnDivergence::Simulate
                    }
                },
            )))
        }
    };
    let mut known: HashSet<String> = HashSet::new();
    let body = match &s.exec {
        None => Body::Steps(compile_steps(
            &s.steps, "steps", &card, secrets, &mut known, &at,
        )?),
        Some(spec) => {
            let setup = compile_steps(&s.setup, "setup", &card, secrets, &mut known, &at)?;
            let scope = Scope {
                card: &card,
                known: &known,
                secrets,
            };
            let plan = exec::compile(&spec.value, spec.referenced.line(), setup, &scope).map_err(
                |(line, sub, m)| {
                    let loc = line.unwrap_or(spec.referenced);
                    at(&loc, &format!("exec{sub}"), m)
                },
            )?;
            Body::Exec(Box::new(plan))
        }
    };
    Ok(Plan {
        path: loaded.path.clone(),
        index: loaded.index,
        in_list: loaded.in_list,
        name: s.name.value.clone(),
        description: s.description.clone(),
        tags: s.tags.clone(),
        reference: s.reference.clone(),
        portable: s.portable,
        needs,
        card,
        profile: profile_label,
        customised: s.card.set.is_some(),
        replay,
        body,
    })
}

/// A scenario's needs, with its declared `safety:` checked: required on a portable
/// scenario, never looser than what its steps send; a portable scenario refers to no card
/// value but the PINs (the holder's data of a card in a reader is not known).
fn check_safety(
    s: &super::model::Scenario,
    at: &dyn Fn(&Location, &str, String) -> ProfileError,
) -> Result<super::safety::Needs, ProfileError> {
    let mut needs = super::safety::needs(s);
    match &s.safety {
        Some(declared) if declared.value < needs.safety => {
            return Err(at(
                &declared.referenced,
                "safety",
                format!(
                    "`{}` is looser than what the steps send: they are `{}` (docs/certification.md \
                     says how steps are classed)",
                    declared.value, needs.safety
                ),
            ));
        }
        Some(declared) => needs.safety = declared.value,
        None if s.portable => {
            return Err(at(
                &s.name.referenced,
                "safety",
                format!(
                    "a portable scenario declares its safety class (its steps are `{}`): \
                     read-only, pin-query, uses-secret or destructive",
                    needs.safety
                ),
            ));
        }
        None => {}
    }
    if s.portable
        && let Some(other) = needs.card_values.iter().find(|v| !v.starts_with("pin."))
    {
        return Err(at(
            &s.name.referenced,
            "portable",
            format!(
                "a portable scenario runs on any card, whose `${{card.{other}}}` is not known: \
                 only `${{card.pin.…}}` values can be given for a card in a reader"
            ),
        ));
    }
    Ok(needs)
}

/// Compiles a list of steps (`steps`, or `setup` before a program); captures they make are
/// added to `known`.
fn compile_steps(
    list: &[serde_saphyr::Spanned<super::model::Step>],
    key: &str,
    card: &IssuedCard,
    secrets: &CardSecrets,
    known: &mut HashSet<String>,
    at: &dyn Fn(&Location, &str, String) -> ProfileError,
) -> Result<Vec<PlanStep>, ProfileError> {
    let mut steps = Vec::new();
    for (i, step) in list.iter().enumerate() {
        let path = format!("{key}[{i}]");
        let loc = step.referenced;
        let fail = |sub: &str, message: String| at(&loc, &format!("{path}{sub}"), message);
        let scope = Scope {
            card,
            known,
            secrets,
        };
        let (label, op) =
            action::compile(&step.value.action, &scope).map_err(|(sub, m)| fail(&sub, m))?;
        let expect = expect::compile(step.value.expect.as_ref(), &scope)
            .map_err(|(sub, m)| fail(&format!(".expect{sub}"), m))?;
        if let Some(name) = &step.value.capture {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(fail(
                    ".as",
                    format!("`{name}`: capture names are letters, digits and _"),
                ));
            }
            known.insert(name.clone());
        }
        steps.push(PlanStep {
            number: i + 1,
            line: loc.line(),
            label,
            op,
            expect,
            capture: step.value.capture.clone(),
            note: step.value.note.clone(),
        });
    }
    Ok(steps)
}

/// A 2-byte FID in hex.
fn fid(text: &str, sub: &str) -> Result<[u8; 2], StepError> {
    let bytes = hex::decode(text).map_err(|e| (sub.to_owned(), format!("`{text}`: {e}")))?;
    <[u8; 2]>::try_from(bytes.as_slice()).map_err(|_| {
        (
            sub.to_owned(),
            format!("`{text}` is not a 2-byte FID such as \"0018\""),
        )
    })
}

fn opt_fid(text: Option<&str>, sub: &str) -> Result<Option<[u8; 2]>, StepError> {
    text.map(|t| fid(t, sub)).transpose()
}

fn bytes(text: &str, sub: &str) -> Result<Vec<u8>, StepError> {
    hex::decode(text).map_err(|e| (sub.to_owned(), format!("`{text}`: {e}")))
}

fn need_capture(name: &str, sub: &str, known: &HashSet<String>) -> Result<(), StepError> {
    if known.contains(name) {
        Ok(())
    } else {
        Err((
            sub.to_owned(),
            format!("`{name}` is not captured by an earlier step (`as: {name}`)"),
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use std::path::PathBuf;
    use std::sync::{Arc, OnceLock};

    use super::*;
    use crate::scenario::load::load_str;
    use crate::scenario::plan::{Expectations, Op, PlanStep, SwPattern};

    /// Where the unit-test scenarios pretend to live: under `scenarios/`, so that `default`
    /// and the bundled profiles resolve (the file itself need not exist).
    pub(super) fn file() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/unit/x.yaml")
    }

    /// `file()` followed by `rest` (`:4:5: steps[0].select: …`), as an error reads.
    pub(super) fn at(rest: &str) -> String {
        format!("{}{rest}", file().display())
    }

    /// One cache for every test that uses the default card: it is issued once.
    pub(super) fn cache() -> &'static CardCache {
        static CACHE: OnceLock<CardCache> = OnceLock::new();
        CACHE.get_or_init(CardCache::default)
    }

    /// Compiles the first scenario of `yaml` (loaded as `file()`).
    pub(super) fn compile_with(yaml: &str, cache: &CardCache) -> Result<Plan, ProfileError> {
        let loaded = load_str(yaml, &file()).unwrap();
        compile(&loaded[0], cache)
    }

    /// A scenario on the default card with these steps (`steps` starts on line 4).
    pub(super) fn scenario(steps: &str) -> String {
        format!("version: 1\nname: unit\nsteps:\n{steps}")
    }

    /// The compiled steps of a scenario with these steps.
    pub(super) fn steps(steps: &str) -> Vec<PlanStep> {
        let plan = compile_with(&scenario(steps), cache())
            .unwrap_or_else(|e| panic!("does not compile: {e}"));
        let Body::Steps(steps) = plan.body else {
            panic!("an exec body")
        };
        steps
    }

    /// The last compiled step of a scenario with these steps.
    pub(super) fn last(text: &str) -> PlanStep {
        steps(text).pop().unwrap()
    }

    /// The error of a whole scenario text.
    pub(super) fn error(yaml: &str) -> String {
        match compile_with(yaml, cache()) {
            Ok(_) => panic!("compiles:\n{yaml}"),
            Err(e) => e.to_string(),
        }
    }

    /// The error of a scenario with these steps.
    pub(super) fn step_error(text: &str) -> String {
        error(&scenario(text))
    }

    /// Expectations compared whole (they hold a regex, so through their Debug form).
    pub(super) fn assert_expectations(got: &Expectations, want: &Expectations) {
        assert_eq!(format!("{got:?}"), format!("{want:?}"));
    }

    /// The default card, issued once.
    pub(super) fn default_card() -> Arc<IssuedCard> {
        compile_with(&scenario("  - power: on\n"), cache())
            .unwrap()
            .card
    }

    /// Captures by name, for a [`Scope`].
    pub(super) fn known(names: &[&str]) -> HashSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    pub(super) fn sw_9000() -> SwPattern {
        SwPattern {
            value: 0x9000,
            mask: 0xFFFF,
            text: *b"9000",
        }
    }

    #[test]
    fn a_scenario_compiles_with_its_metadata_steps_and_card() {
        let yaml = "version: 1
name: unit metadata
description: what it shows
tags: [a, b]
reference: reference §2.4
portable: true
safety: read-only
steps:
  - select: jpki
    note: first
  - select_ef: \"0018\"
    as: ef_18
";
        let plan = compile_with(yaml, cache()).unwrap();
        assert_eq!(plan.path, file());
        assert_eq!(plan.index, 0);
        assert!(!plan.in_list);
        assert_eq!(plan.name, "unit metadata");
        assert_eq!(plan.description.as_deref(), Some("what it shows"));
        assert_eq!(plan.tags, ["a", "b"]);
        assert_eq!(plan.reference.as_deref(), Some("reference §2.4"));
        assert!(plan.portable);
        assert_eq!(
            plan.profile,
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../scenarios/profiles/default.yaml")
                .display()
                .to_string()
        );
        assert!(!plan.customised);
        assert_eq!(plan.card.personalisation.serial, "468994375268502");
        let Body::Steps(steps) = plan.body else {
            panic!("an exec body")
        };
        assert_eq!(steps.len(), 2);
        let (one, two) = (&steps[0], &steps[1]);
        assert_eq!((one.number, one.line), (1, 9));
        assert_eq!(one.label, "select jpki");
        assert_eq!(one.note.as_deref(), Some("first"));
        assert_eq!(one.capture, None);
        assert_expectations(&one.expect, &Expectations::sw(sw_9000()));
        assert_eq!((two.number, two.line), (2, 11));
        assert_eq!(two.label, "select EF 0018");
        assert_eq!(two.op, Op::SelectEf([0x00, 0x18]));
        assert_eq!(two.capture.as_deref(), Some("ef_18"));
        assert_eq!(two.note, None);
    }

    #[test]
    fn a_safety_class_is_declared_on_portable_scenarios_and_never_looser_than_the_steps() {
        let with = |head: &str, steps: &str| {
            compile_with(
                &format!("version: 1\nname: s\n{head}steps:\n{steps}"),
                cache(),
            )
        };
        let retries = "  - retries: { key: \"0018\" }\n";
        let e = with("portable: true\n", retries).unwrap_err();
        assert_eq!((e.line, e.path.as_str()), (2, "safety"));
        assert!(e.message.contains("`pin-query`"), "{}", e.message);
        let e = with("portable: true\nsafety: read-only\n", retries).unwrap_err();
        assert_eq!((e.line, e.path.as_str()), (4, "safety"));
        assert!(e.message.contains("looser"), "{}", e.message);
        let plan = with("portable: true\nsafety: uses-secret\n", retries).unwrap();
        assert_eq!(
            plan.needs.safety,
            crate::scenario::safety::Safety::UsesSecret
        );
        let plan = with("", "  - verify: { pin: \"${card.pin.auth}\" }\n").unwrap();
        assert_eq!(
            plan.needs.safety,
            crate::scenario::safety::Safety::UsesSecret
        );
        let e = with(
            "portable: true\nsafety: destructive\n",
            "  - verify: { pin: \"${card.code_a}\" }\n",
        )
        .unwrap_err();
        assert_eq!(e.path, "portable");
        assert!(e.message.contains("card.code_a"), "{}", e.message);
    }

    #[test]
    fn secrets_given_stand_in_for_the_cards_pins() {
        let loaded = load_str(
            "version: 1\nname: s\nsteps:\n  - verify: { key: \"0018\", pin: \"${card.pin.auth}\" }\n",
            &file(),
        )
        .unwrap();
        let mut secrets = CardSecrets::default();
        secrets.set_pin("auth", "9876".to_owned());
        let plan = compile_with_secrets(&loaded[0], cache(), &secrets).unwrap();
        let Body::Steps(steps) = plan.body else {
            panic!("an exec body")
        };
        let Op::Verify { pin, .. } = &steps[0].op else {
            panic!("not a verify")
        };
        assert_eq!(pin.render(&Default::default()), b"9876");
        assert!(!format!("{secrets:?}").contains("9876"));
    }

    #[test]
    fn a_minimal_scenario_has_no_metadata() {
        let plan = compile_with(&scenario("  - power: on\n"), cache()).unwrap();
        assert_eq!(plan.name, "unit");
        assert_eq!(plan.description, None);
        assert!(plan.tags.is_empty());
        assert_eq!(plan.reference, None);
        assert!(!plan.portable);
    }

    #[test]
    fn scenarios_of_a_list_keep_their_index() {
        let yaml = "- version: 1\n  name: one\n  steps: [ { power: on } ]\n\
                    - version: 1\n  name: two\n  steps: [ { power: off } ]\n";
        let loaded = load_str(yaml, &file()).unwrap();
        let plan = compile(&loaded[1], cache()).unwrap();
        assert_eq!((plan.index, plan.in_list), (1, true));
        assert_eq!(plan.name, "two");
        assert_eq!(plan.id(), format!("{}#2", file().display()));
    }

    #[test]
    fn steps_are_numbered_from_1_with_their_lines() {
        let got: Vec<(usize, u64)> = steps("  - power: off\n  - power: on\n\n  - power: reset\n")
            .iter()
            .map(|s| (s.number, s.line))
            .collect();
        assert_eq!(got, [(1, 4), (2, 5), (3, 7)]);
    }

    #[test]
    fn only_version_1_is_read() {
        for v in ["0", "2"] {
            assert_eq!(
                error(&format!(
                    "version: {v}\nname: unit\nsteps: [ {{ power: on }} ]\n"
                )),
                at(&format!(
                    ":1:10: version: unsupported scenario version {v} (this mynasim reads version 1)"
                ))
            );
        }
    }

    #[test]
    fn a_scenario_needs_a_step() {
        assert_eq!(
            error("version: 1\nname: unit\nsteps: []\n"),
            at(":2:7: steps: a scenario needs at least one step (or an `exec:` program)")
        );
    }

    #[test]
    fn fault_steps_and_scenario_faults_compile_or_name_their_key() {
        let step = last("  - fault: { on: verify, tear: {} }\n");
        assert_eq!(step.label, "fault on verify");
        assert!(matches!(step.op, Op::Fault(_)));
        assert_eq!(
            step_error("  - fault: { on: zz, tear: {} }\n"),
            at(
                ":4:5: steps[0].fault.on: `zz`: `z` is not a hex digit, `?`, `..` or an instruction name (verify, select, read_binary, compute_digital_signature, …)"
            )
        );
        assert!(step_error("  - fault: { status: 6F }\n").contains("steps[0].fault.status: `6F`"));
        let plan = compile_with(
            "version: 1\nname: unit\nfaults: [{ status: 6F00 }]\nsteps:\n  - select: jpki\n",
            cache(),
        )
        .unwrap();
        let mut card = plan.card.card.clone();
        card.power_on();
        assert_eq!(
            card.transmit(&[0x00, 0xA4, 0x04, 0x0C, 0x01, 0xD3]),
            [0x6F, 0x00]
        );
        assert_eq!(
            error("version: 1\nname: unit\nfaults: [{ status: 6F }]\nsteps:\n  - power: on\n"),
            at(":2:7: faults[0].status: `6F`: a status word in hex, e.g. 6F00")
        );
        // The cached card is not changed by a scenario's faults.
        let plain = compile_with(&scenario("  - power: on\n"), cache()).unwrap();
        let mut card = plain.card.card.clone();
        card.power_on();
        assert_ne!(
            card.transmit(&[0x00, 0xA4, 0x04, 0x0C, 0x01, 0xD3]),
            [0x6F, 0x00]
        );
    }

    #[test]
    fn capture_names_are_letters_digits_and_underscores() {
        let step = last("  - power: on\n    as: Ab_9\n");
        assert_eq!(step.capture.as_deref(), Some("Ab_9"));
        assert_eq!(
            last("  - power: on\n    as: _\n").capture.as_deref(),
            Some("_")
        );
        assert_eq!(
            last("  - power: on\n    as: x1\n").capture.as_deref(),
            Some("x1")
        );
        for bad in ["\"\"", "a-b", "\"a b\"", "é", "\"-\"", "a.b"] {
            let shown = bad.trim_matches('"');
            assert_eq!(
                step_error(&format!("  - power: on\n  - power: on\n    as: {bad}\n")),
                at(&format!(
                    ":5:5: steps[1].as: `{shown}`: capture names are letters, digits and _"
                ))
            );
        }
    }

    #[test]
    fn a_capture_is_known_to_the_steps_after_it_only() {
        let steps = steps("  - get_challenge: 8\n    as: c\n  - apdu: \"${c}\"\n");
        assert_eq!(steps.len(), 2);
        assert_eq!(
            step_error("  - get_challenge: 8\n    expect: { same_as: c }\n    as: c\n"),
            at(":4:5: steps[0].expect.same_as: `c` is not captured by an earlier step (`as: c`)")
        );
    }

    #[test]
    fn step_errors_name_the_step_and_the_key() {
        assert_eq!(
            step_error("  - power: on\n  - power: on\n  - select_ef: \"0\"\n"),
            at(":6:5: steps[2].select_ef: `0`: odd number of hex digits (1)")
        );
        assert_eq!(
            step_error("  - power: on\n    expect: { sw: \"9\" }\n"),
            at(":4:5: steps[0].expect.sw: `9` is not 4 hex digits (with `?` for any nibble)")
        );
    }

    #[test]
    fn fids_are_two_bytes_of_hex() {
        assert_eq!(fid("0018", ".k"), Ok([0x00, 0x18]));
        assert_eq!(fid("D0 1f", ".k"), Ok([0xD0, 0x1F]));
        assert_eq!(
            fid("001", ".k"),
            Err((".k".into(), "`001`: odd number of hex digits (3)".into()))
        );
        assert_eq!(
            fid("00g8", ".k"),
            Err((
                ".k".into(),
                "`00g8`: `g` at column 3 is not a hex digit".into()
            ))
        );
        for wrong in ["", "18", "001800"] {
            assert_eq!(
                fid(wrong, ".k"),
                Err((
                    ".k".into(),
                    format!("`{wrong}` is not a 2-byte FID such as \"0018\"")
                ))
            );
        }
        assert_eq!(opt_fid(None, ".k"), Ok(None));
        assert_eq!(opt_fid(Some("A001"), ".k"), Ok(Some([0xA0, 0x01])));
        assert_eq!(
            opt_fid(Some("18"), ".k"),
            Err((
                ".k".into(),
                "`18` is not a 2-byte FID such as \"0018\"".into()
            ))
        );
    }

    #[test]
    fn bytes_are_hex_with_spaces_allowed() {
        assert_eq!(bytes("", ".d"), Ok(vec![]));
        assert_eq!(bytes("00", ".d"), Ok(vec![0]));
        assert_eq!(bytes("01 02 ff", ".d"), Ok(vec![1, 2, 0xFF]));
        assert_eq!(
            bytes("0x01", ".d"),
            Err((
                ".d".into(),
                "`0x01`: `x` at column 2 is not a hex digit".into()
            ))
        );
    }

    #[test]
    fn a_capture_is_needed_by_name() {
        let known: HashSet<String> = ["a".to_owned()].into();
        assert_eq!(need_capture("a", ".s", &known), Ok(()));
        assert_eq!(
            need_capture("b", ".s", &known),
            Err((
                ".s".into(),
                "`b` is not captured by an earlier step (`as: b`)".into()
            ))
        );
    }

    #[test]
    fn the_default_card_is_issued_once_per_cache() {
        let cache = CardCache::default();
        let one = compile_with(&scenario("  - power: on\n"), &cache).unwrap();
        let two = compile_with(&scenario("  - power: off\n"), &cache).unwrap();
        assert!(Arc::ptr_eq(&one.card, &two.card));
    }
}
