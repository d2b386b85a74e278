//! The HTTP client the OTLP exporters send with. The exporter builds the request (the
//! protobuf body, `Content-Type`, retries); this client decides how it travels:
//!
//! - on the app's `reqwest` client, run on the app's tokio runtime: the SDK's batch
//!   processor and periodic reader call it from their own threads and only wait for the
//!   answer, so no second HTTP stack or runtime is built;
//! - no proxy (the collector is on this Mac) and **no redirect followed**: a collector
//!   does not redirect, and following a 307 would hand spans and metrics to another server;
//! - a short connect timeout and a whole-request timeout that covers the answer's body;
//! - at most [`MAX_ANSWER`] of an answer kept (a real one is a few bytes).

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};

use crate::error_chain::error_chain;

/// Most of a collector's answer kept.
pub const MAX_ANSWER: usize = 64 * 1024;

/// The longest a connection may take (less when the whole request must be shorter).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The longest one export may take, retries included (the exporter retries refused
/// connections and HTTP 429/502/503/504 within it).
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// An OTLP exporter's `builder` set to send protobuf to `url` with this client, each
/// export bounded by [`EXPORT_TIMEOUT`] (needs a tokio runtime).
pub fn otlp<B: WithHttpConfig + WithExportConfig>(builder: B, url: &str) -> Result<B, ClientError> {
    Ok(builder
        .with_http_client(Client::new(EXPORT_TIMEOUT)?)
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url)
        .with_timeout(EXPORT_TIMEOUT))
}

/// Why the client cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("not inside a tokio runtime")]
    NoRuntime,
    #[error("cannot set up the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// Sends the exporters' requests on the current tokio runtime.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl Client {
    /// A client whose requests take at most `timeout`, answer included; it runs them on
    /// the tokio runtime it is built in.
    pub fn new(timeout: Duration) -> Result<Client, ClientError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| ClientError::NoRuntime)?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .timeout(timeout)
            .build()?;
        Ok(Client { http, runtime })
    }
}

#[async_trait]
impl HttpClient for Client {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let request = reqwest::Request::try_from(request)?;
        let http = self.http.clone();
        // A runtime that has shut down cancels the task: the export fails at once.
        let answer = self.runtime.spawn(send(http, request)).await?;
        Ok(answer
            .inspect_err(|e| tracing::debug!(error = %error_chain(e), "an OTLP request failed"))?)
    }
}

/// One request; the answer with at most [`MAX_ANSWER`] of its body.
async fn send(
    http: reqwest::Client,
    request: reqwest::Request,
) -> Result<Response<Bytes>, reqwest::Error> {
    let mut response = http.execute(request).await?;
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_ANSWER - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() == MAX_ANSWER {
            break;
        }
    }
    let mut answer = Response::new(Bytes::from(body));
    *answer.status_mut() = response.status();
    *answer.headers_mut() = std::mem::take(response.headers_mut());
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use axum::http::StatusCode;
    use axum::routing::post;

    use super::*;

    async fn serve(app: axum::Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        base
    }

    fn request(url: &str) -> Request<Bytes> {
        Request::post(url).body(Bytes::from_static(b"x")).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_redirect_is_not_followed() {
        let hits = Arc::new(AtomicUsize::new(0));
        let seen = hits.clone();
        let elsewhere = serve(axum::Router::new().route(
            "/v1/traces",
            post(move || {
                seen.fetch_add(1, Ordering::SeqCst);
                async { StatusCode::OK }
            }),
        ))
        .await;
        let location = format!("{elsewhere}/v1/traces");
        let redirector = serve(axum::Router::new().route(
            "/v1/traces",
            post(move || {
                let location = location.clone();
                async move { (StatusCode::TEMPORARY_REDIRECT, [("location", location)]) }
            }),
        ))
        .await;
        let client = Client::new(Duration::from_secs(5)).unwrap();
        let answer = client
            .send_bytes(request(&format!("{redirector}/v1/traces")))
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::TEMPORARY_REDIRECT);
        assert_eq!(hits.load(Ordering::SeqCst), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_huge_answer_is_cut() {
        let base = serve(
            axum::Router::new().route("/v1/metrics", post(|| async { vec![7u8; 4 * MAX_ANSWER] })),
        )
        .await;
        let client = Client::new(Duration::from_secs(5)).unwrap();
        let answer = client
            .send_bytes(request(&format!("{base}/v1/metrics")))
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(answer.body().len(), MAX_ANSWER);
    }

    #[test]
    fn the_client_needs_a_runtime() {
        assert!(matches!(
            Client::new(Duration::from_secs(1)),
            Err(ClientError::NoRuntime)
        ));
    }
}
