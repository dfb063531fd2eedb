//! `POST /test`: the W3C trace-context test-service protocol (only with the propagation probe on).
//! The body is a JSON array of `{"url", "arguments"}`; for each element, edge POSTs `arguments`
//! as JSON to `url` through the RPC client, continuing the incoming context, then answers 200.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::EdgeState;
use crate::http_error::{ApiError, parse_json_document};
use crate::rpc::{RequestContext, RpcRequest};

/// One instruction of the test harness.
#[derive(Debug, Deserialize)]
pub struct ProbeCall {
    /// Where to POST.
    pub url: String,
    /// The JSON body to send (forwarded as is).
    #[serde(default)]
    pub arguments: serde_json::Value,
}

/// Runs the calls in order; a failing call is logged and the next one still runs (the test
/// harness judges the headers it receives, not our status).
pub async fn handle(
    State(state): State<EdgeState>,
    ctx: RequestContext,
    body: bytes::Bytes,
) -> Result<StatusCode, ApiError> {
    let calls: Vec<ProbeCall> = parse_json_document(&body)?;
    for call in calls {
        if !(call.url.starts_with("http://") || call.url.starts_with("https://")) {
            return Err(ApiError::unprocessable(
                "invalid_request",
                format!("`{}` is not an absolute http URL", call.url),
            ));
        }
        let request = RpcRequest::post_json(call.url.clone(), &call.arguments)
            .map_err(|error| ApiError::invalid_request(error.to_string()))?;
        if let Err(error) = state.probe.send(&ctx, request).await {
            tracing::warn!(%error, url = %call.url, "propagation probe call failed");
        }
    }
    Ok(StatusCode::OK)
}
