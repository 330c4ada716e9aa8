//! A scenario's card: its profile, found by the [one lookup rule](crate::profiles), with the
//! scenario's `card.set` overrides merged over it, issued once per distinct combination and
//! shared by the scenarios that use it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use mynasim_simulator::profile::{self, IssuedCard, Profile, ProfileError, from_yaml_str};
use serde_saphyr::Spanned;

use crate::profiles::{ProfileSource, ProfileText};
use crate::scenario::model::CardSpec;

/// Issued cards, shared by scenarios with the same profile and overrides.
#[derive(Debug, Default)]
pub struct CardCache(Mutex<HashMap<String, Arc<IssuedCard>>>);

/// Resolves and issues the card of a scenario in `dir` (the file `origin`); returns it and
/// where its profile came from.
///
/// # Errors
/// No such profile, a broken profile (reported in its own file), or overrides that do not
/// fit (reported at `card.set`).
pub fn resolve(
    spec: &CardSpec,
    dir: &Path,
    origin: &str,
    cache: &CardCache,
) -> Result<(Arc<IssuedCard>, String), ProfileError> {
    let source = ProfileSource::find(&spec.profile.value, dir)
        .map_err(|e| ProfileError::at(origin, &spec.profile, "card.profile", e.message))?;
    let ProfileText {
        text: base_text,
        origin: base_origin,
        dir: base_dir,
    } = source
        .read()
        .map_err(|e| ProfileError::at(origin, &spec.profile, "card.profile", e.message))?;
    let set_json = spec
        .set
        .as_ref()
        .map(|s| s.value.to_string())
        .unwrap_or_default();
    let key = format!("{base_origin}\u{0}{set_json}");
    if let Some(hit) = cache.0.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok((hit, base_origin));
    }
    // The profile alone must be valid: its own mistakes point into its own file.
    let mut base = Profile::from_yaml(&base_text, &base_origin)?;
    base.resolve_files(&base_dir, &base_origin)?;
    let mut personalisation = base.personalise(&base_origin)?;
    if let Some(set) = &spec.set {
        personalisation = apply_overrides(&base_text, &base_origin, &base_dir, set, dir, origin)?;
    }
    let issued = personalisation
        .issue()
        .map_err(|e| ProfileError::at(origin, &spec.profile, "card", e.to_string()))?;
    let issued = Arc::new(issued);
    if let Ok(mut c) = cache.0.lock() {
        c.insert(key, issued.clone());
    }
    Ok((issued, base_origin))
}

/// Merges `card.set` over the profile and checks the result. Mistakes are reported at the
/// `set:` mapping with the key path (`card.set.pins.auth.tries_left`).
fn apply_overrides(
    base_text: &str,
    base_origin: &str,
    base_dir: &Path,
    set: &Spanned<serde_json::Value>,
    scenario_dir: &Path,
    origin: &str,
) -> Result<profile::Personalisation, ProfileError> {
    let here = |path: &str, message: String| ProfileError {
        origin: origin.to_owned(),
        line: set.referenced.line(),
        column: set.referenced.column(),
        path: if path.is_empty() {
            "card.set".to_owned()
        } else {
            format!("card.set.{path}")
        },
        message,
    };
    if !set.value.is_object() {
        return Err(here("", "must be a mapping of profile fields".to_owned()));
    }
    let mut merged: serde_json::Value = from_yaml_str(base_text, base_origin)?;
    merge(&mut merged, &set.value);
    let mut profile: Profile = serde_path_to_error::deserialize(&merged).map_err(|e| {
        let path = e.path().to_string();
        let path = path.strip_suffix(".value").unwrap_or(&path).to_owned();
        here(&path, e.into_inner().to_string())
    })?;
    let photo_overridden = set.value.get("card").and_then(|c| c.get("photo")).is_some();
    let files_dir = if photo_overridden {
        scenario_dir
    } else {
        base_dir
    };
    profile
        .resolve_files(files_dir, origin)
        .map_err(|e| here(&e.path, e.message))?;
    profile
        .personalise(origin)
        .map_err(|e| here(&e.path, e.message))
}

/// Deep merge: mappings merge key by key, everything else replaces.
fn merge(base: &mut serde_json::Value, patch: &serde_json::Value) {
    match (base, patch) {
        (serde_json::Value::Object(b), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                match b.get_mut(k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_merge_mappings_and_replace_the_rest() {
        let mut base = serde_json::json!({ "a": { "b": 1, "c": [1, 2] }, "d": "x" });
        merge(
            &mut base,
            &serde_json::json!({ "a": { "c": [3] , "e": true }, "d": null }),
        );
        assert_eq!(
            base,
            serde_json::json!({ "a": { "b": 1, "c": [3], "e": true }, "d": null })
        );
    }
}
