//! All of payments' SQL: the payments table and the outbox. Every saga transition is one
//! conditional UPDATE (from the step the driver read, under the lease it holds), and a
//! transition into a final step writes its outbox event in the same transaction, so an event
//! exists exactly when the payment is final.
//!
//! **Leases.** An unfinished payment is driven by whoever holds its lease: `next_attempt_at`
//! set in the future by a conditional UPDATE ([`claim`], or [`insert`] for a new payment), the
//! shape webhooks uses for deliveries. While the lease runs the payment is not due, so no other
//! replica's worker drives it; every write of the driver ([`advance`], [`postpone`],
//! [`release`]) is conditional on the lease still being the one it holds, so a driver whose
//! lease ran out and was taken writes nothing. A lease nobody ends (a crash) simply expires.

use sqlx::AnyPool;

use super::model::PaymentRow;
use super::saga::state::{FailureReason, Step};
use crate::db::WriteGate;
use crate::domain::EventId;
use crate::rpc::PropagatedContext;

/// The columns of [`PaymentRow`], for `SELECT`.
pub const PAYMENT_COLUMNS: &str = "payment_id, customer_id, merchant_id, payer_account_id, \
    payee_account_id, amount, currency, reference, step, failure_reason, hold_id, \
    hold_operation_id, capture_operation_id, release_operation_id, idempotency_key, \
    request_fingerprint, status_attempts, next_attempt_at, traceparent, tracestate, baggage, \
    created_at, updated_at";

/// Loads a payment.
pub async fn load(pool: &AnyPool, payment_id: &str) -> anyhow::Result<Option<PaymentRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE payment_id = $1"
    )))
    .bind(payment_id)
    .fetch_optional(pool)
    .await?)
}

/// Loads the payment a customer created with an idempotency key.
pub async fn load_by_key(
    pool: &AnyPool,
    customer_id: &str,
    key: &str,
) -> anyhow::Result<Option<PaymentRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE customer_id = $1 AND idempotency_key = $2"
    )))
    .bind(customer_id)
    .bind(key)
    .fetch_optional(pool)
    .await?)
}

/// Inserts a new payment unless the customer already used its idempotency key; true if inserted.
/// The row's `next_attempt_at` is the lease of the request that creates it.
pub async fn insert(pool: &AnyPool, gate: &WriteGate, row: &PaymentRow) -> anyhow::Result<bool> {
    let mut writer = gate.writer(pool).await?;
    let inserted = sqlx::query(
        "INSERT INTO payments (payment_id, customer_id, merchant_id, payer_account_id, \
           payee_account_id, amount, currency, reference, step, failure_reason, hold_id, \
           hold_operation_id, capture_operation_id, release_operation_id, idempotency_key, \
           request_fingerprint, status_attempts, next_attempt_at, traceparent, tracestate, baggage, \
           created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
           $19, $20, $21, $22, $23) \
         ON CONFLICT (customer_id, idempotency_key) DO NOTHING",
    )
    .bind(&row.payment_id)
    .bind(&row.customer_id)
    .bind(&row.merchant_id)
    .bind(&row.payer_account_id)
    .bind(&row.payee_account_id)
    .bind(row.amount)
    .bind(&row.currency)
    .bind(&row.reference)
    .bind(&row.step)
    .bind(row.failure_reason.clone())
    .bind(row.hold_id.clone())
    .bind(&row.hold_operation_id)
    .bind(&row.capture_operation_id)
    .bind(&row.release_operation_id)
    .bind(&row.idempotency_key)
    .bind(&row.request_fingerprint)
    .bind(row.status_attempts)
    .bind(row.next_attempt_at)
    .bind(row.traceparent.clone())
    .bind(row.tracestate.clone())
    .bind(row.baggage.clone())
    .bind(&row.created_at)
    .bind(&row.updated_at)
    .execute(&mut *writer)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// One transition to persist.
#[derive(Debug, Clone)]
pub struct Advance<'a> {
    /// The step the driver read (the UPDATE only applies if the row is still there).
    pub from: Step,
    /// The new step.
    pub to: Step,
    /// Failure reason decided by this transition.
    pub failure_reason: Option<FailureReason>,
    /// The hold id learned by this transition.
    pub hold_id: Option<&'a str>,
    /// The trace context to store with the outbox event, if `to` is final.
    pub context: &'a PropagatedContext,
    /// The lease the driver holds (the `next_attempt_at` it set).
    pub held: i64,
    /// The lease's new end, written with the transition.
    pub renewed: i64,
}

