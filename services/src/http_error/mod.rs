//! One error shape for every HTTP answer that is not a success: `{"code","message"}`, plus
//! `"field"` when one field of the request was wrong.
//!
//! - [`ApiError`] is the wire form, what goes out (and what a peer's answer is read back into).
//! - [`ErrorAnswer`] is what every typed error implements: each variant mapped once to an
//!   [`Answer`] (status and machine code), usually through [`error_answers!`](crate::error_answers).
//!   Every operation's error type lists all the answers it can give, and
//!   `services/tests/contract_codes.rs` checks each of them is documented in `openapi.json`.
//! - [`ApiJson`] reads a JSON body and refuses a bad one with a typed [`InvalidRequest`] that
//!   names the field.

mod answer;
mod request;

use std::borrow::Cow;
use std::fmt;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

pub use answer::{Answer, ErrorAnswer, Internal};
pub use request::{ApiJson, InvalidRequest, parse_json, parse_json_document};

/// An error answer: HTTP status, machine-readable `code`, human `message`, and the request
/// field it is about, if one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status sent.
    pub status: StatusCode,
    /// snake_case machine code, e.g. `insufficient_funds`.
    pub code: Cow<'static, str>,
    /// A sentence for a person.
    pub message: String,
    /// The request field that was wrong (validation errors only).
    pub field: Option<String>,
}

/// The JSON body of every error response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// snake_case machine code.
    pub code: String,
    /// A sentence for a person.
    pub message: String,
    /// The request field that was wrong (validation errors only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    /// Any status, code and message.
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            field: None,
        }
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    // Transitional: the string-coded constructors below go as each service's operations move
    // to typed errors ([`ErrorAnswer`]); new code must not call them.

    /// 400 `invalid_request`.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 422 with the given code (a well-formed request the business rules refuse).
    pub fn unprocessable(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 401 `unauthenticated`.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    /// 403 `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 409 `conflict`-style errors with a specific code.
    pub fn conflict(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 503 `unavailable`: a dependency could not be used.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// 500 `internal_error`. The cause is logged with its whole chain (with the request's
    /// trace id, since this runs inside the request span) and never shown to the caller.
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Internal::from(error.into()).into()
    }

    /// The JSON body sent for this error.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code.to_string(),
            message: self.message.clone(),
            field: self.field.clone(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}

/// Every typed error goes out in the one wire shape. A server error's cause is logged with its
/// chain (inside the request's span, so with its trace id) and replaced by a sentence that
/// points at the trace: callers never see internals.
impl<E: ErrorAnswer> From<E> for ApiError {
    fn from(error: E) -> Self {
        let answer = error.answer();
        let message = if answer.status.is_server_error() && answer.code == Internal::CODE {
            tracing::error!(error = format!("{error:#}"), "internal error");
            Internal::MESSAGE.to_owned()
        } else {
            error.to_string()
        };
        ApiError {
            status: answer.status,
            code: Cow::Borrowed(answer.code),
            message,
            field: error.field().map(str::to_owned),
        }
    }
}
