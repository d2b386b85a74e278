//! The status model: what the menu, the CLI and the status file show.
//!
//! One [`Status`] snapshot holds the state (with the time it began) and the facts beside
//! it. Its JSON form is a documented contract (README, "Status JSON"); keys may be added,
//! never renamed. The token never reaches it: nothing here is built from the config's
//! secret.
//!
//! The type is here; [`render`] is its human form (the CLI's `status`, diagnostics),
//! [`file`] its file (written atomically, read back bounded); [`model`] is the one
//! transition function, [`board`] the one place the current status lives.

pub mod board;
mod file;
pub mod model;
mod render;

pub use file::{mark_stopped, read_file, sweep_temps, write_current, write_file, HEARTBEAT};
pub use model::{apply, Earlier, Event, FileFacts};
pub use render::ago;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::SourceKind;
use crate::error_kind::ErrorKind;
use crate::inspect::Metadata;
use crate::litefs::Checksum;

/// The one state the app is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    NotConfigured,
    DockerUnavailable,
    Starting,
    Syncing,
    UpToDate,
    Stale,
    Error,
}

/// A failure, named for people (`message`) and for scripts (`kind`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    pub kind: ErrorKind,
    pub message: String,
}

/// A LiteFS transaction ID, shown as 16 hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Txid(pub u64);

impl Serialize for Txid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{:016x}", self.0))
    }
}

impl<'de> Deserialize<'de> for Txid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        u64::from_str_radix(&s, 16)
            .map(Txid)
            .map_err(serde::de::Error::custom)
    }
}

/// A snapshot of everything the app knows about its sync.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub state: State,
    #[serde(with = "rfc3339")]
    pub since: DateTime<Utc>,
    /// What the state is doing right now, in words ("waiting for LiteFS at …").
    pub detail: Option<String>,
    #[serde(with = "rfc3339_opt")]
    pub last_sync_at: Option<DateTime<Utc>>,
    /// Last time LiteFS answered and the published file was confirmed current.
    #[serde(with = "rfc3339_opt")]
    pub last_check_at: Option<DateTime<Utc>>,
    pub txid: Option<Txid>,
    pub checksum: Option<Checksum>,
    pub published_path: Option<PathBuf>,
    pub metadata: Option<Metadata>,
    pub row_counts: BTreeMap<String, Option<u64>>,
    /// What of the published file's metadata and row counts could not be read, and why
    /// (a view, the inspection's time budget); the file itself is fine.
    #[serde(default)]
    pub unread: Vec<String>,
    pub error: Option<ErrorInfo>,
    /// When the app tries again by itself after a failure (`null` when nothing failed).
    #[serde(with = "rfc3339_opt", default)]
    pub next_try_at: Option<DateTime<Utc>>,
    /// Where the data comes from: the LiteFS node at `litefs_url`, or the LiteFS Cloud
    /// backup API at `litefs_url`.
    #[serde(default)]
    pub source: SourceKind,
    pub litefs_url: String,
    /// The proxy the LiteFS Cloud client goes through (`https://` URLs only, no user or
    /// password); `null`: it connects directly.
    #[serde(default)]
    pub proxy: Option<String>,
    pub events_connected: bool,
    /// The Docker engine in use (`unix:///…` and how it was found); `null` when the
    /// container is not managed or no engine answered.
    #[serde(default)]
    pub docker_endpoint: Option<String>,
    /// The LiteFS container, when the app manages it.
    #[serde(default)]
    pub container: Option<ContainerInfo>,
    /// Why the publish folder is not watched for changes made behind the app's back (a
    /// watch that could not start; it is retried); `null` while it is watched. The
    /// published file is still looked at periodically.
    #[serde(default)]
    pub folder_watch_problem: Option<String>,
    /// Trace spans discarded since start: queue full, undeliverable, or rejected.
    #[serde(default)]
    pub telemetry_dropped_spans: u64,
    /// The folder published into, and why it is that one (`publish.dir`, or the folder
    /// the POS on this Mac reads); `null` before the configuration was read.
    #[serde(default)]
    pub publish_dir: Option<PathBuf>,
    #[serde(default)]
    pub publish_dir_reason: Option<String>,
    /// Who manages settings through a configuration profile ("your organization", or the
    /// profile's `ui.managed_by`); `null` when nothing is managed.
    #[serde(default)]
    pub managed_by: Option<String>,
    pub app_version: String,
    pub pid: u32,
    /// When the instance last wrote this status: at every change and at least every
    /// [`HEARTBEAT`] while it runs. An old `updated_at` with `running` true means the
    /// instance died without saying so.
    #[serde(with = "rfc3339", default = "epoch")]
    pub updated_at: DateTime<Utc>,
    /// False once the instance has stopped (the status is its last word).
    #[serde(default)]
    pub running: bool,
    /// How long an up-to-date file may go unconfirmed before it is stale (`[status]
    /// stale_after`): set once, when a core starts; a setting, not a fact, so it is not
    /// in the status file.
    #[serde(skip, default = "default_stale_after")]
    pub stale_after: Duration,
}

fn default_stale_after() -> Duration {
    crate::config::Status::default().stale_after
}

fn epoch() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH
}

/// The managed LiteFS container as last seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerInfo {
    pub name: String,
    pub image: String,
    /// Docker's word for it: "running", "exited", "created", "absent", …
    pub state: String,
}

