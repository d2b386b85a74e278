//! The publisher: puts a verified database where the POS app reads it.
//!
//! The publish folder only ever holds complete, fsynced databases under their
//! final names. A new copy is written to a hidden temp file in the same folder
//! ([`Publisher::stage`]), verified by the caller, then [`Publisher::publish`]
//! fsyncs it, gives it its final name atomically, fsyncs the folder and applies
//! retention.
//!
//! Two layouts ([`PublishMode`]):
//! - `versioned` (the fleet's layout): `<unix-seconds>-<db>` names, unique and
//!   strictly increasing, never overwriting a file; the newest `keep` are kept.
//!   Deleting an older version that a reader still has open is safe on macOS
//!   and Linux: the file lives on until the reader closes it. Only versions this
//!   app wrote are ever deleted ([`ours`]): the folder is shared with the fleet's
//!   provisioning tool.
//! - `single`: one fixed name, `<db>`, replaced atomically by rename.

mod chain;
mod error;
mod naming;
pub mod ours;
mod patch;
pub mod patch_plan;
mod retention;
mod staging;
mod target;

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

pub use crate::config::PublishMode;
pub use error::{classify_io, PublishError};
pub use patch::{Base, PatchStats};
pub use staging::Staged;
pub use target::{How, Target, Written};

use error::io_error;

/// How many later seconds to try when a versioned name is already taken
/// (by a file that is not a regular file, or one created behind our back).
const MAX_NAME_ATTEMPTS: u32 = 64;

/// Publishes databases into one folder.
#[derive(Clone, Debug)]
pub struct Publisher {
    dir: PathBuf,
    mode: PublishMode,
    db_name: String,
    keep: usize,
    /// The list of the files we wrote ([`ours`]).
    list: PathBuf,
    /// Serialises the list's updates: retention runs beside the next publish.
    list_lock: Arc<Mutex<()>>,
    /// How many times the folder was listed for its versions: the work a folder full of
    /// other files costs, which must not follow every change in it.
    listings: Arc<AtomicU64>,
}

/// The outcome of a publish: the final path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    pub path: PathBuf,
}

impl Publisher {
    /// A publisher of `db_name` into `dir`, keeping the newest `keep` versions
    /// (`keep` must be at least 2; it only matters in versioned mode).
    pub fn new(
        dir: PathBuf,
        mode: PublishMode,
        db_name: &str,
        keep: usize,
    ) -> Result<Publisher, PublishError> {
        if keep < 2 {
            return Err(PublishError::KeepTooSmall { keep });
        }
        if !naming::is_plain_name(db_name) {
            return Err(PublishError::InvalidDbName {
                name: db_name.to_string(),
            });
        }
        Ok(Publisher {
            mode,
            db_name: db_name.to_string(),
            keep,
            list: dir.join(ours::HIDDEN_LIST),
            list_lock: Arc::default(),
            listings: Arc::default(),
            dir,
        })
    }

    /// Keeps the list of the files this publisher wrote at `list` (the app keeps it in
    /// its data folder; without this call it is `ours::HIDDEN_LIST` in the publish folder).
    pub fn with_list(mut self, list: PathBuf) -> Publisher {
        self.list = list;
        self
    }

    /// The publish folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many times the folder has been listed for its versions (by any clone).
    pub fn listings(&self) -> u64 {
        self.listings.load(Ordering::Relaxed)
    }

