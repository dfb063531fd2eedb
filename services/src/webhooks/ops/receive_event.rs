//! `POST /events {"event_id","event_type","merchant_id","payment_id","payload","traceparent"?,
//! "tracestate"?,"baggage"?}` (internal, from payments' outbox relay): stores the event once per
//! event id and creates one pending delivery per endpoint of the merchant subscribed to its
//! type, in one transaction; the delivery worker is woken after commit.
//!
//! Answers: 202 `{"event_id","deliveries","duplicate":false}` for a new event; 200 with
//! `"duplicate":true` and no deliveries for an event id seen before (the relay may resend after
//! a crash); 422 `invalid_id` (field `event_id`, `merchant_id` or `payment_id`), 422
//! `invalid_event_type` (field `event_type`), the body-shape codes of [`InvalidRequest`];
//! 500 `internal_error`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::domain::{EventId, MerchantId, PaymentId};
use crate::http_error::{ApiJson, Internal, InvalidRequest};
use crate::rpc::{PropagatedContext, RequestContext, TraceState};
use crate::webhooks::WebhooksState;
use crate::webhooks::error::{InvalidEventType, ReceiveEventError};
use crate::webhooks::model::EventType;
use crate::webhooks::store::{self, NewEvent};

/// The request body (API.md "Internal APIs").
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiveEventBody {
    event_id: String,
    event_type: String,
    merchant_id: String,
    payment_id: String,
    payload: serde_json::Value,
    #[serde(default)]
    traceparent: Option<String>,
    #[serde(default)]
    tracestate: Option<String>,
    #[serde(default)]
    baggage: Option<String>,
}

/// An event, parsed, with the trace its deliveries continue.
#[derive(Debug)]
pub struct ReceiveEvent {
    event_id: EventId,
    event_type: EventType,
    merchant: MerchantId,
    payment: PaymentId,
    payload: serde_json::Value,
    trace: PropagatedContext,
}

/// The answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct Accepted {
    /// The event.
    pub event_id: String,
    /// Deliveries created by this request (0 for a duplicate).
    pub deliveries: usize,
    /// True when the event id was seen before.
    pub duplicate: bool,
}

impl ReceiveEvent {
    /// Checks the ids and the type, and picks the trace to continue.
    pub fn parse(
        context: &RequestContext,
        body: ReceiveEventBody,
    ) -> Result<Self, ReceiveEventError> {
        let event_id =
            EventId::parse(&body.event_id).map_err(|e| InvalidRequest::value("event_id", e))?;
        let merchant = MerchantId::parse(&body.merchant_id)
            .map_err(|e| InvalidRequest::value("merchant_id", e))?;
        let payment = PaymentId::parse(&body.payment_id)
            .map_err(|e| InvalidRequest::value("payment_id", e))?;
        let event_type = EventType::parse(&body.event_type).map_err(InvalidEventType)?;
        // Deliveries continue the event's stored context (the payment's trace). When this
        // request already belongs to that trace (the relay continued it), continue this
        // request's own span instead, so the delivery hangs under it in the trace tree.
        let stored = PropagatedContext {
            traceparent: sendable_header(body.traceparent).unwrap_or_default(),
            tracestate: body.tracestate.as_deref().and_then(valid_tracestate),
            baggage: sendable_header(body.baggage),
        };
        let stored_trace_id = stored.traceparent.split('-').nth(1).unwrap_or_default();
        let trace = if stored_trace_id.is_empty() || stored_trace_id == context.trace_id() {
            context.propagated()
        } else {
            stored
        };
        Ok(ReceiveEvent {
            event_id,
            event_type,
            merchant,
            payment,
            payload: body.payload,
            trace,
        })
    }

    /// Stores the event and its deliveries (nothing for a known event id), then wakes the
    /// delivery worker.
    pub async fn apply(self, state: &WebhooksState) -> Result<Received, ReceiveEventError> {
        let now = crate::db::now_rfc3339();
        let body = json!({
            "id": self.event_id,
            "type": self.event_type.as_str(),
            "created_at": now,
            "data": self.payload,
        })
        .to_string();
        let created = store::insert_event(
            state.pool(),
            state.gate(),
            &NewEvent {
                event_id: &self.event_id,
                event_type: self.event_type,
                merchant: &self.merchant,
                payment: &self.payment,
                body: &body,
                trace: &self.trace,
                received_at: &now,
            },
            crate::db::now_ms(),
        )
        .await
        .map_err(Internal::from)?;
        if created.is_some() {
            state.wake_delivery();
        }
        Ok(Received {
            event_id: self.event_id,
            created,
        })
    }
}

/// What receiving an event did.
#[derive(Debug)]
pub struct Received {
    event_id: EventId,
    /// `None` when the event id was seen before.
    created: Option<u64>,
}

/// A trace field is kept only if it could be sent as the header it came from: it is stored and
/// sent with every delivery, and one that could not be (a NUL, which PostgreSQL text cannot even
/// store, or a line break) is ignored, as a propagator ignores an unreadable header.
fn sendable_header(value: Option<String>) -> Option<String> {
    value.filter(|value| http::HeaderValue::from_str(value).is_ok())
}

/// The stored `tracestate` follows the W3C rules every hop applies ([`TraceState`]): an invalid
/// one is discarded as a whole (the traceparent is kept), a valid one is kept in its order.
fn valid_tracestate(value: &str) -> Option<String> {
    TraceState::parse(value)
        .ok()
        .filter(|state| !state.is_empty())
        .map(|state| state.header())
}

fn encode(received: Received) -> impl IntoResponse {
    let (status, deliveries) = match received.created {
        Some(created) => (
            StatusCode::ACCEPTED,
            usize::try_from(created).unwrap_or(usize::MAX),
        ),
        None => (StatusCode::OK, 0),
    };
    (
        status,
        Json(Accepted {
            event_id: received.event_id.to_string(),
            deliveries,
            duplicate: received.created.is_none(),
        }),
    )
}

/// `POST /events` (internal).
pub async fn handle(
    context: RequestContext,
    State(state): State<WebhooksState>,
    ApiJson(body): ApiJson<ReceiveEventBody>,
) -> Result<impl IntoResponse, ReceiveEventError> {
    let received = ReceiveEvent::parse(&context, body)?.apply(&state).await?;
    Ok(encode(received))
}
