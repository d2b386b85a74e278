//! The status board: the one place the current [`Status`] lives.
//!
//! Every change is published to watchers (the menu, through a `watch` channel) and
//! written atomically to the status file (for `status` and support tooling).

use std::path::PathBuf;

use tokio::sync::watch;

use crate::status::{self, State, Status};

pub struct Board {
    file: PathBuf,
    tx: watch::Sender<Status>,
}

impl Board {
    pub fn new(file: PathBuf, initial: Status) -> Self {
        let board = Board {
            file,
            tx: watch::Sender::new(initial),
        };
        board.persist();
        board
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
        if changed {
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
            self.persist();
        }
    }

    fn persist(&self) {
        let snapshot = self.get();
        if let Err(e) = status::write_file(&self.file, &snapshot) {
            tracing::warn!(file = %self.file.display(), error = %e, "could not write the status file");
        }
    }
}
