//! Grafana Tempo: `GET {base}/api/v2/traces/{trace_id}` answering
//! `{"trace": {"resourceSpans": [...]}, "status": "complete"}`, 404 when unknown.
//! Tempo may encode ids as base64 and enums as names; [`crate::otlp::json`] reads both.

use super::http::{Backend, HttpFetcher};
use crate::model::TraceId;

/// Tempo's query frontend (e.g. `http://tempo:3200`).
#[derive(Debug, Clone)]
pub struct Tempo;

impl Backend for Tempo {
    const NAME: &'static str = "tempo";

    fn trace_path(trace_id: &TraceId) -> String {
        format!("/api/v2/traces/{trace_id}")
    }
}

/// Reads traces from Grafana Tempo.
pub type TempoFetcher = HttpFetcher<Tempo>;
