//! End to end: the daemon (a real process) syncing from litefs-sim sends its spans and its
//! heartbeat metrics to an OTLP/HTTP receiver run by the test, which decodes the real
//! protobuf requests; the heartbeat keeps coming when the app cannot sync; and a
//! collector that is missing or never answers does not slow syncing down.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::*;
use litefs_sim::Misbehaviour;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point, NumberDataPoint};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode as SpanStatus;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use voripos_domain_sync::status::State;

const WAIT: Duration = Duration::from_secs(30);

/// A span as received, with its resource's attributes.
#[derive(Clone, Debug)]
struct Received {
    resource: BTreeMap<String, Value>,
    span: Span,
}

impl Received {
    fn attr(&self, key: &str) -> Option<Value> {
        attributes(&self.span.attributes).remove(key)
    }
}

fn attributes(kvs: &[KeyValue]) -> BTreeMap<String, Value> {
    kvs.iter()
        .filter_map(|kv| Some((kv.key.clone(), kv.value.clone()?.value?)))
        .collect()
}

fn text(v: &str) -> Value {
    Value::StringValue(v.to_string())
}

/// One heartbeat as received: each metric's points, and the resource.
#[derive(Clone, Debug)]
struct Beat {
    resource: BTreeMap<String, Value>,
    metrics: BTreeMap<String, Vec<Point>>,
}

/// A point: its string attributes and its value (a histogram's is its count, with its
/// sum beside it).
#[derive(Clone, Debug)]
struct Point {
    attributes: BTreeMap<String, String>,
    value: f64,
    sum: Option<f64>,
}

impl Beat {
    fn decode(request: ExportMetricsServiceRequest) -> Vec<Beat> {
        request
            .resource_metrics
            .into_iter()
            .map(|rm| Beat {
                resource: attributes(&rm.resource.unwrap_or_default().attributes),
                metrics: rm
                    .scope_metrics
                    .into_iter()
                    .flat_map(|s| s.metrics)
                    .map(|m| {
                        let points = match m.data.expect("metric data") {
                            metric::Data::Gauge(g) => numbers(g.data_points),
                            metric::Data::Sum(s) => numbers(s.data_points),
                            metric::Data::Histogram(h) => h
                                .data_points
                                .into_iter()
                                .map(|p| Point {
                                    attributes: strings(&p.attributes),
                                    value: p.count as f64,
                                    sum: p.sum,
                                })
                                .collect(),
                            other => panic!("unexpected metric data {other:?}"),
                        };
                        (m.name, points)
                    })
                    .collect(),
            })
            .collect()
    }

    /// The points of a metric (none when it has none: the SDK leaves such a metric out).
    fn points(&self, name: &str) -> &[Point] {
        self.metrics.get(name).map_or(&[], Vec::as_slice)
    }

    /// The value of a metric with one point, `None` when it has no point.
    fn single(&self, name: &str) -> Option<f64> {
        let points = self.metrics.get(name)?;
        assert_eq!(points.len(), 1, "{name}: {points:?}");
        Some(points[0].value)
    }

    /// The state whose point is 1 (asserting there is exactly one).
    fn state(&self) -> String {
        let current: Vec<_> = self.metrics["domain_sync.state"]
            .iter()
            .filter(|p| p.value == 1.0)
            .map(|p| p.attributes["state"].clone())
            .collect();
        assert_eq!(current.len(), 1, "{self:#?}");
        current[0].clone()
    }
}

fn numbers(points: Vec<NumberDataPoint>) -> Vec<Point> {
    points
        .into_iter()
        .map(|p| Point {
            attributes: strings(&p.attributes),
            value: match p.value.expect("a value") {
                number_data_point::Value::AsInt(i) => i as f64,
                number_data_point::Value::AsDouble(d) => d,
            },
            sum: None,
        })
        .collect()
}

fn strings(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    attributes(kvs)
        .into_iter()
        .map(|(k, v)| match v {
            Value::StringValue(s) => (k, s),
            other => panic!("{k} is not a string: {other:?}"),
        })
        .collect()
}

