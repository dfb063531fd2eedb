//! The staging driver against wiremock stand-ins for edge and the trace backend.

use std::{collections::HashMap, time::Duration};

use drivers::{
    Capability, Driver,
    staging::{ConnectError, Profile, StagingDriver},
};
use harness::model::TraceId;
use serde_json::json;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// A profile for `environment` pointing at these edge and trace backend URLs.
fn profile(environment: &str, edge: &str, backend: &str, traces: &str) -> Profile {
    let text = format!(
        r#"
environment = "{environment}"
[target]
edge_url = "{edge}"
[credentials]
operator_client_id_env = "TEST_OPERATOR_ID"
operator_client_secret_env = "TEST_OPERATOR_SECRET"
[traces]
backend = "{backend}"
url = "{traces}"
otlp_traces_url = "http://127.0.0.1:4318/v1/traces"
[settle]
deadline = "45s"
quiet_period = "4s"
"#
    );
    Profile::parse(&text, "test-profile.toml", true).expect("test profile is valid")
}

fn credentials() -> impl Fn(&str) -> Option<String> {
    let vars: HashMap<&str, &str> = [
        ("TEST_OPERATOR_ID", "staging-operator"),
        ("TEST_OPERATOR_SECRET", "s3cret"),
    ]
    .into();
    move |name| vars.get(name).map(|v| v.to_string())
}

async fn ready_edge() -> MockServer {
    let edge = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/health/ready"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "ready"})))
        .mount(&edge)
        .await;
    edge
}

/// A backend answering 404 to every trace but `TRACE_ID`, which it answers under `key`.
async fn trace_backend(api_path: &str, key: &str) -> MockServer {
    let backend = MockServer::start().await;
    let document = json!({ key: { "resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "edge"}}]},
        "scopeSpans": [{"scope": {}, "spans": [{
            "traceId": TRACE_ID,
            "spanId": "00f067aa0ba902b7",
            "name": "POST /v1/payments",
            "kind": 2,
            "startTimeUnixNano": "1700000000000000000",
            "endTimeUnixNano": "1700000000100000000"
        }]}]
    }]}});
    Mock::given(method("GET"))
        .and(path(format!("{api_path}/{TRACE_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(document))
        .mount(&backend)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&backend)
        .await;
    backend
}

async fn connect(profile: Profile) -> Result<StagingDriver, ConnectError> {
    StagingDriver::connect_with_env(profile, false, credentials()).await
}

#[tokio::test]
async fn connecting_to_a_ready_environment_gives_an_operator_only_driver() {
    let edge = ready_edge().await;
    let jaeger = trace_backend("/api/v3/traces", "result").await;
    let driver = connect(profile("staging", &edge.uri(), "jaeger", &jaeger.uri()))
        .await
        .expect("connects");

    assert_eq!(driver.name(), "staging");
    assert_eq!(driver.edge_url(), edge.uri());
    for capability in Capability::ALL {
        let expected = capability == Capability::OperatorAccess;
        assert_eq!(
            driver.capabilities().has(capability),
            expected,
            "{capability}"
        );
    }
    let operator = driver.operator().expect("staging gives an operator");
    assert_eq!(operator.client_id, "staging-operator");
    assert_eq!(operator.client_secret, "s3cret");
    assert_eq!(
        driver.harness_otlp_traces_url().as_deref(),
        Some("http://127.0.0.1:4318/v1/traces")
    );
    assert_eq!(
        driver.settle_timing(),
        (Duration::from_secs(45), Duration::from_secs(4))
    );
    assert!(driver.provider().is_none() && driver.logs().is_none());
    assert!(!format!("{driver:?}").contains("s3cret"));
}

#[tokio::test]
async fn traces_are_read_from_jaeger_api_v3() {
    let edge = ready_edge().await;
    let jaeger = trace_backend("/api/v3/traces", "result").await;
    let driver = connect(profile("staging", &edge.uri(), "jaeger", &jaeger.uri()))
        .await
        .unwrap();

    let trace = driver
        .traces()
        .fetch(&TraceId::parse(TRACE_ID).unwrap())
        .await
        .unwrap();
    let trace = trace.expect("the backend knows the trace");
    assert_eq!(trace.len(), 1);
    assert!(trace.services().contains("edge"));
    assert!(driver.traces().describe().contains(&jaeger.uri()));
}

#[tokio::test]
async fn traces_are_read_from_tempo_api_v2() {
    let edge = ready_edge().await;
    let tempo = trace_backend("/api/v2/traces", "trace").await;
    let driver = connect(profile("staging", &edge.uri(), "tempo", &tempo.uri()))
        .await
        .unwrap();

    let trace = driver
        .traces()
        .fetch(&TraceId::parse(TRACE_ID).unwrap())
        .await
        .unwrap();
    assert_eq!(trace.expect("the backend knows the trace").len(), 1);
}

#[tokio::test]
async fn a_missing_credential_variable_is_named() {
    let edge = ready_edge().await;
    let jaeger = trace_backend("/api/v3/traces", "result").await;
    let only_id = |name: &str| (name == "TEST_OPERATOR_ID").then(|| "op".to_string());
    let err = StagingDriver::connect_with_env(
        profile("staging", &edge.uri(), "jaeger", &jaeger.uri()),
        false,
        only_id,
    )
    .await
    .unwrap_err();

    let message = err.to_string();
    assert!(
        matches!(err, ConnectError::MissingVariable { .. }),
        "{err:?}"
    );
    assert!(message.contains("TEST_OPERATOR_SECRET"), "{message}");
    assert!(message.contains("test-profile.toml"), "{message}");
}

#[tokio::test]
async fn an_edge_that_is_not_ready_is_refused_with_its_answer() {
    let edge = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/health/ready"))
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({"status": "not_ready"})))
        .mount(&edge)
        .await;
    let jaeger = trace_backend("/api/v3/traces", "result").await;
    let err = connect(profile("staging", &edge.uri(), "jaeger", &jaeger.uri()))
        .await
        .unwrap_err();

    let message = err.to_string();
    assert!(
        matches!(err, ConnectError::EdgeNotReady { status: 503, .. }),
        "{err:?}"
    );
    assert!(
        message.contains("/health/ready") && message.contains("not_ready"),
        "{message}"
    );
}

