//! The saga driver: reads a payment's step, performs the step's action (a ledger or provider
//! call), asks [`state::advance`](super::state::advance) where that leads and persists it, until
//! the payment is final or must wait (a dependency is down: the step is postponed with backoff
//! and the background worker resumes it).
//!
//! A payment is driven only under a [`Claim`]: in this process, a set of payments in flight; in
//! the database, a lease ([`store::claim`]) that keeps the payment from being due for any other
//! replica. Every transition renews the lease and is written only while it is still held, so two
//! replicas never drive the same payment at once. A claim dropped while its lease still runs (the
//! drive was cancelled) gives the lease back, so the payment is due again at once.

use std::collections::HashSet;
use std::sync::Arc;

use parking_lot::Mutex;
use sqlx::AnyPool;
use tokio::sync::Notify;

use super::backoff::Backoff;
use super::state::{self, FailureReason, Outcome, Step};
use crate::db::{self, WriteGate};
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
    /// How long a claim keeps a payment from being due for anyone else; longer than any step.
    lease: std::time::Duration,
    /// Woken after an event is written (the outbox relay waits on it).
    relay_wake: Arc<Notify>,
    /// Woken when a payment is postponed (the worker recomputes when to look again).
    worker_wake: Arc<Notify>,
    /// Payments being driven in this process right now, so the worker never drives one twice.
    in_flight: Mutex<HashSet<String>>,
}

/// Proof that this task is the one driving a payment: in this process and, through the lease
/// ending at `lease_until`, in the database. Dropped, it leaves the in-process set and gives
/// back a lease still running.
#[derive(Debug)]
pub struct Claim {
    driver: Arc<SagaDriver>,
    payment_id: String,
    /// The `next_attempt_at` this claim wrote: the lease's end.
    lease_until: i64,
    /// False once the lease ended (a final step, a postponed step, or lost to another driver).
    holds_lease: bool,
}

