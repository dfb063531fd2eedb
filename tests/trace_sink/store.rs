//! The trace store: indexing, duplicates, bounds with eviction, notification.

use std::sync::Arc;
use std::time::Duration;

use harness::store::{StoreConfig, TraceStore, span_bytes};
use tokio::time::Instant;

use crate::support::{span, trace_id};

#[test]
fn spans_are_grouped_by_trace_and_duplicates_ignored() {
    let store = TraceStore::new(StoreConfig::default());
    let outcome = store.insert(vec![
        span(1, 1, "edge").build(),
        span(1, 2, "payments").parent(1).build(),
        span(2, 3, "ledger").build(),
        span(1, 1, "edge").build(),
    ]);
    assert_eq!((outcome.accepted, outcome.duplicates), (3, 1));
    let trace = store.get(&trace_id(1)).expect("trace 1 stored");
    assert_eq!(trace.len(), 2);
    assert_eq!(store.span_count(&trace_id(2)), 1);
    assert!(store.get(&trace_id(3)).is_none());
    assert_eq!(
        store.services().into_iter().collect::<Vec<_>>(),
        ["edge", "ledger", "payments"]
    );
    let stats = store.stats();
    assert_eq!(
        (stats.traces, stats.spans, stats.duplicate_spans),
        (2, 3, 1)
    );
}

#[test]
fn oldest_traces_are_evicted_beyond_the_limit_and_counted() {
    let store = TraceStore::new(StoreConfig {
        max_spans: 4,
        ..StoreConfig::default()
    });
    store.insert(vec![span(1, 1, "a").build(), span(1, 2, "a").build()]);
    store.insert(vec![span(2, 3, "a").build(), span(2, 4, "a").build()]);
    store.insert(vec![span(3, 5, "a").build()]);
    assert!(store.get(&trace_id(1)).is_none(), "oldest trace evicted");
    assert!(store.get(&trace_id(2)).is_some());
    assert!(store.get(&trace_id(3)).is_some());
    let stats = store.stats();
    assert_eq!(stats.max_spans, 4);
    assert_eq!((stats.evicted_traces, stats.evicted_spans), (1, 2));
    assert!(stats.spans <= 4);
}

#[test]
fn a_single_trace_never_evicts_itself_and_its_overflow_is_dropped() {
    let store = TraceStore::new(StoreConfig {
        max_spans: 3,
        ..StoreConfig::default()
    });
    let outcome = store.insert((0..5).map(|i| span(1, i, "a").build()));
    assert_eq!((outcome.accepted, outcome.dropped), (3, 2));
    assert_eq!(store.span_count(&trace_id(1)), 3);
    assert_eq!(store.stats().dropped_spans, 2);
}

#[test]
fn whole_old_traces_are_evicted_beyond_the_byte_limit() {
    let one = span_bytes(&span(1, 1, "a").build());
    // Room for four spans of this size, whatever the span limit.
    let store = TraceStore::new(StoreConfig {
        max_spans: 1_000,
        max_bytes: 4 * one,
    });
    store.insert(vec![span(1, 1, "a").build(), span(1, 2, "a").build()]);
    store.insert(vec![span(2, 3, "a").build(), span(2, 4, "a").build()]);
    assert_eq!(
        store.stats().bytes,
        4 * one,
        "four spans' bytes are counted"
    );
    store.insert(vec![span(3, 5, "a").build()]);
    assert!(
        store.get(&trace_id(1)).is_none(),
        "the oldest trace went whole"
    );
    assert_eq!(
        store.span_count(&trace_id(2)),
        2,
        "the next one stayed whole"
    );
    assert_eq!(store.span_count(&trace_id(3)), 1);
    let stats = store.stats();
    assert_eq!((stats.evicted_traces, stats.evicted_spans), (1, 2));
    assert_eq!((stats.bytes, stats.max_bytes), (3 * one, 4 * one));
}

#[test]
fn a_single_trace_over_the_byte_limit_keeps_what_fits_and_drops_the_rest() {
    let one = span_bytes(&span(1, 1, "a").build());
    let store = TraceStore::new(StoreConfig {
        max_spans: 1_000,
        max_bytes: 3 * one,
    });
    let outcome = store.insert((0..5).map(|i| span(1, i, "a").build()));
    assert_eq!((outcome.accepted, outcome.dropped), (3, 2));
    assert_eq!(store.stats().bytes, 3 * one);
}

#[tokio::test(start_paused = true)]
async fn a_waiter_is_woken_by_the_insert_not_by_the_deadline() {
    let store = Arc::new(TraceStore::new(StoreConfig::default()));
    let waiter = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(3600);
            let count = store.wait_for_change(&trace_id(7), 0, deadline).await;
            (count, Instant::now())
        })
    };
    tokio::task::yield_now().await;
    let inserted_at = Instant::now();
    store.insert(vec![span(7, 1, "edge").build()]);
    let (count, woke_at) = waiter.await.expect("waiter task");
    assert_eq!(count, 1);
    assert_eq!(woke_at, inserted_at, "woken at once, with the clock paused");
}

#[tokio::test(start_paused = true)]
async fn a_waiter_returns_the_unchanged_count_at_the_deadline() {
    let store = TraceStore::new(StoreConfig::default());
    store.insert(vec![span(1, 1, "edge").build()]);
    let deadline = Instant::now() + Duration::from_millis(250);
    let count = store.wait_for_change(&trace_id(1), 1, deadline).await;
    assert_eq!(count, 1);
    assert_eq!(Instant::now(), deadline);
}

#[tokio::test(start_paused = true)]
async fn spans_already_there_satisfy_a_waiter_immediately() {
    let store = TraceStore::new(StoreConfig::default());
    store.insert(vec![span(1, 1, "edge").build(), span(1, 2, "edge").build()]);
    let start = Instant::now();
    let count = store
        .wait_for_change(&trace_id(1), 1, start + Duration::from_secs(5))
        .await;
    assert_eq!((count, Instant::now()), (2, start));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_and_readers_see_every_span() {
    let store = Arc::new(TraceStore::new(StoreConfig::default()));
    let mut tasks = Vec::new();
    for writer in 0..4u64 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            for i in 0..250u64 {
                store.insert(vec![span(writer, writer * 1000 + i, "svc").build()]);
                let _ = store.get(&trace_id((writer + 1) % 4));
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer task");
    }
    for writer in 0..4 {
        assert_eq!(store.span_count(&trace_id(writer)), 250);
    }
    assert_eq!(store.stats().accepted_spans, 1000);
}
