//! The status board: the one place the current [`Status`] lives, for the whole life of
//! the app.
//!
//! The host makes one board; the tray, the control socket and telemetry subscribe to it
//! once. Each core that starts (at launch, after a settings change, on a retry) gets its
//! own handle from [`Board::begin`]: its first status replaces the last core's, its
//! status file becomes the one written, and the handles of the core before it go quiet
//! (a late event of a stopping core never lands on its successor's status).
//!
//! Changes come as [`Event`]s, applied by the one transition function
//! ([`model::apply`]). Every change is published to watchers (a `watch` channel) and
//! written atomically to the status file (for `status` and support tooling) by a writer
//! task off the sync path; changes that come faster than the disk are merged.
//!
//! The free-text fields (`detail`, `error.message`) are scrubbed of every registered
//! secret first: the status file is what support copies into tickets.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use tokio::sync::watch;

use crate::secrets;
use crate::status::{self, model, Event, State, Status};

/// A handle on the board: the host's, or one core's ([`Board::begin`]).
pub struct Board {
    shared: Arc<Shared>,
    /// The core this handle belongs to; it changes the status only while it is current.
    generation: u64,
}

/// What every handle shares.
struct Shared {
    tx: watch::Sender<Status>,
    /// The current core: what the writer writes to, and what handles (and those waiting
    /// for their core's end) compare their own generation with.
    current: watch::Sender<Current>,
}

/// The core whose handle may change the status now.
struct Current {
    generation: u64,
    /// Its status file (`None`: no core has begun, nothing is written).
    file: Option<PathBuf>,
}

impl Board {
    /// A board writing `file`, showing `initial` (needs a tokio runtime).
    pub fn new(file: PathBuf, initial: Status) -> Self {
        Board::with_file(Some(file), initial)
    }

    /// The host's board before any core has begun: "Starting…", no file written yet
    /// (needs a tokio runtime).
    pub fn waiting() -> Self {
        let mut first = Status::starting("", Utc::now());
        first.detail = None;
        Board::with_file(None, first)
    }

    fn with_file(file: Option<PathBuf>, mut initial: Status) -> Self {
        scrub(&mut initial);
        let shared = Arc::new(Shared {
            tx: watch::Sender::new(initial),
            current: watch::Sender::new(Current {
                generation: 0,
                file,
            }),
        });
        tokio::spawn(write_changes(shared.clone(), shared.tx.subscribe()));
        Board {
            shared,
            generation: 0,
        }
    }

    /// A core begins: `initial` replaces the status, `file` is written from now on, and
    /// the handles of earlier cores stop changing anything. The new core's handle.
    pub fn begin(&self, file: PathBuf, mut initial: Status) -> Board {
        scrub(&mut initial);
        let mut generation = 0;
        self.shared.current.send_modify(|current| {
            current.generation += 1;
            current.file = Some(file);
            generation = current.generation;
        });
        self.shared.tx.send_replace(initial);
        Board {
            shared: self.shared.clone(),
            generation,
        }
    }

    /// A receiver of every new snapshot, whichever core makes it.
    pub fn subscribe(&self) -> watch::Receiver<Status> {
        self.shared.tx.subscribe()
    }

    /// The current snapshot.
    pub fn get(&self) -> Status {
        self.shared.tx.borrow().clone()
    }

    /// Resolves when this handle's core is no longer the current one (another began) or
    /// the board is gone: what a core's companions (its heartbeat) end with.
    pub fn ended(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut current = self.shared.current.subscribe();
        let mine = self.generation;
        async move {
            let _ = current.wait_for(|now| now.generation != mine).await;
        }
    }

    /// Applies `event` now ([`model::apply`]); watchers and the file see the result only
    /// if something changed. A handle whose core is no longer current changes nothing.
    pub fn apply(&self, event: Event) {
        self.update(|s| model::apply(s, event, Utc::now()));
    }

    fn update(&self, change: impl FnOnce(&mut Status)) {
        let before = self.get();
        let changed = self.shared.tx.send_if_modified(|s| {
            if self.shared.current.borrow().generation != self.generation {
                return false;
            }
            change(s);
            scrub(s);
            *s != before
        });
        if !changed {
            return;
        }
        let now = self.get();
        if now.state != before.state {
            match (&now.state, &now.error) {
                (State::Error, Some(e)) => {
                    tracing::warn!(kind = %e.kind, "state changed to error: {}", e.message)
                }
                _ => tracing::info!(
                    state = ?now.state,
                    detail = now.detail.as_deref().unwrap_or(""),
                    "state changed"
                ),
            }
        }
    }
}

