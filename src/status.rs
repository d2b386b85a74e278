//! The status model: what the menu, the CLI and the status file show.
//!
//! One [`Status`] snapshot holds the state (with the time it began) and the facts beside
//! it. Its JSON form is a documented contract (README, "Status JSON"); keys may be added,
//! never renamed. The token never reaches it: nothing here is built from the config's
//! secret.

pub mod board;
pub mod kind;
pub mod model;

pub use kind::{ErrorKind, NextStep};
pub use model::{apply, Earlier, Event, FileFacts};

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::SourceKind;
use crate::inspect::Metadata;
use crate::litefs::Checksum;
use crate::private_dir;
use crate::small_file::{self, SmallFileError};

/// The largest status file read back (one is a few KiB).
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

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
}

/// How often the status file is rewritten while nothing changes.
pub const HEARTBEAT: Duration = Duration::from_secs(60);

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
        }
    }

    /// Moves to `state` (keeping `since` when the state does not change).
    pub fn set_state(&mut self, state: State, now: DateTime<Utc>) {
        if self.state != state {
            self.state = state;
            self.since = now;
        }
    }

    /// The human-readable form printed by `status` (and copied into diagnostics): the
    /// state in the menu's words, a problem's plain title, its next step and its full
    /// text, when the next try is, and the facts of the published file.
    pub fn render(&self, now: DateTime<Utc>) -> String {
        let mut out = String::new();
        let line = |out: &mut String, k: &str, v: &str| out.push_str(&format!("{k:<14}{v}\n"));
        let since = ago(self.since, now);
        let state = match (self.state, self.last_sync_at) {
            (State::Stale, Some(t)) => format!(
                "{} (since {since}): the data is from {}",
                state_words(self.state),
                when(t, now)
            ),
            _ => format!("{} (since {since})", state_words(self.state)),
        };
        line(&mut out, "State:", &state);
        if let Some(d) = &self.detail {
            line(&mut out, "", d);
        }
        if let Some(e) = &self.error {
            let problem = format!("{} [{}]", e.kind.title(), e.kind);
            line(&mut out, "Problem:", &problem);
            line(&mut out, "Next step:", e.kind.next_step().label());
            line(&mut out, "Details:", &e.message);
        }
        if let Some(t) = self.next_try_at {
            line(
                &mut out,
                "Next try:",
                &format!("{} ({})", local(t), until(t, now)),
            );
        }
        let last_sync = self
            .last_sync_at
            .map_or("no file published yet".into(), |t| when(t, now));
        line(&mut out, "Last sync:", &last_sync);
        let checked = self.last_check_at.map_or("never".into(), |t| {
            format!("{}, with {}", when(t, now), self.source.label())
        });
        line(&mut out, "Checked:", &checked);
        if let Some(problem) = &self.folder_watch_problem {
            line(&mut out, "Watching:", &format!("{problem}; retrying"));
        }
        let meta = self.metadata.as_ref();
        let database = format!(
            "schema {} · generated {} · TXID {}",
            self.metadata_field(meta.and_then(|m| m.schema_version.as_ref())),
            self.metadata_field(meta.and_then(|m| m.generated_at.as_ref())),
            self.txid.map_or("unknown".into(), |t| format!("{:x}", t.0)),
        );
        line(&mut out, "Database:", &database);
        if let Some(c) = self.checksum {
            line(&mut out, "Checksum:", &c.to_string());
        }
        if let Some(p) = &self.published_path {
            line(&mut out, "File:", &p.display().to_string());
        }
        if let Some(dir) = &self.publish_dir {
            line(&mut out, "Folder:", &dir.display().to_string());
            if let Some(reason) = &self.publish_dir_reason {
                line(&mut out, "", reason);
            }
        }
        for (table, count) in &self.row_counts {
            let count = count.map_or("missing".into(), |c| c.to_string());
            line(&mut out, "", &format!("{table:<20}{count}"));
        }
        for (i, what) in self.unread.iter().enumerate() {
            line(&mut out, if i == 0 { "Not read:" } else { "" }, what);
        }
        let (label, link) = match self.source {
            SourceKind::Litefs => ("LiteFS:", "events"),
            SourceKind::Cloud => ("LiteFS Cloud:", "position"),
        };
        let connected = match self.events_connected {
            true => "connected",
            false => "disconnected",
        };
        let source = format!("{} ({link} {connected})", self.litefs_url);
        line(&mut out, label, &source);
        if let Some(proxy) = &self.proxy {
            line(&mut out, "Proxy:", proxy);
        }
        if let Some(c) = &self.container {
            let container = format!("{} ({}, {})", c.name, c.state, c.image);
            line(&mut out, "Container:", &container);
        }
        if let Some(endpoint) = &self.docker_endpoint {
            line(&mut out, "Docker:", endpoint);
        }
        if let Some(by) = &self.managed_by {
            line(
                &mut out,
                "Managed:",
                &format!("by {by} (configuration profile)"),
            );
        }
        line(&mut out, "Version:", &self.app_version);
        out
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

/// The state as the menu names it.
fn state_words(state: State) -> &'static str {
    match state {
        State::NotConfigured => "Not configured",
        State::DockerUnavailable => "Docker is not running",
        State::Starting => "Starting",
        State::Syncing => "Syncing",
        State::UpToDate => "Up to date",
        State::Stale => "Stale",
        State::Error => "Error",
    }
}

fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono::Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// "in 12 s", "in 2 min", "in 1 h"; "now" once it is due.
fn until(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (t - now).num_seconds();
    match secs {
        ..=0 => "now".into(),
        1..=59 => format!("in {secs} s"),
        60..=3_599 => format!("in {} min", secs / 60),
        _ => format!("in {} h", secs / 3_600),
    }
}

fn when(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!("{} ({})", local(t), ago(t, now))
}

/// "12 s ago", "2 min ago", "2 h ago", "1 day ago", "3 days ago" (the menu's
/// `next_refresh` waits for exactly these unit boundaries).
pub fn ago(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - t).num_seconds().max(0);
    match secs {
        0..=59 => format!("{secs} s ago"),
        60..=3_599 => format!("{} min ago", secs / 60),
        3_600..=86_399 => format!("{} h ago", secs / 3_600),
        86_400..=172_799 => "1 day ago".into(),
        _ => format!("{} days ago", secs / 86_400),
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

/// The status files this process has written its last word to ([`mark_stopped`]);
/// held while writing, so no late write of a running core can follow the last word.
static STOPPED: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Writes the status file with `updated_at` set to now, unless the process has already
/// marked it stopped.
pub fn write_current(path: &Path, status: &Status) -> std::io::Result<()> {
    let stopped = STOPPED.lock().unwrap_or_else(|e| e.into_inner());
    if stopped.iter().any(|p| p == path) {
        return Ok(());
    }
    let mut status = status.clone();
    status.updated_at = Utc::now();
    status.running = true;
    write_file(path, &status)
}

/// Writes the process's last word: the status in `path` with `running` false. Later
/// writes to it by [`write_current`] are ignored.
pub fn mark_stopped(path: &Path) -> std::io::Result<()> {
    let mut stopped = STOPPED.lock().unwrap_or_else(|e| e.into_inner());
    stopped.push(path.to_path_buf());
    let mut status = read_file(path)?;
    status.updated_at = Utc::now();
    status.running = false;
    write_file(path, &status)
}

/// Writes the status file atomically (temp file in the same folder, fsync, rename).
pub fn write_file(path: &Path, status: &Status) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    private_dir::create(dir)?;
    let mut json = serde_json::to_vec_pretty(status).map_err(std::io::Error::other)?;
    json.push(b'\n');
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    // Created exclusively (O_EXCL) under an unpredictable name: a symlink planted at a
    // guessable temp name is never followed. Removed on any failure.
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o644))
        .tempfile_in(dir)?;
    tmp.write_all(&json)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Removes the temp files an earlier instance writing `path` left behind (killed between
/// creating one and renaming it); returns how many. Call it only while holding the
/// instance lock, so no other writer of `path` exists.
pub fn sweep_temps(path: &Path) -> usize {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let prefix = format!(".{name}.");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| {
            let file_name = e.file_name();
            let file_name = file_name.to_string_lossy();
            file_name.starts_with(&prefix)
                && file_name.ends_with(".tmp")
                && e.file_type().is_ok_and(|t| t.is_file())
        })
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count()
}

