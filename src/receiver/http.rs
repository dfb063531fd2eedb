//! OTLP/HTTP: `POST /v1/traces` and `POST /v1/metrics` with `application/x-protobuf` or
//! `application/json`, optionally `Content-Encoding: gzip`.
//!
//! Errors follow the OTLP/HTTP spec: the body is a `google.rpc.Status` (protobuf or
//! JSON, matching the request), 400 for undecodable payloads, 413 for payloads over
//! the limit (checked on the wire size and again on the decompressed size, so a zip
//! bomb is refused without being inflated), 415 for other content types.

use std::io::Read as _;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use prost::Message as _;

use crate::metrics::MetricsStore;
use crate::otlp::json::parse_resource_spans;
use crate::store::TraceStore;

/// The OTLP/HTTP traces path.
pub const TRACES_PATH: &str = "/v1/traces";
/// The OTLP/HTTP metrics path.
pub const METRICS_PATH: &str = "/v1/metrics";

#[derive(Clone)]
struct ReceiverState {
    store: Arc<TraceStore>,
    metrics: Arc<MetricsStore>,
    max_request_bytes: usize,
}

/// Which OTLP signal a request carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// `POST /v1/traces`.
    Traces,
    /// `POST /v1/metrics`.
    Metrics,
}

/// The axum router serving `POST /v1/traces` into `store` and `POST /v1/metrics` into
/// `metrics`.
pub fn router(
    store: Arc<TraceStore>,
    metrics: Arc<MetricsStore>,
    max_request_bytes: usize,
) -> Router {
    Router::new()
        .route(TRACES_PATH, post(export_traces))
        .route(METRICS_PATH, post(export_metrics_request))
        .layer(DefaultBodyLimit::max(max_request_bytes))
        .layer(axum::middleware::from_fn_with_state(
            max_request_bytes,
            refuse_declared_oversize,
        ))
        .with_state(ReceiverState {
            store,
            metrics,
            max_request_bytes,
        })
}

/// A declared `Content-Length` over the limit is refused with 413 before a byte of the body is
/// read: a client declaring a terabyte gets its answer at once and holds no buffer. (A body
/// without a declared length is cut off at the limit by `DefaultBodyLimit`, and a gzip body
/// is never inflated past it: [`decode_export`].)
async fn refuse_declared_oversize(
    State(limit): State<usize>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        let encoding = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(Encoding::from_content_type)
            .unwrap_or(Encoding::Json);
        return ExportError::too_large(encoding, limit).into_response();
    }
    next.run(request).await
}

/// How an export body is encoded, from its media type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// `application/x-protobuf` (or `application/protobuf`).
    Protobuf,
    /// `application/json`.
    Json,
}

impl Encoding {
    /// The encoding a `Content-Type` names (parameters and case ignored); `None`: 415.
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let media_type = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match media_type.as_str() {
            "application/x-protobuf" | "application/protobuf" => Some(Self::Protobuf),
            "application/json" => Some(Self::Json),
            _ => None,
        }
    }
}

/// One decoded export request.
#[derive(Debug)]
pub enum Export {
    /// The spans of `POST /v1/traces`.
    Traces(Vec<ResourceSpans>),
    /// The metrics of `POST /v1/metrics`.
    Metrics(ExportMetricsServiceRequest),
}

/// `google.rpc.Status`, the error body OTLP/HTTP requires. It is not part of
/// `opentelemetry-proto`, so its two fields we use are declared here.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// gRPC code numbers used in error bodies.
const GRPC_INVALID_ARGUMENT: i32 = 3;
const GRPC_RESOURCE_EXHAUSTED: i32 = 8;

/// Why an export body was refused: the OTLP/HTTP answer (400 or 413, with a
/// `google.rpc.Status` body in the request's encoding).
#[derive(Debug)]
pub struct ExportError {
    status: StatusCode,
    grpc_code: i32,
    message: String,
    encoding: Encoding,
}

impl ExportError {
    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The error message of the answer.
    pub fn message(&self) -> &str {
        &self.message
    }

    fn bad_request(encoding: Encoding, message: String) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            grpc_code: GRPC_INVALID_ARGUMENT,
            message,
            encoding,
        }
    }

    fn too_large(encoding: Encoding, limit: usize) -> Self {
        Self {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            grpc_code: GRPC_RESOURCE_EXHAUSTED,
            message: format!("payload exceeds the limit of {limit} bytes"),
            encoding,
        }
    }
}

impl IntoResponse for ExportError {
    fn into_response(self) -> Response {
        let status = RpcStatus {
            code: self.grpc_code,
            message: self.message,
        };
        match self.encoding {
            Encoding::Protobuf => (
                self.status,
                [(header::CONTENT_TYPE, "application/x-protobuf")],
                status.encode_to_vec(),
            )
                .into_response(),
            Encoding::Json => (
                self.status,
                [(header::CONTENT_TYPE, "application/json")],
                serde_json::json!({"code": status.code, "message": status.message}).to_string(),
            )
                .into_response(),
        }
    }
}

type Body = Result<Bytes, axum::extract::rejection::BytesRejection>;

async fn export_traces(state: State<ReceiverState>, headers: HeaderMap, body: Body) -> Response {
    export(state, headers, body, Signal::Traces).await
}

async fn export_metrics_request(
    state: State<ReceiverState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    export(state, headers, body, Signal::Metrics).await
}

