//! webhooks' SQL, all of it: endpoints, received events and deliveries (the delivery worker's
//! claims and attempts included). Every write takes the database's [`WriteGate`] first.

use sqlx::AnyPool;

use super::model::{DeliveryState, DeliveryView, EventType, WebhookUrl};
use super::sealed_secret::{SecretKey, is_plaintext};
use crate::db::WriteGate;
use crate::domain::{DeliveryId, EndpointId, EventId, MerchantId, PaymentId};
use crate::rpc::PropagatedContext;

/// What event intake reads of an endpoint.
#[derive(Debug, Clone)]
struct EndpointRow {
    /// `whe_…`.
    endpoint_id: String,
    /// Owner.
    merchant_id: String,
    /// Comma-separated subscribed event types.
    events: String,
}

impl EndpointRow {
    /// Whether the endpoint subscribed to `event_type`.
    fn subscribes_to(&self, event_type: &str) -> bool {
        self.events.split(',').any(|t| t == event_type)
    }
}

/// A new endpoint, as registered.
#[derive(Debug)]
pub struct NewEndpoint<'a> {
    /// `whe_…`.
    pub endpoint_id: &'a EndpointId,
    /// Owner.
    pub merchant: &'a MerchantId,
    /// Where deliveries go.
    pub url: &'a WebhookUrl,
    /// Subscribed event types (non-empty).
    pub events: &'a [EventType],
    /// The signing secret, sealed ([`super::sealed_secret`]): never the secret itself.
    pub sealed_secret: &'a str,
}

/// Stores a new endpoint.
pub async fn insert_endpoint(
    pool: &AnyPool,
    gate: &WriteGate,
    endpoint: &NewEndpoint<'_>,
) -> anyhow::Result<()> {
    let events: Vec<&str> = endpoint.events.iter().map(|t| t.as_str()).collect();
    let _write = gate.enter().await;
    sqlx::query(
        "INSERT INTO endpoints (endpoint_id, merchant_id, url, events, secret, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(endpoint.endpoint_id.as_str())
    .bind(endpoint.merchant.as_str())
    .bind(endpoint.url.as_str())
    .bind(events.join(","))
    .bind(endpoint.sealed_secret)
    .bind(crate::db::now_rfc3339())
    .execute(pool)
    .await?;
    Ok(())
}

/// Seals every secret still stored in plain text (rows from before sealing), each only if it
/// is unchanged since read, so replicas starting together seal each row once. Returns how many
/// this call sealed.
pub async fn seal_plaintext_secrets(
    pool: &AnyPool,
    gate: &WriteGate,
    key: &SecretKey,
) -> anyhow::Result<u64> {
    let plain: Vec<(String, String)> =
        sqlx::query_as("SELECT endpoint_id, secret FROM endpoints WHERE secret LIKE 'whsec%'")
            .fetch_all(pool)
            .await?;
    let mut sealed = 0;
    for (endpoint_id, secret) in plain.iter().filter(|(_, s)| is_plaintext(s)) {
        let _write = gate.enter().await;
        sealed +=
            sqlx::query("UPDATE endpoints SET secret = $1 WHERE endpoint_id = $2 AND secret = $3")
                .bind(key.seal(endpoint_id, secret))
                .bind(endpoint_id)
                .bind(secret)
                .execute(pool)
                .await?
                .rows_affected();
    }
    Ok(sealed)
}

/// An event received from payments, with the body every delivery of it sends.
#[derive(Debug)]
pub struct NewEvent<'a> {
    /// `evt_…`: events are stored once per id.
    pub event_id: &'a EventId,
    /// Its type.
    pub event_type: EventType,
    /// The merchant whose endpoints get it.
    pub merchant: &'a MerchantId,
    /// The payment it is about.
    pub payment: &'a PaymentId,
    /// The exact JSON sent to merchants.
    pub body: &'a str,
    /// The trace its deliveries continue.
    pub trace: &'a PropagatedContext,
    /// RFC 3339 receipt time.
    pub received_at: &'a str,
}

