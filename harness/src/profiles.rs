//! Finding a profile by path or by name.
//!
//! `--profile` takes a path (anything with a `/` or a `.yaml`/`.yml` ending), or a name:
//! `NAME` is `scenarios/profiles/NAME.yaml` under the current directory when that exists,
//! and `default` is also built into the binary, so `mynasim card show` works anywhere.

use std::path::{Path, PathBuf};

use mynasim_simulator::profile::{self, Personalisation, Profile, ProfileError};

/// The bundled default profile.
pub const DEFAULT_PROFILE: &str = include_str!("../../scenarios/profiles/default.yaml");

/// Where a profile came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileSource {
    /// A file given by path.
    File(PathBuf),
    /// A file found by name under `scenarios/profiles/`.
    Named(String, PathBuf),
    /// The profile built into the binary.
    BuiltinDefault,
}

impl ProfileSource {
    /// Resolves `--profile`.
    pub fn resolve(arg: &str) -> Self {
        let looks_like_path = arg.contains('/')
            || arg.contains(std::path::MAIN_SEPARATOR)
            || arg.ends_with(".yaml")
            || arg.ends_with(".yml");
        if looks_like_path {
            return Self::File(PathBuf::from(arg));
        }
        let named = Path::new("scenarios/profiles").join(format!("{arg}.yaml"));
        if arg == "default" && !named.is_file() {
            return Self::BuiltinDefault;
        }
        Self::Named(arg.to_owned(), named)
    }

    /// The name used in messages.
    pub fn origin(&self) -> String {
        match self {
            Self::File(path) | Self::Named(_, path) => path.display().to_string(),
            Self::BuiltinDefault => "<built-in default profile>".to_owned(),
        }
    }

    /// Loads and checks the profile.
    pub fn load(&self) -> Result<Personalisation, ProfileError> {
        match self {
            Self::File(path) => profile::load(path),
            Self::Named(name, path) if !path.is_file() => Err(ProfileError {
                origin: name.clone(),
                line: 0,
                column: 0,
                path: String::new(),
                message: format!(
                    "no profile named `{name}` ({} does not exist); give a path to a YAML file \
                     or a name under scenarios/profiles/",
                    path.display()
                ),
            }),
            Self::Named(_, path) => profile::load(path),
            Self::BuiltinDefault => {
                let origin = self.origin();
                Profile::from_yaml(DEFAULT_PROFILE, &origin)?.personalise(&origin)
            }
        }
    }
}
