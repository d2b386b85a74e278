//! The running instance's side of the control socket.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

use super::client;
use super::protocol::{Request, Response};
use super::IpcError;

/// Longest request line accepted.
const MAX_REQUEST: u64 = 4096;

/// A request from the socket and where to send the answer.
pub type Incoming = (Request, oneshot::Sender<Response>);

/// A bound control socket; the file is removed when dropped.
pub struct Bound {
    listener: UnixListener,
    path: PathBuf,
}

impl Drop for Bound {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Binds the control socket: fails with [`IpcError::AlreadyRunning`] when another
/// instance answers there; a leftover socket of a dead instance is replaced.
pub async fn bind(path: &Path) -> Result<Bound, IpcError> {
    let io = |source| IpcError::Io {
        path: path.to_path_buf(),
        source,
    };
    if path.exists() {
        match client::request(path, Request::Status, Duration::from_secs(2)).await {
            Ok(_) => return Err(IpcError::AlreadyRunning(path.to_path_buf())),
            Err(_) => std::fs::remove_file(path).map_err(io)?,
        }
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
    let listener = UnixListener::bind(path).map_err(io)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    Ok(Bound {
        listener,
        path: path.to_path_buf(),
    })
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
