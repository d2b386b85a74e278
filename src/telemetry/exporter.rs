//! Sends spans to the collector over OTLP/HTTP (protobuf) without ever holding up a sync.
//!
//! Why not the official `opentelemetry_sdk` + `opentelemetry-otlp`: their batch processor
//! runs on a thread of its own, counts the spans it drops only for an internal log line
//! at shutdown (no API reads the count, and the status must show it), and brings a
//! tracing API this app does not need for one span per publish. Instead this module uses
//! the official generated message types (`opentelemetry-proto`, prost, no tonic), the
//! `reqwest` client the app already has, and a small bounded queue:
//!
//! - [`Exporter::send`] is a `try_send` into a bounded channel: it never waits. A full
//!   queue drops the span.
//! - One task takes the queued spans in batches and POSTs each batch to the traces URL
//!   (`Content-Type: application/x-protobuf`) with short timeouts.
//! - A failed delivery is retried with capped, jittered exponential backoff: up to
//!   three attempts while the collector is healthy, one attempt per backoff period while
//!   it is failing, so a dead collector costs one short request now and then. Answers
//!   that retrying cannot fix (4xx other than 408/429) are not retried.
//! - **Dropped** spans: those discarded because the queue was full, because their
//!   delivery failed after its attempts, or because the collector rejected them (an OTLP
//!   partial success). The running total goes to a report callback (the status).
//! - Logging: the first failure is a warning, then nothing until the collector accepts
//!   spans again (one info line); individual drops are only counted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use tokio::sync::mpsc;

use super::otlp;
use crate::backoff::Backoff;

use super::span::export_request;

/// Queue size, batch size, timeouts and retries.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Spans waiting for delivery; more are dropped.
    pub queue: usize,
    /// Most spans in one request.
    pub batch: usize,
    pub connect_timeout: Duration,
    /// For a whole request, answer included.
    pub request_timeout: Duration,
    /// Attempts per batch while the collector is healthy.
    pub attempts: u32,
    pub retry_base: Duration,
    pub max_backoff: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            queue: 512,
            batch: 64,
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
            attempts: 3,
            retry_base: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// The dropped-span total and who is told about it.
struct Dropped {
    total: AtomicU64,
    report: Box<dyn Fn(u64) + Send + Sync>,
}

impl Dropped {
    fn add(&self, n: u64) {
        let total = self.total.fetch_add(n, Ordering::Relaxed) + n;
        (self.report)(total);
    }
}

/// The handle that queues spans; the sender task stops when it is dropped.
pub struct Exporter {
    queue: mpsc::Sender<Span>,
    dropped: Arc<Dropped>,
}

impl Exporter {
    /// Starts the sender task for `url` (needs a tokio runtime); `report` is called with
    /// the new total each time spans are dropped.
    pub fn start(
        url: String,
        settings: Settings,
        report: impl Fn(u64) + Send + Sync + 'static,
    ) -> Result<Exporter, reqwest::Error> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .build()?;
        let (queue, spans) = mpsc::channel(settings.queue.max(1));
        let dropped = Arc::new(Dropped {
            total: AtomicU64::new(0),
            report: Box::new(report),
        });
        let sender = Sender {
            backoff: Backoff::new(settings.retry_base, settings.max_backoff),
            pause: None,
            http,
            url,
            spans,
            dropped: dropped.clone(),
            settings,
        };
        tokio::spawn(sender.run());
        Ok(Exporter { queue, dropped })
    }

    /// Queues a span for delivery, or drops it if the queue is full. Never waits.
    pub fn send(&self, span: Span) {
        if self.queue.try_send(span).is_err() {
            self.dropped.add(1);
        }
    }
}

/// Why a request did not deliver its spans.
#[derive(Debug, thiserror::Error)]
enum DeliveryError {
    #[error("{0}")]
    Transport(String),
    #[error("the collector answered HTTP {0}")]
    Status(u16),
}

