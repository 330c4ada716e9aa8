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
    // An overridden photo is read from the scenario's folder: the folder is part of what
    // makes the card.
    let photo_dir = spec
        .set
        .as_ref()
        .and_then(|s| s.value.get("card")?.get("photo"))
        .map(|_| dir.display().to_string())
        .unwrap_or_default();
    let key = format!("{base_origin}\u{0}{set_json}\u{0}{photo_dir}");
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

/// The largest recording `card.replay` reads.
pub const MAX_REPLAY: u64 = 64 * 1024 * 1024;

/// Reads a recording for `card.replay`: JSON Lines (a record, an import) when its first
/// line is an object, else the `>>`/`<<` text form; errors name the file and line.
pub(super) fn read_replay(
    path: &Path,
) -> Result<mynasim_simulator::transcript::Transcript, String> {
    use std::io::Read as _;
    let name = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open {name}: {e}"))?;
    let mut text = String::new();
    file.take(MAX_REPLAY + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read {name}: {e}"))?;
    if u64::try_from(text.len()).unwrap_or(u64::MAX) > MAX_REPLAY {
        return Err(format!("{name} is over {MAX_REPLAY} bytes"));
    }
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let parsed = if first.trim_start().starts_with('{') {
        mynasim_simulator::transcript::jsonl::parse(&text).map_err(|e| format!("{name}: {e}"))
    } else {
        mynasim_simulator::transcript::Transcript::parse(&text).map_err(|e| format!("{name}: {e}"))
    }?;
    if parsed.exchanges().next().is_none() {
        return Err(format!("{name} records no exchange"));
    }
    Ok(parsed)
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

    use super::*;
    use crate::scenario::compile::tests::{at, cache, compile_with, error};

    /// A scenario on `card` (the YAML of its `card:` mapping, indented by 2) with one step;
    /// `card:` is on line 3.
    fn on_card(card: &str) -> String {
        format!("version: 1\nname: unit\ncard:\n{card}steps: [ {{ power: on }} ]\n")
    }

    fn repo(path: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
    }

    /// A folder of its own under the system's temporary folder, empty.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "mynasim-compile-card-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn overrides_are_merged_over_the_profile_field_by_field() {
        let plan = compile_with(
            &on_card(
                "  set:\n    pins: { auth: { tries_left: 1 }, text: { value: \"4321\" } }\n    card: { serial: \"123456789012345\" }\n",
            ),
            &CardCache::default(),
        )
        .unwrap();
        assert!(plan.customised);
        assert_eq!(
            plan.profile,
            repo("../scenarios/profiles/default.yaml")
                .display()
                .to_string()
        );
        let p = &plan.card.personalisation;
        assert_eq!(p.auth_pin.value, "1234");
        assert_eq!(
            (p.auth_pin.counter.left(), p.auth_pin.counter.max()),
            (1, 3)
        );
        assert_eq!(p.sign_pin.value, "ABC123");
        assert_eq!(p.sign_pin.counter.left(), 5);
        assert_eq!(p.text_pin.value, "4321");
        assert_eq!(p.serial, "123456789012345");
        assert_eq!(p.name, "試験　花子");
        assert_eq!(p.today.to_string(), "2026-11-25");
    }

    #[test]
    fn an_empty_set_still_customises() {
        let plan = compile_with(&on_card("  set: {}\n"), &CardCache::default()).unwrap();
        assert!(plan.customised);
        assert_eq!(plan.card.personalisation.auth_pin.counter.left(), 3);
    }

    #[test]
    fn set_must_be_a_mapping() {
        for set in ["3", "[ today ]", "text"] {
            assert_eq!(
                error(&on_card(&format!("  set: {set}\n"))),
                at(":4:8: card.set: must be a mapping of profile fields")
            );
        }
    }

    #[test]
    fn a_mistyped_override_is_reported_at_its_key_path() {
        assert_eq!(
            error(&on_card(
                "  set:\n    pins: { auth: { tries_left: many } }\n"
            )),
            at(":5:5: card.set.pins.auth.tries_left: invalid type: string \"many\", expected u8")
        );
        assert_eq!(
            error(&on_card("  set: { bogus: 1 }\n")),
            at(
                ":4:8: card.set.bogus: unknown field `bogus`, expected one of `version`, `seed`, `today`, `holder`, `my_number`, `card`, `certificates`, `pins`, `corruption`, `quirks`, `faults`, `timing`"
            )
        );
    }

    #[test]
    fn an_override_the_profile_rules_refuse_is_reported_at_card_set() {
        assert_eq!(
            error(&on_card("  set: { today: 2020-01-01 }\n")),
            at(
                ":4:8: card.set.today: 2020-01-01 is before the card's issue date 2024-06-03 (card.issued)"
            )
        );
    }

    #[test]
    fn an_overridden_photo_is_read_from_the_scenario_folder() {
        // A folder that exists, so that `..` can leave it.
        let scenario = repo("../scenarios/jpki/unit.yaml");
        let loaded = crate::scenario::load::load_str(
            &on_card("  set: { card: { photo: ../../simulator/assets/face-photo-test.jp2 } }\n"),
            &scenario,
        )
        .unwrap();
        let plan = crate::scenario::compile(&loaded[0], &CardCache::default()).unwrap();
        let photo = std::fs::read(repo("../simulator/assets/face-photo-test.jp2")).unwrap();
        assert!(plan.card.personalisation.photo.as_deref() == Some(photo.as_slice()));
        assert_eq!(
            error(&on_card("  set: { card: { photo: nope.jp2 } }\n")),
            at(&format!(
                ":4:8: card.set.card.photo: cannot read {}: No such file or directory (os error 2)",
                repo("../scenarios/unit/nope.jp2").display()
            ))
        );
    }

    #[test]
    fn a_profile_photo_is_read_from_the_profile_folder_also_under_overrides() {
        let dir = scratch("photo");
        std::fs::copy(
            repo("../simulator/assets/face-photo-test.jp2"),
            dir.join("face.jp2"),
        )
        .unwrap();
        let profile = dir.join("p.yaml");
        std::fs::write(
            &profile,
            "version: 1\nseed: 1\ntoday: 2026-11-25\nholder: { name: 試験, address: 東京, birth_date: 1985-04-12, sex: female }\ncard: { issued: 2024-06-03, photo: face.jp2 }\n",
        )
        .unwrap();
        let photo = std::fs::read(dir.join("face.jp2")).unwrap();
        for set in ["", "  set: { today: 2027-01-01 }\n"] {
            let plan = compile_with(
                &on_card(&format!("  profile: {}\n{set}", profile.display())),
                &CardCache::default(),
            )
            .unwrap();
            assert_eq!(plan.profile, profile.display().to_string());
            assert!(plan.card.personalisation.photo.as_deref() == Some(photo.as_slice()));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn profiles_are_found_by_name_under_scenarios_profiles() {
        let plan = compile_with(
            &on_card("  profile: corrupt-short-my-number\n"),
            &CardCache::default(),
        )
        .unwrap();
        assert_eq!(
            plan.profile,
            repo("../scenarios/profiles/corrupt-short-my-number.yaml")
                .display()
                .to_string()
        );
        assert!(!plan.customised);
    }

    #[test]
    fn an_unknown_profile_is_reported_at_card_profile() {
        assert_eq!(
            error(&on_card("  profile: nope\n")),
            at(&format!(
                ":4:12: card.profile: no profile named `nope`: looked for profiles/nope.yaml and scenarios/profiles/nope.yaml in {} and the folders above it; give a path to a YAML file or a name found there",
                repo("../scenarios/unit").display()
            ))
        );
        assert_eq!(
            error(&on_card("  profile: nope/p.yaml\n")),
            at(
                ":4:12: card.profile: cannot read the profile: No such file or directory (os error 2)"
            )
        );
    }

    #[test]
    fn a_broken_profile_is_reported_in_its_own_file() {
        let dir = scratch("broken");
        let profile = dir.join("p.yaml");
        std::fs::write(&profile, "version: 1\nseed: one\n").unwrap();
        let e = compile_with(
            &on_card(&format!("  profile: {}\n", profile.display())),
            &CardCache::default(),
        )
        .unwrap_err();
        assert_eq!(e.origin, profile.display().to_string());
        assert_eq!((e.line, e.path.as_str()), (2, "seed"));
        std::fs::write(
            &profile,
            "version: 1\nseed: 1\ntoday: 2020-01-01\nholder: { name: 試験, address: 東京, birth_date: 1985-04-12, sex: female }\ncard: { issued: 2024-06-03 }\n",
        )
        .unwrap();
        for set in ["", "  set: { seed: 2 }\n"] {
            let e = compile_with(
                &on_card(&format!("  profile: {}\n{set}", profile.display())),
                &CardCache::default(),
            )
            .unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "{}:3:8: today: 2020-01-01 is before the card's issue date 2024-06-03 (card.issued)",
                    profile.display()
                )
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn one_card_is_issued_per_profile_and_overrides() {
        let own = CardCache::default();
        let card = |card: &str| compile_with(&on_card(card), &own).unwrap().card;
        let plain = card("  profile: default\n");
        let auth_1 = card("  set: { pins: { auth: { tries_left: 1 } } }\n");
        assert!(Arc::ptr_eq(&plain, &card("  profile: default\n")));
        assert!(Arc::ptr_eq(
            &auth_1,
            &card("  set:\n    pins:\n      auth: { tries_left: 1 }\n")
        ));
        assert!(!Arc::ptr_eq(&plain, &auth_1));
        assert!(!Arc::ptr_eq(
            &auth_1,
            &card("  set: { pins: { auth: { tries_left: 2 } } }\n")
        ));
        assert!(!Arc::ptr_eq(&plain, &card("  set: {}\n")));
        assert!(!Arc::ptr_eq(
            &plain,
            &card("  profile: corrupt-short-my-number\n")
        ));
        // Another cache issues its own.
        assert!(!Arc::ptr_eq(
            &plain,
            &compile_with(&on_card("  profile: default\n"), cache())
                .unwrap()
                .card
        ));
    }

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

    /// Regression: the cache key once left out the scenario's folder, so two scenarios in
    /// different folders overriding `card.photo` shared the first one's photo.
    #[test]
    fn an_overridden_photo_is_read_for_each_scenario_folder() {
        let (one, two) = (scratch("photo-one"), scratch("photo-two"));
        let mut photo = std::fs::read(repo("../simulator/assets/face-photo-test.jp2")).unwrap();
        std::fs::write(one.join("face.jp2"), &photo).unwrap();
        photo.push(0);
        std::fs::write(two.join("face.jp2"), &photo).unwrap();
        let own = CardCache::default();
        let text = on_card("  set: { card: { photo: face.jp2 } }\n");
        let compile_in = |dir: &Path| {
            let loaded = crate::scenario::load::load_str(&text, &dir.join("s.yaml")).unwrap();
            crate::scenario::compile(&loaded[0], &own)
        };
        let first = compile_in(&one).unwrap();
        let second = compile_in(&two).unwrap();
        assert_eq!(first.profile, second.profile);
        assert!(
            second.card.personalisation.photo.as_deref() == Some(photo.as_slice()),
            "the second folder's scenario has the first folder's photo"
        );
        let none = scratch("photo-none");
        assert!(compile_in(&none).is_err());
        for dir in [one, two, none] {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
