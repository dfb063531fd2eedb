//! webhooks' typed errors: one enum per operation, each variant mapped once to a status and a
//! machine code (`crate::error_answers!`), plus the refusals they share: the shared access refusal
//! ([`AccessDenied`]) and the request values webhooks checks itself ([`InvalidUrl`],
//! [`RefusedDestination`], [`InvalidEvents`], which name their field like every validation
//! error).

use axum::http::StatusCode;

use super::destination::Inward;
use crate::http_error::{Answer, ErrorAnswer, Internal, InvalidRequest};
use crate::rpc::AccessDenied;

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

/// A webhook destination that points inward (the platform, its network, a metadata service):
/// 422 `destination_refused`, field `url`. Made by [`super::destination::DestinationPolicy`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{destination}` is not allowed as a webhook destination: it is {}", reason.describe())]
pub struct RefusedDestination {
    /// The URL (and the address its name resolved to, at delivery).
    pub destination: String,
    /// Why.
    pub reason: Inward,
}

impl ErrorAnswer for RefusedDestination {
    fn answer(&self) -> Answer {
        Answer::new(StatusCode::UNPROCESSABLE_ENTITY, "destination_refused")
    }

    fn answers() -> Vec<Answer> {
        vec![Answer::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "destination_refused",
        )]
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
    Caller(#[from] AccessDenied),
    /// The body is malformed, or a field has the wrong shape.
    #[error(transparent)]
    Invalid(#[from] InvalidRequest),
    /// The URL is refused.
    #[error(transparent)]
    Url(#[from] InvalidUrl),
    /// The URL points inward.
    #[error(transparent)]
    Destination(#[from] RefusedDestination),
    /// The event list is refused.
    #[error(transparent)]
    Events(#[from] InvalidEvents),
    /// The database failed.
    #[error(transparent)]
    Internal(#[from] Internal),
}

crate::error_answers!(RegisterEndpointError {} delegates {
    Caller(AccessDenied),
    Invalid(InvalidRequest),
    Url(InvalidUrl),
    Destination(RefusedDestination),
    Events(InvalidEvents),
    Internal(Internal),
});

/// Listing a merchant's deliveries (`listWebhookDeliveries`): only the caller can be refused.
#[derive(Debug, thiserror::Error)]
pub enum ListDeliveriesError {
    /// The caller may not list deliveries.
    #[error(transparent)]
    Caller(#[from] AccessDenied),
    /// The database failed.
    #[error(transparent)]
    Internal(#[from] Internal),
}

crate::error_answers!(ListDeliveriesError {} delegates {
    Caller(AccessDenied),
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
    use crate::http_error::ApiError;

    #[test]
    fn value_refusals_name_their_field_and_code_on_the_wire() {
        let url = ApiError::from(RegisterEndpointError::from(InvalidUrl("no".into())));
        assert_eq!(
            (url.status.as_u16(), &*url.code, url.field.as_deref()),
            (422, "invalid_url", Some("url"))
        );
        let inward = ApiError::from(RegisterEndpointError::from(RefusedDestination {
            destination: "http://10.0.0.1/x".into(),
            reason: Inward::Private,
        }));
        assert_eq!(
            (
                inward.status.as_u16(),
                &*inward.code,
                inward.field.as_deref()
            ),
            (422, "destination_refused", Some("url"))
        );
        assert!(
            inward.message.contains("private address"),
            "{}",
            inward.message
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