/// An OTLP/HTTP traces and metrics receiver on a loopback port.
struct Receiver {
    /// Base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it.
    base: String,
    port: u16,
    spans: Arc<Mutex<Vec<Received>>>,
    beats: Arc<Mutex<Vec<Beat>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start() -> Receiver {
        Receiver::start_on("127.0.0.1:0").await
    }

    /// A receiver on `addr` (which must be free).
    async fn start_on(addr: &str) -> Receiver {
        let spans = Arc::new(Mutex::new(Vec::new()));
        let seen = spans.clone();
        let beats = Arc::new(Mutex::new(Vec::new()));
        let seen_beats = beats.clone();
        let app = axum::Router::new()
            .route(
                "/v1/metrics",
                post(move |headers: HeaderMap, body: Bytes| {
                    let seen = seen_beats.clone();
                    async move {
                        assert_eq!(headers["content-type"], "application/x-protobuf");
                        let request =
                            ExportMetricsServiceRequest::decode(body).expect("OTLP protobuf");
                        seen.lock().unwrap().extend(Beat::decode(request));
                        (StatusCode::OK, [("content-type", "application/x-protobuf")])
                    }
                }),
            )
            .route(
                "/v1/traces",
                post(move |headers: HeaderMap, body: Bytes| {
                    let seen = seen.clone();
                    async move {
                        assert_eq!(headers["content-type"], "application/x-protobuf");
                        let request =
                            ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                        let mut seen = seen.lock().unwrap();
                        for rs in request.resource_spans {
                            let resource = attributes(&rs.resource.unwrap_or_default().attributes);
                            for span in rs.scope_spans.into_iter().flat_map(|s| s.spans) {
                                seen.push(Received {
                                    resource: resource.clone(),
                                    span,
                                });
                            }
                        }
                        (StatusCode::OK, [("content-type", "application/x-protobuf")])
                    }
                }),
            );
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .unwrap_or_else(|e| panic!("cannot listen on {addr}: {e}"));
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver {
            base: format!("http://127.0.0.1:{port}"),
            port,
            spans,
            beats,
            task,
        }
    }