    /// Makes the folder ready at start-up: creates it when missing, checks
    /// that files can be created in it, and removes leftover temp files of
    /// ours. Returns how many temps were swept.
    ///
    /// Call it before staging anything: it would sweep a staged copy too.
    pub fn prepare(&self) -> Result<usize, PublishError> {
        match fs::metadata(&self.dir) {
            Ok(meta) if !meta.is_dir() => {
                return Err(PublishError::NotAFolder {
                    path: self.dir.clone(),
                })
            }
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(&self.dir)
                    .map_err(|err| io_error("create publish folder", &self.dir, err))?;
            }
            Err(err) => return Err(io_error("read publish folder", &self.dir, err)),
        }
        drop(
            Staged::create(&self.dir, &self.db_name)
                .map_err(|err| io_error("write to publish folder", &self.dir, err))?,
        );
        if self.mode == PublishMode::Versioned {
            self.sweep_set_aside(SystemTime::now());
        }
        self.sweep_temps()
    }

    /// Creates a new hidden temp file in the publish folder for the caller to
    /// write the next database into. It is deleted on drop unless published. A
    /// folder deleted while running (the VoriPOS app deleted, reinstalled or
    /// migrated) is created again.
    pub fn stage(&self) -> Result<Staged, PublishError> {
        let stage_err = |err| io_error("create a temp file in publish folder", &self.dir, err);
        match Staged::create(&self.dir, &self.db_name) {
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(&self.dir)
                    .map_err(|err| io_error("create publish folder", &self.dir, err))?;
                tracing::warn!(dir = %self.dir.display(), "the publish folder was gone; created it again");
                Staged::create(&self.dir, &self.db_name).map_err(stage_err)
            }
            staged => staged.map_err(stage_err),
        }
    }

    /// Publishes a staged copy: fsyncs it, gives it its final name atomically
    /// (versioned: a new `<seconds>-<db>` name after every existing one, never
    /// replacing a file; single: renamed over `<db>`) and fsyncs the folder.
    /// Old versions are deleted by [`Publisher::retain`], off the publish path
    /// (unlinking a large file takes tens of milliseconds).
    pub fn publish(&self, mut staged: Staged, now: SystemTime) -> Result<Published, PublishError> {
        staged
            .file()
            .sync_all()
            .map_err(|err| io_error("fsync", staged.path(), err))?;
        let path = match self.mode {
            PublishMode::Versioned => self.link_versioned(&mut staged, now)?,
            PublishMode::Single => self.rename_single(&mut staged)?,
        };
        if self.mode == PublishMode::Versioned {
            self.set_aside_future(now);
        }
        sync_dir(&self.dir)?;
        Ok(Published { path })
    }

    /// Retention: in versioned mode, deletes all but the newest `keep` versions and
    /// returns what it deleted, and sweeps copies set aside for being named ahead of
    /// the clock ([`Publisher::sweep_set_aside`]). Failures are logged, never fatal
    /// (the new version is out); the file stays for the next round.
    pub fn retain(&self) -> Vec<PathBuf> {
        match self.mode {
            PublishMode::Versioned => {
                self.sweep_set_aside(SystemTime::now());
                self.apply_retention()
            }
            PublishMode::Single => Vec::new(),
        }
    }

    /// Deletes the copies set aside for being named ahead of the clock once the clock at
    /// `now` has caught up with their names, and all but the newest few meanwhile
    /// ([`retention::set_aside_to_delete`]); returns what it deleted. Runs at start and
    /// after every publish.
    pub fn sweep_set_aside(&self, now: SystemTime) -> Vec<PathBuf> {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let aside: Vec<(u64, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|entry| {
                let name = entry.file_name();
                let seconds = naming::parse_set_aside(name.to_str()?, &self.db_name)?;
                Some((seconds, entry.path()))
            })
            .collect();
        retention::set_aside_to_delete(&aside, unix_seconds(now), naming::is_plausible)
            .into_iter()
            .filter(|path| match fs::remove_file(path) {
                Ok(()) => {
                    tracing::info!(path = %path.display(), "deleted a copy set aside while the clock was wrong");
                    true
                }
                Err(err) => {
                    if err.kind() != io::ErrorKind::NotFound {
                        tracing::warn!(path = %path.display(), error = %err, "could not delete a copy set aside while the clock was wrong");
                    }
                    false
                }
            })
            .collect()
    }

    /// The newest published file: versioned, the highest seconds; single,
    /// `<db>` if it exists. `None` when nothing is published (or the folder
    /// does not exist yet).
    pub fn newest(&self) -> Result<Option<PathBuf>, PublishError> {
        match self.mode {
            PublishMode::Versioned => Ok(self
                .plausible_versions(SystemTime::now())?
                .into_iter()
                .max()
                .map(|(_, path)| path)),
            PublishMode::Single => {
                let path = self.dir.join(&self.db_name);
                match fs::metadata(&path) {
                    Ok(meta) => Ok(meta.is_file().then_some(path)),
                    Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
                    Err(err) => Err(io_error("read", &path, err)),
                }
            }
        }
    }

    /// Hard-links the staged copy to the next free versioned name (a link
    /// fails rather than replace an existing file), then drops the temp name.
    fn link_versioned(
        &self,
        staged: &mut Staged,
        now: SystemTime,
    ) -> Result<PathBuf, PublishError> {
        let newest = self
            .plausible_versions(now)?
            .into_iter()
            .map(|(seconds, _)| seconds)
            .max();
        let mut seconds = naming::next_seconds(unix_seconds(now), newest);
        let mut attempts = 1;
        let target = loop {
            let target = self
                .dir
                .join(naming::versioned_name(seconds, &self.db_name));
            match fs::hard_link(staged.path(), &target) {
                Ok(()) => break target,
                Err(err)
                    if err.kind() == io::ErrorKind::AlreadyExists
                        && attempts < MAX_NAME_ATTEMPTS =>
                {
                    attempts += 1;
                    seconds = seconds.saturating_add(1);
                }
                Err(err) => return Err(io_error("publish to", &target, err)),
            }
        };
        staged.mark_published();
        staging::remove_temp(staged.path());
        self.remember(&target);
        Ok(target)
    }

    /// Whether `path` is a file this app published into the folder (see [`ours`]); a
    /// file written by someone else, or that cannot be told, is not.
    pub fn is_ours(&self, path: &Path) -> bool {
        match self.mode {
            PublishMode::Single => path == self.dir.join(&self.db_name),
            PublishMode::Versioned => {
                ours::read(&self.list).is_ok_and(|paths| paths.contains(path))
            }
        }
    }

    /// Adds the version at `path` to the list of ours; a failure is logged (the file is
    /// published, it just will not be retired).
    fn remember(&self, path: &Path) {
        let _guard = self.list_lock.lock().unwrap_or_else(|e| e.into_inner());
        let result = ours::read(&self.list).and_then(|mut paths| {
            paths.insert(path.to_path_buf());
            ours::write(&self.list, &paths)
        });
        if let Err(err) = result {
            tracing::warn!(
                path = %path.display(),
                error = %err,
                "could not record a published version as ours; retention will leave it in place"
            );
        }
    }

    /// Renames the staged copy over `<db>`, atomically replacing the old one.
    fn rename_single(&self, staged: &mut Staged) -> Result<PathBuf, PublishError> {
        let target = self.dir.join(&self.db_name);
        fs::rename(staged.path(), &target).map_err(|err| io_error("publish to", &target, err))?;
        staged.mark_published();
        Ok(target)
    }

    /// Moves versioned files named further ahead of the clock than
    /// [`naming::MAX_AHEAD_SECS`] to hidden names, once a version of ours is newer in the
    /// POS app's eyes. Failures are logged; the next publish tries again.
    fn set_aside_future(&self, now: SystemTime) {
        let now_secs = unix_seconds(now);
        let Ok(versions) = self.versions() else {
            return;
        };
        for (_, path) in versions
            .into_iter()
            .filter(|(seconds, _)| !naming::is_plausible(*seconds, now_secs))
        {
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let aside = self.dir.join(naming::set_aside_name(name));
            match fs::rename(&path, &aside) {
                Ok(()) => tracing::warn!(
                    path = %path.display(),
                    moved_to = %aside.display(),
                    "a database named far ahead of the clock was set aside so the POS app reads the current one"
                ),
                Err(err) => tracing::warn!(
                    path = %path.display(),
                    error = %err,
                    "could not set aside a database named far ahead of the clock"
                ),
            }
        }
    }

    /// Deletes all but the newest `keep` of our versions; returns what it deleted.
    /// Files someone else wrote (not on the list of ours) are never touched.
    fn apply_retention(&self) -> Vec<PathBuf> {
        let _guard = self.list_lock.lock().unwrap_or_else(|e| e.into_inner());
        let listed = ours::read(&self.list).map_err(|e| io_error("read", &self.list, e));
        let (versions, listed) = match self
            .plausible_versions(SystemTime::now())
            .and_then(|versions| Ok((versions, listed?)))
        {
            Ok(found) => found,
            Err(err) => {
                tracing::warn!(error = %err, "retention skipped");
                return Vec::new();
            }
        };
        let mine = retention::ours_only(versions, &listed);
        let removed: Vec<PathBuf> = retention::to_delete(&mine, self.keep)
            .into_iter()
            .filter(|path| {
                let removed = match fs::remove_file(path) {
                    Ok(()) => true,
                    Err(err) if err.kind() == io::ErrorKind::NotFound => false,
                    Err(err) => {
                        tracing::warn!(
                            path = %path.display(),
                            error = %err,
                            "could not delete an old version; retention will retry next publish"
                        );
                        return false;
                    }
                };
                remove_sidecars(path);
                removed
            })
            .collect();
        // Forget the files that are gone (deleted now, or by someone else).
        let left: std::collections::BTreeSet<PathBuf> =
            listed.iter().filter(|p| p.is_file()).cloned().collect();
        if left != listed {
            if let Err(err) = ours::write(&self.list, &left) {
                tracing::warn!(error = %err, "could not update the list of published versions");
            }
        }
        removed
    }

    /// The versioned files in the folder (regular files named `<seconds>-<db>`)
    /// with their seconds. A missing folder has none.
    fn versions(&self) -> Result<Vec<(u64, PathBuf)>, PublishError> {
        let read_err = |err| io_error("read publish folder", &self.dir, err);
        self.listings.fetch_add(1, Ordering::Relaxed);
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(read_err(err)),
        };
        let mut versions = Vec::new();
        for entry in entries {
            let entry = entry.map_err(read_err)?;
            let Some(seconds) = entry
                .file_name()
                .to_str()
                .and_then(|name| naming::parse_versioned(name, &self.db_name))
            else {
                continue;
            };
            if entry.file_type().map_err(read_err)?.is_file() {
                versions.push((seconds, entry.path()));
            }
        }
        Ok(versions)
    }

    /// The versions whose names follow the clock at `now` (see [`naming::is_plausible`]).
    fn plausible_versions(&self, now: SystemTime) -> Result<Vec<(u64, PathBuf)>, PublishError> {
        let now_secs = unix_seconds(now);
        let mut versions = self.versions()?;
        versions.retain(|(seconds, _)| naming::is_plausible(*seconds, now_secs));
        Ok(versions)
    }

    /// Removes leftover temp files of ours; returns how many.
    fn sweep_temps(&self) -> Result<usize, PublishError> {
        let read_err = |err| io_error("read publish folder", &self.dir, err);
        let mut swept = 0;
        for entry in fs::read_dir(&self.dir).map_err(read_err)? {
            let entry = entry.map_err(read_err)?;
            let ours = entry
                .file_name()
                .to_str()
                .is_some_and(|name| naming::is_our_temp(name, &self.db_name));
            if !ours || !entry.file_type().map_err(read_err)?.is_file() {
                continue;
            }
            let path = entry.path();
            match fs::remove_file(&path) {
                Ok(()) => swept += 1,
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(io_error("remove leftover temp file", &path, err)),
            }
        }
        Ok(swept)
    }
}

