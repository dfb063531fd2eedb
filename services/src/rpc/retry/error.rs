//! Which failures are worth another attempt.

use crate::rpc::error::RpcError;
use crate::rpc::response::{RpcResponse, is_failure_status};

/// A 502/503/504 answer, a call that never reached the target, or a connection lost: the
/// target may do better next time. Not a timeout (the caller's time is spent), not an open
/// circuit (fail fast), not any other answer (the target answered).
pub(super) fn worth_retrying(result: &Result<RpcResponse, RpcError>) -> bool {
    match result {
        Ok(response) => is_failure_status(response.status),
        Err(error) => matches!(
            error,
            RpcError::Unreachable { .. } | RpcError::Transport { .. }
        ),
    }
}
