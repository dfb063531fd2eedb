//! Traces and logs: the request the scenario sent was traced end to end.
//!
//! "The trace" is the trace of the last request the scenario kept as its answer (the payment,
//! the sign-in, ...). Every check first waits for the trace to settle (the services the
//! sentence names have reported, then complete: by the check's own structure where it can say
//! so, else a quiet period), then runs `harness::checks`; a failure shows the whole trace as a
//! tree.

use anyhow::Context as _;
use cucumber::{then, when};
use drivers::Capability;
use harness::{
    checks::{self, Peers, SpanSelector},
    model::{SpanKind, Trace, TraceId},
    settle::{Completeness, Expectation, Settled, SettledBy, is_connected, settle_outcome},
};

use crate::{
    MinibankWorld,
    client::{Request, Tracing},
    context,
    params::{ActorName, Method},
};

/// A node a sentence names: a minibank service, or an outside system (`provider`, `merchant`).
fn node_name(words: &str) -> String {
    let w = words.trim().trim_start_matches("the ").trim();
    match w {
        "provider" | "bank provider" | "external bank provider" => "provider".into(),
        "merchant" | "merchant's endpoint" | "merchant endpoint" | "webhook endpoint" => {
            "merchant".into()
        }
        other => other.to_owned(),
    }
}

/// `edge, payments, ledger, the provider and webhooks` → the node names.
pub(crate) fn node_list(text: &str) -> Vec<String> {
    text.split(',')
        .flat_map(|part| part.split(" and "))
        .map(node_name)
        .filter(|n| !n.is_empty())
        .collect()
}

/// Waits until the trace settles with `services` present, and then, within the same deadline,
/// until it is connected (a root and no span whose parent is missing): a parent span ends, and
/// so is exported, after its children, and may arrive after a quiet period. Past the deadline
/// the trace is returned as it is, for the checks to report.
pub(crate) async fn settle_connected(
    driver: &dyn drivers::Driver,
    trace_id: &TraceId,
    services: &[&str],
) -> anyhow::Result<Trace> {
    let expectation = Expectation::services(services.iter().copied());
    Ok(settle_expecting(driver, trace_id, expectation).await?.trace)
}

/// Like [`settle_connected`] for any `expectation` (its services, needed selectors and
/// completeness rule; the driver's deadline and quiet period replace its own), saying what
/// ended the wait.
pub(crate) async fn settle_expecting(
    driver: &dyn drivers::Driver,
    trace_id: &TraceId,
    expectation: Expectation,
) -> anyhow::Result<Settled> {
    let (timeout, quiet) = driver.settle_timing();
    let deadline = tokio::time::Instant::now() + timeout;
    let expectation = expectation.within(timeout).quiet_for(quiet);
    let fetcher = driver.traces();
    let mut settled = settle_outcome(fetcher.as_ref(), trace_id, &expectation).await?;
    while !is_connected(&settled.trace) && tokio::time::Instant::now() < deadline {
        fetcher
            .wait_for_more(trace_id, settled.trace.len(), deadline)
            .await;
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        settled = settle_outcome(
            fetcher.as_ref(),
            trace_id,
            &expectation.clone().within(left.max(quiet * 2)),
        )
        .await?;
    }
    context::count_trace_checked(matches!(settled.by, SettledBy::Structure(_)));
    Ok(settled)
}

/// Names for the outside systems a scenario talks to: its merchants' endpoints
/// (`merchant_urls`), and the provider as whatever payments called on `/transfers` in `trace`.
pub(crate) fn peers_of(merchant_urls: &[String], trace: &Trace) -> Peers {
    let mut peers = Peers::new();
    for url in merchant_urls {
        peers.add("merchant", url);
    }
    for span in &trace.spans {
        if !matches!(span.kind, SpanKind::Client) || span.service() != "payments" {
            continue;
        }
        let url = span
            .attr("url.full")
            .or_else(|| span.attr("http.url"))
            .map(|v| v.to_string());
        let path = span
            .attr("url.path")
            .map(|v| v.to_string())
            .unwrap_or_default();
        if let Some(url) = url.filter(|u| u.contains("/transfers")) {
            peers.add("provider", &url);
        } else if path.contains("/transfers") || span.name.contains("/transfers") {
            if let Some(host) = span.attr("server.address") {
                let port = span
                    .attr("server.port")
                    .map(|p| format!(":{p}"))
                    .unwrap_or_default();
                peers.add("provider", &format!("{host}{port}"));
            }
        }
    }
    peers
}

