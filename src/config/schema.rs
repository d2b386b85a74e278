//! The configuration's schema: every section and key of the TOML file, and the token's
//! [`Secret`] type (never printed). Defaults are in [`super::defaults`].

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{check, managed};
use crate::secrets;

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
