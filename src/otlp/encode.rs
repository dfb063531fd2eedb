//! Harness model -> OTLP protobuf types (what the query API serves as OTLP JSON).

use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::resource::v1::Resource as OtlpResource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Status, TracesData, span};

use crate::model::{AttrValue, Attributes, Resource, Span};

/// Spans of one instrumentation scope.
type ScopeGroup<'a> = (Option<String>, Vec<&'a Span>);

/// Groups spans by resource and scope into OTLP `TracesData`.
pub fn traces_data(spans: &[Span]) -> TracesData {
    let mut groups: Vec<(Arc<Resource>, Vec<ScopeGroup<'_>>)> = Vec::new();
    for span in spans {
        let idx = match groups
            .iter()
            .position(|(r, _)| Arc::ptr_eq(r, &span.resource) || **r == *span.resource)
        {
            Some(i) => i,
            None => {
                groups.push((Arc::clone(&span.resource), Vec::new()));
                groups.len() - 1
            }
        };
        let scopes = &mut groups[idx].1;
        match scopes.iter_mut().find(|(s, _)| *s == span.scope) {
            Some((_, list)) => list.push(span),
            None => scopes.push((span.scope.clone(), vec![span])),
        }
    }
    TracesData {
        resource_spans: groups
            .into_iter()
            .map(|(resource, scopes)| ResourceSpans {
                resource: Some(OtlpResource {
                    attributes: key_values(&resource.attributes),
                    ..Default::default()
                }),
                scope_spans: scopes
                    .into_iter()
                    .map(|(scope, spans)| ScopeSpans {
                        scope: scope.map(|name| InstrumentationScope {
                            name,
                            ..Default::default()
                        }),
                        spans: spans.into_iter().map(otlp_span).collect(),
                        schema_url: String::new(),
                    })
                    .collect(),
                schema_url: String::new(),
            })
            .collect(),
    }
}

fn otlp_span(span: &Span) -> opentelemetry_proto::tonic::trace::v1::Span {
    opentelemetry_proto::tonic::trace::v1::Span {
        trace_id: span.trace_id.to_bytes(),
        span_id: span.span_id.to_bytes(),
        parent_span_id: span
            .parent_span_id
            .as_ref()
            .map(|p| p.to_bytes())
            .unwrap_or_default(),
        name: span.name.clone(),
        kind: span.kind.to_otlp(),
        start_time_unix_nano: span.start_unix_nanos,
        end_time_unix_nano: span.end_unix_nanos,
        attributes: key_values(&span.attributes),
        events: span
            .events
            .iter()
            .map(|e| span::Event {
                time_unix_nano: e.time_unix_nanos,
                name: e.name.clone(),
                attributes: key_values(&e.attributes),
                dropped_attributes_count: 0,
            })
            .collect(),
        links: span
            .links
            .iter()
            .map(|l| span::Link {
                trace_id: l.trace_id.to_bytes(),
                span_id: l.span_id.to_bytes(),
                attributes: key_values(&l.attributes),
                ..Default::default()
            })
            .collect(),
        status: Some(Status {
            message: span.status.message.clone(),
            code: span.status.code.to_otlp(),
        }),
        ..Default::default()
    }
}

/// Attribute map -> OTLP key/values.
pub fn key_values(attributes: &Attributes) -> Vec<KeyValue> {
    attributes
        .iter()
        .map(|(k, v)| KeyValue {
            key: k.clone(),
            value: Some(any_value(v)),
            ..Default::default()
        })
        .collect()
}

fn any_value(value: &AttrValue) -> AnyValue {
    let v = match value {
        AttrValue::String(s) => any_value::Value::StringValue(s.clone()),
        AttrValue::Bool(b) => any_value::Value::BoolValue(*b),
        AttrValue::Int(i) => any_value::Value::IntValue(*i),
        AttrValue::Double(d) => any_value::Value::DoubleValue(*d),
        AttrValue::Bytes(b) => any_value::Value::BytesValue(b.clone()),
        AttrValue::Array(items) => any_value::Value::ArrayValue(ArrayValue {
            values: items.iter().map(any_value).collect(),
        }),
        AttrValue::Map(map) => any_value::Value::KvlistValue(KeyValueList {
            values: key_values(map),
        }),
    };
    AnyValue { value: Some(v) }
}
