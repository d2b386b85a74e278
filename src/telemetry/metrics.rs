//! Builds the heartbeat's OTLP metrics from a status snapshot and the instruments' counts
//! (pure: no I/O; the clock is an argument).
//!
//! Gauges (the status as the menu shows it): `domain_sync.state` (one point per state,
//! attribute `state`, 1 for the current one, 0 for the others), `domain_sync.data.age`,
//! `domain_sync.last_publish.age`, `domain_sync.last_check.age` (seconds since the
//! published file's `generated_at`, since the last publish, since LiteFS last confirmed
//! the file), `domain_sync.txid`, `domain_sync.schema_version` (when it is a number),
//! `domain_sync.table.rows` (attribute `table`; a missing table has no point). A fact
//! the status does not know yet has no point.
//!
//! Cumulative sums: `domain_sync.publishes`, `domain_sync.sync.failures` (attribute
//! `error.type`), `domain_sync.container.restarts`, `domain_sync.telemetry.dropped_spans`,
//! `domain_sync.telemetry.dropped_metric_exports`. Histograms: `domain_sync.publish.duration`
//! (seconds) and `domain_sync.publish.size` (bytes).
//!
//! Dimensionless gauges have no unit (a unit of `1` would make Prometheus exporters
//! append `_ratio` to their names).
//!
//! Nothing secret is sent: no free text from the status (detail, error messages, paths),
//! only states, error kinds, table names and numbers.

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, AggregationTemporality, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
};

use crate::status::{State, Status};

use super::instruments::{self, Counts};
use super::span::{resource, scope, source, string, unix_nanos};

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

