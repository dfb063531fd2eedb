//! One error shape for every HTTP answer that is not a success: `{"code","message"}`.
//!
//! [`ApiError`] is what handlers return; [`ApiJson`] is the JSON body extractor that turns
//! malformed JSON, wrong types and unknown fields into `invalid_request` (never axum's plain-text
//! rejection). Request types use `#[serde(deny_unknown_fields)]` so unknown fields are rejected.

use std::borrow::Cow;
use std::fmt;

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// An error answer: HTTP status, machine-readable `code`, human `message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status sent.
    pub status: StatusCode,
    /// snake_case machine code, e.g. `insufficient_funds`.
    pub code: Cow<'static, str>,
    /// A sentence for a person.
    pub message: String,
}

/// The JSON body of every error response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// snake_case machine code.
    pub code: String,
    /// A sentence for a person.
    pub message: String,
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
        }
    }

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

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
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
        let error = error.into();
        tracing::error!(error = format!("{error:#}"), "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "something went wrong on our side; the trace id in the traceresponse header identifies it",
        )
    }

    /// The JSON body sent for this error.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code.to_string(),
            message: self.message.clone(),
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

/// JSON body extractor: like `axum::Json`, but every rejection is an [`ApiError`]:
/// malformed JSON → 400 `invalid_request`; valid JSON of the wrong shape (wrong type, missing or
/// unknown field) → 422 `invalid_request`, with serde's explanation in the message.
/// The `content-type` is not checked: a body that parses is accepted.
#[derive(Clone, Copy, Debug, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(status, "payload_too_large", "the request body is too large")
            } else {
                ApiError::invalid_request(format!("could not read the request body: {rejection}"))
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Parses a JSON object body with the same error mapping as [`ApiJson`] (an array, which serde
/// would read into a struct, is refused).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid_request(
            "the request body must be a JSON object",
        ));
    }
    // serde reads a struct from a JSON array too (`["Dora","GBP"]`); the contract wants objects.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "the request body must be a JSON object",
        ));
    }
    parse_json_document(bytes)
}

/// Parses any JSON document (an array too) with the same error mapping as [`ApiJson`]: for
/// bodies that are not objects by contract, such as the W3C test-service instructions.
pub fn parse_json_document<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|error| {
        use serde_json::error::Category;
        match error.classify() {
            Category::Data => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                format!("the request body does not have the expected fields: {error}"),
            ),
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::invalid_request(format!("the request body is not valid JSON: {error}"))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        amount: i64,
    }

    #[test]
    fn malformed_json_is_a_400_invalid_request() {
        let error = parse_json::<Body>(b"{\"amount\":").unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert_eq!(error.code, "invalid_request");
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_a_422_invalid_request_naming_the_field() {
        let unknown = parse_json::<Body>(br#"{"amount":1,"extra":2}"#).unwrap_err();
        assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(unknown.message.contains("extra"), "{}", unknown.message);
        let wrong = parse_json::<Body>(br#"{"amount":"ten"}"#).unwrap_err();
        assert_eq!(wrong.code, "invalid_request");
    }

    #[test]
    fn an_array_is_not_an_object() {
        let error = parse_json::<Body>(b" [1]").unwrap_err();
        assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error.code, "invalid_request");
    }

    #[test]
    fn an_empty_body_is_invalid() {
        assert_eq!(
            parse_json::<Body>(b"").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
    }
}
