//! An inspection (metadata, row counts) that runs beside a sync's other steps: it reads
//! through a connection opened when it starts, so it keeps reading the same file after
//! the file was published under its final name, and the rename of a verified file never
//! waits for it.

use std::path::PathBuf;

use crate::inspect::{self, Inspection};

/// An inspection running on the blocking pool through a connection opened when it
/// started; dropping it (an aborted sync, a quit) interrupts SQLite at once.
pub(super) struct Inspecting {
    task: Option<tokio::task::JoinHandle<Result<Inspection, inspect::InspectError>>>,
    cancel: inspect::Cancel,
    shown: PathBuf,
}

impl Inspecting {
    /// Opens `path` and starts reading its metadata and the row counts of `tables`
    /// within [`inspect::INSPECT_BUDGET`]. A file that cannot be opened is logged and
    /// gives no inspection.
    pub(super) async fn start(path: PathBuf, tables: Vec<String>) -> Inspecting {
        let cancel = inspect::Cancel::default();
        let shown = path.clone();
        let opened =
            tokio::task::spawn_blocking(move || inspect::open_readonly(&path).map(|c| (c, path)));
        let task = logged(opened.await, &shown).map(|(conn, path)| {
            let watch = cancel.clone();
            tokio::task::spawn_blocking(move || {
                inspect::inspect_open(conn, &path, &tables, inspect::INSPECT_BUDGET, &watch)
            })
        });
        Inspecting {
            task,
            cancel,
            shown,
        }
    }

    /// What the inspection read; a failure is logged and shown as unknown, what could
    /// not be read is named in the inspection.
    pub(super) async fn finish(mut inspecting: Inspecting) -> Option<Inspection> {
        let shown = &inspecting.shown;
        let read = logged(inspecting.task.as_mut()?.await, shown)?;
        if !read.unread.is_empty() {
            tracing::warn!(path = %shown.display(), unread = ?read.unread, "parts of the database could not be read");
        }
        Some(read)
    }
}

/// The value of a blocking step of the inspection of `shown`; its failure is logged.
fn logged<T, E: std::fmt::Display>(
    step: Result<Result<T, E>, tokio::task::JoinError>,
    shown: &std::path::Path,
) -> Option<T> {
    match step {
        Ok(Ok(value)) => Some(value),
        Ok(Err(e)) => {
            tracing::warn!(path = %shown.display(), error = %e, "could not inspect the database");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "inspection task failed");
            None
        }
    }
}

impl Drop for Inspecting {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}
