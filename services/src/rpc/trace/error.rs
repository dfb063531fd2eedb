//! The error: the layer adds none of its own; this is how it records a failure on the span.

use crate::rpc::error::RpcError;

/// The span's `error.type` for a failed call (OpenTelemetry: a low-cardinality name of the
/// failure; an answered call with a 4xx/5xx status uses the status instead).
pub fn error_type(error: &RpcError) -> &'static str {
    match error {
        RpcError::Unreachable { .. } => "connect_error",
        RpcError::Timeout { .. } => "timeout",
        RpcError::CircuitOpen { .. } => "circuit_open",
        _ => "transport_error",
    }
}
