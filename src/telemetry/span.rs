//! Builds the OTLP span of a publish or of a failed sync (pure: no I/O, no clock).
//!
//! A publish gives one span named `Copy domain data to host` with the attributes the
//! fleet's old copy scripts sent (`domain_data_generated_at`, `domain_data_schema_version`,
//! `litefs_txid`, `litefs_checksum`) plus `domain_data_bytes`, `domain_data_path` and
//! `duration_ms`, and a link to the span of the server job that generated the database
//! (from its `metadata` row). A failed sync gives a span of the same name with status
//! ERROR, the error text as the status message and `error.type` = the error's kind.
//! Each span is the root of a new trace: the link, not a parent, ties it to the generator.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Link, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, SpanFlags, Status};

use crate::config::SourceKind;
use crate::inspect::Metadata;
use crate::litefs::Checksum;

/// The name of every span this app sends (the old scripts' name).
pub const SPAN_NAME: &str = "Copy domain data to host";

/// `service.name` of the resource.
pub const SERVICE_NAME: &str = "voripos-domain-sync";

/// W3C trace flag: the span is sampled (it is exported, so it is).
const SAMPLED: u32 = 0x01;

/// What a publish span reports.
#[derive(Clone, Copy, Debug)]
pub struct Publish<'a> {
    pub path: &'a Path,
    pub checksum: Checksum,
    /// `None` when the snapshot could not be matched to an announced transaction.
    pub txid: Option<u64>,
    pub metadata: Option<&'a Metadata>,
    /// Bytes copied from LiteFS.
    pub bytes: u64,
}

/// When the sync ran.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub start: SystemTime,
    pub end: SystemTime,
}

/// A span's identity: a new trace ID and span ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ids {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
}

impl Ids {
    /// Random, never all zero (all-zero IDs are invalid in OpenTelemetry).
    pub fn random() -> Ids {
        Ids {
            trace_id: fastrand::u128(1..).to_be_bytes(),
            span_id: fastrand::u64(1..).to_be_bytes(),
        }
    }
}

/// Why the `metadata` row's trace link cannot be used.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("{column} is missing while the other link column is set")]
    Missing { column: &'static str },
    #[error("{column} = {value:?} is not {digits} hex digits, not all zero")]
    Malformed {
        column: &'static str,
        value: String,
        digits: usize,
    },
}

/// The link to the generator's span from the `metadata` row: `None` when the database
/// names none, an error when it names one badly.
pub fn link(metadata: &Metadata) -> Result<Option<Link>, LinkError> {
    let (trace, span) = match (
        present(&metadata.linked_trace_id),
        present(&metadata.linked_span_id),
    ) {
        (None, None) => return Ok(None),
        (Some(_), None) => {
            return Err(LinkError::Missing {
                column: "linked_span_id",
            })
        }
        (None, Some(_)) => {
            return Err(LinkError::Missing {
                column: "linked_trace_id",
            })
        }
        (Some(t), Some(s)) => (t, s),
    };
    let trace_id = parse_id::<16>(trace).ok_or_else(|| LinkError::Malformed {
        column: "linked_trace_id",
        value: trace.to_string(),
        digits: 32,
    })?;
    let span_id = parse_id::<8>(span).ok_or_else(|| LinkError::Malformed {
        column: "linked_span_id",
        value: span.to_string(),
        digits: 16,
    })?;
    Ok(Some(Link {
        trace_id: trace_id.to_vec(),
        span_id: span_id.to_vec(),
        trace_state: present(&metadata.linked_trace_state)
            .unwrap_or_default()
            .to_string(),
        flags: SpanFlags::ContextHasIsRemoteMask as u32 | SpanFlags::ContextIsRemoteMask as u32,
        ..Default::default()
    }))
}

/// The trimmed value of a column, `None` when missing or blank.
fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Exactly `2 * N` hex digits (either case), not all zero.
fn parse_id<const N: usize>(hex: &str) -> Option<[u8; N]> {
    if hex.len() != 2 * N || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    out.iter().any(|&b| b != 0).then_some(out)
}

/// The span of a publish.
pub fn publish_span(p: &Publish, link: Option<Link>, timing: Timing, ids: Ids) -> Span {
    let mut attributes = Vec::new();
    if let Some(m) = p.metadata {
        if let Some(v) = &m.generated_at {
            attributes.push(string("domain_data_generated_at", v));
        }
        if let Some(v) = &m.schema_version {
            attributes.push(string("domain_data_schema_version", v));
        }
    }
    if let Some(txid) = p.txid {
        attributes.push(string("litefs_txid", &format!("{txid:016x}")));
    }
    attributes.push(string("litefs_checksum", &p.checksum.to_string()));
    attributes.push(int("domain_data_bytes", p.bytes));
    attributes.push(string("domain_data_path", &p.path.display().to_string()));
    attributes.push(duration(timing));
    Span {
        links: link.into_iter().collect(),
        ..base(attributes, timing, ids)
    }
}

