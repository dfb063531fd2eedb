//! The trace as the oracle: what the payment's spans must show.
//!
//! Sentences for analysts (expected spans in a table, a call count, no error, a latency
//! target, the webhook's delay, the trace's shape as a tree) and one for engineers, `spans
//! matching '<selector>' <assertion>`, whose selector language is documented in
//! `features/README.md`. Each check waits only until what it needs is in the trace (the spans
//! its rows, tree lines or selector name; the webhook's delivery span for the webhook's
//! timing) and the trace is connected, then until it is complete: at once when the check's
//! structure says so (a closed tree, an exact count, or a check that only asks for spans to
//! be there and passes: `harness::settle::Completeness`), else after a quiet period. A trace
//! still arriving is never passed early; past the deadline a check names the deadline and
//! what was missing. Failures name the rows
//! or selectors that matched nothing, the spans that came closest, and print the tree.

use anyhow::Context as _;
use cucumber::{gherkin::Step as GherkinStep, then};
use harness::{
    checks::Peers,
    model::{Span, SpanKind, StatusCode, Trace, TraceId},
    render::render_tree,
    selector::{
        self, Assertion, Key, Op, Predicate, Selector, Value,
        shape::{ExpectedSpan, TreePattern, expect_spans},
    },
};

use harness::settle::{Completeness, Expectation};

use crate::{MinibankWorld, params::ActorName};

/// A check's failure followed by the trace it looked at.
fn with_tree(message: impl std::fmt::Display, trace: &Trace) -> anyhow::Error {
    anyhow::anyhow!("{message}\n{}", render_tree(trace))
}

/// `span[service="ledger" name="POST /holds"]`.
fn named(service: &str, name: &str) -> Selector {
    Selector {
        steps: vec![selector::Step::with(vec![
            Predicate::eq(Key::Service, Value::Text(service.to_owned())),
            Predicate::eq(Key::Name, Value::Text(name.to_owned())),
        ])],
    }
}

/// Splits `'<selector>' <assertions>` the way the sentence's regex does: the selector runs to
/// the last `' `.
fn split_selector_sentence(rest: &str) -> Option<(&str, &str)> {
    let rest = rest.strip_prefix('\'')?;
    let cut = rest.rfind("' ")?;
    Some((&rest[..cut], &rest[cut + 2..]))
}

/// Reads the selector and its assertions, with errors that say which of the two is wrong.
fn read_selector_sentence(
    selector_text: &str,
    assertions_text: &str,
) -> Result<(Selector, Vec<Assertion>), String> {
    let selector = Selector::parse(selector_text)
        .map_err(|e| format!("the selector '{selector_text}' is not valid: {e}"))?;
    let assertions = selector::parse_assertions(assertions_text)
        .map_err(|e| format!("the assertion `{assertions_text}` is not valid: {e}"))?;
    Ok((selector, assertions))
}

/// When the check may end the wait without a quiet period: an exact count of at least one
/// states how many spans there are (more would contradict it); counts of "at least" alone only
/// ask for spans to be there, so a pass is final. Anything else (`count = 0`, `count <= n`,
/// every span's `duration`, an absent event) can be broken by a span still to come: quiet.
fn completeness(selector: &Selector, assertions: &[Assertion]) -> Option<Completeness> {
    let exact = assertions.iter().find_map(|a| match a {
        Assertion::Count(Op::Eq, n) if *n > 0 => Some(*n),
        _ => None,
    });
    if let Some(n) = exact {
        return Completeness::exactly(selector.clone(), usize::try_from(n).ok()?);
    }
    let only_at_least = assertions
        .iter()
        .all(|a| matches!(a, Assertion::Count(Op::Ge | Op::Gt, _)));
    only_at_least.then(|| {
        let (selector, assertions) = (selector.clone(), assertions.to_vec());
        Completeness::when(format!("`{selector}` holds enough spans"), move |trace| {
            let selection = selector.run(trace);
            assertions.iter().all(|a| a.check(&selector, &selection).is_ok())
        })
    })
}

/// True when the assertions can only hold if the selector selects something: then the check
/// waits for it.
fn needs_a_match(assertions: &[Assertion]) -> bool {
    assertions.iter().any(|a| match a {
        Assertion::Each(_) => true,
        Assertion::Count(op, n) => !op.holds(0u64.cmp(n)),
    })
}

