//! Server side of the RPC layer: one axum middleware that every service's routes sit behind.
//!
//! For each request it, in order:
//! 1. extracts W3C `traceparent`/`tracestate`/`baggage` (an invalid traceparent → new trace, an
//!    invalid tracestate → dropped whole, as `rpc::tracestate` says; never an error);
//! 2. starts a SERVER span named `{method} {route}` (HTTP semconv) with the semconv attributes;
//! 3. reads the deadline header, the request id and (unless this is edge) the identity headers
//!    into a [`RequestContext`] in the request extensions;
//! 4. runs the handler inside a `tracing` span carrying `service`, `trace_id`, `span_id`, so
//!    every log line about the request can be tied to its trace;
//! 5. records the status (error status on 5xx), logs one line, answers `x-request-id` (and
//!    `traceresponse` at edge) and ends the span.
//!
//! Cancellation: the handler runs at most until the propagated deadline (then 504
//! `deadline_exceeded`, and the handler's future, with every call it was making downstream, is
//! dropped). When the caller disconnects, the server drops the whole request future; the span
//! then ends marked `minibank.cancelled` instead of being lost. The deadline left on arrival and
//! the baggage keys received are span attributes, so propagation is visible hop by hop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderValue, Version};
use opentelemetry::KeyValue;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt as _, Tracer as _};
use tokio::time::Instant;
use tracing::Instrument as _;

use super::context::{Identity, RequestContext};
use super::fault::SCENARIO_BAGGAGE_KEY;
use super::headers;
use super::propagation::extract_from_headers;
use crate::http_error::ApiError;
use crate::telemetry::Telemetry;
use axum::response::IntoResponse as _;
use opentelemetry::baggage::BaggageExt as _;

/// How a service's routes are wrapped.
#[derive(Clone, Debug)]
pub struct ServerLayer {
    /// The service's telemetry (its own `service.name`).
    pub telemetry: Telemetry,
    /// The address the service listens on (for `server.address`/`server.port` when no Host header).
    pub local_addr: SocketAddr,
    /// Read identity from `x-minibank-*` headers. True for internal services; false at edge,
    /// which must never trust what the public sends.
    pub trust_identity_headers: bool,
    /// Answer the W3C `traceresponse` header (edge).
    pub traceresponse: bool,
}

impl ServerLayer {
    /// Wraps every route of `router` (added so far) with the middleware.
    pub fn apply<S: Clone + Send + Sync + 'static>(self, router: Router<S>) -> Router<S> {
        router.layer(axum::middleware::from_fn_with_state(
            Arc::new(self),
            rpc_server,
        ))
    }
}

