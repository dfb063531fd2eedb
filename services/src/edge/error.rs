//! edge's typed errors, each variant mapped once to a status and a code:
//!
//! - [`AccessError`]: who is calling (secured routes only): no valid token, a token without the
//!   scope, or auth not answering.
//! - [`GatewayError`]: what edge itself refuses or cannot do on any forwarded route: a body it
//!   cannot read or that is too large, a client over its quota, an upstream that cannot be reached
//!   (never sent: 503), that did not answer in time (sent, no answer: 504) or that failed (502).
//! - [`ForwardError`]: either, what forwarding one request can end with.
//! - [`ProbeError`]: `POST /test` (the W3C trace-context test service).
//!
//! [`gateway_answers`](super::gateway_answers) lists what these can answer; the contract test
//! checks `openapi.json` documents each on every forwarded operation.

use std::time::Duration;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::http_error::{Answer, ErrorAnswer, Internal, InvalidRequest};
use crate::rpc::RpcError;

/// Why edge did not let a request through to a secured route.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// No `Authorization` header.
    #[error("an Authorization: Bearer token is required")]
    MissingToken,
    /// An `Authorization` header that is not `Bearer <token>`.
    #[error("the Authorization header must be `Bearer <token>`")]
    MalformedAuthorization,
    /// A token auth says is not active (bad signature, expired, unknown).
    #[error("the bearer token is invalid or expired")]
    InvalidToken,
    /// A valid token without the route's scope.
    #[error("this call needs the `{scope}` scope")]
    Forbidden {
        /// The scope the route needs.
        scope: &'static str,
    },
    /// auth could not be asked about the token; nothing was forwarded.
    #[error("the token could not be checked right now; try again")]
    AuthUnavailable,
}

crate::error_answers!(AccessError {
    MissingToken => UNAUTHORIZED "unauthenticated",
    MalformedAuthorization => UNAUTHORIZED "unauthenticated",
    InvalidToken => UNAUTHORIZED "unauthenticated",
    Forbidden => FORBIDDEN "forbidden",
    AuthUnavailable => SERVICE_UNAVAILABLE "auth_unavailable",
});

/// What edge itself refuses, or cannot do, for any forwarded request.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The body could not be read (the connection broke while it was sent).
    #[error("could not read the request body: {0}")]
    UnreadableBody(String),
    /// The body is larger than edge accepts.
    #[error("the request body must be at most {limit} bytes")]
    PayloadTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The client is over its quota; the answer carries `Retry-After`.
    #[error("too many requests from this client; retry later")]
    RateLimited {
        /// How long the client should wait.
        retry_after: Duration,
    },
    /// Never sent: the upstream could not be reached (refused, DNS, circuit open). Retrying is
    /// safe.
    #[error("{target} is not reachable right now")]
    UpstreamUnavailable {
        /// The upstream service.
        target: String,
    },
    /// Sent (or the deadline passed first), but no answer in time: the outcome is unknown.
    #[error("{target} did not answer in time")]
    UpstreamTimeout {
        /// The upstream service.
        target: String,
    },
    /// The upstream broke the connection or its answer could not be used.
    #[error("{target} failed to answer")]
    BadGateway {
        /// The upstream service.
        target: String,
    },
}

crate::error_answers!(GatewayError {
    UnreadableBody => BAD_REQUEST "unreadable_body",
    PayloadTooLarge => PAYLOAD_TOO_LARGE "payload_too_large",
    RateLimited => TOO_MANY_REQUESTS "rate_limited",
    UpstreamUnavailable => SERVICE_UNAVAILABLE "upstream_unavailable",
    UpstreamTimeout => GATEWAY_TIMEOUT "upstream_timeout",
    BadGateway => BAD_GATEWAY "bad_gateway",
});

impl GatewayError {
    /// What a failed upstream call means for the caller: never sent (503), sent without an answer
    /// in time (504), or broken (502). The one place an [`RpcError`] becomes an answer at edge.
    pub fn from_upstream(error: RpcError) -> Self {
        match error {
            RpcError::Unreachable { target, .. } | RpcError::CircuitOpen { target, .. } => {
                GatewayError::UpstreamUnavailable { target }
            }
            RpcError::Timeout { target, .. } | RpcError::DeadlineExceeded { target } => {
                GatewayError::UpstreamTimeout { target }
            }
            RpcError::Transport { ref target, .. }
            | RpcError::Status { ref target, .. }
            | RpcError::Decode { ref target, .. } => {
                tracing::warn!(%error, "upstream call failed");
                GatewayError::BadGateway {
                    target: target.clone(),
                }
            }
            RpcError::Encode { .. } => {
                tracing::warn!(%error, "the upstream request could not be built");
                GatewayError::BadGateway {
                    target: "the upstream service".to_owned(),
                }
            }
        }
    }

    /// The `Retry-After` seconds to send with this answer (rate limiting only): whole seconds,
    /// rounded up, at least 1.
    pub fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            GatewayError::RateLimited { retry_after } => {
                let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                Some(seconds.max(1))
            }
            _ => None,
        }
    }
}

/// How forwarding one request can fail at edge.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// The caller may not call this route.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// Edge refused the request or could not get an answer for it.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
}

crate::error_answers!(ForwardError {} delegates {
    Access(AccessError),
    Gateway(GatewayError),
});

