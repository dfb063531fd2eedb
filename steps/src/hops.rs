//! Each hop of a request, read from its trace: the context every service received (the
//! trace, W3C baggage, a deadline no later than its caller's: `minibank.baggage.keys`,
//! `minibank.deadline.remaining_ms` on SERVER spans), and whether the services stopped working
//! when the caller gave up (`minibank.cancelled`).

use std::collections::HashMap;

use cucumber::then;
use harness::model::{AttrValue, Span, SpanKind, TraceId};
use harness::settle::{Expectation, settle};

use crate::{MinibankWorld, traces::settle_connected};

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

/// The abandoned request's trace shows `service`'s handler stopped (`minibank.cancelled`),
/// together with every call it was making.
/// Example: Then payments stopped working on the abandoned payment
#[then(expr = "{word} stopped working on the abandoned payment")]
async fn stopped_working(world: &mut MinibankWorld, service: String) -> anyhow::Result<()> {
    let driver = world.driver()?;
    let trace_id = world
        .abandoned
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("no payment was abandoned in this scenario"))?
        .trace_id
        .clone();
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
