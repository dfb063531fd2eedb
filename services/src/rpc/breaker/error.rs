//! The error: a call refused because the circuit is open.

use std::time::Duration;

use crate::rpc::error::RpcError;

/// A call refused because the circuit is open: nothing was sent. Callers see it as
/// [`RpcError::CircuitOpen`], which the retry policy does not retry (fail fast).
#[derive(Debug, thiserror::Error)]
#[error("circuit to {target} is open; failing fast for another {retry_in:?}")]
pub struct CircuitOpen {
    /// Target name.
    pub target: String,
    /// Until the next probe may be sent.
    pub retry_in: Duration,
}

impl From<CircuitOpen> for RpcError {
    fn from(open: CircuitOpen) -> Self {
        RpcError::CircuitOpen {
            target: open.target,
            retry_in: open.retry_in,
        }
    }
}
