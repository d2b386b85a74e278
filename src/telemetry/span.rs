//! The span of a publish or of a failed sync, sent with the SDK's tracer.
//!
//! A publish gives one span named `Copy domain data to host` with the attributes the
//! fleet's old copy scripts sent (`domain_data_generated_at`, `domain_data_schema_version`,
//! `litefs_txid`, `litefs_checksum`) plus `domain_data_bytes`, `domain_data_path` and
//! `duration_ms`, and a link to the span of the server job that generated the database
//! (from its `metadata` row). A failed sync gives a span of the same name with status
//! ERROR, the error text as the status message and `error.type` = the error's kind.
//! Each span is the root of a new trace: the link, not a parent, ties it to the generator.
//! The attributes and the link are built here (pure); [`send`] hands them to the SDK.

use std::path::Path;
use std::str::FromStr;
use std::time::SystemTime;

use opentelemetry::trace::{
    Link, Span as _, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState, Tracer,
};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_sdk::Resource;

use crate::config::SourceKind;
use crate::inspect::Metadata;
use crate::litefs::Checksum;

/// The name of every span this app sends (the old scripts' name).
pub const SPAN_NAME: &str = "Copy domain data to host";

/// `service.name` of the resource.
pub const SERVICE_NAME: &str = "voripos-domain-sync";

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
    #[error("linked_trace_state is not a W3C tracestate ({0})")]
    TraceState(String),
}

