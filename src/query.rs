//! The query API, shaped like Jaeger's `api_v3` so one client reads both this sink and
//! a staging Jaeger:
//!
//! - `GET /api/v3/traces/{trace_id}` -> 200 `{"result": {"resourceSpans": [...]}}` (OTLP
//!   JSON: hex ids, integer enums), 404 for an unknown trace, 400 for a malformed id.
//! - `GET /api/v3/services` -> 200 `{"services": ["edge", ...]}`.
//! - `GET /api/sink/stats` -> 200 the store counters (limit and evictions included);
//!   not part of Jaeger's API.
//! - `GET /api/sink/metrics/{service}` -> 200 the service's figures from its OTLP metrics
//!   ([`crate::metrics::ServiceFigures`]: requests, errors and duration per route, connection
//!   pool counters), 404 when it never reported metrics. Not part of Jaeger's API.
//! - `GET /trace/{trace_id}` and `GET /traces`: pages for people ([`crate::query_pages`]).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::metrics::MetricsStore;
use crate::model::TraceId;
use crate::otlp::encode::traces_data;
use crate::store::TraceStore;

/// The axum router of the query API over `store` and `metrics`.
pub fn router(store: Arc<TraceStore>, metrics: Arc<MetricsStore>) -> Router {
    let metrics_api = Router::new()
        .route("/api/sink/metrics/{service}", get(get_metrics))
        .with_state(metrics);
    Router::new()
        .route("/api/v3/traces/{trace_id}", get(get_trace))
        .route("/api/v3/services", get(get_services))
        .route("/api/sink/stats", get(get_stats))
        .with_state(store.clone())
        .merge(metrics_api)
        .merge(crate::query_pages::router(store))
}

/// Jaeger's error shape: `{"error": {"httpCode": 404, "message": "..."}}`.
fn error(status: StatusCode, message: String) -> Response {
    (
        status,
        Json(json!({"error": {"httpCode": status.as_u16(), "message": message}})),
    )
        .into_response()
}

async fn get_trace(State(store): State<Arc<TraceStore>>, Path(raw): Path<String>) -> Response {
    let trace_id = match TraceId::parse(&raw) {
        Ok(id) => id,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    match store.get(&trace_id) {
        Some(trace) => {
            let data = traces_data(&trace.spans);
            match serde_json::to_value(&data) {
                Ok(value) => Json(json!({ "result": value })).into_response(),
                Err(e) => error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("could not encode trace: {e}"),
                ),
            }
        }
        None => error(
            StatusCode::NOT_FOUND,
            format!("trace not found: {trace_id}"),
        ),
    }
}

async fn get_services(State(store): State<Arc<TraceStore>>) -> Response {
    Json(json!({ "services": store.services() })).into_response()
}

async fn get_stats(State(store): State<Arc<TraceStore>>) -> Response {
    Json(store.stats()).into_response()
}

async fn get_metrics(
    State(metrics): State<Arc<MetricsStore>>,
    Path(service): Path<String>,
) -> Response {
    match metrics.figures(&service) {
        Some(figures) => Json(figures).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            format!("{service} has not reported metrics"),
        ),
    }
}
