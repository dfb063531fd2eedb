//! A lenient OTLP/JSON reader for the receiver and the HTTP trace fetchers.
//!
//! OTLP/JSON says ids are hex and enums are integers, and `opentelemetry-proto`'s serde
//! support reads exactly that. Backends are looser: Tempo may answer ids in base64 and
//! enum names (`SPAN_KIND_SERVER`), Jaeger wraps the data in `{"result": ...}`, Tempo
//! in `{"trace": ...}` (older Tempo: `{"batches": [...]}`). This module rewrites those
//! shapes into strict OTLP/JSON first, then lets the generated types do the parsing.

use base64::Engine as _;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, TracesData};
use serde_json::Value;

use crate::model::{SpanKind, StatusCode};

/// Why a JSON document is not OTLP trace data.
#[derive(Debug, thiserror::Error)]
#[error("invalid OTLP JSON: {0}")]
pub struct JsonError(String);

/// Parses an OTLP/JSON export request or trace document (with or without a backend
/// wrapper) into its `ResourceSpans`.
pub fn parse_resource_spans(body: &[u8]) -> Result<Vec<ResourceSpans>, JsonError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| JsonError(e.to_string()))?;
    resource_spans_from_value(value)
}

/// Like [`parse_resource_spans`], from an already parsed JSON value.
pub fn resource_spans_from_value(value: Value) -> Result<Vec<ResourceSpans>, JsonError> {
    let mut data = unwrap_document(value)?;
    let Some(list) = data.get_mut("resourceSpans").and_then(Value::as_array_mut) else {
        return Ok(Vec::new());
    };
    for resource_spans in list.iter_mut() {
        normalize_resource_spans(resource_spans);
    }
    let parsed: TracesData = serde_json::from_value(data).map_err(|e| JsonError(e.to_string()))?;
    Ok(parsed.resource_spans)
}

/// Strips backend wrappers and legacy names so that the result has `resourceSpans`.
fn unwrap_document(value: Value) -> Result<Value, JsonError> {
    let Value::Object(mut map) = value else {
        return Err(JsonError("expected a JSON object".into()));
    };
    for wrapper in ["result", "trace"] {
        if let Some(inner) = map.remove(wrapper) {
            if inner.is_object() {
                return unwrap_document(inner);
            }
        }
    }
    if !map.contains_key("resourceSpans") {
        if let Some(batches) = map.remove("batches") {
            map.insert("resourceSpans".into(), batches);
        }
    }
    Ok(Value::Object(map))
}

fn normalize_resource_spans(resource_spans: &mut Value) {
    let Some(obj) = resource_spans.as_object_mut() else {
        return;
    };
    if !obj.contains_key("scopeSpans") {
        if let Some(legacy) = obj.remove("instrumentationLibrarySpans") {
            obj.insert("scopeSpans".into(), legacy);
        }
    }
    let Some(scopes) = obj.get_mut("scopeSpans").and_then(Value::as_array_mut) else {
        return;
    };
    for scope in scopes {
        if let Some(spans) = scope.get_mut("spans").and_then(Value::as_array_mut) {
            spans.iter_mut().for_each(normalize_span);
        }
    }
}

fn normalize_span(span: &mut Value) {
    let Some(obj) = span.as_object_mut() else {
        return;
    };
    fix_id(obj.get_mut("traceId"), 16);
    fix_id(obj.get_mut("spanId"), 8);
    fix_id(obj.get_mut("parentSpanId"), 8);
    if let Some(kind) = obj.get_mut("kind") {
        if let Some(name) = kind.as_str() {
            if let Some(parsed) = SpanKind::parse(name) {
                *kind = Value::from(parsed.to_otlp());
            }
        }
    }
    if let Some(code) = obj.get_mut("status").and_then(|s| s.get_mut("code")) {
        if let Some(name) = code.as_str() {
            if let Some(parsed) = StatusCode::parse(name) {
                *code = Value::from(parsed.to_otlp());
            }
        }
    }
    if let Some(links) = obj.get_mut("links").and_then(Value::as_array_mut) {
        for link in links.iter_mut().filter_map(Value::as_object_mut) {
            fix_id(link.get_mut("traceId"), 16);
            fix_id(link.get_mut("spanId"), 8);
        }
    }
}

/// Rewrites a base64 id of `len` bytes into lowercase hex; leaves anything else for the
/// strict parser (which rejects it with a clear message).
fn fix_id(id: Option<&mut Value>, len: usize) {
    let Some(id) = id else { return };
    let Some(text) = id.as_str() else { return };
    if text.is_empty() || (text.len() == len * 2 && text.bytes().all(|b| b.is_ascii_hexdigit())) {
        return;
    }
    if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(text) {
        if bytes.len() == len {
            *id = Value::String(hex::encode(bytes));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tempo_shape_with_base64_ids_and_enum_names() {
        let body = serde_json::json!({"trace": {"batches": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "edge"}}]},
            "scopeSpans": [{"spans": [{
                "traceId": "AAECAwQFBgcICQoLDA0ODw==", "spanId": "AAECAwQFBgc=",
                "name": "GET /", "kind": "SPAN_KIND_SERVER",
                "startTimeUnixNano": "1", "endTimeUnixNano": "2",
                "status": {"code": "STATUS_CODE_ERROR"}
            }]}]
        }]}});
        let rs = parse_resource_spans(body.to_string().as_bytes()).unwrap();
        let span = &rs[0].scope_spans[0].spans[0];
        assert_eq!(
            hex::encode(&span.trace_id),
            "000102030405060708090a0b0c0d0e0f"
        );
        assert_eq!(span.kind, 2);
        assert_eq!(span.status.as_ref().unwrap().code, 2);
    }

    #[test]
    fn events_and_links_come_through_a_backend_answer() {
        // As Tempo answers: base64 ids, also in links; an event with an attribute.
        let body = serde_json::json!({"trace": {"batches": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "webhooks"}}]},
            "scopeSpans": [{"spans": [{
                "traceId": "AAECAwQFBgcICQoLDA0ODw==", "spanId": "AAECAwQFBgc=",
                "name": "POST", "kind": "SPAN_KIND_CLIENT",
                "startTimeUnixNano": "1000", "endTimeUnixNano": "73001000",
                "events": [{"timeUnixNano": "2000", "name": "retry",
                    "attributes": [{"key": "attempt", "value": {"intValue": "2"}}]}],
                "links": [{"traceId": "Dw4NDAsKCQgHBgUEAwIBAA==", "spanId": "BwYFBAMCAQA="}]
            }]}]
        }]}});
        let rs = parse_resource_spans(body.to_string().as_bytes()).unwrap();
        let decoded = crate::otlp::decode::decode_resource_spans(rs);
        let span = &decoded.spans[0];
        assert_eq!(span.duration_nanos(), 73_000_000);
        assert_eq!(span.events[0].name, "retry");
        assert_eq!(span.events[0].attributes["attempt"].to_string(), "2");
        assert_eq!(
            span.links[0].trace_id.as_str(),
            "0f0e0d0c0b0a09080706050403020100"
        );
        assert_eq!(span.links[0].span_id.as_str(), "0706050403020100");
    }

    #[test]
    fn rejects_non_objects_and_bad_hex() {
        assert!(parse_resource_spans(b"[1,2]").is_err());
        let bad = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}"#;
        assert!(parse_resource_spans(bad.as_bytes()).is_err());
    }
}
