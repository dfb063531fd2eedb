//! Span export: spans reach an OTLP/HTTP collector under the service's own name, and a down or
//! slow collector costs spans (counted), never the request path.

use std::time::Duration;

use harness::sink::{SinkConfig, TraceSink};
use minibank::telemetry::{Telemetry, TelemetrySettings};
use opentelemetry::trace::{Span as _, TraceContextExt as _, Tracer as _};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn make_spans(telemetry: &Telemetry, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            let mut span = telemetry.tracer().start(format!("work {i}"));
            let trace_id = span.span_context().trace_id().to_string();
            span.end();
            trace_id
        })
        .collect()
}

#[tokio::test]
async fn spans_reach_an_otlp_http_collector_under_each_services_own_name() {
    let sink = TraceSink::start(SinkConfig::ephemeral()).await.unwrap();
    let ledger = Telemetry::init(&TelemetrySettings::new(
        "ledger",
        Some(sink.otlp_traces_url()),
        Duration::from_millis(5),
    ))
    .unwrap();
    let payments = Telemetry::init(&TelemetrySettings::new(
        "payments",
        Some(sink.otlp_traces_url()),
        Duration::from_millis(5),
    ))
    .unwrap();
    // One trace: a payments span with a ledger child, as if in two processes.
    let parent = payments.tracer().start("saga");
    let cx = opentelemetry::Context::new().with_remote_span_context(parent.span_context().clone());
    let mut child = ledger.tracer().start_with_context("hold", &cx);
    child.end();
    let trace_id = parent.span_context().trace_id().to_string();
    drop(parent);

    assert!(ledger.flush(Duration::from_secs(5)).await);
    assert!(payments.flush(Duration::from_secs(5)).await);
    let trace = sink.store().get(&trace_id.parse().unwrap()).unwrap();
    let services: Vec<String> = trace.services().into_iter().collect();
    assert_eq!(services, vec!["ledger".to_owned(), "payments".to_owned()]);
    assert_eq!(ledger.stats().exported(), 1);
    assert_eq!(ledger.dropped_spans(), 0);
    sink.shutdown().await;
}

#[tokio::test]
async fn with_the_collector_down_spans_are_dropped_and_counted() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1/traces", closed.local_addr().unwrap());
    drop(closed);
    let telemetry = Telemetry::init(&TelemetrySettings::new(
        "payments",
        Some(url),
        Duration::from_millis(1),
    ))
    .unwrap();
    make_spans(&telemetry, 10);
    telemetry.flush(Duration::from_secs(10)).await;
    assert_eq!(telemetry.dropped_spans(), 10);
    assert_eq!(telemetry.stats().exported(), 0);
}

#[tokio::test]
async fn a_slow_collector_and_a_full_queue_drop_spans_instead_of_blocking_the_caller() {
    let collector = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(10)))
        .mount(&collector)
        .await;
    let mut settings = TelemetrySettings::new(
        "edge",
        Some(format!("{}/v1/traces", collector.uri())),
        Duration::from_millis(1),
    );
    settings.max_queue_size = 4;
    settings.export_timeout = Duration::from_millis(100);
    let telemetry = Telemetry::init(&settings).unwrap();
    // 200 spans end while the exporter is stuck: ending a span never waits for the queue.
    make_spans(&telemetry, 200);
    let dropped_on_enqueue = telemetry.dropped_spans();
    assert!(dropped_on_enqueue > 0, "the bounded queue must overflow");
    telemetry.flush(Duration::from_secs(10)).await;
    assert_eq!(telemetry.dropped_spans(), 200);
}