/// Removes the registered secrets from the status's free text.
fn scrub(s: &mut Status) {
    let texts = [s.detail.as_mut(), s.error.as_mut().map(|e| &mut e.message)];
    for text in texts.into_iter().flatten() {
        if let Cow::Owned(clean) = secrets::scrub(text) {
            *text = clean;
        }
    }
}

/// Writes the newest snapshot to the current core's file after each change, and at
/// least every [`status::HEARTBEAT`] (a fresh `updated_at` says the instance is alive),
/// until the board is gone.
async fn write_changes(shared: Arc<Shared>, mut rx: watch::Receiver<Status>) {
    let shared = Arc::downgrade(&shared);
    loop {
        let snapshot = rx.borrow_and_update().clone();
        let file = match shared.upgrade() {
            Some(shared) => shared.current.borrow().file.clone(),
            None => return,
        };
        if let Some(file) = file {
            let path = file.clone();
            let written =
                tokio::task::spawn_blocking(move || status::write_current(&path, &snapshot)).await;
            if let Err(e) = written.map_err(std::io::Error::other).and_then(|r| r) {
                tracing::warn!(file = %file.display(), error = %e, "could not write the status file");
            }
        }
        tokio::select! {
            changed = rx.changed() => if changed.is_err() {
                return;
            },
            _ = tokio::time::sleep(status::HEARTBEAT) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn secrets_never_reach_the_status_or_its_file() {
        secrets::register("board-secret-1618");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("status.json");
        let board = Board::new(file.clone(), Status::starting("http://h:1", Utc::now()));
        board.apply(Event::StartFailed {
            message: "cannot start: token board-secret-1618 refused".into(),
            retry_in: Duration::from_secs(1),
        });
        board.apply(Event::ContainerStarting {
            detail: "detail board-secret-1618".into(),
        });
        let status = board.get();
        assert_eq!(status.detail.as_deref(), Some("detail [redacted]"));
        let error = status.error.unwrap();
        assert_eq!(error.message, "cannot start: token [redacted] refused");
        for _ in 0..200 {
            match std::fs::read_to_string(&file) {
                Ok(text) if text.contains("start_failed") => {
                    assert!(!text.contains("1618"), "{text}");
                    assert!(text.contains("token [redacted] refused"), "{text}");
                    return;
                }
                _ => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
        panic!("the status file was not written");
    }

    /// Waits (in real time: the writer works on the blocking pool) until `file`
    /// exists, for up to 2 s.
    fn appears(file: &std::path::Path) -> bool {
        (0..200).any(|_| {
            std::thread::sleep(Duration::from_millis(10));
            file.exists()
        })
    }

    #[tokio::test(start_paused = true)]
    async fn an_unchanged_status_is_written_again_every_heartbeat() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("status.json");
        let _board = Board::new(file.clone(), Status::starting("http://h:1", Utc::now()));
        tokio::task::yield_now().await;
        assert!(appears(&file), "written at start");
        assert!(status::read_file(&file).unwrap().running);

        std::fs::remove_file(&file).unwrap();
        tokio::time::sleep(status::HEARTBEAT - Duration::from_secs(1)).await;
        assert!(
            !appears(&file),
            "nothing changed: not written before a minute"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(appears(&file), "written again within a minute");
        assert!(status::read_file(&file).unwrap().running);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_core_that_begins_takes_over_and_the_one_before_it_goes_quiet() {
        let dir = tempfile::tempdir().unwrap();
        let host = Board::waiting();
        let mut watcher = host.subscribe();
        assert_eq!(watcher.borrow_and_update().state, State::Starting);

        let first = host.begin(
            dir.path().join("a.json"),
            Status::starting("http://a:1", Utc::now()),
        );
        let first_ended = first.ended();
        assert!(
            watcher.has_changed().unwrap(),
            "the subscriber sees the first core"
        );
        assert_eq!(watcher.borrow_and_update().litefs_url, "http://a:1");
        assert!(appears(&dir.path().join("a.json")));

        let second = host.begin(
            dir.path().join("b.json"),
            Status::starting("http://b:2", Utc::now()),
        );
        tokio::time::timeout(Duration::from_secs(5), first_ended)
            .await
            .expect("the first core's companions are told it ended");
        first.apply(Event::NotConfigured {
            message: "a late word of the first core".into(),
        });
        assert_eq!(
            host.get().state,
            State::Starting,
            "the first core changes nothing"
        );
        second.apply(Event::NotConfigured {
            message: "no token".into(),
        });
        assert_eq!(watcher.borrow_and_update().state, State::NotConfigured);
        assert!(
            appears(&dir.path().join("b.json")),
            "the new core's file is written"
        );
    }
}