/// The export request of one heartbeat at `now`.
pub fn request(status: &Status, counts: &Counts, now: SystemTime) -> ExportMetricsServiceRequest {
    let at = Stamp {
        start: unix_nanos(counts.start),
        now: unix_nanos(now),
    };
    let now_utc = DateTime::<Utc>::from(now);
    let age = |t: DateTime<Utc>| (now_utc - t).as_seconds_f64();
    let mut metrics = vec![gauge(
        "domain_sync.state",
        "1 for the state the app is in, 0 for the others",
        "",
        STATES
            .iter()
            .map(|&s| {
                at.int(
                    vec![string("state", state_name(s))],
                    i64::from(s == status.state),
                )
            })
            .collect(),
    )];
    let generated = status
        .metadata
        .as_ref()
        .and_then(|m| m.generated_at.as_deref())
        .and_then(crate::inspect::parse_generated_at);
    let ages = [
        (
            "domain_sync.data.age",
            "seconds since the published data was generated (its metadata's generated_at)",
            generated,
        ),
        (
            "domain_sync.last_publish.age",
            "seconds since the last publish",
            status.last_sync_at,
        ),
        (
            "domain_sync.last_check.age",
            "seconds since LiteFS last confirmed the published file is current",
            status.last_check_at,
        ),
    ];
    for (name, description, time) in ages {
        if let Some(t) = time {
            metrics.push(gauge(
                name,
                description,
                "s",
                vec![at.double(vec![], age(t))],
            ));
        }
    }
    if let Some(txid) = status.txid {
        metrics.push(gauge(
            "domain_sync.txid",
            "the LiteFS TXID of the published file",
            "",
            vec![at.int(vec![], i64::try_from(txid.0).unwrap_or(i64::MAX))],
        ));
    }
    let schema = status
        .metadata
        .as_ref()
        .and_then(|m| m.schema_version.as_deref())
        .and_then(|v| v.trim().parse::<i64>().ok());
    if let Some(version) = schema {
        metrics.push(gauge(
            "domain_sync.schema_version",
            "the published file's metadata schema_version",
            "",
            vec![at.int(vec![], version)],
        ));
    }
    let rows: Vec<_> = status
        .row_counts
        .iter()
        .filter_map(|(table, count)| {
            let count = i64::try_from((*count)?).unwrap_or(i64::MAX);
            Some(at.int(vec![string("table", table)], count))
        })
        .collect();
    if !rows.is_empty() {
        metrics.push(gauge(
            "domain_sync.table.rows",
            "rows of each domain table in the published file",
            "{row}",
            rows,
        ));
    }
    metrics.extend(sums(status, counts, &at));
    let histograms = [
        (
            "domain_sync.publish.duration",
            "how long each publish took, export to rename",
            "s",
            &counts.events.publish_seconds,
        ),
        (
            "domain_sync.publish.size",
            "bytes copied from LiteFS by each publish",
            "By",
            &counts.events.publish_bytes,
        ),
    ];
    for (name, description, unit, h) in histograms {
        metrics.push(histogram(name, description, unit, h, &at));
    }
    let mut resource = resource();
    resource.attributes.push(source(status.source));
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(resource),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(scope()),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// The counters.
fn sums(status: &Status, counts: &Counts, at: &Stamp) -> Vec<Metric> {
    let plain = |n: u64| vec![at.int(vec![], i64::try_from(n).unwrap_or(i64::MAX))];
    let failures = counts
        .events
        .failures
        .iter()
        .map(|(kind, n)| {
            at.int(
                vec![string("error.type", kind)],
                i64::try_from(*n).unwrap_or(i64::MAX),
            )
        })
        .collect();
    vec![
        sum(
            "domain_sync.publishes",
            "files published",
            plain(counts.events.publishes),
        ),
        sum(
            "domain_sync.sync.failures",
            "failed syncs, by error kind",
            failures,
        ),
        sum(
            "domain_sync.container.restarts",
            "times the LiteFS container stopped and was recovered",
            plain(counts.container_restarts),
        ),
        sum(
            "domain_sync.telemetry.dropped_spans",
            "trace spans that did not reach the collector",
            plain(status.telemetry_dropped_spans),
        ),
        sum(
            "domain_sync.telemetry.dropped_metric_exports",
            "heartbeats that did not reach the collector",
            plain(counts.dropped_metric_exports),
        ),
    ]
}

/// The times of every point of one request.
struct Stamp {
    start: u64,
    now: u64,
}

impl Stamp {
    fn int(&self, attributes: Vec<KeyValue>, value: i64) -> NumberDataPoint {
        self.point(attributes, number_data_point::Value::AsInt(value))
    }

    fn double(&self, attributes: Vec<KeyValue>, value: f64) -> NumberDataPoint {
        self.point(attributes, number_data_point::Value::AsDouble(value))
    }

    fn point(&self, attributes: Vec<KeyValue>, value: number_data_point::Value) -> NumberDataPoint {
        NumberDataPoint {
            attributes,
            start_time_unix_nano: self.start,
            time_unix_nano: self.now,
            value: Some(value),
            ..Default::default()
        }
    }
}

fn metric(name: &str, description: &str, unit: &str, data: metric::Data) -> Metric {
    Metric {
        name: name.to_string(),
        description: description.to_string(),
        unit: unit.to_string(),
        data: Some(data),
        ..Default::default()
    }
}

fn gauge(name: &str, description: &str, unit: &str, data_points: Vec<NumberDataPoint>) -> Metric {
    metric(
        name,
        description,
        unit,
        metric::Data::Gauge(Gauge { data_points }),
    )
}

fn sum(name: &str, description: &str, data_points: Vec<NumberDataPoint>) -> Metric {
    metric(
        name,
        description,
        "1",
        metric::Data::Sum(Sum {
            data_points,
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: true,
        }),
    )
}

fn histogram(
    name: &str,
    description: &str,
    unit: &str,
    h: &instruments::Histogram,
    at: &Stamp,
) -> Metric {
    let point = HistogramDataPoint {
        start_time_unix_nano: at.start,
        time_unix_nano: at.now,
        count: h.count,
        sum: Some(h.sum),
        bucket_counts: h.buckets.clone(),
        explicit_bounds: h.bounds.to_vec(),
        ..Default::default()
    };
    metric(
        name,
        description,
        unit,
        metric::Data::Histogram(Histogram {
            data_points: vec![point],
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
        }),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::{Duration, UNIX_EPOCH};

    use opentelemetry_proto::tonic::common::v1::any_value::Value;

    use super::*;
    use crate::config::SourceKind;
    use crate::inspect::Metadata;
    use crate::status::{ErrorInfo, Txid};
    use crate::telemetry::instruments::Instruments;

    const NOW: u64 = 1_764_079_392;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW)
    }

    fn at(secs_before: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from(now()) - chrono::Duration::seconds(secs_before)
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
        s.telemetry_dropped_spans = 4;
        s
    }

    /// Each metric's points as (attributes, value).
    type Points = Vec<(BTreeMap<String, String>, f64)>;

    fn by_name(r: &ExportMetricsServiceRequest) -> BTreeMap<String, Points> {
        let scope = &r.resource_metrics[0].scope_metrics[0];
        scope
            .metrics
            .iter()
            .map(|m| {
                let points = match m.data.clone().unwrap() {
                    metric::Data::Gauge(g) => numbers(g.data_points),
                    metric::Data::Sum(s) => {
                        assert!(s.is_monotonic, "{}", m.name);
                        numbers(s.data_points)
                    }
                    metric::Data::Histogram(h) => h
                        .data_points
                        .iter()
                        .map(|p| (BTreeMap::new(), p.count as f64))
                        .collect(),
                    other => panic!("unexpected {other:?}"),
                };
                (m.name.clone(), points)
            })
            .collect()
    }

    fn numbers(points: Vec<NumberDataPoint>) -> Points {
        points
            .into_iter()
            .map(|p| {
                let attributes = p
                    .attributes
                    .iter()
                    .map(|kv| match kv.value.clone().unwrap().value.unwrap() {
                        Value::StringValue(v) => (kv.key.clone(), v),
                        other => panic!("{other:?}"),
                    })
                    .collect();
                let value = match p.value.unwrap() {
                    number_data_point::Value::AsInt(i) => i as f64,
                    number_data_point::Value::AsDouble(d) => d,
                };
                (attributes, value)
            })
            .collect()
    }

    fn single(m: &BTreeMap<String, Points>, name: &str) -> f64 {
        let points = m.get(name).unwrap_or_else(|| panic!("no {name} in {m:#?}"));
        assert_eq!(points.len(), 1, "{name}");
        points[0].1
    }

    #[test]
    fn the_status_becomes_gauges() {
        let r = request(&synced(), &Instruments::new(UNIX_EPOCH).counts(), now());
        let m = by_name(&r);
        let states = &m["domain_sync.state"];
        assert_eq!(states.len(), STATES.len());
        for (attributes, value) in states {
            let current = attributes["state"] == "up_to_date";
            assert_eq!(*value, f64::from(u8::from(current)), "{attributes:?}");
        }
        let generated = DateTime::parse_from_rfc3339("2026-11-25T13:00:00Z").unwrap();
        let data_age =
            (DateTime::<Utc>::from(now()) - generated.with_timezone(&Utc)).as_seconds_f64();
        assert_eq!(single(&m, "domain_sync.data.age"), data_age);
        assert_eq!(single(&m, "domain_sync.last_publish.age"), 50.0);
        assert_eq!(single(&m, "domain_sync.last_check.age"), 5.0);
        assert_eq!(single(&m, "domain_sync.txid"), 47.0);
        assert_eq!(single(&m, "domain_sync.schema_version"), 7.0);
        let rows = &m["domain_sync.table.rows"];
        assert_eq!(rows.len(), 1, "a missing table has no point: {rows:?}");
        assert_eq!(rows[0].0["table"], "products");
        assert_eq!(rows[0].1, 51_234.0);
        assert_eq!(single(&m, "domain_sync.telemetry.dropped_spans"), 4.0);
    }

    #[test]
    fn unknown_facts_have_no_points() {
        let starting = Status::starting("http://h:1", at(1));
        let m = by_name(&request(
            &starting,
            &Instruments::new(UNIX_EPOCH).counts(),
            now(),
        ));
        for name in [
            "domain_sync.data.age",
            "domain_sync.last_publish.age",
            "domain_sync.last_check.age",
            "domain_sync.txid",
            "domain_sync.schema_version",
            "domain_sync.table.rows",
        ] {
            assert!(!m.contains_key(name), "{name}");
        }
        assert!(m["domain_sync.sync.failures"].is_empty());
        assert_eq!(single(&m, "domain_sync.publishes"), 0.0);
        let current: Vec<_> = m["domain_sync.state"]
            .iter()
            .filter(|(_, v)| *v == 1.0)
            .map(|(a, _)| a["state"].clone())
            .collect();
        assert_eq!(current, ["starting"]);
    }

    #[test]
    fn events_become_cumulative_sums_and_histograms() {
        let instruments = Instruments::new(UNIX_EPOCH + Duration::from_secs(NOW - 600));
        instruments.publish(Duration::from_millis(700), 3 << 20);
        instruments.failure(crate::status::ErrorKind::LiteFsHttpError);
        instruments.container_restarts().add(2);
        instruments.dropped_metric_exports().add(1);
        let r = request(&synced(), &instruments.counts(), now());
        let m = by_name(&r);
        assert_eq!(single(&m, "domain_sync.publishes"), 1.0);
        let failures = &m["domain_sync.sync.failures"];
        assert_eq!(failures[0].0["error.type"], "litefs_http_error");
        assert_eq!(failures[0].1, 1.0);
        assert_eq!(single(&m, "domain_sync.container.restarts"), 2.0);
        assert_eq!(
            single(&m, "domain_sync.telemetry.dropped_metric_exports"),
            1.0
        );
        let metrics = &r.resource_metrics[0].scope_metrics[0].metrics;
        let duration = metrics
            .iter()
            .find(|m| m.name == "domain_sync.publish.duration")
            .unwrap();
        assert_eq!(duration.unit, "s");
        let metric::Data::Histogram(h) = duration.data.clone().unwrap() else {
            panic!("not a histogram");
        };
        let p = &h.data_points[0];
        assert_eq!(p.count, 1);
        assert_eq!(p.sum, Some(0.7));
        assert_eq!(p.bucket_counts.len(), p.explicit_bounds.len() + 1);
        assert_eq!(p.start_time_unix_nano, (NOW - 600) * 1_000_000_000);
        assert_eq!(p.time_unix_nano, NOW * 1_000_000_000);
        assert_eq!(
            h.aggregation_temporality,
            AggregationTemporality::Cumulative as i32
        );
    }

    #[test]
    fn no_free_text_is_sent() {
        let mut s = synced();
        s.set_state(State::Error, at(1));
        s.detail = Some("detail-text-1".into());
        s.error = Some(ErrorInfo {
            kind: crate::status::ErrorKind::LiteFsHttpError,
            message: "message-text-2".into(),
        });
        s.published_path = Some("/secret/path-3".into());
        let r = request(&s, &Instruments::new(UNIX_EPOCH).counts(), now());
        let text = format!("{r:?}");
        for leaked in ["detail-text-1", "message-text-2", "path-3", "20202"] {
            assert!(!text.contains(leaked), "{leaked} sent");
        }
    }

    #[test]
    fn the_resource_names_the_service_and_the_source() {
        let mut status = synced();
        for (kind, name) in [(SourceKind::Litefs, "litefs"), (SourceKind::Cloud, "cloud")] {
            status.source = kind;
            let r = request(&status, &Instruments::new(UNIX_EPOCH).counts(), now());
            let resource = r.resource_metrics[0].resource.clone().unwrap();
            let keys: Vec<_> = resource
                .attributes
                .iter()
                .map(|kv| kv.key.as_str())
                .collect();
            assert_eq!(
                keys,
                ["service.name", "service.version", "domain_sync.source"]
            );
            assert_eq!(
                resource.attributes[2].value.clone().unwrap().value,
                Some(Value::StringValue(name.into())),
                "{kind:?}"
            );
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