/// Applies a transition and renews the lease; returns the updated row, or `None` when the
/// payment was no longer in `from` or its lease is no longer `held` (another driver took it).
pub async fn advance(
    pool: &AnyPool,
    gate: &WriteGate,
    payment_id: &str,
    change: Advance<'_>,
) -> anyhow::Result<Option<PaymentRow>> {
    let mut writer = gate.writer(pool).await?;
    let now = crate::db::now_rfc3339();
    // One statement changes the step and returns the new row (RETURNING: SQLite >= 3.35 and
    // PostgreSQL); no row means another driver moved the payment on first.
    let update = sqlx::query_as::<_, PaymentRow>(sqlx::AssertSqlSafe(format!(
        "UPDATE payments SET step = $1, failure_reason = COALESCE($2, failure_reason), \
           hold_id = COALESCE($3, hold_id), status_attempts = 0, next_attempt_at = $4, updated_at = $5 \
         WHERE payment_id = $6 AND step = $7 AND next_attempt_at = $8 RETURNING {PAYMENT_COLUMNS}"
    )))
    .bind(change.to.as_str())
    .bind(change.failure_reason.map(|r| r.as_str().to_owned()))
    .bind(change.hold_id.map(str::to_owned))
    .bind(change.renewed)
    .bind(&now)
    .bind(payment_id)
    .bind(change.from.as_str())
    .bind(change.held);
    if !change.to.is_final() {
        return Ok(update.fetch_optional(&mut *writer).await?);
    }
    // A final step and its outbox event commit together or not at all.
    let mut tx = sqlx::Connection::begin(&mut *writer).await?;
    let Some(row) = update.fetch_optional(&mut *tx).await? else {
        return Ok(None);
    };
    let event_type = if change.to == Step::Settled {
        "payment.settled"
    } else {
        "payment.failed"
    };
    sqlx::query(
        "INSERT INTO outbox (event_id, payment_id, merchant_id, event_type, payload, \
           traceparent, tracestate, baggage, created_at, sent_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL)",
    )
    .bind(EventId::generate().as_str())
    .bind(payment_id)
    .bind(&row.merchant_id)
    .bind(event_type)
    .bind(serde_json::to_string(&row.view())?)
    .bind(&change.context.traceparent)
    .bind(change.context.tracestate.clone())
    .bind(change.context.baggage.clone())
    .bind(&now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(row))
}