impl MinibankWorld {
    /// The trace id of the last answer: the one edge reports, else the one the harness started.
    pub(crate) fn current_trace_id(&self) -> anyhow::Result<TraceId> {
        let last = self.last()?;
        let id = last
            .trace_id()
            .with_context(|| format!("the last answer names no trace: {}", last.describe()))?;
        TraceId::parse(&id).map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Waits for `trace_id` to settle with these services present (and the harness's root).
    pub(crate) async fn settled(
        &self,
        trace_id: &TraceId,
        services: &[&str],
    ) -> anyhow::Result<Trace> {
        self.settled_for_check(trace_id, Expectation::services(services.iter().copied()))
            .await
    }

    /// Waits for `trace_id` to meet `expectation` for a check (see [`settle_expecting`]). The
    /// quiet period counts from the last change any earlier check of this scenario saw in the
    /// trace: a second check of a trace that stayed quiet waits no second quiet period.
    pub(crate) async fn settled_for_check(
        &self,
        trace_id: &TraceId,
        expectation: Expectation,
    ) -> anyhow::Result<Trace> {
        let driver = self.driver()?;
        if let Some(error) = self.last.as_ref().and_then(|l| l.export_error.as_ref()) {
            anyhow::bail!(
                "the harness could not export the trace's root span, so the trace has no root: {error}"
            );
        }
        let key = trace_id.to_string();
        let seen = self.traces_seen.lock().expect("not poisoned").get(&key).copied();
        let expectation = match seen {
            Some((count, since)) => expectation.seen(count, since),
            None => expectation,
        };
        let settled = settle_expecting(driver.as_ref(), trace_id, expectation).await?;
        self.traces_seen
            .lock()
            .expect("not poisoned")
            .insert(key, settled.unchanged_since);
        Ok(settled.trace)
    }

    /// The URLs of this scenario's merchants' endpoints.
    pub(crate) fn merchant_urls(&self) -> Vec<String> {
        self.actors
            .values()
            .filter_map(|actor| actor.endpoint.as_ref().map(|e| e.url()))
            .collect()
    }

    /// Names for the outside systems this scenario talks to (see [`peers_of`]).
    pub(crate) fn peers(&self, trace: &Trace) -> Peers {
        peers_of(&self.merchant_urls(), trace)
    }
}

/// Waits for the last request's trace and checks it visited every node named, in any order:
/// services (edge, auth, ledger, payments, webhooks) and outside systems (the provider, the
/// merchant's endpoint).
/// Example: Then the trace passes through edge, auth, payments, ledger, the provider and webhooks
#[then(regex = r"^the trace passes through (.+)$")]
async fn passes_through(world: &mut MinibankWorld, nodes: String) -> anyhow::Result<()> {
    let (trace, peers, nodes) = settled_with_nodes(world, &nodes, checks::visits_all).await?;
    let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
    checks::visits_all(&trace, &peers, &nodes)?;
    Ok(())
}

/// Waits for the last request's trace and checks those nodes were visited in that order
/// (others may come between).
/// Example: Then the trace visits edge, payments, ledger and the provider in that order
#[then(regex = r"^the trace visits (.+) in that order$")]
async fn visits_in_order(world: &mut MinibankWorld, nodes: String) -> anyhow::Result<()> {
    let (trace, peers, nodes) = settled_with_nodes(world, &nodes, checks::visits_in_order).await?;
    let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
    checks::visits_in_order(&trace, &peers, &nodes)?;
    Ok(())
}

/// A check of the nodes a trace visited.
type VisitCheck = fn(&Trace, &Peers, &[&str]) -> Result<(), checks::CheckFailure>;

/// The last request's trace, settled once the harness and every service among `nodes` (a
/// sentence's list) reported and `check` passes on it (or it went quiet); with the peers its
/// client spans name and the parsed node list.
async fn settled_with_nodes(
    world: &mut MinibankWorld,
    nodes: &str,
    check: VisitCheck,
) -> anyhow::Result<(Trace, Peers, Vec<String>)> {
    let nodes = node_list(nodes);
    let trace_id = world.current_trace_id()?;
    let mut services: Vec<&str> = vec!["harness"];
    services.extend(
        nodes
            .iter()
            .map(String::as_str)
            .filter(|n| drivers::SERVICES.contains(n)),
    );
    // Complete once passing: both sentences only ask for visits (in an order), which more
    // spans cannot undo, so a pass on a connected trace is final.
    let merchants = world.merchant_urls();
    let wanted = nodes.clone();
    let rule = Completeness::when(
        format!("the trace visits {}", nodes.join(", ")),
        move |trace| {
            let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
            check(trace, &peers_of(&merchants, trace), &wanted).is_ok()
        },
    );
    let expectation = Expectation::services(services).complete_when(Some(rule));
    let trace = world.settled_for_check(&trace_id, expectation).await?;
    let peers = world.peers(&trace);
    Ok((trace, peers, nodes))
}

/// Checks the last request's trace is one tree: a single root (the harness's own client span)
/// and no span whose parent is missing.
/// Example: Then the trace has one root and no orphan spans
#[then(expr = "the trace has one root and no orphan spans")]
async fn well_formed(world: &mut MinibankWorld) -> anyhow::Result<()> {
    let trace_id = world.current_trace_id()?;
    // No completeness rule: a span still to come may be a second root or an orphan, which
    // only a quiet period gives the chance to arrive.
    let trace = world.settled(&trace_id, &["harness", "edge"]).await?;
    let root = checks::single_root(&trace)?;
    anyhow::ensure!(
        root.service() == "harness",
        "the root should be the harness's client span, not {} '{}'\n{}",
        root.service(),
        root.name,
        harness::render::render_tree(&trace)
    );
    checks::no_orphans(&trace)?;
    Ok(())
}

/// Checks a span of the last request's trace carries an attribute with that value (as text).
/// Say `server span` or `client span` when a service has both kinds under one name (edge's
/// SERVER span `POST /v1/payments` and its CLIENT span calling payments on the same route).
/// Example: Then the server span "POST /v1/payments" in service "edge" has attribute "http.response.status_code" equal to "201"
#[then(
    regex = r#"^the (server |client |)span "([^"]*)" in service "([^"]*)" has attribute "([^"]*)" equal to "([^"]*)"$"#
)]
async fn span_attribute(
    world: &mut MinibankWorld,
    kind: String,
    name: String,
    service: String,
    key: String,
    value: String,
) -> anyhow::Result<()> {
    let trace_id = world.current_trace_id()?;
    let mut selector = SpanSelector::service(&service).named(&name);
    match kind.trim() {
        "server" => selector = selector.kind(SpanKind::Server),
        "client" => selector = selector.kind(SpanKind::Client),
        _ => {}
    }
    // Complete once passing: "a span has this attribute" only asks for a span to be there.
    let rule = {
        let (selector, key, value) = (selector.clone(), key.clone(), value.clone());
        Completeness::when(
            format!("a {selector} has {key}={value}"),
            move |trace| checks::span_attribute(trace, &selector, &key, &value).is_ok(),
        )
    };
    let expectation = Expectation::services(["harness", service.as_str()]).complete_when(Some(rule));
    let trace = world.settled_for_check(&trace_id, expectation).await?;
    checks::span_attribute(&trace, &selector, &key, &value)?;
    Ok(())
}

