//! The status board: the one place the current [`Status`] lives.
//!
//! Every change is published to watchers (the menu, through a `watch` channel) and
//! written atomically to the status file (for `status` and support tooling) by a writer
//! task off the sync path; changes that come faster than the disk are merged.

use std::path::PathBuf;

use tokio::sync::watch;

use crate::status::{self, State, Status};

pub struct Board {
    tx: watch::Sender<Status>,
}

impl Board {
    /// Creates the board and its status-file writer (needs a tokio runtime).
    pub fn new(file: PathBuf, initial: Status) -> Self {
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

    /// Changes the status; watchers and the file see it only if something changed.
    pub fn update(&self, change: impl FnOnce(&mut Status)) {
        let before = self.get();
        let changed = self.tx.send_if_modified(|s| {
            change(s);
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

/// Writes the newest snapshot to `file` after each change, until the board is gone.
async fn write_changes(file: PathBuf, mut rx: watch::Receiver<Status>) {
    loop {
        let snapshot = rx.borrow_and_update().clone();
        let path = file.clone();
        let written =
            tokio::task::spawn_blocking(move || status::write_file(&path, &snapshot)).await;
        if let Err(e) = written.map_err(std::io::Error::other).and_then(|r| r) {
            tracing::warn!(file = %file.display(), error = %e, "could not write the status file");
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}