/// The span of a failed sync: status ERROR with the error text, `error.type` = `kind`.
pub fn failure_span(kind: &str, message: &str, timing: Timing, ids: Ids) -> Span {
    Span {
        status: Some(Status {
            code: StatusCode::Error as i32,
            message: message.to_string(),
        }),
        ..base(
            vec![string("error.type", kind), duration(timing)],
            timing,
            ids,
        )
    }
}

/// The attribute naming where the synced data comes from: `domain_sync.source` =
/// `litefs` or `cloud` (on every span, and on the metrics' resource).
pub fn source(source: SourceKind) -> KeyValue {
    string("domain_sync.source", source.as_str())
}

fn base(attributes: Vec<KeyValue>, timing: Timing, ids: Ids) -> Span {
    Span {
        trace_id: ids.trace_id.to_vec(),
        span_id: ids.span_id.to_vec(),
        flags: SAMPLED | SpanFlags::ContextHasIsRemoteMask as u32,
        name: SPAN_NAME.to_string(),
        kind: SpanKind::Internal as i32,
        start_time_unix_nano: unix_nanos(timing.start),
        end_time_unix_nano: unix_nanos(timing.end.max(timing.start)),
        attributes,
        ..Default::default()
    }
}

/// The request carrying `spans`, with this app's resource and scope.
pub fn export_request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource()),
            scope_spans: vec![ScopeSpans {
                scope: Some(scope()),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// This app as an OTLP resource: `service.name` and `service.version` (the local
/// collector adds the store's identity).
pub(super) fn resource() -> Resource {
    Resource {
        attributes: vec![
            string("service.name", SERVICE_NAME),
            string("service.version", env!("CARGO_PKG_VERSION")),
        ],
        ..Default::default()
    }
}

/// The instrumentation scope of everything this app sends.
pub(super) fn scope() -> InstrumentationScope {
    InstrumentationScope {
        name: SERVICE_NAME.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        ..Default::default()
    }
}

pub(super) fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn duration(timing: Timing) -> KeyValue {
    let d = timing.end.duration_since(timing.start).unwrap_or_default();
    attribute(
        "duration_ms",
        any_value::Value::DoubleValue(d.as_secs_f64() * 1000.0),
    )
}

pub(super) fn string(key: &str, value: &str) -> KeyValue {
    attribute(key, any_value::Value::StringValue(value.to_string()))
}

fn int(key: &str, value: u64) -> KeyValue {
    attribute(
        key,
        any_value::Value::IntValue(i64::try_from(value).unwrap_or(i64::MAX)),
    )
}

fn attribute(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SPAN: &str = "00f067aa0ba902b7";

    fn metadata(trace: Option<&str>, span: Option<&str>, state: Option<&str>) -> Metadata {
        Metadata {
            schema_version: Some("7".into()),
            generated_at: Some("2026-11-25T13:58:00Z".into()),
            linked_trace_id: trace.map(String::from),
            linked_span_id: span.map(String::from),
            linked_trace_state: state.map(String::from),
        }
    }

    fn timing() -> Timing {
        let start = UNIX_EPOCH + Duration::from_secs(1_764_079_392);
        Timing {
            start,
            end: start + Duration::from_millis(250),
        }
    }

    fn attributes(span: &Span) -> BTreeMap<String, any_value::Value> {
        span.attributes
            .iter()
            .map(|kv| (kv.key.clone(), kv.value.clone().unwrap().value.unwrap()))
            .collect()
    }

    fn s(v: &str) -> any_value::Value {
        any_value::Value::StringValue(v.into())
    }

    #[test]
    fn a_publish_span_has_the_old_attributes_and_more() {
        let m = metadata(Some(TRACE), Some(SPAN), Some(""));
        let p = Publish {
            path: Path::new("/d/1764079392-Domain.sqlite3"),
            checksum: Checksum(0x83b05248774ce767),
            txid: Some(0x2f),
            metadata: Some(&m),
            bytes: 4096 * 3,
        };
        let ids = Ids::random();
        let span = publish_span(&p, link(&m).unwrap(), timing(), ids);
        assert_eq!(span.name, "Copy domain data to host");
        assert_eq!(span.trace_id, ids.trace_id.to_vec());
        assert_eq!(span.span_id, ids.span_id.to_vec());
        assert!(span.parent_span_id.is_empty());
        assert_eq!(span.start_time_unix_nano, 1_764_079_392_000_000_000);
        assert_eq!(span.end_time_unix_nano, 1_764_079_392_250_000_000);
        assert!(span.status.is_none());
        let a = attributes(&span);
        assert_eq!(a["domain_data_generated_at"], s("2026-11-25T13:58:00Z"));
        assert_eq!(a["domain_data_schema_version"], s("7"));
        assert_eq!(a["litefs_txid"], s("000000000000002f"));
        assert_eq!(a["litefs_checksum"], s("83b05248774ce767"));
        assert_eq!(a["domain_data_bytes"], any_value::Value::IntValue(12288));
        assert_eq!(a["domain_data_path"], s("/d/1764079392-Domain.sqlite3"));
        assert_eq!(a["duration_ms"], any_value::Value::DoubleValue(250.0));
        assert_eq!(span.links.len(), 1);
        assert_eq!(hex(&span.links[0].trace_id), TRACE);
        assert_eq!(hex(&span.links[0].span_id), SPAN);
    }

    #[test]
    fn unknown_txid_and_metadata_leave_their_attributes_out() {
        let p = Publish {
            path: Path::new("/d/Domain.sqlite3"),
            checksum: Checksum(1),
            txid: None,
            metadata: None,
            bytes: 0,
        };
        let span = publish_span(&p, None, timing(), Ids::random());
        let a = attributes(&span);
        for key in [
            "litefs_txid",
            "domain_data_generated_at",
            "domain_data_schema_version",
        ] {
            assert!(!a.contains_key(key), "{key}");
        }
        assert_eq!(a["litefs_checksum"], s("0000000000000001"));
        assert!(span.links.is_empty());
    }

    #[test]
    fn a_failure_span_is_an_error_with_its_kind() {
        let span = failure_span(
            "litefs_http_error",
            "LiteFS answered 500",
            timing(),
            Ids::random(),
        );
        assert_eq!(span.name, SPAN_NAME);
        let status = span.status.clone().unwrap();
        assert_eq!(status.code, StatusCode::Error as i32);
        assert_eq!(status.message, "LiteFS answered 500");
        assert_eq!(attributes(&span)["error.type"], s("litefs_http_error"));
    }

    #[test]
    fn the_link_carries_ids_and_trace_state() {
        let l = link(&metadata(Some(TRACE), Some(SPAN), Some("vori=1")))
            .unwrap()
            .unwrap();
        assert_eq!(l.trace_state, "vori=1");
        assert_eq!(
            l.flags,
            SpanFlags::ContextHasIsRemoteMask as u32 | SpanFlags::ContextIsRemoteMask as u32
        );
        let upper = link(&metadata(Some(&TRACE.to_uppercase()), Some(SPAN), None))
            .unwrap()
            .unwrap();
        assert_eq!(hex(&upper.trace_id), TRACE);
        assert_eq!(upper.trace_state, "");
    }

    #[test]
    fn no_link_columns_means_no_link() {
        assert_eq!(link(&metadata(None, None, None)), Ok(None));
        assert_eq!(link(&metadata(Some(""), Some(" "), Some(""))), Ok(None));
    }

    #[test]
    fn malformed_links_are_refused() {
        let zeros_trace = "0".repeat(32);
        let zeros_span = "0".repeat(16);
        let cases = [
            (Some("abc"), Some(SPAN)),
            (Some(&TRACE[..30]), Some(SPAN)),
            (Some(TRACE), Some("00f067aa0ba902b7ff")),
            (Some("zz"), Some(SPAN)),
            (Some("+bf92f3577b34da6a3ce929d0e0e4736"), Some(SPAN)),
            (Some(zeros_trace.as_str()), Some(SPAN)),
            (Some(TRACE), Some(zeros_span.as_str())),
            (Some("4bf92f3577b34da6a3ce929d0e0e473g"), Some(SPAN)),
            (Some("4bf92f3577b34da6a3ce929d0e0e47é"), Some(SPAN)),
        ];
        for (trace, span) in cases {
            assert!(
                matches!(
                    link(&metadata(trace, span, None)),
                    Err(LinkError::Malformed { .. })
                ),
                "{trace:?} {span:?}"
            );
        }
        assert_eq!(
            link(&metadata(Some(TRACE), None, None)),
            Err(LinkError::Missing {
                column: "linked_span_id"
            })
        );
    }

    #[test]
    fn ids_are_random_and_never_zero() {
        let a = Ids::random();
        let b = Ids::random();
        assert_ne!(a, b);
        assert!(a.trace_id.iter().any(|&x| x != 0) && a.span_id.iter().any(|&x| x != 0));
    }

    #[test]
    fn the_request_names_the_service() {
        let r = export_request(vec![failure_span("k", "m", timing(), Ids::random())]);
        let resource = r.resource_spans[0].resource.clone().unwrap();
        let a: BTreeMap<_, _> = resource
            .attributes
            .iter()
            .map(|kv| (kv.key.as_str(), kv.value.clone().unwrap().value.unwrap()))
            .collect();
        assert_eq!(a["service.name"], s("voripos-domain-sync"));
        assert_eq!(a["service.version"], s(env!("CARGO_PKG_VERSION")));
        assert_eq!(r.resource_spans[0].scope_spans[0].spans.len(), 1);
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
