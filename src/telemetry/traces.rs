//! The trace pipeline: the SDK's batch span processor exporting to the collector's
//! traces URL on a thread of its own. A span is queued without waiting (512 at most;
//! the [`Ledger`] refuses and counts one more), sent in batches of up to 64 within a
//! second; a pipeline that is dropped stops on a thread of its own, which sends the last
//! spans and that nothing waits for.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::SpanExporter;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracer, SdkTracerProvider,
};

use super::export::{self, Ledger};
use super::{http, span, StartError};

/// Spans waiting for delivery; more are dropped (and counted).
const QUEUE: usize = 512;
/// Most spans in one request.
const BATCH: usize = 64;
/// How long a span may wait for others to share its request.
const BATCH_DELAY: Duration = Duration::from_secs(1);
/// How long shutting down waits for the last export: long enough for its own bound.
const SHUTDOWN_TIMEOUT: Duration = http::EXPORT_TIMEOUT.saturating_add(Duration::from_secs(1));

/// The SDK's tracer provider and the ledger of its queue.
pub struct Pipeline {
    provider: SdkTracerProvider,
    ledger: Arc<Ledger>,
}

/// Starts the pipeline to `url` (needs a tokio runtime); `report` receives the
/// dropped-span total whenever it grows.
pub fn start(
    url: &str,
    report: impl Fn(u64) + Send + Sync + 'static,
) -> Result<Pipeline, StartError> {
    let ledger = Arc::new(Ledger::new(QUEUE, report));
    let exporter = http::otlp(SpanExporter::builder().with_http(), url)?.build()?;
    let batches = BatchConfigBuilder::default()
        .with_max_queue_size(QUEUE)
        .with_max_export_batch_size(BATCH)
        .with_scheduled_delay(BATCH_DELAY)
        .build();
    let processor = BatchSpanProcessor::builder(export::Spans::new(exporter, ledger.clone(), url))
        .with_batch_config(batches)
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(span::resource([]))
        .build();
    Ok(Pipeline { provider, ledger })
}

impl Pipeline {
    /// Whether the queue has room for one more span (counted as dropped when not).
    pub fn admit(&self) -> bool {
        self.ledger.admit()
    }

    /// The tracer to send an admitted span with.
    pub fn tracer(&self) -> SdkTracer {
        self.provider.tracer_with_scope(span::scope())
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        let provider = self.provider.clone();
        super::shut_down("trace", move || {
            provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT)
        });
    }
}
