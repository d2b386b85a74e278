//! The status board: the one place the current [`Status`] lives.
//!
//! Changes come as [`Event`]s, applied by the one transition function
//! ([`model::apply`]). Every change is published to watchers (the menu, through a `watch` channel) and
//! written atomically to the status file (for `status` and support tooling) by a writer
//! task off the sync path; changes that come faster than the disk are merged.
//!
//! The free-text fields (`detail`, `error.message`) are scrubbed of every registered
//! secret first: the status file is what support copies into tickets.

use std::borrow::Cow;
use std::path::PathBuf;

use chrono::Utc;
use tokio::sync::watch;

use crate::secrets;
use crate::status::{self, model, Event, State, Status};

pub struct Board {
    tx: watch::Sender<Status>,
}

impl Board {
    /// Creates the board and its status-file writer (needs a tokio runtime).
    pub fn new(file: PathBuf, mut initial: Status) -> Self {
        scrub(&mut initial);
        let tx = watch::Sender::new(initial);
        tokio::spawn(write_changes(file, tx.subscribe()));
        Board { tx }
    }

    /// A receiver of every new snapshot.
    pub fn subscribe(&self) -> watch::Receiver<Status> {
        self.tx.subscribe()
    }

    /// The current snapshot.
    pub fn get(&self) -> Status {
        self.tx.borrow().clone()
    }

    /// Applies `event` now ([`model::apply`]); watchers and the file see the result only
    /// if something changed.
    pub fn apply(&self, event: Event) {
        self.update(|s| model::apply(s, event, Utc::now()));
    }

    fn update(&self, change: impl FnOnce(&mut Status)) {
        let before = self.get();
        let changed = self.tx.send_if_modified(|s| {
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

/// Writes the newest snapshot to `file` after each change, and at least every
/// [`status::HEARTBEAT`] (a fresh `updated_at` says the instance is alive), until the
/// board is gone.
async fn write_changes(file: PathBuf, mut rx: watch::Receiver<Status>) {
    loop {
        let snapshot = rx.borrow_and_update().clone();
        let path = file.clone();
        let written =
            tokio::task::spawn_blocking(move || status::write_current(&path, &snapshot)).await;
        if let Err(e) = written.map_err(std::io::Error::other).and_then(|r| r) {
            tracing::warn!(file = %file.display(), error = %e, "could not write the status file");
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
}
