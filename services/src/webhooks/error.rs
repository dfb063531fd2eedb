//! webhooks' typed errors: one enum per operation, each variant mapped once to a status and a
//! machine code (`crate::error_answers!`), plus the refusals they share: a caller who may not
//! use a merchant operation ([`CallerRefusal`]) and the two request values webhooks checks
//! itself ([`InvalidUrl`], [`InvalidEvents`], which name their field like every validation
//! error).

use axum::http::StatusCode;

use crate::http_error::{Answer, ApiError, ErrorAnswer, Internal, InvalidRequest};

/// Why a caller of a public webhooks operation is refused.
#[derive(Debug, thiserror::Error)]
pub enum CallerRefusal {
    /// No identity came with the request (edge always forwards one for these routes).
    #[error("this call needs an authenticated caller")]
    Unauthenticated,
    /// The token lacks the scope, or the caller is not a merchant.
    #[error("{0}")]
    Forbidden(String),
}

crate::error_answers!(CallerRefusal {
    Unauthenticated => UNAUTHORIZED "unauthenticated",
    Forbidden => FORBIDDEN "forbidden",
});

impl CallerRefusal {
    /// Reads `RequestContext::require_scope`'s refusal: 401 without an identity, 403 otherwise.
    pub fn from_scope_check(refusal: ApiError) -> Self {
        if refusal.status == StatusCode::UNAUTHORIZED {
            CallerRefusal::Unauthenticated
        } else {
            CallerRefusal::Forbidden(refusal.message)
        }
    }
}

/// A webhook URL that is not an absolute http(s) URL with a host and no credentials:
/// 422 `invalid_url`, field `url`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidUrl(pub(crate) String);

impl ErrorAnswer for InvalidUrl {
    fn answer(&self) -> Answer {
        Answer::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_url")
    }

    fn answers() -> Vec<Answer> {
        vec![Answer::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_url")]
    }

    fn field(&self) -> Option<&str> {
        Some("url")
    }
}

/// An event type webhooks does not know (`payment.settled` and `payment.failed` are known).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an event type (payment.settled, payment.failed)")]
pub struct UnknownEventType(pub String);

/// A subscription list that is empty or names an unknown event type: 422 `invalid_events`,
/// field `events`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidEvents {
    /// `[]`: an endpoint that subscribes to nothing would never be called.
    #[error("events must list at least one event type")]
    Empty,
    /// A type that is not announced.
    #[error(transparent)]
    Unknown(#[from] UnknownEventType),
}

impl ErrorAnswer for InvalidEvents {
    fn answer(&self) -> Answer {
        Answer::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_events")
    }

    fn answers() -> Vec<Answer> {
        vec![Answer::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_events",
        )]
    }

    fn field(&self) -> Option<&str> {
        Some("events")
    }
}

/// The event type of an incoming event is unknown: 422 `invalid_event_type`, field `event_type`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(transparent)]
pub struct InvalidEventType(#[from] pub UnknownEventType);

impl ErrorAnswer for InvalidEventType {
    fn answer(&self) -> Answer {
        Answer::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_event_type")
    }

    fn answers() -> Vec<Answer> {
        vec![Answer::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_event_type",
        )]
    }

    fn field(&self) -> Option<&str> {
        Some("event_type")
    }
}

/// Registering an endpoint (`createWebhookEndpoint`, and the internal `POST /endpoints`, whose
/// malformed `merchant_id` is an `Invalid` value error).
#[derive(Debug, thiserror::Error)]
pub enum RegisterEndpointError {
    /// The caller may not register endpoints.
    #[error(transparent)]
    Caller(#[from] CallerRefusal),
    /// The body is malformed, or a field has the wrong shape.
    #[error(transparent)]
    Invalid(#[from] InvalidRequest),
    /// The URL is refused.
    #[error(transparent)]
    Url(#[from] InvalidUrl),
    /// The event list is refused.
    #[error(transparent)]
    Events(#[from] InvalidEvents),
    /// The database failed.
    #[error(transparent)]
    Internal(#[from] Internal),
}

crate::error_answers!(RegisterEndpointError {} delegates {
    Caller(CallerRefusal),
    Invalid(InvalidRequest),
    Url(InvalidUrl),
    Events(InvalidEvents),
    Internal(Internal),
});

/// Listing a merchant's deliveries (`listWebhookDeliveries`): only the caller can be refused.
#[derive(Debug, thiserror::Error)]
pub enum ListDeliveriesError {
    /// The caller may not list deliveries.
    #[error(transparent)]
    Caller(#[from] CallerRefusal),
    /// The database failed.
    #[error(transparent)]
    Internal(#[from] Internal),
}

crate::error_answers!(ListDeliveriesError {} delegates {
    Caller(CallerRefusal),
    Internal(Internal),
});

/// Listing deliveries through the internal `GET /deliveries?merchant_id=`: the merchant comes
/// from the query instead of the caller, so its refusals differ from the public operation's.
#[derive(Debug, thiserror::Error)]
pub enum ListDeliveriesForError {
    /// `merchant_id` is missing or not a merchant id.
    #[error(transparent)]
    Invalid(#[from] InvalidRequest),
    /// The database failed.
    #[error(transparent)]
    Internal(#[from] Internal),
}

crate::error_answers!(ListDeliveriesForError {} delegates {
    Invalid(InvalidRequest),
    Internal(Internal),
});

/// Receiving an event from payments' outbox relay (internal `POST /events`).
#[derive(Debug, thiserror::Error)]
pub enum ReceiveEventError {
    /// The body is malformed, or an id in it is.
    #[error(transparent)]
    Invalid(#[from] InvalidRequest),
    /// The event type is unknown.
    #[error(transparent)]
    EventType(#[from] InvalidEventType),
    /// The database failed.
    #[error(transparent)]
    Internal(#[from] Internal),
}

crate::error_answers!(ReceiveEventError {} delegates {
    Invalid(InvalidRequest),
    EventType(InvalidEventType),
    Internal(Internal),
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_refusals_name_their_field_and_code_on_the_wire() {
        let url = ApiError::from(RegisterEndpointError::from(InvalidUrl("no".into())));
        assert_eq!(
            (url.status.as_u16(), &*url.code, url.field.as_deref()),
            (422, "invalid_url", Some("url"))
        );
        let events = ApiError::from(RegisterEndpointError::from(InvalidEvents::Empty));
        assert_eq!(
            (
                events.status.as_u16(),
                &*events.code,
                events.field.as_deref()
            ),
            (422, "invalid_events", Some("events"))
        );
        let kind = ApiError::from(ReceiveEventError::from(InvalidEventType(UnknownEventType(
            "x".into(),
        ))));
        assert_eq!(
            (kind.code.as_ref(), kind.field.as_deref()),
            ("invalid_event_type", Some("event_type"))
        );
    }
}
