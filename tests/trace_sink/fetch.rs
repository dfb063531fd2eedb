//! Jaeger and Tempo fetchers against wiremock servers answering like those backends.

use std::sync::Arc;

use base64::Engine as _;
use harness::fetch::{FetchError, InMemoryFetcher, JaegerFetcher, TempoFetcher, TraceFetcher};
use harness::model::{SpanKind, StatusCode, TraceId};
use harness::store::TraceStore;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{http_client, span, trace_id};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const ROOT: &str = "00f067aa0ba902b7";
const CHILD: &str = "00f067aa0ba902b8";

fn b64(hex_id: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(hex::decode(hex_id).expect("hex"))
}

/// What Jaeger v2's api_v3 answers: OTLP JSON under `result`, hex ids, integer enums.
fn jaeger_body() -> serde_json::Value {
    serde_json::json!({"result": {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "edge"}}]},
        "scopeSpans": [{"scope": {"name": "minibank"}, "spans": [
            {"traceId": TRACE, "spanId": ROOT, "name": "POST /v1/payments", "kind": 2,
             "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000005000000",
             "status": {}},
            {"traceId": TRACE, "spanId": CHILD, "parentSpanId": ROOT, "name": "POST", "kind": 3,
             "startTimeUnixNano": "1700000000001000000", "endTimeUnixNano": "1700000000004000000",
             "attributes": [{"key": "server.port", "value": {"intValue": "8080"}}],
             "status": {"code": 2, "message": "timeout"}}
        ]}]
    }]}})
}

/// What Tempo answers on /api/v2/traces: the trace under `trace`, base64 ids, enum names.
fn tempo_body() -> serde_json::Value {
    serde_json::json!({"trace": {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "payments"}}]},
        "scopeSpans": [{"scope": {"name": "minibank"}, "spans": [
            {"traceId": b64(TRACE), "spanId": b64(ROOT), "name": "POST /v1/payments",
             "kind": "SPAN_KIND_SERVER",
             "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000005000000",
             "status": {}},
            {"traceId": b64(TRACE), "spanId": b64(CHILD), "parentSpanId": b64(ROOT),
             "name": "POST", "kind": "SPAN_KIND_CLIENT",
             "startTimeUnixNano": "1700000000001000000", "endTimeUnixNano": "1700000000004000000",
             "status": {"code": "STATUS_CODE_ERROR", "message": "timeout"}}
        ]}]
    }]}, "status": "complete"})
}

async fn serve(route: &str, status: u16, body: serde_json::Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(&server)
        .await;
    server
}

fn assert_two_span_trace(trace: &harness::model::Trace, service: &str) {
    assert_eq!(trace.trace_id.as_str(), TRACE);
    assert_eq!(trace.len(), 2);
    let child = trace
        .spans
        .iter()
        .find(|s| s.span_id.as_str() == CHILD)
        .expect("child");
    assert_eq!(
        child.parent_span_id.as_ref().map(|p| p.as_str()),
        Some(ROOT)
    );
    assert_eq!(child.kind, SpanKind::Client);
    assert_eq!(child.status.code, StatusCode::Error);
    assert_eq!(child.service(), service);
}

#[tokio::test]
async fn jaeger_api_v3_answers_are_decoded() {
    let server = serve(&format!("/api/v3/traces/{TRACE}"), 200, jaeger_body()).await;
    let fetcher = JaegerFetcher::new(server.uri()).with_client(http_client());
    let id = TraceId::parse(TRACE).expect("id");
    let trace = fetcher.fetch(&id).await.expect("fetch").expect("found");
    assert_two_span_trace(&trace, "edge");
}

#[tokio::test]
async fn tempo_answers_with_base64_ids_and_enum_names_are_decoded() {
    let server = serve(&format!("/api/v2/traces/{TRACE}"), 200, tempo_body()).await;
    let fetcher = TempoFetcher::new(format!("{}/", server.uri())).with_client(http_client());
    let id = TraceId::parse(TRACE).expect("id");
    let trace = fetcher.fetch(&id).await.expect("fetch").expect("found");
    assert_two_span_trace(&trace, "payments");
}

#[tokio::test]
async fn not_found_is_none_and_server_errors_are_errors() {
    let id = TraceId::parse(TRACE).expect("id");
    let jaeger_404 = serve(
        &format!("/api/v3/traces/{TRACE}"),
        404,
        serde_json::json!({"error": {"httpCode": 404, "message": "trace not found"}}),
    )
    .await;
    let fetcher = JaegerFetcher::new(jaeger_404.uri()).with_client(http_client());
    assert!(
        fetcher
            .fetch(&id)
            .await
            .expect("404 is not an error")
            .is_none()
    );

    let tempo_500 = serve(
        &format!("/api/v2/traces/{TRACE}"),
        500,
        serde_json::json!({}),
    )
    .await;
    let fetcher = TempoFetcher::new(tempo_500.uri()).with_client(http_client());
    let error = fetcher.fetch(&id).await.expect_err("500 is an error");
    assert!(
        matches!(error, FetchError::Status { status: 500, .. }),
        "{error}"
    );

    let garbage = serve(
        &format!("/api/v2/traces/{TRACE}"),
        200,
        serde_json::json!([1]),
    )
    .await;
    let fetcher = TempoFetcher::new(garbage.uri()).with_client(http_client());
    let error = fetcher.fetch(&id).await.expect_err("not a trace");
    assert!(matches!(error, FetchError::Decode { .. }), "{error}");
}

#[tokio::test]
async fn an_unreachable_backend_is_a_transport_error() {
    // A port that was just free: wiremock pools its servers, so dropping one does not close it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let uri = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let fetcher = JaegerFetcher::new(uri).with_client(http_client());
    let error = fetcher.fetch(&trace_id(1)).await.expect_err("refused");
    assert!(matches!(error, FetchError::Transport { .. }), "{error}");
}

#[tokio::test]
async fn fetchers_are_usable_behind_one_dyn_interface() {
    let store = Arc::new(TraceStore::default());
    store.insert(vec![span(1, 1, "edge").build()]);
    let fetchers: Vec<Arc<dyn TraceFetcher>> = vec![
        Arc::new(InMemoryFetcher::new(Arc::clone(&store))),
        Arc::new(JaegerFetcher::new("http://127.0.0.1:9")),
        Arc::new(TempoFetcher::new("http://127.0.0.1:9")),
    ];
    let found = fetchers[0].fetch(&trace_id(1)).await.expect("memory fetch");
    assert_eq!(found.map(|t| t.len()), Some(1));
    assert!(fetchers[1].describe().contains("jaeger"));
    assert!(fetchers[2].describe().contains("tempo"));
}

#[tokio::test]
async fn newline_delimited_results_from_a_streaming_gateway_are_merged() {
    let mut first = jaeger_body();
    let mut second = jaeger_body();
    // Split the two spans over two chunks.
    first["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"]
        .as_array_mut()
        .expect("spans")
        .truncate(1);
    second["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"]
        .as_array_mut()
        .expect("spans")
        .remove(0);
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v3/traces/{TRACE}")))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!("{first}\n{second}\n")))
        .mount(&server)
        .await;
    let fetcher = JaegerFetcher::new(server.uri()).with_client(http_client());
    let trace = fetcher
        .fetch(&TraceId::parse(TRACE).expect("id"))
        .await
        .expect("fetch")
        .expect("found");
    assert_two_span_trace(&trace, "edge");
}
