//! OpenTelemetry for the fleet, sent to the store Mac's local collector over OTLP/HTTP
//! with the official SDK (`opentelemetry_sdk`, `opentelemetry-otlp`): a trace span for
//! every publish (linked to the trace of the server job that generated the database) and
//! for every failed sync, and a heartbeat of metrics while the app runs.
//!
//! [`endpoint`] decides where each signal goes; [`span`] builds a job's span and
//! [`traces`] runs the SDK's batch span processor; [`instruments`] counts the sync's
//! events, [`metrics`] shows the status, and [`heartbeat`] runs a core's metrics pipeline
//! (the SDK's periodic reader). Both export on threads of their own, through [`http`]'s
//! client on the app's runtime, and [`export`] counts what did not arrive. The worker calls [`Telemetry::record`]
//! after each job; it never waits and never fails. Telemetry knows nothing of the sync's
//! types: it gets plain [`Report`]s and the [`Status`] the board publishes.

pub mod endpoint;
pub mod export;
pub mod heartbeat;
pub mod http;
pub mod instruments;
pub mod metrics;
pub mod span;
pub mod traces;

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry_sdk::error::OTelSdkResult;

use crate::config;
use crate::config::user_defaults::{UserDefaults, POS_DOMAIN};
use crate::config::SourceKind;
use crate::error_kind::ErrorKind;
use crate::status::board::Board;
use crate::status::Event;

use endpoint::{Provisioned, Signal, Sources, Variables};
pub use instruments::{Counter, Instruments};
pub use span::Publish;
use span::Timing;

/// Why a pipeline cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Client(#[from] http::ClientError),
    #[error("cannot build the OTLP exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
}

/// Counts the sync results and sends their spans.
pub struct Telemetry {
    /// `None` when spans cannot be sent (an unusable endpoint): results are still counted.
    spans: Option<traces::Pipeline>,
    instruments: Instruments,
    /// Where the synced data comes from, named on every span.
    source: SourceKind,
}

impl Telemetry {
    /// Starts exporting as `config` says (needs a tokio runtime) the spans of syncs from
    /// `source`; results are counted in `instruments`; `report` receives the dropped-span
    /// total whenever it grows. `None` when telemetry is turned off.
    pub fn start(
        config: &config::Telemetry,
        source: SourceKind,
        variables: &Variables,
        instruments: Instruments,
        report: impl Fn(u64) + Send + Sync + 'static,
    ) -> Option<Telemetry> {
        if !config.enabled {
            tracing::info!("telemetry is turned off ([telemetry] enabled = false)");
            return None;
        }
        let spans = start_spans(config, variables, report);
        Some(Telemetry {
            spans,
            instruments,
            source,
        })
    }

    /// Counts the job that started at `started` and just ended as `report` says, and
    /// sends its span (a job that found nothing new is neither counted nor sent).
    pub fn record(&self, started: SystemTime, report: Report<'_>) {
        let timing = Timing {
            start: started,
            end: SystemTime::now(),
        };
        match &report {
            Report::Published(publish) => self.instruments.publish(
                timing.end.duration_since(timing.start).unwrap_or_default(),
                publish.bytes,
            ),
            Report::Failed { kind, .. } => self.instruments.failure(*kind),
        }
        let Some(spans) = &self.spans else {
            return;
        };
        if !spans.admit() {
            return;
        }
        let (mut attributes, link, error) = match report {
            Report::Published(publish) => {
                let link = publish.metadata.and_then(|m| {
                    span::link(m)
                        .inspect_err(|e| {
                            tracing::debug!(error = %e, "the database's trace link is malformed; the span is sent without it")
                        })
                        .ok()
                        .flatten()
                });
                (span::publish_attributes(&publish, timing), link, None)
            }
            Report::Failed { kind, message } => (
                span::failure_attributes(kind.as_str(), timing),
                None,
                Some(message),
            ),
        };
        attributes.push(span::source(self.source));
        span::send(&spans.tracer(), attributes, link, error, timing);
    }
}

/// The trace pipeline for `config`'s endpoint; `None` (logged once) when it is unusable.
fn start_spans(
    config: &config::Telemetry,
    variables: &Variables,
    report: impl Fn(u64) + Send + Sync + 'static,
) -> Option<traces::Pipeline> {
    let sources = Sources::from_variables(Signal::Traces, config.otlp_endpoint.clone(), variables);
    let endpoint = endpoint::resolve(Signal::Traces, sources)
        .inspect_err(|e| tracing::warn!("no trace spans will be sent: {e}"))
        .ok()?;
    traces::start(&endpoint.url, report)
        .inspect(|_| tracing::info!(endpoint = %endpoint.url, from = %endpoint.origin, "sending a trace span for every publish"))
        .inspect_err(|e| tracing::warn!(error = %e, "no trace spans will be sent"))
        .ok()
}

