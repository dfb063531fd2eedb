//! What the sandbox refuses, each case mapped once to a status and a machine code, in the
//! platform's error shape (`{"code","message"}`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::http_error::ApiError;

/// A refusal of the sandbox.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// A transfer the sandbox cannot accept as sent (empty or over-long ids, a non-positive
    /// amount, a currency that is not three capital letters).
    #[error("{0}")]
    InvalidTransfer(String),
    /// The transfer id was already used for a transfer with other details: the sandbox, like
    /// a provider, deduplicates by id and never processes a second transfer under it.
    #[error("transfer {0} was already submitted with other details")]
    TransferIdReused(String),
    /// No transfer with this id (never submitted, or forgotten: the sandbox keeps the newest
    /// ones only).
    #[error("no such transfer: {0}")]
    TransferNotFound(String),
    /// An inbox name that is empty, too long or not made of letters, digits, `_` and `-`.
    #[error("{0}")]
    InvalidInboxName(String),
}

impl SandboxError {
    /// The status and machine code of this refusal: the one place they are decided.
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::InvalidTransfer(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_transfer"),
            Self::TransferIdReused(_) => (StatusCode::CONFLICT, "transfer_id_reused"),
            Self::TransferNotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::InvalidInboxName(_) => (StatusCode::BAD_REQUEST, "invalid_inbox_name"),
        }
    }
}

impl IntoResponse for SandboxError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        ApiError::new(status, code, self.to_string()).into_response()
    }
}
