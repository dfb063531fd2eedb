//! The metrics receivers: OTLP/HTTP (protobuf, JSON, gzip, partial success, refusals), OTLP/gRPC,
//! and the figures on the query API.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use prost::Message as _;

use crate::metrics_support::{CUMULATIVE, counter, export, request_point, requests};
use crate::support::{gzip, http_client, start_sink};

const ROUTE: &str = "/v1/accounts/{account_id}";

fn edge_export() -> Vec<u8> {
    export(
        "edge",
        "a",
        vec![
            requests(
                CUMULATIVE,
                vec![
                    request_point("GET", ROUTE, 200, 3, 0.3, (1, 2)),
                    request_point("GET", ROUTE, 502, 1, 0.1, (1, 2)),
                ],
            ),
            counter("minibank.rpc.client.calls", CUMULATIVE, 8, (1, 2)),
            counter(
                "minibank.rpc.client.connections.opened",
                CUMULATIVE,
                2,
                (1, 2),
            ),
        ],
    )
    .encode_to_vec()
}

async fn post(url: &str, content_type: &str, gzipped: bool, body: Vec<u8>) -> reqwest::Response {
    let mut request = http_client().post(url).header("content-type", content_type);
    request = if gzipped {
        request.header("content-encoding", "gzip").body(gzip(&body))
    } else {
        request.body(body)
    };
    request.send().await.expect("request sent")
}

async fn figures(sink: &harness::sink::RunningSink, service: &str) -> reqwest::Response {
    http_client()
        .get(format!("{}/api/sink/metrics/{service}", sink.query_url()))
        .send()
        .await
        .expect("query answered")
}

#[tokio::test]
async fn gzipped_protobuf_metrics_become_figures_on_the_query_api() {
    let sink = start_sink().await;
    let response = post(
        &sink.otlp_metrics_url(),
        "application/x-protobuf",
        true,
        edge_export(),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body = ExportMetricsServiceResponse::decode(response.bytes().await.unwrap()).unwrap();
    assert_eq!(body.partial_success, None);

    let answer = figures(&sink, "edge").await;
    assert_eq!(answer.status(), 200);
    let json: serde_json::Value = answer.json().await.unwrap();
    let route = &json["routes"][0];
    assert_eq!(route["method"], "GET");
    assert_eq!(route["route"], ROUTE);
    assert_eq!(
        (route["requests"].as_u64(), route["errors"].as_u64()),
        (Some(4), Some(1))
    );
    assert!((route["duration_seconds"].as_f64().unwrap() - 0.4).abs() < 1e-9);
    assert_eq!(json["pool"]["calls"], 8);
    assert_eq!(json["pool"]["connections_opened"], 2);
    assert_eq!(figures(&sink, "ledger").await.status(), 404);
}

#[tokio::test]
async fn json_metrics_are_accepted() {
    let sink = start_sink().await;
    let body = serde_json::json!({"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "ledger"}}]},
        "scopeMetrics": [{"metrics": [{
            "name": "http.server.request.duration",
            "histogram": {"aggregationTemporality": 2, "dataPoints": [{
                "attributes": [
                    {"key": "http.request.method", "value": {"stringValue": "POST"}},
                    {"key": "http.route", "value": {"stringValue": "/holds"}},
                    {"key": "http.response.status_code", "value": {"intValue": "201"}}
                ],
                "startTimeUnixNano": "1", "timeUnixNano": "2", "count": "6", "sum": 0.6
            }]}
        }]}]
    }]});
    let response = post(
        &sink.otlp_metrics_url(),
        "application/json",
        false,
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let figures = sink.metrics().figures("ledger").expect("ledger reported");
    let route = figures.route("POST", "/holds").expect("route counted");
    assert_eq!((route.requests, route.errors), (6, 0));
}

#[tokio::test]
async fn rejected_points_are_reported_as_partial_success() {
    let sink = start_sink().await;
    let body = export(
        "edge",
        "a",
        vec![
            counter("minibank.rpc.client.calls", 0, 1, (1, 2)),
            counter(
                "minibank.rpc.client.connections.opened",
                CUMULATIVE,
                1,
                (1, 2),
            ),
        ],
    )
    .encode_to_vec();
    let response = post(
        &sink.otlp_metrics_url(),
        "application/x-protobuf",
        false,
        body,
    )
    .await;
    assert_eq!(response.status(), 200);
    let body = ExportMetricsServiceResponse::decode(response.bytes().await.unwrap()).unwrap();
    let partial = body.partial_success.expect("partial success");
    assert_eq!(partial.rejected_data_points, 1);
    assert!(
        partial.error_message.contains("temporality"),
        "{}",
        partial.error_message
    );
    assert_eq!(
        sink.metrics()
            .figures("edge")
            .unwrap()
            .pool
            .connections_opened,
        1
    );
}

#[tokio::test]
async fn malformed_and_oversized_metrics_are_refused_with_400_and_413() {
    let config = harness::sink::SinkConfig {
        max_request_bytes: 4 * 1024,
        ..harness::sink::SinkConfig::ephemeral()
    };
    let sink = harness::sink::TraceSink::start(config).await.expect("sink");
    let url = sink.otlp_metrics_url();
    let garbage = post(&url, "application/x-protobuf", false, vec![0xff; 16]).await;
    assert_eq!(garbage.status(), 400);
    let bad_json = post(
        &url,
        "application/json",
        false,
        b"{\"resourceMetrics\": 3}".to_vec(),
    )
    .await;
    assert_eq!(bad_json.status(), 400);
    let error: serde_json::Value = bad_json.json().await.unwrap();
    assert!(
        error["message"].as_str().unwrap().contains("JSON"),
        "{error}"
    );
    let big = post(&url, "application/x-protobuf", false, vec![0; 5 * 1024]).await;
    assert_eq!(big.status(), 413);
    // A gzip bomb: small on the wire, over the limit once inflated.
    let bomb = post(&url, "application/x-protobuf", true, vec![0; 64 * 1024]).await;
    assert_eq!(bomb.status(), 413);
    assert!(sink.metrics().services().is_empty());
}

#[tokio::test]
async fn grpc_metrics_export_is_stored() {
    let sink = start_sink().await;
    let mut client = MetricsServiceClient::connect(sink.otlp_grpc_endpoint())
        .await
        .expect("connect");
    let request = export(
        "payments",
        "p1",
        vec![counter("minibank.rpc.client.calls", CUMULATIVE, 12, (1, 2))],
    );
    let response = client
        .export(request)
        .await
        .expect("export ok")
        .into_inner();
    assert_eq!(response.partial_success, None);
    assert_eq!(sink.metrics().figures("payments").unwrap().pool.calls, 12);
}
