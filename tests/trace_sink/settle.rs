//! Settle: expected services + quiet period, late spans, deadline errors, and the structural
//! rules that end the wait without a quiet period.

use std::sync::Arc;
use std::time::Duration;

use harness::fetch::{InMemoryFetcher, JaegerFetcher};
use harness::selector::shape::TreePattern;
use harness::settle::{Completeness, Expectation, SettledBy, settle, settle_outcome};
use harness::store::TraceStore;
use tokio::time::Instant;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{export_request, http_client, span, trace_id};

fn quiet() -> Duration {
    Duration::from_millis(20)
}

#[tokio::test(start_paused = true)]
async fn settles_a_quiet_period_after_the_last_expected_service_reports() {
    let store = Arc::new(TraceStore::default());
    let fetcher = InMemoryFetcher::new(Arc::clone(&store));
    let writer = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            store.insert(vec![span(1, 1, "edge").build()]);
            tokio::time::sleep(Duration::from_millis(5)).await;
            store.insert(vec![span(1, 2, "payments").parent(1).build()]);
            Instant::now()
        })
    };
    let start = Instant::now();
    let expectation = Expectation::services(["edge", "payments"]).quiet_for(quiet());
    let trace = settle(&fetcher, &trace_id(1), &expectation)
        .await
        .expect("settles");
    let last_insert = writer.await.expect("writer");
    assert_eq!(trace.len(), 2);
    assert_eq!(
        Instant::now(),
        last_insert + quiet(),
        "woken by the store, then quiet"
    );
    assert_eq!(Instant::now() - start, Duration::from_millis(25));
}

#[tokio::test(start_paused = true)]
async fn a_late_span_inside_the_quiet_period_is_waited_for() {
    let store = Arc::new(TraceStore::default());
    let fetcher = InMemoryFetcher::new(Arc::clone(&store));
    store.insert(vec![span(2, 1, "edge").build()]);
    let writer = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(15)).await;
            store.insert(vec![span(2, 2, "webhooks").parent(1).build()]);
        })
    };
    let trace = settle(
        &fetcher,
        &trace_id(2),
        &Expectation::services(["edge"]).quiet_for(quiet()),
    )
    .await
    .expect("settles");
    writer.await.expect("writer");
    assert_eq!(trace.len(), 2, "the late webhooks span is included");
}

#[tokio::test(start_paused = true)]
async fn the_deadline_error_names_expected_reported_and_missing_services() {
    let store = Arc::new(TraceStore::default());
    let fetcher = InMemoryFetcher::new(Arc::clone(&store));
    store.insert(vec![
        span(3, 1, "edge").build(),
        span(3, 2, "payments").parent(1).build(),
    ]);
    let expectation = Expectation::services(["edge", "payments", "ledger"])
        .quiet_for(quiet())
        .within(Duration::from_secs(2));
    let start = Instant::now();
    let error = settle(&fetcher, &trace_id(3), &expectation)
        .await
        .expect_err("ledger never reports");
    assert_eq!(Instant::now() - start, Duration::from_secs(2));
    assert_eq!(error.missing().into_iter().collect::<Vec<_>>(), ["ledger"]);
    assert_eq!(error.span_count, 2);
    let text = error.to_string();
    assert!(
        text.contains("expected services [edge, ledger, payments]"),
        "{text}"
    );
    assert!(text.contains("reported [edge, payments]"), "{text}");
    assert!(text.contains("missing [ledger]"), "{text}");
    assert!(text.contains("2 span(s) arrived"), "{text}");
    assert!(
        text.contains("- payments: op-2"),
        "the tree is printed: {text}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_trace_that_never_arrives_fails_at_the_deadline() {
    let fetcher = InMemoryFetcher::new(Arc::new(TraceStore::default()));
    let expectation = Expectation::services(["edge"]).within(Duration::from_millis(500));
    let error = settle(&fetcher, &trace_id(4), &expectation)
        .await
        .expect_err("nothing");
    assert_eq!(error.span_count, 0);
    assert!(error.to_string().contains("reported [none]"), "{error}");
}

#[tokio::test]
async fn an_http_fetcher_fetches_again_until_late_spans_arrive_and_it_is_quiet() {
    let server = MockServer::start().await;
    let route = format!("/api/v3/traces/{}", trace_id(5));
    let first = harness::otlp::encode::traces_data(&[span(5, 1, "edge").build()]);
    let full = export_request(&[
        span(5, 1, "edge").build(),
        span(5, 2, "ledger").parent(1).build(),
    ]);
    // First two reads: only edge; afterwards: edge and ledger.
    Mock::given(method("GET"))
        .and(path(route.clone()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"result": serde_json::to_value(&first).unwrap()}),
            ),
        )
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"result": {"resourceSpans": serde_json::to_value(&full.resource_spans).unwrap()}}),
        ))
        .with_priority(2)
        .mount(&server)
        .await;
    let fetcher = JaegerFetcher::new(server.uri())
        .with_client(http_client())
        .with_poll_interval(Duration::from_millis(10));
    let expectation = Expectation::services(["edge"])
        .quiet_for(Duration::from_millis(30))
        .within(Duration::from_secs(5));
    let trace = settle(&fetcher, &trace_id(5), &expectation)
        .await
        .expect("settles");
    assert_eq!(
        trace.len(),
        2,
        "the span that arrived after the first fetch is there"
    );
    let reads = server.received_requests().await.expect("recorded").len();
    assert!(reads >= 4, "fetched again until quiet, {reads} reads");
}

