//! Loading: the file read bounded, parsed with errors that name the file, line, column
//! and key (never the text), the managed preferences laid over it, and the token of a
//! file that cannot be used registered for scrubbing.

use std::path::{Path, PathBuf};

use crate::secrets;
use crate::small_file::{self, SmallFileError};

use super::{managed, AppDirs, Config};

/// The largest config file read: a real one is a few KiB.
pub const MAX_CONFIG_BYTES: u64 = small_file::MAX_SETTINGS_BYTES;

/// Environment variable naming the config file.
pub const CONFIG_ENV: &str = "VORIPOS_DOMAIN_SYNC_CONFIG";

/// A configuration file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Missing (when named), not a regular file, too large, unreadable.
    #[error("cannot use the config file: {0}")]
    Read(#[source] SmallFileError),
    /// `message` names the line, column and key, never quotes the file.
    #[error("the config file {path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
    /// A managed value that fails the config's checks; `message` never quotes a token.
    #[error(
        "the setting {key} in the configuration profile {profile} ({by}) is not valid: {message}",
        by = managed::MANAGED_BY_YOUR_ORGANIZATION
    )]
    Managed {
        profile: PathBuf,
        key: String,
        message: String,
    },
    #[error("cannot read the configuration profile's settings {path} (managed by your organization): {message}")]
    ManagedUnreadable { path: PathBuf, message: String },
}

impl Config {
    /// Loads `path`; a missing file is an error only when it was named explicitly. Only
    /// a regular file of at most [`MAX_CONFIG_BYTES`] is read (a FIFO or a device in its
    /// place is refused at once).
    pub fn load(path: &Path, explicit: bool) -> Result<Config, ConfigError> {
        Config::load_with(path, explicit, &[])
    }

    /// [`Config::load`] with the managed preferences of the plists `managed` (in lookup
    /// order, see [`managed::candidates`]) laid over the file: a managed value wins.
    pub fn load_with(
        path: &Path,
        explicit: bool,
        managed: &[PathBuf],
    ) -> Result<Config, ConfigError> {
        let text = Config::read_text(path, explicit)?;
        let config = Config::parse(&text, path)?;
        let profiles = managed::read(managed)?;
        match profiles.is_empty() {
            true => Ok(config),
            false => managed::apply(&text, path, &profiles),
        }
    }

    /// The file's text; empty when it is missing and was not named explicitly.
    fn read_text(path: &Path, explicit: bool) -> Result<String, ConfigError> {
        match small_file::read_text(path, MAX_CONFIG_BYTES) {
            Ok(text) => Ok(text),
            Err(e) if e.not_found() && !explicit => Ok(String::new()),
            Err(e) => Err(ConfigError::Read(e)),
        }
    }

    /// Parses TOML text; errors name the file, the line, the column and the key.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        serde_path_to_error::deserialize(toml::Deserializer::new(text)).map_err(|e| {
            register_token(text);
            ConfigError::Invalid {
                path: path.to_path_buf(),
                message: describe_error(text, &e),
            }
        })
    }
}

/// Formats an error as "line N, column M, key a.b: message", without quoting the text
/// and without any registered secret.
fn describe_error(text: &str, err: &serde_path_to_error::Error<toml::de::Error>) -> String {
    let inner = err.inner();
    let mut place = Vec::new();
    if let Some(span) = inner.span() {
        let start = span.start.min(text.len());
        let before = text.get(..start).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        place.push(format!("line {line}, column {column}"));
    }
    let key = err.path().to_string();
    if key != "." {
        place.push(format!("key {key}"));
    }
    let message = inner.message().trim();
    let described = match place.is_empty() {
        true => message.to_string(),
        false => format!("{}: {message}", place.join(", ")),
    };
    secrets::scrub(&described).into_owned()
}

/// Registers `[litefs] cloud_token` of a file that is valid TOML but not a valid
/// configuration, so that the value is scrubbed even though it was never used.
fn register_token(text: &str) {
    let table: Result<toml::Table, _> = text.parse();
    if let Some(token) = table.ok().as_ref().and_then(|t| {
        t.get("litefs")?
            .get("cloud_token")?
            .as_str()
            .map(String::from)
    }) {
        secrets::register(&token);
    }
}

/// The config file to use and whether it was named explicitly: `--config` (`flag`), then
/// `VORIPOS_DOMAIN_SYNC_CONFIG` (`from_env`), then `config.toml` in the config folder.
pub fn config_path(
    flag: Option<&Path>,
    from_env: Option<&Path>,
    dirs: &AppDirs,
) -> (PathBuf, bool) {
    match flag.or(from_env) {
        Some(p) => (p.to_path_buf(), true),
        None => (dirs.config.join("config.toml"), false),
    }
}
