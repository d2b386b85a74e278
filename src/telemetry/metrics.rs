//! The heartbeat's view of the status: observable instruments the SDK reads at each
//! export, and the pure functions that turn a status snapshot into their values.
//!
//! Gauges (the status as the menu shows it): `domain_sync.state` (one point per state,
//! attribute `state`, 1 for the current one, 0 for the others), `domain_sync.data.age`,
//! `domain_sync.last_publish.age`, `domain_sync.last_check.age` (seconds since the
//! published file's `generated_at`, since the last publish, since LiteFS last confirmed
//! the file), `domain_sync.txid`, `domain_sync.schema_version` (when it is a number),
//! `domain_sync.table.rows` (attribute `table`; a missing table has no point). A fact
//! the status does not know yet has no point. Cumulative: `domain_sync.telemetry.dropped_spans`
//! (the status's count) and `domain_sync.telemetry.dropped_metric_exports`.
//!
//! Dimensionless gauges have no unit (a unit of `1` would make Prometheus exporters
//! append `_ratio` to their names).
//!
//! Nothing secret is sent: no free text from the status (detail, error messages, paths),
//! only states, error kinds, table names and numbers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use opentelemetry::metrics::Meter;
use opentelemetry::KeyValue;
use tokio::sync::watch;

use crate::status::{State, Status};

/// Every state, in the order their points are sent.
pub const STATES: [State; 7] = [
    State::NotConfigured,
    State::DockerUnavailable,
    State::Starting,
    State::Syncing,
    State::UpToDate,
    State::Stale,
    State::Error,
];

/// The status JSON's name of a state (the value of the `state` attribute).
pub fn state_name(state: State) -> &'static str {
    match state {
        State::NotConfigured => "not_configured",
        State::DockerUnavailable => "docker_unavailable",
        State::Starting => "starting",
        State::Syncing => "syncing",
        State::UpToDate => "up_to_date",
        State::Stale => "stale",
        State::Error => "error",
    }
}

/// One point per state: 1 for the current one.
pub fn states(status: &Status) -> Vec<(&'static str, u64)> {
    STATES
        .iter()
        .map(|&s| (state_name(s), u64::from(s == status.state)))
        .collect()
}

/// Seconds since the published data was generated.
pub fn data_age(status: &Status, now: DateTime<Utc>) -> Option<f64> {
    let generated = status
        .metadata
        .as_ref()?
        .generated_at
        .as_deref()
        .and_then(crate::inspect::parse_generated_at)?;
    Some((now - generated).as_seconds_f64())
}

/// Seconds since the last publish.
pub fn last_publish_age(status: &Status, now: DateTime<Utc>) -> Option<f64> {
    Some((now - status.last_sync_at?).as_seconds_f64())
}

/// Seconds since the source last confirmed the published file.
pub fn last_check_age(status: &Status, now: DateTime<Utc>) -> Option<f64> {
    Some((now - status.last_check_at?).as_seconds_f64())
}

/// The published file's metadata `schema_version`, when it is a number.
pub fn schema_version(status: &Status) -> Option<i64> {
    let version = status.metadata.as_ref()?.schema_version.as_deref()?;
    version.trim().parse().ok()
}

/// The row count of each table that has one.
pub fn rows(status: &Status) -> Vec<(String, u64)> {
    status
        .row_counts
        .iter()
        .filter_map(|(table, count)| Some((table.clone(), (*count)?)))
        .collect()
}

/// An age gauge read from the status at each export.
type Age = fn(&Status, DateTime<Utc>) -> Option<f64>;

