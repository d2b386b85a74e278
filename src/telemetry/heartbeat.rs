//! The heartbeat: every `[telemetry] metrics_interval` (60 s by default), from the moment
//! a core starts until it stops, whatever its state, the SDK's periodic reader exports
//! the core's metrics over OTLP/HTTP (protobuf, `/v1/metrics`) to the local collector. A
//! store whose metrics stop coming is dead or unreachable; their values say whether it
//! is stale or stuck.
//!
//! The first export is sent when the core starts (off the runtime, nothing waits for it).
//! The reader runs on a thread of its own (the SDK's): nothing else waits on it. Each
//! export is bounded in time (one at a time: a slow one delays the next); one that fails is counted
//! in `domain_sync.telemetry.dropped_metric_exports` (every value is cumulative or
//! current, so the next export makes up for it). The pipeline ends with its
//! core: its final export and shutdown happen off the async runtime.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::metrics::MeterProvider;
use opentelemetry_otlp::MetricExporter;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use tokio::sync::watch;

use super::instruments::Instruments;
use super::span::{resource, scope, source};
use super::{export, http, metrics, StartError};
use crate::status::Status;

/// Starts the heartbeat to `url` (needs a tokio runtime) every `interval`; it reads the
/// status from `status` and ends when `ended` resolves (its core's end, see
/// [`crate::status::board::Board::ended`]). The instruments it exports.
pub fn start(
    url: &str,
    interval: Duration,
    status: watch::Receiver<Status>,
    ended: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<Instruments, StartError> {
    // Not shortened for short intervals: the reader sends one export at a time, so a
    // slow one only delays the next.
    let exporter = http::otlp(MetricExporter::builder().with_http(), url)?.build()?;
    let failed = Arc::new(AtomicU64::new(0));
    let exporter = export::Metrics::new(exporter, failed.clone(), url);
    let (provider, instruments) = pipeline(exporter, interval, status.clone(), failed);
    // The first beat at once (the reader's timer sends the next ones): a core that lives
    // less than an interval, such as one waiting for a fixed config, still reports.
    let first = provider.clone();
    tokio::task::spawn_blocking(move || first.force_flush());
    let running = Running(provider);
    tokio::spawn(async move {
        ended.await;
        drop(running);
    });
    Ok(instruments)
}

/// A running heartbeat: dropped when its core ends (or with the runtime), it stops
/// on a thread of its own, which sends the last export and that nothing waits for.
struct Running(SdkMeterProvider);

impl Drop for Running {
    fn drop(&mut self) {
        let provider = self.0.clone();
        super::shut_down("metrics", move || provider.shutdown());
    }
}

/// The meter provider exporting to `exporter` every `interval`, with the status's
/// observable gauges and the sync's instruments.
fn pipeline(
    exporter: impl PushMetricExporter,
    interval: Duration,
    status: watch::Receiver<Status>,
    failed: Arc<AtomicU64>,
) -> (SdkMeterProvider, Instruments) {
    let reader = PeriodicReader::builder(exporter)
        .with_interval(interval)
        .build();
    let provider = SdkMeterProvider::builder()
        .with_reader(reader)
        .with_resource(resource([source(status.borrow().source)]))
        .build();
    let meter = provider.meter_with_scope(scope());
    metrics::observe(&meter, status, failed);
    (provider, Instruments::new(&meter))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::atomic::Ordering;

    use chrono::Utc;
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
    use opentelemetry_sdk::metrics::InMemoryMetricExporter;

    use super::*;
    use crate::config::SourceKind;
    use crate::error_kind::ErrorKind;
    use crate::status::{ErrorInfo, State, Txid};

    /// Each metric's points as (attributes, value; a histogram's is its count).
    type Points = BTreeMap<String, Vec<(String, f64)>>;

    fn points(rm: &ResourceMetrics) -> Points {
        let mut out = Points::new();
        for m in rm.scope_metrics().flat_map(|s| s.metrics()) {
            let label = |attrs: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| {
                attrs
                    .map(|kv| format!("{}={}", kv.key, kv.value))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let mut found = Vec::new();
            match m.data() {
                AggregatedMetrics::U64(MetricData::Gauge(g)) => {
                    for p in g.data_points() {
                        found.push((label(&mut p.attributes()), p.value() as f64));
                    }
                }
                AggregatedMetrics::U64(MetricData::Sum(s)) => {
                    assert!(s.is_monotonic(), "{}", m.name());
                    for p in s.data_points() {
                        found.push((label(&mut p.attributes()), p.value() as f64));
                    }
                }
                AggregatedMetrics::I64(MetricData::Gauge(g)) => {
                    for p in g.data_points() {
                        found.push((label(&mut p.attributes()), p.value() as f64));
                    }
                }
                AggregatedMetrics::F64(MetricData::Gauge(g)) => {
                    for p in g.data_points() {
                        found.push((label(&mut p.attributes()), p.value()));
                    }
                }
                AggregatedMetrics::F64(MetricData::Histogram(h)) => {
                    for p in h.data_points() {
                        found.push((label(&mut p.attributes()), p.count() as f64));
                    }
                }
                AggregatedMetrics::U64(MetricData::Histogram(h)) => {
                    for p in h.data_points() {
                        found.push((label(&mut p.attributes()), p.count() as f64));
                    }
                }
                other => panic!("unexpected {}: {other:?}", m.name()),
            }
            out.insert(m.name().to_string(), found);
        }
        out
    }

    fn single(p: &Points, name: &str) -> f64 {
        let found = p.get(name).unwrap_or_else(|| panic!("no {name} in {p:#?}"));
        assert_eq!(found.len(), 1, "{name}: {found:?}");
        found[0].1
    }

    /// A pipeline to an in-memory exporter (exports only when flushed).
    fn memory(
        status: Status,
    ) -> (
        InMemoryMetricExporter,
        SdkMeterProvider,
        Instruments,
        watch::Sender<Status>,
        Arc<AtomicU64>,
    ) {
        let exporter = InMemoryMetricExporter::default();
        let (tx, rx) = watch::channel(status);
        let failed = Arc::new(AtomicU64::new(0));
        let (provider, instruments) = pipeline(
            exporter.clone(),
            Duration::from_secs(3600),
            rx,
            failed.clone(),
        );
        (exporter, provider, instruments, tx, failed)
    }

    fn last(exporter: &InMemoryMetricExporter, provider: &SdkMeterProvider) -> ResourceMetrics {
        provider.force_flush().unwrap();
        exporter.get_finished_metrics().unwrap().pop().unwrap()
    }

    #[test]
    fn a_starting_core_reports_its_state_and_zero_counts_only() {
        let (exporter, provider, _instruments, _tx, _) =
            memory(Status::starting("http://h:1", Utc::now()));
        let p = points(&last(&exporter, &provider));
        let current: Vec<_> = p["domain_sync.state"]
            .iter()
            .filter(|(_, v)| *v == 1.0)
            .map(|(a, _)| a.clone())
            .collect();
        assert_eq!(current, ["state=starting"]);
        assert_eq!(p["domain_sync.state"].len(), 7);
        assert_eq!(single(&p, "domain_sync.publishes"), 0.0);
        assert_eq!(single(&p, "domain_sync.container.restarts"), 0.0);
        assert_eq!(single(&p, "domain_sync.telemetry.dropped_spans"), 0.0);
        assert_eq!(
            single(&p, "domain_sync.telemetry.dropped_metric_exports"),
            0.0
        );
        for name in [
            "domain_sync.data.age",
            "domain_sync.last_publish.age",
            "domain_sync.last_check.age",
            "domain_sync.txid",
            "domain_sync.schema_version",
            "domain_sync.table.rows",
            "domain_sync.sync.failures",
            "domain_sync.publish.duration",
        ] {
            assert!(!p.contains_key(name), "{name}");
        }
    }

    #[test]
    fn events_and_the_status_reach_the_export() {
        let mut status = Status::starting("http://h:1", Utc::now());
        status.source = SourceKind::Cloud;
        let (exporter, provider, instruments, tx, failed) = memory(status);
        instruments.publish(Duration::from_millis(700), 3 << 20);
        instruments.failure(ErrorKind::LiteFsHttpError);
        instruments.container_restarts().add(2);
        failed.fetch_add(1, Ordering::Relaxed);
        tx.send_modify(|s| {
            s.set_state(State::UpToDate, Utc::now());
            s.txid = Some(Txid(0x2f));
            s.last_sync_at = Some(Utc::now());
            s.telemetry_dropped_spans = 4;
        });
        let rm = last(&exporter, &provider);
        let p = points(&rm);
        assert_eq!(single(&p, "domain_sync.publishes"), 1.0);
        assert_eq!(
            p["domain_sync.sync.failures"],
            [("error.type=litefs_http_error".to_string(), 1.0)]
        );
        assert_eq!(single(&p, "domain_sync.container.restarts"), 2.0);
        assert_eq!(single(&p, "domain_sync.txid"), 47.0);
        assert!(single(&p, "domain_sync.last_publish.age") >= 0.0);
        assert_eq!(single(&p, "domain_sync.telemetry.dropped_spans"), 4.0);
        assert_eq!(
            single(&p, "domain_sync.telemetry.dropped_metric_exports"),
            1.0
        );
        assert_eq!(single(&p, "domain_sync.publish.duration"), 1.0);
        assert_eq!(single(&p, "domain_sync.publish.size"), 1.0);
        let source = rm.resource().get(&"domain_sync.source".into());
        assert_eq!(source, Some("cloud".into()));
    }

    #[test]
    fn no_free_text_is_sent() {
        let mut status = Status::starting("http://127.0.0.1:20202", Utc::now());
        status.set_state(State::Error, Utc::now());
        status.detail = Some("detail-text-1".into());
        status.error = Some(ErrorInfo {
            kind: ErrorKind::LiteFsHttpError,
            message: "message-text-2".into(),
        });
        status.published_path = Some("/secret/path-3".into());
        let (exporter, provider, _instruments, _tx, _) = memory(status);
        let text = format!("{:?}", last(&exporter, &provider));
        assert!(text.contains("domain_sync.state"), "{text}");
        for leaked in ["detail-text-1", "message-text-2", "path-3", "20202"] {
            assert!(!text.contains(leaked), "{leaked} sent");
        }
    }

    /// A collector that answers 400 (not worth retrying) to the first `refuse` requests,
    /// then 200; it keeps
    /// every request it decoded.
    async fn collector(
        refuse: usize,
    ) -> (
        String,
        Arc<
            std::sync::Mutex<
                Vec<
                    opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest,
                >,
            >,
        >,
    ) {
        use axum::http::StatusCode;
        use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
        use prost::Message;
        let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = requests.clone();
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let app = axum::Router::new().route(
            "/v1/metrics",
            axum::routing::post(move |body: bytes::Bytes| {
                let (seen, count) = (seen.clone(), count.clone());
                async move {
                    if count.fetch_add(1, Ordering::SeqCst) < refuse {
                        return StatusCode::BAD_REQUEST;
                    }
                    let request = ExportMetricsServiceRequest::decode(body).expect("protobuf");
                    seen.lock().unwrap().push(request);
                    StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1/metrics", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url, requests)
    }

    async fn wait_for(what: &str, check: impl Fn() -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !check() {
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refused_exports_are_counted_in_the_next_one_that_arrives() {
        use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
        let (url, requests) = collector(2).await;
        let (tx, rx) = watch::channel(Status::starting("http://h:1", Utc::now()));
        start(&url, Duration::from_millis(20), rx, std::future::pending()).unwrap();
        wait_for("an accepted export", || {
            !requests.lock().unwrap().is_empty()
        })
        .await;
        let first = requests.lock().unwrap()[0].clone();
        let dropped = first.resource_metrics[0].scope_metrics[0]
            .metrics
            .iter()
            .find(|m| m.name == "domain_sync.telemetry.dropped_metric_exports")
            .cloned()
            .unwrap();
        let Some(metric::Data::Sum(sum)) = dropped.data else {
            panic!("not a sum");
        };
        assert_eq!(
            sum.data_points[0].value,
            Some(number_data_point::Value::AsInt(2))
        );
        drop(tx);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_heartbeat_ends_with_its_core() {
        let (url, requests) = collector(0).await;
        let (tx, rx) = watch::channel(Status::starting("http://h:1", Utc::now()));
        let (core, ended) = tokio::sync::oneshot::channel::<()>();
        start(&url, Duration::from_millis(20), rx, async move {
            let _ = ended.await;
        })
        .unwrap();
        tx.send_modify(|s| s.set_state(State::DockerUnavailable, Utc::now()));
        wait_for("three heartbeats", || requests.lock().unwrap().len() >= 3).await;
        drop(core);
        // The last export (at shutdown) may still land; then nothing.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = requests.lock().unwrap().len();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(requests.lock().unwrap().len(), after, "still beating");
    }
}
