//! Reading a JSON request body: [`ApiJson`] (an axum extractor) and [`parse_json`] refuse a bad
//! body with an [`InvalidRequest`] whose code tells the cases apart and whose `field` names the
//! field, never with axum's plain-text rejection. Request types use
//! `#[serde(deny_unknown_fields)]`, so an unknown field is refused too.

use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Answer;
use crate::domain::DomainError;

/// Why a request body, or one of its fields, was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRequest {
    /// Not JSON at all (or cut short): 400 `malformed_json`.
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    /// JSON, but not an object (an array, a number, nothing): 422 `not_an_object`.
    #[error("the request body must be a JSON object")]
    NotAnObject,
    /// A required field is absent: 422 `missing_field`.
    #[error("the field `{field}` is required")]
    MissingField {
        /// The field.
        field: String,
    },
    /// A field the operation does not take: 422 `unknown_field`.
    #[error("the field `{field}` is not accepted here{expected}")]
    UnknownField {
        /// The field.
        field: String,
        /// ", expected one of …" when serde says.
        expected: String,
    },
    /// A field of the wrong JSON type: 422 `wrong_type`.
    #[error("the field `{field}` has the wrong type: {detail}")]
    WrongType {
        /// The field (a dotted path for nested ones).
        field: String,
        /// What serde found and expected.
        detail: String,
    },
    /// A field whose value is outside what it may hold (a number out of its type's range, a
    /// word that is not one of the field's choices): 422 `out_of_range`.
    #[error("the field `{field}` has a value it cannot take: {detail}")]
    OutOfRange {
        /// The field (a dotted path for nested ones).
        field: String,
        /// What serde found and expected.
        detail: String,
    },
    /// A field of the right type whose value is refused (an amount out of range, an unknown
    /// currency, a malformed id): 422 with the value's own code (`invalid_amount`, …).
    #[error("{error}")]
    InvalidValue {
        /// The field.
        field: String,
        /// Why the value is refused.
        error: DomainError,
    },
    /// The body is larger than the service accepts: 413 `payload_too_large`.
    #[error("the request body is too large")]
    TooLarge,
}

impl InvalidRequest {
    /// A field whose value a domain type refused.
    pub fn value(field: impl Into<String>, error: DomainError) -> Self {
        InvalidRequest::InvalidValue {
            field: field.into(),
            error,
        }
    }
}

impl super::ErrorAnswer for InvalidRequest {
    fn answer(&self) -> Answer {
        let unprocessable = |code| Answer::new(StatusCode::UNPROCESSABLE_ENTITY, code);
        match self {
            InvalidRequest::MalformedJson(_) => {
                Answer::new(StatusCode::BAD_REQUEST, "malformed_json")
            }
            InvalidRequest::NotAnObject => unprocessable("not_an_object"),
            InvalidRequest::MissingField { .. } => unprocessable("missing_field"),
            InvalidRequest::UnknownField { .. } => unprocessable("unknown_field"),
            InvalidRequest::WrongType { .. } => unprocessable("wrong_type"),
            InvalidRequest::OutOfRange { .. } => unprocessable("out_of_range"),
            InvalidRequest::InvalidValue { error, .. } => unprocessable(error.code()),
            InvalidRequest::TooLarge => {
                Answer::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
            }
        }
    }

    /// The body-shape answers only: the value codes depend on the fields an operation takes,
    /// so each operation lists those it parses (`DomainError::answers`).
    fn answers() -> Vec<Answer> {
        vec![
            Answer::new(StatusCode::BAD_REQUEST, "malformed_json"),
            Answer::new(StatusCode::UNPROCESSABLE_ENTITY, "not_an_object"),
            Answer::new(StatusCode::UNPROCESSABLE_ENTITY, "missing_field"),
            Answer::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_field"),
            Answer::new(StatusCode::UNPROCESSABLE_ENTITY, "wrong_type"),
            Answer::new(StatusCode::UNPROCESSABLE_ENTITY, "out_of_range"),
            Answer::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
        ]
    }

    fn field(&self) -> Option<&str> {
        match self {
            InvalidRequest::MissingField { field }
            | InvalidRequest::UnknownField { field, .. }
            | InvalidRequest::WrongType { field, .. }
            | InvalidRequest::OutOfRange { field, .. }
            | InvalidRequest::InvalidValue { field, .. } => Some(field),
            InvalidRequest::MalformedJson(_)
            | InvalidRequest::NotAnObject
            | InvalidRequest::TooLarge => None,
        }
    }
}

impl IntoResponse for InvalidRequest {
    fn into_response(self) -> Response {
        super::ApiError::from(self).into_response()
    }
}

/// JSON body extractor: like `axum::Json`, but every rejection is an [`InvalidRequest`].
/// The `content-type` is not checked: a body that parses is accepted.
#[derive(Clone, Copy, Debug, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = InvalidRequest;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A body that could not be read: too large (the service's body limit), or cut off.
impl From<BytesRejection> for InvalidRequest {
    fn from(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            InvalidRequest::TooLarge
        } else {
            InvalidRequest::MalformedJson(format!("could not read the request body: {rejection}"))
        }
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Parses a JSON object body with the same errors as [`ApiJson`] (an array, which serde would
/// read into a struct, is refused).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, InvalidRequest> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => {
            return Err(InvalidRequest::MalformedJson(
                "the request body is empty".into(),
            ));
        }
        // serde reads a struct from a JSON array too (`["Dora","GBP"]`); the contract wants objects.
        Some(b'[') => return Err(InvalidRequest::NotAnObject),
        Some(_) => {}
    }
    parse_json_document(bytes)
}

