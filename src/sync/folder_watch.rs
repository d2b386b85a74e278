//! Watches the publish folder for changes made behind our back, and follows the folder
//! when it is deleted and created again.
//!
//! On Linux a watch is tied to the folder's inode: once the folder is deleted or moved
//! (what deleting, reinstalling or migrating the VoriPOS app does) the old watch sees
//! nothing more, and a new folder may even get the old inode number. So the watch marks
//! itself lost when it sees its own folder go, and [`FolderWatch::ensure`] watches again
//! when it was lost or the folder's identity changed; the worker calls it after every
//! sync. A failure to
//! watch only loses this one trigger: the next sync notices changes anyway.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use notify::Watcher;
use tokio::sync::mpsc;

/// A watch on one folder; changes arrive on [`FolderWatch::changes`].
pub struct FolderWatch {
    dir: PathBuf,
    tx: mpsc::Sender<()>,
    pub changes: mpsc::Receiver<()>,
    watcher: Option<notify::RecommendedWatcher>,
    /// Device and inode of the folder being watched.
    watched: Option<(u64, u64)>,
    /// Set by the watch when its folder was deleted or moved away.
    lost: Arc<AtomicBool>,
}

impl FolderWatch {
    /// Watches `dir` if it exists; otherwise waits for [`FolderWatch::ensure`].
    pub fn new(dir: &Path) -> FolderWatch {
        let (tx, changes) = mpsc::channel(1);
        let mut watch = FolderWatch {
            dir: dir.to_path_buf(),
            tx,
            changes,
            watcher: None,
            watched: None,
            lost: Arc::new(AtomicBool::new(false)),
        };
        watch.ensure();
        watch
    }

    /// Watches the folder again if it is not the one being watched (deleted and created
    /// again, or not there before).
    pub fn ensure(&mut self) {
        let Some(identity) = identity(&self.dir) else {
            return;
        };
        let lost = self.lost.swap(false, Ordering::SeqCst);
        if self.watched == Some(identity) && self.watcher.is_some() && !lost {
            return;
        }
        if self.watched.is_some() {
            tracing::info!(dir = %self.dir.display(), "the publish folder was created again; watching it");
        }
        // Drop the old watch first: it must not mark the new one lost.
        self.watcher = None;
        self.lost = Arc::new(AtomicBool::new(false));
        self.watcher = watch(&self.dir, self.tx.clone(), self.lost.clone());
        self.watched = Some(identity);
    }
}

fn identity(dir: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(dir)
        .ok()
        .filter(|m| m.is_dir())
        .map(|m| (m.dev(), m.ino()))
}

/// Whether `event` says the watched folder `dir` itself went away (deleted or moved).
fn folder_gone(event: &notify::Event, dir: &Path) -> bool {
    use notify::event::{EventKind, ModifyKind};
    matches!(
        event.kind,
        EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_))
    ) && event.paths.iter().any(|p| p == dir)
}

fn watch(
    dir: &Path,
    tx: mpsc::Sender<()>,
    lost: Arc<AtomicBool>,
) -> Option<notify::RecommendedWatcher> {
    let watched = dir.to_path_buf();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else {
            return;
        };
        if folder_gone(&event, &watched) {
            lost.store(true, Ordering::SeqCst);
        }
        // Opening or reading the folder (which our own checks do) is not a change.
        if !event.kind.is_access() {
            let _ = tx.try_send(());
        }
    });
    match watcher {
        Ok(mut w) => match w.watch(dir, notify::RecursiveMode::NonRecursive) {
            Ok(()) => Some(w),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot watch the publish folder; changes behind our back are noticed at the next sync");
                None
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, "no file watcher available");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn changed(watch: &mut FolderWatch) -> bool {
        tokio::time::timeout(Duration::from_secs(5), watch.changes.recv())
            .await
            .is_ok()
    }

    #[test]
    fn only_the_folder_itself_going_away_loses_the_watch() {
        use notify::event::{EventKind, ModifyKind, RemoveKind, RenameMode};
        let dir = Path::new("/d/Domain");
        let event = |kind, path: &str| notify::Event::new(kind).add_path(PathBuf::from(path));
        assert!(folder_gone(
            &event(EventKind::Remove(RemoveKind::Folder), "/d/Domain"),
            dir
        ));
        assert!(folder_gone(
            &event(
                EventKind::Modify(ModifyKind::Name(RenameMode::From)),
                "/d/Domain"
            ),
            dir
        ));
        assert!(!folder_gone(
            &event(
                EventKind::Remove(RemoveKind::File),
                "/d/Domain/1-Domain.sqlite3"
            ),
            dir
        ));
        assert!(!folder_gone(
            &event(EventKind::Modify(ModifyKind::Any), "/d/Domain"),
            dir
        ));
    }

    #[tokio::test]
    async fn a_folder_deleted_and_created_again_is_watched_again() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("Domain");
        let mut watch = FolderWatch::new(&dir);
        std::fs::create_dir(&dir).unwrap();
        watch.ensure();
        std::fs::write(dir.join("1-Domain.sqlite3"), b"x").unwrap();
        assert!(changed(&mut watch).await, "a change in the new folder");

        std::fs::remove_dir_all(&dir).unwrap();
        assert!(changed(&mut watch).await, "the deletion itself");
        while watch.changes.try_recv().is_ok() {}
        std::fs::create_dir(&dir).unwrap();
        watch.ensure();
        std::fs::write(dir.join("2-Domain.sqlite3"), b"y").unwrap();
        assert!(
            changed(&mut watch).await,
            "a change in the recreated folder"
        );
    }
}
