//! The heartbeat: every `[telemetry] metrics_interval` (60 s by default), from the moment
//! a core starts until it stops, whatever its state, one OTLP/HTTP metrics export
//! (protobuf, `/v1/metrics`) to the local collector. A store whose metrics stop coming
//! is dead or unreachable; their values say whether it is stale or stuck.
//!
//! The loop runs in a task of its own: nothing else waits on it. Each export is one
//! request bounded by a timeout no longer than the interval; one that fails is not
//! retried (every value is cumulative or current, so the next export makes up for it)
//! and is counted in `domain_sync.telemetry.dropped_metric_exports`. The first failure
//! is a warning, then nothing until the collector accepts metrics again (one info line).
//! The loop ends when the core's status board is gone.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use prost::Message;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use crate::error_chain::error_chain;
use crate::status::Status;

use super::instruments::Instruments;
use super::metrics;

/// The longest a connection or a whole request may take (less when the interval is).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Why an export did not deliver its metrics.
#[derive(Debug, thiserror::Error)]
enum ExportError {
    #[error("{0}")]
    Transport(String),
    #[error("the collector answered HTTP {0}")]
    Status(u16),
    #[error("the collector rejected {0} data points")]
    Rejected(i64),
}

/// Starts the heartbeat to `url` (needs a tokio runtime); it reads the status from
/// `status` and the event counts from `instruments`.
pub fn start(
    url: String,
    interval: Duration,
    status: watch::Receiver<Status>,
    instruments: Instruments,
) -> Result<(), reqwest::Error> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(CONNECT_TIMEOUT.min(interval))
        .timeout(REQUEST_TIMEOUT.min(interval))
        .build()?;
    let beat = Heartbeat {
        http,
        url,
        status,
        instruments,
        failing: false,
    };
    tokio::spawn(beat.run(interval));
    Ok(())
}

struct Heartbeat {
    http: reqwest::Client,
    url: String,
    status: watch::Receiver<Status>,
    instruments: Instruments,
    /// The last export failed.
    failing: bool,
}

impl Heartbeat {
    async fn run(mut self, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => self.beat().await,
                changed = self.status.changed() => if changed.is_err() {
                    return;
                },
            }
        }
    }

    async fn beat(&mut self) {
        let request = {
            let status = self.status.borrow_and_update();
            metrics::request(&status, &self.instruments.counts(), SystemTime::now())
        };
        match self.post(Bytes::from(request.encode_to_vec())).await {
            Ok(()) => {
                if self.failing {
                    tracing::info!(endpoint = %self.url, "the OpenTelemetry collector accepts metrics again");
                }
                self.failing = false;
            }
            Err(e) => {
                self.instruments.dropped_metric_exports().add(1);
                if self.failing {
                    tracing::debug!(endpoint = %self.url, error = %e, "metrics export failed again");
                } else {
                    tracing::warn!(endpoint = %self.url, error = %e, "cannot deliver metrics to the OpenTelemetry collector; each heartbeat is counted as dropped until it accepts them again");
                }
                self.failing = true;
            }
        }
    }

    async fn post(&self, body: Bytes) -> Result<(), ExportError> {
        let transport = |e: reqwest::Error| ExportError::Transport(error_chain(&e));
        let response = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/x-protobuf")
            .body(body)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(ExportError::Status(status.as_u16()));
        }
        let answer = response.bytes().await.map_err(transport)?;
        // An answer that is not a protobuf response (or an empty one) means full success.
        let rejected = ExportMetricsServiceResponse::decode(answer)
            .ok()
            .and_then(|r| r.partial_success)
            .map_or(0, |p| p.rejected_data_points);
        match rejected {
            0 => Ok(()),
            n => Err(ExportError::Rejected(n)),
        }
    }
}
