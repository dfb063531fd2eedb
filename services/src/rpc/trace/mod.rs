//! The top of every client stack: the CLIENT span of a call and the caller's context on the
//! wire. For each call it
//! 1. starts a CLIENT span, child of the caller's context, following the OpenTelemetry HTTP
//!    client conventions: named `{method} {url.template}` (just `{method}` when the caller
//!    gave no template, as for an outside URL), with `http.request.method`, `server.address`,
//!    `server.port`, `url.full`, `url.template` and `peer.service` (the target's name, so a
//!    trace viewer can draw `payments → ledger POST /holds`);
//! 2. writes the caller's context into the headers: W3C `traceparent`/`tracestate` (this span
//!    as parent) and `baggage`, the deadline left (`x-minibank-deadline-ms`), the request id
//!    and the caller's identity;
//! 3. when the answer comes: `http.response.status_code` (error status on 4xx/5xx), or
//!    `error.type` and an error status for a failure, `http.request.resend_count` when the
//!    retry layer resent it; then ends the span (dropped unfinished, the span ends on drop).
//!
//! At the top, so one span covers every attempt, and every attempt carries the same
//! `traceparent`.

mod error;
mod layer;
mod service;

pub use error::error_type;
pub use layer::TraceLayer;
pub use service::TraceService;
