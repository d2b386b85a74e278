//! The running instance's side of the control socket.

use std::fs::{File, TryLockError};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

use super::protocol::{Request, Response};
use super::{client, lock_path, IpcError};

/// Longest request line accepted.
const MAX_REQUEST: u64 = 4096;

/// How long the check of a socket left by an instance without the lock may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// A request from the socket and where to send the answer.
pub type Incoming = (Request, oneshot::Sender<Response>);

/// A bound control socket; the file is removed when dropped. The lock file beside it
/// stays locked for as long as this lives: that is what makes this instance the only one.
pub struct Bound {
    listener: UnixListener,
    path: PathBuf,
    _lock: File,
}

impl Drop for Bound {
    fn drop(&mut self) {
        // Runs before the fields are dropped: the socket goes while the lock is held.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Claims the single instance and binds the control socket at `path`.
///
/// The claim is an exclusive lock on `control.lock` beside the socket, taken before the
/// socket is touched: when another instance holds it, this fails with
/// [`IpcError::AlreadyRunning`]. Holding it, a socket left by a dead instance is
/// replaced safely. Missing folders are created private to the user (0700); folders
/// that exist keep their mode. The socket is made 0600.
pub async fn bind(path: &Path) -> Result<Bound, IpcError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| IpcError::Io { path, source }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io(dir))?;
    let lock = claim(&lock_path(path), path)?;
    if std::fs::symlink_metadata(path).is_ok() {
        // A version from before the lock file would answer here without holding it.
        if client::request(path, Request::Status, PROBE_TIMEOUT)
            .await
            .is_ok()
        {
            return Err(IpcError::AlreadyRunning(path.to_path_buf()));
        }
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != ErrorKind::NotFound => return Err(io(path)(e)),
            _ => {}
        }
    }
    let listener = UnixListener::bind(path).map_err(io(path))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io(path))?;
    Ok(Bound {
        listener,
        path: path.to_path_buf(),
        _lock: lock,
    })
}

/// Opens (creating it 0600) and locks the lock file, without waiting; a lock held by
/// another process means an instance answers, or is about to, at `socket`.
fn claim(lock: &Path, socket: &Path) -> Result<File, IpcError> {
    let io = |source| IpcError::Io {
        path: lock.to_path_buf(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(lock)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(IpcError::AlreadyRunning(socket.to_path_buf())),
        Err(TryLockError::Error(e)) => Err(io(e)),
    }
}

impl Bound {
    /// Accepts connections until the receiver of `to_app` is gone; each request is
    /// handed to the app, which answers through the oneshot.
    pub async fn serve(self, to_app: mpsc::Sender<Incoming>) {
        loop {
            let stream = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::warn!(error = %e, "control socket accept failed");
                        continue;
                    }
                },
                _ = to_app.closed() => return,
            };
            tokio::spawn(answer(stream, to_app.clone()));
        }
    }
}

async fn answer(stream: UnixStream, to_app: mpsc::Sender<Incoming>) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let read = BufReader::new(read)
        .take(MAX_REQUEST)
        .read_line(&mut line)
        .await;
    let response = match read.map_err(|e| e.to_string()).and_then(|_| {
        serde_json::from_str::<Request>(&line).map_err(|e| format!("bad request: {e}"))
    }) {
        Err(message) => Response::error(message),
        Ok(request) => {
            let (reply, answer) = oneshot::channel();
            if to_app.send((request, reply)).await.is_err() {
                Response::error("the app is stopping")
            } else {
                answer
                    .await
                    .unwrap_or_else(|_| Response::error("the app is stopping"))
            }
        }
    };
    if let Ok(mut text) = serde_json::to_string(&response) {
        text.push('\n');
        let _ = write.write_all(text.as_bytes()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_instance_holds_the_socket_and_folders_it_did_not_make_keep_their_mode() {
        let root = tempfile::tempdir().unwrap();
        let shared = root.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;

        let socket = shared.join("control.sock");
        let first = bind(&socket).await.unwrap();
        assert_eq!(mode(&shared), 0o755);
        assert_eq!(mode(&socket), 0o600);
        assert_eq!(mode(&shared.join("control.lock")), 0o600);
        match bind(&socket).await {
            Err(IpcError::AlreadyRunning(at)) => assert_eq!(at, socket),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("a second instance bound the socket"),
        }
        assert!(socket.exists(), "the loser leaves the socket alone");
        drop(first);
        assert!(!socket.exists(), "removed on drop");

        // A socket left behind (a dead instance) is replaced.
        drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
        let _again = bind(&socket).await.unwrap();

        let made = root.path().join("made/here/control.sock");
        let _other = bind(&made).await.unwrap();
        assert_eq!(mode(&root.path().join("made")), 0o700);
        assert_eq!(mode(&root.path().join("made/here")), 0o700);
    }
}
