//! The configuration file (TOML) and its defaults.
//!
//! Every key has a default, so an empty or missing file is a valid configuration. The
//! file is found through `--config`, then `VORIPOS_DOMAIN_SYNC_CONFIG`, then the
//! platform's config folder. Paths may start with `~/`.
//!
//! Every value is checked as it is read (see [`check`]), so a value that could crash or
//! mislead the app is refused with the file, line, column and key; errors never quote
//! the file's text, which may hold the token.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::secrets;
use crate::small_file::{self, SmallFileError};

/// The largest config file read: a real one is a few KiB.
pub const MAX_CONFIG_BYTES: u64 = small_file::MAX_SETTINGS_BYTES;

pub mod check;
pub mod managed;
pub mod token;
pub mod user_defaults;

/// Environment variable naming the config file.
pub const CONFIG_ENV: &str = "VORIPOS_DOMAIN_SYNC_CONFIG";

/// The tables whose row counts the fleet's old scripts reported.
pub const DEFAULT_TABLES: [&str; 9] = [
    "departments",
    "tax_rates",
    "products",
    "product_barcodes",
    "promotions",
    "offers",
    "offer_benefits",
    "offer_conditions",
    "product_ranges",
];

/// The layout of the publish folder.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PublishMode {
    /// `<unix-seconds>-<db>` files, the newest `keep` kept.
    #[default]
    Versioned,
    /// One file named `<db>`, replaced atomically.
    Single,
}

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
    pub source: Source,
    pub cloud: Cloud,
    /// What a configuration profile manages (see [`managed`]); never read from the file.
    #[serde(skip)]
    pub managed: managed::ManagedInfo,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LiteFs {
    #[serde(deserialize_with = "check::url")]
    pub url: String,
    #[serde(deserialize_with = "check::file_name")]
    pub database: String,
    #[serde(skip_serializing)]
    pub cloud_token: Option<Secret>,
    #[serde(deserialize_with = "check::optional_url")]
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
    /// Unset: the folder the POS on this Mac reads (see [`Config::publish_folder`]).
    #[serde(deserialize_with = "check::optional_path")]
    pub dir: Option<PathBuf>,
    pub mode: PublishMode,
    #[serde(deserialize_with = "check::keep")]
    pub keep: usize,
    pub quick_check: bool,
    /// Tables whose row counts the status shows.
    #[serde(deserialize_with = "check::tables")]
    pub tables: Vec<String>,
}

impl Default for Publish {
    fn default() -> Self {
        Publish {
            dir: None,
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
    #[serde(deserialize_with = "check::not_empty")]
    pub image: String,
    #[serde(deserialize_with = "check::container_name")]
    pub name: String,
    #[serde(deserialize_with = "check::port")]
    pub host_port: u16,
    pub privileged: bool,
}

impl Default for Container {
    fn default() -> Self {
        Container {
            manage: true,
            image: crate::docker::spec::DEFAULT_IMAGE.into(),
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
    #[serde(deserialize_with = "check::optional_path")]
    pub file: Option<PathBuf>,
    #[serde(
        serialize_with = "humantime_serde::serialize",
        deserialize_with = "check::long_period"
    )]
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
    #[serde(
        serialize_with = "humantime_serde::serialize",
        deserialize_with = "check::sync_delay"
    )]
    pub min_interval: Duration,
    /// How often to check LiteFS while its event stream is down.
    #[serde(
        serialize_with = "humantime_serde::serialize",
        deserialize_with = "check::sync_period"
    )]
    pub safety_check: Duration,
    /// Give up on an export that sends nothing for this long.
    #[serde(
        serialize_with = "humantime_serde::serialize",
        deserialize_with = "check::sync_period"
    )]
    pub stall_timeout: Duration,
    #[serde(
        serialize_with = "humantime_serde::serialize",
        deserialize_with = "check::sync_period"
    )]
    pub connect_timeout: Duration,
    /// Longest wait between retries and reconnects.
    #[serde(
        serialize_with = "humantime_serde::serialize",
        deserialize_with = "check::sync_period"
    )]
    pub max_backoff: Duration,
    /// How long a snapshot whose checksum matches no event yet waits for that event.
    #[serde(
        serialize_with = "humantime_serde::serialize",
        deserialize_with = "check::sync_delay"
    )]
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

