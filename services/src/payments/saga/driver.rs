//! The saga driver: reads a payment's step, performs the step's action (a ledger or provider
//! call), asks [`state::advance`](super::state::advance) where that leads and persists it, until
//! the payment is final or must wait (a dependency is down: the step is postponed with backoff
//! and the background worker resumes it).

use std::collections::HashSet;
use std::sync::Arc;

use parking_lot::Mutex;
use sqlx::AnyPool;
use tokio::sync::Notify;

use super::backoff::Backoff;
use super::state::{self, FailureReason, Outcome, Step};
use crate::db::WriteGate;
use crate::domain::Money;
use crate::payments::ledger_client::{LedgerClient, LedgerFailure};
use crate::payments::model::PaymentRow;
use crate::payments::provider_client::ProviderClient;
use crate::payments::store::{self, Advance};
use crate::rpc::{PropagatedContext, RequestContext};

/// Drives payments through the saga. One per payments service; share it in an `Arc`.
#[derive(Debug)]
pub struct SagaDriver {
    pool: AnyPool,
    gate: WriteGate,
    ledger: LedgerClient,
    provider: ProviderClient,
    backoff: Backoff,
    /// Woken after an event is written (the outbox relay waits on it).
    relay_wake: Arc<Notify>,
    /// Woken when a payment is postponed (the worker recomputes when to look again).
    worker_wake: Arc<Notify>,
    /// Payments being driven in this process right now, so the worker never drives one twice.
    in_flight: Mutex<HashSet<String>>,
}

/// Proof that this task is the one driving a payment; releases the claim when dropped.
#[derive(Debug)]
pub struct Claim {
    driver: Arc<SagaDriver>,
    payment_id: String,
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.driver.in_flight.lock().remove(&self.payment_id);
    }
}

impl SagaDriver {
    /// A driver over the payments pool and the two dependencies.
    pub fn new(
        pool: AnyPool,
        gate: WriteGate,
        ledger: LedgerClient,
        provider: ProviderClient,
        backoff: Backoff,
        relay_wake: Arc<Notify>,
        worker_wake: Arc<Notify>,
    ) -> Self {
        SagaDriver {
            pool,
            gate,
            ledger,
            provider,
            backoff,
            relay_wake,
            worker_wake,
            in_flight: Mutex::default(),
        }
    }

    /// The database pool.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The database's write gate.
    pub fn gate(&self) -> &WriteGate {
        &self.gate
    }

    /// The ledger client.
    pub fn ledger(&self) -> &LedgerClient {
        &self.ledger
    }

    /// The notify the worker waits on.
    pub fn worker_wake(&self) -> &Arc<Notify> {
        &self.worker_wake
    }

    /// Claims a payment for driving; `None` when another task of this process drives it.
    pub fn try_claim(self: &Arc<Self>, payment_id: &str) -> Option<Claim> {
        self.in_flight
            .lock()
            .insert(payment_id.to_owned())
            .then(|| Claim {
                driver: self.clone(),
                payment_id: payment_id.to_owned(),
            })
    }

    /// Whether a payment is being driven in this process.
    pub fn is_in_flight(&self, payment_id: &str) -> bool {
        self.in_flight.lock().contains(payment_id)
    }

    /// Drives `row` until it is final or must wait; returns the row as it then is.
    /// The caller holds the payment's [`Claim`].
    pub async fn drive(
        &self,
        ctx: &RequestContext,
        _claim: &Claim,
        mut row: PaymentRow,
    ) -> anyhow::Result<PaymentRow> {
        loop {
            let step = row.step()?;
            let (outcome, hold_id) = match step {
                Step::Settled | Step::Failed => return Ok(row),
                Step::HoldPending => {
                    let money = Money::parse(row.amount, &row.currency)
                        .map_err(|e| anyhow::anyhow!("stored payment is invalid: {e}"))?;
                    match self
                        .ledger
                        .hold(ctx, &row.hold_operation_id, &row.payer_account_id, money)
                        .await
                    {
                        Ok(hold_id) => (Outcome::HoldPlaced, Some(hold_id)),
                        Err(LedgerFailure::Refused { code, .. }) => (
                            Outcome::HoldRefused(FailureReason::for_refused_hold(&code)),
                            None,
                        ),
                        Err(LedgerFailure::Retry(error)) => {
                            return self.postpone(row, step, &error.to_string()).await;
                        }
                    }
                }
                Step::HoldPlaced => (self.provider.submit(ctx, &row).await, None),
                Step::StatusCheck => match self.provider.status(ctx, &row.payment_id).await {
                    Outcome::StatusUnknown => {
                        return self
                            .postpone(row, step, "the provider's transfer status is unknown")
                            .await;
                    }
                    outcome => (outcome, None),
                },
                Step::CapturePending => {
                    let hold_id = hold_of(&row)?;
                    match self
                        .ledger
                        .capture(
                            ctx,
                            &row.capture_operation_id,
                            &hold_id,
                            &row.payee_account_id,
                        )
                        .await
                    {
                        Ok(()) => (Outcome::Captured, None),
                        Err(failure) => return self.postpone(row, step, &describe(&failure)).await,
                    }
                }
                Step::ReleasePending => {
                    let hold_id = hold_of(&row)?;
                    match self
                        .ledger
                        .release(ctx, &row.release_operation_id, &hold_id)
                        .await
                    {
                        Ok(()) => (Outcome::Released, None),
                        Err(failure) => return self.postpone(row, step, &describe(&failure)).await,
                    }
                }
            };
            let transition = state::advance(step, outcome)?;
            let context = PropagatedContext::capture(ctx.otel());
            let change = Advance {
                from: step,
                to: transition.step,
                failure_reason: transition.failure_reason,
                hold_id: hold_id.as_deref(),
                context: &context,
            };
            row = match store::advance(&self.pool, &self.gate, &row.payment_id, change).await? {
                Some(next) => {
                    tracing::info!(payment_id = %next.payment_id, from = %step, to = %transition.step, "payment advanced");
                    if transition.step.is_final() {
                        self.relay_wake.notify_one();
                    }
                    next
                }
                // Another driver (another replica) moved it on: continue from what it wrote.
                None => store::load(&self.pool, &row.payment_id)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("payment {} vanished", row.payment_id))?,
            };
        }
    }

    /// Records a failed attempt and schedules the next one with backoff.
    async fn postpone(&self, row: PaymentRow, step: Step, why: &str) -> anyhow::Result<PaymentRow> {
        let attempts = u32::try_from(row.status_attempts).unwrap_or(u32::MAX);
        let delay = self.backoff.delay(attempts, &mut rand::rng());
        let retry_at = store::now_ms() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
        tracing::warn!(payment_id = %row.payment_id, step = %step, attempts, retry_in_ms = delay.as_millis() as u64, why, "payment step postponed");
        store::postpone(&self.pool, &self.gate, &row.payment_id, step, retry_at).await?;
        self.worker_wake.notify_one();
        Ok(store::load(&self.pool, &row.payment_id)
            .await?
            .unwrap_or(row))
    }
}

fn hold_of(row: &PaymentRow) -> anyhow::Result<String> {
    row.hold_id.clone().ok_or_else(|| {
        anyhow::anyhow!(
            "payment {} has no hold in step {}",
            row.payment_id,
            row.step
        )
    })
}

fn describe(failure: &LedgerFailure) -> String {
    match failure {
        LedgerFailure::Refused { error, .. } => format!("ledger refused: {error}"),
        LedgerFailure::Retry(error) => error.to_string(),
    }
}