/// Parses any JSON document (an array too) with the same errors as [`ApiJson`]: for bodies
/// that are not objects by contract, such as the W3C test-service instructions.
pub fn parse_json_document<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, InvalidRequest> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(classify)?;
    // Characters after the document make it malformed JSON too.
    deserializer
        .end()
        .map_err(|error| InvalidRequest::MalformedJson(error.to_string()))?;
    Ok(value)
}

/// Tells serde's errors apart by their category and message (serde_json has no error kinds
/// beyond the category); the field comes from the path serde_path_to_error tracked.
fn classify(error: serde_path_to_error::Error<serde_json::Error>) -> InvalidRequest {
    use serde_json::error::Category;
    let path = error.path().to_string();
    let inner = error.into_inner();
    if !matches!(inner.classify(), Category::Data) {
        return InvalidRequest::MalformedJson(inner.to_string());
    }
    let text = inner.to_string();
    // Messages: "missing field `x`", "unknown field `x`, expected one of …", "invalid type: …".
    let quoted = |after: &str| -> Option<String> {
        let rest = text.strip_prefix(after)?;
        let rest = rest.strip_prefix('`')?;
        rest.split('`').next().map(str::to_owned)
    };
    let nested = |field: String| {
        if path.is_empty() || path == "." {
            field
        } else {
            format!("{path}.{field}")
        }
    };
    if let Some(field) = quoted("missing field ") {
        return InvalidRequest::MissingField {
            field: nested(field),
        };
    }
    if let Some(field) = quoted("unknown field ") {
        let expected = text
            .split_once("`, ")
            .map(|(_, rest)| format!(" ({})", strip_position(rest)))
            .unwrap_or_default();
        // serde_path_to_error's path already ends at the unknown field.
        let field = if path.is_empty() || path == "." {
            field
        } else {
            path
        };
        return InvalidRequest::UnknownField { field, expected };
    }
    if path.is_empty() || path == "." {
        // A type error at the top: the body is not an object.
        return InvalidRequest::NotAnObject;
    }
    let detail = strip_position(&text).to_owned();
    // "invalid type: …" is the wrong JSON type; "invalid value: …", "unknown variant …" and
    // "invalid length …" are a value of the right type that the field cannot take.
    if text.starts_with("invalid type") {
        InvalidRequest::WrongType {
            field: path,
            detail,
        }
    } else {
        InvalidRequest::OutOfRange {
            field: path,
            detail,
        }
    }
}

/// serde_json ends its messages with " at line 1 column 20"; people do not need it here.
fn strip_position(text: &str) -> &str {
    text.rsplit_once(" at line ")
        .map_or(text, |(message, _)| message)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::http_error::ErrorAnswer;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        amount: i64,
        #[serde(default)]
        note: Option<String>,
        #[serde(default)]
        kind: Option<Kind>,
        #[serde(default)]
        tries: Option<u8>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Drop,
    }

    fn refusal(body: &[u8]) -> (u16, &'static str, Option<String>) {
        let error = parse_json::<Body>(body).unwrap_err();
        let answer = error.answer();
        (
            answer.status.as_u16(),
            answer.code,
            error.field().map(str::to_owned),
        )
    }

    #[test]
    fn malformed_json_is_a_400_malformed_json() {
        assert_eq!(refusal(b"{\"amount\":"), (400, "malformed_json", None));
        assert_eq!(refusal(b"{\"amount\":1} x"), (400, "malformed_json", None));
    }

    /// Found by the `edge_json` fuzz target: a key may be empty or hold a backtick, and the
    /// refusal still names it exactly as sent.
    #[test]
    fn an_unknown_field_is_named_exactly_even_when_empty_or_quoted() {
        assert_eq!(
            refusal(br#"{"":1}"#),
            (422, "unknown_field", Some(String::new()))
        );
        assert_eq!(
            refusal(br#"{"amount":1,"a`b":2}"#),
            (422, "unknown_field", Some("a`b".into()))
        );
    }

    #[test]
    fn each_shape_error_has_its_own_code_and_names_the_field() {
        assert_eq!(
            refusal(br#"{"note":"x"}"#),
            (422, "missing_field", Some("amount".into()))
        );
        assert_eq!(
            refusal(br#"{"amount":1,"extra":2}"#),
            (422, "unknown_field", Some("extra".into()))
        );
        assert_eq!(
            refusal(br#"{"amount":"ten"}"#),
            (422, "wrong_type", Some("amount".into()))
        );
        assert_eq!(
            refusal(br#"{"amount":1,"kind":"explode"}"#),
            (422, "out_of_range", Some("kind".into()))
        );
        assert_eq!(
            refusal(br#"{"amount":1,"tries":300}"#),
            (422, "out_of_range", Some("tries".into()))
        );
    }

    #[test]
    fn what_is_not_an_object_is_refused_as_such_and_nothing_is_malformed() {
        assert_eq!(refusal(b" [1]"), (422, "not_an_object", None));
        assert_eq!(refusal(b"42"), (422, "not_an_object", None));
        assert_eq!(refusal(b"  "), (400, "malformed_json", None));
    }

    #[test]
    fn the_messages_name_the_field_for_a_person() {
        let error = parse_json::<Body>(br#"{"amount":1,"extra":2}"#).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("`extra`"), "{message}");
        assert!(!message.contains("line 1"), "{message}");
    }
}