/// Runs a pipeline's `shutdown` (its last export, bounded by the exporter's timeout) on a
/// thread of its own: never on the async runtime, and nothing waits for it.
fn shut_down(signal: &str, shutdown: impl FnOnce() -> OTelSdkResult + Send + 'static) {
    let run = move || {
        if let Err(e) = shutdown() {
            tracing::debug!(error = %e, "telemetry shut down with an error");
        }
    };
    let spawned = std::thread::Builder::new()
        .name(format!("telemetry-{signal}-shutdown"))
        .spawn(run);
    if let Err(e) = spawned {
        tracing::debug!(error = %e, "cannot start a thread to shut telemetry down; it stops without its last export");
    }
}

/// How a job ended, as telemetry needs to know it (plain data: telemetry knows nothing
/// of the sync's types).
pub enum Report<'a> {
    Published(Publish<'a>),
    Failed { kind: ErrorKind, message: &'a str },
}

/// The collector upstream the fleet's provisioning stored for the POS app: shown by the
/// `config` command as what is *not* used (see [`endpoint`]).
pub fn provisioned(home: Option<&Path>) -> Provisioned {
    let Some(home) = home else {
        return Provisioned::default();
    };
    match UserDefaults::load(home, POS_DOMAIN) {
        Ok(d) => Provisioned {
            hostname: d.get_string("provisioned_otlpHostname"),
            port: d.get_integer("provisioned_otlpPort"),
        },
        Err(e) => {
            tracing::debug!("{e}; the provisioned collector upstream is not shown");
            Provisioned::default()
        }
    }
}

/// Starts telemetry for syncs from `source`, counting into `instruments`, whose
/// dropped-span total is shown in `board`'s status.
pub fn start(
    config: &config::Telemetry,
    source: SourceKind,
    variables: &Variables,
    board: &Arc<Board>,
    instruments: Instruments,
) -> Option<Telemetry> {
    let board = board.clone();
    Telemetry::start(config, source, variables, instruments, move |dropped| {
        board.apply(Event::TelemetryDropped(dropped))
    })
}

/// Starts the metrics heartbeat of the core whose handle on the status board is `board`;
/// it reads the core's status there and ends with the core ([`Board::ended`]). Returns the instruments the core's parts count their events in;
/// with telemetry turned off or an unusable endpoint (logged once) nothing is sent.
pub fn heartbeat(config: &config::Telemetry, variables: &Variables, board: &Board) -> Instruments {
    if !config.enabled {
        return Instruments::off();
    }
    let sources = Sources::from_variables(Signal::Metrics, config.otlp_endpoint.clone(), variables);
    let endpoint = match endpoint::resolve(Signal::Metrics, sources) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!("no metrics will be sent: {e}");
            return Instruments::off();
        }
    };
    let interval = config.metrics_interval;
    match heartbeat::start(&endpoint.url, interval, board.subscribe(), board.ended()) {
        Ok(instruments) => {
            tracing::info!(endpoint = %endpoint.url, from = %endpoint.origin, ?interval, "sending heartbeat metrics");
            instruments
        }
        Err(e) => {
            tracing::warn!(error = %e, "no metrics will be sent");
            Instruments::off()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::inspect::Metadata;
    use crate::litefs::Checksum;

    /// A "collector" that accepts connections and never answers; counts them.
    async fn black_hole() -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((conn, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                held.push(conn);
            }
        });
        (base, accepted)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stopping_does_not_wait_for_a_collector_that_never_answers() {
        let (base, accepted) = black_hole().await;
        let config = config::Telemetry {
            otlp_endpoint: Some(base),
            ..config::Telemetry::default()
        };
        let dropped = Arc::new(AtomicU64::new(0));
        let seen = dropped.clone();
        let telemetry = Telemetry::start(
            &config,
            SourceKind::Litefs,
            &Variables::new(),
            Instruments::off(),
            move |total| seen.store(total, Ordering::SeqCst),
        )
        .unwrap();
        let metadata = Metadata::default();
        telemetry.record(
            SystemTime::now(),
            Report::Published(Publish {
                path: Path::new("/d/Domain.sqlite3"),
                checksum: Checksum(1),
                txid: None,
                metadata: Some(&metadata),
                bytes: 1,
            }),
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while accepted.load(Ordering::SeqCst) == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the span was not sent"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // The export now waits for an answer (until its 5 s timeout). Stopping returns
        // while it still waits: had it waited for the export, the span would be counted.
        drop(telemetry);
        assert_eq!(dropped.load(Ordering::SeqCst), 0);
    }
}
