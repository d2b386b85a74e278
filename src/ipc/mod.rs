//! The control socket: how the CLI (and a second launch) talks to the running instance.
//!
//! A Unix socket `control.sock` beside the status file, readable and writable only by
//! the user (the socket is 0600; folders the app creates for it are 0700). One JSON
//! request per line, one JSON response per line ([`protocol`]). Binding it is also the
//! single-instance check: the instance holds an exclusive lock on `control.lock` beside
//! the socket for as long as it runs ([`server::bind`]).

pub mod breadcrumb;
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

/// The longest path a Unix socket may have, in bytes (`sun_path` holds it with its NUL:
/// 104 bytes on macOS, 108 on Linux).
pub const MAX_SOCKET_PATH: usize = if cfg!(target_os = "macos") { 103 } else { 107 };

/// Whether a control socket can live at `socket`: its path must fit the system's limit
/// (a status file deep in the folders puts it too far). The error says what to change.
pub fn check_socket_path(socket: &Path) -> Result<(), String> {
    let len = socket.as_os_str().len();
    if len <= MAX_SOCKET_PATH {
        return Ok(());
    }
    Err(format!(
        "key status.file: the control socket beside the status file ({}) would be {len} \
         bytes long, more than the {MAX_SOCKET_PATH} a socket path may have; choose a \
         status file in a shallower folder",
        socket.display()
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_path_over_the_system_limit_is_refused_in_words() {
        let fits = PathBuf::from("/").join("a".repeat(MAX_SOCKET_PATH - 1));
        assert!(check_socket_path(&fits).is_ok());
        let deep = PathBuf::from("/").join("a".repeat(MAX_SOCKET_PATH));
        let message = check_socket_path(&deep).unwrap_err();
        assert!(message.contains("status.file"), "{message}");
        assert!(
            message.contains(&format!("{} bytes", MAX_SOCKET_PATH + 1)),
            "{message}"
        );
        // What the check guards: binding there fails.
        let dir = tempfile::tempdir().unwrap();
        let mut long = dir.path().to_path_buf();
        while long.join("control.sock").as_os_str().len() <= MAX_SOCKET_PATH {
            long.push("d");
        }
        std::fs::create_dir_all(&long).unwrap();
        let socket = long.join("control.sock");
        assert!(check_socket_path(&socket).is_err());
        assert!(std::os::unix::net::UnixListener::bind(&socket).is_err());
    }
}