impl Status {
    /// The status of a process that has just started.
    pub fn starting(litefs_url: &str, now: DateTime<Utc>) -> Self {
        Status {
            state: State::Starting,
            since: now,
            detail: Some(format!("waiting for LiteFS at {litefs_url}")),
            last_sync_at: None,
            last_check_at: None,
            txid: None,
            checksum: None,
            published_path: None,
            metadata: None,
            row_counts: BTreeMap::new(),
            unread: Vec::new(),
            error: None,
            next_try_at: None,
            source: SourceKind::Litefs,
            litefs_url: litefs_url.to_string(),
            proxy: None,
            events_connected: false,
            docker_endpoint: None,
            container: None,
            folder_watch_problem: None,
            telemetry_dropped_spans: 0,
            publish_dir: None,
            publish_dir_reason: None,
            managed_by: None,
            app_version: env!("CARGO_PKG_VERSION").to_string(),
            pid: std::process::id(),
            updated_at: now,
            running: true,
            stale_after: default_stale_after(),
        }
    }

    /// Moves to `state` (keeping `since` when the state does not change).
    pub fn set_state(&mut self, state: State, now: DateTime<Utc>) {
        if self.state != state {
            self.state = state;
            self.since = now;
        }
    }

    /// A metadata field as every view shows it: "unknown" before the file was read,
    /// "missing" when the file's metadata row lacks it, else its value.
    pub fn metadata_field(&self, field: Option<&String>) -> String {
        match (&self.metadata, field) {
            (None, _) => "unknown".to_string(),
            (Some(_), None) => "missing".to_string(),
            (Some(_), Some(v)) => v.trim().to_string(),
        }
    }
}

/// Whether an up-to-date status has gone stale: LiteFS has not confirmed the published
/// file for longer than `stale_after` (it is unreachable, or its events stopped).
pub fn is_stale(
    last_check_at: Option<DateTime<Utc>>,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    stale_after: Duration,
) -> bool {
    let reference = last_check_at.unwrap_or(since);
    match (now - reference).to_std() {
        Ok(age) => age > stale_after,
        // A time from the future says nothing about when the source last answered (a
        // clock that ran ahead and was corrected): it is not trusted.
        Err(_) => !is_trusted(reference, now),
    }
}

/// How far ahead of the clock a time the app wrote may be and still be believed (two
/// clocks read a moment apart, rounding to whole seconds).
pub const FUTURE_TOLERANCE: Duration = Duration::from_secs(60);

/// Whether `t`, a time the app once wrote, can be believed at `now`: not further in the
/// future than [`FUTURE_TOLERANCE`]. A wall clock that ran ahead and was then corrected
/// leaves such times behind (in memory and in the status file across a restart).
pub fn is_trusted(t: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    (t - now)
        .to_std()
        .map_or(true, |ahead| ahead <= FUTURE_TOLERANCE)
}

/// `t` unless it comes from the future ([`is_trusted`]).
pub fn trusted(t: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    t.filter(|t| is_trusted(*t, now))
}

mod rfc3339 {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Secs, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

mod rfc3339_opt {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::rfc3339::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| {
                DateTime::parse_from_rfc3339(&s)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(serde::de::Error::custom)
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    pub(super) fn synced() -> Status {
        let mut s = Status::starting("http://127.0.0.1:20202", t("2026-11-25T14:00:00Z"));
        s.set_state(State::UpToDate, t("2026-11-25T14:03:12Z"));
        s.last_sync_at = Some(t("2026-11-25T14:03:12Z"));
        s.txid = Some(Txid(0x2f));
        s.checksum = Some(Checksum(0x83b05248774ce767));
        s.published_path = Some(PathBuf::from("/d/1764079392-Domain.sqlite3"));
        s.metadata = Some(Metadata {
            schema_version: Some("7".into()),
            generated_at: Some("2026-11-25T13:58:00Z".into()),
            ..Default::default()
        });
        s.row_counts.insert("products".into(), Some(51234));
        s.row_counts.insert("offers".into(), None);
        s
    }

    #[test]
    fn json_has_the_contract_keys_and_shapes() {
        let v = serde_json::to_value(synced()).unwrap();
        assert_eq!(v["state"], "up_to_date");
        assert_eq!(v["since"], "2026-11-25T14:03:12Z");
        assert_eq!(v["last_sync_at"], "2026-11-25T14:03:12Z");
        assert_eq!(v["txid"], "000000000000002f");
        assert_eq!(v["checksum"], "83b05248774ce767");
        assert_eq!(v["published_path"], "/d/1764079392-Domain.sqlite3");
        assert_eq!(v["metadata"]["schema_version"], "7");
        assert_eq!(v["row_counts"]["products"], 51234);
        assert!(v["row_counts"]["offers"].is_null());
        assert!(v["error"].is_null());
    }

    #[test]
    fn before_the_first_publish_times_are_null() {
        let v = serde_json::to_value(Status::starting("u", t("2026-11-25T14:00:00Z"))).unwrap();
        assert_eq!(v["state"], "starting");
        assert!(v["last_sync_at"].is_null() && v["txid"].is_null() && v["checksum"].is_null());
    }

    #[test]
    fn json_round_trips() {
        let s = synced();
        let back: Status = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn state_change_moves_since_only_on_change() {
        let mut s = synced();
        s.set_state(State::UpToDate, t("2026-11-25T15:00:00Z"));
        assert_eq!(s.since, t("2026-11-25T14:03:12Z"));
        s.set_state(State::Error, t("2026-11-25T15:00:00Z"));
        assert_eq!(s.since, t("2026-11-25T15:00:00Z"));
    }

    #[test]
    fn staleness_counts_from_the_last_confirmation() {
        let now = t("2026-11-25T15:00:00Z");
        let half_hour = Duration::from_secs(1800);
        assert!(!is_stale(
            Some(t("2026-11-25T14:45:00Z")),
            now,
            now,
            half_hour
        ));
        assert!(is_stale(
            Some(t("2026-11-25T14:00:00Z")),
            now,
            now,
            half_hour
        ));
        assert!(is_stale(None, t("2026-11-25T14:00:00Z"), now, half_hour));
    }
}
