//! The status's one transition function: an [`Event`] and the clock in, the new
//! [`Status`] out.
//!
//! Every part of the app that learns something (the worker, the container supervisor,
//! the serve loop, telemetry) sends an event; only [`apply`] decides what the state
//! becomes. It is pure, so every rule below is unit-tested:
//!
//! - the newest published file describes itself at start (*Last sync* is its publish
//!   time, with its checksum, metadata and row counts) until something newer arrives;
//! - *Checked* is the last time the source confirmed that file is current;
//! - retries keep the trouble state and its `since` (no blinking), and say when the next
//!   try is (`next_try_at`);
//! - a good published file stays `up_to_date` while the source is away, until
//!   `stale_after` has passed without a confirmation.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::inspect::Inspection;
use crate::litefs::Checksum;

use super::{is_stale, trusted, ContainerInfo, ErrorInfo, ErrorKind, State, Status, Txid};

/// Failures in a row, with nothing published yet, before "waiting for the source"
/// becomes an error.
pub const PATIENCE: u32 = 3;

/// While the source's event stream is connected and says nothing, the published file
/// is confirmed current this often (*Checked* moves without a write every few seconds).
pub const CONFIRM_EVERY: Duration = Duration::from_secs(60);

/// A published file as it describes itself.
#[derive(Clone, Debug, PartialEq)]
pub struct FileFacts {
    pub path: PathBuf,
    pub checksum: Checksum,
    /// When it was published (its modification time).
    pub published_at: Option<DateTime<Utc>>,
    /// Its metadata and row counts, when they were read.
    pub inspection: Option<Inspection>,
}

/// What the previous instance's status file said about a published file: a fact about
/// that file (same checksum, same content) that a restart should not forget.
#[derive(Clone, Debug, PartialEq)]
pub struct Earlier {
    pub checksum: Checksum,
    pub txid: Option<Txid>,
    pub last_check_at: Option<DateTime<Utc>>,
}

impl Earlier {
    /// What `status` (a status file read back) says about its published file.
    pub fn from_status(status: &Status) -> Option<Earlier> {
        Some(Earlier {
            checksum: status.checksum?,
            txid: status.txid,
            last_check_at: status.last_check_at,
        })
    }
}

/// Something the app learned.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// At start, before the source is asked: the newest published file, and what the
    /// previous instance said about the file it published.
    Described {
        file: FileFacts,
        earlier: Option<Earlier>,
    },
    /// No token (or no LiteFS Cloud URL): the message says where it was looked for.
    NotConfigured { message: String },
    /// The config file cannot be used; fixed files are picked up live.
    ConfigInvalid { message: String },
    /// The core could not start with a readable configuration.
    StartFailed { message: String, retry_in: Duration },
    /// No Docker engine answers.
    DockerDown { message: String },
    /// A Docker engine answers at `endpoint`.
    DockerUp { endpoint: String },
    /// The managed container as last seen.
    Container(ContainerInfo),
    /// A step of bringing the container up ("pulling image 45 %", "starting …").
    ContainerStarting { detail: String },
    /// A reset began: the local replica is being removed and fetched again.
    Resetting { detail: String },
    /// The container (or the wait for it) failed.
    ContainerFailed { kind: ErrorKind, message: String },
    /// The next attempt after a failure is due in `retry_in`.
    RetryIn(Duration),
    /// A sync the user (or a new transaction) asked for began.
    SyncStarted { activity: String },
    /// A new file was published; `txid` when the source confirmed which transaction.
    Published { file: FileFacts, txid: Option<u64> },
    /// The source has exactly the published file: checked, nothing new.
    Unchanged { file: FileFacts, txid: Option<u64> },
    /// The source announced a position (`txid`, `checksum`) that is the published file:
    /// its label follows the announcement, whenever it comes.
    Confirmed { txid: u64, checksum: Checksum },
    /// A sync failed; `failures` before this one, in a row; retried in `retry_in`.
    Failed {
        kind: ErrorKind,
        message: String,
        failures: u32,
        retry_in: Duration,
    },
    /// The sync worker panicked; it is restarted in `restart_in`.
    WorkerCrashed {
        message: String,
        restart_in: Duration,
    },
    /// The source's event stream (or the cloud's position) is (dis)connected.
    EventsConnected(bool),
    /// A periodic look at the clock: staleness, and confirmation by a live stream.
    Tick,
    /// Why the publish folder cannot be watched (`None`: it is watched).
    FolderWatch(Option<String>),
    /// Trace spans discarded since start.
    TelemetryDropped(u64),
}