async fn rpc_server(
    State(layer): State<Arc<ServerLayer>>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let parent = extract_from_headers(request.headers());
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let span_name = match &route {
        Some(route) => format!("{method} {route}"),
        None => method.clone(),
    };
    let (address, port) = server_address(&request, layer.local_addr);
    let mut attributes = vec![
        KeyValue::new("http.request.method", method.clone()),
        KeyValue::new("url.path", request.uri().path().to_owned()),
        KeyValue::new("url.scheme", "http"),
        KeyValue::new("server.address", address),
        KeyValue::new("server.port", i64::from(port)),
        KeyValue::new(
            "network.protocol.version",
            protocol_version(request.version()),
        ),
    ];
    if let Some(route) = &route {
        attributes.push(KeyValue::new("http.route", route.clone()));
    }
    if let Some(agent) = request
        .headers()
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
    {
        attributes.push(KeyValue::new("user_agent.original", agent.to_owned()));
    }
    let tracer = layer.telemetry.tracer();
    let span = tracer
        .span_builder(span_name)
        .with_kind(SpanKind::Server)
        .with_attributes(attributes)
        .start_with_context(tracer, &parent);
    let otel = parent.with_span(span);
    let span_context = otel.span().span_context().clone();

    let deadline_ms = request
        .headers()
        .get(headers::DEADLINE_MS)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let deadline = deadline_ms.map(|millis| started + Duration::from_millis(millis));
    if let Some(millis) = deadline_ms {
        otel.span().set_attribute(KeyValue::new(
            "minibank.deadline.remaining_ms",
            i64::try_from(millis).unwrap_or(i64::MAX),
        ));
    }
    let baggage_keys: Vec<String> = otel
        .baggage()
        .iter()
        .map(|(key, _)| key.to_string())
        .collect();
    if !baggage_keys.is_empty() {
        let mut keys = baggage_keys;
        keys.sort();
        otel.span()
            .set_attribute(KeyValue::new("minibank.baggage.keys", keys.join(",")));
    }
    // Ends the span as cancelled if this future is dropped before the answer (caller gone).
    let in_flight = InFlight(Some(otel.clone()));
    let request_id = request
        .headers()
        .get(headers::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 200)
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let identity = if layer.trust_identity_headers {
        Identity::from_headers(request.headers())
    } else {
        None
    };
    let context = RequestContext::new(otel.clone(), deadline, request_id.clone(), identity);
    request.extensions_mut().insert(context);

    let log_span = tracing::info_span!(
        "request",
        service = %layer.telemetry.service_name(),
        trace_id = %span_context.trace_id(),
        span_id = %span_context.span_id(),
        request_id = %request_id,
        method = %method,
        route = route.as_deref().unwrap_or("unmatched"),
    );
    let handler = next
        .run(request)
        .with_context(otel.clone())
        .instrument(log_span.clone());
    let mut response = match deadline {
        // Past the caller's deadline nobody waits for the answer: stop the work.
        Some(deadline) => match tokio::time::timeout_at(deadline, handler).await {
            Ok(response) => response,
            Err(_elapsed) => {
                otel.span()
                    .set_attribute(KeyValue::new("error.type", "deadline_exceeded"));
                ApiError::new(
                    http::StatusCode::GATEWAY_TIMEOUT,
                    "deadline_exceeded",
                    "the caller's deadline passed before the answer was ready",
                )
                .into_response()
            }
        },
        None => handler.await,
    };
    in_flight.finish();

    let status = response.status();
    let span = otel.span();
    span.set_attribute(KeyValue::new(
        "http.response.status_code",
        i64::from(status.as_u16()),
    ));
    if status.is_server_error() {
        span.set_attribute(KeyValue::new("error.type", status.as_u16().to_string()));
        span.set_status(Status::error(format!("HTTP {}", status.as_u16())));
    }
    // The scenario the request was made for, when the figures are labelled so (test platforms).
    let metrics = layer.telemetry.metrics();
    let scenario = metrics
        .labels_scenarios()
        .then(|| {
            otel.baggage()
                .get(SCENARIO_BAGGAGE_KEY)
                .map(|v| v.to_string())
        })
        .flatten();
    metrics.record(
        &method,
        route.as_deref(),
        status.as_u16(),
        started.elapsed(),
        scenario.as_deref(),
    );
    log_span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request completed"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(headers::REQUEST_ID, value);
    }
    if layer.traceresponse {
        let value = format!(
            "00-{}-{}-{:02x}",
            span_context.trace_id(),
            span_context.span_id(),
            span_context.trace_flags().to_u8()
        );
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(headers::TRACERESPONSE, value);
        }
    }
    span.end();
    response
}

/// The span of a request being answered; if dropped unfinished, the caller went away.
struct InFlight(Option<opentelemetry::Context>);

impl InFlight {
    fn finish(mut self) {
        self.0 = None;
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(otel) = self.0.take() {
            let span = otel.span();
            span.set_attribute(KeyValue::new("minibank.cancelled", true));
            span.set_status(Status::error("the caller went away; the work was stopped"));
            span.end();
            tracing::info!(trace_id = %span.span_context().trace_id(), "request cancelled by the caller");
        }
    }
}

/// `server.address`/`server.port` from the Host header (what the client used), else the socket.
fn server_address(request: &Request, local: SocketAddr) -> (String, u16) {
    let host = request
        .headers()
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok());
    if let Some(host) = host {
        if let Some((name, port)) = host.rsplit_once(':') {
            if let Ok(port) = port.parse() {
                return (name.to_owned(), port);
            }
        }
        return (host.to_owned(), 80);
    }
    (local.ip().to_string(), local.port())
}

fn protocol_version(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => "1.1",
    }
}
