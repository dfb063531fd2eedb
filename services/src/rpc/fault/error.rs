//! The error: a connection dropped on purpose.

use std::sync::Arc;

use crate::rpc::error::RpcError;

/// A [`FaultKind::Drop`](super::FaultKind::Drop) fault. Callers, the retry policy and the
/// breaker see it as [`RpcError::Transport`], exactly as a connection lost mid-call: a fault
/// that looked different from the real failure would test nothing.
#[derive(Debug, thiserror::Error)]
#[error("{target} call failed: connection dropped (injected fault)")]
pub struct InjectedDrop {
    /// Target name.
    pub target: Arc<str>,
}

impl From<InjectedDrop> for RpcError {
    fn from(dropped: InjectedDrop) -> Self {
        RpcError::Transport {
            target: dropped.target.to_string(),
            message: "connection dropped (injected fault)".to_owned(),
        }
    }
}
