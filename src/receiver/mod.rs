//! The OTLP receiver: OTLP/HTTP (`POST /v1/traces`, `POST /v1/metrics`, protobuf or JSON,
//! gzip accepted) and OTLP/gRPC (`TraceService/Export`, `MetricsService/Export`). Spans are
//! decoded with [`crate::otlp::decode`] into the shared [`TraceStore`], metrics go into the
//! [`crate::metrics::MetricsStore`]; rejected spans or data points are reported as OTLP
//! partial success.

pub mod grpc;
pub mod http;

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;

use crate::otlp::decode::decode_resource_spans;
use crate::store::TraceStore;

/// Default cap on one export request, compressed or not: 16 MiB.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

/// Decodes and stores one export request; the response carries partial success when
/// spans were rejected (invalid ids) or dropped (store full).
pub(crate) fn ingest(
    store: &TraceStore,
    resource_spans: Vec<ResourceSpans>,
) -> ExportTraceServiceResponse {
    let decoded = decode_resource_spans(resource_spans);
    let outcome = store.insert(decoded.spans);
    let rejected = decoded.rejected + outcome.dropped as i64;
    if rejected == 0 {
        return ExportTraceServiceResponse {
            partial_success: None,
        };
    }
    let error_message = if decoded.rejected > 0 {
        decoded.error_message
    } else {
        format!(
            "{} span(s) dropped: the trace exceeds the store limit",
            outcome.dropped
        )
    };
    tracing::debug!(rejected, %error_message, "OTLP export partially accepted");
    ExportTraceServiceResponse {
        partial_success: Some(ExportTracePartialSuccess {
            rejected_spans: rejected,
            error_message,
        }),
    }
}