/// Adds every versioned file of `db_name` in `dir` to the list of ours at `list` (the
/// files of the retired 0.4.x container, which this app replaces); returns how many
/// files the list holds.
pub fn adopt_versions(dir: &Path, db_name: &str, list: &Path) -> Result<usize, PublishError> {
    let publisher = Publisher::new(dir.to_path_buf(), PublishMode::Versioned, db_name, 2)?
        .with_list(list.to_path_buf());
    let versions = publisher.versions()?;
    let mut listed = ours::read(list).map_err(|e| io_error("read", list, e))?;
    listed.extend(versions.into_iter().map(|(_, path)| path));
    ours::write(list, &listed).map_err(|e| io_error("write", list, e))?;
    Ok(listed.len())
}

/// Deletes the `-wal`/`-shm`/`-journal` files a reader's SQLite left beside a
/// retired version; a failure is logged (a reader may still hold them open, which
/// is harmless: the inode lives until closed).
fn remove_sidecars(version: &Path) {
    for sidecar in retention::sidecars(version) {
        match fs::remove_file(&sidecar) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => tracing::warn!(
                path = %sidecar.display(),
                error = %err,
                "could not delete a retired version's SQLite sidecar file"
            ),
        }
    }
}

/// Seconds since the Unix epoch (0 for a clock set before 1970).
fn unix_seconds(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or(0)
}

/// Makes the folder's entries (new names, removed temps) durable. Some
/// filesystems cannot fsync a folder and say so with EINVAL or ENOTSUP; like
/// SQLite, treat that as done.
fn sync_dir(dir: &Path) -> Result<(), PublishError> {
    match File::open(dir).and_then(|folder| folder.sync_all()) {
        Ok(()) => Ok(()),
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
            ) =>
        {
            tracing::debug!(dir = %dir.display(), error = %err, "folder fsync not supported");
            Ok(())
        }
        Err(err) => Err(io_error("fsync publish folder", dir, err)),
    }
}

#[cfg(test)]
mod tests;
