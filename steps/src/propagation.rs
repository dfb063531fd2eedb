//! Context propagation, hop by hop: a payment sent with W3C baggage, then its trace read to see
//! that every service's SERVER span received the baggage (`minibank.baggage.keys`), the trace
//! (one root, no orphans) and a deadline no later than its caller's
//! (`minibank.deadline.remaining_ms`).

use std::collections::HashMap;

use cucumber::{then, when};
use harness::model::{AttrValue, Span, SpanKind, TraceId};
use serde_json::json;

use crate::{
    MinibankWorld,
    client::Request,
    params::{ActorName, Money},
    traces::settle_connected,
    world::{Caller, PaymentAttempt},
};

/// Pays like `{actor} pays {actor} {money}`, with a W3C `baggage` header.
/// Example: When Alice pays "Acme Coffee" 30.00 GBP carrying the baggage "minibank.channel=mobile"
#[when(expr = "{actor} pays {actor} {money} carrying the baggage {string}")]
async fn pays_with_baggage(
    world: &mut MinibankWorld,
    payer: ActorName,
    payee: ActorName,
    money: Money,
    baggage: String,
) -> anyhow::Result<()> {
    let merchant_id = world.actor(&payee.0)?.party_id.clone();
    let key = world.ns.unique("payment");
    let body = json!({
        "merchant_id": merchant_id,
        "amount": money.minor,
        "currency": money.currency,
        "reference": format!("{} order", world.ns.tag()),
    });
    let request = Request::new(reqwest::Method::POST, "/v1/payments")
        .json(body.clone())
        .header("idempotency-key", key.clone())
        .header("baggage", baggage);
    let answer = world
        .call(Caller::Actor(payer.0.clone()), request)
        .await?
        .clone();
    world.payments.push(PaymentAttempt {
        payer: payer.0,
        payee: payee.0,
        key,
        body,
        answer,
    });
    Ok(())
}

fn deadline_of(span: &Span) -> Option<i64> {
    span.attr("minibank.deadline.remaining_ms")
        .and_then(AttrValue::as_i64)
}

/// The closest ancestor SERVER span of `span` (its caller's handler), if any.
fn calling_server<'a>(span: &Span, by_id: &HashMap<String, &'a Span>) -> Option<&'a Span> {
    let mut parent = span.parent_span_id.as_ref()?;
    loop {
        let ancestor = *by_id.get(parent.as_str())?;
        if ancestor.kind == SpanKind::Server {
            return Some(ancestor);
        }
        parent = ancestor.parent_span_id.as_ref()?;
    }
}

/// Reads the last payment's trace once `services` have reported, and checks every SERVER span
/// behind edge: it has the baggage key, and a deadline no later than its caller's.
/// Example: Then every hop of the payment through payments, ledger and webhooks received the baggage "minibank.channel" and a deadline within its caller's
#[then(
    expr = "every hop of the payment through {word}, {word} and {word} received the baggage {string} and a deadline within its caller's"
)]
async fn every_hop_received(
    world: &mut MinibankWorld,
    first: String,
    second: String,
    third: String,
    key: String,
) -> anyhow::Result<()> {
    let driver = world.driver()?;
    let last = world.last_payment()?.answer.clone();
    let trace_id = last
        .trace_id()
        .ok_or_else(|| anyhow::anyhow!("the payment's answer names no trace"))?;
    let trace_id = TraceId::parse(&trace_id).map_err(|e| anyhow::anyhow!("{e}"))?;
    let services = ["edge", first.as_str(), second.as_str(), third.as_str()];
    let trace = settle_connected(driver.as_ref(), &trace_id, &services).await?;
    anyhow::ensure!(
        trace.roots().len() == 1 && trace.orphans().is_empty(),
        "the trace context was lost on the way: {} roots, {} orphan spans",
        trace.roots().len(),
        trace.orphans().len()
    );
    let by_id: HashMap<String, &Span> = trace
        .spans
        .iter()
        .map(|span| (span.span_id.as_str().to_owned(), span))
        .collect();
    for service in &services[1..] {
        let servers: Vec<&Span> = trace
            .spans_of(service)
            .filter(|span| span.kind == SpanKind::Server)
            .collect();
        anyhow::ensure!(
            !servers.is_empty(),
            "{service} handled no request in the trace"
        );
        for span in servers {
            let keys = span
                .attr("minibank.baggage.keys")
                .and_then(AttrValue::as_str)
                .unwrap_or_default();
            anyhow::ensure!(
                keys.split(',').any(|k| k == key),
                "{service}'s `{}` did not receive the baggage {key:?} (keys: {keys:?})",
                span.name
            );
            let deadline = deadline_of(span).ok_or_else(|| {
                anyhow::anyhow!("{service}'s `{}` received no deadline", span.name)
            })?;
            if let Some(caller_deadline) = calling_server(span, &by_id).and_then(deadline_of) {
                anyhow::ensure!(
                    deadline <= caller_deadline,
                    "{service}'s `{}` got {deadline} ms, more than its caller had ({caller_deadline} ms)",
                    span.name
                );
            }
        }
    }
    Ok(())
}