/// Checks edge continued the caller's trace: `traceresponse` names the trace id the harness sent.
/// Example: Then the traceresponse carries my trace id
#[then(expr = "the traceresponse carries my trace id")]
async fn continues_my_trace(world: &mut MinibankWorld) -> anyhow::Result<()> {
    let last = world.last()?;
    let mine = last
        .started_trace_id
        .as_deref()
        .context("the last request did not start a trace")?;
    let theirs = last
        .traceresponse_trace_id()
        .with_context(|| format!("no traceresponse header: {:?}", last.headers))?;
    anyhow::ensure!(
        theirs == mine,
        "edge answered in trace {theirs}, but I sent {mine}"
    );
    Ok(())
}

/// Sends a request with this exact `traceparent` header and starts no trace of the harness's
/// own (for invalid inbound contexts).
/// Example: When Alice sends GET "/v1/accounts/{Alice.account_id}" with the traceparent "00-00000000000000000000000000000000-00f067aa0ba902b7-01"
#[when(expr = "{actor} sends {method} {string} with the traceparent {string}")]
async fn sends_with_traceparent(
    world: &mut MinibankWorld,
    who: ActorName,
    method: Method,
    path: String,
    traceparent: String,
) -> anyhow::Result<()> {
    let caller = world.caller(&who.0)?;
    let mut request = Request::new(method.0, world.expand(&path)?);
    request.tracing = Tracing::SendTraceparent(traceparent);
    world.call(caller, request).await?;
    Ok(())
}

