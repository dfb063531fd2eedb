//! The sink as a whole: endpoints, limits, graceful shutdown.

use crate::support::{PROTOBUF, export_request, http_client, post, span, trace_id};
use harness::sink::{SinkConfig, TraceSink};
use prost::Message as _;

#[tokio::test]
async fn endpoints_are_loopback_urls_on_the_bound_ports() {
    let sink = TraceSink::start(SinkConfig::ephemeral())
        .await
        .expect("sink");
    assert_eq!(
        sink.otlp_http_endpoint(),
        format!("http://{}", sink.otlp_http_addr())
    );
    assert_eq!(
        sink.otlp_traces_url(),
        format!("http://{}/v1/traces", sink.otlp_http_addr())
    );
    assert!(sink.otlp_grpc_endpoint().starts_with("http://127.0.0.1:"));
    assert!(sink.query_url().starts_with("http://127.0.0.1:"));
    assert_ne!(sink.otlp_http_addr().port(), 0);
}

#[tokio::test]
async fn the_span_limit_and_evictions_are_visible() {
    let sink = TraceSink::start(SinkConfig::ephemeral().with_max_spans(2))
        .await
        .expect("sink");
    for n in 0..3 {
        let body = export_request(&[span(n, n, "edge").build()]).encode_to_vec();
        let response = post(&sink.otlp_traces_url(), PROTOBUF, None, body).await;
        assert_eq!(response.status(), 200);
    }
    let stats = sink.store().stats();
    assert_eq!(
        (stats.max_spans, stats.spans, stats.evicted_traces),
        (2, 2, 1)
    );
    assert!(sink.store().get(&trace_id(0)).is_none());
}

#[tokio::test]
async fn shutdown_stops_every_listener() {
    let sink = TraceSink::start(SinkConfig::ephemeral())
        .await
        .expect("sink");
    let query = sink.query_url();
    let http = sink.otlp_http_addr();
    let grpc = sink.otlp_grpc_addr();
    // Clients that keep their connections open (HTTP keep-alive, an HTTP/2 channel).
    let client = http_client();
    let body = export_request(&[span(1, 1, "edge").build()]).encode_to_vec();
    let response = client
        .post(sink.otlp_traces_url())
        .header("content-type", "application/x-protobuf")
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 200);
    let mut grpc_client = opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient::connect(sink.otlp_grpc_endpoint())
        .await
        .expect("connect");
    grpc_client
        .export(export_request(&[span(1, 2, "edge").build()]))
        .await
        .expect("export");
    let started = std::time::Instant::now();
    sink.shutdown().await;
    assert!(
        started.elapsed() < harness::sink::SHUTDOWN_GRACE,
        "open client connections do not hold shutdown up ({:?})",
        started.elapsed()
    );
    assert!(
        http_client()
            .get(format!("{query}/api/v3/services"))
            .send()
            .await
            .is_err()
    );
    assert!(tokio::net::TcpStream::connect(http).await.is_err());
    assert!(tokio::net::TcpStream::connect(grpc).await.is_err());
}

#[tokio::test]
async fn a_taken_port_is_a_clear_bind_error() {
    let first = TraceSink::start(SinkConfig::ephemeral())
        .await
        .expect("sink");
    let config = SinkConfig {
        otlp_http_addr: first.otlp_http_addr(),
        ..SinkConfig::ephemeral()
    };
    let error = TraceSink::start(config).await.expect_err("port in use");
    assert!(error.to_string().contains("OTLP/HTTP"), "{error}");
}

#[tokio::test]
async fn spans_beyond_the_limit_of_one_trace_are_reported_as_partial_success() {
    let sink = TraceSink::start(SinkConfig::ephemeral().with_max_spans(2))
        .await
        .expect("sink");
    let spans: Vec<_> = (0..3).map(|i| span(1, i, "edge").build()).collect();
    let response = http_client()
        .post(sink.otlp_traces_url())
        .header("content-type", "application/json")
        .body(serde_json::to_string(&harness::otlp::encode::traces_data(&spans)).expect("json"))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 200);
    let json: serde_json::Value = response.json().await.expect("json");
    assert_eq!(json["partialSuccess"]["rejectedSpans"], "1");
    assert!(
        json["partialSuccess"]["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("store limit")),
        "{json}"
    );
    assert_eq!(sink.store().stats().dropped_spans, 1);
}
