//! The metrics store: cumulative and delta temporality, instances added up, bound, and
//! waiting for figures newer than a moment.

use std::sync::Arc;
use std::time::Duration;

use harness::metrics::{MetricsStore, MetricsStoreConfig};

use crate::metrics_support::{CUMULATIVE, DELTA, counter, export, request_point, requests};

const ROUTE: &str = "/v1/accounts/{account_id}";

#[test]
fn a_newer_cumulative_point_replaces_the_stored_one_and_an_older_one_is_ignored() {
    let store = MetricsStore::default();
    let at = |time| {
        requests(
            CUMULATIVE,
            vec![request_point(
                "GET",
                ROUTE,
                200,
                time,
                time as f64 * 0.01,
                (1, time),
            )],
        )
    };
    store.ingest(export("edge", "a", vec![at(3)]).resource_metrics);
    store.ingest(export("edge", "a", vec![at(5)]).resource_metrics);
    store.ingest(export("edge", "a", vec![at(4)]).resource_metrics);
    let figures = store.figures("edge").expect("edge reported");
    let route = figures.route("GET", ROUTE).expect("route counted");
    assert_eq!(route.requests, 5);
    assert!((route.duration_seconds - 0.05).abs() < 1e-9);
    assert_eq!(figures.collected_unix_nanos, 5);
}

#[test]
fn delta_points_are_added_up() {
    let store = MetricsStore::default();
    for (time, count) in [(10, 2), (20, 3)] {
        store.ingest(
            export(
                "edge",
                "a",
                vec![
                    requests(
                        DELTA,
                        vec![request_point(
                            "GET",
                            ROUTE,
                            503,
                            count,
                            0.5,
                            (time - 10, time),
                        )],
                    ),
                    counter(
                        "minibank.rpc.client.calls",
                        DELTA,
                        count as i64,
                        (time - 10, time),
                    ),
                ],
            )
            .resource_metrics,
        );
    }
    let figures = store.figures("edge").expect("edge reported");
    let route = figures.route("GET", ROUTE).expect("route counted");
    assert_eq!((route.requests, route.errors), (5, 5));
    assert!((route.duration_seconds - 1.0).abs() < 1e-9);
    assert_eq!(figures.pool.calls, 5);
}

#[test]
fn instances_and_status_codes_of_one_route_are_added_up_and_5xx_count_as_errors() {
    let store = MetricsStore::default();
    for (instance, status, count) in [("a", 200, 3), ("a", 500, 1), ("b", 200, 2), ("b", 404, 1)] {
        store.ingest(
            export(
                "edge",
                instance,
                vec![
                    requests(
                        CUMULATIVE,
                        vec![request_point("GET", ROUTE, status, count, 0.1, (1, 2))],
                    ),
                    counter(
                        "minibank.rpc.client.connections.opened",
                        CUMULATIVE,
                        2,
                        (1, 2),
                    ),
                ],
            )
            .resource_metrics,
        );
    }
    let figures = store.figures("edge").expect("edge reported");
    let route = figures.route("GET", ROUTE).expect("route counted");
    assert_eq!((route.requests, route.errors), (7, 1));
    // One stream per instance (the attribute set is the same): 2 + 2.
    assert_eq!(figures.pool.connections_opened, 4);
    assert!(store.figures("ledger").is_none(), "ledger never reported");
}

#[test]
fn points_without_temporality_are_rejected_and_new_streams_beyond_the_limit_too() {
    let store = MetricsStore::new(MetricsStoreConfig { max_streams: 1 });
    let outcome = store.ingest(
        export(
            "edge",
            "a",
            vec![
                counter("minibank.rpc.client.calls", 0, 1, (1, 2)),
                counter("minibank.rpc.client.calls", CUMULATIVE, 1, (1, 2)),
                counter(
                    "minibank.rpc.client.connections.opened",
                    CUMULATIVE,
                    1,
                    (1, 2),
                ),
            ],
        )
        .resource_metrics,
    );
    assert_eq!((outcome.accepted, outcome.rejected), (1, 2));
    assert!(
        outcome.error_message.contains("temporality"),
        "{}",
        outcome.error_message
    );
    let stats = store.stats();
    assert_eq!((stats.streams, stats.rejected_points), (1, 2));
}

#[tokio::test]
async fn a_reader_waiting_for_fresh_figures_is_woken_by_the_export() {
    let store = Arc::new(MetricsStore::default());
    let waiter = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            store
                .figures_since("edge", 100, Duration::from_secs(5))
                .await
        })
    };
    // A collection older than the moment asked for does not end the wait; a newer one does.
    let calls = |time| {
        export(
            "edge",
            "a",
            vec![counter(
                "minibank.rpc.client.calls",
                CUMULATIVE,
                time as i64,
                (1, time),
            )],
        )
    };
    store.ingest(calls(50).resource_metrics);
    tokio::task::yield_now().await;
    assert!(!waiter.is_finished(), "woken by a stale collection");
    store.ingest(calls(150).resource_metrics);
    let figures = waiter.await.unwrap().expect("fresh figures");
    assert_eq!(figures.pool.calls, 150);
}

#[tokio::test(start_paused = true)]
async fn a_reader_gives_up_at_the_deadline_and_says_what_it_waited_for() {
    let store = MetricsStore::default();
    let error = store
        .figures_since("ledger", 100, Duration::from_millis(300))
        .await
        .expect_err("nothing arrives");
    let message = error.to_string();
    assert!(
        message.contains("ledger") && message.contains("never reported"),
        "{message}"
    );
}
