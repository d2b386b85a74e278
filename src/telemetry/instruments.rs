//! The sync's events as the heartbeat counts them, on the SDK's instruments: publishes,
//! failed syncs by error kind, container restarts (cumulative sums), and histograms of
//! publish durations and sizes.
//!
//! Parts of the app record into a shared [`Instruments`] (cheap: the SDK aggregates in
//! memory, never I/O); the heartbeat's periodic reader exports the totals. Every value is
//! cumulative, so an export that is lost loses nothing: the next one carries the totals.

use std::time::Duration;

use opentelemetry::metrics::{self, Meter, MeterProvider};
use opentelemetry::KeyValue;

use crate::error_kind::ErrorKind;

/// Upper bounds (seconds) of the publish-duration histogram's buckets.
pub const DURATION_BOUNDS: &[f64] = &[0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

/// Upper bounds (bytes) of the published-size histogram's buckets: 1 MiB to 4 GiB.
pub const SIZE_BOUNDS: &[f64] = &[
    1_048_576.0,
    4_194_304.0,
    16_777_216.0,
    67_108_864.0,
    268_435_456.0,
    1_073_741_824.0,
    4_294_967_296.0,
];

/// A monotonic count that can be handed to another part of the app.
#[derive(Clone, Debug)]
pub struct Counter(metrics::Counter<u64>);

impl Counter {
    pub fn add(&self, n: u64) {
        self.0.add(n, &[]);
    }
}

/// The shared instruments; clones record into the same counts.
#[derive(Clone, Debug)]
pub struct Instruments {
    publishes: metrics::Counter<u64>,
    failures: metrics::Counter<u64>,
    container_restarts: Counter,
    publish_seconds: metrics::Histogram<f64>,
    publish_bytes: metrics::Histogram<u64>,
}

impl Instruments {
    /// The instruments of `meter`. The counts that always exist start at 0 (a series
    /// that is born at its first increment hides that increment from `increase()`).
    pub fn new(meter: &Meter) -> Instruments {
        let sum = |name: &'static str, description: &'static str| {
            meter
                .u64_counter(name)
                .with_description(description)
                .with_unit("1")
                .build()
        };
        let instruments = Instruments {
            publishes: sum("domain_sync.publishes", "files published"),
            failures: sum("domain_sync.sync.failures", "failed syncs, by error kind"),
            container_restarts: Counter(sum(
                "domain_sync.container.restarts",
                "times the LiteFS container stopped and was recovered",
            )),
            publish_seconds: meter
                .f64_histogram("domain_sync.publish.duration")
                .with_description("how long each publish took, export to rename")
                .with_unit("s")
                .with_boundaries(DURATION_BOUNDS.to_vec())
                .build(),
            publish_bytes: meter
                .u64_histogram("domain_sync.publish.size")
                .with_description("bytes copied from LiteFS by each publish")
                .with_unit("By")
                .with_boundaries(SIZE_BOUNDS.to_vec())
                .build(),
        };
        instruments.publishes.add(0, &[]);
        instruments.container_restarts.add(0);
        instruments
    }

    /// Instruments that count nothing (telemetry is off).
    pub fn off() -> Instruments {
        let meter = metrics::noop::NoopMeterProvider::new().meter(super::span::SERVICE_NAME);
        Instruments::new(&meter)
    }

    /// Counts a publish that took `took` and copied `bytes`.
    pub fn publish(&self, took: Duration, bytes: u64) {
        self.publishes.add(1, &[]);
        self.publish_seconds.record(took.as_secs_f64(), &[]);
        self.publish_bytes.record(bytes, &[]);
    }

    /// Counts a failed sync of `kind`.
    pub fn failure(&self, kind: ErrorKind) {
        self.failures
            .add(1, &[KeyValue::new("error.type", kind.as_str())]);
    }

    /// The counter the container supervisor adds a restart to.
    pub fn container_restarts(&self) -> Counter {
        self.container_restarts.clone()
    }
}
