//! Reading the small files the app is told things by (the config file, `.env`, the
//! preferences plists, Docker's context files, a status file) without trusting them:
//! only a regular file is read, never more than a bound, and never by blocking.
//!
//! A FIFO put where the config file was would otherwise hold the reader until someone
//! writes to it, and a symlink to `/dev/zero` would be read until memory runs out. The
//! file's type is checked before it is opened, and again on the open handle (opened
//! non-blocking, so swapping in a FIFO between the two cannot block either).

use std::fs::{File, FileType, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The largest config, `.env` or plist file read (a real one is a few KiB).
pub const MAX_SETTINGS_BYTES: u64 = 1024 * 1024;

/// Why a small file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SmallFileError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path} is {kind}, not a regular file; replace it with a plain file")]
    NotAFile { path: PathBuf, kind: &'static str },
    #[error("{path} is larger than {limit} bytes; that cannot be a real one (replace it)")]
    TooLarge { path: PathBuf, limit: u64 },
}

impl SmallFileError {
    /// Whether the file does not exist (the only error callers may treat as "absent").
    pub fn not_found(&self) -> bool {
        matches!(self, SmallFileError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }
}

/// Reads `path` (following symlinks) if it is a regular file of at most `limit` bytes.
pub fn read(path: &Path, limit: u64) -> Result<Vec<u8>, SmallFileError> {
    let io_err = |source| SmallFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let not_a_file = |kind| SmallFileError::NotAFile {
        path: path.to_path_buf(),
        kind,
    };
    let too_large = || SmallFileError::TooLarge {
        path: path.to_path_buf(),
        limit,
    };
    let meta = std::fs::metadata(path).map_err(io_err)?;
    if let Some(kind) = not_regular(meta.file_type()) {
        return Err(not_a_file(kind));
    }
    let file = open_nonblocking(path).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    if let Some(kind) = not_regular(meta.file_type()) {
        return Err(not_a_file(kind));
    }
    if meta.len() > limit {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

/// [`read`] as UTF-8 text.
pub fn read_text(path: &Path, limit: u64) -> Result<String, SmallFileError> {
    String::from_utf8(read(path, limit)?).map_err(|_| SmallFileError::Io {
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidData, "it is not UTF-8 text"),
    })
}

/// Opens for reading without blocking on a FIFO or a device that waits.
fn open_nonblocking(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

/// What a file that is not regular is, in words; `None` for a regular file.
fn not_regular(kind: FileType) -> Option<&'static str> {
    if kind.is_file() {
        None
    } else if kind.is_dir() {
        Some("a folder")
    } else if kind.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if kind.is_char_device() || kind.is_block_device() {
        Some("a device")
    } else if kind.is_socket() {
        Some("a socket")
    } else {
        Some("not a plain file")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[publish]\nkeep = 3\n").unwrap();
        assert_eq!(
            read_text(&path, MAX_SETTINGS_BYTES).unwrap(),
            "[publish]\nkeep = 3\n"
        );
        let missing = read(&dir.path().join("nope"), 10).unwrap_err();
        assert!(missing.not_found(), "{missing}");
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        let err = read(&path, MAX_SETTINGS_BYTES).unwrap_err();
        assert!(matches!(err, SmallFileError::NotAFile { .. }), "{err}");
        assert!(err.to_string().contains("FIFO"), "{err}");
        assert!(!err.not_found());
    }

    #[test]
    fn a_symlink_to_an_endless_device_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        let err = read(&path, MAX_SETTINGS_BYTES).unwrap_err();
        assert!(err.to_string().contains("a device"), "{err}");
    }

    #[test]
    fn a_file_over_the_bound_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, vec![b'#'; 101]).unwrap();
        let err = read(&path, 100).unwrap_err();
        assert!(
            matches!(err, SmallFileError::TooLarge { limit: 100, .. }),
            "{err}"
        );
        assert_eq!(read(&path, 101).unwrap().len(), 101);
    }
}
