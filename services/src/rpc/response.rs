//! What a call answers: [`RpcResponse`], of any status.

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use super::error::RpcError;
use crate::http_error::ErrorBody;

/// A response of any status.
#[derive(Clone, Debug)]
pub struct RpcResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl RpcResponse {
    /// Decodes the body as JSON.
    pub fn json<T: DeserializeOwned>(&self, target: &str) -> Result<T, RpcError> {
        serde_json::from_slice(&self.body).map_err(|error| RpcError::Decode {
            target: target.to_owned(),
            message: error.to_string(),
        })
    }

    /// The `{"code","message"}` error body, if the body is one.
    pub fn error_body(&self) -> Option<ErrorBody> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Answers that say the target (or what is behind it) is not working: 502, 503, 504. The
/// breaker counts them as failures and the retry policy tries again after them; any other
/// answer (4xx included: the target is alive and said no) is an answer.
pub fn is_failure_status(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
    )
}
