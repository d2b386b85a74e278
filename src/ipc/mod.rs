//! The control socket: how the CLI (and a second launch) talks to the running instance.
//!
//! A Unix socket `control.sock` beside the status file, readable and writable only by
//! the user (the folder is made 0700, the socket 0600). One JSON request per line, one
//! JSON response per line ([`protocol`]). Binding it is also the single-instance check:
//! a socket that answers means another instance runs ([`server::bind`]).

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
