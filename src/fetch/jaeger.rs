//! Jaeger's api_v3: `GET {base}/api/v3/traces/{trace_id}` answering
//! `{"result": {"resourceSpans": [...]}}` in OTLP JSON, 404 when unknown.

use super::http::{Backend, HttpFetcher};
use crate::model::TraceId;

/// Jaeger's query service (e.g. `http://jaeger:16686`), or this sink's query API, which has
/// the same shape.
#[derive(Debug, Clone)]
pub struct Jaeger;

impl Backend for Jaeger {
    const NAME: &'static str = "jaeger";

    fn trace_path(trace_id: &TraceId) -> String {
        format!("/api/v3/traces/{trace_id}")
    }
}

/// Reads traces from Jaeger (or from this sink's query API).
pub type JaegerFetcher = HttpFetcher<Jaeger>;
