//! The CLI's side of the control socket.

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use super::protocol::Response;
use super::IpcError;
use crate::control::Request;

/// Sends `request` to the instance listening at `path` and returns its answer.
pub async fn request(
    path: &Path,
    request: Request,
    timeout: Duration,
) -> Result<Response, IpcError> {
    let io = |source| IpcError::Io {
        path: path.to_path_buf(),
        source,
    };
    let stream = match UnixStream::connect(path).await {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Err(IpcError::NotRunning(path.to_path_buf()))
        }
        Err(e) => return Err(io(e)),
    };
    let exchange = async {
        let (read, mut write) = stream.into_split();
        let mut line =
            serde_json::to_string(&request).map_err(|e| IpcError::Protocol(e.to_string()))?;
        line.push('\n');
        write.write_all(line.as_bytes()).await.map_err(io)?;
        let mut answer = String::new();
        BufReader::new(read)
            .read_line(&mut answer)
            .await
            .map_err(io)?;
        serde_json::from_str(&answer).map_err(|e| IpcError::Protocol(format!("{e}: {answer:?}")))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| IpcError::Protocol(format!("no answer within {}s", timeout.as_secs())))?
}