async fn export(
    State(state): State<ReceiverState>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
    signal: Signal,
) -> Response {
    let large = body
        .as_ref()
        .is_ok_and(|b| b.len() > INLINE_DECODE_MAX_BYTES);
    if !large {
        return handle_export(&state, &headers, body, signal)
            .unwrap_or_else(IntoResponse::into_response);
    }
    // Decoding (and inflating) megabytes takes milliseconds of CPU; off the async workers
    // it cannot stall the in-process services that share this runtime.
    match tokio::task::spawn_blocking(move || handle_export(&state, &headers, body, signal)).await {
        Ok(result) => result.unwrap_or_else(IntoResponse::into_response),
        Err(join_error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({"code": 13, "message": format!("decoding failed: {join_error}")})
                .to_string(),
        )
            .into_response(),
    }
}

/// Bodies up to this size are decoded on the async worker; larger ones on the blocking pool.
const INLINE_DECODE_MAX_BYTES: usize = 256 * 1024;

fn handle_export(
    state: &ReceiverState,
    headers: &HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
    signal: Signal,
) -> Result<Response, ExportError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(encoding) = Encoding::from_content_type(content_type) else {
        return Ok((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({
                "code": GRPC_INVALID_ARGUMENT,
                "message": format!(
                    "unsupported content type {content_type:?}: use application/x-protobuf or application/json"
                ),
            })
            .to_string(),
        )
            .into_response());
    };
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ExportError::too_large(encoding, state.max_request_bytes)
        } else {
            ExportError::bad_request(encoding, format!("could not read body: {rejection}"))
        }
    })?;
    let content_encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok());
    match decode_export(
        signal,
        encoding,
        content_encoding,
        body,
        state.max_request_bytes,
    )? {
        Export::Traces(resource_spans) => {
            let response = super::ingest(&state.store, resource_spans);
            Ok(encode_response(&response, encoding))
        }
        Export::Metrics(request) => {
            let response = crate::metrics::ingest(&state.metrics, request.resource_metrics);
            Ok(encode_metrics_response(&response, encoding))
        }
    }
}

/// Decodes one export body as the receiver does: inflated first when `content_encoding` is
/// `gzip` (never past `limit` bytes: a bomb is refused, not inflated), then read as OTLP
/// protobuf or JSON. The error is the answer to send. (The fuzz target `otlp_http` calls it.)
pub fn decode_export(
    signal: Signal,
    encoding: Encoding,
    content_encoding: Option<&str>,
    body: Bytes,
    limit: usize,
) -> Result<Export, ExportError> {
    if body.len() > limit {
        return Err(ExportError::too_large(encoding, limit));
    }
    let body = decompress(content_encoding, body, encoding, limit)?;
    let invalid_protobuf = |e: prost::DecodeError| {
        ExportError::bad_request(encoding, format!("invalid OTLP protobuf: {e}"))
    };
    match (signal, encoding) {
        (Signal::Traces, Encoding::Protobuf) => Ok(Export::Traces(
            ExportTraceServiceRequest::decode(body.as_ref())
                .map_err(invalid_protobuf)?
                .resource_spans,
        )),
        (Signal::Traces, Encoding::Json) => parse_resource_spans(&body)
            .map(Export::Traces)
            .map_err(|e| ExportError::bad_request(encoding, e.to_string())),
        (Signal::Metrics, Encoding::Protobuf) => ExportMetricsServiceRequest::decode(body.as_ref())
            .map(Export::Metrics)
            .map_err(invalid_protobuf),
        (Signal::Metrics, Encoding::Json) => {
            serde_json::from_slice::<ExportMetricsServiceRequest>(&body)
                .map(Export::Metrics)
                .map_err(|e| ExportError::bad_request(encoding, format!("invalid OTLP JSON: {e}")))
        }
    }
}

fn encode_metrics_response(
    response: &ExportMetricsServiceResponse,
    encoding: Encoding,
) -> Response {
    let partial = response.partial_success.as_ref().map(|partial| {
        serde_json::json!({
            "rejectedDataPoints": partial.rejected_data_points.to_string(),
            "errorMessage": partial.error_message,
        })
    });
    export_response(encoding, || response.encode_to_vec(), partial)
}

fn decompress(
    content_encoding: Option<&str>,
    body: Bytes,
    encoding: Encoding,
    limit: usize,
) -> Result<Bytes, ExportError> {
    let content_encoding = content_encoding
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    match content_encoding.as_str() {
        "identity" | "" => Ok(body),
        "gzip" => {
            let mut out = Vec::new();
            // Read at most one byte past the limit: enough to know it is too big.
            flate2::read::GzDecoder::new(body.as_ref())
                .take(limit as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| {
                    ExportError::bad_request(encoding, format!("invalid gzip body: {e}"))
                })?;
            if out.len() > limit {
                return Err(ExportError::too_large(encoding, limit));
            }
            Ok(Bytes::from(out))
        }
        other => Err(ExportError::bad_request(
            encoding,
            format!("unsupported content encoding {other:?}: use gzip or none"),
        )),
    }
}

fn encode_response(response: &ExportTraceServiceResponse, encoding: Encoding) -> Response {
    let partial = response.partial_success.as_ref().map(|partial| {
        serde_json::json!({
            "rejectedSpans": partial.rejected_spans.to_string(),
            "errorMessage": partial.error_message,
        })
    });
    export_response(encoding, || response.encode_to_vec(), partial)
}

/// An OTLP export answer in the request's encoding: the protobuf message, or JSON with the
/// partial success (in the signal's own field names) when there is one.
fn export_response(
    encoding: Encoding,
    protobuf: impl FnOnce() -> Vec<u8>,
    partial_success: Option<serde_json::Value>,
) -> Response {
    match encoding {
        Encoding::Protobuf => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            protobuf(),
        )
            .into_response(),
        Encoding::Json => {
            let body = match partial_success {
                Some(partial) => serde_json::json!({ "partialSuccess": partial }),
                None => serde_json::json!({}),
            };
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        }
    }
}
