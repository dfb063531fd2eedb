//! The error: no replica to call.

use std::sync::Arc;

use crate::rpc::error::RpcError;

/// Discovery lists no replica of the target. Callers see it as [`RpcError::Unreachable`]:
/// nothing was sent, and the retry policy tries again (discovery may list one by then).
#[derive(Debug, thiserror::Error)]
#[error("{target} unreachable: no replica is registered")]
pub struct NoReplica {
    /// Target name.
    pub target: Arc<str>,
}

impl From<NoReplica> for RpcError {
    fn from(none: NoReplica) -> Self {
        RpcError::Unreachable {
            target: none.target.to_string(),
            message: "no replica is registered".to_owned(),
        }
    }
}