/// Applies `event` at `now`. `since` moves only when the state changes.
pub fn apply(s: &mut Status, event: Event, now: DateTime<Utc>) {
    match event {
        Event::Described { file, earlier } => {
            let published_at = file.published_at;
            take_file(s, file);
            s.last_sync_at = s.last_sync_at.or(published_at);
            // The same file: its TXID and when the source last confirmed it still hold.
            // A confirmation stamped by a clock that ran ahead is not kept (times from the
            // future are not trusted).
            if let Some(earlier) = earlier.filter(|e| s.checksum == Some(e.checksum)) {
                s.txid = s.txid.or(earlier.txid);
                s.last_check_at =
                    trusted(s.last_check_at, now).max(trusted(earlier.last_check_at, now));
            }
        }
        Event::NotConfigured { message } => {
            s.set_state(State::NotConfigured, now);
            s.detail = Some(message.clone());
            s.error = Some(error(ErrorKind::NotConfigured, message));
            s.next_try_at = None;
        }
        Event::ConfigInvalid { message } => {
            s.set_state(State::Error, now);
            s.detail = Some(message.clone());
            s.error = Some(error(ErrorKind::ConfigInvalid, message));
            s.next_try_at = None;
        }
        Event::StartFailed { message, retry_in } => {
            s.set_state(State::Error, now);
            s.detail = Some("retrying by itself".into());
            s.error = Some(error(ErrorKind::StartFailed, message));
            s.next_try_at = Some(after(now, retry_in));
        }
        Event::DockerDown { message } => {
            s.set_state(State::DockerUnavailable, now);
            s.detail = Some(message.clone());
            s.error = Some(error(ErrorKind::DockerUnavailable, message));
            s.docker_endpoint = None;
            s.container = None;
        }
        Event::DockerUp { endpoint } => {
            s.docker_endpoint = Some(endpoint);
            if s.state == State::DockerUnavailable {
                s.set_state(State::Starting, now);
                s.detail = Some("Docker is back".into());
            }
            if s.error.as_ref().map(|e| e.kind) == Some(ErrorKind::DockerUnavailable) {
                s.error = None;
            }
            s.next_try_at = None;
        }
        Event::Container(info) => s.container = Some(info),
        Event::ContainerStarting { detail } => {
            // Before the first sync it is the state; afterwards the published file
            // stays what the state is about.
            if s.last_sync_at.is_none() {
                s.set_state(State::Starting, now);
            }
            s.detail = Some(detail);
        }
        Event::Resetting { detail } => {
            s.set_state(State::Starting, now);
            s.detail = Some(detail);
        }
        Event::ContainerFailed { kind, message } => {
            s.error = Some(error(kind, message));
            // A good published file stays good; staleness decides when to say otherwise.
            if s.last_sync_at.is_none() {
                s.set_state(State::Error, now);
                s.detail = None;
            }
        }
        Event::RetryIn(delay) => s.next_try_at = Some(after(now, delay)),
        Event::SyncStarted { activity } => {
            // Trouble states stay what they are until the sync has an answer: the icon
            // does not blink through "Syncing" on every attempt.
            if matches!(s.state, State::UpToDate | State::Syncing) {
                s.set_state(State::Syncing, now);
            }
            if s.state != State::NotConfigured {
                s.detail = Some(activity);
            }
        }
        Event::Published { file, txid } => {
            take_file(s, file);
            s.last_sync_at = Some(now);
            synced(s, txid, now);
        }
        Event::Unchanged { file, txid } => {
            let published_at = file.published_at;
            let other_file = s.checksum != Some(file.checksum);
            take_file(s, file);
            if other_file || s.last_sync_at.is_none() {
                s.last_sync_at = published_at.or(s.last_sync_at);
            }
            synced(s, txid, now);
        }
        Event::Confirmed { txid, checksum } => {
            // Said of another file (the status moved on meanwhile): nothing to confirm.
            if s.checksum != Some(checksum) {
                return;
            }
            s.txid = Some(Txid(txid));
            s.last_check_at = Some(now);
            if s.state == State::Stale {
                s.set_state(State::UpToDate, now);
            }
        }
        Event::Failed {
            kind,
            message,
            failures,
            retry_in,
        } => failed(s, kind, message, failures, now, retry_in),
        Event::WorkerCrashed {
            message,
            restart_in,
        } => {
            s.set_state(State::Error, now);
            s.detail = Some("restarting the sync".into());
            s.error = Some(error(
                ErrorKind::Internal,
                format!("the sync stopped unexpectedly ({message}); it is restarted"),
            ));
            s.next_try_at = Some(after(now, restart_in));
        }
        Event::EventsConnected(connected) => s.events_connected = connected,
        Event::Tick => tick(s, now),
        Event::FolderWatch(problem) => s.folder_watch_problem = problem,
        Event::TelemetryDropped(n) => s.telemetry_dropped_spans = n,
    }
}

