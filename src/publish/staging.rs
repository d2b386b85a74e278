//! A staged copy: a hidden temp file in the publish folder that the caller
//! writes the new database into before it is published. Living in the same
//! folder keeps the final rename or link atomic; being hidden and dot-prefixed
//! keeps the POS app from ever picking it up. Dropping a staged copy that was
//! not published deletes it.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use super::naming;

/// A hidden temp file in the publish folder, deleted on drop unless published.
#[derive(Debug)]
pub struct Staged {
    path: PathBuf,
    file: File,
    published: bool,
}

impl Staged {
    /// Creates a new, uniquely named temp file for `db_name` in `dir`
    /// (never an existing file: `create_new`).
    pub(super) fn create(dir: &Path, db_name: &str) -> io::Result<Staged> {
        let name = naming::temp_name(db_name, std::process::id(), fastrand::u64(..));
        let path = dir.join(name);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        Ok(Staged {
            path,
            file,
            published: false,
        })
    }

    /// A new temp file for `db_name` in `dir` that is a copy-on-write clone of `base`
    /// (APFS `clonefile`, `FICLONE` on XFS and btrfs); fails where the filesystem cannot
    /// clone, leaving nothing behind.
    pub(super) fn clone_of(dir: &Path, db_name: &str, base: &Path) -> io::Result<Staged> {
        let path = dir.join(naming::temp_name(
            db_name,
            std::process::id(),
            fastrand::u64(..),
        ));
        if let Err(e) = reflink_copy::reflink(base, &path) {
            remove_temp(&path);
            return Err(e);
        }
        let staged = OpenOptions::new().read(true).write(true).open(&path);
        match staged {
            Ok(file) => Ok(Staged {
                path,
                file,
                published: false,
            }),
            Err(e) => {
                remove_temp(&path);
                Err(e)
            }
        }
    }

    /// Where the staged copy is (a hidden name in the publish folder).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open temp file (readable and writable; `&File` implements `Read`,
    /// `Write` and `Seek`).
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The open temp file, for writers that want `&mut File`.
    pub fn file_mut(&mut self) -> &mut File {
        &mut self.file
    }

    /// Records that the copy is now published: dropping no longer deletes it.
    pub(super) fn mark_published(&mut self) {
        self.published = true;
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.published {
            remove_temp(&self.path);
        }
    }
}

/// Removes a temp file; a missing file is fine, any other failure is only
/// logged (the next start-up sweeps leftover temps).
pub(super) fn remove_temp(path: &Path) {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => tracing::warn!(
            path = %path.display(),
            error = %err,
            "could not remove temp file; it will be swept at the next start"
        ),
    }
}
