//! The whole platform in one process (Seam 1), with wiremock as the provider and the harness's
//! trace sink as the collector: health, onboarding through edge, one payment end to end, restart.

mod foundation_support;

use std::time::Duration;

use foundation_support::{accepting_provider, http};
use harness::sink::{SinkConfig, TraceSink};
use minibank::platform::{self, PlatformConfig, RunningPlatform, ServiceName};
use serde_json::{Value, json};
use wiremock::MockServer;

async fn start(
    provider: &MockServer,
    dir: &tempfile::TempDir,
    otlp: Option<String>,
) -> RunningPlatform {
    let config = PlatformConfig::for_tests(dir.path(), provider.uri(), otlp);
    platform::start(config).await.unwrap()
}

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn token(edge: &str, client_id: &Value, secret: &Value) -> String {
    let (status, body) = send(
        http()
            .post(format!("{edge}/v1/tokens"))
            .json(&json!({"client_id": client_id, "client_secret": secret})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_service_starts_and_answers_live_and_ready() {
    let provider = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let running = start(&provider, &dir, None).await;
    for service in ServiceName::ALL {
        let url = running.service_url(service);
        for (route, status) in [("/health/live", "live"), ("/health/ready", "ready")] {
            let (code, body) = send(http().get(format!("{url}{route}"))).await;
            assert_eq!(
                (code, &body["status"]),
                (200, &json!(status)),
                "{service}{route}"
            );
        }
        assert!(dir.path().join(format!("{service}.db")).exists() || service == ServiceName::Edge);
    }
    running.shutdown().await;
}

#[tokio::test]
async fn a_payment_through_edge_settles_and_its_spans_reach_the_trace_sink_under_each_service() {
    let provider = accepting_provider().await;
    let sink = TraceSink::start(SinkConfig::ephemeral()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let running = start(&provider, &dir, Some(sink.otlp_traces_url())).await;
    let edge = running.edge_url();
    let operator = running.operator_token().await.unwrap();

    let (status, customer) = send(
        http()
            .post(format!("{edge}/v1/customers"))
            .bearer_auth(&operator)
            .json(&json!({"name": "Ada", "currency": "GBP"})),
    )
    .await;
    assert_eq!(status, 201, "{customer}");
    let (status, merchant) = send(
        http()
            .post(format!("{edge}/v1/merchants"))
            .bearer_auth(&operator)
            .json(&json!({"name": "Tea Shop", "currency": "GBP"})),
    )
    .await;
    assert_eq!(status, 201, "{merchant}");
    let (status, topped) = send(
        http()
            .post(format!(
                "{edge}/v1/accounts/{}/top-ups",
                customer["account_id"].as_str().unwrap()
            ))
            .bearer_auth(&operator)
            .json(&json!({"amount": 5000, "currency": "GBP"})),
    )
    .await;
    assert_eq!(status, 201, "{topped}");

    let customer_token = token(&edge, &customer["client_id"], &customer["client_secret"]).await;
    let trace_id = "5bf92f3577b34da6a3ce929d0e0e4736";
    let response = http()
        .post(format!("{edge}/v1/payments"))
        .bearer_auth(&customer_token)
        .header("idempotency-key", "platform-test-1")
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&json!({"merchant_id": merchant["merchant_id"], "amount": 1250, "currency": "GBP"}))
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["traceresponse"]
            .to_str()
            .unwrap()
            .contains(trace_id)
    );
    let status = response.status().as_u16();
    let payment: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{payment}");
    assert_eq!(payment["status"], "settled", "{payment}");

    let (_, account) = send(
        http()
            .get(format!(
                "{edge}/v1/accounts/{}",
                customer["account_id"].as_str().unwrap()
            ))
            .bearer_auth(&customer_token),
    )
    .await;
    assert_eq!(account["balance"], 5000 - 1250, "{account}");

    running.flush_telemetry(Duration::from_secs(5)).await;
    let trace = sink
        .store()
        .get(&trace_id.parse().unwrap())
        .expect("the payment's trace reached the sink");
    let services = trace.services();
    for expected in ["edge", "auth", "payments", "ledger"] {
        assert!(
            services.contains(expected),
            "{expected} missing from {services:?}"
        );
    }
    running.shutdown().await;
    sink.shutdown().await;
}

#[tokio::test]
async fn a_restarted_service_listens_on_the_same_address_with_its_data() {
    let provider = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let running = start(&provider, &dir, None).await;
    let operator = running.operator_token().await.unwrap();
    let edge = running.edge_url();
    let (status, customer) = send(
        http()
            .post(format!("{edge}/v1/customers"))
            .bearer_auth(&operator)
            .json(&json!({"name": "Ada", "currency": "EUR"})),
    )
    .await;
    assert_eq!(status, 201);

    let before = running.service_url(ServiceName::Auth);
    running.restart(ServiceName::Auth).await.unwrap();
    assert_eq!(running.service_url(ServiceName::Auth), before);
    // The customer's credentials, stored before the restart, still work.
    token(&edge, &customer["client_id"], &customer["client_secret"]).await;
    running.shutdown().await;
}

#[tokio::test]
async fn after_every_service_is_restarted_in_turn_a_payment_still_settles() {
    let provider = accepting_provider().await;
    let dir = tempfile::tempdir().unwrap();
    let running = start(&provider, &dir, None).await;
    let edge = running.edge_url();
    let operator = running.operator_token().await.unwrap();
    let (_, customer) = send(
        http()
            .post(format!("{edge}/v1/customers"))
            .bearer_auth(&operator)
            .json(&json!({"name": "Ada", "currency": "GBP"})),
    )
    .await;
    let (_, merchant) = send(
        http()
            .post(format!("{edge}/v1/merchants"))
            .bearer_auth(&operator)
            .json(&json!({"name": "Tea Shop", "currency": "GBP"})),
    )
    .await;
    let account = customer["account_id"].as_str().unwrap();
    let (status, _) = send(
        http()
            .post(format!("{edge}/v1/accounts/{account}/top-ups"))
            .bearer_auth(&operator)
            .json(&json!({"amount": 1000, "currency": "GBP"})),
    )
    .await;
    assert_eq!(status, 201);

    for service in ServiceName::ALL {
        running.restart(service).await.unwrap();
    }
    assert_eq!(running.edge_url(), edge);

    let customer_token = token(&edge, &customer["client_id"], &customer["client_secret"]).await;
    let (status, payment) = send(
        http()
            .post(format!("{edge}/v1/payments"))
            .bearer_auth(&customer_token)
            .header("idempotency-key", "after-restarts")
            .json(
                &json!({"merchant_id": merchant["merchant_id"], "amount": 300, "currency": "GBP"}),
            ),
    )
    .await;
    assert_eq!(
        (status, &payment["status"]),
        (201, &json!("settled")),
        "{payment}"
    );
    running.shutdown().await;
}

#[tokio::test]
async fn with_the_collector_down_payments_still_settle_and_the_lost_spans_are_counted() {
    let provider = accepting_provider().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let collector = format!("http://{}/v1/traces", closed.local_addr().unwrap());
    drop(closed);
    let dir = tempfile::tempdir().unwrap();
    let running = start(&provider, &dir, Some(collector)).await;
    let edge = running.edge_url();
    let operator = running.operator_token().await.unwrap();
    let (_, customer) = send(
        http()
            .post(format!("{edge}/v1/customers"))
            .bearer_auth(&operator)
            .json(&json!({"name": "Ada", "currency": "GBP"})),
    )
    .await;
    let (_, merchant) = send(
        http()
            .post(format!("{edge}/v1/merchants"))
            .bearer_auth(&operator)
            .json(&json!({"name": "Tea Shop", "currency": "GBP"})),
    )
    .await;
    let account = customer["account_id"].as_str().unwrap();
    send(
        http()
            .post(format!("{edge}/v1/accounts/{account}/top-ups"))
            .bearer_auth(&operator)
            .json(&json!({"amount": 1000, "currency": "GBP"})),
    )
    .await;
    let customer_token = token(&edge, &customer["client_id"], &customer["client_secret"]).await;
    let (status, payment) = send(
        http()
            .post(format!("{edge}/v1/payments"))
            .bearer_auth(&customer_token)
            .header("idempotency-key", "collector-down")
            .json(
                &json!({"merchant_id": merchant["merchant_id"], "amount": 300, "currency": "GBP"}),
            ),
    )
    .await;
    assert_eq!(
        (status, &payment["status"]),
        (201, &json!("settled")),
        "{payment}"
    );

    running.flush_telemetry(Duration::from_secs(10)).await;
    let dropped = running.dropped_spans().await;
    assert!(dropped[&ServiceName::Edge] > 0, "{dropped:?}");
    assert!(dropped[&ServiceName::Payments] > 0, "{dropped:?}");
    running.shutdown().await;
}
