//! Selector benchmark: the cost of running a selector (and an assertion) over a 1,000-span
//! trace, and the settle latency per kind of expectation in-process.
//!
//! Run: `cargo run --release --example selector_bench` (figures go to stdout; one run's are
//! kept in BENCHMARKS.md, section "Trace selectors"). Instruction counts:
//! `valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.selector target/release/examples/selector_bench quick`
//! then `callgrind_annotate /tmp/cg.selector | head -30` (`quick` runs each selector 20 times
//! and skips the settle part, so the count is per 20 selections plus building the trace).
//! `quick N` runs only the N-th selector (1-5; 0: none, the cost of building the trace), so
//! one selector's count is its run's total less the `quick 0` one.
//!
//! Method
//! - The trace: 1,000 spans, 10 services, a tree of depth up to 8 (each span's parent is
//!   an earlier span), ~4 attributes each. Each selector is parsed once and run `RUNS` times;
//!   the figure is the median wall time of one run (parse excluded).
//! - Settle latency: the spans of a payment-shaped trace are inserted into an in-memory store
//!   after the settle started; latency is from the last insert to `settle` returning, with a
//!   zero quiet period (the notification path alone) and the default 20 ms one. Kinds: the
//!   services alone; plus one needed selector (the webhook's delivery span, inserted last);
//!   a closed tree naming every span (structural: complete once it matches, so no quiet
//!   period is waited; also run with the local staging profile's 1 s quiet period to show
//!   it is not waited). Each settle's outcome is checked: quiet for the first two kinds,
//!   structure for the tree.

use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::fetch::InMemoryFetcher;
use harness::model::{
    AttrValue, Attributes, Resource, Span, SpanId, SpanKind, SpanStatus, StatusCode, Trace, TraceId,
};
use harness::selector::shape::TreePattern;
use harness::selector::{Selector, parse_assertions};
use harness::settle::{Completeness, DEFAULT_QUIET_PERIOD, Expectation, SettledBy, settle_outcome};
use harness::store::TraceStore;

const RUNS: usize = 200;
const SETTLE_RUNS: usize = 100;
const SERVICES: [&str; 10] = [
    "harness", "edge", "auth", "payments", "ledger", "webhooks", "s6", "s7", "s8", "s9",
];

fn span(trace: u64, n: u64, parent: Option<u64>, service: &str, name: &str) -> Span {
    let mut attributes = Attributes::new();
    attributes.insert(
        "http.request.method".into(),
        AttrValue::String("POST".into()),
    );
    attributes.insert(
        "http.response.status_code".into(),
        AttrValue::Int(200 + (n % 3) as i64),
    );
    attributes.insert("url.template".into(), AttrValue::String(name.into()));
    attributes.insert("peer.service".into(), AttrValue::String(service.into()));
    Span {
        trace_id: TraceId::parse(&format!("{trace:032x}")).expect("id"),
        span_id: SpanId::parse(&format!("{n:016x}")).expect("id"),
        parent_span_id: parent.map(|p| SpanId::parse(&format!("{p:016x}")).expect("id")),
        resource: Arc::new(Resource::service(service)),
        scope: None,
        name: name.into(),
        kind: if n % 2 == 0 {
            SpanKind::Server
        } else {
            SpanKind::Client
        },
        start_unix_nanos: 1_000_000_000 + n * 10_000,
        end_unix_nanos: 1_000_000_000 + n * 10_000 + (n % 97) * 1_000_000,
        attributes,
        status: SpanStatus {
            code: if n % 50 == 0 {
                StatusCode::Error
            } else {
                StatusCode::Unset
            },
            message: String::new(),
        },
        events: Vec::new(),
        links: Vec::new(),
    }
}

