//! Request metrics leave the service over OTLP/HTTP: a service with a metrics endpoint posts
//! protobuf `ExportMetricsServiceRequest`s to it carrying `http.server.request.duration`.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use minibank::app::ServiceBuilder;
use minibank::telemetry::{Telemetry, TelemetrySettings};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn request_metrics_are_exported_over_otlp() {
    let collector = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/metrics"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&collector)
        .await;
    let mut settings = TelemetrySettings::new("ledger", None, Duration::from_millis(5));
    settings.otlp_metrics_endpoint = Some(format!("{}/v1/metrics", collector.uri()));
    settings.metrics_interval = Duration::from_millis(50);
    let telemetry = Telemetry::init(&settings).unwrap();
    let app = ServiceBuilder::new(
        telemetry.clone(),
        Router::new().route("/accounts/{id}", get(|| async { "ok" })),
    )
    .bind("127.0.0.1:0".parse().unwrap())
    .await
    .unwrap();
    let url = app.base_url();
    let stop = app.shutdown_handle();
    let running = tokio::spawn(app.run_until_stopped());
    for _ in 0..3 {
        let answer = reqwest::get(format!("{url}/accounts/a1")).await.unwrap();
        assert!(answer.status().is_success());
    }
    let snapshot = telemetry.metrics().snapshot();
    let route = snapshot
        .iter()
        .find(|m| m.route == "/accounts/{id}")
        .expect("the route is counted");
    assert_eq!((route.requests, route.errors), (3, 0));

    // Shutting down flushes the exporter: the collector must have been sent the histogram.
    stop.shutdown();
    running.await.unwrap().unwrap();
    let received = collector.received_requests().await.unwrap();
    let bodies: Vec<&[u8]> = received
        .iter()
        .filter(|r| r.url.path() == "/v1/metrics")
        .map(|r| r.body.as_slice())
        .collect();
    assert!(!bodies.is_empty(), "no OTLP metrics request arrived");
    let name = b"http.server.request.duration";
    assert!(
        bodies
            .iter()
            .any(|body| body.windows(name.len()).any(|w| w == name)),
        "no request carried http.server.request.duration"
    );
}
