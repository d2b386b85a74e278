//! OpenTelemetry traces: a span for every publish (linked to the trace of the server job
//! that generated the database) and for every failed sync, sent to the store's local
//! collector over OTLP/HTTP.
//!
//! [`endpoint`] decides where spans go, [`span`] builds them from a job's result,
//! [`exporter`] delivers them off the sync path. The worker calls [`Telemetry::record`]
//! after each job; it never waits and never fails.

pub mod endpoint;
pub mod exporter;
pub mod span;

use std::sync::Arc;
use std::time::SystemTime;

use crate::config;
use crate::config::user_defaults::{UserDefaults, POS_DOMAIN};
use crate::status::board::Board;

use endpoint::{Provisioned, Signal, Sources};
use exporter::{Exporter, Settings};
pub use span::Publish;
use span::{Ids, Timing};

/// Sends the spans of sync results.
pub struct Telemetry {
    exporter: Exporter,
}

impl Telemetry {
    /// Starts exporting as `config` says (needs a tokio runtime); `report` receives the
    /// dropped-span total whenever it grows. `None` when telemetry is turned off or its
    /// endpoint is unusable (logged once here).
    pub fn start(
        config: &config::Telemetry,
        report: impl Fn(u64) + Send + Sync + 'static,
    ) -> Option<Telemetry> {
        if !config.enabled {
            tracing::info!("telemetry is turned off ([telemetry] enabled = false)");
            return None;
        }
        let sources = Sources::from_process(Signal::Traces, config.otlp_endpoint.clone());
        let endpoint = match endpoint::resolve(Signal::Traces, sources) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!("no trace spans will be sent: {e}");
                return None;
            }
        };
        match Exporter::start(endpoint.url.clone(), Settings::default(), report) {
            Ok(exporter) => {
                tracing::info!(endpoint = %endpoint.url, from = %endpoint.origin, "sending a trace span for every publish");
                Some(Telemetry { exporter })
            }
            Err(e) => {
                tracing::warn!(error = %e, "no trace spans will be sent: cannot set up the HTTP client");
                None
            }
        }
    }

    /// Sends the span of a job that started at `started` and just ended as `report`
    /// says (a job that found nothing new sends nothing).
    pub fn record(&self, started: SystemTime, report: Report<'_>) {
        let timing = Timing {
            start: started,
            end: SystemTime::now(),
        };
        let span = match report {
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
                span::failure_span(kind, message, timing, Ids::random())
            }
        };
        self.exporter.send(span);
    }
}

/// How a job ended, as telemetry needs to know it (plain data: telemetry knows nothing
/// of the sync's types).
pub enum Report<'a> {
    Published(Publish<'a>),
    Failed { kind: &'a str, message: &'a str },
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

/// Starts telemetry whose dropped-span total is shown in `board`'s status.
pub fn start(config: &config::Telemetry, board: &Arc<Board>) -> Option<Telemetry> {
    let board = board.clone();
    Telemetry::start(config, move |dropped| {
        board.update(|s| s.telemetry_dropped_spans = dropped)
    })
}
