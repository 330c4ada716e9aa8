//! What `mynasim serve` serves: slots and their profiles, from `--profile`, `--slot N=…` and
//! `--config FILE`, resolved into a [`ServePlan`].

use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs as _};
use std::path::{Path, PathBuf};

use mynasim_simulator::profile::{ProfileError, files, from_yaml_str};
use mynasim_simulator::transport;
use serde::Deserialize;

use crate::profiles::ProfileSource;

/// The highest slot number: pcscd handles at most 16 readers.
pub const MAX_SLOT: u16 = 15;

/// The configuration file's format version.
pub const CONFIG_VERSION: u32 = 1;

/// `--config FILE`: several cards in one process.
///
/// ```yaml
/// version: 1
/// vpcd: 127.0.0.1:35963          # optional; --vpcd wins
/// control: /tmp/mynasim.sock     # optional; --control wins
/// slots:
///   - { slot: 0, profile: default }
///   - { slot: 1, profile: cards/minor.yaml, state: minor.state.json }  # relative to this file
/// ```
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// Format version (1).
    pub version: u32,
    /// vpcd address of slot 0.
    #[serde(default)]
    pub vpcd: Option<String>,
    /// Control socket path.
    #[serde(default)]
    pub control: Option<PathBuf>,
    /// The cards.
    pub slots: Vec<SlotConfig>,
}

/// One card of a [`ServeConfig`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotConfig {
    /// Slot number (0–15); the card connects to the vpcd port plus this.
    pub slot: u16,
    /// Profile: a YAML file (relative to the configuration file) or a name.
    pub profile: String,
    /// Keep the card's secrets and counters in this file (relative to the configuration
    /// file) across runs.
    #[serde(default)]
    pub state: Option<PathBuf>,
}

/// What the command line asked for.
#[derive(Debug, Clone, Default)]
pub struct ServeRequest {
    /// `--profile`: the card of slot 0.
    pub profile: Option<String>,
    /// `--slot N=FILE|NAME`.
    pub slots: Vec<(u16, String)>,
    /// `--config FILE`.
    pub config: Option<PathBuf>,
    /// `--vpcd HOST:PORT`.
    pub vpcd: Option<String>,
    /// `--control PATH`.
    pub control: Option<PathBuf>,
    /// `--state FILE`: the state of the one card served.
    pub state: Option<PathBuf>,
}

/// One card to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotPlan {
    /// Its profile.
    pub profile: ProfileSource,
    /// Where its state lives, if it survives the process.
    pub state: Option<PathBuf>,
}

/// What to serve.
#[derive(Debug)]
pub struct ServePlan {
    /// vpcd address of slot 0.
    pub vpcd: SocketAddr,
    /// Control socket.
    pub control: Option<PathBuf>,
    /// Slot number → card.
    pub slots: BTreeMap<u16, SlotPlan>,
}

/// Why the request cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file or a value is wrong (with the file, line and key when known).
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// An argument is wrong.
    #[error("{0}")]
    Argument(String),
}

/// Parses `N=FILE|NAME` of `--slot`.
///
/// # Errors
/// A message for clap when the value has no `=` or a bad slot number.
pub fn parse_slot(arg: &str) -> Result<(u16, String), String> {
    let (number, profile) = arg
        .split_once('=')
        .ok_or_else(|| format!("expected N=FILE|NAME, got `{arg}`"))?;
    let number: u16 = number
        .trim()
        .parse()
        .map_err(|_| format!("slot `{number}` is not a number"))?;
    if number > MAX_SLOT {
        return Err(format!("slot {number} is out of range (0–{MAX_SLOT})"));
    }
    if profile.is_empty() {
        return Err(format!("slot {number} has no profile"));
    }
    Ok((number, profile.to_owned()))
}

/// Resolves `HOST:PORT` (the first IPv4 address, else the first address).
///
/// # Errors
/// If it does not parse or resolve.
pub fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    let addrs: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|e| format!("--vpcd `{text}`: expected HOST:PORT ({e})"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| format!("--vpcd `{text}` resolves to no address"))
}

/// Reads a configuration file.
///
/// # Errors
/// Unreadable file, YAML or schema mistakes (with line and column), an unknown version.
pub fn load(path: &Path) -> Result<ServeConfig, ProfileError> {
    let origin = path.display().to_string();
    let text = files::read_text(path, files::MAX_TEXT_FILE)
        .map_err(|e| ProfileError::nowhere(&origin, "", format!("cannot read the file: {e}")))?;
    let config: ServeConfig = from_yaml_str(&text, &origin)?;
    if config.version != CONFIG_VERSION {
        return Err(ProfileError {
            origin,
            line: 0,
            column: 0,
            path: "version".to_owned(),
            message: format!(
                "unsupported serve configuration version {} (this mynasim reads version \
                 {CONFIG_VERSION})",
                config.version
            ),
        });
    }
    Ok(config)
}