#[tokio::test]
async fn an_unreachable_edge_is_refused() {
    // A port that was free a moment ago and has no listener now (wiremock servers are pooled,
    // so dropping one does not close its port).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let jaeger = trace_backend("/api/v3/traces", "result").await;
    let err = connect(profile("staging", &url, "jaeger", &jaeger.uri()))
        .await
        .unwrap_err();

    assert!(
        matches!(err, ConnectError::EdgeUnreachable { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(&url), "{err}");
}

#[tokio::test]
async fn a_trace_backend_that_fails_is_refused_at_connect() {
    let edge = ready_edge().await;
    let broken = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500).set_body_string("index unavailable"))
        .mount(&broken)
        .await;
    let err = connect(profile("staging", &edge.uri(), "tempo", &broken.uri()))
        .await
        .unwrap_err();

    let message = err.to_string();
    assert!(matches!(err, ConnectError::TraceBackend { .. }), "{err:?}");
    assert!(
        message.contains("tempo") && message.contains("index unavailable"),
        "{message}"
    );
}

#[tokio::test]
async fn production_is_refused_without_the_override_even_when_loaded_with_it() {
    let edge = ready_edge().await;
    let jaeger = trace_backend("/api/v3/traces", "result").await;
    let production = profile("production", &edge.uri(), "jaeger", &jaeger.uri());

    let err = connect(production.clone()).await.unwrap_err();
    assert!(
        err.to_string().contains("--i-know-this-is-production"),
        "{err}"
    );
    assert_eq!(
        edge.received_requests().await.unwrap().len(),
        0,
        "refused before any call"
    );

    StagingDriver::connect_with_env(production, true, credentials())
        .await
        .expect("the override lets it connect");
}

#[tokio::test]
async fn merchant_endpoints_and_restarts_are_not_offered_and_their_lack_is_named() {
    let edge = ready_edge().await;
    let jaeger = trace_backend("/api/v3/traces", "result").await;
    let driver = connect(profile("staging", &edge.uri(), "jaeger", &jaeger.uri()))
        .await
        .unwrap();

    assert!(driver.merchant_endpoints().is_none() && driver.restarts().is_none());
    let err = drivers::lacks(&driver, Capability::RestartService).to_string();
    assert!(err.contains("staging driver cannot restart"), "{err}");
    assert!(err.contains("@needs-restart"), "{err}");
}

#[tokio::test]
async fn the_example_profiles_name_their_backends_and_timings() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/profiles");
    let local = Profile::load(format!("{dir}/local.toml"), false).unwrap();
    assert_eq!(local.edge_url(), "http://127.0.0.1:8080");
    let staging = Profile::load(format!("{dir}/staging-jaeger.toml"), false).unwrap();
    assert!(staging.settle().quiet_period > local.settle().quiet_period);
    let err = StagingDriver::from_file(format!("{dir}/production.toml"), false)
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectError::Profile(_)), "{err:?}");
}
