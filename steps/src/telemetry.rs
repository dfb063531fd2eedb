//! The harness's own root span: every request a step sends starts a trace.
//!
//! A step's HTTP call is a CLIENT span of service `harness` with ids the harness generated;
//! its `traceparent` goes out with the request, and the finished span is posted to the
//! driver's OTLP/HTTP traces URL (protobuf, one request per span, awaited) so that the trace
//! has its root in the sink before any check looks at it. Hand-built OTLP rather than the SDK:
//! one span, no batching, no global state, and the export is done when the call returns.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value::Value},
    resource::v1::Resource,
    trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span::SpanKind, status::StatusCode},
};
use prost::Message as _;

/// The ids of a trace the harness starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceIds {
    /// 16 random bytes.
    pub trace_id: [u8; 16],
    /// 8 random bytes: the root span's id, the parent of edge's server span.
    pub span_id: [u8; 8],
}

impl TraceIds {
    /// Fresh random ids (never all zero: UUIDv4 has fixed version bits).
    pub fn random() -> Self {
        let trace_id = *uuid::Uuid::new_v4().as_bytes();
        let mut span_id = [0u8; 8];
        span_id.copy_from_slice(&uuid::Uuid::new_v4().as_bytes()[..8]);
        Self { trace_id, span_id }
    }

    /// The trace id as 32 lowercase hex digits.
    pub fn trace_hex(&self) -> String {
        hex::encode(self.trace_id)
    }

    /// The W3C `traceparent` header value, sampled.
    pub fn traceparent(&self) -> String {
        format!(
            "00-{}-{}-01",
            hex::encode(self.trace_id),
            hex::encode(self.span_id)
        )
    }
}

/// A finished root client span, ready to export.
#[derive(Debug, Clone)]
pub struct RootSpan {
    /// Its ids.
    pub ids: TraceIds,
    /// HTTP method, e.g. `POST`; the span is named `<method> <path>` so trees read well.
    pub method: String,
    /// The full URL requested.
    pub url: String,
    /// When the request started.
    pub start: SystemTime,
    /// When the response (or the error) came back.
    pub end: SystemTime,
    /// The response status, if any came.
    pub status: Option<u16>,
    /// The scenario tag, so a trace can be found from a scenario.
    pub namespace: String,
}

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

impl RootSpan {
    /// The OTLP export request carrying this one span under service `harness`.
    pub fn to_otlp(&self) -> ExportTraceServiceRequest {
        let mut attributes = vec![
            kv(
                "http.request.method",
                Value::StringValue(self.method.clone()),
            ),
            kv("url.full", Value::StringValue(self.url.clone())),
            // Steps only ever call edge; reports name the peer by it (`harness → edge POST ...`).
            kv("peer.service", Value::StringValue("edge".into())),
            kv(
                "minibank.test.namespace",
                Value::StringValue(self.namespace.clone()),
            ),
        ];
        if let Ok(url) = reqwest::Url::parse(&self.url) {
            if let Some(host) = url.host_str() {
                attributes.push(kv("server.address", Value::StringValue(host.to_owned())));
            }
            if let Some(port) = url.port_or_known_default() {
                attributes.push(kv("server.port", Value::IntValue(i64::from(port))));
            }
        }
        let status = match self.status {
            Some(code) => {
                attributes.push(kv(
                    "http.response.status_code",
                    Value::IntValue(i64::from(code)),
                ));
                // Client spans: 4xx and 5xx are errors (HTTP semantic conventions).
                if code >= 400 {
                    StatusCode::Error
                } else {
                    StatusCode::Unset
                }
            }
            None => StatusCode::Error,
        };
        let span = Span {
            trace_id: self.ids.trace_id.to_vec(),
            span_id: self.ids.span_id.to_vec(),
            name: format!(
                "{} {}",
                self.method,
                reqwest::Url::parse(&self.url)
                    .map(|u| u.path().to_owned())
                    .unwrap_or_default()
            ),
            kind: SpanKind::Client as i32,
            start_time_unix_nano: nanos(self.start),
            end_time_unix_nano: nanos(self.end).max(nanos(self.start)),
            attributes,
            status: Some(Status {
                code: status as i32,
                ..Default::default()
            }),
            flags: 0x101, // sampled; parent (none) is known not to be remote
            ..Default::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", Value::StringValue("harness".into()))],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "steps".into(),
                        ..Default::default()
                    }),
                    spans: vec![span],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    /// Posts the span to an OTLP/HTTP traces URL and waits for the collector's answer.
    ///
    /// # Errors
    /// When the collector cannot be reached or does not answer 2xx.
    pub async fn export(&self, client: &reqwest::Client, url: &str) -> anyhow::Result<()> {
        let body = self.to_otlp().encode_to_vec();
        let response = client
            .post(url)
            .header("content-type", "application/x-protobuf")
            .body(body)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("exporting the harness root span to {url}: {e}"))?;
        let status = response.status();
        anyhow::ensure!(
            status.is_success(),
            "exporting the harness root span to {url}: collector answered {status}"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_is_version_00_sampled_with_the_generated_ids() {
        let ids = TraceIds::random();
        let tp = ids.traceparent();
        assert_eq!(tp.len(), 55);
        assert!(tp.starts_with(&format!("00-{}-", ids.trace_hex())));
        assert!(tp.ends_with("-01"));
    }

    #[test]
    fn the_root_span_is_a_client_span_of_service_harness_without_parent() {
        let now = SystemTime::now();
        let span = RootSpan {
            ids: TraceIds::random(),
            method: "POST".into(),
            url: "http://127.0.0.1:1234/v1/payments".into(),
            start: now,
            end: now,
            status: Some(201),
            namespace: "s1".into(),
        };
        let request = span.to_otlp();
        let rs = &request.resource_spans[0];
        let service = &rs.resource.as_ref().unwrap().attributes[0];
        assert_eq!(service.key, "service.name");
        let otlp = &rs.scope_spans[0].spans[0];
        assert_eq!(otlp.kind, SpanKind::Client as i32);
        assert!(otlp.parent_span_id.is_empty());
        assert_eq!(otlp.trace_id, span.ids.trace_id.to_vec());
    }
}