fn big_trace() -> Trace {
    let spans = (1..=1000u64)
        .map(|n| {
            // Parent: a recent earlier span, so depth stays bounded (~8).
            let parent = (n > 1).then(|| n - 1 - (n * 7919) % (n - 1).min(8));
            let service = SERVICES[(n % 10) as usize];
            span(1, n, parent, service, &format!("POST /op{}", n % 25))
        })
        .collect();
    Trace::new(TraceId::parse(&format!("{:032x}", 1)).expect("id"), spans)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

const SELECTORS: [&str; 5] = [
    r#"span[service="ledger" name="POST /op3"]"#,
    r#"span[service="ledger" http.response.status_code>=201 duration<50ms]"#,
    r#"span[service="edge"] span[service="ledger"]"#,
    r#"span[service="payments"] > span[kind=server]:first"#,
    "span:nth(500) span:last",
];

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "quick");
    let only: Option<usize> = args.last().and_then(|a| a.parse().ok());
    let trace = big_trace();
    let runs = if quick { 20 } else { RUNS };
    println!(
        "selector over a {}-span trace ({runs} runs each, median):",
        trace.len()
    );
    for (n, text) in SELECTORS.into_iter().enumerate() {
        if only.is_some_and(|only| only != n + 1) {
            continue;
        }
        let selector = Selector::parse(text).expect("valid");
        let count = parse_assertions("count >= 0").expect("valid");
        let mut samples = Vec::with_capacity(runs);
        let mut selected = 0;
        for _ in 0..runs {
            let started = Instant::now();
            let selection = selector.run(&trace);
            count[0].check(&selector, &selection).expect("holds");
            selected = selection.spans.len();
            samples.push(started.elapsed());
        }
        println!(
            "  {:>10.1?}  {selected:>4} selected  {text}",
            median(samples)
        );
    }
    if quick {
        return;
    }
    let tree = TreePattern::parse(
        "edge POST /v1/payments\n  payments POST /v1/payments\n    ledger POST /holds\n",
    )
    .expect("valid");
    let kinds = [
        (
            "services only",
            Kind::Services,
            vec![Duration::ZERO, DEFAULT_QUIET_PERIOD],
        ),
        (
            "services + needed selector",
            Kind::Needing,
            vec![Duration::ZERO, DEFAULT_QUIET_PERIOD],
        ),
        (
            "closed tree, structural",
            Kind::Tree,
            vec![DEFAULT_QUIET_PERIOD, Duration::from_secs(1)],
        ),
    ];
    for (label, kind, quiets) in kinds {
        for quiet in quiets {
            let mut samples = Vec::with_capacity(SETTLE_RUNS);
            for run in 0..SETTLE_RUNS as u64 {
                let store = Arc::new(TraceStore::default());
                let fetcher = InMemoryFetcher::new(Arc::clone(&store));
                let trace_id = TraceId::parse(&format!("{:032x}", run + 2)).expect("id");
                let mut expectation =
                    Expectation::services(["edge", "payments", "ledger"]).quiet_for(quiet);
                match kind {
                    Kind::Services => {}
                    Kind::Needing => {
                        expectation = expectation.needing(
                            Selector::parse(r#"span[service="webhooks" kind=client]"#)
                                .expect("valid"),
                        )
                    }
                    Kind::Tree => {
                        expectation = expectation.complete_when(Completeness::tree(&tree))
                    }
                }
                let waiter = tokio::spawn(async move {
                    let settled = settle_outcome(&fetcher, &trace_id, &expectation)
                        .await
                        .expect("settles");
                    (Instant::now(), settled.by)
                });
                tokio::task::yield_now().await;
                let mut spans = vec![
                    span(run + 2, 1, None, "edge", "POST /v1/payments"),
                    span(run + 2, 2, Some(1), "payments", "POST /v1/payments"),
                    span(run + 2, 4, Some(2), "ledger", "POST /holds"),
                ];
                if kind == Kind::Needing {
                    spans.push(span(run + 2, 3, Some(2), "webhooks", "POST"));
                }
                let mut last = Instant::now();
                for s in spans {
                    last = Instant::now();
                    store.insert(vec![s]);
                }
                let (done, by) = waiter.await.expect("waiter");
                assert_eq!(
                    matches!(by, SettledBy::Structure(_)),
                    kind == Kind::Tree,
                    "{label}: settled by {by:?}"
                );
                samples.push(done.saturating_duration_since(last));
            }
            println!(
                "settle, {label}, quiet {quiet:?}: median {:.2?} from the last span ({SETTLE_RUNS} runs)",
                median(samples)
            );
        }
    }
}

/// The kinds of expectation whose settle latency is measured.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Services,
    Needing,
    Tree,
}
