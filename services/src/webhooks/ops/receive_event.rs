//! `POST /events` (from payments' outbox relay): stores the event once per event id and creates
//! one pending delivery per endpoint of the merchant subscribed to its type, in one transaction.
//! A repeated event id is a no-op answered 200 (the relay may resend after a crash); a new one
//! is 202. The delivery worker is woken after commit.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::domain::{DeliveryId, EventId, MerchantId};
use crate::http_error::{ApiError, ApiJson};
use crate::rpc::{PropagatedContext, RequestContext};
use crate::webhooks::WebhooksState;
use crate::webhooks::event_type::EventType;
use crate::webhooks::store;

/// The request body (API.md "Internal APIs").
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncomingEvent {
    event_id: EventId,
    event_type: String,
    merchant_id: MerchantId,
    payment_id: String,
    payload: serde_json::Value,
    #[serde(default)]
    traceparent: Option<String>,
    #[serde(default)]
    tracestate: Option<String>,
    #[serde(default)]
    baggage: Option<String>,
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

/// Handler.
pub async fn handle(
    context: RequestContext,
    State(state): State<WebhooksState>,
    ApiJson(event): ApiJson<IncomingEvent>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let event_type = EventType::parse(&event.event_type)
        .map_err(|e| ApiError::unprocessable("invalid_request", e))?;
    // Deliveries continue the event's stored context (the payment's trace). When this request
    // already belongs to that trace (the relay continued it), continue this request's own span
    // instead, so the delivery hangs under it in the trace tree.
    let stored = PropagatedContext {
        traceparent: event.traceparent.clone().unwrap_or_default(),
        tracestate: event.tracestate.clone(),
        baggage: event.baggage.clone(),
    };
    let stored_trace_id = stored.traceparent.split('-').nth(1).unwrap_or_default();
    let trace = if stored_trace_id.is_empty() || stored_trace_id == context.trace_id() {
        context.propagated()
    } else {
        stored
    };
    let now = crate::db::now_rfc3339();
    let body = json!({
        "id": event.event_id,
        "type": event_type.as_str(),
        "created_at": now,
        "data": event.payload,
    })
    .to_string();

    let _write = state.gate().enter().await;
    let mut tx = state.pool().begin().await.map_err(ApiError::internal)?;
    let inserted = sqlx::query(
        "INSERT INTO events (event_id, event_type, merchant_id, payment_id, body, traceparent, \
           tracestate, baggage, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(event.event_id.as_str())
    .bind(event_type.as_str())
    .bind(event.merchant_id.as_str())
    .bind(&event.payment_id)
    .bind(&body)
    .bind(Some(trace.traceparent.clone()).filter(|t| !t.is_empty()))
    .bind(trace.tracestate.clone())
    .bind(trace.baggage.clone())
    .bind(&now)
    .execute(&mut *tx)
    .await
    .map_err(ApiError::internal)?
    .rows_affected();
    if inserted == 0 {
        return Ok((
            StatusCode::OK,
            Json(Accepted {
                event_id: event.event_id.to_string(),
                deliveries: 0,
                duplicate: true,
            }),
        ));
    }
    let endpoints = store::endpoints_of(&mut tx, event.merchant_id.as_str())
        .await
        .map_err(ApiError::internal)?;
    let mut created = 0;
    let due = crate::payments::store::now_ms();
    for endpoint in endpoints
        .iter()
        .filter(|e| e.subscribes_to(event_type.as_str()))
    {
        created += sqlx::query(
            "INSERT INTO deliveries (delivery_id, event_id, endpoint_id, merchant_id, payment_id, \
               event_type, status, attempts, next_attempt_at, last_response_status, last_error, \
               created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, NULL, NULL, $8, $8) \
             ON CONFLICT (event_id, endpoint_id) DO NOTHING",
        )
        .bind(DeliveryId::generate().as_str())
        .bind(event.event_id.as_str())
        .bind(&endpoint.endpoint_id)
        .bind(&endpoint.merchant_id)
        .bind(&event.payment_id)
        .bind(event_type.as_str())
        .bind(due)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(ApiError::internal)?
        .rows_affected();
    }
    tx.commit().await.map_err(ApiError::internal)?;
    state.wake_delivery();
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            event_id: event.event_id.to_string(),
            deliveries: usize::try_from(created).unwrap_or(usize::MAX),
            duplicate: false,
        }),
    ))
}
