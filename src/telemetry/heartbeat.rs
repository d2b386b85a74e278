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

use super::otlp;
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
        // A copy, so the board is never kept waiting while the request is built.
        let status = self.status.borrow_and_update().clone();
        let request = metrics::request(&status, &self.instruments.counts(), SystemTime::now());
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
        let answer = otlp::post(&self.http, &self.url, body)
            .await
            .map_err(|e| match e {
                otlp::PostError::Transport(reason) => ExportError::Transport(reason),
                otlp::PostError::Status(code) => ExportError::Status(code),
            })?;
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    use axum::http::StatusCode;
    use axum::routing::post;
    use chrono::Utc;
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};

    use super::*;
    use crate::status::State;

    /// A collector that answers 503 to the first `refuse` requests, then 200; it keeps
    /// every request it decoded.
    async fn collector(refuse: usize) -> (String, Arc<Mutex<Vec<ExportMetricsServiceRequest>>>) {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let count = Arc::new(AtomicUsize::new(0));
        let app = axum::Router::new().route(
            "/v1/metrics",
            post(move |bytes: Bytes| {
                let seen = seen.clone();
                let count = count.clone();
                async move {
                    if count.fetch_add(1, Ordering::SeqCst) < refuse {
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    let request = ExportMetricsServiceRequest::decode(bytes).expect("protobuf");
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

    fn dropped_exports(request: &ExportMetricsServiceRequest) -> i64 {
        let metric = request.resource_metrics[0].scope_metrics[0]
            .metrics
            .iter()
            .find(|m| m.name == "domain_sync.telemetry.dropped_metric_exports")
            .unwrap();
        let Some(metric::Data::Sum(sum)) = &metric.data else {
            panic!("not a sum");
        };
        match sum.data_points[0].value {
            Some(number_data_point::Value::AsInt(n)) => n,
            ref other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn refused_exports_are_counted_in_the_next_one_that_arrives() {
        let (url, requests) = collector(2).await;
        let (tx, rx) = watch::channel(Status::starting("http://h:1", Utc::now()));
        let instruments = Instruments::new(SystemTime::now());
        start(url, Duration::from_millis(20), rx, instruments.clone()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while requests.lock().unwrap().is_empty() {
            assert!(Instant::now() < deadline, "no export arrived");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(dropped_exports(&requests.lock().unwrap()[0]), 2);
        assert_eq!(instruments.counts().dropped_metric_exports, 2);
        drop(tx);
    }

    #[tokio::test]
    async fn the_heartbeat_ends_with_the_status_board() {
        let (url, requests) = collector(0).await;
        let (tx, rx) = watch::channel(Status::starting("http://h:1", Utc::now()));
        start(
            url,
            Duration::from_millis(20),
            rx,
            Instruments::new(SystemTime::now()),
        )
        .unwrap();
        tx.send_modify(|s| s.set_state(State::DockerUnavailable, Utc::now()));
        let deadline = Instant::now() + Duration::from_secs(10);
        while requests.lock().unwrap().len() < 3 {
            assert!(
                Instant::now() < deadline,
                "the heartbeat did not keep coming"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(tx);
        // An export already on its way may still land.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = requests.lock().unwrap().len();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(requests.lock().unwrap().len(), after, "still beating");
    }
}