/// Records a failed attempt of the current step and ends the lease `held`: the payment is due
/// again at `retry_at_ms`. False, and nothing written, when the lease is no longer held.
pub async fn postpone(
    pool: &AnyPool,
    gate: &WriteGate,
    payment_id: &str,
    step: Step,
    held: i64,
    retry_at_ms: i64,
) -> anyhow::Result<bool> {
    let mut writer = gate.writer(pool).await?;
    let changed = sqlx::query(
        "UPDATE payments SET status_attempts = status_attempts + 1, next_attempt_at = $1 \
         WHERE payment_id = $2 AND step = $3 AND next_attempt_at = $4",
    )
    .bind(retry_at_ms)
    .bind(payment_id)
    .bind(step.as_str())
    .bind(held)
    .execute(&mut *writer)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

/// Leases a due payment until `lease_until` (unix ms): the row must be unfinished and due at
/// `now_ms`; its `next_attempt_at` becomes the lease's end, so it is due for nobody else. True
/// when this caller got the lease (exactly one row changed), false when another replica's
/// worker (or a request) holds it or it finished meanwhile.
pub async fn claim(
    pool: &AnyPool,
    gate: &WriteGate,
    payment_id: &str,
    now_ms: i64,
    lease_until: i64,
) -> anyhow::Result<bool> {
    anyhow::ensure!(
        lease_until > now_ms,
        "a payment lease must end after it starts"
    );
    let mut writer = gate.writer(pool).await?;
    let changed = sqlx::query(
        "UPDATE payments SET next_attempt_at = $1 \
         WHERE payment_id = $2 AND step NOT IN ('settled', 'failed') AND next_attempt_at <= $3",
    )
    .bind(lease_until)
    .bind(payment_id)
    .bind(now_ms)
    .execute(&mut *writer)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

/// Gives back the lease `held` without a transition (the drive was stopped or failed): the
/// payment is due at `due_at_ms`. False when the lease was no longer held.
pub async fn release(
    pool: &AnyPool,
    gate: &WriteGate,
    payment_id: &str,
    held: i64,
    due_at_ms: i64,
) -> anyhow::Result<bool> {
    let mut writer = gate.writer(pool).await?;
    let changed = sqlx::query(
        "UPDATE payments SET next_attempt_at = $1 \
         WHERE payment_id = $2 AND step NOT IN ('settled', 'failed') AND next_attempt_at = $3",
    )
    .bind(due_at_ms)
    .bind(payment_id)
    .bind(held)
    .execute(&mut *writer)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

/// Unfinished payments, soonest due first: `(payment_id, next_attempt_at)`.
pub async fn unfinished(pool: &AnyPool, limit: i64) -> anyhow::Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT payment_id, next_attempt_at FROM payments \
         WHERE step NOT IN ('settled', 'failed') ORDER BY next_attempt_at LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// An outbox event not yet accepted by webhooks.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    /// `evt_…`.
    pub event_id: String,
    /// The payment it announces.
    pub payment_id: String,
    /// The merchant to notify.
    pub merchant_id: String,
    /// `payment.settled | payment.failed`.
    pub event_type: String,
    /// The payment object, JSON.
    pub payload: String,
    /// Stored W3C traceparent.
    pub traceparent: Option<String>,
    /// Stored W3C tracestate.
    pub tracestate: Option<String>,
    /// Stored W3C baggage.
    pub baggage: Option<String>,
}

/// Up to `limit` unsent events, oldest first.
pub async fn unsent(pool: &AnyPool, limit: i64) -> anyhow::Result<Vec<OutboxRow>> {
    Ok(sqlx::query_as(
        "SELECT event_id, payment_id, merchant_id, event_type, payload, traceparent, tracestate, baggage \
         FROM outbox WHERE sent_at IS NULL ORDER BY event_id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Marks an event as accepted by webhooks.
pub async fn mark_sent(pool: &AnyPool, gate: &WriteGate, event_id: &str) -> anyhow::Result<()> {
    let mut writer = gate.writer(pool).await?;
    sqlx::query("UPDATE outbox SET sent_at = $1 WHERE event_id = $2")
        .bind(crate::db::now_rfc3339())
        .bind(event_id)
        .execute(&mut *writer)
        .await?;
    Ok(())
}

impl sqlx::FromRow<'_, sqlx::any::AnyRow> for OutboxRow {
    fn from_row(row: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row as _;
        Ok(OutboxRow {
            event_id: row.try_get("event_id")?,
            payment_id: row.try_get("payment_id")?,
            merchant_id: row.try_get("merchant_id")?,
            event_type: row.try_get("event_type")?,
            payload: row.try_get("payload")?,
            traceparent: row.try_get("traceparent")?,
            tracestate: row.try_get("tracestate")?,
            baggage: row.try_get("baggage")?,
        })
    }
}

impl sqlx::FromRow<'_, sqlx::any::AnyRow> for PaymentRow {
    fn from_row(row: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row as _;
        Ok(PaymentRow {
            payment_id: row.try_get("payment_id")?,
            customer_id: row.try_get("customer_id")?,
            merchant_id: row.try_get("merchant_id")?,
            payer_account_id: row.try_get("payer_account_id")?,
            payee_account_id: row.try_get("payee_account_id")?,
            amount: row.try_get("amount")?,
            currency: row.try_get("currency")?,
            reference: row.try_get("reference")?,
            step: row.try_get("step")?,
            failure_reason: row.try_get("failure_reason")?,
            hold_id: row.try_get("hold_id")?,
            hold_operation_id: row.try_get("hold_operation_id")?,
            capture_operation_id: row.try_get("capture_operation_id")?,
            release_operation_id: row.try_get("release_operation_id")?,
            idempotency_key: row.try_get("idempotency_key")?,
            request_fingerprint: row.try_get("request_fingerprint")?,
            status_attempts: row.try_get("status_attempts")?,
            next_attempt_at: row.try_get("next_attempt_at")?,
            traceparent: row.try_get("traceparent")?,
            tracestate: row.try_get("tracestate")?,
            baggage: row.try_get("baggage")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}
