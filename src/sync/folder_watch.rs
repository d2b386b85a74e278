//! Watches the publish folder for changes made behind our back, and follows the folder
//! when it is deleted and created again.
//!
//! On Linux a watch is tied to the folder's inode: once the folder is deleted or moved
//! (what deleting, reinstalling or migrating the VoriPOS app does) the old watch sees
//! nothing more, and a new folder may even get the old inode number. So the watch marks
//! itself lost when it sees its own folder go, and [`FolderWatch::ensure`] watches again
//! when it was lost or the folder's identity changed; the worker calls it after every
//! sync and at every periodic look. A watch that cannot start (no inotify instances
//! left, say) is retried there and named by [`FolderWatch::problem`] for the status;
//! meanwhile the periodic look at the published file's stamp notices changes.

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
    /// Why the folder is not watched, when a watch could not start.
    problem: Option<String>,
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
            problem: None,
        };
        watch.ensure();
        watch
    }

    /// Why the folder is not watched (a watch that could not start), if so.
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// Watches the folder again if it is not the one being watched (deleted and created
    /// again, not there before, or a watch that could not start).
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
        match watch(&self.dir, self.tx.clone(), self.lost.clone()) {
            Ok(watcher) => {
                if self.problem.take().is_some() {
                    tracing::info!(dir = %self.dir.display(), "watching the publish folder again");
                }
                self.watcher = Some(watcher);
            }
            Err(problem) => {
                if self.problem.as_ref() != Some(&problem) {
                    tracing::warn!(dir = %self.dir.display(), "{problem}; changes behind the app's back are noticed by its periodic look instead, and watching is retried");
                }
                self.problem = Some(problem);
            }
        }
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
) -> Result<notify::RecommendedWatcher, String> {
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
    let mut watcher = watcher.map_err(|e| format!("no file watcher available ({e})"))?;
    watcher
        .watch(dir, notify::RecursiveMode::NonRecursive)
        .map_err(|e| format!("cannot watch the publish folder ({e})"))?;
    Ok(watcher)
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