#[tokio::test]
async fn when_the_backend_is_down_the_deadline_error_says_why() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let uri = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let fetcher = JaegerFetcher::new(uri)
        .with_client(http_client())
        .with_poll_interval(Duration::from_millis(20));
    let expectation = Expectation::services(["edge"]).within(Duration::from_millis(200));
    let error = settle(&fetcher, &trace_id(6), &expectation)
        .await
        .expect_err("nothing to read");
    assert!(error.last_fetch_error.is_some());
    let text = error.to_string();
    assert!(
        text.contains("read from jaeger at http://127.0.0.1:"),
        "{text}"
    );
    assert!(text.contains("last fetch failed: cannot read"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_settles_each_see_their_own_trace_complete() {
    let store = Arc::new(TraceStore::default());
    let fetcher = Arc::new(InMemoryFetcher::new(Arc::clone(&store)));
    let waiters: Vec<_> = (0..64u64)
        .map(|n| {
            let fetcher = Arc::clone(&fetcher);
            tokio::spawn(async move {
                let expectation = Expectation::services(["edge", "payments", "ledger"])
                    .quiet_for(Duration::ZERO)
                    .within(Duration::from_secs(10));
                settle(fetcher.as_ref(), &trace_id(n), &expectation).await
            })
        })
        .collect();
    let writers: Vec<_> = (0..64u64)
        .map(|n| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for (i, service) in ["edge", "payments", "ledger"].into_iter().enumerate() {
                    store.insert(vec![span(n, n * 10 + i as u64, service).build()]);
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer");
    }
    for (n, waiter) in waiters.into_iter().enumerate() {
        let trace = waiter.await.expect("waiter task").expect("settled");
        assert_eq!(trace.trace_id, trace_id(n as u64));
        assert_eq!(trace.services().len(), 3);
    }
}

fn selector(text: &str) -> harness::selector::Selector {
    harness::selector::Selector::parse(text).expect("a valid selector")
}

#[tokio::test(start_paused = true)]
async fn a_needed_span_arriving_long_after_the_quiet_period_is_waited_for() {
    let store = Arc::new(TraceStore::default());
    let fetcher = InMemoryFetcher::new(Arc::clone(&store));
    store.insert(vec![
        span(6, 1, "edge").build(),
        span(6, 2, "payments").parent(1).build(),
    ]);
    let writer = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            // The webhook is delivered asynchronously, well after the payment's spans went quiet.
            tokio::time::sleep(Duration::from_millis(300)).await;
            store.insert(vec![
                span(6, 3, "webhooks")
                    .parent(2)
                    .kind(harness::model::SpanKind::Client)
                    .build(),
            ]);
        })
    };
    let start = Instant::now();
    let base = Expectation::services(["edge", "payments"]).quiet_for(quiet());
    let early = settle(&fetcher, &trace_id(6), &base)
        .await
        .expect("settles");
    assert_eq!(
        early.len(),
        2,
        "without the need, the quiet period alone ends the wait before the webhook"
    );
    let needing = base.needing(selector(r#"span[service="webhooks" kind=client]"#));
    let trace = settle(&fetcher, &trace_id(6), &needing)
        .await
        .expect("settles");
    writer.await.expect("writer");
    assert_eq!(trace.len(), 3, "the webhook's delivery span is present");
    assert_eq!(Instant::now() - start, Duration::from_millis(320));
}

/// The provider's calls in trace 7.
fn provider_calls() -> harness::selector::Selector {
    selector(r#"span[service="payments" name="POST /transfers"]"#)
}

/// Settles trace 7 needing a provider call, with `rule`, while its 14 spans trickle in: a
/// first provider call at once, then ledger spans every 15 ms (faster than the quiet period),
/// a second provider call, and last the payments span they hang from and the root.
async fn settle_two_trickling_provider_calls(
    rule: Option<Completeness>,
) -> harness::settle::Settled {
    let store = Arc::new(TraceStore::default());
    let fetcher = InMemoryFetcher::new(Arc::clone(&store));
    let provider_call = |id: u64| {
        span(7, id, "payments")
            .parent(2)
            .name("POST /transfers")
            .kind(harness::model::SpanKind::Client)
            .build()
    };
    store.insert(vec![provider_call(3)]);
    let writer = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            for id in 10..20 {
                tokio::time::sleep(Duration::from_millis(15)).await;
                store.insert(vec![span(7, id, "ledger").parent(2).build()]);
            }
            tokio::time::sleep(Duration::from_millis(15)).await;
            store.insert(vec![provider_call(4)]);
            tokio::time::sleep(Duration::from_millis(15)).await;
            store.insert(vec![span(7, 2, "payments").parent(1).build()]);
            store.insert(vec![span(7, 1, "edge").build()]);
        })
    };
    let expectation = Expectation::services(["payments"])
        .quiet_for(quiet())
        .needing(provider_calls())
        .complete_when(rule);
    let settled = settle_outcome(&fetcher, &trace_id(7), &expectation)
        .await
        .expect("settles");
    writer.await.expect("writer");
    settled
}

