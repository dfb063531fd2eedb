//! The background worker: on start it resumes every payment a previous process left unfinished,
//! then keeps driving payments whose postponed step is due (status queries after a provider
//! timeout, ledger calls while the ledger was down), each with the payment's own trace context.
//! Each payment is leased in the database before it is driven (see [`super::driver`]), so the
//! workers of several replicas on one database never drive the same payment at once.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::driver::SagaDriver;
use crate::db;
use crate::payments::store;
use crate::rpc::{PropagatedContext, RequestContext};

/// How many unfinished payments one pass looks at.
const BATCH: i64 = 200;

/// Runs until `stop`: drives due payments, sleeps until the next one is due (at most `sweep`),
/// wakes early when the driver postpones a payment. Drives in progress are abandoned on stop;
/// their persisted step lets the next start resume them.
pub async fn run(driver: Arc<SagaDriver>, stop: CancellationToken, sweep: Duration) {
    let mut drives = JoinSet::new();
    loop {
        let wait = match resume_due(&driver, &mut drives).await {
            Ok(Some(next_due_ms)) => {
                let in_ms = u64::try_from(next_due_ms - db::now_ms()).unwrap_or(0);
                Duration::from_millis(in_ms).min(sweep)
            }
            Ok(None) => sweep,
            Err(error) => {
                tracing::error!(
                    error = format!("{error:#}"),
                    "saga worker could not read payments"
                );
                sweep
            }
        };
        tokio::select! {
            () = stop.cancelled() => break,
            () = driver.worker_wake().notified() => {}
            () = tokio::time::sleep(wait) => {}
            Some(_) = drives.join_next(), if !drives.is_empty() => {}
        }
    }
    drives.abort_all();
    while drives.join_next().await.is_some() {}
}

/// Spawns a drive for every due payment not already in flight; returns when the next
/// not-yet-due one is due (unix ms).
async fn resume_due(
    driver: &Arc<SagaDriver>,
    drives: &mut JoinSet<()>,
) -> anyhow::Result<Option<i64>> {
    let now = db::now_ms();
    let mut next_due = None;
    for (payment_id, due_at) in store::unfinished(driver.pool(), BATCH).await? {
        if due_at > now {
            next_due = Some(next_due.map_or(due_at, |n: i64| n.min(due_at)));
            continue;
        }
        // Leased in the database first: a payment another replica drives is skipped.
        let Some(mut claim) = driver.claim_due(&payment_id).await? else {
            continue;
        };
        let driver = driver.clone();
        drives.spawn(async move {
            let Ok(Some(row)) = store::load(driver.pool(), &payment_id).await else {
                return;
            };
            let ctx = RequestContext::continuing(&PropagatedContext {
                traceparent: row.traceparent.clone().unwrap_or_default(),
                tracestate: row.tracestate.clone(),
                baggage: row.baggage.clone(),
            });
            // Log lines about a resumed payment carry its trace, like those of a request.
            let log_span = tracing::info_span!(
                "resume_payment",
                service = "payments",
                trace_id = %ctx.trace_id(),
                span_id = %ctx.span_context().span_id(),
                payment_id = %payment_id,
            );
            async move {
                // On an error the driver gives the lease back for a later retry.
                if let Err(error) = driver.drive(&ctx, &mut claim, row).await {
                    tracing::error!(error = format!("{error:#}"), "resuming a payment failed");
                }
            }
            .instrument(log_span)
            .await;
        });
    }
    Ok(next_due)
}
