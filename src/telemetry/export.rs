//! Thin wrappers around the SDK's OTLP exporters that count what did not reach the
//! collector (for the status and the heartbeat) and log it once: the first failure is a
//! warning, then nothing until the collector accepts data again (one info line).
//!
//! Spans: the SDK's batch processor drops a span silently when its queue is full (it
//! only logs a total at shutdown). So spans pass a [`Ledger`] before they are handed to
//! the SDK: it knows how many are queued or being sent (handed, not yet settled by an
//! export), refuses a span when the queue is full and counts it as dropped, and counts
//! every span of an export that failed. The SDK's queue never overflows: the ledger's
//! limit is the queue's size.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

/// Logs the deliveries of one signal: a warning when they start failing, a line when
/// they work again, and nothing in between.
#[derive(Debug)]
struct Delivery {
    /// `trace spans` or `metrics`.
    what: &'static str,
    endpoint: String,
    failing: AtomicBool,
}

impl Delivery {
    fn new(what: &'static str, endpoint: &str) -> Delivery {
        Delivery {
            what,
            endpoint: endpoint.to_string(),
            failing: AtomicBool::new(false),
        }
    }

    fn record(&self, result: &OTelSdkResult) {
        let was_failing = self.failing.swap(result.is_err(), Ordering::Relaxed);
        match (result, was_failing) {
            (Ok(()), true) => {
                tracing::info!(endpoint = %self.endpoint, "the OpenTelemetry collector accepts {} again", self.what)
            }
            (Err(e), false) => tracing::warn!(
                endpoint = %self.endpoint, error = %e,
                "cannot deliver {} to the OpenTelemetry collector; what is lost is counted (telemetry_dropped_spans in the status, domain_sync.telemetry.dropped_metric_exports) until it accepts them again",
                self.what
            ),
            (Err(e), true) => {
                tracing::debug!(endpoint = %self.endpoint, error = %e, "{} delivery failed again", self.what)
            }
            (Ok(()), false) => {}
        }
    }
}

/// The spans handed to the SDK and not yet exported, and the dropped-span total.
pub struct Ledger {
    /// The SDK queue's size: most spans handed and not yet settled.
    limit: u64,
    pending: AtomicU64,
    dropped: AtomicU64,
    /// Told the new total whenever spans are dropped.
    report: Box<dyn Fn(u64) + Send + Sync>,
}

impl fmt::Debug for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ledger")
            .field("limit", &self.limit)
            .field("pending", &self.pending)
            .field("dropped", &self.dropped)
            .finish()
    }
}

impl Ledger {
    pub fn new(limit: usize, report: impl Fn(u64) + Send + Sync + 'static) -> Ledger {
        Ledger {
            limit: limit as u64,
            pending: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            report: Box::new(report),
        }
    }

    /// Whether one more span may be handed to the SDK; when the queue is full it is
    /// counted as dropped instead. Never waits.
    pub fn admit(&self) -> bool {
        let admitted = self
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limit).then_some(n + 1)
            })
            .is_ok();
        if !admitted {
            self.drop_spans(1);
        }
        admitted
    }

    /// `count` spans left the queue in an export that failed or not.
    fn settle(&self, count: u64, failed: bool) {
        let _ = self
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_sub(count))
            });
        if failed {
            self.drop_spans(count);
        }
    }

    fn drop_spans(&self, n: u64) {
        let total = self.dropped.fetch_add(n, Ordering::Relaxed) + n;
        (self.report)(total);
    }
}

/// The span exporter that settles each batch in the [`Ledger`].
#[derive(Debug)]
pub struct Spans<E> {
    inner: E,
    ledger: Arc<Ledger>,
    delivery: Delivery,
}

impl<E> Spans<E> {
    pub fn new(inner: E, ledger: Arc<Ledger>, endpoint: &str) -> Spans<E> {
        Spans {
            inner,
            ledger,
            delivery: Delivery::new("trace spans", endpoint),
        }
    }
}

impl<E: SpanExporter> SpanExporter for Spans<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let count = batch.len() as u64;
        let result = self.inner.export(batch).await;
        self.ledger.settle(count, result.is_err());
        self.delivery.record(&result);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// The metric exporter that counts the exports that failed.
#[derive(Debug)]
pub struct Metrics<E> {
    inner: E,
    failed: Arc<AtomicU64>,
    delivery: Delivery,
}

impl<E> Metrics<E> {
    /// `failed` is the count of failed exports (read by the heartbeat itself).
    pub fn new(inner: E, failed: Arc<AtomicU64>, endpoint: &str) -> Metrics<E> {
        Metrics {
            inner,
            failed,
            delivery: Delivery::new("metrics", endpoint),
        }
    }
}

impl<E: PushMetricExporter> PushMetricExporter for Metrics<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let result = self.inner.export(metrics).await;
        if result.is_err() {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        self.delivery.record(&result);
        result
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use opentelemetry_sdk::error::OTelSdkError;

    use super::*;

    /// The totals the ledger reported, in order.
    fn ledger(limit: usize) -> (Arc<Ledger>, Arc<Mutex<Vec<u64>>>) {
        let reports = Arc::new(Mutex::new(Vec::new()));
        let seen = reports.clone();
        let ledger = Ledger::new(limit, move |total| seen.lock().unwrap().push(total));
        (Arc::new(ledger), reports)
    }

    /// A span exporter that fails when told to.
    #[derive(Debug, Default)]
    struct Stub {
        fail: AtomicBool,
    }

    impl SpanExporter for Stub {
        async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
            match self.fail.load(Ordering::SeqCst) {
                true => Err(OTelSdkError::InternalFailure("refused".into())),
                false => Ok(()),
            }
        }
    }

    fn batch(n: usize) -> Vec<SpanData> {
        use opentelemetry::trace::{SpanContext, SpanKind, Status};
        let now = std::time::SystemTime::now();
        let span = SpanData {
            span_context: SpanContext::empty_context(),
            parent_span_id: opentelemetry::trace::SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: "s".into(),
            start_time: now,
            end_time: now,
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: Default::default(),
            links: Default::default(),
            status: Status::Unset,
            instrumentation_scope: Default::default(),
        };
        vec![span; n]
    }

    #[test]
    fn a_full_queue_refuses_and_counts_without_waiting() {
        let (ledger, reports) = ledger(2);
        assert!(ledger.admit());
        assert!(ledger.admit());
        assert!(!ledger.admit());
        assert!(!ledger.admit());
        assert_eq!(*reports.lock().unwrap(), [1, 2]);
        // A batch that left the queue makes room again.
        ledger.settle(2, false);
        assert!(ledger.admit());
        assert_eq!(*reports.lock().unwrap(), [1, 2]);
    }

    #[tokio::test]
    async fn failed_exports_count_their_spans_and_free_the_queue() {
        let (ledger, reports) = ledger(3);
        let exporter = Spans::new(Stub::default(), ledger.clone(), "http://c/v1/traces");
        for _ in 0..3 {
            assert!(ledger.admit());
        }
        exporter.inner.fail.store(true, Ordering::SeqCst);
        assert!(exporter.export(batch(2)).await.is_err());
        assert_eq!(*reports.lock().unwrap(), [2]);
        exporter.inner.fail.store(false, Ordering::SeqCst);
        exporter.export(batch(1)).await.unwrap();
        assert_eq!(
            *reports.lock().unwrap(),
            [2],
            "a delivered span is not dropped"
        );
        assert!(ledger.admit() && ledger.admit() && ledger.admit());
    }
}
