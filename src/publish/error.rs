//! Errors of the publisher. Each names the path involved and says what to do;
//! [`PublishError::kind`] gives a short stable kind for the status.

use std::io;
use std::path::{Path, PathBuf};

use crate::error_kind::ErrorKind;

/// Why publishing (or preparing to publish) failed.
///
/// The I/O error is part of the message rather than a `source()`, so that the
/// one-line message shown in the status is complete on its own.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(
        "publish keep must be >= 2 (got {keep}) — set [publish] keep to 2 or more, \
         so the POS app always has the previous version next to the newest"
    )]
    KeepTooSmall { keep: usize },

    #[error(
        "cannot publish a database named {name:?}: it must be a plain, non-hidden file name \
         — set [litefs] database to a name such as Domain.sqlite3"
    )]
    InvalidDbName { name: String },

    #[error(
        "publish folder {} exists but is not a folder — move that file away, or set [publish] dir",
        path.display()
    )]
    NotAFolder { path: PathBuf },

    #[error(
        "cannot {action} {}: the disk is full ({cause}) — free space on that disk; \
         the database published before is untouched",
        path.display()
    )]
    DiskFull {
        action: &'static str,
        path: PathBuf,
        cause: io::Error,
    },

    #[error(
        "cannot {action} {}: {cause} — check the folder's owner and permissions \
         (and that its disk is not read-only), or set [publish] dir",
        path.display()
    )]
    PermissionDenied {
        action: &'static str,
        path: PathBuf,
        cause: io::Error,
    },

    #[error(
        "the patched copy {} has checksum {actual}, not the source's {expected}; \
         it was not published (the next version is written whole)",
        path.display()
    )]
    PatchMismatch {
        path: PathBuf,
        expected: crate::litefs::Checksum,
        actual: crate::litefs::Checksum,
    },

    #[error(
        "cannot {action} {}: {cause} — check that the disk is healthy and the folder usable, \
         or set [publish] dir",
        path.display()
    )]
    Io {
        action: &'static str,
        path: PathBuf,
        cause: io::Error,
    },
}

impl PublishError {
    /// The status's error kind: `config_invalid`, `not_a_folder`, `disk_full`,
    /// `permission_denied` or `io`.
    pub fn kind(&self) -> ErrorKind {
        match self {
            PublishError::KeepTooSmall { .. } | PublishError::InvalidDbName { .. } => {
                ErrorKind::ConfigInvalid
            }
            PublishError::NotAFolder { .. } => ErrorKind::NotAFolder,
            PublishError::DiskFull { .. } => ErrorKind::DiskFull,
            PublishError::PermissionDenied { .. } => ErrorKind::PermissionDenied,
            PublishError::Io { .. } => ErrorKind::Io,
            PublishError::PatchMismatch { .. } => ErrorKind::ChecksumMismatch,
        }
    }
}

/// Turns an error from writing to a staged file at `path` into a
/// [`PublishError`], recognising a full disk and a permission problem.
pub fn classify_io(err: &io::Error, path: &Path) -> PublishError {
    let copy = match err.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(err.kind(), err.to_string()),
    };
    io_error("write to", path, copy)
}

/// The [`PublishError`] for `cause` while doing `action` (a verb phrase such
/// as "create the publish folder") on `path`.
pub(super) fn io_error(action: &'static str, path: &Path, cause: io::Error) -> PublishError {
    let path = path.to_path_buf();
    match cause.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => PublishError::DiskFull {
            action,
            path,
            cause,
        },
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            PublishError::PermissionDenied {
                action,
                path,
                cause,
            }
        }
        _ => PublishError::Io {
            action,
            path,
            cause,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENOSPC: i32 = 28;
    const EACCES: i32 = 13;

    #[test]
    fn recognises_a_full_disk() {
        let err = io::Error::from_raw_os_error(ENOSPC);
        let classified = classify_io(&err, Path::new("/pub/.Domain.sqlite3.1-a.tmp"));
        assert_eq!(classified.kind(), ErrorKind::DiskFull);
        let message = classified.to_string();
        assert!(
            message.contains("/pub/.Domain.sqlite3.1-a.tmp"),
            "{message}"
        );
        assert!(message.contains("disk is full"), "{message}");
    }

    #[test]
    fn recognises_a_permission_problem() {
        let err = io::Error::from_raw_os_error(EACCES);
        let classified = classify_io(&err, Path::new("/pub/x"));
        assert_eq!(classified.kind(), ErrorKind::PermissionDenied);
        assert!(classified.to_string().contains("set [publish] dir"));
    }

    #[test]
    fn keeps_errors_without_an_os_code() {
        let err = io::Error::new(io::ErrorKind::StorageFull, "quota reached");
        let classified = classify_io(&err, Path::new("/pub/x"));
        assert_eq!(classified.kind(), ErrorKind::DiskFull);
        assert!(classified.to_string().contains("quota reached"));
        let other = classify_io(&io::Error::other("boom"), Path::new("/pub/x"));
        assert_eq!(other.kind(), ErrorKind::Io);
    }
}
