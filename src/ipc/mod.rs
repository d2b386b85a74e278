//! The control socket: how the CLI (and a second launch) talks to the running instance.
//!
//! A Unix socket `control.sock` beside the status file, readable and writable only by
//! the user (the socket is 0600; folders the app creates for it are 0700). One JSON
//! request per line, one JSON response per line ([`protocol`]). Binding it is also the
//! single-instance check: the instance holds an exclusive lock on `control.lock` beside
//! the socket for as long as it runs ([`server::bind`]).

pub mod client;
pub mod protocol;
pub mod server;

use std::path::{Path, PathBuf};

/// The control socket for the instance whose status file is `status_file`.
pub fn socket_path(status_file: &Path) -> PathBuf {
    status_file
        .parent()
        .unwrap_or(Path::new("."))
        .join("control.sock")
}

/// The lock file held by the instance that owns the control socket at `socket`.
pub fn lock_path(socket: &Path) -> PathBuf {
    socket.with_file_name("control.lock")
}

/// Why the control socket could not be used.
#[derive(Debug, thiserror::Error)]
pub enum IpcError {
    #[error("no running instance (nothing answers at {0})")]
    NotRunning(PathBuf),
    #[error("another instance is already running (it answers at {0})")]
    AlreadyRunning(PathBuf),
    #[error("the control socket {path} failed")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the running instance answered something unexpected: {0}")]
    Protocol(String),
}