/// Stores the event and one pending delivery, due at `due_ms`, per endpoint of its merchant
/// subscribed to its type, in one transaction. `None` when the event id was stored before
/// (nothing is written); otherwise how many deliveries were created.
pub async fn insert_event(
    pool: &AnyPool,
    gate: &WriteGate,
    event: &NewEvent<'_>,
    due_ms: i64,
) -> anyhow::Result<Option<u64>> {
    let mut writer = gate.writer(pool).await?;
    let mut tx = sqlx::Connection::begin(&mut *writer).await?;
    let inserted = sqlx::query(
        "INSERT INTO events (event_id, event_type, merchant_id, payment_id, body, traceparent, \
           tracestate, baggage, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(event.event_id.as_str())
    .bind(event.event_type.as_str())
    .bind(event.merchant.as_str())
    .bind(event.payment.as_str())
    .bind(event.body)
    .bind(Some(event.trace.traceparent.clone()).filter(|t| !t.is_empty()))
    .bind(event.trace.tracestate.clone())
    .bind(event.trace.baggage.clone())
    .bind(event.received_at)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(None);
    }
    let endpoints = endpoints_of(&mut tx, event.merchant.as_str()).await?;
    let mut created = 0;
    for endpoint in endpoints
        .iter()
        .filter(|e| e.subscribes_to(event.event_type.as_str()))
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
        .bind(event.payment.as_str())
        .bind(event.event_type.as_str())
        .bind(due_ms)
        .bind(event.received_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    tx.commit().await?;
    Ok(Some(created))
}

/// Endpoints of a merchant.
async fn endpoints_of(
    conn: &mut sqlx::AnyConnection,
    merchant_id: &str,
) -> anyhow::Result<Vec<EndpointRow>> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT endpoint_id, merchant_id, events FROM endpoints WHERE merchant_id = $1",
    )
    .bind(merchant_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(endpoint_id, merchant_id, events)| EndpointRow {
            endpoint_id,
            merchant_id,
            events,
        })
        .collect())
}

/// A merchant's deliveries, newest first (at most `limit`).
pub async fn deliveries_of(
    pool: &AnyPool,
    merchant: &MerchantId,
    limit: i64,
) -> anyhow::Result<Vec<DeliveryView>> {
    type Row = (
        String,
        String,
        String,
        String,
        String,
        String,
        i64,
        Option<i64>,
        Option<String>,
        String,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT delivery_id, event_id, event_type, endpoint_id, payment_id, status, attempts, \
           last_response_status, last_error, created_at, updated_at \
         FROM deliveries WHERE merchant_id = $1 ORDER BY delivery_id DESC LIMIT $2",
    )
    .bind(merchant.as_str())
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| DeliveryView {
            delivery_id: r.0,
            event_id: r.1,
            event_type: r.2,
            endpoint_id: r.3,
            payment_id: r.4,
            status: r.5,
            attempts: r.6,
            last_response_status: r.7,
            last_error: r.8,
            created_at: r.9,
            updated_at: r.10,
        })
        .collect())
}

/// One attempt to make: everything the sender needs.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    /// `dlv_…`.
    pub delivery_id: String,
    /// `evt_…`.
    pub event_id: String,
    /// Attempts made so far.
    pub attempts: i64,
    /// The endpoint (its id is the sealed secret's associated data).
    pub endpoint_id: String,
    /// The endpoint URL.
    pub url: String,
    /// The endpoint's signing secret, sealed.
    pub sealed_secret: String,
    /// The exact body to send.
    pub body: String,
    /// Stored trace context.
    pub traceparent: Option<String>,
    /// Stored tracestate.
    pub tracestate: Option<String>,
    /// Stored baggage.
    pub baggage: Option<String>,
}

/// Pending deliveries due at `now_ms`, soonest first.
pub async fn due(pool: &AnyPool, now_ms: i64, limit: i64) -> anyhow::Result<Vec<DueDelivery>> {
    type Row = (
        String,
        String,
        i64,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT d.delivery_id, d.event_id, d.attempts, p.url, p.secret, e.body, \
           e.traceparent, e.tracestate, e.baggage, d.endpoint_id \
         FROM deliveries d \
         JOIN events e ON e.event_id = d.event_id \
         JOIN endpoints p ON p.endpoint_id = d.endpoint_id \
         WHERE d.status = 'pending' AND d.next_attempt_at <= $1 \
         ORDER BY d.next_attempt_at LIMIT $2",
    )
    .bind(now_ms)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| DueDelivery {
            delivery_id: r.0,
            event_id: r.1,
            attempts: r.2,
            endpoint_id: r.9,
            url: r.3,
            sealed_secret: r.4,
            body: r.5,
            traceparent: r.6,
            tracestate: r.7,
            baggage: r.8,
        })
        .collect())
}

/// When the next pending delivery not yet due becomes due (unix ms).
pub async fn next_due_after(pool: &AnyPool, now_ms: i64) -> anyhow::Result<Option<i64>> {
    let next: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending' AND next_attempt_at > $1",
    )
    .bind(now_ms)
    .fetch_one(pool)
    .await?;
    Ok(next)
}

/// What an attempt ended as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult {
    /// 2xx.
    Delivered {
        /// The status.
        status: i64,
    },
    /// Failed; retry at `retry_at_ms`.
    Retry {
        /// The status, if any answer came.
        status: Option<i64>,
        /// What went wrong.
        error: String,
        /// Unix ms.
        retry_at_ms: i64,
    },
    /// Failed, and that was the last attempt.
    DeadLettered {
        /// The status, if any answer came.
        status: Option<i64>,
        /// What went wrong.
        error: String,
    },
}

