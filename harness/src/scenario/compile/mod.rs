//! Compiling a scenario: resolve its card ([`card`]: profile plus overrides), check every
//! value, and turn the steps ([`action`]) and their expectations ([`expect`]) into a
//! [`Plan`]. Every mistake is reported before anything runs, with the file, line, column
//! and key path (`steps[4].expect.sw`).

mod action;
pub mod card;
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
}

/// Compiles a loaded scenario.
///
/// # Errors
/// The first mistake, with its position.
pub fn compile(loaded: &Loaded, cache: &CardCache) -> Result<Plan, ProfileError> {
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
    if s.steps.is_empty() {
        return Err(at(
            &s.name.referenced,
            "steps",
            "a scenario needs at least one step".into(),
        ));
    }
    let dir = loaded.path.parent().unwrap_or_else(|| Path::new("."));
    let (card, profile_label) = card::resolve(&s.card, dir, &origin, cache)?;
    let mut known: HashSet<String> = HashSet::new();
    let mut steps = Vec::new();
    for (i, step) in s.steps.iter().enumerate() {
        let path = format!("steps[{i}]");
        let loc = step.referenced;
        let fail = |sub: &str, message: String| at(&loc, &format!("{path}{sub}"), message);
        let scope = Scope {
            card: &card,
            known: &known,
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
    Ok(Plan {
        path: loaded.path.clone(),
        index: loaded.index,
        in_list: loaded.in_list,
        name: s.name.value.clone(),
        description: s.description.clone(),
        tags: s.tags.clone(),
        reference: s.reference.clone(),
        portable: s.portable,
        card,
        profile: profile_label,
        customised: s.card.set.is_some(),
        body: Body::Steps(steps),
    })
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