/// Trace spans and heartbeat metrics sent to the local OpenTelemetry collector (see
/// `telemetry`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Telemetry {
    /// `false` sends no spans and no metrics at all.
    pub enabled: bool,
    /// The collector's OTLP/HTTP base URL (`/v1/traces` and `/v1/metrics` are appended); the
    /// standard `OTEL_EXPORTER_OTLP_*` variables override it, `http://localhost:4318` (the
    /// local collector) stands in for it. The POS app's provisioned OTLP keys are never used.
    #[serde(deserialize_with = "check::optional_url")]
    pub otlp_endpoint: Option<String>,
    /// How often the heartbeat's metrics are exported.
    #[serde(
        serialize_with = "humantime_serde::serialize",
        deserialize_with = "check::sync_period"
    )]
    pub metrics_interval: Duration,
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry {
            enabled: true,
            otlp_endpoint: None,
            metrics_interval: Duration::from_secs(60),
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
    #[serde(
        serialize_with = "humantime_serde::serialize",
        deserialize_with = "check::long_delay"
    )]
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

/// Where the data comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A LiteFS node: the managed container, or `[litefs] url`.
    #[default]
    Litefs,
    /// The LiteFS Cloud backup API at `[cloud] url`, spoken directly: no Docker, no LiteFS.
    Cloud,
}

impl SourceKind {
    /// Its name in the config file and the status JSON: `litefs` or `cloud`.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Litefs => "litefs",
            SourceKind::Cloud => "cloud",
        }
    }

    /// What people call it: "LiteFS" or "LiteFS Cloud".
    pub fn label(self) -> &'static str {
        match self {
            SourceKind::Litefs => "LiteFS",
            SourceKind::Cloud => "LiteFS Cloud",
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Source {
    pub kind: SourceKind,
}

/// The LiteFS Cloud backup service, for `[source] kind = "cloud"`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Cloud {
    /// The service's base URL; when unset, `[litefs] cloud_endpoint` (what the container
    /// was given) is used.
    #[serde(deserialize_with = "check::optional_url")]
    pub url: Option<String>,
    /// Sent as `?cluster=` on every request, as LiteFS does.
    #[serde(deserialize_with = "check::optional_not_empty")]
    pub cluster: Option<String>,
    /// How often `GET /pos` is asked (jittered).
    #[serde(
        serialize_with = "humantime_serde::serialize",
        deserialize_with = "check::poll_interval"
    )]
    pub poll_interval: Duration,
}

impl Default for Cloud {
    fn default() -> Self {
        Cloud {
            url: None,
            cluster: None,
            poll_interval: Duration::from_secs(10),
        }
    }
}

impl Config {
    /// The backup service's URL in cloud mode: `[cloud] url`, else `[litefs] cloud_endpoint`.
    pub fn cloud_url(&self) -> Option<&str> {
        self.cloud
            .url
            .as_deref()
            .or(self.litefs.cloud_endpoint.as_deref())
    }
}

/// A secret (the LiteFS Cloud token): its `Debug` and `Display` never show it, and its
/// value is registered with [`secrets`] so that no message the app emits shows it either.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(from = "String")]
pub struct Secret(String);

impl Secret {
    /// Wraps `value` and registers it for scrubbing.
    pub fn new(value: String) -> Self {
        secrets::register(&value);
        Secret(value)
    }

    /// The secret itself, for the one place that must hand it on (the container env).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
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

    /// The publish folder with `~` expanded (see [`Config::publish_folder`]).
    pub fn publish_dir(&self, dirs: &AppDirs) -> PathBuf {
        self.publish_folder(dirs).path
    }

    /// The publish folder and why: `publish.dir` when set, otherwise the folder the POS
    /// on this Mac reads, which depends on whether the VoriPOS app's sandbox container
    /// exists (see [`choose_folder`]).
    pub fn publish_folder(&self, dirs: &AppDirs) -> PublishFolder {
        let home = dirs.home.as_deref();
        let container = home.map(|h| h.join(POS_CONTAINER));
        let exists = container.as_deref().is_some_and(Path::is_dir);
        let explicit = self.publish.dir.as_deref().map(|dir| {
            let source = self
                .managed
                .source_of("publish.dir")
                .unwrap_or_else(|| "set in the config file".into());
            (dir, source)
        });
        choose_folder(explicit, home, exists)
    }

    /// The status file: configured, or `status.json` in the app's data folder.
    pub fn status_file(&self, dirs: &AppDirs) -> PathBuf {
        match &self.status.file {
            Some(p) => expand_home(p, dirs.home.as_deref()),
            None => dirs.data.join("status.json"),
        }
    }
}

/// The VoriPOS app's sandbox container, under the home folder.
pub const POS_CONTAINER: &str = "Library/Containers/com.vori.VoriPOS";
/// Where the sandboxed POS app reads its domain data (the fleet's first layout).
pub const SANDBOXED_DIR: &str =
    "~/Library/Containers/com.vori.VoriPOS/Data/Library/Application Support/Domain";
