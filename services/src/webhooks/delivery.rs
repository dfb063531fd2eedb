//! The delivery worker: sends every due pending delivery to its endpoint, signed, continuing the
//! trace of the payment that caused it (the outbound POST is a CLIENT span of `webhooks` whose
//! parent is the stored context), and records the attempt: 2xx → `delivered`; otherwise the next
//! attempt is scheduled on the [`RetrySchedule`] with jitter, and after the last one the delivery
//! is `dead_lettered`.
//!
//! Every attempt is claimed in the database before it is sent ([`store::claim`]): a conditional
//! update that succeeds for exactly one caller, for the attempt number that caller saw, and
//! leases the delivery for [`DeliveryWorker::lease`]. So no two workers, loops or passes (a
//! wake-up racing the periodic sweep, a stale read of a row whose attempt was just recorded)
//! can send the same attempt, and only the claim holder records it. A worker that dies mid-send
//! leaves a lease that expires, and the delivery is tried again; a worker that stops lets its
//! sends in flight finish and record their attempt (bounded by the attempt timeout), then gives
//! back the claims of any it had to cut short.
//!
//! Each endpoint origin (`scheme://host:port`) gets its own RPC client, hence its own circuit
//! breaker: one merchant's dead endpoint never fails deliveries to the others. A delivery refused
//! by an open circuit was not sent, so it waits for the circuit without spending an attempt.
//!
//! Before each send the destination is checked again, after DNS resolution
//! ([`DestinationPolicy::resolve`]): a destination that points inward fails the delivery for
//! good (`dead_lettered`, `last_error` starting `destination_refused:`), and the send connects
//! only to the addresses just checked ([`checked_connect`](super::checked_connect)). The
//! signing secret is opened from its sealed form ([`SecretKey::open`]) only for the send.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use opentelemetry::KeyValue;
use opentelemetry::trace::{SpanKind, TraceContextExt as _, Tracer as _};
use parking_lot::Mutex;
use sqlx::AnyPool;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::Settings;
use super::checked_connect::PinnedNames;
use super::destination::{DeliveryRefusal, DestinationPolicy};
use super::schedule::RetrySchedule;
use super::sealed_secret::SecretKey;
use super::signature;
use super::store::{self, AttemptResult, DueDelivery};
use crate::app::Deps;
use crate::db::WriteGate;
use crate::db::now_ms;
use crate::rpc::{PropagatedContext, RequestContext, RpcClient, RpcError, RpcRequest};

/// Deliveries fetched per pass.
const BATCH: i64 = 256;
/// Deliveries in flight at most.
const MAX_IN_FLIGHT: usize = 64;
/// On stop, how long past the attempt timeout sends in flight get to record their attempt.
const RECORD_GRACE: Duration = Duration::from_secs(1);

/// Sends deliveries. Share it in an `Arc`.
#[derive(Debug)]
pub struct DeliveryWorker {
    pool: AnyPool,
    gate: WriteGate,
    /// Telemetry and resilience settings of the clients for merchant endpoints.
    deps: Deps,
    /// The HTTP client of every delivery: it connects only to checked addresses.
    http: reqwest::Client,
    /// The checked addresses of each endpoint name.
    pinned: PinnedNames,
    /// Where deliveries may go.
    destinations: DestinationPolicy,
    /// Opens the endpoints' sealed secrets.
    secret_key: SecretKey,
    /// How long one attempt may take.
    timeout: Duration,
    /// One client (one circuit) per endpoint origin.
    merchants: Mutex<HashMap<String, RpcClient>>,
    schedule: RetrySchedule,
    wake: Arc<Notify>,
    sweep: Duration,
    /// Claims held by this worker's sends: delivery id → (attempts before, lease end).
    claims: Mutex<HashMap<String, (i64, i64)>>,
}