#[tokio::test(start_paused = true)]
async fn a_trace_whose_spans_are_still_arriving_is_never_passed_early() {
    // The provider is called twice; the second call's span arrives last, while spans keep
    // trickling in faster than the quiet period. "Called exactly once" must see both calls.
    let trace = settle_two_trickling_provider_calls(None).await.trace;
    assert_eq!(
        trace.len(),
        14,
        "every span, the late provider call included"
    );
    let calls = provider_calls();
    assert_eq!(calls.select(&trace).len(), 2);
    let once = harness::selector::parse_assertions("count = 1").unwrap();
    let error = once[0]
        .check(&calls, &calls.run(&trace))
        .expect_err("two calls are not one");
    assert!(error.contains("selected 2 span(s)"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn the_deadline_error_names_the_deadline_and_what_is_still_missing() {
    let store = Arc::new(TraceStore::default());
    let fetcher = InMemoryFetcher::new(Arc::clone(&store));
    store.insert(vec![span(8, 1, "edge").build()]);
    let expectation = Expectation::services(["edge"])
        .quiet_for(quiet())
        .within(Duration::from_millis(750))
        .needing(selector(r#"span[service="webhooks" kind=client]"#));
    let error = settle(&fetcher, &trace_id(8), &expectation)
        .await
        .expect_err("the webhook never comes");
    assert_eq!(error.deadline, Duration::from_millis(750));
    assert_eq!(
        error.missing_needs,
        [r#"span[service="webhooks" kind=client]"#]
    );
    let text = error.to_string();
    assert!(text.contains("by its deadline of 750ms"), "{text}");
    assert!(
        text.contains(r#"still selecting nothing: `span[service="webhooks" kind=client]`"#),
        "{text}"
    );
}

/// A long quiet period: a wait it ends is visible in the outcome, and a structural rule that
/// ends the wait first is the only way to return before it.
fn long_quiet() -> Duration {
    Duration::from_secs(10)
}

/// A payment-shaped trace 9: harness -> edge -> payments -> ledger holds and captures.
fn payment_spans() -> Vec<harness::model::Span> {
    vec![
        span(9, 1, "harness").name("POST /v1/payments").build(),
        span(9, 2, "edge")
            .parent(1)
            .name("POST /v1/payments")
            .build(),
        span(9, 3, "payments")
            .parent(2)
            .name("POST /v1/payments")
            .build(),
        span(9, 4, "ledger").parent(3).name("POST /holds").build(),
        span(9, 5, "ledger")
            .parent(3)
            .name("POST /captures")
            .build(),
    ]
}

fn closed_tree() -> TreePattern {
    TreePattern::parse(
        "harness POST /v1/payments\n  edge POST /v1/payments\n    payments POST /v1/payments\n      ledger POST /holds\n      ledger POST /captures\n",
    )
    .expect("a valid tree")
}

fn tree_expectation() -> Expectation {
    Expectation::services(["harness"])
        .quiet_for(long_quiet())
        .within(Duration::from_secs(30))
        .complete_when(Completeness::tree(&closed_tree()))
}

#[tokio::test(start_paused = true)]
async fn a_closed_tree_that_matches_the_whole_trace_ends_the_wait_without_a_quiet_period() {
    let store = Arc::new(TraceStore::default());
    let fetcher = InMemoryFetcher::new(Arc::clone(&store));
    store.insert(payment_spans());
    let settled = settle_outcome(&fetcher, &trace_id(9), &tree_expectation())
        .await
        .expect("settles");
    assert_eq!(settled.trace.len(), 5);
    assert_eq!(
        settled.by,
        SettledBy::Structure("the closed tree of 5 span(s) matches the whole trace".into())
    );
}

#[tokio::test(start_paused = true)]
async fn a_closed_tree_met_but_for_one_missing_child_waits_the_quiet_period() {
    let store = Arc::new(TraceStore::default());
    let fetcher = InMemoryFetcher::new(Arc::clone(&store));
    let mut spans = payment_spans();
    spans.pop(); // ledger's capture never comes: connected, but not the whole tree
    store.insert(spans);
    let settled = settle_outcome(&fetcher, &trace_id(9), &tree_expectation())
        .await
        .expect("settles");
    assert_eq!(settled.trace.len(), 4);
    assert_eq!(settled.by, SettledBy::Quiet(long_quiet()));
}

#[tokio::test(start_paused = true)]
async fn a_missing_child_of_a_closed_tree_is_waited_for_and_then_ends_the_wait() {
    let store = Arc::new(TraceStore::default());
    let fetcher = InMemoryFetcher::new(Arc::clone(&store));
    let mut spans = payment_spans();
    let capture = spans.pop().expect("five spans");
    store.insert(spans);
    let writer = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(3)).await;
            store.insert(vec![capture]);
        })
    };
    let settled = settle_outcome(&fetcher, &trace_id(9), &tree_expectation())
        .await
        .expect("settles");
    writer.await.expect("writer");
    assert_eq!(settled.trace.len(), 5, "the late child is in");
    assert!(
        matches!(settled.by, SettledBy::Structure(_)),
        "{:?}",
        settled.by
    );
}

#[test]
fn a_tree_with_an_ellipsis_gives_no_completeness_rule() {
    let open = TreePattern::parse("harness POST /v1/payments\n  ...\n    ledger POST /holds\n")
        .expect("a valid tree");
    assert!(Completeness::tree(&open).is_none());
    assert!(Completeness::tree(&closed_tree()).is_some());
}

#[tokio::test(start_paused = true)]
async fn a_structural_rule_does_not_end_the_wait_while_a_span_still_misses_its_parent() {
    let store = Arc::new(TraceStore::default());
    let fetcher = InMemoryFetcher::new(Arc::clone(&store));
    // The held amount arrives before the payments span it hangs from.
    store.insert(vec![
        span(9, 1, "harness").name("POST /v1/payments").build(),
        span(9, 4, "ledger").parent(3).name("POST /holds").build(),
    ]);
    let holds = selector(r#"span[service="ledger" name="POST /holds"]"#);
    let expectation = Expectation::services(["harness"])
        .quiet_for(long_quiet())
        .within(Duration::from_secs(30))
        .complete_when(Completeness::exactly(holds, 1));
    let settled = settle_outcome(&fetcher, &trace_id(9), &expectation)
        .await
        .expect("settles");
    assert_eq!(
        settled.by,
        SettledBy::Quiet(long_quiet()),
        "an orphan span: the trace is not connected, so the count alone says nothing"
    );
}

#[tokio::test(start_paused = true)]
async fn an_exact_count_never_passes_early_a_trace_whose_spans_are_still_arriving() {
    // As above, with "exactly once" as the completeness rule: the first call alone never ends
    // the wait (its parent is not in yet), and the whole trace, with two calls, does not meet
    // it, so the wait ends quiet.
    let rule = Completeness::exactly(provider_calls(), 1);
    let settled = settle_two_trickling_provider_calls(rule).await;
    assert_eq!(
        settled.trace.len(),
        14,
        "every span, the late call included"
    );
    assert_eq!(provider_calls().select(&settled.trace).len(), 2);
    assert_eq!(settled.by, SettledBy::Quiet(quiet()));
}

#[tokio::test(start_paused = true)]
async fn a_check_that_only_asks_for_spans_to_be_there_ends_the_wait_once_it_passes() {
    let store = Arc::new(TraceStore::default());
    let fetcher = InMemoryFetcher::new(Arc::clone(&store));
    store.insert(payment_spans());
    let holds = selector(r#"span[service="ledger" name="POST /holds"]"#);
    let rule = Completeness::when("the hold is there", move |trace| {
        !holds.select(trace).is_empty()
    });
    let expectation = Expectation::services(["harness"])
        .quiet_for(long_quiet())
        .complete_when(Some(rule));
    let settled = settle_outcome(&fetcher, &trace_id(9), &expectation)
        .await
        .expect("settles");
    assert_eq!(settled.by, SettledBy::Structure("the hold is there".into()));
}

#[tokio::test(start_paused = true)]
async fn a_second_check_of_a_trace_that_stayed_quiet_waits_no_second_quiet_period() {
    let store = Arc::new(TraceStore::default());
    let fetcher = InMemoryFetcher::new(Arc::clone(&store));
    store.insert(payment_spans());
    let expectation =
        Expectation::services(["harness", "ledger"]).quiet_for(Duration::from_secs(1));
    let first = settle_outcome(&fetcher, &trace_id(9), &expectation)
        .await
        .expect("settles");
    assert_eq!(first.by, SettledBy::Quiet(Duration::from_secs(1)));
    let after_first = Instant::now();
    let (count, since) = first.unchanged_since;
    let second = settle_outcome(
        &fetcher,
        &trace_id(9),
        &expectation.clone().seen(count, since),
    )
    .await
    .expect("settles");
    assert_eq!(second.trace.len(), 5);
    assert_eq!(Instant::now(), after_first, "quiet since the first check");
    // A span that arrived since then starts the quiet period again.
    store.insert(vec![
        span(9, 6, "ledger")
            .parent(3)
            .name("POST /releases")
            .build(),
    ]);
    let third = settle_outcome(&fetcher, &trace_id(9), &expectation.seen(count, since))
        .await
        .expect("settles");
    assert_eq!(third.trace.len(), 6);
    assert_eq!(Instant::now() - after_first, Duration::from_secs(1));
}