/// Claims one attempt of a delivery for `lease_until` (unix ms): the row must still be pending,
/// due at `now_ms` and at `attempts_seen` attempts, and its `next_attempt_at` becomes the lease's
/// end, so it is no longer due for anyone else. True when this caller got the claim (exactly one
/// row changed); false when another worker or loop claimed or recorded that attempt first, or the
/// row read was stale. A claim nobody records (a crash mid-send) simply expires: the delivery is
/// due again at `lease_until` with the same attempt count.
pub async fn claim(
    pool: &AnyPool,
    gate: &WriteGate,
    delivery_id: &str,
    attempts_seen: i64,
    now_ms: i64,
    lease_until: i64,
) -> anyhow::Result<bool> {
    anyhow::ensure!(
        lease_until > now_ms,
        "a delivery lease must end after it starts"
    );
    let mut writer = gate.writer(pool).await?;
    let changed = sqlx::query(
        "UPDATE deliveries SET next_attempt_at = $1 \
         WHERE delivery_id = $2 AND status = 'pending' AND attempts = $3 AND next_attempt_at <= $4",
    )
    .bind(lease_until)
    .bind(delivery_id)
    .bind(attempts_seen)
    .bind(now_ms)
    .execute(&mut *writer)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

/// Gives back a claim without an attempt (the worker is stopping): the delivery is due at
/// `now_ms` instead of when the lease would have ended. False when the claim was no longer held.
pub async fn release(
    pool: &AnyPool,
    gate: &WriteGate,
    delivery_id: &str,
    attempts_before: i64,
    lease_until: i64,
    now_ms: i64,
) -> anyhow::Result<bool> {
    let mut writer = gate.writer(pool).await?;
    let changed = sqlx::query(
        "UPDATE deliveries SET next_attempt_at = $1 \
         WHERE delivery_id = $2 AND status = 'pending' AND attempts = $3 AND next_attempt_at = $4",
    )
    .bind(now_ms)
    .bind(delivery_id)
    .bind(attempts_before)
    .bind(lease_until)
    .execute(&mut *writer)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

/// Records the attempt made under the claim ending at `lease_until` (see [`claim`]). False, and
/// nothing written, when that claim is no longer held (it expired and another attempt was
/// claimed or recorded since).
pub async fn record_attempt(
    pool: &AnyPool,
    gate: &WriteGate,
    delivery_id: &str,
    attempts_before: i64,
    lease_until: i64,
    result: &AttemptResult,
) -> anyhow::Result<bool> {
    let (state, response_status, error, next_attempt_at) = match result {
        AttemptResult::Delivered { status } => (DeliveryState::Delivered, Some(*status), None, 0),
        AttemptResult::Retry {
            status,
            error,
            retry_at_ms,
        } => (
            DeliveryState::Pending,
            *status,
            Some(error.clone()),
            *retry_at_ms,
        ),
        AttemptResult::DeadLettered { status, error } => {
            (DeliveryState::DeadLettered, *status, Some(error.clone()), 0)
        }
    };
    let mut writer = gate.writer(pool).await?;
    let changed = sqlx::query(
        "UPDATE deliveries SET status = $1, attempts = attempts + 1, last_response_status = $2, \
           last_error = $3, next_attempt_at = $4, updated_at = $5 \
         WHERE delivery_id = $6 AND status = 'pending' AND attempts = $7 AND next_attempt_at = $8",
    )
    .bind(state.as_str())
    .bind(response_status)
    .bind(error)
    .bind(next_attempt_at)
    .bind(crate::db::now_rfc3339())
    .bind(delivery_id)
    .bind(attempts_before)
    .bind(lease_until)
    .execute(&mut *writer)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

/// Moves a claimed delivery's next attempt to `retry_at_ms` without counting an attempt (the
/// claimed one was never sent). False when the claim ending at `lease_until` is no longer held.
pub async fn defer(
    pool: &AnyPool,
    gate: &WriteGate,
    delivery_id: &str,
    attempts_before: i64,
    lease_until: i64,
    retry_at_ms: i64,
) -> anyhow::Result<bool> {
    let mut writer = gate.writer(pool).await?;
    let changed = sqlx::query(
        "UPDATE deliveries SET next_attempt_at = $1, updated_at = $2 \
         WHERE delivery_id = $3 AND status = 'pending' AND attempts = $4 AND next_attempt_at = $5",
    )
    .bind(retry_at_ms)
    .bind(crate::db::now_rfc3339())
    .bind(delivery_id)
    .bind(attempts_before)
    .bind(lease_until)
    .execute(&mut *writer)
    .await?
    .rows_affected();
    Ok(changed == 1)
}