impl From<otlp::PostError> for DeliveryError {
    fn from(e: otlp::PostError) -> Self {
        match e {
            otlp::PostError::Transport(reason) => DeliveryError::Transport(reason),
            otlp::PostError::Status(code) => DeliveryError::Status(code),
        }
    }
}

impl DeliveryError {
    /// Whether trying again may succeed (the OTLP/HTTP spec's retryable answers).
    fn retryable(&self) -> bool {
        match self {
            DeliveryError::Transport(_) => true,
            DeliveryError::Status(code) => matches!(code, 408 | 429 | 502 | 503 | 504),
        }
    }
}

/// The task that delivers queued spans.
struct Sender {
    http: reqwest::Client,
    url: String,
    spans: mpsc::Receiver<Span>,
    dropped: Arc<Dropped>,
    settings: Settings,
    backoff: Backoff,
    /// Wait before the next request (after a failure).
    pause: Option<Duration>,
}

impl Sender {
    async fn run(mut self) {
        while let Some(first) = self.spans.recv().await {
            let mut batch = vec![first];
            while batch.len() < self.settings.batch {
                match self.spans.try_recv() {
                    Ok(span) => batch.push(span),
                    Err(_) => break,
                }
            }
            self.deliver(batch).await;
        }
    }

    fn failing(&self) -> bool {
        self.backoff.failures() > 0
    }

    async fn deliver(&mut self, batch: Vec<Span>) {
        let count = batch.len() as u64;
        let body = Bytes::from(export_request(batch).encode_to_vec());
        let mut attempts = match self.failing() {
            true => 1,
            false => self.settings.attempts.max(1),
        };
        loop {
            if let Some(pause) = self.pause.take() {
                tokio::time::sleep(pause).await;
            }
            match self.post(body.clone()).await {
                Ok(rejected) => {
                    if self.failing() {
                        tracing::info!(endpoint = %self.url, "the OpenTelemetry collector accepts spans again");
                    }
                    self.backoff.reset();
                    if rejected > 0 {
                        tracing::debug!(rejected, "the collector rejected some spans");
                        self.dropped.add(rejected);
                    }
                    return;
                }
                Err(e) => {
                    if self.failing() {
                        tracing::debug!(endpoint = %self.url, error = %e, "span delivery failed again");
                    } else {
                        tracing::warn!(endpoint = %self.url, error = %e, "cannot deliver trace spans to the OpenTelemetry collector; spans are dropped (and counted in the status) until it accepts them again");
                    }
                    self.pause = Some(self.backoff.next_delay());
                    attempts -= 1;
                    if attempts == 0 || !e.retryable() {
                        self.dropped.add(count);
                        return;
                    }
                }
            }
        }
    }

