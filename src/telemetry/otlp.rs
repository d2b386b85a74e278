//! One OTLP/HTTP request, as the span exporter and the metrics heartbeat both send it:
//! a protobuf body POSTed to the collector, and at most [`MAX_ANSWER`] of its answer
//! read back (a collector is local, but a broken one must not make us buffer forever).

use bytes::Bytes;

use crate::error_chain::error_chain;

/// Most of a collector's answer read; a real one is a few bytes.
pub const MAX_ANSWER: usize = 64 * 1024;

/// Why a request did not get a successful answer.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error("{0}")]
    Transport(String),
    #[error("the collector answered HTTP {0}")]
    Status(u16),
}

/// POSTs `body` to `url`; the successful answer's first [`MAX_ANSWER`] bytes.
pub async fn post(http: &reqwest::Client, url: &str, body: Bytes) -> Result<Bytes, PostError> {
    let transport = |e: reqwest::Error| PostError::Transport(error_chain(&e));
    let mut response = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/x-protobuf")
        .body(body)
        .send()
        .await
        .map_err(transport)?;
    let status = response.status();
    if !status.is_success() {
        return Err(PostError::Status(status.as_u16()));
    }
    let mut answer = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        let room = MAX_ANSWER - answer.len();
        answer.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if answer.len() == MAX_ANSWER {
            break;
        }
    }
    Ok(answer.into())
}
