//! End to end: the daemon (a real process) syncing from litefs-sim sends its spans to an
//! OTLP/HTTP receiver run by the test, which decodes the real protobuf requests; and a
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
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
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

/// An OTLP/HTTP traces receiver on a loopback port.
struct Receiver {
    /// Base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it.
    base: String,
    port: u16,
    spans: Arc<Mutex<Vec<Received>>>,
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
        let app = axum::Router::new().route(
            "/v1/traces",
            post(move |headers: HeaderMap, body: Bytes| {
                let seen = seen.clone();
                async move {
                    assert_eq!(headers["content-type"], "application/x-protobuf");
                    let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
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
            task,
        }
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
    ]
}

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
                .is_some_and(|e| e.kind == "litefs_http_error")
        })
        .await;
    let error = status.error.unwrap();
    let got = local
        .wait_for("the failure", &daemon, |r| {
            r.span
                .status
                .as_ref()
                .is_some_and(|s| s.code == SpanStatus::Error as i32)
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

/// A "collector" that accepts connections and never answers.
async fn black_hole() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    });
    (base, task)
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
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_never_answers_does_not_slow_syncing() {
    let root = tempfile::tempdir().unwrap();
    let (silent, _hole) = black_hole().await;
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let mut config = DaemonConfig::new(root.path(), &sim.url);
    config.env = otel_env(&silent);
    let mut daemon = Daemon::start(root.path(), &config);
    daemon.wait_synced_to(&sim.sim.position()).await;

    publish_each(&sim, &mut daemon, 8).await;
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetry_can_be_turned_off() {
    let root = tempfile::tempdir().unwrap();
    let receiver = Receiver::start().await;
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let mut config = DaemonConfig::new(root.path(), &sim.url);
    config.env = otel_env(&receiver.base);
    config.extra = "[telemetry]\nenabled = false\n".into();
    let mut daemon = Daemon::start(root.path(), &config);
    daemon.wait_synced_to(&sim.sim.position()).await;
    let pos = sim.sim.commit(1).await.unwrap();
    daemon.wait_synced_to(&pos).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.spans.lock().unwrap().is_empty());
    assert!(daemon.log_text().contains("telemetry is turned off"));
    daemon.stop();
}