fn error(kind: ErrorKind, message: String) -> ErrorInfo {
    ErrorInfo { kind, message }
}

fn after(now: DateTime<Utc>, delay: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX)
}

/// Takes the facts of `file` (the TXID only survives when it is the same file).
fn take_file(s: &mut Status, file: FileFacts) {
    if s.checksum != Some(file.checksum) {
        s.txid = None;
    }
    s.checksum = Some(file.checksum);
    s.published_path = Some(file.path);
    if let Some(i) = file.inspection {
        s.metadata = Some(i.metadata);
        s.row_counts = i.row_counts;
        s.unread = i.unread;
    }
}

/// A sync ended well: the source confirmed the published file at `now`.
fn synced(s: &mut Status, txid: Option<u64>, now: DateTime<Utc>) {
    s.set_state(State::UpToDate, now);
    s.detail = None;
    s.error = None;
    s.next_try_at = None;
    s.last_check_at = Some(now);
    if let Some(txid) = txid {
        s.txid = Some(Txid(txid));
    }
}

fn failed(
    s: &mut Status,
    kind: ErrorKind,
    message: String,
    failures: u32,
    now: DateTime<Utc>,
    retry_in: Duration,
) {
    s.error = Some(error(kind, message.clone()));
    s.next_try_at = Some(after(now, retry_in));
    let source = s.source.label();
    if kind == ErrorKind::CloudTokenRejected {
        s.set_state(State::NotConfigured, now);
        s.detail = Some(message);
    } else if kind.is_waiting() && s.last_sync_at.is_some() {
        // The published file is still good; staleness decides when to say otherwise. A
        // trouble state already shown stays until a sync succeeds.
        if !matches!(s.state, State::Stale | State::Error) {
            s.set_state(State::UpToDate, now);
            if stale(s, now) {
                s.set_state(State::Stale, now);
            }
        }
        s.detail = Some(format!("{source} unreachable; retrying"));
    } else if kind.is_waiting() && failures < PATIENCE && s.state != State::Error {
        s.set_state(State::Starting, now);
        s.detail = Some(format!("waiting for {source} at {}", s.litefs_url));
    } else {
        s.set_state(State::Error, now);
        s.detail = None;
    }
}

fn stale(s: &Status, now: DateTime<Utc>) -> bool {
    !s.events_connected && is_stale(s.last_check_at, s.since, now, s.stale_after)
}

fn tick(s: &mut Status, now: DateTime<Utc>) {
    // The clock was corrected after running ahead: a confirmation "from the future" is
    // dropped (staleness then counts from the state's start, itself stale when it too
    // is from the future: see `is_stale`).
    s.last_check_at = trusted(s.last_check_at, now);
    let confirmed_long_ago = s
        .last_check_at
        .is_none_or(|t| (now - t).to_std().unwrap_or_default() >= CONFIRM_EVERY);
    if s.events_connected
        && s.error.is_none()
        && s.checksum.is_some()
        && matches!(s.state, State::UpToDate | State::Stale)
    {
        // LiteFS's event stream is live and announced nothing: the file is current.
        if confirmed_long_ago {
            s.last_check_at = Some(now);
        }
        if s.state == State::Stale {
            s.set_state(State::UpToDate, now);
        }
    } else if s.state == State::UpToDate && stale(s, now) {
        s.set_state(State::Stale, now);
    }
}

#[cfg(test)]
mod tests;
