//! Request cancellation: a customer who gives up on a payment (the connection closes before the
//! answer), and the trace showing the services stopped working on it (`minibank.cancelled` on
//! their SERVER spans). The bank provider is made slow with a latency fault on payments' calls
//! to it, which is shared by every payment, so these scenarios run `@serial`.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use cucumber::{given, then, when};
use drivers::{CallFault, CallFaultKind};
use harness::model::{AttrValue, SpanKind, TraceId};
use harness::settle::{Expectation, settle};
use serde_json::json;

use crate::{MinibankWorld, client, params::ActorName, params::Money};

/// A payment the customer gave up waiting for.
#[derive(Clone, Debug)]
struct Abandoned {
    trace_id: String,
    key: String,
    payee: String,
    body: serde_json::Value,
}

/// The abandoned payment of each scenario, by namespace.
static ABANDONED: LazyLock<Mutex<HashMap<String, Abandoned>>> = LazyLock::new(Default::default);

impl MinibankWorld {
    fn abandoned(&self) -> anyhow::Result<Abandoned> {
        ABANDONED
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(self.ns.tag())
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("no payment was abandoned in this scenario"))
    }
}

/// payments' next transfer request to the provider is delayed by `seconds`.
/// Needs: faults
/// Example: Given the bank provider takes 2 seconds to answer the next transfer
#[given(expr = "the bank provider takes {int} seconds to answer the next transfer")]
async fn provider_slow(world: &mut MinibankWorld, seconds: u64) -> anyhow::Result<()> {
    world
        .inject(CallFault {
            caller: Some("payments".into()),
            target: "provider".into(),
            method: Some("POST".into()),
            path_contains: Some("/transfers".into()),
            replica: None,
            kind: CallFaultKind::Latency(Duration::from_secs(seconds)),
            times: Some(1),
        })
        .await
        .map(drop)
}

/// The payer sends a payment (with an idempotency key kept for later) and closes the
/// connection after `millis` without waiting for the answer.
/// Example: When Alice pays "Acme Coffee" 30.00 GBP but gives up after 300 milliseconds
#[when(expr = "{actor} pays {actor} {money} but gives up after {int} milliseconds")]
async fn pays_and_gives_up(
    world: &mut MinibankWorld,
    payer: ActorName,
    payee: ActorName,
    money: Money,
    millis: u64,
) -> anyhow::Result<()> {
    let driver = world.driver()?;
    let token = world.actor_token(&payer.0).await?;
    let merchant_id = world.actor(&payee.0)?.party_id.clone();
    let key = world.ns.unique("payment");
    let trace_id = format!("{:032x}", rand::random::<u128>() | 1);
    let traceparent = format!("00-{trace_id}-{:016x}-01", rand::random::<u64>() | 1);
    let body = json!({
        "merchant_id": merchant_id,
        "amount": money.minor,
        "currency": money.currency,
        "reference": format!("{} order", world.ns.tag()),
    });
    let sent = client::http()
        .post(format!("{}/v1/payments", driver.edge_url()))
        .bearer_auth(token)
        .header("idempotency-key", &key)
        .header("traceparent", traceparent)
        .json(&body)
        .timeout(Duration::from_millis(millis))
        .send()
        .await;
    match sent {
        Err(error) if error.is_timeout() => {}
        Err(error) => anyhow::bail!("the payment could not be sent: {error}"),
        Ok(answer) => anyhow::bail!(
            "the payment was answered ({}) within {millis} ms: it was not slow enough to give up on",
            answer.status()
        ),
    }
    ABANDONED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(
            world.ns.tag().to_owned(),
            Abandoned {
                trace_id,
                key,
                payee: payee.0,
                body,
            },
        );
    Ok(())
}

/// The abandoned request's trace shows `service`'s handler stopped (`minibank.cancelled`),
/// together with every call it was making.
/// Example: Then payments stopped working on the abandoned payment
#[then(expr = "{word} stopped working on the abandoned payment")]
async fn stopped_working(world: &mut MinibankWorld, service: String) -> anyhow::Result<()> {
    let driver = world.driver()?;
    let trace_id = world.abandoned()?.trace_id;
    let trace_id = TraceId::parse(&trace_id).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (timeout, quiet) = driver.settle_timing();
    let expectation = Expectation::services(["edge", service.as_str()])
        .within(timeout)
        .quiet_for(quiet);
    let fetcher = driver.traces();
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let trace = settle(fetcher.as_ref(), &trace_id, &expectation).await?;
        let cancelled = trace
            .spans_of(&service)
            .filter(|span| span.kind == SpanKind::Server && span.name == "POST /v1/payments")
            .any(|span| {
                span.attr("minibank.cancelled")
                    .is_some_and(|value| matches!(value, AttrValue::Bool(true)))
            });
        if cancelled {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            let names: Vec<String> = trace
                .spans
                .iter()
                .map(|span| {
                    format!(
                        "{} {} {:?}",
                        span.service(),
                        span.name,
                        span.attributes.get("minibank.cancelled")
                    )
                })
                .collect();
            anyhow::bail!("{service} kept working on the abandoned payment: {names:?}");
        }
        fetcher
            .wait_for_more(&trace_id, trace.len(), deadline)
            .await;
    }
}

/// Sends the abandoned payment again with the same idempotency key, as a customer would.
/// Example: When Alice sends the abandoned payment again
#[when(expr = "{actor} sends the abandoned payment again")]
async fn sends_again(world: &mut MinibankWorld, payer: ActorName) -> anyhow::Result<()> {
    let abandoned = world.abandoned()?;
    world
        .pay_with_body(
            &payer.0,
            &abandoned.payee,
            abandoned.body,
            Some(abandoned.key),
        )
        .await
}