impl Claim {
    /// The end of the lease held (the `next_attempt_at` a new payment is inserted with).
    pub fn lease_until(&self) -> i64 {
        self.lease_until
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.driver.in_flight.lock().remove(&self.payment_id);
        if !self.holds_lease {
            return;
        }
        // The drive stopped mid-step (the service is stopping, or the caller's task was
        // cancelled): make the payment due now rather than when the lease would end. Without a
        // runtime (the process is exiting) the lease simply expires.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (driver, payment_id, held) = (
            self.driver.clone(),
            self.payment_id.clone(),
            self.lease_until,
        );
        runtime.spawn(async move {
            let released =
                store::release(&driver.pool, &driver.gate, &payment_id, held, db::now_ms()).await;
            if let Err(error) = released {
                tracing::warn!(
                    payment_id,
                    error = format!("{error:#}"),
                    "could not give back a payment's lease; it is resumed when the lease ends"
                );
            }
        });
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
        lease: std::time::Duration,
        relay_wake: Arc<Notify>,
    ) -> Self {
        SagaDriver {
            pool,
            gate,
            ledger,
            provider,
            backoff,
            lease,
            relay_wake,
            worker_wake: Arc::new(Notify::new()),
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

    /// The end of a lease taken now (unix ms).
    fn lease_end(&self) -> i64 {
        db::now_ms() + i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX / 4)
    }

    /// In-process part of a claim; `None` when another task of this process drives it.
    fn claim_in_process(self: &Arc<Self>, payment_id: &str) -> Option<Claim> {
        self.in_flight
            .lock()
            .insert(payment_id.to_owned())
            .then(|| Claim {
                driver: self.clone(),
                payment_id: payment_id.to_owned(),
                lease_until: self.lease_end(),
                holds_lease: false,
            })
    }

    /// Claims a payment about to be inserted: its row carries the lease
    /// ([`Claim::lease_until`] as `next_attempt_at`), so no worker picks it up while the
    /// request drives it. `None` when the id is already in flight here.
    pub fn claim_new(self: &Arc<Self>, payment_id: &str) -> Option<Claim> {
        let mut claim = self.claim_in_process(payment_id)?;
        claim.holds_lease = true;
        Some(claim)
    }

    /// Claims a due payment for driving: in this process, then its lease in the database.
    /// `None` when it is driven here already, or another replica (or request) holds it.
    pub async fn claim_due(self: &Arc<Self>, payment_id: &str) -> anyhow::Result<Option<Claim>> {
        let Some(mut claim) = self.claim_in_process(payment_id) else {
            return Ok(None);
        };
        let leased = store::claim(
            &self.pool,
            &self.gate,
            payment_id,
            db::now_ms(),
            claim.lease_until,
        )
        .await?;
        claim.holds_lease = leased;
        Ok(leased.then_some(claim))
    }

    /// Drives `row` until it is final, must wait, or another driver took it over; returns the
    /// row as it then is. A failure of our own (the database) gives the lease back for a retry
    /// after a pause rather than at once.
    pub async fn drive(
        &self,
        ctx: &RequestContext,
        claim: &mut Claim,
        row: PaymentRow,
    ) -> anyhow::Result<PaymentRow> {
        let payment_id = row.payment_id.clone();
        let result = self.drive_steps(ctx, claim, row).await;
        if result.is_err() && claim.holds_lease {
            // Look again after a while rather than spinning on a payment that keeps failing.
            let retry_at = db::now_ms() + 1_000;
            claim.holds_lease = false;
            let released = store::release(
                &self.pool,
                &self.gate,
                &payment_id,
                claim.lease_until,
                retry_at,
            )
            .await;
            if let Err(error) = released {
                tracing::warn!(
                    payment_id,
                    error = format!("{error:#}"),
                    "could not give back a payment's lease; it is resumed when the lease ends"
                );
            }
        }
        result
    }

    async fn drive_steps(
        &self,
        ctx: &RequestContext,
        claim: &mut Claim,
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
                        Err(LedgerFailure::Refused { refusal, .. }) => (
                            Outcome::HoldRefused(FailureReason::for_refused_hold(refusal)),
                            None,
                        ),
                        Err(LedgerFailure::Retry(error)) => {
                            return self.postpone(claim, row, step, &error.to_string()).await;
                        }
                    }
                }
                Step::HoldPlaced => (self.provider.submit(ctx, &row).await, None),
                Step::StatusCheck => match self.provider.status(ctx, &row.payment_id).await {
                    Outcome::StatusUnknown => {
                        return self
                            .postpone(
                                claim,
                                row,
                                step,
                                "the provider's transfer status is unknown",
                            )
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
                        Err(failure) => {
                            return self.postpone(claim, row, step, &describe(&failure)).await;
                        }
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
                        Err(failure) => {
                            return self.postpone(claim, row, step, &describe(&failure)).await;
                        }
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
                held: claim.lease_until,
                renewed: self.lease_end(),
            };
            let renewed = change.renewed;
            row = match store::advance(&self.pool, &self.gate, &row.payment_id, change).await? {
                Some(next) => {
                    tracing::info!(payment_id = %next.payment_id, from = %step, to = %transition.step, "payment advanced");
                    claim.lease_until = renewed;
                    if transition.step.is_final() {
                        claim.holds_lease = false;
                        self.relay_wake.notify_one();
                    }
                    next
                }
                // Our lease ran out and another driver took the payment: it goes on from here.
                None => {
                    claim.holds_lease = false;
                    tracing::warn!(payment_id = %row.payment_id, step = %step, "payment taken over by another driver; stopping");
                    return store::load(&self.pool, &row.payment_id)
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("payment {} vanished", row.payment_id));
                }
            };
        }
    }

    /// Records a failed attempt and schedules the next one with backoff (ending the lease).
    async fn postpone(
        &self,
        claim: &mut Claim,
        row: PaymentRow,
        step: Step,
        why: &str,
    ) -> anyhow::Result<PaymentRow> {
        let attempts = u32::try_from(row.status_attempts).unwrap_or(u32::MAX);
        let delay = self.backoff.delay(attempts, &mut rand::rng());
        let retry_at = db::now_ms() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
        tracing::warn!(payment_id = %row.payment_id, step = %step, attempts, retry_in_ms = delay.as_millis() as u64, why, "payment step postponed");
        let held = claim.lease_until;
        claim.holds_lease = false;
        store::postpone(
            &self.pool,
            &self.gate,
            &row.payment_id,
            step,
            held,
            retry_at,
        )
        .await?;
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
