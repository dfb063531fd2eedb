//! The outbox relay: pushes events written by the saga to webhooks `POST /events`, continuing
//! the trace context stored with each event, and marks them sent. Woken by a [`Notify`] right
//! after a final state commits, plus a periodic sweep as the safety net (a wake-up lost in a
//! crash, webhooks down for a while). Webhooks deduplicates by event id, so a resend after a
//! crash between "sent" and "marked" is harmless.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use serde_json::json;
use sqlx::AnyPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::store::{self, OutboxRow};
use crate::db::WriteGate;
use crate::rpc::{PropagatedContext, RequestContext, RpcClient, RpcRequest};

/// Events fetched per pass.
const BATCH: i64 = 256;
/// Events sent at once.
const CONCURRENCY: usize = 16;

/// The relay's dependencies.
#[derive(Debug, Clone)]
pub struct OutboxRelay {
    /// The payments database.
    pub pool: AnyPool,
    /// Its write gate.
    pub gate: WriteGate,
    /// The webhooks service.
    pub webhooks: RpcClient,
    /// Woken after an event is committed.
    pub wake: Arc<Notify>,
    /// The safety-net interval.
    pub sweep: Duration,
}

impl OutboxRelay {
    /// Runs until `stop`.
    pub async fn run(self, stop: CancellationToken) {
        loop {
            // Drain: keep going while full batches come back.
            loop {
                match self.pass().await {
                    Ok(sent) if sent == usize::try_from(BATCH).unwrap_or(usize::MAX) => continue,
                    Ok(_) => break,
                    Err(error) => {
                        tracing::error!(error = format!("{error:#}"), "outbox relay pass failed");
                        break;
                    }
                }
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(self.sweep) => {}
            }
        }
    }

    /// Sends every unsent event of one batch; returns how many were fetched.
    pub async fn pass(&self) -> anyhow::Result<usize> {
        let events = store::unsent(&self.pool, BATCH).await?;
        let fetched = events.len();
        futures::stream::iter(events)
            .for_each_concurrent(CONCURRENCY, |event| async move {
                // Log lines about an event carry the trace it continues.
                let traceparent = event.traceparent.as_deref().unwrap_or_default();
                let log_span = tracing::info_span!(
                    "outbox_relay",
                    service = "payments",
                    trace_id = traceparent.split('-').nth(1).unwrap_or_default(),
                    span_id = traceparent.split('-').nth(2).unwrap_or_default(),
                    event_id = %event.event_id,
                );
                async {
                    if let Err(error) = self.send(&event).await {
                        tracing::warn!(error = format!("{error:#}"), "event not relayed yet");
                    }
                }
                .instrument(log_span)
                .await;
            })
            .await;
        Ok(fetched)
    }

    async fn send(&self, event: &OutboxRow) -> anyhow::Result<()> {
        let propagated = PropagatedContext {
            traceparent: event.traceparent.clone().unwrap_or_default(),
            tracestate: event.tracestate.clone(),
            baggage: event.baggage.clone(),
        };
        let ctx = RequestContext::continuing(&propagated);
        let payload: serde_json::Value = serde_json::from_str(&event.payload)?;
        let mut body = json!({
            "event_id": event.event_id,
            "event_type": event.event_type,
            "merchant_id": event.merchant_id,
            "payment_id": event.payment_id,
            "payload": payload,
            "traceparent": propagated.traceparent,
        });
        if let Some(state) = &propagated.tracestate {
            body["tracestate"] = json!(state);
        }
        if let Some(baggage) = &propagated.baggage {
            body["baggage"] = json!(baggage);
        }
        // Idempotent by event id (webhooks deduplicates), so the RPC stack may retry it.
        let request = RpcRequest::post_json("/events", &body)?.idempotent(true);
        let _: serde_json::Value = self.webhooks.call_json(&ctx, request).await?;
        store::mark_sent(&self.pool, &self.gate, &event.event_id).await
    }
}