impl DeliveryWorker {
    /// A worker over the webhooks pool, with the attempt timeout, retry schedule, sweep,
    /// destination policy and secret key of `settings`.
    pub fn new(
        pool: AnyPool,
        gate: WriteGate,
        deps: Deps,
        settings: &Settings,
        wake: Arc<Notify>,
    ) -> Self {
        let pinned = PinnedNames::default();
        DeliveryWorker {
            pool,
            gate,
            http: pinned.client(&deps.resilience.pool),
            pinned,
            deps,
            destinations: settings.destinations.clone(),
            secret_key: settings.secret_key.clone(),
            timeout: settings.delivery_timeout,
            merchants: Mutex::default(),
            schedule: settings.retry_schedule.clone(),
            wake,
            sweep: settings.sweep,
            claims: Mutex::default(),
        }
    }

    /// How long a claimed attempt is reserved for its sender: twice the attempt timeout plus a
    /// second to record it, after which a delivery whose sender died is due again.
    pub fn lease(&self) -> Duration {
        self.timeout.saturating_mul(2) + Duration::from_secs(1)
    }

    /// Runs until `stop`.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        let mut sends = JoinSet::new();
        loop {
            let wait = match self.dispatch(&mut sends).await {
                Ok(Some(next_due)) => {
                    Duration::from_millis(u64::try_from(next_due - now_ms()).unwrap_or(0))
                        .min(self.sweep)
                }
                Ok(None) => self.sweep,
                Err(error) => {
                    tracing::error!(
                        error = format!("{error:#}"),
                        "delivery worker could not read deliveries"
                    );
                    self.sweep
                }
            };
            tokio::select! {
                () = stop.cancelled() => break,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
                Some(_) = sends.join_next(), if !sends.is_empty() => {}
            }
        }
        // A send in flight may already have reached its endpoint: cut short, it would be given
        // back and sent again by the next worker (a merchant got one event twice across a
        // restart). So each is let finish and record what it got; it is bounded by the attempt
        // timeout, and only what is still running after that (plus a moment to record) is cut.
        let finished = tokio::time::timeout(self.timeout + RECORD_GRACE, async {
            while sends.join_next().await.is_some() {}
        })
        .await;
        if finished.is_err() {
            sends.abort_all();
            while sends.join_next().await.is_some() {}
        }
        self.release_claims().await;
    }

    /// Gives back the claims of sends cut short by a stop, so the next worker need not wait for
    /// their leases to end.
    async fn release_claims(&self) {
        let claims: Vec<_> = self.claims.lock().drain().collect();
        for (id, (attempts, lease_until)) in claims {
            if let Err(error) =
                store::release(&self.pool, &self.gate, &id, attempts, lease_until, now_ms()).await
            {
                tracing::warn!(
                    delivery_id = %id,
                    error = format!("{error:#}"),
                    "could not release a delivery claim; it is retried when its lease ends"
                );
            }
        }
    }

    /// Claims and starts a send for every due delivery; returns when the next one is due.
    async fn dispatch(self: &Arc<Self>, sends: &mut JoinSet<()>) -> anyhow::Result<Option<i64>> {
        let now = now_ms();
        let lease = i64::try_from(self.lease().as_millis()).unwrap_or(i64::MAX / 4);
        for delivery in store::due(&self.pool, now, BATCH).await? {
            if sends.len() >= MAX_IN_FLIGHT {
                // At capacity: the next finished send wakes the loop (no need to look sooner).
                return Ok(None);
            }
            // The row may be stale (read before another attempt was claimed or recorded): only
            // the claim decides whether this attempt is ours to send.
            let claimed_at = now_ms().max(now);
            let lease_until = claimed_at + lease;
            if !store::claim(
                &self.pool,
                &self.gate,
                &delivery.delivery_id,
                delivery.attempts,
                claimed_at,
                lease_until,
            )
            .await?
            {
                continue;
            }
            self.claims.lock().insert(
                delivery.delivery_id.clone(),
                (delivery.attempts, lease_until),
            );
            let worker = self.clone();
            sends.spawn(async move {
                let id = delivery.delivery_id.clone();
                // Log lines about a delivery carry the trace it continues.
                let trace_id = delivery
                    .traceparent
                    .as_deref()
                    .and_then(|t| t.split('-').nth(1))
                    .unwrap_or_default()
                    .to_owned();
                let span_id = delivery
                    .traceparent
                    .as_deref()
                    .and_then(|t| t.split('-').nth(2))
                    .unwrap_or_default()
                    .to_owned();
                let log_span = tracing::info_span!(
                    "webhook_delivery",
                    service = "webhooks",
                    trace_id = %trace_id,
                    span_id = %span_id,
                    delivery_id = %id,
                );
                match worker
                    .attempt(&delivery, lease_until)
                    .instrument(log_span.clone())
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => log_span.in_scope(|| {
                        tracing::warn!(
                            "the delivery's lease ended before its attempt was recorded and \
                             the attempt was claimed again; this send is not counted"
                        );
                    }),
                    Err(error) => log_span.in_scope(|| {
                        tracing::error!(
                            error = format!("{error:#}"),
                            "recording a delivery attempt failed"
                        );
                    }),
                }
                worker.claims.lock().remove(&id);
            });
        }
        store::next_due_after(&self.pool, now).await
    }

    /// The client (and circuit) for the endpoint at `url`.
    fn client_for(&self, url: &str) -> RpcClient {
        let origin = reqwest::Url::parse(url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_else(|_| url.to_owned());
        self.merchants
            .lock()
            .entry(origin.clone())
            .or_insert_with(|| {
                RpcClient::with_resilience(
                    self.http.clone(),
                    self.deps.telemetry.clone(),
                    "merchant",
                    &origin,
                    self.timeout,
                    &self.deps.resilience,
                )
            })
            .clone()
    }

    /// Checks the delivery's destination after resolving it and pins its name to the checked
    /// addresses; opens its secret. `Err` is the attempt's result when it cannot be sent.
    async fn prepare(&self, delivery: &DueDelivery) -> Result<String, Unsendable> {
        let url = reqwest::Url::parse(&delivery.url)
            .map_err(|error| Unsendable::Failed(format!("stored url does not parse: {error}")))?;
        match self.destinations.resolve(&url).await {
            Ok(checked) => {
                if let Some(name) = &checked.name {
                    self.pinned.pin(name, checked.addresses);
                }
            }
            Err(DeliveryRefusal::Refused(refused)) => {
                return Err(Unsendable::Refused(format!(
                    "destination_refused: {refused}"
                )));
            }
            Err(unresolved) => return Err(Unsendable::Failed(unresolved.to_string())),
        }
        self.secret_key
            .open(&delivery.endpoint_id, &delivery.sealed_secret)
            .map_err(|error| Unsendable::Failed(error.to_string()))
    }

    /// One claimed attempt (claim ending at `lease_until`): sign, send, record. False when the
    /// claim was lost before recording.
    async fn attempt(&self, delivery: &DueDelivery, lease_until: i64) -> anyhow::Result<bool> {
        let ctx = self.attempt_context(
            &RequestContext::continuing(&PropagatedContext {
                traceparent: delivery.traceparent.clone().unwrap_or_default(),
                tracestate: delivery.tracestate.clone(),
                baggage: delivery.baggage.clone(),
            }),
            delivery,
        );
        let outcome = match self.prepare(delivery).await {
            Ok(secret) => match self.send(&ctx, delivery, &secret).await {
                Sent::Answered(outcome) => outcome,
                Sent::NotSent { retry_in } => {
                    // Not sent: wait for the circuit, keep the attempt.
                    let retry_at = now_ms() + i64::try_from(retry_in.as_millis()).unwrap_or(0);
                    return store::defer(
                        &self.pool,
                        &self.gate,
                        &delivery.delivery_id,
                        delivery.attempts,
                        lease_until,
                        retry_at,
                    )
                    .await;
                }
            },
            Err(Unsendable::Refused(refused)) => {
                // An inward destination stays inward: no retry.
                tracing::warn!(delivery_id = %delivery.delivery_id, error = %refused, "webhook delivery refused");
                let result = AttemptResult::DeadLettered {
                    status: None,
                    error: refused,
                };
                return store::record_attempt(
                    &self.pool,
                    &self.gate,
                    &delivery.delivery_id,
                    delivery.attempts,
                    lease_until,
                    &result,
                )
                .await;
            }
            Err(Unsendable::Failed(error)) => Err((None, error)),
        };
        let attempts_made = u32::try_from(delivery.attempts + 1).unwrap_or(u32::MAX);
        let result = match outcome {
            Ok(status) => AttemptResult::Delivered { status },
            Err((status, error)) => match self
                .schedule
                .delay_with_jitter(attempts_made, &mut rand::rng())
            {
                Some(delay) => AttemptResult::Retry {
                    status,
                    error,
                    retry_at_ms: now_ms()
                        + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2),
                },
                None => AttemptResult::DeadLettered { status, error },
            },
        };
        if let AttemptResult::Retry {
            status,
            retry_at_ms,
            ..
        } = &result
        {
            let mut attributes = vec![
                KeyValue::new("minibank.webhook.attempt", i64::from(attempts_made)),
                KeyValue::new("minibank.webhook.retry_in_ms", retry_at_ms - now_ms()),
            ];
            attributes.extend(status.map(|s| KeyValue::new("http.response.status_code", s)));
            ctx.otel().span().add_event("delivery.retry", attributes);
        }
        tracing::info!(delivery_id = %delivery.delivery_id, attempt = attempts_made, result = ?result, "webhook delivery attempt");
        store::record_attempt(
            &self.pool,
            &self.gate,
            &delivery.delivery_id,
            delivery.attempts,
            lease_until,
            &result,
        )
        .await
    }

    /// The context of one attempt: an INTERNAL `webhook delivery` span under the stored
    /// context, parent of the send's CLIENT span. A failed attempt that will be retried says so
    /// on it (a `delivery.retry` event); the CLIENT span has ended by the time that is decided.
    /// The span ends when the attempt drops its context.
    fn attempt_context(&self, stored: &RequestContext, delivery: &DueDelivery) -> RequestContext {
        let tracer = self.deps.telemetry.tracer();
        let span = tracer
            .span_builder("webhook delivery")
            .with_kind(SpanKind::Internal)
            .with_attributes([
                KeyValue::new("minibank.webhook.delivery_id", delivery.delivery_id.clone()),
                KeyValue::new("minibank.webhook.attempt", delivery.attempts + 1),
            ])
            .start_with_context(tracer, stored.otel());
        stored.with_otel(stored.otel().with_span(span))
    }

    /// Signs and sends one delivery.
    async fn send(&self, ctx: &RequestContext, delivery: &DueDelivery, secret: &str) -> Sent {
        let timestamp = now_ms() / 1000;
        let signature = signature::header_value(secret, timestamp, delivery.body.as_bytes());
        let request = RpcRequest::new(Method::POST, delivery.url.clone())
            .header("content-type", "application/json")
            .and_then(|r| r.header("minibank-event-id", &delivery.event_id))
            .and_then(|r| r.header(signature::SIGNATURE_HEADER, &signature));
        let mut request = match request {
            Ok(request) => request,
            Err(error) => return Sent::Answered(Err((None, error.to_string()))),
        };
        request.body = Some(Bytes::from(delivery.body.clone()));
        Sent::Answered(
            match self.client_for(&delivery.url).send(ctx, request).await {
                Ok(response) if response.status.is_success() => {
                    Ok(i64::from(response.status.as_u16()))
                }
                Ok(response) => Err((
                    Some(i64::from(response.status.as_u16())),
                    format!("endpoint answered {}", response.status),
                )),
                Err(RpcError::CircuitOpen { retry_in, .. }) => return Sent::NotSent { retry_in },
                Err(error) => Err((None, error.to_string())),
            },
        )
    }
}

/// Why a delivery was not sent.
enum Unsendable {
    /// Its destination points inward: the delivery fails for good.
    Refused(String),
    /// Something that may pass (a name that does not resolve, an unreadable secret): the
    /// attempt counts as failed and is retried on the schedule.
    Failed(String),
}

/// What a send came to.
enum Sent {
    /// An answer (2xx: its status) or a failure (the status if any, and why).
    Answered(Result<i64, (Option<i64>, String)>),
    /// Refused by an open circuit: nothing was sent.
    NotSent {
        /// When the circuit lets a probe through.
        retry_in: Duration,
    },
}
