//! The running instance's side of the control socket.
//!
//! What a client can hold is bounded, so that clients that misbehave (or a flood of
//! them) cannot stop the socket from answering, nor the app from working:
//!
//! - a request must arrive within [`REQUEST_DEADLINE`] and be at most [`MAX_REQUEST`]
//!   bytes; a whole exchange is cut at [`EXCHANGE_DEADLINE`].

use std::fs::{File, TryLockError};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

use super::protocol::{Request, Response};
use super::{client, lock_path, IpcError};

/// Longest request line accepted, newline included.
pub const MAX_REQUEST: usize = 4096;
/// How long a client has to send its request after connecting.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(5);
/// How long a whole exchange (request, the app's answer, writing it) may take.
pub const EXCHANGE_DEADLINE: Duration = Duration::from_secs(30);

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
            let to_app = to_app.clone();
            tokio::spawn(tokio::time::timeout(
                EXCHANGE_DEADLINE,
                exchange(stream, to_app, REQUEST_DEADLINE),
            ));
        }
    }
}

/// Serves one connection: reads one request (within `request_deadline`), hands it to
/// the app, writes the answer. The caller bounds the whole exchange.
async fn exchange(stream: UnixStream, to_app: mpsc::Sender<Incoming>, request_deadline: Duration) {
    let (read, mut write) = stream.into_split();
    let request = match tokio::time::timeout(request_deadline, read_request(read)).await {
        Ok(request) => request,
        Err(_) => Err(format!(
            "no request within {}s",
            request_deadline.as_secs_f32()
        )),
    };
    let response = match request {
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

/// Reads one request line of at most [`MAX_REQUEST`] bytes; the error is the message
/// for the client.
async fn read_request(read: impl AsyncRead + Unpin) -> Result<Request, String> {
    let mut line = Vec::new();
    BufReader::new(read)
        .take(MAX_REQUEST as u64 + 1)
        .read_until(b'\n', &mut line)
        .await
        .map_err(|e| format!("cannot read the request: {e}"))?;
    if line.len() > MAX_REQUEST {
        return Err(format!("bad request: longer than {MAX_REQUEST} bytes"));
    }
    serde_json::from_slice(&line).map_err(|e| format!("bad request: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn requests_are_one_bounded_json_line() {
        let status = b"{\"command\":\"status\"}\n";
        assert_eq!(read_request(&status[..]).await, Ok(Request::Status));
        let unterminated = b"{\"command\":\"quit\"}";
        assert_eq!(read_request(&unterminated[..]).await, Ok(Request::Quit));
        let unknown = b"{\"command\":\"format\"}\n";
        assert!(read_request(&unknown[..]).await.is_err());
        let empty = read_request(&b""[..]).await.unwrap_err();
        assert!(empty.starts_with("bad request"), "{empty}");

        let padded = |spaces: usize| [vec![b' '; spaces], status.to_vec()].concat();
        let fits = padded(MAX_REQUEST - status.len());
        assert_eq!(read_request(&fits[..]).await, Ok(Request::Status));
        let long = padded(MAX_REQUEST - status.len() + 1);
        let refused = read_request(&long[..]).await.unwrap_err();
        assert!(refused.contains("longer than 4096 bytes"), "{refused}");
    }

    #[tokio::test]
    async fn a_client_that_says_nothing_is_told_so_and_dropped() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let (to_app, _app) = mpsc::channel(1);
        tokio::spawn(exchange(ours, to_app, Duration::from_millis(50)));
        let mut answer = String::new();
        let mut theirs = BufReader::new(theirs);
        theirs.read_line(&mut answer).await.unwrap();
        let response: Response = serde_json::from_str(&answer).unwrap();
        assert!(!response.ok);
        assert_eq!(response.message.as_deref(), Some("no request within 0.05s"));
        assert_eq!(theirs.read_line(&mut answer).await.unwrap(), 0, "closed");
    }

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