/// Registers the observable instruments on `meter`; they read `status` (and
/// `dropped_exports`, the failed metric exports) whenever the SDK collects.
pub fn observe(meter: &Meter, status: watch::Receiver<Status>, dropped_exports: Arc<AtomicU64>) {
    let s = status.clone();
    meter
        .u64_observable_gauge("domain_sync.state")
        .with_description("1 for the state the app is in, 0 for the others")
        .with_callback(move |o| {
            for (state, value) in states(&s.borrow()) {
                o.observe(value, &[KeyValue::new("state", state)]);
            }
        })
        .build();
    let ages: [(&str, &str, Age); 3] = [
        (
            "domain_sync.data.age",
            "seconds since the published data was generated (its metadata's generated_at)",
            data_age,
        ),
        (
            "domain_sync.last_publish.age",
            "seconds since the last publish",
            last_publish_age,
        ),
        (
            "domain_sync.last_check.age",
            "seconds since LiteFS last confirmed the published file is current",
            last_check_age,
        ),
    ];
    for (name, description, age) in ages {
        let s = status.clone();
        meter
            .f64_observable_gauge(name)
            .with_description(description)
            .with_unit("s")
            .with_callback(move |o| {
                if let Some(v) = age(&s.borrow(), Utc::now()) {
                    o.observe(v, &[]);
                }
            })
            .build();
    }
    let s = status.clone();
    meter
        .u64_observable_gauge("domain_sync.txid")
        .with_description("the LiteFS TXID of the published file")
        .with_callback(move |o| {
            if let Some(txid) = s.borrow().txid {
                o.observe(txid.0, &[]);
            }
        })
        .build();
    let s = status.clone();
    meter
        .i64_observable_gauge("domain_sync.schema_version")
        .with_description("the published file's metadata schema_version")
        .with_callback(move |o| {
            if let Some(v) = schema_version(&s.borrow()) {
                o.observe(v, &[]);
            }
        })
        .build();
    let s = status.clone();
    meter
        .u64_observable_gauge("domain_sync.table.rows")
        .with_description("rows of each domain table in the published file")
        .with_unit("{row}")
        .with_callback(move |o| {
            for (table, count) in rows(&s.borrow()) {
                o.observe(count, &[KeyValue::new("table", table)]);
            }
        })
        .build();
    meter
        .u64_observable_counter("domain_sync.telemetry.dropped_spans")
        .with_description("trace spans that did not reach the collector")
        .with_unit("1")
        .with_callback(move |o| o.observe(status.borrow().telemetry_dropped_spans, &[]))
        .build();
    meter
        .u64_observable_counter("domain_sync.telemetry.dropped_metric_exports")
        .with_description("heartbeats that did not reach the collector")
        .with_unit("1")
        .with_callback(move |o| o.observe(dropped_exports.load(Ordering::Relaxed), &[]))
        .build();
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::inspect::Metadata;
    use crate::status::{ErrorInfo, Txid};

    const NOW: i64 = 1_764_079_392;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(NOW, 0).unwrap()
    }

    fn at(secs_before: i64) -> DateTime<Utc> {
        now() - chrono::Duration::seconds(secs_before)
    }

    fn synced() -> Status {
        let mut s = Status::starting("http://127.0.0.1:20202", at(100));
        s.set_state(State::UpToDate, at(50));
        s.last_sync_at = Some(at(50));
        s.last_check_at = Some(at(5));
        s.txid = Some(Txid(0x2f));
        s.metadata = Some(Metadata {
            schema_version: Some("7".into()),
            generated_at: Some("2026-11-25 13:00:00".into()),
            ..Default::default()
        });
        s.row_counts = BTreeMap::from([
            ("products".to_string(), Some(51_234)),
            ("offers".to_string(), None),
        ]);
        s
    }

    #[test]
    fn the_status_becomes_gauge_values() {
        let s = synced();
        let states = states(&s);
        assert_eq!(states.len(), STATES.len());
        for (state, value) in states {
            assert_eq!(value, u64::from(state == "up_to_date"), "{state}");
        }
        let generated = DateTime::parse_from_rfc3339("2026-11-25T13:00:00Z").unwrap();
        assert_eq!(
            data_age(&s, now()),
            Some((now() - generated.with_timezone(&Utc)).as_seconds_f64())
        );
        assert_eq!(last_publish_age(&s, now()), Some(50.0));
        assert_eq!(last_check_age(&s, now()), Some(5.0));
        assert_eq!(schema_version(&s), Some(7));
        assert_eq!(
            rows(&s),
            [("products".to_string(), 51_234)],
            "a missing table has no point"
        );
    }

    #[test]
    fn unknown_facts_have_no_values() {
        let s = Status::starting("http://h:1", at(1));
        assert_eq!(data_age(&s, now()), None);
        assert_eq!(last_publish_age(&s, now()), None);
        assert_eq!(last_check_age(&s, now()), None);
        assert_eq!(schema_version(&s), None);
        assert!(rows(&s).is_empty());
        let current: Vec<_> = states(&s)
            .into_iter()
            .filter(|(_, v)| *v == 1)
            .map(|(name, _)| name)
            .collect();
        assert_eq!(current, ["starting"]);
    }

    #[test]
    fn a_schema_version_that_is_not_a_number_has_no_value() {
        let mut s = synced();
        s.metadata.as_mut().unwrap().schema_version = Some("7b".into());
        assert_eq!(schema_version(&s), None);
    }

    #[test]
    fn no_free_text_is_observed() {
        let mut s = synced();
        s.set_state(State::Error, at(1));
        s.detail = Some("detail-text-1".into());
        s.error = Some(ErrorInfo {
            kind: crate::error_kind::ErrorKind::LiteFsHttpError,
            message: "message-text-2".into(),
        });
        s.published_path = Some("/secret/path-3".into());
        let text = format!("{:?} {:?}", states(&s), rows(&s));
        for leaked in ["detail-text-1", "message-text-2", "path-3", "20202"] {
            assert!(!text.contains(leaked), "{leaked} sent");
        }
    }

    #[test]
    fn state_names_are_the_status_json_names() {
        for state in STATES {
            assert_eq!(
                serde_json::to_value(state).unwrap(),
                serde_json::Value::from(state_name(state))
            );
        }
    }
}