/// The generator's span named by the `metadata` row: `None` when the database names
/// none, an error when it names one badly.
pub fn link(metadata: &Metadata) -> Result<Option<SpanContext>, LinkError> {
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
    // The SDK keeps at most the 32 members of 256 characters the W3C allows.
    let state = TraceState::from_str(present(&metadata.linked_trace_state).unwrap_or_default())
        .map_err(|e| LinkError::TraceState(e.to_string()))?;
    Ok(Some(SpanContext::new(
        TraceId::from_bytes(trace_id),
        SpanId::from_bytes(span_id),
        TraceFlags::default(),
        true,
        state,
    )))
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

/// The attributes of a publish's span.
pub fn publish_attributes(p: &Publish, timing: Timing) -> Vec<KeyValue> {
    let mut attributes = Vec::new();
    if let Some(m) = p.metadata {
        if let Some(v) = &m.generated_at {
            attributes.push(KeyValue::new("domain_data_generated_at", v.clone()));
        }
        if let Some(v) = &m.schema_version {
            attributes.push(KeyValue::new("domain_data_schema_version", v.clone()));
        }
    }
    if let Some(txid) = p.txid {
        attributes.push(KeyValue::new("litefs_txid", format!("{txid:016x}")));
    }
    attributes.extend([
        KeyValue::new("litefs_checksum", p.checksum.to_string()),
        KeyValue::new(
            "domain_data_bytes",
            i64::try_from(p.bytes).unwrap_or(i64::MAX),
        ),
        KeyValue::new("domain_data_path", p.path.display().to_string()),
        duration(timing),
    ]);
    attributes
}

/// The attributes of a failed sync's span: `error.type` = `kind`.
pub fn failure_attributes(kind: &str, timing: Timing) -> Vec<KeyValue> {
    vec![
        KeyValue::new("error.type", kind.to_string()),
        duration(timing),
    ]
}

/// The attribute naming where the synced data comes from: `domain_sync.source` =
/// `litefs` or `cloud` (on every span, and on the metrics' resource).
pub fn source(source: SourceKind) -> KeyValue {
    KeyValue::new("domain_sync.source", source.as_str())
}

fn duration(timing: Timing) -> KeyValue {
    let d = timing.end.duration_since(timing.start).unwrap_or_default();
    KeyValue::new("duration_ms", d.as_secs_f64() * 1000.0)
}

/// This app as an OTLP resource: `service.name` and `service.version` (the local
/// collector adds the store's identity), and `extra`. Nothing is read from the
/// environment (`OTEL_SERVICE_NAME` would rename the app under the fleet's alerts).
pub fn resource(extra: impl IntoIterator<Item = KeyValue>) -> Resource {
    Resource::builder_empty()
        .with_service_name(SERVICE_NAME)
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .with_attributes(extra)
        .build()
}

/// The instrumentation scope of everything this app sends.
pub fn scope() -> InstrumentationScope {
    InstrumentationScope::builder(SERVICE_NAME)
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

/// Ends a span of `timing` with `attributes`, linked to `link`, with status ERROR and
/// `error` as its message when given, as the root of a new trace.
pub fn send(
    tracer: &impl Tracer,
    attributes: Vec<KeyValue>,
    link: Option<SpanContext>,
    error: Option<&str>,
    timing: Timing,
) {
    let mut span = tracer
        .span_builder(SPAN_NAME)
        .with_kind(SpanKind::Internal)
        .with_start_time(timing.start)
        .with_attributes(attributes)
        .with_links(link.map(Link::with_context).into_iter().collect())
        .start_with_context(tracer, &Context::new());
    if let Some(message) = error {
        span.set_status(Status::error(message.to_string()));
    }
    span.end_with_timestamp(timing.end.max(timing.start));
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::{Duration, UNIX_EPOCH};

    use opentelemetry::trace::TracerProvider;
    use opentelemetry::Value;
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};

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

    fn attributes(kvs: &[KeyValue]) -> BTreeMap<String, Value> {
        kvs.iter()
            .map(|kv| (kv.key.to_string(), kv.value.clone()))
            .collect()
    }

    fn s(v: &str) -> Value {
        Value::from(v.to_string())
    }

    /// The spans `send` hands to the SDK, as its exporter gets them.
    fn sent(attributes: Vec<KeyValue>, link: Option<SpanContext>, error: Option<&str>) -> SpanData {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        send(&provider.tracer("test"), attributes, link, error, timing());
        let mut spans = exporter.get_finished_spans().unwrap();
        assert_eq!(spans.len(), 1);
        spans.remove(0)
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
        let a = attributes(&publish_attributes(&p, timing()));
        assert_eq!(a["domain_data_generated_at"], s("2026-11-25T13:58:00Z"));
        assert_eq!(a["domain_data_schema_version"], s("7"));
        assert_eq!(a["litefs_txid"], s("000000000000002f"));
        assert_eq!(a["litefs_checksum"], s("83b05248774ce767"));
        assert_eq!(a["domain_data_bytes"], Value::I64(12288));
        assert_eq!(a["domain_data_path"], s("/d/1764079392-Domain.sqlite3"));
        assert_eq!(a["duration_ms"], Value::F64(250.0));

        let span = sent(publish_attributes(&p, timing()), link(&m).unwrap(), None);
        assert_eq!(span.name, "Copy domain data to host");
        assert_eq!(span.span_kind, SpanKind::Internal);
        assert!(span.span_context.is_valid() && span.span_context.is_sampled());
        assert_eq!(span.parent_span_id, SpanId::INVALID);
        assert_eq!(span.start_time, timing().start);
        assert_eq!(span.end_time, timing().end);
        assert_eq!(span.status, Status::Unset);
        assert_eq!(attributes(&span.attributes), a);
        assert_eq!(span.links.len(), 1);
        let linked = &span.links[0].span_context;
        assert_eq!(linked.trace_id().to_string(), TRACE);
        assert_eq!(linked.span_id().to_string(), SPAN);
        assert!(linked.is_remote());
        assert_ne!(span.span_context.trace_id(), linked.trace_id());
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
        let a = attributes(&publish_attributes(&p, timing()));
        for key in [
            "litefs_txid",
            "domain_data_generated_at",
            "domain_data_schema_version",
        ] {
            assert!(!a.contains_key(key), "{key}");
        }
        assert_eq!(a["litefs_checksum"], s("0000000000000001"));
    }

    #[test]
    fn a_failure_span_is_an_error_with_its_kind() {
        let span = sent(
            failure_attributes("litefs_http_error", timing()),
            None,
            Some("LiteFS answered 500"),
        );
        assert_eq!(span.name, SPAN_NAME);
        assert_eq!(span.status, Status::error("LiteFS answered 500"));
        assert_eq!(
            attributes(&span.attributes)["error.type"],
            s("litefs_http_error")
        );
        assert!(span.links.is_empty());
    }

    #[test]
    fn each_span_starts_a_trace_of_its_own() {
        let a = sent(Vec::new(), None, None);
        let b = sent(Vec::new(), None, None);
        assert_ne!(a.span_context.trace_id(), b.span_context.trace_id());
    }

    #[test]
    fn the_link_carries_ids_and_trace_state() {
        let l = link(&metadata(Some(TRACE), Some(SPAN), Some("vori=1")))
            .unwrap()
            .unwrap();
        assert_eq!(l.trace_state().header(), "vori=1");
        assert!(l.is_remote());
        let upper = link(&metadata(Some(&TRACE.to_uppercase()), Some(SPAN), None))
            .unwrap()
            .unwrap();
        assert_eq!(upper.trace_id().to_string(), TRACE);
        assert_eq!(upper.trace_state().header(), "");
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
        assert!(matches!(
            link(&metadata(Some(TRACE), Some(SPAN), Some("no equals sign"))),
            Err(LinkError::TraceState(_))
        ));
    }

    #[test]
    fn the_resource_names_the_service_and_nothing_from_the_environment() {
        let r = resource([source(SourceKind::Cloud)]);
        let keys: Vec<_> = r.iter().map(|(k, _)| k.to_string()).collect();
        assert_eq!(
            keys.len(),
            3,
            "service.name, service.version, domain_sync.source: {keys:?}"
        );
        assert_eq!(
            r.get(&"service.name".into()),
            Some(s("voripos-domain-sync"))
        );
        assert_eq!(
            r.get(&"service.version".into()),
            Some(s(env!("CARGO_PKG_VERSION")))
        );
        assert_eq!(r.get(&"domain_sync.source".into()), Some(s("cloud")));
    }
}
