//! Why a call failed ([`RpcError`]) and what that says about the target ([`CallOutcome`]).
//!
//! The one error type of the stack: each layer's own error (a deadline's `Elapsed`, a
//! breaker's `CircuitOpen`, ...) converts into it where the layer makes it, so the layers above
//! (retry, trace) and every caller match on its variants instead of downcasting boxed errors.

use std::time::Duration;

use http::StatusCode;

/// Was the call's effect possible? What a saga needs to decide between retrying, compensating
/// and asking again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    /// The request never reached the target (connection refused, deadline already passed):
    /// nothing happened there.
    NotReached,
    /// The target may or may not have acted (timeout, 5xx, connection lost mid-call, unreadable
    /// success body): ask before deciding.
    Unknown,
    /// The target answered definitively with a 4xx: it did not act.
    Refused,
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The caller's deadline had passed; the request was not sent.
    #[error("deadline exceeded before calling {target}")]
    DeadlineExceeded {
        /// Target name.
        target: String,
    },
    /// Could not connect (refused, DNS failure, no replica): never reached.
    #[error("{target} unreachable: {message}")]
    Unreachable {
        /// Target name.
        target: String,
        /// The transport error.
        message: String,
    },
    /// Sent, but no complete answer within the timeout (or the caller's deadline).
    #[error("{target} did not answer within {after:?}")]
    Timeout {
        /// Target name.
        target: String,
        /// The time waited.
        after: Duration,
    },
    /// The connection failed after the request may have been sent.
    #[error("{target} call failed: {message}")]
    Transport {
        /// Target name.
        target: String,
        /// The transport error.
        message: String,
    },
    /// A non-2xx answer (from `get_json`/`post_json`; `send` returns every status as a response).
    #[error("{target} answered {status}: {}", code.as_deref().unwrap_or("no error code"))]
    Status {
        /// Target name.
        target: String,
        /// The HTTP status.
        status: StatusCode,
        /// The `code` of a `{"code","message"}` body, if any.
        code: Option<String>,
        /// The `message` of such a body, or the raw body.
        message: String,
    },
    /// A 2xx answer whose body was not the expected JSON.
    #[error("{target} answered with an unexpected body: {message}")]
    Decode {
        /// Target name.
        target: String,
        /// The decode error.
        message: String,
    },
    /// The circuit to the target is open: the call failed fast, nothing was sent.
    #[error("{target} is failing; circuit open, not calling it for another {retry_in:?}")]
    CircuitOpen {
        /// Target name.
        target: String,
        /// Until the circuit lets a probe through.
        retry_in: Duration,
    },
    /// The request could not be built (bad header, unserializable body).
    #[error("could not build the request: {message}")]
    Encode {
        /// What was wrong.
        message: String,
    },
}

impl RpcError {
    /// What the failure says about the target's state (see [`CallOutcome`]).
    pub fn outcome(&self) -> CallOutcome {
        match self {
            RpcError::DeadlineExceeded { .. }
            | RpcError::Unreachable { .. }
            | RpcError::CircuitOpen { .. }
            | RpcError::Encode { .. } => CallOutcome::NotReached,
            RpcError::Status { status, .. } if status.is_client_error() => CallOutcome::Refused,
            RpcError::Status { .. }
            | RpcError::Timeout { .. }
            | RpcError::Transport { .. }
            | RpcError::Decode { .. } => CallOutcome::Unknown,
        }
    }

    /// The HTTP status, for [`RpcError::Status`].
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            RpcError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The error `code` the target answered, for [`RpcError::Status`].
    pub fn code(&self) -> Option<&str> {
        match self {
            RpcError::Status { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}
