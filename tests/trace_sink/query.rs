//! Query API: Jaeger api_v3 shape, 404/400, services, stats.

use harness::fetch::{JaegerFetcher, TraceFetcher};
use harness::model::SpanKind;

use crate::support::{http_client, span, start_sink, trace_id};

#[tokio::test]
async fn a_stored_trace_is_served_as_otlp_json_under_result() {
    let sink = start_sink().await;
    sink.store().insert(vec![
        span(1, 1, "edge").kind(SpanKind::Server).build(),
        span(1, 2, "ledger").parent(1).build(),
    ]);
    let url = format!("{}/api/v3/traces/{}", sink.query_url(), trace_id(1));
    let response = http_client().get(&url).send().await.expect("get");
    assert_eq!(response.status(), 200);
    let json: serde_json::Value = response.json().await.expect("json");
    let resource_spans = json["result"]["resourceSpans"].as_array().expect("array");
    assert_eq!(resource_spans.len(), 2, "one ResourceSpans per service");
    let first = &resource_spans[0]["scopeSpans"][0]["spans"][0];
    assert_eq!(first["traceId"], trace_id(1).as_str(), "hex trace id");
    assert_eq!(first["spanId"], "0000000000000002");
    assert_eq!(first["kind"], 2);
}

#[tokio::test]
async fn unknown_traces_are_404_and_malformed_ids_400() {
    let sink = start_sink().await;
    let client = http_client();
    let unknown = format!("{}/api/v3/traces/{}", sink.query_url(), trace_id(9));
    let response = client.get(&unknown).send().await.expect("get");
    assert_eq!(response.status(), 404);
    let json: serde_json::Value = response.json().await.expect("json");
    assert_eq!(json["error"]["httpCode"], 404);
    let bad = format!("{}/api/v3/traces/not-an-id", sink.query_url());
    assert_eq!(client.get(&bad).send().await.expect("get").status(), 400);
}

#[tokio::test]
async fn services_and_stats_are_listed() {
    let sink = start_sink().await;
    sink.store()
        .insert(vec![span(1, 1, "edge").build(), span(2, 2, "auth").build()]);
    let client = http_client();
    let services: serde_json::Value = client
        .get(format!("{}/api/v3/services", sink.query_url()))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(services, serde_json::json!({"services": ["auth", "edge"]}));
    let stats: serde_json::Value = client
        .get(format!("{}/api/sink/stats", sink.query_url()))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(stats["spans"], 2);
    assert_eq!(stats["max_spans"], 200_000);
    assert_eq!(stats["evicted_traces"], 0);
}

#[tokio::test]
async fn the_jaeger_fetcher_reads_the_sink_back_unchanged() {
    let sink = start_sink().await;
    let spans = vec![
        span(1, 1, "harness").kind(SpanKind::Client).build(),
        span(1, 2, "edge")
            .parent(1)
            .kind(SpanKind::Server)
            .error("boom")
            .build(),
    ];
    sink.store().insert(spans.clone());
    let fetcher = JaegerFetcher::new(sink.query_url()).with_client(http_client());
    let trace = fetcher
        .fetch(&trace_id(1))
        .await
        .expect("fetch")
        .expect("found");
    assert_eq!(trace.spans, spans);
    assert!(fetcher.fetch(&trace_id(2)).await.expect("fetch").is_none());
}

#[tokio::test]
async fn the_served_json_uses_otlp_json_encodings() {
    let sink = start_sink().await;
    sink.store().insert(vec![
        span(3, 1, "edge")
            .attr(
                "http.response.status_code",
                harness::model::AttrValue::Int(201),
            )
            .build(),
    ]);
    let url = format!("{}/api/v3/traces/{}", sink.query_url(), trace_id(3));
    let json: serde_json::Value = http_client()
        .get(&url)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let resource = &json["result"]["resourceSpans"][0]["resource"]["attributes"][0];
    assert_eq!(resource["key"], "service.name");
    assert_eq!(resource["value"]["stringValue"], "edge");
    let span = &json["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(
        span["startTimeUnixNano"], "1001000000",
        "uint64 as a decimal string"
    );
    assert_eq!(
        span["attributes"][0]["value"]["intValue"], "201",
        "int64 as a string"
    );
    assert_eq!(span["status"]["code"], 0);
}