/// Checks edge ignored an invalid `traceparent` and started a fresh trace: `traceresponse`
/// names a valid new trace id, and that trace's root is edge's server span.
/// Example: Then the platform started a new trace
#[then(expr = "the platform started a new trace")]
async fn started_new_trace(world: &mut MinibankWorld) -> anyhow::Result<()> {
    let last = world.last()?.clone();
    let sent = last.sent_traceparent.clone().unwrap_or_default();
    let theirs = last
        .traceresponse_trace_id()
        .with_context(|| format!("no traceresponse header: {:?}", last.headers))?;
    let trace_id = TraceId::parse(theirs)
        .map_err(|e| anyhow::anyhow!("traceresponse has an invalid trace id: {e}"))?;
    anyhow::ensure!(
        !sent.contains(theirs),
        "edge kept the trace id of the invalid traceparent {sent:?}"
    );
    let driver = world.driver()?;
    // No completeness rule, as for "one root and no orphan spans".
    let trace = settle_connected(driver.as_ref(), &trace_id, &["edge"]).await?;
    let root = checks::single_root(&trace)?;
    anyhow::ensure!(
        root.service() == "edge" && root.kind == SpanKind::Server,
        "the new trace should start at edge's server span, not {} '{}'\n{}",
        root.service(),
        root.name,
        harness::render::render_tree(&trace)
    );
    checks::no_orphans(&trace)?;
    Ok(())
}

/// Checks every platform log line about the last request (found by its request id) carries
/// the request's trace id and a span id, and that there is at least one.
/// Needs: logs
/// Example: Then every log line of that request carries its trace id
#[then(expr = "every log line of that request carries its trace id")]
async fn logs_carry_trace_id(world: &mut MinibankWorld) -> anyhow::Result<()> {
    let driver = world.require(Capability::ReadLogs)?;
    let logs = driver.logs().context("the driver gives no log access")?;
    let last = world.last()?.clone();
    let request_id = last
        .request_id()
        .with_context(|| format!("no x-request-id: {}", last.describe()))?
        .to_owned();
    let trace_id = world.current_trace_id()?.to_string();
    let lines = crate::wait::until(
        &format!("log lines of request {request_id}"),
        world.patience(),
        || {
            let logs = logs.clone();
            let request_id = request_id.clone();
            async move {
                let lines = logs.lines_mentioning(&request_id).await;
                Ok(if lines.is_empty() {
                    Err("none yet".to_owned())
                } else {
                    Ok(lines)
                })
            }
        },
    )
    .await?;
    // `trace_id`/`span_id` at the top level, or under `fields` or `span` (tracing's JSON layout).
    let field = |line: &serde_json::Value, name: &str| -> Option<String> {
        [
            format!("/{name}"),
            format!("/fields/{name}"),
            format!("/span/{name}"),
        ]
        .iter()
        .find_map(|p| line.pointer(p).and_then(|v| v.as_str()).map(str::to_owned))
    };
    let carries = |line: &serde_json::Value| {
        field(line, "trace_id").as_deref() == Some(trace_id.as_str())
            && field(line, "span_id").is_some_and(|s| harness::model::SpanId::parse(&s).is_ok())
    };
    let bad: Vec<String> = lines
        .iter()
        .filter(|l| !carries(l))
        .map(|l| l.to_string())
        .collect();
    anyhow::ensure!(
        bad.is_empty(),
        "{} of {} log line(s) of request {request_id} lack trace_id {trace_id} or a span_id:\n{}",
        bad.len(),
        lines.len(),
        bad.join("\n")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_of_nodes_reads_like_a_sentence() {
        assert_eq!(
            node_list("edge, auth, payments, ledger, the provider and webhooks"),
            vec!["edge", "auth", "payments", "ledger", "provider", "webhooks"]
        );
        assert_eq!(
            node_list("webhooks and the merchant's endpoint"),
            vec!["webhooks", "merchant"]
        );
    }
}
