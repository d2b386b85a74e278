//! The configuration file (TOML) and its defaults.
//!
//! Every key has a default, so an empty or missing file is a valid configuration. The
//! file is found through `--config`, then `VORIPOS_DOMAIN_SYNC_CONFIG`, then the
//! platform's config folder. Paths may start with `~/`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::inspect::DEFAULT_TABLES;
use crate::publish::PublishMode;

/// Environment variable naming the config file.
pub const CONFIG_ENV: &str = "VORIPOS_DOMAIN_SYNC_CONFIG";

/// The whole configuration.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub litefs: LiteFs,
    pub publish: Publish,
    pub container: Container,
    pub status: Status,
    pub sync: Sync,
    pub telemetry: Telemetry,
    pub notifications: Notifications,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LiteFs {
    pub url: String,
    pub database: String,
    #[serde(skip_serializing)]
    pub cloud_token: Option<Secret>,
    pub cloud_endpoint: Option<String>,
}

impl Default for LiteFs {
    fn default() -> Self {
        LiteFs {
            url: "http://127.0.0.1:20202".into(),
            database: "Domain.sqlite3".into(),
            cloud_token: None,
            cloud_endpoint: None,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Publish {
    pub dir: PathBuf,
    pub mode: PublishMode,
    pub keep: usize,
    pub quick_check: bool,
    /// Tables whose row counts the status shows.
    pub tables: Vec<String>,
}

impl Default for Publish {
    fn default() -> Self {
        Publish {
            dir: PathBuf::from(
                "~/Library/Containers/com.vori.VoriPOS/Data/Library/Application Support/Domain",
            ),
            mode: PublishMode::Versioned,
            keep: 5,
            quick_check: true,
            tables: DEFAULT_TABLES.iter().map(|t| t.to_string()).collect(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Container {
    pub manage: bool,
    pub image: String,
    pub name: String,
    pub host_port: u16,
    pub privileged: bool,
}

impl Default for Container {
    fn default() -> Self {
        Container {
            manage: true,
            image: "us-docker.pkg.dev/vori-1bdf0/pos/domain-data:latest".into(),
            name: "voripos-domain-sync-litefs".into(),
            host_port: 20202,
            privileged: false,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Status {
    /// Empty means `<app data dir>/status.json`.
    pub file: Option<PathBuf>,
    #[serde(with = "humantime_serde")]
    pub stale_after: Duration,
}

impl Default for Status {
    fn default() -> Self {
        Status {
            file: None,
            stale_after: Duration::from_secs(30 * 60),
        }
    }
}

/// Tuning of the sync worker; the defaults suit the fleet.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Sync {
    /// Shortest time between the starts of two automatic syncs (bursts coalesce).
    #[serde(with = "humantime_serde")]
    pub min_interval: Duration,
    /// How often to check LiteFS while its event stream is down.
    #[serde(with = "humantime_serde")]
    pub safety_check: Duration,
    /// Give up on an export that sends nothing for this long.
    #[serde(with = "humantime_serde")]
    pub stall_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Longest wait between retries and reconnects.
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
    /// How long a snapshot whose checksum matches no event yet waits for that event.
    #[serde(with = "humantime_serde")]
    pub event_grace: Duration,
}

impl Default for Sync {
    fn default() -> Self {
        Sync {
            min_interval: Duration::from_secs(1),
            safety_check: Duration::from_secs(60),
            stall_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            max_backoff: Duration::from_secs(60),
            event_grace: Duration::from_secs(2),
        }
    }
}

/// Trace spans sent to the local OpenTelemetry collector (see `telemetry`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Telemetry {
    /// `false` sends no spans at all.
    pub enabled: bool,
    /// The collector's OTLP/HTTP base URL (`/v1/traces` is appended unless there); the standard
    /// `OTEL_EXPORTER_OTLP_*` variables override it, the POS app's user defaults and then
    /// `http://localhost:4318` stand in for it.
    pub otlp_endpoint: Option<String>,
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry {
            enabled: true,
            otlp_endpoint: None,
        }
    }
}

/// Desktop notifications of the menu-bar app (none when headless).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Notifications {
    /// `false` sends none.
    pub enabled: bool,
    /// How long the state must have been `error` or `stale` before one notification is
    /// sent (once per episode; another says when it recovers).
    #[serde(with = "humantime_serde")]
    pub after: Duration,
}

impl Default for Notifications {
    fn default() -> Self {
        Notifications {
            enabled: true,
            after: Duration::from_secs(5 * 60),
        }
    }
}

/// A secret (the LiteFS Cloud token): its `Debug` and `Display` never show it.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    /// The secret itself, for the one place that must hand it on (the container env).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A configuration file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("the config file {path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Config {
    /// Loads `path`; a missing file is an error only when it was named explicitly.
    pub fn load(path: &Path, explicit: bool) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => String::new(),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        Config::parse(&text, path)
    }

    /// Parses TOML text; errors name the file, the line and the key.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: describe_toml_error(text, &e),
        })?;
        config.validate().map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        if self.publish.keep < 2 {
            return Err(format!(
                "[publish] keep = {} — keep must be at least 2",
                self.publish.keep
            ));
        }
        if self.litefs.database.is_empty() || self.litefs.database.contains('/') {
            return Err(format!(
                "[litefs] database = {:?} — must be a plain file name",
                self.litefs.database
            ));
        }
        if !(self.litefs.url.starts_with("http://") || self.litefs.url.starts_with("https://")) {
            return Err(format!(
                "[litefs] url = {:?} — must start with http:// or https://",
                self.litefs.url
            ));
        }
        Ok(())
    }

    /// The publish folder with `~` expanded.
    pub fn publish_dir(&self) -> PathBuf {
        expand_home(&self.publish.dir)
    }

    /// The status file: configured, or `status.json` in the app's data folder.
    pub fn status_file(&self) -> PathBuf {
        match &self.status.file {
            Some(p) => expand_home(p),
            None => app_dirs().data.join("status.json"),
        }
    }
}

/// Formats a TOML error as "line N, column M (`the line`): message", so the key is named.
fn describe_toml_error(text: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim().to_string();
    match err.span() {
        Some(span) => {
            let start = span.start.min(text.len());
            let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
            let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
            let line = text[..start].matches('\n').count() + 1;
            let column = start - line_start + 1;
            let source = text[line_start..line_end].trim();
            // The line may hold the token: name its key only.
            let source = match source.split_once('=') {
                Some((key, _)) if key.contains("token") => format!("{}= [redacted]", key),
                _ => source.to_string(),
            };
            format!("line {line}, column {column} (`{source}`): {message}")
        }
        None => message,
    }
}

/// The app's own folders (config, data, logs).
pub struct AppDirs {
    pub config: PathBuf,
    pub data: PathBuf,
}

/// The platform folders: on macOS `~/Library/Application Support/com.vori.VoriPOS.DomainSync`,
/// elsewhere the XDG folders named `voripos-domain-sync`.
pub fn app_dirs() -> AppDirs {
    #[cfg(target_os = "macos")]
    let dirs = directories::ProjectDirs::from("com", "vori", "VoriPOS.DomainSync");
    #[cfg(not(target_os = "macos"))]
    let dirs = directories::ProjectDirs::from_path(PathBuf::from("voripos-domain-sync"));
    match dirs {
        Some(d) => AppDirs {
            config: d.config_dir().to_path_buf(),
            data: d.data_dir().to_path_buf(),
        },
        // No home folder at all (a bare service account): fall back to the working folder.
        None => AppDirs {
            config: PathBuf::from("."),
            data: PathBuf::from("."),
        },
    }
}

/// The config file to use and whether it was named explicitly.
pub fn config_path(flag: Option<&Path>) -> (PathBuf, bool) {
    if let Some(p) = flag {
        return (p.to_path_buf(), true);
    }
    match std::env::var_os(CONFIG_ENV) {
        Some(p) if !p.is_empty() => (PathBuf::from(p), true),
        _ => (app_dirs().config.join("config.toml"), false),
    }
}

/// Expands a leading `~/` to the home folder.
pub fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), directories::BaseDirs::new()) {
        (Ok(rest), Some(base)) => base.home_dir().join(rest),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_the_documented_defaults() {
        let c = Config::parse("", Path::new("c.toml")).unwrap();
        assert_eq!(c.litefs.url, "http://127.0.0.1:20202");
        assert_eq!(c.litefs.database, "Domain.sqlite3");
        assert_eq!(c.publish.mode, PublishMode::Versioned);
        assert_eq!(c.publish.keep, 5);
        assert!(c.publish.quick_check);
        assert!(c.container.manage);
        assert_eq!(c.container.host_port, 20202);
        assert_eq!(c.status.stale_after, Duration::from_secs(1800));
        assert_eq!(c.publish.tables.len(), 9);
    }

    #[test]
    fn keys_of_the_contract_parse() {
        let text = r#"
            [litefs]
            url = "http://127.0.0.1:3000"
            database = "Other.sqlite3"
            [publish]
            dir = "/tmp/x"
            mode = "single"
            keep = 3
            quick_check = false
            [container]
            manage = false
            [status]
            file = "/tmp/s.json"
            stale_after = "2h"
        "#;
        let c = Config::parse(text, Path::new("c.toml")).unwrap();
        assert_eq!(c.publish.mode, PublishMode::Single);
        assert_eq!(c.publish_dir(), PathBuf::from("/tmp/x"));
        assert_eq!(c.status_file(), PathBuf::from("/tmp/s.json"));
        assert_eq!(c.status.stale_after, Duration::from_secs(7200));
        assert!(!c.container.manage);
    }

    #[test]
    fn errors_name_the_file_line_and_key() {
        let text = "[publish]\nkeep = 5\nmode = \"sideways\"\n";
        let err = Config::parse(text, Path::new("/etc/vds.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/etc/vds.toml"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("sideways"), "{err}");
        let err = Config::parse("[publish]\nkepp = 5\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("kepp") && err.contains("line 2"), "{err}");
    }

    #[test]
    fn errors_on_the_token_line_do_not_show_the_token() {
        let err = Config::parse("[litefs]\ncloud_token = \"sekrit\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 2") && err.contains("cloud_token"),
            "{err}"
        );
        assert!(!err.contains("sekrit"), "{err}");
    }

    #[test]
    fn keep_below_two_is_refused() {
        let err = Config::parse("[publish]\nkeep = 1\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("at least 2"), "{err}");
    }

    #[test]
    fn the_token_is_never_serialized() {
        let c = Config::parse(
            "[litefs]\ncloud_token = \"sekrit-123\"\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(
            c.litefs.cloud_token.as_ref().map(Secret::expose),
            Some("sekrit-123")
        );
        assert!(!toml::to_string(&c).unwrap().contains("sekrit"));
        assert!(!format!("{c:?}").contains("sekrit"));
    }

    #[test]
    fn telemetry_is_on_by_default_and_can_be_turned_off() {
        let c = Config::parse("", Path::new("c.toml")).unwrap();
        assert!(c.telemetry.enabled);
        assert_eq!(c.telemetry.otlp_endpoint, None);
        let text = "[telemetry]\nenabled = false\notlp_endpoint = \"http://10.0.0.2:4318\"\n";
        let c = Config::parse(text, Path::new("c.toml")).unwrap();
        assert!(!c.telemetry.enabled);
        assert_eq!(
            c.telemetry.otlp_endpoint.as_deref(),
            Some("http://10.0.0.2:4318")
        );
        let err = Config::parse("[telemetry]\nendpoint = \"x\"\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("endpoint") && err.contains("line 2"), "{err}");
    }

    #[test]
    fn home_is_expanded() {
        let p = expand_home(Path::new("~/Library/x"));
        assert!(!p.starts_with("~"));
        assert!(p.ends_with("Library/x"));
    }
}