impl ServePlan {
    /// Combines the command line and the configuration file. Profiles named in the file
    /// resolve from the file's folder, the others from the current folder.
    ///
    /// # Errors
    /// Invalid arguments or configuration.
    pub fn resolve(request: &ServeRequest) -> Result<Self, ConfigError> {
        let config = request.config.as_deref().map(load).transpose()?;
        let mut wanted: Vec<(u16, SlotPlan)> = Vec::new();
        if let (Some(config), Some(path)) = (&config, &request.config) {
            if config.slots.is_empty() {
                return Err(ConfigError::Profile(ProfileError {
                    origin: path.display().to_string(),
                    line: 0,
                    column: 0,
                    path: "slots".to_owned(),
                    message: "no card to serve".to_owned(),
                }));
            }
            let dir = path.parent().unwrap_or_else(|| Path::new("."));
            for slot in &config.slots {
                wanted.push((
                    slot.slot,
                    SlotPlan {
                        profile: ProfileSource::find(&slot.profile, dir)?,
                        state: slot.state.as_ref().map(|s| dir.join(s)),
                    },
                ));
            }
        }
        let here = |profile: &str| -> Result<SlotPlan, ProfileError> {
            Ok(SlotPlan {
                profile: ProfileSource::find(profile, Path::new("."))?,
                state: None,
            })
        };
        for (number, profile) in &request.slots {
            wanted.push((*number, here(profile)?));
        }
        if wanted.is_empty() {
            wanted.push((0, here(request.profile.as_deref().unwrap_or("default"))?));
        }
        if let Some(state) = &request.state {
            match wanted.as_mut_slice() {
                [(_, only)] => only.state = Some(state.clone()),
                _ => {
                    return Err(ConfigError::Argument(
                        "--state keeps the state of one card: with several slots, give each a \
                         `state:` in --config"
                            .to_owned(),
                    ));
                }
            }
        }
        let mut slots = BTreeMap::new();
        for (number, source) in wanted {
            if number > MAX_SLOT {
                return Err(ConfigError::Argument(format!(
                    "slot {number} is out of range (0–{MAX_SLOT})"
                )));
            }
            if slots.insert(number, source).is_some() {
                return Err(ConfigError::Argument(format!(
                    "slot {number} is given twice"
                )));
            }
        }
        let vpcd = match request
            .vpcd
            .as_deref()
            .or(config.as_ref().and_then(|c| c.vpcd.as_deref()))
        {
            Some(text) => parse_addr(text).map_err(ConfigError::Argument)?,
            None => transport::DEFAULT_ADDR,
        };
        let control = request.control.clone().or(config.and_then(|c| c.control));
        if let Some(last) = slots.keys().next_back()
            && transport::slot_addr(vpcd, *last).is_none()
        {
            return Err(ConfigError::Argument(format!(
                "slot {last} would need port {} + {last}, past 65535",
                vpcd.port()
            )));
        }
        Ok(Self {
            vpcd,
            control,
            slots,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_parse_and_are_bounded() {
        assert_eq!(parse_slot("1=a.yaml"), Ok((1, "a.yaml".to_owned())));
        assert!(
            parse_slot("16=a.yaml")
                .unwrap_err()
                .contains("out of range")
        );
        assert!(parse_slot("a.yaml").unwrap_err().contains("N=FILE"));
        assert!(parse_slot("x=a.yaml").unwrap_err().contains("not a number"));
        assert!(parse_slot("0=").unwrap_err().contains("no profile"));
    }

    #[test]
    fn vpcd_addresses_resolve() {
        assert_eq!(
            parse_addr("127.0.0.1:40000"),
            Ok("127.0.0.1:40000".parse().unwrap_or(transport::DEFAULT_ADDR))
        );
        assert!(parse_addr("localhost:35963").is_ok_and(|a| a.ip().is_loopback()));
        assert!(parse_addr("nonsense").is_err());
    }

    proptest::proptest! {
        /// `--slot` accepts exactly `N=FILE` with N a slot number and FILE not empty.
        #[test]
        fn any_slot_argument_parses_or_says_why(arg in "\\PC{0,20}|[0-9]{1,6}=\\PC{0,8}") {
            match parse_slot(&arg) {
                Ok((n, file)) => {
                    proptest::prop_assert!(n <= MAX_SLOT);
                    proptest::prop_assert!(!file.is_empty());
                    proptest::prop_assert_eq!(arg.split_once('=').map(|(_, f)| f), Some(file.as_str()));
                }
                Err(why) => proptest::prop_assert!(!why.is_empty()),
            }
        }
    }
}
