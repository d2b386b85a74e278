//! OpenTelemetry for the fleet, sent to the store Mac's local collector over OTLP/HTTP:
//! a trace span for every publish (linked to the trace of the server job that generated
//! the database) and for every failed sync, and a heartbeat of metrics while the app runs.
//!
//! [`endpoint`] decides where each signal goes; [`span`] builds spans from a job's
//! result and [`exporter`] delivers them off the sync path; [`instruments`] counts the
//! sync's events, [`metrics`] turns a status and those counts into metrics, and
//! [`heartbeat`] exports them on a timer. The worker calls [`Telemetry::record`] after
//! each job; it never waits and never fails. Telemetry knows nothing of the sync's
//! types: it gets plain [`Report`]s and the [`Status`] the board publishes.

pub mod endpoint;
pub mod exporter;
pub mod heartbeat;
pub mod instruments;
pub mod metrics;
pub mod otlp;
pub mod span;

use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::watch;

use crate::config;
use crate::config::user_defaults::{UserDefaults, POS_DOMAIN};
use crate::config::SourceKind;
use crate::status::board::Board;
use crate::status::{ErrorKind, Event, Status};

use endpoint::{Provisioned, Signal, Sources};
use exporter::{Exporter, Settings};
pub use instruments::{Counter, Instruments};
pub use span::Publish;
use span::{Ids, Timing};

/// Counts the sync results and sends their spans.
pub struct Telemetry {
    /// `None` when spans cannot be sent (an unusable endpoint): results are still counted.
    exporter: Option<Exporter>,
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
        instruments: Instruments,
        report: impl Fn(u64) + Send + Sync + 'static,
    ) -> Option<Telemetry> {
        if !config.enabled {
            tracing::info!("telemetry is turned off ([telemetry] enabled = false)");
            return None;
        }
        let exporter = start_exporter(config, report);
        Some(Telemetry {
            exporter,
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
        let Some(exporter) = &self.exporter else {
            return;
        };
        let mut span = match report {
            Report::Published(publish) => {
                let link = publish.metadata.and_then(|m| {
                    span::link(m)
                        .inspect_err(|e| {
                            tracing::debug!(error = %e, "the database's trace link is malformed; the span is sent without it")
                        })
                        .ok()
                        .flatten()
                });
                span::publish_span(&publish, link, timing, Ids::random())
            }
            Report::Failed { kind, message } => {
                span::failure_span(kind.as_str(), message, timing, Ids::random())
            }
        };
        span.attributes.push(span::source(self.source));
        exporter.send(span);
    }
}

/// The span exporter for `config`'s endpoint; `None` (logged once) when it is unusable.
fn start_exporter(
    config: &config::Telemetry,
    report: impl Fn(u64) + Send + Sync + 'static,
) -> Option<Exporter> {
    let sources = Sources::from_process(Signal::Traces, config.otlp_endpoint.clone());
    let endpoint = endpoint::resolve(Signal::Traces, sources)
        .inspect_err(|e| tracing::warn!("no trace spans will be sent: {e}"))
        .ok()?;
    Exporter::start(endpoint.url.clone(), Settings::default(), report)
        .inspect(|_| tracing::info!(endpoint = %endpoint.url, from = %endpoint.origin, "sending a trace span for every publish"))
        .inspect_err(|e| tracing::warn!(error = %e, "no trace spans will be sent: cannot set up the HTTP client"))
        .ok()
}

/// How a job ended, as telemetry needs to know it (plain data: telemetry knows nothing
/// of the sync's types).
pub enum Report<'a> {
    Published(Publish<'a>),
    Failed { kind: ErrorKind, message: &'a str },
}

/// The collector upstream the fleet's provisioning stored for the POS app: shown by the
/// `config` command as what is *not* used (see [`endpoint`]).
pub fn provisioned() -> Provisioned {
    let Some(home) = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()) else {
        return Provisioned::default();
    };
    match UserDefaults::load(&home, POS_DOMAIN) {
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
    board: &Arc<Board>,
    instruments: Instruments,
) -> Option<Telemetry> {
    let board = board.clone();
    Telemetry::start(config, source, instruments, move |dropped| {
        board.apply(Event::TelemetryDropped(dropped))
    })
}

/// Starts the metrics heartbeat of a core whose status `status` follows (it ends with
/// the core's board). Returns the instruments the core's parts count their events in;
/// with telemetry turned off or an unusable endpoint (logged once) nothing is sent.
pub fn heartbeat(config: &config::Telemetry, status: watch::Receiver<Status>) -> Instruments {
    let instruments = Instruments::new(SystemTime::now());
    if !config.enabled {
        return instruments;
    }
    let sources = Sources::from_process(Signal::Metrics, config.otlp_endpoint.clone());
    let endpoint = match endpoint::resolve(Signal::Metrics, sources) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!("no metrics will be sent: {e}");
            return instruments;
        }
    };
    let interval = config.metrics_interval;
    match heartbeat::start(endpoint.url.clone(), interval, status, instruments.clone()) {
        Ok(()) => {
            tracing::info!(endpoint = %endpoint.url, from = %endpoint.origin, ?interval, "sending heartbeat metrics");
        }
        Err(e) => {
            tracing::warn!(error = %e, "no metrics will be sent: cannot set up the HTTP client")
        }
    }
    instruments
}
