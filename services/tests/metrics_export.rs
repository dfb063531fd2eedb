//! A service's metrics leave it over OTLP/HTTP under its own `service.name`: the request
//! histogram per route (errors by status) and its RPC client's connection-pool counters reach
//! the harness's sink; with the collector hanging, requests neither fail nor slow down.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use harness::sink::{SinkConfig, TraceSink};
use minibank::app::{Deps, ServiceBuilder};
use minibank::rpc::{RequestContext, Resilience};
use minibank::telemetry::{Telemetry, TelemetrySettings};

fn settings(service: &str, metrics_url: String) -> TelemetrySettings {
    let mut settings = TelemetrySettings::new(service, None, Duration::from_millis(5));
    settings.otlp_metrics_endpoint = Some(metrics_url);
    settings.metrics_interval = Duration::from_millis(50);
    settings
}

/// Starts a service answering `GET /accounts/{id}` (500 for id `broken`) and returns its URL
/// and the handles that stop it.
async fn ledger_like(
    telemetry: Telemetry,
) -> (
    String,
    minibank::app::ShutdownHandle,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let router = Router::new().route(
        "/accounts/{id}",
        get(
            |axum::extract::Path(id): axum::extract::Path<String>| async move {
                if id == "broken" {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            },
        ),
    );
    let app = ServiceBuilder::new(telemetry, router)
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let url = app.base_url();
    let stop = app.shutdown_handle();
    (url, stop, tokio::spawn(app.run_until_stopped()))
}

fn now_unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_figures_and_pool_counters_reach_the_sink_under_the_service_s_own_name() {
    let sink = TraceSink::start(SinkConfig::ephemeral()).await.unwrap();
    let ledger = Telemetry::init(&settings("ledger", sink.otlp_metrics_url())).unwrap();
    let (url, stop, running) = ledger_like(ledger.clone()).await;
    // A second service in the same process, calling the first through its RPC client.
    let edge = Telemetry::init(&settings("edge", sink.otlp_metrics_url())).unwrap();
    let deps = Deps::with_own_pool(edge.clone(), Resilience::default());
    let client = deps.client("ledger", &url, Duration::from_secs(2));
    let ctx = RequestContext::background(opentelemetry::Context::new());
    for id in ["a1", "a2", "a3", "broken"] {
        let _ = client
            .send(
                &ctx,
                minibank::rpc::RpcRequest::get(format!("/accounts/{id}")),
            )
            .await
            .unwrap();
    }

    let since = now_unix_nanos();
    let metrics = sink.metrics();
    let figures = metrics
        .figures_since("ledger", since, Duration::from_secs(5))
        .await
        .expect("ledger exported a collection after the requests");
    let route = figures
        .route("GET", "/accounts/{id}")
        .expect("the route is counted");
    assert_eq!((route.requests, route.errors), (4, 1));
    assert!(route.duration_seconds > 0.0);
    let edge_figures = metrics
        .figures_since("edge", since, Duration::from_secs(5))
        .await
        .expect("edge exported a collection after the calls");
    assert_eq!(edge_figures.pool.calls, 4);
    let opened = edge_figures.pool.connections_opened;
    assert!(
        (1..4).contains(&opened),
        "four calls opened {opened} connections: at least one, and fewer than calls (reuse)"
    );
    assert!(edge_figures.routes.is_empty(), "edge served nothing itself");

    stop.shutdown();
    running.await.unwrap().unwrap();
    edge.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_collector_hanging_requests_neither_fail_nor_slow_down() {
    // A "collector" that accepts connections and never answers.
    let hanging = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector = hanging.local_addr().unwrap();
    let _accepting = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hanging.accept().await {
            held.push(socket);
        }
    });
    let mut settings = settings("ledger", format!("http://{collector}/v1/metrics"));
    settings.metrics_interval = Duration::from_millis(10);
    let telemetry = Telemetry::init(&settings).unwrap();
    let (url, stop, running) = ledger_like(telemetry).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let started = Instant::now();
    for _ in 0..50 {
        let answer = http.get(format!("{url}/accounts/a1")).send().await.unwrap();
        assert!(answer.status().is_success());
    }
    let took = started.elapsed();
    // Exports are stuck for seconds meanwhile (their timeout is 5 s); 50 loopback requests
    // take milliseconds.
    assert!(took < Duration::from_secs(2), "50 requests took {took:?}");
    stop.shutdown();
    running.await.unwrap().unwrap();
}