/// Reads a status file.
pub fn read_file(path: &Path) -> std::io::Result<Status> {
    let text = small_file::read(path, MAX_FILE_BYTES).map_err(|e| match e {
        SmallFileError::Io { source, .. } => source,
        other => std::io::Error::new(std::io::ErrorKind::InvalidData, other),
    })?;
    serde_json::from_slice(&text)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
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

    #[test]
    fn a_symlink_planted_at_the_temp_name_is_not_followed_and_temps_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("app");
        let path = folder.join("status.json");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        std::fs::create_dir(&folder).unwrap();
        // The name the writer used to pick, from the pid.
        let planted = folder.join(format!(".status.json.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        write_current(&path, &Status::starting("http://h:1", Utc::now())).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert!(read_file(&path).unwrap().running);
        // Left by a killed writer: swept (the planted link is not a regular file).
        std::fs::write(folder.join(".status.json.a1B2c3.tmp"), b"{").unwrap();
        assert_eq!(sweep_temps(&path), 1);
        assert!(planted.is_symlink());
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    }

    #[test]
    fn the_status_folder_the_app_creates_is_private_and_the_file_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fresh/home/status.json");
        write_file(&path, &Status::starting("http://h:1", Utc::now())).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("fresh")), 0o700);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(mode(&path) & 0o600, 0o600);
    }

    #[test]
    fn the_last_word_is_not_overwritten_and_says_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("status.json");
        let old = Utc::now() - chrono::Duration::hours(1);
        let mut s = Status::starting("http://127.0.0.1:20202", old);
        s.running = false;
        write_current(&path, &s).unwrap();
        let written = read_file(&path).unwrap();
        assert!(written.running, "a running instance writes running = true");
        assert!(written.updated_at > old, "and a fresh heartbeat");

        mark_stopped(&path).unwrap();
        let last = read_file(&path).unwrap();
        assert!(!last.running);
        s.state = State::UpToDate;
        write_current(&path, &s).unwrap();
        assert_eq!(
            read_file(&path).unwrap(),
            last,
            "a late write does not follow it"
        );
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn synced() -> Status {
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
    fn what_was_not_read_and_the_proxy_are_shown() {
        let mut s = synced();
        s.unread = vec!["row count of \"offers\": it is a view, not a table; not counted".into()];
        s.proxy = Some("http://proxy.corp:3128 (from HTTPS_PROXY)".into());
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["unread"][0], s.unread[0]);
        assert_eq!(v["proxy"], "http://proxy.corp:3128 (from HTTPS_PROXY)");
        let text = s.render(t("2026-11-25T14:05:00Z"));
        let line = |start: &str| {
            text.lines()
                .find(|l| l.starts_with(start))
                .map(str::to_string)
        };
        assert!(
            line("Not read:").is_some_and(|l| l.contains("it is a view")),
            "{text}"
        );
        assert!(
            line("Proxy:").is_some_and(|l| l.contains("proxy.corp:3128")),
            "{text}"
        );
        let plain = synced().render(t("2026-11-25T14:05:00Z"));
        assert!(
            !plain.contains("Not read:") && !plain.contains("Proxy:"),
            "{plain}"
        );
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

    #[test]
    fn human_form_names_state_version_and_missing_tables() {
        let text = synced().render(t("2026-11-25T14:05:12Z"));
        assert!(text.contains("Up to date (since 2 min ago)"), "{text}");
        assert!(text.contains("schema 7"), "{text}");
        assert!(text.contains("TXID 2f"), "{text}");
        assert!(
            text.contains("offers") && text.contains("missing"),
            "{text}"
        );
        assert!(text.contains("51234"), "{text}");
    }

    #[test]
    fn human_form_names_the_problem_plainly_with_its_step_full_text_and_next_try() {
        let mut s = synced();
        let message = "LiteFS at http://127.0.0.1:20202 is unreachable: error trying to \
                       connect: tcp connect error: Connection refused (os error 111)";
        model::apply(
            &mut s,
            Event::Failed {
                kind: ErrorKind::LiteFsUnreachable,
                message: message.into(),
                failures: 4,
                retry_in: Duration::from_secs(30),
                stale_after: Duration::from_secs(1800),
            },
            t("2026-11-25T14:10:00Z"),
        );
        let text = s.render(t("2026-11-25T14:10:18Z"));
        assert!(
            text.contains("Problem:      Can't reach the sync service [litefs_unreachable]\n"),
            "{text}"
        );
        assert!(text.contains("Next step:    Show details…\n"), "{text}");
        assert!(
            text.contains(&format!("Details:      {message}\n")),
            "{text}"
        );
        assert!(text.contains("(in 12 s)"), "{text}");
        assert!(text.contains("Checked:      "), "{text}");
    }

    #[test]
    fn human_form_of_stale_says_since_when_the_data_is() {
        let mut s = synced();
        s.set_state(State::Stale, t("2026-11-25T14:40:00Z"));
        let text = s.render(t("2026-11-25T16:03:12Z"));
        let data_from = format!(
            "the data is from {}",
            when(t("2026-11-25T14:03:12Z"), t("2026-11-25T16:03:12Z"))
        );
        assert!(text.contains("Stale (since 1 h ago): "), "{text}");
        assert!(text.contains(&data_from), "{text}");
        assert!(text.contains("(2 h ago)"), "{text}");
    }

    #[test]
    fn human_form_says_unknown_before_the_file_is_read_and_missing_when_it_lacks_it() {
        let now = t("2026-11-25T14:00:10Z");
        let text = Status::starting("u", t("2026-11-25T14:00:00Z")).render(now);
        assert!(
            text.contains("schema unknown · generated unknown · TXID unknown"),
            "{text}"
        );
        assert!(
            text.contains("Last sync:    no file published yet"),
            "{text}"
        );
        assert!(!text.contains("missing"), "{text}");

        let mut s = synced();
        s.metadata = Some(Metadata::default());
        assert!(s.render(now).contains("schema missing · generated missing"));
    }

    #[test]
    fn file_is_written_atomically_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/status.json");
        write_file(&path, &synced()).unwrap();
        assert_eq!(read_file(&path).unwrap(), synced());
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("status.json")]);
    }
}
