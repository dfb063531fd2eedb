//! OTLP protobuf types -> harness model, with per-span validation.

use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, span};

use crate::model::{
    AttrValue, Attributes, Resource, Span, SpanEvent, SpanId, SpanKind, SpanLink, SpanStatus,
    StatusCode, TraceId,
};

/// The outcome of decoding one export request: good spans, and the rejected ones
/// counted for OTLP partial success.
#[derive(Debug, Default)]
pub struct Decoded {
    /// Spans that passed validation.
    pub spans: Vec<Span>,
    /// How many spans were rejected (invalid trace or span id).
    pub rejected: i64,
    /// Why the first rejected span was rejected; empty when none was.
    pub error_message: String,
}

/// Decodes every span in `resource_spans`. A span with an invalid trace id, span id or
/// parent id is rejected (counted, not fatal): guessing a parent would corrupt the tree.
pub fn decode_resource_spans(resource_spans: Vec<ResourceSpans>) -> Decoded {
    let mut out = Decoded::default();
    for rs in resource_spans {
        let attributes = rs
            .resource
            .map(|r| attributes_from(r.attributes))
            .unwrap_or_default();
        let resource = Arc::new(Resource::from_attributes(attributes));
        for ss in rs.scope_spans {
            let scope = ss.scope.map(|s| s.name).filter(|n| !n.is_empty());
            for span in ss.spans {
                match decode_span(span, &resource, &scope) {
                    Ok(span) => out.spans.push(span),
                    Err(reason) => {
                        if out.rejected == 0 {
                            out.error_message = reason;
                        }
                        out.rejected += 1;
                    }
                }
            }
        }
    }
    out
}

fn decode_span(
    span: opentelemetry_proto::tonic::trace::v1::Span,
    resource: &Arc<Resource>,
    scope: &Option<String>,
) -> Result<Span, String> {
    let trace_id = TraceId::from_bytes(&span.trace_id).map_err(|e| e.to_string())?;
    let span_id = SpanId::from_bytes(&span.span_id).map_err(|e| e.to_string())?;
    let parent_span_id = if span.parent_span_id.is_empty() {
        None
    } else {
        Some(SpanId::from_bytes(&span.parent_span_id).map_err(|e| format!("parent {e}"))?)
    };
    let status = span
        .status
        .map(|s| SpanStatus {
            code: StatusCode::from_otlp(s.code),
            message: s.message,
        })
        .unwrap_or(SpanStatus {
            code: StatusCode::Unset,
            message: String::new(),
        });
    Ok(Span {
        trace_id,
        span_id,
        parent_span_id,
        resource: Arc::clone(resource),
        scope: scope.clone(),
        name: span.name,
        kind: SpanKind::from_otlp(span.kind),
        start_unix_nanos: span.start_time_unix_nano,
        end_unix_nanos: span.end_time_unix_nano,
        attributes: attributes_from(span.attributes),
        status,
        events: span.events.into_iter().map(event_from).collect(),
        // A link with an invalid id points nowhere a check could follow: dropped, not fatal.
        links: span.links.into_iter().filter_map(link_from).collect(),
    })
}

fn event_from(event: span::Event) -> SpanEvent {
    SpanEvent {
        name: event.name,
        time_unix_nanos: event.time_unix_nano,
        attributes: attributes_from(event.attributes),
    }
}

fn link_from(link: span::Link) -> Option<SpanLink> {
    Some(SpanLink {
        trace_id: TraceId::from_bytes(&link.trace_id).ok()?,
        span_id: SpanId::from_bytes(&link.span_id).ok()?,
        attributes: attributes_from(link.attributes),
    })
}

/// OTLP key/values -> attribute map (later duplicates win, as most SDKs do).
pub fn attributes_from(kvs: Vec<KeyValue>) -> Attributes {
    kvs.into_iter()
        .filter_map(|kv| kv.value.and_then(value_from).map(|v| (kv.key, v)))
        .collect()
}

fn value_from(value: AnyValue) -> Option<AttrValue> {
    Some(match value.value? {
        any_value::Value::StringValue(s) => AttrValue::String(s),
        any_value::Value::BoolValue(b) => AttrValue::Bool(b),
        any_value::Value::IntValue(i) => AttrValue::Int(i),
        any_value::Value::DoubleValue(d) => AttrValue::Double(d),
        any_value::Value::BytesValue(b) => AttrValue::Bytes(b),
        any_value::Value::ArrayValue(a) => {
            AttrValue::Array(a.values.into_iter().filter_map(value_from).collect())
        }
        any_value::Value::KvlistValue(kv) => AttrValue::Map(attributes_from(kv.values)),
        // String-table references only exist in the profiles signal; not meaningful here.
        any_value::Value::StringValueStrindex(_) => return None,
    })
}