    /// Waits for the `n`th heartbeat (counting from 1) after the first `skip` that
    /// satisfies `pred`; returns it.
    async fn wait_for_beats(
        &self,
        what: &str,
        daemon: &Daemon,
        skip: usize,
        n: usize,
        pred: impl Fn(&Beat) -> bool,
    ) -> Beat {
        let start = Instant::now();
        loop {
            let found: Vec<_> = self.beats.lock().unwrap()[skip..]
                .iter()
                .filter(|b| pred(b))
                .cloned()
                .collect();
            if found.len() >= n {
                return found[n - 1].clone();
            }
            assert!(
                start.elapsed() < WAIT,
                "{} of {n} heartbeats for {what}; last received: {:#?}\nlog:\n{}",
                found.len(),
                self.beats.lock().unwrap().last(),
                daemon.log_text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn beat_count(&self) -> usize {
        self.beats.lock().unwrap().len()
    }

    /// Waits for a span satisfying `pred`.
    async fn wait_for(
        &self,
        what: &str,
        daemon: &Daemon,
        pred: impl Fn(&Received) -> bool,
    ) -> Received {
        let start = Instant::now();
        loop {
            if let Some(r) = self.spans.lock().unwrap().iter().find(|r| pred(r)) {
                return r.clone();
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "no span for {what}; received: {:#?}\nlog:\n{}",
                self.spans.lock().unwrap(),
                daemon.log_text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The environment that points the daemon at `base` (the traces-only variable, which
/// would win, is blanked: empty counts as unset).
fn otel_env(base: &str) -> Vec<(String, String)> {
    vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT".into(), base.into()),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT".into(), String::new()),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT".into(), String::new()),
    ]
}

/// A heartbeat every 100 ms instead of every minute.
const QUICK_HEARTBEAT: &str = "[telemetry]\nmetrics_interval = \"100ms\"\n";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_sends_a_span_with_the_old_attributes_and_the_generator_link() {
    let root = tempfile::tempdir().unwrap();
    let receiver = Receiver::start().await;
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let mut config = DaemonConfig::new(root.path(), &sim.url);
    config.env = otel_env(&receiver.base);
    let mut daemon = Daemon::start(root.path(), &config);
    daemon.wait_synced_to(&sim.sim.position()).await;

    let pos = sim.sim.commit(1).await.unwrap();
    let status = daemon.wait_synced_to(&pos).await;
    let path = status.published_path.clone().unwrap();
    let checksum = format!("{:016x}", pos.checksum);
    let got = receiver
        .wait_for("the publish", &daemon, |r| {
            r.attr("litefs_checksum") == Some(text(&checksum))
        })
        .await;

    let span = &got.span;
    assert_eq!(span.name, "Copy domain data to host");
    assert!(span
        .status
        .as_ref()
        .is_none_or(|s| s.code != SpanStatus::Error as i32));
    let inspected = voripos_domain_sync::inspect::inspect(&path, &[]).unwrap();
    let meta = inspected.metadata;
    let a = attributes(&span.attributes);
    assert_eq!(a["domain_sync.source"], text("litefs"));
    assert_eq!(
        a["domain_data_generated_at"],
        text(meta.generated_at.as_deref().unwrap())
    );
    assert_eq!(
        a["domain_data_schema_version"],
        text(meta.schema_version.as_deref().unwrap())
    );
    assert_eq!(a["litefs_txid"], text(&format!("{:016x}", pos.txid)));
    let size = std::fs::metadata(&path).unwrap().len();
    assert_eq!(a["domain_data_bytes"], Value::IntValue(size as i64));
    assert_eq!(a["domain_data_path"], text(&path.display().to_string()));
    let Value::DoubleValue(ms) = a["duration_ms"] else {
        panic!("duration_ms is not a double: {:?}", a["duration_ms"]);
    };
    let measured = (span.end_time_unix_nano - span.start_time_unix_nano) as f64 / 1e6;
    assert!(
        ms > 0.0 && (ms - measured).abs() < 1.0,
        "{ms} vs {measured}"
    );

    // The link is the generator's span, from the database's metadata row.
    assert_eq!(span.links.len(), 1, "{span:#?}");
    let link = &span.links[0];
    assert_eq!(hex(&link.trace_id), meta.linked_trace_id.unwrap());
    assert_eq!(hex(&link.span_id), meta.linked_span_id.unwrap());
    assert_eq!(
        link.trace_state,
        meta.linked_trace_state.unwrap_or_default()
    );

    // Its own identity is new: a root span of a trace of its own.
    assert_eq!((span.trace_id.len(), span.span_id.len()), (16, 8));
    assert!(span.parent_span_id.is_empty());
    assert_ne!(span.trace_id, link.trace_id);
    let all = receiver.spans.lock().unwrap().clone();
    assert!(all.len() >= 2, "the first publish sent its span too");
    assert_ne!(all[0].span.trace_id, all[1].span.trace_id);

    assert_eq!(got.resource["service.name"], text("voripos-domain-sync"));
    assert_eq!(
        got.resource["service.version"],
        text(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(daemon.status().unwrap().telemetry_dropped_spans, 0);
    let log = daemon.log_text();
    assert!(
        log.contains("sending a trace span") && log.contains("OTEL_EXPORTER_OTLP_ENDPOINT"),
        "{log}"
    );
    daemon.stop();
}

/// Writes the POS app's (sandboxed) user defaults as the fleet's provisioning does: the
/// local collector's upstream.
fn provision_collector(home: &Path, port: u16) {
    let path = home.join(
        "Library/Containers/com.vori.VoriPOS/Data/Library/Preferences/com.vori.VoriPOS.plist",
    );
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let defaults: plist::Dictionary = [
        ("provisioned_otlpHostname", plist::Value::from("127.0.0.1")),
        ("provisioned_otlpPort", plist::Value::from(i64::from(port))),
    ]
    .into_iter()
    .collect();
    plist::Value::Dictionary(defaults)
        .to_file_binary(&path)
        .unwrap();
}

/// The local collector's standard OTLP/HTTP address, where a Mac with nothing configured
/// sends. Only this test binds it.
const LOCAL_COLLECTOR: &str = "127.0.0.1:4318";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provisioned_mac_sends_to_the_local_collector_not_its_upstream() {
    let root = tempfile::tempdir().unwrap();
    let local = Receiver::start_on(LOCAL_COLLECTOR).await;
    let upstream = Receiver::start().await;
    let home = root.path().join("home");
    provision_collector(&home, upstream.port);
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let mut config = DaemonConfig::new(root.path(), &sim.url);
    // No variable and no config key: the default, whatever the user defaults say.
    config.env = otel_env("");
    config.env.push(("HOME".into(), home.display().to_string()));
    let mut daemon = Daemon::start(root.path(), &config);
    daemon.wait_synced_to(&sim.sim.position()).await;

    sim.misbehave(Misbehaviour::Http500);
    sim.sim.commit(1).await.unwrap();
    let status = daemon
        .wait_for("the export error", WAIT, |s| {
            s.error
                .as_ref()
                .is_some_and(|e| e.kind.as_str() == "litefs_http_error")
        })
        .await;
    let error = status.error.unwrap();
    let got = local
        .wait_for("the failure", &daemon, |r| {
            r.span
                .status
                .as_ref()
                .is_some_and(|s| s.code == SpanStatus::Error as i32 && s.message == error.message)
        })
        .await;
    assert_eq!(got.span.name, "Copy domain data to host");
    assert_eq!(got.span.status.clone().unwrap().message, error.message);
    assert_eq!(got.attr("error.type"), Some(text("litefs_http_error")));
    assert!(got.span.links.is_empty());
    assert!(
        upstream.spans.lock().unwrap().is_empty(),
        "spans went to the collector's upstream"
    );
    assert!(daemon.log_text().contains("the local collector"));

    sim.misbehave(Misbehaviour::None);
    daemon.wait_synced_to(&sim.sim.position()).await;
    daemon.stop();
}

/// Commits `n` transactions one after the other, each published before the next.
/// Were syncing to wait on a silent collector (a 5 s request timeout per span), these
/// would not all be published within the harness's patience; no wall-clock bound is
/// asserted (shared machines are noisy): the benchmark measures speed.
async fn publish_each(sim: &SimServer, daemon: &mut Daemon, n: usize) {
    for _ in 0..n {
        let pos = sim.sim.commit(1).await.unwrap();
        daemon.wait_synced_to(&pos).await;
    }
}

/// A "collector" that accepts connections and never answers; counts the connections.
async fn black_hole() -> (
    String,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
    tokio::task::JoinHandle<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(conn);
        }
    });
    (base, accepted, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_collector_neither_slows_syncing_nor_goes_unnoticed() {
    let root = tempfile::tempdir().unwrap();
    let nobody = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let mut config = DaemonConfig::new(root.path(), &sim.url);
    config.env = otel_env(&nobody);
    config.extra = QUICK_HEARTBEAT.into();
    let mut daemon = Daemon::start(root.path(), &config);
    daemon.wait_synced_to(&sim.sim.position()).await;

    publish_each(&sim, &mut daemon, 8).await;
    let status = daemon
        .wait_for("dropped spans in the status", WAIT, |s| {
            s.telemetry_dropped_spans >= 1
        })
        .await;
    assert_eq!(status.state, State::UpToDate);
    let log = daemon.log_text();
    assert_eq!(
        log.matches("cannot deliver trace spans").count(),
        1,
        "one warning, not one per span:\n{log}"
    );
    assert_eq!(
        log.matches("cannot deliver metrics").count(),
        1,
        "one warning, not one per heartbeat:\n{log}"
    );
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_never_answers_does_not_slow_syncing() {
    let root = tempfile::tempdir().unwrap();
    let (silent, accepted, _hole) = black_hole().await;
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let mut config = DaemonConfig::new(root.path(), &sim.url);
    // Only the spans go to the silent collector: every connection it gets is theirs.
    let (nobody, _, _) = black_hole().await;
    config.env = otel_env(&nobody);
    config.env[1].1 = format!("{silent}/v1/traces");
    let mut daemon = Daemon::start(root.path(), &config);
    daemon.wait_synced_to(&sim.sim.position()).await;
    // The first publish's span reaches the collector (and waits there for good).
    let start = std::time::Instant::now();
    while accepted.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(start.elapsed() < WAIT, "no span was sent to the collector");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // The bound, counted rather than timed: three more versions are published while
    // the first span's request is still unanswered and not even given up on (the
    // exporter's request timeout, 5 s, would log "cannot deliver"). A sync that waited
    // for its span would publish the next version only after that.
    publish_each(&sim, &mut daemon, 3).await;
    let log = daemon.log_text();
    assert_eq!(
        log.matches("cannot deliver trace spans").count(),
        0,
        "the publishes waited for the collector:\n{log}"
    );
    let status = daemon.status().unwrap();
    assert_eq!(
        (status.state, status.telemetry_dropped_spans),
        (State::UpToDate, 0)
    );
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetry_can_be_turned_off() {
    let root = tempfile::tempdir().unwrap();
    let receiver = Receiver::start().await;
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let mut config = DaemonConfig::new(root.path(), &sim.url);
    config.env = otel_env(&receiver.base);
    config.extra = "[telemetry]\nenabled = false\nmetrics_interval = \"100ms\"\n".into();
    let mut daemon = Daemon::start(root.path(), &config);
    daemon.wait_synced_to(&sim.sim.position()).await;
    let pos = sim.sim.commit(1).await.unwrap();
    daemon.wait_synced_to(&pos).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.spans.lock().unwrap().is_empty());
    assert_eq!(receiver.beat_count(), 0);
    assert!(daemon.log_text().contains("telemetry is turned off"));
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_heartbeat_shows_what_the_status_shows() {
    let root = tempfile::tempdir().unwrap();
    let receiver = Receiver::start().await;
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let mut config = DaemonConfig::new(root.path(), &sim.url);
    config.env = otel_env(&receiver.base);
    config.extra = QUICK_HEARTBEAT.into();
    let mut daemon = Daemon::start(root.path(), &config);
    daemon.wait_synced_to(&sim.sim.position()).await;
    let pos = sim.sim.commit(1).await.unwrap();
    daemon.wait_synced_to(&pos).await;
    let skip = receiver.beat_count();
    let beat = receiver
        .wait_for_beats("the new TXID", &daemon, skip, 1, |b| {
            b.single("domain_sync.txid") == Some(pos.txid as f64)
        })
        .await;
    let status = daemon.status().unwrap();
    assert_eq!(status.state, State::UpToDate);
    assert_eq!(beat.state(), "up_to_date");
    assert_eq!(
        beat.metrics["domain_sync.state"].len(),
        7,
        "one point per state"
    );
    assert_eq!(status.txid.unwrap().0, pos.txid);
    let meta = status.metadata.clone().unwrap();
    assert_eq!(
        beat.single("domain_sync.schema_version"),
        Some(meta.schema_version.unwrap().parse::<f64>().unwrap())
    );
    let rows: BTreeMap<String, f64> = beat.metrics["domain_sync.table.rows"]
        .iter()
        .map(|p| (p.attributes["table"].clone(), p.value))
        .collect();
    let shown: BTreeMap<String, f64> = status
        .row_counts
        .iter()
        .filter_map(|(t, n)| Some((t.clone(), (*n)? as f64)))
        .collect();
    assert!(!shown.is_empty());
    assert_eq!(rows, shown);

    // The ages are those of the status's times (give or take the heartbeat's own age).
    let now = chrono::Utc::now();
    let generated = chrono::DateTime::parse_from_rfc3339(meta.generated_at.as_deref().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    let near = |name: &str, since: chrono::DateTime<chrono::Utc>| {
        let age = beat.single(name).unwrap_or_else(|| panic!("no {name}"));
        let expected = (now - since).as_seconds_f64();
        assert!(
            age <= expected + 1.0 && age >= expected - 30.0,
            "{name} = {age}, the status says {expected}"
        );
    };
    near("domain_sync.data.age", generated);
    near("domain_sync.last_publish.age", status.last_sync_at.unwrap());
    assert!(beat.single("domain_sync.last_check.age").unwrap() >= 0.0);

    // Two publishes so far (the start-up one and the commit's), each measured.
    assert_eq!(beat.single("domain_sync.publishes"), Some(2.0));
    let duration = &beat.metrics["domain_sync.publish.duration"][0];
    assert_eq!(duration.value, 2.0);
    assert!(duration.sum.unwrap() > 0.0);
    let size = &beat.metrics["domain_sync.publish.size"][0];
    assert_eq!(size.value, 2.0);
    let published = std::fs::metadata(status.published_path.as_ref().unwrap())
        .unwrap()
        .len();
    assert!(size.sum.unwrap() >= published as f64, "{size:?}");
    assert!(
        beat.points("domain_sync.sync.failures").is_empty(),
        "{:?}\nlog:\n{}",
        beat.points("domain_sync.sync.failures"),
        daemon.log_text()
    );
    assert_eq!(beat.single("domain_sync.container.restarts"), Some(0.0));
    assert_eq!(
        beat.single("domain_sync.telemetry.dropped_spans"),
        Some(0.0)
    );
    assert_eq!(
        beat.single("domain_sync.telemetry.dropped_metric_exports"),
        Some(0.0)
    );
    assert_eq!(beat.resource["service.name"], text("voripos-domain-sync"));
    assert_eq!(
        beat.resource["service.version"],
        text(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(beat.resource["domain_sync.source"], text("litefs"));

    // A failed sync is counted by its kind.
    sim.misbehave(Misbehaviour::Http500);
    sim.sim.commit(1).await.unwrap();
    let skip = receiver.beat_count();
    let beat = receiver
        .wait_for_beats("the failure", &daemon, skip, 1, |b| {
            !b.points("domain_sync.sync.failures").is_empty()
        })
        .await;
    let failures = &beat.metrics["domain_sync.sync.failures"];
    assert_eq!(failures[0].attributes["error.type"], "litefs_http_error");
    assert!(failures[0].value >= 1.0);
    sim.misbehave(Misbehaviour::None);
    daemon.wait_synced_to(&sim.sim.position()).await;
    daemon.stop();
}

/// A managed container whose Docker engine does not exist, with a token: the app is
/// stuck in `docker_unavailable` and never starts a sync worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_heartbeat_keeps_coming_while_docker_is_unavailable() {
    let root = tempfile::tempdir().unwrap();
    let receiver = Receiver::start().await;
    let mut config = DaemonConfig::new(root.path(), "http://127.0.0.1:1");
    config.container = format!(
        "manage = true\nimage = \"fake/litefs:test\"\nname = \"telemetry-test\"\nhost_port = {}\n",
        free_port()
    );
    config.env = otel_env(&receiver.base);
    config.env.extend([
        ("DOCKER_HOST".into(), "unix:///nonexistent.sock".into()),
        ("LITEFS_CLOUD_TOKEN".into(), "telemetry-test-token".into()),
        (
            "HOME".into(),
            root.path().join("home").display().to_string(),
        ),
    ]);
    config.extra = QUICK_HEARTBEAT.into();
    let mut daemon = Daemon::start(root.path(), &config);
    daemon
        .wait_for("docker_unavailable", WAIT, |s| {
            s.state == State::DockerUnavailable
        })
        .await;
    let skip = receiver.beat_count();
    let beat = receiver
        .wait_for_beats("docker_unavailable", &daemon, skip, 3, |b| {
            b.state() == "docker_unavailable"
        })
        .await;
    assert_eq!(beat.single("domain_sync.publishes"), Some(0.0));
    assert!(!beat.metrics.contains_key("domain_sync.txid"));
    let text = format!("{:?}", receiver.beats.lock().unwrap());
    assert!(!text.contains("telemetry-test-token"), "the token was sent");
    daemon.stop();
}

/// No token (`not_configured`), then an unusable config file (`error`): idle cores that
/// never sync still report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_heartbeat_keeps_coming_while_idle() {
    let root = tempfile::tempdir().unwrap();
    let receiver = Receiver::start().await;
    let mut config = DaemonConfig::new(root.path(), "http://127.0.0.1:1");
    config.container = "manage = true\n".into();
    config.env = otel_env(&receiver.base);
    config.env.extend([
        ("LITEFS_CLOUD_TOKEN".into(), String::new()),
        (
            "HOME".into(),
            root.path().join("home").display().to_string(),
        ),
    ]);
    config.extra = QUICK_HEARTBEAT.into();
    let mut daemon = Daemon::start(root.path(), &config);
    daemon
        .wait_for("not_configured", WAIT, |s| s.state == State::NotConfigured)
        .await;
    let skip = receiver.beat_count();
    receiver
        .wait_for_beats("not_configured", &daemon, skip, 3, |b| {
            b.state() == "not_configured"
        })
        .await;
    daemon.stop();

    let path = root.path().join("broken.toml");
    std::fs::write(&path, "[telemetry]\nno_such_key = 1\n").unwrap();
    let skip = receiver.beat_count();
    let mut daemon = Daemon::spawn(root.path(), &path, &config);
    receiver
        .wait_for_beats("config_invalid", &daemon, skip, 1, |b| b.state() == "error")
        .await;
    daemon.stop();
}

/// A "collector" that answers every request with a 307 to the same path on `target`;
/// counts the requests by path.
async fn redirector(target: &str) -> (String, Arc<Mutex<BTreeMap<String, usize>>>) {
    let seen = Arc::new(Mutex::new(BTreeMap::new()));
    let counts = seen.clone();
    let target = target.to_string();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let counts = counts.clone();
        let location = format!("{target}{}", uri.path());
        async move {
            *counts
                .lock()
                .unwrap()
                .entry(uri.path().to_string())
                .or_default() += 1;
            (StatusCode::TEMPORARY_REDIRECT, [("location", location)])
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_and_metrics_do_not_follow_a_redirect_to_another_server() {
    let root = tempfile::tempdir().unwrap();
    let elsewhere = Receiver::start().await;
    let (collector, requests) = redirector(&elsewhere.base).await;
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let mut config = DaemonConfig::new(root.path(), &sim.url);
    config.env = otel_env(&collector);
    config.extra = QUICK_HEARTBEAT.into();
    let mut daemon = Daemon::start(root.path(), &config);
    daemon.wait_synced_to(&sim.sim.position()).await;

    // The span of the first publish was answered with the redirect and given up on.
    let status = daemon
        .wait_for("the redirected span counted as dropped", WAIT, |s| {
            s.telemetry_dropped_spans >= 1
        })
        .await;
    assert_eq!(status.state, State::UpToDate);
    // Heartbeats go one after the other: once the second was asked, the first is done.
    let start = Instant::now();
    while requests
        .lock()
        .unwrap()
        .get("/v1/metrics")
        .copied()
        .unwrap_or(0)
        < 2
    {
        assert!(start.elapsed() < WAIT, "no heartbeats: {requests:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(requests.lock().unwrap().get("/v1/traces").is_some());
    assert!(
        elsewhere.spans.lock().unwrap().is_empty(),
        "a span followed the redirect"
    );
    assert_eq!(
        elsewhere.beat_count(),
        0,
        "a heartbeat followed the redirect"
    );
    daemon.stop();
}
