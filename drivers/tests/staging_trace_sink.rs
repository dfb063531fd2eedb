//! The local profile's set-up for real: the staging driver reads traces from the harness's
//! standalone trace sink through its Jaeger-shaped query API, as `fixtures/profiles/local.toml`
//! does, and settles a trace with the driver's settle timing. Only edge is a stand-in.

use std::{collections::HashMap, time::Duration};

use drivers::{
    Driver,
    staging::{Profile, StagingDriver},
};
use harness::{
    model::TraceId,
    settle::{Expectation, settle},
    sink::{SinkConfig, TraceSink},
};
use serde_json::json;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";

fn span(service: &str, span_id: &str, parent: Option<&str>) -> serde_json::Value {
    json!({
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"scope": {}, "spans": [{
            "traceId": TRACE_ID,
            "spanId": span_id,
            "parentSpanId": parent.unwrap_or(""),
            "name": format!("{service} work"),
            "kind": 2,
            "startTimeUnixNano": "1700000000000000000",
            "endTimeUnixNano": "1700000000050000000"
        }]}]
    })
}

#[tokio::test]
async fn traces_exported_to_the_trace_sink_settle_through_its_jaeger_api() {
    let sink = TraceSink::start(SinkConfig::ephemeral()).await.unwrap();
    let edge = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/health/ready"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&edge)
        .await;
    let local = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/profiles/local.toml"
    ))
    .unwrap()
    .replace("http://127.0.0.1:8080", &edge.uri())
    .replace("http://127.0.0.1:16686", &sink.query_url())
    .replace("http://127.0.0.1:4318/v1/traces", &sink.otlp_traces_url())
    // A short quiet period keeps this test fast; the timing still comes through the driver.
    .replace("quiet_period = \"1s\"", "quiet_period = \"200ms\"");
    let profile = Profile::parse(&local, "local.toml", false).unwrap();
    let vars: HashMap<&str, &str> = [
        ("MINIBANK_OPERATOR_CLIENT_ID", "local-operator"),
        ("MINIBANK_OPERATOR_CLIENT_SECRET", "local-secret"),
    ]
    .into();
    let driver = StagingDriver::connect_with_env(profile, false, |name| {
        vars.get(name).map(|v| v.to_string())
    })
    .await
    .expect("connects to the sink as a Jaeger backend");

    // Export two spans of one trace the way a service would (OTLP/HTTP JSON) ...
    let export = json!({"resourceSpans": [
        span("edge", "b7ad6b7169203331", None),
        span("payments", "00f067aa0ba902b7", Some("b7ad6b7169203331")),
    ]});
    let url = driver
        .harness_otlp_traces_url()
        .expect("local profile names the sink");
    let response = reqwest::Client::new()
        .post(&url)
        .json(&export)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());

    // ... and settle it through the driver's fetcher, with the driver's timing.
    let (deadline, quiet_period) = driver.settle_timing();
    assert_eq!(quiet_period, Duration::from_millis(200));
    let expectation = Expectation::services(["edge", "payments"])
        .quiet_for(quiet_period)
        .within(deadline);
    let trace = settle(
        driver.traces().as_ref(),
        &TraceId::parse(TRACE_ID).unwrap(),
        &expectation,
    )
    .await
    .expect("the trace settles");
    assert_eq!(trace.len(), 2);
    assert_eq!(
        trace.services().into_iter().collect::<Vec<_>>(),
        ["edge", "payments"]
    );
    assert_eq!(trace.roots().len(), 1);
    assert!(trace.orphans().is_empty());
}