/// Reads a table of expected spans: `service | span | at most | status` (the last two optional,
/// cells may be empty).
fn read_span_table(table: &cucumber::gherkin::Table) -> Result<Vec<ExpectedSpan>, String> {
    let mut rows = table.rows.iter();
    let header: Vec<String> = rows
        .next()
        .ok_or("the table is empty: give a header row `| service | span | at most | status |`")?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    let column = |name: &str| header.iter().position(|h| h == name);
    let (Some(service), Some(span)) = (column("service"), column("span")) else {
        return Err(format!(
            "the table needs the columns `service` and `span` (optionally `at most` and `status`), not {header:?}"
        ));
    };
    if let Some(unknown) = header
        .iter()
        .find(|h| !["service", "span", "at most", "status"].contains(&h.as_str()))
    {
        return Err(format!(
            "unknown column `{unknown}`: the columns are service, span, at most, status"
        ));
    }
    let mut expected = Vec::new();
    for (n, row) in rows.enumerate() {
        let cell = |at: Option<usize>| at.and_then(|i| row.get(i)).map(|c| c.trim()).unwrap_or("");
        let mut step = named(cell(Some(service)), cell(Some(span))).steps.remove(0);
        let at_most = cell(column("at most"));
        if !at_most.is_empty() {
            let nanos = selector::parse_duration(at_most)
                .map_err(|e| format!("row {}: `at most` {e}", n + 1))?;
            step.predicates.push(Predicate {
                key: Key::Duration,
                op: Op::Le,
                value: Value::Duration(nanos),
            });
        }
        let status = cell(column("status"));
        if !status.is_empty() {
            let code = StatusCode::parse(status).ok_or_else(|| {
                format!("row {}: status `{status}` is not ok, error or unset", n + 1)
            })?;
            step.predicates
                .push(Predicate::eq(Key::Status, Value::Status(code)));
        }
        expected.push(ExpectedSpan {
            label: format!("row {}", n + 1),
            step,
        });
    }
    if expected.is_empty() {
        return Err("the table has a header but no rows".into());
    }
    Ok(expected)
}

/// What `--check` can tell about a trace sentence without running it: a selector, an
/// assertion, a table or a tree that cannot be read. `None` when the step is not one of
/// these sentences or reads fine.
pub fn static_problem(step: &GherkinStep) -> Option<String> {
    let text = step.value.as_str();
    if let Some(rest) = text.strip_prefix("spans matching ") {
        let (selector, assertions) = split_selector_sentence(rest)?;
        return read_selector_sentence(selector, assertions).err();
    }
    if text == "the payment's trace has these spans:" {
        return match &step.table {
            None => Some("this sentence needs a table: | service | span | at most | status |".into()),
            Some(table) => read_span_table(table).err(),
        };
    }
    if text == "the trace looks like:" {
        return match &step.docstring {
            None => Some("this sentence needs a doc string (\"\"\" ... \"\"\") with the tree".into()),
            Some(tree) => TreePattern::parse(tree).err().map(|e| e.to_string()),
        };
    }
    None
}