/// Where the POS app reads once it is no longer sandboxed (the fleet's later layout).
pub const UNSANDBOXED_DIR: &str = "~/Library/Application Support/VoriPOS/Domain";

/// The publish folder and, in words, why it is that one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishFolder {
    pub path: PathBuf,
    pub reason: String,
}

/// The publish folder: `explicit` (a `publish.dir` and where it was set) always wins;
/// otherwise the sandboxed POS's folder when its container exists (`container_exists`),
/// else the unsandboxed POS's folder.
pub fn choose_folder(
    explicit: Option<(&Path, String)>,
    home: Option<&Path>,
    container_exists: bool,
) -> PublishFolder {
    if let Some((dir, source)) = explicit {
        return PublishFolder {
            path: expand_home(dir, home),
            reason: format!("publish.dir, {source}"),
        };
    }
    let (dir, reason) = match container_exists {
        true => (
            SANDBOXED_DIR,
            format!(
                "the VoriPOS app's sandbox container (~/{POS_CONTAINER}) exists: the sandboxed \
                 POS app reads this folder"
            ),
        ),
        false => (
            UNSANDBOXED_DIR,
            format!(
                "there is no VoriPOS sandbox container (~/{POS_CONTAINER}): the POS app, no \
                 longer sandboxed, reads this folder"
            ),
        ),
    };
    PublishFolder {
        path: expand_home(Path::new(dir), home),
        reason,
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

/// The folders paths are resolved against: the user's home (for a leading `~`) and the
/// app's own config and data folders (see `host::environment` for where they come from).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppDirs {
    /// `None` when there is no home folder (a bare service account).
    pub home: Option<PathBuf>,
    pub config: PathBuf,
    pub data: PathBuf,
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

/// The status file a config file names in `[status] file`, read leniently: the file may
/// be invalid elsewhere (a typo in another key), as long as it is TOML and that key is a
/// path. The CLI uses it to find an instance that kept this status file when a typo was
/// made while it ran.
pub fn named_status_file(path: &Path, home: Option<&Path>) -> Option<PathBuf> {
    let text = small_file::read_text(path, MAX_CONFIG_BYTES).ok()?;
    let table: toml::Table = text.parse().ok()?;
    let file = table.get("status")?.get("file")?.as_str()?;
    (!file.is_empty()).then(|| expand_home(Path::new(file), home))
}

/// Expands a leading `~/` to `home`.
pub fn expand_home(path: &Path, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix("~"), home) {
        (Ok(rest), Some(home)) => home.join(rest),
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
        assert_eq!(c.publish_dir(&dirs()), PathBuf::from("/tmp/x"));
        assert_eq!(c.status_file(&dirs()), PathBuf::from("/tmp/s.json"));
        assert_eq!(c.status.stale_after, Duration::from_secs(7200));
        assert!(!c.container.manage);
    }

    #[test]
    fn the_cloud_source_keys_parse_and_are_checked() {
        let c = Config::parse("", Path::new("c.toml")).unwrap();
        assert_eq!(c.source.kind, SourceKind::Litefs);
        assert_eq!(c.cloud.poll_interval, Duration::from_secs(10));
        assert_eq!(c.cloud_url(), None);
        let text = r#"
            [litefs]
            cloud_endpoint = "http://127.0.0.1:9"
            [source]
            kind = "cloud"
            [cloud]
            cluster = "store-7"
            poll_interval = "250ms"
        "#;
        let c = Config::parse(text, Path::new("c.toml")).unwrap();
        assert_eq!(c.source.kind, SourceKind::Cloud);
        assert_eq!(c.cloud.cluster.as_deref(), Some("store-7"));
        assert_eq!(c.cloud.poll_interval, Duration::from_millis(250));
        assert_eq!(
            c.cloud_url(),
            Some("http://127.0.0.1:9"),
            "falls back on the endpoint"
        );
        let c = Config::parse(
            "[litefs]\ncloud_endpoint = \"http://a:1\"\n[cloud]\nurl = \"https://b\"\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(c.cloud_url(), Some("https://b"));
        for bad in [
            "[cloud]\npoll_interval = \"10ms\"\n",
            "[cloud]\npoll_interval = \"2h\"\n",
            "[cloud]\nurl = \"ftp://x\"\n",
            "[cloud]\ncluster = \"\"\n",
            "[source]\nkind = \"docker\"\n",
        ] {
            let err = Config::parse(bad, Path::new("c.toml")).unwrap_err();
            assert!(err.to_string().contains("line "), "{bad}: {err}");
        }
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
        assert!(err.contains("line 2, column"), "{err}");
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
        assert_eq!(c.telemetry.metrics_interval, Duration::from_secs(60));
        let c = Config::parse(
            "[telemetry]\nmetrics_interval = \"250ms\"\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(c.telemetry.metrics_interval, Duration::from_millis(250));
        refuses("telemetry", "metrics_interval", "\"0s\"", "more than 0s");
        refuses("telemetry", "metrics_interval", "\"25h\"", "at most 1day");
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

    /// The error for `text`, which must be refused.
    fn refused(text: &str) -> String {
        match Config::parse(text, Path::new("/etc/vds.toml")) {
            Ok(c) => panic!("accepted:\n{text}\n{c:?}"),
            Err(e) => e.to_string(),
        }
    }

    /// `[section] key = value` on line 2 is refused, naming the file, line, key and `why`.
    fn refuses(section: &str, key: &str, value: &str, why: &str) {
        let err = refused(&format!("[{section}]\n{key} = {value}\n"));
        for part in ["/etc/vds.toml", "line 2", &format!("{section}.{key}"), why] {
            assert!(
                err.contains(part),
                "{section}.{key} = {value}: {part:?} not in {err}"
            );
        }
    }

    #[test]
    fn durations_that_would_crash_are_refused() {
        for key in [
            "safety_check",
            "stall_timeout",
            "connect_timeout",
            "max_backoff",
        ] {
            refuses("sync", key, "\"0s\"", "more than 0s");
        }
        for key in [
            "min_interval",
            "safety_check",
            "stall_timeout",
            "connect_timeout",
            "max_backoff",
            "event_grace",
        ] {
            refuses("sync", key, "\"500000000years\"", "at most 1day");
            refuses("sync", key, "\"25h\"", "at most 1day");
        }
        refuses("status", "stale_after", "\"0s\"", "more than 0s");
        refuses("status", "stale_after", "\"366days\"", "at most 365days");
        refuses(
            "notifications",
            "after",
            "\"500000000years\"",
            "at most 365days",
        );
        refuses("sync", "safety_check", "\"soon\"", "safety_check");
    }

    #[test]
    fn durations_within_the_bounds_are_accepted() {
        let text = "[sync]\nmin_interval = \"0s\"\nevent_grace = \"0s\"\nsafety_check = \"1day\"\n\
                    [status]\nstale_after = \"365days\"\n[notifications]\nafter = \"0s\"\n";
        let c = Config::parse(text, Path::new("c.toml")).unwrap();
        assert_eq!(c.sync.min_interval, Duration::ZERO);
        assert_eq!(c.sync.safety_check, Duration::from_secs(86_400));
        assert_eq!(c.status.stale_after, Duration::from_secs(365 * 86_400));
    }

    #[test]
    fn urls_must_be_plain_http_base_urls() {
        for (section, key) in [
            ("litefs", "url"),
            ("litefs", "cloud_endpoint"),
            ("telemetry", "otlp_endpoint"),
        ] {
            refuses(section, key, "\"http://\"", "not a URL");
            refuses(section, key, "\"localhost:20202\"", "http or https");
            refuses(section, key, "\"ftp://host\"", "http or https");
            refuses(section, key, "\"http://host:1/?a=b\"", "query");
            refuses(section, key, "\"http://host:1/#top\"", "fragment");
            refuses(
                section,
                key,
                "\"http://user:pw@host:1\"",
                "user name or password",
            );
            let text = format!("[{section}]\n{key} = \"https://host.example:8443/base\"\n");
            Config::parse(&text, Path::new("c.toml")).unwrap();
        }
    }

    #[test]
    fn names_ports_and_counts_are_checked() {
        refuses("container", "host_port", "0", "not 0");
        refuses("publish", "keep", "1", "at least 2 and at most 10000");
        refuses("publish", "keep", "10001", "at most 10000");
        for name in ["\"\"", "\".hidden\"", "\"a/b\"", "'a\\b'", "\"a\\u0000b\""] {
            refuses("litefs", "database", name, "plain file name");
        }
        refuses("status", "file", "\"\"", "not be empty");
        refuses("publish", "dir", "\"\"", "not be empty");
        refuses("container", "image", "\"\"", "not be empty");
        refuses(
            "publish",
            "tables",
            "[\"products\", \"x; drop\"]",
            "SQL identifier",
        );
        refuses("publish", "tables", "[\"\"]", "SQL identifier");
        for name in ["\"\"", "\"-x\"", "\"a b\"", "\"a/b\""] {
            refuses("container", "name", name, "container name");
        }
        let text = "[container]\nname = \"litefs_2.dev-x\"\nhost_port = 1\n\
                    [publish]\nkeep = 10000\ntables = [\"_t1\", \"Products\"]\n";
        Config::parse(text, Path::new("c.toml")).unwrap();
    }

    /// Config files that are refused, each holding `token` where a parser error could
    /// quote it: an inline table, a multi-line string, a quoted key with escapes, and the
    /// token (properly set) pasted into another key.
    fn files_holding(token: &str) -> [String; 4] {
        [
            format!("litefs = {{ cloud_token = \"{token}\", url = 5 }}\n"),
            format!("[litefs]\ncloud_token = \"\"\"\n{token} \\q\n\"\"\"\n"),
            format!("[litefs]\n\"cloud_\\u0074oken\" = \"{token}\" x\n"),
            format!("[litefs]\ncloud_token = \"{token}\"\n[container]\nhost_port = \"{token}\"\n"),
        ]
    }

    #[test]
    fn no_config_error_quotes_the_token() {
        let token = "tok-1nline-secret-7";
        let places = [
            "line 1, column 55, key litefs.url",
            "line 3",
            "line 2",
            "line 4, column 13, key container.host_port",
        ];
        for (text, place) in files_holding(token).iter().zip(places) {
            let err = refused(text);
            assert!(!err.contains("1nline"), "{err}");
            assert!(err.contains(place), "{place:?} not in {err}");
        }
    }

    fn dirs() -> AppDirs {
        AppDirs {
            home: Some(PathBuf::from("/Users/pos")),
            config: PathBuf::from("/cfg"),
            data: PathBuf::from("/data"),
        }
    }

    #[test]
    fn home_is_expanded() {
        let home = Some(Path::new("/Users/pos"));
        let p = expand_home(Path::new("~/Library/x"), home);
        assert_eq!(p, PathBuf::from("/Users/pos/Library/x"));
        assert_eq!(expand_home(Path::new("~/x"), None), PathBuf::from("~/x"));
        assert_eq!(
            expand_home(Path::new("/abs/x"), home),
            PathBuf::from("/abs/x")
        );
        let c = Config::parse("", Path::new("c.toml")).unwrap();
        assert_eq!(c.status_file(&dirs()), PathBuf::from("/data/status.json"));
    }

    #[test]
    fn the_default_folder_is_the_one_the_pos_on_this_mac_reads() {
        let home = tempfile::tempdir().unwrap();
        let dirs = AppDirs {
            home: Some(home.path().to_path_buf()),
            ..dirs()
        };
        let c = Config::parse("", Path::new("c.toml")).unwrap();
        let folder = c.publish_folder(&dirs);
        assert_eq!(
            folder.path,
            home.path()
                .join("Library/Application Support/VoriPOS/Domain")
        );
        assert!(
            folder.reason.contains("no VoriPOS sandbox container"),
            "{folder:?}"
        );
        std::fs::create_dir_all(home.path().join("Library/Containers/com.vori.VoriPOS")).unwrap();
        let folder = c.publish_folder(&dirs);
        assert_eq!(
            folder.path,
            home.path().join(
                "Library/Containers/com.vori.VoriPOS/Data/Library/Application Support/Domain"
            )
        );
        assert!(folder.reason.contains("sandbox container"), "{folder:?}");
        // An explicit setting always wins, and says where it was set.
        let c = Config::parse("[publish]\ndir = \"~/pos\"\n", Path::new("c.toml")).unwrap();
        let folder = c.publish_folder(&dirs);
        assert_eq!(folder.path, home.path().join("pos"));
        assert_eq!(folder.reason, "publish.dir, set in the config file");
        let mut c = c;
        c.managed
            .keys
            .insert("publish.dir".into(), PathBuf::from("/L/p.plist"));
        assert_eq!(
            c.publish_folder(&dirs).reason,
            "publish.dir, managed by your organization (/L/p.plist)"
        );
    }

    #[test]
    fn the_config_file_is_the_flag_then_the_environment_then_the_default() {
        let (flag, env) = (Path::new("/flag.toml"), Path::new("/env.toml"));
        assert_eq!(
            config_path(Some(flag), Some(env), &dirs()),
            (flag.into(), true)
        );
        assert_eq!(config_path(None, Some(env), &dirs()), (env.into(), true));
        assert_eq!(
            config_path(None, None, &dirs()),
            (PathBuf::from("/cfg/config.toml"), false)
        );
    }
}