impl ForwardError {
    /// The answer, with `Retry-After` when the client is rate limited.
    pub fn into_answer(self) -> Response {
        let retry_after = match &self {
            ForwardError::Gateway(gateway) => gateway.retry_after_seconds(),
            ForwardError::Access(_) => None,
        };
        let mut response = self.into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Why `POST /test` refused its instructions.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// A call whose `url` is not an absolute http(s) URL.
    #[error(transparent)]
    InvalidUrl(InvalidProbeUrl),
    /// The body is not JSON, too large, not an array, or a call has a missing, unknown or
    /// mistyped field.
    #[error(transparent)]
    Invalid(InvalidProbeBody),
    /// Something failed on edge's side.
    #[error(transparent)]
    Internal(#[from] Internal),
}

crate::error_answers!(ProbeError {} delegates {
    InvalidUrl(InvalidProbeUrl),
    Invalid(InvalidProbeBody),
    Internal(Internal),
});

impl From<InvalidRequest> for ProbeError {
    fn from(error: InvalidRequest) -> Self {
        ProbeError::Invalid(InvalidProbeBody(error))
    }
}

/// The instructions' body refused as the shared reader refuses it, except that this protocol
/// sends an array: a body that is not one is 422 `not_an_array` (the reader says "object").
#[derive(Debug)]
pub struct InvalidProbeBody(InvalidRequest);

impl InvalidProbeBody {
    const NOT_AN_ARRAY: Answer =
        Answer::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "not_an_array");
}

impl std::fmt::Display for InvalidProbeBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            InvalidRequest::NotAnObject => {
                f.write_str("the request body must be a JSON array of calls")
            }
            other => other.fmt(f),
        }
    }
}

impl std::error::Error for InvalidProbeBody {}

impl ErrorAnswer for InvalidProbeBody {
    fn answer(&self) -> Answer {
        match &self.0 {
            InvalidRequest::NotAnObject => Self::NOT_AN_ARRAY,
            other => other.answer(),
        }
    }

    fn answers() -> Vec<Answer> {
        let not_an_object = InvalidRequest::NotAnObject.answer();
        let mut answers: Vec<Answer> = InvalidRequest::answers()
            .into_iter()
            .filter(|answer| *answer != not_an_object)
            .collect();
        answers.push(Self::NOT_AN_ARRAY);
        answers
    }

    fn field(&self) -> Option<&str> {
        self.0.field()
    }
}

/// The `url` of the call at `index` is not an absolute http(s) URL: 422 `invalid_url`, naming
/// the field (`[index].url`).
#[derive(Debug, thiserror::Error)]
#[error("`{url}` is not an absolute http URL")]
pub struct InvalidProbeUrl {
    field: String,
    url: String,
}

impl InvalidProbeUrl {
    /// The call at `index` named `url`.
    pub fn new(index: usize, url: &str) -> Self {
        Self {
            field: format!("[{index}].url"),
            url: url.to_owned(),
        }
    }

    const ANSWER: Answer = Answer::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "invalid_url");
}

impl ErrorAnswer for InvalidProbeUrl {
    fn answer(&self) -> Answer {
        Self::ANSWER
    }

    fn answers() -> Vec<Answer> {
        vec![Self::ANSWER]
    }

    fn field(&self) -> Option<&str> {
        Some(&self.field)
    }
}

/// What an operation that cannot fail answers with (`GET /openapi.json`, `GET /health/live`):
/// nothing, so its list of error answers is empty.
#[derive(Debug, thiserror::Error)]
pub enum CannotFail {}

impl ErrorAnswer for CannotFail {
    fn answer(&self) -> Answer {
        match *self {}
    }

    fn answers() -> Vec<Answer> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer_of(error: RpcError) -> (u16, &'static str) {
        let answer = GatewayError::from_upstream(error).answer();
        (answer.status.as_u16(), answer.code)
    }

    #[test]
    fn a_call_never_sent_is_503_and_one_sent_without_an_answer_is_504() {
        let target = || "ledger".to_owned();
        assert_eq!(
            answer_of(RpcError::Unreachable {
                target: target(),
                message: "refused".into()
            }),
            (503, "upstream_unavailable")
        );
        assert_eq!(
            answer_of(RpcError::CircuitOpen {
                target: target(),
                retry_in: Duration::from_secs(1)
            }),
            (503, "upstream_unavailable")
        );
        assert_eq!(
            answer_of(RpcError::Timeout {
                target: target(),
                after: Duration::from_secs(1)
            }),
            (504, "upstream_timeout")
        );
        assert_eq!(
            answer_of(RpcError::Transport {
                target: target(),
                message: "reset".into()
            }),
            (502, "bad_gateway")
        );
    }

    #[test]
    fn a_rate_limited_answer_carries_retry_after_rounded_up_to_whole_seconds() {
        let limited = |millis| {
            ForwardError::from(GatewayError::RateLimited {
                retry_after: Duration::from_millis(millis),
            })
            .into_answer()
        };
        assert_eq!(limited(1500).headers()[header::RETRY_AFTER], "2");
        assert_eq!(limited(1).headers()[header::RETRY_AFTER], "1");
        assert_eq!(limited(1500).status(), 429);
    }

    #[test]
    fn a_body_that_is_not_an_array_is_refused_as_such_and_a_bad_url_names_its_call() {
        let error = ProbeError::from(InvalidRequest::NotAnObject);
        assert_eq!(error.answer().code, "not_an_array");
        assert!(error.to_string().contains("array"));
        assert!(
            !ProbeError::answers()
                .iter()
                .any(|answer| answer.code == "not_an_object")
        );
        let error = ProbeError::InvalidUrl(InvalidProbeUrl::new(2, "ftp://x"));
        assert_eq!(error.answer().code, "invalid_url");
        assert_eq!(error.field(), Some("[2].url"));
    }
}
