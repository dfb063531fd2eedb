//! The error: the attempt was not answered by the call's deadline.

use std::sync::Arc;
use std::time::Duration;

use crate::rpc::error::RpcError;

/// No complete answer by the deadline. Callers see it as [`RpcError::Timeout`]: the request
/// may have been acted on, so its outcome is unknown.
#[derive(Debug, thiserror::Error)]
#[error("{target} did not answer within {after:?}")]
pub struct Elapsed {
    /// Target name.
    pub target: Arc<str>,
    /// The time the caller gave the call.
    pub after: Duration,
}

impl From<Elapsed> for RpcError {
    fn from(elapsed: Elapsed) -> Self {
        RpcError::Timeout {
            target: elapsed.target.to_string(),
            after: elapsed.after,
        }
    }
}
