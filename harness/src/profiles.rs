//! The one rule for finding a profile, shared by scenarios (`card.profile`), `mynasim card`,
//! `mynasim serve` and its configuration files.
//!
//! A profile is named by a **path** — anything with a `/`, or ending in `.yaml`/`.yml` — taken
//! relative to the folder it is named from (the scenario's folder, the configuration file's
//! folder, or the current folder on the command line); or by a **name**: `NAME` is the first
//! of `profiles/NAME.yaml` and `scenarios/profiles/NAME.yaml` found in that folder or any
//! folder above it, then in the current folder. `default` is also built into the binary, so
//! `mynasim card show` works anywhere.

use std::path::{Path, PathBuf};

use mynasim_simulator::profile::{IssuedCard, Personalisation, Profile, ProfileError, files};

/// The bundled default profile.
pub const DEFAULT_PROFILE: &str = include_str!("../../scenarios/profiles/default.yaml");

/// How the built-in default profile is named in messages.
pub const BUILTIN_ORIGIN: &str = "<built-in default profile>";

/// Where a profile comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileSource {
    /// A file.
    File(PathBuf),
    /// The profile built into the binary.
    BuiltinDefault,
}

/// A profile's text and where it came from.
#[derive(Debug, Clone)]
pub struct ProfileText {
    /// The YAML.
    pub text: String,
    /// The file (or [`BUILTIN_ORIGIN`]), for messages.
    pub origin: String,
    /// The folder its own relative paths (`card.photo`) start from.
    pub dir: PathBuf,
}

impl ProfileSource {
    /// Finds the profile `arg` names from `dir` (see the [module docs](self)).
    ///
    /// # Errors
    /// A name that is found nowhere; the message says where it looked.
    pub fn find(arg: &str, dir: &Path) -> Result<Self, ProfileError> {
        let looks_like_path = arg.contains('/')
            || arg.contains(std::path::MAIN_SEPARATOR)
            || arg.ends_with(".yaml")
            || arg.ends_with(".yml");
        if looks_like_path {
            return Ok(Self::File(dir.join(arg)));
        }
        let file = format!("{arg}.yaml");
        // The folders as given first (so messages keep relative paths), then the same and
        // the current folder made absolute, so the answer does not depend on how the path
        // was spelled.
        let absolute = |p: &Path| std::fs::canonicalize(p).ok();
        let dir_abs = absolute(dir);
        let cwd_abs = absolute(Path::new("."));
        let roots = dir
            .ancestors()
            .chain(Path::new(".").ancestors())
            .chain(dir_abs.iter().flat_map(|d| d.ancestors()))
            .chain(cwd_abs.iter().flat_map(|d| d.ancestors()));
        for root in roots {
            for candidate in [
                root.join("profiles").join(&file),
                root.join("scenarios").join("profiles").join(&file),
            ] {
                if candidate.is_file() {
                    return Ok(Self::File(candidate));
                }
            }
        }
        if arg == "default" {
            return Ok(Self::BuiltinDefault);
        }
        Err(ProfileError::nowhere(
            arg,
            "",
            format!(
                "no profile named `{arg}`: looked for profiles/{file} and \
                 scenarios/profiles/{file} in {} and the folders above it; give a path to a \
                 YAML file or a name found there",
                if dir.as_os_str().is_empty() || dir == Path::new(".") {
                    "the current folder".to_owned()
                } else {
                    dir.display().to_string()
                }
            ),
        ))
    }

    /// The name used in messages.
    pub fn origin(&self) -> String {
        match self {
            Self::File(path) => path.display().to_string(),
            Self::BuiltinDefault => BUILTIN_ORIGIN.to_owned(),
        }
    }

    /// Reads the profile's text.
    ///
    /// # Errors
    /// The file cannot be read.
    pub fn read(&self) -> Result<ProfileText, ProfileError> {
        match self {
            Self::File(path) => {
                let origin = path.display().to_string();
                let text = files::read_text(path, files::MAX_TEXT_FILE).map_err(|e| {
                    ProfileError::nowhere(&origin, "", format!("cannot read the profile: {e}"))
                })?;
                Ok(ProfileText {
                    text,
                    origin,
                    dir: path
                        .parent()
                        .map_or_else(|| PathBuf::from("."), Path::to_owned),
                })
            }
            Self::BuiltinDefault => Ok(ProfileText {
                text: DEFAULT_PROFILE.to_owned(),
                origin: BUILTIN_ORIGIN.to_owned(),
                dir: PathBuf::from("."),
            }),
        }
    }

    /// Loads and checks the profile.
    ///
    /// # Errors
    /// Unreadable, malformed or inconsistent profile (with file, line and key).
    pub fn personalise(&self) -> Result<Personalisation, ProfileError> {
        let ProfileText { text, origin, dir } = self.read()?;
        let mut profile = Profile::from_yaml(&text, &origin)?;
        profile.resolve_files(&dir, &origin)?;
        profile.personalise(&origin)
    }

    /// Loads, checks and issues the card.
    ///
    /// # Errors
    /// As [`Self::personalise`], or the card cannot be issued (the test key pool).
    pub fn issue(&self) -> Result<IssuedCard, ProfileError> {
        let origin = self.origin();
        self.personalise()?
            .issue()
            .map_err(|e| ProfileError::nowhere(&origin, "", format!("cannot issue the card: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn names_resolve_from_the_folder_and_the_folders_above() {
        let pin = repo().join("scenarios/pin");
        assert_eq!(
            ProfileSource::find("minor", &pin).ok(),
            None,
            "no profile of that name"
        );
        let found = ProfileSource::find("corrupt-my-number-check-digit", &pin)
            .unwrap_or(ProfileSource::BuiltinDefault);
        assert_eq!(
            found,
            ProfileSource::File(
                repo().join("scenarios/profiles/corrupt-my-number-check-digit.yaml")
            )
        );
        // From the repository root, through scenarios/profiles/.
        assert!(matches!(
            ProfileSource::find("default", &repo()),
            Ok(ProfileSource::File(p)) if p.ends_with("scenarios/profiles/default.yaml")
        ));
        // Paths are relative to the folder they are named from.
        assert_eq!(
            ProfileSource::find("cards/x.yaml", Path::new("/etc")).ok(),
            Some(ProfileSource::File(PathBuf::from("/etc/cards/x.yaml")))
        );
        assert_eq!(
            ProfileSource::find("/abs/x.yml", Path::new("/etc")).ok(),
            Some(ProfileSource::File(PathBuf::from("/abs/x.yml")))
        );
        let missing = ProfileSource::find("nope", &pin).unwrap_err().to_string();
        assert!(missing.contains("no profile named `nope`"), "{missing}");
        assert!(
            missing.contains("scenarios/profiles/nope.yaml"),
            "{missing}"
        );
    }

    #[test]
    fn the_built_in_default_issues_anywhere() {
        let card = ProfileSource::BuiltinDefault.issue();
        assert!(card.is_ok());
        assert_eq!(ProfileSource::BuiltinDefault.origin(), BUILTIN_ORIGIN);
    }
}