impl MinibankWorld {
    /// The trace of the last payment request.
    fn payment_trace_id(&self) -> anyhow::Result<TraceId> {
        let answer = &self.last_payment()?.answer;
        let id = answer
            .trace_id()
            .with_context(|| format!("the payment's answer names no trace: {}", answer.describe()))?;
        TraceId::parse(&id).map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// The trace `trace_id`, once the harness's root span and every `needs` selector are in it,
    /// it is connected, and either `complete` holds (the check's structure says the trace is
    /// complete) or it went quiet.
    async fn trace_needing(
        &self,
        trace_id: &TraceId,
        needs: Vec<Selector>,
        complete: Option<Completeness>,
    ) -> anyhow::Result<Trace> {
        let expectation = needs
            .into_iter()
            .fold(Expectation::services(["harness"]), Expectation::needing)
            .complete_when(complete);
        self.settled_for_check(trace_id, expectation).await
    }
}

/// Checks the spans a selector selects in the last request's trace: `count`, `duration`,
/// `status`, `attr KEY` or any other predicate, joined by `and` (the language is in
/// features/README.md). Waits until the selector selects something when the assertion needs it.
/// Example: Then spans matching 'span[service="ledger" name="POST /holds"]' count = 1 and duration < 2000ms
#[then(regex = r"^spans matching '(.+)' (.+)$")]
async fn spans_matching(
    world: &mut MinibankWorld,
    selector_text: String,
    assertions_text: String,
) -> anyhow::Result<()> {
    let (selector, assertions) =
        read_selector_sentence(&selector_text, &assertions_text).map_err(anyhow::Error::msg)?;
    let trace_id = world.current_trace_id()?;
    let needs = if needs_a_match(&assertions) {
        vec![selector.clone()]
    } else {
        Vec::new()
    };
    let complete = completeness(&selector, &assertions);
    let trace = world.trace_needing(&trace_id, needs, complete).await?;
    let selection = selector.run(&trace);
    for assertion in &assertions {
        assertion
            .check(&selector, &selection)
            .map_err(|e| with_tree(e, &trace))?;
    }
    Ok(())
}

/// Checks the payment's trace holds each span of the table, in any order: a row is found when
/// one span has that service and name, took at most that long and has that status (`at most`
/// and `status` may be left empty or out).
/// Example: Then the payment's trace has these spans:
#[then(expr = "the payment's trace has these spans:")]
async fn has_these_spans(world: &mut MinibankWorld, step: &GherkinStep) -> anyhow::Result<()> {
    let table = step
        .table
        .as_ref()
        .context("this sentence needs a table: | service | span | at most | status |")?;
    let rows = read_span_table(table).map_err(anyhow::Error::msg)?;
    let needs = rows
        .iter()
        .map(|row| Selector {
            steps: vec![selector::Step::with(
                row.step
                    .predicates
                    .iter()
                    .filter(|p| matches!(p.key, Key::Service | Key::Name))
                    .cloned()
                    .collect(),
            )],
        })
        .collect();
    let trace_id = world.payment_trace_id()?;
    // Complete once passing: each row only asks for a span to be there.
    let complete = {
        let rows = rows.clone();
        Completeness::when(
            format!("every row of the table ({}) matches a span", rows.len()),
            move |trace| expect_spans(trace, &rows).is_ok(),
        )
    };
    let trace = world.trace_needing(&trace_id, needs, Some(complete)).await?;
    expect_spans(&trace, &rows).map_err(|e| with_tree(e, &trace))
}

/// How many requests `node` got in the trace: a minibank service counts its SERVER spans; the
/// provider or a merchant counts the CLIENT spans calling it, each with the resends it made
/// (`http.request.resend_count`), so a retried call counts every attempt.
fn calls_to(trace: &Trace, peers: &Peers, node: &str) -> Vec<(String, u64)> {
    trace
        .spans
        .iter()
        .filter_map(|span: &Span| {
            let label = harness::span_label::span_label(span);
            if drivers::SERVICES.contains(&node) {
                (span.service() == node && span.kind == SpanKind::Server).then_some((label, 1))
            } else {
                let resends = span
                    .attr("http.request.resend_count")
                    .and_then(|v| v.as_i64())
                    .unwrap_or(0)
                    .max(0) as u64;
                (span.kind == SpanKind::Client && peers.targets(span, node))
                    .then_some((label, 1 + resends))
            }
        })
        .collect()
}

async fn check_calls(world: &MinibankWorld, node: &str, op: Op, wanted: u64) -> anyhow::Result<()> {
    let node = crate::traces::node_list(node)
        .pop()
        .context("name a service, the provider or the merchant")?;
    let trace_id = world.current_trace_id()?;
    let needs = if drivers::SERVICES.contains(&node.as_str()) && wanted > 0 && op != Op::Le {
        vec![Selector::parse(&format!("span[service=\"{node}\" kind=server]"))?]
    } else {
        Vec::new()
    };
    // "Exactly N" (N at least 1) states how many calls there are: complete once there are N.
    // "At most N" cannot say when the calls are all in: quiet.
    let complete = (op == Op::Eq && wanted > 0).then(|| {
        let (merchants, node) = (world.merchant_urls(), node.clone());
        Completeness::when(format!("{node} is called exactly {wanted} time(s)"), move |trace| {
            let peers = crate::traces::peers_of(&merchants, trace);
            calls_to(trace, &peers, &node).iter().map(|(_, n)| n).sum::<u64>() == wanted
        })
    });
    let trace = world.trace_needing(&trace_id, needs, complete).await?;
    let peers = world.peers(&trace);
    let calls = calls_to(&trace, &peers, &node);
    let count: u64 = calls.iter().map(|(_, n)| n).sum();
    if op.holds(count.cmp(&wanted)) {
        return Ok(());
    }
    let listed: Vec<String> = calls
        .iter()
        .map(|(label, n)| format!("  {label}: {n} request(s)"))
        .collect();
    Err(with_tree(
        format!(
            "{node} was called {count} time(s) in the trace, where {} was wanted:\n{}",
            match op {
                Op::Eq => format!("exactly {wanted}"),
                _ => format!("at most {wanted}"),
            },
            listed.join("\n")
        ),
        &trace,
    ))
}

/// Checks the node got exactly one request in the last request's trace: a retried call counts
/// every attempt (see `calls_to`).
/// Example: Then the provider is called exactly once in the trace
#[then(regex = r"^(.+) is called exactly once in the trace$")]
async fn called_once(world: &mut MinibankWorld, node: String) -> anyhow::Result<()> {
    check_calls(world, &node, Op::Eq, 1).await
}

/// Checks the node got at most that many requests in the last request's trace, every retry
/// attempt counted.
/// Example: Then the ledger is called at most 3 times in the trace
#[then(regex = r"^(.+) is called at most (\d+) times? in the trace$")]
async fn called_at_most(world: &mut MinibankWorld, node: String, most: u64) -> anyhow::Result<()> {
    check_calls(world, &node, Op::Le, most).await
}

/// Checks no span of the last request's trace, once complete, has error status.
/// Example: Then no span in the trace has an error
#[then(expr = "no span in the trace has an error")]
async fn no_error_spans(world: &mut MinibankWorld) -> anyhow::Result<()> {
    let trace_id = world.current_trace_id()?;
    // No completeness rule: an error span may still be on its way, only quiet can tell.
    let trace = world.trace_needing(&trace_id, Vec::new(), None).await?;
    harness::checks::no_errors(&trace)?;
    Ok(())
}

/// Checks a span of that service and name in the last request's trace has error status, with
/// that text in its status message.
/// Example: Then the span "POST /transfers" in payments has an error "500"
#[then(expr = "the span {string} in {word} has an error {string}")]
async fn span_has_error(
    world: &mut MinibankWorld,
    name: String,
    service: String,
    message: String,
) -> anyhow::Result<()> {
    let selector = named(&service, &name);
    let trace_id = world.current_trace_id()?;
    let has_error = {
        let (selector, message) = (selector.clone(), message.clone());
        move |trace: &Trace| {
            selector
                .select(trace)
                .iter()
                .any(|s| s.is_error() && s.status.message.contains(&message))
        }
    };
    // Complete once passing: the sentence only asks for one such span to be there.
    let complete = Completeness::when(
        format!("a `{selector}` span has an error mentioning {message:?}"),
        has_error.clone(),
    );
    let trace = world
        .trace_needing(&trace_id, vec![selector.clone()], Some(complete))
        .await?;
    let selection = selector.run(&trace);
    let hit = has_error(&trace);
    if hit {
        return Ok(());
    }
    let found: Vec<String> = selection
        .spans
        .iter()
        .map(|s| format!("  status {} {:?}", s.status.code, s.status.message))
        .collect();
    Err(with_tree(
        format!(
            "no `{selector}` span has an error mentioning {message:?}; found:\n{}",
            found.join("\n")
        ),
        &trace,
    ))
}

/// Checks every span of that service with that name in the payment's trace took less than
/// that many milliseconds (the service's own span, from its start to its end).
/// Example: Then the ledger's "POST /holds" span takes less than 50 ms
#[then(regex = r#"^the (\S+)'s "([^"]+)" span takes less than (\d+) ms$"#)]
async fn span_takes_less_than(
    world: &mut MinibankWorld,
    service: String,
    name: String,
    millis: u64,
) -> anyhow::Result<()> {
    let selector = named(&service, &name);
    let trace_id = world.payment_trace_id()?;
    // No completeness rule: it is about every such span, and another may still come.
    let trace = world
        .trace_needing(&trace_id, vec![selector.clone()], None)
        .await?;
    let assertion = Assertion::Each(Predicate {
        key: Key::Duration,
        op: Op::Lt,
        value: Value::Duration(millis * 1_000_000),
    });
    assertion
        .check(&selector, &selector.run(&trace))
        .map_err(|e| with_tree(e, &trace))
}

/// The webhook delivery the merchant received (its `traceparent` names the delivery's CLIENT
/// span) and the payment request's root span, each from its settled trace, and how the two
/// are related: `child` (the delivery continues the payment's trace) or `linked` (a trace of
/// its own, with a span link back to the payment's).
struct Delivery {
    payment_root: Span,
    span: Span,
    relation: &'static str,
    trace: Trace,
}

async fn webhook_delivery(world: &MinibankWorld) -> anyhow::Result<Delivery> {
    let webhook = world
        .webhook
        .as_ref()
        .context("no webhook received yet: say `Then \"Acme Coffee\" receives a payment.settled webhook for the payment` first")?;
    let traceparent = webhook
        .headers
        .iter()
        .find(|(k, _)| k == "traceparent")
        .map(|(_, v)| v.clone())
        .context("the webhook has no traceparent header")?;
    let mut parts = traceparent.split('-').skip(1);
    let (Some(trace), Some(span)) = (parts.next(), parts.next()) else {
        anyhow::bail!("the webhook's traceparent {traceparent:?} is not W3C");
    };
    let delivery_trace = TraceId::parse(trace).map_err(|e| anyhow::anyhow!("{e}"))?;
    let delivery_span = harness::model::SpanId::parse(span).map_err(|e| anyhow::anyhow!("{e}"))?;
    let payment_trace = world.payment_trace_id()?;
    let delivery_need = Selector::parse(r#"span[service="webhooks" kind=client]"#)?;
    // Complete once the delivery span the merchant named is in: its timing and its relation
    // to the payment (on a connected trace) are then fixed.
    let delivered = {
        let delivery_span = delivery_span.clone();
        Completeness::when(
            format!("the delivery span {delivery_span} is in the trace"),
            move |trace| trace.span(&delivery_span).is_some(),
        )
    };
    let trace = world
        .trace_needing(&delivery_trace, vec![delivery_need], Some(delivered))
        .await?;
    let span = trace.span(&delivery_span).cloned().ok_or_else(|| {
        with_tree(
            format!("the webhook's traceparent names span {delivery_span}, which is not in trace {delivery_trace}"),
            &trace,
        )
    })?;
    let payment = if delivery_trace == payment_trace {
        trace.clone()
    } else {
        // Only its root is read, which a connected trace has: complete once connected.
        let rooted = Completeness::when("the trace has its root", |_| true);
        world
            .trace_needing(&payment_trace, Vec::new(), Some(rooted))
            .await?
    };
    let payment_root = payment
        .roots()
        .into_iter()
        .find(|s| s.service() == "harness")
        .cloned()
        .ok_or_else(|| with_tree("the payment's trace has no root span of the harness", &payment))?;
    let mut ancestor = trace.parent_of(&span);
    let mut is_child = false;
    for _ in 0..trace.len() {
        match ancestor {
            Some(a) if a.span_id == payment_root.span_id => {
                is_child = true;
                break;
            }
            Some(a) => ancestor = trace.parent_of(a),
            None => break,
        }
    }
    let linked = span.links.iter().any(|l| l.trace_id == payment_trace);
    let relation = match (is_child, linked) {
        (true, _) => "child",
        (false, true) => "linked",
        (false, false) => "unrelated",
    };
    Ok(Delivery {
        payment_root,
        span,
        relation,
        trace,
    })
}

impl Delivery {
    fn relation_text(&self) -> &'static str {
        match self.relation {
            "child" => "a child of the payment's trace (same trace, under the payment request)",
            "linked" => "in a trace of its own, linked to the payment's trace",
            _ => "neither a child of nor linked to the payment's trace",
        }
    }
}

/// Checks the merchant's webhook was delivered within that many milliseconds of the payment
/// request: from the start of the harness's payment request span to the end of the webhook
/// delivery span the merchant received (named by its `traceparent`), across the async hop.
/// Needs: merchant-endpoints
/// Example: Then "Acme Coffee" receives the webhook within 500 ms of the payment request
#[then(expr = "{actor} receives the webhook within {int} ms of the payment request")]
async fn webhook_within(world: &mut MinibankWorld, _who: ActorName, millis: u64) -> anyhow::Result<()> {
    let delivery = webhook_delivery(world).await?;
    let took = delivery
        .span
        .end_unix_nanos
        .saturating_sub(delivery.payment_root.start_unix_nanos);
    anyhow::ensure!(
        took < millis * 1_000_000,
        "{}",
        with_tree(
            format!(
                "the webhook was delivered {} after the payment request, where less than {millis} ms was wanted (the delivery is {})",
                selector::format_nanos(took),
                delivery.relation_text()
            ),
            &delivery.trace
        )
    );
    Ok(())
}

/// Checks how the webhook delivery relates to the payment's trace: a child (it continues the
/// trace) or linked (a trace of its own with a span link back); a failure says which it is.
/// Needs: merchant-endpoints
/// Example: Then the webhook delivery is a child of the payment's trace
#[then(regex = r"^the webhook delivery is (a child of|linked to) the payment's trace$")]
async fn delivery_relation(world: &mut MinibankWorld, wanted: String) -> anyhow::Result<()> {
    let delivery = webhook_delivery(world).await?;
    let wanted = if wanted == "a child of" { "child" } else { "linked" };
    anyhow::ensure!(
        delivery.relation == wanted,
        "{}",
        with_tree(
            format!("the webhook delivery is {}", delivery.relation_text()),
            &delivery.trace
        )
    );
    Ok(())
}

/// Checks the last request's trace has this shape: one `service span name` per line, indented
/// under its parent; children in any order; a span's children must all be listed unless a
/// `...` line stands among them (lines indented under `...` may be at any depth below).
/// Example: Then the trace looks like:
#[then(expr = "the trace looks like:")]
async fn trace_looks_like(world: &mut MinibankWorld, step: &GherkinStep) -> anyhow::Result<()> {
    let text = step
        .docstring
        .as_ref()
        .context("this sentence needs a doc string (\"\"\" ... \"\"\") with the tree")?;
    let pattern = TreePattern::parse(text)?;
    let mut needs = Vec::new();
    let mut stack: Vec<&harness::selector::shape::Node> = pattern.roots.iter().collect();
    while let Some(node) = stack.pop() {
        use harness::selector::shape::Node;
        match node {
            Node::Span {
                service,
                name,
                children,
                ..
            } => {
                needs.push(named(service, name));
                stack.extend(children);
            }
            Node::Any { children, .. } => stack.extend(children),
        }
    }
    let trace_id = world.current_trace_id()?;
    // A closed tree (no `...`) lists every span: complete once it matches the whole trace. A
    // tree with `...` says only part of it: quiet.
    let complete = Completeness::tree(&pattern);
    let trace = world.trace_needing(&trace_id, needs, complete).await?;
    pattern.check(&trace).map_err(|e| with_tree(e, &trace))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_selector_runs_to_the_last_quote_before_the_assertion() {
        assert_eq!(
            split_selector_sentence(r#"'span[name="it's"]' count = 1"#),
            Some((r#"span[name="it's"]"#, "count = 1"))
        );
        assert_eq!(split_selector_sentence("span count = 1"), None);
    }

    #[test]
    fn a_bad_selector_or_assertion_says_which_and_where() {
        let e = read_selector_sentence("span[service=]", "count = 1").unwrap_err();
        assert!(e.starts_with("the selector 'span[service=]' is not valid: column 14"), "{e}");
        let e = read_selector_sentence("span", "count == 1").unwrap_err();
        assert!(e.contains("assertion `count == 1` is not valid: column 8"), "{e}");
    }

    #[test]
    fn only_exact_and_at_least_counts_can_end_the_wait_without_a_quiet_period() {
        let ledger = Selector::parse(r#"span[service="ledger"]"#).unwrap();
        let rule = |t: &str| {
            completeness(&ledger, &selector::parse_assertions(t).unwrap()).map(|c| c.to_string())
        };
        assert_eq!(
            rule("count = 2 and status != error").as_deref(),
            Some(r#"`span[service="ledger"]` selects exactly 2 span(s)"#)
        );
        assert!(rule("count >= 1").is_some());
        for quiet in ["count = 0", "count <= 2", "duration < 5ms", "count >= 1 and status != error"] {
            assert!(rule(quiet).is_none(), "{quiet}");
        }
    }

    #[test]
    fn only_assertions_that_need_a_span_wait_for_one() {
        let read = |t: &str| selector::parse_assertions(t).unwrap();
        assert!(needs_a_match(&read("count = 1")));
        assert!(needs_a_match(&read("duration < 5ms")));
        assert!(!needs_a_match(&read("count = 0")));
        assert!(!needs_a_match(&read("count <= 2")));
    }
}