    /// One request; the number of spans the collector rejected when it accepted it.
    async fn post(&self, body: Bytes) -> Result<u64, DeliveryError> {
        let answer = otlp::post(&self.http, &self.url, body).await?;
        // An answer that is not a protobuf response (or an empty one) means full success.
        let rejected = ExportTraceServiceResponse::decode(answer)
            .ok()
            .and_then(|r| r.partial_success)
            .map_or(0, |p| u64::try_from(p.rejected_spans).unwrap_or(0));
        Ok(rejected)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Instant;

    use axum::http::StatusCode;
    use axum::routing::post;
    use opentelemetry_proto::tonic::collector::trace::v1::{
        ExportTracePartialSuccess, ExportTraceServiceRequest,
    };

    use super::*;
    use crate::telemetry::span::{failure_span, Ids, Timing};

    /// A test collector answering every request with `status` and `body`.
    struct Collector {
        url: String,
        requests: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
    }

    async fn collector(status: StatusCode, body: Vec<u8>) -> Collector {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let app = axum::Router::new().route(
            "/v1/traces",
            post(move |bytes: Bytes| {
                let seen = seen.clone();
                let body = body.clone();
                async move {
                    let request = ExportTraceServiceRequest::decode(bytes).expect("protobuf");
                    seen.lock().unwrap().push(request);
                    (status, body)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Collector { url, requests }
    }

    /// A URL nothing listens on.
    async fn dead_url() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
        drop(listener);
        url
    }

    fn quick() -> Settings {
        Settings {
            retry_base: Duration::from_millis(20),
            max_backoff: Duration::from_millis(50),
            ..Settings::default()
        }
    }

    fn span() -> Span {
        let now = std::time::SystemTime::now();
        failure_span(
            "k",
            "m",
            Timing {
                start: now,
                end: now,
            },
            Ids::random(),
        )
    }

    fn counter() -> (Arc<AtomicU64>, impl Fn(u64) + Send + Sync + 'static) {
        let seen = Arc::new(AtomicU64::new(0));
        let report = seen.clone();
        (seen, move |total| report.store(total, Ordering::SeqCst))
    }

    async fn eventually(what: &str, check: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !check() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn spans_reach_the_collector_as_protobuf() {
        let c = collector(StatusCode::OK, Vec::new()).await;
        let (dropped, report) = counter();
        let exporter = Exporter::start(c.url.clone(), quick(), report).unwrap();
        let sent = span();
        exporter.send(sent.clone());
        eventually("the request", || !c.requests.lock().unwrap().is_empty()).await;
        let requests = c.requests.lock().unwrap();
        assert_eq!(
            requests[0].resource_spans[0].scope_spans[0].spans,
            vec![sent]
        );
        assert_eq!(dropped.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_full_queue_drops_without_waiting() {
        let (dropped, report) = counter();
        let settings = Settings {
            queue: 2,
            retry_base: Duration::from_secs(60),
            max_backoff: Duration::from_secs(60),
            ..Settings::default()
        };
        let exporter = Exporter::start(dead_url().await, settings, report).unwrap();
        // `send` is a plain (not async) call: it cannot wait for the collector.
        for _ in 0..100 {
            exporter.send(span());
        }
        // At most the queue plus the batch in the sender's hands survive.
        assert!(dropped.load(Ordering::SeqCst) >= 97);
    }

    #[tokio::test]
    async fn undeliverable_spans_are_counted_after_their_attempts() {
        let (dropped, report) = counter();
        let exporter = Exporter::start(dead_url().await, quick(), report).unwrap();
        exporter.send(span());
        exporter.send(span());
        eventually("two drops", || dropped.load(Ordering::SeqCst) == 2).await;
        exporter.send(span());
        eventually("three drops", || dropped.load(Ordering::SeqCst) == 3).await;
    }

    #[tokio::test]
    async fn retryable_answers_are_retried_and_others_are_not() {
        let busy = collector(StatusCode::SERVICE_UNAVAILABLE, Vec::new()).await;
        let (dropped, report) = counter();
        let exporter = Exporter::start(busy.url.clone(), quick(), report).unwrap();
        exporter.send(span());
        eventually("the drop", || dropped.load(Ordering::SeqCst) == 1).await;
        assert_eq!(busy.requests.lock().unwrap().len(), 3);

        let wrong = collector(StatusCode::BAD_REQUEST, Vec::new()).await;
        let (dropped, report) = counter();
        let exporter = Exporter::start(wrong.url.clone(), quick(), report).unwrap();
        exporter.send(span());
        eventually("the drop", || dropped.load(Ordering::SeqCst) == 1).await;
        assert_eq!(wrong.requests.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn spans_the_collector_rejects_are_counted() {
        let answer = ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: 1,
                error_message: "too old".into(),
            }),
        };
        let c = collector(StatusCode::OK, answer.encode_to_vec()).await;
        let (dropped, report) = counter();
        let exporter = Exporter::start(c.url.clone(), quick(), report).unwrap();
        exporter.send(span());
        eventually("the drop", || dropped.load(Ordering::SeqCst) == 1).await;
    }
}
