//! The event counts and distributions the heartbeat reports: publishes, failed syncs by
//! error kind, container restarts, dropped metric exports, and histograms of publish
//! durations and sizes.
//!
//! Parts of the app record into a shared [`Instruments`] (cheap: an atomic add or a short
//! lock, never I/O); the heartbeat reads a [`Counts`] snapshot. Every value is
//! cumulative since [`Counts::start`], so an export that is lost loses nothing: the next
//! one carries the totals.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::status::ErrorKind;

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
#[derive(Clone, Debug, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// An explicit-bucket histogram, as OTLP carries it.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    pub bounds: &'static [f64],
    /// One more than `bounds`: the last bucket holds what is above every bound.
    pub buckets: Vec<u64>,
    pub count: u64,
    pub sum: f64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            buckets: vec![0; bounds.len() + 1],
            count: 0,
            sum: 0.0,
        }
    }

    /// Adds `value` to the bucket whose bound is the first at or above it.
    pub fn record(&mut self, value: f64) {
        let bucket = self.bounds.partition_point(|bound| *bound < value);
        if let Some(n) = self.buckets.get_mut(bucket) {
            *n += 1;
        }
        self.count += 1;
        self.sum += value;
    }
}

/// What the sync's events added up to.
#[derive(Clone, Debug, PartialEq)]
pub struct Events {
    pub publishes: u64,
    /// Failed syncs by error kind (the status's `error.kind`).
    pub failures: BTreeMap<String, u64>,
    pub publish_seconds: Histogram,
    pub publish_bytes: Histogram,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            publishes: 0,
            failures: BTreeMap::new(),
            publish_seconds: Histogram::new(DURATION_BOUNDS),
            publish_bytes: Histogram::new(SIZE_BOUNDS),
        }
    }
}

/// A snapshot of every instrument.
#[derive(Clone, Debug, PartialEq)]
pub struct Counts {
    /// When counting began (the start of every cumulative series).
    pub start: SystemTime,
    pub events: Events,
    pub container_restarts: u64,
    pub dropped_metric_exports: u64,
}

/// The shared instruments; clones record into the same counts.
#[derive(Clone, Debug)]
pub struct Instruments {
    start: SystemTime,
    events: Arc<Mutex<Events>>,
    container_restarts: Counter,
    dropped_metric_exports: Counter,
}

impl Instruments {
    pub fn new(start: SystemTime) -> Instruments {
        Instruments {
            start,
            events: Arc::default(),
            container_restarts: Counter::default(),
            dropped_metric_exports: Counter::default(),
        }
    }

    /// Counts a publish that took `took` and copied `bytes`.
    pub fn publish(&self, took: Duration, bytes: u64) {
        self.with_events(|e| {
            e.publishes += 1;
            e.publish_seconds.record(took.as_secs_f64());
            e.publish_bytes.record(bytes as f64);
        });
    }

    /// Counts a failed sync of `kind`.
    pub fn failure(&self, kind: ErrorKind) {
        self.with_events(|e| *e.failures.entry(kind.as_str().to_string()).or_default() += 1);
    }

    /// The counter the container supervisor adds a restart to.
    pub fn container_restarts(&self) -> Counter {
        self.container_restarts.clone()
    }

    /// The counter of metric exports that did not reach the collector.
    pub fn dropped_metric_exports(&self) -> Counter {
        self.dropped_metric_exports.clone()
    }

    pub fn counts(&self) -> Counts {
        Counts {
            start: self.start,
            events: self.with_events(|e| e.clone()),
            container_restarts: self.container_restarts.get(),
            dropped_metric_exports: self.dropped_metric_exports.get(),
        }
    }

    /// Runs `f` on the events (a panic elsewhere while holding the lock leaves counts
    /// that are still worth reporting).
    fn with_events<T>(&self, f: impl FnOnce(&mut Events) -> T) -> T {
        let mut events = self
            .events
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_goes_to_the_first_bucket_at_or_above_it() {
        let mut h = Histogram::new(&[1.0, 10.0]);
        for v in [0.5, 1.0, 1.5, 10.0, 11.0, 1e9] {
            h.record(v);
        }
        assert_eq!(h.buckets, vec![2, 2, 2]);
        assert_eq!(h.count, 6);
        assert_eq!(h.sum, 0.5 + 1.0 + 1.5 + 10.0 + 11.0 + 1e9);
    }

    #[test]
    fn clones_record_into_the_same_counts() {
        let instruments = Instruments::new(SystemTime::UNIX_EPOCH);
        let other = instruments.clone();
        other.publish(Duration::from_millis(300), 5 << 20);
        instruments.publish(Duration::from_secs(2), 1 << 20);
        other.failure(ErrorKind::LiteFsHttpError);
        other.failure(ErrorKind::LiteFsHttpError);
        instruments.failure(ErrorKind::ChecksumMismatch);
        instruments.container_restarts().add(1);
        other.dropped_metric_exports().add(3);
        let c = instruments.counts();
        assert_eq!(c.start, SystemTime::UNIX_EPOCH);
        assert_eq!(c.events.publishes, 2);
        assert_eq!(c.events.failures["litefs_http_error"], 2);
        assert_eq!(c.events.failures["checksum_mismatch"], 1);
        assert_eq!(c.events.publish_seconds.count, 2);
        assert_eq!(c.events.publish_seconds.sum, 2.3);
        assert_eq!(c.events.publish_bytes.buckets[0], 1);
        assert_eq!(c.events.publish_bytes.buckets[2], 1);
        assert_eq!((c.container_restarts, c.dropped_metric_exports), (1, 3));
    }
}
