//! The query port's pages for people trying the platform by hand, drawn by the run report's
//! waterfall renderer ([`crate::report`]):
//!
//! - `GET /trace/{trace_id}` -> the trace as a waterfall (404 page for an unknown trace,
//!   400 for a malformed id);
//! - `GET /traces` -> the most recent traces (at most [`RECENT`]), newest first, each linking
//!   to its page.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::model::TraceId;
use crate::report::{TraceSummary, TraceView, render_trace_list_page, render_trace_page};
use crate::store::TraceStore;

/// How many traces the recent-traces page lists.
pub const RECENT: usize = 100;

/// The pages' router over `store`.
pub fn router(store: Arc<TraceStore>) -> Router {
    Router::new()
        .route("/trace/{trace_id}", get(trace_page))
        .route("/traces", get(recent_page))
        .with_state(store)
}

fn problem(status: StatusCode, message: &str) -> Response {
    let escaped = message.replace('&', "&amp;").replace('<', "&lt;");
    (
        status,
        Html(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\
             <body><p>{escaped}</p><p><a href=\"/traces\">recent traces</a></p></body></html>",
            status.as_u16()
        )),
    )
        .into_response()
}

async fn trace_page(State(store): State<Arc<TraceStore>>, Path(raw): Path<String>) -> Response {
    let trace_id = match TraceId::parse(&raw) {
        Ok(id) => id,
        Err(e) => return problem(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    match store.get(&trace_id) {
        Some(trace) => Html(render_trace_page(&TraceView::of(&trace))).into_response(),
        None => problem(
            StatusCode::NOT_FOUND,
            &format!("trace {trace_id} is not (or no longer) held by this sink"),
        ),
    }
}

async fn recent_page(State(store): State<Arc<TraceStore>>) -> Response {
    let ids = store.trace_ids();
    let summaries: Vec<TraceSummary> = ids
        .iter()
        .rev()
        .take(RECENT)
        .filter_map(|id| store.get(id))
        .map(|trace| TraceSummary::of(&TraceView::of(&trace)))
        .collect();
    Html(render_trace_list_page(&summaries)).into_response()
}
